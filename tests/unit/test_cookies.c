/* Cookie evidence for the credentials mode (cookies.h) and the same-site
 * test it rests on (site.h): registrable domains from the Public Suffix
 * List, the per-client table, and the judge's structured answer
 * (facts.credentials, facts.cred_from), not the wording. */
#include <string.h>

#include "testutil.h"
#include "cookies.h"
#include "corscope/cors.h"
#include "judge.h"
#include "site.h"
#include "timeline.h"

#define S(x) x, sizeof(x) - 1

static bool registrable(struct cs_site *s, const char *host, const char *want)
{
    char out[CS_SITE_HOST_MAX + 1];
    bool ok = cs_site_registrable(s, host, strlen(host), out, sizeof out);
    if (!want)
        return !ok;
    return ok && strcmp(out, want) == 0;
}

static void test_registrable_domain(void)
{
    struct cs_site *s = cs_site_new();
    CU_ASSERT_TRUE(registrable(s, "www.example.com", "example.com"));
    CU_ASSERT_TRUE(registrable(s, "API.Example.COM", "example.com"));
    CU_ASSERT_TRUE(registrable(s, "a.b.example.co.uk", "example.co.uk"));
    CU_ASSERT_TRUE(registrable(s, "example.com", "example.com"));
    CU_ASSERT_TRUE(registrable(s, "com", NULL)); /* a public suffix itself */
    CU_ASSERT_TRUE(registrable(s, "co.uk", NULL));
    CU_ASSERT_TRUE(registrable(s, "foo.github.io", "foo.github.io"));     /* private suffixes count */
    CU_ASSERT_TRUE(registrable(s, "app.corscope.test", "corscope.test")); /* unknown TLD: the "*" rule */
    CU_ASSERT_TRUE(registrable(s, "127.0.0.1", NULL));
    CU_ASSERT_TRUE(registrable(s, "[::1]", NULL));
    CU_ASSERT_TRUE(registrable(s, "localhost", NULL));
    CU_ASSERT_TRUE(registrable(s, "app.localhost", NULL));
    cs_site_free(s);
}

/* The answers are remembered per host (site.c's memo): asked again, in
 * another case, after 1,000 other hosts have taken the slots, or for a
 * host too long to be remembered, each answer stays what libpsl says. */
static void test_registrable_remembered(void)
{
    struct cs_site *s = cs_site_new();
    char host[300], want[300];
    for (int round = 0; round < 3; round++) {
        CU_ASSERT_TRUE(registrable(s, "www.example.com", "example.com"));
        CU_ASSERT_TRUE(registrable(s, "WWW.EXAMPLE.COM", "example.com"));
        CU_ASSERT_TRUE(registrable(s, "co.uk", NULL));
        CU_ASSERT_TRUE(registrable(s, "a.b.example.co.uk", "example.co.uk"));
        for (int i = 0; i < 1000; i++) {
            snprintf(host, sizeof host, "h%d.site%d.co.uk", i, i % 37);
            snprintf(want, sizeof want, "site%d.co.uk", i % 37);
            CU_ASSERT_TRUE(registrable(s, host, want));
        }
        /* 61, 62 and 63 characters: the last is never kept */
        for (size_t n = 61; n <= 63; n++) {
            memset(host, 'x', n - 12);
            memcpy(host + n - 12, ".example.org", 13);
            CU_ASSERT_EQUAL(strlen(host), n);
            CU_ASSERT_TRUE(registrable(s, host, "example.org"));
            host[0] = 'X';
            CU_ASSERT_TRUE(registrable(s, host, "example.org"));
        }
        memset(host, 'y', 250);
        memcpy(host + 250, ".io", 4);
        snprintf(want, sizeof want, "%s", host);
        CU_ASSERT_TRUE(registrable(s, host, want));
    }
    cs_site_free(s);
}

static bool same(struct cs_site *s, const char *a, const char *b)
{
    return cs_site_same(s, a, strlen(a), b, strlen(b));
}

static void test_same_site(void)
{
    struct cs_site *s = cs_site_new();
    CU_ASSERT_TRUE(same(s, "https://app.example.com", "https://api.example.com/x"));
    CU_ASSERT_TRUE(same(s, "https://app.example.com:8443", "https://example.com:9/x")); /* ports do not count */
    CU_ASSERT_FALSE(same(s, "http://app.example.com", "https://api.example.com/x"));    /* schemeful */
    CU_ASSERT_FALSE(same(s, "https://a.example.com", "https://a.example.org/"));
    CU_ASSERT_FALSE(same(s, "https://a.github.io", "https://b.github.io/"));
    CU_ASSERT_TRUE(same(s, "http://app.corscope.test:8080", "http://APP.corscope.test:8081/s/x")); /* same host */
    CU_ASSERT_TRUE(same(s, "http://app.corscope.test:8080", "http://api.corscope.test:8081/s/x"));
    CU_ASSERT_FALSE(same(s, "http://app.corscope.test:8080", "http://api.elsewhere.test:8081/s/x"));
    CU_ASSERT_TRUE(same(s, "http://127.0.0.1:8080", "http://127.0.0.1:8081/"));
    CU_ASSERT_FALSE(same(s, "http://127.0.0.1:8080", "http://127.0.0.2:8081/"));
    CU_ASSERT_TRUE(same(s, "http://[::1]:8080", "http://[::1]:9/"));
    CU_ASSERT_FALSE(same(s, "http://localhost:8080", "http://app.localhost:8080/"));
    CU_ASSERT_FALSE(same(s, "null", "http://a.example.com/"));
    CU_ASSERT_FALSE(same(s, "http://", "http://a.example.com/"));
    cs_site_free(s);
}

