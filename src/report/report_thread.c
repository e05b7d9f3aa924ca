/* The report stage on its own thread (see report_thread.h).
 *
 * Batches: the pipeline (producer) fills slot `fill` with records; a slot
 * with `full` set belongs to the report thread (consumer), which replays its
 * records in order and clears `full`.  Slots are handed over in ring order,
 * so events reach the report in the order the pipeline produced them.  One
 * mutex guards the `full` flags and `stopping`; record bytes are only ever
 * touched by the side that owns their slot.
 *
 * A record copies what the report reads and nothing it does not: the flow's
 * key (struct cs_flow_key), and for a transaction (struct cs_txn) each
 * message's header array and the block of bytes its strings point into
 * (cs_txn.req_block / resp_block).  The strings' pointers are rebased onto
 * the copy on the report side.  A transaction without such a block (or with
 * a string outside it) goes over synchronously. */
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "cpu_relax.h"
#include "report_thread.h"
#include "strcut.h"

enum rec_kind { REC_TXN = 1,
                REC_FLOW_END = 2,
                REC_FLOW_NEW = 3 };

/* frame and sub: the merge key (several producers, --workers): records
 * reach the report in (frame, sub) order, a producer's records of one key
 * in the order it wrote them. */
struct rec_head {
    uint32_t kind;
    uint32_t size; /* of the whole record, a multiple of 8 */
    uint64_t frame, sub;
};

/* A transaction as sent: its pointers still point into the pipeline's
 * buffers and are rebased from each message's block onto the copy that
 * follows; the report thread rebuilds the header arrays from offsets.
 * Offsets take half the bytes of corscope_header's pointers and lengths,
 * and bytes are what the handover costs: ~2 KB a transaction, all written
 * by one core and read by the other. */
struct rec_txn {
    struct rec_head h;
    struct cs_flow_key flow;
    struct cs_txn t;
    /* a copy of *t.tls (the SNI lives in the pipeline's connection) */
    bool has_tls;
    struct cs_txn_tls tls;
    char sni[CS_APP_SNI_LEN];
    /* a copy of t.via_connect (it lives in the pipeline's connection) */
    bool has_via;
    char via[128];
    /* a copy of t.req.scheme when it is this short ("https", a static
     * string of the TLS row; an h2 :scheme); a longer one must lie in the
     * request's block */
    bool has_scheme;
    char scheme[24];
    /* then the request's part, then the response's if t.has_resp: each
     * struct rec_header[n_headers], then the block, padded to 8
     * (msg_part_size) */
};

struct rec_header {
    uint32_t name_off, name_len, value_off, value_len; /* into the block */
};

struct rec_flow_end {
    struct rec_head h;
    struct cs_flow_key flow;
    enum cs_flow_end why;
    struct cs_flow_info info;
};

struct rec_flow_new {
    struct rec_head h;
    uint64_t id; /* the producer's id for the flow (the frame that created it) */
};

struct slot {
    unsigned char *buf; /* malloc'd, so 16-byte aligned */
    size_t len, cap;
    atomic_bool full; /* owned by the report thread; written under mu (an
                       * assisting report thread also looks without it) */
};

/* One pipeline's side: its ring of slots. */
struct producer {
    struct cs_report_thread *rt;
    struct slot slots[CS_REPORT_BATCHES];
    unsigned fill;               /* the pipeline's slot */
    unsigned drain;              /* the next slot the report thread takes */
    size_t pos;                  /* report thread, several producers: read offset in slots[drain] */
    uint64_t key_frame, key_sub; /* the pipeline's: key of the records it writes next */
    uint64_t watermark;          /* under mu: every record up to this frame is handed over */
    bool done;                   /* under mu: nothing more will come */
    /* The report's held bytes (cs_report_held_bytes) as they were when the
     * report thread finished the batch last held in each slot (under mu),
     * and the pipeline's copy of the one for its filling slot, taken when
     * that slot came free.  The pipeline's --max-memory check counts that
     * copy: the report as it stood some batches back, a point fixed by the
     * input, never by how far the report thread has got (a live reading
     * made evictions, and so the output, differ from run to run). */
    size_t held_after[CS_REPORT_BATCHES];
    size_t report_held;
};

