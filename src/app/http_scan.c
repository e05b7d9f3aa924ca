/* The pure HTTP/1.x line scanner: start lines, header lines, framing values.
 *
 * Nothing here allocates or keeps state; every output is a pointer and a
 * length into the caller's buffer (picohttpparser style).  The line ends of
 * a header block are found in one pass, 64 bytes at a time, and each line's
 * colon from its start (see struct line_scan).  http.c owns the
 * per-connection state machine built on top. */
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "http.h"

#define CS_HTTP_MAX_METHOD 20u /* longest method token we consider plausible */

static inline bool is_upper_method_char(uint8_t ch)
{
    return (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_';
}

/* A method byte as we accept it: letters of either case, '-' and '_'.  A
 * method is case-sensitive (RFC 9110 §9.1), so "get" is reported as sent;
 * only the uppercase spellings count as known methods. */
static inline bool is_method_char(uint8_t ch)
{
    return is_upper_method_char(ch) || (ch >= 'a' && ch <= 'z');
}

static inline bool is_digit(uint8_t ch)
{
    return ch >= '0' && ch <= '9';
}

/* A request-target byte: visible and not SP (RFC 9112 §3.2); bytes >= 0x80
 * are tolerated (some clients send raw UTF-8). */
static inline bool is_target_char(uint8_t ch)
{
    return ch > 0x20 && ch != 0x7f;
}

static inline bool is_ows(uint8_t ch)
{
    return ch == ' ' || ch == '\t';
}

#ifdef __SSE2__
static inline __m128i load16(const void *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}
#endif

/* The first i' >= i with p[i'] not a target byte, or n: 16 bytes at a time
 * while 16 are left (a URI is 20 to 100 bytes), then byte by byte. */
static inline uint32_t target_end(const uint8_t *p, uint32_t i, uint32_t n)
{
#ifdef __SSE2__
    const __m128i min = _mm_set1_epi8(0x21), del = _mm_set1_epi8(0x7f);
    while (n - i >= 16) {
        __m128i v = load16(p + i);
        __m128i ok = _mm_cmpeq_epi8(_mm_max_epu8(v, min), v); /* v >= 0x21 */
        uint32_t stop = ((uint32_t)_mm_movemask_epi8(ok) ^ 0xffffu) |
                        (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, del));
        if (stop)
            return i + (uint32_t)__builtin_ctz(stop);
        i += 16;
    }
#endif
    while (i < n && is_target_char(p[i]))
        i++;
    return i;
}

static const struct known_method {
    const char *name;
    uint32_t len;
} known_methods[] = {
    {"GET", 3},
    {"HEAD", 4},
    {"POST", 4},
    {"PUT", 3},
    {"DELETE", 6},
    {"CONNECT", 7},
    {"OPTIONS", 7},
    {"TRACE", 5},
    {"PATCH", 5},
    {"PROPFIND", 8},
    {"PROPPATCH", 9},
    {"MKCOL", 5},
    {"COPY", 4},
    {"MOVE", 4},
    {"LOCK", 4},
    {"UNLOCK", 6},
    {"REPORT", 6},
    {"SEARCH", 6},
    {"PURGE", 5},
};

/* Runs on the first bytes of every new connection: lengths first. */
static bool is_known_method(const uint8_t *p, uint32_t n)
{
    for (size_t i = 0; i < sizeof known_methods / sizeof known_methods[0]; i++)
        if (known_methods[i].len == n && memcmp(known_methods[i].name, p, n) == 0)
            return true;
    return false;
}

/* Compares p[0..n) with the prefix of lit: 1 all of lit matched, 0 mismatch,
 * -1 p ended first. */
static int prefix_match(const uint8_t *p, uint32_t n, const char *lit, uint32_t litlen)
{
    uint32_t k = n < litlen ? n : litlen;
    if (memcmp(p, lit, k) != 0)
        return 0;
    return k == litlen ? 1 : -1;
}

/* See http.h.  A known method followed by SP (or HTAB, or several) and the
 * start of a target is
 * enough for 1 (so "GET /" and "GET HTTP/1.1" count); an unknown or
 * lowercase token needs the whole "SP target SP HTTP/1.x" (the minor digit
 * may be missing: "HTTP/1." then CR or LF). */
