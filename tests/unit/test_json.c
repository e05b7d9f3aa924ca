/* JSON string escaping: valid JSON and valid UTF-8 for any bytes, with no
 * raw control code point (C0, DEL, C1, bidi, separators), and reversible:
 * a value that is valid UTF-8 decodes to exactly its bytes; one that is not
 * decodes with U+FFFD for each invalid byte, the writer says so, and the
 * hex written beside it (KEY_hex) holds exactly its bytes. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "utf8_check.h"
#include "cors_int.h"
#include "json.h"

static char *escape(const char *s, size_t len, size_t *outlen, bool *replaced)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, outlen);
    bool r = cs_json_string(f, s, len);
    if (replaced)
        *replaced = r;
    fclose(f);
    return buf;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                                 : -1;
}

/* Decodes a JSON string literal as a strict consumer would (RFC 8259, no
 * lone surrogates) into UTF-8 bytes; -1 if it is not well-formed. */
static long unescape(const char *e, size_t n, unsigned char *out)
{
    if (n < 2 || e[0] != '"' || e[n - 1] != '"')
        return -1;
    long o = 0;
    for (size_t i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)e[i];
        if (c < 0x20 || c == '"')
            return -1;
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        if (++i >= n - 1)
            return -1;
        switch (e[i]) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            if (i + 4 >= n - 1)
                return -1;
            uint32_t v = 0;
            for (size_t k = 1; k <= 4; k++) {
                int h = hexval(e[i + k]);
                if (h < 0)
                    return -1;
                v = v << 4 | (uint32_t)h;
            }
            if (v >= 0xD800 && v <= 0xDFFF)
                return -1;
            o += (long)tu_put_utf8(out + o, v);
            i += 4;
            break;
        }
        default: return -1;
        }
    }
    return o;
}

/* What a consumer decodes: the bytes with each invalid one as U+FFFD. */
static size_t replace_invalid(const unsigned char *p, size_t n, unsigned char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = tu_decode(p + i, n - i, &cp);
        if (k) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            o += tu_put_utf8(out + o, 0xFFFD);
            i++;
        }
    }
    return o;
}

static void check_roundtrip(const char *s, size_t len)
{
    size_t elen;
    bool replaced;
    char *e = escape(s, len, &elen, &replaced);
    /* strict JSON text with nothing raw that could drive a terminal */
    CU_ASSERT_TRUE(tu_clean((const unsigned char *)e, elen, ""));
    unsigned char *back = malloc(3 * len + 1), *want = malloc(3 * len + 1);
    long blen = unescape(e, elen, back);
    size_t wlen = replace_invalid((const unsigned char *)s, len, want);
    CU_ASSERT_EQUAL(blen, (long)wlen);
    if (blen == (long)wlen)
        CU_ASSERT_EQUAL(memcmp(back, want, wlen), 0);
    int valid = tu_valid((const unsigned char *)s, len);
    CU_ASSERT_EQUAL(replaced, !valid);
    if (replaced) {
        /* the hex beside it gives back the exact bytes */
        size_t hlen;
        char *h = NULL;
        FILE *f = open_memstream(&h, &hlen);
        cs_json_hex(f, s, len);
        fclose(f);
        CU_ASSERT_EQUAL(hlen, 2 * len + 2);
        int same = hlen == 2 * len + 2 && h[0] == '"' && h[hlen - 1] == '"';
        for (size_t i = 0; same && i < len; i++)
            same = hexval(h[1 + 2 * i]) >= 0 && hexval(h[2 + 2 * i]) >= 0 &&
                   (unsigned char)s[i] == (hexval(h[1 + 2 * i]) << 4 | hexval(h[2 + 2 * i]));
        CU_ASSERT_TRUE(same);
        free(h);
    }
    free(back);
    free(want);
    free(e);
}

