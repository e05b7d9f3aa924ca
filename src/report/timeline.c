/* The timeline stage (see timeline.h).  Fixed-size tables; lookups by key go
 * through a small chained hash index over the key hashes, so a request costs
 * a few probes instead of a scan of every slot. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "timeline.h"
#include "strcut.h"
#include "utf8.h"

/* A preflight seen on the wire, waiting for its actual request. */
struct pending {
    bool used;
    struct cs_addr client;
    char origin[CS_TL_ORIGIN_MAX];
    char url[CS_TL_URL_MAX];
    char method[CS_TL_METHOD_MAX]; /* Access-Control-Request-Method */
    char acrh[CS_TL_ACRH_MAX];     /* Access-Control-Request-Headers, as sent */
    bool passed;                   /* either browser let it through */
    uint64_t frame, flow;
    cs_time_ns ts;
    void *held; /* the report's event waiting for what follows, or NULL */
};

/* One browser's cached preflight result.  The result itself is a 3 KB
 * struct of token arrays of which a preflight fills a few: an entry keeps
 * only the filled part (pf_pack), so that a full cache (2 x 256 entries
 * by default) costs ~0.3 MB instead of 1.9. */
struct cache_entry {
    bool used;
    bool credentialed; /* the result's credentials mode (part of the key) */
    struct cs_addr client;
    char origin[CS_TL_ORIGIN_MAX];
    char url[CS_TL_URL_MAX];
    unsigned char *pf; /* the result, packed (pf_pack) */
    cs_time_ns stored; /* when the preflight was answered */
    cs_time_ns expires;
    uint64_t frame;
};

struct last_failure {
    bool used;
    struct cs_addr client;
    char key[CS_TL_METHOD_MAX + CS_TL_URL_MAX + CS_TL_ORIGIN_MAX];
    cs_time_ns ts;
};

#define CS_TL_MAX_FAILURES 64

/* A client address that sent HTTP: to which server endpoint, or to several. */
struct http_client {
    bool used;
    bool several; /* spoke to more than one server endpoint */
    uint16_t port;
    struct cs_addr client, server;
};
_Static_assert(sizeof(struct http_client) <= CS_HTTP_CLIENT_SLOT_BYTES,
               "limits.h reserves CS_HTTP_CLIENT_SLOT_BYTES per slot in --max-memory");

/* A preflight result packed: its fields before the token arrays, then the
 * n_methods and n_headers tokens used (what corscope_preflight_allows
 * reads; max_age is read once, when the entry is stored). */
#define PF_HEAD offsetof(corscope_preflight_result, methods)

static size_t pf_packed_size(const corscope_preflight_result *r)
{
    return PF_HEAD + (r->n_methods + r->n_headers) * CORSCOPE_PF_TOKEN_MAX;
}

static void pf_pack(unsigned char *to, const corscope_preflight_result *r)
{
    size_t m = r->n_methods * CORSCOPE_PF_TOKEN_MAX;
    memcpy(to, r, PF_HEAD);
    memcpy(to + PF_HEAD, r->methods, m);
    memcpy(to + PF_HEAD + m, r->headers, r->n_headers * CORSCOPE_PF_TOKEN_MAX);
}

/* Unpacks into *r what corscope_preflight_allows reads (not max_age). */
static const corscope_preflight_result *pf_unpack(const unsigned char *from, corscope_preflight_result *r)
{
    memcpy(r, from, PF_HEAD);
    size_t m = r->n_methods * CORSCOPE_PF_TOKEN_MAX;
    memcpy(r->methods, from + PF_HEAD, m);
    memcpy(r->headers, from + PF_HEAD + m, r->n_headers * CORSCOPE_PF_TOKEN_MAX);
    return r;
}

/* Buckets of a key index: a power of two above the largest table, so chains
 * stay about one entry long. */
#define CS_TL_INDEX_BUCKETS 1024

/* A chained hash index over one table's key hashes.  head[] and next[] hold
 * slot numbers plus one; 0 ends a chain.  Only used slots are linked. */
struct key_index {
    uint16_t head[CS_TL_INDEX_BUCKETS];
    uint16_t next[CS_TL_PENDING_CAPACITY];
};

