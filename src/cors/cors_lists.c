/* CORS classifier, part 3 of 3: header lookup and merging, token lists,
 * the CORS-safelisted request headers (Fetch "CORS-safelisted request-header",
 * cors-reasons.md §1.3, §1.4, §1.6) and the preflight-result model used by a
 * preflight cache (§1.8). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "cors_int.h"

/* <limits.h> would resolve to src/limits.h under -Isrc. */
#define CS_ULL_MAX ((unsigned long long)-1)
#define CS_LL_MAX (CS_ULL_MAX / 2)


static bool mem_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (corscope_ascii_lower(a[i]) != corscope_ascii_lower(b[i]))
            return false;
    return true;
}

/* Both compare in one pass that stops at the first difference (no strlen
 * of b first): they run for every header name against every name the
 * checks look for, the classifier's hottest loop. */
bool cs_cors_ieq(const char *a, size_t alen, const char *b)
{
    for (size_t i = 0; i < alen; i++)
        if (b[i] == '\0' || corscope_ascii_lower(a[i]) != corscope_ascii_lower(b[i]))
            return false;
    return b[alen] == '\0';
}

bool cs_cors_eq(const char *a, size_t alen, const char *b)
{
    for (size_t i = 0; i < alen; i++)
        if (b[i] == '\0' || a[i] != b[i])
            return false;
    return b[alen] == '\0';
}

/* Is this header line named `name` (nlen = strlen(name))?  Lengths first:
 * most lines are rejected without touching a byte; then the exact spelling,
 * which is what servers nearly always send (one memcmp instead of a
 * byte-by-byte case fold). */
static inline bool named(const corscope_header *h, const char *name, size_t nlen)
{
    return h->name_len == nlen &&
           (memcmp(h->name, name, nlen) == 0 || mem_ieq(h->name, nlen, name, nlen));
}

size_t cs_cors_count(const corscope_header *h, size_t n, const char *name)
{
    size_t c = 0;
    size_t nlen = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (named(&h[i], name, nlen))
            c++;
    return c;
}

size_t cs_cors_count_exact(const corscope_header *h, size_t n, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (cs_cors_eq(h[i].name, h[i].name_len, name))
            c++;
    return c;
}

/* RFC 9110 §5.3: several lines of one field are one value joined by ", ".
 * Compared piece by piece so no buffer is needed and nothing is cut. */
bool cs_cors_merged_eq(const corscope_header *h, size_t n, const char *name,
                       const char *s, size_t slen)
{
    size_t off = 0, nlen = strlen(name);
    bool seen = false;
    for (size_t i = 0; i < n; i++) {
        if (!named(&h[i], name, nlen))
            continue;
        if (seen) {
            if (slen - off < 2 || memcmp(s + off, ", ", 2) != 0)
                return false;
            off += 2;
        }
        seen = true;
        if (slen - off < h[i].value_len ||
            (h[i].value_len && memcmp(s + off, h[i].value, h[i].value_len) != 0))
            return false;
        off += h[i].value_len;
    }
    return seen && off == slen;
}

long cs_cors_merged_copy(const corscope_header *h, size_t n, const char *name,
                         char *buf, size_t size)
{
    struct cs_sbuf b;
    long total = -1;
    size_t nlen = strlen(name);
    cs_sb_init(&b, buf, size);
    for (size_t i = 0; i < n; i++) {
        if (!named(&h[i], name, nlen))
            continue;
        if (total >= 0) {
            cs_sb_add(&b, ", ", 2);
            total += 2;
        } else {
            total = 0;
        }
        cs_sb_add(&b, h[i].value, h[i].value_len);
        total += (long)h[i].value_len;
    }
    return total;
}

bool cs_cors_merged_has(const corscope_header *h, size_t n, const char *name, char c)
{
    size_t lines = 0, nlen = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (!named(&h[i], name, nlen))
            continue;
        if (++lines > 1 && (c == ',' || c == ' '))
            return true; /* the ", " join */
        if (h[i].value_len && memchr(h[i].value, c, h[i].value_len))
            return true;
    }
    return false;
}

/* Widens span s to cover lines[i] when that line is named `name`. */
/* always_inline: at each TAKE the name is a literal, so the exact-spelling
 * memcmp becomes a few fixed-size compares instead of a libc call (this
 * runs for every header line of every message judged). */
