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

/* ---- preflights decided by what follows (issue 16 §1) ---------------------- */

/* A PUT preflight for /p on api.example answered with rs[0..n), judged
 * with credentials `cred` (UNKNOWN: as the pipeline first judges it). */
static void judge_pf(const corscope_header *rs, size_t n, corscope_cred cred, corscope_verdict *v,
                     corscope_request *req_out, corscope_response *resp_out)
{
    static const corscope_header rq[] = {
        {S("Host"), S("api.example")},
        {S("Origin"), S(ORIGIN)},
        {S("Access-Control-Request-Method"), S("PUT")},
    };
    corscope_request req = {.method = "OPTIONS", .method_len = 7, .target = "/p", .target_len = 2, .headers = rq, .n_headers = 3};
    corscope_response resp = {204, rs, n};
    corscope_context ctx = {.credentials = cred};
    CU_ASSERT_EQUAL_FATAL(corscope_classify(&req, &resp, &ctx, v), 0);
    CU_ASSERT_EQUAL(v->kind, CORSCOPE_KIND_PREFLIGHT);
    if (req_out)
        *req_out = req;
    if (resp_out)
        *resp_out = resp;
}

static struct cs_tl_decision decide(const corscope_header *rs, size_t n, enum cs_tl_follow follow)
{
    corscope_verdict vo, vi;
    judge_pf(rs, n, CORSCOPE_CRED_OMIT, &vo, NULL, NULL);
    judge_pf(rs, n, CORSCOPE_CRED_INCLUDE, &vi, NULL, NULL);
    struct cs_tl_decision d;
    cs_timeline_decide(&vo, &vi, follow, &d);
    return d;
}

static const corscope_header acao_star[] = {
    {S("Access-Control-Allow-Origin"), S("*")},
    {S("Access-Control-Allow-Methods"), S("PUT")},
    {S("Access-Control-Allow-Credentials"), S("true")},
};
static const corscope_header acam_star[] = {
    {S("Access-Control-Allow-Origin"), S(ORIGIN)},
    {S("Access-Control-Allow-Methods"), S("*")},
    {S("Access-Control-Allow-Credentials"), S("true")},
};
static const corscope_header no_acac[] = {
    {S("Access-Control-Allow-Origin"), S(ORIGIN)},
    {S("Access-Control-Allow-Methods"), S("PUT")},
};
static const corscope_header every_mode[] = {
    {S("Access-Control-Allow-Origin"), S(ORIGIN)},
    {S("Access-Control-Allow-Methods"), S("PUT")},
    {S("Access-Control-Allow-Credentials"), S("true")},
};
static const corscope_header no_mode[] = {
    {S("Access-Control-Allow-Origin"), S("http://other.example")},
};

static void test_decide_followed_is_the_passing_mode(void)
{
    const corscope_header *cases[] = {acao_star, acam_star, no_acac};
    size_t ns[] = {3, 3, 2};
    for (int i = 0; i < 3; i++) {
        struct cs_tl_decision d = decide(cases[i], ns[i], CS_TL_FOLLOW_SEEN);
        CU_ASSERT_EQUAL(d.credentials, CORSCOPE_CRED_OMIT);
        CU_ASSERT_FALSE(d.blocked);
        CU_ASSERT_FALSE(d.gave_up);
    }
}

static void test_decide_nothing_followed_is_the_failing_mode(void)
{
    const corscope_header *cases[] = {acao_star, acam_star, no_acac};
    size_t ns[] = {3, 3, 2};
    for (int i = 0; i < 3; i++) {
        for (int f = CS_TL_FOLLOW_WINDOW; f <= CS_TL_FOLLOW_END; f++) {
            struct cs_tl_decision d = decide(cases[i], ns[i], (enum cs_tl_follow)f);
            CU_ASSERT_EQUAL(d.credentials, CORSCOPE_CRED_INCLUDE);
            CU_ASSERT_TRUE(d.blocked);
            CU_ASSERT_FALSE(d.gave_up);
        }
    }
}