struct cs_report_thread {
    struct producer p0; /* first: the thread is producer 0's hook context */
    struct producer **prods;
    unsigned n_prods;
    struct cs_report *report;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t filled, emptied;
    bool stopping;
    /* several producers: the report is called by the report thread and, for
     * an event that could not be copied, by a pipeline: one at a time */
    pthread_mutex_t report_mu;
    /* several producers: each producer's flow id -> the id one pipeline
     * would have given (flows numbered in merged order of creation) */
    GHashTable *ids;
    uint64_t next_id;
    /* told every flow end in merged order (cs_report_thread_observe) */
    void (*observe)(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                    const struct cs_flow_info *info);
    void *observe_ctx;
    /* the output failed (EPIPE: the reader is gone): the report thread
     * checks after each batch, the pipeline reads the flag, so that the
     * pipeline never takes the stream's lock while the report writes
     * (ferror per batch of frames was ~1,700 futex calls a run) */
    atomic_bool output_failed;
    /* the report thread's header arrays for a request and its response */
    corscope_header *headers[2];
    uint32_t headers_cap[2];
    /* work for the pipeline (cs_report_thread_assist), NULL: none */
    bool (*assist)(void *ctx);
    void *assist_ctx;
};

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Size of a message's part of a record: n header offsets and the block. */
static size_t msg_part_size(size_t n_headers, uint32_t block_len)
{
    return pad8(n_headers * sizeof(struct rec_header) + block_len);
}

/* --- the report thread ------------------------------------------------- */

/* A pointer into the pipeline's copy of the block, moved to the same
 * offset in ours. */
static const char *rebase(const char *p, const char *from, const char *to)
{
    return p ? to + ((uintptr_t)p - (uintptr_t)from) : NULL;
}

/* Rebuilds one message's header array (in headers[which]) and block from
 * its part at p; *headers, *n_headers and *block are set to the copies and
 * *flags gains CS_TXN_HEADERS_CUT if the array could not grow (the message
 * then keeps the headers that fit).  Returns the part's size. */
static size_t msg_view(struct cs_report_thread *rt, const unsigned char *p, int which,
                       const corscope_header **headers, size_t *n_headers,
                       const char **block, uint32_t block_len, uint32_t *flags)
{
    size_t nh = *n_headers;
    const struct rec_header *rh = (const struct rec_header *)p;
    const char *copy = (const char *)(rh + nh);
    if (nh > rt->headers_cap[which]) {
        corscope_header *h = realloc(rt->headers[which], nh * sizeof *h);
        if (h) {
            rt->headers[which] = h;
            rt->headers_cap[which] = (uint32_t)nh;
        }
    }
    corscope_header *h = rt->headers[which];
    size_t n = nh <= rt->headers_cap[which] ? nh : rt->headers_cap[which];
    if (n < nh)
        *flags |= CS_TXN_HEADERS_CUT;
    for (size_t i = 0; i < n; i++)
        h[i] = (corscope_header){copy + rh[i].name_off, rh[i].name_len,
                                 copy + rh[i].value_off, rh[i].value_len};
    *headers = h;
    *n_headers = n;
    *block = copy;
    return msg_part_size(nh, block_len);
}

/* Several producers: the id one pipeline would have given the flow. */
static uint64_t global_id(struct cs_report_thread *rt, uint64_t id)
{
    gpointer v = rt->ids ? g_hash_table_lookup(rt->ids, (gpointer)(uintptr_t)id) : NULL;
    return v ? (uint64_t)(uintptr_t)v : id;
}

