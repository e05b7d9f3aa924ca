/* HTTP/1.x per-connection state machine: stream events of both directions ->
 * messages -> request/response transactions.  The line scanning itself is in
 * http_scan.c, body framing (RFC 9112 §6.3) in http_framing.c, the FIFO of
 * waiting requests and pairing in http_pair.c; this file owns buffering,
 * every change of a direction's state, gaps and resynchronisation.
 *
 * Each direction gathers one header block at a time in its own buffer
 * (grown up to limits.max_header_bytes) and scans it in place when the empty
 * line arrives.  A request's block is then copied into one allocation that
 * lives in the connection's FIFO until its response (or the end) is seen;
 * a response is reported straight from the server direction's buffer. */
#include "http_int.h"

struct cs_http_conn *cs_http_conn_new(const struct cs_limits *limits,
                                      struct cs_http_stats *stats,
                                      cs_http_txn_cb cb, void *ctx)
{
    struct cs_http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->lim = limits;
    c->stats = stats;
    c->cb = cb;
    c->ctx = ctx;
    return c;
}

void cs_http_conn_set_pool(struct cs_http_conn *c, struct cs_http_pool *pool)
{
    c->pool = pool;
}

void cs_http_conn_prefetch(const struct cs_http_conn *c)
{
    for (size_t off = 0; off < sizeof *c; off += 64)
        __builtin_prefetch((const char *)c + off);
    __builtin_prefetch((const char *)c + sizeof *c - 1);
}

/* The head in front of d->buf (which must be allocated). */
static struct gather_head *gather_head(const struct cs_http_dir *d)
{
    return (struct gather_head *)(void *)(d->buf - sizeof(struct gather_head));
}

/* Makes d->buf hold at least `need` bytes (after its struct gather_head).
 * 0, or -1 when out of memory.  The buffers' sizes are counted in
 * stats->held_bytes (for --max-memory). */
static int buf_reserve(struct cs_http_conn *c, struct cs_http_dir *d, uint32_t need)
{
    if (need <= d->cap)
        return 0;
    uint32_t cap = d->cap ? d->cap : CS_HTTP_BUF_INITIAL;
    while (cap < need)
        cap = cap > UINT32_MAX / 2 ? need : cap * 2;
    /* no doubling past what a block may hold (the byte cap and the framing
     * lines kept past it) */
    uint64_t most = (uint64_t)c->lim->max_header_bytes + CS_HTTP_FRAMING_EXTRA;
    if (cap > most && need <= most)
        cap = (uint32_t)most;
    char *b = realloc(d->buf ? (char *)gather_head(d) : NULL, sizeof(struct gather_head) + cap);
    if (!b)
        return -1;
    c->stats->held_bytes += cap - d->cap;
    d->buf = b + sizeof(struct gather_head);
    d->cap = cap;
    return 0;
}

static void buf_release(struct cs_http_conn *c, struct cs_http_dir *d)
{
    if (!d->buf)
        return;
    c->stats->held_bytes -= d->cap;
    free(gather_head(d));
    d->buf = NULL;
    d->cap = 0;
}

static void msg_reset(struct cs_http_dir *d)
{
    d->len = 0;
    d->line_bytes = 0;
    d->first_done = false;
    d->msg_flags = 0;
    d->maybe09 = false;
}


/* The direction lost its place (gap or framing error): forget the partial
 * message and look for a start line from the next byte on. */
static void lose_sync(struct cs_http_conn *c, struct cs_http_dir *d)
{
    if (!d->resync) {
        d->resync = true;
        c->stats->resyncs++;
    }
    c->stats->garbage_bytes += d->len;
    msg_reset(d);
    d->st = ST_MSG;
    if (d == &c->dir[CS_DIR_C2S])
        c->body_req = NULL;
}

static void set_body_state(struct cs_http_conn *c, struct cs_http_dir *d, enum framing f, uint64_t len)
{
    switch (f) {
    case FR_NONE: d->st = ST_MSG; break;
    case FR_LEN:
        d->st = ST_BODY_LEN;
        d->remaining = len;
        break;
    case FR_CHUNKED: d->st = ST_CHUNK_SIZE; break;
    case FR_CLOSE: d->st = ST_BODY_CLOSE; break;
    case FR_ERROR:
        /* The message itself was reported; what follows cannot be framed. */
        c->stats->framing_errors++;
        msg_reset(d);
        lose_sync(c, d);
        break;
    }
}

/* A request that may take the connection away from HTTP/1 when its answer
 * says so: CONNECT (2xx), or one asking for an Upgrade (101). */