struct cs_timeline {
    struct pending pending[CS_TL_PENDING_CAPACITY];
    struct cache_entry cache[2][CS_TL_CACHE_CAPACITY];
    /* Key hashes beside the tables, 0 for an unused slot: a lookup scans
     * these few cache lines and compares strings only where one matches,
     * instead of touching every ~900-byte entry. */
    uint64_t pending_key[CS_TL_PENDING_CAPACITY]; /* client, origin, url, method */
    uint64_t cache_key[2][CS_TL_CACHE_CAPACITY];  /* client, origin, url */
    /* Insertion counters, for oldest-first replacement: beside the tables
     * too, so that finding the oldest of a full table scans 4 KB. */
    uint64_t pending_age[CS_TL_PENDING_CAPACITY];
    uint64_t cache_age[2][CS_TL_CACHE_CAPACITY];
    /* Cache slots are never freed, only replaced: slots below cache_used[b]
     * are taken, and a full cache is the common state on long captures.
     * Its slots are kept in insertion order (a list ordered as cache_age,
     * slot numbers plus one, 0 ends it), so the oldest is the list's head
     * instead of the result of a 256-slot scan per stored preflight. */
    uint16_t cache_used[2];
    /* Pending slots below this one are all taken (the free-slot scan starts
     * here; freeing a slot lowers it). */
    size_t pending_free_from;
    /* The taken pending slots in insertion order (as pending_age: slot
     * numbers plus one, 0 ends), so that a full table's oldest entry is the
     * list's head, not the result of a scan of every age per preflight. */
    uint16_t pending_oldest, pending_newest;
    uint16_t pending_older[CS_TL_PENDING_CAPACITY], pending_newer[CS_TL_PENDING_CAPACITY];
    uint16_t cache_oldest[2], cache_newest[2];
    uint16_t cache_older[2][CS_TL_CACHE_CAPACITY], cache_newer[2][CS_TL_CACHE_CAPACITY];
    struct key_index pending_index;
    struct key_index cache_index[2];
    struct last_failure failures[CS_TL_MAX_FAILURES];
    size_t max_pending, max_cache; /* the slots used of the tables above */
    uint64_t counter;
    struct cs_timeline_stats stats;
    /* held preflights (cs_timeline_hold) */
    cs_time_ns window;
    cs_tl_release_fn release;
    void *release_ctx;
    size_t last_stored; /* slot + 1 of the last preflight remembered, 0 none */
    size_t n_held;
    /* The held slots in the order they are handed back (time, frame, slot
     * number): slot numbers plus one, 0 ends.  The clock advances on every
     * request; the first one says whether any window closed, and the end of
     * a connection walks this list, not the whole table. */
    uint16_t held_first, held_last;
    uint16_t held_next[CS_TL_PENDING_CAPACITY], held_prev[CS_TL_PENDING_CAPACITY];
    /* open addressing, linear probing, at most half full */
    struct http_client *clients;
    struct cs_cookies *cookies;
    struct cs_stored *stored; /* responses a 304 may revalidate (stored.h) */
    struct cs_site *site;
    size_t clients_mask; /* slots - 1 (a power of two) */
    uint32_t clients_max, clients_used;
};

/* The tables are arrays of their largest size, of which the first
 * max_pending / max_cache slots are used: one calloc (fresh pages from the
 * system, zero without being written), and the slots past the limits are
 * never touched, so they cost address space, not memory. */
struct cs_timeline *cs_timeline_new_sized(uint32_t max_http_clients)
{
    struct cs_timeline *tl = calloc(1, sizeof(struct cs_timeline));
    if (!tl)
        return NULL;
    tl->clients_max = max_http_clients ? max_http_clients : CS_DEFAULT_MAX_HTTP_CLIENTS;
    size_t slots = cs_http_clients_slots(tl->clients_max);
    tl->clients = calloc(slots, sizeof *tl->clients);
    tl->cookies = cs_cookies_new(0);
    tl->stored = cs_stored_new(0);
    tl->site = cs_site_new();
    if (!tl->clients || !tl->cookies || !tl->stored || !tl->site) {
        cs_timeline_free(tl);
        return NULL;
    }
    tl->clients_mask = slots - 1;
    cs_timeline_set_limits(tl, CS_TL_MAX_PENDING, CS_TL_MAX_CACHE);
    tl->window = (cs_time_ns)CS_DEFAULT_PREFLIGHT_WINDOW_MS * 1000000LL;
    return tl;
}

struct cs_timeline *cs_timeline_new(void)
{
    return cs_timeline_new_sized(0);
}

void cs_timeline_set_limits(struct cs_timeline *tl, size_t max_pending, size_t max_cache)
{
    tl->max_pending = max_pending < 1 ? 1 : max_pending > CS_TL_PENDING_CAPACITY ? CS_TL_PENDING_CAPACITY
                                                                                 : max_pending;
    tl->max_cache = max_cache < 1 ? 1 : max_cache > CS_TL_CACHE_CAPACITY ? CS_TL_CACHE_CAPACITY
                                                                         : max_cache;
}

void cs_timeline_set_window(struct cs_timeline *tl, cs_time_ns window)
{
    tl->window = window;
}

void cs_timeline_set_release(struct cs_timeline *tl, cs_tl_release_fn fn, void *ctx)
{
    tl->release = fn;
    tl->release_ctx = ctx;
}

cs_time_ns cs_timeline_window(const struct cs_timeline *tl)
{
    return tl->window;
}

size_t cs_timeline_held(const struct cs_timeline *tl)
{
    return tl->n_held;
}

/* Is held slot a handed back before held slot b (the earlier preflight;
 * for one time the earlier frame; for one frame the lower slot)? */
static bool held_before(const struct cs_timeline *tl, size_t a, size_t b)
{
    const struct pending *x = &tl->pending[a], *y = &tl->pending[b];
    if (x->ts != y->ts)
        return x->ts < y->ts;
    if (x->frame != y->frame)
        return x->frame < y->frame;
    return a < b;
}

