/* The linear ops on oneDNN matmul primitives (oneDNN 2.6 C API).
 *
 * Shapes. Every primitive has fixed dimensions and strides: oneDNN 2.6
 * runs matmuls with runtime dimensions on its generic GEMM (gemm:jit),
 * which measured 40-70x slower here than the brgemm kernels it picks for
 * fixed shapes (10 x 512 x 784: 5-7 ms vs 0.1 ms a call). So a kernel
 * works in blocks of R = min(512, Tc*B) rows, and one primitive per kernel
 * and problem, made in init() and kept in the state (never per batch),
 * runs every block; oneDNN's primitive cache also serves a later init() of
 * the same shape. A shorter block (the end of a chunk, a shorter last
 * chunk or batch, a part of a cut) is padded with zero rows, and an output
 * that is not dense (ldy > n_out) or a padded block goes through a buffer
 * and is copied out, so that every row is computed by the same primitive
 * whatever the call:
 *
 *   linear_fwd    Y[R, n_out] = X[R, n_in] · Wᵀ (+ b): W read in place as
 *                 an [n_in, n_out] matrix with strides {1, n_in}
 *   linear_bwd_x  dX[R, n_in] = dY[R, n_out] · W
 *   linear_bwd_w  dW[:, block] += dYᵀ[n_out, R] · X[R, block], over column
 *                 blocks of C = min(128, n_in) columns of dW (a padded last
 *                 one); the sum post-op accumulates into a copy of the
 *                 block, which is copied back after the last row block;
 *                 db += Σ_rows dY in C
 *
 * Spikes. X arrives as packed bits and enters oneDNN as float32 (or bf16)
 * 0/1 values, unpacked a block at a time into the thread's workspace (the
 * conversion is part of the kernel and of its timing).
 *
 * bf16 (-amp). X, W and dY enter the matmul in bfloat16 (X exactly: 0 and
 * 1 are bf16 values; W and dY rounded to nearest even), products are
 * accumulated in float32 and Y, dX, dW stay float32 (the master weights and
 * the optimizer are float32, in the other backends). W is converted once
 * per call, by the calling thread, into the first thread's slice, which
 * every thread then reads.
 *
 * Threads. The kernels are LIF_KERNEL_THREADED: a call runs over exactly
 * ctx->nthreads OpenMP threads (libgomp, the runtime Debian's libdnnl uses).
 * Each thread runs the primitive on its own blocks, on its own stream, with
 * its own memory objects (made in init(); run() only points them at the
 * data) and its own scratchpad (user scratchpad mode, from its workspace
 * slice); oneDNN inside an active parallel region runs single-threaded. At
 * one thread no region is opened and oneDNN's thread count is set to 1
 * around the call (omp_set_num_threads, restored after). The blocks are
 * fixed by the row (or column) index alone and dealt round robin: row
 * blocks for the forward and the input gradient, dW's column blocks for
 * the weight gradient (each element sums the same row blocks in the same
 * order). So results are bitwise the same for any thread count. oneDNN's
 * own thread split is not used: for the weight gradient it may split the
 * reduction, and results would then depend on the thread count. */
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/topology.h"
#include "onednn.h"

#define ROWS 512   /* rows per block: a block of float32 spikes at n_in 784 is 1.6 MB */
#define COLS 128   /* dW columns per block of the weight gradient */

enum { A_SRC, A_WEI, A_BIAS, A_DST, A_SCRATCH, N_ARGS };
static const int arg_id[N_ARGS] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST,
                                   DNNL_ARG_SCRATCHPAD};

typedef struct dstate {
    lif_op op;
    int bf16;
    int n_in, n_out;
    int rows;                  /* R: rows per block */
    int cols;                  /* C: dW columns per block (weight gradient) */
    int threads;               /* threads with streams and memory objects; 0: a query */
    dnnl_primitive_t prim[2];  /* [0] without bias, [1] with bias (forward) */
    size_t scratch;            /* bytes of scratchpad (the larger of the two) */
    dnnl_memory_desc_t md[2][N_ARGS];
    struct per_thread {
        dnnl_stream_t stream;
        dnnl_memory_t mem[2][N_ARGS];  /* NULL where the primitive has no such argument */
    } t[];
} dstate;

