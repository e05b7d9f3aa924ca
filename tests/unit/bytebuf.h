/* A growable, NUL-terminated byte string for test and bench generators
 * (test_http_diff.c, bench/http_parse.c): sb_put appends n bytes, sb_str a
 * C string; the caller frees b->p.  Aborts when memory runs out. */
#ifndef CS_TEST_BYTEBUF_H
#define CS_TEST_BYTEBUF_H

#include <stdlib.h>
#include <string.h>

struct sb {
    char *p;
    size_t len, cap;
};

static inline void sb_put(struct sb *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static inline void sb_str(struct sb *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

#endif
