/* Poisson encoder, AVX2: Philox4x32-10 on 4 counters at once, the same
 * draws and spikes as lif_encode_scalar_ref (16-bit draws, eight per call:
 * see lif_encode_args).
 *
 * The layout is that of encode_simd_avx512.c: each Philox word in the low
 * half of a 64-bit lane (one vpmuludq gives lo and hi, no shuffles), the 4
 * lanes are 4 consecutive time steps of one group of eight inputs, and a
 * "unit" (group, 4 steps) runs three at a time to hide the multiplier
 * latency within AVX2's 16 registers.
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

enum { LANES = 4, UNITS = 3, TSUP = 64, TB_MAX = TSUP / LANES };

/* One Philox state of 4 counters: word j of lane l in x[j], lane l. */
typedef struct { __m256i x[4]; } ph4;

/* Random123's philox4x32round:
 *   (hi0, lo0) = M0·x0, (hi1, lo1) = M1·x2,
 *   x' = {hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0}. */
static inline void round4(ph4 *s, __m256i m0, __m256i m1, __m256i k0, __m256i k1)
{
    __m256i p0 = _mm256_mul_epu32(s->x[0], m0);
    __m256i p1 = _mm256_mul_epu32(s->x[2], m1);
    s->x[0] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), s->x[1]), k0);
    s->x[1] = p1;
    s->x[2] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), s->x[3]), k1);
    s->x[3] = p0;
}

/* Philox4x32-10 of UNITS states side by side (interleaved so that the
 * multiplies of one state overlap the others'); rk[r] is round r's key. */
static inline void philox_units(ph4 s[UNITS], const uint32_t rk[10][2])
{
    const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0), m1 = _mm256_set1_epi64x(PHILOX_M1);
    for (int r = 0; r < 10; r++) {
        __m256i k0 = _mm256_set1_epi64x(rk[r][0]), k1 = _mm256_set1_epi64x(rk[r][1]);
        for (int k = 0; k < UNITS; k++)
            round4(&s[k], m0, m1, k0, k1);
    }
}

/* One unit of work: group g (inputs 8g..8g+7) at steps t..t+3. */
typedef struct {
    uint32_t g, t;
    int tb;              /* which 4-step block of the accumulator */
    uint64_t thr[4];     /* word j: thresholds of inputs 8g+2j (bits 0..15) and
                          * 8g+2j+1 (bits 16..31), each XOR 0x8000 (see below);
                          * 0x8000 never fires */
} unit;

/* Runs UNITS units and ORs their spike bits into acc[tb]: bit 8·(g%8)+i of
 * lane l is input 8g+i at step t+l. */
static void run_units(const unit *u, __m256i id, __m256i dom, const uint32_t rk[10][2],
                      __m256i *acc)
{
    const __m256i iota = _mm256_set_epi64x(3, 2, 1, 0);
    ph4 s[UNITS];
    for (int k = 0; k < UNITS; k++) {
        s[k].x[0] = _mm256_set1_epi64x(u[k].g);
        s[k].x[1] = _mm256_add_epi64(_mm256_set1_epi64x(u[k].t), iota);
        s[k].x[2] = id;
        s[k].x[3] = dom;
    }
    philox_units(s, rk);
    /* AVX2 compares 16-bit lanes signed only: x <u T  <=>  (x ^ 0x8000) <s (T ^ 0x8000) */
    const __m256i bias = _mm256_set1_epi16((short)0x8000);
    for (int k = 0; k < UNITS; k++) {
        /* 16-bit slot 0 of a lane collects the bits of the even inputs (the
         * low halves), slot 1 those of the odd ones, at their final places */
        __m256i v = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i x = _mm256_xor_si256(s[k].x[j], bias);
            __m256i f = _mm256_cmpgt_epi16(_mm256_set1_epi64x((long long)u[k].thr[j]), x);
            __m256i bit = _mm256_set1_epi64x((long long)(1ull << 2 * j | 1ull << (2 * j + 1 + 16)));
            v = _mm256_or_si256(v, _mm256_and_si256(f, bit));
        }
        /* (slot 0 | slot 1) & 0xff, then to the group's byte of the word */
        v = _mm256_and_si256(_mm256_or_si256(v, _mm256_srli_epi64(v, 16)), _mm256_set1_epi64x(0xff));
        v = _mm256_sll_epi64(v, _mm_cvtsi32_si128((int)(u[k].g % 8) * 8));
        acc[u[k].tb] = _mm256_or_si256(acc[u[k].tb], v);
    }
}

/* Bit i of the result: pixel i is not 0 (nz) / is 255 (full), for the 64
 * pixels of pw. */
