/* Unit tests of the HTTP/2 frame layer (src/h2_frame.c) and connection
 * stage (src/h2_conn.c), on hand-built frames whose header blocks come from
 * libnghttp2's deflater: every frame type, CONTINUATION, padding, pieces cut
 * at every byte, interleaved streams, oversized frames, closed streams,
 * RST_STREAM, GOAWAY, SETTINGS_HEADER_TABLE_SIZE, gaps. */
#include "h2_testutil.h"
#include "h2_int.h" /* the directions' HPACK state, for test_parked_tables */

/* One connection under test, with a deflater per direction. */
struct fx {
    struct cs_h2_limits lim;
    struct cs_h2_stats st;
    struct collector col;
    struct cs_h2_conn *c;
    nghttp2_hd_deflater *cdef, *sdef; /* client's and server's encoders */
    uint64_t frame;
    struct hb b; /* frames being built */
};

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof *f);
    cs_h2_limits_default(&f->lim, NULL);
    f->c = cs_h2_conn_new(&f->lim, &f->st, on_txn, &f->col);
    nghttp2_hd_deflate_new(&f->cdef, 4096);
    nghttp2_hd_deflate_new(&f->sdef, 4096);
    return f;
}

/* Sends what was built in f->b from dir, in pieces of `piece` bytes. */
static void fx_send(struct fx *f, int dir, size_t piece)
{
    feed(f->c, dir, f->b.p, f->b.len, piece, &f->frame);
    f->b.len = 0;
}

/* The usual opening: preface and SETTINGS both ways, acknowledged. */
static void fx_open(struct fx *f)
{
    put_preface(&f->b);
    put_settings(&f->b, false, NULL, 0);
    fx_send(f, CS_DIR_C2S, 0);
    put_settings(&f->b, false, NULL, 0);
    put_settings(&f->b, true, NULL, 0);
    fx_send(f, CS_DIR_S2C, 0);
    put_settings(&f->b, true, NULL, 0);
    fx_send(f, CS_DIR_C2S, 0);
}

static void fx_free(struct fx *f)
{
    if (f->c)
        cs_h2_conn_finish(f->c, CS_H2_END_UNANSWERED, ++f->frame, 0);
    CU_ASSERT_EQUAL(f->st.held_bytes, 0);
    for (int i = 0; i < f->col.n; i++)
        CU_ASSERT(f->col.r[i].in_blocks);
    collector_free(&f->col);
    nghttp2_hd_deflate_del(f->cdef);
    nghttp2_hd_deflate_del(f->sdef);
    hb_free(&f->b);
    free(f);
}

static const char *const REQ1[] = {
    ":method", "GET", ":scheme", "https", ":authority", "api.example.com", ":path", "/data?x=1",
    "origin", "https://app.example.com", "accept", "*/*",
    "cookie", "a=1", "cookie", "b=2", "x-dup", "one", "x-dup", "two", NULL};
static const char *const RESP1[] = {
    ":status", "200", "access-control-allow-origin", "https://app.example.com",
    "access-control-allow-origin", "*", "vary", "Origin", NULL};

static void request(struct fx *f, uint32_t id, const char *const *nv, bool end)
{
    struct hdr_opts o = {.pad = -1, .end_stream = end};
    put_headers(&f->b, f->cdef, id, nv, &o);
    fx_send(f, CS_DIR_C2S, 0);
}

static void response(struct fx *f, uint32_t id, const char *const *nv, bool end)
{
    struct hdr_opts o = {.pad = -1, .end_stream = end};
    put_headers(&f->b, f->sdef, id, nv, &o);
    fx_send(f, CS_DIR_S2C, 0);
}

static void test_probe(void)
{
    CU_ASSERT_EQUAL(cs_h2_probe((const uint8_t *)CS_H2_PREFACE, CS_H2_PREFACE_LEN), 1);
    CU_ASSERT_EQUAL(cs_h2_probe((const uint8_t *)CS_H2_PREFACE "\0\0", CS_H2_PREFACE_LEN + 2), 1);
    CU_ASSERT_EQUAL(cs_h2_probe((const uint8_t *)"PRI * HTTP/2", 12), -1);
    CU_ASSERT_EQUAL(cs_h2_probe((const uint8_t *)"", 0), -1);
    CU_ASSERT_EQUAL(cs_h2_probe((const uint8_t *)"GET / HTTP/1.1\r\n", 16), 0);
    CU_ASSERT_EQUAL(cs_h2_probe((const uint8_t *)"PRI * HTTP/1.1", 14), 0);
    struct guarded g = guarded_copy("PRI * HTTP/2.0\r\n\r\nSM", 20);
    CU_ASSERT_EQUAL(cs_h2_probe(g.data, 20), -1);
    guarded_free(&g);
}

/* r is REQ1 answered 200 with RESP1. */
static void assert_req1_resp1(const struct rec *r)
{
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_STRING_EQUAL(r->pseudo, ":method GET\n:scheme https\n:authority api.example.com\n"
                                      ":path /data?x=1\n");
    CU_ASSERT_STRING_EQUAL(r->req, "origin: https://app.example.com\naccept: */*\ncookie: a=1\n"
                                   "cookie: b=2\nx-dup: one\nx-dup: two\n");
    CU_ASSERT_STRING_EQUAL(r->resp, "access-control-allow-origin: https://app.example.com\n"
                                    "access-control-allow-origin: *\nvary: Origin\n");
}

/* A request and its response: pseudo-headers, fields in order with
 * duplicates and split cookies, frame numbers, END_STREAM both ways. */
static void test_simple_exchange(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    request(f, 1, REQ1, true);
    uint64_t req_frame = f->frame;
    CU_ASSERT_EQUAL(f->col.n, 0);
    response(f, 1, RESP1, false);
    uint64_t resp_frame = f->frame;
    CU_ASSERT_EQUAL(f->col.n, 0); /* reported when the stream is over */
    put_data(&f->b, 1, 10, -1, true);
    fx_send(f, CS_DIR_S2C, 0);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    const struct rec *r = &f->col.r[0];
    CU_ASSERT_EQUAL(r->stream_id, 1);
    CU_ASSERT_EQUAL(r->end, CS_H2_END_COMPLETE);
    CU_ASSERT(r->answered);
    assert_req1_resp1(r);
    CU_ASSERT_STRING_EQUAL(r->host_view, "host: api.example.com\norigin: https://app.example.com\n"
                                         "accept: */*\ncookie: a=1\ncookie: b=2\nx-dup: one\n"
                                         "x-dup: two\n");
    CU_ASSERT_EQUAL(r->req_frame, req_frame);
    CU_ASSERT_EQUAL(r->resp_frame, resp_frame);
    CU_ASSERT_EQUAL(r->end_frame, f->frame);
    CU_ASSERT_EQUAL(f->st.streams, 1);
    CU_ASSERT_EQUAL(f->st.answered, 1);
    CU_ASSERT_EQUAL(f->st.protocol_errors, 0);
    CU_ASSERT_FALSE(cs_h2_conn_marked(f->c));
    CU_ASSERT(cs_h2_conn_memory(f->c) > 0);
    fx_free(f);
}

/* SP and HTAB around a field value are dropped (both browsers read an h2
 * field like an HTTP/1.1 header line: tests/browser shape-acao-*); inner
 * whitespace stays, and a value of whitespace only becomes empty. */
static void test_value_whitespace(void)
{
    static const char *const req[] = {
        ":method", "GET", ":scheme", "https", ":authority", "api.example.com", ":path", "/w",
        "origin", "https://app.example.com", NULL};
    static const char *const resp[] = {
        ":status", "200", "access-control-allow-origin", "  https://app.example.com \t",
        "x-inner", "\ta  b\t", "x-blank", " \t ", NULL};
    struct fx *f = fx_new();
    fx_open(f);
    request(f, 1, req, true);
    response(f, 1, resp, true);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    CU_ASSERT_STRING_EQUAL(f->col.r[0].resp, "access-control-allow-origin: https://app.example.com\n"
                                             "x-inner: a  b\nx-blank: \n");
    CU_ASSERT_FALSE(f->col.r[0].resp_flags & CS_H2_SEC_BAD_FIELD);
    fx_free(f);
}

/* A regular field name with an upper-case letter marks its section (both
 * browsers refuse such a response: app_h2.c); lower-case names, and the
 * request's own section, are left alone. */
