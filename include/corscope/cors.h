/* corscope CORS classifier: one HTTP request and its response (or the lack
 * of one) -> what Firefox and Chromium did with it, why, and which header
 * fixes it.
 *
 * A pure library: no I/O, no globals, no allocation.  Everything a verdict
 * depends on travels in the arguments; the verdict is written into a
 * caller-owned struct with fixed-size text buffers (truncated safely, always
 * NUL-terminated).  Pointers inside a verdict (reason, chrome, ...) point to
 * static strings and stay valid for the life of the program.
 *
 * The rules follow docs cors-reasons.md (§8, observed browser behaviour,
 * wins over the source-reading sections).  Orders implemented:
 *   Firefox, any CORS response: more than one line named byte-exactly
 *     "Access-Control-Allow-Origin" -> missing ACAO -> credentialed `*` ->
 *     merged ACAO != Origin -> credentialed and ACAC != "true".
 *   Firefox preflight, after that: 3xx -> ExternalRedirectNotAllowed; non-2xx
 *     -> PreflightDidNotSucceed; ACAM tokens; method (case-sensitive,
 *     implicit GET/HEAD/POST, `*` non-credentialed only); ACAH tokens;
 *     headers (case-insensitive; non-credentialed `*` covers all, including
 *     Authorization with the CORSAllowHeaderFromPreflightDeprecation warning).
 *   Chromium: any redirect of a preflight -> PreflightDisallowedRedirect
 *     first; CheckAccess (`*` -> missing -> mismatch: space/comma => multiple,
 *     "null", invalid URL, mismatch -> credentials); preflight status; ACAM
 *     then ACAH syntax; method; headers.  Authorization under a
 *     non-credentialed `*`: §8.4 observed Chromium 156 letting it through
 *     with only a DevTools issue (the source-reading sections say it fails),
 *     so both browsers report WARNING there. 
 *   Actual 3xx: the redirect is CORS-checked, then its Location (userinfo,
 *     non-http(s) scheme).
 */
#ifndef CORSCOPE_CORS_H
#define CORSCOPE_CORS_H

#include <stdbool.h>
#include <stddef.h>
#include "corscope/header.h"

/* ---- inputs ------------------------------------------------------------ */

/* A request as seen on the wire.  method and target are the request line's
 * tokens (target may be origin-form "/p?q" or absolute-form
 * "http://h:8080/p"); headers in arrival order, duplicates separate.  Nothing
 * needs to be NUL-terminated. */
typedef struct corscope_request {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    const corscope_header *headers;
    size_t n_headers;
    /* The scheme the request was sent with, when the transport says it:
     * "https" for a request that arrived over TLS, an h2 request's :scheme.
     * NULL (or empty) means "http", the scheme of plaintext HTTP/1.x.  An
     * absolute-form target's own scheme takes precedence.  It decides the
     * same-origin test (scheme, host, port; default port 443 for https) and
     * the URL the messages quote. */
    const char *scheme;
    size_t scheme_len;
} corscope_request;

/* How the status code was written, where the browsers read codes that are
 * not three digits (RFC 9110 §15) differently.  Measured (tests/browser
 * status-*, h2-status-*): Firefox reads one to three digits and refuses any
 * other code (and, over h2, `:status` 0); Chromium reads the leading digits
 * of an HTTP/1.x code (none: 200) and, over h2, any run of digits, and
 * refuses another `:status` or a repeated one. */
typedef enum corscope_status_form {
    CORSCOPE_STATUS_DIGITS = 0, /* one to three digits: both browsers read it */
    CORSCOPE_STATUS_LONG,       /* four or more digits */
    CORSCOPE_STATUS_NOT_DIGITS, /* empty or not only digits ("abc", "20x"); status
                                 * holds Chromium's HTTP/1.x reading (20, or 200) */
    CORSCOPE_STATUS_REPEATED,   /* (h2) `:status` more than once: status is the last,
                                 * which Firefox reads (Chromium refuses them) */
} corscope_status_form;

/* How the browsers' readings of one HTTP/1.x header block differ
 * (measured, tests/browser ws-before-colon, bare-cr-*). */
