/* HTTP/1.x pairing: the FIFO of requests waiting for their responses (one
 * allocation each, holding a copy of the header block), and the
 * transactions reported from it.  It only queues, pairs and reports: every
 * change of a direction's state is the state machine's (http.c), which
 * calls here and is never called back. */
#include "http_int.h"

/* The size class of an entry of `bytes` (struct cs_http_pool). */
static size_t pool_class(size_t bytes)
{
    return (bytes + CS_HTTP_POOL_CLASS - 1) / CS_HTTP_POOL_CLASS;
}

/* An entry for a request of rbytes bytes: with a pool, one of its class
 * from the pool or a new one of the whole class (so that it can go back). */
static struct cs_http_req *req_alloc(struct cs_http_conn *c, size_t rbytes)
{
    struct cs_http_pool *p = c->pool;
    size_t k = pool_class(rbytes);
    if (!p || k > CS_HTTP_POOL_CLASS_MAX)
        return malloc(rbytes);
    for (unsigned i = p->n; i-- > 0;)
        if (p->cls[i] == k) {
            struct cs_http_req *r = p->r[i];
            p->n--;
            p->r[i] = p->r[p->n];
            p->cls[i] = p->cls[p->n];
            return r;
        }
    return malloc(k * CS_HTTP_POOL_CLASS);
}

void cs_http_req_free(struct cs_http_conn *c, struct cs_http_req *r)
{
    c->stats->held_bytes -= r->bytes;
    struct cs_http_pool *p = c->pool;
    size_t k = pool_class(r->bytes);
    if (!p || k > CS_HTTP_POOL_CLASS_MAX) {
        free(r);
        return;
    }
    unsigned i = p->n;
    if (i < CS_HTTP_POOL_MAX) {
        p->n++;
    } else { /* full: an older entry makes room, so the pool follows the sizes in use */
        i = p->next_out++ % CS_HTTP_POOL_MAX;
        free(p->r[i]);
    }
    p->cls[i] = (uint16_t)k;
    p->r[i] = r;
}

void cs_http_pool_drain(struct cs_http_pool *p)
{
    while (p->n)
        free(p->r[--p->n]);
}

/* ---- the FIFO of waiting requests and reporting ---- */

void cs_http_report(struct cs_http_conn *c, struct cs_http_req *r, const struct cs_http_msg *resp,
                    enum cs_txn_end end, uint64_t frame, cs_time_ns ts)
{
    struct cs_http_txn t = {
        .req = &r->msg,
        .resp = resp,
        .interim_status = r->interim_status,
        .end = end,
        .index = r->index,
        .end_frame = frame,
        .end_ts = ts,
        .conn = c,
    };
    c->stats->transactions++;
    if (end != CS_TXN_ANSWERED)
        c->stats->unanswered++;
    if (c->cb)
        c->cb(c->ctx, &t);
}

struct cs_http_req *cs_http_fifo_pop(struct cs_http_conn *c)
{
    struct cs_http_req *r = c->head;
    if (!r)
        return NULL;
    c->head = r->next;
    if (!c->head)
        c->tail = NULL;
    c->n_waiting--;
    if (c->body_req == r)
        c->body_req = NULL;
    return r;
}

/* Reports and frees every waiting request with `end`. */
void cs_http_fifo_flush(struct cs_http_conn *c, enum cs_txn_end end, uint64_t frame, cs_time_ns ts)
{
    struct cs_http_req *r;
    while ((r = cs_http_fifo_pop(c)) != NULL) {
        cs_http_report(c, r, NULL, end, frame, ts);
        cs_http_req_free(c, r);
    }
}

/* Server-direction gap outside a known-length body: we cannot know how many
 * responses were lost.  Heuristic (simple, explainable): every request that
 * was already sent when the gap was revealed (request frame <= gap frame) is
 * reported as CS_TXN_GAP; requests sent after it stay waiting and pair with
 * the responses found after resynchronisation. */
void cs_http_fifo_gap(struct cs_http_conn *c, uint64_t frame, cs_time_ns ts)
{
    struct cs_http_req **pp = &c->head, *r, *last = NULL;
    while ((r = *pp) != NULL) {
        if (r->msg.frame <= frame) {
            *pp = r->next;
            c->n_waiting--;
            if (c->body_req == r)
                c->body_req = NULL;
            cs_http_report(c, r, NULL, CS_TXN_GAP, frame, ts);
            cs_http_req_free(c, r);
        } else {
            last = r;
            pp = &r->next;
        }
    }
    c->tail = last;
}