/* The 0/1 values of the 8 bits of a byte, in float32 and in bf16: a byte
 * of spikes unpacks with one 32-byte (16-byte) copy. Filled once. */
static float byte_f32[256][8];
static uint16_t byte_bf16[256][8];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void fill_tables(void)
{
    for (int v = 0; v < 256; v++)
        for (int b = 0; b < 8; b++) {
            byte_f32[v][b] = (float)((v >> b) & 1);
            byte_bf16[v][b] = (uint16_t)(((v >> b) & 1) * 0x3f80);
        }
}

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static int resolved_threads(const lif_problem *p) { return p->threads > 1 ? p->threads : 1; }

static int block_rows(const lif_problem *p)
{
    /* the weight gradient is called once per time step (it sums rows in
     * oneDNN's order, not the steps-last-first order of
     * LIF_KERNEL_STEP_ORDER): B rows a call */
    long m = p->op == LIF_OP_LINEAR_BWD_W ? (long)p->B : (long)p->Tc * p->B;
    return m < 1 ? 1 : m < ROWS ? (int)m : ROWS;
}

static int block_cols(const lif_problem *p) { return p->n_in < COLS ? p->n_in : COLS; }

static dnnl_status_t md2(dnnl_memory_desc_t *md, dnnl_dim_t r, dnnl_dim_t c, dnnl_dim_t sr,
                         dnnl_dim_t sc, dnnl_data_type_t dt)
{
    dnnl_dims_t d = {r, c}, s = {sr, sc};
    return dnnl_memory_desc_init_by_strides(md, 2, d, dt, s);
}

/* ---- primitives ---- */

/* Makes s->prim[slot] from s->md[slot] (no bias when its ndims is 0),
 * with the user scratchpad and, when accumulate, the sum post-op
 * (dst += result). A query (s->threads 0) stops at the descriptor. */
static lif_status make_prim(dstate *s, int slot, int accumulate)
{
    dnnl_engine_t eng = lif_onednn_engine();
    if (!eng)
        return LIF_ERR_INTERNAL;
    dnnl_memory_desc_t *md = s->md[slot];
    dnnl_matmul_desc_t d;
    dnnl_status_t st = dnnl_matmul_desc_init(&d, &md[A_SRC], &md[A_WEI],
                                             md[A_BIAS].ndims ? &md[A_BIAS] : NULL, &md[A_DST]);
    if (st != dnnl_success)
        return lif_onednn_fail("dnnl_matmul_desc_init", st);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    lif_status ls = LIF_OK;
    const char *what = "dnnl_primitive_attr_create";
    if ((st = dnnl_primitive_attr_create(&attr)) != dnnl_success)
        goto out;
    what = "dnnl_primitive_attr_set_scratchpad_mode";
    if ((st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)) !=
        dnnl_success)
        goto out;
    if (accumulate) {
        what = "setting the sum post-op";
        if ((st = dnnl_post_ops_create(&po)) != dnnl_success ||
            (st = dnnl_post_ops_append_sum(po, 1.0f)) != dnnl_success ||
            (st = dnnl_primitive_attr_set_post_ops(attr, po)) != dnnl_success)
            goto out;
    }
    what = "dnnl_primitive_desc_create (matmul)";
    if ((st = dnnl_primitive_desc_create(&pd, &d, attr, eng, NULL)) != dnnl_success)
        goto out;
    md[A_SCRATCH] = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t sz = md[A_SCRATCH].ndims ? dnnl_memory_desc_get_size(&md[A_SCRATCH]) : 0;
    if (sz > s->scratch)
        s->scratch = sz;
    what = "dnnl_primitive_create (matmul)";
    if (s->threads && (st = dnnl_primitive_create(&s->prim[slot], pd)) != dnnl_success)
        goto out;
    what = "dnnl_memory_create";
    for (int i = 0; i < s->threads && st == dnnl_success; i++)
        for (int a = 0; a < N_ARGS && st == dnnl_success; a++)
            if (md[a].ndims)
                st = dnnl_memory_create(&s->t[i].mem[slot][a], &md[a], eng, DNNL_MEMORY_NONE);
out:
    if (st != dnnl_success)
        ls = lif_onednn_fail(what, st);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return ls;
}

