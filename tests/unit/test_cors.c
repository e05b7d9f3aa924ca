/* Unit tests for the CORS classifier (src/cors*.c, include/corscope/cors.h).
 *
 * Requests and responses are written as small texts: the first line is
 * "METHOD target" or "STATUS", then "Name: value" lines.  Every header name
 * and value is copied to the end of its own page (guarded_copy), so any read
 * past a length faults at once. */
#include <errno.h>
#include <stdio.h>
#include "testutil.h"
#include "corscope/cors.h"

#define MAXH 24

struct msg {
    corscope_header h[MAXH];
    struct guarded g[2 * MAXH + 2];
    size_t ng;
    corscope_request req;
    corscope_response resp;
};

static const char *guard_str(struct msg *m, const char *s, size_t len)
{
    m->g[m->ng] = guarded_copy(s, len);
    return (const char *)m->g[m->ng++].data;
}

/* Parses the text form into m (request when is_req, else response). */
static void build(struct msg *m, const char *text, bool is_req)
{
    memset(m, 0, sizeof *m);
    const char *nl = strchr(text, '\n');
    size_t first = nl ? (size_t)(nl - text) : strlen(text);
    if (is_req) {
        const char *sp = memchr(text, ' ', first);
        CU_ASSERT_FATAL(sp != NULL);
        m->req.method = guard_str(m, text, (size_t)(sp - text));
        m->req.method_len = (size_t)(sp - text);
        m->req.target = guard_str(m, sp + 1, first - (size_t)(sp - text) - 1);
        m->req.target_len = first - (size_t)(sp - text) - 1;
    } else {
        m->resp.status = atoi(text);
    }
    size_t n = 0;
    for (const char *p = nl ? nl + 1 : text + first; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        CU_ASSERT_FATAL(colon != NULL && n < MAXH);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        m->h[n].name = guard_str(m, p, (size_t)(colon - p));
        m->h[n].name_len = (size_t)(colon - p);
        m->h[n].value = guard_str(m, v, (size_t)(p + len - v));
        m->h[n].value_len = (size_t)(p + len - v);
        n++;
        p += len + (e ? 1 : 0);
    }
    if (is_req) {
        m->req.headers = m->h;
        m->req.n_headers = n;
    } else {
        m->resp.headers = m->h;
        m->resp.n_headers = n;
    }
}

static void drop(struct msg *m)
{
    for (size_t i = 0; i < m->ng; i++)
        guarded_free(&m->g[i]);
    m->ng = 0;
}

static struct msg rq, rs; /* test scratch: too big for the stack comfortably */

static int classify_over(const char *req, const char *resp, corscope_cred cred,
                         corscope_failure fail, bool tainted, bool over_h2, corscope_verdict *v)
{
    corscope_context ctx = {
        .credentials = cred, .failure = fail, .redirect_tainted = tainted, .over_h2 = over_h2};
    build(&rq, req, true);
    if (resp)
        build(&rs, resp, false);
    int rc = corscope_classify(&rq.req, resp ? &rs.resp : NULL, &ctx, v);
    drop(&rq);
    if (resp)
        drop(&rs);
    return rc;
}

static int classify(const char *req, const char *resp, corscope_cred cred,
                    corscope_failure fail, bool tainted, corscope_verdict *v)
{
    return classify_over(req, resp, cred, fail, tainted, false, v);
}

/* ---- shorthands ---- */
#define ORIGIN "https://app.example"
#define O "Origin: " ORIGIN "\n"
#define H "Host: api.example\n"
#define GET "GET /data\n" H O
#define GETC GET "Cookie: s=1\n"
#define PF(m) "OPTIONS /data\n" H O "Access-Control-Request-Method: " m "\n"
#define PFH(m, h) PF(m) "Access-Control-Request-Headers: " h "\n"
#define ACAO "Access-Control-Allow-Origin: " ORIGIN "\n"
#define STAR "Access-Control-Allow-Origin: *\n"
#define ACAC "Access-Control-Allow-Credentials: true\n"
#define UNK CORSCOPE_CRED_UNKNOWN
#define OMIT CORSCOPE_CRED_OMIT
#define INC CORSCOPE_CRED_INCLUDE
#define B CORSCOPE_BLOCKED
#define A CORSCOPE_ALLOWED
#define W CORSCOPE_WARNING
#define U CORSCOPE_UNKNOWN
#define NA CORSCOPE_NA

struct tcase {
    const char *name;
    const char *req, *resp;
    corscope_cred cred;
    corscope_failure fail;
    corscope_outcome ff;
    const char *ff_reason; /* NULL = none expected */
    corscope_outcome ch;
    const char *ch_name; /* NULL = none expected */
    bool depends;
};

#define NOFAIL CORSCOPE_FAIL_NONE