static void test_upper_case_name(void)
{
    static const char *const req[] = {
        ":method", "GET", ":scheme", "https", ":authority", "api.example.com", ":path", "/u",
        "origin", "https://app.example.com", NULL};
    static const char *const upper[] = {
        ":status", "200", "content-type", "text/plain",
        "Access-Control-Allow-Origin", "https://app.example.com", NULL};
    struct fx *f = fx_new();
    fx_open(f);
    request(f, 1, req, true);
    response(f, 1, upper, true);
    request(f, 3, req, true);
    response(f, 3, RESP1, true);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 2);
    CU_ASSERT(f->col.r[0].answered);
    CU_ASSERT(f->col.r[0].resp_flags & CS_H2_SEC_BAD_FIELD);
    CU_ASSERT_FALSE(f->col.r[0].req_flags & CS_H2_SEC_BAD_FIELD);
    CU_ASSERT_FALSE(f->col.r[1].resp_flags & CS_H2_SEC_BAD_FIELD);
    fx_free(f);
}

/* The test of every response field (h2_stream.c bad_field): names made of
 * lower-case token characters only (every special one accepted; '@', '[',
 * '{', SP, an upper-case letter, a byte above 0x7f refused, as the
 * browsers do), values without NUL, CR or LF, at the edges of the 8-byte
 * words (first word, tail) and with 0x8d and 0x8a (CR and LF with the
 * high bit) accepted. */
static void test_bad_field_edges(void)
{
    static const struct {
        const char *name, *value;
        bool bad;
    } cases[] = {
        {"x-!#$%&'*+.^_`|~-0123456789abcdefghijklmnopqrstuvwxyz", "v", false},
        {"x-@", "v", true},
        {"x-[", "v", true},
        {"x-{", "v", true},
        {"x junk", "v", true},
        {"x-\xc1", "v", true},
        {"abcdefgZ", "v", true},
        {"abcdefghijK", "v", true},
        {"Zabcdefghijklmnop", "v", true},
        {"x-ok", "abc\x8d\x8a-0123456789", false},
        {"x-ok", "abcdefghij\rk", true},
        {"x-ok", "ab\nc", true},
        {"x-ok", "0123456\n", true},
        {"x-a", "", false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *req[] = {":method", "GET", ":scheme", "https", ":authority", "a.example",
                             ":path", "/e", NULL};
        const char *resp[] = {":status", "200", cases[k].name, cases[k].value, NULL};
        struct fx *f = fx_new();
        fx_open(f);
        request(f, 1, req, true);
        response(f, 1, resp, true);
        CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
        CU_ASSERT_EQUAL(!!(f->col.r[0].resp_flags & CS_H2_SEC_BAD_FIELD), cases[k].bad);
        fx_free(f);
    }
}

/* Every frame type in one conversation: PRIORITY, PING, WINDOW_UPDATE,
 * an unknown type, padded DATA, GOAWAY with debug data; none disturbs the
 * transaction and none is an error. */
static void test_every_frame_type(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    uint8_t prio[5] = {0, 0, 0, 0, 200};
    uint8_t ping[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t wu[4] = {0, 0, 0x10, 0};
    put_frame(&f->b, CS_H2_PRIORITY, 0, 3, prio, 5);
    put_frame(&f->b, CS_H2_PING, 0, 0, ping, 8);
    put_frame(&f->b, CS_H2_WINDOW_UPDATE, 0, 0, wu, 4);
    put_frame(&f->b, 0xfa, 0xff, 7, "whatever", 8); /* §5.5: ignored */
    fx_send(f, CS_DIR_C2S, 0);
    request(f, 1, REQ1, false);
    put_data(&f->b, 1, 100, 7, true);
    fx_send(f, CS_DIR_C2S, 0);
    put_frame(&f->b, CS_H2_PING, CS_H2_FLAG_ACK, 0, ping, 8);
    put_frame(&f->b, CS_H2_WINDOW_UPDATE, 0, 1, wu, 4);
    fx_send(f, CS_DIR_S2C, 0);
    response(f, 1, RESP1, false);
    put_data(&f->b, 1, 5000, 255, false);
    put_data(&f->b, 1, 0, -1, true);
    put_goaway(&f->b, 1, 0, "bye now");
    fx_send(f, CS_DIR_S2C, 0);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_COMPLETE);
    CU_ASSERT_EQUAL(f->col.r[0].status, 200);
    CU_ASSERT_EQUAL(f->st.protocol_errors, 0);
    CU_ASSERT_EQUAL(f->st.goaways, 1);
    /* 4 opening + 4 + HEADERS + DATA + PING + WU + HEADERS + 2 DATA + GOAWAY */
    CU_ASSERT_EQUAL(f->st.frames, 4 + 4 + 2 + 2 + 4);
    fx_free(f);
}

/* HEADERS + CONTINUATIONs, with padding and priority on the HEADERS. */
static void test_continuation_and_padding(void)
{
    for (uint32_t split = 1; split <= 40; split += 3) {
        struct fx *f = fx_new();
        fx_open(f);
        struct hdr_opts o = {.pad = (int)split % 4 == 0 ? -1 : (int)split, .priority = split & 1, .split = split, .end_stream = true};
        put_headers(&f->b, f->cdef, 1, REQ1, &o);
        fx_send(f, CS_DIR_C2S, 0);
        struct hdr_opts so = {.pad = 0, .split = split + 1, .end_stream = true};
        put_headers(&f->b, f->sdef, 1, RESP1, &so);
        fx_send(f, CS_DIR_S2C, 0);
        CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
        CU_ASSERT_STRING_EQUAL(f->col.r[0].req, "origin: https://app.example.com\naccept: */*\n"
                                                "cookie: a=1\ncookie: b=2\nx-dup: one\nx-dup: two\n");
        CU_ASSERT_EQUAL(f->col.r[0].status, 200);
        CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_COMPLETE);
        CU_ASSERT_EQUAL(f->st.protocol_errors, 0);
        CU_ASSERT(f->col.r[0].req_frame_end >= f->col.r[0].req_frame);
        fx_free(f);
    }
}

/* §6.10: another frame inside a header block is a protocol error; the
 * block never ends, so the client side's HPACK state is lost. */
static void test_continuation_interrupted(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    struct hb blk = encode_block(f->cdef, REQ1);
    put_frame(&f->b, CS_H2_HEADERS, 0, 1, blk.p, 5);
    put_frame(&f->b, CS_H2_CONTINUATION, 0, 3, blk.p + 5, 5); /* wrong stream */
    fx_send(f, CS_DIR_C2S, 0);
    CU_ASSERT(f->st.protocol_errors >= 1);
    CU_ASSERT_EQUAL(f->st.hpack_failures, 1);
    CU_ASSERT(cs_h2_conn_marked(f->c));
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_LOST);
    hb_free(&blk);
    /* A CONTINUATION with no open block is an error too, but skippable. */
    struct fx *g = fx_new();
    fx_open(g);
    put_frame(&g->b, CS_H2_CONTINUATION, CS_H2_FLAG_END_HEADERS, 1, "abc", 3);
    fx_send(g, CS_DIR_C2S, 0);
    request(g, 1, REQ1, true);
    response(g, 1, RESP1, true);
    CU_ASSERT_EQUAL(g->st.protocol_errors, 1);
    CU_ASSERT_EQUAL_FATAL(g->col.n, 1);
    CU_ASSERT_EQUAL(g->col.r[0].end, CS_H2_END_COMPLETE);
    fx_free(f);
    fx_free(g);
}

/* Padding longer than the payload (§6.1, §6.2). */
static void test_bad_padding(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    uint8_t p[3] = {9, 'a', 'b'}; /* pad length 9 > 2 bytes left */
    put_frame(&f->b, CS_H2_HEADERS, CS_H2_FLAG_PADDED | CS_H2_FLAG_END_HEADERS, 1, p, 3);
    fx_send(f, CS_DIR_C2S, 0);
    CU_ASSERT_EQUAL(f->st.protocol_errors, 1);
    CU_ASSERT_EQUAL(f->st.hpack_failures, 1);
    /* DATA with bad padding: an error, but the frame is skipped by length. */
    struct fx *g = fx_new();
    fx_open(g);
    request(g, 1, REQ1, false);
    put_frame(&g->b, CS_H2_DATA, CS_H2_FLAG_PADDED | CS_H2_FLAG_END_STREAM, 1, p, 3);
    fx_send(g, CS_DIR_C2S, 0);
    response(g, 1, RESP1, true);
    CU_ASSERT_EQUAL(g->st.protocol_errors, 1);
    CU_ASSERT_EQUAL_FATAL(g->col.n, 1);
    CU_ASSERT_EQUAL(g->col.r[0].end, CS_H2_END_COMPLETE);
    fx_free(f);
    fx_free(g);
}

/* The whole client stream and the whole server stream of a conversation
 * (several streams, CONTINUATION, padding), cut into two pieces at every
 * byte, and also fed a byte at a time: the transactions never change. */
