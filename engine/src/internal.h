/* engine/src/internal.h — helpers shared inside liblif (not installed). */
#ifndef LIF_INTERNAL_H
#define LIF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lif/net.h"

/* 64-byte aligned, zero-filled storage of n bytes (n may be 0); NULL on
 * failure. Free with lif_free. */
void *lif_alloc(size_t n);
void lif_free(void *p);

/* Storage for a big array read at random places (a data set's images):
 * 2 MiB-aligned and advised for transparent huge pages where the system
 * has them (MADV_HUGEPAGE; elsewhere plain pages), not zero-filled; NULL
 * on failure. Free with free(). Why: gathering a shuffled batch touches
 * a new 4 KiB page per image, and in a virtual machine each TLB miss walks
 * two page tables. On the 2-vCPU EPYC guest the gather of a 64-image
 * Fashion-MNIST batch took 0.13-0.37 ms on 4 KiB pages and 0.02 ms on
 * huge ones (`lif bench --data`, 2026-12-03): 10-20 % of a training step. */
void *lif_alloc_huge(size_t n);

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

/* Opens a file the user named as input, read-only: a regular file only
 * (a FIFO is refused without blocking), and on failure a detail that says
 * what the path is ("is a directory", "is a FIFO (named pipe)", "is a
 * dangling symbolic link", "permission denied", strerror's text).
 * *size (if not NULL) gets its size. Returns LIF_OK or LIF_ERR_IO
 * (fileio.c). */
lif_status lif_open_input(const char *path, int *fd, uint64_t *size);

/* lif_open_input as a stdio stream ("rb"). */
lif_status lif_fopen_input(const char *path, FILE **out);

/* The status and detail for a path that open() or stat() refused with err. */
lif_status lif_path_error(const char *path, int err);

/* "a directory", "a FIFO (named pipe)", ... for a stat mode. */
const char *lif_file_kind(unsigned mode);

/* The shape of a net of recipe r (recipe, layers, dims), no parameters. */
void lif_net_shape(lif_net *net, const lif_recipe *r, int n_in, int n_classes);

/* Bytes of a net's parameters and optimizer state as lif_net_create
 * allocates them (SIZE_MAX on overflow). */
size_t lif_net_param_bytes(const lif_net *net);

/* The memory this process may use: physical memory, or the address-space
 * limit when lower; 0 if unknown (plan.c). */
size_t lif_usable_memory(void);

/* lif_kernel_select without LIF_VERBOSE=dispatch lines (for estimates). */
lif_status lif_kernel_select_quiet(const lif_problem *p, const char *list,
                                   const lif_kernel_i **out);

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
    int mode;                              /* LIF_RECOMPUTE_OFF, _INPUT or _ALL (what
                                              backward recomputes) */
    int nchunks;                           /* ceil(T / Tc) */
    int resident;                          /* the chunk whose forward the chunk buffers
                                              hold (I, and with ALL, H and spikes), -1 none */
    int in0_chunk;                         /* (INPUT, ALL) the chunk in[0] holds, -1 none */
    size_t need;                           /* bytes of buffers and workspaces */
    lif_batch bt;                          /* the last forward's batch (recompute reads it) */
    uint64_t ones[N_SLOTS];                /* (first pass) input spikes counted per layer */
    /* rows: "all" = T*B, "chunk" = Tc*B. in[0]: all with OFF, else chunk;
     * H, in[1..L-1]: chunk with ALL, else all; I, dI, in[L]: always chunk. */
    uint64_t *in[N_SLOTS + 1];             /* [rows][ld[l]] spike bits */
    size_t ld[N_SLOTS + 1];
    float *I[N_SLOTS], *H[N_SLOTS], *dI[N_SLOTS];  /* [rows, n] */
    float *v[N_SLOTS], *dv[N_SLOTS];
    float *vb[N_SLOTS];                    /* (ALL) v at each chunk's start [nchunks, B, n] */
    float *dS;                             /* [Tc, B, max hidden] scratch */
    float *count, *rate, *ds_out;          /* [B, n_classes] */
    float *gw[N_SLOTS], *gb[N_SLOTS];
    int prof;                              /* LIF_VERBOSE=profile: time every kernel call */
    double prof_s[LIF_OP_COUNT];           /* seconds in each op's kernels */
    long prof_calls[LIF_OP_COUNT];
    double prof_pass_s[3];                 /* seconds in lif_plan_forward, _backward, _update */
    int (*stop)(void *);                   /* lif_plan_set_stop, or NULL */
    void *stop_ctx;
    uint8_t labels[0x10000];
};

#endif
