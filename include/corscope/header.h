/* corscope public types shared by the HTTP scanner and the classifier. */
#ifndef CORSCOPE_HEADER_H
#define CORSCOPE_HEADER_H

#include <stddef.h>
#include <string.h>

/* One header line exactly as it was sent: the name with its original case,
 * the value with leading/trailing SP/HTAB removed (RFC 9110 §5.5).  Pointers
 * into the caller's buffer; not NUL-terminated. */
typedef struct corscope_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} corscope_header;

/* ASCII-only lower case: header names are tokens, never locale text. */
static inline char corscope_ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* RFC 9110 tchar (§5.6.2), the bytes of a token such as a field name, by
 * byte value: one load per byte, not a compare chain (the classifier's
 * list checks and the h2 stage's field names run it per byte). */
static inline int corscope_is_tchar(unsigned char c)
{
    static const unsigned char tchar[256] = {
        ['0' ... '9'] = 1,
        ['A' ... 'Z'] = 1,
        ['a' ... 'z'] = 1,
        ['!'] = 1,
        ['#'] = 1,
        ['$'] = 1,
        ['%'] = 1,
        ['&'] = 1,
        ['\''] = 1,
        ['*'] = 1,
        ['+'] = 1,
        ['-'] = 1,
        ['.'] = 1,
        ['^'] = 1,
        ['_'] = 1,
        ['`'] = 1,
        ['|'] = 1,
        ['~'] = 1,
    };
    return tchar[c];
}

/* The first of the n lines whose name is `name` in any letter case (RFC 9110
 * §5.1), or NULL.  The exact spelling is tried first: clients and servers
 * nearly always send it, and memcmp is cheaper than folding case.  Inline,
 * so a literal name makes the compares fixed-size. */
static inline const corscope_header *corscope_header_find(const corscope_header *h, size_t n,
                                                          const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (h[i].name_len != len)
            continue;
        if (memcmp(h[i].name, name, len) == 0)
            return &h[i];
        size_t k = 0;
        while (k < len && corscope_ascii_lower(h[i].name[k]) == corscope_ascii_lower(name[k]))
            k++;
        if (k == len)
            return &h[i];
    }
    return NULL;
}

#endif
