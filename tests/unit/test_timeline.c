/* Timeline: preflight links across connections, the per-browser
 * preflight-cache model (cors-reasons.md §1.8, §8.7), retry folding.
 * Asserts on the timeline's structured answer (what, frames, ages,
 * browsers); the sentences are the output stage's (explain.c). */
#include <string.h>

#include "testutil.h"
#include "corscope/cors.h"
#include "judge.h"
#include "timeline.h"

#define S(x) x, sizeof(x) - 1
#define ORIGIN "http://app.example:8080"
#define NS 1000000000LL

static struct cs_addr client(uint8_t last)
{
    struct cs_addr a = {.family = 4, .bytes = {192, 0, 2, last}};
    return a;
}

/* Classifies a preflight for `method` on `url_path` answered with the given
 * ACAO/ACAM/Max-Age, and feeds it to the timeline at time t. */
static void preflight(struct cs_timeline *tl, struct cs_addr c, const char *host, const char *path,
                      const char *method, const char *max_age, const char *acam, cs_time_ns t,
                      uint64_t frame)
{
    corscope_header rq[] = {
        {S("Host"), host, strlen(host)},
        {S("Origin"), S(ORIGIN)},
        {S("Access-Control-Request-Method"), method, strlen(method)},
    };
    corscope_header rs[4] = {
        {S("Access-Control-Allow-Origin"), S(ORIGIN)},
        {S("Access-Control-Allow-Methods"), acam, strlen(acam)},
    };
    size_t nrs = 2;
    if (max_age)
        rs[nrs++] = (corscope_header){S("Access-Control-Max-Age"), max_age, strlen(max_age)};
    corscope_request req = {.method = "OPTIONS", .method_len = 7, .target = path, .target_len = strlen(path), .headers = rq, .n_headers = 3};
    corscope_response resp = {204, rs, nrs};
    corscope_verdict v;
    CU_ASSERT_EQUAL_FATAL(corscope_classify(&req, &resp, NULL, &v), 0);
    CU_ASSERT_EQUAL(v.kind, CORSCOPE_KIND_PREFLIGHT);
    struct cs_timeline_facts f;
    cs_timeline_after_preflight(tl, &c, &req, &resp, &v, frame, 1, S(ORIGIN), t, &f);
}

/* Runs the "before actual" step for a PUT and returns the facts. */
static struct cs_timeline_facts actual(struct cs_timeline *tl, struct cs_addr c, const char *host,
                                       const char *path, const char *method, const char *cookie,
                                       cs_time_ns t)
{
    corscope_header rq[3] = {
        {S("Host"), host, strlen(host)},
        {S("Origin"), S(ORIGIN)},
    };
    size_t n = 2;
    if (cookie)
        rq[n++] = (corscope_header){S("Cookie"), cookie, strlen(cookie)};
    corscope_request req = {.method = method, .method_len = strlen(method), .target = path, .target_len = strlen(path), .headers = rq, .n_headers = n};
    char url[256];
    snprintf(url, sizeof(url), "http://%s%s", host, path);
    struct cs_timeline_facts f;
    cs_timeline_before_actual(tl, &c, &req, url, S(ORIGIN), corscope_needs_preflight(&req), t, &f);
    return f;
}

static void test_links_preflight_across_connections(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    preflight(tl, client(1), "api.example", "/items/1", "PUT", NULL, "PUT", 10 * NS, 7);
    struct cs_timeline_facts f = actual(tl, client(1), "api.example", "/items/1", "PUT", NULL, 10 * NS + 5);
    CU_ASSERT_EQUAL(f.preflight_frame, 7);
    CU_ASSERT_EQUAL(f.what, CS_TL_LINKED);
    CU_ASSERT_EQUAL(f.age, 5);
    /* one preflight announces one request: the next PUT is a cache question */
    f = actual(tl, client(1), "api.example", "/items/1", "PUT", NULL, 10 * NS + 6);
    CU_ASSERT_EQUAL(f.preflight_frame, 0);
    CU_ASSERT_EQUAL(cs_timeline_stats(tl)->preflights_linked, 1);
    cs_timeline_free(tl);
}

