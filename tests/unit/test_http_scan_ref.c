/* Differential test of the header scanner (src/http_scan.c: one pass over a
 * block with 64-byte '\n'/':' masks) and of the body framing
 * (src/http_pair.c: names compared by length, then as two 8-byte words)
 * against the implementations they replaced, kept below as ref_* (the
 * memchr-per-line scanner and strncasecmp names of commit a4556a1), and
 * of the request-line functions, whose targets are now scanned 16 bytes at
 * a time.
 *
 * Inputs: random blocks over a small alphabet rich in the bytes the scanner
 * decides on (':', SP, HTAB, CR, LF, NUL, bytes >= 0x80), with line-ending
 * densities from "every few bytes" to "lines longer than a window", and
 * realistic header blocks mutated byte by byte.  Each is read from the end of
 * a page followed by an unreadable one (guarded_copy), so a load past the end
 * of the buffer crashes the test.  Every output must be the same: return
 * value, consumed length or resume offset, counts, every header's name and
 * value span, and the bytes obs-fold rewrites. */
#include <stdio.h>
#include <strings.h>
#include "testutil.h"
#include "http.h"
#include "http_int.h"

#define N_RANDOM   120000
#define N_MUTATED  60000
#define MAX_BLOCK  1200
#define MAX_H      80
#define N_LINES    40000

/* ---- the reference implementation (as of commit a4556a1) ---- */

static inline bool ref_is_ows(uint8_t ch) { return ch == ' ' || ch == '\t'; }

static bool ref_split_field_line(const char *s, const char *e, corscope_header *o)
{
    const char *colon = memchr(s, ':', (size_t)(e - s));
    if (!colon)
        return false;
    const char *ne = colon;
    while (ne > s && ref_is_ows((uint8_t)ne[-1]))
        ne--;
    if (ne == s)
        return false;
    const char *v = colon + 1, *ve = e;
    while (v < ve && ref_is_ows((uint8_t)*v))
        v++;
    while (ve > v && ref_is_ows((uint8_t)ve[-1]))
        ve--;
    o->name = s;
    o->name_len = (size_t)(ne - s);
    o->value = v;
    o->value_len = (size_t)(ve - v);
    return true;
}

static void ref_scan_one_line(char *s, char *e, corscope_header *h, uint32_t *n, uint64_t *bad)
{
    if (ref_is_ows((uint8_t)*s)) {
        char *v = s, *ve = e;
        while (v < ve && ref_is_ows((uint8_t)*v))
            v++;
        while (ve > v && ref_is_ows((uint8_t)ve[-1]))
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
    if (ref_split_field_line(s, e, &h[*n]))
        (*n)++;
    else
        (*bad)++;
}

static int ref_scan_headers(char *buf, uint32_t len, uint32_t *off,
                            corscope_header *h, uint32_t *n, uint32_t max, uint64_t *bad)
{
    char *p = buf + *off, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        char *e = nl;
        if (e > p && e[-1] == '\r')
            e--;
        if (e == p)
            break;
        bool fold = ref_is_ows((uint8_t)*p);
        if (!fold && *n >= max) {
            *off = (uint32_t)(p - buf);
            return 1;
        }
        ref_scan_one_line(p, e, h, n, bad);
        p = nl + 1;
    }
    *off = (uint32_t)(p - buf);
    return 0;
}

static int64_t ref_scan_block(const char *p, uint32_t n, corscope_header *h, uint32_t *nh,
                              uint32_t max, uint64_t *bad)
{
    const char *q = p, *end = p + n;
    uint32_t count = 0;
    uint64_t skipped = 0;
    while (q < end) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        if (!nl)
            return -1;
        const char *e = nl;
        if (e > q && e[-1] == '\r')
            e--;
        if (e == q) {
            *nh = count;
            *bad += skipped;
            return (int64_t)(nl + 1 - p);
        }
        if (ref_is_ows((uint8_t)*q) || count >= max)
            return -1;
        if (ref_split_field_line(q, e, &h[count]))
            count++;
        else
            skipped++;
        q = nl + 1;
    }
    return -1;
}

static bool ref_name_is(const corscope_header *h, const char *lower, size_t lower_len)
{
    return h->name_len == lower_len && (h->name[0] | 0x20) == lower[0] &&
           strncasecmp(h->name, lower, lower_len) == 0;
}