static const struct tcase cases[] = {
    /* --- success paths --- */
    {"simple wildcard", GET, "200\n" STAR, OMIT, NOFAIL, A, NULL, A, NULL, false},
    {"simple wildcard, cred unknown: depends", GET, "200\n" STAR, UNK, NOFAIL, A, NULL, A, NULL, true},
    {"simple exact origin", GET, "200\n" ACAO "Vary: Origin\n", OMIT, NOFAIL, A, NULL, A, NULL, false},
    {"credentialed exact + ACAC", GETC, "200\n" ACAO ACAC, UNK, NOFAIL, A, NULL, A, NULL, false},
    {"actual 404 with ACAO passes", GET, "404\n" ACAO, OMIT, NOFAIL, A, NULL, A, NULL, false},
    {"preflight ok", PFH("PUT", "content-type,x-a"),
     "204\n" ACAO "Access-Control-Allow-Methods: GET, PUT\nAccess-Control-Allow-Headers: Content-Type, X-A\n",
     OMIT, NOFAIL, A, NULL, A, NULL, false},
    {"preflight list with empty elements", PFH("PUT", "x-a"),
     "200\n" ACAO "Access-Control-Allow-Methods: GET, , PUT,\nAccess-Control-Allow-Headers: ,x-a\n",
     OMIT, NOFAIL, A, NULL, A, NULL, false},
    /* an ACAH split over two lines with other lines between them, one of
     * its length (ACAM): only the ACAH lines list headers */
    {"preflight ACAH over two lines", PFH("PUT", "x-a,x-c"),
     "204\n" ACAO "Access-Control-Allow-Headers: x-a\nAccess-Control-Allow-Methods: PUT, x-b\nVary: Origin\n"
     "access-control-allow-headers: , X-C ,\n",
     OMIT, NOFAIL, A, NULL, A, NULL, false},
    {"preflight ACAH over two lines, ACAM between not read", PFH("PUT", "x-a,x-b"),
     "204\n" ACAO "Access-Control-Allow-Headers: x-a\nAccess-Control-Allow-Methods: PUT, x-b\nVary: Origin\n"
     "access-control-allow-headers: , X-C ,\n",
     OMIT, NOFAIL, B, "CORSMissingAllowHeaderFromPreflight", B, "HeaderDisallowedByPreflightResponse", false},
    {"preflight POST implicit", PFH("POST", "x-a"), "204\n" STAR "Access-Control-Allow-Headers: x-a\n",
     OMIT, NOFAIL, A, NULL, A, NULL, false},
    {"preflight wildcard non-cred", PFH("DELETE", "x-a,x-b"),
     "204\n" STAR "Access-Control-Allow-Methods: *\nAccess-Control-Allow-Headers: *\n",
     OMIT, NOFAIL, A, NULL, A, NULL, false},
    {"preflight headers case-insensitive", PFH("PUT", "x-custom"),
     "204\n" ACAO "Access-Control-Allow-Methods: PUT\nAccess-Control-Allow-Headers: X-Custom\n",
     OMIT, NOFAIL, A, NULL, A, NULL, false},
    {"preflight credentialed ok", PFH("PUT", "x-a"),
     "204\n" ACAO ACAC "Access-Control-Allow-Methods: PUT\nAccess-Control-Allow-Headers: x-a\n",
     INC, NOFAIL, A, NULL, A, NULL, false},
    {"redirect with ACAO followed", GET, "302\n" ACAO "Location: https://cdn.example/x\n",
     OMIT, NOFAIL, A, NULL, A, NULL, false},
    {"redirect relative Location", GET, "301\n" STAR "Location: /new\n", OMIT, NOFAIL, A, NULL, A, NULL, false},
    {"null origin with ACAO null", "GET /d\n" H "Origin: null\n", "200\nAccess-Control-Allow-Origin: null\n",
     OMIT, NOFAIL, A, NULL, A, NULL, false},

    /* --- CORSMissingAllowOrigin --- */
    {"missing: simple 200", GET, "200\nContent-Type: text/plain\n", OMIT, NOFAIL,
     B, "CORSMissingAllowOrigin", B, "MissingAllowOriginHeader", false},
    {"missing: 500 either cred", GET, "500\n", UNK, NOFAIL,
     B, "CORSMissingAllowOrigin", B, "MissingAllowOriginHeader", false},
    {"missing: 404 preflight (ACAO before status)", PF("PUT"), "404\n", OMIT, NOFAIL,
     B, "CORSMissingAllowOrigin", B, "PreflightMissingAllowOriginHeader", false},
    {"missing: 405 preflight with ACAM", PF("PUT"), "405\nAccess-Control-Allow-Methods: PUT\n", OMIT,
     NOFAIL, B, "CORSMissingAllowOrigin", B, "PreflightMissingAllowOriginHeader", false},
    {"missing: actual redirect", GET, "302\nLocation: https://b.example/\n", OMIT, NOFAIL,
     B, "CORSMissingAllowOrigin", B, "MissingAllowOriginHeader", false},
    {"missing: preflight 301 (Chromium redirect)", PF("PUT"), "301\nLocation: https://x/\n", OMIT,
     NOFAIL, B, "CORSMissingAllowOrigin", B, "PreflightDisallowedRedirect", false},
    {"missing: cookie with ACAC only", GETC, "200\n" ACAC, UNK, NOFAIL,
     B, "CORSMissingAllowOrigin", B, "MissingAllowOriginHeader", false},

    /* --- CORSAllowOriginNotMatchingOrigin --- */
    {"mismatch: other origin", GET, "200\nAccess-Control-Allow-Origin: https://other.example\n", OMIT,
     NOFAIL, B, "CORSAllowOriginNotMatchingOrigin", B, "AllowOriginMismatch", false},
    {"mismatch: trailing slash", GET, "200\nAccess-Control-Allow-Origin: https://app.example/\n", OMIT,
     NOFAIL, B, "CORSAllowOriginNotMatchingOrigin", B, "AllowOriginMismatch", false},
    {"mismatch: one line A, C (Chromium multiple)", GET,
     "200\nAccess-Control-Allow-Origin: https://app.example, https://c.example\n", OMIT, NOFAIL,
     B, "CORSAllowOriginNotMatchingOrigin", B, "MultipleAllowOriginValues", false},
    {"mismatch: exact + lower-case duplicate", GET,
     "200\n" ACAO "access-control-allow-origin: https://app.example\n", OMIT, NOFAIL,
     B, "CORSAllowOriginNotMatchingOrigin", B, "MultipleAllowOriginValues", false},
    {"mismatch: two lower-case lines", GET,
     "200\naccess-control-allow-origin: https://a.example\naccess-control-allow-origin: https://b.example\n",
     OMIT, NOFAIL, B, "CORSAllowOriginNotMatchingOrigin", B, "MultipleAllowOriginValues", false},
    {"mismatch: no scheme (Chromium invalid)", GET, "200\nAccess-Control-Allow-Origin: app.example\n",
     OMIT, NOFAIL, B, "CORSAllowOriginNotMatchingOrigin", B, "InvalidAllowOriginValue", false},
    {"mismatch: null", GET, "200\nAccess-Control-Allow-Origin: null\n", OMIT, NOFAIL,
     B, "CORSAllowOriginNotMatchingOrigin", B, "AllowOriginMismatch", false},
    {"mismatch: http vs https", GET, "200\nAccess-Control-Allow-Origin: http://app.example\n", OMIT,
     NOFAIL, B, "CORSAllowOriginNotMatchingOrigin", B, "AllowOriginMismatch", false},
    {"mismatch: preflight", PF("PUT"), "204\nAccess-Control-Allow-Origin: https://x.example\n", OMIT,
     NOFAIL, B, "CORSAllowOriginNotMatchingOrigin", B, "PreflightAllowOriginMismatch", false},
    {"mismatch: empty value is present", GET, "200\nAccess-Control-Allow-Origin: \n", OMIT, NOFAIL,
     B, "CORSAllowOriginNotMatchingOrigin", B, "InvalidAllowOriginValue", false},

    /* --- CORSMultipleAllowOriginNotAllowed --- */
    {"multiple: two exact same", GET, "200\n" ACAO ACAO, OMIT, NOFAIL,
     B, "CORSMultipleAllowOriginNotAllowed", B, "MultipleAllowOriginValues", false},
    {"multiple: two exact different", GET,
     "200\n" ACAO "Access-Control-Allow-Origin: https://b.example\n", OMIT, NOFAIL,
     B, "CORSMultipleAllowOriginNotAllowed", B, "MultipleAllowOriginValues", false},
    {"multiple: two stars", GET, "200\n" STAR STAR, OMIT, NOFAIL,
     B, "CORSMultipleAllowOriginNotAllowed", B, "MultipleAllowOriginValues", false},
    {"multiple: preflight", PF("PUT"), "204\n" ACAO ACAO "Access-Control-Allow-Methods: PUT\n", OMIT,
     NOFAIL, B, "CORSMultipleAllowOriginNotAllowed", B, "PreflightMultipleAllowOriginValues", false},
    {"multiple: credentialed", GETC, "200\n" ACAO ACAO ACAC, UNK, NOFAIL,
     B, "CORSMultipleAllowOriginNotAllowed", B, "MultipleAllowOriginValues", false},
    {"multiple: exact, lower, exact", GET, "200\n" ACAO "access-control-allow-origin: x\n" ACAO, OMIT,
     NOFAIL, B, "CORSMultipleAllowOriginNotAllowed", B, "MultipleAllowOriginValues", false},

    /* --- CORSNotSupportingCredentials --- */
    {"cred star: cookie", GETC, "200\n" STAR, UNK, NOFAIL,
     B, "CORSNotSupportingCredentials", B, "WildcardOriginNotAllowed", false},
    {"cred star: ACAC true does not rescue", GETC, "200\n" STAR ACAC, UNK, NOFAIL,
     B, "CORSNotSupportingCredentials", B, "WildcardOriginNotAllowed", false},
    {"cred star: preflight of credentialed", PF("PUT"), "204\n" STAR "Access-Control-Allow-Methods: PUT\n",
     INC, NOFAIL, B, "CORSNotSupportingCredentials", B, "PreflightWildcardOriginNotAllowed", false},
    {"cred star: context include", "POST /p\n" H O "Content-Type: text/plain\n", "200\n" STAR, INC,
     NOFAIL, B, "CORSNotSupportingCredentials", B, "WildcardOriginNotAllowed", false},
    {"cred star: preflight unknown depends", PF("PUT"), "204\n" STAR "Access-Control-Allow-Methods: PUT\n",
     UNK, NOFAIL, A, NULL, A, NULL, true},

    /* --- CORSMissingAllowCredentials --- */
    {"acac: missing with cookie", GETC, "200\n" ACAO, UNK, NOFAIL,
     B, "CORSMissingAllowCredentials", B, "InvalidAllowCredentials", false},
    {"acac: True", GETC, "200\n" ACAO "Access-Control-Allow-Credentials: True\n", UNK, NOFAIL,
     B, "CORSMissingAllowCredentials", B, "InvalidAllowCredentials", false},
    {"acac: two lines", GETC, "200\n" ACAO ACAC ACAC, UNK, NOFAIL,
     B, "CORSMissingAllowCredentials", B, "InvalidAllowCredentials", false},
    {"acac: 1", GET, "200\n" ACAO "Access-Control-Allow-Credentials: 1\n", INC, NOFAIL,
     B, "CORSMissingAllowCredentials", B, "InvalidAllowCredentials", false},
    {"acac: preflight", PF("PUT"), "204\n" ACAO "Access-Control-Allow-Methods: PUT\n", INC, NOFAIL,
     B, "CORSMissingAllowCredentials", B, "PreflightInvalidAllowCredentials", false},
    {"acac: unknown depends", GET, "200\n" ACAO, UNK, NOFAIL, A, NULL, A, NULL, true},

    /* --- CORSPreflightDidNotSucceed --- */
    {"pf status: 404 with ACAO", PF("PUT"), "404\n" ACAO, OMIT, NOFAIL,
     B, "CORSPreflightDidNotSucceed", B, "PreflightInvalidStatus", false},
    {"pf status: 500 with star", PF("PUT"), "500\n" STAR, OMIT, NOFAIL,
     B, "CORSPreflightDidNotSucceed", B, "PreflightInvalidStatus", false},
    {"pf status: 401 with ACAM", PF("PUT"), "401\n" ACAO "Access-Control-Allow-Methods: PUT\n", OMIT,
     NOFAIL, B, "CORSPreflightDidNotSucceed", B, "PreflightInvalidStatus", false},
    {"pf status: 302 without Location", PF("PUT"), "302\n" ACAO, OMIT, NOFAIL,
     B, "CORSPreflightDidNotSucceed", B, "PreflightInvalidStatus", false},
    {"pf status: 304", PF("PUT"), "304\n" ACAO, OMIT, NOFAIL,
     B, "CORSPreflightDidNotSucceed", B, "PreflightInvalidStatus", false},
    {"pf status: 400 before bad ACAM", PF("PUT"), "400\n" ACAO "Access-Control-Allow-Methods: P;\n",
     OMIT, NOFAIL, B, "CORSPreflightDidNotSucceed", B, "PreflightInvalidStatus", false},

    /* --- CORSExternalRedirectNotAllowed --- */
    {"pf redirect: 301 star", PF("PUT"), "301\n" STAR "Location: https://x/\n", OMIT, NOFAIL,
     B, "CORSExternalRedirectNotAllowed", B, "PreflightDisallowedRedirect", false},
    {"pf redirect: 307 exact", PF("PUT"), "307\n" ACAO "Location: https://api.example/data/\n", OMIT,
     NOFAIL, B, "CORSExternalRedirectNotAllowed", B, "PreflightDisallowedRedirect", false},
    {"pf redirect: 308 credentialed", PF("PUT"), "308\n" ACAO ACAC "Location: /x\n", INC, NOFAIL,
     B, "CORSExternalRedirectNotAllowed", B, "PreflightDisallowedRedirect", false},
    {"pf redirect: 302 mismatch", PF("PUT"), "302\nAccess-Control-Allow-Origin: https://z\nLocation: /x\n",
     OMIT, NOFAIL, B, "CORSAllowOriginNotMatchingOrigin", B, "PreflightDisallowedRedirect", false},
    {"pf redirect: 303 star credentialed", PF("PUT"), "303\n" STAR "Location: /x\n", INC, NOFAIL,
     B, "CORSNotSupportingCredentials", B, "PreflightDisallowedRedirect", false},

    {"pf redirect: 302 http->https star", PFH("PUT", "x-a"), "302\n" STAR "Location: https://api.example/data\n",
     OMIT, NOFAIL, B, "CORSExternalRedirectNotAllowed", B, "PreflightDisallowedRedirect", false},
    {"pf redirect: 301 with ACAM", PF("DELETE"),
     "301\n" ACAO "Access-Control-Allow-Methods: DELETE\nLocation: /login\n", OMIT, NOFAIL,
     B, "CORSExternalRedirectNotAllowed", B, "PreflightDisallowedRedirect", false},

    /* --- CORSRequestNotHttp --- */
    /* Chromium values and the file:/javascript: rows corrected after running
     * Firefox 153.7 ESR and Chromium 156 (tests/browser, pcaps/browser/):
     * ftp: and javascript: give CorsDisabledScheme, not net::ERR_UNSAFE_REDIRECT;
     * Firefox gives CORSDidNotSucceed for file: and javascript:. */
    {"not http: ftp", GET, "302\n" ACAO "Location: ftp://files.example/a\n", OMIT, NOFAIL,
     B, "CORSRequestNotHttp", B, "CorsDisabledScheme", false},
    {"not http: about:blank", GET, "302\n" ACAO "Location: about:blank\n", OMIT, NOFAIL,
     B, "CORSRequestNotHttp", B, "net::ERR_UNSAFE_REDIRECT", false},
    {"not http: FTP upper", GET, "307\n" STAR "Location: FTP://x/\n", OMIT, NOFAIL,
     B, "CORSRequestNotHttp", B, "CorsDisabledScheme", false},
    {"not http: javascript", GET, "302\n" STAR "Location: javascript:alert(1)\n", OMIT, NOFAIL,
     B, "CORSDidNotSucceed", B, "CorsDisabledScheme", false},
    {"not http: file", GET, "301\n" ACAO "Location: file:///etc/passwd\n", OMIT, NOFAIL,
     B, "CORSDidNotSucceed", B, "net::ERR_UNSAFE_REDIRECT", false},
    {"not http: ftp 308 wildcard", GET, "308\n" STAR "Location: ftp://files.example/dir/f.txt\n", OMIT,
     NOFAIL, B, "CORSRequestNotHttp", B, "CorsDisabledScheme", false},
    {"not http: about:blank 303", GET, "303\n" STAR "Location: about:blank\n", OMIT, NOFAIL,
     B, "CORSRequestNotHttp", B, "net::ERR_UNSAFE_REDIRECT", false},
    {"not http: ACAO checked first", GET, "302\nLocation: ftp://x/\n", OMIT, NOFAIL,
     B, "CORSMissingAllowOrigin", B, "MissingAllowOriginHeader", false},

    /* --- CORSDidNotSucceed --- */
    {"no response: reset", GET, NULL, OMIT, CORSCOPE_FAIL_RESET,
     B, "CORSDidNotSucceed", B, "net::ERR_CONNECTION_RESET", false},
    {"no response: closed", GET, NULL, OMIT, CORSCOPE_FAIL_CLOSED,
     B, "CORSDidNotSucceed", B, "net::ERR_EMPTY_RESPONSE", false},
    {"no response: preflight reset", PF("PUT"), NULL, UNK, CORSCOPE_FAIL_RESET,
     B, "CORSDidNotSucceed", B, "net::ERR_CONNECTION_RESET", false},
    /* h2: RST_STREAM before the response (pcaps/browser/truth-h2.tsv,
     * reset-get and reset-preflight: both real browsers) */
    {"no response: h2 stream reset", GET, NULL, OMIT, CORSCOPE_FAIL_STREAM_RESET,
     B, "CORSDidNotSucceed", B, "net::ERR_HTTP2_PROTOCOL_ERROR", false},
    {"no response: h2 preflight stream reset", PF("PUT"), NULL, UNK, CORSCOPE_FAIL_STREAM_RESET,
     B, "CORSDidNotSucceed", B, "net::ERR_HTTP2_PROTOCOL_ERROR", false},
    /* a response both browsers refuse as malformed, over HTTP/1.x (a NUL in
     * the header block: tests/browser nul-in-other-value); over h2: h2_cases */
    {"no response: invalid HTTP/1 response", GET, NULL, OMIT, CORSCOPE_FAIL_MALFORMED,
     B, "CORSDidNotSucceed", B, "net::ERR_INVALID_HTTP_RESPONSE", false},
    {"no response: unanswered", GET, NULL, OMIT, CORSCOPE_FAIL_UNANSWERED,
     B, "CORSDidNotSucceed", B, "net::ERR_TIMED_OUT", false},
    {"redirect userinfo", GET, "302\n" ACAO "Location: http://user:pw@b.example/\n", OMIT, NOFAIL,
     B, "CORSDidNotSucceed", B, "RedirectContainsCredentials", false},
    {"redirect userinfo scheme-relative", GET, "307\n" STAR "Location: //u@b.example/x\n", OMIT, NOFAIL,
     B, "CORSDidNotSucceed", B, "RedirectContainsCredentials", false},
    {"redirect to data:", GET, "302\n" ACAO "Location: data:text/plain,hi\n", OMIT, NOFAIL,
     B, "CORSDidNotSucceed", B, "net::ERR_UNSAFE_REDIRECT", false},
    {"userinfo @ in path is fine", GET, "302\n" ACAO "Location: https://b.example/@me\n", OMIT, NOFAIL,
     A, NULL, A, NULL, false},

    /* --- CORSMethodNotFound --- */
    {"method: patch vs PATCH", PF("patch"), "204\n" ACAO "Access-Control-Allow-Methods: PATCH\n", OMIT,
     NOFAIL, B, "CORSMethodNotFound", B, "MethodDisallowedByPreflightResponse", false},
    {"method: PATCH vs patch", PF("PATCH"), "204\n" ACAO "Access-Control-Allow-Methods: patch\n", OMIT,
     NOFAIL, B, "CORSMethodNotFound", B, "MethodDisallowedByPreflightResponse", false},
    {"method: PATCH listed", PF("PATCH"), "204\n" ACAO "Access-Control-Allow-Methods: GET,PATCH\n", OMIT,
     NOFAIL, A, NULL, A, NULL, false},
    {"method: no ACAM", PF("PUT"), "204\n" ACAO, OMIT, NOFAIL,
     B, "CORSMethodNotFound", B, "MethodDisallowedByPreflightResponse", false},
    {"method: star credentialed", PF("PUT"), "204\n" ACAO ACAC "Access-Control-Allow-Methods: *\n", INC,
     NOFAIL, B, "CORSMethodNotFound", B, "MethodDisallowedByPreflightResponse", false},
    {"method: star unknown depends", PF("PUT"), "204\n" ACAO ACAC "Access-Control-Allow-Methods: *\n",
     UNK, NOFAIL, A, NULL, A, NULL, true},
    {"method: DELETE vs GET, POST", PF("DELETE"), "200\n" ACAO "Access-Control-Allow-Methods: GET, POST\n",
     OMIT, NOFAIL, B, "CORSMethodNotFound", B, "MethodDisallowedByPreflightResponse", false},

    /* --- CORSInvalidAllowMethod --- */
    {"bad ACAM: PUT;", PF("PUT"), "204\n" ACAO "Access-Control-Allow-Methods: PUT;\n", OMIT, NOFAIL,
     B, "CORSInvalidAllowMethod", B, "InvalidAllowMethodsPreflightResponse", false},
    {"bad ACAM: quoted", PF("PUT"), "204\n" ACAO "Access-Control-Allow-Methods: GET, \"PUT\"\n", OMIT,
     NOFAIL, B, "CORSInvalidAllowMethod", B, "InvalidAllowMethodsPreflightResponse", false},
    {"bad ACAM: space inside", PF("PUT"), "204\n" ACAO "Access-Control-Allow-Methods: X Foo\n", OMIT,
     NOFAIL, B, "CORSInvalidAllowMethod", B, "InvalidAllowMethodsPreflightResponse", false},
    {"bad ACAM: method present but list bad", PF("PUT"),
     "204\n" ACAO "Access-Control-Allow-Methods: PUT, DE LETE\n", OMIT, NOFAIL,
     B, "CORSInvalidAllowMethod", B, "InvalidAllowMethodsPreflightResponse", false},
    {"bad ACAM: header-only preflight", PFH("GET", "x-a"),
     "204\n" ACAO "Access-Control-Allow-Methods: G@T\nAccess-Control-Allow-Headers: x-a\n", OMIT, NOFAIL,
     B, "CORSInvalidAllowMethod", B, "InvalidAllowMethodsPreflightResponse", false},

    /* --- CORSInvalidAllowHeader --- */
    {"bad ACAH: x-a;", PFH("PUT", "x-a"),
     "204\n" ACAO "Access-Control-Allow-Methods: PUT\nAccess-Control-Allow-Headers: x-a;\n", OMIT, NOFAIL,
     B, "CORSInvalidAllowHeader", B, "InvalidAllowHeadersPreflightResponse", false},
    {"bad ACAH: space", PFH("PUT", "x-a"),
     "204\n" ACAO "Access-Control-Allow-Methods: PUT\nAccess-Control-Allow-Headers: X Foo\n", OMIT, NOFAIL,
     B, "CORSInvalidAllowHeader", B, "InvalidAllowHeadersPreflightResponse", false},
    {"bad ACAH: no headers requested", PF("PUT"),
     "204\n" ACAO "Access-Control-Allow-Methods: PUT\nAccess-Control-Allow-Headers: (x)\n", OMIT, NOFAIL,
     B, "CORSInvalidAllowHeader", B, "InvalidAllowHeadersPreflightResponse", false},
    {"bad ACAH: non-ASCII", PFH("PUT", "x-a"),
     "204\n" ACAO "Access-Control-Allow-Methods: PUT\nAccess-Control-Allow-Headers: x-\xc3\xa9\n", OMIT,
     NOFAIL, B, "CORSInvalidAllowHeader", B, "InvalidAllowHeadersPreflightResponse", false},
    {"bad ACAH: empty quotes", PFH("PUT", "x-a"),
     "204\n" ACAO "Access-Control-Allow-Methods: PUT\nAccess-Control-Allow-Headers: x-a, \"\"\n", OMIT,
     NOFAIL, B, "CORSInvalidAllowHeader", B, "InvalidAllowHeadersPreflightResponse", false},
    {"bad ACAH + method missing: browsers differ", PFH("PUT", "x-a"),
     "204\n" ACAO "Access-Control-Allow-Headers: x-a;\n", OMIT, NOFAIL,
     B, "CORSMethodNotFound", B, "InvalidAllowHeadersPreflightResponse", false},

    /* --- CORSMissingAllowHeaderFromPreflight --- */
    {"header: no ACAH", PFH("PUT", "x-custom"), "204\n" ACAO "Access-Control-Allow-Methods: PUT\n", OMIT,
     NOFAIL, B, "CORSMissingAllowHeaderFromPreflight", B, "HeaderDisallowedByPreflightResponse", false},
    {"header: content-type missing", PFH("POST", "content-type,x-b"),
     "204\n" ACAO "Access-Control-Allow-Headers: x-b\n", OMIT, NOFAIL,
     B, "CORSMissingAllowHeaderFromPreflight", B, "HeaderDisallowedByPreflightResponse", false},
    {"header: star credentialed is literal", PFH("PUT", "x-a"),
     "204\n" ACAO ACAC "Access-Control-Allow-Methods: PUT\nAccess-Control-Allow-Headers: *\n", INC, NOFAIL,
     B, "CORSMissingAllowHeaderFromPreflight", B, "HeaderDisallowedByPreflightResponse", false},
    {"header: authorization under star (Firefox warning, Chromium allowed: §8.4)", PFH("GET", "authorization"),
     "204\n" STAR "Access-Control-Allow-Headers: *\n", OMIT, NOFAIL,
     W, "CORSAllowHeaderFromPreflightDeprecation", A, NULL, false},
    {"header: authorization listed explicitly", PFH("GET", "authorization"),
     "204\n" STAR "Access-Control-Allow-Headers: *, Authorization\n", OMIT, NOFAIL, A, NULL, A, NULL, false},
    {"header: authorization star credentialed", PFH("GET", "authorization"),
     "204\n" ACAO ACAC "Access-Control-Allow-Headers: *\n", INC, NOFAIL,
     B, "CORSMissingAllowHeaderFromPreflight", B, "HeaderDisallowedByPreflightResponse", false},
    {"header: star unknown depends", PFH("PUT", "x-a"),
     "204\n" ACAO ACAC "Access-Control-Allow-Methods: PUT\nAccess-Control-Allow-Headers: *\n", UNK, NOFAIL,
     A, NULL, A, NULL, true},

    {"header: unsorted request list", PFH("PUT", "x-b,x-a"), "204\n" ACAO "Access-Control-Allow-Methods: PUT\n",
     OMIT, NOFAIL, B, "CORSMissingAllowHeaderFromPreflight", B, "HeaderDisallowedByPreflightResponse", false},
    {"header: one of two listed", PFH("PUT", "x-a,x-b"),
     "204\n" ACAO "Access-Control-Allow-Methods: PUT\nAccess-Control-Allow-Headers: x-a\n", OMIT, NOFAIL,
     B, "CORSMissingAllowHeaderFromPreflight", B, "HeaderDisallowedByPreflightResponse", false},

    /* --- not judged --- */
    {"304 actual unknown", GET, "304\n", OMIT, NOFAIL, U, NULL, U, NULL, false},
    {"lost response unknown", GET, NULL, OMIT, CORSCOPE_FAIL_LOST, U, NULL, U, NULL, false},
    /* the capture ended with the request waiting: no failure seen, nothing to judge */
    {"capture ended unknown", GET, NULL, OMIT, CORSCOPE_FAIL_CAPTURE_ENDED, U, NULL, U, NULL, false},
    {"capture ended preflight unknown", PF("PUT"), NULL, UNK, CORSCOPE_FAIL_CAPTURE_ENDED,
     U, NULL, U, NULL, false},
    {"no Origin: no-cors", "GET /x\n" H, "200\n", OMIT, NOFAIL, NA, NULL, NA, NULL, false},
    {"same origin", "PUT /x\n" H "Origin: http://api.example\n", "200\n", OMIT, NOFAIL,
     NA, NULL, NA, NULL, false},
    {NULL, NULL, NULL, 0, 0, 0, NULL, 0, NULL, false},
};