static inline __attribute__((always_inline)) void take(struct cs_span *s, const corscope_header *lines,
                                                       size_t i, const char *name, size_t nlen)
{
    if (!named(&lines[i], name, nlen))
        return;
    if (s->n == 0)
        s->h = &lines[i];
    s->n = (size_t)(&lines[i] - s->h) + 1;
}

#define TAKE(span, lines, i, lit) take((span), (lines), (i), lit, sizeof lit - 1)

/* One pass over the lines: the length picks the candidate names, one
 * case-insensitive compare confirms. */
void cs_cors_index_response(const corscope_response *r, struct cs_resp_index *ix)
{
    const corscope_header *h = r->headers;
    memset(ix, 0, sizeof *ix);
    for (size_t i = 0; i < r->n_headers; i++) {
        switch (h[i].name_len) {
        case 4: TAKE(&ix->vary, h, i, "Vary"); break;
        case 8: TAKE(&ix->location, h, i, "Location"); break;
        case 14: TAKE(&ix->content_length, h, i, "Content-Length"); break;
        case 17: TAKE(&ix->transfer_encoding, h, i, "Transfer-Encoding"); break;
        case 19: TAKE(&ix->content_disposition, h, i, "Content-Disposition"); break;
        case 22: TAKE(&ix->max_age, h, i, "Access-Control-Max-Age"); break;
        case 27: TAKE(&ix->acao, h, i, "Access-Control-Allow-Origin"); break;
        case 28:
            /* the two names differ first at byte 21 ('M' / 'H'): only
             * the candidate it names is compared (a miss on the other
             * folded 21 bytes before it failed) */
            if ((h[i].name[21] | 0x20) == 'm')
                TAKE(&ix->acam, h, i, "Access-Control-Allow-Methods");
            else
                TAKE(&ix->acah, h, i, "Access-Control-Allow-Headers");
            break;
        case 32: TAKE(&ix->acac, h, i, "Access-Control-Allow-Credentials"); break;
        default: break;
        }
    }
}

void cs_cors_index_request(const corscope_request *q, struct cs_req_index *ix)
{
    const corscope_header *h = q->headers;
    memset(ix, 0, sizeof *ix);
    for (size_t i = 0; i < q->n_headers; i++) {
        switch (h[i].name_len) {
        case 4: TAKE(&ix->host, h, i, "Host"); break;
        case 6: /* Origin or Cookie by the first byte (Accept is neither) */
            if ((h[i].name[0] | 0x20) == 'o')
                TAKE(&ix->origin, h, i, "Origin");
            else if ((h[i].name[0] | 0x20) == 'c')
                TAKE(&ix->cookie, h, i, "Cookie");
            break;
        case 29: TAKE(&ix->acrm, h, i, "Access-Control-Request-Method"); break;
        case 30: TAKE(&ix->acrh, h, i, "Access-Control-Request-Headers"); break;
        default: break;
        }
    }
}

bool cs_cors_is_token(const char *p, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!corscope_is_tchar((unsigned char)p[i]))
            return false;
    return true;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* cs_cors_list_next with the name's length given: the loops below measure
 * it once, not once per token. */
static inline bool list_next(const corscope_header *h, size_t n, const char *name, size_t nlen,
                             size_t *line, size_t *pos, const char **tok, size_t *toklen)
{
    for (; *line < n; (*line)++, *pos = 0) {
        const corscope_header *hd = &h[*line];
        if (!named(hd, name, nlen))
            continue;
        while (*pos < hd->value_len) {
            size_t start = *pos, end = hd->value_len;
            const char *comma = memchr(hd->value + start, ',', end - start);
            if (comma)
                end = (size_t)(comma - hd->value);
            *pos = end < hd->value_len ? end + 1 : end;
            while (start < end && is_ws(hd->value[start]))
                start++;
            while (end > start && is_ws(hd->value[end - 1]))
                end--;
            if (end > start) {
                *tok = hd->value + start;
                *toklen = end - start;
                return true;
            }
        }
    }
    return false;
}

bool cs_cors_list_next_len(const corscope_header *h, size_t n, const char *name, size_t nlen,
                           size_t *line, size_t *pos, const char **tok, size_t *toklen)
{
    return list_next(h, n, name, nlen, line, pos, tok, toklen);
}

