/* bench/http_parse.c: throughput of the HTTP/1.x stage (src/http.c and the
 * scanner) beside nodejs http-parser 2.9.4, on a ~100 MB browser-like
 * keep-alive stream (requests with Origin and cookies, JSON responses with
 * CORS headers) fed in 1460-byte pieces, best of BENCH_HTTP_RUNS (3) rounds.
 * Prints MB/s; asserts nothing about time.  It exits 1 only when a parser
 * did not read the stream cleanly, since the figure would then be wrong.
 * `make bench` runs it before bench/run.sh; it was a case of
 * tests/unit/test_http_diff.c, which made `make check` slower by a minute. */
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "flow.h"
#include "http.h"

#define PIECE 1460u
#define STREAM_BYTES (100u * 1024 * 1024)

/* ---- a growable byte string (bytebuf.h) ---- */
#include "bytebuf.h"

static void bench_request(struct sb *b, uint32_t i)
{
    char line[128];
    int n = snprintf(line, sizeof line, "%s /api/v1/items/%u?sort=desc&page=%u HTTP/1.1\r\n",
                     i % 5 ? "GET" : "POST", i, i % 17);
    sb_put(b, line, (size_t)n);
    sb_str(b, "Host: api.example.com\r\n"
              "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
              "Accept: application/json, text/plain, */*\r\n"
              "Accept-Language: en-US,en;q=0.5\r\n"
              "Accept-Encoding: gzip, deflate, br\r\n"
              "Origin: https://app.example.com\r\n"
              "Referer: https://app.example.com/dashboard\r\n"
              "Connection: keep-alive\r\n"
              "Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n"
              "Sec-Fetch-Dest: empty\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Site: same-site\r\n");
    if (i % 5 == 0)
        sb_str(b, "Content-Type: application/json\r\nContent-Length: 26\r\n\r\n{\"name\":\"item\",\"count\":42}");
    else
        sb_str(b, "\r\n");
}

static void bench_response(struct sb *b, uint32_t i)
{
    uint32_t n = 200 + (i * 7919) % 1800;
    char head[512];
    int k = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 12:00:00 GMT\r\nServer: nginx/1.22.1\r\n"
                     "Content-Type: application/json\r\nContent-Length: %u\r\n"
                     "Access-Control-Allow-Origin: https://app.example.com\r\n"
                     "Access-Control-Allow-Credentials: true\r\nVary: Origin\r\n"
                     "Cache-Control: no-store\r\n\r\n",
                     n);
    sb_put(b, head, (size_t)k);
    static const char body[2048] = {[0 ... 2047] = 'x'};
    sb_put(b, body, n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int noop_cb(http_parser *p)
{
    (void)p;
    return 0;
}
static int noop_data(http_parser *p, const char *at, size_t n)
{
    (void)p;
    (void)at;
    (void)n;
    return 0;
}
static void noop_txn(void *ctx, const struct cs_http_txn *t)
{
    (void)ctx;
    (void)t;
}

static void feed(struct cs_http_conn *c, int dir, const struct sb *s, size_t from, size_t to)
{
    for (size_t off = from; off < to; off += PIECE) {
        uint32_t n = (uint32_t)(to - off < PIECE ? to - off : PIECE);
        struct cs_stream_event ev = {.kind = CS_STREAM_DATA, .data = (uint8_t *)s->p + off, .len = n};
        cs_http_conn_event(c, dir, &ev);
    }
}

int main(void)
{
    const char *env = getenv("BENCH_HTTP_RUNS");
    int runs = env && atoi(env) > 0 ? atoi(env) : 3;
    struct sb cs = {0}, ss = {0};
    for (uint32_t i = 0; cs.len + ss.len < STREAM_BYTES; i++) {
        bench_request(&cs, i);
        bench_response(&ss, i);
    }
    double total = (double)(cs.len + ss.len);
    double best_ours = 1e9, best_hp = 1e9, best_hdr = 1e9;
    http_parser_settings nop = {.on_message_begin = noop_cb, .on_url = noop_data, .on_status = noop_data, .on_header_field = noop_data, .on_header_value = noop_data, .on_headers_complete = noop_cb, .on_body = noop_data, .on_message_complete = noop_cb};
    struct cs_limits lim;
    cs_limits_default(&lim);
    int bad = 0;
    for (int rep = 0; rep < runs; rep++) {
        /* Both directions interleaved: a client piece, then server pieces up
         * to the same fraction of the server stream. */
        struct cs_http_stats st = {0};
        double t0 = now_s();
        struct cs_http_conn *c = cs_http_conn_new(&lim, &st, noop_txn, NULL);
        size_t co = 0, so = 0;
        while (co < cs.len || so < ss.len) {
            size_t cn = co < cs.len ? (cs.len - co < PIECE ? cs.len - co : PIECE) : 0;
            feed(c, CS_DIR_C2S, &cs, co, co + cn);
            co += cn;
            size_t target = co >= cs.len ? ss.len : (size_t)((double)co / (double)cs.len * (double)ss.len);
            feed(c, CS_DIR_S2C, &ss, so, target > so ? target : so);
            so = target > so ? target : so;
        }
        cs_http_conn_finish(c, CS_TXN_UNANSWERED, 0, 0);
        double t1 = now_s();
        best_ours = t1 - t0 < best_ours ? t1 - t0 : best_ours;
        bad |= st.transactions == 0 || st.resyncs != 0;

        http_parser pq, pr;
        http_parser_init(&pq, HTTP_REQUEST);
        http_parser_init(&pr, HTTP_RESPONSE);
        t0 = now_s();
        for (size_t off = 0; off < cs.len; off += PIECE)
            http_parser_execute(&pq, &nop, cs.p + off, cs.len - off < PIECE ? cs.len - off : PIECE);
        for (size_t off = 0; off < ss.len; off += PIECE)
            http_parser_execute(&pr, &nop, ss.p + off, ss.len - off < PIECE ? ss.len - off : PIECE);
        t1 = now_s();
        best_hp = t1 - t0 < best_hp ? t1 - t0 : best_hp;
        bad |= HTTP_PARSER_ERRNO(&pq) != HPE_OK || HTTP_PARSER_ERRNO(&pr) != HPE_OK;

        /* The request stream alone: header scanning dominates. */
        memset(&st, 0, sizeof st);
        t0 = now_s();
        c = cs_http_conn_new(&lim, &st, noop_txn, NULL);
        feed(c, CS_DIR_C2S, &cs, 0, cs.len);
        cs_http_conn_finish(c, CS_TXN_UNANSWERED, 0, 0);
        t1 = now_s();
        best_hdr = t1 - t0 < best_hdr ? t1 - t0 : best_hdr;
    }
    printf("http parser: %.0f MB in %u-byte pieces, best of %d: corscope %.0f MB/s, "
           "http-parser 2.9.4 %.0f MB/s; request stream alone (%.0f MB, headers only): corscope %.0f MB/s\n",
           total / 1e6, PIECE, runs, total / 1e6 / best_ours, total / 1e6 / best_hp,
           (double)cs.len / 1e6, (double)cs.len / 1e6 / best_hdr);
    if (bad)
        fprintf(stderr, "http parser bench: a parser did not read the stream cleanly; figures void\n");
    free(cs.p);
    free(ss.p);
    return bad;
}
