/* Roofline: peak FLOP/s and copy bandwidth of this machine, one thread.
 *
 * The FMA loop keeps 12 independent accumulator vectors so that both FMA
 * pipes stay busy despite a 4-5 cycle latency (2 pipes x 5 cycles = 10 in
 * flight). It is compiled for AVX2+FMA through a target attribute on that
 * one function only (the library itself keeps the baseline ISA) and is run
 * only when lif_cpu_has(LIF_ISA_AVX2) (an AVX-512 twin when the effective
 * ISA is AVX-512, so the AVX-512 kernels meet their own peak); otherwise a portable 128-bit loop of
 * separate multiplies and adds measures what the baseline ISA can do. Each
 * figure is the best of short slices after a warm-up, so a preempted slice
 * on a shared VM lowers nothing. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lif/cpu.h"
#include "lif/net.h"
#include "lif/roofline.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

#define ACC 12        /* independent accumulators */
#define UNROLL 16     /* FMA rounds per block */

static volatile float sink;

#if HAVE_X86
__attribute__((target("avx2,fma"))) static double fma_avx2(long blocks)
{
    const __m256 m = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-5f);
    __m256 a[ACC];
    for (int k = 0; k < ACC; k++)
        a[k] = _mm256_set1_ps(0.01f * (float)(k + 1));
    for (long i = 0; i < blocks; i++)
        for (int j = 0; j < UNROLL; j++) {
            /* written out so every accumulator stays in a register */
            a[0] = _mm256_fmadd_ps(a[0], m, c);
            a[1] = _mm256_fmadd_ps(a[1], m, c);
            a[2] = _mm256_fmadd_ps(a[2], m, c);
            a[3] = _mm256_fmadd_ps(a[3], m, c);
            a[4] = _mm256_fmadd_ps(a[4], m, c);
            a[5] = _mm256_fmadd_ps(a[5], m, c);
            a[6] = _mm256_fmadd_ps(a[6], m, c);
            a[7] = _mm256_fmadd_ps(a[7], m, c);
            a[8] = _mm256_fmadd_ps(a[8], m, c);
            a[9] = _mm256_fmadd_ps(a[9], m, c);
            a[10] = _mm256_fmadd_ps(a[10], m, c);
            a[11] = _mm256_fmadd_ps(a[11], m, c);
        }
    __m256 s = a[0];
    for (int k = 1; k < ACC; k++)
        s = _mm256_add_ps(s, a[k]);
    float out[8];
    _mm256_storeu_ps(out, s);
    sink = out[0] + out[7];
    return (double)blocks * UNROLL * ACC * 8 * 2;
}

/* The same loop on 512-bit vectors, for CPUs (and LIF_MAX_CPU_ISA) that
 * run AVX-512: the AVX-512 kernels are measured against this peak. */
__attribute__((target("avx512f"))) static double fma_avx512(long blocks)
{
    const __m512 m = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-5f);
    __m512 a[ACC];
    for (int k = 0; k < ACC; k++)
        a[k] = _mm512_set1_ps(0.01f * (float)(k + 1));
    for (long i = 0; i < blocks; i++)
        for (int j = 0; j < UNROLL; j++) {
            a[0] = _mm512_fmadd_ps(a[0], m, c);
            a[1] = _mm512_fmadd_ps(a[1], m, c);
            a[2] = _mm512_fmadd_ps(a[2], m, c);
            a[3] = _mm512_fmadd_ps(a[3], m, c);
            a[4] = _mm512_fmadd_ps(a[4], m, c);
            a[5] = _mm512_fmadd_ps(a[5], m, c);
            a[6] = _mm512_fmadd_ps(a[6], m, c);
            a[7] = _mm512_fmadd_ps(a[7], m, c);
            a[8] = _mm512_fmadd_ps(a[8], m, c);
            a[9] = _mm512_fmadd_ps(a[9], m, c);
            a[10] = _mm512_fmadd_ps(a[10], m, c);
            a[11] = _mm512_fmadd_ps(a[11], m, c);
        }
    __m512 s = a[0];
    for (int k = 1; k < ACC; k++)
        s = _mm512_add_ps(s, a[k]);
    sink = _mm512_reduce_add_ps(s);
    return (double)blocks * UNROLL * ACC * 16 * 2;
}

/* 32 x 32 -> 64-bit products (vpmuludq), ACC independent chains: the
 * roof of the counter-based encoder, whose Philox rounds are two such
 * products per word pair. Returns the products done. */
