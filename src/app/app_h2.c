/* HTTP/2 as a row of the table of application protocols (app_proto.h): the
 * connection stage of h2_conn.c behind the table's interface, and each
 * finished stream turned into the protocol-neutral struct cs_txn the report
 * reads, judged exactly like an HTTP/1.1 exchange.
 *
 * The row works on any in-order byte stream of a connection whose client
 * side starts with the connection preface: cleartext h2 with prior
 * knowledge (the probe below), and, through the same open/event/finish
 * interface, decrypted TLS connections whose ALPN said "h2" (the TLS row
 * hands them to the row named "h2").
 *
 * Field names stay as on the wire (lower case): the classifier's Firefox
 * rule that counts exact-case `Access-Control-Allow-Origin` lines then
 * gives what Firefox does over h2, where it joins several such fields into
 * one value (pcaps/browser/README.md). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app_proto.h"
#include "flow.h"
#include "h2_conn.h"

/* A connection is the h2 stage's struct cs_h2_conn itself, its callback's
 * context the row's struct cs_app_out: nothing more to allocate per
 * connection. */

/* Request fields (host included) that fit on the stack while a transaction
 * is handed over; more take a malloc'd array for that call.  Nothing is
 * kept per connection between transactions. */
#define H2_REQ_FIELDS_LOCAL 64

static enum cs_app_probe h2_probe(int dir, const uint8_t *p, uint32_t n)
{
    if (dir != CS_DIR_C2S)
        return CS_PROBE_NO; /* the server never speaks first in h2 */
    int r = cs_h2_probe(p, n);
    return r > 0 ? CS_PROBE_YES : r < 0 ? CS_PROBE_NEED_MORE
                                        : CS_PROBE_NO;
}

static uint32_t sec_flags(const struct cs_h2_section *s)
{
    return (s->flags & CS_H2_SEC_CUT) ? CS_TXN_HEADERS_CUT : 0;
}

/* How a stream without a final response ended, as the seam's "no response"
 * ends of HTTP/1.1.  RST_STREAM from the server is the one h2 difference a
 * browser shows (Chromium: net::ERR_HTTP2_PROTOCOL_ERROR, Firefox
 * CORSDidNotSucceed); a reset from the client is the page's own abort (the
 * browser cancels the stream, tests/browser gave-up-abort-in-preflight:
 * neither browser reports anything), not a network failure. */
static enum cs_txn_end no_response_end(const struct cs_h2_txn *h)
{
    switch (h->end) {
    case CS_H2_END_RESET:
        return h->rst_by == CS_DIR_S2C ? CS_TXN_STREAM_RESET : CS_TXN_ABORTED;
    case CS_H2_END_GOAWAY:
    case CS_H2_END_CLOSED: return CS_TXN_CLOSED;
    case CS_H2_END_CONN_RESET: return CS_TXN_RESET;
    case CS_H2_END_LOST: return CS_TXN_GAP;
    case CS_H2_END_EVICTED: return CS_TXN_EVICTED;
    case CS_H2_END_CAPTURE_ENDED: return CS_TXN_CAPTURE_ENDED;
    case CS_H2_END_COMPLETE:
    case CS_H2_END_UNANSWERED: break;
    }
    return CS_TXN_UNANSWERED;
}

/* The stage's stream, as the seam's transaction. */
static void h2_txn(void *ctx, const struct cs_h2_txn *h)
{
    const struct cs_app_out *out = ctx;
    corscope_header local[H2_REQ_FIELDS_LOCAL];
    size_t need = (size_t)h->req.n_fields + 1; /* the host from :authority first */
    corscope_header *req_fields = need <= H2_REQ_FIELDS_LOCAL ? local : malloc(need * sizeof *req_fields);
    size_t n_req = req_fields ? cs_h2_txn_request_fields(h, req_fields, need) : 0;
    struct cs_txn t = {
        .transport = CS_TRANSPORT_H2,
        .req = {h->method, h->method_len, h->path, h->path_len, req_fields, n_req,
                h->scheme, h->scheme_len},
        .interim_status = h->interim_status,
        .req_flags = sec_flags(&h->req),
        .req_frame = h->req.frame,
        .req_ts = h->req.ts,
        .end_frame = h->end_frame,
        .end_ts = h->end_ts,
        .index = h->index,
        .stream = h->stream_id,
        .req_block = h->req_block,
        .req_block_len = h->req_block_len,
    };
    if (n_req < (size_t)h->req.n_fields + (h->authority ? 1 : 0))
        t.req_flags |= CS_TXN_HEADERS_CUT; /* out of memory for the list */
    if (h->req.flags & CS_H2_SEC_PARTIAL)
        t.req_flags |= CS_TXN_HEADER_GAP;
    if (h->answered && (h->resp.flags & (CS_H2_SEC_BAD_FIELD | CS_H2_SEC_BAD_PSEUDO))) {
        /* Both browsers refuse a malformed response (tests/browser
         * h2-uppercase-name, h2-value-nul, h2-value-newline,
         * h2-status-after-fields, h2-unknown-pseudo: Firefox
         * CORSDidNotSucceed, Chromium net::ERR_HTTP2_PROTOCOL_ERROR) and
         * reset the stream: for them there is no response to check. */
        t.end = CS_TXN_MALFORMED;
    } else if (h->answered) {
        t.has_resp = true;
        t.end = CS_TXN_ANSWERED;
        t.resp = (corscope_response){.status = h->status,
                                     .headers = h->resp.fields,
                                     .n_headers = h->resp.n_fields,
                                     .status_form = h->status_form};
        t.resp_flags = sec_flags(&h->resp);
        t.resp_frame = h->resp.frame;
        t.resp_ts = h->resp.ts;
        t.resp_block = h->resp_block;
        t.resp_block_len = h->resp_block_len;
    } else {
        t.end = no_response_end(h);
    }
    out->txn(out->ctx, &t);
    if (req_fields != local)
        free(req_fields);
}

