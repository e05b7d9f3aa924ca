/* Stored responses and 304s (stored.h): which responses are kept, which
 * 304s find theirs (validators), how the 304's fields update them, the
 * bound, and the judge's verdict on a 304 (the structured answer, not the
 * wording). */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "corscope/cors.h"
#include "judge.h"
#include "stored.h"
#include "timeline.h"

#define S(x) x, sizeof(x) - 1
#define ORIGIN "https://app.example"
#define URL "https://api.example/data"

static const struct cs_addr CLIENT = {4, {10, 0, 0, 1}};
static const struct cs_addr OTHER_CLIENT = {4, {10, 0, 0, 2}};

static corscope_request get(const corscope_header *h, size_t n)
{
    return (corscope_request){.method = "GET", .method_len = 3, .target = "/data", .target_len = 5, .headers = h, .n_headers = n};
}

static corscope_response resp(int status, const corscope_header *h, size_t n)
{
    return (corscope_response){.status = status, .headers = h, .n_headers = n};
}

/* Stores a 200 with ACAO and the given validator fields. */
static void store_200(struct cs_stored *s, const struct cs_addr *client, const char *url,
                      const corscope_header *extra, size_t n_extra, uint64_t frame)
{
    corscope_header h[8] = {{S("Access-Control-Allow-Origin"), S(ORIGIN)}, {S("Content-Type"), S("text/plain")}};
    if (n_extra)
        memcpy(h + 2, extra, n_extra * sizeof *h);
    corscope_request rq = get(NULL, 0);
    corscope_response rs = resp(200, h, 2 + n_extra);
    cs_stored_response(s, cs_timeline_request_key(client, S(ORIGIN), url), S(ORIGIN), url, &rq, &rs, frame);
}

/* A 304 to a request with cond (n_cond fields) carrying the 304 fields
 * f304: the view's value of name, or NULL when no stored response. */
static bool reval(struct cs_stored *s, const struct cs_addr *client, const char *url,
                  const corscope_header *cond, size_t n_cond, const corscope_header *f304,
                  size_t n304, struct cs_stored_view *v)
{
    corscope_request rq = get(cond, n_cond);
    corscope_response rs = resp(304, f304, n304);
    const struct cs_stored_view *got =
        cs_stored_revalidate(s, cs_timeline_request_key(client, S(ORIGIN), url), S(ORIGIN), url, &rq, &rs);
    if (got)
        *v = *got;
    return got != NULL;
}

static const char *field(const struct cs_stored_view *v, const char *name, char *buf, size_t size)
{
    const corscope_header *h = corscope_header_find(v->resp.headers, v->resp.n_headers, name);
    if (!h)
        return NULL;
    snprintf(buf, size, "%.*s", (int)h->value_len, h->value);
    return buf;
}

static void test_etag_and_last_modified(void)
{
    struct cs_stored *s = cs_stored_new(0);
    struct cs_stored_view v;
    char buf[64];
    corscope_header etag[] = {{S("ETag"), S("W/\"v1\"")}};
    store_200(s, &CLIENT, URL, etag, 1, 7);
    /* the same tag, weakly compared, in a list */
    corscope_header inm[] = {{S("If-None-Match"), S("\"v0\", \"v1\"")}};
    CU_ASSERT_TRUE(reval(s, &CLIENT, URL, inm, 1, NULL, 0, &v));
    CU_ASSERT_EQUAL(v.frame, 7);
    CU_ASSERT_EQUAL(v.resp.status, 200);
    CU_ASSERT_STRING_EQUAL(field(&v, "Access-Control-Allow-Origin", buf, sizeof buf), ORIGIN);
    CU_ASSERT_PTR_NULL(field(&v, "Content-Type", buf, sizeof buf)); /* only CORS fields and Vary are kept */
    /* another tag, no condition, another client, another URL, another origin: none */
    corscope_header other[] = {{S("If-None-Match"), S("\"v2\"")}};
    CU_ASSERT_FALSE(reval(s, &CLIENT, URL, other, 1, NULL, 0, &v));
    CU_ASSERT_FALSE(reval(s, &CLIENT, URL, NULL, 0, NULL, 0, &v));
    CU_ASSERT_FALSE(reval(s, &OTHER_CLIENT, URL, inm, 1, NULL, 0, &v));
    CU_ASSERT_FALSE(reval(s, &CLIENT, URL "2", inm, 1, NULL, 0, &v));
    {
        corscope_request rq = get(inm, 1);
        corscope_response rs = resp(304, NULL, 0);
        uint64_t key = cs_timeline_request_key(&CLIENT, S("https://evil.example"), URL);
        CU_ASSERT_PTR_NULL(cs_stored_revalidate(s, key, S("https://evil.example"), URL, &rq, &rs));
    }
    /* Last-Modified: If-Modified-Since with the same date */
    corscope_header lm[] = {{S("Last-Modified"), S("Tue, 01 Dec 2026 10:00:00 GMT")}};
    store_200(s, &CLIENT, URL "/lm", lm, 1, 9);
    corscope_header ims[] = {{S("If-Modified-Since"), S("Tue, 01 Dec 2026 10:00:00 GMT")}};
    corscope_header ims_other[] = {{S("If-Modified-Since"), S("Mon, 30 Nov 2026 10:00:00 GMT")}};
    CU_ASSERT_TRUE(reval(s, &CLIENT, URL "/lm", ims, 1, NULL, 0, &v));
    CU_ASSERT_EQUAL(v.frame, 9);
    CU_ASSERT_FALSE(reval(s, &CLIENT, URL "/lm", ims_other, 1, NULL, 0, &v));
    cs_stored_free(s);
}

