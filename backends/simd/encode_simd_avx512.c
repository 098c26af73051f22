/* Poisson encoder, AVX-512: Philox4x32-10 on 8 counters at once, the same
 * draws and spikes as lif_encode_scalar_ref (16-bit draws, eight per call:
 * see lif_encode_args).
 *
 * Layout. Each Philox word sits in the low half of a 64-bit lane, so one
 * vpmuludq gives the whole 32x32 -> 64 product (lo in the low half, hi in
 * the high half) and no shuffles are needed; the high halves carry garbage
 * that vpmuludq ignores and that the output drops (two vpermt2d pair the
 * low halves of words 0-1 and 2-3 for two 16-bit compares, whose nibbles
 * per step pdep interleaves into the step's byte). The 8 lanes are 8 consecutive time steps of one group of eight
 * inputs (counter {group, t..t+7, id, domain}); a "unit" is one such
 * (group, 8 steps) and five units run side by side so the multiplier
 * latency is hidden.
 *
 * Each image's groups that need draws are listed once; the units (group,
 * 8-step block) of all of them run four at a time, ORing their bits into a
 * staging block of up to 16 words x 64 steps on the stack, which then goes
 * out one contiguous row piece per step (rows of dst are far apart:
 * writing them a word at a time thrashed L1 and cost more than Philox).
 *
 * Work skipped, with spikes unchanged: a group whose pixels are all 0 or
 * 255 needs no draw (0 never fires; 255 always does, its threshold 65536
 * exceeds every slice). Pixels of 255 are set up front in every group, so
 * the vector compare can use 16-bit thresholds with 0 for them. */
#include <immintrin.h>
#include <string.h>

#include "simd.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* LANES steps per vector; UNITS vectors in flight; staging blocks of WB
 * words (GMAX groups) x TSUP steps. Five units ran 5-6 % faster than four
 * in lif_kernels; a bare loop of Philox rounds here runs 14.6 G
 * counter-rounds/s with five states in flight, 12.6 with four and 11.9
 * with eight (which spill). */
enum { LANES = 8, UNITS = 5, TSUP = 64, WB = 16, GMAX = 8 * WB };

/* BYTE_SEL[k]: the vpshufb control that moves byte l of a broadcast qword
 * to byte k of qword l, zeros elsewhere */
#define SEL_B(k, l, p) ((p) == (k) ? (l) : 0x80)
#define SEL_Q(k, l) SEL_B(k, l, 0), SEL_B(k, l, 1), SEL_B(k, l, 2), SEL_B(k, l, 3), \
                    SEL_B(k, l, 4), SEL_B(k, l, 5), SEL_B(k, l, 6), SEL_B(k, l, 7)
#define SEL_R(k) {SEL_Q(k, 0), SEL_Q(k, 1), SEL_Q(k, 2), SEL_Q(k, 3), \
                  SEL_Q(k, 4), SEL_Q(k, 5), SEL_Q(k, 6), SEL_Q(k, 7)}
static const uint8_t BYTE_SEL[8][64] __attribute__((aligned(64))) = {
    SEL_R(0), SEL_R(1), SEL_R(2), SEL_R(3), SEL_R(4), SEL_R(5), SEL_R(6), SEL_R(7)};
#undef SEL_R
#undef SEL_Q
#undef SEL_B

/* One Philox state of 8 counters: word j of lane l in x[j], lane l. */
typedef struct { __m512i x[4]; } ph8;

/* Random123's philox4x32round:
 *   (hi0, lo0) = M0·x0, (hi1, lo1) = M1·x2,
 *   x' = {hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0}. */
static inline void round8(ph8 *s, __m512i m0, __m512i m1, __m512i k0, __m512i k1)
{
    __m512i p0 = _mm512_mul_epu32(s->x[0], m0);
    __m512i p1 = _mm512_mul_epu32(s->x[2], m1);
    s->x[0] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), s->x[1], k0, 0x96);
    s->x[1] = p1;
    s->x[2] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), s->x[3], k1, 0x96);
    s->x[3] = p0;
}

/* Rounds 3..8 of Philox4x32-10 on UNITS states side by side (interleaved
 * so that the multiplies of one state overlap the others'); rk[r] is round
 * r's key. Rounds 0-2 are mostly the same for every step of a group and
 * are done once per group and image (hoist_group, run_units). */
static inline void philox_units(ph8 s[UNITS], const uint32_t rk[10][2])
{
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0), m1 = _mm512_set1_epi64(PHILOX_M1);
    for (int r = 3; r < 9; r++) {
        __m512i k0 = _mm512_set1_epi64(rk[r][0]), k1 = _mm512_set1_epi64(rk[r][1]);
        for (int k = 0; k < UNITS; k++)
            round8(&s[k], m0, m1, k0, k1);
    }
}