/* A pointer into the block at `from`, moved to the same offset in `to`. */
static const char *rebase(const char *p, const char *from, char *to)
{
    return p ? to + (p - from) : NULL;
}

/* A request's block blk[0..len) (d->buf, or the event's bytes) is copied
 * with its header array into the FIFO entry that waits for the response;
 * has_body: the client sends a body next (a gap in it marks this request). */
void cs_http_queue_request(struct cs_http_conn *c, const struct cs_http_msg *m,
                           const char *blk, uint32_t len, bool has_body)
{
    c->stats->requests++;
    if (m->version == 9)
        c->stats->http09++;

    size_t hbytes = (size_t)m->n_headers * sizeof(corscope_header);
    size_t rbytes = sizeof(struct cs_http_req) + hbytes + len;
    struct cs_http_req *r = req_alloc(c, rbytes);
    if (r) {
        r->bytes = rbytes;
        c->stats->held_bytes += rbytes;
    }
    if (!r) {
        /* Out of memory: the request cannot wait; report it now. */
        struct cs_http_req tmp = {.msg = *m, .index = c->n_requests++};
        c->stats->pipeline_cap_hits++;
        cs_http_report(c, &tmp, NULL, CS_TXN_EVICTED, m->frame_end, 0);
    } else {
        if (c->n_waiting >= c->lim->max_pipeline) {
            struct cs_http_req *old = cs_http_fifo_pop(c);
            c->stats->pipeline_cap_hits++;
            if (old) {
                cs_http_report(c, old, NULL, CS_TXN_EVICTED, m->frame, m->ts);
                cs_http_req_free(c, old);
            }
        }
        corscope_header *h = (corscope_header *)(r + 1);
        char *copy = (char *)h + hbytes;
        memcpy(copy, blk, len);
        r->next = NULL;
        r->msg = *m;
        r->msg.method = rebase(m->method, blk, copy);
        r->msg.uri = rebase(m->uri, blk, copy);
        r->msg.reason = rebase(m->reason, blk, copy);
        /* a header line's strings are never NULL (cs_http_scan_block
         * points both into the block): each moves by the same distance */
        uintptr_t delta = (uintptr_t)copy - (uintptr_t)blk;
        const corscope_header *src = m->headers;
        for (uint32_t i = 0; i < m->n_headers; i++) {
            h[i].name = (const char *)((uintptr_t)src[i].name + delta);
            h[i].name_len = src[i].name_len;
            h[i].value = (const char *)((uintptr_t)src[i].value + delta);
            h[i].value_len = src[i].value_len;
        }
        r->msg.headers = h;
        r->msg.block = copy;
        r->index = c->n_requests++;
        r->interim_status = 0;
        if (c->tail)
            c->tail->next = r;
        else
            c->head = r;
        c->tail = r;
        c->n_waiting++;
        c->body_req = has_body ? r : NULL;
    }
}

/* ---- responses ---- */

/* An interim (1xx) response: remembered on the oldest waiting request. */
void cs_http_pair_interim(struct cs_http_conn *c, int status)
{
    if (c->head)
        c->head->interim_status = status;
}

/* A final response m answers the oldest waiting request, if any: reported
 * and freed. */
void cs_http_pair_answer(struct cs_http_conn *c, const struct cs_http_msg *m)
{
    struct cs_http_req *r = cs_http_fifo_pop(c);
    if (r) {
        cs_http_report(c, r, m, CS_TXN_ANSWERED, m->frame_end, m->ts);
        cs_http_req_free(c, r);
    }
}

/* The server's answer to an HTTP/0.9 request: the rest of the stream, with
 * no status line.  Reported as status 0, version 9. */
void cs_http_pair_answer09(struct cs_http_conn *c, uint64_t frame, cs_time_ns ts)
{
    struct cs_http_msg m = {.version = 9, .frame = frame, .ts = ts, .frame_end = frame};
    c->stats->responses++;
    cs_http_pair_answer(c, &m);
}