void lif_onednn_fini(void *state)
{
    dstate *s = state;
    if (!s)
        return;
    for (int j = 0; j < 2; j++)
        if (s->prim[j])
            dnnl_primitive_destroy(s->prim[j]);
    for (int i = 0; i < s->threads; i++) {
        for (int j = 0; j < 2; j++)
            for (int a = 0; a < N_ARGS; a++)
                if (s->t[i].mem[j][a])
                    dnnl_memory_destroy(s->t[i].mem[j][a]);
        if (s->t[i].stream)
            dnnl_stream_destroy(s->t[i].stream);
    }
    free(s);
}

/* query: no streams nor primitives (s->threads 0), for workspace() */
static lif_status new_state(const lif_problem *p, int bf16, int query, dstate **out)
{
    dnnl_engine_t eng = lif_onednn_engine();
    if (!eng)
        return LIF_ERR_INTERNAL;
    int nt = query ? 0 : resolved_threads(p);
    pthread_once(&tables_once, fill_tables);
    dstate *s = calloc(1, sizeof *s + (size_t)nt * sizeof s->t[0]);
    if (!s)
        return lif_error(LIF_ERR_NOMEM, "onednn: out of memory for a kernel state");
    s->op = p->op, s->bf16 = bf16, s->n_in = p->n_in, s->n_out = p->n_out;
    s->rows = block_rows(p), s->cols = block_cols(p), s->threads = nt;
    for (int i = 0; i < nt; i++) {
        dnnl_status_t st = dnnl_stream_create(&s->t[i].stream, eng, dnnl_stream_default_flags);
        if (st != dnnl_success) {
            lif_onednn_fini(s);
            return lif_onednn_fail("dnnl_stream_create", st);
        }
    }
    if (nt > 1 && p->bind == LIF_BIND_CORES) {
        /* pin the team's threads one per core, as the openmp backend does
         * (libgomp keeps its threads, so the pinning lasts) */
#pragma omp parallel num_threads(nt)
        lif_topology_bind_core(omp_get_thread_num());
    }
    *out = s;
    return LIF_OK;
}

static lif_status init_op(const lif_problem *p, void **state, int bf16, int query)
{
    dstate *s = NULL;
    lif_status ls = new_state(p, bf16, query, &s);
    if (ls != LIF_OK)
        return ls;
    dnnl_data_type_t in = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dim_t ni = p->n_in, no = p->n_out, R = s->rows, C = s->cols;
    dnnl_memory_desc_t *md = s->md[0];
    dnnl_status_t st = dnnl_success;
    switch (p->op) {
    case LIF_OP_LINEAR_FWD:
        if ((st = md2(&md[A_SRC], R, ni, ni, 1, in)) != dnnl_success ||
            (st = md2(&md[A_WEI], ni, no, 1, ni, in)) != dnnl_success ||
            (st = md2(&md[A_DST], R, no, no, 1, dnnl_f32)) != dnnl_success)
            break;
        ls = make_prim(s, 0, 0);
        if (ls == LIF_OK && p->has_bias) {
            memcpy(s->md[1], s->md[0], sizeof s->md[0]);
            if ((st = md2(&s->md[1][A_BIAS], 1, no, no, 1, dnnl_f32)) == dnnl_success)
                ls = make_prim(s, 1, 0);
        }
        break;
    case LIF_OP_LINEAR_BWD_X:
        if ((st = md2(&md[A_SRC], R, no, no, 1, in)) != dnnl_success ||
            (st = md2(&md[A_WEI], no, ni, ni, 1, in)) != dnnl_success ||
            (st = md2(&md[A_DST], R, ni, ni, 1, dnnl_f32)) != dnnl_success)
            break;
        ls = make_prim(s, 0, 0);
        break;
    case LIF_OP_LINEAR_BWD_W:
        /* dYᵀ [n_out, R]: a dense dY block read transposed; X block [R, C];
         * the dW block [n_out, C] */
        if ((st = md2(&md[A_SRC], no, R, 1, no, in)) != dnnl_success ||
            (st = md2(&md[A_WEI], R, C, C, 1, in)) != dnnl_success ||
            (st = md2(&md[A_DST], no, C, C, 1, dnnl_f32)) != dnnl_success)
            break;
        ls = make_prim(s, 0, 1);
        break;
    default:
        ls = lif_error(LIF_ERR_INTERNAL, "onednn: no kernel for op %s", lif_op_name(p->op));
    }
    if (st != dnnl_success)
        ls = lif_onednn_fail("dnnl_memory_desc_init_by_strides", st);
    if (ls != LIF_OK) {
        lif_onednn_fini(s);
        return ls;
    }
    *state = s;
    return LIF_OK;
}

