/* Minimal JSON writing on a stdio stream: strings escaped so that the output
 * is valid JSON (and valid UTF-8) whatever bytes the capture held. */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "packet.h"

/* Writes s[0..len) as a JSON string literal, quotes included, and returns
 * whether some bytes were not valid UTF-8.  Valid UTF-8 passes through;
 * control characters (C0, DEL, C1, the bidi controls and U+2028/U+2029,
 * utf8.h) are escaped as the same code point; each byte that is not part of
 * a valid UTF-8 sequence becomes \ufffd, and then (true returned) the
 * caller writes the exact bytes beside it with cs_json_hex (the design is
 * in json.c).  The result is always valid JSON and valid UTF-8. */
bool cs_json_string(FILE *out, const char *s, size_t len);

/* A NUL-terminated string, or null when s is NULL (false). */
bool cs_json_cstr(FILE *out, const char *s);

/* s[0..len) as a quoted string of lowercase hex digits, two per byte. */
void cs_json_hex(FILE *out, const char *s, size_t len);

/* Formats ts as RFC 3339 with microseconds into buf (at least 32 bytes). */
const char *cs_format_time(cs_time_ns ts, char *buf, size_t buflen);

/* "2026-01-01 00:00:00.123456Z": the same instant for people. */
const char *cs_format_time_text(cs_time_ns ts, char *buf, size_t buflen);

/* A line being built for one stdio stream: bytes gather in buf and go out
 * in one fwrite when it fills or on cs_jbuf_flush, so an event costs one
 * stdio call instead of dozens.  Lives on the caller's stack; nothing to
 * free.  The bytes written are exactly those of the FILE functions above. */
struct cs_jbuf {
    FILE *out;
    size_t len;
    unsigned flushes; /* cs_jbuf_flush calls: bytes at buf[i] are still this line's if unchanged */
    char buf[8192];
};

static inline void cs_jbuf_init(struct cs_jbuf *b, FILE *out)
{
    b->out = out;
    b->len = 0;
    b->flushes = 0;
}

/* Writes what is gathered to the stream. */
void cs_jbuf_flush(struct cs_jbuf *b);

static inline void cs_jbuf_put(struct cs_jbuf *b, const void *p, size_t n)
{
    if (n > sizeof b->buf - b->len) {
        cs_jbuf_flush(b);
        if (n > sizeof b->buf) {
            fwrite(p, 1, n, b->out);
            return;
        }
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static inline void cs_jbuf_c(struct cs_jbuf *b, char c)
{
    if (b->len == sizeof b->buf)
        cs_jbuf_flush(b);
    b->buf[b->len++] = c;
}

/* A text formatted straight into the line between quotes: where its first
 * byte goes when there is room for max bytes (the opening quote written),
 * else NULL; cs_jbuf_close_quoted then ends it after its n bytes. */
static inline char *cs_jbuf_open_quoted(struct cs_jbuf *b, size_t max)
{
    if (sizeof b->buf - b->len < max + 2)
        return NULL;
    b->buf[b->len] = '"';
    return b->buf + b->len + 1;
}

static inline void cs_jbuf_close_quoted(struct cs_jbuf *b, size_t n)
{
    b->buf[b->len + 1 + n] = '"';
    b->len += n + 2;
}

/* p[0..n) between quotes (no escaping: the caller's own text). */
static inline void cs_jbuf_quoted(struct cs_jbuf *b, const char *p, size_t n)
{
    cs_jbuf_c(b, '"');
    cs_jbuf_put(b, p, n);
    cs_jbuf_c(b, '"');
}

/* A string literal: its length is known at compile time. */
#define cs_jbuf_lit(b, s) cs_jbuf_put((b), (s), sizeof(s) - 1)

void cs_jbuf_u64(struct cs_jbuf *b, uint64_t v);
void cs_jbuf_int(struct cs_jbuf *b, int v);
/* As cs_json_string / cs_json_cstr / cs_json_hex; cs_jbuf_time writes
 * "2026-01-01T00:00:00.000000Z" (RFC 3339, microseconds, UTC), quoted. */
bool cs_jbuf_string(struct cs_jbuf *b, const char *s, size_t len);
bool cs_jbuf_cstr(struct cs_jbuf *b, const char *s);
void cs_jbuf_hex(struct cs_jbuf *b, const char *s, size_t len);

/* A NUL-terminated string that needs no escaping, quoted (null when s is
 * NULL): for the static names of enum values (kind, verdict, reason keys,
 * Chromium error names, the fixed warnings), which are printable ASCII
 * without '"' or '\\' (tests/unit/test_json.c checks every one).  Never
 * for anything that holds packet bytes: those go through cs_jbuf_string. */
static inline void cs_jbuf_plain(struct cs_jbuf *b, const char *s)
{
    if (!s) {
        cs_jbuf_put(b, "null", 4);
        return;
    }
    size_t n = strlen(s);
    char *d = cs_jbuf_open_quoted(b, n);
    if (d) {
        memcpy(d, s, n);
        cs_jbuf_close_quoted(b, n);
    } else {
        cs_jbuf_quoted(b, s, n);
    }
}
void cs_jbuf_time(struct cs_jbuf *b, cs_time_ns ts);

#endif
