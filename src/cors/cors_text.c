/* CORS classifier, part 2 of 3: the reason table (the 15 Firefox reasons of
 * the MDN "CORS errors" page plus the Authorization-wildcard warning), the
 * console texts of both browsers and the one-sentence fix hints.
 *
 * Firefox texts are dom/locales/en-US/chrome/security/security.properties as
 * quoted in cors-reasons.md §4 (current keys, typographic quotes U+2018 and
 * U+2019 in UTF-8).  Chromium texts are cors_error_string.cc (2024) as quoted
 * in §3.1, §4 and §5.2. */
#include <stdio.h>
#include <string.h>
#include "cors_int.h"

/* ---- the reason table ---- */

#define FF_PREFIX "Cross-Origin Request Blocked: The Same Origin Policy disallows reading " \
                  "the remote resource at %1$S. (Reason: "
#define MDN "https://developer.mozilla.org/docs/Web/HTTP/CORS/Errors/"

static const corscope_reason_info reasons[CS_R_COUNT] = {
    /* Never produced from the wire: a browser pref (content.cors.disable);
     * a normal exchange (or no OPTIONS at all) is what the wire shows. */
    {"CORSDisabled", "CORSDisabled", 1001, FF_PREFIX "CORS disabled).", MDN "CORSDisabled",
     CORSCOPE_OBS_NO, "nothing: a normal CORS exchange, or no OPTIONS for a non-simple request"},
    {"CORSDidNotSucceed", "CORSDidNotSucceed2", 1002,
     FF_PREFIX "CORS request did not succeed). Status code: %2$S.", MDN "CORSDidNotSucceed",
     CORSCOPE_OBS_HEURISTIC,
     "a CORS request or preflight answered by RST, FIN or silence; a redirect Location with "
     "userinfo or to data:"},
    /* Never produced from the wire: an extension content script with an
     * expanded principal; the request is never sent. */
    {"CORSOriginHeaderNotAdded", "CORSOriginHeaderNotAdded", 1009,
     FF_PREFIX "CORS header \u2018Origin\u2019 cannot be added).", MDN "CORSOriginHeaderNotAdded",
     CORSCOPE_OBS_NO, "nothing: the request never leaves the browser"},
    {"CORSExternalRedirectNotAllowed", "CORSExternalRedirectNotAllowed", 1010,
     FF_PREFIX "CORS request external redirect not allowed).",
     MDN "CORSExternalRedirectNotAllowed", CORSCOPE_OBS_YES,
     "a preflight (OPTIONS + Access-Control-Request-Method) answered by a 3xx whose "
     "Access-Control-Allow-Origin passes"},
    {"CORSRequestNotHttp", "CORSRequestNotHttp", 1003, FF_PREFIX "CORS request not http).",
     MDN "CORSRequestNotHttp", CORSCOPE_OBS_HEURISTIC,
     "a 3xx to a CORS request whose Location has a non-http(s) scheme (ftp:, about:)"},
    {"CORSMissingAllowOrigin", "CORSMissingAllowOrigin2", 1005,
     FF_PREFIX "CORS header \u2018Access-Control-Allow-Origin\u2019 missing). Status code: %2$S.",
     MDN "CORSMissingAllowOrigin", CORSCOPE_OBS_YES,
     "a cross-origin CORS response (actual, 3xx or preflight) without "
     "Access-Control-Allow-Origin"},
    {"CORSAllowOriginNotMatchingOrigin", "CORSAllowOriginNotMatchingOrigin", 1007,
     FF_PREFIX "CORS header \u2018Access-Control-Allow-Origin\u2019 does not match \u2018%2$S\u2019).",
     MDN "CORSAllowOriginNotMatchingOrigin", CORSCOPE_OBS_YES,
     "Access-Control-Allow-Origin (lines merged with \", \") not byte-equal to the request's "
     "Origin"},
    {"CORSNotSupportingCredentials", "CORSNotSupportingCredentials", 1006,
     "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource "
     "at \u2018%1$S\u2019. (Reason: Credential is not supported if the CORS header "
     "\u2018Access-Control-Allow-Origin\u2019 is \u2018*\u2019).",
     MDN "CORSNotSupportingCredentials", CORSCOPE_OBS_HEURISTIC,
     "Access-Control-Allow-Origin: * on a credentialed request (certain when it carries Cookie)"},
    {"CORSMethodNotFound", "CORSMethodNotFound", 1013,
     FF_PREFIX "Did not find method in CORS header \u2018Access-Control-Allow-Methods\u2019).",
     MDN "CORSMethodNotFound", CORSCOPE_OBS_YES,
     "Access-Control-Request-Method not in the preflight's Access-Control-Allow-Methods "
     "(case-sensitive)"},
    {"CORSMissingAllowCredentials", "CORSMissingAllowCredentials", 1008,
     FF_PREFIX "expected \u2018true\u2019 in CORS header \u2018Access-Control-Allow-Credentials\u2019).",
     MDN "CORSMissingAllowCredentials", CORSCOPE_OBS_HEURISTIC,
     "credentialed request, matching ACAO, Access-Control-Allow-Credentials not exactly true"},
    {"CORSPreflightDidNotSucceed", "CORSPreflightDidNotSucceed3", 1011,
     FF_PREFIX "CORS preflight response did not succeed). Status code: %2$S.",
     MDN "CORSPreflightDidNotSucceed", CORSCOPE_OBS_YES,
     "a preflight answered with a non-2xx status while its ACAO checks pass"},
    {"CORSInvalidAllowMethod", "CORSInvalidAllowMethod", 1012,
     FF_PREFIX "invalid token \u2018%2$S\u2019 in CORS header \u2018Access-Control-Allow-Methods\u2019).",
     MDN "CORSInvalidAllowMethod", CORSCOPE_OBS_YES,
     "an Access-Control-Allow-Methods element that is not a token"},
    {"CORSInvalidAllowHeader", "CORSInvalidAllowHeader", 1014,
     FF_PREFIX "invalid token \u2018%2$S\u2019 in CORS header \u2018Access-Control-Allow-Headers\u2019).",
     MDN "CORSInvalidAllowHeader", CORSCOPE_OBS_YES,
     "an Access-Control-Allow-Headers element that is not a token"},
    {"CORSMissingAllowHeaderFromPreflight", "CORSMissingAllowHeaderFromPreflight2", 1015,
     FF_PREFIX "header \u2018%2$S\u2019 is not allowed according to header "
               "\u2018Access-Control-Allow-Headers\u2019 from CORS preflight response).",
     MDN "CORSMissingAllowHeaderFromPreflight", CORSCOPE_OBS_YES,
     "a name in Access-Control-Request-Headers missing from Access-Control-Allow-Headers"},
    {"CORSMultipleAllowOriginNotAllowed", "CORSMultipleAllowOriginNotAllowed", 1004,
     FF_PREFIX "Multiple CORS header \u2018Access-Control-Allow-Origin\u2019 not allowed).",
     MDN "CORSMultipleAllowOriginNotAllowed", CORSCOPE_OBS_YES,
     "more than one response line named exactly Access-Control-Allow-Origin"},
    {"CORSAllowHeaderFromPreflightDeprecation", "CORSAllowHeaderFromPreflightDeprecation", 0,
     "Cross-Origin Request Warning: The Same Origin Policy will disallow reading the remote "
     "resource at %1$S soon. (Reason: When the `Access-Control-Allow-Headers` is `*`, the "
     "`Authorization` header is not covered. To include the `Authorization` header, it must be "
     "explicitly listed in CORS header `Access-Control-Allow-Headers`).",
     MDN "CORSMissingAllowHeaderFromPreflight", CORSCOPE_OBS_HEURISTIC,
     "authorization requested, Access-Control-Allow-Headers: * without authorization, "
     "non-credentialed (a warning; the request proceeds)"},
};