static bool may_switch(const struct cs_http_msg *m)
{
    if (m->method_len == 7 && memcmp(m->method, "CONNECT", 7) == 0)
        return true;
    /* the first byte before the call: Referer, nearly always sent, is
     * the other 7-byte name */
    for (uint32_t i = 0; i < m->n_headers; i++)
        if (m->headers[i].name_len == 7 && (m->headers[i].name[0] | 0x20) == 'u' &&
            strncasecmp(m->headers[i].name, "upgrade", 7) == 0)
            return true;
    return false;
}

/* A complete request: its framing decides the client direction's next
 * state, and it waits in the FIFO for its response. */
static void handle_request(struct cs_http_conn *c, struct cs_http_dir *d, struct cs_http_msg *m,
                           const char *blk, uint32_t len)
{
    uint64_t blen = 0;
    enum framing f = m->version == 9 ? FR_NONE : cs_http_body_framing(m, true, &blen);
    if (f == FR_CHUNKED)
        m->flags |= CS_MSG_CHUNKED;
    cs_http_queue_request(c, m, blk, len, f == FR_LEN || f == FR_CHUNKED);
    if (m->version == 9) {
        d->st = ST_DEAD; /* HTTP/0.9: one request per connection */
        return;
    }
    set_body_state(c, d, f, blen);
    if (d->st == ST_MSG && may_switch(m)) {
        d->st = ST_AWAIT;
        c->await = c->n_requests; /* the request just queued */
    }
}

/* The client bytes held while a request that may switch the connection
 * waited for its answer, which kept the connection HTTP (or that outgrew
 * the budget): parsed as HTTP after all. */
static void feed(struct cs_http_conn *c, int dir, const uint8_t *p, uint32_t n, uint64_t frame,
                 cs_time_ns ts);
static void release_await(struct cs_http_conn *c)
{
    struct cs_http_dir *d = &c->dir[CS_DIR_C2S];
    c->await = 0;
    if (d->st != ST_AWAIT)
        return;
    d->st = ST_MSG;
    uint32_t n = d->len;
    uint64_t frame = d->frame;
    cs_time_ns ts = d->ts;
    uint8_t *held = n ? malloc(n) : NULL;
    if (held)
        memcpy(held, d->buf, n);
    d->len = 0;
    buf_release(c, d);
    if (held)
        feed(c, CS_DIR_C2S, held, n, frame, ts);
    free(held);
}

/* 101 or a CONNECT answered 2xx: the connection stops being HTTP. */
static void upgrade(struct cs_http_conn *c)
{
    c->stats->upgrades++;
    for (int i = 0; i < 2; i++) {
        c->dir[i].switched = c->dir[i].st != ST_DEAD; /* not after its FIN */
        c->dir[i].st = ST_DEAD;
    }
    /* what the client sent before the answer came is the tunnel's */
    struct cs_http_dir *d = &c->dir[CS_DIR_C2S];
    c->await = 0;
    if (d->switched && d->len && c->tun) {
        struct cs_stream_event ev = {
            .kind = CS_STREAM_DATA, .data = (const uint8_t *)d->buf, .len = d->len, .frame = d->frame, .ts = d->ts};
        c->tun_ops->event(c->tun, CS_DIR_C2S, &ev);
    }
    d->len = 0;
    buf_release(c, d);
}

void cs_http_conn_set_tunnel(struct cs_http_conn *c, const struct cs_http_tunnel_ops *ops, void *t)
{
    c->tun_ops = ops;
    c->tun = t;
}

/* A stream event after the switch goes to the tunnel, if any: true when
 * this direction switched. */
static bool to_tunnel(struct cs_http_conn *c, int dir, const struct cs_stream_event *ev)
{
    if (!c->dir[dir].switched)
        return false;
    if (c->tun)
        c->tun_ops->event(c->tun, dir, ev);
    return true;
}

/* A complete response: paired with the oldest waiting request (which
 * decides whether a body follows: HEAD, CONNECT), then the server
 * direction's next state from its framing. */
static void handle_response(struct cs_http_conn *c, struct cs_http_dir *d, struct cs_http_msg *m)
{
    c->stats->responses++;
    const struct cs_http_req *r = c->head;
    int st = m->status;
    bool head = false, connect = false;
    if (!r)
        c->stats->orphan_responses++;
    if (st >= 100 && st < 200 && st != 101) {
        /* Interim (RFC 9110 §15.2): the final response is still to come. */
        cs_http_pair_interim(c, st);
        d->st = ST_MSG;
        return;
    }
    bool awaited = false;
    if (r) {
        head = r->msg.method_len == 4 && memcmp(r->msg.method, "HEAD", 4) == 0;
        connect = r->msg.method_len == 7 && memcmp(r->msg.method, "CONNECT", 7) == 0;
        awaited = c->await && r->index + 1 == c->await;
    }
    bool tunnel = st == 101 || (connect && st >= 200 && st < 300);
    uint64_t blen = 0;
    enum framing f = cs_http_body_framing(m, false, &blen);
    if (tunnel || head || st == 204 || st == 304 || (st >= 100 && st < 200))
        f = FR_NONE;
    if (f == FR_CHUNKED)
        m->flags |= CS_MSG_CHUNKED;
    cs_http_pair_answer(c, m);
    if (tunnel) {
        upgrade(c);
        return;
    }
    set_body_state(c, d, f, blen);
    if (awaited)
        release_await(c);
}

