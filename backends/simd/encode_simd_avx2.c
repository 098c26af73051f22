/* Poisson encoder, AVX2: Philox4x32-10 on 4 counters at once, the same
 * draws and spikes as lif_encode_scalar_ref (16-bit draws, eight per call:
 * see lif_encode_args). The structure is that of encode_simd_avx512.c.
 *
 * Layout. Each Philox word sits in the low half of a 64-bit lane, so one
 * vpmuludq gives the whole 32x32 -> 64 product (lo in the low half, hi in
 * the high half) and no shuffles are needed; the high halves carry garbage
 * that vpmuludq ignores and that the last round shifts out. The 4 lanes are 4 consecutive time steps of one group of
 * eight inputs (counter {group, t..t+3, id, domain}); a "unit" is one such
 * (group, 4 steps), and UNITS of them run side by side so the multiplier
 * latency is hidden.
 *
 * Each image's groups that need draws are listed once (per block of WB
 * words); their units run UNITS at a time, ORing their bits into a staging
 * block of WB words x 64 steps on the stack, which then goes out one
 * contiguous row piece per step (rows of dst are a whole image-step apart:
 * writing each word for all steps one row at a time thrashed L1).
 *
 * Work skipped, with spikes unchanged: a group whose pixels are all 0 or
 * 255 needs no draw (0 never fires; 255 always does, its threshold 65536
 * exceeds every slice). Pixels of 255 are set up front in every group, so
 * the vector compare can use 16-bit thresholds, "never" for them.
 *
 * Rounds 0..2 mostly do not depend on the step: of their six multiplies
 * four (M0·g, M1·id, and one each in rounds 1 and 2) are per group or per
 * image, done once in scalar code (group_state), so a unit runs two
 * multiplies there and seven full rounds after.
 *
 * AVX2 compares 16-bit lanes signed only: x <u T  <=>  (x ^ 0x8000) <s
 * (T ^ 0x8000). Thresholds are stored biased; the draws of words 0 and 2
 * get their bias for free from the last round's keys (x0' = hi1^x1^k0).
 *
 * The last round goes straight into two compare words of four draws a lane
 * ({x1', x0'} = p1 ^ (x1 ^ k0) << 32, {x3', x2'} alike), so two compares,
 * a pack, a byte shuffle and a movemask give a step's spikes as a byte
 * (before: four compares, each with its bits masked and ORed in;
 * lif_kernels 0.544 -> 0.494 / 0.965 -> 0.858 ms at densities 0.13 / 0.29). */
#include <immintrin.h>
#include <string.h>

#include "simd.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* LANES steps per vector; UNITS vectors in flight; staging blocks of WB
 * words (GMAX groups) x TSUP steps */
enum { LANES = 4, UNITS = 5, TSUP = 64, WB = 16, GMAX = 8 * WB };

/* biased 16-bit threshold that no draw is below */
#define NEVER 0x8000u
#define NEVER4 0x8000800080008000ull

/* BYTE_SEL4[k]: the vpshufb control that moves byte l of a broadcast dword
 * to byte k of qword l (l < 4), zeros elsewhere */
#define SEL4_B(k, l, p) ((p) == (k) ? (l) : 0x80)
#define SEL4_Q(k, l) SEL4_B(k, l, 0), SEL4_B(k, l, 1), SEL4_B(k, l, 2), SEL4_B(k, l, 3), \
                     SEL4_B(k, l, 4), SEL4_B(k, l, 5), SEL4_B(k, l, 6), SEL4_B(k, l, 7)
#define SEL4_R(k) {SEL4_Q(k, 0), SEL4_Q(k, 1), SEL4_Q(k, 2), SEL4_Q(k, 3)}
static const uint8_t BYTE_SEL4[8][32] __attribute__((aligned(32))) = {
    SEL4_R(0), SEL4_R(1), SEL4_R(2), SEL4_R(3), SEL4_R(4), SEL4_R(5), SEL4_R(6), SEL4_R(7)};
#undef SEL4_R
#undef SEL4_Q
#undef SEL4_B

/* One Philox state of 4 counters: word j of lane l in x[j], lane l. */
typedef struct { __m256i x[4]; } ph4;

/* The groups of one staging block that need draws (some pixel in 1..254),
 * in increasing order, plus one dummy entry (never fires) that pads the
 * last batch of units. */