static bool str_eq_or_null(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_case(const struct tcase *t, bool over_h2)
{
    corscope_verdict v;
    int rc = classify_over(t->req, t->resp, t->cred, t->fail, false, over_h2, &v);
    CU_ASSERT_EQUAL(rc, 0);
    bool ok = v.firefox.verdict == t->ff && v.chromium.verdict == t->ch &&
              str_eq_or_null(v.firefox.reason, t->ff_reason) &&
              str_eq_or_null(v.chromium.chrome, t->ch_name) &&
              v.depends_on_credentials == t->depends;
    if (!ok)
        fprintf(stderr, "\nFAIL %s: ff %s %s / ch %s %s dep %d\n", t->name,
                corscope_outcome_name(v.firefox.verdict), v.firefox.reason ? v.firefox.reason : "-",
                corscope_outcome_name(v.chromium.verdict), v.chromium.chrome ? v.chromium.chrome : "-",
                v.depends_on_credentials);
    CU_ASSERT(ok);
    /* invariants: combined verdict never hides a block; texts where needed */
    CU_ASSERT(v.verdict >= v.firefox.verdict && v.verdict >= v.chromium.verdict);
    CU_ASSERT_EQUAL(v.browsers_disagree, v.firefox.verdict != v.chromium.verdict);
    const corscope_browser_verdict *bv[2] = {&v.firefox, &v.chromium};
    for (int i = 0; i < 2; i++) {
        if (bv[i]->verdict >= CORSCOPE_WARNING) {
            if (!bv[i]->hint[0])
                fprintf(stderr, "\nno hint: %s (%d)\n", t->name, i);
            CU_ASSERT(bv[i]->hint[0] != '\0');
        }
        if (bv[i]->verdict == CORSCOPE_BLOCKED)
            CU_ASSERT(bv[i]->message[0] != '\0');
        CU_ASSERT(strlen(bv[i]->message) < sizeof bv[i]->message);
    }
    if (t->ff == B) {
        const corscope_reason_info *ri = corscope_reason_info_get(v.firefox.reason);
        CU_ASSERT_PTR_NOT_NULL(ri);
        if (ri)
            CU_ASSERT_STRING_EQUAL(v.firefox.console_key, ri->console_key);
    }
}

/* Cases whose exchange went over HTTP/2 (corscope_context.over_h2): a
 * response both browsers refuse as malformed (an upper-case field name:
 * tests/browser h2-uppercase-name and the other h2-* refusals), for which
 * Chromium's error follows the transport. */
static const struct tcase h2_cases[] = {
    {"no response: h2 malformed response", GET, NULL, OMIT, CORSCOPE_FAIL_MALFORMED,
     B, "CORSDidNotSucceed", B, "net::ERR_HTTP2_PROTOCOL_ERROR", false},
    {"no response: h2 malformed preflight response", PF("PUT"), NULL, UNK, CORSCOPE_FAIL_MALFORMED,
     B, "CORSDidNotSucceed", B, "net::ERR_HTTP2_PROTOCOL_ERROR", false},
    {NULL, NULL, NULL, OMIT, NOFAIL, A, NULL, A, NULL, false},
};

static void test_table(void)
{
    size_t n = 0;
    for (const struct tcase *t = cases; t->name; t++, n++)
        check_case(t, false);
    CU_ASSERT(n >= 100);
    for (const struct tcase *t = h2_cases; t->name; t++)
        check_case(t, true);
}

/* Each wire-observable reason has at least five table cases. */
static void test_table_coverage(void)
{
    static const char *const keys[] = {
        "CORSDidNotSucceed",
        "CORSExternalRedirectNotAllowed",
        "CORSRequestNotHttp",
        "CORSMissingAllowOrigin",
        "CORSAllowOriginNotMatchingOrigin",
        "CORSNotSupportingCredentials",
        "CORSMethodNotFound",
        "CORSMissingAllowCredentials",
        "CORSPreflightDidNotSucceed",
        "CORSInvalidAllowMethod",
        "CORSInvalidAllowHeader",
        "CORSMissingAllowHeaderFromPreflight",
        "CORSMultipleAllowOriginNotAllowed",
    };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        int n = 0;
        for (const struct tcase *t = cases; t->name; t++) {
            corscope_verdict v;
            classify(t->req, t->resp, t->cred, t->fail, false, &v);
            if ((v.firefox.reason && strcmp(v.firefox.reason, keys[k]) == 0) ||
                (v.firefox.cred_alt_reason && strcmp(v.firefox.cred_alt_reason, keys[k]) == 0))
                n++;
        }
        if (n < 5)
            fprintf(stderr, "\n%s: only %d cases\n", keys[k], n);
        CU_ASSERT(n >= 5);
    }
}