int cs_http_looks_like_request(const uint8_t *p, uint32_t n)
{
    uint32_t i = 0;
    while (i < n && i <= CS_HTTP_MAX_METHOD && is_method_char(p[i]))
        i++;
    if (i == n)
        return i > CS_HTTP_MAX_METHOD ? 0 : -1;
    if (i == 0 || i > CS_HTTP_MAX_METHOD || !is_ows(p[i]))
        return 0;
    bool known = is_known_method(p, i);
    while (++i < n && is_ows(p[i]))
        ; /* separators are runs of SP/HTAB (cs_http_parse_request_line) */
    uint32_t t = i;
    if (known && t < n && is_target_char(p[t]) &&
        (p[t] == '/' || p[t] == '*' || (p[t] | 0x20) >= 'a'))
        return 1; /* its first byte is enough */
    i = target_end(p, i, n);
    if (i == t)
        return i == n ? -1 : 0;
    if (i == n)
        return -1;
    if (!is_ows(p[i]))
        return 0;
    while (++i < n && is_ows(p[i]))
        ;
    if (i == n)
        return -1;
    int m = prefix_match(p + i, n - i, "HTTP/1.", 7);
    if (m <= 0)
        return m;
    i += 7;
    if (i == n)
        return -1;
    return (is_digit(p[i]) || p[i] == '\r' || p[i] == '\n') ? 1 : 0;
}

/* Where a status line's "http/" starts: after up to four SPs (Chromium
 * looks that far; tests/browser status-line-leading-space). */
static uint32_t status_line_start(const uint8_t *p, uint32_t n)
{
    uint32_t s = 0;
    while (s < n && s < 4 && p[s] == ' ')
        s++;
    return s;
}

/* Whether p[0..n) starts with "http/" and a digit in any case, as
 * cs_http_parse_status_line takes it: 1, 0, or -1 (too few bytes). */
static int http_version_start(const uint8_t *p, uint32_t n)
{
    for (uint32_t k = 0; k < 6; k++) {
        if (k >= n)
            return -1;
        uint8_t ch = p[k];
        bool ok = k < 4 ? (ch | 0x20) == (uint8_t) "http"[k] : k == 4 ? ch == '/'
                                                                      : is_digit(ch);
        if (!ok)
            return 0;
    }
    return 1;
}

/* "ICY " (SHOUTcast and Icecast streams): 1, 0, or -1 (too few bytes). */
static int icy_start(const uint8_t *p, uint32_t n)
{
    return prefix_match(p, n, "ICY ", 4);
}

int cs_http_looks_like_response(const uint8_t *p, uint32_t n)
{
    int icy = icy_start(p, n);
    if (icy != 0)
        return icy;
    uint32_t s = status_line_start(p, n);
    if (s == n && s < 4)
        return -1;
    return http_version_start(p + s, n - s);
}

/* "HTTP/1.d" at p[0..8): returns 10 + d, or -1. */
static int parse_version(const char *p, uint32_t n)
{
    if (n != 8 || memcmp(p, "HTTP/1.", 7) != 0 || !is_digit((uint8_t)p[7]))
        return -1;
    return 10 + (p[7] - '0');
}

/* The HTTP-version of a request line, p[0..n): "HTTP/1.d" gives 10 + d.
 * "HTTP/1." without its minor digit is taken as 1.1 (servers answer such
 * lines as HTTP/1.1, and Zeek and Wireshark accept them).  -1 otherwise. */
static int parse_request_version(const char *p, uint32_t n)
{
    if (n == 7 && memcmp(p, "HTTP/1.", 7) == 0)
        return 11;
    return parse_version(p, n);
}

/* RFC 9112 §3: method SP request-target SP HTTP-version.
 *
 * Lenient where a server or Zeek would be, and where nothing else could be
 * meant:
 *   - the separators are runs of SP or HTAB, and SP/HTAB after the version
 *     is ignored: "GET  /a\tHTTP/1.1 " is GET, "/a", 1.1, as Zeek's
 *     HTTP_RequestLine/ParseRequest read it (skip_whitespace between the
 *     parts, "crud after HTTP version is ignored"), and as RFC 9112 §3
 *     allows a server to ("SHOULD ... parse on whitespace-delimited word
 *     boundaries");
 *   - a missing target ("OPTIONS HTTP/1.1") gives an empty URI;
 *   - a target with spaces inside ("CONNECT host:25 / HTTP/1.0") runs up to
 *     the last separator before a version that ends the line;
 *   - a lowercase method is kept as sent;
 *   - without a version (HTTP/0.9, RFC 1945 §4.1) any method is accepted
 *     when allow09 is set. */