lif_status lif_onednn_init_fwd(const lif_problem *p, void **state) { return init_op(p, state, 0, 0); }
lif_status lif_onednn_init_bwd_w(const lif_problem *p, void **state) { return init_op(p, state, 0, 0); }
lif_status lif_onednn_init_bwd_x(const lif_problem *p, void **state) { return init_op(p, state, 0, 0); }
lif_status lif_onednn_init_fwd_bf16(const lif_problem *p, void **state) { return init_op(p, state, 1, 0); }
lif_status lif_onednn_init_bwd_w_bf16(const lif_problem *p, void **state) { return init_op(p, state, 1, 0); }
lif_status lif_onednn_init_bwd_x_bf16(const lif_problem *p, void **state) { return init_op(p, state, 1, 0); }

/* ---- workspace: a thread's slice ----
 *
 *   [scratchpad][in: X or dY block, R rows, in the input type][out: a Y,
 *   dX or dW block, float32][W in bf16: bf16 forward and input gradient,
 *   the first slice's only] */

typedef struct layout {
    size_t scratch, in, out, w;   /* offsets */
    size_t in2;                   /* weight gradient: the dY block after the X block */
    size_t size;
} layout;

static layout layout_of(lif_op op, int bf16, size_t scratch, size_t R, size_t C, size_t ni,
                        size_t no)
{
    size_t el = bf16 ? 2 : 4;
    layout l = {.scratch = 0, .in = round64(scratch)};
    switch (op) {
    case LIF_OP_LINEAR_FWD:
        l.out = l.in + round64(R * ni * el);
        l.w = l.out + round64(R * no * 4);
        l.size = l.w + (bf16 ? round64(no * ni * 2) : 0);
        break;
    case LIF_OP_LINEAR_BWD_X:
        l.out = l.in + round64(R * no * el);
        l.w = l.out + round64(R * ni * 4);
        l.size = l.w + (bf16 ? round64(no * ni * 2) : 0);
        break;
    default: /* LIF_OP_LINEAR_BWD_W */
        l.in2 = l.in + round64(R * C * el);
        l.out = l.in2 + round64(R * no * el);
        l.w = l.size = l.out + round64(no * C * 4);
        break;
    }
    return l;
}

static layout state_layout(const dstate *s)
{
    return layout_of(s->op, s->bf16, s->scratch, (size_t)s->rows, (size_t)s->cols,
                     (size_t)s->n_in, (size_t)s->n_out);
}

/* The scratchpad a primitive of this problem asks for comes from its
 * descriptor (made here without a primitive: workspace() has no state). An
 * error here surfaces again, with its message, in init(). */
static size_t ws_of(const lif_problem *p, int bf16)
{
    void *st = NULL;
    if (init_op(p, &st, bf16, 1) != LIF_OK)
        return 0;
    size_t size = state_layout(st).size;
    lif_onednn_fini(st);
    return size;
}

size_t lif_onednn_ws_fwd(const lif_problem *p) { return ws_of(p, 0); }
size_t lif_onednn_ws_bwd_w(const lif_problem *p) { return ws_of(p, 0); }
size_t lif_onednn_ws_bwd_x(const lif_problem *p) { return ws_of(p, 0); }
size_t lif_onednn_ws_fwd_bf16(const lif_problem *p) { return ws_of(p, 1); }
size_t lif_onednn_ws_bwd_w_bf16(const lif_problem *p) { return ws_of(p, 1); }
size_t lif_onednn_ws_bwd_x_bf16(const lif_problem *p) { return ws_of(p, 1); }

/* ---- conversions ---- */

/* float32 -> bfloat16, round to nearest even (NaN stays NaN) */
static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* rows x cols floats (row stride ld) into a dense [rows_pad, cols] block
 * of float32 or bf16; rows past `rows` are zeros. */
