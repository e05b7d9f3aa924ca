/* Unit tests of the HTTP/1.x row of the protocol table (src/app/app_http1.c)
 * where it decides more than the parser: a response whose header block the
 * browsers refuse to parse is reported without a response. */
#include <string.h>

#include "app_proto.h"
#include "flow.h" /* CS_DIR_* */
#include "testutil.h"

struct got {
    enum cs_txn_end end;
    bool has_resp;
    int status;
    corscope_status_form form;
    bool firefox_http09, chromium_http09;
    uint32_t n_headers, chromium_only, firefox_only;
    corscope_line_shape lines;
    char last_name[40];   /* the response's last header name */
    char lines_text[200]; /* the response's lines, "name=value|..." (CR as '~') */
};

struct sink {
    struct got g[24];
    int n;
};

static void row_txn(void *ctx, const struct cs_txn *t)
{
    struct sink *s = ctx;
    CU_ASSERT_FATAL(s->n < 24);
    struct got *g = &s->g[s->n++];
    *g = (struct got){t->end,
                      t->has_resp,
                      t->has_resp ? t->resp.status : 0,
                      t->resp.status_form,
                      t->resp.firefox_http09,
                      t->resp.chromium_http09,
                      (uint32_t)t->resp.n_headers,
                      (uint32_t)t->resp.n_chromium_only,
                      (uint32_t)t->resp.n_firefox_only,
                      t->resp.lines,
                      "",
                      ""};
    if (t->has_resp && t->resp.n_headers) {
        const corscope_header *h = &t->resp.headers[t->resp.n_headers - 1];
        snprintf(g->last_name, sizeof g->last_name, "%.*s", (int)h->name_len, h->name);
    }
    size_t k = 0;
    for (size_t i = 0; t->has_resp && i < t->resp.n_headers; i++) {
        const corscope_header *h = &t->resp.headers[i];
        k += (size_t)snprintf(g->lines_text + k, sizeof g->lines_text - k, "%s%.*s=%.*s",
                              i ? "|" : "", (int)h->name_len, h->name, (int)h->value_len, h->value);
        if (k >= sizeof g->lines_text)
            break;
    }
    for (char *c = g->lines_text; *c; c++)
        if (*c == '\r')
            *c = '~';
}

/* One connection through the row: the client's bytes, then the server's. */
static void run(const char *req, const char *resp, size_t resp_len, struct sink *sink)
{
    struct cs_limits lim;
    _Alignas(16) unsigned char stats[CS_APP_STATS_MAX];
    memset(stats, 0, sizeof stats);
    memset(sink, 0, sizeof *sink);
    cs_limits_default(&lim);
    struct cs_app_env env = {.limits = &lim, .stats = stats};
    struct cs_app_out out = {row_txn, sink, 0, NULL};
    CU_ASSERT_FATAL(cs_app_http1.stats_size <= CS_APP_STATS_MAX);
    void *conn = cs_app_http1.open(&env, &out);
    CU_ASSERT_FATAL(conn != NULL);
    struct cs_stream_event q = {CS_STREAM_DATA, (const uint8_t *)req, (uint32_t)strlen(req), 1, 1000};
    struct cs_stream_event a = {CS_STREAM_DATA, (const uint8_t *)resp, (uint32_t)resp_len, 2, 2000};
    cs_app_http1.event(conn, CS_DIR_C2S, &q);
    cs_app_http1.event(conn, CS_DIR_S2C, &a);
    cs_app_http1.finish(conn, CS_TXN_CLOSED, 3, 3000);
    if (cs_app_http1.release)
        cs_app_http1.release(stats); /* the row's pool of request entries */
}

static const char REQ[] = "GET /n HTTP/1.1\r\nHost: api.example\r\nOrigin: https://app.example\r\n\r\n";

/* A NUL in a header value (tests/browser nul-in-other-value: Firefox
 * CORSDidNotSucceed, Chromium net::ERR_INVALID_HTTP_RESPONSE): no response
 * for the browsers, CS_TXN_MALFORMED; the same block without it is
 * answered. */
