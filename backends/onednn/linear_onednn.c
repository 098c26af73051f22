/* The linear ops on oneDNN matmul primitives (oneDNN 2.6 C API).
 *
 * Shapes. One primitive per kernel and problem, made in init() and kept in
 * the state (never per batch): its row count (M for the forward and the
 * input gradient, the reduction length K for the weight gradient), the
 * columns a thread takes, and the row strides of Y / dY are runtime
 * dimensions (DNNL_RUNTIME_DIM_VAL), so the one primitive runs every part
 * of every call (the last, shorter chunk or batch included). oneDNN's own
 * primitive cache also serves a later init() of the same shape.
 *
 *   linear_fwd    Y[M, n_out] = X[M, n_in] · Wᵀ (+ b): W read in place as
 *                 an [n_in, n_out] matrix with strides {1, n_in}
 *   linear_bwd_x  dX[M, n_in] = dY[M, n_out] · W
 *   linear_bwd_w  dW[n_out, n_in] += dYᵀ · X: dY read in place as an
 *                 [n_out, M] matrix with strides {1, lddy}; the sum
 *                 post-op accumulates into dW; db += Σ_rows dY in C
 *
 * Spikes. X arrives as packed bits and enters oneDNN as float32 (or bf16)
 * 0/1 values, converted a block of ROWS rows at a time into the thread's
 * workspace (the conversion is part of the kernel and of its timing).
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
 * Each thread runs the primitive on its own part, on its own stream, with
 * its own scratchpad (user scratchpad mode, from its workspace slice);
 * oneDNN inside an active parallel region runs single-threaded. At one
 * thread no region is opened and oneDNN's thread count is set to 1 around
 * the call (omp_set_num_threads, restored after). The parts: row blocks
 * (forward, input gradient: a row's result does not depend on the block)
 * and column ranges of dW (weight gradient: every element still sums the
 * same row blocks in the same order). oneDNN's own thread split is not
 * used because for the weight gradient it may split the reduction, and
 * results would then depend on the thread count (the kernel contract
 * requires them bitwise the same for any count). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/topology.h"
#include "onednn.h"

/* Rows per block: a block of float32 spikes at n_in 784 is 1.6 MB. */
#define ROWS 512

#define RT DNNL_RUNTIME_DIM_VAL

typedef struct dstate {
    lif_op op;
    int bf16;
    int n_in, n_out;
    int rows;                  /* rows per block: min(ROWS, Tc*B) */
    int threads;               /* streams made (the problem's threads) */
    dnnl_primitive_t prim[2];  /* [0] without bias, [1] with bias (forward) */
    size_t scratch[2];         /* bytes of each one's scratchpad */
    dnnl_memory_desc_t scratch_md[2];
    dnnl_stream_t stream[];    /* one per thread */
} dstate;

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static int resolved_threads(const lif_problem *p) { return p->threads > 1 ? p->threads : 1; }

static int block_rows(const lif_problem *p)
{
    long m = (long)p->Tc * p->B;
    return m < 1 ? 1 : m < ROWS ? (int)m : ROWS;
}

/* ---- memory descriptors ---- */

static dnnl_status_t md2(dnnl_memory_desc_t *md, dnnl_dim_t r, dnnl_dim_t c, dnnl_dim_t sr,
                         dnnl_dim_t sc, dnnl_data_type_t dt)
{
    dnnl_dims_t d = {r, c}, s = {sr, sc};
    return dnnl_memory_desc_init_by_strides(md, 2, d, dt, s);
}

/* ---- primitives ---- */

/* Makes s->prim[slot] from the descriptors, with the user scratchpad and,
 * when accumulate, the sum post-op (dst += result). */