const corscope_reason_info *corscope_reason_list(size_t *n)
{
    if (n)
        *n = CS_R_AUTH_WILDCARD_WARNING;
    return reasons;
}

const corscope_reason_info *corscope_reason_info_get(const char *key)
{
    if (!key)
        return NULL;
    for (size_t i = 0; i < CS_R_COUNT; i++)
        if (strcmp(reasons[i].key, key) == 0 || strcmp(reasons[i].console_key, key) == 0)
            return &reasons[i];
    return NULL;
}

const char *cs_cors_reason_key(enum cs_reason r)
{
    return (r >= 0 && r < CS_R_COUNT) ? reasons[r].key : NULL;
}

const char *cs_cors_reason_console_key(enum cs_reason r)
{
    return (r >= 0 && r < CS_R_COUNT) ? reasons[r].console_key : NULL;
}

static const char *const chrome_names[CS_C_COUNT] = {
    [CS_C_NONE] = NULL,
    [CS_C_WILDCARD] = "WildcardOriginNotAllowed",
    [CS_C_MISSING_ACAO] = "MissingAllowOriginHeader",
    [CS_C_MULTIPLE] = "MultipleAllowOriginValues",
    [CS_C_INVALID_ACAO] = "InvalidAllowOriginValue",
    [CS_C_MISMATCH] = "AllowOriginMismatch",
    [CS_C_INVALID_ACAC] = "InvalidAllowCredentials",
    [CS_C_PF_WILDCARD] = "PreflightWildcardOriginNotAllowed",
    [CS_C_PF_MISSING_ACAO] = "PreflightMissingAllowOriginHeader",
    [CS_C_PF_MULTIPLE] = "PreflightMultipleAllowOriginValues",
    [CS_C_PF_INVALID_ACAO] = "PreflightInvalidAllowOriginValue",
    [CS_C_PF_MISMATCH] = "PreflightAllowOriginMismatch",
    [CS_C_PF_INVALID_ACAC] = "PreflightInvalidAllowCredentials",
    [CS_C_PF_STATUS] = "PreflightInvalidStatus",
    [CS_C_PF_REDIRECT] = "PreflightDisallowedRedirect",
    [CS_C_INVALID_ACAM] = "InvalidAllowMethodsPreflightResponse",
    [CS_C_INVALID_ACAH] = "InvalidAllowHeadersPreflightResponse",
    [CS_C_METHOD] = "MethodDisallowedByPreflightResponse",
    [CS_C_HEADER] = "HeaderDisallowedByPreflightResponse",
    [CS_C_REDIRECT_CREDENTIALS] = "RedirectContainsCredentials",
    [CS_C_CORS_DISABLED_SCHEME] = "CorsDisabledScheme",
    [CS_C_NET_RESET] = "net::ERR_CONNECTION_RESET",
    [CS_C_NET_EMPTY] = "net::ERR_EMPTY_RESPONSE",
    [CS_C_NET_TIMED_OUT] = "net::ERR_TIMED_OUT",
    [CS_C_NET_UNSAFE_REDIRECT] = "net::ERR_UNSAFE_REDIRECT",
    [CS_C_NET_H2_PROTOCOL] = "net::ERR_HTTP2_PROTOCOL_ERROR",
    [CS_C_NET_INVALID_RESPONSE] = "net::ERR_INVALID_HTTP_RESPONSE",
    [CS_C_NET_MULTIPLE_CONTENT_LENGTH] = "net::ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_LENGTH",
    [CS_C_NET_MULTIPLE_LOCATION] = "net::ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION",
    [CS_C_NET_MULTIPLE_DISPOSITION] = "net::ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_DISPOSITION",
};

