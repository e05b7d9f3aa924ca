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

#include "report_thread.h"

enum rec_kind { REC_TXN = 1,
                REC_FLOW_END = 2 };

struct rec_head {
    uint32_t kind;
    uint32_t size; /* of the whole record, a multiple of 8 */
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

struct slot {
    unsigned char *buf; /* malloc'd, so 16-byte aligned */
    size_t len, cap;
    bool full; /* owned by the report thread */
};

struct cs_report_thread {
    struct cs_report *report;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t filled, emptied;
    struct slot slots[CS_REPORT_BATCHES];
    unsigned fill;  /* the pipeline's slot */
    unsigned drain; /* the next slot the report thread takes */
    bool stopping;
    /* the output failed (EPIPE: the reader is gone): the report thread
     * checks after each batch, the pipeline reads the flag, so that the
     * pipeline never takes the stream's lock while the report writes
     * (ferror per batch of frames was ~1,700 futex calls a run) */
    atomic_bool output_failed;
    /* the report thread's header arrays for a request and its response */
    corscope_header *headers[2];
    uint32_t headers_cap[2];
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

static void replay(struct cs_report_thread *rt, unsigned char *p, size_t len)
{
    unsigned char *end = p + len;
    while (p < end) {
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
            cs_report_txn(rt->report, &rec->flow, t);
        } else {
            struct rec_flow_end *rec = (struct rec_flow_end *)p;
            cs_report_flow_end(rt->report, &rec->flow, rec->why, &rec->info);
        }
        p += h->size;
    }
}

static void *report_main(void *arg)
{
    struct cs_report_thread *rt = arg;
    pthread_setname_np(pthread_self(), "corscope-report"); /* for top -H, perf */
    for (;;) {
        struct slot *s = &rt->slots[rt->drain];
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
        pthread_mutex_lock(&rt->mu);
        s->len = 0;
        s->full = false;
        pthread_cond_signal(&rt->emptied);
        pthread_mutex_unlock(&rt->mu);
        rt->drain = (rt->drain + 1) % CS_REPORT_BATCHES;
    }
}

/* --- the pipeline's side ----------------------------------------------- */

struct cs_report_thread *cs_report_thread_start(struct cs_report *r)
{
    struct cs_report_thread *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->report = r;
    atomic_init(&rt->output_failed, false);
    for (int i = 0; i < CS_REPORT_BATCHES; i++) {
        rt->slots[i].cap = CS_REPORT_SLOT_BYTES;
        rt->slots[i].buf = malloc(rt->slots[i].cap);
        if (!rt->slots[i].buf)
            goto fail;
    }
    if (pthread_mutex_init(&rt->mu, NULL) != 0)
        goto fail;
    pthread_cond_init(&rt->filled, NULL);
    pthread_cond_init(&rt->emptied, NULL);
    /* Signals (SIGINT, SIGUSR1) stay with the main thread: the report
     * thread starts with all of them blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&rt->thread, NULL, report_main, rt);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        return rt;
    pthread_cond_destroy(&rt->filled);
    pthread_cond_destroy(&rt->emptied);
    pthread_mutex_destroy(&rt->mu);
fail:
    for (int i = 0; i < CS_REPORT_BATCHES; i++)
        free(rt->slots[i].buf);
    free(rt);
    return NULL;
}

/* Hands the filling slot (if it holds anything) to the report thread and
 * waits until the next one is free. */
static void publish(struct cs_report_thread *rt)
{
    struct slot *s = &rt->slots[rt->fill];
    if (s->len == 0)
        return;
    pthread_mutex_lock(&rt->mu);
    s->full = true;
    pthread_cond_signal(&rt->filled);
    rt->fill = (rt->fill + 1) % CS_REPORT_BATCHES;
    s = &rt->slots[rt->fill];
    while (s->full)
        pthread_cond_wait(&rt->emptied, &rt->mu);
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
 * report may then be called from this thread. */
static void wait_idle(struct cs_report_thread *rt)
{
    publish(rt);
    pthread_mutex_lock(&rt->mu);
    for (int i = 0; i < CS_REPORT_BATCHES; i++)
        while (rt->slots[i].full)
            pthread_cond_wait(&rt->emptied, &rt->mu);
    pthread_mutex_unlock(&rt->mu);
}

/* Room for a record of `size` bytes in the filling slot, or NULL when it
 * cannot be had (the caller then hands the event over synchronously). */
static unsigned char *reserve(struct cs_report_thread *rt, size_t size)
{
    struct slot *s = &rt->slots[rt->fill];
    if (s->len + size > s->cap) {
        publish(rt);
        s = &rt->slots[rt->fill];
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
    return p;
}

/* A record is written; hand the batch over once it is big enough. */
static void committed(struct cs_report_thread *rt)
{
    if (rt->slots[rt->fill].len >= CS_REPORT_BATCH_BYTES)
        publish(rt);
}

#define INSIDE(s, n) (!(s) || ((uintptr_t)(s) >= lo && (uintptr_t)(s) + (n) <= hi))

/* Writes a message's part: the header lines as offsets into the block,
 * then the block.  False when the message has no block or a header lies
 * outside it (the copy relies on it, so it is checked): then the event
 * goes over synchronously. */
static bool write_msg(unsigned char *p, const corscope_header *headers, size_t n_headers,
                      const char *block, uint32_t block_len)
{
    uintptr_t lo = (uintptr_t)block, hi = lo + block_len;
    if (!block && n_headers)
        return false;
    struct rec_header *rh = (struct rec_header *)p;
    for (size_t i = 0; i < n_headers; i++) {
        const corscope_header *h = &headers[i];
        if (!h->name || !h->value || !INSIDE(h->name, h->name_len) || !INSIDE(h->value, h->value_len))
            return false;
        rh[i] = (struct rec_header){(uint32_t)((uintptr_t)h->name - lo), (uint32_t)h->name_len,
                                    (uint32_t)((uintptr_t)h->value - lo), (uint32_t)h->value_len};
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
    struct cs_report_thread *rt = ctx;
    size_t qsize = msg_part_size(t->req.n_headers, t->req_block_len);
    size_t ssize = t->has_resp ? msg_part_size(t->resp.n_headers, t->resp_block_len) : 0;
    size_t total = sizeof(struct rec_txn) + qsize + ssize;
    unsigned char *p = total <= UINT32_MAX && req_strings_inside(t) ? reserve(rt, total) : NULL;
    if (p && !(write_msg(p + sizeof(struct rec_txn), t->req.headers, t->req.n_headers,
                         t->req_block, t->req_block_len) &&
               (!t->has_resp || write_msg(p + sizeof(struct rec_txn) + qsize, t->resp.headers,
                                          t->resp.n_headers, t->resp_block, t->resp_block_len)))) {
        rt->slots[rt->fill].len -= total; /* the reservation was the slot's last */
        p = NULL;
    }
    if (!p) {
        wait_idle(rt);
        cs_report_txn(rt->report, f, t);
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
        snprintf(rec->sni, sizeof rec->sni, "%s", t->tls->sni ? t->tls->sni : "");
    }
    rec->has_scheme = t->req.scheme && t->req.scheme_len < sizeof rec->scheme;
    if (rec->has_scheme)
        memcpy(rec->scheme, t->req.scheme, t->req.scheme_len);
    rec->has_via = t->via_connect != NULL;
    if (t->via_connect)
        snprintf(rec->via, sizeof rec->via, "%s", t->via_connect);
    committed(rt);
}

void cs_report_thread_flow_end(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                               const struct cs_flow_info *info)
{
    struct cs_report_thread *rt = ctx;
    struct rec_flow_end *rec = (struct rec_flow_end *)reserve(rt, pad8(sizeof *rec));
    if (!rec) {
        wait_idle(rt);
        cs_report_flow_end(rt->report, f, why, info);
        return;
    }
    rec->h.kind = REC_FLOW_END;
    rec->h.size = (uint32_t)pad8(sizeof *rec);
    rec->flow = *f;
    rec->why = why;
    rec->info = *info;
    committed(rt);
}

bool cs_report_thread_output_failed(struct cs_report_thread *rt)
{
    return atomic_load_explicit(&rt->output_failed, memory_order_relaxed);
}

void cs_report_thread_stop(struct cs_report_thread *rt)
{
    if (!rt)
        return;
    publish(rt);
    pthread_mutex_lock(&rt->mu);
    rt->stopping = true;
    pthread_cond_signal(&rt->filled);
    pthread_mutex_unlock(&rt->mu);
    pthread_join(rt->thread, NULL);
    pthread_cond_destroy(&rt->filled);
    pthread_cond_destroy(&rt->emptied);
    pthread_mutex_destroy(&rt->mu);
    for (int i = 0; i < CS_REPORT_BATCHES; i++)
        free(rt->slots[i].buf);
    free(rt->headers[0]);
    free(rt->headers[1]);
    free(rt);
}