/* The server's answer to an HTTP/0.9 request: the rest of the stream. */
static void http09_response(struct cs_http_conn *c, struct cs_http_dir *d, uint64_t frame,
                            cs_time_ns ts)
{
    cs_http_pair_answer09(c, frame, ts);
    msg_reset(d);
    d->st = ST_BODY_CLOSE;
}

/* Builds the message of a whole header block blk[0..len) (start line s,
 * headers h[0..nh); first byte in `frame` at ts) and hands it on; the
 * direction is then between messages (or in a body state).  blk is d->buf
 * or the event's bytes. */
/* The response lines with whitespace before their colon: the scanner
 * trimmed it from the name, so the byte after the name is not the colon.
 * Firefox drops such a line, Chromium reads it (tests/browser
 * ws-before-colon, tab-before-colon); app_http1.c tells the classifier. */
static uint32_t ws_before_colon(const corscope_header *h, uint32_t nh)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < nh; i++)
        n += cs_http_ws_before_colon(&h[i]);
    return n;
}

static void deliver(struct cs_http_conn *c, int dir, struct cs_http_dir *d,
                    const struct cs_http_start *s, const corscope_header *h, uint32_t nh,
                    const char *blk, uint32_t len, uint64_t frame, cs_time_ns ts,
                    uint64_t frame_end)
{
    uint32_t chromium_only = dir == CS_DIR_S2C ? ws_before_colon(h, nh) : 0;
    struct cs_http_msg m = {
        .method = s->method,
        .method_len = s->method_len,
        .uri = s->uri,
        .uri_len = s->uri_len,
        .status = s->status,
        .status_form = s->status_form,
        .firefox_http09 = s->firefox_http09,
        .chromium_http09 = s->chromium_http09,
        .reason = s->reason,
        .reason_len = s->reason_len,
        .version = s->version,
        .headers = h,
        .n_headers = nh,
        .n_chromium_only = chromium_only,
        .frame = frame,
        .ts = ts,
        .frame_end = frame_end,
        .flags = d->msg_flags,
        .block = blk,
        .block_len = len,
    };
    if (m.uri_len > c->lim->max_uri_bytes) {
        m.uri_len = c->lim->max_uri_bytes;
        m.flags |= CS_MSG_URI_CUT;
        c->stats->uri_cap_hits++;
    }
    if (dir == CS_DIR_C2S)
        handle_request(c, d, &m, blk, len);
    else
        handle_response(c, d, &m);
    /* handle_* may have resynced (which resets the message) or set a body state. */
    d->len = 0;
    d->line_bytes = 0;
    d->first_done = false;
    d->msg_flags = 0;
    /* Between messages a direction holds no bytes: give the buffers back
     * (also one a chunked body's size lines left behind, when this block
     * was parsed in place), so thousands of idle keep-alive connections
     * cost no header memory; the next gathered message allocates again. */
    buf_release(c, d);
}

/* A request line without a version was followed by header lines (so it
 * is HTTP/1.0 with the version left out), not just by the empty line that
 * ends the block ("GET /\r\n\r\n" is HTTP/0.9 with an empty line after it,
 * as Zeek reads it) or by part of that line. */
static bool header_lines_after_start(const struct cs_http_dir *d)
{
    uint32_t start_len = gather_head(d)->start_len;
    uint32_t rest = d->len - start_len;
    const char *r = d->buf + start_len;
    if (rest == 0 || (rest == 1 && (r[0] == '\n' || r[0] == '\r')))
        return false;
    return !(rest == 2 && r[0] == '\r' && r[1] == '\n');
}

/* The header block in d->buf is complete (or cut short by FIN): scan it,
 * build the message and hand it on.  The start line was parsed and
 * validated when it arrived (d->start). */