static lif_status make_prim(dstate *s, int slot, const dnnl_memory_desc_t *src,
                            const dnnl_memory_desc_t *wei, const dnnl_memory_desc_t *bias,
                            const dnnl_memory_desc_t *dst, int accumulate)
{
    /* s->threads == 0: a query (workspace()): the descriptor, no primitive */
    dnnl_engine_t eng = lif_onednn_engine();
    if (!eng)
        return LIF_ERR_INTERNAL;
    dnnl_matmul_desc_t d;
    dnnl_status_t st = dnnl_matmul_desc_init(&d, src, wei, bias, dst);
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
    const dnnl_memory_desc_t *sm = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    s->scratch_md[slot] = *sm;
    s->scratch[slot] = sm->ndims ? dnnl_memory_desc_get_size(sm) : 0;
    if (s->scratch[slot] == DNNL_RUNTIME_SIZE_VAL) {
        ls = lif_error(LIF_ERR_INTERNAL, "onednn: the matmul's scratchpad size is not known "
                                         "before execution");
        goto out;
    }
    what = "dnnl_primitive_create (matmul)";
    if (s->threads && (st = dnnl_primitive_create(&s->prim[slot], pd)) != dnnl_success)
        goto out;
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
    for (int i = 0; i < 2; i++)
        if (s->prim[i])
            dnnl_primitive_destroy(s->prim[i]);
    for (int i = 0; i < s->threads; i++)
        if (s->stream[i])
            dnnl_stream_destroy(s->stream[i]);
    free(s);
}

