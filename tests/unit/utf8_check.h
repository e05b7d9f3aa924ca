/* The tests' own UTF-8 model, written apart from src/utf8.h so that the
 * output writers are checked against a second reading of RFC 3629 and of
 * the control set the man page's SECURITY section names. */
#ifndef CS_TEST_UTF8_CHECK_H
#define CS_TEST_UTF8_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decodes one strictly valid UTF-8 character at p (n bytes available):
 * its length, or 0 when p[0] does not start one (then p[0] is one invalid
 * byte).  Decodes by the bit patterns and rejects overlongs, surrogates and
 * values past U+10FFFF afterwards, the opposite way round from src/utf8.h. */
static inline size_t tu_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t k;
    uint32_t min, v;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xE0) == 0xC0) {
        k = 2;
        min = 0x80;
        v = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        k = 3;
        min = 0x800;
        v = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        k = 4;
        min = 0x10000;
        v = p[0] & 0x07;
    } else
        return 0;
    if (k > n)
        return 0;
    for (size_t j = 1; j < k; j++) {
        if ((p[j] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[j] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return k;
}

static inline int tu_valid(const unsigned char *p, size_t n)
{
    uint32_t cp;
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = tu_decode(p + i, n - i, &cp)))
            return 0;
    return 1;
}

/* A code point that must never come out raw: C0, DEL, C1, the bidi
 * controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the
 * line/paragraph separators U+2028, U+2029. */
static inline int tu_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E ||
           cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Valid UTF-8 holding no control code point except those `allowed` names
 * (e.g. "\n" or "\n\033"). */
static inline int tu_clean(const unsigned char *p, size_t n, const char *allowed)
{
    uint32_t cp;
    for (size_t i = 0, k; i < n; i += k) {
        if (!(k = tu_decode(p + i, n - i, &cp)))
            return 0;
        if (tu_is_control(cp) && !(cp < 0x80 && cp && strchr(allowed, (int)cp)))
            return 0;
    }
    return 1;
}

static inline size_t tu_put_utf8(unsigned char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Random strings made of the pieces that matter: plain ASCII runs (long
 * enough for the 8-byte fast paths), '"' and '\\', every class of control,
 * valid non-ASCII text and every kind of invalid sequence.  Writes at most
 * cap bytes into out and returns the length. */
static inline size_t tu_random_hostile(unsigned *seed, unsigned char *out, size_t cap)
{
    static const struct {
        const char *s;
        size_t n;
    } pieces[] = {
        {"abcdefghijklmnop", 16},
        {"GET /x?y=1", 10},
        {"a", 1},
        {"\"", 1},
        {"\\", 1},
        {"\x1b[2J", 4},
        {"\x07", 1},
        {"\r", 1},
        {"\n", 1},
        {"\t", 1},
        {"\x08", 1},
        {"\x7f", 1},
        {"\0", 1},
        {"\x9b", 1},
        {"\x85", 1},
        {"\x80", 1},
        {"\x9f", 1}, /* raw C1 */
        {"\xc2\x9b", 2},
        {"\xc2\x80", 2},
        {"\xc2\x9f", 2}, /* UTF-8 C1 */
        {"\xc2\xa0", 2},
        {"\xc3\xa9", 2},
        {"\xe4\xb8\xad", 3}, /* text */
        {"\xf0\x9f\x98\x80", 4},
        {"\xef\xbf\xbd", 3},
        {"\xe2\x80\x98", 3},
        {"\xe2\x80\xaa", 3},
        {"\xe2\x80\xae", 3},
        {"\xe2\x81\xa6", 3}, /* bidi */
        {"\xe2\x81\xa9", 3},
        {"\xe2\x80\x8e", 3},
        {"\xe2\x80\x8f", 3},
        {"\xd8\x9c", 2},
        {"\xe2\x80\xa8", 3},
        {"\xe2\x80\xa9", 3}, /* separators */
        {"\xe2\x80\xa7", 3},
        {"\xe2\x80\xaf", 3},
        {"\xe2\x81\xa5", 3}, /* neighbours */
        {"\xe2\x81\xaa", 3},
        {"\xd8\x9b", 2},
        {"\xe9", 1},
        {"\xff", 1},
        {"\xfe", 1},
        {"\xc0\xaf", 2}, /* invalid */
        {"\xe0\x80\xaf", 3},
        {"\xed\xa0\x80", 3},
        {"\xed\xbf\xbf", 3},
        {"\xf4\x90\x80\x80", 4},
        {"\xf5\x80\x80\x80", 4},
        {"\xe2\x82", 2},
        {"\xf0\x9f\x98", 3},
        {"\xc2", 1},
    };
    size_t n = 0;
    size_t want = (size_t)rand_r(seed) % cap;
    while (n < want) {
        size_t k = (size_t)rand_r(seed) % (sizeof pieces / sizeof pieces[0]);
        if (pieces[k].n > cap - n)
            break;
        memcpy(out + n, pieces[k].s, pieces[k].n);
        n += pieces[k].n;
    }
    return n;
}

#endif