static void build_conversation(struct hb *c2s, struct hb *s2c)
{
    nghttp2_hd_deflater *cd, *sd;
    nghttp2_hd_deflate_new(&cd, 4096);
    nghttp2_hd_deflate_new(&sd, 4096);
    put_preface(c2s);
    put_settings(c2s, false, NULL, 0);
    put_settings(s2c, false, NULL, 0);
    put_settings(s2c, true, NULL, 0);
    /* (the client's ACK of the server's SETTINGS is left out: this stream
     * is fed all client bytes first, and an ACK before the SETTINGS it
     * acknowledges would be a protocol error) */
    struct hdr_opts o1 = {.pad = 3, .priority = true, .split = 17};
    put_headers(c2s, cd, 1, REQ1, &o1);
    put_data(c2s, 1, 20, 2, true);
    static const char *const req3[] = {":method", "OPTIONS", ":scheme", "https", ":authority",
                                       "api.example.com", ":path", "/p",
                                       "access-control-request-method", "PUT", "origin",
                                       "https://app.example.com", NULL};
    struct hdr_opts o3 = {.pad = -1, .end_stream = true};
    put_headers(c2s, cd, 3, req3, &o3);
    static const char *const resp3[] = {":status", "204", "access-control-allow-methods", "PUT",
                                        NULL};
    put_headers(s2c, sd, 3, resp3, &o3);
    struct hdr_opts so = {.pad = 0, .split = 9};
    put_headers(s2c, sd, 1, RESP1, &so);
    put_data(s2c, 1, 30, -1, true);
    nghttp2_hd_deflate_del(cd);
    nghttp2_hd_deflate_del(sd);
}

static char *summary(const struct collector *col)
{
    struct hb b = {0};
    hb_put(&b, "", 0);
    for (int i = 0; i < col->n; i++) {
        const struct rec *r = &col->r[i];
        hb_fmt(&b, "#%u end=%d st=%d\n%s%s--\n%s", r->stream_id, (int)r->end, r->status,
               r->pseudo, r->req, r->resp);
    }
    return (char *)b.p;
}

static char *run_split(const struct hb *c2s, const struct hb *s2c, size_t cut_c, size_t cut_s,
                       size_t piece, struct cs_h2_stats *st)
{
    struct cs_h2_limits lim;
    struct collector *col = calloc(1, sizeof *col);
    cs_h2_limits_default(&lim, NULL);
    memset(st, 0, sizeof *st);
    struct cs_h2_conn *c = cs_h2_conn_new(&lim, st, on_txn, col);
    uint64_t frame = 0;
    feed(c, CS_DIR_C2S, c2s->p, cut_c, piece, &frame);
    feed(c, CS_DIR_C2S, c2s->p + cut_c, c2s->len - cut_c, piece, &frame);
    feed(c, CS_DIR_S2C, s2c->p, cut_s, piece, &frame);
    feed(c, CS_DIR_S2C, s2c->p + cut_s, s2c->len - cut_s, piece, &frame);
    cs_h2_conn_finish(c, CS_H2_END_UNANSWERED, ++frame, 0);
    char *s = summary(col);
    collector_free(col);
    free(col);
    return s;
}

static void test_split_at_every_byte(void)
{
    struct hb c2s = {0}, s2c = {0};
    build_conversation(&c2s, &s2c);
    struct cs_h2_stats st;
    char *ref = run_split(&c2s, &s2c, 0, 0, 0, &st);
    CU_ASSERT_EQUAL(st.transactions, 2);
    CU_ASSERT_EQUAL(st.answered, 2);
    CU_ASSERT_EQUAL(st.protocol_errors, 0);
    CU_ASSERT(strstr(ref, "#3 end=0 st=204\n:method OPTIONS") != NULL);
    size_t max = c2s.len > s2c.len ? c2s.len : s2c.len;
    int bad = 0;
    for (size_t k = 0; k <= max; k++) {
        char *s = run_split(&c2s, &s2c, k < c2s.len ? k : c2s.len, k < s2c.len ? k : s2c.len, 0,
                            &st);
        if (strcmp(s, ref) != 0 || st.held_bytes != 0)
            bad++;
        free(s);
    }
    CU_ASSERT_EQUAL(bad, 0);
    for (size_t piece = 1; piece <= 3; piece++) {
        char *s = run_split(&c2s, &s2c, 0, 0, piece, &st);
        CU_ASSERT_STRING_EQUAL(s, ref);
        free(s);
    }
    free(ref);
    hb_free(&c2s);
    hb_free(&s2c);
}

/* Requests on streams 1, 3, 5 open together; responses in another order,
 * DATA interleaved: each stream gets its own fields. */
static void test_interleaved_streams(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    static const char *const r1[] = {":method", "GET", ":scheme", "https", ":authority", "a",
                                     ":path", "/one", "x-n", "1", NULL};
    static const char *const r3[] = {":method", "POST", ":scheme", "https", ":authority", "a",
                                     ":path", "/three", "x-n", "3", NULL};
    static const char *const r5[] = {":method", "GET", ":scheme", "https", ":authority", "a",
                                     ":path", "/five", "x-n", "5", NULL};
    static const char *const s1[] = {":status", "201", "x-r", "1", NULL};
    static const char *const s3[] = {":status", "403", "x-r", "3", NULL};
    static const char *const s5[] = {":status", "500", "x-r", "5", NULL};
    request(f, 1, r1, true);
    request(f, 3, r3, false);
    request(f, 5, r5, true);
    response(f, 3, s3, false);
    put_data(&f->b, 3, 10, -1, false);
    fx_send(f, CS_DIR_S2C, 0);
    response(f, 5, s5, false);
    response(f, 1, s1, false);
    put_data(&f->b, 5, 10, -1, true);
    put_data(&f->b, 1, 10, -1, true);
    put_data(&f->b, 3, 10, -1, true);
    fx_send(f, CS_DIR_S2C, 0);
    CU_ASSERT_EQUAL(f->col.n, 2); /* stream 3's client side is still open */
    put_data(&f->b, 3, 10, -1, true);
    fx_send(f, CS_DIR_C2S, 0);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 3);
    const struct rec *a = rec_for(&f->col, 1), *b = rec_for(&f->col, 3), *c = rec_for(&f->col, 5);
    CU_ASSERT_FATAL(a && b && c);
    CU_ASSERT(strstr(a->pseudo, ":path /one") && strcmp(a->req, "x-n: 1\n") == 0);
    CU_ASSERT(strstr(b->pseudo, ":method POST") && strcmp(b->req, "x-n: 3\n") == 0);
    CU_ASSERT(strstr(c->pseudo, ":path /five") && strcmp(c->req, "x-n: 5\n") == 0);
    CU_ASSERT(a->status == 201 && b->status == 403 && c->status == 500);
    CU_ASSERT_STRING_EQUAL(b->resp, "x-r: 3\n");
    CU_ASSERT(a->resp_frame > b->resp_frame);
    fx_free(f);
}

/* §4.2: a frame longer than SETTINGS_MAX_FRAME_SIZE is counted and marks
 * the connection; once the peer announced (and had acknowledged) a larger
 * size, the same frame is fine. */
static void test_oversized_frame(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    request(f, 1, REQ1, true);
    response(f, 1, RESP1, false);
    put_data(&f->b, 1, 16385, -1, true);
    fx_send(f, CS_DIR_S2C, 1460);
    CU_ASSERT_EQUAL(f->st.oversized_frames, 1);
    CU_ASSERT(f->st.protocol_errors >= 1);
    CU_ASSERT(cs_h2_conn_marked(f->c));
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_COMPLETE);
    fx_free(f);

    f = fx_new();
    put_preface(&f->b);
    uint32_t s[] = {CS_H2_SETTINGS_MAX_FRAME_SIZE, 32768};
    put_settings(&f->b, false, s, 1);
    fx_send(f, CS_DIR_C2S, 0);
    put_settings(&f->b, false, NULL, 0);
    put_settings(&f->b, true, NULL, 0);
    fx_send(f, CS_DIR_S2C, 0);
    put_settings(&f->b, true, NULL, 0);
    fx_send(f, CS_DIR_C2S, 0);
    request(f, 1, REQ1, true);
    response(f, 1, RESP1, false);
    put_data(&f->b, 1, 20000, -1, true);
    fx_send(f, CS_DIR_S2C, 1460);
    CU_ASSERT_EQUAL(f->st.oversized_frames, 0);
    CU_ASSERT_EQUAL(f->st.protocol_errors, 0);
    /* The client may still not send more than 16384 (the server said nothing). */
    put_data(&f->b, 3, 16385, -1, false);
    fx_send(f, CS_DIR_C2S, 0);
    CU_ASSERT_EQUAL(f->st.oversized_frames, 1);
    fx_free(f);
}