static enum framing ref_body_framing(const struct cs_http_msg *m, bool is_request, uint64_t *len)
{
    bool te = false, chunked = false, have_cl = false, bad_cl = false;
    uint64_t cl = 0;
    for (uint32_t i = 0; i < m->n_headers; i++) {
        const corscope_header *h = &m->headers[i];
        if (ref_name_is(h, "transfer-encoding", 17)) {
            te = true;
            chunked = cs_http_te_chunked_last(h->value, h->value_len) == 1;
        } else if (ref_name_is(h, "content-length", 14)) {
            uint64_t v;
            if (cs_http_parse_content_length(h->value, h->value_len, &v) < 0 || (have_cl && v != cl))
                bad_cl = true;
            have_cl = true;
            cl = v;
        }
    }
    if (te)
        return chunked ? FR_CHUNKED : (is_request ? FR_ERROR : FR_CLOSE);
    if (bad_cl)
        return FR_ERROR;
    if (have_cl) {
        *len = cl;
        return cl ? FR_LEN : FR_NONE;
    }
    return is_request ? FR_NONE : FR_CLOSE;
}

#define CS_HTTP_MAX_METHOD 20u

static inline bool ref_is_upper_method_char(uint8_t ch)
{
    return (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_';
}
static inline bool ref_is_method_char(uint8_t ch)
{
    return ref_is_upper_method_char(ch) || (ch >= 'a' && ch <= 'z');
}
static inline bool ref_is_digit(uint8_t ch) { return ch >= '0' && ch <= '9'; }
static inline bool ref_is_target_char(uint8_t ch) { return ch > 0x20 && ch != 0x7f; }

static const char *const ref_known_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT",
    "SEARCH", "PURGE", NULL,
};

static bool ref_is_known_method(const uint8_t *p, uint32_t n)
{
    for (const char *const *m = ref_known_methods; *m; m++)
        if (strlen(*m) == n && memcmp(*m, p, n) == 0)
            return true;
    return false;
}

static int ref_prefix_match(const uint8_t *p, uint32_t n, const char *lit, uint32_t litlen)
{
    uint32_t k = n < litlen ? n : litlen;
    if (memcmp(p, lit, k) != 0)
        return 0;
    return k == litlen ? 1 : -1;
}

static int ref_looks_like_request(const uint8_t *p, uint32_t n)
{
    uint32_t i = 0;
    while (i < n && i <= CS_HTTP_MAX_METHOD && ref_is_method_char(p[i]))
        i++;
    if (i == n)
        return i > CS_HTTP_MAX_METHOD ? 0 : -1;
    if (i == 0 || i > CS_HTTP_MAX_METHOD || p[i] != ' ')
        return 0;
    bool known = ref_is_known_method(p, i);
    uint32_t t = ++i;
    while (i < n && ref_is_target_char(p[i]))
        i++;
    if (i == t)
        return i == n ? -1 : 0;
    if (known && (p[t] == '/' || p[t] == '*' || (p[t] | 0x20) >= 'a'))
        return 1;
    if (i == n)
        return -1;
    if (p[i] != ' ')
        return 0;
    i++;
    int m = ref_prefix_match(p + i, n - i, "HTTP/1.", 7);
    if (m <= 0)
        return m;
    i += 7;
    if (i == n)
        return -1;
    return (ref_is_digit(p[i]) || p[i] == '\r' || p[i] == '\n') ? 1 : 0;
}

static int ref_parse_version(const char *p, uint32_t n)
{
    if (n != 8 || memcmp(p, "HTTP/1.", 7) != 0 || !ref_is_digit((uint8_t)p[7]))
        return -1;
    return 10 + (p[7] - '0');
}

static int ref_parse_request_version(const char *p, uint32_t n)
{
    if (n == 7 && memcmp(p, "HTTP/1.", 7) == 0)
        return 11;
    return ref_parse_version(p, n);
}