static void test_other_client_or_method_not_linked(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    preflight(tl, client(1), "api.example", "/items/1", "PUT", NULL, "PUT", 10 * NS, 7);
    CU_ASSERT_EQUAL(actual(tl, client(2), "api.example", "/items/1", "PUT", NULL, 11 * NS).preflight_frame, 0);
    CU_ASSERT_EQUAL(actual(tl, client(1), "api.example", "/items/1", "DELETE", NULL, 11 * NS).preflight_frame, 0);
    CU_ASSERT_EQUAL(actual(tl, client(1), "api.example", "/items/2", "PUT", NULL, 11 * NS).preflight_frame, 0);
    cs_timeline_free(tl);
}

static void test_cache_hit_within_max_age(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    preflight(tl, client(1), "api.example", "/n/5", "PUT", "600", "PUT", 10 * NS, 3);
    actual(tl, client(1), "api.example", "/n/5", "PUT", NULL, 10 * NS + 1); /* consumes the link */
    struct cs_timeline_facts f = actual(tl, client(1), "api.example", "/n/5", "PUT", NULL, 100 * NS);
    CU_ASSERT_EQUAL(f.what, CS_TL_CACHED);
    CU_ASSERT_EQUAL(f.browsers, CS_TL_FIREFOX | CS_TL_CHROMIUM);
    CU_ASSERT_EQUAL(f.cache_frame, 3);
    CU_ASSERT_EQUAL(f.age, 90 * NS);
    CU_ASSERT_EQUAL(f.preflight_frame, 0);
    /* past Max-Age: nothing explains a missing preflight */
    f = actual(tl, client(1), "api.example", "/n/5", "PUT", NULL, 700 * NS);
    CU_ASSERT_EQUAL(f.what, CS_TL_UNEXPLAINED);
    CU_ASSERT_EQUAL(cs_timeline_stats(tl)->cache_hits, 1);
    CU_ASSERT_EQUAL(cs_timeline_stats(tl)->unexplained_missing, 1);
    cs_timeline_free(tl);
}

static void test_default_max_age_is_five_seconds(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    preflight(tl, client(1), "api.example", "/d", "PUT", NULL, "PUT", 10 * NS, 3);
    actual(tl, client(1), "api.example", "/d", "PUT", NULL, 10 * NS + 1);
    CU_ASSERT_EQUAL(actual(tl, client(1), "api.example", "/d", "PUT", NULL, 14 * NS).what, CS_TL_CACHED);
    CU_ASSERT_EQUAL(actual(tl, client(1), "api.example", "/d", "PUT", NULL, 16 * NS).what, CS_TL_UNEXPLAINED);
    cs_timeline_free(tl);
}

static void test_firefox_no_cache_for_ip_literal(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    preflight(tl, client(1), "127.0.0.1:8081", "/x", "PUT", "600", "PUT", 10 * NS, 3);
    actual(tl, client(1), "127.0.0.1:8081", "/x", "PUT", NULL, 10 * NS + 1);
    struct cs_timeline_facts f = actual(tl, client(1), "127.0.0.1:8081", "/x", "PUT", NULL, 20 * NS);
    CU_ASSERT_EQUAL(f.what, CS_TL_CACHED);
    CU_ASSERT_EQUAL(f.browsers, CS_TL_CHROMIUM);
    cs_timeline_free(tl);
}

static void test_firefox_wildcard_never_from_cache(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    preflight(tl, client(1), "api.example", "/w", "PUT", "600", "*", 10 * NS, 3);
    actual(tl, client(1), "api.example", "/w", "PUT", NULL, 10 * NS + 1);
    struct cs_timeline_facts f = actual(tl, client(1), "api.example", "/w", "PUT", NULL, 20 * NS);
    CU_ASSERT_EQUAL(f.what, CS_TL_CACHED);
    CU_ASSERT_EQUAL(f.browsers, CS_TL_CHROMIUM);
    cs_timeline_free(tl);
}

