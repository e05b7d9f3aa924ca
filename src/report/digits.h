#ifndef CORSCOPE_REPORT_DIGITS_H
#define CORSCOPE_REPORT_DIGITS_H
/* Decimal digits of an unsigned number without printf, for the report's hot
 * writers (notes, text output): written at the end of tmp, returns their
 * count; the digits start at tmp + 20 - count. */
#include <stddef.h>
#include <stdint.h>

static inline size_t cs_u64_digits(char tmp[20], uint64_t v)
{
    size_t n = 0;
    do {
        tmp[20 - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return n;
}

#endif
