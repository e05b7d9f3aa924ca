/* HTTP/1.x as a row of the table of application protocols (app_proto.h):
 * the parser of http.c behind the table's interface, and its messages
 * turned into the protocol-neutral struct cs_txn the report reads. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app_proto.h"
#include "flow.h"
#include "http.h"

static enum cs_app_probe http1_probe(int dir, const uint8_t *p, uint32_t n)
{
    int r = dir == CS_DIR_C2S ? cs_http_looks_like_request(p, n) : cs_http_looks_like_response(p, n);
    return r > 0 ? CS_PROBE_YES : r < 0 ? CS_PROBE_NEED_MORE
                                        : CS_PROBE_NO;
}

static uint32_t txn_flags(const struct cs_http_msg *m)
{
    return ((m->flags & CS_MSG_HEADERS_CUT) ? CS_TXN_HEADERS_CUT : 0) |
           ((m->flags & CS_MSG_HEADER_GAP) ? CS_TXN_HEADER_GAP : 0);
}

static const corscope_header *field(const corscope_header *h, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (h[i].name_len == len && strncasecmp(h[i].name, name, len) == 0)
            return &h[i];
    return NULL;
}

/* Whether a comma list value holds token tok (any case). */
static bool has_token(const corscope_header *h, const char *tok)
{
    size_t len = strlen(tok);
    const char *v = h ? h->value : NULL, *e = v ? v + h->value_len : NULL;
    while (v && v < e) {
        while (v < e && (*v == ' ' || *v == '\t' || *v == ','))
            v++;
        const char *s = v;
        while (v < e && *v != ',' && *v != ' ' && *v != '\t')
            v++;
        if ((size_t)(v - s) == len && strncasecmp(s, tok, len) == 0)
            return true;
    }
    return false;
}

static const struct cs_http_tunnel_ops tunnel_ops = {cs_handover_event, cs_handover_finish};

/* The exchange switched the connection away from HTTP/1: a CONNECT 2xx
 * tunnel or an h2c upgrade goes on in another row (app_handover.c); other
 * upgrades (WebSocket) are not followed.  True when the exchange was
 * reported here (the CONNECT) or is left to the h2 row (h2c). */
static bool hand_over(const struct cs_app_out *out, const struct cs_http_txn *h, const struct cs_txn *t)
{
    struct cs_app_env *env = out->env;
    if (!env)
        return false;
    const struct cs_http_msg *rq = h->req, *rs = h->resp;
    struct cs_handover *ho = NULL;
    if (rs->status != 101) {
        /* the CONNECT exchange is reported first, then its tunnel's */
        out->txn(out->ctx, t);
        ho = cs_handover_connect(env, out, rq->uri, rq->uri_len);
        if (ho)
            cs_http_conn_set_tunnel(h->conn, &tunnel_ops, ho);
        return true;
    } else if (has_token(field(rq->headers, rq->n_headers, "upgrade"), "h2c") &&
               has_token(field(rs->headers, rs->n_headers, "upgrade"), "h2c")) {
        const corscope_header *set = field(rq->headers, rq->n_headers, "http2-settings");
        ho = cs_handover_h2c(env, out, t, set ? set->value : NULL, set ? set->value_len : 0);
    }
    if (!ho)
        return false;
    cs_http_conn_set_tunnel(h->conn, &tunnel_ops, ho);
    return true;
}

/* The response's lines as corscope_response wants them when some are read
 * by Chromium alone (rs->n_chromium_only: whitespace before the colon,
 * http.c): in a copy (*heap, NULL if out of memory: then in wire order,
 * read by both), those lines last, each group in wire order. */
static void chromium_only_last(corscope_response *r, const struct cs_http_msg *rs,
                               corscope_header **heap)
{
    corscope_header *h = malloc(rs->n_headers * sizeof *h);
    if (!h)
        return;
    size_t both = 0, alone = rs->n_headers - rs->n_chromium_only;
    for (uint32_t i = 0; i < rs->n_headers; i++) {
        const corscope_header *l = &rs->headers[i];
        h[cs_http_ws_before_colon(l) ? alone++ : both++] = *l;
    }
    *heap = h;
    r->headers = h;
    r->n_chromium_only = rs->n_chromium_only;
    r->lines = CORSCOPE_LINES_WS_BEFORE_COLON;
}

static bool line_has_cr(const corscope_header *l)
{
    return memchr(l->name, '\r', l->name_len) || memchr(l->value, '\r', l->value_len);
}

/* A response block with a bare CR (cs_http_odd_bytes): Firefox reads the
 * lines as the HTTP stage split them, less those with whitespace before
 * the colon, with the CR inside; Chromium reads the lines it makes of the
 * block (cs_http_chromium_lines).  A line without CR reads the same to
 * both.  So in a copy (*heap), as corscope_response wants them: Firefox's
 * lines with a CR, then the common ones, then Chromium's other lines (at
 * most CHROMIUM_EXTRA more than twice the stage's lines: a hostile block
 * of CRs stays bounded).  Out of memory: as the stage split them. */