/* Links held slot i into the held list at its place: from the end, where
 * preflights held in time order go. */
static void held_link(struct cs_timeline *tl, size_t i)
{
    uint16_t after = tl->held_last;
    while (after && held_before(tl, i, after - 1u))
        after = tl->held_prev[after - 1];
    uint16_t me = (uint16_t)(i + 1);
    uint16_t before = after ? tl->held_next[after - 1] : tl->held_first;
    tl->held_prev[i] = after;
    tl->held_next[i] = before;
    if (after)
        tl->held_next[after - 1] = me;
    else
        tl->held_first = me;
    if (before)
        tl->held_prev[before - 1] = me;
    else
        tl->held_last = me;
}

/* Slot p stops being held: out of the list and the count. */
static void held_unlink(struct cs_timeline *tl, struct pending *p)
{
    size_t i = (size_t)(p - tl->pending);
    uint16_t prev = tl->held_prev[i], next = tl->held_next[i];
    if (prev)
        tl->held_next[prev - 1] = next;
    else
        tl->held_first = next;
    if (next)
        tl->held_prev[next - 1] = prev;
    else
        tl->held_last = prev;
    p->held = NULL;
    tl->n_held--;
}

/* Hands slot p's held payload back (the slot itself stays for linking). */
static void release_slot(struct cs_timeline *tl, struct pending *p, enum cs_tl_follow follow)
{
    void *payload = p->held;
    if (!payload)
        return;
    held_unlink(tl, p);
    if (follow == CS_TL_FOLLOW_WINDOW || follow == CS_TL_FOLLOW_END)
        tl->stats.held_not_followed++;
    else if (follow == CS_TL_FOLLOW_UNDECIDED)
        tl->stats.held_not_held++;
    if (tl->release)
        tl->release(tl->release_ctx, payload, follow);
}

void cs_timeline_free(struct cs_timeline *tl)
{
    if (tl) {
        for (int b = 0; b < 2; b++)
            for (size_t i = 0; i < tl->cache_used[b]; i++)
                free(tl->cache[b][i].pf);
        free(tl->clients);
        cs_cookies_free(tl->cookies);
        cs_stored_free(tl->stored);
        cs_site_free(tl->site);
    }
    free(tl);
}

struct cs_cookies *cs_timeline_cookies(struct cs_timeline *tl)
{
    return tl->cookies;
}

struct cs_stored *cs_timeline_stored(struct cs_timeline *tl)
{
    return tl->stored;
}

struct cs_site *cs_timeline_site(struct cs_timeline *tl)
{
    return tl->site;
}

const struct cs_timeline_stats *cs_timeline_stats(const struct cs_timeline *tl)
{
    return &tl->stats;
}

static void index_link(struct key_index *ix, size_t slot, uint64_t key)
{
    uint16_t *head = &ix->head[key & (CS_TL_INDEX_BUCKETS - 1)];
    ix->next[slot] = *head;
    *head = (uint16_t)(slot + 1);
}

static void index_unlink(struct key_index *ix, size_t slot, uint64_t key)
{
    uint16_t *p = &ix->head[key & (CS_TL_INDEX_BUCKETS - 1)];
    while (*p && *p != slot + 1)
        p = &ix->next[*p - 1];
    if (*p)
        *p = ix->next[slot];
}

/* Sets the key of a slot (0: unused) in both the key array and the index. */
static void set_key(uint64_t *keys, struct key_index *ix, size_t slot, uint64_t key)
{
    if (keys[slot])
        index_unlink(ix, slot, keys[slot]);
    keys[slot] = key;
    if (key)
        index_link(ix, slot, key);
}

/* Takes pending slot i out of the insertion order (it is freed or
 * replaced). */
static void pending_unlink(struct cs_timeline *tl, size_t i)
{
    uint16_t older = tl->pending_older[i], newer = tl->pending_newer[i];
    if (older)
        tl->pending_newer[older - 1] = newer;
    else
        tl->pending_oldest = newer;
    if (newer)
        tl->pending_older[newer - 1] = older;
    else
        tl->pending_newest = older;
    tl->pending_older[i] = tl->pending_newer[i] = 0;
}

/* Puts pending slot i, just stored, at the newest end of the order. */
static void pending_append(struct cs_timeline *tl, size_t i)
{
    uint16_t me = (uint16_t)(i + 1);
    tl->pending_older[i] = tl->pending_newest;
    tl->pending_newer[i] = 0;
    if (tl->pending_newest)
        tl->pending_newer[tl->pending_newest - 1] = me;
    else
        tl->pending_oldest = me;
    tl->pending_newest = me;
}

/* Walks the slots whose key hash is `key`: start with *it = 0; returns
 * false at the end. */
