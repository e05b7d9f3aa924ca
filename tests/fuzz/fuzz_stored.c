/* libFuzzer target: the stored-response table (src/report/stored.c) on a
 * sequence of responses and 304s with header fields from the input, in a
 * table small enough (8 responses) that replacing and evicting run all the
 * time.  The key (the timeline's hash of client, Origin and URL in
 * corscope) is made from the control bits that choose them.
 *
 * Input: operations separated by an empty line.  Each starts with a
 * control byte: bit 0 a 304 (else a response to store), bits 1-2 the
 * client, bits 3-4 the URL, bit 5 the Origin, bit 6 HEAD (else GET), bit 7
 * status 200 (else the next byte is the status / 2).  Then "name:value"
 * lines (each at most 64 fields): the request's, a line "--", the
 * response's.  Every name and value is copied to a buffer of exactly its
 * size so ASan sees any over-read; a 304's view is read whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stored.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 64

struct fields {
    corscope_header h[MAX_FIELDS];
    size_t n;
};

struct owned {
    char *p[4 * MAX_FIELDS];
    size_t n;
};

static const char *dup_exact(struct owned *o, const char *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (!d)
        abort();
    memcpy(d, p, n);
    if (o->n < sizeof o->p / sizeof o->p[0])
        o->p[o->n++] = d;
    else
        free(d), d = NULL;
    return d;
}

static void add_field(struct fields *f, struct owned *o, const char *l, size_t len)
{
    if (f->n == MAX_FIELDS)
        return;
    const char *colon = memchr(l, ':', len);
    size_t nl = colon ? (size_t)(colon - l) : len, vl = colon ? len - nl - 1 : 0;
    const char *name = dup_exact(o, l, nl), *value = dup_exact(o, colon ? colon + 1 : "", vl);
    if (name && value)
        f->h[f->n++] = (corscope_header){name, nl, value, vl};
}

static void read_view(const struct cs_stored_view *v)
{
    volatile uint8_t sink = (uint8_t)v->frame ^ (uint8_t)v->resp.status;
    if (v->resp.n_headers > CS_STORED_FIELDS || v->resp.headers != v->fields)
        abort(); /* stored.h: the view's fields are its own, at most CS_STORED_FIELDS */
    for (size_t i = 0; i < v->resp.n_headers; i++) {
        const corscope_header *h = &v->resp.headers[i];
        for (size_t k = 0; k < h->name_len; k++)
            sink ^= (uint8_t)h->name[k];
        for (size_t k = 0; k < h->value_len; k++)
            sink ^= (uint8_t)h->value[k];
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const urls[] = {"http://a.example/x", "https://a.example/x", "http://a.example/y",
                                       "https://b.example:8443/"};
    static const char *const origins[] = {"https://app.example", "null"};
    struct cs_stored *s = cs_stored_new(8);
    if (!s)
        abort();
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        uint8_t ctl = (uint8_t)*p++;
        int status = 200;
        if (!(ctl & 0x80) && p < end)
            status = (uint8_t)*p++ * 2;
        struct fields rq = {.n = 0}, rs = {.n = 0};
        struct owned o = {.n = 0};
        struct fields *cur = &rq;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            const char *l = p;
            p += len + (nl ? 1 : 0);
            if (len == 0)
                break; /* the operation's end */
            if (len == 2 && l[0] == '-' && l[1] == '-')
                cur = &rs;
            else
                add_field(cur, &o, l, len);
        }
        uint64_t key = 1 + ((ctl >> 1) & 31); /* client, URL, Origin */
        const char *url = urls[(ctl >> 3) & 3], *origin = origins[(ctl >> 5) & 1];
        bool head = ctl & 0x40;
        corscope_request req = {.method = head ? "HEAD" : "GET", .method_len = head ? 4 : 3, .target = "/", .target_len = 1, .headers = rq.h, .n_headers = rq.n};
        corscope_response resp = {.status = (ctl & 1) ? 304 : status, .headers = rs.h, .n_headers = rs.n};
        if (ctl & 1) {
            const struct cs_stored_view *v = cs_stored_revalidate(s, key, origin, strlen(origin), url, &req, &resp);
            if (v)
                read_view(v);
        } else {
            cs_stored_response(s, key, origin, strlen(origin), url, &req, &resp, (uint64_t)(p - (const char *)data));
        }
        if (cs_stored_bytes(s) > CS_STORED_BUDGET + 8 * (16 + 6 * sizeof(void *)) + 8 * 16)
            abort(); /* stored.h: bounded in bytes */
        for (size_t i = 0; i < o.n; i++)
            free(o.p[i]);
    }
    cs_stored_free(s);
    return 0;
}
