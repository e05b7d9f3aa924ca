/* The timeline's notes (explain.c) are written without snprintf; these
 * check them against the printf formats they replace, byte for byte, on
 * ages that round every way (ties to even, carries into the seconds,
 * negative, past 10^6 s), every kind of fact and a small buffer. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "explain.h"

/* The ages a note says, as printf says them. */
static void printf_age(char *buf, size_t size, cs_time_ns d)
{
    snprintf(buf, size, "%.3fs", (double)d / 1e9);
}

static void note_of(const struct cs_timeline_facts *f, char *buf, size_t size)
{
    struct cs_judgement j;
    memset(&j, 0, sizeof j);
    j.facts = *f;
    cs_explain(&j, buf, size);
}

static const cs_time_ns ages[] = {
    0,
    1,
    499999,
    500000,
    500001,
    1499999,
    1500000,
    2500000,
    999499999,
    999500000,
    999500001,
    1000000000,
    1234567890,
    59999500000LL,
    86400000000000LL,
    999999999499999LL,
    999999999500000LL,
    999999999999999LL,
    1000000000000000LL,
    1000000000500000LL,
    123456789012345678LL,
    -1,
    -500000,
    -1234567890,
};

static void test_linked_ages(void)
{
    for (size_t i = 0; i < sizeof ages / sizeof ages[0]; i++) {
        struct cs_timeline_facts f = {.what = CS_TL_LINKED, .preflight_frame = 42, .preflight_flow = 7, .age = ages[i]};
        char got[CS_TL_NOTE_MAX + CORSCOPE_NOTE_MAX + 4], age[64], want[400];
        note_of(&f, got, sizeof got);
        printf_age(age, sizeof age, ages[i]);
        snprintf(want, sizeof want, "Preflight: frame 42 (flow 7), %s earlier.", age);
        CU_ASSERT_STRING_EQUAL(got, want);
    }
}

/* Many ages around each millisecond boundary, and pseudo-random ones. */
static void test_many_ages(void)
{
    uint64_t x = 88172645463325252ull;
    unsigned failures = CU_get_number_of_failures();
    for (int round = 0; round < 200000 && CU_get_number_of_failures() == failures; round++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cs_time_ns d = round % 2 ? (cs_time_ns)(x % 2000000000000ull)
                                 : (cs_time_ns)(x % 100000) * 1000000 + 499998 + round % 5;
        struct cs_timeline_facts f = {.what = CS_TL_CACHED, .browsers = CS_TL_CHROMIUM, .cache_frame = x, .age = d};
        char got[600], age[64], want[600];
        note_of(&f, got, sizeof got);
        printf_age(age, sizeof age, d);
        snprintf(want, sizeof want,
                 "No preflight: served from the preflight cache of Chromium only (preflight frame "
                 "%llu, %s earlier).",
                 (unsigned long long)x, age);
        CU_ASSERT_STRING_EQUAL(got, want);
    }
}

static void test_every_fact(void)
{
    char got[600];
    struct cs_timeline_facts f = {.what = CS_TL_FOLLOWED, .credentials = CORSCOPE_CRED_INCLUDE, .follow_frame = 9, .age = 1500000};
    note_of(&f, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "Credentials \"include\" inferred: the actual request followed (frame 9, "
                                "0.002s later), and the preflight passes only in that mode.");
    f = (struct cs_timeline_facts){.what = CS_TL_NOT_FOLLOWED, .credentials = CORSCOPE_CRED_OMIT, .age = 2000000000};
    note_of(&f, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "Credentials \"omit\" inferred: the actual request never came (none within "
                                "2.000s), and the preflight fails only in that mode: the browser did not "
                                "send it.");
    f.capture_ended = true;
    note_of(&f, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "Credentials \"omit\" inferred: the actual request never came (the capture "
                                "ended first), and the preflight fails only in that mode: the browser did "
                                "not send it.");
    f = (struct cs_timeline_facts){.what = CS_TL_GAVE_UP, .age = 2000000000};
    note_of(&f, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "Allowed in every credentials mode, but the actual request never came (none "
                                "within 2.000s): the browser or the page gave up (aborted, navigated away).");
    f = (struct cs_timeline_facts){.what = CS_TL_SENT_AFTER_FAILED, .preflight_frame = 18446744073709551615ull};
    note_of(&f, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "Sent although its preflight (frame 18446744073709551615) failed: a browser "
                                "would not have sent it.");
    /* the method: at most 24 bytes, and no further than a NUL */
    f = (struct cs_timeline_facts){.what = CS_TL_PREFLIGHT_BLOCKS, .browsers = CS_TL_FIREFOX, .method = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", .method_len = 26};
    note_of(&f, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "Firefox would not send the actual ABCDEFGHIJKLMNOPQRSTUVWX request.");
    f.method = "PU\0T";
    f.method_len = 4;
    f.browsers = CS_TL_FIREFOX | CS_TL_CHROMIUM;
    note_of(&f, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "The preflight failed: the browser does not send the actual PU request.");
    f.method = NULL;
    f.browsers = CS_TL_CHROMIUM;
    note_of(&f, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "Chromium would not send the actual  request.");
}

/* A buffer too small for the note: cut as snprintf cuts, NUL-terminated. */
static void test_small_buffer(void)
{
    struct cs_timeline_facts f = {.what = CS_TL_LINKED, .preflight_frame = 123456, .preflight_flow = 3, .age = 1234567890};
    const char *full = "Preflight: frame 123456 (flow 3), 1.235s earlier.";
    for (size_t size = 1; size < strlen(full) + 3; size++) {
        char got[80];
        memset(got, 'x', sizeof got);
        note_of(&f, got, size);
        CU_ASSERT_EQUAL(strlen(got), size - 1 < strlen(full) ? size - 1 : strlen(full));
        CU_ASSERT_EQUAL(strncmp(got, full, size - 1), 0);
    }
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"linked: ages as printf rounds them", test_linked_ages},
        {"cached: 200000 ages as printf rounds them", test_many_ages},
        {"every kind of fact", test_every_fact},
        {"a small buffer cuts like snprintf", test_small_buffer},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("explain", cases);
    return cs_test_run();
}