bool cs_cors_list_bad_token(const corscope_header *h, size_t n, const char *name,
                            const char **tok, size_t *toklen)
{
    size_t line = 0, pos = 0, nlen = strlen(name);
    while (list_next(h, n, name, nlen, &line, &pos, tok, toklen))
        if (!cs_cors_is_token(*tok, *toklen))
            return true;
    return false;
}


bool cs_cors_list_has(const corscope_header *h, size_t n, const char *name,
                      const char *s, size_t slen, bool ci)
{
    size_t line = 0, pos = 0, tl, nlen = strlen(name);
    const char *t;
    while (list_next(h, n, name, nlen, &line, &pos, &t, &tl)) {
        if (ci ? mem_ieq(t, tl, s, slen) : (tl == slen && memcmp(t, s, slen) == 0))
            return true;
    }
    return false;
}

/* ---- §1.6: which request headers need a preflight ---- */

/* Header names are compared lower-cased: each name is folded once into a
 * small buffer, then matched with fixed-length memcmp (which the compiler
 * inlines), instead of folding both sides byte by byte for every candidate.
 * CS_NAME_FOLD_MAX covers every name below; a longer name can only match
 * the "sec-" and "proxy-" prefixes. */
#define CS_NAME_FOLD_MAX 32

/* ASCII lower case of 8 bytes at once: 0x20 is added to each byte in
 * 'A'..'Z' (bytes >= 0x80 are left alone).  The per-byte compares are done
 * on the low 7 bits, with the high bit of each byte as the result. */
static uint64_t fold8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t low7 = x & ~high;
    uint64_t ge_a = low7 + (0x80 - 'A') * ones;     /* high bit: byte >= 'A' */
    uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * ones; /* high bit: byte > 'Z' */
    uint64_t upper = (ge_a & ~gt_z) & ~x & high;
    return x | (upper >> 2);
}

static size_t fold_name(const char *name, size_t len, char *buf)
{
    size_t n = len < CS_NAME_FOLD_MAX ? len : CS_NAME_FOLD_MAX, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, name + i, 8);
        w = fold8(w);
        memcpy(buf + i, &w, 8);
    }
    if (i == n)
        return n;
    /* The rest in words too, overlapping bytes already folded (folding is
     * the same twice): the name's last 8 bytes, or for a name of 4 to 7
     * bytes its first and last 4 (most names end in a tail, and a byte
     * loop over it cost as much as the rest of the safelist checks). */
    if (n >= 8) {
        uint64_t w;
        memcpy(&w, name + n - 8, 8);
        w = fold8(w);
        memcpy(buf + n - 8, &w, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, name, 4);
        memcpy(&b, name + n - 4, 4);
        a = (uint32_t)fold8(a);
        b = (uint32_t)fold8(b);
        memcpy(buf, &a, 4);
        memcpy(buf + n - 4, &b, 4);
    } else {
        for (; i < n; i++) {
            unsigned char c = (unsigned char)name[i];
            buf[i] = (char)(c | ((unsigned)(c - 'A') < 26u ? 0x20 : 0));
        }
    }
    return n;
}

#define IS(lit) (memcmp(l, lit, sizeof lit - 1) == 0)

/* Forbidden request-header names and headers the browser adds itself: they
 * never count as author headers.  l is the lower-cased name (the first
 * CS_NAME_FOLD_MAX bytes of it), len the full length; grouped by length, so
 * a header line is compared only with the names of its own length (this
 * runs for every header of every CORS request). */
