/* Differential test of our HTTP/1.x scanner (src/http.c) against nodejs
 * http-parser 2.9.4 (the oracle): seeded random well-formed keep-alive
 * streams of requests and responses, fed to both in several split patterns;
 * both must agree on method, URI, status and the exact (name, value) list of
 * every message.  (The throughput of both is measured by bench/http_parse.c,
 * in `make bench`.) */
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include "testutil.h"
#include "flow.h"
#include "http.h"

#define N_STREAMS      2500
#define MAX_MSGS       6
#define SUM_MAX        (64 * 1024)    /* summary text of one stream */
#define STREAM_MAX     (256 * 1024)

/* ---- seeded PRNG (xorshift64*) ---- */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
static uint32_t rn(uint32_t n) { return n ? (uint32_t)(rnd() % n) : 0; }

/* ---- a growable byte string ---- */
struct sb { char *p; size_t len, cap; };
static void sb_put(struct sb *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void sb_str(struct sb *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_fmt(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_fmt(struct sb *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- generator ---- */
static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH" };
static const char *const names[] = {
    "Host", "Origin", "Accept", "User-Agent", "Access-Control-Request-Method",
    "Access-Control-Allow-Origin", "access-control-allow-credentials", "Vary", "Cookie",
    "Set-Cookie", "Cache-Control", "X-Requested-With", "Referer", "Content-Type",
};
static const int statuses[] = { 200, 201, 204, 301, 304, 400, 403, 404, 500, 503 };

static void gen_token(struct sb *b, uint32_t minlen, uint32_t maxlen, const char *alphabet)
{
    uint32_t n = minlen + rn(maxlen - minlen + 1);
    size_t al = strlen(alphabet);
    for (uint32_t i = 0; i < n; i++)
        sb_put(b, &alphabet[rn((uint32_t)al)], 1);
}

/* A value of visible bytes with single inner spaces, no leading/trailing SP. */
static void gen_value(struct sb *b)
{
    uint32_t n = rn(48);
    for (uint32_t i = 0; i < n; i++) {
        char ch = (char)(0x21 + rn(0x7e - 0x21 + 1));
        if (i > 0 && i + 1 < n && rn(8) == 0)
            ch = ' ';
        sb_put(b, &ch, 1);
    }
}

static void gen_headers(struct sb *b)
{
    uint32_t n = rn(21);
    for (uint32_t i = 0; i < n; i++) {
        if (rn(2))
            sb_str(b, names[rn(sizeof names / sizeof *names)]);
        else {
            sb_str(b, "X-");
            gen_token(b, 1, 20, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
        }
        sb_str(b, rn(4) ? ": " : ":");
        gen_value(b);
        sb_str(b, "\r\n");
    }
}

/* A body with Content-Length or chunked framing (or none). */
static void gen_body(struct sb *b, bool allowed)
{
    uint32_t kind = allowed ? rn(3) : 0;
    if (kind == 0) {
        sb_str(b, "\r\n");
    } else if (kind == 1) {
        uint32_t n = rn(300);
        sb_fmt(b, "Content-Length: %u\r\n\r\n", n);
        for (uint32_t i = 0; i < n; i++)
            sb_put(b, &"0123456789abcdef\r\n"[rn(18)], 1);
    } else {
        sb_str(b, "Transfer-Encoding: chunked\r\n\r\n");
        uint32_t chunks = rn(4);
        for (uint32_t c = 0; c < chunks; c++) {
            uint32_t n = 1 + rn(200);
            sb_fmt(b, rn(2) ? "%x\r\n" : "%X;ext=v\r\n", n);
            for (uint32_t i = 0; i < n; i++)
                sb_put(b, &"HTTP/1.1 200 \r\n"[rn(15)], 1);
            sb_str(b, "\r\n");
        }
        sb_str(b, rn(3) ? "0\r\n\r\n" : "0\r\nX-Trailer: t\r\n\r\n");
    }
}

static void gen_request(struct sb *b)
{
    const char *m = methods[rn(sizeof methods / sizeof *methods)];
    sb_fmt(b, "%s /", m);
    gen_token(b, 0, 60, "abcdefghijklmnopqrstuvwxyz0123456789/._-?=&%");
    sb_str(b, " HTTP/1.1\r\n");
    gen_headers(b);
    gen_body(b, strcmp(m, "GET") != 0);
}

static void gen_response(struct sb *b)
{
    int st = statuses[rn(sizeof statuses / sizeof *statuses)];
    sb_fmt(b, "HTTP/1.1 %d ", st);
    gen_token(b, 0, 20, "abcdefghijklmnopqrstuvwxyz ABCDEF");
    sb_str(b, "\r\n");
    gen_headers(b);
    gen_body(b, st != 204 && st != 304);
}

/* ---- the oracle: http-parser, summarised as text ---- */
/* last: 0 none, 1 field, 2 value; trailers: after the header block (http-parser
 * reports trailer lines as headers; we do not, so the summary skips them). */
struct hp_sum { struct sb out; int last; bool trailers; };

static int hp_begin(http_parser *p)
{
    struct hp_sum *s = p->data;
    s->last = 0;
    s->trailers = false;
    sb_str(&s->out, "MSG ");
    return 0;
}
static int hp_url(http_parser *p, const char *at, size_t n) { struct hp_sum *s = p->data; sb_put(&s->out, at, n); return 0; }
static int hp_field(http_parser *p, const char *at, size_t n)
{
    struct hp_sum *s = p->data;
    if (s->trailers)
        return 0;
    if (s->last == 1) {
        sb_put(&s->out, at, n);
        return 0;
    }
    sb_str(&s->out, s->last == 2 ? "\x02" : "\n");
    sb_put(&s->out, at, n);
    s->last = 1;
    return 0;
}
static int hp_value(http_parser *p, const char *at, size_t n)
{
    struct hp_sum *s = p->data;
    if (s->trailers)
        return 0;
    if (s->last != 2)
        sb_str(&s->out, "\x01");
    sb_put(&s->out, at, n);
    s->last = 2;
    return 0;
}
static int hp_hdone(http_parser *p)
{
    struct hp_sum *s = p->data;
    if (s->last == 1)
        sb_str(&s->out, "\x01");
    if (s->last)
        sb_str(&s->out, "\x02");
    else
        sb_str(&s->out, "\n");
    if (p->type == HTTP_REQUEST)
        sb_fmt(&s->out, "=%s\n", http_method_str((enum http_method)p->method));
    else
        sb_fmt(&s->out, "=%u\n", p->status_code);
    s->trailers = true;
    return 0;
}

static http_parser_settings hp_settings = {
    .on_message_begin = hp_begin, .on_url = hp_url, .on_header_field = hp_field,
    .on_header_value = hp_value, .on_headers_complete = hp_hdone,
};

/* ---- ours, summarised the same way ---- */
struct our_sum { struct sb req, resp; };

static void sum_msg(struct sb *b, const struct cs_http_msg *m, bool req)
{
    sb_str(b, "MSG ");
    if (req)
        sb_put(b, m->uri, m->uri_len);
    sb_str(b, "\n");
    for (uint32_t i = 0; i < m->n_headers; i++) {
        sb_put(b, m->headers[i].name, m->headers[i].name_len);
        sb_str(b, "\x01");
        sb_put(b, m->headers[i].value, m->headers[i].value_len);
        sb_str(b, "\x02");
    }
    if (req) {
        sb_str(b, "=");
        sb_put(b, m->method, m->method_len);
        sb_str(b, "\n");
    } else {
        sb_fmt(b, "=%d\n", m->status);
    }
}

static void our_txn(void *ctx, const struct cs_http_txn *t)
{
    struct our_sum *s = ctx;
    sum_msg(&s->req, t->req, true);
    if (t->resp)
        sum_msg(&s->resp, t->resp, false);
}

/* Piece sizes: 0 whole, 1 random 1..64, 2 1460, 3 random 1..8, 4 one byte. */
static uint32_t piece_len(int pattern, uint32_t left)
{
    uint32_t n = pattern == 0 ? left : pattern == 1 ? 1 + rn(64) : pattern == 2 ? 1460
               : pattern == 3 ? 1 + rn(8) : 1;
    return n < left ? n : left;
}

static void feed_ours(struct cs_http_conn *c, int dir, const struct sb *s, int pattern)
{
    for (size_t off = 0; off < s->len;) {
        uint32_t n = piece_len(pattern, (uint32_t)(s->len - off));
        struct guarded g = guarded_copy(s->p + off, n);
        struct cs_stream_event ev = { .kind = CS_STREAM_DATA, .data = g.data, .len = n, .frame = off + 1 };
        cs_http_conn_event(c, dir, &ev);
        guarded_free(&g);
        off += n;
    }
}

static size_t feed_oracle(http_parser *p, const struct sb *s, int pattern)
{
    size_t total = 0;
    for (size_t off = 0; off < s->len;) {
        uint32_t n = piece_len(pattern, (uint32_t)(s->len - off));
        total += http_parser_execute(p, &hp_settings, s->p + off, n);
        off += n;
    }
    return total;
}

static void test_differential(void)
{
    struct sb cs = { 0 }, ss = { 0 };
    struct hp_sum hq = { 0 }, hr = { 0 };
    struct our_sum ours = { 0 };
    struct cs_limits lim;
    cs_limits_default(&lim);
    unsigned mismatches = 0, compared = 0;
    rng_state = 0x9E3779B97F4A7C15ULL;
    for (int it = 0; it < N_STREAMS; it++) {
        cs.len = ss.len = 0;
        uint32_t nmsg = 1 + rn(MAX_MSGS);
        for (uint32_t i = 0; i < nmsg; i++) {
            gen_request(&cs);
            gen_response(&ss);
        }
        int pattern = it % 25 == 24 ? 4 : it % 4;   /* one stream in 25 goes byte by byte */
        hq.out.len = hr.out.len = ours.req.len = ours.resp.len = 0;
        http_parser pq, pr;
        http_parser_init(&pq, HTTP_REQUEST);
        http_parser_init(&pr, HTTP_RESPONSE);
        pq.data = &hq;
        pr.data = &hr;
        CU_ASSERT_EQUAL(feed_oracle(&pq, &cs, pattern), cs.len);
        CU_ASSERT_EQUAL(feed_oracle(&pr, &ss, pattern), ss.len);

        struct cs_http_stats st = { 0 };
        struct cs_http_conn *c = cs_http_conn_new(&lim, &st, our_txn, &ours);
        feed_ours(c, CS_DIR_C2S, &cs, pattern);
        feed_ours(c, CS_DIR_S2C, &ss, pattern);
        cs_http_conn_finish(c, CS_TXN_UNANSWERED, 0, 0);
        CU_ASSERT_EQUAL(st.transactions, nmsg);
        CU_ASSERT_EQUAL(st.resyncs + st.framing_errors + st.bad_header_lines, 0);
        compared += nmsg;
        bool same = hq.out.len == ours.req.len && hr.out.len == ours.resp.len &&
                    memcmp(hq.out.p, ours.req.p, hq.out.len) == 0 &&
                    memcmp(hr.out.p, ours.resp.p, hr.out.len) == 0;
        if (!same && mismatches++ < 3) {
            bool rq = !(hq.out.len == ours.req.len && memcmp(hq.out.p, ours.req.p, hq.out.len) == 0);
            const struct sb *a = rq ? &hq.out : &hr.out, *b = rq ? &ours.req : &ours.resp;
            size_t k = 0;
            while (k < a->len && k < b->len && a->p[k] == b->p[k])
                k++;
            size_t from = k > 80 ? k - 80 : 0;
            fprintf(stderr, "\nstream %d (pattern %d) %s differ at %zu:\n http-parser: %.160s\n ours:        %.160s\n",
                    it, pattern, rq ? "requests" : "responses", k,
                    a->len ? a->p + from : "", b->len ? b->p + from : "");
        }
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    fprintf(stderr, "\n  differential: %d streams, %u request/response pairs, %u mismatches\n",
            N_STREAMS, compared, mismatches);
    free(cs.p); free(ss.p); free(hq.out.p); free(hr.out.p); free(ours.req.p); free(ours.resp.p);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    static const struct cs_test_case cases[] = {
        { "agrees with http-parser on 2500 random streams", test_differential },
        { NULL, NULL },
    };
    cs_test_add_suite("http_diff", cases);
    return cs_test_run();
}