#define CHROMIUM_EXTRA 32u
static void bare_cr_lines(corscope_response *r, const struct cs_http_msg *rs,
                          corscope_header **heap)
{
    uint32_t max_ch = 2 * rs->n_headers + CHROMIUM_EXTRA;
    corscope_header *h = malloc(((size_t)rs->n_headers + max_ch) * sizeof *h);
    corscope_header *ch = malloc((size_t)max_ch * sizeof *ch);
    if (!h || !ch) {
        free(h);
        free(ch);
        return;
    }
    size_t n_ff = 0, both = 0;
    for (uint32_t i = 0; i < rs->n_headers; i++) {
        const corscope_header *l = &rs->headers[i];
        if (!cs_http_ws_before_colon(l) && line_has_cr(l))
            h[n_ff++] = *l;
    }
    corscope_header *common = h + n_ff;
    for (uint32_t i = 0; i < rs->n_headers; i++) {
        const corscope_header *l = &rs->headers[i];
        if (!cs_http_ws_before_colon(l) && !line_has_cr(l))
            common[both++] = *l;
    }
    uint32_t n_ch = cs_http_chromium_lines(rs->block, rs->block_len, ch, max_ch);
    size_t j = 0, n_alone = 0; /* the common lines are among Chromium's, same bytes, same order */
    for (uint32_t i = 0; i < n_ch; i++) {
        if (j < both && common[j].name == ch[i].name)
            j++;
        else
            common[both + n_alone++] = ch[i];
    }
    free(ch);
    *heap = h;
    r->headers = h;
    r->n_headers = both + n_ff + n_alone;
    r->n_firefox_only = n_ff;
    r->n_chromium_only = n_alone;
    r->lines = CORSCOPE_LINES_BARE_CR;
}

/* The parser's transaction, as the seam's. */
static void http1_txn(void *ctx, const struct cs_http_txn *h)
{
    const struct cs_app_out *out = ctx;
    const struct cs_http_msg *rq = h->req, *rs = h->resp;
    struct cs_txn t = {
        .transport = CS_TRANSPORT_HTTP1,
        .req = {rq->method, rq->method_len, rq->uri, rq->uri_len, rq->headers, rq->n_headers},
        .end = h->end,
        .interim_status = h->interim_status,
        .req_flags = txn_flags(rq),
        .req_frame = rq->frame,
        .req_ts = rq->ts,
        .end_frame = h->end_frame,
        .end_ts = h->end_ts,
        .index = h->index,
        .req_block = rq->block,
        .req_block_len = rq->block_len,
    };
    corscope_header *reordered = NULL;
    if (!rq->method || rq->version == 9) /* HTTP/0.9 has no headers */
        t.req_flags |= CS_TXN_NO_HEADERS;
    unsigned odd = rs && rs->block ? cs_http_odd_bytes(rs->block, rs->block_len) : 0;
    if (odd & CS_HTTP_ODD_NUL) {
        /* Both browsers refuse a header block with a NUL (tests/browser
         * nul-in-other-value: Firefox CORSDidNotSucceed, Chromium
         * net::ERR_INVALID_HTTP_RESPONSE): for them there is no response. */
        t.end = CS_TXN_MALFORMED;
    } else if (rs) {
        t.has_resp = true;
        t.resp = (corscope_response){.status = rs->status,
                                     .headers = rs->headers,
                                     .n_headers = rs->n_headers,
                                     .status_form = rs->status_form,
                                     .firefox_http09 = rs->firefox_http09,
                                     .chromium_http09 = rs->chromium_http09};
        if (odd & CS_HTTP_ODD_BARE_CR)
            bare_cr_lines(&t.resp, rs, &reordered);
        else if (rs->n_chromium_only)
            chromium_only_last(&t.resp, rs, &reordered);
        t.resp_flags = txn_flags(rs);
        t.resp_frame = rs->frame;
        t.resp_ts = rs->ts;
        t.resp_block = rs->block;
        t.resp_block_len = rs->block_len;
        /* 101, or CONNECT answered 2xx: the connection stops being HTTP */
        if (rs->status == 101 || (rs->status / 100 == 2 && rq->method_len == 7 &&
                                  memcmp(rq->method, "CONNECT", 7) == 0))
            t.resp_flags |= CS_TXN_SWITCHES;
    }
    /* an h2c upgrade is reported once, as stream 1 of the h2 row (its
     * response comes there, with the 101 as its interim status) */
    if ((t.resp_flags & CS_TXN_SWITCHES) && hand_over(out, h, &t)) {
        free(reordered);
        return;
    }
    out->txn(out->ctx, &t);
    free(reordered);
}

/* The row's state shared by its flows (the pipeline's counters block):
 * the counters first (held_bytes, summarize and the pipeline read them
 * there), then the pool of request entries. */
struct http1_shared {
    struct cs_http_stats stats;
    struct cs_http_pool pool;
};

static void *http1_open(struct cs_app_env *env, const struct cs_app_out *out)
{
    struct http1_shared *sh = env->stats;
    struct cs_http_conn *c = cs_http_conn_new(env->limits, &sh->stats, http1_txn, (void *)out);
    if (c)
        cs_http_conn_set_pool(c, &sh->pool);
    return c;
}

static void http1_event(void *conn, int dir, const struct cs_stream_event *ev)
{
    cs_http_conn_event(conn, dir, ev);
}

static void http1_finish(void *conn, enum cs_txn_end why, uint64_t frame, cs_time_ns ts)
{
    cs_http_conn_finish(conn, why, frame, ts);
}

static void http1_prefetch(const void *conn)
{
    cs_http_conn_prefetch(conn);
}

static uint64_t http1_held_bytes(const void *stats)
{
    return ((const struct cs_http_stats *)stats)->held_bytes;
}

static void http1_summarize(const void *stats, struct cs_summary *s)
{
    s->http = *(const struct cs_http_stats *)stats;
}

static void http1_release(void *stats)
{
    cs_http_pool_drain(&((struct http1_shared *)stats)->pool);
}

const struct cs_app_proto cs_app_http1 = {
    .name = "HTTP/1",
    .stats_size = sizeof(struct http1_shared),
    .probe = http1_probe,
    .open = http1_open,
    .event = http1_event,
    .finish = http1_finish,
    .prefetch = http1_prefetch,
    .held_bytes = http1_held_bytes,
    .summarize = http1_summarize,
    .release = http1_release,
};
