#include <stdint.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json.h"
#include "utf8.h"

void cs_jbuf_flush(struct cs_jbuf *b)
{
    if (b->len)
        fwrite(b->buf, 1, b->len, b->out);
    b->len = 0;
    b->flushes++;
}

/* "00" to "99": decimal digits two at a time halve the divisions (frame
 * numbers, ports and counts are written for every event). */
static const char two_digits[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* v's decimal digits, ending at end (at least 20 bytes after the start
 * of the buffer); returns how many. */
static inline size_t u64_digits(char *end, uint64_t v)
{
    /* pairs of digits come off in 64 bits only while the value needs it */
    size_t n = 0;
    while (v > UINT32_MAX) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        n += 2;
        memcpy(end - n, two_digits + 2 * r, 2);
    }
    uint32_t w = (uint32_t)v;
    while (w >= 100) {
        unsigned r = w % 100;
        w /= 100;
        n += 2;
        memcpy(end - n, two_digits + 2 * r, 2);
    }
    if (w >= 10) {
        n += 2;
        memcpy(end - n, two_digits + 2 * w, 2);
    } else {
        end[-(ptrdiff_t)++n] = (char)('0' + w);
    }
    return n;
}

/* cs_jbuf_u64 near a full line (out of line: the fast path saves no
 * registers). */
__attribute__((noinline)) static void u64_slow(struct cs_jbuf *b, uint64_t v)
{
    char tmp[20];
    size_t n = u64_digits(tmp + sizeof tmp, v);
    cs_jbuf_put(b, tmp + sizeof tmp - n, n);
}

void cs_jbuf_u64(struct cs_jbuf *b, uint64_t v)
{
    /* The digits end at tmp + 20; the 20 bytes from the first digit go to
     * buf in one fixed-size copy (no call) when there is room for them. */
    if (sizeof b->buf - b->len < 20) {
        u64_slow(b, v);
        return;
    }
    char tmp[40];
    size_t n = u64_digits(tmp + 20, v);
    memcpy(b->buf + b->len, tmp + 20 - n, 20);
    b->len += n;
}

void cs_jbuf_int(struct cs_jbuf *b, int v)
{
    if (v < 0) {
        cs_jbuf_c(b, '-');
        cs_jbuf_u64(b, (uint64_t)0 - (uint64_t)(int64_t)v);
    } else {
        cs_jbuf_u64(b, (uint64_t)v);
    }
}

/* Does any byte of w need more than a plain copy: a control byte, DEL,
 * '"', '\\' or a byte >= 0x80? */
static inline bool word_needs_care(uint64_t w)
{
    return cs_word_not_printable(w) | cs_has_zero(w ^ (CS_ONES * '"')) |
           cs_has_zero(w ^ (CS_ONES * '\\'));
}

#ifdef __SSE2__
/* Which of the 16 bytes at p need more than a plain copy (as
 * word_needs_care): a bit per byte.  A signed compare with 0x20 catches the
 * control bytes and every byte >= 0x80 at once. */
static inline unsigned care_mask16(const unsigned char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
    m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* A byte copied as it is: printable ASCII other than '"' and '\\'. */
static inline bool plain_byte(unsigned c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* The offset of the first byte at or after i that needs care, or len:
 * plain ASCII is skipped 16 (SSE2) or 8 bytes at a time.  The last bytes
 * of a string of 16 or more are read as the string's last 16 (again
 * some already seen, whose bits are shifted out); a shorter one ends byte
 * by byte in this loop, not in the caller's (method, host, short names:
 * most strings of an event are short). */
