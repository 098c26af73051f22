/* provenance.c — what ran, where and how, as JSON (run.json, lif info
 * --json, lif eval --json, lif bench --json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_main_argc;
char **cli_main_argv;

json_t *cli_jstr(const char *s) { return s ? json_string(s) : json_null(); }

json_t *cli_provenance(void)
{
    const lif_cpu *c = lif_cpu_get();
    json_t *p = json_object(), *cpu = json_object();
    if (!p || !cpu) {
        json_decref(p);
        json_decref(cpu);
        return NULL;
    }
    const char *commit = lif_build_commit();
    json_object_set_new(p, "lif_version", json_string(lif_version()));
    json_object_set_new(p, "git_commit", *commit ? json_string(commit) : json_null());
    json_object_set_new(p, "compiler", json_string(lif_build_compiler()));
    json_object_set_new(p, "build_type", json_string(lif_build_type()));
    json_object_set_new(cpu, "model", json_string(c->model));
    json_object_set_new(cpu, "vendor", json_string(c->vendor));
    json_object_set_new(cpu, "logical_cpus", json_integer(c->logical_cpus));
    json_object_set_new(cpu, "isa", json_string(lif_isa_name(c->isa)));
    json_object_set_new(cpu, "best_isa", json_string(lif_isa_name(c->best)));
    json_object_set_new(cpu, "isa_capped", json_boolean(c->capped));
    json_object_set_new(p, "cpu", cpu);
    const lif_topology *topo;
    char line[512];
    if (lif_topology_get(&topo) == LIF_OK)
        json_object_set_new(p, "topology", json_string(lif_topology_summary(topo, line, sizeof line)));
    else
        json_object_set_new(p, "topology", json_null());
    return p;
}

json_t *cli_plan_json(const lif_plan *plan, int layers)
{
    const lif_plan_opts *o = lif_plan_options(plan);
    json_t *j = json_object(), *k = json_object();
    if (!j || !k) {
        json_decref(j);
        json_decref(k);
        return NULL;
    }
    json_object_set_new(j, "backend", json_string(o->backend));
    json_object_set_new(j, "threads", json_integer(o->threads));
    json_object_set_new(j, "bind", json_string(o->bind == LIF_BIND_CORES ? "cores" : "none"));
    json_object_set_new(j, "Tc", json_integer(o->Tc));
    for (int op = 0; op < LIF_OP_COUNT; op++) {
        json_t *per = json_array();
        for (int l = 0; per && l < layers; l++) {
            const char *name = lif_plan_kernel(plan, (lif_op)op, l);
            json_array_append_new(per, *name ? json_string(name) : json_null());
        }
        json_object_set_new(k, lif_op_name((lif_op)op), per ? per : json_null());
    }
    json_object_set_new(j, "kernels", k);
    return j;
}

json_t *cli_command_line(void)
{
    json_t *a = json_array();
    for (int i = 0; a && i < cli_main_argc; i++)
        json_array_append_new(a, json_string(cli_main_argv[i]));
    return a;
}

const char *cli_utc_now(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

lif_status cli_write_json(const char *path, const json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    if (!text)
        return lif_error(LIF_ERR_NOMEM, "%s: out of memory writing JSON", path);
    lif_atomic_file af;
    lif_status st = lif_atomic_open(path, &af);
    if (st == LIF_OK) {
        fputs(text, af.f);
        fputc('\n', af.f);
        st = lif_atomic_commit(&af);
    }
    free(text);
    return st;
}

int cli_print_json(const json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    if (!text) {
        fprintf(stderr, "lif: out of memory writing JSON\n");
        return LIF_EXIT_FAIL;
    }
    puts(text);
    free(text);
    return fflush(stdout) == 0 ? LIF_EXIT_OK : LIF_EXIT_FAIL;
}

const char *cli_f32(char *buf, size_t size, double v)
{
    float f = (float)v;
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f)
            return buf;
    }
    return buf;
}