int cs_http_parse_request_line(const char *p, uint32_t n, bool allow09,
                               struct cs_http_start *out)
{
    const uint8_t *u = (const uint8_t *)p;
    uint32_t i = 0;
    while (n > 0 && is_ows(u[n - 1]))
        n--;
    while (i < n && is_method_char(u[i]))
        i++;
    if (i == 0 || i > CS_HTTP_MAX_METHOD || i == n || !is_ows(u[i]))
        return -1;
    memset(out, 0, sizeof *out);
    out->method = p;
    out->method_len = i;
    while (is_ows(u[++i]))
        ; /* ends before n: the line does not end in SP/HTAB */
    uint32_t t = i;
    i = target_end(u, i, n);
    if (i == t)
        return -1;
    out->uri = p + t;
    out->uri_len = i - t;
    if (i == n) {
        /* "METHOD HTTP/1.1": the target is missing, not "HTTP/1.1". */
        int v = parse_request_version(p + t, n - t);
        if (v > 0) {
            out->uri_len = 0;
            out->version = v;
            return 0;
        }
        /* HTTP/0.9 simple request: "GET target" (RFC 1945 §4.1). */
        if (!allow09)
            return -1;
        out->version = 9;
        return 0;
    }
    if (!is_ows(u[i]))
        return -1;
    uint32_t v = i + 1;
    while (is_ows(u[v]))
        v++;
    out->version = parse_request_version(p + v, n - v);
    if (out->version > 0)
        return 0;
    /* A target with spaces inside: up to the last separator, if a version
     * follows it. */
    uint32_t last = n;
    while (last > i && !is_ows(u[last - 1]))
        last--;
    out->version = parse_request_version(p + last, n - last);
    while (is_ows(u[last - 1]))
        last--; /* stops at i's target bytes: u[i - 1] is one */
    if (last == i || out->version < 0)
        return -1;
    for (uint32_t k = i; k < last; k++)
        if (!is_ows(u[k]) && !is_target_char(u[k]))
            return -1;
    out->uri_len = last - t;
    return 0;
}

/* RFC 9112 §4: HTTP-version SP 3DIGIT SP [reason-phrase], read as the
 * browsers read it (measured, tests/browser status-* and status-line-*).
 * Chromium reads every line that starts, after up to four SPs, with
 * "http/" and a digit in any case: the code is the run after the first SP
 * (SPs skipped, up to the next SP), read as its leading digits (none:
 * 200).  Firefox takes the line for a status line only when it starts with
 * "HTTP/1." or "HTTP/2.0" (else it reads the response as HTTP/0.9, without
 * header lines: out->firefox_http09), reads its code after the first SP,
 * one to three digits only (a line without SP is a 200 to both), so it
 * refuses a line whose version is not followed by SP.  out->status_form
 * says which code the line has; -1 when it does not start like that. */