static void test_fixed_cases(void)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out;
        bool replaced;
    } cases[] = {
        {"plain", 5, "\"plain\"", false},
        {"a\"b\\c", 5, "\"a\\\"b\\\\c\"", false},
        {"\r\n\t", 3, "\"\\r\\n\\t\"", false},
        {"\x01\x7f", 2, "\"\\u0001\\u007f\"", false},
        {"\xe2\x80\x98ok\xe2\x80\x99", 8, "\"\xe2\x80\x98ok\xe2\x80\x99\"", false}, /* ‘ok’ kept */
        {"\xff\xfe", 2, "\"\\ufffd\\ufffd\"", true},                                /* invalid bytes */
        {"\xc0\xaf", 2, "\"\\ufffd\\ufffd\"", true},                                /* overlong */
        {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"", true},                     /* surrogate */
        {"\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", true},          /* > U+10FFFF */
        {"\xe2\x82", 2, "\"\\ufffd\\ufffd\"", true},                                /* cut sequence */
        {"\0x", 2, "\"\\u0000x\"", false},
        {"caf\xe9", 4, "\"caf\\ufffd\"", true},
        {"caf\xc3\xa9", 5, "\"caf\xc3\xa9\"", false},
        {"\xef\xbf\xbd", 3, "\"\xef\xbf\xbd\"", false},       /* a real U+FFFD is text */
        {"\x9b", 1, "\"\\ufffd\"", true},                     /* raw C1 byte */
        {"\xc2\x9b\xc2\x80", 4, "\"\\u009b\\u0080\"", false}, /* UTF-8 C1 */
        {"a\xe2\x80\xae"
         "b",
         5, "\"a\\u202eb\"", false}, /* bidi */
        {"\xe2\x81\xa6\xe2\x81\xa9\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", 14,
         "\"\\u2066\\u2069\\u200e\\u200f\\u061c\"", false},
        {"\xe2\x80\xa8\xe2\x80\xa9", 6, "\"\\u2028\\u2029\"", false}, /* separators */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n;
        bool replaced;
        char *e = escape(cases[i].in, cases[i].len, &n, &replaced);
        CU_ASSERT_STRING_EQUAL(e, cases[i].out);
        CU_ASSERT_EQUAL(replaced, cases[i].replaced);
        free(e);
        check_roundtrip(cases[i].in, cases[i].len);
    }
}

/* "caf\xE9" and "café" must stay distinguishable after decoding. */
static void test_latin1_and_utf8_differ(void)
{
    unsigned char a[16], b[16];
    size_t na, nb;
    char *ea = escape("caf\xe9", 4, &na, NULL), *eb = escape("caf\xc3\xa9", 5, &nb, NULL);
    long la = unescape(ea, na, a), lb = unescape(eb, nb, b);
    CU_ASSERT_TRUE(la > 0 && lb > 0);
    CU_ASSERT_FALSE(la == lb && memcmp(a, b, (size_t)la) == 0);
    free(ea);
    free(eb);
}

static void test_random_bytes(void)
{
    unsigned seed = 12345;
    char buf[64];
    unsigned failures = CU_get_number_of_failures();
    /* stop at the first failing round: CUnit records every failure */
    for (int round = 0; round < 20000 && CU_get_number_of_failures() == failures; round++) {
        size_t len = (size_t)rand_r(&seed) % sizeof(buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)(rand_r(&seed) & 0xFF);
        check_roundtrip(buf, len);
    }
}

static void test_random_hostile(void)
{
    unsigned seed = 777;
    unsigned char buf[200];
    unsigned failures = CU_get_number_of_failures();
    /* stop at the first failing round: CUnit records every failure */
    for (int round = 0; round < 20000 && CU_get_number_of_failures() == failures; round++) {
        size_t off = (size_t)round % 8;
        size_t n = tu_random_hostile(&seed, buf + off, sizeof buf - off);
        check_roundtrip((const char *)buf + off, n);
    }
}