static void complete_block(struct cs_http_conn *c, int dir, struct cs_http_dir *d, uint64_t frame_end)
{
    const char *nl = memchr(d->buf, '\n', d->len);
    uint32_t off = nl ? (uint32_t)(nl - d->buf) + 1 : d->len;
    const struct gathered_start *g = &gather_head(d)->start;
    struct cs_http_start s = {
        .method = g->has & GATHERED_METHOD ? d->buf + g->method_off : NULL,
        .method_len = g->method_len,
        .uri = g->has & GATHERED_URI ? d->buf + g->uri_off : NULL,
        .uri_len = g->uri_len,
        .reason = g->has & GATHERED_REASON ? d->buf + g->reason_off : NULL,
        .reason_len = g->reason_len,
        .status = g->status,
        .status_form = (corscope_status_form)g->status_form,
        .firefox_http09 = g->firefox_http09,
        .chromium_http09 = g->chromium_http09,
        .version = g->version,
    };
    if (d->maybe09) {
        s.version = header_lines_after_start(d) ? 10 : 9;
        d->maybe09 = false;
    }
    uint32_t nh = 0, hcap = 0;
    corscope_header *hdrs = NULL; /* grown as the lines need */
    for (;;) {
        if (cs_http_scan_headers(d->buf, d->len, &off, hdrs, &nh, hcap, &c->stats->bad_header_lines) == 0)
            break;
        uint32_t want = hcap ? hcap * 2 : CS_HTTP_HDRS_INITIAL;
        if (want > c->lim->max_header_lines)
            want = c->lim->max_header_lines;
        corscope_header *h = want > hcap ? realloc(hdrs, want * sizeof *h) : NULL;
        if (!h) {
            c->stats->header_lines_cap_hits++;
            d->msg_flags |= CS_MSG_HEADERS_CUT;
            /* the lines past the cap still frame the body */
            h = realloc(hdrs, ((size_t)hcap + CS_HTTP_FRAMING_FIELDS) * sizeof *h);
            if (h) {
                hdrs = h;
                nh += cs_http_framing_fields(d->buf + off, d->len - off, hdrs + nh,
                                             hcap + CS_HTTP_FRAMING_FIELDS - nh);
            }
            break;
        }
        hdrs = h;
        hcap = want;
    }
    deliver(c, dir, d, &s, hdrs, nh, d->buf, d->len, d->frame, d->ts, frame_end);
    free(hdrs);
}

/* Bytes that cannot start a message: counted, and the direction resyncs. */
static void garbage(struct cs_http_conn *c, struct cs_http_dir *d, uint64_t n)
{
    if (!d->resync) {
        d->resync = true;
        c->stats->resyncs++;
    }
    c->stats->garbage_bytes += n;
}

/* ST_MSG, start line not yet complete: gathers it, rejects garbage early
 * (cs_http_looks_like_*), validates it once its '\n' arrives.  Returns the
 * bytes consumed. */
static uint32_t feed_start_line(struct cs_http_conn *c, int dir, struct cs_http_dir *d,
                                const uint8_t *p, uint32_t n, uint64_t frame, cs_time_ns ts)
{
    const uint8_t *nl = memchr(p, '\n', n);
    uint32_t take = nl ? (uint32_t)(nl - p) + 1 : n;
    if (d->len == 0) {
        d->frame = frame;
        d->ts = ts;
    }
    if ((uint64_t)d->len + take > c->lim->max_header_bytes || buf_reserve(c, d, d->len + take) < 0) {
        /* A start line longer than the whole header budget: not one we keep. */
        c->stats->header_cap_hits++;
        garbage(c, d, (uint64_t)d->len + take);
        d->len = 0;
        if (!nl)
            d->st = ST_SKIP;
        return take;
    }
    memcpy(d->buf + d->len, p, take);
    d->len += take;
    const uint8_t *b = (const uint8_t *)d->buf;
    if (!nl) {
        if (d->len == 1 && b[0] == '\r')
            return take;
        int r = dir == CS_DIR_C2S ? cs_http_looks_like_request(b, d->len)
                                  : cs_http_looks_like_response(b, d->len);
        if (r == 0 && dir == CS_DIR_S2C && c->head && c->head->msg.version == 9) {
            http09_response(c, d, d->frame, d->ts);
            return take;
        }
        if (r == 0) {
            garbage(c, d, d->len);
            d->len = 0;
            d->st = ST_SKIP;
        }
        return take;
    }
    uint32_t ll = d->len - 1;
    if (ll && b[ll - 1] == '\r')
        ll--;
    if (ll == 0) { /* empty line between messages (RFC 9112 §2.2) */
        d->len = 0;
        return take;
    }
    struct cs_http_start s;
    bool allow09 = !d->resync && c->n_requests == 0;
    int rc = dir == CS_DIR_C2S ? cs_http_parse_request_line(d->buf, ll, allow09, &s)
                               : cs_http_parse_status_line(d->buf, ll, &s);
    if (rc < 0 && dir == CS_DIR_S2C && c->head && c->head->msg.version == 9) {
        http09_response(c, d, d->frame, d->ts);
        return take;
    }
    if (rc < 0) {
        garbage(c, d, d->len);
        d->len = 0;
        return take;
    }
    if (d->resync) {
        d->msg_flags |= CS_MSG_AFTER_RESYNC;
        d->resync = false;
    }
    d->first_done = true;
    d->line_bytes = 0;
    gather_head(d)->start = (struct gathered_start){
        .method_off = s.method ? (uint32_t)(s.method - d->buf) : 0,
        .method_len = s.method_len,
        .uri_off = s.uri ? (uint32_t)(s.uri - d->buf) : 0,
        .uri_len = s.uri_len,
        .reason_off = s.reason ? (uint32_t)(s.reason - d->buf) : 0,
        .reason_len = s.reason_len,
        .status = s.status,
        .status_form = (uint8_t)s.status_form,
        .firefox_http09 = s.firefox_http09,
        .chromium_http09 = s.chromium_http09,
        .version = (int8_t)s.version,
        .has = (uint8_t)((s.method ? GATHERED_METHOD : 0) | (s.uri ? GATHERED_URI : 0) |
                         (s.reason ? GATHERED_REASON : 0)),
    };
    if (s.version == 9) {
        /* No version: HTTP/0.9, unless header lines follow (see maybe09). */
        d->maybe09 = true;
        gather_head(d)->start_len = d->len;
    }
    return take;
}