static void test_decide_allowed_in_every_mode(void)
{
    struct cs_tl_decision d = decide(every_mode, 3, CS_TL_FOLLOW_WINDOW);
    CU_ASSERT_EQUAL(d.credentials, CORSCOPE_CRED_UNKNOWN);
    CU_ASSERT_FALSE(d.blocked); /* the page gave up: not blocked */
    CU_ASSERT_TRUE(d.gave_up);
    d = decide(every_mode, 3, CS_TL_FOLLOW_SEEN);
    CU_ASSERT_EQUAL(d.credentials, CORSCOPE_CRED_UNKNOWN);
    CU_ASSERT_FALSE(d.gave_up);
    /* blocked in every mode: nothing to decide either way */
    d = decide(no_mode, 1, CS_TL_FOLLOW_WINDOW);
    CU_ASSERT_EQUAL(d.credentials, CORSCOPE_CRED_UNKNOWN);
    CU_ASSERT_FALSE(d.gave_up);
    d = decide(no_acac, 2, CS_TL_FOLLOW_UNDECIDED);
    CU_ASSERT_EQUAL(d.credentials, CORSCOPE_CRED_UNKNOWN);
}

/* Stores the no_acac preflight for client c at time t in flow `flow` and
 * holds `payload` on it. */
static bool hold_pf(struct cs_timeline *tl, struct cs_addr c, cs_time_ns t, uint64_t frame,
                    uint64_t flow, void *payload)
{
    corscope_verdict v;
    corscope_request req;
    corscope_response resp;
    judge_pf(no_acac, 2, CORSCOPE_CRED_UNKNOWN, &v, &req, &resp);
    CU_ASSERT_TRUE(v.depends_on_credentials);
    struct cs_timeline_facts f;
    cs_timeline_after_preflight(tl, &c, &req, &resp, &v, frame, flow, S(ORIGIN), t, &f);
    return cs_timeline_hold(tl, payload);
}

struct released {
    void *payload[8];
    enum cs_tl_follow follow[8];
    int n;
};

static void on_release(void *ctx, void *payload, enum cs_tl_follow follow)
{
    struct released *r = ctx;
    if (r->n < 8) {
        r->payload[r->n] = payload;
        r->follow[r->n] = follow;
    }
    r->n++;
}

static void test_held_handed_back_by_its_actual_request(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    struct released rel = {0};
    cs_timeline_set_release(tl, on_release, &rel);
    int a;
    CU_ASSERT_TRUE(hold_pf(tl, client(1), 10 * NS, 7, 1, &a));
    CU_ASSERT_EQUAL(cs_timeline_held(tl), 1);
    /* 3 ms later, on another connection */
    cs_timeline_advance(tl, 10 * NS + 3000000);
    CU_ASSERT_EQUAL(rel.n, 0);
    struct cs_timeline_facts f = actual(tl, client(1), "api.example", "/p", "PUT", NULL, 10 * NS + 3000000);
    CU_ASSERT_PTR_EQUAL(f.held, &a);
    CU_ASSERT_EQUAL(f.held_age, 3000000);
    CU_ASSERT_EQUAL(f.what, CS_TL_LINKED);
    CU_ASSERT_EQUAL(cs_timeline_held(tl), 0);
    CU_ASSERT_EQUAL(cs_timeline_stats(tl)->held_followed, 1);
    cs_timeline_advance(tl, 100 * NS);
    CU_ASSERT_EQUAL(rel.n, 0); /* handed over once only */
    cs_timeline_free(tl);
}

static void test_held_released_when_window_closes(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    struct released rel = {0};
    cs_timeline_set_release(tl, on_release, &rel);
    cs_timeline_set_window(tl, NS / 2);
    CU_ASSERT_EQUAL(cs_timeline_window(tl), NS / 2);
    int a, b;
    CU_ASSERT_TRUE(hold_pf(tl, client(2), 10 * NS + 100, 9, 1, &b));
    CU_ASSERT_TRUE(hold_pf(tl, client(1), 10 * NS, 7, 1, &a));
    cs_timeline_advance(tl, 10 * NS + NS / 2 - 1); /* window still open */
    CU_ASSERT_EQUAL(rel.n, 0);
    cs_timeline_advance(tl, 11 * NS);
    CU_ASSERT_EQUAL_FATAL(rel.n, 2);
    /* oldest first, whatever the order of holding */
    CU_ASSERT_PTR_EQUAL(rel.payload[0], &a);
    CU_ASSERT_PTR_EQUAL(rel.payload[1], &b);
    CU_ASSERT_EQUAL(rel.follow[0], CS_TL_FOLLOW_WINDOW);
    CU_ASSERT_EQUAL(cs_timeline_held(tl), 0);
    CU_ASSERT_EQUAL(cs_timeline_stats(tl)->held_not_followed, 2);
    /* a late actual request still links, but hands nothing back */
    struct cs_timeline_facts f = actual(tl, client(1), "api.example", "/p", "PUT", NULL, 12 * NS);
    CU_ASSERT_EQUAL(f.preflight_frame, 7);
    CU_ASSERT_PTR_NULL(f.held);
    cs_timeline_free(tl);
}