typedef enum corscope_line_shape {
    CORSCOPE_LINES_SAME = 0,
    /* a line with whitespace before its colon: Firefox drops it, Chromium
     * reads it */
    CORSCOPE_LINES_WS_BEFORE_COLON,
    /* a CR not followed by LF: Chromium ends the line there (what follows
     * is a line of its own), Firefox keeps the CR inside the line */
    CORSCOPE_LINES_BARE_CR,
} corscope_line_shape;

/* A response: status code and header lines as sent.  The browsers do not
 * always read the same lines from an HTTP/1.x block (`lines` says why):
 * the first n_firefox_only of the n_headers lines are read by Firefox
 * alone, the last n_chromium_only by Chromium alone, the others by both,
 * so that each browser's lines are one run of the array; each group is in
 * wire order (WS_BEFORE_COLON: Chromium's lines are those Firefox drops;
 * BARE_CR: Firefox's are the lines with a bare CR, Chromium's their pieces
 * and the lines it makes of a status line with
 * one).  When firefox_http09, Firefox reads none: it does not take the
 * status line for one (it wants "HTTP/1." or "HTTP/2.0": `http/1.1 200`,
 * `HTTP/1 200`) and reads the response as HTTP/0.9, a body without headers
 * (tests/browser status-line-lowercase, status-line-no-minor); when
 * chromium_http09, Chromium does so (an "ICY 200 OK" status line, which
 * Firefox reads as HTTP/1.0: status-line-icy). */
typedef struct corscope_response {
    int status;
    const corscope_header *headers;
    size_t n_headers;
    corscope_status_form status_form;
    size_t n_chromium_only;
    bool firefox_http09;
    bool chromium_http09;
    size_t n_firefox_only;
    corscope_line_shape lines;
} corscope_response;

/* The request's credentials mode (fetch "include" vs not).  For a preflight
 * it is the credentials mode of the ACTUAL request the preflight is for: the
 * preflight response is checked with it although the OPTIONS never carries
 * cookies. */
typedef enum corscope_cred {
    CORSCOPE_CRED_UNKNOWN = 0, /* evaluate both; see depends_on_credentials */
    CORSCOPE_CRED_OMIT,
    CORSCOPE_CRED_INCLUDE,
} corscope_cred;

/* Why there is no response (only read when the response is NULL). */
typedef enum corscope_failure {
    CORSCOPE_FAIL_NONE = 0,      /* treated like UNANSWERED */
    CORSCOPE_FAIL_RESET,         /* connection reset before a response */
    CORSCOPE_FAIL_CLOSED,        /* closed (FIN) without a response */
    CORSCOPE_FAIL_UNANSWERED,    /* never answered (the connection idle past the timeout) */
    CORSCOPE_FAIL_LOST,          /* a response existed but was not captured
                                  * (capture gap, cap hit): verdict unknown */
    CORSCOPE_FAIL_STREAM_RESET,  /* HTTP/2: the server reset the request's stream
                                  * (RST_STREAM) before a response */
    CORSCOPE_FAIL_ABORTED,       /* the client cancelled the request before a response
                                  * (HTTP/2: its RST_STREAM): the page aborted it, and
                                  * neither browser reports an error: verdict n/a */
    CORSCOPE_FAIL_CAPTURE_ENDED, /* the capture ended (end of a file, -c, the live
                                  * capture stopped) with the connection open and the
                                  * request waiting: its response, if any, is not in
                                  * the capture: verdict unknown */
    CORSCOPE_FAIL_MALFORMED,     /* a response came, malformed in a way both browsers
                                  * refuse (HTTP/2, RFC 9113 §8.2.1, §8.3: a field name
                                  * that is not lower-case token characters, NUL/CR/LF
                                  * in a value, a misplaced or unknown pseudo-header;
                                  * HTTP/1.x: a NUL in the header block).  Firefox
                                  * CORSDidNotSucceed; Chromium by the transport
                                  * (over_h2): net::ERR_HTTP2_PROTOCOL_ERROR or
                                  * net::ERR_INVALID_HTTP_RESPONSE */
} corscope_failure;

/* Everything the classifier cannot see in the request/response pair.
 * Whether the request is a preflight is NOT carried here: it is derived
 * from the request (corscope_is_preflight). */
