/* CORS classifier, part 1 of 3: what kind of request this is, and the
 * Firefox and Chromium check sequences (cors-reasons.md §2, §3, §8) run on
 * one request/response pair.  Texts live in cors_text.c, header lists and
 * safelists in cors_lists.c. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "cors_int.h"

#define ACAO "Access-Control-Allow-Origin"
#define ACAC "Access-Control-Allow-Credentials"
#define ACAM "Access-Control-Allow-Methods"
#define ACAH "Access-Control-Allow-Headers"
#define ACRM "Access-Control-Request-Method"
#define ACRH "Access-Control-Request-Headers"

/* A token list's first element that is not a token (bad: true), as
 * cs_cors_list_bad_token finds it. */
struct cs_bad_token {
    bool bad;
    const char *tok;
    size_t len;
};

/* What a preflight response's lists say, the same for both browsers and
 * both credentials assumptions: the four checks of one classification
 * (two browsers, two assumptions) each asked these, and a preflight's
 * lists are its most expensive part.  Filled on first use (pf_lists()). */
struct cs_pf_lists {
    bool done;
    struct cs_bad_token acam_bad, acah_bad; /* ACAM, ACAH not lists of tokens */
    bool acam_has_method;                   /* ACAM lists the ACRM value */
    bool acam_star, acah_star;              /* ACAM, ACAH list `*` */
    /* the ACRH elements that ACAH does not list (case-insensitively): the
     * first in ACRH's order (Chromium's), the lowest in Firefox's sorted,
     * lower-cased order (the first of equals), and whether one of them is
     * Authorization; NULL when ACAH lists them all */
    const char *miss_first, *miss_min;
    size_t miss_first_len, miss_min_len;
    bool miss_auth;
};

/* One exchange as the checks see it. */
struct cs_ex {
    const corscope_request *req;
    const corscope_response *resp;
    const char *origin;
    size_t origin_len;
    bool preflight;
    bool check_304; /* a 304 is checked as it is (corscope_context.conditional_by_page) */
    const char *acrm;
    size_t acrm_len;
    struct cs_req_index rq;  /* the request's CORS lines, found once */
    struct cs_resp_index rs; /* the response's (zero without a response) */
    /* What both browsers' access checks (each run for two credentials
     * assumptions) and the lints ask about ACAO and ACAC, answered once
     * per response by index_acao(). */
    size_t acao_lines;       /* lines named ACAO in any case */
    size_t acao_exact_lines; /* lines named byte-exactly ACAO (Firefox) */
    bool acao_star;          /* merged ACAO is "*" */
    bool acao_is_origin;     /* merged ACAO equals the Origin header */
    bool acao_null;          /* merged ACAO is "null" */
    bool acac_true;          /* merged ACAC is "true" */
    struct cs_pf_lists *pf;  /* a preflight's lists, filled on first use */
    bool over_h2;            /* corscope_context.over_h2 */
};

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* The first line of a field, or NULL when absent. */
static const corscope_header *first_line(struct cs_span s)
{
    return s.n ? s.h : NULL;
}

/* ---- same-origin (§1.1) ---- */

struct cs_origin {
    const char *scheme;
    size_t scheme_len;
    const char *host;
    size_t host_len;
    unsigned long port;
};

/* Splits "host[:port]" or "[v6][:port]"; default port when absent.  False
 * for a malformed port. */
static bool split_hostport(const char *s, size_t len, unsigned long def, struct cs_origin *o)
{
    size_t hend = len, i = 0;
    if (len && s[0] == '[') {
        while (i < len && s[i] != ']')
            i++;
        if (i == len)
            return false;
        hend = i + 1;
    } else {
        for (i = 0; i < len; i++)
            if (s[i] == ':') {
                hend = i;
                break;
            }
    }
    o->host = s;
    o->host_len = hend;
    o->port = def;
    if (hend < len) {
        if (s[hend] != ':' || hend + 1 == len)
            return hend + 1 == len && s[hend] == ':'; /* "host:" = default */
        unsigned long p = 0;
        for (i = hend + 1; i < len; i++) {
            if (s[i] < '0' || s[i] > '9' || p > 65535)
                return false;
            p = p * 10 + (unsigned long)(s[i] - '0');
        }
        o->port = p;
    }
    return o->host_len > 0;
}

static unsigned long default_port(const char *scheme, size_t len)
{
    return len == 5 && cs_cors_ieq(scheme, len, "https") ? 443 : 80;
}

/* Parses a serialized origin "scheme://host[:port]"; false for "null" and
 * anything else that is not a tuple origin. */
static bool parse_origin(const char *s, size_t len, struct cs_origin *o)
{
    size_t i = 0;
    while (i < len && s[i] != ':')
        i++;
    if (i == 0 || i + 3 > len || s[i + 1] != '/' || s[i + 2] != '/')
        return false;
    o->scheme = s;
    o->scheme_len = i;
    return split_hostport(s + i + 3, len - i - 3, default_port(s, i), o);
}