int cs_http_parse_status_line(const char *p, uint32_t n, struct cs_http_start *out)
{
    const uint8_t *u = (const uint8_t *)p;
    memset(out, 0, sizeof *out);
    if (n >= 12 && memcmp(u, "HTTP/1.", 7) == 0 && is_digit(u[7]) && u[8] == ' ' &&
        is_digit(u[9]) && is_digit(u[10]) && is_digit(u[11]) && (n == 12 || u[12] == ' ')) {
        /* the line nearly every server sends, "HTTP/1.1 200 OK" */
        out->version = 10 + (u[7] - '0');
        out->status = (u[9] - '0') * 100 + (u[10] - '0') * 10 + (u[11] - '0');
        out->reason = p + (n == 12 ? 12 : 13);
        out->reason_len = n == 12 ? 0 : n - 13;
        return 0;
    }
    uint32_t s = status_line_start(u, n), i;
    bool sp = true;
    if (icy_start(u, n) == 1) {
        /* "ICY 200 OK": Firefox reads it as HTTP/1.0 with its header lines,
         * Chromium as HTTP/0.9 without them (status-line-icy) */
        out->version = 10;
        out->chromium_http09 = true;
        i = 4;
        goto code;
    }
    if (http_version_start(u + s, n - s) != 1)
        return -1;
    out->firefox_http09 = !((n - s >= 7 && memcmp(u + s, "HTTP/1.", 7) == 0) ||
                            (n - s >= 8 && memcmp(u + s, "HTTP/2.0", 8) == 0));
    /* the version: "1.d" is 10 + d, "1" alone 1.0, any other major 1.1 */
    int major = u[s + 5] - '0', minor = -1;
    i = s + 6;
    if (i + 1 < n && u[i] == '.' && is_digit(u[i + 1])) {
        minor = u[i + 1] - '0';
        for (i += 2; i < n && is_digit(u[i]); i++)
            ;
    }
    out->version = major == 1 ? (minor < 0 ? 10 : 10 + minor) : 11;
    sp = i < n && u[i] == ' ';
    while (i < n && u[i] != ' ') /* no SP after the version: Chromium's first SP */
        i++;
    if (i == n) {
        /* no SP at all ("HTTP/1.1"): both read 200 (status-line-version-only) */
        out->status = 200;
        out->reason = p + n;
        return 0;
    }
code:
    while (i < n && u[i] == ' ')
        i++;
    uint32_t code = i;
    int status = 0;
    for (; i < n && is_digit(u[i]); i++) /* a longer code reads as 999999999 */
        status = status < 100000000 ? status * 10 + (u[i] - '0') : 999999999;
    uint32_t digits = i - code;
    while (i < n && u[i] != ' ')
        i++;
    out->status = digits ? status : 200;
    out->status_form = !sp || digits == 0 || i - code != digits ? CORSCOPE_STATUS_NOT_DIGITS
                       : digits > 3                             ? CORSCOPE_STATUS_LONG
                                                                : CORSCOPE_STATUS_DIGITS;
    if (i < n)
        i++; /* the SP before the reason */
    out->reason = p + i;
    out->reason_len = n - i;
    return 0;
}

/* Finding the lines of a header block.
 *
 * A block is walked once: each window of 64 bytes is compared with '\n'
 * (SSE2: four 16-byte loads; elsewhere byte by byte), giving one bit per
 * byte in a mask, and each line is then the mask's next set bit.  Header
 * lines are 20 to 40 bytes, so one memchr per line cost more in call
 * overhead than in searching.  No load reads outside [start, end): the last
 * window, when fewer than 64 bytes are left, is read as the 64 bytes that
 * end at `end`, its mask shifted so that bit 0 is still the window's first
 * byte; a buffer shorter than 64 bytes is read byte by byte.  A line's
 * colon is looked for from its start (find_colon): a header name is short,
 * so one 16-byte compare nearly always finds it, cheaper than a second
 * mask per window kept in step with the lines. */
struct line_scan {
    const char *start, *end; /* the readable bytes */
    const char *base;        /* the window the mask describes */
    uint64_t nl;             /* bit i: base[i] is '\n', not yet consumed */
};

/* Fills the mask for the window at ls->base (< ls->end). */
static inline void ls_load(struct line_scan *ls)
{
    const char *b = ls->base;
    size_t left = (size_t)(ls->end - b);
    unsigned shift = 0;
    if (left < 64) {
        if (ls->end - ls->start < 64) {
            uint64_t nl = 0;
            for (size_t i = 0; i < left; i++)
                nl |= (uint64_t)(b[i] == '\n') << i;
            ls->nl = nl;
            return;
        }
        shift = (unsigned)(64 - left);
        b = ls->end - 64;
    }
#ifdef __SSE2__
    const __m128i lf = _mm_set1_epi8('\n');
    uint64_t nl = (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(load16(b), lf)) |
                  (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(load16(b + 16), lf)) << 16 |
                  (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(load16(b + 32), lf)) << 32 |
                  (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(load16(b + 48), lf)) << 48;
#else
    uint64_t nl = 0;
    for (unsigned i = 0; i < 64; i++)
        nl |= (uint64_t)(b[i] == '\n') << i;
#endif
    ls->nl = nl >> shift;
}