/* ST_MSG at a message boundary, when the whole header block is inside this
 * one event (the common case): the start line is found with memchr, the
 * header lines in one pass (cs_http_scan_block), and the message is
 * reported straight from the event's bytes, without gathering it in d->buf;
 * only a request is copied, once, into the FIFO entry that waits for its
 * response.  Returns
 * the bytes consumed, or 0 when the block needs the gathering path
 * (feed_start_line/feed_headers): it is split across events, hits a cap,
 * has an obs-fold line or more than CS_HTTP_WHOLE_HEADERS lines, or its
 * start line is not a plain valid one (HTTP/0.9, garbage, empty line). */
static uint32_t feed_whole_block(struct cs_http_conn *c, int dir, struct cs_http_dir *d,
                                 const uint8_t *p, uint32_t n, uint64_t frame, cs_time_ns ts)
{
    const char *b = (const char *)p;
    const char *nl = memchr(b, '\n', n);
    if (!nl)
        return 0;
    uint32_t sl = (uint32_t)(nl - b) + 1; /* the start line with its '\n' */
    uint32_t ll = sl - 1;
    if (ll && b[ll - 1] == '\r')
        ll--;
    if (ll == 0)
        return 0;
    struct cs_http_start s;
    bool allow09 = !d->resync && c->n_requests == 0;
    int rc = dir == CS_DIR_C2S ? cs_http_parse_request_line(b, ll, allow09, &s)
                               : cs_http_parse_status_line(b, ll, &s);
    if (rc < 0 || s.version == 9)
        return 0;
    corscope_header h[CS_HTTP_WHOLE_HEADERS];
    uint32_t max = c->lim->max_header_lines < CS_HTTP_WHOLE_HEADERS ? c->lim->max_header_lines
                                                                    : CS_HTTP_WHOLE_HEADERS;
    uint32_t nh = 0;
    uint64_t bad = 0;
    int64_t hl = cs_http_scan_block(b + sl, n - sl, h, &nh, max, &bad);
    if (hl < 0 || sl + (uint64_t)hl > c->lim->max_header_bytes)
        return 0;
    c->stats->bad_header_lines += bad;
    if (d->resync) {
        d->msg_flags |= CS_MSG_AFTER_RESYNC;
        d->resync = false;
    }
    uint32_t len = sl + (uint32_t)hl;
    deliver(c, dir, d, &s, h, nh, b, len, frame, ts, frame);
    return len;
}

/* Past the byte cap (d->spill set): of the lines in [s, end), keeps the
 * framing ones (CS_HTTP_FRAMING_*) at the end of buf, so that the cut
 * block still frames its body; the others' bytes are dropped.  The line
 * being gathered lives in buf from d->spill on. */