static void pack_rows(const float *src, size_t ld, int rows, int cols, int rows_pad, void *dst,
                      int bf16)
{
    for (int r = 0; r < rows; r++) {
        const float *a = src + (size_t)r * ld;
        if (bf16) {
            uint16_t *o = (uint16_t *)dst + (size_t)r * cols;
            for (int c = 0; c < cols; c++)
                o[c] = to_bf16(a[c]);
        } else {
            memcpy((float *)dst + (size_t)r * cols, a, (size_t)cols * sizeof(float));
        }
    }
    size_t el = bf16 ? 2 : 4;
    memset((char *)dst + (size_t)rows * cols * el, 0, (size_t)(rows_pad - rows) * cols * el);
}

/* Spike bits of rows [0, rows) of x, features [c0, c1), into a dense
 * [rows_pad, width] block of 0/1 in float32 or bf16; the rest (rows past
 * `rows`, columns past c1 - c0) zeros. c0 is a multiple of 8 (0, or of
 * COLS): whole bytes go through the tables, a last partial byte bit by
 * bit. */
static void unpack(const uint64_t *x, size_t ldx, int rows, int c0, int c1, int width,
                   int rows_pad, void *out, int bf16)
{
    size_t el = bf16 ? 2 : 4;
    int whole = c0 + (c1 - c0) / 8 * 8;
    for (int r = 0; r < rows; r++) {
        /* byte i/8 holds feature i at bit i%8: little-endian (x86-64 only) */
        const unsigned char *bytes = (const unsigned char *)(x + (size_t)r * ldx);
        char *o = (char *)out + (size_t)r * width * el;
        if (bf16) {
            uint16_t *ob = (uint16_t *)o - c0;
            for (int i = c0; i < whole; i += 8)
                memcpy(ob + i, byte_bf16[bytes[i >> 3]], sizeof byte_bf16[0]);
            for (int i = whole; i < c1; i++)
                ob[i] = byte_bf16[bytes[i >> 3]][i & 7];
        } else {
            float *of = (float *)o - c0;
            for (int i = c0; i < whole; i += 8)
                memcpy(of + i, byte_f32[bytes[i >> 3]], sizeof byte_f32[0]);
            for (int i = whole; i < c1; i++)
                of[i] = byte_f32[bytes[i >> 3]][i & 7];
        }
        memset(o + (size_t)(c1 - c0) * el, 0, (size_t)(width - (c1 - c0)) * el);
    }
    memset((char *)out + (size_t)rows * width * el, 0, (size_t)(rows_pad - rows) * width * el);
}

static void copy_rows(const float *src, size_t lds, float *dst, size_t ldd, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        memcpy(dst + (size_t)r * ldd, src + (size_t)r * lds, (size_t)cols * sizeof(float));
}

/* ---- execution ---- */

/* Runs primitive `slot` on thread tid with the data at ptr[A_SRC..A_DST]
 * (bias NULL: none) and its scratchpad at the start of its slice. */
static lif_status exec(const dstate *s, int slot, int tid, void *const ptr[A_SCRATCH],
                       void *scratch)
{
    const struct per_thread *t = &s->t[tid];
    dnnl_exec_arg_t args[N_ARGS];
    int n = 0;
    dnnl_status_t st = dnnl_success;
    for (int a = 0; a < N_ARGS && st == dnnl_success; a++) {
        dnnl_memory_t m = t->mem[slot][a];
        if (!m)
            continue;
        st = dnnl_memory_set_data_handle(m, a == A_SCRATCH ? scratch : ptr[a]);
        args[n].arg = arg_id[a], args[n].memory = m;
        n++;
    }
    const char *what = "dnnl_memory_set_data_handle";
    if (st == dnnl_success) {
        what = "dnnl_primitive_execute (matmul)";
        st = dnnl_primitive_execute(s->prim[slot], t->stream, n, args);
        if (st == dnnl_success)
            st = dnnl_stream_wait(t->stream);
    }
    return st == dnnl_success ? LIF_OK : lif_onednn_fail(what, st);
}

typedef lif_status (*part_fn)(const lif_ctx *ctx, const dstate *s, int tid, int nt,
                              const void *arg);