/* ---- exact console texts ---- */

#define FFP "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote " \
            "resource at http://api.example/data. (Reason: "

struct msgcase {
    const char *req, *resp;
    corscope_cred cred;
    corscope_failure fail;
    const char *firefox;  /* exact Firefox console text */
    const char *chromium; /* exact Chromium text, or NULL to skip */
};

static const struct msgcase msgs[] = {
    {GET, "404\n", OMIT, NOFAIL,
     FFP "CORS header \xe2\x80\x98"
         "Access-Control-Allow-Origin\xe2\x80\x99 missing). Status code: 404.",
     "Access to fetch at 'http://api.example/data' from origin 'https://app.example' has been "
     "blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested "
     "resource."}, /* Chromium 156: no "opaque response" sentence */
    {GET, "200\nAccess-Control-Allow-Origin: https://a, https://c\n", OMIT, NOFAIL,
     FFP "CORS header \xe2\x80\x98"
         "Access-Control-Allow-Origin\xe2\x80\x99 does not match "
         "\xe2\x80\x98https://a, https://c\xe2\x80\x99).",
     "Access to fetch at 'http://api.example/data' from origin 'https://app.example' has been "
     "blocked by CORS policy: The 'Access-Control-Allow-Origin' header contains multiple values "
     "'https://a, https://c', but only one is allowed. Have the server send the header with a "
     "valid value."},
    {GETC, "200\n" STAR, UNK, NOFAIL,
     "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource "
     "at \xe2\x80\x98http://api.example/data\xe2\x80\x99. (Reason: Credential is not supported if "
     "the CORS header \xe2\x80\x98"
     "Access-Control-Allow-Origin\xe2\x80\x99 is \xe2\x80\x98*\xe2\x80\x99).",
     NULL},
    {GET, "200\n" ACAO ACAO, OMIT, NOFAIL,
     FFP "Multiple CORS header \xe2\x80\x98"
         "Access-Control-Allow-Origin\xe2\x80\x99 not allowed).",
     NULL},
    {PF("PUT"), "405\n" ACAO, OMIT, NOFAIL,
     FFP "CORS preflight response did not succeed). Status code: 405.",
     "Access to fetch at 'http://api.example/data' from origin 'https://app.example' has been "
     "blocked by CORS policy: Response to preflight request doesn't pass access control check: "
     "It does not have HTTP ok status."},
    {PFH("PUT", "x-b,x-a"), "204\n" ACAO "Access-Control-Allow-Methods: PUT\n", OMIT, NOFAIL,
     FFP "header \xe2\x80\x98x-a\xe2\x80\x99 is not allowed according to header \xe2\x80\x98"
         "Access-Control-Allow-Headers\xe2\x80\x99 from CORS preflight response).",
     "Access to fetch at 'http://api.example/data' from origin 'https://app.example' has been "
     "blocked by CORS policy: Request header field x-b is not allowed by "
     "Access-Control-Allow-Headers in preflight response."},
    {PF("patch"), "204\n" ACAO "Access-Control-Allow-Methods: PATCH\n", OMIT, NOFAIL,
     FFP "Did not find method in CORS header \xe2\x80\x98"
         "Access-Control-Allow-Methods\xe2\x80\x99).",
     "Access to fetch at 'http://api.example/data' from origin 'https://app.example' has been "
     "blocked by CORS policy: Method patch is not allowed by Access-Control-Allow-Methods in "
     "preflight response."},
    {PF("PUT"), "204\n" ACAO "Access-Control-Allow-Methods: GET, PUT;\n", OMIT, NOFAIL,
     FFP "invalid token \xe2\x80\x98PUT;\xe2\x80\x99 in CORS header \xe2\x80\x98"
         "Access-Control-Allow-Methods\xe2\x80\x99).",
     NULL},
    {GET, NULL, OMIT, CORSCOPE_FAIL_RESET,
     FFP "CORS request did not succeed). Status code: (null).",
     "GET http://api.example/data net::ERR_CONNECTION_RESET"},
    {GET, NULL, OMIT, CORSCOPE_FAIL_STREAM_RESET,
     FFP "CORS request did not succeed). Status code: (null).",
     "GET http://api.example/data net::ERR_HTTP2_PROTOCOL_ERROR"},
    {PF("PUT"), "301\n" STAR "Location: https://x/\n", OMIT, NOFAIL,
     FFP "CORS request external redirect not allowed).",
     "Access to fetch at 'http://api.example/data' from origin 'https://app.example' has been "
     "blocked by CORS policy: Response to preflight request doesn't pass access control check: "
     "Redirect is not allowed for a preflight request."},
    {GETC, "200\n" ACAO, UNK, NOFAIL,
     FFP "expected \xe2\x80\x98true\xe2\x80\x99 in CORS header \xe2\x80\x98"
         "Access-Control-Allow-Credentials\xe2\x80\x99).",
     "Access to fetch at 'http://api.example/data' from origin 'https://app.example' has been "
     "blocked by CORS policy: The value of the 'Access-Control-Allow-Credentials' header in the "
     "response is '' which must be 'true' when the request's credentials mode is 'include'."},
    /* observed (Firefox 153.7, Chromium 156): both name the redirect target */
    {GET, "302\n" ACAO "Location: ftp://x/\n", OMIT, NOFAIL,
     "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote "
     "resource at ftp://x/. (Reason: CORS request not http).",
     "Access to fetch at 'ftp://x/' (redirected from 'http://api.example/data') from origin "
     "'https://app.example' has been blocked by CORS policy: Cross origin requests are only "
     "supported for protocol schemes: chrome, chrome-experimental-site-token-provider, "
     "chrome-extension, chrome-untrusted, data, http, https, isolated-app."},
    {PFH("GET", "authorization"), "204\n" STAR "Access-Control-Allow-Headers: *\n", OMIT, NOFAIL,
     "Cross-Origin Request Warning: The Same Origin Policy will disallow reading the remote "
     "resource at http://api.example/data soon. (Reason: When the `Access-Control-Allow-Headers` "
     "is `*`, the `Authorization` header is not covered. To include the `Authorization` header, "
     "it must be explicitly listed in CORS header `Access-Control-Allow-Headers`).",
     ""},
};