/* A scanner of the lines from p (start <= p < end). */
static inline void ls_init(struct line_scan *ls, const char *start, const char *p, const char *end)
{
    ls->start = start;
    ls->end = end;
    ls->base = p;
    ls_load(ls);
}

/* The '\n' that ends the line beginning at the scanner's position, which
 * moves past it.  NULL when no '\n' comes before end. */
static inline const char *ls_next(struct line_scan *ls)
{
    while (!ls->nl) {
        /* The line goes on past this window. */
        if (ls->end - ls->base <= 64)
            return NULL;
        ls->base += 64;
        ls_load(ls);
    }
    uint64_t low = ls->nl & (0 - ls->nl); /* the '\n' */
    ls->nl ^= low;
    return ls->base + __builtin_ctzll(low);
}

/* The first ':' of the line [s, e), or NULL; reads nothing at or after end
 * (e <= end). */
static inline const char *find_colon(const char *s, const char *e, const char *end)
{
#ifdef __SSE2__
    const __m128i colon = _mm_set1_epi8(':');
    while (s < e && end - s >= 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(load16(s), colon));
        if (m) {
            const char *c = s + __builtin_ctz(m);
            return c < e ? c : NULL;
        }
        s += 16;
    }
#endif
    return s < e ? memchr(s, ':', (size_t)(e - s)) : NULL;
}

/* One field line [s, e) that is not a fold, without its line ending, whose
 * first colon is `colon` (NULL: none; else s <= colon < e): name up to the
 * colon, value with its OWS trimmed (RFC 9112 §5).  False when there is no
 * colon or the name is empty. */
static inline bool split_field_line(const char *s, const char *colon, const char *e,
                                    corscope_header *o)
{
    if (!colon)
        return false;
    /* A byte above SP is never OWS: the common line ("Name: value") is
     * settled by one compare at each of the four edges, the loops below
     * run only for what is left (a run of OWS, an empty name or value). */
    const char *ne = colon;
    if (ne == s || (uint8_t)ne[-1] <= ' ') {
        while (ne > s && is_ows((uint8_t)ne[-1]))
            ne--;
        if (ne == s)
            return false;
    }
    const char *v = colon + 1, *ve = e;
    if (v < ve && *v == ' ')
        v++; /* the usual single SP */
    if (v < ve && (uint8_t)*v <= ' ')
        while (v < ve && is_ows((uint8_t)*v))
            v++;
    if (ve > v && (uint8_t)ve[-1] <= ' ')
        while (ve > v && is_ows((uint8_t)ve[-1]))
            ve--;
    o->name = s;
    o->name_len = (size_t)(ne - s);
    o->value = v;
    o->value_len = (size_t)(ve - v);
    return true;
}

/* One header line [s, e) without its line ending; colon as for
 * split_field_line. */
static void scan_one_line(char *s, const char *colon, char *e, corscope_header *h, uint32_t *n,
                          uint64_t *bad)
{
    if (is_ows((uint8_t)*s)) {
        /* RFC 9112 §5.2 obs-fold: continues the previous value.  We extend the
         * previous value's span over the line ending and the indent and blank
         * those bytes out to SP, as the RFC allows a recipient to do. */
        char *v = s, *ve = e;
        while (v < ve && is_ows((uint8_t)*v))
            v++;
        while (ve > v && is_ows((uint8_t)ve[-1]))
            ve--;
        if (*n == 0) {
            (*bad)++;
            return;
        }
        corscope_header *prev = &h[*n - 1];
        if (v == ve)
            return;
        if (prev->value_len == 0) {
            prev->value = v;
            prev->value_len = (size_t)(ve - v);
            return;
        }
        char *gap = (char *)prev->value + prev->value_len;
        for (char *q = gap; q < v; q++)
            *q = ' ';
        prev->value_len = (size_t)(ve - prev->value);
        return;
    }
    if (split_field_line(s, colon, e, &h[*n]))
        (*n)++;
    else
        (*bad)++;
}

/* The blanking of an obs-fold only rewrites bytes before the current '\n',
 * which the scanner has passed: its mask stays true. */