static void test_what_is_not_kept(void)
{
    struct cs_stored *s = cs_stored_new(0);
    struct cs_stored_view v;
    corscope_header inm[] = {{S("If-None-Match"), S("\"v1\"")}};
    /* no-store: never kept */
    corscope_header nostore[] = {{S("ETag"), S("\"v1\"")}, {S("Cache-Control"), S("private, no-store")}};
    store_200(s, &CLIENT, URL, nostore, 2, 3);
    CU_ASSERT_FALSE(reval(s, &CLIENT, URL, inm, 1, NULL, 0, &v));
    /* kept, then replaced by a response without validators: forgotten */
    corscope_header etag[] = {{S("ETag"), S("\"v1\"")}};
    store_200(s, &CLIENT, URL, etag, 1, 4);
    store_200(s, &CLIENT, URL, NULL, 0, 5);
    CU_ASSERT_FALSE(reval(s, &CLIENT, URL, inm, 1, NULL, 0, &v));
    CU_ASSERT_EQUAL(cs_stored_bytes(s), 4096 * 16); /* the ring only */
    /* a POST's response: not a stored response */
    corscope_header h[] = {{S("ETag"), S("\"v1\"")}};
    corscope_request post = {.method = "POST", .method_len = 4, .target = "/data", .target_len = 5};
    corscope_response rs = resp(200, h, 1);
    cs_stored_response(s, cs_timeline_request_key(&CLIENT, S(ORIGIN), URL), S(ORIGIN), URL, &post, &rs, 6);
    CU_ASSERT_FALSE(reval(s, &CLIENT, URL, inm, 1, NULL, 0, &v));
    cs_stored_free(s);
}

/* The 304's fields replace the stored ones of the same name, for this
 * check and the next (the browser's stored response is updated). */
static void test_304_updates(void)
{
    struct cs_stored *s = cs_stored_new(0);
    struct cs_stored_view v;
    char buf[64];
    corscope_header first[] = {{S("ETag"), S("\"v1\"")}, {S("Access-Control-Allow-Credentials"), S("true")}, {S("Vary"), S("Origin")}};
    store_200(s, &CLIENT, URL, first, 3, 11);
    corscope_header inm[] = {{S("If-None-Match"), S("\"v1\"")}};
    corscope_header upd[] = {{S("access-control-allow-origin"), S("https://other.example")}, {S("ETag"), S("\"v2\"")}};
    CU_ASSERT_TRUE(reval(s, &CLIENT, URL, inm, 1, upd, 2, &v));
    CU_ASSERT_STRING_EQUAL(field(&v, "Access-Control-Allow-Origin", buf, sizeof buf), "https://other.example");
    CU_ASSERT_STRING_EQUAL(field(&v, "Access-Control-Allow-Credentials", buf, sizeof buf), "true");
    CU_ASSERT_STRING_EQUAL(field(&v, "Vary", buf, sizeof buf), "Origin");
    CU_ASSERT_EQUAL(v.resp.n_headers, 3); /* one ACAO: the 304's replaced the stored one */
    /* the update stays; the new ETag is what names it now */
    CU_ASSERT_FALSE(reval(s, &CLIENT, URL, inm, 1, NULL, 0, &v));
    corscope_header inm2[] = {{S("If-None-Match"), S("\"v2\"")}};
    CU_ASSERT_TRUE(reval(s, &CLIENT, URL, inm2, 1, NULL, 0, &v));
    CU_ASSERT_STRING_EQUAL(field(&v, "Access-Control-Allow-Origin", buf, sizeof buf), "https://other.example");
    CU_ASSERT_EQUAL(v.frame, 11);
    cs_stored_free(s);
}