static int ref_parse_request_line(const char *p, uint32_t n, bool allow09,
                                  struct cs_http_start *out)
{
    const uint8_t *u = (const uint8_t *)p;
    uint32_t i = 0;
    while (i < n && ref_is_method_char(u[i]))
        i++;
    if (i == 0 || i > CS_HTTP_MAX_METHOD || i == n || u[i] != ' ')
        return -1;
    memset(out, 0, sizeof *out);
    out->method = p;
    out->method_len = i;
    uint32_t t = ++i;
    while (i < n && ref_is_target_char(u[i]))
        i++;
    if (i == t)
        return -1;
    out->uri = p + t;
    out->uri_len = i - t;
    if (i == n) {
        int v = ref_parse_request_version(p + t, n - t);
        if (v > 0) {
            out->uri_len = 0;
            out->version = v;
            return 0;
        }
        if (!allow09)
            return -1;
        out->version = 9;
        return 0;
    }
    if (u[i] != ' ')
        return -1;
    out->version = ref_parse_request_version(p + i + 1, n - i - 1);
    if (out->version > 0)
        return 0;
    uint32_t last = n;
    while (last > i && u[last - 1] != ' ')
        last--;
    last--;
    if (last == i)
        return -1;
    for (uint32_t k = i; k < last; k++)
        if (u[k] != ' ' && !ref_is_target_char(u[k]))
            return -1;
    out->version = ref_parse_request_version(p + last + 1, n - last - 1);
    if (out->version < 0)
        return -1;
    out->uri_len = last - t;
    return 0;
}

/* ---- seeded PRNG (xorshift64*) ---- */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
static uint32_t rn(uint32_t n) { return n ? (uint32_t)(rnd() % n) : 0; }

/* ---- generators ---- */

static const char alphabet[] = {
    ':', ':', ' ', ' ', ' ', '\t', '\r', '\r', 'a', 'B', 'x', 'Z', '-', '0', '7',
    '\0', (char)0x80, (char)0xff, (char)0xc3, ',', ';', '=',
};

/* Random bytes; '\n' with probability 1/lf_every.  Often ends "\r\n\r\n" or
 * "\n\n" so that whole blocks are common. */
static uint32_t gen_random(char *b, uint32_t max)
{
    static const uint32_t lens[] = { 0, 1, 2, 15, 16, 17, 63, 64, 65, 127, 128, 129 };
    uint32_t len = rn(4) == 0 ? lens[rn(sizeof lens / sizeof lens[0])] : rn(rn(2) ? 200 : max);
    if (len > max)
        len = max;
    uint32_t lf_every = 2 + rn(rn(3) ? 40 : 150);
    for (uint32_t i = 0; i < len; i++)
        b[i] = rn(lf_every) == 0 ? '\n' : alphabet[rn(sizeof alphabet)];
    if (len >= 4 && rn(3)) {
        uint32_t cut = len - rn(len / 2 + 1);
        if (cut >= 4) {
            if (rn(2))
                memcpy(b + cut - 4, "\r\n\r\n", 4);
            else
                memcpy(b + cut - 2, "\n\n", 2);
        }
    }
    return len;
}

static const char *const field_lines[] = {
    "Host: api.example", "Origin: http://app.example:8080", "Accept: */*",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Content-Length: 12", "content-length: 0", "Content-Length: 7, 7", "CONTENT-LENGTH:  99 ",
    "Content-Length: 1,2", "Content-Length: x", "Content-Length: 18446744073709551616",
    "Transfer-Encoding: chunked", "transfer-encoding: gzip, chunked", "Transfer-Encoding: gzip",
    "Transfer-Encoding: chunked;q=1", "TRANSFER-ENCODING :chunked", "Transfer-Encodinf: chunked",
    "Content-Lengtj: 5", "Content_Length: 5", "Content-length\t:\t5\t", "Transfer-Encoding:",
    "Access-Control-Request-Method: PUT", "Access-Control-Allow-Origin: *",
    "Access-Control-Allow-Headers: content-type, x-requested-with", "Vary: Origin",
    "Cookie: a=b; c=d", "X-Empty:", "X-Spaces:    ", " folded continuation", "\tfolded tab",
    "no colon here", ": empty name", "  : indented colon", "Name With Space : v",
    "Content-Type: application/json; charset=utf-8",
    "Cache-Control: no-cache, no-store, must-revalidate, max-age=0, s-maxage=0, proxy-revalidate",
};

/* A realistic block (some lines end in LF only), then mutated: a few bytes
 * replaced, inserted or deleted with bytes of the alphabet or LF. */
