/* The report stage on its own thread (see report_thread.h).
 *
 * Batches: the pipeline (producer) fills slot `fill` with records; a slot
 * with `full` set belongs to the report thread (consumer), which replays its
 * records in order and clears `full`.  Slots are handed over in ring order,
 * so events reach the report in the order the pipeline produced them.  One
 * mutex guards the `full` flags and `stopping`; record bytes are only ever
 * touched by the side that owns their slot.
 *
 * A record copies what the report reads and nothing it does not: the part
 * of struct cs_flow before its reassemblers (identity, times, counters), and
 * for a transaction each message with its header array and the block of
 * bytes its strings point into.  The message's pointers are rebased onto the
 * copy on the report side. */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report_thread.h"

enum rec_kind { REC_TXN = 1, REC_FLOW_END = 2 };

/* What the report may read of a flow: everything before the reassemblers. */
#define FLOW_SNAP_BYTES offsetof(struct cs_flow, dir)

struct rec_head {
    uint32_t kind;
    uint32_t size;                 /* of the whole record, a multiple of 8 */
};

struct rec_txn {
    struct rec_head h;
    unsigned char flow[FLOW_SNAP_BYTES];
    int interim_status;
    enum cs_txn_end end;
    uint32_t index;
    uint64_t end_frame;
    cs_time_ns end_ts;
    uint32_t has_resp;
    /* then the request's struct rec_msg, then the response's if has_resp */
};

/* A message as sent: its pointers still point into the pipeline's buffers
 * and are rebased from m.block onto the copy that follows the header
 * offsets; the report thread rebuilds the header array from the offsets.
 * Offsets take half the bytes of corscope_header's pointers and lengths,
 * and bytes are what the handover costs: ~2 KB a transaction, all written
 * by one core and read by the other. */
struct rec_msg {
    struct cs_http_msg m;
    /* then struct rec_header[m.n_headers], then m.block_len bytes, padded
     * to 8 (msg_part_size) */
};

struct rec_header {
    uint32_t name_off, name_len, value_off, value_len;   /* into the block */
};

struct rec_flow_end {
    struct rec_head h;
    unsigned char flow[FLOW_SNAP_BYTES];
    enum cs_flow_end why;
    struct cs_flow_info info;
};

struct slot {
    unsigned char *buf;            /* malloc'd, so 16-byte aligned */
    size_t len, cap;
    bool full;                     /* owned by the report thread */
};

struct cs_report_thread {
    struct cs_report *report;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t filled, emptied;
    struct slot slots[CS_REPORT_BATCHES];
    unsigned fill;                 /* the pipeline's slot */
    unsigned drain;                /* the next slot the report thread takes */
    bool stopping;
    struct cs_flow flow;           /* the report thread's view of a flow */
    /* the report thread's header arrays for a request and its response */
    corscope_header *headers[2];
    uint32_t headers_cap[2];
};

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Size of a message's part of a record. */
static size_t msg_part_size(const struct cs_http_msg *m)
{
    return pad8(sizeof(struct rec_msg) + (size_t)m->n_headers * sizeof(struct rec_header) +
                m->block_len);
}

/* --- the report thread ------------------------------------------------- */

static const struct cs_flow *flow_view(struct cs_report_thread *rt, const unsigned char *snap)
{
    memcpy(&rt->flow, snap, FLOW_SNAP_BYTES);
    rt->flow.hash_next = NULL;     /* the pipeline's pointer, meaningless here */
    return &rt->flow;
}

/* A pointer into the pipeline's copy of the block, moved to the same
 * offset in ours. */
static const char *rebase(const char *p, const char *from, const char *to)
{
    return p ? to + ((uintptr_t)p - (uintptr_t)from) : NULL;
}

/* Rebuilds a message onto its copy, its header array in headers[which];
 * returns the part's size.  If that array cannot grow, the message keeps
 * the headers that fit and says so (CS_MSG_HEADERS_CUT). */
static size_t msg_view(struct cs_report_thread *rt, struct rec_msg *rm, int which)
{
    struct cs_http_msg *m = &rm->m;
    size_t size = msg_part_size(m);
    const struct rec_header *rh = (const struct rec_header *)(rm + 1);
    const char *block = (const char *)(rh + m->n_headers);
    if (m->n_headers > rt->headers_cap[which]) {
        corscope_header *h = realloc(rt->headers[which], (size_t)m->n_headers * sizeof *h);
        if (h) {
            rt->headers[which] = h;
            rt->headers_cap[which] = m->n_headers;
        }
    }
    corscope_header *h = rt->headers[which];
    uint32_t n = m->n_headers <= rt->headers_cap[which] ? m->n_headers : rt->headers_cap[which];
    if (n < m->n_headers)
        m->flags |= CS_MSG_HEADERS_CUT;
    for (uint32_t i = 0; i < n; i++)
        h[i] = (corscope_header){ block + rh[i].name_off, rh[i].name_len,
                                  block + rh[i].value_off, rh[i].value_len };
    const char *from = m->block;
    m->method = rebase(m->method, from, block);
    m->uri = rebase(m->uri, from, block);
    m->reason = rebase(m->reason, from, block);
    m->headers = h;
    m->n_headers = n;
    m->block = block;
    return size;
}

