/* Unit tests of the HTTP/2 row of the protocol table (src/app/app_h2.c):
 * its probe, and each stream as the seam's struct cs_txn (transport, stream
 * id, request from the pseudo-header fields with Host first, :scheme,
 * response fields in order with their wire (lower-case) names, interim
 * status, frames, how it ended), driven through the row's own
 * open/event/finish interface as the pipeline drives it, on byte streams
 * whose header blocks come from libnghttp2's deflater. */
#include "app_proto.h"
#include "h2_testutil.h"

/* A copy of one reported transaction (the seam's pointers live only
 * during the callback). */
struct got {
    const char *transport;
    uint32_t stream, index;
    enum cs_txn_end end;
    bool has_resp;
    int status, interim;
    corscope_status_form status_form;
    char method[16], target[64], scheme[16];
    char req[512], resp[512]; /* "name: value\n"... */
    uint64_t req_frame, resp_frame, end_frame;
    uint32_t req_flags, resp_flags;
};

struct sink {
    struct got g[16];
    int n;
};

static void put_fields(char *dst, size_t cap, const corscope_header *h, size_t n)
{
    size_t len = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(dst + len, len < cap ? cap - len : 0, "%.*s: %.*s\n",
                                (int)h[i].name_len, h[i].name, (int)h[i].value_len, h[i].value);
}

static void row_txn(void *ctx, const struct cs_txn *t)
{
    struct sink *s = ctx;
    CU_ASSERT_FATAL(s->n < 16);
    struct got *g = &s->g[s->n++];
    g->transport = t->transport;
    g->stream = t->stream;
    g->index = t->index;
    g->end = t->end;
    g->has_resp = t->has_resp;
    g->status = t->has_resp ? t->resp.status : 0;
    g->status_form = t->resp.status_form;
    g->interim = t->interim_status;
    snprintf(g->method, sizeof g->method, "%.*s", (int)t->req.method_len, t->req.method);
    snprintf(g->target, sizeof g->target, "%.*s", (int)t->req.target_len, t->req.target);
    snprintf(g->scheme, sizeof g->scheme, "%.*s", (int)t->req.scheme_len,
             t->req.scheme ? t->req.scheme : "");
    put_fields(g->req, sizeof g->req, t->req.headers, t->req.n_headers);
    if (t->has_resp)
        put_fields(g->resp, sizeof g->resp, t->resp.headers, t->resp.n_headers);
    g->req_frame = t->req_frame;
    g->resp_frame = t->resp_frame;
    g->end_frame = t->end_frame;
    g->req_flags = t->req_flags;
    g->resp_flags = t->resp_flags;
}

/* One connection through the row. */
struct fx {
    struct cs_limits lim;
    _Alignas(16) unsigned char stats[CS_APP_STATS_MAX];
    struct cs_app_env env;
    struct sink sink;
    struct cs_app_out out;
    void *conn;
    nghttp2_hd_deflater *cdef, *sdef;
    struct hb b;
};

static void fx_open(struct fx *f)
{
    memset(f, 0, sizeof *f);
    cs_limits_default(&f->lim);
    f->env = (struct cs_app_env){.limits = &f->lim, .stats = f->stats};
    f->out = (struct cs_app_out){row_txn, &f->sink, 0, NULL};
    CU_ASSERT_FATAL(cs_app_h2.stats_size <= CS_APP_STATS_MAX);
    f->conn = cs_app_h2.open(&f->env, &f->out);
    CU_ASSERT_FATAL(f->conn != NULL);
    nghttp2_hd_deflate_new(&f->cdef, 4096);
    nghttp2_hd_deflate_new(&f->sdef, 4096);
}

/* Sends what was built in f->b from dir as one event carried by `frame`. */
static void fx_send(struct fx *f, int dir, uint64_t frame)
{
    struct cs_stream_event ev = {CS_STREAM_DATA, f->b.p, (uint32_t)f->b.len, frame,
                                 (cs_time_ns)frame * 1000};
    cs_app_h2.event(f->conn, dir, &ev);
    hb_free(&f->b);
}

