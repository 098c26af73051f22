/* engine/src/internal.h — helpers shared inside liblif (not installed). */
#ifndef LIF_INTERNAL_H
#define LIF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lif/net.h"

/* 64-byte aligned, zero-filled storage of n bytes (n may be 0); NULL on
 * failure. Free with lif_free. */
void *lif_alloc(size_t n);
void lif_free(void *p);

/* Parses a whole decimal integer (optional sign, no blanks); 0 on success,
 * -1 if s is not one or it overflows (recipe.c). */
int lif_parse_ll(const char *s, long long *out);

/* Words per row of a packed spike matrix with n features, padded so every
 * row starts 64-byte aligned. */
static inline size_t lif_bits_ld(int n)
{
    size_t words = ((size_t)n + 63) / 64;
    return (words + 7) / 8 * 8;
}

struct lif_net {
    lif_recipe r;
    int n_layers;
    int n_in, n_classes;
    int dims[LIF_MAX_HIDDEN + 2];     /* n_in, hidden..., n_classes */
    float *w[LIF_MAX_HIDDEN + 1];     /* [dims[l+1], dims[l]] */
    float *b[LIF_MAX_HIDDEN + 1];     /* [dims[l+1]] or NULL */
    /* optimizer state, same shapes: Adam m/v, SGD momentum in v */
    float *wm[LIF_MAX_HIDDEN + 1], *wv[LIF_MAX_HIDDEN + 1];
    float *bm[LIF_MAX_HIDDEN + 1], *bv[LIF_MAX_HIDDEN + 1];
    long step;
};

/* Ops bound once per layer (per-net ops use layer 0). */
#define N_SLOTS (LIF_MAX_HIDDEN + 1)

struct lif_plan {
    lif_net *net;
    lif_plan_opts opts;                    /* as given, Tc resolved to 1..T */
    int B, T, Tc, L;
    int Bcur;                              /* B of the last forward */
    const lif_kernel_i *k[LIF_OP_COUNT][N_SLOTS];
    char kname[LIF_OP_COUNT][N_SLOTS][96];
    void *ws[LIF_OP_COUNT][N_SLOTS];       /* each kernel's workspace or NULL */
    lif_ctx ctx[LIF_OP_COUNT][N_SLOTS];    /* each kernel's call context (ws, threads, state) */
    float density[N_SLOTS];                /* measured input spike density, 0 = not yet */
    int measured;                          /* densities measured (after the first forward) */
    uint64_t *in[N_SLOTS + 1];             /* [T*B][ld[l]] */
    size_t ld[N_SLOTS + 1];
    float *I[N_SLOTS], *H[N_SLOTS], *dI[N_SLOTS];
    float *v[N_SLOTS], *dv[N_SLOTS];
    float *dS;                             /* [T, B, max hidden] scratch */
    float *count, *rate, *ds_out;          /* [B, n_classes] */
    float *gw[N_SLOTS], *gb[N_SLOTS];
    int (*stop)(void *);                   /* lif_plan_set_stop, or NULL */
    void *stop_ctx;
    uint8_t labels[0x10000];
};

#endif