static bool index_next(const struct key_index *ix, const uint64_t *keys, uint64_t key,
                       uint16_t *it, size_t *slot)
{
    uint16_t s = *it ? ix->next[*it - 1] : ix->head[key & (CS_TL_INDEX_BUCKETS - 1)];
    for (; s; s = ix->next[s - 1]) {
        if (keys[s - 1] == key) {
            *it = s;
            *slot = s - 1u;
            return true;
        }
    }
    return false;
}

/* Mixes the key parts 8 bytes at a time (a multiply and an xorshift per
 * word; byte-wise FNV-1a cost ~2% of the run on URL-sized keys).  Equal
 * keys hash equally, which is all the index needs: matches are confirmed
 * by comparing the stored strings. */
#define KEY_MUL 0x9e3779b97f4a7c15ull
static uint64_t key_word(uint64_t h, uint64_t w)
{
    h = (h ^ w) * KEY_MUL;
    return h ^ (h >> 29);
}

static uint64_t key_mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i = 0;
    uint64_t w;
    for (; n - i >= sizeof w; i += sizeof w) {
        memcpy(&w, b + i, sizeof w);
        h = key_word(h, w);
    }
    w = i == n ? 0 : cs_tail_word(b, n);
    return key_word(h, w ^ ((uint64_t)n << 56));
}

uint64_t cs_timeline_request_key(const struct cs_addr *client, const char *origin, size_t origin_len,
                                 const char *url)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = key_mix(h, &client->family, 1);
    h = key_mix(h, client->bytes, 16);
    h = key_mix(h, origin, origin_len);
    h = key_mix(h, url, strlen(url));
    return h | 1;
}

/* A pending preflight's key: its cache key (client, origin, URL) with the
 * method mixed in, so that both tables' keys come from one hash. */
static uint64_t pending_hash(uint64_t cache_key, const char *method, size_t method_len)
{
    return key_mix(cache_key, method, method_len) | 1;
}

/* Copies (s, len) into a fixed buffer; false if it did not fit (such keys
 * are not remembered: a cut key could match the wrong request). */
static bool copy_key(char *dst, size_t size, const char *s, size_t len)
{
    if (len >= size)
        return false;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return true;
}

static bool key_eq(const char *stored, const char *s, size_t len)
{
    return strlen(stored) == len && memcmp(stored, s, len) == 0;
}

/* The URL's host is an IP literal (Firefox never reuses a cached preflight
 * for those, §8.7). */
static bool url_host_is_ip_literal(const char *url)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    if (*h == '[')
        return true;
    bool digits_and_dots = true;
    for (const char *p = h; *p && *p != '/' && *p != ':' && *p != '?'; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
            digits_and_dots = false;
    return digits_and_dots;
}

/* Does an Access-Control-Request-Headers value name a conditional request
 * header (RFC 9110 §13.1)?  Then the page set it (a browser's own
 * revalidation adds its condition after CORS and never announces it). */
static bool acrh_names_condition(const char *acrh)
{
    static const char *const names[] = {"if-none-match", "if-modified-since", "if-match",
                                        "if-unmodified-since", "if-range"};
    const char *p = acrh;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ", \t");
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (n == strlen(names[i]) && strncasecmp(p, names[i], n) == 0)
                return true;
        p += n;
    }
    return false;
}

void cs_timeline_before_actual(struct cs_timeline *tl, const struct cs_addr *client,
                               const corscope_request *req, const char *url, const char *origin,
                               size_t origin_len, bool needs_preflight, cs_time_ns ts,
                               struct cs_timeline_facts *facts)
{
    memset(facts, 0, sizeof(*facts));
    facts->credentials = CORSCOPE_CRED_UNKNOWN;

    /* The newest announced preflight for this very request. */
    struct pending *best = NULL;
    uint64_t ck = cs_timeline_request_key(client, origin, origin_len, url); /* the cache lookup's too */
    facts->request_key = ck;
    uint64_t pk = pending_hash(ck, req->method, req->method_len);
    uint16_t it = 0;
    size_t i;
    while (index_next(&tl->pending_index, tl->pending_key, pk, &it, &i)) {
        struct pending *p = &tl->pending[i];
        if (!p->used || !cs_addr_equal(&p->client, client) || p->ts > ts)
            continue;
        if (!key_eq(p->origin, origin, origin_len) || strcmp(p->url, url) != 0 ||
            !key_eq(p->method, req->method, req->method_len))
            continue;
        if (!best || tl->pending_age[i] > tl->pending_age[best - tl->pending])
            best = p;
    }
    if (best) {
        facts->age = ts - best->ts;
        facts->preflight_frame = best->frame;
        facts->preflight_flow = best->flow;
        /* Authorization the page did not announce is browser-managed HTTP
         * auth, i.e. credentials "include" (§1.2). */
        corscope_header acrh = {"Access-Control-Request-Headers", 30, best->acrh, strlen(best->acrh)};
        corscope_request pf = {.method = "OPTIONS", .method_len = 7, .target = req->target, .target_len = req->target_len, .headers = &acrh, .n_headers = best->acrh[0] ? 1 : 0, .scheme = req->scheme, .scheme_len = req->scheme_len};
        facts->credentials = corscope_infer_credentials(req, &pf);
        facts->conditional_by_page = acrh_names_condition(best->acrh);
        facts->what = best->passed ? CS_TL_LINKED : CS_TL_SENT_AFTER_FAILED;
        if (best->held) {
            facts->held = best->held;
            facts->held_age = ts - best->ts;
            held_unlink(tl, best);
            tl->stats.held_followed++;
        }
        best->used = false; /* one preflight announces one request */
        set_key(tl->pending_key, &tl->pending_index, (size_t)(best - tl->pending), 0);
        pending_unlink(tl, (size_t)(best - tl->pending));
        if ((size_t)(best - tl->pending) < tl->pending_free_from)
            tl->pending_free_from = (size_t)(best - tl->pending);
        tl->stats.preflights_linked++;
        return;
    }
    facts->credentials = corscope_infer_credentials(req, NULL);
    if (!needs_preflight)
        return;