static bool is_ignored(const char *l, size_t len)
{
    if (len >= 4 && IS("sec-"))
        return true;
    if (len >= 6 && IS("proxy-"))
        return true;
    switch (len) {
    case 2: return IS("te");
    /* dpr, rtt, ect and the longer ones below marked UA: Chromium client
     * hints and friends (UA-added) */
    case 3: return IS("dnt") || IS("via") || IS("dpr") || IS("rtt") || IS("ect");
    case 4: return IS("date") || IS("host");
    case 5: return IS("width") /* UA */;
    case 6: return IS("cookie") || IS("expect") || IS("origin") || IS("pragma");
    case 7: return IS("cookie2") || IS("referer") || IS("trailer") || IS("upgrade");
    case 8: return IS("priority") || IS("downlink") /* UA */;
    case 9: return IS("save-data") /* UA */;
    case 10: return IS("connection") || IS("keep-alive") || IS("set-cookie") || IS("user-agent");
    case 12: return IS("intervention") /* UA */;
    case 13: return IS("cache-control") || IS("if-none-match") || IS("device-memory") /* UA */;
    case 14: return IS("accept-charset") || IS("content-length") || IS("viewport-width") /* UA */;
    case 15: return IS("accept-encoding");
    case 17: return IS("transfer-encoding") || IS("if-modified-since");
    case 25: return IS("upgrade-insecure-requests");
    case 29: return IS("access-control-request-method");
    case 30: return IS("access-control-request-headers");
    default: return false;
    }
}

/* Request-header value bytes by class, one load per byte (the safelist
 * checks read every byte of Accept and Accept-Language on every CORS
 * request): CS_B_UNSAFE a CORS-unsafe request-header byte (Fetch: '"',
 * '(', ')', ':', '<', '>', '?', '@', '[', '\\', ']', '{', '}', controls
 * other than HTAB, DEL); CS_B_LANG a byte Accept-Language and
 * Content-Language may hold (0-9 A-Z a-z SP * , - . ; =). */
#define CS_B_UNSAFE 1u
#define CS_B_LANG 2u
static const unsigned char byte_class[256] = {
    [0x00 ... 0x08] = CS_B_UNSAFE,
    [0x0a ... 0x1f] = CS_B_UNSAFE,
    [0x7f] = CS_B_UNSAFE,
    ['"'] = CS_B_UNSAFE,
    ['('] = CS_B_UNSAFE,
    [')'] = CS_B_UNSAFE,
    [':'] = CS_B_UNSAFE,
    ['<'] = CS_B_UNSAFE,
    ['>'] = CS_B_UNSAFE,
    ['?'] = CS_B_UNSAFE,
    ['@'] = CS_B_UNSAFE,
    ['['] = CS_B_UNSAFE,
    ['\\'] = CS_B_UNSAFE,
    [']'] = CS_B_UNSAFE,
    ['{'] = CS_B_UNSAFE,
    ['}'] = CS_B_UNSAFE,
    ['0' ... '9'] = CS_B_LANG,
    ['A' ... 'Z'] = CS_B_LANG,
    ['a' ... 'z'] = CS_B_LANG,
    [' '] = CS_B_LANG,
    ['*'] = CS_B_LANG,
    [','] = CS_B_LANG,
    ['-'] = CS_B_LANG,
    ['.'] = CS_B_LANG,
    [';'] = CS_B_LANG,
    ['='] = CS_B_LANG,
};

static bool any_unsafe_byte(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (byte_class[(unsigned char)v[i]] & CS_B_UNSAFE)
            return true;
    return false;
}

/* MIME type essence check for Content-Type (WHATWG MIME Sniffing parse:
 * type "/" subtype, both tokens, optional parameters after ';'). */
static bool safe_content_type(const char *v, size_t len)
{
    size_t i = 0;
    while (i < len && is_ws(v[i]))
        i++;
    size_t ts = i;
    while (i < len && v[i] != '/')
        i++;
    if (i >= len)
        return false;
    size_t te = i++, ss = i;
    while (i < len && v[i] != ';')
        i++;
    size_t se = i;
    while (se > ss && is_ws(v[se - 1]))
        se--;
    if (!cs_cors_is_token(v + ts, te - ts) || !cs_cors_is_token(v + ss, se - ss))
        return false;
    size_t el = se - ts;
    return mem_ieq(v + ts, el, "application/x-www-form-urlencoded", 33) ||
           mem_ieq(v + ts, el, "multipart/form-data", 19) ||
           mem_ieq(v + ts, el, "text/plain", 10);
}

static bool parse_uint(const char *v, size_t len, size_t *i, unsigned long long *out)
{
    size_t s = *i;
    unsigned long long x = 0;
    while (*i < len && v[*i] >= '0' && v[*i] <= '9') {
        unsigned d = (unsigned)(v[*i] - '0');
        if (x > (CS_ULL_MAX - d) / 10)
            return false;
        x = x * 10 + d;
        (*i)++;
    }
    *out = x;
    return *i > s;
}