const char *cs_cors_chrome_name(enum cs_chrome c)
{
    return (c > CS_C_NONE && c < CS_C_COUNT) ? chrome_names[c] : NULL;
}

const char *corscope_kind_name(corscope_kind k)
{
    switch (k) {
    case CORSCOPE_KIND_NO_CORS: return "no-cors";
    case CORSCOPE_KIND_SAME_ORIGIN: return "same-origin";
    case CORSCOPE_KIND_PREFLIGHT: return "preflight";
    case CORSCOPE_KIND_ACTUAL: return "actual";
    case CORSCOPE_KIND_SIMPLE: return "simple";
    }
    return "?";
}

const char *corscope_outcome_name(corscope_outcome v)
{
    switch (v) {
    case CORSCOPE_NA: return "n/a";
    case CORSCOPE_ALLOWED: return "allowed";
    case CORSCOPE_WARNING: return "warning";
    case CORSCOPE_UNKNOWN: return "unknown";
    case CORSCOPE_BLOCKED: return "blocked";
    }
    return "?";
}

/* ---- parameters ---- */

/* The text that fills %2$S (Firefox) or the <v>/<M>/<h> slot (Chromium). */
static void param_text(const struct cs_text_in *in, const struct cs_outcome *o,
                       char *buf, size_t size)
{
    struct cs_sbuf b;
    cs_sb_init(&b, buf, size);
    const corscope_response *r = in->resp;
    if (o->param_is_acao || o->param_is_acac) {
        if (r)
            cs_cors_merged_copy(r->headers, r->n_headers,
                                o->param_is_acao ? "Access-Control-Allow-Origin"
                                                 : "Access-Control-Allow-Credentials",
                                buf, size);
        return;
    }
    if (o->param) {
        bool low = o->reason == CS_R_MISSING_HEADER || o->chrome == CS_C_HEADER;
        for (size_t i = 0; i < o->param_len; i++) {
            char c = o->param[i];
            if (low && c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            cs_sb_add(&b, &c, 1);
        }
    }
}

/* ---- Firefox ---- */

void cs_cors_firefox_message(const struct cs_text_in *in, const struct cs_outcome *o,
                             char *buf, size_t size)
{
    struct cs_sbuf b;
    char p2[512];
    enum cs_reason r = o->reason;
    cs_sb_init(&b, buf, size);
    if (r == CS_R_NONE && o->warn_auth)
        r = CS_R_AUTH_WILDCARD_WARNING;
    if (r == CS_R_NONE)
        return;
    if (r == CS_R_DID_NOT_SUCCEED)
        snprintf(p2, sizeof p2, "(null)");
    else if ((r == CS_R_MISSING_ACAO || r == CS_R_PREFLIGHT_FAILED) && in->resp)
        snprintf(p2, sizeof p2, "%d", in->resp->status);
    else
        param_text(in, o, p2, sizeof p2);
    for (const char *t = reasons[r].firefox_text; *t;) {
        if (strncmp(t, "%1$S", 4) == 0) {
            /* Observed (Firefox 153.7): "not http" names the redirect target,
             * e.g. "at ftp://host/file." or "at about:blank." */
            if (r == CS_R_NOT_HTTP && in->location)
                cs_sb_add(&b, in->location, in->location_len);
            else
                cs_sb_str(&b, in->url);
            t += 4;
        } else if (strncmp(t, "%2$S", 4) == 0) {
            cs_sb_str(&b, p2);
            t += 4;
        } else {
            const char *e = strchr(t, '%');
            size_t n = e ? (size_t)(e - t) : strlen(t);
            if (n == 0)
                n = 1;
            cs_sb_add(&b, t, n);
            t += n;
        }
    }
}

/* ---- Chromium ---- */

/* Chromium 156 (observed, pcaps/browser/chromium-console.tsv) no longer
 * appends the "If an opaque response serves your needs ..." sentence. */
#define CH_FETCH_MISSING ""
#define CH_FETCH_VALUE " Have the server send the header with a valid value."

void cs_cors_chrome_message(const struct cs_text_in *in, const struct cs_outcome *o,
                            char *buf, size_t size)
{
    struct cs_sbuf b;
    char v[512];
    enum cs_chrome c = o->chrome;
    cs_sb_init(&b, buf, size);
    if (c == CS_C_NONE)
        return;
    if (c >= CS_C_NET_RESET) {
        /* A network-level failure: Chrome prints the failed request line. */
        if (in->preflight && in->acrm)
            cs_sb_add(&b, in->acrm, in->acrm_len);
        else
            cs_sb_add(&b, in->req->method, in->req->method_len);
        cs_sb_cat(&b, (const char *const[]){" ", in->url, " ", chrome_names[c]}, 4);
        return;
    }
    param_text(in, o, v, sizeof v);
    /* observed (Chromium 156): a refused redirect scheme names the failed
     * hop first: "Access to fetch at 'ftp://…' (redirected from 'http://…')" */
    bool hop = c == CS_C_CORS_DISABLED_SCHEME && in->location;
    cs_sb_str(&b, "Access to fetch at '");
    if (hop) {
        cs_sb_add(&b, in->location, in->location_len);
        cs_sb_str(&b, "' (redirected from '");
    }
    cs_sb_str(&b, in->url);
    cs_sb_str(&b, hop ? "') from origin '" : "' from origin '");
    cs_sb_add(&b, in->origin, in->origin_len);
    cs_sb_str(&b, "' has been blocked by CORS policy: ");
    if (c >= CS_C_PF_WILDCARD && c <= CS_C_PF_REDIRECT)
        cs_sb_str(&b, "Response to preflight request doesn't pass access control check: ");
    switch (c) {
    case CS_C_WILDCARD:
    case CS_C_PF_WILDCARD:
        cs_sb_str(&b, "The value of the 'Access-Control-Allow-Origin' header in the response "
                      "must not be the wildcard '*' when the request's credentials mode is "
                      "'include'.");
        break;
    case CS_C_MISSING_ACAO:
    case CS_C_PF_MISSING_ACAO:
        cs_sb_str(&b, "No 'Access-Control-Allow-Origin' header is present on the requested "
                      "resource." CH_FETCH_MISSING);
        break;
    case CS_C_MULTIPLE:
    case CS_C_PF_MULTIPLE:
        cs_sb_fmt(&b, "The 'Access-Control-Allow-Origin' header contains multiple values "
                      "'%s', but only one is allowed.",
                  v);
        cs_sb_str(&b, CH_FETCH_VALUE);
        break;
    case CS_C_INVALID_ACAO:
    case CS_C_PF_INVALID_ACAO:
        cs_sb_fmt(&b, "The 'Access-Control-Allow-Origin' header contains the invalid value "
                      "'%s'.",
                  v);
        cs_sb_str(&b, CH_FETCH_VALUE);
        break;
    case CS_C_MISMATCH:
    case CS_C_PF_MISMATCH:
        cs_sb_fmt(&b, "The 'Access-Control-Allow-Origin' header has a value '%s' that is not "
                      "equal to the supplied origin.",
                  v);
        cs_sb_str(&b, CH_FETCH_VALUE);
        break;
    case CS_C_INVALID_ACAC:
    case CS_C_PF_INVALID_ACAC:
        cs_sb_cat(&b,
                  (const char *const[]){"The value of the 'Access-Control-Allow-Credentials' "
                                        "header in the response is '",
                                        v,
                                        "' which must be 'true' when the request's "
                                        "credentials mode is 'include'."},
                  3);
        break;
    case CS_C_PF_STATUS:
        cs_sb_str(&b, "It does not have HTTP ok status.");
        break;
    case CS_C_PF_REDIRECT:
        cs_sb_str(&b, "Redirect is not allowed for a preflight request.");
        break;
    case CS_C_INVALID_ACAM:
        cs_sb_str(&b, "Cannot parse Access-Control-Allow-Methods response header field in "
                      "preflight response.");
        break;
    case CS_C_INVALID_ACAH:
        cs_sb_str(&b, "Cannot parse Access-Control-Allow-Headers response header field in "
                      "preflight response.");
        break;
    case CS_C_METHOD:
        cs_sb_fmt(&b, "Method %s is not allowed by Access-Control-Allow-Methods in preflight "
                      "response.",
                  v);
        break;
    case CS_C_HEADER:
        cs_sb_fmt(&b, "Request header field %s is not allowed by Access-Control-Allow-Headers "
                      "in preflight response.",
                  v);
        break;
    case CS_C_CORS_DISABLED_SCHEME:
        /* The list is the build's CORS-enabled schemes (Chromium 156, Debian). */
        cs_sb_str(&b, "Cross origin requests are only supported for protocol schemes: chrome, "
                      "chrome-experimental-site-token-provider, chrome-extension, "
                      "chrome-untrusted, data, http, https, isolated-app.");
        break;
    case CS_C_REDIRECT_CREDENTIALS:
        /* Chromium creates this error without a parameter (§5.2). */
        cs_sb_str(&b, "Redirect location '' contains a username and password, which is "
                      "disallowed for cross-origin requests.");
        break;
    default:
        break;
    }
}

/* ---- hints ---- */

static void add_origin(struct cs_sbuf *b, const struct cs_text_in *in)
{
    cs_sb_add(b, in->origin, in->origin_len);
}

/* The merged value of a request header, for "e.g." suggestions. */
static void add_req_list(struct cs_sbuf *b, const struct cs_text_in *in, const char *name)
{
    char v[256];
    if (cs_cors_merged_copy(in->req->headers, in->req->n_headers, name, v, sizeof v) >= 0)
        cs_sb_str(b, v);
}

/* The fix for a response a browser refused before any CORS check. */
static void refusal_hint(struct cs_sbuf *b, const struct cs_text_in *in)
{
    const struct cs_refusal *r = &in->refused;
    switch (r->kind) {
    case CS_REFUSE_TWO_VALUES:
        cs_sb_fmt(b, "Send one `%s` value: this response has two that differ, which browsers "
                     "refuse.",
                  r->field);
        return;
    case CS_REFUSE_H2_FIELD:
        cs_sb_fmt(b, "Remove the `%s` field from this HTTP/2 response (the server or the proxy in "
                     "front of it passes an HTTP/1.1 framing field on): Chromium refuses the "
                     "response.",
                  r->field);
        return;
    case CS_REFUSE_H2_VALUE:
        cs_sb_fmt(b, "Remove the control character from the `%.*s` value (a field value holds "
                     "visible characters, SP and HTAB: RFC 9110 §5.5): Chromium refuses it over "
                     "HTTP/2.",
                  (int)r->line->name_len, r->line->name);
        return;
    case CS_REFUSE_STATUS:
        if (in->resp->status_form == CORSCOPE_STATUS_REPEATED)
            cs_sb_str(b, "Send `:status` once: Chromium refuses an HTTP/2 response with two.");
        else
            cs_sb_str(b, in->over_h2 ? "Send `:status` as a three-digit status code (RFC 9110 "
                                       "§15), such as 200."
                                     : "Send a three-digit status code in the status line (RFC "
                                       "9110 §15), such as `HTTP/1.1 200 OK`.");
        return;
    case CS_REFUSE_HTTP09:
        cs_sb_str(b, "Answer with an `HTTP/1.1 200 OK` status line instead of `ICY 200 OK`: "
                     "Chromium refuses an HTTP/0.9 response over HTTPS.");
        return;
    case CS_REFUSE_NONE: return;
    }
}

/* The fix when the browser judged other header lines than the server sent
 * (corscope_response.chromium_http09, firefox_http09, lines):
 * what it failed on is most likely among them.  False when it read them all. */
static bool unread_lines_hint(struct cs_sbuf *b, const struct cs_text_in *in)
{
    if (in->chromium_http09) {
        cs_sb_str(b, "Answer with an `HTTP/1.1 200 OK` status line instead of `ICY 200 OK`: "
                     "Chromium reads an ICY response as HTTP/0.9, without headers.");
        return true;
    }
    if (in->firefox_http09) {
        cs_sb_str(b, "Start the status line with `HTTP/1.1` as written (the version is "
                     "case-sensitive and has its minor digit: RFC 9112 §2.3): Firefox reads this "
                     "response as HTTP/0.9, without headers.");
        return true;
    }
    if (in->bare_cr) {
        if (in->cr_line)
            cs_sb_fmt(b, "Remove the bare CR from the `%.*s` line (a header line ends with CRLF: RFC "
                         "9112 §2.2): Chromium ends the line at it, Firefox keeps it in the line.",
                      cs_cors_name_shown(in->cr_line), in->cr_line->name);
        else
            cs_sb_str(b, "Remove the bare CR from the status line (a line ends with CRLF: RFC 9112 "
                         "§2.2): Chromium ends the line at it, Firefox keeps it in the line.");
        return true;
    }
    if (in->n_dropped) {
        cs_sb_fmt(b, "Remove the whitespace before the colon of `%.*s` (RFC 9112 §5.1): Firefox "
                     "drops such a line, Chromium reads it.",
                  (int)in->dropped->name_len, in->dropped->name);
        return true;
    }
    return false;
}

void cs_cors_hint(const struct cs_text_in *in, const struct cs_outcome *o, char *buf, size_t size)
{
    struct cs_sbuf b;
    char v[256];
    int status = in->resp ? in->resp->status : 0;
    cs_sb_init(&b, buf, size);
    param_text(in, o, v, sizeof v);

    if (o->reason == CS_R_DID_NOT_SUCCEED && in->resp && in->refused.kind != CS_REFUSE_NONE) {
        refusal_hint(&b, in);
        return;
    }
    if (o->reason != CS_R_NONE && unread_lines_hint(&b, in))
        return;
    switch (o->chrome) { /* Chromium-only shapes first */
    case CS_C_MULTIPLE:
    case CS_C_PF_MULTIPLE:
        if (o->reason == CS_R_MULTIPLE_ACAO)
            break;
        cs_sb_fmt(&b, "Send one `Access-Control-Allow-Origin` value, the request's origin (`");
        add_origin(&b, in);
        cs_sb_fmt(&b, "`), instead of the list `%s` (pick it per request from an allow-list).", v);
        return;
    case CS_C_INVALID_ACAO:
    case CS_C_PF_INVALID_ACAO:
        cs_sb_str(&b, "Send `Access-Control-Allow-Origin: ");
        add_origin(&b, in);
        cs_sb_fmt(&b, "` (a full origin with scheme) instead of the invalid value `%s`.", v);
        return;
    case CS_C_PF_REDIRECT:
        cs_sb_fmt(&b, "Answer the OPTIONS preflight at this URL directly with a 2xx and the "
                      "CORS headers instead of redirecting (status %d); preflights never follow "
                      "redirects.",
                  status);
        return;
    case CS_C_REDIRECT_CREDENTIALS:
        cs_sb_str(&b, "Remove the `user:pass@` credentials from this redirect's `Location` header.");
        return;
    case CS_C_NET_UNSAFE_REDIRECT:
    case CS_C_CORS_DISABLED_SCHEME:
        cs_sb_str(&b, "Redirect only to an http(s) URL; this `Location` has another scheme.");
        return;
    default:
        break;
    }

    switch (o->reason) {
    case CS_R_NONE:
        if (o->warn_auth) {
            cs_sb_str(&b, "List `authorization` explicitly, e.g. `Access-Control-Allow-Headers: ");
            add_req_list(&b, in, "Access-Control-Request-Headers");
            cs_sb_str(&b, "`; `*` is not meant to cover it and browsers are dropping that leniency.");
        } else if (o->verdict == CORSCOPE_UNKNOWN && status == 304) {
            cs_sb_str(&b, "Not judged: a 304 is checked with the cached response's headers; make "
                          "the full response carry `Access-Control-Allow-Origin` and `Vary: Origin`.");
        } else if (o->verdict == CORSCOPE_UNKNOWN && !in->resp &&
                   in->failure == CORSCOPE_FAIL_CAPTURE_ENDED) {
            cs_sb_str(&b, "Not judged: the capture ended while the request waited; capture for "
                          "longer (or read the next file of a rotated capture with this one).");
        } else if (o->verdict == CORSCOPE_UNKNOWN) {
            cs_sb_str(&b, "Not judged: the response was not captured (capture gap or limit).");
        }
        return;
    case CS_R_MULTIPLE_ACAO:
        cs_sb_str(&b, "Send exactly one `Access-Control-Allow-Origin: ");
        add_origin(&b, in);
        cs_sb_str(&b, "` line; remove the duplicate added by a second middleware or proxy.");
        return;
    case CS_R_MISSING_ACAO:
        cs_sb_str(&b, "Send `Access-Control-Allow-Origin: ");
        add_origin(&b, in);
        cs_sb_fmt(&b, "` (the request's Origin) on this %s%d response.",
                  in->preflight ? "OPTIONS " : "", status);
        return;
    case CS_R_ACAO_MISMATCH:
        cs_sb_str(&b, "Send `Access-Control-Allow-Origin: ");
        add_origin(&b, in);
        cs_sb_fmt(&b, "` (byte-exact, the request's Origin) instead of `%s`.", v);
        return;
    case CS_R_NOT_SUPPORTING_CRED:
        cs_sb_str(&b, "Send `Access-Control-Allow-Origin: ");
        add_origin(&b, in);
        cs_sb_str(&b, "` instead of `*` plus `Access-Control-Allow-Credentials: true`; a "
                      "credentialed request never accepts `*`.");
        return;
    case CS_R_MISSING_ACAC:
        cs_sb_cat(&b,
                  (const char *const[]){"Send `Access-Control-Allow-Credentials: true` "
                                        "(exactly; received `",
                                        v, "`) on this response."},
                  3);
        return;
    case CS_R_PREFLIGHT_FAILED:
        cs_sb_fmt(&b, "Answer the OPTIONS preflight with a 2xx status (200 or 204) instead of %d.",
                  status);
        return;
    case CS_R_INVALID_METHOD:
        cs_sb_fmt(&b, "Send `Access-Control-Allow-Methods` as a comma-separated list of method "
                      "tokens; `%s` is not a token.",
                  v);
        return;
    case CS_R_METHOD_NOT_FOUND:
        cs_sb_str(&b, "Add the method (case-sensitive) to the preflight response: "
                      "`Access-Control-Allow-Methods: ");
        cs_sb_add(&b, in->acrm ? in->acrm : "", in->acrm ? in->acrm_len : 0);
        cs_sb_str(&b, "`.");
        return;
    case CS_R_INVALID_HEADER:
        cs_sb_fmt(&b, "Send `Access-Control-Allow-Headers` as a comma-separated list of header "
                      "names; `%s` is not a token.",
                  v);
        return;
    case CS_R_MISSING_HEADER:
        cs_sb_fmt(&b, "Add `%s` to the preflight response, e.g. `Access-Control-Allow-Headers: ", v);
        add_req_list(&b, in, "Access-Control-Request-Headers");
        cs_sb_str(&b, "`.");
        return;
    case CS_R_EXTERNAL_REDIRECT:
        cs_sb_fmt(&b, "Answer the OPTIONS preflight at this URL directly with a 2xx instead of "
                      "redirecting (status %d); point the client at the final URL.",
                  status);
        return;
    case CS_R_NOT_HTTP:
        cs_sb_str(&b, "Redirect only to an http(s) URL; this `Location` has another scheme.");
        return;
    case CS_R_DID_NOT_SUCCEED:
        if (in->resp) {
            const corscope_header *loc =
                corscope_header_find(in->resp->headers, in->resp->n_headers, "Location");
            if (loc && loc->value_len >= 5 && cs_cors_ieq(loc->value, 5, "data:"))
                cs_sb_str(&b, "Redirect to an http(s) URL instead of this `data:` `Location`; "
                              "a CORS request cannot follow it.");
            else
                cs_sb_str(&b, "Remove the `user:pass@` credentials from this redirect's "
                              "`Location` header.");
        } else if (in->failure == CORSCOPE_FAIL_MALFORMED && !in->over_h2) {
            cs_sb_str(&b, "Remove the NUL byte from the response's header lines (a header value "
                          "built from binary or unterminated data).");
        } else if (in->failure == CORSCOPE_FAIL_MALFORMED) {
            cs_sb_str(&b, "Make the server (or the proxy in front of it) send a well-formed HTTP/2 "
                          "response: field names in lower case, no NUL, CR or LF in a value, "
                          "`:status` first and once.");
        } else if (in->failure == CORSCOPE_FAIL_RESET || in->failure == CORSCOPE_FAIL_CLOSED ||
                   in->failure == CORSCOPE_FAIL_STREAM_RESET) {
            cs_sb_fmt(&b, "The server %s without answering; make it return a "
                          "response with `Access-Control-Allow-Origin: ",
                      in->failure == CORSCOPE_FAIL_RESET          ? "reset the connection"
                      : in->failure == CORSCOPE_FAIL_STREAM_RESET ? "reset the HTTP/2 stream"
                                                                  : "closed the connection");
            add_origin(&b, in);
            cs_sb_str(&b, "`.");
        } else {
            cs_sb_str(&b, "No response was seen; make the server answer (with "
                          "`Access-Control-Allow-Origin: ");
            add_origin(&b, in);
            cs_sb_str(&b, "`).");
        }
        return;
    default:
        cs_sb_str(&b, "See the reason's MDN page.");
        return;
    }
}