static void test_messages(void)
{
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        corscope_verdict v;
        CU_ASSERT_EQUAL(classify(msgs[i].req, msgs[i].resp, msgs[i].cred, msgs[i].fail, false, &v), 0);
        if (strcmp(v.firefox.message, msgs[i].firefox) != 0)
            fprintf(stderr, "\n#%zu got: %s\n", i, v.firefox.message);
        CU_ASSERT_STRING_EQUAL(v.firefox.message, msgs[i].firefox);
        if (msgs[i].chromium) {
            if (strcmp(v.chromium.message, msgs[i].chromium) != 0)
                fprintf(stderr, "\n#%zu chrome got: %s\n", i, v.chromium.message);
            CU_ASSERT_STRING_EQUAL(v.chromium.message, msgs[i].chromium);
        }
    }
}

static void test_console_keys_and_hints(void)
{
    corscope_verdict v;
    classify(GET, "404\n", OMIT, NOFAIL, false, &v);
    CU_ASSERT_STRING_EQUAL(v.firefox.console_key, "CORSMissingAllowOrigin2");
    CU_ASSERT_PTR_NULL(v.chromium.console_key);
    CU_ASSERT_PTR_NULL(v.firefox.chrome);
    CU_ASSERT_STRING_EQUAL(v.chromium.reason, "CORSMissingAllowOrigin");
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "`Access-Control-Allow-Origin: https://app.example`"));
    classify(PF("PUT"), "404\n" ACAO, OMIT, NOFAIL, false, &v);
    CU_ASSERT_STRING_EQUAL(v.firefox.console_key, "CORSPreflightDidNotSucceed3");
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "404"));
    classify(PFH("PUT", "x-a,x-b"), "204\n" ACAO "Access-Control-Allow-Methods: PUT\n", OMIT, NOFAIL,
             false, &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "Access-Control-Allow-Headers: x-a,x-b"));
    classify(GETC, "200\n" STAR, UNK, NOFAIL, false, &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "Access-Control-Allow-Credentials: true"));
    CU_ASSERT_EQUAL(v.credentials, CORSCOPE_CRED_INCLUDE);
    classify(GET, "304\n", OMIT, NOFAIL, false, &v);
    CU_ASSERT_EQUAL(v.verdict, CORSCOPE_UNKNOWN);
    CU_ASSERT(v.note[0] != '\0');
    /* a capture that ended first says so, and how to see the response */
    classify(GET, NULL, OMIT, CORSCOPE_FAIL_CAPTURE_ENDED, false, &v);
    CU_ASSERT_EQUAL(v.verdict, CORSCOPE_UNKNOWN);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "capture ended"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "capture for longer"));
    CU_ASSERT_PTR_NULL(v.firefox.reason);
    classify(GET, NULL, OMIT, CORSCOPE_FAIL_LOST, false, &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "not captured"));
}

/* ---- credentials ---- */

static void test_credentials_depend(void)
{
    corscope_verdict v;
    classify(GET, "200\n" STAR, UNK, NOFAIL, false, &v);
    CU_ASSERT_EQUAL(v.verdict, CORSCOPE_ALLOWED);
    CU_ASSERT(v.depends_on_credentials);
    CU_ASSERT(v.firefox.depends_on_credentials && v.chromium.depends_on_credentials);
    CU_ASSERT_EQUAL(v.firefox.cred_alt_verdict, CORSCOPE_BLOCKED);
    CU_ASSERT_STRING_EQUAL(v.firefox.cred_alt_reason, "CORSNotSupportingCredentials");
    CU_ASSERT_STRING_EQUAL(v.chromium.cred_alt_chrome, "WildcardOriginNotAllowed");
    CU_ASSERT_PTR_NULL(v.firefox.reason);
    /* known omit: no dependency */
    classify(GET, "200\n" STAR, OMIT, NOFAIL, false, &v);
    CU_ASSERT(!v.depends_on_credentials);
    CU_ASSERT_EQUAL(v.firefox.cred_alt_verdict, CORSCOPE_ALLOWED);
    /* both assumptions block the same way: reported, no flag */
    classify(GET, "200\n", UNK, NOFAIL, false, &v);
    CU_ASSERT(!v.depends_on_credentials);
    CU_ASSERT_EQUAL(v.verdict, CORSCOPE_BLOCKED);
}

static void test_infer_credentials(void)
{
    struct msg a, p;
    build(&a, GET "Cookie: x=1\n", true);
    CU_ASSERT_EQUAL(corscope_infer_credentials(&a.req, NULL), CORSCOPE_CRED_INCLUDE);
    drop(&a);
    build(&a, "PUT /data\n" H O "Authorization: Basic eDp5\n", true);
    build(&p, PFH("PUT", "x-a"), true);
    CU_ASSERT_EQUAL(corscope_infer_credentials(&a.req, &p.req), CORSCOPE_CRED_INCLUDE);
    CU_ASSERT_EQUAL(corscope_infer_credentials(&a.req, NULL), CORSCOPE_CRED_UNKNOWN);
    drop(&p);
    build(&p, PFH("PUT", "authorization"), true);
    CU_ASSERT_EQUAL(corscope_infer_credentials(&a.req, &p.req), CORSCOPE_CRED_UNKNOWN);
    drop(&p);
    drop(&a);
}

/* ---- kinds and same-origin ---- */

struct kindcase {
    const char *req;
    bool tainted;
    corscope_kind kind;
};

static const struct kindcase kinds[] = {
    {"GET /x\n" H, false, CORSCOPE_KIND_NO_CORS},
    {"PUT /x\n" H "Origin: http://api.example\n", false, CORSCOPE_KIND_SAME_ORIGIN},
    {"PUT /x\n" H "Origin: http://api.example:80\n", false, CORSCOPE_KIND_SAME_ORIGIN},
    {"PUT /x\nHost: api.example:80\nOrigin: http://api.example\n", false, CORSCOPE_KIND_SAME_ORIGIN},
    {"POST /x\n" H "Origin: http://API.Example\n", false, CORSCOPE_KIND_SAME_ORIGIN},
    {"PUT /x\nHost: api.example:8080\nOrigin: http://api.example\n", false, CORSCOPE_KIND_ACTUAL},
    {"GET /x\n" H "Origin: https://api.example\n", false, CORSCOPE_KIND_SIMPLE},
    {"GET /x\nHost: [::1]:8080\nOrigin: http://[::1]:8080\n", false, CORSCOPE_KIND_SAME_ORIGIN},
    {"GET http://api.example:8080/x\nHost: api.example:8080\nOrigin: http://api.example:8080\n", false,
     CORSCOPE_KIND_SAME_ORIGIN},
    {"GET http://api.example/x\nOrigin: http://api.example\n", false, CORSCOPE_KIND_SAME_ORIGIN},
    {"GET /x\n" H "Origin: null\n", false, CORSCOPE_KIND_SIMPLE},
    {"PUT /x\n" H "Origin: http://api.example\n", true, CORSCOPE_KIND_ACTUAL},
    {PF("PUT"), false, CORSCOPE_KIND_PREFLIGHT},
    {"OPTIONS /x\n" H O, false, CORSCOPE_KIND_ACTUAL}, /* no ACRM: an author OPTIONS */
    {"GET /x\n" H O "Content-Type: application/json\n", false, CORSCOPE_KIND_ACTUAL},
    {"POST /x\n" H O "Content-Type: text/plain;charset=UTF-8\n", false, CORSCOPE_KIND_SIMPLE},
};

static void test_kinds(void)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        corscope_verdict v;
        CU_ASSERT_EQUAL(classify(kinds[i].req, "200\n", OMIT, NOFAIL, kinds[i].tainted, &v), 0);
        if (v.kind != kinds[i].kind)
            fprintf(stderr, "\nkind #%zu: %s\n", i, corscope_kind_name(v.kind));
        CU_ASSERT_EQUAL(v.kind, kinds[i].kind);
        if (v.kind == CORSCOPE_KIND_NO_CORS || v.kind == CORSCOPE_KIND_SAME_ORIGIN)
            CU_ASSERT(v.verdict == CORSCOPE_NA && v.firefox.reason == NULL);
    }
}

/* A later hop of a cross-origin redirect: judged even when Origin equals
 * the target, and ACAO must match the Origin sent (normally null). */
static void test_tainted(void)
{
    corscope_verdict v;
    classify("GET /x\n" H "Origin: http://api.example\n", "200\n", OMIT, NOFAIL, true, &v);
    CU_ASSERT_EQUAL(v.kind, CORSCOPE_KIND_SIMPLE);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSMissingAllowOrigin");
    classify("GET /x\n" H "Origin: null\n", "200\n" ACAO, OMIT, NOFAIL, true, &v);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSAllowOriginNotMatchingOrigin");
    CU_ASSERT_STRING_EQUAL(v.chromium.chrome, "AllowOriginMismatch");
    classify("GET /x\n" H "Origin: null\nCookie: a=1\n", "200\nAccess-Control-Allow-Origin: null\n" ACAC,
             UNK, NOFAIL, true, &v);
    CU_ASSERT_EQUAL(v.verdict, CORSCOPE_ALLOWED);
    classify(GET, "302\n" ACAO "Location: data:,x\n", OMIT, NOFAIL, false, &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "data:"));
    classify(GET, "302\n" ACAO "Location: http://u:p@h/\n", OMIT, NOFAIL, false, &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "user:pass@"));
}

/* Responses a browser refuses before any CORS check (tests/browser
 * h2-te-chunked, dup-content-length-differ, dup-location-differ), by
 * transport; Firefox then reports CORSDidNotSucceed. */
static void refused(const char *resp, bool over_h2, const char *ff_reason, const char *chrome,
                    corscope_verdict *v)
{
    corscope_context ctx = {.credentials = CORSCOPE_CRED_UNKNOWN, .over_h2 = over_h2};
    build(&rq, GET, true);
    build(&rs, resp, false);
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, v), 0);
    if (ff_reason)
        CU_ASSERT_STRING_EQUAL(v->firefox.reason ? v->firefox.reason : "allowed", ff_reason);
    CU_ASSERT_STRING_EQUAL(v->chromium.chrome ? v->chromium.chrome : "allowed", chrome);
    drop(&rq);
    drop(&rs);
}