static uint32_t gen_mutated(char *b, uint32_t max)
{
    uint32_t len = 0, lines = rn(12);
    for (uint32_t i = 0; i < lines; i++) {
        const char *l = field_lines[rn(sizeof field_lines / sizeof field_lines[0])];
        size_t ll = strlen(l);
        if (len + ll + 4 > max)
            break;
        memcpy(b + len, l, ll);
        len += (uint32_t)ll;
        if (rn(5))
            b[len++] = '\r';
        b[len++] = '\n';
    }
    if (rn(6)) {
        if (rn(5))
            b[len++] = '\r';
        b[len++] = '\n';
    }
    /* a body or the next message after the block, sometimes */
    if (rn(3)) {
        uint32_t extra = rn(150);
        for (uint32_t i = 0; i < extra && len < max; i++)
            b[len++] = rn(8) ? 'q' : alphabet[rn(sizeof alphabet)];
    }
    uint32_t muts = rn(4) ? rn(4) : 0;
    for (uint32_t m = 0; m < muts && len > 0; m++) {
        uint32_t at = rn(len);
        char ch = rn(6) == 0 ? '\n' : alphabet[rn(sizeof alphabet)];
        switch (rn(3)) {
        case 0:
            b[at] = ch;
            break;
        case 1:
            if (len < max) {
                memmove(b + at + 1, b + at, len - at);
                b[at] = ch;
                len++;
            }
            break;
        default:
            memmove(b + at, b + at + 1, len - at - 1);
            len--;
            break;
        }
    }
    if (len && rn(8) == 0)
        len = rn(len);                    /* a block cut anywhere */
    return len;
}

/* ---- guarded buffers ---- */

/* Each input is checked twice: right before an unreadable page, which
 * catches a load past the end, and right after one, which catches a load
 * before the start (the scanner's last window is read as the 64 bytes that
 * end at the end, which must not begin before it). */
static struct guarded guarded(const void *src, size_t len, bool front)
{
    return guarded_copy_at(src, len, front);
}

/* ---- comparisons ---- */

static unsigned long long n_failures;

static void fail(const char *what, const char *blk, uint32_t len)
{
    if (n_failures++ < 5) {
        fprintf(stderr, "\nmismatch (%s) on a %u-byte block:", what, len);
        for (uint32_t i = 0; i < len; i++)
            fprintf(stderr, " %02x", (uint8_t)blk[i]);
        fprintf(stderr, "\n");
    }
}

/* Header arrays whose pointers point into blocks a and b: same spans. */
static bool same_headers(const corscope_header *x, const char *a, const corscope_header *y,
                         const char *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (x[i].name - a != y[i].name - b || x[i].name_len != y[i].name_len ||
            x[i].value - a != y[i].value - b || x[i].value_len != y[i].value_len)
            return false;
    return true;
}

static void check_framing(const corscope_header *h, const char *blk, uint32_t nh, uint32_t len)
{
    struct cs_http_msg m;
    memset(&m, 0, sizeof m);
    m.headers = h;
    m.n_headers = nh;
    for (int req = 0; req < 2; req++) {
        uint64_t l1 = 0xdead, l2 = 0xdead;
        enum framing f1 = cs_http_body_framing(&m, req, &l1);
        enum framing f2 = ref_body_framing(&m, req, &l2);
        if (f1 != f2 || l1 != l2)
            fail("cs_http_body_framing", blk, len);
    }
}

static unsigned long long n_whole, n_fold_rewrites, n_cap_resumes, n_framed;

/* cs_http_scan_block on the block read from a guarded page, with a cap. */
static void check_block(const char *src, uint32_t len, uint32_t max, bool front)
{
    struct guarded g = guarded(src, len, front);
    const char *p = (const char *)g.data;
    corscope_header h1[MAX_H], h2[MAX_H];
    uint32_t nh1 = 7777, nh2 = 7777;
    uint64_t bad1 = 3, bad2 = 3;
    int64_t r1 = cs_http_scan_block(p, len, h1, &nh1, max, &bad1);
    int64_t r2 = ref_scan_block(p, len, h2, &nh2, max, &bad2);
    if (r1 != r2 || nh1 != nh2 || bad1 != bad2 || (r1 >= 0 && !same_headers(h1, p, h2, p, nh1)))
        fail("cs_http_scan_block", src, len);
    if (r1 >= 0) {
        n_whole++;
        check_framing(h1, p, nh1, len);
        n_framed += nh1 > 0;
    }
    guarded_free(&g);
}

/* cs_http_scan_headers as complete_block drives it: from an offset, growing
 * the array whenever it fills.  Each implementation gets its own writable
 * guarded copy; the bytes must end the same too (obs-fold rewrites). */
