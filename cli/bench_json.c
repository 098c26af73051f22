/* A small strict JSON reader for `lif bench --compare` and the tests: the
 * whole of RFC 8259 (so a malformed file is refused, not half read), a
 * tree of nodes, no extensions. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct reader {
    const char *s, *start;
    char *err;
    size_t errsize;
    int depth;
} reader;

static bench_json *fail(reader *r, const char *why)
{
    if (r->err && !r->err[0])
        snprintf(r->err, r->errsize, "offset %ld: %s", (long)(r->s - r->start), why);
    return NULL;
}

static void ws(reader *r)
{
    while (*r->s == ' ' || *r->s == '\t' || *r->s == '\n' || *r->s == '\r')
        r->s++;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | cp >> 6);
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | cp >> 12);
        d[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | cp >> 18);
    d[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    d[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Reads a string at r->s (on the opening quote) into a new buffer. */
static char *string(reader *r)
{
    const char *p = ++r->s;
    size_t n = 0;
    while (p[n] && p[n] != '"')
        n += p[n] == '\\' && p[n + 1] ? 2 : 1;
    if (!p[n]) {
        fail(r, "unterminated string");
        return NULL;
    }
    char *out = malloc(n + 1), *d = out;
    if (!out) {
        fail(r, "out of memory");
        return NULL;
    }
    while (*r->s != '"') {
        unsigned char c = (unsigned char)*r->s;
        if (c < 0x20) {
            free(out);
            fail(r, "control character in a string");
            return NULL;
        }
        if (c != '\\') {
            *d++ = (char)c;
            r->s++;
            continue;
        }
        char e = r->s[1];
        r->s += 2;
        switch (e) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '/': *d++ = '/'; break;
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(r->s, &cp) != 0)
                goto bad;
            r->s += 4;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (r->s[0] != '\\' || r->s[1] != 'u' || hex4(r->s + 2, &lo) != 0 ||
                    lo < 0xdc00 || lo >= 0xe000)
                    goto bad;
                r->s += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                goto bad;
            }
            d += put_utf8(d, cp);   /* never longer than the 6+ bytes it replaces */
            break;
        }
        default:
            goto bad;
        }
    }
    r->s++;
    *d = '\0';
    return out;
bad:
    free(out);
    fail(r, "bad escape in a string");
    return NULL;
}

static bench_json *value(reader *r);

static bench_json *node(reader *r, bench_json_kind kind)
{
    bench_json *j = calloc(1, sizeof *j);
    if (!j)
        return fail(r, "out of memory");
    j->kind = kind;
    return j;
}

static bench_json *number(reader *r)
{
    const char *p = r->s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return fail(r, "bad number");
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return fail(r, "bad number: digits must follow '.'");
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return fail(r, "bad number: digits must follow the exponent");
        while (*p >= '0' && *p <= '9')
            p++;
    }
    bench_json *j = node(r, BJ_NUM);
    if (!j)
        return NULL;
    errno = 0;
    j->num = strtod(r->s, NULL);
    r->s = p;
    return j;
}

static bench_json *container(reader *r, int obj)
{
    bench_json *j = node(r, obj ? BJ_OBJ : BJ_ARR), **tail = &j->child;
    if (!j)
        return NULL;
    if (++r->depth > 64) {
        bench_json_free(j);
        return fail(r, "nested too deep");
    }
    r->s++;
    ws(r);
    if (*r->s == (obj ? '}' : ']')) {
        r->s++;
        r->depth--;
        return j;
    }
    for (;;) {
        char *key = NULL;
        ws(r);
        if (obj) {
            if (*r->s != '"') {
                bench_json_free(j);
                return fail(r, "expected a member name");
            }
            if (!(key = string(r))) {
                bench_json_free(j);
                return NULL;
            }
            ws(r);
            if (*r->s != ':') {
                free(key);
                bench_json_free(j);
                return fail(r, "expected ':'");
            }
            r->s++;
        }
        bench_json *v = value(r);
        if (!v) {
            free(key);
            bench_json_free(j);
            return NULL;
        }
        v->key = key;
        *tail = v;
        tail = &v->next;
        ws(r);
        if (*r->s == ',') {
            r->s++;
            continue;
        }
        if (*r->s == (obj ? '}' : ']')) {
            r->s++;
            r->depth--;
            return j;
        }
        bench_json_free(j);
        return fail(r, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bench_json *value(reader *r)
{
    ws(r);
    char c = *r->s;
    if (c == '{' || c == '[')
        return container(r, c == '{');
    if (c == '"') {
        char *s = string(r);
        if (!s)
            return NULL;
        bench_json *j = node(r, BJ_STR);
        if (!j) {
            free(s);
            return NULL;
        }
        j->str = s;
        return j;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return number(r);
    static const struct { const char *word; bench_json_kind kind; double num; } words[] = {
        {"true", BJ_BOOL, 1}, {"false", BJ_BOOL, 0}, {"null", BJ_NULL, 0}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if (strncmp(r->s, words[i].word, n) == 0) {
            bench_json *j = node(r, words[i].kind);
            if (j)
                j->num = words[i].num;
            r->s += n;
            return j;
        }
    }
    return fail(r, c ? "unexpected character" : "unexpected end of text");
}

bench_json *bench_json_parse(const char *text, char *err, size_t errsize)
{
    reader r = {text, text, err, errsize, 0};
    if (err && errsize)
        err[0] = '\0';
    bench_json *j = value(&r);
    if (!j)
        return NULL;
    ws(&r);
    if (*r.s) {
        bench_json_free(j);
        return fail(&r, "text after the JSON value");
    }
    return j;
}

void bench_json_free(bench_json *j)
{
    while (j) {
        bench_json *next = j->next;
        bench_json_free(j->child);
        free(j->str);
        free(j->key);
        free(j);
        j = next;
    }
}

const bench_json *bench_json_get(const bench_json *o, const char *key)
{
    if (!o || o->kind != BJ_OBJ)
        return NULL;
    const bench_json *found = NULL;
    for (const bench_json *m = o->child; m; m = m->next)
        if (strcmp(m->key, key) == 0)
            found = m;   /* the last duplicate wins, as in most readers */
    return found;
}

double bench_json_num(const bench_json *o, const char *key, double dflt)
{
    const bench_json *m = bench_json_get(o, key);
    return m && m->kind == BJ_NUM ? m->num : dflt;
}

const char *bench_json_str(const bench_json *o, const char *key, const char *dflt)
{
    const bench_json *m = bench_json_get(o, key);
    return m && m->kind == BJ_STR ? m->str : dflt;
}