static void keep_framing_lines(struct cs_http_conn *c, struct cs_http_dir *d, const uint8_t *s,
                               const uint8_t *end)
{
    uint32_t limit = c->lim->max_header_bytes + CS_HTTP_FRAMING_EXTRA;
    if (d->spill > d->len)
        d->spill = d->len; /* (set where the cut was made; never past the block) */
    while (s < end) {
        const uint8_t *nl = memchr(s, '\n', (size_t)(end - s));
        const uint8_t *stop = nl ? nl + 1 : end;
        uint32_t piece = (uint32_t)(stop - s);
        if (!d->spill_skip) {
            uint64_t line = (uint64_t)d->len - d->spill + piece;
            if (line > CS_HTTP_FRAMING_LINE || d->spill + line > limit ||
                buf_reserve(c, d, d->spill + (uint32_t)line) < 0) {
                d->spill_skip = true;
                d->len = d->spill;
            } else {
                memcpy(d->buf + d->len, s, piece);
                d->len += piece;
            }
        }
        if (nl) {
            uint32_t n = d->len - d->spill;
            if (n && d->buf[d->spill + n - 1] == '\n')
                n--;
            if (n && d->buf[d->spill + n - 1] == '\r')
                n--;
            if (!d->spill_skip && cs_http_is_framing_line(d->buf + d->spill, n))
                d->spill = d->len; /* kept */
            else
                d->len = d->spill;
            d->spill_skip = false;
        }
        s = stop;
    }
}

/* ST_MSG after the start line: finds the empty line that ends the block with
 * memchr, appends what belongs to the block (up to the byte cap), and
 * completes it.  Returns the bytes consumed. */
static uint32_t feed_headers(struct cs_http_conn *c, int dir, struct cs_http_dir *d,
                             const uint8_t *p, uint32_t n, uint64_t frame)
{
    const uint8_t *q = p, *e = p + n;
    bool done = false;
    while (q < e) {
        const uint8_t *nl = memchr(q, '\n', (size_t)(e - q));
        if (!nl) {
            if (d->line_bytes == 0)
                d->line_first = *q;
            d->line_bytes += (uint64_t)(e - q);
            q = e;
            break;
        }
        uint64_t ll = d->line_bytes + (uint64_t)(nl - q);
        uint8_t first = d->line_bytes ? d->line_first : (nl > q ? *q : 0);
        d->line_bytes = 0;
        q = nl + 1;
        if (ll == 0 || (ll == 1 && first == '\r')) {
            done = true;
            break;
        }
    }
    uint32_t take = (uint32_t)(q - p), copy = 0;
    if (!(d->msg_flags & CS_MSG_HEADERS_CUT)) {
        uint32_t room = c->lim->max_header_bytes > d->len ? c->lim->max_header_bytes - d->len : 0;
        copy = take < room ? take : room;
        if (buf_reserve(c, d, d->len + copy) < 0)
            copy = 0;
        memcpy(d->buf + d->len, p, copy);
        d->len += copy;
        if (copy < take) {
            d->msg_flags |= CS_MSG_HEADERS_CUT;
            c->stats->header_cap_hits++;
            /* the line the cut fell in is now the first line past it */
            const char *last = memrchr(d->buf, '\n', d->len);
            d->spill = last ? (uint32_t)(last - d->buf) + 1 : d->len;
            d->spill_skip = false;
        }
    }
    if (copy < take)
        keep_framing_lines(c, d, p + copy, q);
    if (done)
        complete_block(c, dir, d, frame);
    return take;
}

/* Gathers one line for the chunk states.  With store, its bytes (without
 * '\n') go to d->buf up to CS_HTTP_MAX_CHUNK_LINE (*too_long is set beyond).
 * Returns bytes consumed; *complete when the '\n' was seen. */
static uint32_t feed_line(struct cs_http_conn *c, struct cs_http_dir *d, const uint8_t *p,
                          uint32_t n, bool store,
                          bool *complete, bool *too_long)
{
    const uint8_t *nl = memchr(p, '\n', n);
    uint32_t seg = nl ? (uint32_t)(nl - p) : n;
    if (d->line_bytes == 0 && seg > 0)
        d->line_first = p[0];
    if (store) {
        if ((uint64_t)d->len + seg <= CS_HTTP_MAX_CHUNK_LINE && buf_reserve(c, d, CS_HTTP_MAX_CHUNK_LINE) == 0) {
            memcpy(d->buf + d->len, p, seg);
            d->len += seg;
        } else {
            *too_long = true;
        }
    }
    d->line_bytes += seg;
    *complete = nl != NULL;
    return nl ? seg + 1 : n;
}

static bool line_is_empty(const struct cs_http_dir *d)
{
    return d->line_bytes == 0 || (d->line_bytes == 1 && d->line_first == '\r');
}

static void body_done(struct cs_http_conn *c, int dir, struct cs_http_dir *d)
{
    msg_reset(d);
    d->st = ST_MSG;
    if (dir == CS_DIR_C2S)
        c->body_req = NULL;
}

/* n bytes (no more than d->remaining) of a body or chunk were passed, seen
 * or lost in a gap: the message or the chunk may be over. */