static void test_held_released_at_end_of_input(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    struct released rel = {0};
    cs_timeline_set_release(tl, on_release, &rel);
    int a, b;
    CU_ASSERT_TRUE(hold_pf(tl, client(1), 10 * NS, 7, 1, &a));
    CU_ASSERT_TRUE(hold_pf(tl, client(2), 10 * NS, 8, 2, &b));
    cs_timeline_release_end(tl, 2); /* connection 2's input ended */
    CU_ASSERT_EQUAL_FATAL(rel.n, 1);
    CU_ASSERT_PTR_EQUAL(rel.payload[0], &b);
    CU_ASSERT_EQUAL(rel.follow[0], CS_TL_FOLLOW_END);
    cs_timeline_release_end(tl, 0); /* the capture ended */
    CU_ASSERT_EQUAL_FATAL(rel.n, 2);
    CU_ASSERT_PTR_EQUAL(rel.payload[1], &a);
    CU_ASSERT_EQUAL(cs_timeline_held(tl), 0);
    cs_timeline_free(tl);
}

static void test_held_table_bounded(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    struct released rel = {0};
    cs_timeline_set_release(tl, on_release, &rel);
    static int payload[CS_MAX_HELD_PREFLIGHTS + 1];
    for (unsigned i = 0; i < CS_MAX_HELD_PREFLIGHTS; i++)
        CU_ASSERT_TRUE(hold_pf(tl, client((uint8_t)(i % 250)), 10 * NS + i, i + 1, 1 + i / 250, &payload[i]));
    CU_ASSERT_EQUAL(cs_timeline_held(tl), CS_MAX_HELD_PREFLIGHTS);
    CU_ASSERT_FALSE(hold_pf(tl, client(251), 11 * NS, 999, 3, &payload[CS_MAX_HELD_PREFLIGHTS]));
    CU_ASSERT_EQUAL(cs_timeline_stats(tl)->held_not_held, 1);
    /* a pending slot reused by newer preflights hands its payload back undecided */
    for (unsigned i = 0; i < CS_TL_MAX_PENDING; i++) {
        corscope_verdict v;
        corscope_request req;
        corscope_response resp;
        judge_pf(no_acac, 2, CORSCOPE_CRED_UNKNOWN, &v, &req, &resp);
        struct cs_addr c = {.family = 4, .bytes = {198, 51, (uint8_t)(i >> 8), (uint8_t)i}};
        struct cs_timeline_facts f;
        cs_timeline_after_preflight(tl, &c, &req, &resp, &v, 5000 + i, 9, S(ORIGIN), 12 * NS, &f);
    }
    CU_ASSERT_EQUAL(rel.n, CS_MAX_HELD_PREFLIGHTS);
    CU_ASSERT_EQUAL(rel.follow[0], CS_TL_FOLLOW_UNDECIDED);
    CU_ASSERT_EQUAL(cs_timeline_held(tl), 0);
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
        {"decide: followed -> the passing mode", test_decide_followed_is_the_passing_mode},
        {"decide: nothing followed -> the failing mode, blocked", test_decide_nothing_followed_is_the_failing_mode},
        {"decide: allowed in every mode -> gave up, not blocked", test_decide_allowed_in_every_mode},
        {"held preflight handed back by its actual request", test_held_handed_back_by_its_actual_request},
        {"held preflights released when the window closes", test_held_released_when_window_closes},
        {"held preflights released at end of input", test_held_released_at_end_of_input},
        {"held preflights bounded", test_held_table_bounded},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("timeline", cases);
    return cs_test_run();
}