static void test_refused_responses(void)
{
    corscope_verdict v;
    /* transfer-encoding: Chromium alone, over h2 alone */
    refused("200\n" ACAO "Transfer-Encoding: chunked\n", true, "allowed", "net::ERR_HTTP2_PROTOCOL_ERROR", &v);
    CU_ASSERT_EQUAL(v.verdict, CORSCOPE_BLOCKED);
    CU_ASSERT(v.browsers_disagree);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.chromium.hint, "transfer-encoding"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "Chromium refuses"));
    refused("200\nTransfer-Encoding: chunked\n", true, "CORSMissingAllowOrigin",
            "net::ERR_HTTP2_PROTOCOL_ERROR", &v);
    refused("200\n" ACAO "Transfer-Encoding: chunked\n", false, "allowed", "allowed", &v);
    /* two different Content-Length values: Firefox everywhere, Chromium over HTTP/1.x */
    refused("200\n" ACAO "Content-Length: 5\nContent-Length: 3\n", false, "CORSDidNotSucceed",
            "net::ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_LENGTH", &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "Content-Length"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "both browsers"));
    refused("200\n" ACAO "content-length: 5\ncontent-length: 3\n", true, "CORSDidNotSucceed", "allowed", &v);
    CU_ASSERT(v.browsers_disagree);
    refused("200\n" ACAO "Content-Length: 3\nContent-Length: 3\n", false, "allowed", "allowed", &v);
    /* two different Location values: both, everywhere */
    refused("302\n" ACAO "Location: /a\nLocation: /b\n", true, "CORSDidNotSucceed",
            "net::ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION", &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.chromium.hint, "Location"));
    refused("302\n" ACAO "Location: /a\nLocation: /a\n", false, "allowed", "allowed", &v);
    /* two different Content-Disposition values: both, everywhere */
    refused("200\n" ACAO "Content-Disposition: inline\nX-A: 1\nContent-Disposition: attachment\n", true,
            "CORSDidNotSucceed", "net::ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_DISPOSITION", &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "Content-Disposition"));
    /* a control character in a value: Chromium alone, over h2 alone (not
     * HTAB, not a byte above 0x7f), wherever it is in the value */
    refused("200\n" ACAO "X-Junk: a\x01"
            "b\n",
            true, "allowed", "net::ERR_HTTP2_PROTOCOL_ERROR", &v);
    CU_ASSERT(v.browsers_disagree);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.chromium.hint, "`X-Junk` value"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "control character"));
    refused("200\n" ACAO "X-Junk: a\x01"
            "b\n",
            false, "allowed", "allowed", &v);
    refused("200\n" ACAO "X-Junk: 0123456789abcdef\x7f\n", true, "allowed", "net::ERR_HTTP2_PROTOCOL_ERROR", &v);
    refused("200\n" ACAO "X-Junk: 0123456789\x1f"
            "abcdef\n",
            true, "allowed", "net::ERR_HTTP2_PROTOCOL_ERROR", &v);
    refused("200\n" ACAO "X-Junk: a\tb 0123456789abcdef\xe9\x80\xff\n", true, "allowed", "allowed", &v);
    CU_ASSERT_EQUAL(v.note[0], '\0');
    refused("200\nX-Junk: \x0c\n", true, "CORSMissingAllowOrigin", "net::ERR_HTTP2_PROTOCOL_ERROR", &v);
}

/* Status codes that are not three digits (tests/browser status-*,
 * h2-status-*), by form and transport: Firefox reads one to three digits
 * (not 0 over h2), Chromium any HTTP/1.x code and any digits over h2. */
static void status_case(int status, corscope_status_form form, bool over_h2, const char *ff,
                        const char *chrome, corscope_verdict *v)
{
    corscope_context ctx = {.credentials = CORSCOPE_CRED_OMIT, .over_h2 = over_h2};
    build(&rq, GET, true);
    build(&rs, "200\n" ACAO, false);
    rs.resp.status = status;
    rs.resp.status_form = form;
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, v), 0);
    CU_ASSERT_STRING_EQUAL(v->firefox.reason ? v->firefox.reason : "allowed", ff);
    CU_ASSERT_STRING_EQUAL(v->chromium.chrome ? v->chromium.chrome : "allowed", chrome);
    CU_ASSERT_EQUAL(v->browsers_disagree, (strcmp(ff, "allowed") == 0) != (strcmp(chrome, "allowed") == 0));
    drop(&rq);
    drop(&rs);
}

static void test_status_forms(void)
{
    corscope_verdict v;
    const char *cdns = "CORSDidNotSucceed", *h2err = "net::ERR_HTTP2_PROTOCOL_ERROR";
    for (int h2 = 0; h2 < 2; h2++) {
        status_case(99, CORSCOPE_STATUS_DIGITS, h2, "allowed", "allowed", &v);
        CU_ASSERT_EQUAL(v.note[0], '\0');
        status_case(2000, CORSCOPE_STATUS_LONG, h2, cdns, "allowed", &v);
        CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "more than three digits"));
        CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "2000"));
        CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "three-digit"));
    }
    status_case(0, CORSCOPE_STATUS_DIGITS, false, "allowed", "allowed", &v);
    status_case(0, CORSCOPE_STATUS_DIGITS, true, cdns, "allowed", &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "`:status` 0"));
    status_case(200, CORSCOPE_STATUS_NOT_DIGITS, false, cdns, "allowed", &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "reads it as 200"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "HTTP/1.1 200 OK"));
    status_case(0, CORSCOPE_STATUS_NOT_DIGITS, true, cdns, h2err, &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "both browsers"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.chromium.hint, "`:status`"));
    status_case(200, CORSCOPE_STATUS_REPEATED, true, "allowed", h2err, &v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "twice"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.chromium.hint, "once"));
    /* Chromium judges what it reads: a NOT_DIGITS line without ACAO is its CORS failure */
    corscope_context ctx = {.credentials = CORSCOPE_CRED_OMIT};
    build(&rq, GET, true);
    build(&rs, "200\n", false);
    rs.resp.status_form = CORSCOPE_STATUS_NOT_DIGITS;
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, cdns);
    CU_ASSERT_STRING_EQUAL(v.chromium.chrome, "MissingAllowOriginHeader");
    drop(&rq);
    drop(&rs);
}

/* A bare CR in an HTTP/1.x block (corscope_response.lines BARE_CR,
 * tests/browser bare-cr-*): Firefox reads the line with the CR inside (the
 * first n_firefox_only lines), Chromium its pieces (the last
 * n_chromium_only). */
static void test_bare_cr_lines(void)
{
    corscope_verdict v;
    corscope_context ctx = {.credentials = CORSCOPE_CRED_OMIT};
    build(&rq, GET, true);
    build(&rs, "200\nAccess-Control-Allow-Origin: " ORIGIN "\rX-Junk: 1\nX-A: 1\n" ACAO "X-Junk: 1\n",
          false);
    rs.resp.lines = CORSCOPE_LINES_BARE_CR;
    rs.resp.n_firefox_only = 1;
    rs.resp.n_chromium_only = 2;
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSAllowOriginNotMatchingOrigin");
    CU_ASSERT_EQUAL(v.chromium.verdict, CORSCOPE_ALLOWED);
    CU_ASSERT(v.browsers_disagree);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "bare CR from the `Access-Control-Allow-Origin` line"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "`Access-Control-Allow-Origin` holds a bare CR"));
    drop(&rs);
    /* Chromium's pieces hold a second ACAO: its multiple values, not Firefox's */
    build(&rs, "200\nAccess-Control-Allow-Origin: " ORIGIN "\rAccess-Control-Allow-Origin: x\n" ACAO "Access-Control-Allow-Origin: x\n", false);
    rs.resp.lines = CORSCOPE_LINES_BARE_CR;
    rs.resp.n_firefox_only = 1;
    rs.resp.n_chromium_only = 2;
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSAllowOriginNotMatchingOrigin");
    CU_ASSERT_STRING_EQUAL(v.chromium.chrome, "MultipleAllowOriginValues");
    drop(&rs);
    /* the status line holds it: no line of Firefox's, Chromium reads the ACAO */
    build(&rs, "200\nX-A: 1\n" ACAO, false);
    rs.resp.lines = CORSCOPE_LINES_BARE_CR;
    rs.resp.n_chromium_only = 1;
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSMissingAllowOrigin");
    CU_ASSERT_EQUAL(v.chromium.verdict, CORSCOPE_ALLOWED);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "from the status line"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "The status line holds a bare CR"));
    drop(&rs);
    /* in a name: quoted up to the CR */
    build(&rs, "200\nX-Junk\rAccess-Control-Allow-Origin: " ORIGIN "\n" ACAO, false);
    rs.resp.lines = CORSCOPE_LINES_BARE_CR;
    rs.resp.n_firefox_only = 1;
    rs.resp.n_chromium_only = 1;
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSMissingAllowOrigin");
    CU_ASSERT_EQUAL(v.chromium.verdict, CORSCOPE_ALLOWED);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "from the `X-Junk` line"));
    /* counts beyond the lines there are: each browser's run is clamped */
    rs.resp.n_firefox_only = 7;
    rs.resp.n_chromium_only = 7;
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSMissingAllowOrigin");
    CU_ASSERT_EQUAL(v.chromium.verdict, CORSCOPE_ALLOWED);
    drop(&rs);
    drop(&rq);
}

/* Lines Chromium reads alone (corscope_response.n_chromium_only: an
 * HTTP/1.x line with whitespace before its colon, which Firefox drops;
 * tests/browser ws-before-colon). */
static void test_chromium_only_lines(void)
{
    corscope_verdict v;
    corscope_context ctx = {.credentials = CORSCOPE_CRED_OMIT};
    build(&rq, GET, true);
    build(&rs, "200\nX-A: 1\n" ACAO, false);
    rs.resp.lines = CORSCOPE_LINES_WS_BEFORE_COLON;
    rs.resp.n_chromium_only = 1;
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSMissingAllowOrigin");
    CU_ASSERT_EQUAL(v.chromium.verdict, CORSCOPE_ALLOWED);
    CU_ASSERT(v.browsers_disagree);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "whitespace before the colon of `Access-Control-Allow-Origin`"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "Firefox drops such a line"));
    rs.resp.n_chromium_only = 5; /* more than there are: every line */
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSMissingAllowOrigin");
    CU_ASSERT_EQUAL(v.chromium.verdict, CORSCOPE_ALLOWED);
    drop(&rs);
    /* a second ACAO that only Chromium reads: Chromium's multiple values */
    build(&rs, "200\n" ACAO ACAO, false);
    rs.resp.lines = CORSCOPE_LINES_WS_BEFORE_COLON;
    rs.resp.n_chromium_only = 1;
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_EQUAL(v.firefox.verdict, CORSCOPE_ALLOWED);
    CU_ASSERT_STRING_EQUAL(v.chromium.chrome, "MultipleAllowOriginValues");
    drop(&rs);
    /* a status line Firefox reads as HTTP/0.9 (`http/1.1 200`): no line for it */
    build(&rs, "200\n" ACAO, false);
    rs.resp.firefox_http09 = true;
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSMissingAllowOrigin");
    CU_ASSERT_EQUAL(v.chromium.verdict, CORSCOPE_ALLOWED);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.hint, "HTTP/1.1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "HTTP/0.9"));
    /* "ICY 200 OK": Chromium reads no line, Firefox all */
    rs.resp.firefox_http09 = false;
    rs.resp.chromium_http09 = true;
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_EQUAL(v.firefox.verdict, CORSCOPE_ALLOWED);
    CU_ASSERT_STRING_EQUAL(v.chromium.chrome, "MissingAllowOriginHeader");
    CU_ASSERT_PTR_NOT_NULL(strstr(v.chromium.hint, "ICY"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "ICY"));
    drop(&rq);
    /* over HTTPS Chromium refuses the HTTP/0.9 it makes of it */
    build(&rq, "GET https://api.example/x\nOrigin: https://app.example\n", true);
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.chromium.chrome, "net::ERR_INVALID_HTTP_RESPONSE");
    CU_ASSERT_PTR_NOT_NULL(strstr(v.note, "refuses over HTTPS"));
    drop(&rq);
    drop(&rs);
}