/* Replays one record through the report; returns its size. */
static size_t replay_one(struct cs_report_thread *rt, unsigned char *p)
{
    struct rec_head *h = (struct rec_head *)p;
    if (h->kind == REC_TXN) {
        struct rec_txn *rec = (struct rec_txn *)p;
        struct cs_txn *t = &rec->t;
        const unsigned char *part = (const unsigned char *)(rec + 1);
        const char *from = t->req_block;
        part += msg_view(rt, part, 0, &t->req.headers, &t->req.n_headers, &t->req_block,
                         t->req_block_len, &t->req_flags);
        t->req.method = rebase(t->req.method, from, t->req_block);
        t->req.target = rebase(t->req.target, from, t->req_block);
        if (rec->has_scheme)
            t->req.scheme = rec->scheme;
        else if (t->req.scheme)
            t->req.scheme = rebase(t->req.scheme, from, t->req_block);
        if (t->has_resp)
            msg_view(rt, part, 1, &t->resp.headers, &t->resp.n_headers, &t->resp_block,
                     t->resp_block_len, &t->resp_flags);
        if (rec->has_tls) {
            rec->tls.sni = rec->sni;
            t->tls = &rec->tls;
        }
        t->via_connect = rec->has_via ? rec->via : NULL;
        if (rt->ids)
            rec->flow.id = global_id(rt, rec->flow.id);
        cs_report_txn(rt->report, &rec->flow, t);
    } else if (h->kind == REC_FLOW_END) {
        struct rec_flow_end *rec = (struct rec_flow_end *)p;
        if (rt->ids) {
            uint64_t id = rec->flow.id;
            rec->flow.id = global_id(rt, id);
            g_hash_table_remove(rt->ids, (gpointer)(uintptr_t)id);
        }
        cs_report_flow_end(rt->report, &rec->flow, rec->why, &rec->info);
        if (rt->observe)
            rt->observe(rt->observe_ctx, &rec->flow, rec->why, &rec->info);
    } else if (rt->ids) {
        struct rec_flow_new *rec = (struct rec_flow_new *)p;
        g_hash_table_insert(rt->ids, (gpointer)(uintptr_t)rec->id, (gpointer)(uintptr_t)++rt->next_id);
    }
    return h->size;
}

/* Runs the pipeline's work while there is some. */
static void assist(struct cs_report_thread *rt)
{
    if (rt->assist)
        while (rt->assist(rt->assist_ctx))
            ;
}

static void replay(struct cs_report_thread *rt, unsigned char *p, size_t len)
{
    unsigned char *end = p + len;
    while (p < end) {
        p += replay_one(rt, p);
        assist(rt); /* between events: it is waited for, they are not */
    }
}

/* Waiting for slot s while assisting: the pipeline's work comes far more
 * often than batches do, and a thread asleep cannot take it, so this
 * polls, for up to ASSIST_IDLE_POLLS polls without any work (~1 ms; then
 * the thread sleeps as usual, and the pipeline does its work itself). */
#define ASSIST_IDLE_POLLS 20000u

static void wait_assisting(struct cs_report_thread *rt, struct slot *s)
{
    for (unsigned idle = 0; idle < ASSIST_IDLE_POLLS &&
                            !atomic_load_explicit(&s->full, memory_order_relaxed);) {
        if (rt->assist(rt->assist_ctx))
            idle = 0;
        else {
            idle++;
            cs_cpu_relax();
        }
    }
}

/* One producer: its batches in ring order. */
static void *report_main(void *arg)
{
    struct cs_report_thread *rt = arg;
    struct producer *pr = &rt->p0;
    pthread_setname_np(pthread_self(), "corscope-report"); /* for top -H, perf */
    for (;;) {
        struct slot *s = &pr->slots[pr->drain];
        if (rt->assist)
            wait_assisting(rt, s);
        pthread_mutex_lock(&rt->mu);
        while (!s->full && !rt->stopping)
            pthread_cond_wait(&rt->filled, &rt->mu);
        bool have = s->full;
        pthread_mutex_unlock(&rt->mu);
        if (!have)
            return NULL; /* stopping, and every batch replayed */
        replay(rt, s->buf, s->len);
        if (cs_report_output_failed(rt->report))
            atomic_store_explicit(&rt->output_failed, true, memory_order_relaxed);
        size_t held = cs_report_held_bytes(rt->report);
        pthread_mutex_lock(&rt->mu);
        pr->held_after[pr->drain] = held;
        s->len = 0;
        s->full = false;
        pthread_cond_signal(&rt->emptied);
        pthread_mutex_unlock(&rt->mu);
        pr->drain = (pr->drain + 1) % CS_REPORT_BATCHES;
    }
}

static bool key_le(uint64_t af, uint64_t as, uint64_t bf, uint64_t bs)
{
    return af < bf || (af == bf && as <= bs);
}

/* The producer's next record, NULL if it has handed none over; slots read
 * to their end go back to it.  Called with mu held. */