    /* No preflight on the wire: which browser's cache could explain it? */
    corscope_cred cred = facts->credentials == CORSCOPE_CRED_INCLUDE ? CORSCOPE_CRED_INCLUDE
                                                                     : CORSCOPE_CRED_OMIT;
    const struct cache_entry *hit[2] = {NULL, NULL};
    for (int b = 0; b < 2; b++) {
        if (b == CORSCOPE_FIREFOX && url_host_is_ip_literal(url))
            continue;
        uint16_t cit = 0;
        size_t ci;
        while (index_next(&tl->cache_index[b], tl->cache_key[b], ck, &cit, &ci)) {
            const struct cache_entry *e = &tl->cache[b][ci];
            if (!e->used || !cs_addr_equal(&e->client, client) || e->expires < ts ||
                !key_eq(e->origin, origin, origin_len) || strcmp(e->url, url) != 0)
                continue;
            corscope_preflight_result pf;
            if (corscope_preflight_allows(pf_unpack(e->pf, &pf), (corscope_browser)b, req, cred) &&
                (!hit[b] || tl->cache_age[b][ci] > tl->cache_age[b][hit[b] - tl->cache[b]]))
                hit[b] = e;
        }
    }
    if (hit[0] || hit[1]) {
        const struct cache_entry *e = hit[0] ? hit[0] : hit[1];
        facts->what = CS_TL_CACHED;
        facts->age = ts - e->stored;
        facts->cache_frame = e->frame;
        facts->browsers = (hit[0] ? CS_TL_FIREFOX : 0) | (hit[1] ? CS_TL_CHROMIUM : 0);
        tl->stats.cache_hits++;
    } else {
        facts->what = CS_TL_UNEXPLAINED;
        tl->stats.unexplained_missing++;
    }
}

/* The first unused slot (key 0), else the oldest entry.  The key array is
 * scanned, not the ~900-byte entries. */
static struct pending *pending_slot(struct cs_timeline *tl)
{
    for (size_t i = tl->pending_free_from; i < tl->max_pending; i++)
        if (!tl->pending_key[i]) {
            tl->pending_free_from = i + 1;
            return &tl->pending[i];
        }
    tl->pending_free_from = tl->max_pending;
    /* every slot is taken: the oldest heads the insertion order */
    size_t oldest = tl->pending_oldest ? (size_t)tl->pending_oldest - 1 : 0;
    pending_unlink(tl, oldest);
    tl->stats.pending_evicted++;
    release_slot(tl, &tl->pending[oldest], CS_TL_FOLLOW_UNDECIDED);
    return &tl->pending[oldest];
}

/* Makes slot i (taken or new) the newest of browser b's cache order. */
static void cache_touch(struct cs_timeline *tl, int b, size_t i, bool taken)
{
    uint16_t *older = tl->cache_older[b], *newer = tl->cache_newer[b];
    uint16_t me = (uint16_t)(i + 1);
    if (taken) {
        if (tl->cache_newest[b] == me)
            return;
        /* unlink; not the newest, so it has a newer neighbour */
        older[newer[i] - 1] = older[i];
        if (older[i])
            newer[older[i] - 1] = newer[i];
        else
            tl->cache_oldest[b] = newer[i];
    }
    older[i] = tl->cache_newest[b];
    newer[i] = 0;
    if (tl->cache_newest[b])
        newer[tl->cache_newest[b] - 1] = me;
    else
        tl->cache_oldest[b] = me;
    tl->cache_newest[b] = me;
}

/* Stores a successful preflight in browser b's cache model, replacing the
 * entry for the same (client, origin, URL, credentials) or the oldest.
 * key: cs_timeline_request_key of (client, origin, url), which the caller has for both
 * browsers and its pending entry. */
