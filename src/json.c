#include <stdint.h>
#include <string.h>
#include <time.h>

#include "json.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes there do
 * not form one (overlongs, surrogates and values past U+10FFFF rejected, as
 * RFC 3629 §4 requires). */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) n = 3;
    else if (c == 0xED) { n = 3; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) { n = 4; hi = 0x8F; }
    else return 0;
    if (avail < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

void cs_json_string(FILE *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;  /* start of the pending run of bytes that need no escape */
    putc('"', out);
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_seq_len(p + i, len - i);
            if (n) {
                i += n;
                continue;
            }
        }
        fwrite(p + run, 1, i - run, out);
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default: {
            char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            fwrite(esc, 1, 6, out);
        }
        }
        i++;
        run = i;
    }
    fwrite(p + run, 1, len - run, out);
    putc('"', out);
}

void cs_json_cstr(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    size_t n = 0;
    while (s[n])
        n++;
    cs_json_string(out, s, n);
}

const char *cs_format_time(cs_time_ns ts, char *buf, size_t buflen)
{
    int64_t sec = ts / 1000000000;
    int64_t nsec = ts % 1000000000;
    if (nsec < 0) {
        nsec += 1000000000;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, buflen, "1970-01-01T00:00:00.000000Z");
        return buf;
    }
    snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(nsec / 1000));
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

void cs_json_time(FILE *out, cs_time_ns ts)
{
    char buf[40];
    fprintf(out, "\"%s\"", cs_format_time(ts, buf, sizeof(buf)));
}
