/* nir.c — a net as a NIR graph (Neuromorphic Intermediate Representation,
 * the 1.0 HDF5 layout that nir.write produces and nir.read reads):
 *
 *   /version                  "1.0.0"
 *   /node/type                "NIRGraph"
 *   /node/nodes/input         type "Input", shape [n_in], input_type/input [n_in]
 *   /node/nodes/linear        type "Linear", weight [n_out, n_in]   (or "affine":
 *                             type "Affine", weight, bias [n_out])
 *   /node/nodes/lif           type "LIF", tau, r, v_leak, v_threshold, v_reset [n_out],
 *                             input_type/input, output_type/output [n_out]
 *   ... linear_1, lif_1, ... for stacked layers (nir.NIRGraph.from_list's names)
 *   /node/nodes/output        type "Output", shape [n_classes], output_type/output
 *   /node/edges               [n, 2] strings: input->linear->lif->...->output
 *   /node/input_type/input, /node/output_type/output, /node/metadata/{dt, source}
 *
 * Strings are variable-length UTF-8, parameters float32, shapes int64, as
 * h5py writes them. The discrete LIF maps to NIR's continuous one
 * (tau dv/dt = (v_leak - v) + r I) through forward Euler with step dt:
 * tau = tau_lif * dt, r = 1 (decay_input; r = tau_lif without it),
 * v_leak = v_reset, v_threshold, v_reset as in lif. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef LIF_HAVE_HDF5

lif_status nir_write(lif_net *net, const char *path, double dt)
{
    (void)net;
    (void)dt;
    return lif_error(LIF_ERR_UNSUPPORTED, "%s: this lif was built without HDF5 (libhdf5-dev), "
                                          "so it cannot write NIR", path);
}

#else

#include <hdf5.h>

#define NIR_VERSION "1.0.0"

static hid_t str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* Each writer returns 0 on success, -1 on an HDF5 failure. */
static int put_string(hid_t g, const char *name, const char *value)
{
    hid_t t = str_type(), s = H5Screate(H5S_SCALAR), d = -1;
    int rc = -1;
    if (t >= 0 && s >= 0 &&
        (d = H5Dcreate2(g, name, t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) >= 0)
        rc = 0;
    if (d >= 0)
        H5Dclose(d);
    if (s >= 0)
        H5Sclose(s);
    if (t >= 0)
        H5Tclose(t);
    return rc;
}

static int put_array(hid_t g, const char *name, hid_t file_type, hid_t mem_type, int rank,
                     const hsize_t *dims, const void *data)
{
    hid_t s = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR), d = -1;
    int rc = -1;
    if (s >= 0 &&
        (d = H5Dcreate2(g, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0)
        rc = 0;
    if (d >= 0)
        H5Dclose(d);
    if (s >= 0)
        H5Sclose(s);
    return rc;
}

static int put_floats(hid_t g, const char *name, int rank, const hsize_t *dims, const float *x)
{
    return put_array(g, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, dims, x);
}

static int put_shape(hid_t g, const char *name, int64_t n)
{
    hsize_t one = 1;
    return put_array(g, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &one, &n);
}

/* group/sub/key = [n] (an input_type or output_type dict) */
static int put_type(hid_t g, const char *sub, const char *key, int64_t n)
{
    hid_t t = H5Gcreate2(g, sub, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (t < 0)
        return -1;
    int rc = put_shape(t, key, n);
    H5Gclose(t);
    return rc;
}

static int put_edges(hid_t g, char names[][32], int n)
{
    const char **e = malloc(2 * (size_t)(n - 1) * sizeof *e);
    if (!e)
        return -1;
    for (int i = 0; i + 1 < n; i++) {
        e[2 * i] = names[i];
        e[2 * i + 1] = names[i + 1];
    }
    hid_t t = str_type();
    hsize_t dims[2] = {(hsize_t)(n - 1), 2};
    int rc = t >= 0 ? put_array(g, "edges", t, t, 2, dims, e) : -1;
    if (t >= 0)
        H5Tclose(t);
    free(e);
    return rc;
}

static int put_lif(hid_t g, const lif_neuron *nr, int n, double dt)
{
    float *p = malloc(5 * (size_t)n * sizeof *p);
    if (!p)
        return -1;
    for (int i = 0; i < n; i++) {
        p[i] = (float)(nr->tau * dt);                       /* tau */
        p[n + i] = nr->decay_input ? 1.0f : nr->tau;        /* r */
        p[2 * n + i] = nr->v_reset;                         /* v_leak */
        p[3 * n + i] = nr->v_threshold;                     /* v_threshold */
        p[4 * n + i] = nr->v_reset;                         /* v_reset */
    }
    hsize_t d = (hsize_t)n;
    int rc = put_string(g, "type", "LIF") || put_floats(g, "tau", 1, &d, p) ||
             put_floats(g, "r", 1, &d, p + n) || put_floats(g, "v_leak", 1, &d, p + 2 * n) ||
             put_floats(g, "v_threshold", 1, &d, p + 3 * n) ||
             put_floats(g, "v_reset", 1, &d, p + 4 * n) || put_type(g, "input_type", "input", n) ||
             put_type(g, "output_type", "output", n) ? -1 : 0;
    free(p);
    return rc;
}

static int write_graph(hid_t f, lif_net *net, double dt)
{
    const lif_recipe *r = lif_net_recipe(net);
    int L = lif_net_layers(net), n_names = 0, rc = -1;
    char names[2 * (LIF_MAX_HIDDEN + 1) + 2][32];
    lif_layer_view first, last;
    lif_net_layer(net, 0, &first);
    lif_net_layer(net, L - 1, &last);
    hid_t root = -1, nodes = -1, g = -1;
    if (put_string(f, "version", NIR_VERSION) ||
        (root = H5Gcreate2(f, "node", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        put_string(root, "type", "NIRGraph") ||
        (nodes = H5Gcreate2(root, "nodes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto done;
    /* input */
    snprintf(names[n_names++], 32, "input");
    if ((g = H5Gcreate2(nodes, "input", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        put_string(g, "type", "Input") || put_shape(g, "shape", first.n_in) ||
        put_type(g, "input_type", "input", first.n_in))
        goto done;
    H5Gclose(g);
    g = -1;
    for (int l = 0; l < L; l++) {
        lif_layer_view v;
        lif_net_layer(net, l, &v);
        const char *kind = v.b ? "affine" : "linear";
        if (l == 0)
            snprintf(names[n_names], 32, "%s", kind);
        else
            snprintf(names[n_names], 32, "%s_%d", kind, l);
        hsize_t wd[2] = {(hsize_t)v.n_out, (hsize_t)v.n_in}, bd = (hsize_t)v.n_out;
        if ((g = H5Gcreate2(nodes, names[n_names++], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
            put_string(g, "type", v.b ? "Affine" : "Linear") || put_floats(g, "weight", 2, wd, v.w) ||
            (v.b && put_floats(g, "bias", 1, &bd, v.b)))
            goto done;
        H5Gclose(g);
        g = -1;
        if (l == 0)
            snprintf(names[n_names], 32, "lif");
        else
            snprintf(names[n_names], 32, "lif_%d", l);
        if ((g = H5Gcreate2(nodes, names[n_names++], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
            put_lif(g, &r->neuron, v.n_out, dt))
            goto done;
        H5Gclose(g);
        g = -1;
    }
    snprintf(names[n_names++], 32, "output");
    if ((g = H5Gcreate2(nodes, "output", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        put_string(g, "type", "Output") || put_shape(g, "shape", last.n_out) ||
        put_type(g, "output_type", "output", last.n_out))
        goto done;
    H5Gclose(g);
    g = -1;
    if (put_edges(root, names, n_names) || put_type(root, "input_type", "input", first.n_in) ||
        put_type(root, "output_type", "output", last.n_out) ||
        (g = H5Gcreate2(root, "metadata", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        put_array(g, "dt", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &dt) ||
        put_string(g, "source", "lif"))
        goto done;
    rc = 0;
done:
    if (g >= 0)
        H5Gclose(g);
    if (nodes >= 0)
        H5Gclose(nodes);
    if (root >= 0)
        H5Gclose(root);
    return rc;
}

lif_status nir_write(lif_net *net, const char *path, double dt)
{
    const lif_recipe *r = lif_net_recipe(net);
    if (r->neuron.soft_reset)
        return lif_error(LIF_ERR_UNSUPPORTED,
                         "%s: the network resets softly (v_reset none), and NIR 1.0's LIF resets "
                         "to v_reset: it has no soft reset", path);
    lif_atomic_file af;
    lif_status st = lif_atomic_open(path, &af);
    if (st != LIF_OK)
        return st;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* failures come back as statuses */
    hid_t f = H5Fcreate(af.tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    int bad = f < 0 || write_graph(f, net, dt) != 0;
    if (f >= 0 && H5Fclose(f) < 0)
        bad = 1;
    if (bad) {
        lif_atomic_abort(&af);
        return lif_error(LIF_ERR_IO, "%s: writing the HDF5 file failed", path);
    }
    return lif_atomic_commit(&af);
}

#endif
