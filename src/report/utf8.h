/* Strict UTF-8 decoding and the word-at-a-time tests shared by the two
 * output writers (json.c, out_text.c), which must agree on which wire bytes
 * are text and which code points are controls. */
#ifndef CS_UTF8_H
#define CS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (2..4; p[0] >= 0x80), or 0 if the
 * bytes there do not form one: overlongs, surrogates, values past U+10FFFF,
 * stray continuation bytes and sequences cut by the end are rejected, as
 * RFC 3629 §4 requires.  *cp receives the code point when valid. */
static inline size_t cs_utf8_seq(const unsigned char *p, size_t avail, unsigned *cp)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c == 0xE0) {
        n = 3;
        lo = 0xA0;
    } else if (c >= 0xE1 && c <= 0xEC)
        n = 3;
    else if (c == 0xED) {
        n = 3;
        hi = 0x9F;
    } else if (c >= 0xEE && c <= 0xEF)
        n = 3;
    else if (c == 0xF0) {
        n = 4;
        lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3)
        n = 4;
    else if (c == 0xF4) {
        n = 4;
        hi = 0x8F;
    } else
        return 0;
    if (avail < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    unsigned v = c & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if (i >= 2 && (p[i] < 0x80 || p[i] > 0xBF))
            return 0;
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    *cp = v;
    return n;
}

/* Is s[0..len) all valid UTF-8? */
static inline bool cs_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = p[i] < 0x80 ? 1 : cs_utf8_seq(p + i, len - i, &cp);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

/* A valid code point (>= 0x80) that must not reach a terminal or a reader as is: the
 * C1 controls (U+0080-U+009F; U+009B is CSI on terminals that honour C1),
 * the bidirectional controls that reorder what is shown ("Trojan Source",
 * CVE-2021-42574: U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and
 * the line and paragraph separators U+2028, U+2029.  Both writers escape
 * these as \uXXXX. */
static inline bool cs_utf8_is_wire_control(unsigned cp)
{
    if (cp < 0x0600)
        return cp <= 0x9F;
    if (cp < 0x2000)
        return cp == 0x061C;
    return cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* Word-at-a-time tests (8 bytes).  The classic "has zero byte" trick:
 * (v - 0x01..) & ~v & 0x80.. is non-zero exactly when some byte of v is
 * zero. */
#define CS_ONES 0x0101010101010101ull
#define CS_HIGHS 0x8080808080808080ull
static inline uint64_t cs_has_zero(uint64_t v)
{
    return (v - CS_ONES) & ~v & CS_HIGHS;
}

/* ASCII lower case of 8 bytes at once: 0x20 added to each byte in 'A'..'Z'
 * (bytes >= 0x80 left alone); the compares run on the low 7 bits, with each
 * byte's high bit as the result. */
static inline uint64_t cs_ascii_lower8(uint64_t x)
{
    uint64_t low7 = x & ~CS_HIGHS;
    uint64_t ge_a = low7 + (0x80 - 'A') * CS_ONES;     /* high bit: byte >= 'A' */
    uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * CS_ONES; /* high bit: byte > 'Z' */
    return x | (((ge_a & ~gt_z) & ~x & CS_HIGHS) >> 2);
}

/* The last word of b[0..n) for a word-at-a-time hash, n not a multiple of
 * 8 (the whole words before it mixed already): its last 8 bytes,
 * overlapping some of those (equal strings still give equal words), 4 to 7
 * bytes as the first and last 4, fewer one by one. */
static inline uint64_t cs_tail_word(const unsigned char *b, size_t n)
{
    uint64_t w = 0;
    if (n >= 8) {
        memcpy(&w, b + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, b, 4);
        memcpy(&y, b + n - 4, 4);
        w = (uint64_t)x | (uint64_t)y << 32;
    } else {
        for (size_t i = 0; i < n; i++)
            w |= (uint64_t)b[i] << (8 * i);
    }
    return w;
}

/* Is any byte of w a C0 control (< 0x20), DEL or not ASCII (>= 0x80)? */
static inline uint64_t cs_word_not_printable(uint64_t w)
{
    return ((w - CS_ONES * 0x20) & ~w & CS_HIGHS) | /* < 0x20 */
           (w & CS_HIGHS) |                         /* >= 0x80 */
           cs_has_zero(w ^ (CS_ONES * 0x7f));
}

#endif
