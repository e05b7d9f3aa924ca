/* HTTP/1.x pairing: body framing of complete messages (RFC 9112 §6.3), the
 * FIFO of requests waiting for their responses (one allocation each, holding
 * a copy of the header block), and the transactions reported from it.  The
 * byte-level state machine that feeds it is http.c. */
#include "http_int.h"

void cs_http_req_free(struct cs_http_conn *c, struct cs_http_req *r)
{
    c->stats->held_bytes -= r->bytes;
    free(r);
}

/* ---- the FIFO of waiting requests and reporting ---- */

void cs_http_report(struct cs_http_conn *c, struct cs_http_req *r, const struct cs_http_msg *resp,
                   enum cs_txn_end end, uint64_t frame, cs_time_ns ts)
{
    struct cs_http_txn t = {
        .req = &r->msg, .resp = resp, .interim_status = r->interim_status, .end = end,
        .index = r->index, .end_frame = frame, .end_ts = ts,
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

/* Chooses the body framing of a message from its headers.  Transfer-Encoding
 * wins over Content-Length; chunked must be the last coding, otherwise a
 * response is close-delimited and a request is an error. */
enum framing cs_http_body_framing(const struct cs_http_msg *m, bool is_request, uint64_t *len)
{
    bool te = false, chunked = false, have_cl = false, bad_cl = false;
    uint64_t cl = 0;
    for (uint32_t i = 0; i < m->n_headers; i++) {
        const corscope_header *h = &m->headers[i];
        /* The length first: most names are neither. */
        if (h->name_len == 17 && cs_http_name_eq8(h->name, "transfer-encoding", 17)) {
            te = true;
            chunked = cs_http_te_chunked_last(h->value, h->value_len) == 1;
        } else if (h->name_len == 14 && cs_http_name_eq8(h->name, "content-length", 14)) {
            uint64_t v;
            if (cs_http_parse_content_length(h->value, h->value_len, &v) < 0 || (have_cl && v != cl))
                bad_cl = true;
            have_cl = true;
            cl = v;
        }
    }
    if (te)
        return chunked ? FR_CHUNKED : (is_request ? FR_ERROR : FR_CLOSE);
    if (bad_cl)
        return FR_ERROR;
    if (have_cl) {
        *len = cl;
        return cl ? FR_LEN : FR_NONE;
    }
    return is_request ? FR_NONE : FR_CLOSE;
}

/* A pointer into the block at `from`, moved to the same offset in `to`. */
static const char *rebase(const char *p, const char *from, char *to)
{
    return p ? to + (p - from) : NULL;
}

/* A request's block blk[0..len) (d->buf, or the event's bytes) is copied
 * with its header array into the FIFO entry that waits for the response. */
void cs_http_handle_request(struct cs_http_conn *c, struct cs_http_dir *d, struct cs_http_msg *m,
                           const char *blk, uint32_t len)
{
    c->stats->requests++;
    if (m->version == 9)
        c->stats->http09++;
    uint64_t blen = 0;
    enum framing f = m->version == 9 ? FR_NONE : cs_http_body_framing(m, true, &blen);
    if (f == FR_CHUNKED)
        m->flags |= CS_MSG_CHUNKED;

    size_t hbytes = (size_t)m->n_headers * sizeof(corscope_header);
    size_t rbytes = sizeof(struct cs_http_req) + hbytes + len;
    struct cs_http_req *r = malloc(rbytes);
    if (r) {
        r->bytes = rbytes;
        c->stats->held_bytes += rbytes;
    }
    if (!r) {
        /* Out of memory: the request cannot wait; report it now. */
        struct cs_http_req tmp = { .msg = *m, .index = c->n_requests++ };
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
        for (uint32_t i = 0; i < m->n_headers; i++) {
            h[i] = m->headers[i];
            h[i].name = rebase(m->headers[i].name, blk, copy);
            h[i].value = rebase(m->headers[i].value, blk, copy);
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
        c->body_req = (f == FR_LEN || f == FR_CHUNKED) ? r : NULL;
    }
    if (m->version == 9) {
        d->st = ST_DEAD;            /* HTTP/0.9: one request per connection */
        return;
    }
    cs_http_set_body_state(c, d, f, blen);
}

/* ---- complete header blocks ---- */

void cs_http_upgrade(struct cs_http_conn *c)
{
    c->stats->upgrades++;
    c->dir[0].st = ST_DEAD;
    c->dir[1].st = ST_DEAD;
}

void cs_http_handle_response(struct cs_http_conn *c, struct cs_http_dir *d, struct cs_http_msg *m)
{
    c->stats->responses++;
    struct cs_http_req *r = c->head;
    int st = m->status;
    bool head = false, connect = false;
    if (!r)
        c->stats->orphan_responses++;
    if (st >= 100 && st < 200 && st != 101) {
        /* Interim (RFC 9110 §15.2): the final response is still to come. */
        if (r)
            r->interim_status = st;
        d->st = ST_MSG;
        return;
    }
    if (r) {
        head = r->msg.method_len == 4 && memcmp(r->msg.method, "HEAD", 4) == 0;
        connect = r->msg.method_len == 7 && memcmp(r->msg.method, "CONNECT", 7) == 0;
    }
    bool tunnel = st == 101 || (connect && st >= 200 && st < 300);
    uint64_t blen = 0;
    enum framing f = cs_http_body_framing(m, false, &blen);
    if (tunnel || head || st == 204 || st == 304 || (st >= 100 && st < 200))
        f = FR_NONE;
    if (f == FR_CHUNKED)
        m->flags |= CS_MSG_CHUNKED;
    if (r) {
        cs_http_fifo_pop(c);
        cs_http_report(c, r, m, CS_TXN_ANSWERED, m->frame_end, m->ts);
        cs_http_req_free(c, r);
    }
    if (tunnel) {
        cs_http_upgrade(c);
        return;
    }
    cs_http_set_body_state(c, d, f, blen);
}

/* The server's answer to an HTTP/0.9 request: the rest of the stream, with
 * no status line.  Reported as status 0, version 9. */
void cs_http09_response(struct cs_http_conn *c, struct cs_http_dir *d, uint64_t frame,
                            cs_time_ns ts)
{
    struct cs_http_req *r = cs_http_fifo_pop(c);
    struct cs_http_msg m = { .version = 9, .frame = frame, .ts = ts, .frame_end = frame };
    c->stats->responses++;
    if (r) {
        cs_http_report(c, r, &m, CS_TXN_ANSWERED, frame, ts);
        cs_http_req_free(c, r);
    }
    cs_http_msg_reset(d);
    d->st = ST_BODY_CLOSE;
}