static void fx_close(struct fx *f, enum cs_txn_end why, uint64_t frame)
{
    cs_app_h2.finish(f->conn, why, frame, (cs_time_ns)frame * 1000);
    CU_ASSERT_EQUAL(cs_app_h2.held_bytes(f->stats), 0); /* all given back */
    nghttp2_hd_deflate_del(f->cdef);
    nghttp2_hd_deflate_del(f->sdef);
}

static const struct got *find(const struct sink *s, uint32_t stream)
{
    for (int i = 0; i < s->n; i++)
        if (s->g[i].stream == stream)
            return &s->g[i];
    return NULL;
}

static void test_probe(void)
{
    const uint8_t *pre = (const uint8_t *)CS_H2_PREFACE;
    CU_ASSERT_STRING_EQUAL(cs_app_h2.name, "h2"); /* the TLS row finds it by ALPN */
    CU_ASSERT_EQUAL(cs_app_h2.probe(CS_DIR_C2S, pre, CS_H2_PREFACE_LEN), CS_PROBE_YES);
    CU_ASSERT_EQUAL(cs_app_h2.probe(CS_DIR_C2S, pre, 5), CS_PROBE_NEED_MORE);
    CU_ASSERT_EQUAL(cs_app_h2.probe(CS_DIR_S2C, pre, CS_H2_PREFACE_LEN), CS_PROBE_NO);
    CU_ASSERT_EQUAL(cs_app_h2.probe(CS_DIR_C2S, (const uint8_t *)"GET / HTTP/1.1\r\n", 16),
                    CS_PROBE_NO);
    /* the HTTP/1 row, probed first, leaves the preface to this row */
    CU_ASSERT_EQUAL(cs_app_http1.probe(CS_DIR_C2S, pre, CS_H2_PREFACE_LEN), CS_PROBE_NO);
}

static void test_mapping(void)
{
    struct fx f;
    fx_open(&f);
    struct hdr_opts end = {.pad = -1, .end_stream = true}, more = {.pad = -1};
    /* client: preface, SETTINGS, four requests */
    put_preface(&f.b);
    put_settings(&f.b, false, NULL, 0);
    static const char *const rq1[] = {
        ":method", "GET", ":scheme", "https", ":authority", "api.example", ":path", "/a?x=1",
        "origin", "https://app.example", "cookie", "a=1", "cookie", "b=2", NULL};
    put_headers(&f.b, f.cdef, 1, rq1, &end);
    fx_send(&f, CS_DIR_C2S, 10);
    static const char *const rq3[] = {
        ":method", "OPTIONS", ":scheme", "https", ":authority", "api.example", ":path", "/r",
        "origin", "https://app.example", "access-control-request-method", "PUT", NULL};
    put_headers(&f.b, f.cdef, 3, rq3, &end);
    fx_send(&f, CS_DIR_C2S, 11);
    static const char *const rq5[] = {
        ":method", "GET", ":scheme", "http", ":authority", "api.example", ":path", "/c", NULL};
    put_headers(&f.b, f.cdef, 5, rq5, &end);
    static const char *const rq7[] = {
        ":method", "GET", ":scheme", "http", ":authority", "api.example", ":path", "/open", NULL};
    put_headers(&f.b, f.cdef, 7, rq7, &end);
    fx_send(&f, CS_DIR_C2S, 12);
    /* server: SETTINGS, 103 then 200 on 1 with two ACAO fields */
    put_settings(&f.b, false, NULL, 0);
    static const char *const early[] = {":status", "103", "link", "</s.css>", NULL};
    put_headers(&f.b, f.sdef, 1, early, &more);
    fx_send(&f, CS_DIR_S2C, 20);
    static const char *const ok[] = {
        ":status", "200", "access-control-allow-origin", "https://app.example", "vary", "Origin",
        "access-control-allow-origin", "https://app.example", NULL};
    put_headers(&f.b, f.sdef, 1, ok, &more);
    fx_send(&f, CS_DIR_S2C, 21);
    CU_ASSERT_EQUAL(cs_app_h2.held_bytes(f.stats) > 0, true); /* streams and tables */
    put_data(&f.b, 1, 4, -1, true);
    put_rst(&f.b, 3, 2); /* server resets 3 (INTERNAL_ERROR) */
    fx_send(&f, CS_DIR_S2C, 22);
    put_rst(&f.b, 5, 8); /* client cancels 5 */
    fx_send(&f, CS_DIR_C2S, 23);
    CU_ASSERT_EQUAL(f.sink.n, 3); /* 7 is still open */
    fx_close(&f, CS_TXN_CLOSED, 30);
    CU_ASSERT_EQUAL_FATAL(f.sink.n, 4);

    const struct got *g = find(&f.sink, 1);
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT_STRING_EQUAL(g->transport, CS_TRANSPORT_H2);
    CU_ASSERT_EQUAL(g->end, CS_TXN_ANSWERED);
    CU_ASSERT(g->has_resp);
    CU_ASSERT_STRING_EQUAL(g->method, "GET");
    CU_ASSERT_STRING_EQUAL(g->target, "/a?x=1");
    CU_ASSERT_STRING_EQUAL(g->scheme, "https");
    CU_ASSERT_STRING_EQUAL(g->req, "host: api.example\norigin: https://app.example\n"
                                   "cookie: a=1\ncookie: b=2\n");
    CU_ASSERT_EQUAL(g->status, 200);
    CU_ASSERT_EQUAL(g->interim, 103);
    CU_ASSERT_STRING_EQUAL(g->resp, "access-control-allow-origin: https://app.example\n"
                                    "vary: Origin\n"
                                    "access-control-allow-origin: https://app.example\n");
    CU_ASSERT_EQUAL(g->req_frame, 10);
    CU_ASSERT_EQUAL(g->resp_frame, 21);
    CU_ASSERT_EQUAL(g->req_flags, 0);
    CU_ASSERT_EQUAL(g->resp_flags, 0);

    g = find(&f.sink, 3);
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT_EQUAL(g->end, CS_TXN_STREAM_RESET);
    CU_ASSERT(!g->has_resp);
    CU_ASSERT_STRING_EQUAL(g->method, "OPTIONS");
    CU_ASSERT_EQUAL(g->req_frame, 11);
    CU_ASSERT_EQUAL(g->end_frame, 22);

    g = find(&f.sink, 5);
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT_EQUAL(g->end, CS_TXN_ABORTED); /* the client cancelled it: the page's abort */
    CU_ASSERT_STRING_EQUAL(g->scheme, "http");

    g = find(&f.sink, 7);
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT_EQUAL(g->end, CS_TXN_CLOSED);
    CU_ASSERT_STRING_EQUAL(g->target, "/open");

    struct cs_summary sum;
    memset(&sum, 0, sizeof sum);
    cs_app_h2.summarize(f.stats, &sum);
    CU_ASSERT_EQUAL(sum.h2.connections, 1);
    CU_ASSERT_EQUAL(sum.h2.streams, 4);
    CU_ASSERT_EQUAL(sum.h2.resets, 2);
}