static void test_url(void)
{
    corscope_verdict v;
    classify("GET http://api.example:8080/x?y\nOrigin: https://a\n", "200\n", OMIT, NOFAIL, false, &v);
    CU_ASSERT_STRING_EQUAL(v.url, "http://api.example:8080/x?y");
    classify("GET /p?q=1\nHost: h.example:81\nOrigin: https://a\n", "200\n", OMIT, NOFAIL, false, &v);
    CU_ASSERT_STRING_EQUAL(v.url, "http://h.example:81/p?q=1");
}

/* The transport's scheme (TLS: https; h2: :scheme) decides the same-origin
 * test and the URL; an absolute-form target's own scheme wins. */
static void classify_with_scheme(const char *req, const char *scheme, corscope_verdict *v)
{
    corscope_context ctx = {.credentials = OMIT};
    build(&rq, req, true);
    rq.req.scheme = scheme;
    rq.req.scheme_len = scheme ? strlen(scheme) : 0;
    build(&rs, "200\n", false);
    CU_ASSERT_EQUAL(corscope_classify(&rq.req, &rs.resp, &ctx, v), 0);
    drop(&rq);
    drop(&rs);
}

static void test_scheme(void)
{
    corscope_verdict v;
    classify_with_scheme("GET /x\nHost: api.example\nOrigin: https://api.example\n", "https", &v);
    CU_ASSERT_EQUAL(v.kind, CORSCOPE_KIND_SAME_ORIGIN);
    CU_ASSERT_STRING_EQUAL(v.url, "https://api.example/x");
    classify_with_scheme("GET /x\nHost: api.example:443\nOrigin: https://api.example\n", "https", &v);
    CU_ASSERT_EQUAL(v.kind, CORSCOPE_KIND_SAME_ORIGIN);
    /* the same request over plaintext is cross-origin (scheme differs) */
    classify_with_scheme("GET /x\nHost: api.example\nOrigin: https://api.example\n", NULL, &v);
    CU_ASSERT_EQUAL(v.kind, CORSCOPE_KIND_SIMPLE);
    CU_ASSERT_STRING_EQUAL(v.url, "http://api.example/x");
    classify_with_scheme("GET /x\nHost: api.example\nOrigin: http://api.example\n", "https", &v);
    CU_ASSERT_EQUAL(v.kind, CORSCOPE_KIND_SIMPLE);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSMissingAllowOrigin");
    CU_ASSERT_PTR_NOT_NULL(strstr(v.firefox.message, "https://api.example/x"));
    /* port 80 is not https's default */
    classify_with_scheme("GET /x\nHost: api.example:80\nOrigin: https://api.example\n", "https", &v);
    CU_ASSERT_EQUAL(v.kind, CORSCOPE_KIND_SIMPLE);
    /* an absolute-form target names its own scheme */
    classify_with_scheme("GET http://api.example/x\nOrigin: http://api.example\n", "https", &v);
    CU_ASSERT_EQUAL(v.kind, CORSCOPE_KIND_SAME_ORIGIN);
    CU_ASSERT_STRING_EQUAL(v.url, "http://api.example/x");
}

/* ---- needs_preflight ---- */

struct npcase {
    const char *req;
    bool needs;
};

static const char long_accept[] =
    "GET /x\n" H O "Accept: "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"; /* 129 bytes */

static const struct npcase nps[] = {
    {GET, false},
    {"GET /x\n" H O "Content-Type: application/json\n", true},
    {"POST /x\n" H O "Content-Type: text/plain;charset=UTF-8\n", false},
    {"POST /x\n" H O "Content-Type: multipart/form-data; boundary=abc\n", false},
    {"POST /x\n" H O "Content-Type: multipart/form-data; boundary=\"abc\"\n", true},
    {"POST /x\n" H O "Content-Type: text/plain; charset=\"utf-8\"\n", true},
    {"POST /x\n" H O "Content-Type: APPLICATION/X-WWW-FORM-URLENCODED\n", false},
    {"POST /x\n" H O "Content-Type: text/plain, application/json\n", true},
    {"GET /x\n" H O "X-Custom: 1\n", true},
    {"GET /x\n" H O "Authorization: Bearer t\n", true},
    {long_accept, true},
    {"GET /x\n" H O "Accept: application/json, text/plain, */*\n", false},
    {"GET /x\n" H O "Accept-Language: en_US\n", true},
    {"GET /x\n" H O "Content-Language: de-DE, en;q=0.5\n", false},
    {"GET /x\n" H O "Range: bytes=0-99\n", false},
    {"GET /x\n" H O "Range: bytes=100-\n", false},
    {"GET /x\n" H O "Range: bytes=-5\n", true},
    {"GET /x\n" H O "Range: bytes=9-1\n", true},
    {"GET /x\n" H O "Range: bytes=0-1,5-6\n", true},
    {"PUT /x\n" H O, true},
    {"patch /x\n" H O, true},
    {"HEAD /x\n" H O, false},
    {"GET /x\n" H O "User-Agent: x\nCookie: a=b\nReferer: http://z/\nSec-Fetch-Mode: cors\n"
     "Accept-Encoding: gzip\nConnection: keep-alive\nPriority: u=4\nPragma: no-cache\n"
     "Cache-Control: no-cache\nProxy-Authorization: x\nDNT: 1\nIf-None-Match: \"e\"\n",
     false},
};

static void test_needs_preflight(void)
{
    for (size_t i = 0; i < sizeof nps / sizeof nps[0]; i++) {
        struct msg m;
        build(&m, nps[i].req, true);
        bool got = corscope_needs_preflight(&m.req);
        if (got != nps[i].needs)
            fprintf(stderr, "\nneeds_preflight #%zu: %d\n", i, got);
        CU_ASSERT_EQUAL(got, nps[i].needs);
        drop(&m);
    }
    CU_ASSERT(!corscope_needs_preflight(NULL));
}

/* 1024-byte aggregate rule: ten 120-byte Accept-ish values are each fine,
 * together unsafe. */
static void test_needs_preflight_aggregate(void)
{
    char text[2048];
    struct msg m;
    int off = snprintf(text, sizeof text, "GET /x\n" H O);
    for (int i = 0; i < 9; i++) {
        off += snprintf(text + off, sizeof text - (size_t)off, "Accept: ");
        memset(text + off, 'a', 120);
        off += 120;
        text[off++] = '\n';
    }
    text[off] = '\0';
    build(&m, text, true);
    CU_ASSERT(corscope_needs_preflight(&m.req)); /* 1080 bytes */
    m.req.n_headers -= 1;                        /* 960 bytes */
    CU_ASSERT(!corscope_needs_preflight(&m.req));
    drop(&m);
}

/* Every byte value inside an Accept and an Accept-Language value: the
 * first is unsafe exactly for Fetch's CORS-unsafe request-header bytes,
 * the second for any byte outside 0-9 A-Z a-z SP * , - . ; = (the byte
 * tables of cors_lists.c). */