/* Fetch "simple range header value": bytes=N- or bytes=N-M with N <= M. */
static bool safe_range(const char *v, size_t len)
{
    size_t i = 6;
    unsigned long long a, b;
    if (len < 6 || memcmp(v, "bytes=", 6) != 0)
        return false;
    if (!parse_uint(v, len, &i, &a) || i >= len || v[i] != '-')
        return false;
    i++;
    if (i == len)
        return true;
    if (!parse_uint(v, len, &i, &b) || i != len)
        return false;
    return a <= b;
}

/* l: the lower-cased name, as for is_ignored. */
static bool safelisted(const corscope_header *h, const char *l)
{
    const char *v = h->value;
    size_t len = h->value_len, nlen = h->name_len;
    if (len > 128)
        return false;
    if (nlen == 6 && IS("accept"))
        return !any_unsafe_byte(v, len);
    if ((nlen == 15 && IS("accept-language")) || (nlen == 16 && IS("content-language"))) {
        for (size_t i = 0; i < len; i++)
            if (!(byte_class[(unsigned char)v[i]] & CS_B_LANG))
                return false;
        return true;
    }
    if (nlen == 12 && IS("content-type"))
        return !any_unsafe_byte(v, len) && safe_content_type(v, len);
    if (nlen == 5 && IS("range"))
        return safe_range(v, len);
    return false;
}

#undef IS

static void add_name(struct cs_cors_names *out, const corscope_header *h)
{
    if (out->n >= CS_CORS_MAX_UNSAFE) {
        out->overflow = true;
        return;
    }
    out->name[out->n] = h->name;
    out->len[out->n] = h->name_len;
    out->n++;
}

void cs_cors_unsafe_names(const corscope_request *req, struct cs_cors_names *out)
{
    size_t safe_total = 0;
    out->n = 0; /* name[] and len[] are written before they are read */
    out->overflow = false;
    char l[CS_NAME_FOLD_MAX];
    for (size_t i = 0; i < req->n_headers; i++) {
        const corscope_header *h = &req->headers[i];
        fold_name(h->name, h->name_len, l);
        if (is_ignored(l, h->name_len))
            continue;
        if (safelisted(h, l))
            safe_total += h->value_len;
        else
            add_name(out, h);
    }
    if (safe_total <= 1024)
        return;
    /* aggregate rule: over 1024 bytes of safelisted values, all are unsafe */
    for (size_t i = 0; i < req->n_headers; i++) {
        const corscope_header *h = &req->headers[i];
        fold_name(h->name, h->name_len, l);
        if (!is_ignored(l, h->name_len) && safelisted(h, l))
            add_name(out, h);
    }
}

static bool safelisted_method(const char *m, size_t len)
{
    return cs_cors_ieq(m, len, "GET") || cs_cors_ieq(m, len, "HEAD") ||
           cs_cors_ieq(m, len, "POST");
}

/* Whether cs_cors_unsafe_names would name any header: the first unsafe
 * one answers, without looking at the rest (this runs for every CORS
 * request, and an actual request's unsafe header comes early). */
static bool any_unsafe_name(const corscope_request *req)
{
    size_t safe_total = 0;
    char l[CS_NAME_FOLD_MAX];
    for (size_t i = 0; i < req->n_headers; i++) {
        const corscope_header *h = &req->headers[i];
        fold_name(h->name, h->name_len, l);
        if (is_ignored(l, h->name_len))
            continue;
        if (!safelisted(h, l))
            return true;
        safe_total += h->value_len;
    }
    return safe_total > 1024; /* then every safelisted one is unsafe */
}

bool corscope_needs_preflight(const corscope_request *req)
{
    if (!req || !req->method)
        return false;
    if (!safelisted_method(req->method, req->method_len))
        return true;
    return any_unsafe_name(req);
}

bool corscope_is_preflight(const corscope_request *req)
{
    return req && req->method && cs_cors_eq(req->method, req->method_len, "OPTIONS") &&
           corscope_header_find(req->headers, req->n_headers, "Access-Control-Request-Method");
}