static void check_headers(const char *src, uint32_t len, uint32_t off0, uint32_t max0,
                          bool front)
{
    struct guarded g1 = guarded(src, len, front), g2 = guarded(src, len, front);
    char *b1 = (char *)g1.data, *b2 = (char *)g2.data;
    corscope_header h1[MAX_H], h2[MAX_H];
    uint32_t off1 = off0, off2 = off0, n1 = 0, n2 = 0, max = max0;
    uint64_t bad1 = 0, bad2 = 0;
    for (;;) {
        int r1 = cs_http_scan_headers(b1, len, &off1, h1, &n1, max, &bad1);
        int r2 = ref_scan_headers(b2, len, &off2, h2, &n2, max, &bad2);
        if (r1 != r2 || off1 != off2 || n1 != n2 || bad1 != bad2 ||
            !same_headers(h1, b1, h2, b2, n1)) {
            fail("cs_http_scan_headers", src, len);
            break;
        }
        if (r1 == 0 || max >= MAX_H)
            break;
        n_cap_resumes++;
        max = max * 2 + 1 < MAX_H ? max * 2 + 1 : MAX_H;
    }
    if (len && memcmp(b1, b2, len) != 0)
        fail("cs_http_scan_headers rewrites", src, len);
    if (len && memcmp(b1, src, len) != 0)
        n_fold_rewrites++;
    check_framing(h1, b1, n1, len);
    guarded_free(&g1);
    guarded_free(&g2);
}

static void check_one(const char *b, uint32_t len)
{
    static const uint32_t caps[] = { 0, 1, 2, 3, 5, 8, 64 };
    check_block(b, len, caps[rn(sizeof caps / sizeof caps[0])], false);
    check_block(b, len, CS_HTTP_WHOLE_HEADERS, true);
    /* the gathering path: past a start line (the first '\n'), or anywhere */
    const char *nl = len ? memchr(b, '\n', len) : NULL;
    uint32_t off = rn(2) && nl ? (uint32_t)(nl - b) + 1 : rn(len + 1);
    check_headers(b, len, off, rn(3) ? rn(5) : 32, rn(2));
}

static void test_random_blocks(void)
{
    static char b[MAX_BLOCK + 8];
    n_failures = 0;
    for (uint32_t i = 0; i < N_RANDOM; i++)
        check_one(b, gen_random(b, MAX_BLOCK));
    CU_ASSERT_EQUAL(n_failures, 0);
}

static void test_mutated_blocks(void)
{
    static char b[MAX_BLOCK + 8];
    n_failures = 0;
    for (uint32_t i = 0; i < N_MUTATED; i++)
        check_one(b, gen_mutated(b, MAX_BLOCK));
    CU_ASSERT_EQUAL(n_failures, 0);
    fprintf(stderr, "\n  %llu whole blocks, %llu with framing headers compared, "
            "%llu cap resumes, %llu obs-fold rewrites\n",
            n_whole, n_framed, n_cap_resumes, n_fold_rewrites);
    /* the inputs reach the paths they are meant for */
    CU_ASSERT(n_whole > 10000);
    CU_ASSERT(n_cap_resumes > 1000);
    CU_ASSERT(n_fold_rewrites > 1000);
}

/* A request line: a method (known, unknown, lowercase, too long), SP, a
 * target of 0 to 150 bytes, SP, a version, then byte mutations drawn from
 * the bytes at the edges of the target set (SP, 0x21, DEL, NUL, HTAB,
 * bytes >= 0x80, CR, LF). */
static uint32_t gen_request_line(char *b, uint32_t max)
{
    static const char *const meths[] = {
        "GET", "OPTIONS", "POST", "get", "PROPPATCH", "X-CUSTOM_M", "ABCDEFGHIJKLMNOPQRSTU", "",
    };
    static const char *const vers[] = { "HTTP/1.1", "HTTP/1.0", "HTTP/1.", "HTTP/1.x", "HTTP/2", "" };
    static const char tchars[] = {
        'a', '/', '?', '=', '%', '~', '!', (char)0x80, (char)0xfe, ':', ' ', (char)0x7f, '\0', '\t',
        '\r', '\n', 0x20, 0x21, (char)0x7e,
    };
    uint32_t len = 0;
    const char *m = meths[rn(sizeof meths / sizeof meths[0])];
    memcpy(b, m, strlen(m));
    len += (uint32_t)strlen(m);
    if (rn(10))
        b[len++] = ' ';
    uint32_t tl = rn(4) == 0 ? rn(4) : rn(150);
    for (uint32_t i = 0; i < tl && len < max - 12; i++)
        b[len++] = rn(6) ? (char)('a' + rn(26)) : tchars[rn(sizeof tchars)];
    if (rn(8))
        b[len++] = ' ';
    const char *v = vers[rn(sizeof vers / sizeof vers[0])];
    memcpy(b + len, v, strlen(v));
    len += (uint32_t)strlen(v);
    uint32_t muts = rn(3) ? 0 : rn(3);
    for (uint32_t k = 0; k < muts && len; k++)
        b[rn(len)] = tchars[rn(sizeof tchars)];
    return len;
}