static inline size_t skip_plain(const unsigned char *p, size_t i, size_t len)
{
#ifdef __SSE2__
    for (; len - i >= 16; i += 16) {
        unsigned m = care_mask16(p + i);
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
    if (len >= 16) {
        if (i == len)
            return len;
        unsigned m = care_mask16(p + len - 16) >> (16 - (len - i));
        return m ? i + (size_t)__builtin_ctz(m) : len;
    }
#endif
    uint64_t w;
    while (len - i >= sizeof w && (memcpy(&w, p + i, sizeof w), !word_needs_care(w)))
        i += sizeof w;
    while (i < len && plain_byte(p[i]))
        i++;
    return i;
}

/* Bytes that are not valid UTF-8.  JSON strings are Unicode text, so raw
 * bytes cannot be carried in them directly; the choices were
 *  - \u00XX (the Latin-1 reading, corscope's first choice): lossy
 *    after decoding, "caf\xE9" and "café" both become "café";
 *  - Python's surrogateescape (\udcXX): Python's json.loads reverses it, but
 *    jq 1.6 turns a lone surrogate into U+FFFD and strict parsers (I-JSON,
 *    RFC 7493 §2.1; serde_json) reject the whole line;
 *  - a sibling key holding the exact bytes.
 * corscope takes the last: the value keeps every valid character and shows
 * each invalid byte as U+FFFD (written \ufffd, so a reader who ignores the
 * sibling sees that something was replaced, never a plausible wrong
 * character), and cs_jbuf_string reports that it replaced something so the
 * caller adds "<key>_hex" with the whole value's bytes in lowercase hex
 * (out_json.c).  Every line stays strict JSON for every consumer, and the
 * wire bytes are always KEY_hex when present, else the UTF-8 of KEY.  See
 * the man page, OUTPUT FORMAT. */
/* cs_jbuf_string from byte `from` on, the bytes before it written (with
 * the opening quote) when `opened`; out of line, so that the plain fast
 * path in cs_jbuf_string saves no registers. */
__attribute__((noinline)) static bool string_rest(struct cs_jbuf *b, const unsigned char *p,
                                                  size_t len, size_t from, bool opened)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = from; /* start of the pending run of bytes that need no escape */
    size_t i = from;
    bool replaced = false;
    if (!opened)
        cs_jbuf_c(b, '"');
    while (i < len) {
        i = skip_plain(p, i, len); /* most of every string */
        if (i == len)
            break;
        unsigned c = p[i]; /* needs care: skip_plain stops only there */
        if (c >= 0x80) {
            unsigned cp;
            size_t n = cs_utf8_seq(p + i, len - i, &cp);
            if (n && !cs_utf8_is_wire_control(cp)) {
                i += n;
                continue;
            }
            cs_jbuf_put(b, p + run, i - run);
            if (n) {
                /* a C1, bidi or separator control: the same code point,
                 * escaped, so that `cat` of the output cannot drive a
                 * terminal or reorder a line */
                char esc[6] = {'\\', 'u', hex[cp >> 12], hex[(cp >> 8) & 15],
                               hex[(cp >> 4) & 15], hex[cp & 15]};
                cs_jbuf_put(b, esc, 6);
                i += n;
            } else {
                cs_jbuf_lit(b, "\\ufffd");
                replaced = true;
                i++;
            }
            run = i;
            continue;
        }
        cs_jbuf_put(b, p + run, i - run);
        switch (c) {
        case '"': cs_jbuf_lit(b, "\\\""); break;
        case '\\': cs_jbuf_lit(b, "\\\\"); break;
        case '\n': cs_jbuf_lit(b, "\\n"); break;
        case '\r': cs_jbuf_lit(b, "\\r"); break;
        case '\t': cs_jbuf_lit(b, "\\t"); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            cs_jbuf_put(b, esc, 6);
        }
        }
        i++;
        run = i;
    }
    cs_jbuf_put(b, p + run, len - run);
    cs_jbuf_c(b, '"');
    return replaced;
}

bool cs_jbuf_string(struct cs_jbuf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    /* Most strings need no escape at all: measured by skip_plain, then
     * copied whole; from the first byte that needs care string_rest goes
     * on as if it had copied the bytes before it itself. */
    size_t i = skip_plain(p, 0, len);
    char *d = cs_jbuf_open_quoted(b, i);
    if (!d)
        return string_rest(b, p, len, 0, false);
    memcpy(d, s, i);
    if (i == len) {
        cs_jbuf_close_quoted(b, len);
        return false;
    }
    b->len += 1 + i;
    return string_rest(b, p, len, i, true);
}