static void test_max_age_zero_not_cached(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    preflight(tl, client(1), "api.example", "/z", "PUT", "0", "PUT", 10 * NS, 3);
    actual(tl, client(1), "api.example", "/z", "PUT", NULL, 10 * NS + 1);
    CU_ASSERT_EQUAL(actual(tl, client(1), "api.example", "/z", "PUT", NULL, 11 * NS).what, CS_TL_UNEXPLAINED);
    cs_timeline_free(tl);
}

static void test_simple_request_needs_no_explanation(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    struct cs_timeline_facts f = actual(tl, client(1), "api.example", "/s", "GET", NULL, 10 * NS);
    CU_ASSERT_EQUAL(f.what, CS_TL_NOTHING);
    CU_ASSERT_EQUAL(f.credentials, CORSCOPE_CRED_UNKNOWN);
    f = actual(tl, client(1), "api.example", "/s", "GET", "sid=1", 10 * NS);
    CU_ASSERT_EQUAL(f.credentials, CORSCOPE_CRED_INCLUDE);
    cs_timeline_free(tl);
}

static void test_retries_folded_within_window(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    struct cs_addr c = client(1);
    CU_ASSERT_FALSE(cs_timeline_is_retry(tl, &c, S("GET"), "http://a/r", S(ORIGIN), 10 * NS));
    CU_ASSERT_TRUE(cs_timeline_is_retry(tl, &c, S("GET"), "http://a/r", S(ORIGIN), 11 * NS));
    CU_ASSERT_TRUE(cs_timeline_is_retry(tl, &c, S("GET"), "http://a/r", S(ORIGIN), 13 * NS));
    /* another URL, another client, or long after: not a retry */
    CU_ASSERT_FALSE(cs_timeline_is_retry(tl, &c, S("GET"), "http://a/other", S(ORIGIN), 13 * NS));
    struct cs_addr c2 = client(2);
    CU_ASSERT_FALSE(cs_timeline_is_retry(tl, &c2, S("GET"), "http://a/r", S(ORIGIN), 13 * NS));
    CU_ASSERT_FALSE(cs_timeline_is_retry(tl, &c, S("GET"), "http://a/r", S(ORIGIN), 60 * NS));
    CU_ASSERT_EQUAL(cs_timeline_stats(tl)->retries_folded, 2);
    cs_timeline_free(tl);
}

static void test_pending_table_bounded(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    char path[32];
    for (int i = 0; i < CS_TL_MAX_PENDING + 100; i++) {
        snprintf(path, sizeof(path), "/p/%d", i);
        preflight(tl, client(1), "api.example", path, "PUT", NULL, "PUT", 10 * NS + i, (uint64_t)i + 1);
    }
    CU_ASSERT_EQUAL(cs_timeline_stats(tl)->pending_evicted, 100);
    /* the newest ones are still linkable, the oldest were replaced */
    snprintf(path, sizeof(path), "/p/%d", CS_TL_MAX_PENDING + 99);
    CU_ASSERT_NOT_EQUAL(actual(tl, client(1), "api.example", path, "PUT", NULL, 20 * NS).preflight_frame, 0);
    CU_ASSERT_EQUAL(actual(tl, client(1), "api.example", "/p/0", "PUT", NULL, 20 * NS).preflight_frame, 0);
    cs_timeline_free(tl);
}

static struct cs_flow_key conn(uint8_t cli, uint8_t srv, uint16_t port, double first_s)
{
    struct cs_flow_key f = {.client = client(cli), .server = client(srv), .client_port = 50000, .server_port = port, .first_ts = (cs_time_ns)(first_s * 1e9)};
    f.server.bytes[2] = 99; /* 192.0.99.srv */
    return f;
}