/* fn on every thread of the call; the first failure (by thread) wins. */
static lif_status run_threads(const lif_ctx *ctx, part_fn fn, const void *arg, const char *op)
{
    const dstate *s = ctx->state;
    int nt = ctx->nthreads > 1 ? ctx->nthreads : 1;
    if (nt > s->threads)
        return lif_error(LIF_ERR_INTERNAL,
                         "onednn %s: called with %d threads, initialised for %d", op, nt,
                         s->threads);
    if (nt == 1) {
        int old = omp_get_max_threads();
        omp_set_num_threads(1);
        lif_status st = fn(ctx, s, 0, 1, arg);
        omp_set_num_threads(old);
        return st;
    }
    lif_status first = LIF_OK;
    int first_tid = nt;
    char msg[512] = "";
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), team = omp_get_num_threads();
        lif_status st = fn(ctx, s, tid, team, arg);
        if (st != LIF_OK) {
#pragma omp critical(lif_onednn_err)
            if (tid < first_tid) {
                first = st, first_tid = tid;
                snprintf(msg, sizeof msg, "%s", lif_last_error());
            }
        }
    }
    return first == LIF_OK ? LIF_OK : lif_error(first, "%s", msg);
}

static char *slice(const lif_ctx *ctx, int tid) { return lif_ctx_ws(ctx, tid); }

/* The state, checked against the call's shape. */
static lif_status check(const lif_ctx *ctx, int n_in, int n_out, const char *op)
{
    const dstate *s = ctx->state;
    if (!s)
        return lif_error(LIF_ERR_INTERNAL, "onednn %s: called without its init() state", op);
    if (n_in != s->n_in || n_out != s->n_out)
        return lif_error(LIF_ERR_INTERNAL,
                         "onednn %s: called for %d -> %d, initialised for %d -> %d", op, n_in,
                         n_out, s->n_in, s->n_out);
    return LIF_OK;
}

/* ---- linear_fwd ---- */

static lif_status fwd_part(const lif_ctx *ctx, const dstate *s, int tid, int nt, const void *arg)
{
    const lif_linear_fwd_args *a = arg;
    size_t ldy = a->ldy ? a->ldy : (size_t)a->n_out;
    int R = s->rows, nb = (a->M + R - 1) / R;
    layout l = state_layout(s);
    char *ws = slice(ctx, tid);
    float *ybuf = (float *)(ws + l.out);
    void *w = s->bf16 ? (void *)(slice(ctx, 0) + l.w) : (void *)a->w;
    for (int j = tid; j < nb; j += nt) {
        int r0 = j * R, m = a->M - r0 < R ? a->M - r0 : R;
        float *y = a->y + (size_t)r0 * ldy;
        int direct = m == R && ldy == (size_t)a->n_out;
        unpack(a->x + (size_t)r0 * a->ldx, a->ldx, m, 0, a->n_in, a->n_in, R, ws + l.in,
               s->bf16);
        void *ptr[A_SCRATCH] = {ws + l.in, w, (void *)a->b, direct ? y : ybuf};
        lif_status st = exec(s, a->b ? 1 : 0, tid, ptr, ws);
        if (st != LIF_OK)
            return st;
        if (!direct)
            copy_rows(ybuf, (size_t)a->n_out, y, ldy, m, a->n_out);
    }
    return LIF_OK;
}

lif_status lif_linear_fwd_onednn(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    lif_status st = check(ctx, a->n_in, a->n_out, "linear_fwd");
    if (st != LIF_OK)
        return st;
    const dstate *s = ctx->state;
    if (a->b && !s->prim[1])
        return lif_error(LIF_ERR_INTERNAL,
                         "onednn linear_fwd: called with a bias, initialised without");
    if (a->M <= 0)
        return LIF_OK;
    if (s->bf16)
        pack_rows(a->w, (size_t)a->n_in, a->n_out, a->n_in, a->n_out,
                  slice(ctx, 0) + state_layout(s).w, 1);
    return run_threads(ctx, fwd_part, a, "linear_fwd");
}

/* ---- linear_bwd_x ---- */