/* A capture gap inside the server's header block: the response can no
 * longer be decoded, so the verdict must be unknown (CS_TXN_GAP). */
static void test_gap_is_unknown(void)
{
    struct fx f;
    fx_open(&f);
    struct hdr_opts end = {.pad = -1, .end_stream = true};
    put_preface(&f.b);
    put_settings(&f.b, false, NULL, 0);
    static const char *const rq[] = {
        ":method", "GET", ":scheme", "http", ":authority", "api.example", ":path", "/g",
        "origin", "http://app.example", NULL};
    put_headers(&f.b, f.cdef, 1, rq, &end);
    fx_send(&f, CS_DIR_C2S, 1);
    put_settings(&f.b, false, NULL, 0);
    put_frame_header(&f.b, 40, CS_H2_HEADERS, CS_H2_FLAG_END_HEADERS, 1);
    fx_send(&f, CS_DIR_S2C, 2);
    struct cs_stream_event gap = {CS_STREAM_GAP, NULL, 40, 3, 3000};
    cs_app_h2.event(f.conn, CS_DIR_S2C, &gap);
    fx_close(&f, CS_TXN_CLOSED, 4);
    CU_ASSERT_EQUAL_FATAL(f.sink.n, 1);
    CU_ASSERT_EQUAL(f.sink.g[0].end, CS_TXN_GAP);
    CU_ASSERT(!f.sink.g[0].has_resp);
}

/* Responses both browsers refuse (tests/browser h2-uppercase-name,
 * h2-value-newline, h2-status-after-fields): an upper-case field name, a
 * LF in a value, :status after a regular field.  The row reports them
 * without a response, ended CS_TXN_MALFORMED; the well-formed twin is
 * answered. */