void cs_jbuf_hex(struct cs_jbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    cs_jbuf_c(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char two[2] = {hex[c >> 4], hex[c & 15]};
        cs_jbuf_put(b, two, 2);
    }
    cs_jbuf_c(b, '"');
}

bool cs_jbuf_cstr(struct cs_jbuf *b, const char *s)
{
    if (!s) {
        cs_jbuf_lit(b, "null");
        return false;
    }
    return cs_jbuf_string(b, s, strlen(s));
}

static size_t format_time(cs_time_ns ts, char *buf, size_t buflen);

void cs_jbuf_time(struct cs_jbuf *b, cs_time_ns ts)
{
    char buf[40];
    char *d = cs_jbuf_open_quoted(b, sizeof buf);
    if (d)
        cs_jbuf_close_quoted(b, format_time(ts, d, sizeof buf));
    else
        cs_jbuf_quoted(b, buf, format_time(ts, buf, sizeof buf));
}

bool cs_json_string(FILE *out, const char *s, size_t len)
{
    struct cs_jbuf b;
    cs_jbuf_init(&b, out);
    bool replaced = cs_jbuf_string(&b, s, len);
    cs_jbuf_flush(&b);
    return replaced;
}

bool cs_json_cstr(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return false;
    }
    return cs_json_string(out, s, strlen(s));
}

void cs_json_hex(FILE *out, const char *s, size_t len)
{
    struct cs_jbuf b;
    cs_jbuf_init(&b, out);
    cs_jbuf_hex(&b, s, len);
    cs_jbuf_flush(&b);
}

/* Days since 1970-01-01 -> civil date (proleptic Gregorian; H. Hinnant's
 * days_from_civil inverse), exact for every day gmtime_r handles. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* v < 100 as two digits */
static void put2(char *p, unsigned v)
{
    memcpy(p, two_digits + 2 * v, 2);
}

/* cs_format_time, returning the length written. */
static size_t format_time(cs_time_ns ts, char *buf, size_t buflen)
{
    int64_t sec = ts / 1000000000;
    int64_t nsec = ts % 1000000000;
    if (nsec < 0) {
        nsec += 1000000000;
        sec--;
    }
    int64_t days = sec / 86400, sod = sec % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int64_t year;
    unsigned mon, mday;
    civil_from_days(days, &year, &mon, &mday);
    if (year >= 0 && year <= 9999 && buflen >= 28) {
        /* the common case, without gmtime_r and snprintf: same bytes */
        unsigned us = (unsigned)(nsec / 1000);
        put2(buf, (unsigned)(year / 100));
        put2(buf + 2, (unsigned)(year % 100));
        buf[4] = '-';
        put2(buf + 5, mon);
        buf[7] = '-';
        put2(buf + 8, mday);
        buf[10] = 'T';
        put2(buf + 11, (unsigned)(sod / 3600));
        buf[13] = ':';
        put2(buf + 14, (unsigned)(sod / 60 % 60));
        buf[16] = ':';
        put2(buf + 17, (unsigned)(sod % 60));
        buf[19] = '.';
        put2(buf + 20, us / 10000);
        put2(buf + 22, us / 100 % 100);
        put2(buf + 24, us % 100);
        buf[26] = 'Z';
        buf[27] = '\0';
        return 27;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, buflen, "1970-01-01T00:00:00.000000Z");
        return buflen ? strlen(buf) : 0;
    }
    snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(nsec / 1000));
    return buflen ? strlen(buf) : 0;
}

const char *cs_format_time(cs_time_ns ts, char *buf, size_t buflen)
{
    format_time(ts, buf, buflen);
    return buf;
}

const char *cs_format_time_text(cs_time_ns ts, char *buf, size_t buflen)
{
    cs_format_time(ts, buf, buflen);
    char *t = strchr(buf, 'T');
    if (t)
        *t = ' ';
    return buf;
}
