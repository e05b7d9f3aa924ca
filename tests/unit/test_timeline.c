/* Timeline: preflight links across connections, the per-browser
 * preflight-cache model (cors-reasons.md §1.8, §8.7), retry folding.
 * Asserts on the timeline's structured answer (what, frames, ages,
 * browsers); the sentences are the output stage's (explain.c). */
#include <string.h>

#include "testutil.h"
#include "corscope/cors.h"
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
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("timeline", cases);
    return cs_test_run();
}