static void test_time_format(void)
{
    char buf[40];
    CU_ASSERT_STRING_EQUAL(cs_format_time(1767225600123456789LL, buf, sizeof(buf)),
                           "2026-01-01T00:00:00.123456Z");
    CU_ASSERT_STRING_EQUAL(cs_format_time(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000000Z");
}

/* cs_jbuf_plain writes the classifier's static names without escaping:
 * each must come out exactly as the escaping writer would write it. */
static void check_plain(const char *name)
{
    size_t n;
    char *e = escape(name, strlen(name), &n, NULL);
    CU_ASSERT_EQUAL(n, strlen(name) + 2);
    CU_ASSERT(n == strlen(name) + 2 && memcmp(e + 1, name, strlen(name)) == 0);
    free(e);
}

static void test_static_names_need_no_escape(void)
{
    for (int k = CORSCOPE_KIND_NO_CORS; k <= CORSCOPE_KIND_SIMPLE; k++)
        check_plain(corscope_kind_name((corscope_kind)k));
    for (int v = CORSCOPE_NA; v <= CORSCOPE_BLOCKED; v++)
        check_plain(corscope_outcome_name((corscope_outcome)v));
    for (int r = 0; r < CS_R_COUNT; r++)
        check_plain(cs_cors_reason_key((enum cs_reason)r));
    for (int c = CS_C_NONE + 1; c < CS_C_COUNT; c++)
        check_plain(cs_cors_chrome_name((enum cs_chrome)c));
}

/* cs_jbuf_u64 / cs_jbuf_int against printf at every digit count. */
static void test_integers(void)
{
    static const uint64_t u[] = {0, 9, 10, 99, 100, 101, 999, 1000, 65535, 1234567,
                                 4294967295ull, 4294967296ull, 429496729600ull,
                                 10000000000ull, 18446744073709551615ull};
    static const int s[] = {0, -1, 7, -10, 42, -99, 100, -2147483647 - 1, 2147483647};
    char want[32];
    for (size_t i = 0; i < sizeof u / sizeof u[0] + sizeof s / sizeof s[0]; i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct cs_jbuf b;
        cs_jbuf_init(&b, f);
        if (i < sizeof u / sizeof u[0]) {
            cs_jbuf_u64(&b, u[i]);
            snprintf(want, sizeof want, "%llu", (unsigned long long)u[i]);
        } else {
            int v = s[i - sizeof u / sizeof u[0]];
            cs_jbuf_int(&b, v);
            snprintf(want, sizeof want, "%d", v);
        }
        cs_jbuf_flush(&b);
        fclose(f);
        CU_ASSERT_STRING_EQUAL(buf, want);
        free(buf);
    }
}

/* IPv4 text (a table of byte values) against inet_ntop, each byte value in
 * each position. */
static void test_ipv4_text(void)
{
    for (unsigned pos = 0; pos < 4; pos++)
        for (unsigned v = 0; v < 256; v++) {
            struct cs_addr a = {.family = 4};
            for (unsigned i = 0; i < 4; i++)
                a.bytes[i] = (uint8_t)(i == pos ? v : 255 - v / 2 * i);
            char want[64], got[64];
            inet_ntop(AF_INET, a.bytes, want, sizeof want);
            unsigned n = cs_addr_format_len(&a, got, sizeof got);
            CU_ASSERT_STRING_EQUAL(got, want);
            CU_ASSERT_EQUAL(n, strlen(want));
        }
}

/* Each writer gives the same bytes whatever room is left in the line (the
 * fast paths write in place, some past their text, when there is room):
 * a prefix of every length near the buffer's size, then the writers. */
static void test_writers_near_full(void)
{
    static const char prefix[8192 + 64] = {0};
    static const char long_plain[] = "a-name-that-is-longer-than-sixteen-bytes-and-then-some-more-bytes";
    static const char text[] = "text \"quoted\" caf\xc3\xa9 and forty-some more plain bytes to go";
    char *first = NULL;
    size_t first_len = 0;
    for (size_t k = sizeof prefix - 64 - 300; k <= sizeof prefix - 64; k++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct cs_jbuf b;
        cs_jbuf_init(&b, f);
        memset(b.buf, 'x', sizeof b.buf);
        cs_jbuf_put(&b, prefix, k);
        cs_jbuf_plain(&b, "allowed");
        cs_jbuf_plain(&b, long_plain);
        cs_jbuf_plain(&b, NULL);
        cs_jbuf_u64(&b, 18446744073709551615ull);
        cs_jbuf_u64(&b, 7);
        cs_jbuf_time(&b, 1767225600123456789ll);
        cs_jbuf_string(&b, text, sizeof text - 1);
        cs_jbuf_string(&b, long_plain, sizeof long_plain - 1);
        cs_jbuf_string(&b, "short", 5);
        cs_jbuf_flush(&b);
        fclose(f);
        CU_ASSERT_EQUAL_FATAL(len > k, true);
        CU_ASSERT(memcmp(buf, prefix, k) == 0);
        if (!first) {
            first = malloc(len - k);
            first_len = len - k;
            memcpy(first, buf + k, first_len);
        } else {
            CU_ASSERT_EQUAL(len - k, first_len);
            CU_ASSERT(len - k == first_len && memcmp(buf + k, first, first_len) == 0);
        }
        free(buf);
    }
    free(first);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"fixed escapes", test_fixed_cases},
        {"caf\\xE9 and caf\\xC3\\xA9 differ after decoding", test_latin1_and_utf8_differ},
        {"random bytes round-trip as valid UTF-8", test_random_bytes},
        {"random hostile strings round-trip", test_random_hostile},
        {"RFC 3339 time", test_time_format},
        {"static names need no escaping", test_static_names_need_no_escape},
        {"integers", test_integers},
        {"IPv4 text", test_ipv4_text},
        {"writers near a full line", test_writers_near_full},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("json", cases);
    return cs_test_run();
}