static void cache_put(struct cs_timeline *tl, int b, const struct cs_addr *client, const char *origin,
                      const char *url, uint64_t key, const corscope_preflight_result *r,
                      uint64_t frame, cs_time_ns ts)
{
    struct cache_entry *slot = NULL;
    unsigned char *pf = malloc(pf_packed_size(r));
    if (!pf)
        return; /* out of memory: not cached */
    pf_pack(pf, r);
    uint16_t it = 0;
    size_t i;
    /* the entry for the same key and credentials mode (at most one) */
    while (!slot && index_next(&tl->cache_index[b], tl->cache_key[b], key, &it, &i)) {
        struct cache_entry *e = &tl->cache[b][i];
        if (e->used && cs_addr_equal(&e->client, client) && strcmp(e->origin, origin) == 0 &&
            strcmp(e->url, url) == 0 && e->credentialed == r->credentialed)
            slot = e;
    }
    if (slot) {
        cache_touch(tl, b, (size_t)(slot - tl->cache[b]), true);
    } else if (tl->cache_used[b] < tl->max_cache) {
        /* the first free slot: slots fill in order and are never freed */
        slot = &tl->cache[b][tl->cache_used[b]++];
        cache_touch(tl, b, (size_t)(slot - tl->cache[b]), false);
    } else {
        slot = &tl->cache[b][tl->cache_oldest[b] - 1];
        cache_touch(tl, b, (size_t)(slot - tl->cache[b]), true);
        tl->stats.cache_evicted++;
    }
    slot->used = true;
    slot->client = *client;
    bool whole = cs_copy_cut(slot->origin, sizeof(slot->origin), origin);
    whole = cs_copy_cut(slot->url, sizeof(slot->url), url) && whole;
    if (!whole) /* the entry holds the cut strings: its key is theirs */
        key = cs_timeline_request_key(client, slot->origin, strlen(slot->origin), slot->url);
    set_key(tl->cache_key[b], &tl->cache_index[b], (size_t)(slot - tl->cache[b]), key);
    free(slot->pf);
    slot->pf = pf;
    slot->credentialed = r->credentialed;
    slot->stored = ts;
    slot->expires = ts + (cs_time_ns)r->max_age[b] * 1000000000LL;
    slot->frame = frame;
    tl->cache_age[b][slot - tl->cache[b]] = ++tl->counter;
}

void cs_timeline_after_preflight(struct cs_timeline *tl, const struct cs_addr *client,
                                 const corscope_request *req, const corscope_response *resp,
                                 const corscope_verdict *v, uint64_t frame, uint64_t flow,
                                 const char *origin, size_t origin_len, cs_time_ns ts,
                                 struct cs_timeline_facts *facts)
{
    memset(facts, 0, sizeof(*facts));
    const corscope_header *acrm = corscope_header_find(req->headers, req->n_headers, "Access-Control-Request-Method");
    const corscope_header *acrh = corscope_header_find(req->headers, req->n_headers, "Access-Control-Request-Headers");
    bool ff_ok = v->firefox.verdict == CORSCOPE_ALLOWED || v->firefox.verdict == CORSCOPE_WARNING;
    bool cr_ok = v->chromium.verdict == CORSCOPE_ALLOWED || v->chromium.verdict == CORSCOPE_WARNING;
    /* Failed is blocked, not merely "not allowed": a preflight whose answer
     * was not captured (unknown) or that no check concerned (n/a) is not
     * known to stop anything. */
    bool ff_fail = v->firefox.verdict == CORSCOPE_BLOCKED;
    bool cr_fail = v->chromium.verdict == CORSCOPE_BLOCKED;

    struct pending p = {.used = true, .client = *client, .frame = frame, .flow = flow, .ts = ts, .passed = !ff_fail || !cr_fail};
    tl->last_stored = 0;
    uint64_t key = 0; /* cs_timeline_request_key of (client, p.origin, p.url), once computed */
    if (acrm && copy_key(p.origin, sizeof(p.origin), origin, origin_len) &&
        copy_key(p.url, sizeof(p.url), v->url, strlen(v->url)) &&
        copy_key(p.method, sizeof(p.method), acrm->value, acrm->value_len) &&
        (!acrh || copy_key(p.acrh, sizeof(p.acrh), acrh->value, acrh->value_len))) {
        struct pending *slot = pending_slot(tl);
        *slot = p;
        tl->last_stored = (size_t)(slot - tl->pending) + 1;
        tl->pending_age[slot - tl->pending] = ++tl->counter;
        pending_append(tl, (size_t)(slot - tl->pending));
        key = cs_timeline_request_key(client, p.origin, strlen(p.origin), p.url);
        set_key(tl->pending_key, &tl->pending_index, (size_t)(slot - tl->pending),
                pending_hash(key, p.method, strlen(p.method)));
    }

    if (ff_fail || cr_fail) {
        facts->what = CS_TL_PREFLIGHT_BLOCKS;
        facts->browsers = (ff_fail ? CS_TL_FIREFOX : 0) | (cr_fail ? CS_TL_CHROMIUM : 0);
        facts->method = acrm ? acrm->value : NULL;
        facts->method_len = acrm ? acrm->value_len : 0;
    }
    if (!resp || p.origin[0] == '\0')
        return;
    if (!ff_ok && !cr_ok)
        return;
    /* the same grant for both browsers: parsed once */
    corscope_cred cred = v->credentials == CORSCOPE_CRED_INCLUDE ? CORSCOPE_CRED_INCLUDE
                                                                 : CORSCOPE_CRED_OMIT;
    corscope_preflight_result r;
    if (corscope_preflight_parse(resp, cred, &r) != 0)
        return;
    for (int b = 0; b < 2; b++) {
        bool ok = b == CORSCOPE_FIREFOX ? ff_ok : cr_ok;
        if (!ok || r.max_age[b] <= 0)
            continue;
        if (!key)
            key = cs_timeline_request_key(client, p.origin, strlen(p.origin), p.url);
        cache_put(tl, b, client, p.origin, p.url, key, &r, frame, ts);
    }
}