/* §5.1: HEADERS on a stream that is over is a protocol error; its block is
 * still decoded, so the dynamic table stays right for the next stream. */
static void test_headers_on_closed_stream(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    request(f, 3, REQ1, true);
    response(f, 3, RESP1, true);
    CU_ASSERT_EQUAL(f->col.n, 1);
    static const char *const late[] = {":method", "GET", ":scheme", "https", ":authority",
                                       "other.example", ":path", "/late", "x-new-name",
                                       "new-value-indexed", NULL};
    request(f, 3, late, true); /* closed */
    request(f, 1, late, true); /* lower id than one already used: closed too */
    CU_ASSERT_EQUAL(f->st.closed_stream_frames, 2);
    CU_ASSERT_EQUAL(f->st.protocol_errors, 2);
    CU_ASSERT_EQUAL(f->col.n, 1);
    /* The same fields again: now encoded as dynamic table references. */
    request(f, 5, late, true);
    response(f, 5, RESP1, true);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 2);
    CU_ASSERT_EQUAL(f->col.r[1].stream_id, 5);
    CU_ASSERT_STRING_EQUAL(f->col.r[1].req, "x-new-name: new-value-indexed\n");
    CU_ASSERT(strstr(f->col.r[1].pseudo, ":authority other.example") != NULL);
    CU_ASSERT_EQUAL(f->st.hpack_failures, 0);
    fx_free(f);
}

/* RST_STREAM before the response: the "no response" case. */
static void test_rst_before_response(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    request(f, 1, REQ1, true);
    request(f, 3, REQ1, true);
    put_rst(&f->b, 1, 0x8); /* CANCEL, by the client */
    fx_send(f, CS_DIR_C2S, 0);
    put_rst(&f->b, 3, 0x7); /* REFUSED_STREAM, by the server */
    fx_send(f, CS_DIR_S2C, 0);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 2);
    const struct rec *a = rec_for(&f->col, 1), *b = rec_for(&f->col, 3);
    CU_ASSERT_FATAL(a && b);
    CU_ASSERT_EQUAL(a->end, CS_H2_END_RESET);
    CU_ASSERT_EQUAL(a->rst_by, CS_DIR_C2S);
    CU_ASSERT_EQUAL(a->rst_error, 8);
    CU_ASSERT_FALSE(a->answered);
    CU_ASSERT_EQUAL(b->end, CS_H2_END_RESET);
    CU_ASSERT_EQUAL(b->rst_by, CS_DIR_S2C);
    CU_ASSERT_EQUAL(b->rst_error, 7);
    CU_ASSERT_EQUAL(f->st.resets, 2);
    /* A late response on the reset stream is decoded and dropped. */
    response(f, 1, RESP1, true);
    CU_ASSERT_EQUAL(f->st.closed_stream_frames, 1);
    CU_ASSERT_EQUAL(f->col.n, 2);
    /* RST_STREAM on an idle stream is a protocol error (§6.4). */
    put_rst(&f->b, 99, 0);
    fx_send(f, CS_DIR_C2S, 0);
    CU_ASSERT_EQUAL(f->st.protocol_errors, 1);
    fx_free(f);
}

/* §6.8: streams above the GOAWAY's last-stream-id were never processed;
 * those below go on.  TCP FIN and RST end what is left. */
static void test_goaway_and_close(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    request(f, 1, REQ1, true);
    request(f, 3, REQ1, true);
    request(f, 5, REQ1, true);
    put_goaway(&f->b, 1, 0, NULL);
    fx_send(f, CS_DIR_S2C, 0);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 2);
    CU_ASSERT_EQUAL(f->col.r[0].stream_id, 3);
    CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_GOAWAY);
    CU_ASSERT_EQUAL(f->col.r[1].stream_id, 5);
    CU_ASSERT_EQUAL(f->st.goaway_refused, 2);
    response(f, 1, RESP1, true);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 3);
    CU_ASSERT_EQUAL(f->col.r[2].end, CS_H2_END_COMPLETE);
    fx_free(f);

    /* The server closes with a request outstanding: CLOSED; a TCP reset:
     * CONN_RESET; the end of input: UNANSWERED. */
    enum cs_h2_end want[3] = {CS_H2_END_CLOSED, CS_H2_END_CONN_RESET, CS_H2_END_UNANSWERED};
    for (int k = 0; k < 3; k++) {
        f = fx_new();
        fx_open(f);
        request(f, 1, REQ1, true);
        if (k == 0)
            feed_event(f->c, CS_DIR_S2C, CS_STREAM_FIN, 0, &f->frame);
        if (k == 1)
            feed_event(f->c, CS_DIR_C2S, CS_STREAM_RST, 0, &f->frame);
        if (k == 2) {
            cs_h2_conn_finish(f->c, CS_H2_END_UNANSWERED, ++f->frame, 0);
            f->c = NULL;
        }
        CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
        CU_ASSERT_EQUAL(f->col.r[0].end, want[k]);
        CU_ASSERT_FALSE(f->col.r[0].answered);
        CU_ASSERT_EQUAL(f->col.r[0].end_frame, f->frame);
        fx_free(f);
    }
}

/* SETTINGS_HEADER_TABLE_SIZE: the client's value takes effect on the
 * server's blocks when the server acknowledges it (RFC 9113 §6.5.3); the
 * encoder then says so inside its next block (RFC 7541 §6.3). */
static void table_size_case(uint32_t announced, uint32_t encoder_uses, bool ack,
                            uint64_t want_hpack_failures)
{
    struct fx *f = fx_new();
    put_preface(&f->b);
    uint32_t s[] = {CS_H2_SETTINGS_HEADER_TABLE_SIZE, announced};
    put_settings(&f->b, false, s, 1);
    fx_send(f, CS_DIR_C2S, 0);
    put_settings(&f->b, false, NULL, 0);
    if (ack)
        put_settings(&f->b, true, NULL, 0);
    fx_send(f, CS_DIR_S2C, 0);
    nghttp2_hd_deflate_del(f->sdef);
    nghttp2_hd_deflate_new(&f->sdef, 65536); /* an encoder that may go above 4096 */
    nghttp2_hd_deflate_change_table_size(f->sdef, encoder_uses);
    request(f, 1, REQ1, true);
    response(f, 1, RESP1, true);
    CU_ASSERT_EQUAL(f->st.hpack_failures, want_hpack_failures);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    CU_ASSERT_EQUAL(f->col.r[0].end, want_hpack_failures ? CS_H2_END_LOST : CS_H2_END_COMPLETE);
    if (!want_hpack_failures)
        CU_ASSERT_STRING_EQUAL(f->col.r[0].resp,
                               "access-control-allow-origin: https://app.example.com\n"
                               "access-control-allow-origin: *\nvary: Origin\n");
    fx_free(f);
}

static void test_header_table_size(void)
{
    table_size_case(8192, 8192, true, 0);  /* larger table, acknowledged: allowed */
    table_size_case(8192, 8192, false, 1); /* not acknowledged yet: still 4096 */
    table_size_case(0, 0, true, 0);        /* no dynamic table at all */
    table_size_case(4096, 8192, true, 1);  /* encoder beyond what was announced */
}

/* §6.5.3 negative case: the table shrank by an acknowledged SETTINGS, but
 * the encoder does not say so in its next block (RFC 7541 §4.2 requires
 * the update): an HPACK error, nothing guessed. */
static void test_header_table_shrink_without_update(void)
{
    struct fx *f = fx_new();
    put_preface(&f->b);
    uint32_t s[] = {CS_H2_SETTINGS_HEADER_TABLE_SIZE, 0};
    put_settings(&f->b, false, s, 1);
    fx_send(f, CS_DIR_C2S, 0);
    put_settings(&f->b, false, NULL, 0);
    put_settings(&f->b, true, NULL, 0);
    fx_send(f, CS_DIR_S2C, 0);
    request(f, 1, REQ1, true);
    response(f, 1, RESP1, true); /* sdef still at 4096, no size update */
    CU_ASSERT_EQUAL(f->st.hpack_failures, 1);
    CU_ASSERT_EQUAL(f->st.hpack_errors, 1);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_LOST);
    fx_free(f);
}

/* §6.5.3: SETTINGS outstanding.  One waiting for its ACK sits in its
 * direction (the usual case, kept for the connection's life when the ACK
 * is not captured: no allocation); a second allocates an array of
 * H2_PENDING_SETTINGS, more are merged into the newest; ACKs take them
 * oldest first and the last one goes back into the direction.  held_bytes
 * follows exactly, and the values that take effect are the last ones
 * sent. */