typedef struct corscope_context {
    /* What the pipeline knows about the credentials mode.  UNKNOWN is
     * upgraded to INCLUDE by the classifier when the (non-preflight) request
     * carries Cookie.  For a preflight: the actual request's mode if the
     * pipeline knows it (e.g. from a later actual request with Cookie, or
     * corscope_infer_credentials()). */
    corscope_cred credentials;
    corscope_failure failure;
    /* The request is a later hop of a redirect chain that was cross-origin
     * (redirect-tainted): it is judged as cross-origin even when Origin and
     * Host agree.  ACAO is still compared with the Origin header on the wire
     * (it then normally reads "null"). */
    bool redirect_tainted;
    /* A 304 answer is normally the revalidation of a response the browser
     * stored: the browser checks that response with the 304's fields
     * applied, not the 304, so the classifier says "unknown" (a caller
     * that has the stored response passes it, updated, instead).  True
     * when the page made the request conditional itself (its preflight
     * announced If-None-Match or another condition): the browser's cache
     * then passes the 304 through and it is checked like any response
     * (measured: tests/browser reval-page-conditional). */
    bool conditional_by_page;
    /* The exchange went over HTTP/2.  A browser refuses some responses
     * before any CORS check, and two of its rules differ by transport
     * (measured, tests/browser): Chromium refuses `transfer-encoding` over
     * h2 only, and two different Content-Length values over HTTP/1.x only. */
    bool over_h2;
} corscope_context;

/* ---- outputs ------------------------------------------------------------ */

typedef enum corscope_kind {
    CORSCOPE_KIND_NO_CORS = 0, /* no Origin header: no CORS check (not judged) */
    CORSCOPE_KIND_SAME_ORIGIN, /* Origin equals http://Host[:port]: not judged */
    CORSCOPE_KIND_PREFLIGHT,   /* OPTIONS + Access-Control-Request-Method */
    CORSCOPE_KIND_ACTUAL,      /* cross-origin request that needs a preflight */
    CORSCOPE_KIND_SIMPLE,      /* cross-origin request that needs none */
} corscope_kind;

typedef enum corscope_outcome {
    CORSCOPE_NA = 0, /* not CORS (no-cors, same-origin) */
    CORSCOPE_ALLOWED,
    CORSCOPE_WARNING, /* allowed, with a console warning */
    CORSCOPE_UNKNOWN, /* cannot be judged from the wire (304, lost response) */
    CORSCOPE_BLOCKED,
} corscope_outcome;

/* Security lints (bits of corscope_verdict.lints); never change a verdict. */
#define CORSCOPE_LINT_REFLECTED_CREDENTIALS 0x01u /* ACAO == Origin and ACAC: true:
                                                    * fine only if the server checks
                                                    * Origin against an allow-list */
#define CORSCOPE_LINT_NULL_ORIGIN_ALLOWED 0x02u   /* ACAO: null (any sandboxed or
                                                    * data: page can read it) */
#define CORSCOPE_LINT_NO_VARY_ORIGIN 0x04u        /* ACAO == Origin without Vary:
                                                    * Origin (shared caches may serve
                                                    * it to another origin) */

#define CORSCOPE_MESSAGE_MAX 1024
#define CORSCOPE_HINT_MAX 512
#define CORSCOPE_NOTE_MAX 256
#define CORSCOPE_URL_MAX 512

