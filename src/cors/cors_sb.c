/* CORS classifier: bounded string building (struct cs_sbuf, cors_int.h)
 * for the console texts (cors_text.c) and merged header values
 * (cors_lists.c).  A file of its own so that neither of those needs the
 * other for it: the classifier's files call one way only. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "cors_int.h"

void cs_sb_init(struct cs_sbuf *b, char *p, size_t size)
{
    b->p = p;
    b->size = size;
    b->len = 0;
    if (size)
        p[0] = '\0';
}

/* Appends len bytes, cutting at the buffer's end.  A cut never splits a
 * UTF-8 sequence: the partial character is dropped. */
void cs_sb_add_cut(struct cs_sbuf *b, const char *s, size_t len)
{
    if (b->size == 0 || b->len + 1 >= b->size)
        return;
    size_t room = b->size - 1 - b->len;
    if (len > room) {
        len = room;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    if (len)
        memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
}

/* Appends what vsnprintf wrote into tmp[size]: n bytes formatted, cut
 * at size - 1 (then a trailing partial UTF-8 sequence is dropped too). */
static void add_formatted(struct cs_sbuf *b, const char *tmp, size_t size, int n)
{
    if (n <= 0)
        return;
    size_t len = (size_t)n;
    if (len >= size) {
        /* vsnprintf cut it: drop a trailing partial UTF-8 sequence */
        len = size - 1;
        size_t i = len;
        while (i > 0 && ((unsigned char)tmp[i - 1] & 0xC0) == 0x80)
            i--;
        if (i > 0 && ((unsigned char)tmp[i - 1] & 0x80)) {
            unsigned char lead = (unsigned char)tmp[i - 1];
            size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3
                                                          : 2;
            if (len - (i - 1) < need)
                len = i - 1;
        }
    }
    cs_sb_add(b, tmp, len);
}

#define FMT_TMP 512

void cs_sb_fmt(struct cs_sbuf *b, const char *fmt, ...)
{
    char tmp[FMT_TMP];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    add_formatted(b, tmp, sizeof tmp, n);
}

void cs_sb_cat(struct cs_sbuf *b, const char *const *parts, size_t n)
{
    char tmp[FMT_TMP];
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = parts[i] ? parts[i] : "(null)";
        size_t len = strlen(s);
        if (total < sizeof tmp - 1) {
            size_t room = sizeof tmp - 1 - total;
            memcpy(tmp + total, s, len < room ? len : room);
        }
        total += len;
    }
    tmp[total < sizeof tmp - 1 ? total : sizeof tmp - 1] = '\0';
    add_formatted(b, tmp, sizeof tmp, total > INT32_MAX ? -1 : (int)total);
}