/* query: no streams (s->threads 0), for workspace() */
static lif_status new_state(const lif_problem *p, int bf16, int query, dstate **out)
{
    dnnl_engine_t eng = lif_onednn_engine();
    if (!eng)
        return LIF_ERR_INTERNAL;
    int nt = query ? 0 : resolved_threads(p);
    dstate *s = calloc(1, sizeof *s + (size_t)nt * sizeof s->stream[0]);
    if (!s)
        return lif_error(LIF_ERR_NOMEM, "onednn: out of memory for a kernel state");
    s->op = p->op, s->bf16 = bf16, s->n_in = p->n_in, s->n_out = p->n_out;
    s->rows = block_rows(p), s->threads = nt;
    for (int i = 0; i < nt; i++) {
        dnnl_status_t st = dnnl_stream_create(&s->stream[i], eng, dnnl_stream_default_flags);
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
    dnnl_dim_t ni = p->n_in, no = p->n_out;
    dnnl_memory_desc_t src, wei, bias, dst;
    dnnl_status_t st = dnnl_success;
    switch (p->op) {
    case LIF_OP_LINEAR_FWD:
        if ((st = md2(&src, RT, ni, ni, 1, in)) != dnnl_success ||
            (st = md2(&wei, ni, no, 1, ni, in)) != dnnl_success ||
            (st = md2(&bias, 1, no, no, 1, dnnl_f32)) != dnnl_success ||
            (st = md2(&dst, RT, no, RT, 1, dnnl_f32)) != dnnl_success)
            break;
        ls = make_prim(s, 0, &src, &wei, NULL, &dst, 0);
        if (ls == LIF_OK && p->has_bias)
            ls = make_prim(s, 1, &src, &wei, &bias, &dst, 0);
        break;
    case LIF_OP_LINEAR_BWD_X:
        if ((st = md2(&src, RT, no, RT, 1, in)) != dnnl_success ||
            (st = md2(&wei, no, ni, ni, 1, in)) != dnnl_success ||
            (st = md2(&dst, RT, ni, ni, 1, dnnl_f32)) != dnnl_success)
            break;
        ls = make_prim(s, 0, &src, &wei, NULL, &dst, 0);
        break;
    case LIF_OP_LINEAR_BWD_W:
        /* dYᵀ [n_out, K] (f32: dY in place, strides {1, lddy}; bf16: the
         * converted block, strides {1, n_out}), X block [K, cols] dense,
         * dW [n_out, cols] from column c0 of rows n_in apart */
        if ((st = md2(&src, no, RT, 1, RT, in)) != dnnl_success ||
            (st = md2(&wei, RT, RT, RT, 1, in)) != dnnl_success ||
            (st = md2(&dst, no, RT, ni, 1, dnnl_f32)) != dnnl_success)
            break;
        ls = make_prim(s, 0, &src, &wei, NULL, &dst, 1);
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

/* ---- workspace: [scratchpad][per-thread buffers][W in bf16 (slice 0's used)] ---- */

/* The scratchpad a primitive of this problem asks for. Queried by making
 * the primitive descriptor (no primitive): workspace() has no state. An
 * error here surfaces again, with its message, in init(). */
static size_t scratch_of(const lif_problem *p, int bf16)
{
    void *st = NULL;
    if (init_op(p, &st, bf16, 1) != LIF_OK)
        return 0;
    const dstate *s = st;
    size_t n = s->scratch[0] > s->scratch[1] ? s->scratch[0] : s->scratch[1];
    lif_onednn_fini(st);
    return round64(n);
}

static size_t ws_of(const lif_problem *p, int bf16)
{
    size_t el = bf16 ? 2 : 4, rows = (size_t)block_rows(p), ni = (size_t)p->n_in,
           no = (size_t)p->n_out, buf = 0;
    switch (p->op) {
    case LIF_OP_LINEAR_FWD:
        buf = round64(rows * ni * el) + (bf16 ? round64(no * ni * 2) : 0);
        break;
    case LIF_OP_LINEAR_BWD_X:
        buf = bf16 ? round64(rows * no * 2) + round64(no * ni * 2) : 0;
        break;
    case LIF_OP_LINEAR_BWD_W:
        buf = round64(rows * ni * el) + (bf16 ? round64(rows * no * 2) : 0);
        break;
    default:
        break;
    }
    return scratch_of(p, bf16) + buf;
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

static void f32_to_bf16(const float *src, size_t ld, int rows, int cols, uint16_t *dst)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            dst[(size_t)r * cols + c] = to_bf16(src[(size_t)r * ld + c]);
}

/* Spike bits of rows [0, rows) of x, features [c0, c1), into a dense
 * [rows, c1 - c0] matrix of 0/1 in float32 (el 4) or bf16 (el 2). */
static void unpack(const uint64_t *x, size_t ldx, int rows, int c0, int c1, void *out, int bf16)
{
    int nc = c1 - c0;
    for (int r = 0; r < rows; r++) {
        const uint64_t *row = x + (size_t)r * ldx;
        /* a word at a time: the inner loops (a shift per lane) vectorise */
        for (int i = c0; i < c1;) {
            uint64_t w = row[i >> 6] >> (i & 63);
            int n = 64 - (i & 63) < c1 - i ? 64 - (i & 63) : c1 - i;
            if (bf16) {
                uint16_t *o = (uint16_t *)out + (size_t)r * nc + (i - c0);
                for (int b = 0; b < n; b++)
                    o[b] = (uint16_t)(((w >> b) & 1u) * 0x3f80u);
            } else {
                float *o = (float *)out + (size_t)r * nc + (i - c0);
                for (int b = 0; b < n; b++)
                    o[b] = (float)((w >> b) & 1u);
            }
            i += n;
        }
    }
}

/* ---- execution ---- */

typedef struct mm_call {
    dnnl_memory_desc_t md[4];  /* src, weights, bias, dst */
    const void *ptr[4];        /* bias NULL: none */
} mm_call;

static const int mm_arg[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST};

/* Runs primitive `slot` on thread tid's stream with its scratchpad. */
static lif_status exec(const dstate *s, int slot, int tid, const mm_call *c, void *scratch)
{
    dnnl_engine_t eng = lif_onednn_engine();
    dnnl_exec_arg_t args[5];
    dnnl_memory_t mem[5] = {0};
    int n = 0;
    dnnl_status_t st = dnnl_success;
    for (int i = 0; i < 4 && st == dnnl_success; i++) {
        if (!c->ptr[i])
            continue;
        st = dnnl_memory_create(&mem[n], &c->md[i], eng, (void *)c->ptr[i]);
        args[n].arg = mm_arg[i], args[n].memory = mem[n];
        n += st == dnnl_success;
    }
    if (st == dnnl_success && s->scratch[slot]) {
        st = dnnl_memory_create(&mem[n], &s->scratch_md[slot], eng, scratch);
        args[n].arg = DNNL_ARG_SCRATCHPAD, args[n].memory = mem[n];
        n += st == dnnl_success;
    }
    const char *what = "dnnl_memory_create";
    if (st == dnnl_success) {
        what = "dnnl_primitive_execute (matmul)";
        st = dnnl_primitive_execute(s->prim[slot], s->stream[tid], n, args);
        if (st == dnnl_success)
            st = dnnl_stream_wait(s->stream[tid]);
    }
    for (int i = 0; i < n; i++)
        dnnl_memory_destroy(mem[i]);
    return st == dnnl_success ? LIF_OK : lif_onednn_fail(what, st);
}

typedef lif_status (*part_fn)(const lif_ctx *ctx, const dstate *s, int tid, int nt,
                              const void *arg);

/* fn on every thread of the call; the first failure (by thread) wins. */
static lif_status run_threads(const lif_ctx *ctx, part_fn fn, const void *arg, const char *op)
{
    const dstate *s = ctx->state;
    int nt = ctx->nthreads > 1 ? ctx->nthreads : 1;
    if (!s)
        return lif_error(LIF_ERR_INTERNAL, "onednn %s: called without its init() state", op);
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

static size_t scratch_bytes(const dstate *s)
{
    return round64(s->scratch[0] > s->scratch[1] ? s->scratch[0] : s->scratch[1]);
}

/* ---- linear_fwd ---- */

static lif_status fwd_part(const lif_ctx *ctx, const dstate *s, int tid, int nt, const void *arg)
{
    const lif_linear_fwd_args *a = arg;
    size_t ldy = a->ldy ? a->ldy : (size_t)a->n_out;
    int slot = a->b ? 1 : 0, nb = (a->M + s->rows - 1) / s->rows;
    char *ws = slice(ctx, tid);
    void *xbuf = ws + scratch_bytes(s);
    const void *w = a->w;
    if (s->bf16) /* converted by the calling thread into slice 0 */
        w = slice(ctx, 0) + scratch_bytes(s) +
            round64((size_t)s->rows * s->n_in * 2);
    dnnl_data_type_t in = s->bf16 ? dnnl_bf16 : dnnl_f32;
    for (int j = tid; j < nb; j += nt) {
        int r0 = j * s->rows, m = a->M - r0 < s->rows ? a->M - r0 : s->rows;
        unpack(a->x + (size_t)r0 * a->ldx, a->ldx, m, 0, a->n_in, xbuf, s->bf16);
        mm_call c;
        md2(&c.md[0], m, a->n_in, a->n_in, 1, in);
        md2(&c.md[1], a->n_in, a->n_out, 1, a->n_in, in);
        md2(&c.md[2], 1, a->n_out, a->n_out, 1, dnnl_f32);
        md2(&c.md[3], m, a->n_out, (dnnl_dim_t)ldy, 1, dnnl_f32);
        c.ptr[0] = xbuf, c.ptr[1] = w, c.ptr[2] = a->b, c.ptr[3] = a->y + (size_t)r0 * ldy;
        lif_status st = exec(s, slot, tid, &c, ws);
        if (st != LIF_OK)
            return st;
    }
    return LIF_OK;
}

static lif_status shape_check(const dstate *s, int n_in, int n_out, const char *op)
{
    if (n_in != s->n_in || n_out != s->n_out)
        return lif_error(LIF_ERR_INTERNAL,
                         "onednn %s: called for %d -> %d, initialised for %d -> %d", op, n_in,
                         n_out, s->n_in, s->n_out);
    return LIF_OK;
}

lif_status lif_linear_fwd_onednn(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    const dstate *s = ctx->state;
    if (s) {
        lif_status st = shape_check(s, a->n_in, a->n_out, "linear_fwd");
        if (st != LIF_OK)
            return st;
        if (a->b && !s->prim[1])
            return lif_error(LIF_ERR_INTERNAL,
                             "onednn linear_fwd: called with a bias, initialised without");
        if (s->bf16)
            f32_to_bf16(a->w, (size_t)a->n_in, a->n_out, a->n_in,
                        (uint16_t *)(slice(ctx, 0) + scratch_bytes(s) +
                                     round64((size_t)s->rows * s->n_in * 2)));
    }
    if (a->M <= 0)
        return LIF_OK;
    return run_threads(ctx, fwd_part, a, "linear_fwd");
}

/* ---- linear_bwd_x ---- */

static lif_status bwd_x_part(const lif_ctx *ctx, const dstate *s, int tid, int nt,
                             const void *arg)
{
    const lif_linear_bwd_x_args *a = arg;
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
    int nb = (a->M + s->rows - 1) / s->rows;
    char *ws = slice(ctx, tid);
    uint16_t *dybuf = (uint16_t *)(ws + scratch_bytes(s));
    const void *w = a->w;
    if (s->bf16)
        w = slice(ctx, 0) + scratch_bytes(s) + round64((size_t)s->rows * s->n_out * 2);
    dnnl_data_type_t in = s->bf16 ? dnnl_bf16 : dnnl_f32;
    for (int j = tid; j < nb; j += nt) {
        int r0 = j * s->rows, m = a->M - r0 < s->rows ? a->M - r0 : s->rows;
        mm_call c;
        const float *dy = a->dy + (size_t)r0 * lddy;
        if (s->bf16) {
            f32_to_bf16(dy, lddy, m, a->n_out, dybuf);
            md2(&c.md[0], m, a->n_out, a->n_out, 1, in);
            c.ptr[0] = dybuf;
        } else {
            md2(&c.md[0], m, a->n_out, (dnnl_dim_t)lddy, 1, in);
            c.ptr[0] = dy;
        }
        md2(&c.md[1], a->n_out, a->n_in, a->n_in, 1, in);
        md2(&c.md[3], m, a->n_in, a->n_in, 1, dnnl_f32);
        c.ptr[1] = w, c.ptr[2] = NULL, c.ptr[3] = a->dx + (size_t)r0 * a->n_in;
        lif_status st = exec(s, 0, tid, &c, ws);
        if (st != LIF_OK)
            return st;
    }
    return LIF_OK;
}

lif_status lif_linear_bwd_x_onednn(const lif_ctx *ctx, const lif_linear_bwd_x_args *a)
{
    const dstate *s = ctx->state;
    if (s) {
        lif_status st = shape_check(s, a->n_in, a->n_out, "linear_bwd_x");
        if (st != LIF_OK)
            return st;
        if (s->bf16)
            f32_to_bf16(a->w, (size_t)a->n_in, a->n_out, a->n_in,
                        (uint16_t *)(slice(ctx, 0) + scratch_bytes(s) +
                                     round64((size_t)s->rows * s->n_out * 2)));
    }
    if (a->M <= 0)
        return LIF_OK;
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
    /* dW: columns [c0, c1) of this thread, in multiples of 16. oneDNN
     * takes another path (a matrix-vector product, another summation
     * order) for a single column, so a lone last column joins the part
     * before it: a column is then never alone unless n_in is 1, at any
     * thread count. */
    int cw = (a->n_in + nt - 1) / nt;
    cw = (cw + 15) / 16 * 16;
    int c0 = tid * cw, c1 = c0 + cw < a->n_in ? c0 + cw : a->n_in;
    if (c1 == a->n_in - 1)
        c1 = a->n_in;
    if (c0 >= c1 || (c0 == a->n_in - 1 && c0 > 0))
        return LIF_OK;
    int nc = c1 - c0, nb = (a->M + s->rows - 1) / s->rows;
    char *ws = slice(ctx, tid);
    char *xbuf = ws + scratch_bytes(s);
    uint16_t *dybuf = (uint16_t *)(xbuf + round64((size_t)s->rows * s->n_in * 2));
    dnnl_data_type_t in = s->bf16 ? dnnl_bf16 : dnnl_f32;
    for (int j = 0; j < nb; j++) {
        int r0 = j * s->rows, m = a->M - r0 < s->rows ? a->M - r0 : s->rows;
        const float *dy = a->dy + (size_t)r0 * lddy;
        unpack(a->x + (size_t)r0 * a->ldx, a->ldx, m, c0, c1, xbuf, s->bf16);
        mm_call c;
        if (s->bf16) {
            f32_to_bf16(dy, lddy, m, a->n_out, dybuf);
            md2(&c.md[0], a->n_out, m, 1, a->n_out, in);
            c.ptr[0] = dybuf;
        } else {
            md2(&c.md[0], a->n_out, m, 1, (dnnl_dim_t)lddy, in);
            c.ptr[0] = dy;
        }
        md2(&c.md[1], m, nc, nc, 1, in);
        md2(&c.md[3], a->n_out, nc, a->n_in, 1, dnnl_f32);
        c.ptr[1] = xbuf, c.ptr[2] = NULL, c.ptr[3] = a->dw + c0;
        lif_status st = exec(s, 0, tid, &c, ws);
        if (st != LIF_OK)
            return st;
    }
    return LIF_OK;
}

lif_status lif_linear_bwd_w_onednn(const lif_ctx *ctx, const lif_linear_bwd_w_args *a)
{
    const dstate *s = ctx->state;
    if (s) {
        lif_status st = shape_check(s, a->n_in, a->n_out, "linear_bwd_w");
        if (st != LIF_OK)
            return st;
    }
    if (a->M <= 0)
        return LIF_OK;
    return run_threads(ctx, bwd_w_part, a, "linear_bwd_w");
}
