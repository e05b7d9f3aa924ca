/* The flow table (see flow.h): TCP segments -> connections with roles, each
 * with its two reassemblers, under a flow cap and an idle timeout.
 *
 * Layout: open chaining through cs_flow.hash_next in a power-of-two bucket
 * array that doubles when flows outnumber buckets; a doubly linked LRU list
 * (head = least recently active) so that idle expiry and eviction take the
 * head in O(1).  Half-open flows (only the client's SYNs so far) are on a
 * second list instead, by first SYN, through the same two pointers (the flow
 * stays four cache lines): --syn-timeout takes its head, eviction the older
 * of the two heads.  The key is the full 5-tuple with its two endpoints in a
 * canonical order, hashed with a seeded 64-bit mixer (murmur3's fmix64), so
 * both directions land in the same bucket and a crafted tuple set cannot
 * predict collisions.  Nothing visible depends on bucket order: ids follow
 * creation, expiry follows the LRU, and finish ends flows by id.
 *
 * Roles are fixed when the flow is created.  If a flow picked up mid-stream
 * later shows a SYN or SYN-ACK that contradicts them, the first roles are
 * kept (the reassemblers and the application layer already run on them) and
 * handshake_seen stays false. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hash.h"
#include "flow.h"

struct cs_flow_table {
    struct cs_limits limits;
    struct cs_flow_callbacks cb;
    void *ctx;
    struct cs_flow **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
    struct cs_flow *lru_head, *lru_tail;
    struct cs_flow *syn_head, *syn_tail; /* half-open flows, oldest first SYN first */
    struct cs_flow *free_list;           /* chained through hash_next */
    /* flow structs come from slabs of CS_FLOW_SLAB (on cache-line
     * boundaries, without aligned_alloc's leftovers around each); a flow
     * that ends goes to free_list, and the slabs back to the allocator
     * with the table */
    void **slabs;
    size_t n_slabs, cap_slabs;
    uint32_t slab_left; /* flows not yet handed out in the newest slab */
    struct cs_reasm_shared shared;
    struct cs_flow_stats stats;
    uint64_t next_id;
    bool ids_by_frame; /* --workers: a flow's id is the frame that created it */
    uint8_t phase;     /* enum cs_flow_phase: what ends flows right now */
    uint64_t seed;
    cs_time_ns now;
    /* segments held back (see CS_FLOW_DEFER_MAX_SEGS): one queue per flow
     * that has any, in slots; free slots chained through next_free */
    struct deferred_q *dq;
    uint32_t dq_cap, dq_free; /* dq_free: first free slot + 1, 0 none */
    uint32_t dq_used;         /* flows with held-back segments */
    cs_time_ns dq_deadline;   /* no held-back segment is too old before this */
    uint64_t deferred_bytes;  /* payload bytes of all held-back segments */
    /* No flow times out (idle, --syn-timeout) while now <= expire_at: the
     * earliest deadline of the lists' heads when last looked at, lowered
     * by each new flow's.  A flow's deadline only grows and a head only
     * gives way to a later one, so it stays a lower bound, and the clock
     * reads the heads (cold cache lines, most of them) only when one may
     * be due. */
    cs_time_ns expire_at;
};

#define CS_TIME_NEVER INT64_MAX

/* A segment held back with a copy of its payload (s.payload points into
 * data[]; s.l3 is NULL: on_packet saw the segment when it arrived). */
struct deferred_seg {
    struct deferred_seg *next;
    int dir;
    struct cs_segment s;
    uint8_t data[];
};

struct deferred_q {
    struct cs_flow *f; /* NULL: a free slot */
    struct deferred_seg *head, *tail;
    uint32_t n;
    uint32_t next_free;
    uint64_t bytes;
};

/* The sink handed to a reassembler: which flow and direction it feeds. */
struct dir_sink {
    struct cs_flow_table *t;
    struct cs_flow *f;
    int dir;
};

static void stream_sink(void *ctx, const struct cs_stream_event *ev)
{
    struct dir_sink *ds = ctx;
    if (ds->t->cb.on_stream)
        ds->t->cb.on_stream(ds->t->ctx, ds->f, ds->dir, ev);
}

/* Hash of the 5-tuple (protocol is always TCP) with the endpoints in
 * canonical order, so that both directions hash alike.  Any fixed total
 * order does, so the endpoints are compared as three integers (address
 * words, then family and port) rather than with memcmp's byte order: this
 * runs for every packet. */