static struct rec_head *head_of(struct cs_report_thread *rt, struct producer *pr)
{
    for (;;) {
        struct slot *s = &pr->slots[pr->drain];
        if (!s->full)
            return NULL;
        if (pr->pos < s->len)
            return (struct rec_head *)(s->buf + pr->pos);
        pr->held_after[pr->drain] = cs_report_held_bytes(rt->report);
        s->len = 0;
        s->full = false;
        pr->pos = 0;
        pr->drain = (pr->drain + 1) % CS_REPORT_BATCHES;
        pthread_cond_broadcast(&rt->emptied);
    }
}

/* Several producers: the records of all of them, merged in key order.  A
 * record goes to the report once every other producer has either a later
 * record waiting or has handed over everything up to its frame
 * (watermark), or is done. */
static void *merge_main(void *arg)
{
    struct cs_report_thread *rt = arg;
    pthread_setname_np(pthread_self(), "corscope-report");
    pthread_mutex_lock(&rt->mu);
    for (;;) {
        struct producer *best = NULL;
        struct rec_head *bh = NULL;
        bool all_done = true;
        for (unsigned i = 0; i < rt->n_prods; i++) {
            struct producer *pr = rt->prods[i];
            struct rec_head *h = head_of(rt, pr);
            if (!h && !pr->done)
                all_done = false;
            if (h && (!bh || !key_le(bh->frame, bh->sub, h->frame, h->sub))) {
                best = pr;
                bh = h;
            }
        }
        if (!best) {
            if (all_done)
                break;
            pthread_cond_wait(&rt->filled, &rt->mu);
            continue;
        }
        /* how far the best producer may go: up to the next one's head, and
         * no further than what a producer without one has handed over */
        uint64_t bf = UINT64_MAX, bs = UINT64_MAX;
        for (unsigned i = 0; i < rt->n_prods; i++) {
            struct producer *pr = rt->prods[i];
            if (pr == best)
                continue;
            struct rec_head *h = head_of(rt, pr);
            if (h) {
                if (!key_le(bf, bs, h->frame, h->sub))
                    bf = h->frame, bs = h->sub;
            } else if (!pr->done && pr->watermark < bf) {
                bf = pr->watermark;
                bs = UINT64_MAX;
            }
        }
        if (!key_le(bh->frame, bh->sub, bf, bs)) {
            pthread_cond_wait(&rt->filled, &rt->mu);
            continue;
        }
        struct slot *s = &best->slots[best->drain];
        pthread_mutex_unlock(&rt->mu);
        pthread_mutex_lock(&rt->report_mu);
        while (best->pos < s->len) {
            struct rec_head *h = (struct rec_head *)(s->buf + best->pos);
            if (!key_le(h->frame, h->sub, bf, bs))
                break;
            best->pos += replay_one(rt, s->buf + best->pos);
        }
        if (cs_report_output_failed(rt->report))
            atomic_store_explicit(&rt->output_failed, true, memory_order_relaxed);
        pthread_mutex_unlock(&rt->report_mu);
        pthread_mutex_lock(&rt->mu);
    }
    pthread_mutex_unlock(&rt->mu);
    return NULL;
}

/* --- the pipeline's side ----------------------------------------------- */

static int producer_init(struct producer *pr, struct cs_report_thread *rt)
{
    pr->rt = rt;
    for (int i = 0; i < CS_REPORT_BATCHES; i++) {
        pr->slots[i].cap = CS_REPORT_SLOT_BYTES;
        pr->slots[i].buf = malloc(pr->slots[i].cap);
        if (!pr->slots[i].buf)
            return -1;
    }
    return 0;
}

static void producer_free(struct producer *pr)
{
    for (int i = 0; i < CS_REPORT_BATCHES; i++)
        free(pr->slots[i].buf);
}

struct cs_report_thread *cs_report_thread_start(struct cs_report *r)
{
    return cs_report_thread_start_n(r, 1);
}

/* Frees rt and what it allocated (the producers' slots, the id table, the
 * header arrays), also when cs_report_thread_start_n failed half-way. */
static void free_buffers(struct cs_report_thread *rt)
{
    for (unsigned i = 0; rt->prods && i < rt->n_prods; i++)
        if (rt->prods[i]) {
            producer_free(rt->prods[i]);
            if (i > 0) /* producer 0 is rt->p0 */
                free(rt->prods[i]);
        }
    free(rt->prods);
    if (rt->ids)
        g_hash_table_destroy(rt->ids);
    free(rt->headers[0]);
    free(rt->headers[1]);
    free(rt);
}