static void test_malformed_response(void)
{
    struct fx f;
    fx_open(&f);
    struct hdr_opts end = {.pad = -1, .end_stream = true};
    put_preface(&f.b);
    put_settings(&f.b, false, NULL, 0);
    static const char *const rq[] = {
        ":method", "GET", ":scheme", "https", ":authority", "api.example", ":path", "/m",
        "origin", "https://app.example", NULL};
    for (uint32_t id = 1; id <= 9; id += 2)
        put_headers(&f.b, f.cdef, id, rq, &end);
    fx_send(&f, CS_DIR_C2S, 1);
    static const char *const upper[] = {":status", "200", "Access-Control-Allow-Origin",
                                        "https://app.example", NULL};
    static const char *const lower[] = {":status", "200", "access-control-allow-origin",
                                        "https://app.example", NULL};
    put_settings(&f.b, false, NULL, 0);
    put_headers(&f.b, f.sdef, 1, upper, &end);
    put_headers(&f.b, f.sdef, 3, lower, &end);
    static const char *const newline[] = {":status", "200", "access-control-allow-origin",
                                          "https://app.example\nx", NULL};
    static const char *const late[] = {"access-control-allow-origin", "https://app.example",
                                       ":status", "200", NULL};
    put_headers(&f.b, f.sdef, 5, newline, &end);
    put_headers(&f.b, f.sdef, 7, late, &end);
    static const char *const te[] = {":status", "200", "access-control-allow-origin",
                                     "https://app.example", "transfer-encoding", "chunked", NULL};
    put_headers(&f.b, f.sdef, 9, te, &end);
    fx_send(&f, CS_DIR_S2C, 2);
    fx_close(&f, CS_TXN_CLOSED, 3);
    const struct got *bad = find(&f.sink, 1), *good = find(&f.sink, 3);
    CU_ASSERT_FATAL(bad != NULL && good != NULL);
    CU_ASSERT_EQUAL(bad->end, CS_TXN_MALFORMED);
    CU_ASSERT(!bad->has_resp);
    for (uint32_t id = 5; id <= 7; id += 2) {
        const struct got *g = find(&f.sink, id);
        CU_ASSERT_FATAL(g != NULL);
        CU_ASSERT_EQUAL(g->end, CS_TXN_MALFORMED);
        CU_ASSERT(!g->has_resp);
    }
    CU_ASSERT_EQUAL(good->end, CS_TXN_ANSWERED);
    CU_ASSERT(good->has_resp);
    /* transfer-encoding: answered (the classifier knows what Chromium does) */
    const struct got *te_got = find(&f.sink, 9);
    CU_ASSERT_FATAL(te_got != NULL);
    CU_ASSERT_EQUAL(te_got->end, CS_TXN_ANSWERED);
    CU_ASSERT(te_got->has_resp);
    CU_ASSERT_EQUAL(good->status, 200);
}

/* :status as sent (tests/browser status-*, h2-status-*): digits of any
 * length are read with their form, anything else (letters, empty, a space
 * before the digits: not trimmed, unlike a regular field's value) is
 * NOT_DIGITS, two :status fields REPEATED with the last one's value; the classifier decides who
 * refuses them.  Only a missing :status is malformed for both. */