static void test_settings_outstanding(void)
{
    struct fx *f = fx_new();
    const uint64_t array = 8 * sizeof(struct h2_pending);
    CU_ASSERT_EQUAL(sizeof(struct h2_pending), 8);
    uint64_t h0 = f->st.held_bytes;
    put_preface(&f->b);
    for (uint32_t i = 1; i <= 10; i++) {
        uint32_t s[] = {CS_H2_SETTINGS_MAX_FRAME_SIZE, 16384 + i};
        put_settings(&f->b, false, s, 1);
        fx_send(f, CS_DIR_C2S, 0);
        CU_ASSERT_EQUAL(f->st.held_bytes, h0 + (i == 1 ? 0 : array));
    }
    put_settings(&f->b, false, NULL, 0); /* the server's own: in its direction */
    fx_send(f, CS_DIR_S2C, 0);
    CU_ASSERT_EQUAL(f->st.held_bytes, h0 + array);
    for (uint32_t acked = 1; acked <= 8; acked++) {
        put_settings(&f->b, true, NULL, 0);
        fx_send(f, CS_DIR_S2C, 0);
        uint32_t left = 8 - acked; /* the client's */
        CU_ASSERT_EQUAL(f->st.held_bytes, h0 + (left > 1 ? array : 0));
        CU_ASSERT_EQUAL(f->c->d[CS_DIR_C2S].n_pending, left);
    }
    put_settings(&f->b, true, NULL, 0);
    fx_send(f, CS_DIR_C2S, 0);
    CU_ASSERT_EQUAL(f->st.held_bytes, h0);
    CU_ASSERT_EQUAL(f->c->d[CS_DIR_S2C].n_pending, 0);
    /* the last value sent (16394, merged into the eighth) is in effect: a
     * frame of 16394 bytes from the server is not oversized */
    request(f, 1, REQ1, true);
    response(f, 1, RESP1, false);
    put_data(&f->b, 1, 16394, -1, true);
    fx_send(f, CS_DIR_S2C, 1460);
    CU_ASSERT_EQUAL(f->st.oversized_frames, 0);
    CU_ASSERT_EQUAL(f->st.protocol_errors, 0);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_COMPLETE);
    fx_free(f);
}

/* Gaps: inside DATA nothing is lost; inside or before a header block the
 * direction's HPACK state is lost for good and the streams it touches end
 * LOST, while the other direction carries on. */
static void test_gaps(void)
{
    /* Inside a DATA payload: skipped. */
    struct fx *f = fx_new();
    fx_open(f);
    request(f, 1, REQ1, false);
    put_data(&f->b, 1, 1000, -1, true);
    f->b.len -= 900; /* 100 of the payload's 1000 bytes are sent... */
    fx_send(f, CS_DIR_C2S, 0);
    feed_event(f->c, CS_DIR_C2S, CS_STREAM_GAP, 800, &f->frame); /* ...800 lost... */
    put_data(&f->b, 1, 100, -1, false);
    memmove(f->b.p, f->b.p + 9, 100);
    f->b.len = 100; /* ...and the last 100 arrive */
    fx_send(f, CS_DIR_C2S, 0);
    request(f, 3, REQ1, true);
    response(f, 1, RESP1, true);
    response(f, 3, RESP1, true);
    CU_ASSERT_EQUAL(f->st.gaps_skipped, 1);
    CU_ASSERT_EQUAL(f->st.hpack_failures, 0);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 2);
    CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_COMPLETE);
    CU_ASSERT_EQUAL(f->col.r[1].end, CS_H2_END_COMPLETE);
    fx_free(f);

    /* Inside a response header block. */
    f = fx_new();
    fx_open(f);
    request(f, 1, REQ1, true);
    request(f, 3, REQ1, true);
    struct hdr_opts o = {.pad = -1, .end_stream = true};
    put_headers(&f->b, f->sdef, 1, RESP1, &o);
    f->b.len = 12; /* header + 3 bytes of the block */
    fx_send(f, CS_DIR_S2C, 0);
    feed_event(f->c, CS_DIR_S2C, CS_STREAM_GAP, 20, &f->frame);
    CU_ASSERT_EQUAL(f->st.hpack_failures, 1);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 2); /* both waiting streams: LOST at once */
    CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_LOST);
    CU_ASSERT_EQUAL(f->col.r[1].end, CS_H2_END_LOST);
    CU_ASSERT(f->col.r[0].resp_flags & CS_H2_SEC_PARTIAL); /* stream 1's block was cut */
    CU_ASSERT_STRING_EQUAL(f->col.r[0].resp, "");          /* and is not shown as a response */
    CU_ASSERT_FALSE(f->col.r[1].resp_flags & CS_H2_SEC_PARTIAL);
    /* Requests still decode; their responses cannot be seen: LOST too. */
    request(f, 5, REQ1, true);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 3);
    CU_ASSERT_EQUAL(f->col.r[2].end, CS_H2_END_LOST);
    CU_ASSERT(strstr(f->col.r[2].pseudo, ":path /data?x=1") != NULL);
    CU_ASSERT_EQUAL(f->st.lost_streams, 3);
    fx_free(f);

    /* Before a request header block (between frames): the client side is
     * lost; the response of the request already seen still counts. */
    f = fx_new();
    fx_open(f);
    request(f, 1, REQ1, true);
    feed_event(f->c, CS_DIR_C2S, CS_STREAM_GAP, 50, &f->frame);
    request(f, 3, REQ1, true); /* never decoded: framing lost */
    response(f, 1, RESP1, true);
    response(f, 3, RESP1, true);
    CU_ASSERT_EQUAL(f->st.hpack_failures, 1);
    CU_ASSERT_EQUAL(f->st.orphan_responses, 1);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    CU_ASSERT_EQUAL(f->col.r[0].stream_id, 1);
    CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_COMPLETE);
    CU_ASSERT_EQUAL(f->col.r[0].status, 200);
    fx_free(f);
}

/* PUSH_PROMISE: counted, decoded for the dynamic table, never reported;
 * the pushed stream's response neither. */
static void test_push_promise(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    request(f, 1, REQ1, true);
    static const char *const pushed[] = {":method", "GET", ":scheme", "https", ":authority",
                                         "api.example.com", ":path", "/style.css",
                                         "x-pushed-field", "pv", NULL};
    struct hdr_opts o = {.pad = 2, .type = CS_H2_PUSH_PROMISE, .promised = 2, .split = 7};
    put_headers(&f->b, f->sdef, 1, pushed, &o);
    fx_send(f, CS_DIR_S2C, 0);
    response(f, 2, RESP1, true);
    static const char *const resp[] = {":status", "200", "x-pushed-field", "pv", NULL};
    response(f, 1, resp, true); /* uses the table entry the push added */
    CU_ASSERT_EQUAL(f->st.pushes, 1);
    CU_ASSERT_EQUAL(f->st.protocol_errors, 0);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    CU_ASSERT_EQUAL(f->col.r[0].stream_id, 1);
    CU_ASSERT_STRING_EQUAL(f->col.r[0].resp, "x-pushed-field: pv\n");
    /* A client may not push. */
    put_headers(&f->b, f->cdef, 3, pushed, &o);
    fx_send(f, CS_DIR_C2S, 0);
    CU_ASSERT_EQUAL(f->st.protocol_errors, 1);
    CU_ASSERT_EQUAL(f->st.pushes, 1);
    fx_free(f);
}

/* 1xx informational HEADERS before the final one; trailers both ways. */
static void test_interim_and_trailers(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    request(f, 1, REQ1, false);
    put_data(&f->b, 1, 10, -1, false);
    fx_send(f, CS_DIR_C2S, 0);
    static const char *const rt[] = {"x-checksum", "abc", NULL};
    request(f, 1, rt, true);
    static const char *const early[] = {":status", "103", "link", "</s.css>; rel=preload", NULL};
    response(f, 1, early, false);
    uint64_t interim = f->frame;
    static const char *const cont[] = {":status", "100", NULL};
    response(f, 1, cont, false);
    response(f, 1, RESP1, false);
    put_data(&f->b, 1, 10, -1, false);
    fx_send(f, CS_DIR_S2C, 0);
    static const char *const st[] = {"grpc-status", "0", NULL};
    response(f, 1, st, true);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    const struct rec *r = &f->col.r[0];
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_EQUAL(r->interim_status, 100);
    CU_ASSERT_EQUAL(r->n_interim, 2);
    CU_ASSERT_EQUAL(r->interim_frame, interim);
    CU_ASSERT_EQUAL(r->resp_frame, interim + 2);
    CU_ASSERT_STRING_EQUAL(r->resp, "access-control-allow-origin: https://app.example.com\n"
                                    "access-control-allow-origin: *\nvary: Origin\n");
    CU_ASSERT_STRING_EQUAL(r->req_trailers, "x-checksum: abc\n");
    CU_ASSERT_STRING_EQUAL(r->resp_trailers, "grpc-status: 0\n");
    CU_ASSERT_EQUAL(r->end, CS_H2_END_COMPLETE);
    fx_free(f);
}