struct cs_report_thread *cs_report_thread_start_n(struct cs_report *r, unsigned producers)
{
    if (producers < 1)
        return NULL;
    struct cs_report_thread *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->report = r;
    atomic_init(&rt->output_failed, false);
    rt->n_prods = producers;
    rt->prods = calloc(producers, sizeof *rt->prods);
    if (!rt->prods)
        goto fail;
    rt->prods[0] = &rt->p0;
    for (unsigned i = 1; i < producers; i++)
        if (!(rt->prods[i] = calloc(1, sizeof **rt->prods)))
            goto fail;
    for (unsigned i = 0; i < producers; i++)
        if (producer_init(rt->prods[i], rt) != 0)
            goto fail;
    if (producers > 1)
        rt->ids = g_hash_table_new(g_direct_hash, g_direct_equal);
    if (pthread_mutex_init(&rt->mu, NULL) != 0)
        goto fail;
    pthread_mutex_init(&rt->report_mu, NULL);
    pthread_cond_init(&rt->filled, NULL);
    pthread_cond_init(&rt->emptied, NULL);
    /* Signals (SIGINT, SIGUSR1) stay with the main thread: the report
     * thread starts with all of them blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&rt->thread, NULL, producers > 1 ? merge_main : report_main, rt);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        return rt;
    pthread_cond_destroy(&rt->filled);
    pthread_cond_destroy(&rt->emptied);
    pthread_mutex_destroy(&rt->report_mu);
    pthread_mutex_destroy(&rt->mu);
fail:
    free_buffers(rt);
    return NULL;
}

void cs_report_thread_observe(struct cs_report_thread *rt,
                              void (*fn)(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                                         const struct cs_flow_info *info),
                              void *ctx)
{
    rt->observe = fn;
    rt->observe_ctx = ctx;
}

void cs_report_thread_assist(struct cs_report_thread *rt, bool (*work)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&rt->mu); /* seen by the thread at its next wait */
    rt->assist_ctx = ctx;
    rt->assist = work;
    pthread_mutex_unlock(&rt->mu);
}

void *cs_report_thread_producer(struct cs_report_thread *rt, unsigned i)
{
    return i < rt->n_prods ? rt->prods[i] : NULL;
}

/* Hands the filling slot (if it holds anything) to the report thread and
 * waits until the next one is free. */
static void publish(struct producer *pr)
{
    struct cs_report_thread *rt = pr->rt;
    struct slot *s = &pr->slots[pr->fill];
    if (s->len == 0)
        return;
    pthread_mutex_lock(&rt->mu);
    s->full = true;
    pthread_cond_signal(&rt->filled);
    pr->fill = (pr->fill + 1) % CS_REPORT_BATCHES;
    s = &pr->slots[pr->fill];
    while (s->full)
        pthread_cond_wait(&rt->emptied, &rt->mu);
    pr->report_held = pr->held_after[pr->fill];
    pthread_mutex_unlock(&rt->mu);
    /* a slot grown for one huge record goes back to its usual size */
    if (s->cap > CS_REPORT_SLOT_BYTES) {
        unsigned char *b = realloc(s->buf, CS_REPORT_SLOT_BYTES);
        if (b) {
            s->buf = b;
            s->cap = CS_REPORT_SLOT_BYTES;
        }
    }
}

/* Hands over everything and waits until the report thread is idle: the
 * report may then be called from this thread.  Several producers: the
 * report thread may be waiting for another producer, so instead the event
 * goes straight to the report under its lock (out of the merged order:
 * only for an event that could not be copied). */
static void wait_idle(struct producer *pr)
{
    struct cs_report_thread *rt = pr->rt;
    if (rt->n_prods > 1) {
        pthread_mutex_lock(&rt->report_mu);
        return;
    }
    publish(pr);
    pthread_mutex_lock(&rt->mu);
    for (int i = 0; i < CS_REPORT_BATCHES; i++)
        while (pr->slots[i].full)
            pthread_cond_wait(&rt->emptied, &rt->mu);
    pthread_mutex_unlock(&rt->mu);
}

