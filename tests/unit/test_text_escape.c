/* Text output escaping (cs_out_text_escape): whatever bytes the wire sent,
 * the text is valid UTF-8 without C0, DEL, C1, bidi or separator controls;
 * each is shown as \xNN (a C0/DEL byte, or a byte that is not valid UTF-8)
 * or \uNNNN (a valid UTF-8 control), and everything else is kept as is. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "utf8_check.h"
#include "out_text.h"

static GString *escape(const char *s, size_t len)
{
    GString *g = g_string_new(NULL);
    cs_out_text_escape(g, s, len);
    return g;
}

/* The expected text, from the tests' own UTF-8 model. */
static GString *reference(const unsigned char *p, size_t n)
{
    GString *g = g_string_new(NULL);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = tu_decode(p + i, n - i, &cp);
        if (k == 0 || (k == 1 && tu_is_control(cp))) {
            g_string_append_printf(g, "\\x%02x", p[i]);
            i++;
        } else if (tu_is_control(cp)) {
            g_string_append_printf(g, "\\u%04x", (unsigned)cp);
            i += k;
        } else {
            g_string_append_len(g, (const char *)p + i, (gssize)k);
            i += k;
        }
    }
    return g;
}

static void check(const char *in, size_t len, const char *want)
{
    GString *g = escape(in, len);
    CU_ASSERT_STRING_EQUAL(g->str, want);
    if (strcmp(g->str, want) != 0)
        fprintf(stderr, "\n  got  %s\n  want %s\n", g->str, want);
    CU_ASSERT_TRUE(tu_clean((const unsigned char *)g->str, g->len, ""));
    g_string_free(g, TRUE);
}

#define CHECK(in, want) check((in), sizeof(in) - 1, (want))

static void test_c0_and_del(void)
{
    CHECK("plain ascii, no change", "plain ascii, no change");
    CHECK("\x1b[2J\x07\r\x08\x7f", "\\x1b[2J\\x07\\x0d\\x08\\x7f");
    CHECK("a\0b\tc\nd", "a\\x00b\\x09c\\x0ad");
    CHECK("back\\slash \"quoted\"", "back\\slash \"quoted\"");
}

static void test_raw_c1(void)
{
    CHECK("\x9b"
          "31m",
          "\\x9b31m"); /* 8-bit CSI */
    CHECK("\x80\x85\x9f", "\\x80\\x85\\x9f");
    CHECK("0123456789\x9b"
          "abcdef",
          "0123456789\\x9babcdef");
}

static void test_utf8_c1(void)
{
    CHECK("\xc2\x9b"
          "31m",
          "\\u009b31m");
    CHECK("\xc2\x80\xc2\x85\xc2\x9f", "\\u0080\\u0085\\u009f");
    CHECK("\xc2\xa0", "\xc2\xa0"); /* NBSP: text */
}

static void test_bidi_and_separators(void)
{
    CHECK("evil\xe2\x80\xae"
          "gpj.exe",
          "evil\\u202egpj.exe");
    CHECK("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", "\\u202a\\u202b\\u202c\\u202d");
    CHECK("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", "\\u2066\\u2067\\u2068\\u2069");
    CHECK("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\\u200e\\u200f\\u061c");
    CHECK("line\xe2\x80\xa8para\xe2\x80\xa9", "line\\u2028para\\u2029");
    /* their neighbours are text */
    CHECK("\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa\xd8\x9b\xe2\x80\x8d",
          "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa\xd8\x9b\xe2\x80\x8d");
}

static void test_invalid_utf8(void)
{
    CHECK("caf\xe9", "caf\\xe9");
    CHECK("caf\xc3\xa9", "caf\xc3\xa9");
    CHECK("\xc0\xaf", "\\xc0\\xaf");                   /* overlong */
    CHECK("\xe0\x80\xaf", "\\xe0\\x80\\xaf");          /* overlong */
    CHECK("\xed\xa0\x80", "\\xed\\xa0\\x80");          /* surrogate */
    CHECK("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
    CHECK("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
    CHECK("x\xe2\x82", "x\\xe2\\x82"); /* cut at the end */
    CHECK("\xe2\x82"
          "abc",
          "\\xe2\\x82abc"); /* cut in the middle */
    CHECK("\xff\xfe", "\\xff\\xfe");
    CHECK("\xf0\x9f\x98\x80 \xe4\xb8\xad \xef\xbf\xbd", "\xf0\x9f\x98\x80 \xe4\xb8\xad \xef\xbf\xbd");
}

/* Random strings of hostile pieces at every alignment, against the model. */
static void test_random(void)
{
    unsigned seed = 4242;
    unsigned char buf[200];
    unsigned failures = CU_get_number_of_failures();
    /* stop at the first failing round: CUnit records every failure */
    for (int round = 0; round < 20000 && CU_get_number_of_failures() == failures; round++) {
        size_t off = (size_t)round % 8;
        size_t n = tu_random_hostile(&seed, buf + off, sizeof buf - off);
        GString *got = escape((const char *)buf + off, n);
        GString *want = reference(buf + off, n);
        CU_ASSERT_TRUE(tu_clean((const unsigned char *)got->str, got->len, ""));
        CU_ASSERT_EQUAL(got->len, want->len);
        CU_ASSERT(got->len == want->len && memcmp(got->str, want->str, got->len) == 0);
        g_string_free(got, TRUE);
        g_string_free(want, TRUE);
    }
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"C0 controls and DEL", test_c0_and_del},
        {"raw C1 bytes", test_raw_c1},
        {"UTF-8 encoded C1", test_utf8_c1},
        {"bidi controls and separators", test_bidi_and_separators},
        {"invalid UTF-8", test_invalid_utf8},
        {"random hostile strings against a model", test_random},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("text escape", cases);
    return cs_test_run();
}
