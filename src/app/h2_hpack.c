/* HTTP/2 connection stage: each direction's HPACK decoder, libnghttp2's
 * inflater, created when its first header block comes and "parked" while
 * the connection is idle; the few most recently used idle ones stay live
 * (struct cs_h2_cache) so that the next block of a page load skips the
 * rebuild.
 *
 * An inflater holds ~1.3 KB before any field (its struct and a 128-slot
 * ring) plus ~2.5x the RFC 7541 size of its dynamic table (an entry, a
 * reference-counted buffer per name and value), all in small blocks: on
 * thousands of keep-alive connections that is most of the memory h2 takes.
 * An idle direction's state is only the table, so it is kept as the header
 * block that rebuilds it: a dynamic table size update to the table's
 * current maximum, then every entry, oldest first, as a literal with
 * incremental indexing (RFC 7541 §6.3, §6.2.1; plain octets, no Huffman;
 * the name as an index where nghttp2 shares it with a static entry or an
 * older one, see name_index).
 * The next block of that direction first feeds that block to a new
 * inflater, which then holds the very same table (same entries, same
 * order, same maximum, same SETTINGS limit); nghttp2 still does all the
 * decoding and owns the table.  The entries are read with
 * nghttp2_hd_inflate_get_table_entry.
 *
 * Not parked: a direction in the middle of a header block, one whose HPACK
 * state is lost, and one that owes a dynamic table size update (its
 * SETTINGS_HEADER_TABLE_SIZE went below the table's maximum: the next
 * block must start with the update, a state a rebuilt inflater would not
 * have). */
#include <pthread.h>

#include "h2_int.h"
#include "reasm.h" /* cs_reasm_alloc_cost: what --max-memory charges for a malloc */

/* ---- the live inflater's memory ------------------------------------------- */

/* A live inflater allocates from its direction's arena: chunks of a few KB
 * carved front to back (a block freed right after it was made, as nghttp2
 * does with a field it only emits, is given back; any other free waits),
 * all freed at once when the direction parks.  Rebuilding a table is then
 * a handful of mallocs rather than three per entry, and a parked direction
 * keeps nothing of it.  Each allocation has a 16-byte header (its size) and
 * 16-byte alignment, as malloc's.  The chunks are counted in the
 * connection's held bytes at what glibc charges for their size
 * (cs_reasm_alloc_cost), never their usable size: that depends on malloc's
 * free lists, which the report thread changes at moments that vary between
 * runs, and --max-memory evicts by the count (the output must not vary). */

/* Under AddressSanitizer the bytes of an arena that are not a live
 * allocation are poisoned, so that nghttp2 reading or writing past a block
 * (or a block after its free) is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define H2_ARENA_ALIGN 16u
/* The first chunk holds a rebuilt 4 KB table (inflater, 1 KB ring, ~14
 * entries of a browser's headers, and the block's own allocations): with
 * 4 KB, one rebuild in two needed a second chunk (a malloc and a free). */
#define H2_ARENA_FIRST 8192u
#define H2_ARENA_MAX_CHUNK 65536u

struct h2_chunk {
    struct h2_chunk *next; /* the one before: freed together */
    size_t cap, used;      /* bytes of data[] */
    size_t pad_;           /* data[] 16-aligned after a 32-byte header */
    unsigned char data[];
};

struct h2_arena {
    nghttp2_mem mem; /* handed to nghttp2 (kept by the inflater); user data: this */
    struct cs_h2_conn *conn;
    struct h2_dir *dir; /* whose inflater this is */
    struct h2_chunk *cur;
    size_t held; /* bytes counted in conn */
    /* In conn->cache while idle (in_cache), newer and older neighbours. */
    struct h2_arena *newer, *older;
    bool in_cache;
    /* The table as rebuilt from the parked block (kept while live): its
     * entries and the newest one, which tell the next park what is new. */
    const nghttp2_nv *newest_old;
    size_t n_old;
};