/* The row's counters block: the counters (first, for held_bytes and the
 * summary) and the live inflaters all its connections share. */
struct h2_shared {
    struct cs_h2_stats stats;
    struct cs_h2_cache cache;
};

static void *h2_open(struct cs_app_env *env, const struct cs_app_out *out)
{
    struct h2_shared *sh = env->stats;
    struct cs_h2_limits lim;
    cs_h2_limits_default(&lim, env->limits);
    struct cs_h2_conn *c = cs_h2_conn_new(&lim, &sh->stats, h2_txn, (void *)(uintptr_t)out);
    if (c)
        cs_h2_conn_set_cache(c, &sh->cache);
    return c;
}

static void h2_event(void *conn, int dir, const struct cs_stream_event *ev)
{
    cs_h2_conn_event(conn, dir, ev);
}

static int h2_upgrade(void *conn, const struct cs_txn *req, const uint8_t *settings, size_t n)
{
    const corscope_header *host = NULL;
    size_t nf = req->req.n_headers;
    corscope_header *fields = nf ? malloc(nf * sizeof *fields) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < nf; i++) {
        const corscope_header *h = &req->req.headers[i];
        if (h->name_len == 4 && strncasecmp(h->name, "host", 4) == 0) {
            if (!host)
                host = h;
        } else if (fields) {
            fields[k++] = *h;
        }
    }
    struct cs_h2_upgrade u = {
        .method = req->req.method,
        .method_len = (uint32_t)req->req.method_len,
        .path = req->req.target,
        .path_len = (uint32_t)req->req.target_len,
        .authority = host ? host->value : NULL,
        .authority_len = host ? (uint32_t)host->value_len : 0,
        .fields = fields,
        .n_fields = k,
        .frame = req->req_frame,
        .frame_end = req->req_frame,
        .ts = req->req_ts,
        .switch_frame = req->resp_frame,
        .settings = settings,
        .settings_len = n,
    };
    int rc = cs_h2_conn_upgrade(conn, &u);
    free(fields);
    return rc;
}

static enum cs_h2_end h2_end_for(enum cs_txn_end why)
{
    switch (why) {
    case CS_TXN_CLOSED: return CS_H2_END_CLOSED;
    case CS_TXN_RESET: return CS_H2_END_CONN_RESET;
    case CS_TXN_EVICTED: return CS_H2_END_EVICTED;
    case CS_TXN_GAP: return CS_H2_END_LOST;
    case CS_TXN_CAPTURE_ENDED: return CS_H2_END_CAPTURE_ENDED;
    default: return CS_H2_END_UNANSWERED;
    }
}

static void h2_finish(void *conn, enum cs_txn_end why, uint64_t frame, cs_time_ns ts)
{
    cs_h2_conn_finish(conn, h2_end_for(why), frame, ts);
}

static uint64_t h2_held_bytes(const void *stats)
{
    return ((const struct h2_shared *)stats)->stats.held_bytes;
}

static void h2_summarize(const void *stats, struct cs_summary *s)
{
    s->h2 = ((const struct h2_shared *)stats)->stats;
}

const struct cs_app_proto cs_app_h2 = {
    .name = "h2",
    .stats_size = sizeof(struct h2_shared),
    .probe = h2_probe,
    .open = h2_open,
    .event = h2_event,
    .finish = h2_finish,
    .held_bytes = h2_held_bytes,
    .summarize = h2_summarize,
    .upgrade = h2_upgrade,
};
