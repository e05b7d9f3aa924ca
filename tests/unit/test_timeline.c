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
    corscope_response resp = {.status = 204, .headers = rs, .n_headers = nrs};
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
    corscope_response resp = {.status = 204, .headers = rs, .n_headers = n};
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

/* An h2 preflight whose stream ended before any response: reset by the
 * client, the page aborted it (neither browser reports anything: verdict
 * n/a, and the timeline neither remembers it nor says the actual request
 * will not be sent); reset by the server, both browsers report a failure. */
static void judge_pf_no_response(struct cs_timeline *tl, enum cs_txn_end end, struct cs_judgement *j)
{
    corscope_header rq[] = {{S("Host"), S("api.example")},
                            {S("Origin"), S(ORIGIN)},
                            {S("Access-Control-Request-Method"), S("PUT")}};
    struct cs_txn t = {.transport = CS_TRANSPORT_H2,
                       .req = {.method = "OPTIONS", .method_len = 7, .target = "/x", .target_len = 2, .headers = rq, .n_headers = 3},
                       .end = end,
                       .req_ts = 1,
                       .req_frame = 1,
                       .stream = 1};
    struct cs_flow_key f = {.client = client(1), .id = 1};
    cs_judge(tl, &f, &t, ORIGIN, strlen(ORIGIN), j);
}

static void test_aborted_stream_is_not_a_failure(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    struct cs_judgement j;
    judge_pf_no_response(tl, CS_TXN_ABORTED, &j);
    CU_ASSERT_EQUAL(j.v.kind, CORSCOPE_KIND_PREFLIGHT);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_NA);
    CU_ASSERT_EQUAL(j.v.firefox.verdict, CORSCOPE_NA);
    CU_ASSERT_EQUAL(j.v.chromium.verdict, CORSCOPE_NA);
    CU_ASSERT_PTR_NULL(j.v.firefox.reason);
    CU_ASSERT_PTR_NULL(j.v.chromium.chrome);
    CU_ASSERT_EQUAL(j.facts.what, CS_TL_NOTHING);
    CU_ASSERT_FALSE(j.retry);
    judge_pf_no_response(tl, CS_TXN_ABORTED, &j); /* a second abort is no retry either */
    CU_ASSERT_FALSE(j.retry);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_NA);

    judge_pf_no_response(tl, CS_TXN_STREAM_RESET, &j);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_BLOCKED);
    CU_ASSERT_STRING_EQUAL(j.v.firefox.reason, "CORSDidNotSucceed");
    CU_ASSERT_STRING_EQUAL(j.v.chromium.chrome, "net::ERR_HTTP2_PROTOCOL_ERROR");
    CU_ASSERT_EQUAL(j.facts.what, CS_TL_PREFLIGHT_BLOCKS);
    cs_timeline_free(tl);
}

/* A preflight whose answer is not in the capture (the capture ended, a
 * gap) is unknown: it is not said to fail, and an actual request after it
 * is linked to it, not "sent although its preflight failed". */
static void test_unknown_preflight_is_not_a_failure(void)
{
    static const enum cs_txn_end ends[] = {CS_TXN_CAPTURE_ENDED, CS_TXN_GAP};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        struct cs_timeline *tl = cs_timeline_new();
        struct cs_judgement j;
        judge_pf_no_response(tl, ends[i], &j);
        CU_ASSERT_EQUAL(j.v.kind, CORSCOPE_KIND_PREFLIGHT);
        CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_UNKNOWN);
        CU_ASSERT_EQUAL(j.facts.what, CS_TL_NOTHING);
        struct cs_timeline_facts f = actual(tl, client(1), "api.example", "/x", "PUT", NULL, 2);
        CU_ASSERT_EQUAL(f.what, CS_TL_LINKED);
        CU_ASSERT_EQUAL(f.preflight_frame, 1);
        cs_timeline_free(tl);
    }
    /* a reset, by contrast, is a failure the browsers report */
    struct cs_timeline *tl = cs_timeline_new();
    struct cs_judgement j;
    judge_pf_no_response(tl, CS_TXN_RESET, &j);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_BLOCKED);
    CU_ASSERT_EQUAL(j.facts.what, CS_TL_PREFLIGHT_BLOCKS);
    struct cs_timeline_facts f = actual(tl, client(1), "api.example", "/x", "PUT", NULL, 2);
    CU_ASSERT_EQUAL(f.what, CS_TL_SENT_AFTER_FAILED);
    cs_timeline_free(tl);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"links a preflight across connections", test_links_preflight_across_connections},
        {"an unknown preflight is not a failure", test_unknown_preflight_is_not_a_failure},
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
        {"failed connections: browser rule, reconnects", test_conn_failed_browser_and_reconnects},
        {"HTTP client table bounded", test_http_clients_bounded},
        {"failed connections: each browser's error", test_judge_conn},
        {"h2: a stream the client reset is the page's abort", test_aborted_stream_is_not_a_failure},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("timeline", cases);
    return cs_test_run();
}