static size_t round_up(size_t n)
{
    return (n + H2_ARENA_ALIGN - 1) & ~(size_t)(H2_ARENA_ALIGN - 1);
}

/* One first chunk kept per thread for the next arena: most directions
 * park after a header block and take a new inflater with the next one, so
 * this saves a malloc and a free of 8 KB per block.  It is a thread-local
 * variable (a pthread_getspecific and a pthread_setspecific per block
 * cost more than the rest of taking it); a key registered once per thread
 * frees it when the thread ends. */
static _Thread_local struct h2_chunk *spare;
static _Thread_local bool spare_keyed;
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_ok;

static void spare_drop(void *unused)
{
    (void)unused;
    free(spare);
    spare = NULL;
    spare_keyed = false;
}

static void spare_init(void)
{
    spare_ok = pthread_key_create(&spare_key, spare_drop) == 0;
}

static struct h2_chunk *spare_take(void)
{
    struct h2_chunk *k = spare;
    spare = NULL;
    return k;
}

/* Keeps k as the thread's spare first chunk, or frees it. */
static void spare_put(struct h2_chunk *k)
{
    if (k->cap == H2_ARENA_FIRST && !spare) {
        if (!spare_keyed) {
            pthread_once(&spare_once, spare_init);
            spare_keyed = spare_ok && pthread_setspecific(spare_key, &spare) == 0;
        }
        if (spare_keyed) {
            spare = k;
            return;
        }
    }
    free(k);
}

/* A new chunk for at least `need` bytes of data. */
static struct h2_chunk *chunk_new(struct cs_h2_conn *c, struct h2_chunk *prev, size_t need,
                                  size_t *held)
{
    size_t cap = prev ? prev->cap * 2 : H2_ARENA_FIRST;
    if (cap > H2_ARENA_MAX_CHUNK)
        cap = H2_ARENA_MAX_CHUNK;
    if (cap < need)
        cap = round_up(need);
    struct h2_chunk *k = cap == H2_ARENA_FIRST ? spare_take() : NULL;
    if (!k)
        k = malloc(sizeof *k + cap);
    if (!k)
        return NULL;
    k->next = prev;
    k->cap = cap;
    k->used = 0;
    POISON(k->data, cap);
    size_t got = (size_t)cs_reasm_alloc_cost(sizeof *k + cap);
    *held += got;
    cs_h2__account(c, (ptrdiff_t)got);
    return k;
}

static void *arena_alloc_in(struct h2_chunk *k, size_t size, size_t need)
{
    unsigned char *h = k->data + k->used;
    k->used += need;
    UNPOISON(h, H2_ARENA_ALIGN + size);
    memcpy(h, &size, sizeof size);
    return h + H2_ARENA_ALIGN;
}

/* arena_alloc's slow path, out of line and called last: the fast path
 * (every nghttp2 allocation, millions a run) then saves no registers. */
__attribute__((noinline)) static void *arena_alloc_grow(struct h2_arena *a, size_t size,
                                                        size_t need)
{
    struct h2_chunk *k = chunk_new(a->conn, a->cur, need, &a->held);
    if (!k)
        return NULL;
    a->cur = k;
    return arena_alloc_in(k, size, need);
}

static void *arena_alloc(struct h2_arena *a, size_t size)
{
    if (size > SIZE_MAX / 2)
        return NULL;
    size_t need = H2_ARENA_ALIGN + round_up(size);
    struct h2_chunk *k = a->cur;
    if (k->cap - k->used < need)
        return arena_alloc_grow(a, size, need);
    return arena_alloc_in(k, size, need);
}

static size_t alloc_size(const void *p)
{
    size_t n;
    memcpy(&n, (const unsigned char *)p - H2_ARENA_ALIGN, sizeof n);
    return n;
}