int cs_http_scan_headers(char *buf, uint32_t len, uint32_t *off,
                         corscope_header *h, uint32_t *n, uint32_t max, uint64_t *bad)
{
    char *p = buf + *off, *end = buf + len;
    if (p < end) {
        struct line_scan ls;
        ls_init(&ls, buf, p, end);
        for (;;) {
            const char *nlc = ls_next(&ls);
            if (!nlc)
                break; /* a partial line (cut block): dropped */
            char *nl = p + (nlc - p);
            char *e = nl;
            if (e > p && e[-1] == '\r')
                e--;
            if (e == p)
                break; /* the empty line: end of the block */
            bool fold = is_ows((uint8_t)*p);
            if (!fold && *n >= max) {
                *off = (uint32_t)(p - buf);
                return 1;
            }
            scan_one_line(p, fold ? NULL : find_colon(p, e, end), e, h, n, bad);
            p = nl + 1;
            if (p == end)
                break;
        }
    }
    *off = (uint32_t)(p - buf);
    return 0;
}

/* Line s[0..n) split as the scanner splits a line into *h; true when it is
 * a framing field line (the name as framing reads it). */
static bool split_framing_line(const char *s, uint32_t n, corscope_header *h)
{
    if (n == 0 || is_ows((uint8_t)*s) || !split_field_line(s, memchr(s, ':', n), s + n, h))
        return false;
    return (h->name_len == 14 && strncasecmp(h->name, "content-length", 14) == 0) ||
           (h->name_len == 17 && strncasecmp(h->name, "transfer-encoding", 17) == 0);
}

bool cs_http_is_framing_line(const char *s, uint32_t n)
{
    corscope_header h;
    return split_framing_line(s, n, &h);
}

uint32_t cs_http_framing_fields(const char *p, uint32_t n, corscope_header *h, uint32_t max)
{
    uint32_t count = 0;
    const char *s = p, *end = p + n;
    while (s < end && count < max) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl)
            break;
        const char *e = nl > s && nl[-1] == '\r' ? nl - 1 : nl;
        if (split_framing_line(s, (uint32_t)(e - s), &h[count]))
            count++;
        s = nl + 1;
    }
    return count;
}

int64_t cs_http_scan_block(const char *p, uint32_t n, corscope_header *h, uint32_t *nh,
                           uint32_t max, uint64_t *bad)
{
    if (n == 0)
        return -1;
    const char *q = p;
    uint32_t count = 0;
    uint64_t skipped = 0;
    struct line_scan ls;
    ls_init(&ls, p, p, p + n);
    for (;;) {
        const char *nl = ls_next(&ls);
        if (!nl)
            return -1; /* the block goes on in a later event */
        const char *e = nl;
        if (e > q && e[-1] == '\r')
            e--;
        if (e == q) { /* the empty line: the block is whole */
            *nh = count;
            *bad += skipped;
            return (int64_t)(nl + 1 - p);
        }
        if (is_ows((uint8_t)*q) || count >= max)
            return -1; /* obs-fold rewrites bytes; h is full */
        if (split_field_line(q, find_colon(q, e, p + n), e, &h[count]))
            count++;
        else
            skipped++;
        q = nl + 1;
    }
}

#ifdef __SSE2__
/* The window p[0..16) into the accumulators: its NULs into *nul, its CRs
 * that p[1..17) does not follow with LF into *bare (p[16] must exist).
 * No branch: every other window of a header block ends a line. */
static inline void odd_window(const char *p, __m128i *nul, __m128i *bare)
{
    __m128i v = load16(p);
    *nul = _mm_or_si128(*nul, _mm_cmpeq_epi8(v, _mm_setzero_si128()));
    *bare = _mm_or_si128(*bare, _mm_andnot_si128(_mm_cmpeq_epi8(load16(p + 1), _mm_set1_epi8('\n')),
                                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))));
}
#endif