/* The groups of one image that need draws (some pixel in 1..254), in
 * increasing order, plus one dummy entry (thresholds 0: never fires) that
 * pads the last batch of units. */
typedef struct {
    uint32_t g[GMAX + 1];      /* group index (inputs 8g..8g+7) */
    uint32_t slot[GMAX + 1];   /* its word's row in the staging block: word - w0
                                * (WB for the dummy: a row nothing reads) */
    uint64_t shift[GMAX + 1];  /* 8 * (g % 8): the group's byte in the word */
    uint64_t thr[GMAX + 1][2]; /* 16-bit thresholds of inputs 8g..8g+3 (qword 0)
                                * and 8g+4..8g+7 (qword 1); 0 never fires */
    uint64_t h[GMAX + 1][5];   /* the group's constants of rounds 0-2 (hoist_group) */
} groups;

static inline uint64_t mul64(uint32_t m, uint32_t x) { return (uint64_t)m * x; }

/* Of the counter {g, t, id, domain}, only t differs between the steps of a
 * group, so most words of rounds 0-2 are constants of (group, image):
 *   round 0: x = {I0 ^ t, L1, c0, c1}      I0 = hi(M1·id) ^ k0.0, L1 = lo(M1·id)
 *                                          c0 = hi(M0·g) ^ domain ^ k0.1, c1 = lo(M0·g)
 *   round 1: p = M0·x0 (per step); x = {hi(M1·c0) ^ L1 ^ k1.0, lo(M1·c0),
 *                                       hi(p) ^ c1 ^ k1.1, lo(p)}
 *   round 2: q = M1·x2 (per step), R = M0·x0 (a constant);
 *            x = {hi(q) ^ x1 ^ k2.0, lo(q), hi(R) ^ x3 ^ k2.1, lo(R)}
 * h = {c1 ^ k1.1, x1 of round 2 ^ k2.0, hi(R) ^ k2.1, lo(R)} (round 1's x0
 * goes into R only). The same arithmetic as Random123's rounds, in
 * another order: the same words. */
static inline void hoist_group(uint64_t h[5], uint32_t g, uint32_t L1, uint32_t dom,
                               const uint32_t rk[10][2])
{
    uint64_t P0 = mul64(PHILOX_M0, g);
    uint32_t c0 = (uint32_t)(P0 >> 32) ^ dom ^ rk[0][1], c1 = (uint32_t)P0;
    uint64_t Q = mul64(PHILOX_M1, c0);
    uint32_t x0 = (uint32_t)(Q >> 32) ^ L1 ^ rk[1][0], x1 = (uint32_t)Q;
    uint64_t R = mul64(PHILOX_M0, x0);
    h[0] = c1 ^ rk[1][1];
    h[1] = x1 ^ rk[2][0];
    h[2] = (uint32_t)(R >> 32) ^ rk[2][1];
    h[3] = (uint32_t)R;
    h[4] = 0;
}

/* Round 1's product p = M0·(I0 ^ t) depends on the image and the step only,
 * not on the group: for the 8-step blocks tb of a staging block, pt[2 tb]
 * = p and pt[2 tb + 1] = hi(p), made once and shared by all its groups. */
static inline void step_products(__m512i *pt, int ntb, uint32_t t0, __m512i i0)
{
    const __m512i iota = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0);
    for (int tb = 0; tb < ntb; tb++) {
        __m512i x0 = _mm512_xor_si512(_mm512_add_epi64(_mm512_set1_epi64(t0 + (uint32_t)(tb * LANES)), iota), i0);
        __m512i p = _mm512_mul_epu32(x0, m0);
        pt[2 * tb] = p;
        pt[2 * tb + 1] = _mm512_srli_epi64(p, 32);
    }
}

/* Runs UNITS units (group gi[k], steps t[k]..t[k]+7) and ORs their spike
 * bits into the staging block: word w, steps t..t+7 is the 64-byte slot
 * st + slot·TSUP + (t - ts), lane l = step t+l. Two units of one batch may
 * share a slot; each load-or-store sees the previous one's store. */
static inline __attribute__((always_inline)) void
run_units(const groups *gr, const int gi[UNITS], const uint32_t tt[UNITS], uint32_t ts,
          const __m512i *pt, const uint32_t rk[10][2], uint64_t *st)
{
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0), m1 = _mm512_set1_epi64(PHILOX_M1);
    ph8 s[UNITS];
    /* rounds 0-2 (hoist_group): round 1's p from step_products; round 2
     * from q = M1·x2 */