/* One browser's judgement. */
typedef struct corscope_browser_verdict {
    corscope_outcome verdict;
    /* Firefox reason key without version suffix ("CORSMissingAllowOrigin"),
     * NULL when allowed.  In the Chromium verdict: the closest Firefox key. */
    const char *reason;
    /* Firefox console key as in security.properties ("CORSMissingAllowOrigin2",
     * "CORSAllowHeaderFromPreflightDeprecation" for the warning); Chromium: NULL. */
    const char *console_key;
    /* Chromium CorsError name without the k ("MissingAllowOriginHeader") or a
     * net error when Chromium has no CorsError: net::ERR_CONNECTION_RESET
     * (reset), net::ERR_HTTP2_PROTOCOL_ERROR (h2 stream reset, observed:
     * pcaps/browser/truth-h2.tsv), net::ERR_EMPTY_RESPONSE (closed), net::ERR_TIMED_OUT
     * (unanswered; assumed), net::ERR_UNSAFE_REDIRECT (redirect to a
     * non-http(s) scheme; inferred, //net handles it).  In the Firefox
     * verdict: NULL.  NULL when allowed or warning. */
    const char *chrome;
    /* Console text.  Firefox: exact security.properties text with ‘ ’ (UTF-8).
     * Chromium: "Access to fetch at '<url>' from origin '<o>' has been blocked
     * by CORS policy: ..." -- the resource kind is not visible on the wire,
     * so it always says `fetch` (XHR and others differ only in that word and
     * in the fetch-specific trailing sentences).  "" when nothing is logged. */
    char message[CORSCOPE_MESSAGE_MAX];
    /* One sentence: which header/value the server should send.  Non-empty
     * for every BLOCKED, WARNING and UNKNOWN verdict. */
    char hint[CORSCOPE_HINT_MAX];
    /* Credentials mode was UNKNOWN and the two assumptions disagree.  verdict,
     * reason, chrome, message and hint then describe the NON-credentialed
     * (default) outcome; cred_alt_* the outcome if the request was sent with
     * credentials: "include". */
    bool depends_on_credentials;
    corscope_outcome cred_alt_verdict;
    const char *cred_alt_reason; /* Firefox key (or closest), NULL if allowed */
    const char *cred_alt_chrome; /* Chromium name, NULL if allowed / Firefox */
} corscope_browser_verdict;

typedef struct corscope_verdict {
    corscope_kind kind;
    /* Combined: BLOCKED if either browser blocks, else UNKNOWN if either is
     * unknown, else WARNING if either warns, else ALLOWED (or NA). */
    corscope_outcome verdict;
    bool browsers_disagree;      /* firefox.verdict != chromium.verdict */
    bool depends_on_credentials; /* either browser's flag */
    corscope_cred credentials;   /* the mode used (after Cookie inference) */
    corscope_browser_verdict firefox;
    corscope_browser_verdict chromium;
    unsigned lints;               /* CORSCOPE_LINT_* */
    char url[CORSCOPE_URL_MAX];   /* http://<Host><target> or the absolute target */
    char note[CORSCOPE_NOTE_MAX]; /* extra context ("" if none) */
} corscope_verdict;

/* ---- classifier --------------------------------------------------------- */

/* Judges one request and its response for both browsers.  resp may be NULL
 * (no response; ctx->failure says why).  ctx may be NULL (credentials
 * unknown, not tainted).  Returns 0, or -EINVAL if req/out is NULL or the
 * request has no method.  *out is fully overwritten. */
int corscope_classify(const corscope_request *req, const corscope_response *resp,
                      const corscope_context *ctx, corscope_verdict *out);

/* OPTIONS (exact) with an Access-Control-Request-Method header. */
bool corscope_is_preflight(const corscope_request *req);

/* Would a browser send a preflight before this (actual) request if nothing
 * were cached?  Method not GET/HEAD/POST, or any CORS-unsafe author header
 * (Fetch §1.6 safelist incl. the 128-byte and 1024-byte rules).  Forbidden
 * and UA-added headers (Host, Cookie, User-Agent, Referer, Origin, Sec-*,
 * Proxy-*, Priority, Pragma, Cache-Control, If-None-Match,
 * If-Modified-Since, client hints ...) are ignored.  A forced preflight
 * (XHR upload listeners) is invisible. */
bool corscope_needs_preflight(const corscope_request *req);

/* Credentials evidence on an actual request: Cookie => INCLUDE; an
 * Authorization header not listed in the preflight's
 * Access-Control-Request-Headers (preflight given) => INCLUDE (browser-
 * managed HTTP auth); otherwise UNKNOWN.  preflight may be NULL. */
corscope_cred corscope_infer_credentials(const corscope_request *actual,
                                         const corscope_request *preflight);

/* ---- reasons ------------------------------------------------------------- */

typedef enum corscope_observable {
    CORSCOPE_OBS_NO = 0,
    CORSCOPE_OBS_HEURISTIC,
    CORSCOPE_OBS_YES,
} corscope_observable;