__attribute__((target("avx512f"))) static double imul_avx512(long blocks)
{
    const __m512i m = _mm512_set1_epi64(0xD2511F53);
    __m512i a[ACC];
    for (int k = 0; k < ACC; k++)
        a[k] = _mm512_set1_epi64(k + 1);
    for (long i = 0; i < blocks; i++)
        for (int j = 0; j < UNROLL; j++)
            for (int k = 0; k < ACC; k++)
                a[k] = _mm512_mul_epu32(a[k], m);
    __m512i s = a[0];
    for (int k = 1; k < ACC; k++)
        s = _mm512_xor_si512(s, a[k]);
    long long out[8];
    _mm512_storeu_si512((void *)out, s);
    sink = (float)(out[0] ^ out[7]);
    return (double)blocks * UNROLL * ACC * 8;
}

/* Vector adds and FMAs by 1.0 alternating, 16 independent chains: the
 * roof of the masked-add linear kernels (simd.h, lif_madd16), which issue
 * on the FP-add pipes and the FMA pipes both. Returns the vector
 * instructions done. */
__attribute__((target("avx512f"))) static double adds_avx512(long blocks)
{
    const __m512 one = _mm512_set1_ps(1.0f), c = _mm512_set1_ps(1e-7f);
    __m512 a[16];
    for (int k = 0; k < 16; k++)
        a[k] = _mm512_set1_ps(0.01f * (float)(k + 1));
    for (long i = 0; i < blocks; i++)
        for (int j = 0; j < UNROLL; j++)
            for (int k = 0; k < 16; k += 2) {
                a[k] = _mm512_add_ps(a[k], c);
                a[k + 1] = _mm512_fmadd_ps(c, one, a[k + 1]);
            }
    __m512 s = a[0];
    for (int k = 1; k < 16; k++)
        s = _mm512_add_ps(s, a[k]);
    sink = _mm512_reduce_add_ps(s);
    return (double)blocks * UNROLL * 16;
}

__attribute__((target("avx2,fma"))) static double adds_avx2(long blocks)
{
    const __m256 one = _mm256_set1_ps(1.0f), c = _mm256_set1_ps(1e-7f);
    __m256 a[16];
    for (int k = 0; k < 16; k++)
        a[k] = _mm256_set1_ps(0.01f * (float)(k + 1));
    for (long i = 0; i < blocks; i++)
        for (int j = 0; j < UNROLL; j++)
            for (int k = 0; k < 16; k += 2) {
                a[k] = _mm256_add_ps(a[k], c);
                a[k + 1] = _mm256_fmadd_ps(c, one, a[k + 1]);
            }
    __m256 s = a[0];
    for (int k = 1; k < 16; k++)
        s = _mm256_add_ps(s, a[k]);
    float out[8];
    _mm256_storeu_ps(out, s);
    sink = out[0] + out[7];
    return (double)blocks * UNROLL * 16;
}

__attribute__((target("avx2"))) static double imul_avx2(long blocks)
{
    const __m256i m = _mm256_set1_epi64x(0xD2511F53);
    __m256i a[ACC];
    for (int k = 0; k < ACC; k++)
        a[k] = _mm256_set1_epi64x(k + 1);
    for (long i = 0; i < blocks; i++)
        for (int j = 0; j < UNROLL; j++)
            for (int k = 0; k < ACC; k++)
                a[k] = _mm256_mul_epu32(a[k], m);
    __m256i s = a[0];
    for (int k = 1; k < ACC; k++)
        s = _mm256_xor_si256(s, a[k]);
    long long out[4];
    _mm256_storeu_si256((__m256i *)(void *)out, s);
    sink = (float)(out[0] ^ out[3]);
    return (double)blocks * UNROLL * ACC * 4;
}
#endif

/* GNU vector extension: 128-bit on x86-64 (SSE2 baseline), generic elsewhere. */
typedef float v4f __attribute__((vector_size(16)));

static double fma_portable(long blocks)
{
    const v4f m = {0.9999f, 0.9999f, 0.9999f, 0.9999f}, c = {1e-5f, 1e-5f, 1e-5f, 1e-5f};
    v4f a[ACC];
    for (int k = 0; k < ACC; k++)
        for (int l = 0; l < 4; l++)
            a[k][l] = 0.01f * (float)(k + 1);
    for (long i = 0; i < blocks; i++)
        for (int j = 0; j < UNROLL; j++)
            for (int k = 0; k < ACC; k++)
                a[k] = a[k] * m + c;
    v4f s = a[0];
    for (int k = 1; k < ACC; k++)
        s += a[k];
    sink = s[0] + s[3];
    return (double)blocks * UNROLL * ACC * 4 * 2;
}

