/* lif/cpu.h — what this CPU can run: vendor, model, ISA features the OS
 * has enabled (cpuid + xgetbv), logical CPUs, and the effective ISA after
 * the LIF_MAX_CPU_ISA cap (scalar|avx2|avx512). */
#ifndef LIF_CPU_H
#define LIF_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lif_isa {
    LIF_ISA_SCALAR = 0,
    LIF_ISA_AVX2,     /* AVX2 + FMA, OS saves YMM */
    LIF_ISA_AVX512,   /* AVX-512 F, BW, VL, DQ, OS saves ZMM and opmasks */
    LIF_ISA_COUNT
} lif_isa;

typedef struct lif_cpu {
    char vendor[16];
    char model[64];
    int avx2, fma, avx512f, avx512bw, avx512vl, avx512dq;  /* cpuid bits */
    int os_ymm, os_zmm;           /* xgetbv: the OS saves YMM / ZMM state */
    int logical_cpus;             /* online logical CPUs */
    lif_isa best;                 /* the best ISA this CPU and OS can run */
    lif_isa isa;                  /* best, capped by LIF_MAX_CPU_ISA */
    int capped;                   /* 1 when the cap lowered the ISA */
    char cap_ignored[32];         /* a LIF_MAX_CPU_ISA value that names no ISA
                                     (ignored), or "" */
    int avx512_bf16;              /* cpuid bit: AVX512_BF16 (bf16 dot products) */
    int gfni, avx512vbmi;         /* cpuid bits: GFNI (vgf2p8affineqb), AVX512_VBMI
                                     (vpermb, vpermt2b) */
    int bmi2;                     /* cpuid bit: BMI2 (pdep); the avx512 level
                                     requires it (every AVX-512 CPU has it) */
} lif_cpu;

/* This machine, detected once (thread-safe after the first call returns). */
const lif_cpu *lif_cpu_get(void);

/* "scalar", "avx2", "avx512". */
const char *lif_isa_name(lif_isa isa);

/* 1 if the effective ISA includes isa; else 0 and *why (static text, e.g.
 * "the CPU lacks AVX-512F" or "capped by LIF_MAX_CPU_ISA=avx2"). */
int lif_cpu_has(lif_isa isa, const char **why);

#ifdef __cplusplus
}
#endif
#endif