static void classify(const uint8_t pw[64], uint64_t *nz, uint64_t *full)
{
    const __m256i zero = _mm256_setzero_si256(), ff = _mm256_set1_epi8((char)0xff);
    __m256i lo = _mm256_loadu_si256((const __m256i *)pw);
    __m256i hi = _mm256_loadu_si256((const __m256i *)(pw + 32));
    uint64_t z = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, zero)) |
                 (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, zero)) << 32;
    *nz = ~z;
    *full = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, ff)) |
            (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, ff)) << 32;
}

void lif_encode_simd_avx2(const lif_encode_args *a)
{
    /* 16-bit thresholds, biased for the signed compare; 255 (threshold
     * 65536) is handled separately, as is the garbage in slots 2 and 3 */
    uint64_t thr[256];
    for (int p = 0; p < 256; p++)
        thr[p] = (p == 255 ? 0 : lif_encode_threshold((uint8_t)p)) ^ 0x8000u;
    const uint64_t never = 0x80008000ull << 32;
    /* round keys: round r uses key + r·W (Random123's bumpkey) */
    uint32_t rk[10][2];
    for (int r = 0; r < 10; r++) {
        rk[r][0] = a->key[0] + (uint32_t)r * PHILOX_W0;
        rk[r][1] = a->key[1] + (uint32_t)r * PHILOX_W1;
    }

    const int n_in = a->n_in, nw = (n_in + 63) / 64;
    const size_t ld = a->ld, tstride = (size_t)a->B * ld;
    const __m256i dom = _mm256_set1_epi64x(a->domain);
    for (int b = 0; b < a->B; b++) {
        const uint8_t *px = a->pixels + (size_t)b * n_in;
        const __m256i id = _mm256_set1_epi64x(a->ids[b]);
        uint64_t *row0 = a->dst + (size_t)b * ld;
        for (int ts = 0; ts < a->Tc; ts += TSUP) {
            int nt = a->Tc - ts < TSUP ? a->Tc - ts : TSUP;
            int ntb = (nt + LANES - 1) / LANES;
            for (int w = 0; w < nw; w++) {
                /* the word's 64 pixels, zero beyond n_in */
                int np = n_in - 64 * w < 64 ? n_in - 64 * w : 64;
                uint8_t tail[64];
                const uint8_t *pw = px + 64 * w;
                if (np < 64) {
                    memset(tail, 0, sizeof tail);
                    memcpy(tail, pw, (size_t)np);
                    pw = tail;
                }
                uint64_t nz, full;
                classify(pw, &nz, &full);
                uint64_t rnd = nz & ~full; /* pixels that need a draw */

                __m256i acc[TB_MAX];
                for (int tb = 0; tb < ntb; tb++)
                    acc[tb] = _mm256_set1_epi64x((long long)full);
                if (rnd) {
                    unit u[UNITS];
                    int nu = 0;
                    while (rnd) {
                        int k = __builtin_ctzll(rnd) / 8; /* group in the word */
                        rnd &= ~(0xffull << 8 * k);
                        unit x = {.g = (uint32_t)(8 * w + k)};
                        for (int j = 0; j < 4; j++)
                            x.thr[j] = never | thr[pw[8 * k + 2 * j]] | thr[pw[8 * k + 2 * j + 1]] << 16;
                        for (int tb = 0; tb < ntb; tb++) {
                            x.t = (uint32_t)(a->t0 + ts + tb * LANES);
                            x.tb = tb;
                            u[nu++] = x;
                            if (nu == UNITS) {
                                run_units(u, id, dom, rk, acc);
                                nu = 0;
                            }
                        }
                    }
                    if (nu) {
                        /* pad with units that cannot fire */
                        for (int k = nu; k < UNITS; k++)
                            u[k] = (unit){.g = 0, .t = 0, .tb = 0,
                                          .thr = {never | 0x80008000u, never | 0x80008000u,
                                                  never | 0x80008000u, never | 0x80008000u}};
                        run_units(u, id, dom, rk, acc);
                    }
                }
                uint64_t out[TSUP] __attribute__((aligned(32)));
                for (int tb = 0; tb < ntb; tb++)
                    _mm256_store_si256((__m256i *)(out + tb * LANES), acc[tb]);
                uint64_t *dst = row0 + (size_t)ts * tstride + w;
                for (int t = 0; t < nt; t++)
                    dst[(size_t)t * tstride] = out[t];
            }
            /* clear the row tails beyond n_in */
            if ((size_t)nw < ld)
                for (int t = 0; t < nt; t++)
                    memset(row0 + (size_t)(ts + t) * tstride + nw, 0, (ld - nw) * sizeof(uint64_t));
        }
    }
}
