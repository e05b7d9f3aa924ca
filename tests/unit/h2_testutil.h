/* Helpers for the HTTP/2 tests: a byte buffer, frame builders (header
 * blocks encoded by libnghttp2's deflater), a feeder that hands a byte
 * stream to cs_h2_conn in pieces (each copied next to an unreadable page),
 * and a collector that turns each reported transaction into plain text
 * ("name: value\n" lines) so tests can compare whole streams at once. */
#ifndef CS_H2_TESTUTIL_H
#define CS_H2_TESTUTIL_H

#include <nghttp2/nghttp2.h>
#include <stdarg.h>
#include <stdio.h>
#include "testutil.h"
#include "flow.h"
#include "h2_conn.h"
#include "h2_frame.h"

/* ---- a growable byte buffer ---------------------------------------------- */

struct hb {
    uint8_t *p;
    size_t len, cap;
};

static inline void hb_put(struct hb *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
static inline void hb_str(struct hb *b, const char *s)
{
    hb_put(b, s, strlen(s));
}
static inline void hb_fmt(struct hb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void hb_fmt(struct hb *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    hb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}
static inline void hb_free(struct hb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- frames (RFC 9113 §4.1) ------------------------------------------------ */

static inline void put_frame_header(struct hb *b, uint32_t len, uint8_t type, uint8_t flags,
                                    uint32_t stream)
{
    uint8_t h[9] = {(uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
                    (uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8),
                    (uint8_t)stream};
    hb_put(b, h, 9);
}

static inline void put_frame(struct hb *b, uint8_t type, uint8_t flags, uint32_t stream,
                             const void *payload, uint32_t len)
{
    put_frame_header(b, len, type, flags, stream);
    hb_put(b, payload, len);
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void put_preface(struct hb *b)
{
    hb_put(b, CS_H2_PREFACE, CS_H2_PREFACE_LEN);
}

/* SETTINGS with n (id, value) pairs; ack: an empty ACK. */
static inline void put_settings(struct hb *b, bool ack, const uint32_t *pairs, int n)
{
    uint8_t p[6 * 8];
    for (int i = 0; i < n; i++) {
        p[6 * i] = (uint8_t)(pairs[2 * i] >> 8);
        p[6 * i + 1] = (uint8_t)pairs[2 * i];
        put_u32(p + 6 * i + 2, pairs[2 * i + 1]);
    }
    put_frame(b, CS_H2_SETTINGS, ack ? CS_H2_FLAG_ACK : 0, 0, p, ack ? 0 : (uint32_t)(6 * n));
}

static inline void put_rst(struct hb *b, uint32_t stream, uint32_t code)
{
    uint8_t p[4];
    put_u32(p, code);
    put_frame(b, CS_H2_RST_STREAM, 0, stream, p, 4);
}

static inline void put_goaway(struct hb *b, uint32_t last, uint32_t code, const char *debug)
{
    uint8_t p[8 + 64];
    size_t dl = debug ? strlen(debug) : 0;
    put_u32(p, last);
    put_u32(p + 4, code);
    memcpy(p + 8, debug ? debug : "", dl);
    put_frame(b, CS_H2_GOAWAY, 0, 0, p, (uint32_t)(8 + dl));
}

/* DATA with n payload bytes ('x'), pad bytes of padding when pad >= 0. */
static inline void put_data(struct hb *b, uint32_t stream, uint32_t n, int pad, bool end)
{
    uint8_t flags = (end ? CS_H2_FLAG_END_STREAM : 0) | (pad >= 0 ? CS_H2_FLAG_PADDED : 0);
    uint32_t len = n + (pad >= 0 ? 1u + (uint32_t)pad : 0u);
    put_frame_header(b, len, CS_H2_DATA, flags, stream);
    if (pad >= 0) {
        uint8_t pl = (uint8_t)pad;
        hb_put(b, &pl, 1);
    }
    for (uint32_t i = 0; i < n; i++)
        hb_put(b, "x", 1);
    for (int i = 0; i < pad; i++)
        hb_put(b, "\0", 1);
}

/* Encodes "name", "value", ... (NULL-terminated) with the deflater. */
static inline struct hb encode_block(nghttp2_hd_deflater *def, const char *const *nv)
{
    nghttp2_nv v[256];
    size_t n = 0;
    for (; nv[2 * n] && n < 256; n++)
        v[n] = (nghttp2_nv){(uint8_t *)nv[2 * n], (uint8_t *)nv[2 * n + 1], strlen(nv[2 * n]),
                            strlen(nv[2 * n + 1]), NGHTTP2_NV_FLAG_NONE};
    struct hb out = {0};
    size_t bound = nghttp2_hd_deflate_bound(def, v, n);
    out.p = malloc(bound + 1);
    out.cap = bound + 1;
    ssize_t rv = nghttp2_hd_deflate_hd(def, out.p, bound, v, n);
    if (rv < 0)
        abort();
    out.len = (size_t)rv;
    return out;
}

/* How put_headers lays out a block. */
struct hdr_opts {
    int pad;        /* >= 0: PADDED with that many bytes */
    bool priority;  /* PRIORITY fields */
    uint32_t split; /* > 0: fragments of at most this many bytes (CONTINUATION) */
    bool end_stream;
    uint8_t type;      /* 0 = HEADERS; CS_H2_PUSH_PROMISE */
    uint32_t promised; /* PUSH_PROMISE */
};

/* A header block (HEADERS or PUSH_PROMISE, then CONTINUATIONs). */
static inline void put_block(struct hb *b, uint32_t stream, const uint8_t *blk, size_t blen,
                             const struct hdr_opts *o)
{
    static const struct hdr_opts none = {.pad = -1};
    if (!o)
        o = &none;
    size_t first = o->split && o->split < blen ? o->split : blen;
    uint8_t type = o->type ? o->type : CS_H2_HEADERS;
    uint8_t flags = (first == blen ? CS_H2_FLAG_END_HEADERS : 0) |
                    (o->end_stream && type == CS_H2_HEADERS ? CS_H2_FLAG_END_STREAM : 0) |
                    (o->pad >= 0 ? CS_H2_FLAG_PADDED : 0) |
                    (o->priority && type == CS_H2_HEADERS ? CS_H2_FLAG_PRIORITY : 0);
    uint32_t fixed = (o->pad >= 0 ? 1u : 0u) + (o->priority && type == CS_H2_HEADERS ? 5u : 0u) +
                     (type == CS_H2_PUSH_PROMISE ? 4u : 0u);
    put_frame_header(b, (uint32_t)(fixed + first + (o->pad > 0 ? (uint32_t)o->pad : 0u)), type,
                     flags, stream);
    if (o->pad >= 0) {
        uint8_t pl = (uint8_t)o->pad;
        hb_put(b, &pl, 1);
    }
    if (o->priority && type == CS_H2_HEADERS) {
        uint8_t pr[5] = {0x80, 0, 0, 0, 15}; /* exclusive on stream 0, weight 16 */
        hb_put(b, pr, 5);
    }
    if (type == CS_H2_PUSH_PROMISE) {
        uint8_t pp[4];
        put_u32(pp, o->promised);
        hb_put(b, pp, 4);
    }
    hb_put(b, blk, first);
    for (int i = 0; i < o->pad; i++)
        hb_put(b, "\0", 1);
    size_t off = first;
    while (off < blen) {
        size_t k = o->split && blen - off > o->split ? o->split : blen - off;
        put_frame(b, CS_H2_CONTINUATION, off + k == blen ? CS_H2_FLAG_END_HEADERS : 0, stream,
                  blk + off, (uint32_t)k);
        off += k;
    }
}

static inline void put_headers(struct hb *b, nghttp2_hd_deflater *def, uint32_t stream,
                               const char *const *nv, const struct hdr_opts *o)
{
    struct hb blk = encode_block(def, nv);
    put_block(b, stream, blk.p, blk.len, o);
    hb_free(&blk);
}

/* ---- feeding ------------------------------------------------------------- */

/* Feeds buf[0..n) of direction dir in pieces of `piece` bytes (0: one
 * piece), each copied to the end of a page followed by an unreadable one.
 * Frame numbers count up from *frame. */
static inline void feed(struct cs_h2_conn *c, int dir, const uint8_t *buf, size_t n,
                        size_t piece, uint64_t *frame)
{
    size_t off = 0;
    if (piece == 0)
        piece = n ? n : 1;
    while (off < n) {
        size_t k = n - off < piece ? n - off : piece;
        struct guarded g = guarded_copy(buf + off, k);
        struct cs_stream_event ev = {CS_STREAM_DATA, g.data, (uint32_t)k, ++*frame,
                                     (cs_time_ns)*frame * 1000};
        cs_h2_conn_event(c, dir, &ev);
        guarded_free(&g);
        off += k;
    }
}

static inline void feed_event(struct cs_h2_conn *c, int dir, enum cs_stream_event_kind kind,
                              uint32_t len, uint64_t *frame)
{
    struct cs_stream_event ev = {kind, NULL, len, ++*frame, (cs_time_ns)*frame * 1000};
    cs_h2_conn_event(c, dir, &ev);
}

/* ---- collecting transactions -------------------------------------------- */

#define MAX_RECS 512

struct rec {
    uint32_t stream_id;
    enum cs_h2_end end;
    bool answered;
    int status, interim_status;
    uint32_t n_interim;
    int rst_by;
    uint32_t rst_error;
    uint64_t req_frame, req_frame_end, resp_frame, interim_frame, end_frame;
    uint32_t req_flags, resp_flags;
    char *pseudo; /* ":method GET\n:scheme ...\n" */
    char *req;    /* "name: value\n"... */
    char *req_trailers;
    char *resp;
    char *resp_trailers;
    char *host_view; /* cs_h2_txn_request_fields as "name: value\n" */
    /* every string of the request (pseudo-header values, the fields with
     * the host made from :authority) lies in req_block, every field of the
     * final response in resp_block: the report thread copies them */
    bool in_blocks;
};

struct collector {
    struct rec r[MAX_RECS];
    int n;
};

static inline char *section_text(const struct cs_h2_section *s)
{
    struct hb b = {0};
    hb_put(&b, "", 0);
    for (uint32_t i = 0; i < s->n_fields; i++) {
        hb_put(&b, s->fields[i].name, s->fields[i].name_len);
        hb_str(&b, ": ");
        hb_put(&b, s->fields[i].value, s->fields[i].value_len);
        hb_str(&b, "\n");
    }
    return (char *)b.p;
}

static inline bool str_in(const char *s, size_t n, const char *block, uint32_t block_len)
{
    uintptr_t lo = (uintptr_t)block;
    return !s || (block && (uintptr_t)s >= lo && (uintptr_t)s + n <= lo + block_len);
}

static inline bool fields_in(const corscope_header *h, size_t n, const char *block, uint32_t len)
{
    for (size_t i = 0; i < n; i++)
        if (!str_in(h[i].name, h[i].name_len, block, len) ||
            !str_in(h[i].value, h[i].value_len, block, len))
            return false;
    return true;
}

static inline void on_txn(void *ctx, const struct cs_h2_txn *t)
{
    struct collector *col = ctx;
    if (col->n >= MAX_RECS)
        abort();
    struct rec *r = &col->r[col->n++];
    r->stream_id = t->stream_id;
    r->end = t->end;
    r->answered = t->answered;
    r->status = t->status;
    r->interim_status = t->interim_status;
    r->n_interim = t->n_interim;
    r->rst_by = t->rst_by;
    r->rst_error = t->rst_error;
    r->req_frame = t->req.frame;
    r->req_frame_end = t->req.frame_end;
    r->resp_frame = t->resp.frame;
    r->interim_frame = t->interim_frame;
    r->end_frame = t->end_frame;
    r->req_flags = t->req.flags;
    r->resp_flags = t->resp.flags;
    struct hb p = {0};
    hb_put(&p, "", 0);
    const char *names[4] = {":method", ":scheme", ":authority", ":path"};
    const char *vals[4] = {t->method, t->scheme, t->authority, t->path};
    uint32_t lens[4] = {t->method_len, t->scheme_len, t->authority_len, t->path_len};
    for (int i = 0; i < 4; i++)
        if (vals[i]) {
            hb_fmt(&p, "%s ", names[i]);
            hb_put(&p, vals[i], lens[i]);
            hb_str(&p, "\n");
        }
    r->pseudo = (char *)p.p;
    r->req = section_text(&t->req);
    r->req_trailers = section_text(&t->req_trailers);
    r->resp = section_text(&t->resp);
    r->resp_trailers = section_text(&t->resp_trailers);
    corscope_header h[300];
    struct cs_h2_section view = {h, (uint32_t)cs_h2_txn_request_fields(t, h, 300), 0, 0, 0, 0};
    r->host_view = section_text(&view);
    r->in_blocks = str_in(t->method, t->method_len, t->req_block, t->req_block_len) &&
                   str_in(t->scheme, t->scheme_len, t->req_block, t->req_block_len) &&
                   str_in(t->authority, t->authority_len, t->req_block, t->req_block_len) &&
                   str_in(t->path, t->path_len, t->req_block, t->req_block_len) &&
                   fields_in(h, view.n_fields, t->req_block, t->req_block_len) &&
                   (!t->answered ||
                    fields_in(t->resp.fields, t->resp.n_fields, t->resp_block, t->resp_block_len));
}

static inline void collector_free(struct collector *col)
{
    for (int i = 0; i < col->n; i++) {
        free(col->r[i].pseudo);
        free(col->r[i].req);
        free(col->r[i].req_trailers);
        free(col->r[i].resp);
        free(col->r[i].resp_trailers);
        free(col->r[i].host_view);
    }
    col->n = 0;
}

static inline const struct rec *rec_for(const struct collector *col, uint32_t id)
{
    for (int i = 0; i < col->n; i++)
        if (col->r[i].stream_id == id)
            return &col->r[i];
    return NULL;
}

#endif