/* A failed connection is a browser's when its client spoke HTTP to another
 * origin (server address or port) before; reconnects of the same failure
 * fold within the window. */
static void test_conn_failed_browser_and_reconnects(void)
{
    struct cs_timeline *tl = cs_timeline_new_sized(16);
    struct cs_tl_conn_facts facts;
    struct cs_flow_key refused = conn(1, 30, 3000, 10.0);
    cs_timeline_conn_failed(tl, &refused, CS_CONN_REFUSED, 0, &facts);
    CU_ASSERT_FALSE(facts.browser); /* no HTTP from this client yet */
    CU_ASSERT_FALSE(facts.retry);
    /* HTTP to the failing endpoint itself does not make it a browser */
    struct cs_flow_key same = conn(1, 30, 3000, 11.0);
    cs_timeline_http_client(tl, &same);
    refused.first_ts = 20 * NS;
    cs_timeline_conn_failed(tl, &refused, CS_CONN_REFUSED, 0, &facts);
    CU_ASSERT_FALSE(facts.browser);
    /* HTTP to another port of that server does (another origin) */
    struct cs_flow_key page = conn(1, 30, 8080, 21.0);
    cs_timeline_http_client(tl, &page);
    refused.first_ts = 30 * NS;
    cs_timeline_conn_failed(tl, &refused, CS_CONN_REFUSED, 0, &facts);
    CU_ASSERT_TRUE(facts.browser);
    CU_ASSERT_FALSE(facts.retry);
    /* the browser's reconnect 0.1 s later folds; another client does not */
    refused.first_ts = 30 * NS + NS / 10;
    cs_timeline_conn_failed(tl, &refused, CS_CONN_REFUSED, 0, &facts);
    CU_ASSERT_TRUE(facts.retry);
    struct cs_flow_key other = conn(2, 30, 3000, 30.2);
    cs_timeline_conn_failed(tl, &other, CS_CONN_REFUSED, 0, &facts);
    CU_ASSERT_FALSE(facts.retry);
    CU_ASSERT_FALSE(facts.browser);
    /* unanswered SYNs: a reconnect 90 s later (Firefox's own connect
     * timeout) folds within a --syn-timeout window, not within 3 s */
    struct cs_flow_key dropped = conn(1, 40, 8080, 100.0);
    cs_timeline_conn_failed(tl, &dropped, CS_CONN_TIMED_OUT, 135 * NS, &facts);
    CU_ASSERT_FALSE(facts.retry);
    CU_ASSERT_TRUE(facts.browser);
    dropped.first_ts = 190 * NS;
    cs_timeline_conn_failed(tl, &dropped, CS_CONN_TIMED_OUT, 135 * NS, &facts);
    CU_ASSERT_TRUE(facts.retry);
    dropped.first_ts = 290 * NS;
    cs_timeline_conn_failed(tl, &dropped, CS_CONN_TIMED_OUT, 0, &facts);
    CU_ASSERT_FALSE(facts.retry);
    CU_ASSERT_EQUAL(cs_timeline_stats(tl)->reconnects_folded, 2);
    CU_ASSERT_EQUAL(cs_timeline_stats(tl)->retries_folded, 0);
    cs_timeline_free(tl);
}

/* The client table is bounded: past --max-http-clients it starts again. */
static void test_http_clients_bounded(void)
{
    struct cs_timeline *tl = cs_timeline_new_sized(4);
    for (uint8_t i = 1; i <= 5; i++) {
        struct cs_flow_key f = conn(i, 20, 80, 1.0);
        cs_timeline_http_client(tl, &f);
    }
    CU_ASSERT_EQUAL(cs_timeline_stats(tl)->http_clients_reset, 1);
    struct cs_tl_conn_facts facts;
    struct cs_flow_key f5 = conn(5, 30, 3000, 2.0), f1 = conn(1, 30, 3000, 2.0);
    cs_timeline_conn_failed(tl, &f5, CS_CONN_REFUSED, 0, &facts);
    CU_ASSERT_TRUE(facts.browser); /* remembered after the reset */
    cs_timeline_conn_failed(tl, &f1, CS_CONN_REFUSED, 0, &facts);
    CU_ASSERT_FALSE(facts.browser); /* forgotten */
    cs_timeline_free(tl);
}