static void test_status_forms(void)
{
    struct fx f;
    fx_open(&f);
    struct hdr_opts end = {.pad = -1, .end_stream = true};
    put_preface(&f.b);
    put_settings(&f.b, false, NULL, 0);
    static const char *const rq[] = {
        ":method", "GET", ":scheme", "https", ":authority", "api.example", ":path", "/s",
        "origin", "https://app.example", NULL};
    static const struct {
        const char *status[4]; /* the block's fields before "x-a: 1" */
        enum cs_txn_end end;
        int value;
        corscope_status_form form;
    } t[] = {
        {{":status", "204"}, CS_TXN_ANSWERED, 204, CORSCOPE_STATUS_DIGITS},
        {{":status", "99"}, CS_TXN_ANSWERED, 99, CORSCOPE_STATUS_DIGITS},
        {{":status", "000"}, CS_TXN_ANSWERED, 0, CORSCOPE_STATUS_DIGITS},
        {{":status", "2000"}, CS_TXN_ANSWERED, 2000, CORSCOPE_STATUS_LONG},
        {{":status", "20x"}, CS_TXN_ANSWERED, 0, CORSCOPE_STATUS_NOT_DIGITS},
        {{":status", " 200"}, CS_TXN_ANSWERED, 0, CORSCOPE_STATUS_NOT_DIGITS},
        {{":status", ""}, CS_TXN_ANSWERED, 0, CORSCOPE_STATUS_NOT_DIGITS},
        {{":status", "201", ":status", "201"}, CS_TXN_ANSWERED, 201, CORSCOPE_STATUS_REPEATED},
        /* Firefox reads the last (h2-status-twice-500-then-204) */
        {{":status", "500", ":status", "204"}, CS_TXN_ANSWERED, 204, CORSCOPE_STATUS_REPEATED},
        {{NULL}, CS_TXN_MALFORMED, 0, CORSCOPE_STATUS_DIGITS},
    };
    const size_t n = sizeof t / sizeof t[0];
    for (uint32_t i = 0; i < n; i++)
        put_headers(&f.b, f.cdef, 2 * i + 1, rq, &end);
    fx_send(&f, CS_DIR_C2S, 1);
    for (uint32_t i = 0; i < n; i++) {
        const char *fields[7] = {NULL};
        int k = 0;
        for (; k < 4 && t[i].status[k]; k++)
            fields[k] = t[i].status[k];
        fields[k] = "x-a";
        fields[k + 1] = "1";
        put_headers(&f.b, f.sdef, 2 * i + 1, fields, &end);
    }
    fx_send(&f, CS_DIR_S2C, 2);
    fx_close(&f, CS_TXN_CLOSED, 3);
    for (uint32_t i = 0; i < n; i++) {
        const struct got *g = find(&f.sink, 2 * i + 1);
        CU_ASSERT_FATAL(g != NULL);
        CU_ASSERT_EQUAL(g->end, t[i].end);
        CU_ASSERT_EQUAL(g->has_resp, t[i].end == CS_TXN_ANSWERED);
        if (!g->has_resp)
            continue;
        CU_ASSERT_EQUAL(g->status, t[i].value);
        CU_ASSERT_EQUAL(g->status_form, t[i].form);
        CU_ASSERT_STRING_EQUAL(g->resp, "x-a: 1\n");
        if (g->status != t[i].value || g->status_form != t[i].form)
            fprintf(stderr, "status case %u: %d/%d\n", i, g->status, (int)g->status_form);
    }
}

/* cs_limits.h2_max_streams (--h2-max-streams) bounds the open streams: the
 * oldest is reported evicted. */
static void test_stream_limit(void)
{
    struct fx f;
    memset(&f, 0, sizeof f);
    fx_open(&f);
    cs_app_h2.finish(f.conn, CS_TXN_CLOSED, 0, 0); /* reopen with the limit */
    f.lim.h2_max_streams = 2;
    f.conn = cs_app_h2.open(&f.env, &f.out);
    CU_ASSERT_FATAL(f.conn != NULL);
    struct hdr_opts end = {.pad = -1, .end_stream = true};
    put_preface(&f.b);
    put_settings(&f.b, false, NULL, 0);
    static const char *const rq[] = {
        ":method", "GET", ":scheme", "http", ":authority", "api.example", ":path", "/", NULL};
    for (uint32_t id = 1; id <= 5; id += 2)
        put_headers(&f.b, f.cdef, id, rq, &end);
    fx_send(&f, CS_DIR_C2S, 1);
    CU_ASSERT_EQUAL_FATAL(f.sink.n, 1);
    CU_ASSERT_EQUAL(f.sink.g[0].stream, 1);
    CU_ASSERT_EQUAL(f.sink.g[0].end, CS_TXN_EVICTED);
    fx_close(&f, CS_TXN_UNANSWERED, 2);
    CU_ASSERT_EQUAL(f.sink.n, 3);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"probe", test_probe},
        {"stream to cs_txn", test_mapping},
        {"gap gives unknown", test_gap_is_unknown},
        {"a response with an upper-case name is refused", test_malformed_response},
        {"stream limit", test_stream_limit},
        {":status forms", test_status_forms},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("h2_app", cases);
    return cs_test_run();
}