static bool same_start(const struct cs_http_start *x, const char *a, const struct cs_http_start *y,
                       const char *b)
{
    return (x->method ? x->method - a : -1) == (y->method ? y->method - b : -1) &&
           x->method_len == y->method_len && (x->uri ? x->uri - a : -1) == (y->uri ? y->uri - b : -1) &&
           x->uri_len == y->uri_len && x->reason == y->reason && x->reason_len == y->reason_len &&
           x->status == y->status && x->version == y->version;
}

/* cs_http_looks_like_request on every prefix and cs_http_parse_request_line
 * on the whole line (with and without HTTP/0.9), read from guarded pages. */
static void test_request_lines(void)
{
    static char b[300];
    n_failures = 0;
    for (uint32_t it = 0; it < N_LINES; it++) {
        uint32_t len = gen_request_line(b, sizeof b);
        bool front = rn(2), every = rn(8) == 0;
        uint32_t some = rn(len + 1);
        for (uint32_t n = every ? 0 : some; n <= len; n++) {
            if (!every && n != some && n != len)
                continue;
            struct guarded g = guarded(b, n, front);
            const uint8_t *p = g.data;
            if (cs_http_looks_like_request(p, n) != ref_looks_like_request(p, n))
                fail("cs_http_looks_like_request", b, n);
            if (n == len) {
                for (int allow09 = 0; allow09 < 2; allow09++) {
                    struct cs_http_start s1, s2;
                    memset(&s1, 0x55, sizeof s1);
                    memset(&s2, 0x55, sizeof s2);
                    int r1 = cs_http_parse_request_line((const char *)p, n, allow09, &s1);
                    int r2 = ref_parse_request_line((const char *)p, n, allow09, &s2);
                    if (r1 != r2 || (r1 == 0 && !same_start(&s1, (const char *)p, &s2, (const char *)p)))
                        fail("cs_http_parse_request_line", b, n);
                }
            }
            guarded_free(&g);
        }
    }
    CU_ASSERT_EQUAL(n_failures, 0);
}

/* Every byte value at every position of the two framing names, alone and
 * with a neighbour in the other case: the word compare is exactly
 * strncasecmp's answer. */
static void test_framing_names(void)
{
    static const char *const lits[] = { "transfer-encoding", "content-length" };
    unsigned long long bad = 0;
    for (int li = 0; li < 2; li++) {
        const char *lit = lits[li];
        uint32_t n = (uint32_t)strlen(lit);
        for (uint32_t pos = 0; pos < n; pos++) {
            for (int ch = 0; ch < 256; ch++) {
                for (int upper = 0; upper < 2; upper++) {
                    char name[32];
                    for (uint32_t i = 0; i < n; i++)
                        name[i] = upper && lit[i] >= 'a' ? (char)(lit[i] - 32) : lit[i];
                    name[pos] = (char)ch;
                    struct guarded g = guarded_copy(name, n);
                    corscope_header h = { (const char *)g.data, n, ":", 0 };
                    if (cs_http_name_eq8(h.name, lit, n) != ref_name_is(&h, lit, n))
                        bad++;
                    struct cs_http_msg m;
                    memset(&m, 0, sizeof m);
                    h.value = "5";
                    h.value_len = 1;
                    m.headers = &h;
                    m.n_headers = 1;
                    uint64_t l1 = 1, l2 = 1;
                    if (cs_http_body_framing(&m, true, &l1) != ref_body_framing(&m, true, &l2) ||
                        l1 != l2)
                        bad++;
                    guarded_free(&g);
                }
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    static const struct cs_test_case cases[] = {
        { "framing names, every byte at every position", test_framing_names },
        { "120,000 random blocks against the reference scanner", test_random_blocks },
        { "60,000 mutated header blocks against the reference scanner", test_mutated_blocks },
        { "40,000 request lines against the reference parser", test_request_lines },
        { NULL, NULL },
    };
    cs_test_add_suite("http_scan_ref", cases);
    return cs_test_run();
}