unsigned cs_http_odd_bytes(const char *p, uint32_t n)
{
    if (n == 0)
        return 0;
    bool nul = p[n - 1] == '\0', bare = false; /* the last byte: a CR there is followed */
#ifdef __SSE2__
    if (n >= 17) {
        __m128i nuls = _mm_setzero_si128(), bares = _mm_setzero_si128();
        uint32_t i = 0;
        for (; n - i >= 65; i += 64) {
            odd_window(p + i, &nuls, &bares);
            odd_window(p + i + 16, &nuls, &bares);
            odd_window(p + i + 32, &nuls, &bares);
            odd_window(p + i + 48, &nuls, &bares);
        }
        for (; n - i >= 17; i += 16)
            odd_window(p + i, &nuls, &bares);
        odd_window(p + n - 17, &nuls, &bares); /* the rest, overlapping */
        nul = nul || _mm_movemask_epi8(nuls);
        bare = _mm_movemask_epi8(bares) != 0;
        return (nul ? CS_HTTP_ODD_NUL : 0u) | (bare ? CS_HTTP_ODD_BARE_CR : 0u);
    }
#endif
    for (uint32_t i = 0; i + 1 < n; i++) {
        nul = nul || p[i] == '\0';
        bare = bare || (p[i] == '\r' && p[i + 1] != '\n');
    }
    return (nul ? CS_HTTP_ODD_NUL : 0u) | (bare ? CS_HTTP_ODD_BARE_CR : 0u);
}

uint32_t cs_http_chromium_lines(const char *p, uint32_t n, corscope_header *h, uint32_t max)
{
    const char *q = p, *end = p + n;
    uint32_t k = 0;
    bool status_line = true;
    while (q < end && k < max) {
        const char *e = q;
        while (e < end && *e != '\r' && *e != '\n')
            e++;
        if (e > q && !status_line && !is_ows((uint8_t)*q)) {
            const char *colon = memchr(q, ':', (size_t)(e - q));
            if (split_field_line(q, colon, e, &h[k]))
                k++;
        }
        if (e > q)
            status_line = false;
        q = e + 1;
    }
    return k;
}

/* Content-Length values above INT64_MAX are errors: no server can hold
 * such a length (nginx and Apache answer 400), and Zeek and Wireshark parse
 * the bytes after such a header block as the next request.  RFC 9112 §6.3
 * item 5: an invalid length is unrecoverable framing; http.c resyncs. */
#define CS_HTTP_MAX_CONTENT_LENGTH ((uint64_t)INT64_MAX)

int cs_http_parse_content_length(const char *v, size_t n, uint64_t *out)
{
    const uint8_t *u = (const uint8_t *)v;
    size_t i = 0;
    bool have = false;
    uint64_t first = 0;
    for (;;) {
        while (i < n && is_ows(u[i]))
            i++;
        if (i == n || !is_digit(u[i]))
            return -1;
        uint64_t x = 0;
        while (i < n && is_digit(u[i])) {
            uint64_t d = (uint64_t)(u[i] - '0');
            if (x > (CS_HTTP_MAX_CONTENT_LENGTH - d) / 10)
                return -1;
            x = x * 10 + d;
            i++;
        }
        if (have && x != first)
            return -1;
        first = x;
        have = true;
        while (i < n && is_ows(u[i]))
            i++;
        if (i == n)
            break;
        if (u[i] != ',')
            return -1;
        i++;
    }
    *out = first;
    return 0;
}

int cs_http_te_chunked_last(const char *v, size_t n)
{
    size_t s = 0; /* start of the last coding */
    for (size_t i = 0; i < n; i++)
        if (v[i] == ',')
            s = i + 1;
    while (s < n && is_ows((uint8_t)v[s]))
        s++;
    size_t e = s; /* end: before parameters and OWS */
    while (e < n && v[e] != ';')
        e++;
    while (e > s && is_ows((uint8_t)v[e - 1]))
        e--;
    return (e - s == 7 && strncasecmp(v + s, "chunked", 7) == 0) ? 1 : 0;
}

/* RFC 9112 §7.1: chunk-size [chunk-ext].  BWS before ';' is tolerated. */
int cs_http_parse_chunk_size(const char *p, uint32_t n, uint64_t *out)
{
    const uint8_t *u = (const uint8_t *)p;
    uint32_t i = 0;
    uint64_t x = 0;
    while (i < n) {
        uint8_t ch = u[i];
        unsigned d;
        if (is_digit(ch))
            d = ch - '0';
        else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
            d = (unsigned)((ch | 0x20) - 'a' + 10);
        else
            break;
        if (x >> 60)
            return -1; /* would overflow 64 bits */
        x = (x << 4) | d;
        i++;
    }
    if (i == 0)
        return -1;
    while (i < n && is_ows(u[i]))
        i++;
    if (i < n && u[i] != ';')
        return -1;
    *out = x;
    return 0;
}