/* At most `max` responses: the oldest go first, a refreshed one counts as new. */
static void test_bounded(void)
{
    struct cs_stored *s = cs_stored_new(100);
    struct cs_stored_view v;
    corscope_header etag[] = {{S("ETag"), S("\"v1\"")}};
    corscope_header inm[] = {{S("If-None-Match"), S("\"v1\"")}};
    char url[64];
    for (int i = 0; i < 150; i++) {
        snprintf(url, sizeof url, URL "/%d", i);
        store_200(s, &CLIENT, url, etag, 1, (uint64_t)i + 1);
        if (i == 60) { /* /0 refreshed by a 304: the newest then */
            CU_ASSERT_TRUE(reval(s, &CLIENT, URL "/0", inm, 1, NULL, 0, &v));
        }
    }
    size_t bytes = cs_stored_bytes(s);
    /* kept: /51 to /149 and the refreshed /0; each 304 below refreshes its
     * response again, so /0's turns /51 out */
    CU_ASSERT_TRUE(reval(s, &CLIENT, URL "/0", inm, 1, NULL, 0, &v));
    for (int i = 1; i < 150; i++) {
        snprintf(url, sizeof url, URL "/%d", i);
        CU_ASSERT_EQUAL(reval(s, &CLIENT, url, inm, 1, NULL, 0, &v), i >= 52);
    }
    CU_ASSERT_TRUE(bytes < 100 * 512 + 100 * 16 + 100 * 48);
    cs_stored_free(s);
}

/* The bytes are bounded too: large responses push the oldest out, and one
 * too large to keep is not kept (a hostile server cannot fill memory). */
static void test_budget(void)
{
    struct cs_stored *s = cs_stored_new(0);
    struct cs_stored_view v;
    corscope_header inm[] = {{S("If-None-Match"), S("\"v1\"")}};
    static char big[2000];
    memset(big, 'x', sizeof big);
    char url[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(url, sizeof url, URL "/%d", i);
        corscope_header h[] = {{S("ETag"), S("\"v1\"")}, {S("Access-Control-Expose-Headers"), big, 800}};
        store_200(s, &CLIENT, url, h, 2, (uint64_t)i + 1);
    }
    size_t table = 4096 * 16 + 6 * sizeof(void *) * 4096;
    CU_ASSERT_TRUE(cs_stored_bytes(s) <= CS_STORED_BUDGET + table);
    CU_ASSERT_TRUE(cs_stored_bytes(s) > CS_STORED_BUDGET / 2);
    CU_ASSERT_TRUE(reval(s, &CLIENT, URL "/2999", inm, 1, NULL, 0, &v));
    CU_ASSERT_FALSE(reval(s, &CLIENT, URL "/0", inm, 1, NULL, 0, &v));
    /* over CS_STORED_MAX_BYTES: not kept */
    corscope_header huge[] = {{S("ETag"), S("\"v1\"")}, {S("Access-Control-Expose-Headers"), big, sizeof big}};
    store_200(s, &CLIENT, URL "/huge", huge, 2, 1);
    CU_ASSERT_FALSE(reval(s, &CLIENT, URL "/huge", inm, 1, NULL, 0, &v));
    cs_stored_free(s);
}

/* The judge: a 304 is judged as its stored 200, updated; one whose 200 is
 * not in the capture stays unknown. */
static void judge(struct cs_timeline *tl, int status, const corscope_header *rh, size_t rn,
                  bool conditional, uint64_t frame, struct cs_judgement *j)
{
    corscope_header rq[] = {{S("Host"), S("api.example")}, {S("Origin"), S(ORIGIN)}, {S("If-None-Match"), S("\"v1\"")}};
    struct cs_txn t = {.req = {.method = "GET", .method_len = 3, .target = "/data", .target_len = 5, .headers = rq, .n_headers = conditional ? 3 : 2, .scheme = "https", .scheme_len = 5},
                       .resp = {.status = status, .headers = rh, .n_headers = rn},
                       .has_resp = true,
                       .end = CS_TXN_ANSWERED,
                       .req_ts = 1,
                       .resp_frame = frame};
    struct cs_flow_key f = {.client = CLIENT, .id = 1};
    cs_judge(tl, &f, &t, S(ORIGIN), j);
}