static void test_nul_in_header_block(void)
{
    static const char bad[] = "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://app.example\r\n"
                              "X-Junk: a\0b\r\nContent-Length: 0\r\n\r\n";
    static const char good[] = "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://app.example\r\n"
                               "X-Junk: ab\r\nContent-Length: 0\r\n\r\n";
    struct sink s;
    run(REQ, bad, sizeof bad - 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_EQUAL(s.g[0].end, CS_TXN_MALFORMED);
    CU_ASSERT(!s.g[0].has_resp);
    run(REQ, good, sizeof good - 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_EQUAL(s.g[0].end, CS_TXN_ANSWERED);
    CU_ASSERT(s.g[0].has_resp);
    CU_ASSERT_EQUAL(s.g[0].status, 200);
}

/* Status codes that are not three digits (tests/browser status-*): every
 * "HTTP/1.d SP" line is a response, as Chromium reads it (its leading
 * digits, none: 200), with the form that tells the classifier whether
 * Firefox refuses it.  Pipelined, so that a line taken for garbage would
 * pair the next response with the wrong request. */
static void test_status_forms(void)
{
    static const struct {
        const char *line;
        int status;
        corscope_status_form form;
        bool firefox_http09;
    } t[] = {
        {"HTTP/1.1 7 X", 7, CORSCOPE_STATUS_DIGITS, false},
        {"HTTP/1.1 000 X", 0, CORSCOPE_STATUS_DIGITS, false},
        {"HTTP/1.1 99", 99, CORSCOPE_STATUS_DIGITS, false},
        {"HTTP/1.1  203 Non-Authoritative", 203, CORSCOPE_STATUS_DIGITS, false},
        {"HTTP/1.1 2000 X", 2000, CORSCOPE_STATUS_LONG, false},
        {"HTTP/1.1 20x OK", 20, CORSCOPE_STATUS_NOT_DIGITS, false},
        {"HTTP/1.1 abc", 200, CORSCOPE_STATUS_NOT_DIGITS, false},
        {"HTTP/1.1  X", 200, CORSCOPE_STATUS_NOT_DIGITS, false},
        {"HTTP/1.0 ", 200, CORSCOPE_STATUS_NOT_DIGITS, false},
        {"HTTP/1.1 12345678901234 X", 999999999, CORSCOPE_STATUS_LONG, false},
        /* the version as the browsers read it (tests/browser status-line-*):
         * Firefox wants "HTTP/1." or "HTTP/2.0" (else HTTP/0.9, no headers)
         * and a SP after it (else it refuses, when a SP comes later);
         * Chromium reads them all */
        {"http/1.1 201 Created", 201, CORSCOPE_STATUS_DIGITS, true},
        {"HTTP/1 200 OK", 200, CORSCOPE_STATUS_DIGITS, true},
        {"HTTP/2.0 200 OK", 200, CORSCOPE_STATUS_DIGITS, false},
        {"HTTP/1.10 201 X", 201, CORSCOPE_STATUS_DIGITS, false},
        {"  HTTP/1.1 203 X", 203, CORSCOPE_STATUS_DIGITS, false},
        {"HTTP/1.1\t404 Not Found", 200, CORSCOPE_STATUS_NOT_DIGITS, false},
        {"HTTP/1.1404 Not Found", 200, CORSCOPE_STATUS_NOT_DIGITS, false},
        /* no SP at all: a 200 to both (status-line-version-only) */
        {"HTTP/1.1\t404", 200, CORSCOPE_STATUS_DIGITS, false},
        {"HTTP/1.1", 200, CORSCOPE_STATUS_DIGITS, false},
        {"HTTP/1.1404", 200, CORSCOPE_STATUS_DIGITS, false},
        {"ICY 200 OK", 200, CORSCOPE_STATUS_DIGITS, false}, /* Chromium: HTTP/0.9 */
    };
    const int n = (int)(sizeof t / sizeof t[0]);
    char req[2048], resp[2048];
    size_t rl = 0, sl = 0;
    for (int i = 0; i < n; i++) {
        rl += (size_t)snprintf(req + rl, sizeof req - rl, "%s", REQ);
        sl += (size_t)snprintf(resp + sl, sizeof resp - sl, "%s\r\nContent-Length: 2\r\n\r\nok",
                               t[i].line);
    }
    struct sink s;
    run(req, resp, sl, &s);
    CU_ASSERT_EQUAL_FATAL(s.n, n);
    for (int i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(s.g[i].end, CS_TXN_ANSWERED);
        CU_ASSERT_EQUAL(s.g[i].status, t[i].status);
        CU_ASSERT_EQUAL(s.g[i].form, t[i].form);
        CU_ASSERT_EQUAL(s.g[i].firefox_http09, t[i].firefox_http09);
        CU_ASSERT_EQUAL(s.g[i].chromium_http09, strncmp(t[i].line, "ICY ", 4) == 0);
        if (s.g[i].status != t[i].status || s.g[i].form != t[i].form ||
            s.g[i].firefox_http09 != t[i].firefox_http09)
            fprintf(stderr, "'%s': %d/%d\n", t[i].line, s.g[i].status, (int)s.g[i].form);
    }
}

/* A bare CR in a response block (tests/browser bare-cr-*,
 * status-line-cr-*): the row hands over Firefox's lines with a CR first,
 * then the lines both read, then the pieces Chromium alone reads, with the
 * counts; a line with whitespace before its colon is Chromium's alone. */
static void test_bare_cr(void)
{
    static const char resp[] =
        "HTTP/1.1 200 OK\rX-S: 1\r\n"
        "X-A: 1\r\n"
        "Access-Control-Allow-Origin: a\rX-Junk: 2\r\n"
        "X-W : 3\r\n"
        "X-E: 4\r\r\n"
        "Content-Length: 0\r\n\r\n";
    struct sink s;
    run(REQ, resp, sizeof resp - 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_EQUAL(s.g[0].lines, CORSCOPE_LINES_BARE_CR);
    CU_ASSERT_EQUAL(s.g[0].firefox_only, 2);
    CU_ASSERT_EQUAL(s.g[0].chromium_only, 5);
    CU_ASSERT_EQUAL(s.g[0].n_headers, 9);
    CU_ASSERT_STRING_EQUAL(s.g[0].lines_text,
                           "Access-Control-Allow-Origin=a~X-Junk: 2|X-E=4~|X-A=1|Content-Length=0|"
                           "X-S=1|Access-Control-Allow-Origin=a|X-Junk=2|X-W=3|X-E=4");
    /* CRLF everywhere: as the stage split it */
    static const char plain[] = "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n";
    run(REQ, plain, sizeof plain - 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_EQUAL(s.g[0].lines, CORSCOPE_LINES_SAME);
    CU_ASSERT_EQUAL(s.g[0].firefox_only + s.g[0].chromium_only, 0);
    CU_ASSERT_STRING_EQUAL(s.g[0].lines_text, "X-A=1|Content-Length=0");
}

/* A response line with whitespace before its colon (tests/browser
 * ws-before-colon, tab-before-colon): Firefox drops it, Chromium reads it;
 * the row moves it last and counts it (n_chromium_only), its name without
 * the whitespace.  Lines without it: none counted. */
static void test_ws_before_colon(void)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin : https://app.example\r\n"
                               "X-A: 1\r\nVary\t: Origin\r\nContent-Length: 0\r\n\r\n";
    struct sink s;
    run(REQ, resp, sizeof resp - 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_EQUAL(s.g[0].n_headers, 4);
    CU_ASSERT_EQUAL(s.g[0].chromium_only, 2);
    CU_ASSERT_STRING_EQUAL(s.g[0].last_name, "Vary");
    static const char plain[] = "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://app.example\r\n"
                                "Content-Length: 0\r\n\r\n";
    run(REQ, plain, sizeof plain - 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.n, 1);
    CU_ASSERT_EQUAL(s.g[0].chromium_only, 0);
    CU_ASSERT_STRING_EQUAL(s.g[0].last_name, "Content-Length");
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"a NUL in a response header block", test_nul_in_header_block},
        {"status codes that are not three digits", test_status_forms},
        {"whitespace before a colon: Chromium's line alone", test_ws_before_colon},
        {"a bare CR: each browser's lines", test_bare_cr},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("http1_app", cases);
    return cs_test_run();
}