#pragma GCC unroll 8
    for (int k = 0; k < UNITS; k++) {
        const uint64_t *h = gr->h[gi[k]];
        const __m512i *p = pt + 2 * ((tt[k] - ts) / LANES);
        __m512i x2 = _mm512_xor_si512(p[1], _mm512_set1_epi64((long long)h[0]));
        __m512i q = _mm512_mul_epu32(x2, m1);
        s[k].x[0] = _mm512_xor_si512(_mm512_srli_epi64(q, 32), _mm512_set1_epi64((long long)h[1]));
        s[k].x[1] = q;
        s[k].x[2] = _mm512_xor_si512(p[0], _mm512_set1_epi64((long long)h[2]));
        s[k].x[3] = _mm512_set1_epi64((long long)h[3]);
    }
    philox_units(s, rk);
    const __m512i k90 = _mm512_set1_epi64(rk[9][0]), k91 = _mm512_set1_epi64(rk[9][1]);
#pragma GCC unroll 8
    for (int k = 0; k < UNITS; k++) {
        int g = gi[k];
        /* round 9 straight into the output words: qword l of y01 = {x0, x1}
         * of step l = {hi(p1) ^ x1 ^ k0, lo(p1)}, which is p1 with its
         * halves swapped and the low one xored (a masked ternlog); y23 the
         * same of p0 = {x2, x3} (a round and two pairing permutes before) */
        __m512i p0 = _mm512_mul_epu32(s[k].x[0], m0), p1 = _mm512_mul_epu32(s[k].x[2], m1);
        __m512i y01 = _mm512_mask_ternarylogic_epi32(_mm512_ror_epi64(p1, 32), 0x5555, s[k].x[1], k90, 0x96);
        __m512i y23 = _mm512_mask_ternarylogic_epi32(_mm512_ror_epi64(p0, 32), 0x5555, s[k].x[3], k91, 0x96);
        /* qword l of y01 holds step l's draws of inputs 0..3 (x0's two
         * halves, then x1's), y23 those of inputs 4..7; each compare gives
         * a nibble per step, and pdep interleaves the two into one byte per
         * step (bit j = input j of the group): the spike bits of the unit,
         * with the group's 255 pixels added */
        uint64_t lo = (uint32_t)_mm512_cmplt_epu16_mask(y01, _mm512_set1_epi64((long long)gr->thr[g][0]));
        uint64_t hi = (uint32_t)_mm512_cmplt_epu16_mask(y23, _mm512_set1_epi64((long long)gr->thr[g][1]));
        uint64_t bits = _pdep_u64(lo, 0x0f0f0f0f0f0f0f0full) | _pdep_u64(hi, 0xf0f0f0f0f0f0f0f0ull);
        /* byte l to the group's byte of step t + l's word */
        __m512i v = _mm512_shuffle_epi8(_mm512_set1_epi64((long long)bits), _mm512_load_si512(BYTE_SEL[gr->shift[g]]));
        uint64_t *dst = st + (size_t)gr->slot[g] * TSUP + (tt[k] - ts);
        _mm512_store_si512(dst, _mm512_or_si512(_mm512_load_si512(dst), v));
    }
}