static bool mem_ieq2(const char *a, size_t al, const char *b, size_t bl)
{
    if (al != bl)
        return false;
    for (size_t i = 0; i < al; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

static bool same_origin(const struct cs_ex *x)
{
    const corscope_request *req = x->req;
    struct cs_origin o, t;
    const char *host;
    size_t hlen;
    bool abs;
    if (!parse_origin(x->origin, x->origin_len, &o) ||
        !cs_cors_request_host_at(req, first_line(x->rq.host), &host, &hlen, &abs))
        return false;
    t.scheme = abs ? req->target : "http";
    t.scheme_len = 4;
    if (abs && req->target_len > 4 && req->target[4] != ':')
        t.scheme_len = 5; /* "https://" (cs_cors_request_host checked the form) */
    if (!abs && req->scheme && req->scheme_len) {
        t.scheme = req->scheme; /* over TLS, or an h2 :scheme */
        t.scheme_len = req->scheme_len;
    }
    if (!split_hostport(host, hlen, default_port(t.scheme, t.scheme_len), &t))
        return false;
    return mem_ieq2(o.scheme, o.scheme_len, t.scheme, t.scheme_len) &&
           mem_ieq2(o.host, o.host_len, t.host, t.host_len) && o.port == t.port;
}

/* ---- small predicates ---- */

static bool is_redirect(const struct cs_ex *x)
{
    int s = x->resp->status;
    return (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) && x->rs.location.n;
}

static bool ok_status(int s)
{
    return s >= 200 && s <= 299;
}

/* A span of one line is that line alone (cs_cors_index_response spans
 * start and end at lines of the field): its value is the merged value,
 * compared without walking the lines and matching their names (nearly
 * every CORS response sends ACAO and ACAC once). */
static bool merged_is(struct cs_span f, const char *name, const char *s, size_t len)
{
    if (f.n == 1)
        return f.h->value_len == len && (len == 0 || memcmp(f.h->value, s, len) == 0);
    return cs_cors_merged_eq(f.h, f.n, name, s, len);
}

/* Chromium's "is a valid URL to GURL", approximated: a scheme, and for the
 * special schemes a non-empty host. */
static bool gurl_valid(const char *v, size_t len)
{
    size_t i = 0;
    if (len == 0 || !((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z')))
        return false;
    while (i < len && v[i] != ':') {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return false;
        i++;
    }
    if (i == len)
        return false;
    static const char *const special[] = {"http", "https", "ws", "wss", "ftp", "file"};
    bool sp = false;
    for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
        sp = sp || cs_cors_ieq(v, i, special[k]);
    if (!sp)
        return true;
    size_t h = i + 1;
    while (h < len && (v[h] == '/' || v[h] == '\\'))
        h++;
    return h < len && v[h] != '?' && v[h] != '#';
}

/* Location analysis for a redirect of a CORS request (§1.7, §8.5). */
/* Where a redirect points.  The non-http(s) schemes split the browsers as
 * observed in Firefox 153.7 ESR and Chromium 156 (tests/browser, scenarios
 * not-http-redirect-*, redirect-to-data; pcaps/browser/):
 *   scheme        Firefox               Chromium
 *   data:, file:  CORSDidNotSucceed     net::ERR_UNSAFE_REDIRECT   (LOC_DATA_FILE)
 *   about:        CORSRequestNotHttp    net::ERR_UNSAFE_REDIRECT   (LOC_ABOUT)
 *   javascript:   CORSDidNotSucceed     CorsDisabledScheme         (LOC_JAVASCRIPT)
 *   ftp:, other   CORSRequestNotHttp    CorsDisabledScheme         (LOC_NOT_HTTP)
 * (file: fails Firefox's load check, "may not load or link to", before CORS;
 * other schemes than the five observed are assumed to behave like ftp:.) */
enum loc_kind { LOC_OK,
                LOC_USERINFO,
                LOC_DATA_FILE,
                LOC_ABOUT,
                LOC_JAVASCRIPT,
                LOC_NOT_HTTP };

static enum loc_kind location_kind(const corscope_header *loc)
{
    const char *v = loc->value;
    size_t len = loc->value_len, i = 0, a;
    while (i < len && v[i] != ':' && v[i] != '/' && v[i] != '?' && v[i] != '#')
        i++;
    if (i < len && v[i] == ':' && i > 0) {
        if (cs_cors_ieq(v, i, "data") || cs_cors_ieq(v, i, "file"))
            return LOC_DATA_FILE;
        if (cs_cors_ieq(v, i, "about"))
            return LOC_ABOUT;
        if (cs_cors_ieq(v, i, "javascript"))
            return LOC_JAVASCRIPT;
        if (!cs_cors_ieq(v, i, "http") && !cs_cors_ieq(v, i, "https"))
            return LOC_NOT_HTTP;
        a = i + 1;
    } else {
        a = 0;
    }
    if (len - a < 2 || v[a] != '/' || v[a + 1] != '/')
        return LOC_OK; /* relative: same authority */
    for (size_t k = a + 2; k < len && v[k] != '/' && v[k] != '?' && v[k] != '#'; k++)
        if (v[k] == '@')
            return LOC_USERINFO;
    return LOC_OK;
}

static void set_out(struct cs_outcome *o, corscope_outcome v, enum cs_reason r, enum cs_chrome c)
{
    o->verdict = v;
    o->reason = r;
    o->chrome = c;
}

/* A preflight's Access-Control-Allow-Methods or -Headers must be a list of
 * tokens, every element checked whether needed or not (cors-reasons.md
 * §1.4).  On the first bad one: blocked with that element as the message
 * parameter, and true. */
static bool fail_bad_token(struct cs_outcome *o, const struct cs_bad_token *b, enum cs_reason r,
                           enum cs_chrome c)
{
    if (!b->bad)
        return false;
    set_out(o, CORSCOPE_BLOCKED, r, c);
    o->param = b->tok;
    o->param_len = b->len;
    return true;
}

static void index_acao(struct cs_ex *x)
{
    struct cs_span acao = x->rs.acao;
    if (acao.n <= 1) { /* absent, or one line (named ACAO in some case) */
        x->acao_lines = acao.n;
        /* the line's name has ACAO's length: a fixed-size compare */
        x->acao_exact_lines = acao.n && memcmp(acao.h->name, ACAO, sizeof ACAO - 1) == 0;
    } else {
        x->acao_lines = cs_cors_count(CS_SPAN(acao), ACAO);
        x->acao_exact_lines = cs_cors_count_exact(CS_SPAN(acao), ACAO);
    }
    x->acao_star = merged_is(acao, ACAO, "*", 1);
    x->acao_is_origin = merged_is(acao, ACAO, x->origin, x->origin_len);
    x->acao_null = merged_is(acao, ACAO, "null", 4);
    x->acac_true = merged_is(x->rs.acac, ACAC, "true", 4);
}

/* ---- Firefox ---- */

/* §2.3 steps 6-10 (CheckRequestApproved).  Returns true when it passes. */
static bool ff_access(const struct cs_ex *x, bool cred, struct cs_outcome *o)
{
    if (x->acao_exact_lines > 1) {
        set_out(o, CORSCOPE_BLOCKED, CS_R_MULTIPLE_ACAO, CS_C_NONE);
        return false;
    }
    if (x->acao_lines == 0) {
        set_out(o, CORSCOPE_BLOCKED, CS_R_MISSING_ACAO, CS_C_NONE);
        return false;
    }
    bool star = x->acao_star;
    if (cred && star) {
        set_out(o, CORSCOPE_BLOCKED, CS_R_NOT_SUPPORTING_CRED, CS_C_NONE);
        return false;
    }
    if ((cred || !star) && !x->acao_is_origin) {
        set_out(o, CORSCOPE_BLOCKED, CS_R_ACAO_MISMATCH, CS_C_NONE);
        o->param_is_acao = true;
        return false;
    }
    if (cred && !x->acac_true) {
        set_out(o, CORSCOPE_BLOCKED, CS_R_MISSING_ACAC, CS_C_NONE);
        return false;
    }
    return true;
}

/* Orders two header names as Firefox's sorted, lower-cased list does. */
static int lower_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    for (size_t i = 0; i < al && i < bl; i++) {
        unsigned char ca = (unsigned char)lower(a[i]), cb = (unsigned char)lower(b[i]);
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    return al < bl ? -1 : al > bl;
}

/* The elements of one of a preflight's lists, read once: every question
 * pf_lists asks of it is then a loop over these (the list used to be
 * tokenized again for each question, one of them per ACRH element). */
#define CS_PF_SCAN_MAX 64
struct cs_list_scan {
    size_t n;
    bool overflow; /* more than CS_PF_SCAN_MAX elements: some not kept */
    const char *tok[CS_PF_SCAN_MAX];
    size_t len[CS_PF_SCAN_MAX];
};

/* Reads the list `name` in s: its first element that is not a token (*b),
 * whether it lists `*`, and its elements (up to CS_PF_SCAN_MAX). */
static bool scan_list(struct cs_span s, const char *name, struct cs_bad_token *b,
                      struct cs_list_scan *sc)
{
    size_t line = 0, pos = 0, tl;
    const char *t;
    bool star = false;
    b->bad = false;
    sc->n = 0;
    sc->overflow = false;
    while (cs_cors_list_next(CS_SPAN(s), name, &line, &pos, &t, &tl)) {
        if (!b->bad && !cs_cors_is_token(t, tl)) {
            b->bad = true;
            b->tok = t;
            b->len = tl;
        }
        star = star || (tl == 1 && t[0] == '*');
        if (sc->n < CS_PF_SCAN_MAX) {
            sc->tok[sc->n] = t;
            sc->len[sc->n++] = tl;
        } else {
            sc->overflow = true;
        }
    }
    return star;
}

/* cs_cors_list_has on a scanned list. */
static bool scan_has(const struct cs_list_scan *sc, struct cs_span s, const char *name,
                     const char *v, size_t vl, bool ci)
{
    if (sc->overflow)
        return cs_cors_list_has(CS_SPAN(s), name, v, vl, ci);
    for (size_t i = 0; i < sc->n; i++)
        if (ci ? mem_ieq2(sc->tok[i], sc->len[i], v, vl)
               : (sc->len[i] == vl && memcmp(sc->tok[i], v, vl) == 0))
            return true;
    return false;
}

/* A preflight's list facts (struct cs_pf_lists), computed on first use. */
static const struct cs_pf_lists *pf_lists(const struct cs_ex *x)
{
    struct cs_pf_lists *p = x->pf;
    if (p->done)
        return p;
    struct cs_span acam = x->rs.acam, acah = x->rs.acah;
    struct cs_list_scan am, ah;
    size_t tl, line = 0, pos = 0;
    const char *t;
    *p = (struct cs_pf_lists){.done = true};
    p->acam_star = scan_list(acam, ACAM, &p->acam_bad, &am);
    p->acah_star = scan_list(acah, ACAH, &p->acah_bad, &ah);
    p->acam_has_method = scan_has(&am, acam, ACAM, x->acrm, x->acrm_len, false);
    while (cs_cors_list_next(CS_SPAN(x->rq.acrh), ACRH, &line, &pos, &t, &tl)) {
        if (scan_has(&ah, acah, ACAH, t, tl, true))
            continue;
        if (cs_cors_ieq(t, tl, "authorization"))
            p->miss_auth = true;
        if (!p->miss_first) {
            p->miss_first = t;
            p->miss_first_len = tl;
        }
        if (!p->miss_min || lower_cmp(t, tl, p->miss_min, p->miss_min_len) < 0) {
            p->miss_min = t;
            p->miss_min_len = tl;
        }
    }
    return p;
}

/* §2.3 then §2.4 on a preflight response. */
static void ff_preflight(const struct cs_ex *x, bool cred, struct cs_outcome *o)
{
    const corscope_response *r = x->resp;
    if (!ff_access(x, cred, o))
        return;
    if (is_redirect(x)) {
        set_out(o, CORSCOPE_BLOCKED, CS_R_EXTERNAL_REDIRECT, CS_C_NONE);
        return;
    }
    if (!ok_status(r->status)) {
        set_out(o, CORSCOPE_BLOCKED, CS_R_PREFLIGHT_FAILED, CS_C_NONE);
        return;
    }
    const struct cs_pf_lists *pf = pf_lists(x);
    if (fail_bad_token(o, &pf->acam_bad, CS_R_INVALID_METHOD, CS_C_NONE))
        return;
    const char *m = x->acrm;
    size_t ml = x->acrm_len;
    if (!cs_cors_eq(m, ml, "GET") && !cs_cors_eq(m, ml, "HEAD") && !cs_cors_eq(m, ml, "POST") &&
        !pf->acam_has_method && !(!cred && pf->acam_star)) {
        set_out(o, CORSCOPE_BLOCKED, CS_R_METHOD_NOT_FOUND, CS_C_NONE);
        return;
    }
    if (fail_bad_token(o, &pf->acah_bad, CS_R_INVALID_HEADER, CS_C_NONE))
        return;
    bool wild = !cred && pf->acah_star;
    if (pf->miss_min && !wild) {
        /* the lowest header ACAH does not list */
        set_out(o, CORSCOPE_BLOCKED, CS_R_MISSING_HEADER, CS_C_NONE);
        o->param = pf->miss_min;
        o->param_len = pf->miss_min_len;
        return;
    }
    /* under `*`, an unlisted Authorization passes with a warning */
    o->warn_auth = wild && pf->miss_auth;
    set_out(o, o->warn_auth ? CORSCOPE_WARNING : CORSCOPE_ALLOWED, CS_R_NONE, CS_C_NONE);
}

/* §2.3 on an actual response, then the redirect's Location (§1.7, §8.5). */
static void ff_actual(const struct cs_ex *x, bool cred, struct cs_outcome *o)
{
    if (!ff_access(x, cred, o))
        return;
    set_out(o, CORSCOPE_ALLOWED, CS_R_NONE, CS_C_NONE);
    if (!is_redirect(x))
        return;
    switch (location_kind(x->rs.location.h)) {
    case LOC_USERINFO:
    case LOC_DATA_FILE:
    case LOC_JAVASCRIPT:
        set_out(o, CORSCOPE_BLOCKED, CS_R_DID_NOT_SUCCEED, CS_C_NONE);
        break;
    case LOC_ABOUT:
    case LOC_NOT_HTTP:
        /* Firefox names the redirect target in this message (observed). */
        set_out(o, CORSCOPE_BLOCKED, CS_R_NOT_HTTP, CS_C_NONE);
        break;
    case LOC_OK:
        break;
    }
}

/* ---- Chromium ---- */

/* CheckAccess (§3.3 steps 1-4); preflight responses get the kPreflight…
 * variant.  Returns true when it passes. */
static bool ch_access(const struct cs_ex *x, bool cred, struct cs_outcome *o)
{
    enum cs_chrome c = CS_C_NONE;
    enum cs_reason fr = CS_R_NONE;
    struct cs_span acao = x->rs.acao;
    size_t lines = x->acao_lines;
    if (x->acao_star) {
        if (!cred)
            return true;
        c = CS_C_WILDCARD;
        fr = CS_R_NOT_SUPPORTING_CRED;
    } else if (lines == 0) {
        c = CS_C_MISSING_ACAO;
        fr = CS_R_MISSING_ACAO;
    } else if (!x->acao_is_origin) {
        fr = lines > 1 ? CS_R_MULTIPLE_ACAO : CS_R_ACAO_MISMATCH;
        if (cs_cors_merged_has(CS_SPAN(acao), ACAO, ' ') ||
            cs_cors_merged_has(CS_SPAN(acao), ACAO, ','))
            c = CS_C_MULTIPLE;
        else if (x->acao_null)
            c = CS_C_MISMATCH;
        else {
            const corscope_header *v = acao.h;
            c = gurl_valid(v->value, v->value_len) ? CS_C_MISMATCH : CS_C_INVALID_ACAO;
        }
        o->param_is_acao = true;
    } else if (cred && !x->acac_true) {
        c = CS_C_INVALID_ACAC;
        fr = CS_R_MISSING_ACAC;
        o->param_is_acac = true;
    }
    if (c == CS_C_NONE)
        return true;
    if (x->preflight)
        c = (enum cs_chrome)(c + (CS_C_PF_WILDCARD - CS_C_WILDCARD));
    set_out(o, CORSCOPE_BLOCKED, fr, c);
    return false;
}

/* §3.4: redirect first, CheckAccess, status, ACAM then ACAH syntax, method,
 * headers.  §8.4 (observed): a non-credentialed `*` lets Authorization
 * through, with only a DevTools issue; reported as a warning. */
static void ch_preflight(const struct cs_ex *x, bool cred, struct cs_outcome *o)
{
    const corscope_response *r = x->resp;
    if (is_redirect(x)) {
        set_out(o, CORSCOPE_BLOCKED, CS_R_EXTERNAL_REDIRECT, CS_C_PF_REDIRECT);
        return;
    }
    if (!ch_access(x, cred, o))
        return;
    if (!ok_status(r->status)) {
        set_out(o, CORSCOPE_BLOCKED, CS_R_PREFLIGHT_FAILED, CS_C_PF_STATUS);
        return;
    }
    const struct cs_pf_lists *pf = pf_lists(x);
    if (fail_bad_token(o, &pf->acam_bad, CS_R_INVALID_METHOD, CS_C_INVALID_ACAM))
        return;
    if (fail_bad_token(o, &pf->acah_bad, CS_R_INVALID_HEADER, CS_C_INVALID_ACAH))
        return;
    const char *m = x->acrm;
    size_t ml = x->acrm_len;
    if (!cs_cors_ieq(m, ml, "GET") && !cs_cors_ieq(m, ml, "HEAD") && !cs_cors_ieq(m, ml, "POST") &&
        !pf->acam_has_method && !(!cred && pf->acam_star)) {
        set_out(o, CORSCOPE_BLOCKED, CS_R_METHOD_NOT_FOUND, CS_C_METHOD);
        o->param = m;
        o->param_len = ml;
        return;
    }
    if (pf->miss_first && !(!cred && pf->acah_star)) {
        /* Chromium names the first missing header in the actual request's
         * header order; the wire only has ACRH (sorted), so use its order. */
        set_out(o, CORSCOPE_BLOCKED, CS_R_MISSING_HEADER, CS_C_HEADER);
        o->param = pf->miss_first;
        o->param_len = pf->miss_first_len;
        return;
    }
    /* §8.4: Chromium lets Authorization under `*` through and logs nothing
     * to the console (only a DevTools issue): allowed, not a warning. */
    o->warn_auth = false;
    set_out(o, CORSCOPE_ALLOWED, CS_R_NONE, CS_C_NONE);
}

static void ch_actual(const struct cs_ex *x, bool cred, struct cs_outcome *o)
{
    if (!ch_access(x, cred, o))
        return;
    set_out(o, CORSCOPE_ALLOWED, CS_R_NONE, CS_C_NONE);
    if (!is_redirect(x))
        return;
    switch (location_kind(x->rs.location.h)) {
    case LOC_USERINFO:
        set_out(o, CORSCOPE_BLOCKED, CS_R_DID_NOT_SUCCEED, CS_C_REDIRECT_CREDENTIALS);
        break;
    case LOC_DATA_FILE:
        /* refused by //net, not a CorsError (observed in Chromium 156) */
        set_out(o, CORSCOPE_BLOCKED, CS_R_DID_NOT_SUCCEED, CS_C_NET_UNSAFE_REDIRECT);
        break;
    case LOC_ABOUT:
        set_out(o, CORSCOPE_BLOCKED, CS_R_NOT_HTTP, CS_C_NET_UNSAFE_REDIRECT);
        break;
    case LOC_JAVASCRIPT:
        set_out(o, CORSCOPE_BLOCKED, CS_R_DID_NOT_SUCCEED, CS_C_CORS_DISABLED_SCHEME);
        break;
    case LOC_NOT_HTTP:
        /* observed: ftp: (and javascript:) reach the CORS layer, which
         * reports kCorsDisabledScheme, not net::ERR_UNSAFE_REDIRECT */
        set_out(o, CORSCOPE_BLOCKED, CS_R_NOT_HTTP, CS_C_CORS_DISABLED_SCHEME);
        break;
    case LOC_OK:
        break;
    }
}

/* ---- responses a browser refuses before any CORS check ---- */

/* Measured in both browsers over HTTP/1.1, TLS and h2 (tests/browser
 * dup-location-differ, dup-content-disposition-differ,
 * dup-content-length-differ, h2-te-chunked, status-*, h2-status-*): two
 * different Location or Content-Disposition values are refused by both
 * everywhere; two different Content-Length values by Firefox everywhere and
 * by Chromium over HTTP/1.x only; a transfer-encoding field over h2 by
 * Chromium alone; status codes as corscope_status_form says.  Firefox then
 * reports CORSDidNotSucceed.  (struct cs_refusal: cors_int.h) */

/* Whether the `name` lines of span s (the index's: first to last such
 * line) carry more than one value. */
static bool values_differ(struct cs_span s, const char *name, size_t nl)
{
    for (size_t i = 1; i < s.n; i++) {
        const corscope_header *h = &s.h[i];
        if (h->name_len == nl && cs_cors_ieq(h->name, nl, name) &&
            (h->value_len != s.h->value_len || memcmp(h->value, s.h->value, h->value_len) != 0))
            return true;
    }
    return false;
}

/* A value byte Chromium refuses in an h2 field (measured: 0x01, 0x0c,
 * 0x1f, 0x7f, inside or at the end of a value; tests/browser
 * h2-value-ctl and the others): a control character other than HTAB, or
 * DEL.  Firefox reads them, and neither browser minds them over HTTP/1.x
 * or minds bytes above 0x7f.  (NUL, CR and LF: both refuse; the h2 stage
 * reports those responses malformed.)  Eight bytes at a time: a byte
 * below 0x20 or equal to 0x7f ("haszero"/"hasless" tests, exact for
 * "any"), then byte by byte only when one is there, as HTAB is. */
static const corscope_header *h2_ctl_value(const corscope_response *r)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
    for (size_t k = 0; k < r->n_headers; k++) {
        const unsigned char *v = (const unsigned char *)r->headers[k].value;
        size_t n = r->headers[k].value_len, i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t w, d;
            memcpy(&w, v + i, 8);
            d = w ^ (0x7f * ones);
            if (((w - 0x20 * ones) & ~w & high) | ((d - ones) & ~d & high))
                break;
        }
        for (; i < n; i++)
            if ((v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
                return &r->headers[k];
    }
    return NULL;
}

/* Whether the request went over TLS: its scheme (set over TLS, or h2's
 * :scheme) or an absolute https:// target. */
static bool over_tls(const corscope_request *q)
{
    return (q->scheme_len == 5 && cs_cors_ieq(q->scheme, 5, "https")) ||
           (q->target_len >= 8 && cs_cors_ieq(q->target, 8, "https://"));
}

static struct cs_refusal refusal_of(const corscope_request *q, const corscope_response *r,
                                    const struct cs_resp_index *rs, bool over_h2)
{
    if (r->chromium_http09 && over_tls(q)) /* status-line-icy over https */
        return (struct cs_refusal){CS_REFUSE_HTTP09, NULL, NULL, false, CS_C_NET_INVALID_RESPONSE};
    switch (r->status_form) {
    case CORSCOPE_STATUS_LONG: return (struct cs_refusal){CS_REFUSE_STATUS, NULL, NULL, true, CS_C_NONE};
    case CORSCOPE_STATUS_NOT_DIGITS:
        return (struct cs_refusal){CS_REFUSE_STATUS, NULL, NULL, true,
                                   over_h2 ? CS_C_NET_H2_PROTOCOL : CS_C_NONE};
    case CORSCOPE_STATUS_REPEATED:
        return (struct cs_refusal){CS_REFUSE_STATUS, NULL, NULL, false, CS_C_NET_H2_PROTOCOL};
    case CORSCOPE_STATUS_DIGITS:
        if (over_h2 && r->status == 0) /* Firefox alone (status-zeros over h2) */
            return (struct cs_refusal){CS_REFUSE_STATUS, NULL, NULL, true, CS_C_NONE};
        break;
    }
    if (values_differ(rs->location, "Location", 8))
        return (struct cs_refusal){CS_REFUSE_TWO_VALUES, "Location", NULL, true,
                                   CS_C_NET_MULTIPLE_LOCATION};
    if (values_differ(rs->content_disposition, "Content-Disposition", 19))
        return (struct cs_refusal){CS_REFUSE_TWO_VALUES, "Content-Disposition", NULL, true,
                                   CS_C_NET_MULTIPLE_DISPOSITION};
    if (values_differ(rs->content_length, "Content-Length", 14))
        return (struct cs_refusal){CS_REFUSE_TWO_VALUES, "Content-Length", NULL, true,
                                   over_h2 ? CS_C_NONE : CS_C_NET_MULTIPLE_CONTENT_LENGTH};
    if (rs->transfer_encoding.n && over_h2)
        return (struct cs_refusal){CS_REFUSE_H2_FIELD, "transfer-encoding", NULL, false,
                                   CS_C_NET_H2_PROTOCOL};
    const corscope_header *ctl = over_h2 ? h2_ctl_value(r) : NULL;
    if (ctl)
        return (struct cs_refusal){CS_REFUSE_H2_VALUE, NULL, ctl, false, CS_C_NET_H2_PROTOCOL};
    return (struct cs_refusal){CS_REFUSE_NONE, NULL, NULL, false, CS_C_NONE};
}

/* The note for a status code a browser refuses (refusal_of). */
static void status_note(struct cs_sbuf *b, const corscope_response *r, bool over_h2)
{
    switch (r->status_form) {
    case CORSCOPE_STATUS_LONG:
        cs_sb_fmt(b, "The status code has more than three digits (RFC 9110 §15): Firefox refuses "
                     "the response before any CORS check; Chromium reads it as %d.",
                  r->status);
        return;
    case CORSCOPE_STATUS_NOT_DIGITS:
        if (over_h2)
            cs_sb_str(b, "`:status` is not a number (RFC 9113 §8.3.2): both browsers refuse the "
                         "response before any CORS check.");
        else
            cs_sb_fmt(b, "The status line's code is not one to three digits (RFC 9110 §15): "
                         "Firefox refuses the response before any CORS check; Chromium reads it "
                         "as %d.",
                      r->status);
        return;
    case CORSCOPE_STATUS_REPEATED:
        cs_sb_str(b, "The HTTP/2 response has `:status` twice (RFC 9113 §8.3): Chromium refuses it "
                     "and fails the request; Firefox reads the first.");
        return;
    case CORSCOPE_STATUS_DIGITS:
        cs_sb_str(b, "`:status` 0: Firefox refuses it over HTTP/2 and fails the request; Chromium "
                     "reads it.");
        return;
    }
}

/* ---- both browsers, one credentials assumption ---- */

/* The network error Chromium reports for a request without a response. */
static enum cs_chrome chrome_net_error(corscope_failure failure, bool over_h2)
{
    switch (failure) {
    case CORSCOPE_FAIL_RESET: return CS_C_NET_RESET;
    case CORSCOPE_FAIL_STREAM_RESET: return CS_C_NET_H2_PROTOCOL; /* RST_STREAM from the server */
    case CORSCOPE_FAIL_MALFORMED:                                 /* h2: Chromium resets the stream itself */
        return over_h2 ? CS_C_NET_H2_PROTOCOL : CS_C_NET_INVALID_RESPONSE;
    case CORSCOPE_FAIL_CLOSED: return CS_C_NET_EMPTY;
    default: return CS_C_NET_TIMED_OUT;
    }
}

/* x: the exchange as Firefox reads it, xc as Chromium does (the same one
 * unless the response has lines Chromium reads alone). */
static void judge(const struct cs_ex *x, const struct cs_ex *xc, bool cred, corscope_failure failure,
                  struct cs_outcome *ff, struct cs_outcome *ch)
{
    memset(ff, 0, sizeof *ff);
    memset(ch, 0, sizeof *ch);
    ff->reason = ch->reason = CS_R_NONE;
    if (!x->resp) {
        if (failure == CORSCOPE_FAIL_LOST || failure == CORSCOPE_FAIL_CAPTURE_ENDED) {
            ff->verdict = ch->verdict = CORSCOPE_UNKNOWN;
            return;
        }
        if (failure == CORSCOPE_FAIL_ABORTED) {
            ff->verdict = ch->verdict = CORSCOPE_NA; /* no check ran: nothing to report */
            return;
        }
        set_out(ff, CORSCOPE_BLOCKED, CS_R_DID_NOT_SUCCEED, CS_C_NONE);
        set_out(ch, CORSCOPE_BLOCKED, CS_R_DID_NOT_SUCCEED, chrome_net_error(failure, x->over_h2));
        return;
    }
    if (x->resp->status == 304 && !x->preflight && !x->check_304) {
        /* §1.10: a revalidation is checked with the cached response */
        ff->verdict = ch->verdict = CORSCOPE_UNKNOWN;
        return;
    }
    if (x->preflight) {
        ff_preflight(x, cred, ff);
        ch_preflight(xc, cred, ch);
    } else {
        ff_actual(x, cred, ff);
        ch_actual(xc, cred, ch);
    }
}

/* Sets every field of v to its empty value.  The text buffers get only
 * their terminating NUL: clearing 1.5 KB per browser for every request
 * cost more than the checks themselves. */
static void clear_browser(corscope_browser_verdict *v)
{
    v->verdict = CORSCOPE_NA;
    v->reason = v->console_key = v->chrome = NULL;
    v->message[0] = '\0';
    v->hint[0] = '\0';
    v->depends_on_credentials = false;
    v->cred_alt_verdict = CORSCOPE_NA;
    v->cred_alt_reason = v->cred_alt_chrome = NULL;
}

/* An allowed outcome without the Authorization warning: no console text
 * and no hint in either browser (the text builders would write ""). */
static bool silent(const struct cs_outcome *o)
{
    return o->verdict == CORSCOPE_ALLOWED && o->reason == CS_R_NONE && o->chrome == CS_C_NONE &&
           !o->warn_auth;
}

/* Turns an outcome into the public per-browser verdict with its texts. */
static void fill_browser(const struct cs_text_in *in, const struct cs_outcome *o, bool firefox,
                         const struct cs_outcome *alt, corscope_browser_verdict *v)
{
    clear_browser(v);
    v->verdict = o->verdict;
    if (o->reason != CS_R_NONE) {
        v->reason = cs_cors_reason_key(o->reason);
        v->console_key = firefox ? cs_cors_reason_console_key(o->reason) : NULL;
    } else if (o->warn_auth) {
        v->reason = cs_cors_reason_key(CS_R_AUTH_WILDCARD_WARNING);
        v->console_key = firefox ? v->reason : NULL;
    }
    if (!firefox)
        v->chrome = cs_cors_chrome_name(o->chrome);
    if (silent(o))
        ; /* nothing logged, nothing to fix */
    else if (firefox)
        cs_cors_firefox_message(in, o, v->message, sizeof v->message);
    else
        cs_cors_chrome_message(in, o, v->message, sizeof v->message);
    if (!silent(o))
        cs_cors_hint(in, o, v->hint, sizeof v->hint);
    /* Only a different verdict makes the outcome depend on the credentials
     * mode; two different reasons for the same block do not. */
    if (alt && alt->verdict != o->verdict) {
        v->depends_on_credentials = true;
        v->cred_alt_verdict = alt->verdict;
        v->cred_alt_reason = cs_cors_reason_key(alt->reason);
        v->cred_alt_chrome = firefox ? NULL : cs_cors_chrome_name(alt->chrome);
    } else {
        v->cred_alt_verdict = o->verdict;
        v->cred_alt_reason = v->reason;
        v->cred_alt_chrome = v->chrome;
    }
}

/* Does some Vary line list Origin (or `*`)? */
static bool vary_has_origin(struct cs_span vary)
{
    return cs_cors_list_has(CS_SPAN(vary), "Vary", "origin", 6, true) ||
           cs_cors_list_has(CS_SPAN(vary), "Vary", "*", 1, false);
}

static unsigned lints(const struct cs_ex *x)
{
    const corscope_response *r = x->resp;
    unsigned l = 0;
    if (!r)
        return 0;
    bool reflect = x->acao_is_origin;
    if (reflect && x->acac_true && !cs_cors_eq(x->origin, x->origin_len, "null"))
        l |= CORSCOPE_LINT_REFLECTED_CREDENTIALS;
    if (x->acao_null)
        l |= CORSCOPE_LINT_NULL_ORIGIN_ALLOWED;
    if (reflect && !x->preflight && !vary_has_origin(x->rs.vary))
        l |= CORSCOPE_LINT_NO_VARY_ORIGIN;
    return l;
}

static void build_url(const corscope_request *req, const corscope_header *host_line, char *buf,
                      size_t size)
{
    struct cs_sbuf b;
    const char *host = NULL;
    size_t hlen = 0;
    bool abs = false;
    cs_sb_init(&b, buf, size);
    bool have = cs_cors_request_host_at(req, host_line, &host, &hlen, &abs);
    if (have && abs) {
        cs_sb_add(&b, req->target, req->target_len);
        return;
    }
    if (req->scheme && req->scheme_len)
        cs_sb_add(&b, req->scheme, req->scheme_len);
    else
        cs_sb_str(&b, "http");
    cs_sb_str(&b, "://");
    if (have)
        cs_sb_add(&b, host, hlen);
    if (req->target)
        cs_sb_add(&b, req->target, req->target_len);
}

int corscope_classify(const corscope_request *req, const corscope_response *resp,
                      const corscope_context *ctx, corscope_verdict *out)
{
    static const corscope_context no_ctx;
    struct cs_ex x;
    struct cs_outcome ff, ch, ff_alt, ch_alt;
    bool have_alt = false;
    if (!req || !out || !req->method || (req->n_headers && !req->headers) ||
        (resp && resp->n_headers && !resp->headers))
        return -EINVAL;
    if (!ctx)
        ctx = &no_ctx;
    /* *out is fully overwritten: scalars zeroed, text buffers emptied (not
     * cleared byte by byte; the strings are NUL-terminated). */
    out->kind = CORSCOPE_KIND_NO_CORS;
    out->verdict = CORSCOPE_NA;
    out->browsers_disagree = out->depends_on_credentials = false;
    out->credentials = CORSCOPE_CRED_UNKNOWN;
    clear_browser(&out->firefox);
    clear_browser(&out->chromium);
    out->lints = 0;
    out->url[0] = '\0';
    out->note[0] = '\0';
    struct cs_pf_lists pf;
    memset(&x, 0, sizeof x);
    pf.done = false;
    x.pf = &pf;
    x.req = req;
    const corscope_response *sent = resp; /* both browsers' lines */
    /* Each browser's lines (corscope_response.lines): Firefox's without
     * the last n_chromium_only, Chromium's without the first
     * n_firefox_only (x_ch below) */
    const corscope_response *resp_ch = resp;
    corscope_response resp_ff, resp_ch_own;
    size_t n_odd_ff = 0, n_odd_ch = 0; /* the lines only one browser reads */
    if (resp) {
        n_odd_ch = resp->n_chromium_only < resp->n_headers ? resp->n_chromium_only : resp->n_headers;
        n_odd_ff = resp->n_firefox_only < resp->n_headers - n_odd_ch ? resp->n_firefox_only
                                                                     : resp->n_headers - n_odd_ch;
    }
    if (resp && (resp->chromium_http09 || n_odd_ff)) {
        resp_ch_own = *resp;
        resp_ch_own.headers += n_odd_ff;
        resp_ch_own.n_headers -= n_odd_ff;
        if (resp->chromium_http09) /* Chromium reads no line ("ICY 200 OK") */
            resp_ch_own.n_headers = 0;
        resp_ch_own.chromium_http09 = false;
        resp_ch_own.n_firefox_only = 0;
        resp_ch = &resp_ch_own;
    }
    if (resp && (n_odd_ch || resp->firefox_http09)) {
        resp_ff = *resp;
        resp_ff.n_headers = resp->firefox_http09 ? 0 : resp->n_headers - n_odd_ch;
        resp_ff.n_chromium_only = 0;
        resp_ff.firefox_http09 = false;
        resp = &resp_ff;
    }
    x.resp = resp;
    cs_cors_index_request(req, &x.rq);
    build_url(req, first_line(x.rq.host), out->url, sizeof out->url);

    const corscope_header *origin = first_line(x.rq.origin);
    if (!origin) {
        out->kind = CORSCOPE_KIND_NO_CORS;
        return 0;
    }
    x.origin = origin->value;
    x.origin_len = origin->value_len;
    if (!ctx->redirect_tainted && same_origin(&x)) {
        out->kind = CORSCOPE_KIND_SAME_ORIGIN;
        return 0;
    }
    if (resp) {
        cs_cors_index_response(resp, &x.rs);
        index_acao(&x);
    }
    /* as corscope_is_preflight() */
    x.preflight = cs_cors_eq(req->method, req->method_len, "OPTIONS") && x.rq.acrm.n;
    x.check_304 = ctx->conditional_by_page;
    x.over_h2 = ctx->over_h2;
    if (x.preflight) {
        const corscope_header *m = x.rq.acrm.h;
        x.acrm = m->value;
        x.acrm_len = m->value_len;
        out->kind = CORSCOPE_KIND_PREFLIGHT;
    } else {
        out->kind = corscope_needs_preflight(req) ? CORSCOPE_KIND_ACTUAL : CORSCOPE_KIND_SIMPLE;
    }

    /* §1.2: Cookie on the actual request proves credentials: "include" */
    corscope_cred cred = ctx->credentials;
    if (cred == CORSCOPE_CRED_UNKNOWN && !x.preflight && x.rq.cookie.n)
        cred = CORSCOPE_CRED_INCLUDE;
    out->credentials = cred;

    /* Chromium's own view, in the rare response that needs one */
    struct cs_ex x_ch;
    struct cs_pf_lists pf_ch;
    const struct cs_ex *xc = &x;
    if (resp_ch != resp) {
        x_ch = x;
        pf_ch.done = false;
        x_ch.pf = &pf_ch;
        x_ch.resp = resp_ch;
        cs_cors_index_response(resp_ch, &x_ch.rs);
        index_acao(&x_ch);
        xc = &x_ch;
    }
    judge(&x, xc, cred == CORSCOPE_CRED_INCLUDE, ctx->failure, &ff, &ch);
    if (cred == CORSCOPE_CRED_UNKNOWN) {
        judge(&x, xc, true, ctx->failure, &ff_alt, &ch_alt);
        have_alt = true;
    }
    struct cs_refusal refused =
        resp ? refusal_of(req, resp, &x.rs, x.over_h2) : (struct cs_refusal){0};
    if (refused.firefox) {
        memset(&ff, 0, sizeof ff);
        set_out(&ff, CORSCOPE_BLOCKED, CS_R_DID_NOT_SUCCEED, CS_C_NONE);
        ff_alt = ff;
    }
    if (refused.chrome != CS_C_NONE) {
        memset(&ch, 0, sizeof ch);
        set_out(&ch, CORSCOPE_BLOCKED, CS_R_DID_NOT_SUCCEED, refused.chrome);
        ch_alt = ch;
    }

    struct cs_text_in in = {
        .url = out->url,
        .origin = x.origin,
        .origin_len = x.origin_len,
        .req = req,
        .resp = resp,
        .failure = ctx->failure,
        .over_h2 = ctx->over_h2,
        .preflight = x.preflight,
        .acrm = x.acrm,
        .acrm_len = x.acrm_len,
        .refused = refused,
    };
    if (resp && is_redirect(&x)) {
        in.location = x.rs.location.h->value;
        in.location_len = x.rs.location.h->value_len;
    }
    /* the lines one browser read and the other did not, for the texts */
    corscope_line_shape shape = sent ? sent->lines : CORSCOPE_LINES_SAME;
    size_t n_dropped = shape == CORSCOPE_LINES_WS_BEFORE_COLON ? n_odd_ch : 0;
    const corscope_header *dropped =
        n_dropped ? sent->headers + (sent->n_headers - n_odd_ch) : NULL;
    in.dropped = dropped;
    in.n_dropped = n_dropped;
    in.bare_cr = shape == CORSCOPE_LINES_BARE_CR;
    in.cr_line = in.bare_cr && n_odd_ff ? sent->headers : NULL;
    in.firefox_http09 = sent && sent->firefox_http09;
    fill_browser(&in, &ff, true, have_alt ? &ff_alt : NULL, &out->firefox);
    in.n_dropped = 0;
    in.firefox_http09 = false;
    in.resp = resp_ch; /* Chromium's texts quote the lines it read */
    in.chromium_http09 = sent && sent->chromium_http09;
    fill_browser(&in, &ch, false, have_alt ? &ch_alt : NULL, &out->chromium);

    out->verdict = out->firefox.verdict > out->chromium.verdict ? out->firefox.verdict
                                                                : out->chromium.verdict;
    out->browsers_disagree = out->firefox.verdict != out->chromium.verdict;
    out->depends_on_credentials =
        out->firefox.depends_on_credentials || out->chromium.depends_on_credentials;
    out->lints = lints(&x);

    struct cs_sbuf note;
    cs_sb_init(&note, out->note, sizeof out->note);
    if (resp && resp->status == 304 && !x.preflight && !x.check_304)
        cs_sb_str(&note, "304 revalidation: browsers check the cached response, not seen here.");
    else if (!resp && ctx->failure == CORSCOPE_FAIL_LOST)
        cs_sb_str(&note, "Response not captured.");
    else if (!resp && ctx->failure == CORSCOPE_FAIL_CAPTURE_ENDED)
        cs_sb_str(&note, "The capture ended before a response: the browser was still waiting.");
    else if (!resp && ctx->failure == CORSCOPE_FAIL_MALFORMED)
        cs_sb_str(&note, ctx->over_h2
                             ? "The HTTP/2 response was malformed (RFC 9113 §8.2.1, §8.3: a field name "
                               "that is not lower-case token characters, a NUL, CR or LF in a value, "
                               "or a misplaced or unknown pseudo-header): both browsers refuse it and "
                               "fail the request."
                             : "The response's header block holds a NUL byte: both browsers refuse "
                               "to parse it and fail the request.");
    else if (!resp && ctx->failure == CORSCOPE_FAIL_ABORTED)
        cs_sb_str(&note, "The client cancelled the request before any response (the page aborted it): "
                         "browsers report no error.");
    else if (!resp)
        cs_sb_str(&note, "No response: Chromium reports a network error, not a CORS error.");
    else if (refused.kind == CS_REFUSE_STATUS)
        status_note(&note, resp, x.over_h2);
    else if (refused.kind == CS_REFUSE_HTTP09)
        cs_sb_str(&note, "Chromium reads an `ICY` status line as HTTP/0.9, which it refuses over "
                         "HTTPS, and fails the request; Firefox reads it as HTTP/1.0.");
    else if (sent && sent->chromium_http09)
        cs_sb_str(&note, "Chromium does not take an `ICY` status line for HTTP and reads the response "
                         "as HTTP/0.9, without header lines; Firefox reads them (as HTTP/1.0).");
    else if (sent && sent->firefox_http09)
        cs_sb_str(&note, "Firefox does not take this status line for one (it wants `HTTP/1.` or "
                         "`HTTP/2.0` as written) and reads the response as HTTP/0.9, without header "
                         "lines; Chromium reads them.");
    else if (n_dropped)
        cs_sb_fmt(&note, "`%.*s` has whitespace before its colon%s: Firefox drops such a line, "
                         "Chromium reads it.",
                  (int)dropped->name_len, dropped->name, n_dropped > 1 ? " (and other lines)" : "");
    else if (in.bare_cr && in.cr_line)
        cs_sb_fmt(&note, "`%.*s` holds a bare CR (one without LF): Chromium ends the line there and "
                         "reads what follows as a line of its own, Firefox keeps the CR in the line.",
                  cs_cors_name_shown(in.cr_line), in.cr_line->name);
    else if (in.bare_cr)
        cs_sb_str(&note, "The status line holds a bare CR (one without LF): Chromium ends it there and "
                         "reads what follows as a header line, Firefox keeps it in the reason phrase.");
    else if (refused.kind == CS_REFUSE_H2_VALUE)
        cs_sb_fmt(&note, "Chromium refuses this HTTP/2 response (a control character in the `%.*s` "
                         "value) and fails the request; Firefox reads it.",
                  (int)refused.line->name_len, refused.line->name);
    else if (refused.kind == CS_REFUSE_H2_FIELD)
        cs_sb_fmt(&note, "Chromium refuses this HTTP/2 response (a `%s` field, RFC 9113 §8.2.2) "
                         "and fails the request; Firefox ignores the field.",
                  refused.field);
    else if (refused.kind == CS_REFUSE_TWO_VALUES)
        cs_sb_fmt(&note, "The response has two different `%s` values: %s refuse%s it before any "
                         "CORS check.",
                  refused.field, refused.chrome != CS_C_NONE ? "both browsers" : "Firefox",
                  refused.chrome != CS_C_NONE ? "" : "s");
    else if (x.preflight && out->firefox.verdict == CORSCOPE_WARNING)
        cs_sb_str(&note, "Authorization covered only by `*`: Firefox warns (deprecated); Chromium "
                         "allows it with a DevTools issue only.");
    else if (!x.preflight && is_redirect(&x) && out->verdict == CORSCOPE_ALLOWED)
        cs_sb_str(&note, "Redirect passed the CORS check; the next hop is judged on its own.");
    return 0;
}