/* What each browser reports for each failure (tests/browser measured). */
static void test_judge_conn(void)
{
    struct cs_conn_judgement j;
    cs_judge_conn(CS_CONN_REFUSED, 0, &j);
    CU_ASSERT_STRING_EQUAL(j.failure, "refused");
    CU_ASSERT_STRING_EQUAL(j.transport, "tcp");
    CU_ASSERT_STRING_EQUAL(j.firefox, "CORSDidNotSucceed");
    CU_ASSERT_STRING_EQUAL(j.chromium, "net::ERR_CONNECTION_REFUSED");
    cs_judge_conn(CS_CONN_TIMED_OUT, 0, &j);
    CU_ASSERT_STRING_EQUAL(j.chromium, "net::ERR_CONNECTION_TIMED_OUT");
    CU_ASSERT_STRING_EQUAL(j.firefox, "CORSDidNotSucceed");
    cs_judge_conn(CS_CONN_TLS_ALERT, 40, &j);
    CU_ASSERT_STRING_EQUAL(j.transport, "tls");
    CU_ASSERT_STRING_EQUAL(j.tls_alert, "handshake_failure");
    CU_ASSERT_STRING_EQUAL(j.chromium, "net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH");
    cs_judge_conn(CS_CONN_TLS_ALERT, 112, &j);
    CU_ASSERT_STRING_EQUAL(j.tls_alert, "unrecognized_name");
    CU_ASSERT_STRING_EQUAL(j.chromium, "net::ERR_SSL_UNRECOGNIZED_NAME_ALERT");
    cs_judge_conn(CS_CONN_TLS_ALERT, 250, &j);
    CU_ASSERT_PTR_NULL(j.tls_alert);
    CU_ASSERT_STRING_EQUAL(j.chromium, "net::ERR_SSL_PROTOCOL_ERROR");
    cs_judge_conn(CS_CONN_TLS_RESET, 0, &j);
    CU_ASSERT_STRING_EQUAL(j.chromium, "net::ERR_CONNECTION_RESET");
    cs_judge_conn(CS_CONN_TLS_CLOSED, 0, &j);
    CU_ASSERT_STRING_EQUAL(j.chromium, "net::ERR_CONNECTION_CLOSED");
    cs_judge_conn(CS_CONN_OK, 0, &j);
    CU_ASSERT_PTR_NULL(j.firefox);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"links a preflight across connections", test_links_preflight_across_connections},
        {"other client/method/URL not linked", test_other_client_or_method_not_linked},
        {"cache hit within Max-Age, miss after", test_cache_hit_within_max_age},
        {"default Max-Age is 5 s", test_default_max_age_is_five_seconds},
        {"Firefox: no cache for IP-literal hosts", test_firefox_no_cache_for_ip_literal},
        {"Firefox: * never matches from the cache", test_firefox_wildcard_never_from_cache},
        {"Max-Age 0 is not cached", test_max_age_zero_not_cached},
        {"simple requests need no explanation", test_simple_request_needs_no_explanation},
        {"retries folded within the window", test_retries_folded_within_window},
        {"pending preflights bounded", test_pending_table_bounded},
        {"failed connections: browser rule, reconnects", test_conn_failed_browser_and_reconnects},
        {"HTTP client table bounded", test_http_clients_bounded},
        {"failed connections: each browser's error", test_judge_conn},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("timeline", cases);
    return cs_test_run();
}
