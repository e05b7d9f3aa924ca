/* snprintf(dst, size, "%s", src) without the format machinery, for the
 * report's fixed-size string fields (the handover's SNI and CONNECT
 * target, the timeline's keys): src cut to size - 1 bytes, NUL-terminated.
 * Returns whether all of src fitted. */
#ifndef CS_STRCUT_H
#define CS_STRCUT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static inline bool cs_copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return src[n] == '\0';
}

#endif
