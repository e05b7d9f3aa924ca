/* JSON string escaping: valid JSON and valid UTF-8 for any bytes, and
 * lossless (each invalid byte becomes \u00XX, its Latin-1 reading). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "cors_int.h"
#include "json.h"

static char *escape(const char *s, size_t len, size_t *outlen)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, outlen);
    cs_json_string(f, s, len);
    fclose(f);
    return buf;
}

/* Strict UTF-8 check (RFC 3629). */
static int valid_utf8(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t k;
        unsigned min;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) { k = 2; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { k = 3; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { k = 4; min = 0x10000; }
        else return 0;
        if (i + k > n) return 0;
        unsigned cp = c & (0x7F >> k);
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += k;
    }
    return 1;
}

/* Decodes our escaped string back to the original bytes; -1 if it is not a
 * well-formed JSON string of the kind we write. */
static long unescape(const char *e, size_t n, char *out)
{
    if (n < 2 || e[0] != '"' || e[n - 1] != '"')
        return -1;
    long o = 0;
    for (size_t i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)e[i];
        if (c < 0x20 || c == '"')
            return -1;
        if (c != '\\') { out[o++] = (char)c; continue; }
        if (++i >= n - 1) return -1;
        switch (e[i]) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            if (i + 4 >= n - 1) return -1;
            char hex[5] = { e[i + 1], e[i + 2], e[i + 3], e[i + 4], 0 };
            unsigned v = (unsigned)strtoul(hex, NULL, 16);
            if (v > 0xFF) return -1;
            out[o++] = (char)v;
            i += 4;
            break;
        }
        default: return -1;
        }
    }
    return o;
}

static void check_roundtrip(const char *s, size_t len)
{
    size_t elen;
    char *e = escape(s, len, &elen);
    CU_ASSERT_TRUE(valid_utf8((const unsigned char *)e, elen));
    char *back = malloc(len + 1);
    long blen = unescape(e, elen, back);
    CU_ASSERT_EQUAL(blen, (long)len);
    if (blen == (long)len)
        CU_ASSERT_EQUAL(memcmp(back, s, len), 0);
    free(back);
    free(e);
}

static void test_fixed_cases(void)
{
    static const struct { const char *in; size_t len; const char *out; } cases[] = {
        { "plain", 5, "\"plain\"" },
        { "a\"b\\c", 5, "\"a\\\"b\\\\c\"" },
        { "\r\n\t", 3, "\"\\r\\n\\t\"" },
        { "\x01\x7f", 2, "\"\\u0001\\u007f\"" },
        { "\xe2\x80\x98ok\xe2\x80\x99", 8, "\"\xe2\x80\x98ok\xe2\x80\x99\"" },   /* ‘ok’ kept */
        { "\xff\xfe", 2, "\"\\u00ff\\u00fe\"" },                                  /* invalid bytes */
        { "\xc0\xaf", 2, "\"\\u00c0\\u00af\"" },                                  /* overlong */
        { "\xed\xa0\x80", 3, "\"\\u00ed\\u00a0\\u0080\"" },                       /* surrogate */
        { "\xe2\x82", 2, "\"\\u00e2\\u0082\"" },                                  /* cut sequence */
        { "\0x", 2, "\"\\u0000x\"" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n;
        char *e = escape(cases[i].in, cases[i].len, &n);
        CU_ASSERT_STRING_EQUAL(e, cases[i].out);
        free(e);
        check_roundtrip(cases[i].in, cases[i].len);
    }
}

static void test_random_bytes(void)
{
    unsigned seed = 12345;
    char buf[64];
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(rand_r(&seed) % sizeof(buf));
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)(rand_r(&seed) & 0xFF);
        check_roundtrip(buf, len);
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
    char *e = escape(name, strlen(name), &n);
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
    static const uint64_t u[] = { 0, 9, 10, 99, 100, 101, 999, 1000, 65535, 1234567,
                                  10000000000ull, 18446744073709551615ull };
    static const int s[] = { 0, -1, 7, -10, 42, -99, 100, -2147483647 - 1, 2147483647 };
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

int main(void)
{
    static const struct cs_test_case cases[] = {
        { "fixed escapes", test_fixed_cases },
        { "random bytes round-trip as valid UTF-8", test_random_bytes },
        { "RFC 3339 time", test_time_format },
        { "static names need no escaping", test_static_names_need_no_escape },
        { "integers", test_integers },
        { NULL, NULL },
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("json", cases);
    return cs_test_run();
}