static void done_direct(struct producer *pr)
{
    if (pr->rt->n_prods > 1)
        pthread_mutex_unlock(&pr->rt->report_mu);
}

/* Room for a record of `size` bytes in the filling slot, or NULL when it
 * cannot be had (the caller then hands the event over synchronously). */
static unsigned char *reserve(struct producer *pr, size_t size)
{
    struct slot *s = &pr->slots[pr->fill];
    if (s->len + size > s->cap) {
        publish(pr);
        s = &pr->slots[pr->fill];
        if (size > s->cap) {
            if (size > (size_t)UINT32_MAX)
                return NULL;
            unsigned char *b = realloc(s->buf, size);
            if (!b)
                return NULL;
            s->buf = b;
            s->cap = size;
        }
    }
    unsigned char *p = s->buf + s->len;
    s->len += size;
    struct rec_head *h = (struct rec_head *)p;
    h->frame = pr->key_frame;
    h->sub = pr->key_sub;
    return p;
}

/* A record is written; hand the batch over once it is big enough. */
static void committed(struct producer *pr)
{
    if (pr->slots[pr->fill].len >= CS_REPORT_BATCH_BYTES)
        publish(pr);
}

#define INSIDE(s, n) (!(s) || ((uintptr_t)(s) >= lo && (uintptr_t)(s) + (n) <= hi))

/* Writes a message's part: the header lines as offsets into the block,
 * then the block.  False when the message has no block or a header lies
 * outside it (the copy relies on it, so it is checked): then the event
 * goes over synchronously. */
static bool write_msg(unsigned char *p, const corscope_header *headers, size_t n_headers,
                      const char *block, uint32_t block_len)
{
    uintptr_t lo = (uintptr_t)block;
    if (!block && n_headers)
        return false;
    struct rec_header *rh = (struct rec_header *)p;
    for (size_t i = 0; i < n_headers; i++) {
        const corscope_header *h = &headers[i];
        /* Offsets from the block's start, unsigned: a pointer before the
         * block, NULL included, wraps to far more than block_len.  One
         * test for both strings, no early exit per comparison (this runs
         * for every header line handed over). */
        uintptr_t no = (uintptr_t)h->name - lo, vo = (uintptr_t)h->value - lo;
        bool out = (no > block_len) | (h->name_len > block_len - no) | (vo > block_len) |
                   (h->value_len > block_len - vo);
        if (out)
            return false;
        rh[i] = (struct rec_header){(uint32_t)no, (uint32_t)h->name_len, (uint32_t)vo,
                                    (uint32_t)h->value_len};
    }
    if (block_len)
        memcpy(rh + n_headers, block, block_len);
    return true;
}

/* The request line's strings must lie in the request's block too (the
 * scheme when it is too long for the record's copy). */
static bool req_strings_inside(const struct cs_txn *t)
{
    uintptr_t lo = (uintptr_t)t->req_block, hi = lo + t->req_block_len;
    const struct rec_txn *r = NULL;
    return INSIDE(t->req.method, t->req.method_len) && INSIDE(t->req.target, t->req.target_len) &&
           (t->req.scheme_len < sizeof r->scheme || INSIDE(t->req.scheme, t->req.scheme_len));
}
#undef INSIDE

void cs_report_thread_txn(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t)
{
    struct producer *pr = ctx;
    size_t qsize = msg_part_size(t->req.n_headers, t->req_block_len);
    size_t ssize = t->has_resp ? msg_part_size(t->resp.n_headers, t->resp_block_len) : 0;
    size_t total = sizeof(struct rec_txn) + qsize + ssize;
    unsigned char *p = total <= UINT32_MAX && req_strings_inside(t) ? reserve(pr, total) : NULL;
    if (p && !(write_msg(p + sizeof(struct rec_txn), t->req.headers, t->req.n_headers,
                         t->req_block, t->req_block_len) &&
               (!t->has_resp || write_msg(p + sizeof(struct rec_txn) + qsize, t->resp.headers,
                                          t->resp.n_headers, t->resp_block, t->resp_block_len)))) {
        pr->slots[pr->fill].len -= total; /* the reservation was the slot's last */
        p = NULL;
    }
    if (!p) {
        wait_idle(pr);
        struct cs_flow_key k = *f;
        k.id = global_id(pr->rt, k.id);
        cs_report_txn(pr->rt->report, &k, t);
        done_direct(pr);
        return;
    }
    struct rec_txn *rec = (struct rec_txn *)p;
    rec->h.kind = REC_TXN;
    rec->h.size = (uint32_t)total;
    rec->flow = *f;
    rec->t = *t;
    rec->t.tls = NULL;
    rec->has_tls = t->tls != NULL;
    if (t->tls) {
        rec->tls = *t->tls; /* version and cipher are static strings */
        cs_copy_cut(rec->sni, sizeof rec->sni, t->tls->sni ? t->tls->sni : "");
    }
    rec->has_scheme = t->req.scheme && t->req.scheme_len < sizeof rec->scheme;
    if (rec->has_scheme)
        memcpy(rec->scheme, t->req.scheme, t->req.scheme_len);
    rec->has_via = t->via_connect != NULL;
    if (t->via_connect)
        cs_copy_cut(rec->via, sizeof rec->via, t->via_connect);
    committed(pr);
}