/* p is the last allocation of the current chunk. */
static bool is_last(const struct h2_arena *a, const void *p)
{
    const unsigned char *end = a->cur->data + a->cur->used;
    return (const unsigned char *)p + round_up(alloc_size(p)) == end;
}

static void *ar_malloc(size_t size, void *ud)
{
    return arena_alloc(ud, size);
}

static void ar_free(void *ptr, void *ud)
{
    struct h2_arena *a = ud;
    if (!ptr)
        return;
    size_t n = alloc_size(ptr);
    if (is_last(a, ptr)) {
        a->cur->used -= H2_ARENA_ALIGN + round_up(n);
        POISON((unsigned char *)ptr - H2_ARENA_ALIGN, H2_ARENA_ALIGN + round_up(n));
    } else {
        POISON(ptr, n); /* its header stays readable; never read again */
    }
}

static void *ar_calloc(size_t n, size_t size, void *ud)
{
    if (size && n > SIZE_MAX / 2 / size)
        return NULL;
    void *p = arena_alloc(ud, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

static void *ar_realloc(void *ptr, size_t size, void *ud)
{
    struct h2_arena *a = ud;
    if (!ptr)
        return arena_alloc(a, size);
    size_t old = alloc_size(ptr);
    if (is_last(a, ptr) && size <= SIZE_MAX / 2) {
        size_t start = (size_t)((unsigned char *)ptr - a->cur->data);
        if (a->cur->cap - start >= round_up(size)) { /* grows (or shrinks) in place */
            a->cur->used = start + round_up(size);
            POISON(ptr, round_up(old));
            UNPOISON(ptr, size);
            memcpy((unsigned char *)ptr - H2_ARENA_ALIGN, &size, sizeof size);
            return ptr;
        }
    }
    void *np = arena_alloc(a, size);
    if (np) {
        memcpy(np, ptr, old < size ? old : size);
        POISON(ptr, old);
    }
    return np;
}

/* An arena for d's next inflater, in its own first chunk. */
static struct h2_arena *arena_new(struct cs_h2_conn *c, struct h2_dir *d)
{
    size_t held = 0;
    struct h2_chunk *k = chunk_new(c, NULL, 0, &held);
    if (!k)
        return NULL;
    struct h2_arena *a = (struct h2_arena *)(void *)k->data;
    k->used = round_up(sizeof *a);
    UNPOISON(a, sizeof *a);
    *a = (struct h2_arena){.mem = {NULL, ar_malloc, ar_free, ar_calloc, ar_realloc},
                           .conn = c,
                           .dir = d,
                           .cur = k,
                           .held = held};
    a->mem.mem_user_data = a;
    return a;
}

static void arena_free(struct h2_arena *a)
{
    if (!a)
        return;
    struct cs_h2_conn *c = a->conn;
    cs_h2__account(c, -(ptrdiff_t)a->held);
    for (struct h2_chunk *k = a->cur; k;) { /* the first chunk (with *a) last */
        struct h2_chunk *next = k->next;
        if (next)
            free(k);
        else
            spare_put(k);
        k = next;
    }
}

/* ---- the live idle inflaters (struct cs_h2_cache) --------------------------- */

/* The cache is a list of the idle directions' arenas, newest first, kept
 * by cs_h2__hpack_idle after each event and taken from by
 * cs_h2__hpack_get when a block comes; drop_inflater (park, a lost
 * direction, the connection's end) takes an arena out before freeing it,
 * so the list never points at freed memory.  Which direction is parked
 * when depends only on the order of the pipeline's events, so the bytes
 * counted for --max-memory do too (never on timing).
 *
 * Measured (2026-12): the real-browser captures chromium-h2 and
 * firefox-h2 (pcaps/browser) rebuild 27 and 35 tables with a cache of 16
 * instead of 174 and 169;
 * the synthetic bench captures, whose clients send each burst's requests
 * in one segment every ~6 s, reuse a direction only after thousands of
 * others (a hit rate of 0.1 % with 64, 24 % with 4,096). */

static void cache_remove(struct cs_h2_cache *k, struct h2_arena *a)
{
    if (a->newer)
        a->newer->older = a->older;
    else
        k->newest = a->older;
    if (a->older)
        a->older->newer = a->newer;
    else
        k->oldest = a->newer;
    a->newer = a->older = NULL;
    a->in_cache = false;
    k->n--;
}

static void cache_push_newest(struct cs_h2_cache *k, struct h2_arena *a)
{
    a->older = k->newest;
    a->newer = NULL;
    if (k->newest)
        k->newest->newer = a;
    else
        k->oldest = a;
    k->newest = a;
    a->in_cache = true;
    k->n++;
}

void cs_h2__hpack_init(struct cs_h2_conn *c)
{
    for (int i = 0; i < 2; i++)
        c->d[i].settings_table_size = NGHTTP2_DEFAULT_HEADER_TABLE_SIZE;
}

/* Frees d's inflater with its arena.  Everything nghttp2 allocated for
 * it is in the arena (nghttp2_mem), so nghttp2_hd_inflate_del, which
 * would only walk the table to give back each entry and string one by
 * one, is not called: freeing the chunks frees it all. */
static void drop_inflater(struct h2_dir *d)
{
    if (d->arena && d->arena->in_cache)
        cache_remove(h2_dir_conn(d)->cache, d->arena);
    d->inf = NULL;
    arena_free(d->arena);
    d->arena = NULL;
}

/* ---- the parked form -------------------------------------------------------- */

/* RFC 7541 §5.1: v with an n-bit prefix whose other bits are `first`. */
static size_t put_int(unsigned char *out, uint8_t first, unsigned n, size_t v)
{
    size_t max = ((size_t)1 << n) - 1, k = 0;
    if (v < max) {
        out[k++] = (unsigned char)(first | v);
        return k;
    }
    out[k++] = (unsigned char)(first | max);
    for (v -= max; v >= 128; v >>= 7)
        out[k++] = (unsigned char)(0x80u | (v & 0x7fu));
    out[k++] = (unsigned char)v;
    return k;
}

/* Bytes of an integer with an n-bit prefix. */
static size_t int_len(unsigned n, size_t v)
{
    size_t max = ((size_t)1 << n) - 1, k = 1;
    if (v < max)
        return k;
    for (v -= max; v >= 128; v >>= 7)
        k++;
    return k + 1;
}

/* One entry of a parked block: a literal with incremental indexing, its
 * name as index idx (0: as octets), value as octets.  Bytes written. */
static size_t put_entry(unsigned char *b, const nghttp2_nv *nv, uint32_t idx)
{
    size_t k = 0;
    if (idx) { /* indexed name */
        k += put_int(b + k, 0x40, 6, idx);
    } else { /* new name */
        b[k++] = 0x40;
        k += put_int(b + k, 0, 7, nv->namelen);
        memcpy(b + k, nv->name, nv->namelen);
        k += nv->namelen;
    }
    k += put_int(b + k, 0, 7, nv->valuelen);
    memcpy(b + k, nv->value, nv->valuelen);
    return k + nv->valuelen;
}

static bool can_park(const struct h2_dir *d)
{
    return d->inf && !d->hpack_lost && d->blk == BLK_NONE && !d->fr.block_open &&
           !d->size_update_due;
}

/* ---- names a parked entry can refer to ------------------------------------ */

/* An entry whose name came indexed (from the static table or from another
 * entry) shares that name's string in nghttp2's table, so a pointer
 * compare finds a name the parked block can give as an index instead of
 * its octets (RFC 7541 §6.2.1, indexed name): a smaller block, and a
 * rebuild that shares the string again instead of copying it.  A name
 * with no such match is written out; the table is the same either way. */

#define H2_STATIC_ENTRIES 61u /* RFC 7541 Appendix A */

/* The strings nghttp2 gives an entry whose name is static entry `index`,
 * read once from an inflater fed one such entry per static name, in an
 * open-addressed table keyed by address (a lookup is a multiply and a
 * compare or two). */
#define H2_STATIC_SLOTS 128u /* a power of two, over twice the entries */

struct static_name {
    const uint8_t *p;
    uint32_t index;
};
static struct static_name static_names[H2_STATIC_SLOTS];
static pthread_once_t static_names_once = PTHREAD_ONCE_INIT;

static size_t static_slot(const uint8_t *p)
{
    return (size_t)(((uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15u) >> 57); /* 7 bits */
}

static void static_names_init(void)
{
    nghttp2_hd_inflater *inf;
    if (nghttp2_hd_inflate_new(&inf) != 0)
        return; /* no matches: names are written out */
    uint8_t block[H2_STATIC_ENTRIES * 2];
    size_t k = 0;
    for (uint32_t i = 1; i <= H2_STATIC_ENTRIES; i++) { /* indexed name (< 63), empty value */
        block[k++] = (uint8_t)(0x40u | i);
        block[k++] = 0;
    }
    const uint8_t *p = block;
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        size_t left = (size_t)(block + k - p);
        ssize_t r = nghttp2_hd_inflate_hd2(inf, &nv, &flags, p, left, 1);
        if (r < 0 || (flags & NGHTTP2_HD_INFLATE_FINAL) ||
            (!(flags & NGHTTP2_HD_INFLATE_EMIT) && (size_t)r == left))
            break;
        p += r;
    }
    if (nghttp2_hd_inflate_get_num_table_entries(inf) == 2 * H2_STATIC_ENTRIES) {
        for (uint32_t i = 0; i < H2_STATIC_ENTRIES; i++) { /* 62 is the newest: static 61 */
            const uint8_t *name = nghttp2_hd_inflate_get_table_entry(inf, 62 + i)->name;
            size_t h = static_slot(name);
            while (static_names[h].p && static_names[h].p != name)
                h = (h + 1) & (H2_STATIC_SLOTS - 1);
            static_names[h] = (struct static_name){name, H2_STATIC_ENTRIES - i};
        }
    }
    nghttp2_hd_inflate_del(inf);
}

/* The static index whose name is the string at p, or 0. */
static uint32_t static_index(const uint8_t *p)
{
    for (size_t h = static_slot(p); static_names[h].p; h = (h + 1) & (H2_STATIC_SLOTS - 1))
        if (static_names[h].p == p)
            return static_names[h].index;
    return 0;
}

/* Older entries searched for a shared name: bounds the work on a large
 * table (the default 4 KB one holds at most 128). */
#define H2_NAME_LOOKBACK 128u

/* The index that entry i (0 the newest) of n can give for its name when
 * the table is rebuilt oldest first, or 0: a static entry, else the
 * newest older entry with the same string (written before i, at index
 * 62 + its distance from i, less one). */
static uint32_t name_index(const nghttp2_nv *const *ents, size_t n, size_t i)
{
    uint32_t st = static_index(ents[i]->name);
    if (st)
        return st;
    size_t end = n - i - 1 > H2_NAME_LOOKBACK ? i + 1 + H2_NAME_LOOKBACK : n;
    for (size_t q = i + 1; q < end; q++)
        if (ents[q]->name == ents[i]->name)
            return (uint32_t)(H2_STATIC_ENTRIES + 1 + (q - i - 1));
    return 0;
}

/* ---- parking ------------------------------------------------------------------ */

/* Entries parked with arrays on the stack; a larger table takes a malloc. */
#define H2_PARK_LOCAL 128u

/* Replaces d's parked block (if any) with b[0..len) and drops the inflater. */
static void set_parked(struct cs_h2_conn *c, struct h2_dir *d, unsigned char *b, size_t len)
{
    drop_inflater(d);
    if (d->parked) {
        cs_h2__account(c, -(ptrdiff_t)cs_reasm_alloc_cost(d->parked_len));
        free(d->parked);
    }
    d->parked = b;
    d->parked_len = (uint32_t)len;
    cs_h2__account(c, (ptrdiff_t)cs_reasm_alloc_cost(len)); /* its own figure when freed too */
}

/* RFC 7541 §5.1: reads an integer with an n-bit prefix at *p (< end);
 * false when it does not fit or runs past end. */
static bool get_int(const unsigned char **p, const unsigned char *end, unsigned n, size_t *v)
{
    size_t max = ((size_t)1 << n) - 1;
    size_t x = **p & max;
    (*p)++;
    if (x == max) {
        for (unsigned shift = 0;; shift += 7) {
            if (*p == end || shift > 28)
                return false;
            unsigned char byte = *(*p)++;
            x += (size_t)(byte & 0x7fu) << shift;
            if (!(byte & 0x80u))
                break;
        }
    }
    *v = x;
    return true;
}

/* Parks d without reading the whole table again: the table is the one
 * rebuilt from d->parked less its oldest entries (evicted since) plus the
 * entries the block added, so the new block is the old one's bytes for
 * the entries still there and the new entries after them.  false (nothing
 * done) when that does not apply: no parked block, no old entry left, or
 * one left that gives its name as an index to an evicted entry; park()
 * then writes the table out whole.  Both ways give the same table. */
static bool park_incremental(struct cs_h2_conn *c, struct h2_dir *d, size_t n, size_t max)
{
    const struct h2_arena *a = d->arena;
    if (!d->parked || !a->newest_old || a->n_old == 0 || n > H2_PARK_LOCAL)
        return false;
    const nghttp2_nv *ents[H2_PARK_LOCAL]; /* newest first: the k added, then the old ones */
    size_t k = 0;
    for (;; k++) {
        if (k == n)
            return false; /* no old entry left */
        const nghttp2_nv *e = nghttp2_hd_inflate_get_table_entry(d->inf, H2_STATIC_ENTRIES + 1 + k);
        if (!e)
            return false;
        if (e == a->newest_old)
            break;
        ents[k] = e;
    }
    size_t kept = n - k; /* old entries still in the table: the newest kept of n_old */
    if (kept > a->n_old)
        return false;
    size_t drop = a->n_old - kept;
    /* Finds where the first kept entry starts in the parked block (written
     * oldest first, by park()), checking that no kept entry names an
     * evicted one. */
    const unsigned char *p = d->parked, *end = p + d->parked_len, *keep_from = NULL;
    size_t v;
    if (p == end || (*p & 0xe0u) != 0x20u || !get_int(&p, end, 5, &v))
        return false;
    if (drop == 0) {
        /* Nothing evicted: every old entry is kept as written, the new
         * ones go after them (the common case: a 4 KB table rarely
         * fills up; no need to walk the old entries). */
        if (k == 0 && v == max) { /* the block added nothing: the parked one is right */
            drop_inflater(d);
            return true;
        }
        keep_from = p;
        p = end;
    }
    for (size_t pos = 0; pos < a->n_old && drop > 0; pos++) {
        if (pos == drop)
            keep_from = p;
        if (p == end || (*p & 0xc0u) != 0x40u || !get_int(&p, end, 6, &v))
            return false;
        if (v == 0) { /* new name: plain octets */
            if (p == end || (*p & 0x80u) || !get_int(&p, end, 7, &v) || v > (size_t)(end - p))
                return false;
            p += v;
        } else if (pos >= drop && v > H2_STATIC_ENTRIES && v - (H2_STATIC_ENTRIES + 1) >= pos - drop) {
            return false; /* its name is an entry evicted since */
        }
        if (p == end || (*p & 0x80u) || !get_int(&p, end, 7, &v) || v > (size_t)(end - p))
            return false;
        p += v;
    }
    if (p != end || !keep_from)
        return false;
    /* A new entry's name can be an older entry's (as park() finds it):
     * the old entries are read only when a new one has no static name. */
    size_t known = k;
    for (size_t i = 0; i < k && known == k; i++)
        if (!static_index(ents[i]->name))
            for (; known < n; known++)
                if (!(ents[known] = nghttp2_hd_inflate_get_table_entry(d->inf, H2_STATIC_ENTRIES +
                                                                                   1 + known)))
                    return false;
    uint32_t idx[H2_PARK_LOCAL];
    size_t len = int_len(5, max) + (size_t)(end - keep_from);
    for (size_t i = 0; i < k; i++) {
        const nghttp2_nv *nv = ents[i];
        idx[i] = name_index(ents, known, i);
        len += idx[i] ? int_len(6, idx[i]) : 1 + int_len(7, nv->namelen) + nv->namelen;
        len += int_len(7, nv->valuelen) + nv->valuelen;
    }
    unsigned char *b = malloc(len); /* (a realloc mostly moves the block: dearer) */
    if (!b)
        return false;
    size_t o = put_int(b, 0x20, 5, max);
    memcpy(b + o, keep_from, (size_t)(end - keep_from));
    o += (size_t)(end - keep_from);
    for (size_t i = k; i-- > 0;)
        o += put_entry(b + o, ents[i], idx[i]);
    set_parked(c, d, b, o);
    return true;
}

/* Frees d's (idle) inflater, keeping its table as the block that
 * rebuilds it; as it is when memory for that block is short. */
static void park(struct cs_h2_conn *c, struct h2_dir *d)
{
    pthread_once(&static_names_once, static_names_init);
    nghttp2_hd_inflater *inf = d->inf;
    size_t n = nghttp2_hd_inflate_get_num_table_entries(inf) - H2_STATIC_ENTRIES;
    size_t max = nghttp2_hd_inflate_get_max_dynamic_table_size(inf);
    if (park_incremental(c, d, n, max))
        return;
    const nghttp2_nv *local_ents[H2_PARK_LOCAL];
    uint32_t local_idx[H2_PARK_LOCAL];
    const nghttp2_nv **ents = local_ents;
    uint32_t *idx = local_idx;
    if (n > H2_PARK_LOCAL) {
        ents = malloc(n * sizeof *ents);
        idx = malloc(n * sizeof *idx);
        if (!ents || !idx)
            goto out; /* stays as it is */
    }
    for (size_t i = 0; i < n; i++) {
        ents[i] = nghttp2_hd_inflate_get_table_entry(inf, H2_STATIC_ENTRIES + 1 + i);
        if (!ents[i])
            goto out;
    }
    size_t len = int_len(5, max);
    for (size_t i = 0; i < n; i++) {
        const nghttp2_nv *nv = ents[i];
        idx[i] = name_index(ents, n, i);
        len += idx[i] ? int_len(6, idx[i]) : 1 + int_len(7, nv->namelen) + nv->namelen;
        len += int_len(7, nv->valuelen) + nv->valuelen;
    }
    unsigned char *b = malloc(len);
    if (!b)
        goto out;
    size_t k = put_int(b, 0x20, 5, max); /* dynamic table size update */
    for (size_t i = n; i-- > 0;)         /* the oldest first */
        k += put_entry(b + k, ents[i], idx[i]);
    set_parked(c, d, b, k);
out:
    if (ents != local_ents)
        free(ents);
    if (idx != local_idx)
        free(idx);
}

/* The first chunk holds a live inflater between blocks; one that needed
 * more (garbage of entries evicted since its rebuild, which the arena
 * never reuses, or a large table) is parked: the rebuild compacts it. */
static bool arena_small(const struct h2_arena *a)
{
    return a->cur->next == NULL;
}

void cs_h2__hpack_idle(struct cs_h2_conn *c, struct h2_dir *d)
{
    if (d->hpack_lost) {
        cs_h2__hpack_free(c, d); /* never used again */
        return;
    }
    struct h2_arena *a = d->arena;
    struct cs_h2_cache *k = c->cache;
    if (!can_park(d)) {
        if (a && a->in_cache)
            cache_remove(k, a); /* in a block: neither idle nor to be parked */
        return;
    }
    if (!k || !arena_small(a)) {
        park(c, d);
        return;
    }
    if (a->in_cache) {
        if (k->newest == a)
            return;
        cache_remove(k, a);
    }
    cache_push_newest(k, a);
    uint32_t max = k->max ? k->max : CS_H2_HPACK_CACHE;
    while (k->n > max) {
        struct h2_arena *old = k->oldest;
        cache_remove(k, old); /* (live outside it if park finds no memory) */
        park(old->conn, old->dir);
    }
}

int cs_h2__hpack_get(struct cs_h2_conn *c, struct h2_dir *d)
{
    if (d->inf) {
        if (d->arena->in_cache) { /* a block after an idle time: in use now */
            cache_remove(c->cache, d->arena);
            c->cache->hits++;
        }
        return 0;
    }
    if (d->hpack_lost)
        return -1;
    if (c->cache && d->parked)
        c->cache->rebuilds++;
    d->arena = arena_new(c, d);
    if (!d->arena)
        return -1;
    if (nghttp2_hd_inflate_new2(&d->inf, &d->arena->mem) != 0) {
        d->inf = NULL;
        drop_inflater(d);
        return -1;
    }
    int rv = 0;
    if (d->settings_table_size != NGHTTP2_DEFAULT_HEADER_TABLE_SIZE)
        rv = nghttp2_hd_inflate_change_table_size(d->inf, d->settings_table_size);
    if (d->parked) {
        const uint8_t *p = d->parked;
        size_t n = d->parked_len;
        for (;;) {
            nghttp2_nv nv;
            int flags = 0;
            ssize_t r = rv ? -1 : nghttp2_hd_inflate_hd2(d->inf, &nv, &flags, p, n, 1);
            if (r < 0) {
                rv = -1;
                break;
            }
            p += r;
            n -= (size_t)r;
            if (flags & NGHTTP2_HD_INFLATE_FINAL) {
                nghttp2_hd_inflate_end_headers(d->inf);
                break;
            }
            if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && n == 0) {
                rv = -1;
                break;
            }
        }
        /* the parked block stays until the next park, which reuses it */
    }
    if (rv != 0) {
        cs_h2__hpack_free(c, d);
        return -1;
    }
    d->arena->n_old = nghttp2_hd_inflate_get_num_table_entries(d->inf) - H2_STATIC_ENTRIES;
    if (d->arena->n_old)
        d->arena->newest_old = nghttp2_hd_inflate_get_table_entry(d->inf, H2_STATIC_ENTRIES + 1);
    return 0;
}

int cs_h2__hpack_table_size(struct cs_h2_conn *c, struct h2_dir *d, uint32_t size)
{
    if (cs_h2__hpack_get(c, d) != 0)
        return -1;
    if (nghttp2_hd_inflate_get_max_dynamic_table_size(d->inf) > size)
        d->size_update_due = true; /* RFC 7541 §4.2: the next block starts with it */
    if (nghttp2_hd_inflate_change_table_size(d->inf, size) != 0)
        return -1;
    d->settings_table_size = size;
    return 0;
}

void cs_h2__hpack_free(struct cs_h2_conn *c, struct h2_dir *d)
{
    drop_inflater(d);
    if (d->parked) {
        cs_h2__account(c, -(ptrdiff_t)cs_reasm_alloc_cost(d->parked_len));
        free(d->parked);
    }
    d->parked = NULL;
    d->parked_len = 0;
}
