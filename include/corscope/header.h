/* corscope public types shared by the HTTP scanner and the classifier. */
#ifndef CORSCOPE_HEADER_H
#define CORSCOPE_HEADER_H

#include <stddef.h>

/* One header line exactly as it was sent: the name with its original case,
 * the value with leading/trailing SP/HTAB removed (RFC 9110 §5.5).  Pointers
 * into the caller's buffer; not NUL-terminated. */
typedef struct corscope_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} corscope_header;

#endif
