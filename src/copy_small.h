/* cs_copy_small: memcpy for the short strings of header fields (names,
 * values, methods), most of them under 32 bytes: up to 32 bytes as two
 * overlapping loads and stores of 16, 8 or 4 bytes, no call.  Shared by the
 * h2 stream's field copies (app) and the report's held copies; both run for
 * every field of every message. */
#ifndef CS_COPY_SMALL_H
#define CS_COPY_SMALL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void cs_copy_small(void *to, const void *from, size_t n)
{
    unsigned char *d = to;
    const unsigned char *p = from;
    if (n > 32) {
        memcpy(d, p, n);
    } else if (n > 16) {
        unsigned char a[16], z[16];
        memcpy(a, p, 16);
        memcpy(z, p + n - 16, 16);
        memcpy(d, a, 16);
        memcpy(d + n - 16, z, 16);
    } else if (n >= 8) {
        uint64_t a, z;
        memcpy(&a, p, 8);
        memcpy(&z, p + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &z, 8);
    } else if (n >= 4) {
        uint32_t a, z;
        memcpy(&a, p, 4);
        memcpy(&z, p + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &z, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = p[i];
    }
}

#endif