typedef struct {
    uint64_t thr[GMAX + 1][2]; /* biased thresholds of the 16-bit slots of the
                                * compare words (run_units): inputs 2, 3, 0, 1 and
                                * 6, 7, 4, 5 of the group */
    /* the step-independent parts of rounds 0..2 (see group_state) */
    uint64_t b[GMAX + 1], c[GMAX + 1], e[GMAX + 1], f[GMAX + 1];
    uint64_t shift[GMAX + 1];  /* g % 8: the group's byte in the word */
    uint32_t slot[GMAX + 1];   /* its word's row in the staging block: word - w0 */
} groups;

/* Round keys, pre-broadcast (memory operands of vpxor): round r uses key +
 * r·W (Random123's bumpkey); the last round's also carry the compare bias. */
typedef struct { __m256i k0[10], k1[10]; } keys;

/* Rounds 0..2 for counter {g, t, id, dom}: of their six multiplies only
 * two depend on the step t, so the other four run once per group here (and
 * one per image: M1·id, whose low half is lo1):
 *   round 0: y0 = t ^ a (a = hi(M1·id) ^ k0, per image), y1 = lo1,
 *            y2 = hi(M0·g) ^ dom ^ k1, y3 = lo(M0·g)                 (no t)
 *   round 1: q = M0·y0 (t);  z0 = hi(M1·y2) ^ y1 ^ k0', z1 = lo(M1·y2) (no t),
 *            z2 = hi(q) ^ b with b = y3 ^ k1', z3 = q
 *   round 2: p = M1·z2 (t);  x0 = hi(p) ^ c with c = z1 ^ k0'', x1 = p,
 *            x2 = q ^ e with e = hi(M0·z0) ^ k1'', x3 = f = lo(M0·z0) (no t)
 * (z3 = q enters x2 unshifted: the high half of q is garbage there, as
 * everywhere; only low halves count). */
static void group_state(groups *gr, int n, uint32_t g, uint32_t lo1, uint32_t dom, const uint32_t key[2])
{
    uint64_t p0 = (uint64_t)PHILOX_M0 * g;
    uint32_t y2 = (uint32_t)(p0 >> 32) ^ dom ^ key[1];
    uint64_t q1 = (uint64_t)PHILOX_M1 * y2;
    uint32_t z0 = (uint32_t)(q1 >> 32) ^ lo1 ^ (key[0] + PHILOX_W0);
    uint64_t r0 = (uint64_t)PHILOX_M0 * z0;
    gr->b[n] = (uint32_t)p0 ^ (key[1] + PHILOX_W1);
    gr->c[n] = (uint32_t)q1 ^ (key[0] + 2 * PHILOX_W0);
    gr->e[n] = (uint32_t)(r0 >> 32) ^ (key[1] + 2 * PHILOX_W1);
    gr->f[n] = (uint32_t)r0;
}

/* Runs UNITS units (group gi[k], steps tt[k]..tt[k]+3) and ORs their spike
 * bits into the staging block: word w, steps t..t+3 are the 32 bytes at
 * st + slot·TSUP + (t - ts), lane l = step t+l. Two units of one batch may
 * share a slot; each load-or-store sees the previous one's store. */
static inline __attribute__((always_inline)) void
run_units(const groups *gr, const int gi[UNITS], const uint32_t tt[UNITS], uint32_t ts,
          __m256i ta, const keys *rk, uint64_t *st)
{
    const __m256i iota = _mm256_set_epi64x(3, 2, 1, 0);
    const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0), m1 = _mm256_set1_epi64x(PHILOX_M1);
    ph4 s[UNITS];
    /* rounds 0..2 (group_state): two multiplies left per unit */
#pragma GCC unroll 8
    for (int k = 0; k < UNITS; k++) {
        __m256i y0 = _mm256_xor_si256(_mm256_add_epi64(_mm256_set1_epi64x(tt[k]), iota), ta);
        __m256i q = _mm256_mul_epu32(y0, m0);
        __m256i z2 = _mm256_xor_si256(_mm256_srli_epi64(q, 32),
                                      _mm256_set1_epi64x((long long)gr->b[gi[k]]));
        __m256i p = _mm256_mul_epu32(z2, m1);
        s[k].x[0] = _mm256_xor_si256(_mm256_srli_epi64(p, 32),
                                     _mm256_set1_epi64x((long long)gr->c[gi[k]]));
        s[k].x[1] = p;
        s[k].x[2] = _mm256_xor_si256(q, _mm256_set1_epi64x((long long)gr->e[gi[k]]));
        s[k].x[3] = _mm256_set1_epi64x((long long)gr->f[gi[k]]);
    }
    /* Random123's philox4x32round:
     *   (hi0, lo0) = M0·x0, (hi1, lo1) = M1·x2,
     *   x' = {hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0}
     * the units interleaved so that one's multiplies overlap the others' */