/* Limits: a full stream table evicts the oldest stream (reported), and a
 * section over max_header_lines is cut (flagged) without losing HPACK. */
static void test_limits(void)
{
    struct fx *f = fx_new();
    cs_h2_conn_finish(f->c, CS_H2_END_CLOSED, 0, 0); /* again with these limits (copied) */
    f->st = (struct cs_h2_stats){0};
    f->lim.max_streams = 2;
    f->lim.max_header_lines = 3;
    f->c = cs_h2_conn_new(&f->lim, &f->st, on_txn, &f->col);
    fx_open(f);
    request(f, 1, REQ1, true);
    request(f, 3, REQ1, true);
    request(f, 5, REQ1, true);
    CU_ASSERT_EQUAL(f->st.stream_cap_hits, 1);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    CU_ASSERT_EQUAL(f->col.r[0].stream_id, 1);
    CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_EVICTED);
    response(f, 5, RESP1, true);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 2);
    const struct rec *r = &f->col.r[1];
    CU_ASSERT(r->req_flags & CS_H2_SEC_CUT);
    CU_ASSERT_STRING_EQUAL(r->pseudo, ":method GET\n:scheme https\n:authority api.example.com\n");
    CU_ASSERT_EQUAL(r->status, 200); /* :status + 2 fields fit; vary is cut */
    CU_ASSERT(r->resp_flags & CS_H2_SEC_CUT);
    CU_ASSERT(f->st.field_cap_hits >= 2);
    fx_free(f);
}

/* A client that does not open with the preface. */
static void test_bad_preface(void)
{
    struct fx *f = fx_new();
    hb_str(&f->b, "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n");
    fx_send(f, CS_DIR_C2S, 0);
    request(f, 1, REQ1, true);
    CU_ASSERT_EQUAL(f->st.bad_preface, 1);
    CU_ASSERT_EQUAL(f->st.hpack_failures, 1);
    CU_ASSERT_EQUAL(f->col.n, 0);
    /* A server whose first frame is not SETTINGS (§3.4). */
    struct fx *g = fx_new();
    put_preface(&g->b);
    fx_send(g, CS_DIR_C2S, 0);
    uint8_t ping[8] = {0};
    put_frame(&g->b, CS_H2_PING, 0, 0, ping, 8);
    fx_send(g, CS_DIR_S2C, 0);
    CU_ASSERT_EQUAL(g->st.protocol_errors, 1);
    fx_free(f);
    fx_free(g);
}

/* Malformed fixed-size frames: counted, skipped by length. */
static void test_bad_lengths(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    put_frame(&f->b, CS_H2_RST_STREAM, 0, 1, "abc", 3);
    put_frame(&f->b, CS_H2_PING, 0, 0, "abc", 3);
    put_frame(&f->b, CS_H2_WINDOW_UPDATE, 0, 0, "abcde", 5);
    put_frame(&f->b, CS_H2_PRIORITY, 0, 1, "abc", 3);
    put_frame(&f->b, CS_H2_SETTINGS, 0, 0, "abcde", 5);
    put_frame(&f->b, CS_H2_GOAWAY, 0, 0, "abc", 3);
    put_frame(&f->b, CS_H2_DATA, 0, 0, "abc", 3); /* stream 0 */
    fx_send(f, CS_DIR_C2S, 0);
    request(f, 1, REQ1, true);
    response(f, 1, RESP1, true);
    CU_ASSERT_EQUAL(f->st.protocol_errors, 7);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 1);
    CU_ASSERT_EQUAL(f->col.r[0].end, CS_H2_END_COMPLETE);
    fx_free(f);
}

/* Memory: the inflaters' tables are counted and everything is given back. */
/* A direction between header blocks keeps its table as the block that
 * rebuilds it (h2_hpack.c): far less than a live inflater, which holds
 * ~1.3 KB before any entry; the next blocks, which refer to the tables'
 * entries by index (the deflaters now index them), decode the same. */
static void test_parked_tables(void)
{
    struct fx *f = fx_new();
    size_t fresh = cs_h2_conn_memory(f->c);
    CU_ASSERT(f->c->d[0].inf == NULL && f->c->d[1].inf == NULL); /* none before a block */
    fx_open(f);
    request(f, 1, REQ1, false);
    CU_ASSERT(f->c->d[CS_DIR_C2S].inf == NULL && f->c->d[CS_DIR_C2S].parked != NULL);
    response(f, 1, RESP1, true);
    put_data(&f->b, 1, 0, -1, true);
    fx_send(f, CS_DIR_C2S, 0);
    CU_ASSERT(f->c->d[CS_DIR_S2C].inf == NULL && f->c->d[CS_DIR_S2C].parked != NULL);
    size_t idle = cs_h2_conn_memory(f->c);
    CU_ASSERT(idle > fresh);
    CU_ASSERT(idle < fresh + 1024); /* both tables: ~300 bytes of fields */
    for (uint32_t id = 3; id <= 9; id += 2) {
        request(f, id, REQ1, true);
        response(f, id, RESP1, true);
    }
    CU_ASSERT_EQUAL_FATAL(f->col.n, 5);
    for (int i = 1; i < 5; i++) {
        CU_ASSERT_EQUAL(f->col.r[i].end, CS_H2_END_COMPLETE);
        CU_ASSERT_STRING_EQUAL(f->col.r[i].pseudo, f->col.r[0].pseudo);
        CU_ASSERT_STRING_EQUAL(f->col.r[i].req, f->col.r[0].req);
        CU_ASSERT_STRING_EQUAL(f->col.r[i].resp, f->col.r[0].resp);
    }
    CU_ASSERT_EQUAL(f->st.hpack_failures, 0);
    fx_free(f);
}

/* A parked entry whose name nghttp2 shares with a static entry or with an
 * older entry gives that name as an index (h2_hpack.c, name_index): the
 * rebuilt tables still decode blocks that refer to every entry. */
static void test_parked_names(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    const char *r1[] = {":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/1",
                        "x-custom", "one", "user-agent", "ua-1", NULL};
    const char *r2[] = {":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/2",
                        "x-custom", "two", "user-agent", "ua-2", NULL};
    const char *r3[] = {":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/1",
                        "x-custom", "two", "x-custom", "one", "user-agent", "ua-1",
                        "user-agent", "ua-2", NULL};
    request(f, 1, r1, true);
    response(f, 1, RESP1, true);
    request(f, 3, r2, true);
    response(f, 3, RESP1, true);
    const struct h2_dir *d = &f->c->d[CS_DIR_C2S];
    CU_ASSERT_FATAL(d->inf == NULL && d->parked != NULL);
    /* x-custom written once (the second entry refers to the first), and
     * user-agent and :path (static names) never */
    size_t n_custom = 0;
    for (const unsigned char *p = d->parked; p + 8 <= d->parked + d->parked_len; p++)
        n_custom += memcmp(p, "x-custom", 8) == 0;
    CU_ASSERT_EQUAL(n_custom, 1);
    CU_ASSERT_PTR_NULL(memmem(d->parked, d->parked_len, "user-agent", 10));
    CU_ASSERT_PTR_NULL(memmem(d->parked, d->parked_len, ":path", 5));
    request(f, 5, r3, true);
    response(f, 5, RESP1, true);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 3);
    CU_ASSERT_STRING_EQUAL(f->col.r[2].req,
                           "x-custom: two\nx-custom: one\nuser-agent: ua-1\nuser-agent: ua-2\n");
    CU_ASSERT_EQUAL(f->st.hpack_failures, 0);
    fx_free(f);
}

/* A parked table is written again from the old parked block's bytes for
 * the entries still there plus the block's new ones (h2_hpack.c,
 * park_incremental), or whole when a kept entry names an evicted one:
 * with long values the 4 KB tables evict on every request and response,
 * one request in four has fields named like an older entry ("x-chain"),
 * the others their own names, and every block still decodes. */