static uint64_t tuple_hash(uint64_t seed, const struct cs_addr *a, uint16_t ap,
                           const struct cs_addr *b, uint16_t bp)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a->bytes, 8);
    memcpy(&a1, a->bytes + 8, 8);
    memcpy(&b0, b->bytes, 8);
    memcpy(&b1, b->bytes + 8, 8);
    uint64_t ak = (uint64_t)a->family << 16 | ap, bk = (uint64_t)b->family << 16 | bp;
    bool swap = a0 != b0 ? a0 > b0 : a1 != b1 ? a1 > b1
                                              : ak > bk;
    uint64_t w[5] = {
        swap ? b0 : a0,
        swap ? b1 : a1,
        swap ? a0 : b0,
        swap ? a1 : b1,
        swap ? bk << 32 | ak : ak << 32 | bk,
    };
    /* one multiply-xorshift per word, the full fmix64 avalanche once at
     * the end: this runs for every packet */
    uint64_t h = seed;
    for (int i = 0; i < 5; i++) {
        h = (h ^ w[i]) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 32;
    }
    return cs_mix64(h);
}

/* Random seed for the hash; falls back on the clock if the kernel has no
 * entropy to spare yet (the seed protects bucket spread, not secrets). */
static uint64_t make_seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&s;
    }
    return cs_mix64(s);
}

struct cs_flow_table *cs_flow_table_new(const struct cs_limits *limits,
                                        const struct cs_flow_callbacks *cb, void *ctx)
{
    struct cs_flow_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (limits)
        t->limits = *limits;
    else
        cs_limits_default(&t->limits);
    if (cb)
        t->cb = *cb;
    t->ctx = ctx;
    t->expire_at = CS_TIME_NEVER;
    t->nbuckets = CS_FLOW_MIN_BUCKETS;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->shared.max_held_per_dir = t->limits.max_held_per_flow;
    t->shared.max_held_total = t->limits.max_held_total;
    t->shared.max_held_pieces_per_dir = t->limits.max_held_pieces_per_flow;
    t->shared.max_held_pieces_total = t->limits.max_held_pieces;
    t->next_id = 1;
    t->phase = CS_FLOW_PHASE_SEGMENT;
    t->seed = make_seed();
    return t;
}

/* --- LRU list ---------------------------------------------------------- */

static void list_unlink(struct cs_flow **head, struct cs_flow **tail, struct cs_flow *f)
{
    if (f->lru_prev)
        f->lru_prev->lru_next = f->lru_next;
    else
        *head = f->lru_next;
    if (f->lru_next)
        f->lru_next->lru_prev = f->lru_prev;
    else
        *tail = f->lru_prev;
    f->lru_prev = f->lru_next = NULL;
}

static void list_append(struct cs_flow **head, struct cs_flow **tail, struct cs_flow *f)
{
    f->lru_next = NULL;
    f->lru_prev = *tail;
    if (*tail)
        (*tail)->lru_next = f;
    else
        *head = f;
    *tail = f;
}

/* Off whichever list f is on. */
static void lru_unlink(struct cs_flow_table *t, struct cs_flow *f)
{
    if (f->half_open)
        list_unlink(&t->syn_head, &t->syn_tail, f);
    else
        list_unlink(&t->lru_head, &t->lru_tail, f);
}

/* To the tail of its list: half-open flows join theirs once, at creation. */
static void lru_append(struct cs_flow_table *t, struct cs_flow *f)
{
    if (f->half_open)
        list_append(&t->syn_head, &t->syn_tail, f);
    else
        list_append(&t->lru_head, &t->lru_tail, f);
}

/* The least recently active flow: the older of the two lists' heads. */
static struct cs_flow *oldest(const struct cs_flow_table *t)
{
    if (!t->syn_head)
        return t->lru_head;
    if (!t->lru_head)
        return t->syn_head;
    return t->syn_head->key.last_ts <= t->lru_head->key.last_ts ? t->syn_head : t->lru_head;
}

/* --- hash table -------------------------------------------------------- */

/* Doubles the bucket array; on allocation failure keeps the old one (chains
 * get longer, nothing is lost). */
