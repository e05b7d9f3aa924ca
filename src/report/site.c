/* Same-site test (see site.h). */
#include <glib.h>
#include <libpsl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "site.h"

/* The answers for recent hosts: a capture names a few hosts over and
 * over, and one libpsl lookup (~2,500 instructions) was 8 % of the report
 * thread's work on the bench capture.  Direct-mapped by a hash of the
 * lower-cased host; a host longer than a slot holds is asked every time.
 * libpsl's answer is a suffix of the host it was given, kept as its
 * offset. */
#define SITE_MEMO_SLOTS 256u /* a power of two */
#define SITE_MEMO_HOST 62u

struct site_memo {
    uint8_t len;   /* of host; 0: empty slot */
    int8_t rd_off; /* where the registrable domain starts in host, -1: none */
    char host[SITE_MEMO_HOST];
};

struct cs_site {
    psl_ctx_t *psl;
    bool loaded;            /* psl_latest was tried */
    struct site_memo *memo; /* SITE_MEMO_SLOTS, made with the first lookup */
};

struct cs_site *cs_site_new(void)
{
    return calloc(1, sizeof(struct cs_site));
}

void cs_site_free(struct cs_site *s)
{
    if (s && s->psl)
        psl_free(s->psl);
    if (s)
        free(s->memo);
    free(s);
}

/* ASCII case-insensitive equality of two counted strings (glib's compare:
 * scheme and host names are ASCII on the wire) */
static bool ieq(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && g_ascii_strncasecmp(a, b, al) == 0;
}

bool cs_site_split(const char *s, size_t len, const char **scheme, size_t *scheme_len,
                   const char **host, size_t *host_len)
{
    /* the first "://", found by hand: it ends a scheme a few bytes in,
     * and memmem's setup cost more than this loop (twice per CORS request) */
    const char *sep = NULL;
    for (size_t i = 0; i + 3 <= len; i++)
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
            sep = s + i;
            break;
        }
    if (!sep || sep == s)
        return false;
    *scheme = s;
    *scheme_len = (size_t)(sep - s);
    const char *h = sep + 3, *end = s + len, *e = h;
    if (e < end && *e == '[') { /* IPv6 literal: up to the bracket */
        while (e < end && *e != ']')
            e++;
        if (e == end)
            return false;
        e++;
    } else {
        while (e < end && *e != ':' && *e != '/' && *e != '?' && *e != '#')
            e++;
    }
    if (e == h)
        return false;
    *host = h;
    *host_len = (size_t)(e - h);
    return true;
}

/* An IP literal (IPv6 in brackets, or dotted digits) or localhost (also a
 * name under .localhost): compared by host only. */
static bool by_host_only(const char *h, size_t n)
{
    if (h[0] == '[')
        return true;
    bool digits_and_dots = true;
    for (size_t i = 0; i < n; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
            digits_and_dots = false;
    if (digits_and_dots)
        return true;
    return ieq(h, n, "localhost", 9) || (n > 10 && ieq(h + n - 10, 10, ".localhost", 10));
}

/* The registrable domain of the lower-cased host h[0..len) (NUL-ended):
 * a pointer into h, or NULL. */
static const char *registrable_of(struct cs_site *s, const char *h, size_t len)
{
    if (!s->loaded) {
        s->loaded = true;
        s->psl = psl_latest(NULL);
        s->memo = calloc(SITE_MEMO_SLOTS, sizeof *s->memo);
    }
    if (!s->psl)
        return NULL;
    struct site_memo *m = NULL;
    if (s->memo && len <= SITE_MEMO_HOST) {
        uint32_t hash = 2166136261u; /* FNV-1a */
        for (size_t i = 0; i < len; i++)
            hash = (hash ^ (unsigned char)h[i]) * 16777619u;
        m = &s->memo[(hash ^ (hash >> 16)) & (SITE_MEMO_SLOTS - 1)];
        if (m->len == len && memcmp(m->host, h, len) == 0)
            return m->rd_off < 0 ? NULL : h + m->rd_off;
    }
    const char *rd = psl_registrable_domain(s->psl, h);
    if (rd && (rd < h || rd > h + len))
        return rd; /* not a suffix of h (never seen): not kept */
    if (m) {
        m->len = (uint8_t)len;
        m->rd_off = (int8_t)(rd ? rd - h : -1);
        memcpy(m->host, h, len);
    }
    return rd;
}

bool cs_site_registrable(struct cs_site *s, const char *host, size_t len, char *out, size_t size)
{
    char h[CS_SITE_HOST_MAX + 1];
    if (len == 0 || len > CS_SITE_HOST_MAX || by_host_only(host, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (host[i] == '\0')
            return false;
        h[i] = g_ascii_tolower(host[i]);
    }
    h[len] = '\0';
    const char *rd = registrable_of(s, h, len);
    if (!rd)
        return false;
    size_t n = strlen(rd);
    if (n >= size)
        return false;
    memcpy(out, rd, n + 1);
    return true;
}

bool cs_site_same(struct cs_site *s, const char *a, size_t a_len, const char *b, size_t b_len)
{
    const char *as, *ah, *bs, *bh;
    size_t asl, ahl, bsl, bhl;
    if (!cs_site_split(a, a_len, &as, &asl, &ah, &ahl) || !cs_site_split(b, b_len, &bs, &bsl, &bh, &bhl))
        return false;
    if (!ieq(as, asl, bs, bsl))
        return false; /* schemeful: http and https are two sites */
    if (ieq(ah, ahl, bh, bhl))
        return true;
    char ra[CS_SITE_HOST_MAX + 1], rb[CS_SITE_HOST_MAX + 1];
    return cs_site_registrable(s, ah, ahl, ra, sizeof ra) && cs_site_registrable(s, bh, bhl, rb, sizeof rb) &&
           strcmp(ra, rb) == 0;
}
