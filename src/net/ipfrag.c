/* IP fragment reassembly: see ipfrag.h.
 *
 * Each datagram being rebuilt keeps its fragments as a list of
 * non-overlapping pieces sorted by offset (first-arrived bytes win), the sum
 * of their lengths, and the end announced by its last fragment.  It is
 * complete when the pieces cover [0, end).  Datagrams are found through a
 * hash of the full key and kept in a queue in order of creation, which is the
 * order in which they time out. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "ipfrag.h"

struct frag_piece {
    struct frag_piece *next;
    uint32_t off, len;
    uint8_t data[];
};

struct frag_dgram {
    struct cs_ipfrag_key key;
    cs_time_ns first_ts;
    GList *age_link;           /* its node in cs_ipfrag.age */
    struct frag_piece *pieces; /* sorted by off, disjoint */
    uint32_t covered;          /* bytes held */
    uint32_t max_end;          /* highest byte end held */
    uint32_t end;              /* from the last fragment, when has_end */
    int has_end;
    uint32_t nfrags;    /* fragments that contributed (for drop counts) */
    uint64_t accounted; /* bytes charged to the cap */
};

struct cs_ipfrag {
    uint64_t max_bytes;
    cs_time_ns timeout_ns;
    GHashTable *table; /* key -> frag_dgram (value owns the datagram) */
    GQueue age;        /* oldest first */
    uint8_t *out;      /* CS_IPFRAG_MAX_DATAGRAM bytes: the rebuilt payload */
    struct cs_ipfrag_stats st;
};

static guint key_hash(gconstpointer p)
{
    const struct cs_ipfrag_key *k = p;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ k->src.family;
    for (int i = 0; i < 16; i += 8) {
        uint64_t a, b;
        memcpy(&a, k->src.bytes + i, 8);
        memcpy(&b, k->dst.bytes + i, 8);
        h = cs_mix64(h ^ a);
        h = cs_mix64(h ^ b);
    }
    h = cs_mix64(h ^ ((uint64_t)k->id << 8) ^ k->proto);
    return (guint)(h ^ (h >> 32));
}

static gboolean key_equal(gconstpointer pa, gconstpointer pb)
{
    const struct cs_ipfrag_key *a = pa, *b = pb;
    return a->id == b->id && a->proto == b->proto &&
           cs_addr_equal(&a->src, &b->src) && cs_addr_equal(&a->dst, &b->dst);
}

static void dgram_free(struct frag_dgram *g)
{
    struct frag_piece *p = g->pieces;
    while (p) {
        struct frag_piece *next = p->next;
        free(p);
        p = next;
    }
    free(g);
}

struct cs_ipfrag *cs_ipfrag_new(uint32_t max_bytes, uint32_t timeout_s)
{
    struct cs_ipfrag *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->out = malloc(CS_IPFRAG_MAX_DATAGRAM);
    if (!f->out) {
        free(f);
        return NULL;
    }
    f->max_bytes = max_bytes;
    f->timeout_ns = (cs_time_ns)timeout_s * 1000000000LL;
    f->table = g_hash_table_new(key_hash, key_equal);
    g_queue_init(&f->age);
    return f;
}

void cs_ipfrag_free(struct cs_ipfrag *f)
{
    if (!f)
        return;
    struct frag_dgram *g;
    while ((g = g_queue_pop_head(&f->age)) != NULL)
        dgram_free(g);
    g_hash_table_destroy(f->table);
    free(f->out);
    free(f);
}

const struct cs_ipfrag_stats *cs_ipfrag_stats(const struct cs_ipfrag *f)
{
    return &f->st;
}

/* Forgets datagram g (complete or not) and releases its bytes from the cap. */
static void dgram_remove(struct cs_ipfrag *f, struct frag_dgram *g)
{
    g_hash_table_remove(f->table, &g->key);
    g_queue_delete_link(&f->age, g->age_link);
    f->st.held_bytes -= g->accounted;
    f->st.held_datagrams--;
    dgram_free(g);
}

/* Throws away an incomplete datagram, counting its fragments as dropped. */
static void dgram_drop(struct cs_ipfrag *f, struct frag_dgram *g)
{
    f->st.dropped_fragments += g->nfrags;
    dgram_remove(f, g);
}

void cs_ipfrag_expire(struct cs_ipfrag *f, cs_time_ns now)
{
    struct frag_dgram *g;
    while ((g = g_queue_peek_head(&f->age)) != NULL && now - g->first_ts > f->timeout_ns) {
        f->st.timeouts++;
        dgram_drop(f, g);
    }
}

/* Evicts the oldest datagrams other than `keep` until `need` more bytes fit
 * under the cap.  Returns 0 when they fit, -1 when they cannot. */
static int make_room(struct cs_ipfrag *f, const struct frag_dgram *keep, uint64_t need)
{
    while (f->st.held_bytes + need > f->max_bytes) {
        GList *l = f->age.head;
        if (l && l->data == keep)
            l = l->next;
        if (!l)
            return -1;
        f->st.cap_evictions++;
        dgram_drop(f, l->data);
    }
    return 0;
}