static void replay(struct cs_report_thread *rt, unsigned char *p, size_t len)
{
    unsigned char *end = p + len;
    while (p < end) {
        struct rec_head *h = (struct rec_head *)p;
        if (h->kind == REC_TXN) {
            struct rec_txn *rec = (struct rec_txn *)p;
            struct rec_msg *req = (struct rec_msg *)(rec + 1);
            size_t req_size = msg_view(rt, req, 0);
            struct rec_msg *resp = NULL;
            if (rec->has_resp) {
                resp = (struct rec_msg *)((unsigned char *)req + req_size);
                msg_view(rt, resp, 1);
            }
            struct cs_http_txn t = {
                .req = &req->m, .resp = resp ? &resp->m : NULL,
                .interim_status = rec->interim_status, .end = rec->end, .index = rec->index,
                .end_frame = rec->end_frame, .end_ts = rec->end_ts,
            };
            cs_report_txn(rt->report, flow_view(rt, rec->flow), &t);
        } else {
            struct rec_flow_end *rec = (struct rec_flow_end *)p;
            cs_report_flow_end(rt->report, flow_view(rt, rec->flow), rec->why, &rec->info);
        }
        p += h->size;
    }
}

static void *report_main(void *arg)
{
    struct cs_report_thread *rt = arg;
    pthread_setname_np(pthread_self(), "corscope-report");   /* for top -H, perf */
    for (;;) {
        struct slot *s = &rt->slots[rt->drain];
        pthread_mutex_lock(&rt->mu);
        while (!s->full && !rt->stopping)
            pthread_cond_wait(&rt->filled, &rt->mu);
        bool have = s->full;
        pthread_mutex_unlock(&rt->mu);
        if (!have)
            return NULL;           /* stopping, and every batch replayed */
        replay(rt, s->buf, s->len);
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

/* Writes a message's part: the header lines as offsets into the block,
 * then the block.  False when a string of m lies outside its block (the
 * HTTP stage promises it never does; the copy relies on it, so it is
 * checked): then the event goes over synchronously. */
static bool write_msg(unsigned char *p, const struct cs_http_msg *m)
{
    uintptr_t lo = (uintptr_t)m->block, hi = lo + m->block_len;
#define INSIDE(s, n) (!(s) || ((uintptr_t)(s) >= lo && (uintptr_t)(s) + (n) <= hi))
    if (!INSIDE(m->method, m->method_len) || !INSIDE(m->uri, m->uri_len) ||
        !INSIDE(m->reason, m->reason_len))
        return false;
    struct rec_msg *rm = (struct rec_msg *)p;
    rm->m = *m;
    struct rec_header *rh = (struct rec_header *)(rm + 1);
    for (uint32_t i = 0; i < m->n_headers; i++) {
        const corscope_header *h = &m->headers[i];
        if (!h->name || !h->value || !INSIDE(h->name, h->name_len) || !INSIDE(h->value, h->value_len))
            return false;
        rh[i] = (struct rec_header){ (uint32_t)((uintptr_t)h->name - lo), (uint32_t)h->name_len,
                                     (uint32_t)((uintptr_t)h->value - lo), (uint32_t)h->value_len };
    }
#undef INSIDE
    if (m->block_len)
        memcpy(rh + m->n_headers, m->block, m->block_len);
    return true;
}

void cs_report_thread_txn(void *ctx, const struct cs_flow *f, const struct cs_http_txn *t)
{
    struct cs_report_thread *rt = ctx;
    size_t qsize = msg_part_size(t->req);
    size_t ssize = t->resp ? msg_part_size(t->resp) : 0;
    size_t total = sizeof(struct rec_txn) + qsize + ssize;
    unsigned char *p = total <= UINT32_MAX ? reserve(rt, total) : NULL;
    if (p && !(write_msg(p + sizeof(struct rec_txn), t->req) &&
               (!t->resp || write_msg(p + sizeof(struct rec_txn) + qsize, t->resp)))) {
        rt->slots[rt->fill].len -= total;    /* the reservation was the slot's last */
        p = NULL;
    }
    if (!p) {
        wait_idle(rt);
        cs_report_txn(rt->report, f, t);
        return;
    }
    struct rec_txn *rec = (struct rec_txn *)p;
    rec->h.kind = REC_TXN;
    rec->h.size = (uint32_t)(sizeof(struct rec_txn) + qsize + ssize);
    memcpy(rec->flow, f, FLOW_SNAP_BYTES);
    rec->interim_status = t->interim_status;
    rec->end = t->end;
    rec->index = t->index;
    rec->end_frame = t->end_frame;
    rec->end_ts = t->end_ts;
    rec->has_resp = t->resp != NULL;
    committed(rt);
}

void cs_report_thread_flow_end(void *ctx, const struct cs_flow *f, enum cs_flow_end why,
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
    memcpy(rec->flow, f, FLOW_SNAP_BYTES);
    rec->why = why;
    rec->info = *info;
    committed(rt);
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