static void test_judge_304(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    struct cs_judgement j;
    /* no stored response: unknown */
    judge(tl, 304, NULL, 0, true, 2, &j);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_UNKNOWN);
    CU_ASSERT_EQUAL(j.stored_frame, 0);
    corscope_header ok[] = {{S("Access-Control-Allow-Origin"), S(ORIGIN)}, {S("ETag"), S("\"v1\"")}};
    judge(tl, 200, ok, 2, false, 5, &j);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_ALLOWED);
    /* a 304 without ACAO: the stored one holds */
    judge(tl, 304, NULL, 0, true, 9, &j);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_ALLOWED);
    CU_ASSERT_EQUAL(j.stored_frame, 5);
    /* a 304 with another ACAO: blocked, as the browsers do */
    corscope_header mismatch[] = {{S("Access-Control-Allow-Origin"), S("https://other.example")}};
    judge(tl, 304, mismatch, 1, true, 12, &j);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_BLOCKED);
    CU_ASSERT_STRING_EQUAL(j.v.firefox.reason, "CORSAllowOriginNotMatchingOrigin");
    CU_ASSERT_EQUAL(j.stored_frame, 5);
    /* not conditional (no validators named): unknown */
    judge(tl, 304, NULL, 0, false, 14, &j);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_UNKNOWN);
    cs_timeline_free(tl);
}

/* The page's own conditional request: its preflight announced
 * If-None-Match, so the browser checks the 304 itself (blocked without
 * ACAO, "Status code: 304"), whatever is stored. */
static void test_judge_page_conditional(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    struct cs_judgement j;
    corscope_header ok[] = {{S("Access-Control-Allow-Origin"), S(ORIGIN)}, {S("ETag"), S("\"v1\"")}};
    judge(tl, 200, ok, 2, false, 5, &j);
    corscope_header pq[] = {{S("Host"), S("api.example")},
                            {S("Origin"), S(ORIGIN)},
                            {S("Access-Control-Request-Method"), S("GET")},
                            {S("Access-Control-Request-Headers"), S("if-none-match")}};
    corscope_header pr[] = {{S("Access-Control-Allow-Origin"), S(ORIGIN)},
                            {S("Access-Control-Allow-Methods"), S("GET")},
                            {S("Access-Control-Allow-Headers"), S("If-None-Match")}};
    struct cs_txn pf = {.req = {.method = "OPTIONS", .method_len = 7, .target = "/data", .target_len = 5, .headers = pq, .n_headers = 4, .scheme = "https", .scheme_len = 5},
                        .resp = {.status = 204, .headers = pr, .n_headers = 3},
                        .has_resp = true,
                        .end = CS_TXN_ANSWERED,
                        .req_ts = 1,
                        .req_frame = 7,
                        .resp_frame = 8};
    struct cs_flow_key f = {.client = CLIENT, .id = 1};
    cs_judge(tl, &f, &pf, S(ORIGIN), &j);
    CU_ASSERT_EQUAL(j.v.kind, CORSCOPE_KIND_PREFLIGHT);
    judge(tl, 304, NULL, 0, true, 10, &j);
    CU_ASSERT_TRUE(j.conditional_by_page);
    CU_ASSERT_EQUAL(j.stored_frame, 0);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_BLOCKED);
    CU_ASSERT_STRING_EQUAL(j.v.firefox.reason, "CORSMissingAllowOrigin");
    CU_ASSERT_PTR_NOT_NULL(strstr(j.v.firefox.message, "Status code: 304."));
    cs_timeline_free(tl);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"validators: ETag (weak, lists), Last-Modified", test_etag_and_last_modified},
        {"no-store, no validators, POST: not kept", test_what_is_not_kept},
        {"a 304's fields update the stored response", test_304_updates},
        {"bounded: the oldest go first", test_bounded},
        {"bounded in bytes; a huge response is not kept", test_budget},
        {"the judge on a 304", test_judge_304},
        {"the page's own conditional request: the 304 itself", test_judge_page_conditional},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("stored", cases);
    return cs_test_run();
}