corscope_cred corscope_infer_credentials(const corscope_request *actual,
                                         const corscope_request *preflight)
{
    if (!actual)
        return CORSCOPE_CRED_UNKNOWN;
    if (corscope_header_find(actual->headers, actual->n_headers, "Cookie"))
        return CORSCOPE_CRED_INCLUDE;
    if (preflight && corscope_header_find(actual->headers, actual->n_headers, "Authorization") &&
        !cs_cors_list_has(preflight->headers, preflight->n_headers,
                          "Access-Control-Request-Headers", "authorization", 13, true))
        return CORSCOPE_CRED_INCLUDE;
    return CORSCOPE_CRED_UNKNOWN;
}

bool cs_cors_request_host(const corscope_request *req, const char **host, size_t *len,
                          bool *absolute)
{
    return cs_cors_request_host_at(req, corscope_header_find(req->headers, req->n_headers, "Host"), host,
                                   len, absolute);
}

bool cs_cors_request_host_at(const corscope_request *req, const corscope_header *h,
                             const char **host, size_t *len, bool *absolute)
{
    const char *t = req->target;
    size_t tl = req->target_len, skip = 0;
    *absolute = false;
    if (t && tl >= 7 && mem_ieq(t, 7, "http://", 7))
        skip = 7;
    else if (t && tl >= 8 && mem_ieq(t, 8, "https://", 8))
        skip = 8;
    if (skip) {
        size_t e = skip;
        while (e < tl && t[e] != '/' && t[e] != '?' && t[e] != '#')
            e++;
        size_t s = skip;
        for (size_t i = skip; i < e; i++)
            if (t[i] == '@')
                s = i + 1;
        *host = t + s;
        *len = e - s;
        *absolute = true;
        return true;
    }
    if (!h)
        return false;
    *host = h->value;
    *len = h->value_len;
    return true;
}

/* ---- §1.8: preflight results and their reuse ---- */

long corscope_max_age_firefox(const char *value, size_t len)
{
    unsigned long long x = 0;
    if (!value || len == 0)
        return 5;
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return -1;
        if (x <= 86400)
            x = x * 10 + (unsigned)(value[i] - '0');
    }
    return x > 86400 ? 86400 : (long)x;
}

/* base::StringToInt64 semantics: optional sign, digits only, no spaces;
 * failure (including overflow) means the 5 s default. */
long corscope_max_age_chromium(const char *value, size_t len)
{
    size_t i = 0;
    bool neg = false;
    unsigned long long x = 0;
    if (!value || len == 0)
        return 5;
    if (value[0] == '-' || value[0] == '+') {
        neg = value[0] == '-';
        i = 1;
    }
    if (i == len)
        return 5;
    for (; i < len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return 5;
        unsigned d = (unsigned)(value[i] - '0');
        unsigned long long lim = CS_LL_MAX + (neg ? 1u : 0u);
        if (x > (lim - d) / 10)
            return 5;
        x = x * 10 + d;
    }
    if (neg)
        return 0;
    return x > 7200 ? 7200 : (long)x;
}

static void store_token(corscope_preflight_result *out, bool is_header, const char *t, size_t tl)
{
    size_t *n = is_header ? &out->n_headers : &out->n_methods;
    size_t cap = is_header ? CORSCOPE_PF_MAX_HEADERS : CORSCOPE_PF_MAX_METHODS;
    if (tl == 1 && t[0] == '*') {
        if (is_header)
            out->headers_wildcard = true;
        else
            out->methods_wildcard = true;
    }
    if (*n >= cap || tl >= CORSCOPE_PF_TOKEN_MAX) {
        out->truncated = true;
        return;
    }
    char *dst = is_header ? out->headers[*n] : out->methods[*n];
    for (size_t i = 0; i < tl; i++)
        dst[i] = is_header ? corscope_ascii_lower(t[i]) : t[i];
    dst[tl] = '\0';
    (*n)++;
}