#pragma GCC unroll 10
    for (int r = 3; r < 9; r++) {
#pragma GCC unroll 8
        for (int k = 0; k < UNITS; k++) {
            __m256i p0 = _mm256_mul_epu32(s[k].x[0], m0);
            __m256i p1 = _mm256_mul_epu32(s[k].x[2], m1);
            s[k].x[0] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), s[k].x[1]),
                                         _mm256_load_si256(&rk->k0[r]));
            s[k].x[1] = p1;
            s[k].x[2] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), s[k].x[3]),
                                         _mm256_load_si256(&rk->k1[r]));
            s[k].x[3] = p0;
        }
    }
    /* Round 9 straight into two compare words of 4 draws a lane:
     * t01 = {x1', x0'} = p1 ^ (x1 ^ k0) << 32 (lo(p1) low, hi(p1) ^ x1 ^ k0
     * high), t23 = {x3', x2'} the same of p0; biased for the signed
     * compare (the keys carry the high words' bias, blo the low ones'). */
    const __m256i blo = _mm256_set1_epi64x(0x80008000);
    /* within each 128-bit lane of the packed compares (bytes 0-3: step l
     * inputs 2, 3, 0, 1; 4-7: step l+1; 8-11 and 12-15: inputs 6, 7, 4, 5),
     * the bytes of step l then step l+1 in input order 0..7 */
    const __m256i order = _mm256_setr_epi8(2, 3, 0, 1, 10, 11, 8, 9, 6, 7, 4, 5, 14, 15, 12, 13,
                                           2, 3, 0, 1, 10, 11, 8, 9, 6, 7, 4, 5, 14, 15, 12, 13);
#pragma GCC unroll 8
    for (int k = 0; k < UNITS; k++) {
        int g = gi[k];
        __m256i p0 = _mm256_mul_epu32(s[k].x[0], m0), p1 = _mm256_mul_epu32(s[k].x[2], m1);
        __m256i t01 = _mm256_xor_si256(_mm256_xor_si256(p1, blo),
                                       _mm256_slli_epi64(_mm256_xor_si256(s[k].x[1], rk->k0[9]), 32));
        __m256i t23 = _mm256_xor_si256(_mm256_xor_si256(p0, blo),
                                       _mm256_slli_epi64(_mm256_xor_si256(s[k].x[3], rk->k1[9]), 32));
        __m256i f01 = _mm256_cmpgt_epi16(_mm256_set1_epi64x((long long)gr->thr[g][0]), t01);
        __m256i f23 = _mm256_cmpgt_epi16(_mm256_set1_epi64x((long long)gr->thr[g][1]), t23);
        /* a byte per draw (0 or 0xff), in input order per step, then a bit:
         * byte l of bits = step l's spikes (bit j = input j) */
        __m256i by = _mm256_shuffle_epi8(_mm256_packs_epi16(f01, f23), order);
        uint32_t bits = (uint32_t)_mm256_movemask_epi8(by);
        /* byte l to the group's byte of step t + l's word */
        __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
                                        _mm256_load_si256((const __m256i *)(const void *)BYTE_SEL4[gr->shift[g]]));
        __m256i *dst = (__m256i *)(st + (size_t)gr->slot[g] * TSUP + (tt[k] - ts));
        _mm256_store_si256(dst, _mm256_or_si256(_mm256_load_si256(dst), v));
    }
}