static bool is_retry_within(struct cs_timeline *tl, const struct cs_addr *client,
                            const char *method, size_t method_len, const char *url,
                            const char *origin, size_t origin_len, cs_time_ns ts, cs_time_ns window);

bool cs_timeline_is_retry(struct cs_timeline *tl, const struct cs_addr *client,
                          const char *method, size_t method_len, const char *url,
                          const char *origin, size_t origin_len, cs_time_ns ts)
{
    return is_retry_within(tl, client, method, method_len, url, origin, origin_len, ts,
                           CS_TL_RETRY_WINDOW_NS);
}

/* The retry table's key, "METHOD URL ORIGIN" as snprintf's "%.*s %s %.*s"
 * (method cut to 23 bytes, origin to 127, each also at a NUL) writes it,
 * without the format machinery (once per CORS request without a
 * response); returns its length, >= size when it did not fit. */
static size_t retry_key(char *key, size_t size, const char *method, size_t method_len,
                        const char *url, const char *origin, size_t origin_len)
{
    int ml = (int)(method_len > 23 ? 23 : method_len), ol = (int)(origin_len > 127 ? 127 : origin_len);
    if (!method || !url) { /* printf's "(null)" */
        int n = snprintf(key, size, "%.*s %s %.*s", ml, method, url, ol, origin ? origin : "");
        return n < 0 ? size : (size_t)n;
    }
    size_t mn = strnlen(method, (size_t)ml), un = strlen(url);
    size_t on = origin ? strnlen(origin, (size_t)ol) : 0;
    size_t n = mn + 1 + un + 1 + on;
    if (n >= size)
        return n;
    char *d = key;
    memcpy(d, method, mn);
    d += mn;
    *d++ = ' ';
    memcpy(d, url, un);
    d += un;
    *d++ = ' ';
    if (on)
        memcpy(d, origin, on);
    d[on] = '\0';
    return n;
}

static bool is_retry_within(struct cs_timeline *tl, const struct cs_addr *client,
                            const char *method, size_t method_len, const char *url,
                            const char *origin, size_t origin_len, cs_time_ns ts, cs_time_ns window)
{
    char key[sizeof(((struct last_failure *)0)->key)];
    if (retry_key(key, sizeof key, method, method_len, url, origin, origin_len) >= sizeof key)
        return false;
    struct last_failure *slot = NULL, *oldest = &tl->failures[0];
    for (size_t i = 0; i < CS_TL_MAX_FAILURES; i++) {
        struct last_failure *f = &tl->failures[i];
        if (f->used && cs_addr_equal(&f->client, client) && strcmp(f->key, key) == 0) {
            bool retry = ts - f->ts <= window;
            f->ts = ts; /* a chain of retries keeps extending the window */
            if (retry)
                tl->stats.retries_folded++;
            return retry;
        }
        if (!f->used && !slot)
            slot = f;
        if (f->ts < oldest->ts)
            oldest = f;
    }
    if (!slot)
        slot = oldest;
    slot->used = true;
    slot->client = *client;
    cs_copy_cut(slot->key, sizeof(slot->key), key);
    slot->ts = ts;
    return false;
}

bool cs_timeline_hold(struct cs_timeline *tl, void *payload)
{
    if (!tl->last_stored || tl->n_held >= CS_MAX_HELD_PREFLIGHTS) {
        tl->stats.held_not_held++;
        return false;
    }
    struct pending *p = &tl->pending[tl->last_stored - 1];
    tl->last_stored = 0;
    if (!p->used || p->held)
        return false;
    p->held = payload;
    held_link(tl, (size_t)(p - tl->pending));
    tl->n_held++;
    tl->stats.preflights_held++;
    return true;
}

void cs_timeline_hold_refused(struct cs_timeline *tl)
{
    tl->last_stored = 0;
    tl->stats.held_not_held++;
}

void cs_timeline_advance(struct cs_timeline *tl, cs_time_ns now)
{
    /* the window of a preflight at ts closed when ts < now - window */
    cs_time_ns base = now - tl->window;
    while (tl->held_first && tl->pending[tl->held_first - 1].ts < base)
        release_slot(tl, &tl->pending[tl->held_first - 1], CS_TL_FOLLOW_WINDOW);
}