static const struct cs_addr CLIENT = {.family = 4, .bytes = {192, 0, 2, 1}};
static const struct cs_addr OTHER = {.family = 4, .bytes = {192, 0, 2, 2}};

static enum cs_cookie_evidence ask(struct cs_cookies *c, struct cs_site *s, const struct cs_addr *client,
                                   bool cookie, const char *origin, const char *url)
{
    corscope_header h[] = {{S("Cookie"), S("sid=1")}};
    corscope_request rq = {.method = "GET", .method_len = 3, .target = "/", .target_len = 1, .headers = h, .n_headers = cookie ? 1 : 0};
    return cs_cookies_request(c, s, client, &rq, origin, origin ? strlen(origin) : 0, url);
}

static void test_cookie_rules(void)
{
    struct cs_cookies *c = cs_cookies_new(0);
    struct cs_site *s = cs_site_new();
    const char *page = "https://app.example.com";
    /* nothing known yet: absence says nothing */
    CU_ASSERT_EQUAL(ask(c, s, &CLIENT, false, page, "https://api.example.com/a"), CS_COOKIE_NONE);
    CU_ASSERT_EQUAL(cs_cookies_bytes(c), 0);
    /* a cookie: include, and the host is remembered */
    CU_ASSERT_EQUAL(ask(c, s, &CLIENT, true, page, "https://api.example.com/a"), CS_COOKIE_SENT);
    CU_ASSERT_TRUE(cs_cookies_bytes(c) > 0);
    /* same-site, same scheme+host, no cookie: withheld (omit) */
    CU_ASSERT_EQUAL(ask(c, s, &CLIENT, false, page, "https://API.example.com:443/b"), CS_COOKIE_WITHHELD);
    /* another client, another host, another scheme: nothing known */
    CU_ASSERT_EQUAL(ask(c, s, &OTHER, false, page, "https://api.example.com/b"), CS_COOKIE_NONE);
    CU_ASSERT_EQUAL(ask(c, s, &CLIENT, false, page, "https://www.example.com/b"), CS_COOKIE_NONE);
    CU_ASSERT_EQUAL(ask(c, s, &CLIENT, false, "http://app.example.com", "http://api.example.com/b"), CS_COOKIE_NONE);
    /* cross-site absence proves nothing, even for a host that had cookies */
    CU_ASSERT_EQUAL(ask(c, s, &CLIENT, false, "https://app.example.org", "https://api.example.com/b"), CS_COOKIE_NONE);
    CU_ASSERT_EQUAL(ask(c, s, &CLIENT, false, NULL, "https://api.example.com/b"), CS_COOKIE_NONE);
    /* a cross-site cookie still proves include */
    CU_ASSERT_EQUAL(ask(c, s, &CLIENT, true, "https://app.example.org", "https://api.example.com/b"), CS_COOKIE_SENT);
    cs_cookies_free(c);
    cs_site_free(s);
}

/* Hosts of every length from 1 to 40 (the pair hash takes words, the last
 * one overlapping): each is known again in upper case, and a host that
 * differs from it in any one byte is not. */
static void test_cookie_host_lengths(void)
{
    struct cs_cookies *c = cs_cookies_new(0);
    struct cs_site *s = cs_site_new();
    char url[80], other[80];
    for (size_t n = 1; n <= 40; n++) {
        char host[48];
        for (size_t i = 0; i < n; i++)
            host[i] = (char)('a' + (i * 7 + n) % 26);
        host[n] = '\0';
        snprintf(url, sizeof url, "https://%s.test/", host);
        CU_ASSERT_EQUAL(ask(c, s, &CLIENT, true, NULL, url), CS_COOKIE_SENT);
        for (size_t i = 0; i < n; i++)
            host[i] = (char)(host[i] - 'a' + 'A');
        snprintf(url, sizeof url, "https://%s.test/x", host);
        snprintf(other, sizeof other, "https://a.%s.test", host);
        CU_ASSERT_EQUAL(ask(c, s, &CLIENT, false, other, url), CS_COOKIE_WITHHELD);
        for (size_t i = 0; i < n; i++) {
            char h2[48];
            memcpy(h2, host, n + 1);
            h2[i] = h2[i] == 'Z' ? 'Y' : (char)(h2[i] + 1);
            snprintf(url, sizeof url, "https://%s.test/x", h2);
            snprintf(other, sizeof other, "https://a.%s.test", h2);
            CU_ASSERT_EQUAL(ask(c, s, &CLIENT, false, other, url), CS_COOKIE_NONE);
        }
    }
    cs_cookies_free(c);
    cs_site_free(s);
}