lif_status lif_encode_simd_avx2(const lif_ctx *ctx, const lif_encode_args *a)
{
    (void)ctx;
    /* biased 16-bit thresholds; 255 (threshold 65536) is handled separately */
    uint64_t thr[256];
    for (int p = 0; p < 256; p++)
        thr[p] = (p == 255 ? 0 : lif_encode_threshold((uint8_t)p)) ^ NEVER;
    keys rk __attribute__((aligned(32)));
    for (int r = 0; r < 10; r++) {
        uint32_t b = r == 9 ? 0x80008000u : 0;
        rk.k0[r] = _mm256_set1_epi64x((uint32_t)(a->key[0] + (uint32_t)r * PHILOX_W0) ^ b);
        rk.k1[r] = _mm256_set1_epi64x((uint32_t)(a->key[1] + (uint32_t)r * PHILOX_W1) ^ b);
    }

    const int n_in = a->n_in, nw = (n_in + 63) / 64;
    const size_t ld = a->ld, tstride = a->dst_tstride ? a->dst_tstride : (size_t)a->B * ld;
    const __m256i zero = _mm256_setzero_si256(), ff = _mm256_set1_epi8((char)0xff);
    /* staging block: word w0+i, step ts+t at st[i·TSUP + t] */
    uint64_t st[WB * TSUP] __attribute__((aligned(32)));
    groups gr __attribute__((aligned(32)));
    for (int b = 0; b < a->B; b++) {
        const uint8_t *px = a->pixels + (size_t)b * n_in;
        /* round 0's M1·id: a = hi ^ k0 for the units, lo for group_state */
        uint64_t p1 = (uint64_t)PHILOX_M1 * a->ids[b];
        const __m256i ta = _mm256_set1_epi64x((uint32_t)(p1 >> 32) ^ a->key[0]);
        uint64_t *row0 = a->dst + (size_t)b * ld;
        for (int w0 = 0; w0 < nw; w0 += WB) {
            int nwb = nw - w0 < WB ? nw - w0 : WB;
            /* the block's groups that need draws, and its words' 255 bits */
            uint64_t full[WB];
            int ng = 0;
            for (int i = 0; i < nwb; i++) {
                int w = w0 + i;
                int np = n_in - 64 * w < 64 ? n_in - 64 * w : 64;
                uint8_t tail[64]; /* the word's pixels, 0 past n_in */
                const uint8_t *pw = px + 64 * w;
                if (np < 64) {
                    memset(tail, 0, sizeof tail);
                    memcpy(tail, pw, (size_t)np);
                    pw = tail;
                }
                __m256i lo = _mm256_loadu_si256((const __m256i *)pw);
                __m256i hi = _mm256_loadu_si256((const __m256i *)(pw + 32));
                uint64_t z = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, zero)) |
                             (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, zero)) << 32;
                full[i] = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, ff)) |
                          (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, ff)) << 32;
                uint64_t rnd = ~z & ~full[i]; /* pixels that need a draw */
                while (rnd) {
                    int k = __builtin_ctzll(rnd) / 8; /* group in the word */
                    rnd &= ~(0xffull << 8 * k);
                    const uint8_t *q = pw + 8 * k;
                    group_state(&gr, ng, (uint32_t)(8 * w + k), (uint32_t)p1, a->domain, a->key);
                    gr.slot[ng] = (uint32_t)i;
                    gr.shift[ng] = (uint64_t)k;
                    for (int j = 0; j < 2; j++)
                        gr.thr[ng][j] = thr[q[4 * j + 2]] | thr[q[4 * j + 3]] << 16 |
                                        thr[q[4 * j]] << 32 | thr[q[4 * j + 1]] << 48;
                    ng++;
                }
            }
            group_state(&gr, ng, 0, (uint32_t)p1, a->domain, a->key);
            gr.slot[ng] = 0, gr.shift[ng] = 0;
            gr.thr[ng][0] = gr.thr[ng][1] = NEVER4;

            for (int ts = 0; ts < a->Tc; ts += TSUP) {
                int nt = a->Tc - ts < TSUP ? a->Tc - ts : TSUP;
                int ntb = (nt + LANES - 1) / LANES;
                uint32_t t0 = (uint32_t)(a->t0 + ts);
                for (int i = 0; i < nwb; i++) {
                    __m256i f = _mm256_set1_epi64x((long long)full[i]);
                    for (int tb = 0; tb < ntb; tb++)
                        _mm256_store_si256((__m256i *)(st + (size_t)i * TSUP + tb * LANES), f);
                }
                /* units (group, 4-step block), group-major, UNITS at a time */
                int gi[UNITS], nu = 0;
                uint32_t tt[UNITS];
                for (int g = 0; g < ng; g++)
                    for (int tb = 0; tb < ntb; tb++) {
                        gi[nu] = g;
                        tt[nu] = t0 + (uint32_t)(tb * LANES);
                        if (++nu == UNITS) {
                            run_units(&gr, gi, tt, t0, ta, &rk, st);
                            nu = 0;
                        }
                    }
                if (nu) {
                    for (int k = nu; k < UNITS; k++)
                        gi[k] = ng, tt[k] = t0; /* the dummy group: ORs zeros */
                    run_units(&gr, gi, tt, t0, ta, &rk, st);
                }
                /* out: each step's row piece (words w0..w0+nwb-1) in one go */
                for (int t = 0; t < nt; t++) {
                    uint64_t *dst = row0 + (size_t)(ts + t) * tstride + w0;
                    for (int i = 0; i < nwb; i++)
                        dst[i] = st[(size_t)i * TSUP + t];
                }
            }
        }
        /* clear the row tails beyond n_in */
        if ((size_t)nw < ld)
            for (int t = 0; t < a->Tc; t++)
                memset(row0 + (size_t)t * tstride + nw, 0, (ld - nw) * sizeof(uint64_t));
    }
    return LIF_OK;
}