typedef struct corscope_reason_info {
    const char *key;          /* "CORSMissingAllowOrigin" (MDN page name) */
    const char *console_key;  /* current security.properties key */
    int blocking_code;        /* Firefox netmonitor blocking reason, 0 for the warning */
    const char *firefox_text; /* full console template with %1$S (URL), %2$S */
    const char *mdn_url;
    corscope_observable observable;
    const char *wire; /* what shows it on the wire */
} corscope_reason_info;

/* The 15 Firefox reasons of the MDN "CORS errors" page, in MDN order, and
 * their count in *n.  Static storage.  CORSDisabled and
 * CORSOriginHeaderNotAdded are listed but never produced by the classifier:
 * the first is a browser pref, the second an extension-only condition where
 * nothing reaches the wire. */
const corscope_reason_info *corscope_reason_list(size_t *n);

/* Looks a reason up by key, accepting the console key variants
 * ("CORSMissingAllowOrigin2") and the warning
 * "CORSAllowHeaderFromPreflightDeprecation".  NULL if unknown. */
const corscope_reason_info *corscope_reason_info_get(const char *key);

/* ---- preflight results (for a preflight-cache model) --------------------- */

#define CORSCOPE_PF_MAX_METHODS 16
#define CORSCOPE_PF_MAX_HEADERS 32
#define CORSCOPE_PF_TOKEN_MAX 64

typedef enum corscope_browser {
    CORSCOPE_FIREFOX = 0,
    CORSCOPE_CHROMIUM = 1,
} corscope_browser;

/* What a successful preflight response granted, copied out of packet memory.
 * Tokens longer than CORSCOPE_PF_TOKEN_MAX-1 or beyond the array sizes are
 * dropped and `truncated` set (lookups needing them then fail: conservative). */
typedef struct corscope_preflight_result {
    bool credentialed;     /* the credentials mode it was judged with */
    bool methods_wildcard; /* ACAM contains `*` */
    bool headers_wildcard; /* ACAH contains `*` */
    bool truncated;
    size_t n_methods, n_headers;
    char methods[CORSCOPE_PF_MAX_METHODS][CORSCOPE_PF_TOKEN_MAX]; /* as sent */
    char headers[CORSCOPE_PF_MAX_HEADERS][CORSCOPE_PF_TOKEN_MAX]; /* lower-cased */
    /* Cache lifetime in seconds per browser (§1.8).  Firefox: absent/empty
     * -> 5, any non-digit -> -1 (not cached), cap 86400; Chromium: absent or
     * not an integer -> 5, negative -> 0, cap 7200.  0 or -1: not reusable. */
    long max_age[2]; /* indexed by corscope_browser */
} corscope_preflight_result;

/* Fills *out from a preflight response's ACAM/ACAH/Max-Age (the token
 * arrays up to n_methods and n_headers; the slots after them are left as
 * they were).  Returns 0, or
 * -EINVAL for NULL arguments or when ACAM/ACAH is not a valid token list
 * (such a preflight fails and is never cached). */
int corscope_preflight_parse(const corscope_response *resp, corscope_cred cred,
                             corscope_preflight_result *out);

/* Firefox max-age rule on a (merged) Access-Control-Max-Age value; value
 * NULL = header absent.  Returns seconds, or -1 for "not cached". */
long corscope_max_age_firefox(const char *value, size_t len);
/* Chromium's rule; never negative. */
long corscope_max_age_chromium(const char *value, size_t len);

/* Would browser b reuse this cached preflight result for `actual` sent with
 * credentials `cred` (INCLUDE or OMIT; UNKNOWN is treated as OMIT)?  Ignores
 * age (the caller compares times with max_age[b]).  Firefox: credentialed
 * flag must match, `*` never matches from the cache, implicit methods GET
 * and POST only.  Chromium: a non-credentialed entry never serves an
 * include request, `*` applies when not credentialed (Authorization
 * included, §8.4), implicit GET/HEAD/POST. */
bool corscope_preflight_allows(const corscope_preflight_result *pf, corscope_browser b,
                               const corscope_request *actual, corscope_cred cred);

/* Static name of an enum value, for output: "preflight", "blocked", ... */
const char *corscope_kind_name(corscope_kind k);
const char *corscope_outcome_name(corscope_outcome v);

#endif