int corscope_preflight_parse(const corscope_response *resp, corscope_cred cred,
                             corscope_preflight_result *out)
{
    static const char *const lists[2] = {"Access-Control-Allow-Methods",
                                         "Access-Control-Allow-Headers"};
    char buf[128];
    bool valid = true;
    if (!resp || !out)
        return -EINVAL;
    /* the scalars only: the token arrays (3 KB) are read up to n_methods
     * and n_headers, and each token stored is NUL-terminated */
    out->methods_wildcard = out->headers_wildcard = out->truncated = false;
    out->n_methods = out->n_headers = 0;
    out->max_age[0] = out->max_age[1] = 0;
    out->credentialed = cred == CORSCOPE_CRED_INCLUDE;
    /* the three fields' lines found in one pass, then only they are read
     * (walking every line for each field met the other list's line, of
     * the same length, and folded 21 bytes of it before it failed) */
    struct cs_resp_index ix;
    cs_cors_index_response(resp, &ix);
    const struct cs_span spans[2] = {ix.acam, ix.acah};
    for (int k = 0; k < 2; k++) {
        size_t line = 0, pos = 0, tl;
        const char *t;
        while (cs_cors_list_next(CS_SPAN(spans[k]), lists[k], &line, &pos, &t, &tl)) {
            if (!cs_cors_is_token(t, tl))
                valid = false;
            else
                store_token(out, k == 1, t, tl);
        }
    }
    long len = cs_cors_merged_copy(CS_SPAN(ix.max_age), "Access-Control-Max-Age", buf, sizeof buf);
    size_t used = len < 0 ? 0 : ((size_t)len < sizeof buf ? (size_t)len : sizeof buf - 1);
    out->max_age[CORSCOPE_FIREFOX] = corscope_max_age_firefox(len < 0 ? NULL : buf, used);
    out->max_age[CORSCOPE_CHROMIUM] = corscope_max_age_chromium(len < 0 ? NULL : buf, used);
    if ((size_t)(len < 0 ? 0 : len) >= sizeof buf && out->max_age[CORSCOPE_CHROMIUM] > 0) {
        /* a cut all-digit value is huge: Chromium overflows to the default */
        out->max_age[CORSCOPE_CHROMIUM] = 5;
    }
    return valid ? 0 : -EINVAL;
}

/* An IPv4 or bracketed IPv6 literal, with an optional :port. */
static bool ip_literal(const char *h, size_t len)
{
    if (len && h[0] == '[')
        return true;
    size_t e = len;
    for (size_t i = 0; i < len; i++)
        if (h[i] == ':')
            e = i;
    if (e == 0)
        return false;
    for (size_t i = 0; i < e; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
            return false;
    return true;
}

static bool pf_has(const char (*list)[CORSCOPE_PF_TOKEN_MAX], size_t n,
                   const char *s, size_t len, bool ci)
{
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(list[i]);
        if (ci ? mem_ieq(list[i], l, s, len) : (l == len && memcmp(list[i], s, len) == 0))
            return true;
    }
    return false;
}

bool corscope_preflight_allows(const corscope_preflight_result *pf, corscope_browser b,
                               const corscope_request *actual, corscope_cred cred)
{
    struct cs_cors_names names;
    bool include = cred == CORSCOPE_CRED_INCLUDE;
    const char *host;
    size_t hlen;
    bool abs;
    if (!pf || !actual || !actual->method)
        return false;
    const char *m = actual->method;
    size_t ml = actual->method_len;
    cs_cors_unsafe_names(actual, &names);
    if (names.overflow)
        return false;
    if (b == CORSCOPE_FIREFOX) {
        /* §1.8 and §8.7: key includes the credentials flag, `*` is stored
         * literally, GET/POST implicit, never reused for an IP literal */
        if (pf->credentialed != include)
            return false;
        if (cs_cors_request_host(actual, &host, &hlen, &abs) && ip_literal(host, hlen))
            return false;
        if (!cs_cors_eq(m, ml, "GET") && !cs_cors_eq(m, ml, "POST") &&
            !pf_has(pf->methods, pf->n_methods, m, ml, false))
            return false;
        for (size_t i = 0; i < names.n; i++)
            if (!pf_has(pf->headers, pf->n_headers, names.name[i], names.len[i], true))
                return false;
        return true;
    }
    if (include && !pf->credentialed)
        return false;
    if (!safelisted_method(m, ml) && !pf_has(pf->methods, pf->n_methods, m, ml, false) &&
        !(pf->methods_wildcard && !include))
        return false;
    for (size_t i = 0; i < names.n; i++) {
        if (pf_has(pf->headers, pf->n_headers, names.name[i], names.len[i], true))
            continue;
        if (pf->headers_wildcard && !include)
            continue; /* incl. Authorization: §8.4, as in the preflight check */
        return false;
    }
    return true;
}