static void body_bytes(struct cs_http_conn *c, int dir, struct cs_http_dir *d, uint64_t n)
{
    d->remaining -= n;
    if (d->remaining > 0)
        return;
    if (d->st == ST_BODY_LEN) {
        body_done(c, dir, d);
    } else {
        d->st = ST_CHUNK_END;
        d->line_bytes = 0;
    }
}

/* Everything of one DATA event, state by state.  Each state consumes at
 * least one byte per turn, so the loop ends. */
static void feed(struct cs_http_conn *c, int dir, const uint8_t *p, uint32_t n,
                 uint64_t frame, cs_time_ns ts)
{
    struct cs_http_dir *d = &c->dir[dir];
    struct cs_http_dir *cd = &c->dir[CS_DIR_C2S];
    if (dir == CS_DIR_S2C && cd->maybe09 && cd->st == ST_MSG && cd->first_done) {
        /* The server answers a request line without a version: the request
         * is complete as it is (HTTP/0.9 unless header lines came). */
        if (header_lines_after_start(cd))
            cd->msg_flags |= CS_MSG_INCOMPLETE;
        complete_block(c, CS_DIR_C2S, cd, frame);
    }
    while (n > 0) {
        uint32_t k = n;
        bool complete = false, too_long = false;
        switch (d->st) {
        case ST_AWAIT:
            if (d->len == 0) {
                d->frame = frame;
                d->ts = ts;
            }
            if ((uint64_t)d->len + n <= c->lim->max_header_bytes && buf_reserve(c, d, d->len + n) == 0) {
                memcpy(d->buf + d->len, p, n);
                d->len += n;
                return;
            }
            release_await(c); /* more than a tunnel's first bytes: HTTP after all */
            continue;
        case ST_DEAD:
            if (c->tun && c->dir[dir].switched) {
                struct cs_stream_event ev = {
                    .kind = CS_STREAM_DATA, .data = p, .len = n, .frame = frame, .ts = ts};
                c->tun_ops->event(c->tun, dir, &ev);
            }
            return;
        case ST_MSG:
            if (dir == CS_DIR_S2C && d->len == 0 && !d->first_done && c->head &&
                c->head->msg.version == 9 && cs_http_looks_like_response(p, n) == 0) {
                /* HTTP/0.9: the response is the rest of the stream, with no
                 * status line.  A server that answers with a status line
                 * anyway is parsed as one (feed_start_line decides when the
                 * first bytes are too few to tell). */
                http09_response(c, d, frame, ts);
                continue;
            }
            if (!d->first_done && d->len == 0) {
                k = feed_whole_block(c, dir, d, p, n, frame, ts);
                if (k)
                    break;
            }
            k = d->first_done ? feed_headers(c, dir, d, p, n, frame)
                              : feed_start_line(c, dir, d, p, n, frame, ts);
            break;
        case ST_SKIP: {
            const uint8_t *nl = memchr(p, '\n', n);
            if (nl) {
                k = (uint32_t)(nl - p) + 1;
                d->st = ST_MSG;
            }
            c->stats->garbage_bytes += k;
            break;
        }
        case ST_BODY_LEN:
        case ST_CHUNK_DATA:
            if (d->remaining < k)
                k = (uint32_t)d->remaining;
            body_bytes(c, dir, d, k);
            break;
        case ST_CHUNK_SIZE: {
            /* A size line whole in this event is parsed where it is: a
             * chunked body then needs no buffer (hundreds of connections
             * sit in one at a time); a split one is gathered in d->buf. */
            const char *line = d->buf;
            uint32_t ll;
            const uint8_t *nl = d->line_bytes == 0 ? memchr(p, '\n', n) : NULL;
            if (nl && (uint32_t)(nl - p) <= CS_HTTP_MAX_CHUNK_LINE) {
                line = (const char *)p;
                ll = (uint32_t)(nl - p);
                k = ll + 1;
                complete = true;
            } else {
                k = feed_line(c, d, p, n, true, &complete, &too_long);
                ll = d->len;
            }
            if (too_long)
                d->msg_flags |= CS_MSG_HEADERS_CUT; /* marks the line as unusable */
            if (complete) {
                uint64_t size = 0;
                /* a line cut for its length was not kept (line may be
                 * NULL with ll counting what went by): not read */
                bool bad = (d->msg_flags & CS_MSG_HEADERS_CUT) || !line;
                if (!bad && ll && line[ll - 1] == '\r')
                    ll--;
                bad = bad || cs_http_parse_chunk_size(line, ll, &size) < 0;
                d->len = 0;
                d->line_bytes = 0;
                d->msg_flags = 0;
                if (bad) {
                    c->stats->framing_errors++;
                    lose_sync(c, d);
                } else if (size == 0) {
                    d->st = ST_TRAILERS;
                } else {
                    d->st = ST_CHUNK_DATA;
                    d->remaining = size;
                }
            }
            break;
        }
        case ST_CHUNK_END:
        case ST_TRAILERS:
            k = feed_line(c, d, p, n, false, &complete, &too_long);
            if (complete) {
                bool empty = line_is_empty(d);
                d->line_bytes = 0;
                if (d->st == ST_CHUNK_END) {
                    if (empty) {
                        d->st = ST_CHUNK_SIZE;
                    } else {
                        c->stats->framing_errors++;
                        lose_sync(c, d);
                    }
                } else if (empty) {
                    body_done(c, dir, d);
                }
            }
            break;
        case ST_BODY_CLOSE:
            break;
        }
        p += k;
        n -= k;
    }
}