typedef double (*fma_fn)(long);

static fma_fn pick_fma(const char **name)
{
#if HAVE_X86
    if (lif_cpu_has(LIF_ISA_AVX512, NULL)) {
        *name = "avx512_fma";
        return fma_avx512;
    }
    if (lif_cpu_has(LIF_ISA_AVX2, NULL)) {
        *name = "avx2_fma";
        return fma_avx2;
    }
#endif
    *name = "portable";
    return fma_portable;
}

/* Best GFLOP/s over ~10 ms slices for `seconds`, after a 20 ms warm-up. */
static double fma_best(fma_fn f, double seconds)
{
    long blocks = 1024;
    double t = lif_now();
    while (lif_now() - t < 0.02)   /* warm-up: clocks up, sizes the slice */
        f(blocks);
    double t0 = lif_now();
    f(blocks);
    double dt = lif_now() - t0;
    if (dt > 0)
        blocks = (long)((double)blocks * 0.01 / dt) + 1;
    double best = 0.0, end = lif_now() + seconds;
    do {
        t0 = lif_now();
        double flops = f(blocks);
        dt = lif_now() - t0;
        if (dt > 0 && flops / dt > best)
            best = flops / dt;
    } while (lif_now() < end);
    return best * 1e-9;
}

static double copy_best(double seconds, lif_status *st)
{
    const size_t size = (size_t)64 << 20;   /* far beyond any L3 a VM shows */
    unsigned char *src = aligned_alloc(64, size), *dst = aligned_alloc(64, size);
    double best = 0.0;
    if (!src || !dst) {
        *st = lif_error(LIF_ERR_NOMEM, "roofline: out of memory for two %zu MB copy buffers",
                        size >> 20);
        goto fail;
    }
    /* warm-up: map every page (through a volatile pointer, so the stores
     * cannot be dropped as dead) and run one copy */
    for (size_t i = 0; i < size; i += 4096) {
        ((volatile unsigned char *)src)[i] = 1;
        ((volatile unsigned char *)dst)[i] = 2;
    }
    memset(src, 1, size);
    memcpy(dst, src, size);
    src[1] ^= dst[size / 3];
    double end = lif_now() + seconds;
    int passes = 0;
    do {
        double t0 = lif_now();
        memcpy(dst, src, size);
        double dt = lif_now() - t0;
        src[dt > 1.0] ^= dst[size / 2];   /* keep the copies observable */
        if (dt > 0 && 2.0 * (double)size / dt > best)
            best = 2.0 * (double)size / dt;
    } while (++passes < 3 || lif_now() < end);
    *st = LIF_OK;
fail:
    free(src);
    free(dst);
    return best * 1e-9;
}

lif_status lif_roofline_measure(double seconds, lif_roofline *out)
{
    if (seconds <= 0)
        seconds = 0.2;
    double t0 = lif_now();
    const char *name;
    fma_fn f = pick_fma(&name);
    double gflops = fma_best(f, seconds);
    lif_status st;
    double gbps = copy_best(seconds, &st);
    if (st != LIF_OK)
        return st;
    out->gflops = gflops;
    out->copy_gbps = gbps;
    out->fma_loop = name;
    out->gmuls = 0.0;
    out->gadds = 0.0;
#if HAVE_X86
    if (lif_cpu_has(LIF_ISA_AVX512, NULL)) {
        out->gmuls = fma_best(imul_avx512, seconds / 2);
        out->gadds = fma_best(adds_avx512, seconds / 2);
    } else if (lif_cpu_has(LIF_ISA_AVX2, NULL)) {
        out->gmuls = fma_best(imul_avx2, seconds / 2);
        out->gadds = fma_best(adds_avx2, seconds / 2);
    }
#endif
    out->seconds = lif_now() - t0;
    return LIF_OK;
}

typedef struct fma_job {
    fma_fn f;
    double seconds;
    atomic_int *go;     /* 1: start, -1: give up (another thread failed to start) */
    double flops, dt;
} fma_job;