static void test_cookie_table_bounded(void)
{
    struct cs_cookies *c = cs_cookies_new(100);
    struct cs_site *s = cs_site_new();
    char url[64];
    for (int i = 0; i < 150; i++) {
        snprintf(url, sizeof url, "https://h%d.example.com/", i);
        CU_ASSERT_EQUAL(ask(c, s, &CLIENT, true, NULL, url), CS_COOKIE_SENT);
    }
    CU_ASSERT_EQUAL(cs_cookies_refused(c), 50);
    CU_ASSERT_EQUAL(cs_cookies_bytes(c), 256 * sizeof(uint64_t)); /* at most half full */
    /* the first 100 are known, the rest not */
    CU_ASSERT_EQUAL(ask(c, s, &CLIENT, false, "https://a.example.com", "https://h99.example.com/x"), CS_COOKIE_WITHHELD);
    CU_ASSERT_EQUAL(ask(c, s, &CLIENT, false, "https://a.example.com", "https://h100.example.com/x"), CS_COOKIE_NONE);
    cs_cookies_free(c);
    cs_site_free(s);
}

/* The judge on a simple GET answered `*` (fails only with credentials). */
static void judge_get(struct cs_timeline *tl, const char *origin, const char *host, bool cookie,
                      struct cs_judgement *j)
{
    corscope_header rq[] = {{S("Host"), host, strlen(host)}, {S("Origin"), origin, strlen(origin)}, {S("Cookie"), S("sid=1")}};
    corscope_header rs[] = {{S("Access-Control-Allow-Origin"), S("*")}};
    struct cs_txn t = {.req = {.method = "GET", .method_len = 3, .target = "/data", .target_len = 5, .headers = rq, .n_headers = cookie ? 3 : 2, .scheme = "https", .scheme_len = 5},
                       .resp = {.status = 200, .headers = rs, .n_headers = 1},
                       .has_resp = true,
                       .end = CS_TXN_ANSWERED,
                       .req_ts = 1};
    struct cs_flow_key f = {.client = CLIENT, .id = 1};
    cs_judge(tl, &f, &t, origin, strlen(origin), j);
}

static void test_judge_uses_cookies(void)
{
    struct cs_timeline *tl = cs_timeline_new();
    struct cs_judgement j;
    /* no evidence yet: depends on the credentials mode */
    judge_get(tl, "https://app.example.com", "api.example.com", false, &j);
    CU_ASSERT_EQUAL(j.facts.credentials, CORSCOPE_CRED_UNKNOWN);
    CU_ASSERT_EQUAL(j.facts.cred_from, CS_TL_CRED_FROM_NONE);
    CU_ASSERT_TRUE(j.v.depends_on_credentials);
    /* Cookie: include, blocked (`*` with credentials) */
    judge_get(tl, "https://app.example.com", "api.example.com", true, &j);
    CU_ASSERT_EQUAL(j.v.credentials, CORSCOPE_CRED_INCLUDE);
    CU_ASSERT_EQUAL(j.facts.cred_from, CS_TL_CRED_FROM_COOKIE);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_BLOCKED);
    /* same-site, no Cookie now: omit, allowed, no longer depends */
    judge_get(tl, "https://app.example.com", "api.example.com", false, &j);
    CU_ASSERT_EQUAL(j.v.credentials, CORSCOPE_CRED_OMIT);
    CU_ASSERT_EQUAL(j.facts.cred_from, CS_TL_CRED_FROM_NO_COOKIE);
    CU_ASSERT_EQUAL(j.v.verdict, CORSCOPE_ALLOWED);
    CU_ASSERT_FALSE(j.v.depends_on_credentials);
    /* cross-site, no Cookie: still unknown */
    judge_get(tl, "https://app.example.org", "api.example.com", false, &j);
    CU_ASSERT_EQUAL(j.facts.credentials, CORSCOPE_CRED_UNKNOWN);
    CU_ASSERT_EQUAL(j.facts.cred_from, CS_TL_CRED_FROM_NONE);
    CU_ASSERT_TRUE(j.v.depends_on_credentials);
    cs_timeline_free(tl);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"registrable domain (Public Suffix List)", test_registrable_domain},
        {"registrable domains remembered per host", test_registrable_remembered},
        {"same-site: scheme and registrable domain", test_same_site},
        {"cookie hosts of every length", test_cookie_host_lengths},
        {"cookie rules: sent, withheld same-site, cross-site nothing", test_cookie_rules},
        {"cookie table bounded, refusals counted", test_cookie_table_bounded},
        {"the judge decides the mode from cookies", test_judge_uses_cookies},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("cookies", cases);
    return cs_test_run();
}