static void grow(struct cs_flow_table *t)
{
    size_t n = t->nbuckets * 2;
    struct cs_flow **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct cs_flow *f = t->buckets[i];
        while (f) {
            struct cs_flow *next = f->hash_next;
            size_t j = (size_t)f->hash & (n - 1);
            f->hash_next = b[j];
            b[j] = f;
            f = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

static void hash_unlink(struct cs_flow_table *t, struct cs_flow *f)
{
    struct cs_flow **pp = &t->buckets[(size_t)f->hash & (t->nbuckets - 1)];
    while (*pp && *pp != f)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = f->hash_next;
    f->hash_next = NULL;
}

static struct cs_flow *find(const struct cs_flow_table *t, uint64_t h,
                            const struct cs_addr *src, uint16_t sport,
                            const struct cs_addr *dst, uint16_t dport, int *dir)
{
    for (struct cs_flow *f = t->buckets[(size_t)h & (t->nbuckets - 1)]; f; f = f->hash_next) {
        if (f->hash != h)
            continue;
        if (f->key.client_port == sport && f->key.server_port == dport &&
            cs_addr_equal(&f->key.client, src) && cs_addr_equal(&f->key.server, dst)) {
            if (dir)
                *dir = CS_DIR_C2S;
            return f;
        }
        if (f->key.client_port == dport && f->key.server_port == sport &&
            cs_addr_equal(&f->key.client, dst) && cs_addr_equal(&f->key.server, src)) {
            if (dir)
                *dir = CS_DIR_S2C;
            return f;
        }
    }
    return NULL;
}

struct cs_flow *cs_flow_table_lookup(struct cs_flow_table *t,
                                     const struct cs_addr *src, uint16_t sport,
                                     const struct cs_addr *dst, uint16_t dport, int *dir)
{
    return find(t, tuple_hash(t->seed, src, sport, dst, dport), src, sport, dst, dport, dir);
}

/* --- segments that acknowledge what was not seen yet --------------------- */

/* The segment acknowledges bytes of the other direction that the capture
 * has not shown yet (beyond what the peer delivered), although the peer sent
 * them before this segment was sent. */
static bool acks_unseen(const struct cs_flow *f, int dir, const struct cs_segment *s)
{
    if ((s->flags & (CS_TCP_ACK | CS_TCP_RST)) != CS_TCP_ACK)
        return false;
    const struct cs_reasm *p = &f->dir[1 - dir];
    if (!p->started || p->rst || p->fin_delivered)
        return false;
    uint32_t ahead = s->ack - p->next_seq;
    return ahead != 0 && ahead <= CS_REASM_MAX_AHEAD;
}

/* One segment into the reassemblers: the peer's bytes it acknowledges come
 * first (a request is delivered before the response that acknowledges it). */
static void process(struct cs_flow_table *t, struct cs_flow *f, int dir, const struct cs_segment *s)
{
    int other = 1 - dir;
    struct dir_sink me = {t, f, dir}, peer = {t, f, other};
    if (s->flags & CS_TCP_ACK)
        cs_reasm_ack(&f->dir[other], &t->shared, s->ack, s->frame, s->ts, stream_sink, &peer);
    if (s->flags & CS_TCP_RST)
        cs_reasm_flush(&f->dir[other], &t->shared, s->frame, s->ts, stream_sink, &peer);
    cs_reasm_segment(&f->dir[dir], &t->shared, s, stream_sink, &me);
}

static uint64_t deferred_cost(const struct deferred_seg *d)
{
    return cs_reasm_alloc_cost(sizeof *d + (uint64_t)d->s.payload_len);
}

/* Takes the held-back segment at *link off f's queue (freeing the slot
 * when it was the last); the caller processes and frees it. */
static struct deferred_seg *deferred_pop(struct cs_flow_table *t, struct cs_flow *f,
                                         struct deferred_seg **link)
{
    struct deferred_q *q = &t->dq[f->deferred - 1];
    struct deferred_seg *d = *link;
    *link = d->next;
    if (q->tail == d) { /* a short list: find the one before */
        q->tail = q->head;
        while (q->tail && q->tail->next)
            q->tail = q->tail->next;
    }
    q->n--;
    q->bytes -= d->s.payload_len;
    t->deferred_bytes -= d->s.payload_len;
    t->shared.held_memory -= deferred_cost(d);
    if (!q->head) {
        q->f = NULL;
        t->dq_used--;
        q->next_free = t->dq_free;
        t->dq_free = f->deferred;
        f->deferred = 0;
    }
    return d;
}

static void run_deferred(struct cs_flow_table *t, struct cs_flow *f, struct deferred_seg *d)
{
    process(t, f, d->dir, &d->s);
    free(d);
}

/* Processes, in arrival order, every held-back segment whose acknowledged
 * bytes have now been seen; each one processed may free others. */
static void release_deferred(struct cs_flow_table *t, struct cs_flow *f)
{
    bool again = true;
    while (again && f->deferred) {
        again = false;
        struct deferred_seg **link = &t->dq[f->deferred - 1].head;
        while (*link) {
            if (acks_unseen(f, (*link)->dir, &(*link)->s)) {
                link = &(*link)->next;
                continue;
            }
            run_deferred(t, f, deferred_pop(t, f, link));
            again = true;
            break;
        }
    }
}

/* Processes every held-back segment as it is (the end of the flow, a RST):
 * the oldest first, each then freeing those it unblocks. */
static void drain_deferred(struct cs_flow_table *t, struct cs_flow *f)
{
    while (f->deferred) {
        run_deferred(t, f, deferred_pop(t, f, &t->dq[f->deferred - 1].head));
        release_deferred(t, f);
    }
}

/* Holds s back on f's queue.  False when no memory: the caller processes
 * it at once (its ACK then declares the gap, as without deferring). */
static bool defer_segment(struct cs_flow_table *t, struct cs_flow *f, int dir, const struct cs_segment *s)
{
    uint32_t len = s->payload ? s->payload_len : 0;
    struct deferred_seg *d = malloc(sizeof *d + len);
    if (!d)
        return false;
    if (!f->deferred) {
        if (!t->dq_free) {
            uint32_t cap = t->dq_cap ? t->dq_cap * 2 : 16;
            struct deferred_q *dq = realloc(t->dq, cap * sizeof *dq);
            if (!dq) {
                free(d);
                return false;
            }
            for (uint32_t i = cap; i > t->dq_cap; i--) {
                dq[i - 1].f = NULL;
                dq[i - 1].next_free = t->dq_free;
                t->dq_free = i;
            }
            t->dq = dq;
            t->dq_cap = cap;
        }
        f->deferred = t->dq_free;
        struct deferred_q *q = &t->dq[f->deferred - 1];
        t->dq_free = q->next_free;
        *q = (struct deferred_q){.f = f};
        if (!t->dq_used++ || s->ts + CS_FLOW_DEFER_MAX_AGE < t->dq_deadline)
            t->dq_deadline = s->ts + CS_FLOW_DEFER_MAX_AGE;
    }
    d->next = NULL;
    d->dir = dir;
    d->s = *s;
    d->s.payload = len ? memcpy(d->data, s->payload, len) : NULL;
    d->s.payload_len = len;
    d->s.l3 = NULL;
    d->s.l3_len = 0;
    struct deferred_q *q = &t->dq[f->deferred - 1];
    if (q->tail)
        q->tail->next = d;
    else
        q->head = d;
    q->tail = d;
    q->n++;
    q->bytes += len;
    t->deferred_bytes += len;
    t->shared.held_memory += deferred_cost(d);
    return true;
}

/* Past the limits, the oldest held-back segments are taken as they are. */
static void enforce_defer_limits(struct cs_flow_table *t, struct cs_flow *f, cs_time_ns now)
{
    while (f->deferred) {
        const struct deferred_q *q = &t->dq[f->deferred - 1];
        uint32_t max = f->dir[0].held || f->dir[1].held ? CS_FLOW_DEFER_MAX_HOLE_SEGS : CS_FLOW_DEFER_MAX_SEGS;
        if (q->n <= max && q->bytes <= CS_FLOW_DEFER_MAX_BYTES &&
            t->deferred_bytes <= CS_FLOW_DEFER_MAX_TOTAL && now - q->head->s.ts <= CS_FLOW_DEFER_MAX_AGE)
            return;
        run_deferred(t, f, deferred_pop(t, f, &t->dq[f->deferred - 1].head));
        release_deferred(t, f);
    }
}

/* The capture clock passed the deadline: flows whose oldest held-back
 * segment is older than CS_FLOW_DEFER_MAX_AGE take theirs as they are (a
 * flow that went quiet after a real loss would otherwise keep them until
 * its end). */
static void expire_deferred(struct cs_flow_table *t)
{
    cs_time_ns next = INT64_MAX;
    for (uint32_t i = 0; i < t->dq_cap && t->dq_used; i++) {
        struct cs_flow *f = t->dq[i].f;
        if (!f)
            continue;
        enforce_defer_limits(t, f, t->now);
        if (f->deferred && t->dq[f->deferred - 1].head->s.ts + CS_FLOW_DEFER_MAX_AGE < next)
            next = t->dq[f->deferred - 1].head->s.ts + CS_FLOW_DEFER_MAX_AGE;
    }
    t->dq_deadline = next;
}

/* --- ending flows ------------------------------------------------------ */

/* Ends f: optionally flushes both reassemblers (held data and a held FIN are
 * delivered, holes become gaps), calls on_end, then unlinks and frees f (to
 * the free list).  Safe against a second call for the same flow. */
static void end_flow(struct cs_flow_table *t, struct cs_flow *f, enum cs_flow_end why, bool flush)
{
    if (f->ended)
        return;
    f->ended = true;
    drain_deferred(t, f);
    if (flush) {
        for (int d = 0; d < 2; d++) {
            struct dir_sink ds = {t, f, d};
            cs_reasm_flush(&f->dir[d], &t->shared, f->key.last_frame, f->key.last_ts, stream_sink, &ds);
        }
    }
    switch (why) {
    case CS_FLOW_END_CLOSED: t->stats.closed++; break;
    case CS_FLOW_END_RESET: t->stats.reset++; break;
    case CS_FLOW_END_IDLE: t->stats.idle_expired++; break;
    case CS_FLOW_END_EVICTED: t->stats.evicted++; break;
    case CS_FLOW_END_INPUT: t->stats.ended_at_input_end++; break;
    }
    if (t->cb.on_end)
        t->cb.on_end(t->ctx, f, why);
    hash_unlink(t, f);
    lru_unlink(t, f);
    cs_reasm_release(&f->dir[0], &t->shared);
    cs_reasm_release(&f->dir[1], &t->shared);
    t->count--;
    t->stats.active = t->count;
    f->hash_next = t->free_list;
    t->free_list = f;
}

/* A flow struct from the free list or the newest slab (a new slab when it
 * is used up); NULL when out of memory. */
static struct cs_flow *flow_alloc(struct cs_flow_table *t)
{
    struct cs_flow *f = t->free_list;
    if (f) {
        t->free_list = f->hash_next;
        return f;
    }
    if (t->slab_left == 0) {
        if (t->n_slabs == t->cap_slabs) {
            size_t cap = t->cap_slabs ? t->cap_slabs * 2 : 16;
            void **v = realloc(t->slabs, cap * sizeof *v);
            if (!v)
                return NULL;
            t->slabs = v;
            t->cap_slabs = cap;
        }
        /* (C11's aligned_alloc wants a size that is a multiple of the
         * alignment: AddressSanitizer refuses one that is not; the flow's
         * size is, see flow.h) */
        void *slab = aligned_alloc(64, CS_FLOW_SLAB * sizeof *f);
        if (!slab)
            return NULL;
        t->slabs[t->n_slabs++] = slab;
        t->slab_left = CS_FLOW_SLAB;
    }
    f = (struct cs_flow *)t->slabs[t->n_slabs - 1] + (CS_FLOW_SLAB - t->slab_left);
    t->slab_left--;
    return f;
}

/* Ends, from the LRU head, the flows idle for longer than the timeout
 * (0 disables idle expiry). */
static void expire_idle(struct cs_flow_table *t)
{
    if (t->limits.idle_timeout_s == 0)
        return;
    cs_time_ns limit = t->now - (cs_time_ns)t->limits.idle_timeout_s * 1000000000;
    while (t->lru_head && t->lru_head->key.last_ts < limit)
        end_flow(t, t->lru_head, CS_FLOW_END_IDLE, true);
    /* half-open flows too, should --syn-timeout be the longer one */
    while (t->syn_head && t->syn_head->key.last_ts < limit)
        end_flow(t, t->syn_head, CS_FLOW_END_IDLE, true);
}

/* Ends the connections whose first SYN is older than --syn-timeout and
 * still unanswered (0 disables it: they then wait for the idle timeout). */
static void expire_half_open(struct cs_flow_table *t)
{
    if (t->limits.syn_timeout_s == 0)
        return;
    cs_time_ns limit = t->now - (cs_time_ns)t->limits.syn_timeout_s * 1000000000;
    while (t->syn_head && t->syn_head->key.first_ts < limit) {
        t->stats.syn_timed_out++;
        end_flow(t, t->syn_head, CS_FLOW_END_IDLE, true);
    }
}

/* The earliest time a timeout may end a flow now (expire_idle and
 * expire_half_open look at the heads alone). */
static cs_time_ns next_expiry(const struct cs_flow_table *t)
{
    cs_time_ns at = CS_TIME_NEVER, idle = (cs_time_ns)t->limits.idle_timeout_s * 1000000000,
               syn = (cs_time_ns)t->limits.syn_timeout_s * 1000000000;
    if (idle && t->lru_head && t->lru_head->key.last_ts + idle < at)
        at = t->lru_head->key.last_ts + idle;
    if (idle && t->syn_head && t->syn_head->key.last_ts + idle < at)
        at = t->syn_head->key.last_ts + idle;
    if (syn && t->syn_head && t->syn_head->key.first_ts + syn < at)
        at = t->syn_head->key.first_ts + syn;
    return at;
}

/* A new flow's earliest deadline (first_ts: its first segment's time). */
static void expiry_add(struct cs_flow_table *t, const struct cs_flow *f)
{
    uint32_t s = t->limits.idle_timeout_s;
    if (t->limits.syn_timeout_s && (s == 0 || t->limits.syn_timeout_s < s))
        s = t->limits.syn_timeout_s;
    if (s && f->key.first_ts + (cs_time_ns)s * 1000000000 < t->expire_at)
        t->expire_at = f->key.first_ts + (cs_time_ns)s * 1000000000;
}

/* --- creating flows ---------------------------------------------------- */

/* True when the payload starts like an HTTP request line: a method token of
 * 3 to 16 uppercase letters followed by a space (GET, POST, OPTIONS, ...). */
static bool looks_like_request(const uint8_t *p, uint32_t len)
{
    uint32_t i = 0;
    while (i < len && i < 17 && p[i] >= 'A' && p[i] <= 'Z')
        i++;
    return i >= 3 && i <= 16 && i < len && p[i] == ' ';
}

static bool looks_like_response(const uint8_t *p, uint32_t len)
{
    return len >= 5 && memcmp(p, "HTTP/", 5) == 0;
}

/* Decides whether the sender of the flow's first segment is the client. */
static bool sender_is_client(const struct cs_segment *s, bool *handshake, bool *acked)
{
    uint32_t len = s->payload ? s->payload_len : 0;
    *handshake = *acked = false;
    if (s->flags & CS_TCP_SYN) {
        *handshake = true;
        *acked = (s->flags & CS_TCP_ACK) != 0;
        return !*acked;
    }
    if (looks_like_request(s->payload, len))
        return true;
    if (looks_like_response(s->payload, len))
        return false;
    if (s->sport != s->dport)
        return s->sport > s->dport; /* the lower (well-known) port serves */
    return true;
}

static struct cs_flow *create(struct cs_flow_table *t, const struct cs_segment *s,
                              uint64_t h, int *dir)
{
    uint32_t max = t->limits.max_flows ? t->limits.max_flows : 1;
    while (t->count >= max && oldest(t))
        end_flow(t, oldest(t), CS_FLOW_END_EVICTED, true);

    /* on a cache-line boundary: a flow then spans 4 lines, not 5 */
    struct cs_flow *f = flow_alloc(t);
    if (!f) {
        t->stats.alloc_failures++;
        return NULL;
    }
    memset(f, 0, sizeof *f);
    bool hs, acked;
    bool client = sender_is_client(s, &hs, &acked);
    if (client) {
        f->key.client = s->src;
        f->key.client_port = s->sport;
        f->key.server = s->dst;
        f->key.server_port = s->dport;
        *dir = CS_DIR_C2S;
    } else {
        f->key.client = s->dst;
        f->key.client_port = s->dport;
        f->key.server = s->src;
        f->key.server_port = s->sport;
        *dir = CS_DIR_S2C;
    }
    f->handshake_seen = hs;
    f->syn_acked = acked;
    f->half_open = hs && !acked && !(s->flags & (CS_TCP_RST | CS_TCP_FIN)) && s->payload_len == 0 &&
                   s->wire_payload_len == 0;
    f->syns = hs && !acked ? 1 : 0;
    f->key.id = t->ids_by_frame ? s->frame : t->next_id++;
    f->key.first_ts = s->ts;
    f->key.first_frame = s->frame;
    f->hash = h;
    cs_reasm_init(&f->dir[0]);
    cs_reasm_init(&f->dir[1]);

    if (t->count >= t->nbuckets)
        grow(t);
    size_t b = (size_t)h & (t->nbuckets - 1);
    f->hash_next = t->buckets[b];
    t->buckets[b] = f;
    lru_append(t, f);
    expiry_add(t, f);
    t->count++;
    t->stats.created++;
    t->stats.active = t->count;
    if (t->stats.active > t->stats.max_active)
        t->stats.max_active = t->stats.active;
    if (t->cb.on_new)
        t->cb.on_new(t->ctx, f);
    return f;
}

/* --- feeding ----------------------------------------------------------- */

static void advance_clock(struct cs_flow_table *t, cs_time_ns now)
{
    if (now > t->now)
        t->now = now;
    bool deferred_due = t->dq_used && t->now > t->dq_deadline;
    if (!deferred_due && t->now <= t->expire_at)
        return; /* nothing is due: the usual case */
    uint8_t was = t->phase;
    t->phase = CS_FLOW_PHASE_DEFERRED;
    if (deferred_due)
        expire_deferred(t);
    t->phase = CS_FLOW_PHASE_IDLE;
    expire_idle(t);
    t->phase = CS_FLOW_PHASE_HALF_OPEN;
    expire_half_open(t);
    t->phase = was;
    t->expire_at = next_expiry(t);
}

/* True when a segment of a known flow opens a new connection on the same
 * 5-tuple: a SYN (without ACK) after this direction sent a FIN, or whose ISN
 * is not just behind what the direction already delivered (a retransmitted
 * or late-captured SYN of this connection is, within
 * CS_FLOW_LATE_SYN_WINDOW). */
static bool is_new_connection(const struct cs_flow *f, int dir, const struct cs_segment *s)
{
    if ((s->flags & (CS_TCP_SYN | CS_TCP_ACK)) != CS_TCP_SYN)
        return false;
    const struct cs_reasm *r = &f->dir[dir];
    if (!r->started)
        return false;
    if (r->fin_seen)
        return true;
    uint32_t behind = r->next_seq - (s->seq + 1u);
    return behind > CS_FLOW_LATE_SYN_WINDOW;
}

/* --- prefetching ------------------------------------------------------- */

/* With thousands of open connections, the packet stream evicts flow state
 * between two packets of the same connection, so each lookup misses the
 * cache on its bucket, then on its flow.  A caller that sees a few segments
 * ahead (pipeline.c) hashes them and starts these loads early, so the misses
 * of several packets overlap. */
uint64_t cs_flow_table_hash(const struct cs_flow_table *t, const struct cs_segment *s)
{
    uint64_t h = tuple_hash(t->seed, &s->src, s->sport, &s->dst, s->dport);
    __builtin_prefetch(&t->buckets[(size_t)h & (t->nbuckets - 1)]);
    return h;
}

static void prefetch_flow(const struct cs_flow *f)
{
    for (size_t off = 0; off < sizeof *f; off += 64)
        __builtin_prefetch((const char *)f + off);
}

struct cs_flow *cs_flow_table_prefetch(const struct cs_flow_table *t, uint64_t h)
{
    struct cs_flow *f = t->buckets[(size_t)h & (t->nbuckets - 1)];
    if (f)
        prefetch_flow(f);
    return f;
}

struct cs_flow *cs_flow_table_prefetch_chain(struct cs_flow *f, uint64_t h)
{
    if (f && f->hash != h && f->hash_next) {
        f = f->hash_next;
        prefetch_flow(f);
    }
    return f;
}

void cs_flow_table_prefetch_neighbours(const struct cs_flow *f)
{
    if (f->lru_prev)
        __builtin_prefetch(&f->lru_prev->lru_next, 1);
    if (f->lru_next)
        __builtin_prefetch(&f->lru_next->lru_prev, 1);
}

void cs_flow_table_segment(struct cs_flow_table *t, const struct cs_segment *s)
{
    cs_flow_table_segment_hashed(t, s, tuple_hash(t->seed, &s->src, s->sport, &s->dst, s->dport));
}

void cs_flow_table_segment_hashed(struct cs_flow_table *t, const struct cs_segment *s, uint64_t h)
{
    advance_clock(t, s->ts);

    int dir = CS_DIR_C2S;
    struct cs_flow *f = find(t, h, &s->src, s->sport, &s->dst, s->dport, &dir);
    if (!f) {
        bool has_payload = s->payload_len > 0 || s->wire_payload_len > 0;
        if (!(s->flags & CS_TCP_SYN) && !has_payload) {
            t->stats.ignored_segments++; /* no ghost flows from trailing ACKs */
            return;
        }
        f = create(t, s, h, &dir);
        if (!f)
            return;
    } else if (is_new_connection(f, dir, s)) {
        /* the 5-tuple is reused by a new connection: the old one is over
         * (closed if it ever sent a FIN, otherwise it had gone silent) */
        t->stats.port_reuse++;
        bool closing = f->dir[0].fin_seen || f->dir[1].fin_seen;
        end_flow(t, f, closing ? CS_FLOW_END_CLOSED : CS_FLOW_END_IDLE, true);
        f = create(t, s, h, &dir);
        if (!f)
            return;
    } else {
        bool client_syn = (s->flags & (CS_TCP_SYN | CS_TCP_ACK | CS_TCP_RST | CS_TCP_FIN)) == CS_TCP_SYN &&
                          dir == CS_DIR_C2S;
        if (client_syn && f->syns < UINT8_MAX)
            f->syns++;
        /* a half-open flow stays on its list (by first SYN) while only
         * the client's SYNs come; anything else answers it */
        if (!f->half_open || !client_syn || s->payload_len || s->wire_payload_len) {
            lru_unlink(t, f);
            f->half_open = false;
            lru_append(t, f);
        }
        /* a handshake seen after a mid-stream start counts only if it agrees */
        if ((s->flags & CS_TCP_SYN) && !(s->flags & CS_TCP_ACK) && dir == CS_DIR_C2S)
            f->handshake_seen = true;
        if ((s->flags & (CS_TCP_SYN | CS_TCP_ACK)) == (CS_TCP_SYN | CS_TCP_ACK) && dir == CS_DIR_S2C)
            f->syn_acked = f->handshake_seen = true;
    }
    f->packets[dir]++;
    f->bytes[dir] += s->wire_payload_len > s->payload_len ? s->wire_payload_len : s->payload_len;
    f->key.last_ts = s->ts > f->key.last_ts ? s->ts : f->key.last_ts;
    f->key.last_frame = s->frame;

    if (t->cb.on_packet)
        t->cb.on_packet(t->ctx, f, dir, s);

    if (!f->deferred && !acks_unseen(f, dir, s)) {
        process(t, f, dir, s); /* the usual case: nothing held back */
    } else {
        if (s->flags & CS_TCP_RST)
            drain_deferred(t, f); /* what came before the reset goes first */
        if (!acks_unseen(f, dir, s) || !defer_segment(t, f, dir, s))
            process(t, f, dir, s);
        release_deferred(t, f);
        enforce_defer_limits(t, f, s->ts);
    }

    if (f->dir[0].rst || f->dir[1].rst)
        end_flow(t, f, CS_FLOW_END_RESET, false);
    else if (f->dir[0].fin_delivered && f->dir[1].fin_delivered)
        end_flow(t, f, CS_FLOW_END_CLOSED, false);
}

bool cs_flow_table_evict_oldest(struct cs_flow_table *t)
{
    struct cs_flow *f = oldest(t);
    if (!f)
        return false;
    t->stats.evicted_memory++;
    end_flow(t, f, CS_FLOW_END_EVICTED, true);
    return true;
}

uint64_t cs_flow_table_held_bytes(const struct cs_flow_table *t)
{
    return t->shared.held_total;
}

uint64_t cs_flow_table_held_memory(const struct cs_flow_table *t)
{
    return t->shared.held_memory;
}

void cs_flow_table_tick(struct cs_flow_table *t, cs_time_ns now)
{
    advance_clock(t, now);
}

enum cs_flow_phase cs_flow_table_phase(const struct cs_flow_table *t)
{
    return (enum cs_flow_phase)t->phase;
}

void cs_flow_table_ids_by_frame(struct cs_flow_table *t)
{
    t->ids_by_frame = true;
}

static int by_id(const void *a, const void *b)
{
    const struct cs_flow *x = *(const struct cs_flow *const *)a;
    const struct cs_flow *y = *(const struct cs_flow *const *)b;
    return x->key.id < y->key.id ? -1 : x->key.id > y->key.id;
}

/* Ends the remaining flows in order of creation (LRU order if the sort
 * array cannot be allocated). */
void cs_flow_table_finish(struct cs_flow_table *t)
{
    t->phase = CS_FLOW_PHASE_FINISH;
    size_t n = t->count;
    struct cs_flow **v = n ? malloc(n * sizeof *v) : NULL;
    if (v) {
        size_t i = 0;
        for (struct cs_flow *f = t->lru_head; f && i < n; f = f->lru_next)
            v[i++] = f;
        for (struct cs_flow *f = t->syn_head; f && i < n; f = f->lru_next)
            v[i++] = f;
        qsort(v, i, sizeof *v, by_id);
        for (size_t k = 0; k < i; k++)
            end_flow(t, v[k], CS_FLOW_END_INPUT, true);
        free(v);
    }
    while (oldest(t))
        end_flow(t, oldest(t), CS_FLOW_END_INPUT, true);
}

void cs_flow_table_free(struct cs_flow_table *t)
{
    if (!t)
        return;
    cs_flow_table_finish(t);
    for (size_t i = 0; i < t->n_slabs; i++)
        free(t->slabs[i]);
    free(t->slabs);
    free(t->buckets);
    free(t->dq);
    free(t);
}

struct cs_flow *cs_flow_table_find_hashed(const struct cs_flow_table *t, const struct cs_segment *s,
                                          uint64_t hash, int *dir)
{
    return find(t, hash, &s->src, s->sport, &s->dst, s->dport, dir);
}

const struct cs_flow_stats *cs_flow_table_stats(const struct cs_flow_table *t)
{
    return &t->stats;
}

const struct cs_reasm_stats *cs_flow_table_reasm_stats(const struct cs_flow_table *t)
{
    return &t->shared.stats;
}