static void test_needs_preflight_bytes(void)
{
    for (unsigned b = 0; b < 256; b++) {
        bool unsafe = (b < 0x20 && b != '\t') || b == 0x7f || (b && strchr("\"():<>?@[\\]{}", (int)b));
        bool lang = (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
                    (b && strchr(" *,-.;=", (int)b));
        char accept[3] = {'a', (char)b, 'b'};
        char language[3] = {'e', (char)b, 'n'};
        corscope_header h[3] = {
            {"Host", 4, "api.example", 11},
            {"Origin", 6, "http://app.example", 18},
            {"Accept", 6, accept, 3},
        };
        corscope_request q = {.method = "GET", .method_len = 3, .target = "/x", .target_len = 2, .headers = h, .n_headers = 3};
        CU_ASSERT_EQUAL(corscope_needs_preflight(&q), unsafe);
        h[2] = (corscope_header){"Accept-Language", 15, language, 3};
        CU_ASSERT_EQUAL(corscope_needs_preflight(&q), !lang);
    }
}

static void test_is_preflight(void)
{
    struct msg m;
    build(&m, PF("PUT"), true);
    CU_ASSERT(corscope_is_preflight(&m.req));
    drop(&m);
    build(&m, "OPTIONS /x\n" H O, true);
    CU_ASSERT(!corscope_is_preflight(&m.req));
    drop(&m);
    build(&m, "options /x\n" H O "Access-Control-Request-Method: PUT\n", true);
    CU_ASSERT(!corscope_is_preflight(&m.req));
    drop(&m);
    build(&m, "GET /x\n" H O "access-control-request-method: PUT\n", true);
    CU_ASSERT(!corscope_is_preflight(&m.req));
    drop(&m);
}

/* ---- max-age and the preflight cache model ---- */

struct agecase {
    const char *v; /* NULL = absent */
    long ff, ch;
};

static const struct agecase ages[] = {
    {NULL, 5, 5},
    {"", 5, 5},
    {"600", 600, 600},
    {"0", 0, 0},
    {"-1", -1, 0},
    {"5s", -1, 5},
    {"+5", -1, 5},
    {"5.0", -1, 5},
    {"600, 600", -1, 5},
    {"100000", 86400, 7200},
    {"86400", 86400, 7200},
    {"7200", 7200, 7200},
    {"99999999999999999999999", 86400, 5},
    {"-99999999999999999999999", -1, 5},
    {" 5", -1, 5},
};

static void test_max_age(void)
{
    for (size_t i = 0; i < sizeof ages / sizeof ages[0]; i++) {
        const char *v = ages[i].v;
        size_t len = v ? strlen(v) : 0;
        struct guarded g = guarded_copy(v ? v : "", len);
        const char *p = v ? (const char *)g.data : NULL;
        long ff = corscope_max_age_firefox(p, len), ch = corscope_max_age_chromium(p, len);
        if (ff != ages[i].ff || ch != ages[i].ch)
            fprintf(stderr, "\nmax-age '%s': ff %ld ch %ld\n", v ? v : "(absent)", ff, ch);
        CU_ASSERT_EQUAL(ff, ages[i].ff);
        CU_ASSERT_EQUAL(ch, ages[i].ch);
        guarded_free(&g);
    }
}

static void test_preflight_result(void)
{
    corscope_preflight_result pf;
    struct msg a;
    build(&rs, "204\n" STAR "Access-Control-Allow-Methods: PUT, patch\n"
               "Access-Control-Allow-Headers: X-A, *\nAccess-Control-Max-Age: 600\n",
          false);
    CU_ASSERT_EQUAL(corscope_preflight_parse(&rs.resp, OMIT, &pf), 0);
    drop(&rs);
    CU_ASSERT_EQUAL(pf.n_methods, 2);
    CU_ASSERT_STRING_EQUAL(pf.methods[1], "patch");
    CU_ASSERT_EQUAL(pf.n_headers, 2);
    CU_ASSERT_STRING_EQUAL(pf.headers[0], "x-a");
    CU_ASSERT(pf.headers_wildcard && !pf.methods_wildcard && !pf.credentialed);
    CU_ASSERT_EQUAL(pf.max_age[CORSCOPE_FIREFOX], 600);
    CU_ASSERT_EQUAL(pf.max_age[CORSCOPE_CHROMIUM], 600);

    build(&a, "PUT /data\n" H O "X-A: 1\n", true);
    CU_ASSERT(corscope_preflight_allows(&pf, CORSCOPE_FIREFOX, &a.req, OMIT));
    CU_ASSERT(corscope_preflight_allows(&pf, CORSCOPE_CHROMIUM, &a.req, OMIT));
    CU_ASSERT(!corscope_preflight_allows(&pf, CORSCOPE_FIREFOX, &a.req, INC));  /* key differs */
    CU_ASSERT(!corscope_preflight_allows(&pf, CORSCOPE_CHROMIUM, &a.req, INC)); /* nocred entry */
    drop(&a);
    build(&a, "PUT /data\n" H O "X-B: 1\n", true); /* covered only by `*` */
    CU_ASSERT(!corscope_preflight_allows(&pf, CORSCOPE_FIREFOX, &a.req, OMIT));
    CU_ASSERT(corscope_preflight_allows(&pf, CORSCOPE_CHROMIUM, &a.req, OMIT));
    drop(&a);
    build(&a, "PATCH /data\n" H O, true); /* case-sensitive method */
    CU_ASSERT(!corscope_preflight_allows(&pf, CORSCOPE_FIREFOX, &a.req, OMIT));
    CU_ASSERT(!corscope_preflight_allows(&pf, CORSCOPE_CHROMIUM, &a.req, OMIT));
    drop(&a);
    build(&a, "PUT /data\nHost: 127.0.0.1:8080\n" O "X-A: 1\n", true); /* §8.7 IP literal */
    CU_ASSERT(!corscope_preflight_allows(&pf, CORSCOPE_FIREFOX, &a.req, OMIT));
    CU_ASSERT(corscope_preflight_allows(&pf, CORSCOPE_CHROMIUM, &a.req, OMIT));
    drop(&a);
    build(&a, "HEAD /data\n" H O "X-A: 1\n", true); /* Firefox cache: HEAD not implicit */
    CU_ASSERT(!corscope_preflight_allows(&pf, CORSCOPE_FIREFOX, &a.req, OMIT));
    CU_ASSERT(corscope_preflight_allows(&pf, CORSCOPE_CHROMIUM, &a.req, OMIT));
    drop(&a);

    /* a credentialed entry serves a non-credentialed request only in Chromium */
    build(&rs, "204\n" ACAO ACAC "Access-Control-Allow-Methods: PUT\nAccess-Control-Max-Age: -5\n", false);
    CU_ASSERT_EQUAL(corscope_preflight_parse(&rs.resp, INC, &pf), 0);
    drop(&rs);
    CU_ASSERT_EQUAL(pf.max_age[CORSCOPE_FIREFOX], -1);
    CU_ASSERT_EQUAL(pf.max_age[CORSCOPE_CHROMIUM], 0);
    build(&a, "PUT /data\n" H O, true);
    CU_ASSERT(corscope_preflight_allows(&pf, CORSCOPE_CHROMIUM, &a.req, OMIT));
    CU_ASSERT(!corscope_preflight_allows(&pf, CORSCOPE_FIREFOX, &a.req, OMIT));
    CU_ASSERT(corscope_preflight_allows(&pf, CORSCOPE_FIREFOX, &a.req, INC));
    drop(&a);

    build(&rs, "204\nAccess-Control-Allow-Headers: x a\n", false);
    CU_ASSERT_EQUAL(corscope_preflight_parse(&rs.resp, OMIT, &pf), -EINVAL);
    drop(&rs);
    CU_ASSERT_EQUAL(corscope_preflight_parse(NULL, OMIT, &pf), -EINVAL);
}

/* ---- reasons table ---- */

static void test_reasons(void)
{
    size_t n = 0;
    const corscope_reason_info *r = corscope_reason_list(&n);
    CU_ASSERT_EQUAL_FATAL(n, 15);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_PTR_NOT_NULL(strstr(r[i].firefox_text, "%1$S"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r[i].mdn_url, r[i].key));
        CU_ASSERT(r[i].blocking_code >= 1001 && r[i].blocking_code <= 1015);
        CU_ASSERT(r[i].wire && r[i].wire[0]);
        CU_ASSERT_PTR_EQUAL(corscope_reason_info_get(r[i].key), &r[i]);
        CU_ASSERT_PTR_EQUAL(corscope_reason_info_get(r[i].console_key), &r[i]);
        for (size_t j = 0; j < i; j++)
            CU_ASSERT(r[i].blocking_code != r[j].blocking_code);
    }
    CU_ASSERT_PTR_EQUAL(corscope_reason_info_get("CORSMissingAllowOrigin2"),
                        corscope_reason_info_get("CORSMissingAllowOrigin"));
    CU_ASSERT_EQUAL(corscope_reason_info_get("CORSDisabled")->observable, CORSCOPE_OBS_NO);
    CU_ASSERT_EQUAL(corscope_reason_info_get("CORSOriginHeaderNotAdded")->observable, CORSCOPE_OBS_NO);
    CU_ASSERT_PTR_NOT_NULL(corscope_reason_info_get("CORSAllowHeaderFromPreflightDeprecation"));
    CU_ASSERT_PTR_NULL(corscope_reason_info_get("CORSNoSuchThing"));
    CU_ASSERT_PTR_NULL(corscope_reason_info_get(NULL));
    CU_ASSERT_STRING_EQUAL(corscope_kind_name(CORSCOPE_KIND_PREFLIGHT), "preflight");
    CU_ASSERT_STRING_EQUAL(corscope_outcome_name(CORSCOPE_NA), "n/a");
}

/* ---- lints ---- */

static void test_lints(void)
{
    corscope_verdict v;
    classify(GETC, "200\n" ACAO ACAC, UNK, NOFAIL, false, &v);
    CU_ASSERT(v.lints & CORSCOPE_LINT_REFLECTED_CREDENTIALS);
    CU_ASSERT(v.lints & CORSCOPE_LINT_NO_VARY_ORIGIN);
    classify(GETC, "200\n" ACAO ACAC "Vary: Accept-Encoding, origin\n", UNK, NOFAIL, false, &v);
    CU_ASSERT(!(v.lints & CORSCOPE_LINT_NO_VARY_ORIGIN));
    classify(GET, "200\n" STAR, OMIT, NOFAIL, false, &v);
    CU_ASSERT_EQUAL(v.lints, 0);
    classify("GET /d\n" H "Origin: null\n", "200\nAccess-Control-Allow-Origin: null\nVary: Origin\n",
             OMIT, NOFAIL, false, &v);
    CU_ASSERT_EQUAL(v.lints, CORSCOPE_LINT_NULL_ORIGIN_ALLOWED);
}

/* ---- robustness ---- */

/* Is s well-formed UTF-8 (structure only)? */
static bool utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : *p >= 0xF0 ? 4
                               : *p >= 0xE0   ? 3
                               : *p >= 0xC0   ? 2
                                              : 0;
        if (n == 0)
            return false;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

static void test_truncation(void)
{
    static char req[4096], resp[4096];
    corscope_verdict v;
    snprintf(req, sizeof req, "GET /%0*d\n" H O, 1500, 7);
    int off = snprintf(resp, sizeof resp, "200\nAccess-Control-Allow-Origin: ");
    for (int i = 0; i < 1200; i++) /* a long run of 2-byte UTF-8 characters */
        off += snprintf(resp + off, sizeof resp - (size_t)off, "\xc3\xa9");
    CU_ASSERT_EQUAL(classify(req, resp, OMIT, NOFAIL, false, &v), 0);
    CU_ASSERT_STRING_EQUAL(v.firefox.reason, "CORSAllowOriginNotMatchingOrigin");
    CU_ASSERT(strlen(v.url) == CORSCOPE_URL_MAX - 1);
    CU_ASSERT(strlen(v.firefox.message) < CORSCOPE_MESSAGE_MAX);
    CU_ASSERT(strlen(v.chromium.message) < CORSCOPE_MESSAGE_MAX);
    CU_ASSERT(strlen(v.firefox.hint) < CORSCOPE_HINT_MAX && v.firefox.hint[0]);
    /* no cut UTF-8 sequence anywhere */
    CU_ASSERT(utf8_ok(v.firefox.message) && utf8_ok(v.chromium.message));
    CU_ASSERT(utf8_ok(v.firefox.hint) && utf8_ok(v.chromium.hint));
    /* every offset of the cut: vary the URL length so the cut lands inside
     * the 2-byte characters and inside the 3-byte quotes */
    for (int pad = 0; pad < 8; pad++) {
        for (int shift = 0; shift < 3; shift++) { /* ACAO starting with 0..2 ASCII bytes */
            snprintf(req, sizeof req, "GET /%0*d\n" H O, 380 + pad, 7);
            off = snprintf(resp, sizeof resp, "200\nAccess-Control-Allow-Origin: %.*s", shift, "xx");
            for (int i = 0; i < 1200; i++)
                off += snprintf(resp + off, sizeof resp - (size_t)off, "\xc3\xa9");
            CU_ASSERT_EQUAL(classify(req, resp, OMIT, NOFAIL, false, &v), 0);
            CU_ASSERT(utf8_ok(v.firefox.message) && utf8_ok(v.chromium.message));
            CU_ASSERT(utf8_ok(v.firefox.hint) && utf8_ok(v.chromium.hint));
        }
    }
}

static void test_bad_args(void)
{
    corscope_verdict v;
    corscope_request r = {0};
    CU_ASSERT_EQUAL(corscope_classify(NULL, NULL, NULL, &v), -EINVAL);
    CU_ASSERT_EQUAL(corscope_classify(&r, NULL, NULL, &v), -EINVAL);
    r.method = "GET";
    r.method_len = 3;
    CU_ASSERT_EQUAL(corscope_classify(&r, NULL, NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(corscope_classify(&r, NULL, NULL, &v), 0); /* no headers at all */
    CU_ASSERT_EQUAL(v.kind, CORSCOPE_KIND_NO_CORS);
    CU_ASSERT_STRING_EQUAL(v.url, "http://");
}

int main(void)
{
    static const struct cs_test_case tests[] = {
        {"table of exchanges", test_table},
        {"five cases per observable reason", test_table_coverage},
        {"exact console texts", test_messages},
        {"console keys and hints", test_console_keys_and_hints},
        {"credentials unknown", test_credentials_depend},
        {"infer credentials", test_infer_credentials},
        {"kinds and same-origin", test_kinds},
        {"redirect-tainted", test_tainted},
        {"responses a browser refuses before any check", test_refused_responses},
        {"status codes that are not three digits", test_status_forms},
        {"lines Chromium reads alone", test_chromium_only_lines},
        {"a bare CR: lines each browser reads alone", test_bare_cr_lines},
        {"url", test_url},
        {"scheme", test_scheme},
        {"needs preflight", test_needs_preflight},
        {"needs preflight aggregate", test_needs_preflight_aggregate},
        {"needs preflight: every byte of a value", test_needs_preflight_bytes},
        {"is preflight", test_is_preflight},
        {"max-age per browser", test_max_age},
        {"preflight result cache model", test_preflight_result},
        {"reason table", test_reasons},
        {"lints", test_lints},
        {"truncation", test_truncation},
        {"bad arguments", test_bad_args},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("cors", tests);
    return cs_test_run();
}
