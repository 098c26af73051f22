/* CPU detection: cpuid for the feature bits, xgetbv for what the OS saves
 * on a context switch (a CPU with AVX-512 under an OS that does not save
 * ZMM registers cannot use them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lif/cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define LIF_X86 1
#endif

static lif_cpu cpu;
static int detected;

static const char *const isa_names[] = {"scalar", "avx2", "avx512"};
_Static_assert(sizeof isa_names / sizeof isa_names[0] == LIF_ISA_COUNT, "one name per ISA");

const char *lif_isa_name(lif_isa isa)
{
    return (unsigned)isa < LIF_ISA_COUNT ? isa_names[isa] : "unknown";
}

#ifdef LIF_X86
static unsigned long long xgetbv0(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (unsigned long long)hi << 32 | lo;
}
#endif

static void detect(lif_cpu *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->vendor, "unknown");
    strcpy(c->model, "unknown");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->logical_cpus = n > 0 ? (int)n : 1;
#ifdef LIF_X86
    unsigned a, b, d, e;
    if (__get_cpuid(0, &a, &b, &d, &e)) {
        memcpy(c->vendor, &b, 4);
        memcpy(c->vendor + 4, &e, 4);
        memcpy(c->vendor + 8, &d, 4);
        c->vendor[12] = '\0';
    }
    unsigned max_ext = __get_cpuid_max(0x80000000u, NULL);
    if (max_ext >= 0x80000004u) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
        char m[49];
        memcpy(m, r, 48);
        m[48] = '\0';
        const char *s = m;
        while (*s == ' ')
            s++;
        strncpy(c->model, s, sizeof c->model - 1);
        size_t len = strlen(c->model);
        while (len && c->model[len - 1] == ' ')
            c->model[--len] = '\0';
    }
    unsigned eax, ebx, ecx, edx;
    int osxsave = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
        c->fma = (ecx >> 12) & 1;
        osxsave = (ecx >> 27) & 1;
    }
    if (osxsave) {
        unsigned long long xcr0 = xgetbv0();
        c->os_ymm = (xcr0 & 0x6) == 0x6;
        c->os_zmm = (xcr0 & 0xe6) == 0xe6;
    }
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        c->avx2 = (ebx >> 5) & 1;
        c->bmi2 = (ebx >> 8) & 1;
        c->avx512f = (ebx >> 16) & 1;
        c->avx512dq = (ebx >> 17) & 1;
        c->avx512bw = (ebx >> 30) & 1;
        c->avx512vl = (ebx >> 31) & 1;
        c->avx512vbmi = (ecx >> 1) & 1;
        c->gfni = (ecx >> 8) & 1;
    }
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && eax >= 1 &&
        __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx))
        c->avx512_bf16 = (eax >> 5) & 1;
    if (c->avx2 && c->fma && c->os_ymm)
        c->best = LIF_ISA_AVX2;
    if (c->best == LIF_ISA_AVX2 && c->avx512f && c->avx512bw && c->avx512vl && c->avx512dq &&
        c->bmi2 && c->os_zmm)
        c->best = LIF_ISA_AVX512;
#endif
    c->isa = c->best;
    const char *cap = getenv("LIF_MAX_CPU_ISA");
    if (cap && *cap) {
        int known = 0;
        for (int i = 0; i < LIF_ISA_COUNT; i++)
            if (strcmp(cap, isa_names[i]) == 0) {
                known = 1;
                if ((lif_isa)i < c->isa) {
                    c->isa = (lif_isa)i;
                    c->capped = 1;
                }
            }
        if (!known)
            snprintf(c->cap_ignored, sizeof c->cap_ignored, "%.31s", cap);
    }
}

const lif_cpu *lif_cpu_get(void)
{
    if (!detected) {
        detect(&cpu);
        detected = 1;
    }
    return &cpu;
}

int lif_cpu_has(lif_isa isa, const char **why)
{
    const lif_cpu *c = lif_cpu_get();
    const char *dummy;
    if (!why)
        why = &dummy;
    if (isa <= c->isa) {
        *why = "";
        return 1;
    }
    if (isa <= c->best) {
        *why = "capped by LIF_MAX_CPU_ISA";
        return 0;
    }
    if (isa == LIF_ISA_AVX2)
        *why = !c->avx2 || !c->fma ? "the CPU lacks AVX2+FMA" : "the OS does not save YMM registers";
    else
        *why = !c->avx512f ? "the CPU lacks AVX-512F"
               : !(c->avx512bw && c->avx512vl && c->avx512dq) ? "the CPU lacks AVX-512 BW/VL/DQ"
               : !c->os_zmm ? "the OS does not save ZMM registers"
                            : "the CPU lacks AVX2+FMA";
    return 0;
}