/* Adds the bytes [off, off+len) of data to g, keeping bytes already held where
 * they overlap.  Sets *overlap / *conflict.  Returns 0, or -1 when out of
 * memory (g may then hold part of the fragment, which is harmless). */
static int dgram_insert(struct cs_ipfrag *f, struct frag_dgram *g, uint32_t off,
                        const uint8_t *data, uint32_t len, int *overlap, int *conflict)
{
    uint32_t cur = off, end = off + len;
    struct frag_piece **link = &g->pieces;
    while (cur < end) {
        struct frag_piece *p = *link;
        if (p && p->off + p->len <= cur) { /* entirely before: skip */
            link = &p->next;
            continue;
        }
        uint32_t gap_end = p ? (p->off < end ? p->off : end) : end;
        if (cur < gap_end) { /* new bytes before p */
            uint32_t n = gap_end - cur;
            struct frag_piece *np = malloc(sizeof *np + n);
            if (!np)
                return -1;
            np->off = cur;
            np->len = n;
            memcpy(np->data, data + (cur - off), n);
            np->next = p;
            *link = np;
            link = &np->next;
            g->covered += n;
            g->accounted += sizeof *np + n;
            f->st.held_bytes += sizeof *np + n;
            cur = gap_end;
            continue;
        }
        /* p overlaps [cur, end): keep p's bytes, compare them. */
        uint32_t ov_end = p->off + p->len < end ? p->off + p->len : end;
        *overlap = 1;
        if (memcmp(p->data + (cur - p->off), data + (cur - off), ov_end - cur) != 0)
            *conflict = 1;
        cur = ov_end;
        link = &p->next;
    }
    if (end > g->max_end)
        g->max_end = end;
    return 0;
}

/* Copies the pieces of a complete datagram into f->out. */
static uint32_t dgram_rebuild(struct cs_ipfrag *f, const struct frag_dgram *g)
{
    for (const struct frag_piece *p = g->pieces; p; p = p->next)
        memcpy(f->out + p->off, p->data, p->len);
    return g->end;
}

enum cs_ipfrag_result cs_ipfrag_add(struct cs_ipfrag *f, const struct cs_ipfrag_key *key,
                                    cs_time_ns now, uint32_t offset, int more,
                                    const uint8_t *data, uint32_t len,
                                    const uint8_t **out, uint32_t *out_len)
{
    cs_ipfrag_expire(f, now);

    /* RFC 8200 4.5: every fragment but the last carries a multiple of 8
     * bytes; RFC 791 likewise.  Nothing may end past the largest datagram. */
    if ((uint64_t)offset + len > CS_IPFRAG_MAX_DATAGRAM || (more && (len == 0 || len % 8))) {
        f->st.malformed++;
        f->st.dropped_fragments++;
        return CS_IPFRAG_DROPPED;
    }
    struct frag_dgram *g = g_hash_table_lookup(f->table, key);
    uint64_t need = sizeof(struct frag_piece) + len + (g ? 0 : sizeof *g);
    if (need > f->max_bytes || make_room(f, g, need) < 0) {
        f->st.cap_refused++;
        f->st.dropped_fragments++;
        return CS_IPFRAG_DROPPED;
    }
    if (!g) {
        g = calloc(1, sizeof *g);
        if (!g) {
            f->st.dropped_fragments++;
            return CS_IPFRAG_DROPPED;
        }
        g->key = *key;
        g->first_ts = now;
        g->accounted = sizeof *g;
        f->st.held_bytes += sizeof *g;
        f->st.held_datagrams++;
        g_queue_push_tail(&f->age, g);
        g->age_link = f->age.tail;
        g_hash_table_insert(f->table, &g->key, g);
    }
    g->nfrags++;

    /* The end of the datagram: one last fragment, nothing held beyond it. */
    uint32_t end = offset + len;
    if ((g->has_end && (end > g->end || (!more && end != g->end))) ||
        (!more && g->max_end > end)) {
        f->st.malformed++;
        dgram_drop(f, g);
        return CS_IPFRAG_DROPPED;
    }
    if (!more) {
        g->has_end = 1;
        g->end = end;
    }

    int overlap = 0, conflict = 0;
    if (dgram_insert(f, g, offset, data, len, &overlap, &conflict) < 0) {
        dgram_drop(f, g);
        return CS_IPFRAG_DROPPED;
    }
    f->st.overlaps += (uint64_t)overlap;
    f->st.conflicts += (uint64_t)conflict;

    if (g->has_end && g->covered == g->end) {
        *out_len = dgram_rebuild(f, g);
        *out = f->out;
        f->st.completed++;
        dgram_remove(f, g);
        return CS_IPFRAG_COMPLETE;
    }
    /* Overlaps may have cost more than `need`: enforce the cap again. */
    if (make_room(f, g, 0) < 0) {
        f->st.cap_evictions++;
        dgram_drop(f, g);
        return CS_IPFRAG_DROPPED;
    }
    return CS_IPFRAG_HELD;
}