lif_status lif_encode_simd_avx512(const lif_ctx *ctx, const lif_encode_args *a)
{
    (void)ctx;
    /* 16-bit thresholds; 255 (threshold 65536) is handled separately */
    uint64_t thr[256];
    for (int p = 0; p < 256; p++)
        thr[p] = p == 255 ? 0 : lif_encode_threshold((uint8_t)p);
    /* round keys: round r uses key + r·W (Random123's bumpkey) */
    uint32_t rk[10][2];
    for (int r = 0; r < 10; r++) {
        rk[r][0] = a->key[0] + (uint32_t)r * PHILOX_W0;
        rk[r][1] = a->key[1] + (uint32_t)r * PHILOX_W1;
    }

    const int n_in = a->n_in, nw = (n_in + 63) / 64;
    const size_t ld = a->ld, tstride = a->dst_tstride ? a->dst_tstride : (size_t)a->B * ld;
    /* staging block: word w0+i, step ts+t at st[i·TSUP + t]. Rows of dst
     * are a whole image-step each, far apart; the block collects WB words x
     * TSUP steps in L1 and then goes out one contiguous row piece at a time */
    uint64_t st[(WB + 1) * TSUP] __attribute__((aligned(64))); /* + the dummy's row */
    groups gr;
    __m512i pt[2 * TSUP / LANES];
    for (int b = 0; b < a->B; b++) {
        const uint8_t *px = a->pixels + (size_t)b * n_in;
        /* round 0's constants of the image (hoist_group) */
        uint64_t pid = mul64(PHILOX_M1, a->ids[b]);
        const __m512i i0 = _mm512_set1_epi64((uint32_t)(pid >> 32) ^ rk[0][0]);
        const uint32_t l1 = (uint32_t)pid;
        uint64_t *row0 = a->dst + (size_t)b * ld;
        for (int w0 = 0; w0 < nw; w0 += WB) {
            int nwb = nw - w0 < WB ? nw - w0 : WB;
            /* the block's groups that need draws, and its words' 255 bits */
            uint64_t full[WB];
            int ng = 0;
            for (int i = 0; i < nwb; i++) {
                int w = w0 + i;
                int np = n_in - 64 * w < 64 ? n_in - 64 * w : 64; /* zero beyond n_in */
                __m512i pv = _mm512_maskz_loadu_epi8(np == 64 ? ~0ull : (1ull << np) - 1,
                                                     px + 64 * w);
                uint64_t nz = _mm512_test_epi8_mask(pv, pv);
                full[i] = _mm512_cmpeq_epi8_mask(pv, _mm512_set1_epi8((char)0xff));
                uint64_t rnd = nz & ~full[i];
                uint8_t pw[64]; /* the word's pixels, 0 past n_in */
                if (rnd)
                    _mm512_storeu_si512(pw, pv);
                while (rnd) {
                    int k = __builtin_ctzll(rnd) / 8; /* group in the word */
                    rnd &= ~(0xffull << 8 * k);
                    const uint8_t *q = pw + 8 * k;
                    gr.g[ng] = (uint32_t)(8 * w + k);
                    gr.slot[ng] = (uint32_t)i;
                    gr.shift[ng] = (uint64_t)k;
                    for (int j = 0; j < 2; j++)
                        gr.thr[ng][j] = thr[q[4 * j]] | thr[q[4 * j + 1]] << 16 |
                                        thr[q[4 * j + 2]] << 32 | thr[q[4 * j + 3]] << 48;
                    hoist_group(gr.h[ng], gr.g[ng], l1, a->domain, rk);
                    ng++;
                }
            }
            gr.g[ng] = 0, gr.slot[ng] = WB, gr.shift[ng] = 0;
            gr.thr[ng][0] = gr.thr[ng][1] = 0;
            hoist_group(gr.h[ng], 0, l1, a->domain, rk);

            for (int ts = 0; ts < a->Tc; ts += TSUP) {
                int nt = a->Tc - ts < TSUP ? a->Tc - ts : TSUP;
                int ntb = (nt + LANES - 1) / LANES;
                uint32_t t0 = (uint32_t)(a->t0 + ts);
                step_products(pt, ntb, t0, i0);
                for (int i = 0; i < nwb; i++) {
                    __m512i f = _mm512_set1_epi64((long long)full[i]);
                    for (int tb = 0; tb < ntb; tb++)
                        _mm512_store_si512(st + (size_t)i * TSUP + tb * LANES, f);
                }
                /* units (group, 8-step block), group-major, UNITS at a time */
                int gi[UNITS], nu = 0;
                uint32_t tt[UNITS];
                for (int g = 0; g < ng; g++)
                    for (int tb = 0; tb < ntb; tb++) {
                        gi[nu] = g;
                        tt[nu] = t0 + (uint32_t)(tb * LANES);
                        if (++nu == UNITS) {
                            run_units(&gr, gi, tt, t0, pt, rk, st);
                            nu = 0;
                        }
                    }
                if (nu) {
                    for (int k = nu; k < UNITS; k++)
                        gi[k] = ng, tt[k] = t0;  /* the dummy group: ORs zeros */
                    run_units(&gr, gi, tt, t0, pt, rk, st);
                }
                /* out: each step's row piece (words w0..w0+nwb-1) in one go */
                const __m512i vidx = _mm512_setr_epi64(0, TSUP, 2 * TSUP, 3 * TSUP, 4 * TSUP,
                                                       5 * TSUP, 6 * TSUP, 7 * TSUP);
                for (int t = 0; t < nt; t++) {
                    uint64_t *dst = row0 + (size_t)(ts + t) * tstride + w0;
                    for (int i = 0; i < nwb; i += 8) {
                        __mmask8 m = (__mmask8)(nwb - i >= 8 ? 0xff : (1u << (nwb - i)) - 1);
                        __m512i v = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), m, vidx,
                                                                (const long long *)(st + (size_t)i * TSUP + t), 8);
                        if ((size_t)(w0 + i + 8) <= ld)
                            _mm512_storeu_si512(dst + i, v); /* zeros past the words: the row's tail */
                        else
                            _mm512_mask_storeu_epi64(dst + i, m, v);
                    }
                }
            }
        }
        /* clear the row tails beyond n_in, where the full stores above did
         * not (rows padded past the next multiple of 8 words) */
        if ((size_t)nw < ld && (size_t)(nw + 7) / 8 * 8 < ld)
            for (int t = 0; t < a->Tc; t++)
                memset(row0 + (size_t)t * tstride + nw, 0, (ld - nw) * sizeof(uint64_t));
    }
    return LIF_OK;
}