void cs_report_thread_flow_end(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                               const struct cs_flow_info *info)
{
    struct producer *pr = ctx;
    struct rec_flow_end *rec = (struct rec_flow_end *)reserve(pr, pad8(sizeof *rec));
    if (!rec) {
        wait_idle(pr);
        struct cs_flow_key k = *f;
        k.id = global_id(pr->rt, k.id);
        cs_report_flow_end(pr->rt->report, &k, why, info);
        if (pr->rt->observe)
            pr->rt->observe(pr->rt->observe_ctx, &k, why, info);
        done_direct(pr);
        return;
    }
    rec->h.kind = REC_FLOW_END;
    rec->h.size = (uint32_t)pad8(sizeof *rec);
    rec->flow = *f;
    rec->why = why;
    rec->info = *info;
    committed(pr);
}

void cs_report_thread_flow_new(void *ctx, const struct cs_flow_key *f)
{
    struct producer *pr = ctx;
    if (pr->rt->n_prods == 1)
        return; /* one pipeline's ids are already the ids */
    struct rec_flow_new *rec = (struct rec_flow_new *)reserve(pr, pad8(sizeof *rec));
    if (!rec)
        return; /* out of memory: the flow keeps its frame number as id */
    rec->h.kind = REC_FLOW_NEW;
    rec->h.size = (uint32_t)pad8(sizeof *rec);
    rec->id = f->id;
    committed(pr);
}

void cs_report_thread_key(void *ctx, uint64_t frame, uint64_t sub)
{
    struct producer *pr = ctx;
    pr->key_frame = frame;
    pr->key_sub = sub;
}

/* Hands the batch over and tells the merging thread how far this producer
 * has got: every record up to `frame`, or (done) everything. */
static void hand_over(struct producer *pr, uint64_t frame, bool done)
{
    publish(pr);
    pthread_mutex_lock(&pr->rt->mu);
    if (done)
        pr->done = true;
    else
        pr->watermark = frame;
    pthread_cond_signal(&pr->rt->filled);
    pthread_mutex_unlock(&pr->rt->mu);
}

void cs_report_thread_mark(void *ctx, uint64_t frame)
{
    hand_over(ctx, frame, false);
}

void cs_report_thread_done(void *ctx)
{
    hand_over(ctx, 0, true);
}

size_t cs_report_thread_held_bytes(void *producer)
{
    return ((const struct producer *)producer)->report_held;
}

bool cs_report_thread_output_failed(struct cs_report_thread *rt)
{
    return atomic_load_explicit(&rt->output_failed, memory_order_relaxed);
}

void cs_report_thread_stop(struct cs_report_thread *rt)
{
    if (!rt)
        return;
    if (rt->n_prods == 1)
        publish(&rt->p0);
    else
        for (unsigned i = 0; i < rt->n_prods; i++)
            cs_report_thread_done(rt->prods[i]);
    pthread_mutex_lock(&rt->mu);
    rt->stopping = true;
    pthread_cond_signal(&rt->filled);
    pthread_mutex_unlock(&rt->mu);
    pthread_join(rt->thread, NULL);
    pthread_cond_destroy(&rt->filled);
    pthread_cond_destroy(&rt->emptied);
    pthread_mutex_destroy(&rt->report_mu);
    pthread_mutex_destroy(&rt->mu);
    free_buffers(rt);
}