void cs_timeline_release_end(struct cs_timeline *tl, uint64_t flow)
{
    /* in list order, that is oldest first; a release unlinks only its own slot */
    for (uint16_t i = tl->held_first, next; i; i = next) {
        struct pending *p = &tl->pending[i - 1];
        next = tl->held_next[i - 1];
        if (flow == 0 || p->flow == flow)
            release_slot(tl, p, CS_TL_FOLLOW_END);
    }
}

static bool passes(const corscope_browser_verdict *b)
{
    return b->verdict == CORSCOPE_ALLOWED || b->verdict == CORSCOPE_WARNING;
}

void cs_timeline_decide(const corscope_verdict *omit, const corscope_verdict *include,
                        enum cs_tl_follow follow, struct cs_tl_decision *d)
{
    const corscope_verdict *mode[2] = {omit, include};
    static const corscope_cred cred[2] = {CORSCOPE_CRED_OMIT, CORSCOPE_CRED_INCLUDE};
    bool any_pass[2], any_fail[2];
    memset(d, 0, sizeof *d);
    d->credentials = CORSCOPE_CRED_UNKNOWN;
    for (int m = 0; m < 2; m++) {
        any_pass[m] = passes(&mode[m]->firefox) || passes(&mode[m]->chromium);
        any_fail[m] = mode[m]->firefox.verdict == CORSCOPE_BLOCKED ||
                      mode[m]->chromium.verdict == CORSCOPE_BLOCKED;
    }
    switch (follow) {
    case CS_TL_FOLLOW_UNDECIDED:
        return;
    case CS_TL_FOLLOW_SEEN:
        /* the browser sent it: the preflight passed in the page's mode */
        if (any_pass[0] != any_pass[1]) {
            int m = any_pass[0] ? 0 : 1;
            d->credentials = cred[m];
            d->blocked = mode[m]->verdict == CORSCOPE_BLOCKED;
        }
        return;
    case CS_TL_FOLLOW_WINDOW:
    case CS_TL_FOLLOW_END:
        /* nothing came: it failed in the page's mode, or the page gave up */
        if (!any_fail[0] && !any_fail[1]) {
            d->gave_up = any_pass[0] && any_pass[1] && passes(&omit->firefox) &&
                         passes(&omit->chromium) && passes(&include->firefox) &&
                         passes(&include->chromium);
            return;
        }
        if (any_fail[0] != any_fail[1]) {
            int m = any_fail[0] ? 0 : 1;
            d->credentials = cred[m];
            d->blocked = true;
        }
        return;
    }
}

/* The client's slot: its entry, or the empty slot where it goes. */
static struct http_client *client_slot(struct cs_timeline *tl, const struct cs_addr *client)
{
    uint64_t h = key_mix(0x84222325cbf29ce4ull, &client->family, 1);
    h = key_mix(h, client->bytes, 16);
    for (size_t i = (size_t)h & tl->clients_mask;; i = (i + 1) & tl->clients_mask) {
        struct http_client *c = &tl->clients[i];
        if (!c->used || cs_addr_equal(&c->client, client))
            return c;
    }
}

void cs_timeline_http_client(struct cs_timeline *tl, const struct cs_flow_key *f)
{
    struct http_client *c = client_slot(tl, &f->client);
    if (c->used) {
        if (!c->several && (c->port != f->server_port || !cs_addr_equal(&c->server, &f->server)))
            c->several = true;
        return;
    }
    if (tl->clients_used == tl->clients_max) {
        /* full: start again (rare; bounded and counted) */
        memset(tl->clients, 0, (tl->clients_mask + 1) * sizeof *tl->clients);
        tl->clients_used = 0;
        tl->stats.http_clients_reset++;
        c = client_slot(tl, &f->client);
    }
    *c = (struct http_client){.used = true, .port = f->server_port, .client = f->client, .server = f->server};
    tl->clients_used++;
}

void cs_timeline_conn_failed(struct cs_timeline *tl, const struct cs_flow_key *f,
                             enum cs_conn_failure failure, cs_time_ns window,
                             struct cs_tl_conn_facts *facts)
{
    const struct http_client *c = client_slot(tl, &f->client);
    facts->browser = c->used && (c->several || c->port != f->server_port ||
                                 !cs_addr_equal(&c->server, &f->server));
    /* the retry table of failed requests, under a key no request has */
    char url[80], a[64];
    cs_addr_format(&f->server, a, sizeof a);
    snprintf(url, sizeof url, "%s:%u", a, (unsigned)f->server_port);
    static const char *const kind[] = {"", "(refused)", "(timed-out)", "(tls-alert)", "(tls-closed)", "(tls-reset)"};
    const char *k = (unsigned)failure < sizeof kind / sizeof kind[0] ? kind[failure] : "(failed)";
    uint64_t folded = tl->stats.retries_folded;
    if (window < CS_TL_RETRY_WINDOW_NS)
        window = CS_TL_RETRY_WINDOW_NS;
    facts->retry = is_retry_within(tl, &f->client, k, strlen(k), url, "", 0, f->first_ts, window);
    if (facts->retry) {
        tl->stats.retries_folded = folded; /* counted as reconnects instead */
        tl->stats.reconnects_folded++;
    }
}
