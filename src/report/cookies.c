/* Cookie evidence (see cookies.h).  A pair is kept as a 64-bit hash of
 * (client, lower-cased scheme, lower-cased host), in an open-addressing
 * table at most half full: 8 bytes a pair.  Two pairs with one hash would
 * make one stand for the other; at 4096 pairs the chance is about 2^-41. */
#include <stdlib.h>
#include <string.h>

#include "cookies.h"
#include "utf8.h"

#define COOKIES_FIRST_SLOTS 64u

struct cs_cookies {
    uint64_t *slots; /* 0: empty */
    size_t mask;     /* slots - 1, or 0 before the first pair */
    size_t used, max;
    uint64_t refused;
};

struct cs_cookies *cs_cookies_new(size_t max_hosts)
{
    struct cs_cookies *c = calloc(1, sizeof *c);
    if (c)
        c->max = max_hosts ? max_hosts : CS_COOKIE_HOSTS_MAX;
    return c;
}

void cs_cookies_free(struct cs_cookies *c)
{
    if (c)
        free(c->slots);
    free(c);
}

size_t cs_cookies_bytes(const struct cs_cookies *c)
{
    return c->slots ? (c->mask + 1) * sizeof *c->slots : 0;
}

uint64_t cs_cookies_refused(const struct cs_cookies *c)
{
    return c->refused;
}

#define PAIR_MUL 0x100000001b3ull

/* Mixes one field into h a word at a time (this runs for every CORS
 * request): its length, then its 8-byte words, the rest as cs_tail_word.
 * fold_case: ASCII lower case first. */
static uint64_t mix(uint64_t h, const void *p, size_t n, bool fold_case)
{
    const unsigned char *b = p;
    h = (h ^ n) * PAIR_MUL;
    uint64_t w;
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        memcpy(&w, b + i, 8);
        h = (h ^ (fold_case ? cs_ascii_lower8(w) : w)) * PAIR_MUL;
    }
    if (i == n)
        return h;
    w = cs_tail_word(b, n);
    return (h ^ (fold_case ? cs_ascii_lower8(w) : w)) * PAIR_MUL;
}

static uint64_t pair_hash(const struct cs_addr *client, const char *scheme, size_t scheme_len,
                          const char *host, size_t host_len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ client->family;
    h = mix(h, client->bytes, 16, false);
    h = mix(h, scheme, scheme_len, true);
    h = mix(h, host, host_len, true);
    h ^= h >> 32; /* the multiplications carry upwards only */
    h *= 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    return h ? h : 1;
}

static size_t probe(const struct cs_cookies *c, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 32)) & c->mask;
    while (c->slots[i] && c->slots[i] != key)
        i = (i + 1) & c->mask;
    return i;
}

static bool known(const struct cs_cookies *c, uint64_t key)
{
    return c->slots && c->slots[probe(c, key)] == key;
}

/* Doubles the table (or makes the first one); false when out of memory. */
static bool grow(struct cs_cookies *c)
{
    size_t n = c->slots ? 2 * (c->mask + 1) : COOKIES_FIRST_SLOTS;
    uint64_t *old = c->slots;
    size_t old_n = old ? c->mask + 1 : 0;
    c->slots = calloc(n, sizeof *c->slots);
    if (!c->slots) {
        c->slots = old;
        return false;
    }
    c->mask = n - 1;
    for (size_t i = 0; i < old_n; i++)
        if (old[i])
            c->slots[probe(c, old[i])] = old[i];
    free(old);
    return true;
}

static void remember(struct cs_cookies *c, uint64_t key)
{
    if (known(c, key))
        return;
    if (c->used >= c->max) {
        c->refused++;
        return;
    }
    if ((!c->slots || 2 * (c->used + 1) > c->mask + 1) && !grow(c)) {
        c->refused++;
        return;
    }
    c->slots[probe(c, key)] = key;
    c->used++;
}

enum cs_cookie_evidence cs_cookies_request(struct cs_cookies *c, struct cs_site *site,
                                           const struct cs_addr *client, const corscope_request *req,
                                           const char *origin, size_t origin_len, const char *url)
{
    bool has_cookie = corscope_header_find(req->headers, req->n_headers, "Cookie") != NULL;
    const char *scheme, *host;
    size_t scheme_len, host_len;
    if ((!has_cookie && (!c->used || !origin)) ||
        !cs_site_split(url, strlen(url), &scheme, &scheme_len, &host, &host_len))
        return has_cookie ? CS_COOKIE_SENT : CS_COOKIE_NONE;
    uint64_t key = pair_hash(client, scheme, scheme_len, host, host_len);
    if (has_cookie) {
        remember(c, key);
        return CS_COOKIE_SENT;
    }
    if (!known(c, key))
        return CS_COOKIE_NONE;
    return cs_site_same(site, origin, origin_len, url, strlen(url)) ? CS_COOKIE_WITHHELD : CS_COOKIE_NONE;
}