static void *fma_thread(void *arg)
{
    fma_job *j = arg;
    j->f(4096);   /* warm-up */
    int go;
    while ((go = atomic_load(j->go)) == 0)
        sched_yield();
    if (go < 0)
        return NULL;
    double t0 = lif_now(), end = t0 + j->seconds;
    j->flops = 0.0;
    do
        j->flops += j->f(4096);
    while (lif_now() < end);
    j->dt = lif_now() - t0;
    return NULL;
}

lif_status lif_roofline_fma_threads(int threads, double seconds, double *gflops)
{
    if (threads < 1 || threads > 1024)
        return lif_error(LIF_ERR_INVALID_ARG, "roofline: %d threads, want 1..1024", threads);
    if (seconds <= 0)
        seconds = 0.2;
    const char *name;
    fma_fn f = pick_fma(&name);
    fma_job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    atomic_int go = 0;
    lif_status st = LIF_OK;
    int started = 1;
    if (!jobs || !tid) {
        st = lif_error(LIF_ERR_NOMEM, "roofline: out of memory for %d threads", threads);
        goto fail;
    }
    for (int i = 0; i < threads; i++)
        jobs[i] = (fma_job){.f = f, .seconds = seconds, .go = &go};
    for (; started < threads; started++) {
        int e = pthread_create(&tid[started], NULL, fma_thread, &jobs[started]);
        if (e) {
            st = lif_error(LIF_ERR_INTERNAL, "roofline: cannot start thread %d of %d (%s)",
                           started + 1, threads, strerror(e));
            break;
        }
    }
    atomic_store(&go, st == LIF_OK ? 1 : -1);
    if (st == LIF_OK)
        fma_thread(&jobs[0]);
    double sum = 0.0;
    for (int i = 0; i < started; i++) {
        if (i)
            pthread_join(tid[i], NULL);
        if (jobs[i].dt > 0)
            sum += jobs[i].flops / jobs[i].dt;
    }
    if (st == LIF_OK)
        *gflops = sum * 1e-9;
fail:
    free(jobs);
    free(tid);
    return st;
}

/* The line the two threads hand back and forth, alone on it. */
typedef struct rt_job {
    _Alignas(64) atomic_long turn;  /* even: the first thread's, odd: the second's; -1: stop */
} rt_job;

/* Waits until turn is `want` (or -1, returned): spinning, and yielding
 * after a few thousand polls, so that two threads on one busy CPU take
 * turns by the scheduler instead of spinning out a time slice each. */
static long rt_wait(rt_job *j, long want)
{
    for (unsigned n = 1;; n++) {
        long v = atomic_load_explicit(&j->turn, memory_order_acquire);
        if (v == want || v < 0)
            return v;
        if (n % 4096 == 0)
            sched_yield();
    }
}

/* The second thread: answers every even value of turn with the next odd
 * one until the first thread stores -1. */
static void *rt_thread(void *arg)
{
    rt_job *j = arg;
    for (long k = 0; rt_wait(j, k) >= 0; k += 2)
        atomic_store_explicit(&j->turn, k + 1, memory_order_release);
    return NULL;
}

lif_status lif_roofline_line_round_trip(double seconds, double *ns)
{
    if (seconds <= 0)
        seconds = 0.05;
    rt_job *j = aligned_alloc(64, sizeof *j);
    if (!j)
        return lif_error(LIF_ERR_NOMEM, "roofline: out of memory");
    atomic_init(&j->turn, 0);
    pthread_t tid;
    int e = pthread_create(&tid, NULL, rt_thread, j);
    if (e) {
        free(j);
        return lif_error(LIF_ERR_INTERNAL, "roofline: cannot start a second thread (%s)",
                         strerror(e));
    }
    /* rounds in batches of 256 until the time is up; the first batch warms up */
    long k = 0, counted = 0;
    double t0 = 0, end = 0;
    for (int batch = 0;; batch++) {
        if (batch == 1) {
            t0 = lif_now();
            end = t0 + seconds;
            counted = 0;
        }
        for (int r = 0; r < 256; r++, k += 2) {
            rt_wait(j, k + 1);
            atomic_store_explicit(&j->turn, k + 2, memory_order_release);
        }
        counted += 256;
        if (batch >= 1 && lif_now() >= end)
            break;
    }
    double dt = lif_now() - t0;
    rt_wait(j, k + 1);
    atomic_store_explicit(&j->turn, -1, memory_order_release);
    pthread_join(tid, NULL);
    free(j);
    *ns = dt / (double)counted * 1e9;
    return LIF_OK;
}