static lif_status bwd_x_part(const lif_ctx *ctx, const dstate *s, int tid, int nt,
                             const void *arg)
{
    const lif_linear_bwd_x_args *a = arg;
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
    int R = s->rows, nb = (a->M + R - 1) / R;
    layout l = state_layout(s);
    char *ws = slice(ctx, tid);
    float *dxbuf = (float *)(ws + l.out);
    void *w = s->bf16 ? (void *)(slice(ctx, 0) + l.w) : (void *)a->w;
    for (int j = tid; j < nb; j += nt) {
        int r0 = j * R, m = a->M - r0 < R ? a->M - r0 : R;
        const float *dy = a->dy + (size_t)r0 * lddy;
        float *dx = a->dx + (size_t)r0 * a->n_in;
        void *src = (void *)dy;
        if (s->bf16 || m < R || lddy != (size_t)a->n_out) {
            pack_rows(dy, lddy, m, a->n_out, R, ws + l.in, s->bf16);
            src = ws + l.in;
        }
        void *ptr[A_SCRATCH] = {src, w, NULL, m == R ? dx : dxbuf};
        lif_status st = exec(s, 0, tid, ptr, ws);
        if (st != LIF_OK)
            return st;
        if (m < R)
            copy_rows(dxbuf, (size_t)a->n_in, dx, (size_t)a->n_in, m, a->n_in);
    }
    return LIF_OK;
}

lif_status lif_linear_bwd_x_onednn(const lif_ctx *ctx, const lif_linear_bwd_x_args *a)
{
    lif_status st = check(ctx, a->n_in, a->n_out, "linear_bwd_x");
    if (st != LIF_OK)
        return st;
    const dstate *s = ctx->state;
    if (a->M <= 0)
        return LIF_OK;
    if (s->bf16)
        pack_rows(a->w, (size_t)a->n_in, a->n_out, a->n_in, a->n_out,
                  slice(ctx, 0) + state_layout(s).w, 1);
    return run_threads(ctx, bwd_x_part, a, "linear_bwd_x");
}

/* ---- linear_bwd_w ---- */

static lif_status bwd_w_part(const lif_ctx *ctx, const dstate *s, int tid, int nt,
                             const void *arg)
{
    const lif_linear_bwd_w_args *a = arg;
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
    /* db: outputs o = tid, tid + nt, ...; rows in order */
    for (int o = tid; a->db && o < a->n_out; o += nt) {
        float acc = a->db[o];
        for (int r = 0; r < a->M; r++)
            acc += a->dy[(size_t)r * lddy + o];
        a->db[o] = acc;
    }
    int R = s->rows, C = s->cols, nb = (a->M + R - 1) / R, ncb = (a->n_in + C - 1) / C;
    layout l = state_layout(s);
    char *ws = slice(ctx, tid);
    float *dwbuf = (float *)(ws + l.out);
    for (int cb = tid; cb < ncb; cb += nt) {
        int c0 = cb * C, nc = a->n_in - c0 < C ? a->n_in - c0 : C;
        /* the dW block into its buffer (padding columns zero), all row
         * blocks summed into it in order, then back */
        for (int o = 0; o < a->n_out; o++) {
            memcpy(dwbuf + (size_t)o * C, a->dw + (size_t)o * a->n_in + c0,
                   (size_t)nc * sizeof(float));
            memset(dwbuf + (size_t)o * C + nc, 0, (size_t)(C - nc) * sizeof(float));
        }
        for (int j = 0; j < nb; j++) {
            int r0 = j * R, m = a->M - r0 < R ? a->M - r0 : R;
            const float *dy = a->dy + (size_t)r0 * lddy;
            void *src = (void *)dy;
            if (s->bf16 || m < R || lddy != (size_t)a->n_out) {
                pack_rows(dy, lddy, m, a->n_out, R, ws + l.in2, s->bf16);
                src = ws + l.in2;
            }
            unpack(a->x + (size_t)r0 * a->ldx, a->ldx, m, c0, c0 + nc, C, R, ws + l.in,
                   s->bf16);
            void *ptr[A_SCRATCH] = {src, ws + l.in, NULL, dwbuf};
            lif_status st = exec(s, 0, tid, ptr, ws);
            if (st != LIF_OK)
                return st;
        }
        for (int o = 0; o < a->n_out; o++)
            memcpy(a->dw + (size_t)o * a->n_in + c0, dwbuf + (size_t)o * C,
                   (size_t)nc * sizeof(float));
    }
    return LIF_OK;
}

lif_status lif_linear_bwd_w_onednn(const lif_ctx *ctx, const lif_linear_bwd_w_args *a)
{
    lif_status st = check(ctx, a->n_in, a->n_out, "linear_bwd_w");
    if (st != LIF_OK)
        return st;
    if (a->M <= 0)
        return LIF_OK;
    return run_threads(ctx, bwd_w_part, a, "linear_bwd_w");
}