/* A gap of len bytes.  Inside a known-length body or chunk it is just
 * skipped (CS_MSG_BODY_GAP); anywhere else, or when its length is unknown
 * (CS_STREAM_GAP_UNKNOWN: lost TLS records), the direction resyncs. */
static void gap(struct cs_http_conn *c, int dir, uint32_t len, uint64_t frame, cs_time_ns ts)
{
    struct cs_http_dir *d = &c->dir[dir];
    bool unknown = len == CS_STREAM_GAP_UNKNOWN;
    c->stats->gaps++;
    if (!unknown)
        c->stats->gap_bytes += len;
    if (d->st == ST_DEAD)
        return;
    if (unknown && dir == CS_DIR_C2S && c->body_req)
        c->body_req->msg.flags |= CS_MSG_BODY_GAP;
    if (!unknown && (d->st == ST_BODY_LEN || d->st == ST_CHUNK_DATA) && len <= d->remaining) {
        if (dir == CS_DIR_C2S && c->body_req)
            c->body_req->msg.flags |= CS_MSG_BODY_GAP;
        body_bytes(c, dir, d, len);
        return;
    }
    /* A header block cut by the gap is still a message: report what was
     * seen (the judge then knows the headers are incomplete), so the
     * request keeps its place in the pairing order. */
    if (d->st == ST_MSG && d->first_done) {
        d->msg_flags |= CS_MSG_INCOMPLETE | CS_MSG_HEADER_GAP;
        complete_block(c, dir, d, frame);
    }
    lose_sync(c, d);
    if (dir == CS_DIR_S2C)
        cs_http_fifo_gap(c, frame, ts);
}

/* A header block still open when the direction ends is completed as it is,
 * flagged CS_MSG_INCOMPLETE (only if its start line was whole). */
static void finish_partial(struct cs_http_conn *c, int dir, uint64_t frame)
{
    struct cs_http_dir *d = &c->dir[dir];
    if (d->st == ST_MSG && d->first_done) {
        if (!d->maybe09 || header_lines_after_start(d))
            d->msg_flags |= CS_MSG_INCOMPLETE;
        complete_block(c, dir, d, frame);
    }
}

void cs_http_conn_event(struct cs_http_conn *c, int dir, const struct cs_stream_event *ev)
{
    if (!c || (dir != CS_DIR_C2S && dir != CS_DIR_S2C))
        return;
    if (ev->kind != CS_STREAM_DATA && to_tunnel(c, dir, ev))
        return;
    switch (ev->kind) {
    case CS_STREAM_DATA:
        if (ev->data && ev->len)
            feed(c, dir, ev->data, ev->len, ev->frame, ev->ts);
        break;
    case CS_STREAM_GAP:
        gap(c, dir, ev->len, ev->frame, ev->ts);
        break;
    case CS_STREAM_FIN:
        finish_partial(c, dir, ev->frame);
        c->dir[dir].st = ST_DEAD;
        /* A client may half-close after its request; only the server's FIN
         * means no more responses. */
        if (dir == CS_DIR_S2C)
            cs_http_fifo_flush(c, CS_TXN_CLOSED, ev->frame, ev->ts);
        break;
    case CS_STREAM_RST:
        c->dir[0].st = ST_DEAD;
        c->dir[1].st = ST_DEAD;
        cs_http_fifo_flush(c, CS_TXN_RESET, ev->frame, ev->ts);
        break;
    }
}

void cs_http_conn_finish(struct cs_http_conn *c, enum cs_txn_end why, uint64_t frame, cs_time_ns ts)
{
    if (!c)
        return;
    finish_partial(c, CS_DIR_C2S, frame);
    finish_partial(c, CS_DIR_S2C, frame);
    cs_http_fifo_flush(c, why, frame, ts);
    if (c->tun)
        c->tun_ops->finish(c->tun, why, frame, ts);
    for (int i = 0; i < 2; i++)
        buf_release(c, &c->dir[i]);
    free(c);
}