static void test_parked_evictions(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    static char vals[6][700];
    char path[16], name[2][16], want[4096];
    for (uint32_t n = 0; n < 24; n++) {
        uint32_t id = 2 * n + 1;
        for (int v = 0; v < 6; v++) {
            size_t len = 80 + (size_t)((n * 7 + (uint32_t)v * 13) % 9) * 70;
            memset(vals[v], 'a' + (int)((n + (uint32_t)v) % 26), len);
            vals[v][len] = '\0';
        }
        snprintf(path, sizeof path, "/%u", n);
        for (int k = 0; k < 2; k++)
            snprintf(name[k], sizeof name[k], n % 4 ? "x-%c%u" : "x-chain", 'a' + k, n);
        const char *req[] = {":method", "GET", ":scheme", "https", ":authority", "a",
                             ":path", path, name[0], vals[0], name[1], vals[1],
                             "user-agent", vals[2], NULL};
        const char *resp[] = {":status", "200", "etag", vals[3], name[0], vals[4],
                              name[0], vals[5], NULL};
        request(f, id, req, true);
        response(f, id, resp, true);
        CU_ASSERT_EQUAL_FATAL(f->col.n, n + 1);
        snprintf(want, sizeof want, "%s: %s\n%s: %s\nuser-agent: %s\n", name[0], vals[0],
                 name[1], vals[1], vals[2]);
        CU_ASSERT_STRING_EQUAL(f->col.r[n].req, want);
        snprintf(want, sizeof want, "etag: %s\n%s: %s\n%s: %s\n", vals[3], name[0], vals[4],
                 name[0], vals[5]);
        CU_ASSERT_STRING_EQUAL(f->col.r[n].resp, want);
        CU_ASSERT_EQUAL(f->col.r[n].end, CS_H2_END_COMPLETE);
        CU_ASSERT(f->c->d[CS_DIR_C2S].parked != NULL && f->c->d[CS_DIR_S2C].parked != NULL);
    }
    CU_ASSERT_EQUAL(f->st.hpack_failures, 0);
    fx_free(f);
}

/* Round n of a traffic whose names refer to older entries (as in
 * test_parked_evictions): one request and its response, values of about
 * `scale` bytes (60 and more: the 4 KB tables evict). */
static void exchange_round(struct fx *f, uint32_t n, size_t scale)
{
    static char vals[6][700];
    char path[16], name[2][16];
    for (int v = 0; v < 6; v++) {
        size_t len = 4 + (size_t)((n * 7 + (uint32_t)v * 13) % 9) * scale;
        memset(vals[v], 'a' + (int)((n + (uint32_t)v) % 26), len);
        vals[v][len] = '\0';
    }
    snprintf(path, sizeof path, "/%u", n % 3);
    for (int k = 0; k < 2; k++)
        snprintf(name[k], sizeof name[k], n % 4 ? "x-%c%u" : "x-chain", 'a' + k, n % 5);
    const char *req[] = {":method", "GET", ":scheme", "https", ":authority", "a",
                         ":path", path, name[0], vals[0], name[1], vals[1],
                         "user-agent", vals[2 + n % 2], NULL};
    const char *resp[] = {":status", "200", "etag", vals[3], name[0], vals[4],
                          name[0], vals[5 - n % 3], NULL};
    request(f, 2 * n + 1, req, true);
    response(f, 2 * n + 1, resp, true);
}

/* Direction dir's inflater is live between blocks: in the cache. */
static bool live_idle(const struct fx *f, int dir)
{
    return f->c->d[dir].inf != NULL && f->c->d[dir].blk == BLK_NONE;
}

static bool both_parked(const struct fx *f)
{
    return f->c->d[CS_DIR_C2S].inf == NULL && f->c->d[CS_DIR_S2C].inf == NULL;
}

/* Idle inflaters kept live in a cache (struct cs_h2_cache) decode the
 * very same fields as directions parked and rebuilt after every block:
 * connection `kept` keeps its directions live, `parked` has no cache, and
 * `other`, sharing kept's cache of two, now and then pushes kept's
 * directions out (parked after several blocks while live: the incremental
 * park then adds all they added since the rebuild), and is finished while
 * its own are in the cache.  With small values (scale 4) kept's
 * inflaters stay live for several blocks, also when the encoders' 400-byte
 * tables evict at every block (the park after them then drops old
 * entries and adds those of several blocks); an inflater whose arena
 * outgrew its first chunk (a 4 KB table nearly full, large values) is
 * parked after its block. */
static void test_hpack_cache(void)
{
    static const struct {
        size_t scale, table; /* value sizes, the encoders' table */
    } runs[] = {{4, 4096}, {60, 4096}, {4, 400}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        size_t scale = runs[r].scale;
        struct cs_h2_cache cache = {.max = 2};
        struct fx *kept = fx_new(), *parked = fx_new(), *other = fx_new();
        for (int i = 0; i < 2; i++) { /* 400: tables that evict on every block */
            struct fx *f = i ? parked : kept;
            nghttp2_hd_deflate_del(f->cdef);
            nghttp2_hd_deflate_del(f->sdef);
            nghttp2_hd_deflate_new(&f->cdef, runs[r].table);
            nghttp2_hd_deflate_new(&f->sdef, runs[r].table);
        }
        cs_h2_conn_set_cache(kept->c, &cache);
        cs_h2_conn_set_cache(other->c, &cache);
        fx_open(kept);
        fx_open(parked);
        fx_open(other);
        uint32_t rounds = 40;
        for (uint32_t n = 0; n < rounds; n++) {
            exchange_round(kept, n, scale);
            exchange_round(parked, n, scale);
            CU_ASSERT_FATAL(kept->col.n == (int)n + 1 && parked->col.n == (int)n + 1);
            const struct rec *a = &kept->col.r[n], *b = &parked->col.r[n];
            CU_ASSERT_EQUAL(a->end, CS_H2_END_COMPLETE);
            CU_ASSERT_STRING_EQUAL(a->pseudo, b->pseudo);
            CU_ASSERT_STRING_EQUAL(a->req, b->req);
            CU_ASSERT_STRING_EQUAL(a->resp, b->resp);
            CU_ASSERT(both_parked(parked));
            if (scale == 4 && n < 8) /* (later the arena may outgrow its first chunk) */
                CU_ASSERT(live_idle(kept, CS_DIR_C2S) && live_idle(kept, CS_DIR_S2C));
            CU_ASSERT(cache.n <= cache.max);
            if (n % 7 == 6) { /* kept's two pushed out (parked) by other's */
                exchange_round(other, n, scale);
                if (scale == 4) /* (with 60 other's may outgrow the chunk, parked instead) */
                    CU_ASSERT(both_parked(kept) && live_idle(other, CS_DIR_C2S) &&
                              live_idle(other, CS_DIR_S2C));
            }
        }
        CU_ASSERT(cache.hits >= (scale == 4 ? 14u : 1u));
        CU_ASSERT(cache.rebuilds > 0);
        CU_ASSERT_EQUAL(kept->st.hpack_failures + parked->st.hpack_failures, 0);
        /* other's directions in the cache: finishing it takes them out */
        exchange_round(other, rounds, scale);
        uint32_t before = cache.n;
        bool other_live = live_idle(other, CS_DIR_C2S);
        fx_free(other); /* asserts its held bytes back to 0 */
        CU_ASSERT(!other_live || cache.n < before);
        exchange_round(kept, rounds, scale);
        exchange_round(parked, rounds, scale);
        CU_ASSERT_STRING_EQUAL(kept->col.r[rounds].req, parked->col.r[rounds].req);
        CU_ASSERT_STRING_EQUAL(kept->col.r[rounds].resp, parked->col.r[rounds].resp);
        fx_free(kept);
        CU_ASSERT_EQUAL(cache.n, 0);
        CU_ASSERT(cache.newest == NULL && cache.oldest == NULL);
        fx_free(parked);
    }
}

static void test_memory_accounting(void)
{
    struct fx *f = fx_new();
    size_t at_start = cs_h2_conn_memory(f->c);
    CU_ASSERT(at_start > 0);
    CU_ASSERT_EQUAL(f->st.held_bytes, at_start);
    fx_open(f);
    char big[3000];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = 0;
    const char *nv[] = {":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/",
                        "x-big", big, NULL};
    request(f, 1, nv, true);
    size_t with_table = cs_h2_conn_memory(f->c);
    CU_ASSERT(with_table > at_start + 2 * 3000); /* table entry + the stream's copy */
    response(f, 1, RESP1, true);
    CU_ASSERT(cs_h2_conn_memory(f->c) < with_table);
    CU_ASSERT(cs_h2_conn_memory(f->c) > at_start + 3000); /* the table keeps the entry */
    fx_free(f);                                           /* asserts held_bytes back to 0 */
}

/* Framer events a test keeps: the last frame and how many came. */
struct fev_log {
    int frames, lost;
    struct cs_h2_frame last;
};

static void log_fevent(void *ctx, const struct cs_h2_fevent *ev)
{
    struct fev_log *l = ctx;
    if (ev->kind == CS_H2_FEV_FRAME) {
        l->frames++;
        l->last = *ev->frame;
    }
    if (ev->kind == CS_H2_FEV_LOST)
        l->lost++;
}

/* A framer keeps its frame in progress (malloc'd) only while a piece of
 * input has ended inside a frame or the preface; between frames it holds
 * nothing, and the connection counts what it holds in held_bytes. */
static void test_frame_in_progress(void)
{
    const size_t cut = sizeof(struct cs_h2_frame_cut);
    struct cs_h2_framer fr;
    struct fev_log l = {0};
    cs_h2_framer_init(&fr, true);
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), 0);
    const uint8_t *pre = (const uint8_t *)CS_H2_PREFACE;
    cs_h2_framer_data(&fr, pre, 10, 1, 1000, log_fevent, &l);
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), cut); /* inside the preface */
    cs_h2_framer_data(&fr, pre + 10, CS_H2_PREFACE_LEN - 10, 2, 2000, log_fevent, &l);
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), 0);
    CU_ASSERT(cs_h2_framer_at_boundary(&fr));
    /* a DATA frame of 100 bytes with END_STREAM, in three pieces and a gap */
    struct hb b = {0};
    put_data(&b, 1, 100, -1, true);
    CU_ASSERT_EQUAL_FATAL(b.len, 109);
    cs_h2_framer_data(&fr, b.p, 5, 3, 3000, log_fevent, &l); /* inside the header */
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), cut);
    cs_h2_framer_data(&fr, b.p + 5, 40, 4, 4000, log_fevent, &l);
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), cut);
    CU_ASSERT_FALSE(cs_h2_framer_at_boundary(&fr));
    CU_ASSERT(cs_h2_framer_gap(&fr, 30, 5, 5000, log_fevent, &l)); /* inside the payload */
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), cut);
    CU_ASSERT_EQUAL(l.frames, 0);
    cs_h2_framer_data(&fr, b.p + 75, 34, 6, 6000, log_fevent, &l);
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), 0);
    CU_ASSERT_EQUAL_FATAL(l.frames, 1);
    CU_ASSERT_EQUAL(l.last.type, CS_H2_DATA);
    CU_ASSERT_EQUAL(l.last.length, 100);
    CU_ASSERT_EQUAL(l.last.stream_id, 1);
    CU_ASSERT(l.last.flags & CS_H2_FLAG_END_STREAM);
    CU_ASSERT_EQUAL(l.last.frame, 3); /* where its header began */
    CU_ASSERT_EQUAL(l.last.ts, 3000);
    CU_ASSERT_EQUAL(l.last.end_frame, 6);
    /* a gap inside a skipped payload ends the frame; one inside a frame
     * header loses the place (and the frame kept) */
    cs_h2_framer_data(&fr, b.p, 20, 7, 7000, log_fevent, &l);
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), cut);
    CU_ASSERT(cs_h2_framer_gap(&fr, 89, 8, 8000, log_fevent, &l));
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), 0);
    CU_ASSERT_EQUAL(l.frames, 2);
    cs_h2_framer_data(&fr, b.p, 3, 9, 9000, log_fevent, &l);
    CU_ASSERT_FALSE(cs_h2_framer_gap(&fr, 1, 10, 10000, log_fevent, &l));
    CU_ASSERT_EQUAL(l.lost, 1);
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), 0);
    cs_h2_framer_free(&fr);
    /* a framer left inside a frame gives it back with cs_h2_framer_free */
    cs_h2_framer_init(&fr, false);
    cs_h2_framer_data(&fr, b.p, 50, 1, 1000, log_fevent, &l);
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), cut);
    cs_h2_framer_free(&fr);
    CU_ASSERT_EQUAL(cs_h2_framer_memory(&fr), 0);

    /* In a connection: held_bytes follows, and a connection finished
     * inside a frame gives it back (fx_free asserts 0). */
    struct fx *f = fx_new();
    fx_open(f);
    uint64_t idle = f->st.held_bytes;
    CU_ASSERT_EQUAL(cs_h2_conn_memory(f->c), idle);
    request(f, 1, REQ1, true);
    put_data(&f->b, 1, 1000, -1, false);
    feed(f->c, CS_DIR_S2C, f->b.p, 500, 0, &f->frame);
    uint64_t mid = f->st.held_bytes;
    feed(f->c, CS_DIR_S2C, f->b.p + 500, f->b.len - 500, 0, &f->frame);
    CU_ASSERT_EQUAL(mid - f->st.held_bytes, cut);
    feed(f->c, CS_DIR_S2C, f->b.p, 500, 0, &f->frame);
    CU_ASSERT_EQUAL(f->st.held_bytes, mid);
    f->b.len = 0;
    fx_free(f);
    hb_free(&b);
}

/* A request's fields and strings are packed into one allocation of their
 * exact size when its block ends (what a stream holds while it waits for
 * its response, with no response section yet); the response's fields move
 * them back to arrays that grow, and the report sees every field either
 * way. */
static void test_stream_packed(void)
{
    struct fx *f = fx_new();
    fx_open(f);
    uint64_t idle = f->st.held_bytes;
    request(f, 1, REQ1, true);
    struct h2_stream *s = cs_h2__stream_find(f->c, 1);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(s->packed);
    CU_ASSERT_EQUAL(s->n_fields, 10);
    CU_ASSERT_EQUAL(s->cap_fields, s->n_fields);
    CU_ASSERT_EQUAL(s->arena_cap, s->arena_len);
    CU_ASSERT_EQUAL((char *)s->arena, (char *)(s->fields + s->n_fields));
    CU_ASSERT(s->more == NULL);               /* no response section yet */
    uint64_t table = f->st.held_bytes - idle; /* the stream and the HPACK tables */
    request(f, 3, REQ1, true);
    struct h2_stream *s3 = cs_h2__stream_find(f->c, 3);
    CU_ASSERT_FATAL(s3 != NULL);
    CU_ASSERT(s3->packed);
    uint64_t one = sizeof *s3 + s3->n_fields * sizeof *s3->fields + s3->arena_len;
    CU_ASSERT_EQUAL(f->st.held_bytes - idle - table, one); /* (the same request: no new entry) */
    const char *const info[] = {":status", "103", "link", "</a.css>; rel=preload", NULL};
    response(f, 1, info, false); /* an interim response: fields added, then rolled back */
    CU_ASSERT_FALSE(s->packed);
    CU_ASSERT(s->more != NULL);
    response(f, 1, RESP1, true);
    response(f, 3, RESP1, true);
    CU_ASSERT_EQUAL_FATAL(f->col.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_req1_resp1(&f->col.r[i]);
    }
    CU_ASSERT_EQUAL(f->col.r[0].interim_status, 103);
    fx_free(f); /* asserts held_bytes back to 0 */
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"probe", test_probe},
        {"simple exchange", test_simple_exchange},
        {"whitespace around field values", test_value_whitespace},
        {"an upper-case field name marks its section", test_upper_case_name},
        {"malformed fields found at every edge", test_bad_field_edges},
        {"every frame type", test_every_frame_type},
        {"continuation and padding", test_continuation_and_padding},
        {"continuation interrupted", test_continuation_interrupted},
        {"bad padding", test_bad_padding},
        {"split at every byte", test_split_at_every_byte},
        {"interleaved streams", test_interleaved_streams},
        {"oversized frame", test_oversized_frame},
        {"headers on closed stream", test_headers_on_closed_stream},
        {"rst before response", test_rst_before_response},
        {"goaway and close", test_goaway_and_close},
        {"header table size", test_header_table_size},
        {"table shrink without update", test_header_table_shrink_without_update},
        {"SETTINGS outstanding", test_settings_outstanding},
        {"gaps", test_gaps},
        {"push promise", test_push_promise},
        {"interim and trailers", test_interim_and_trailers},
        {"limits", test_limits},
        {"bad preface", test_bad_preface},
        {"bad lengths", test_bad_lengths},
        {"memory accounting", test_memory_accounting},
        {"frame in progress kept only inside a frame", test_frame_in_progress},
        {"a waiting stream's fields packed", test_stream_packed},
        {"idle directions park their tables", test_parked_tables},
        {"parked tables give shared names as indexes", test_parked_names},
        {"parked tables written again after evictions", test_parked_evictions},
        {"idle inflaters kept live decode the same", test_hpack_cache},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("h2", cases);
    return cs_test_run();
}
