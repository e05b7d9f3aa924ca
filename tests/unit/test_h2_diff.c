/* Differential test of the HTTP/2 stage (src/h2_frame.c + src/h2_conn.c)
 * against libnghttp2's own session parser.
 *
 * Each round runs a real nghttp2 client and server session against each
 * other in memory (their send callbacks write into buffers that are handed
 * to the peer with nghttp2_session_mem_recv), with seeded random requests
 * (duplicate fields, split cookies, values large enough for CONTINUATION,
 * bodies), random 1xx responses, bodies and trailers, server pushes,
 * client and server RST_STREAM, and SETTINGS_HEADER_TABLE_SIZE changes
 * both ways.  The recorded byte streams are then fed, in their real order
 * and cut into random pieces, to cs_h2_conn; and the client bytes alone to
 * a third, receive-only nghttp2 server session (nghttp2_session_server_new
 * + mem_recv, never sending).  Per stream the header lists must be equal:
 * requests (ours = the live server's = the receive-only server's),
 * responses and trailers (ours = the live client's); a stream the client
 * saw reset without a response must be RESET for us too. */
#include "h2_testutil.h"

#define ROUNDS 300
#define MAX_STREAMS 64 /* stream ids < 2 * MAX_STREAMS */
#define MAX_CHUNKS 4096

/* ---- seeded PRNG (xorshift64*) ---- */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
static uint32_t rn(uint32_t n)
{
    return n ? (uint32_t)(rnd() % n) : 0;
}

/* ---- what one side's nghttp2 session saw, per stream ---- */

/* The header blocks of one stream in arrival order, each as text. */
struct blocks {
    struct hb b[8];
    int n;
};

struct side {
    nghttp2_session *s;
    int dir; /* the direction this session SENDS */
    struct blocks st[2 * MAX_STREAMS];
    uint32_t close_error[2 * MAX_STREAMS];
    bool closed[2 * MAX_STREAMS];
    uint32_t push_promises;
};

/* A recorded exchange: every byte each side sent, and in which order. */
struct chunk {
    int dir;
    size_t off, len;
};
struct exchange {
    struct hb bytes[2];
    struct chunk ch[MAX_CHUNKS];
    int n_ch;
    size_t delivered[2];
};

struct body {
    size_t left;
    bool trailers;
};

struct round {
    struct exchange ex;
    struct side cli, srv;
    struct body bodies[2 * MAX_STREAMS];
    int responded[2 * MAX_STREAMS];
    nghttp2_settings_entry srv_settings; /* what the live server announced */
    size_t n_srv_settings;
};

static struct round *cur;

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)s;
    (void)flags;
    struct side *sd = ud;
    struct exchange *ex = &cur->ex;
    if (ex->n_ch < MAX_CHUNKS && ex->n_ch > 0 && ex->ch[ex->n_ch - 1].dir == sd->dir)
        ex->ch[ex->n_ch - 1].len += len;
    else if (ex->n_ch < MAX_CHUNKS)
        ex->ch[ex->n_ch++] = (struct chunk){sd->dir, ex->bytes[sd->dir].len, len};
    else
        abort();
    hb_put(&ex->bytes[sd->dir], data, len);
    return (ssize_t)len;
}

static int begin_headers_cb(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    struct side *sd = ud;
    int32_t id = f->hd.type == NGHTTP2_PUSH_PROMISE ? f->push_promise.promised_stream_id
                                                    : f->hd.stream_id;
    if (id <= 0 || id >= 2 * MAX_STREAMS || f->hd.type == NGHTTP2_PUSH_PROMISE)
        return 0;
    struct blocks *bl = &sd->st[id];
    if (bl->n < 8)
        bl->n++;
    hb_put(&bl->b[bl->n - 1], "", 0);
    return 0;
}

static int header_cb(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                     size_t nl, const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    (void)s;
    (void)flags;
    struct side *sd = ud;
    int32_t id = f->hd.stream_id;
    if (f->hd.type == NGHTTP2_PUSH_PROMISE || id <= 0 || id >= 2 * MAX_STREAMS)
        return 0;
    struct blocks *bl = &sd->st[id];
    if (bl->n == 0)
        return 0;
    struct hb *b = &bl->b[bl->n - 1];
    hb_put(b, name, nl);
    hb_str(b, ": ");
    hb_put(b, value, vl);
    hb_str(b, "\n");
    return 0;
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
                         uint32_t *dflags, nghttp2_data_source *src, void *ud)
{
    (void)ud;
    struct body *b = src->ptr;
    size_t k = b->left < len ? b->left : len;
    memset(buf, 'b', k);
    b->left -= k;
    if (b->left == 0) {
        *dflags |= NGHTTP2_DATA_FLAG_EOF;
        if (b->trailers) {
            static const nghttp2_nv tr[] = {
                {(uint8_t *)"x-trailer", (uint8_t *)"done", 9, 4, 0},
                {(uint8_t *)"x-checksum", (uint8_t *)"0123abcd", 10, 8, 0},
            };
            *dflags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            nghttp2_submit_trailer(s, id, tr, 2);
        }
    }
    return (ssize_t)k;
}

/* ---- random fields ---- */

static const char *const NAMES[] = {
    "accept",
    "origin",
    "cookie",
    "user-agent",
    "access-control-request-method",
    "access-control-request-headers",
    "authorization",
    "x-requested-with",
    "content-type",
    "referer",
    "sec-fetch-mode",
    "x-custom",
    "cache-control",
    "priority",
};
static const char *const RESP_NAMES[] = {
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "vary",
    "content-type",
    "set-cookie",
    "cache-control",
    "x-custom",
    "access-control-max-age",
};

/* A value of n bytes (printable, no leading/trailing space: RFC 9113 §8.2.1). */
static char *rand_value(size_t n)
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_.;=/ ,*";
    char *v = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        v[i] = al[rn(sizeof al - 1)];
    if (n) {
        v[0] = 'v';
        v[n - 1] = 'e';
    }
    v[n] = 0;
    return v;
}

struct nvs {
    nghttp2_nv v[40];
    char *own[40];
    size_t n, nown;
};

static void nv_add(struct nvs *a, const char *name, const char *value, bool own_value)
{
    a->v[a->n++] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value),
                                rn(4) == 0 ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE};
    if (own_value)
        a->own[a->nown++] = (char *)value;
}

static void nv_free(struct nvs *a)
{
    for (size_t i = 0; i < a->nown; i++)
        free(a->own[i]);
    a->n = a->nown = 0;
}

static size_t value_len(void)
{
    uint32_t r = rn(100);
    return r < 80 ? 1 + rn(40) : r < 94 ? 40 + rn(400)
                                        : 5000 + rn(12000);
}

static void rand_fields(struct nvs *a, const char *const *names, size_t nn, int count)
{
    for (int i = 0; i < count; i++) {
        const char *name = names[rn((uint32_t)nn)];
        nv_add(a, name, rand_value(value_len()), true);
        if (rn(5) == 0) /* the same name again (duplicates, cookie crumbs) */
            nv_add(a, name, rand_value(1 + rn(20)), true);
    }
}

/* ---- the server reacts to each request ---- */

static int frame_recv_cb(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct side *sd = ud;
    if (sd->dir == CS_DIR_S2C && f->hd.type == NGHTTP2_HEADERS &&
        f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        int32_t id = f->hd.stream_id;
        if (id <= 0 || id >= 2 * MAX_STREAMS || cur->responded[id])
            return 0;
        cur->responded[id] = 1;
        uint32_t what = rn(10);
        if (what == 0) {
            nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
            return 0;
        }
        if (what == 1) {
            static const nghttp2_nv early[] = {{(uint8_t *)":status", (uint8_t *)"103", 7, 3, 0},
                                               {(uint8_t *)"link", (uint8_t *)"</a.css>", 4, 8, 0}};
            nghttp2_submit_headers(s, NGHTTP2_FLAG_NONE, id, NULL, early, 2, NULL);
        }
        if (what == 2) {
            static const nghttp2_nv push[] = {
                {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
                {(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0},
                {(uint8_t *)":authority", (uint8_t *)"api.example.com", 10, 15, 0},
                {(uint8_t *)":path", (uint8_t *)"/pushed.js", 5, 10, 0}};
            int32_t pid = nghttp2_submit_push_promise(s, NGHTTP2_FLAG_NONE, id, push, 4, NULL);
            if (pid > 0) {
                static const nghttp2_nv pr[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
                                                {(uint8_t *)"x-pushed", (uint8_t *)"1", 8, 1, 0}};
                nghttp2_submit_response(s, pid, pr, 2, NULL);
            }
        }
        static const char *const statuses[] = {"200", "204", "301", "403", "404", "500"};
        struct nvs a = {0};
        nv_add(&a, ":status", statuses[rn(6)], false);
        rand_fields(&a, RESP_NAMES, sizeof RESP_NAMES / sizeof *RESP_NAMES, (int)rn(8));
        struct body *b = &cur->bodies[id];
        /* A 204 has no content (RFC 9110 §15.3.5): the client would reset
         * the stream, which is not what this test is about. */
        bool no_content = strcmp(a.v[0].value == NULL ? "" : (const char *)a.v[0].value, "204") == 0;
        b->left = rn(3) && !no_content ? rn(3000) : 0;
        b->trailers = rn(4) == 0 && !no_content;
        nghttp2_data_provider dp = {.source.ptr = b, .read_callback = body_read};
        nghttp2_submit_response(s, id, a.v, a.n, b->left || b->trailers ? &dp : NULL);
        nv_free(&a);
    }
    return 0;
}

static int stream_close_cb(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    (void)s;
    struct side *sd = ud;
    if (id > 0 && id < 2 * MAX_STREAMS) {
        sd->closed[id] = true;
        sd->close_error[id] = err;
    }
    return 0;
}

static int frame_recv_count_cb(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct side *sd = ud;
    if (f->hd.type == NGHTTP2_PUSH_PROMISE)
        sd->push_promises++;
    return frame_recv_cb(s, f, ud);
}

static nghttp2_session_callbacks *make_callbacks(bool with_send)
{
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    if (with_send)
        nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, begin_headers_cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, header_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, frame_recv_count_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, stream_close_cb);
    return cb;
}

/* Hands each side what the other sent since the last call. */
static void deliver(struct round *r)
{
    struct side *to[2] = {&r->srv, &r->cli};
    for (int d = 0; d < 2; d++) {
        size_t n = r->ex.bytes[d].len - r->ex.delivered[d];
        if (n) {
            nghttp2_session_mem_recv(to[d]->s, r->ex.bytes[d].p + r->ex.delivered[d], n);
            r->ex.delivered[d] += n;
        }
    }
}

static void run_sessions(struct round *r)
{
    nghttp2_session_callbacks *cb = make_callbacks(true);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 65536);
    r->cli.dir = CS_DIR_C2S;
    r->srv.dir = CS_DIR_S2C;
    nghttp2_session_client_new2(&r->cli.s, cb, &r->cli, opt);
    nghttp2_session_server_new2(&r->srv.s, cb, &r->srv, opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);

    static const uint32_t sizes[] = {0, 64, 256, 4096, 8192, 65536};
    nghttp2_settings_entry cs[2] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
                                    {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, sizes[rn(6)]}};
    nghttp2_submit_settings(r->cli.s, NGHTTP2_FLAG_NONE, cs, rn(2) ? 2 : 1);
    r->srv_settings = (nghttp2_settings_entry){NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, sizes[rn(6)]};
    r->n_srv_settings = rn(2);
    nghttp2_submit_settings(r->srv.s, NGHTTP2_FLAG_NONE, &r->srv_settings, r->n_srv_settings);

    int n_req = 1 + (int)rn(12);
    static const char *const methods[] = {"GET", "POST", "OPTIONS", "PUT", "DELETE"};
    for (int i = 0; i < n_req; i++) {
        struct nvs a = {0};
        nv_add(&a, ":method", methods[rn(5)], false);
        nv_add(&a, ":scheme", "https", false);
        nv_add(&a, ":authority", rn(2) ? "api.example.com" : "api.example.com:8443", false);
        char *path = rand_value(1 + rn(60));
        path[0] = '/';
        for (char *q = path; *q; q++) /* a request-target has no spaces */
            if (*q == ' ')
                *q = '_';
        nv_add(&a, ":path", path, true);
        rand_fields(&a, NAMES, sizeof NAMES / sizeof *NAMES, (int)rn(10));
        struct body *b = &r->bodies[2 * MAX_STREAMS - 1 - i]; /* spare slots for requests */
        b->left = rn(3) == 0 ? rn(800) : 0;
        b->trailers = b->left && rn(3) == 0;
        nghttp2_data_provider dp = {.source.ptr = b, .read_callback = body_read};
        int32_t id = nghttp2_submit_request(r->cli.s, NULL, a.v, a.n,
                                            b->left || b->trailers ? &dp : NULL, NULL);
        nv_free(&a);
        if (id > 0 && rn(12) == 0) {
            nghttp2_session_send(r->cli.s);
            nghttp2_submit_rst_stream(r->cli.s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
        }
        if (rn(3) == 0) { /* interleave: let the sides talk now and then */
            nghttp2_session_send(r->cli.s);
            deliver(r);
            nghttp2_session_send(r->srv.s);
            deliver(r);
        }
    }
    for (int i = 0; i < 200; i++) {
        size_t before = r->ex.bytes[0].len + r->ex.bytes[1].len;
        nghttp2_session_send(r->cli.s);
        deliver(r);
        nghttp2_session_send(r->srv.s);
        deliver(r);
        if (r->ex.bytes[0].len + r->ex.bytes[1].len == before)
            break;
    }
}

/* ---- ours ---- */

struct ours {
    struct hb req[2 * MAX_STREAMS], resp[2 * MAX_STREAMS], resp_tr[2 * MAX_STREAMS],
        req_tr[2 * MAX_STREAMS];
    enum cs_h2_end end[2 * MAX_STREAMS];
    bool seen[2 * MAX_STREAMS], answered[2 * MAX_STREAMS];
    uint32_t n_interim[2 * MAX_STREAMS];
};

static void sec_text(struct hb *b, const struct cs_h2_section *s)
{
    hb_put(b, "", 0);
    for (uint32_t i = 0; i < s->n_fields; i++) {
        hb_put(b, s->fields[i].name, s->fields[i].name_len);
        hb_str(b, ": ");
        hb_put(b, s->fields[i].value, s->fields[i].value_len);
        hb_str(b, "\n");
    }
}

static void ours_cb(void *ctx, const struct cs_h2_txn *t)
{
    struct ours *o = ctx;
    uint32_t id = t->stream_id;
    if (id >= 2 * MAX_STREAMS)
        return;
    o->seen[id] = true;
    o->end[id] = t->end;
    o->answered[id] = t->answered;
    o->n_interim[id] = t->n_interim;
    struct hb *b = &o->req[id];
    hb_put(b, "", 0);
    const char *names[4] = {":method", ":scheme", ":authority", ":path"};
    const char *vals[4] = {t->method, t->scheme, t->authority, t->path};
    uint32_t lens[4] = {t->method_len, t->scheme_len, t->authority_len, t->path_len};
    for (int i = 0; i < 4; i++)
        if (vals[i]) {
            hb_fmt(b, "%s: ", names[i]);
            hb_put(b, vals[i], lens[i]);
            hb_str(b, "\n");
        }
    sec_text(b, &t->req);
    sec_text(&o->req_tr[id], &t->req_trailers);
    if (t->answered) {
        hb_fmt(&o->resp[id], ":status: %03d\n", t->status);
        sec_text(&o->resp[id], &t->resp);
    }
    sec_text(&o->resp_tr[id], &t->resp_trailers);
}

/* Feeds the exchange in its real order, each chunk cut into random pieces
 * (max_piece 0: whole chunks). */
static void run_ours(const struct exchange *ex, struct ours *o, struct cs_h2_stats *st,
                     uint32_t max_piece)
{
    struct cs_h2_limits lim;
    cs_h2_limits_default(&lim, NULL);
    lim.max_header_bytes = 1u << 20; /* the cuts are test_h2's; here every field counts */
    lim.max_header_lines = 1000;
    struct cs_h2_conn *c = cs_h2_conn_new(&lim, st, ours_cb, o);
    uint64_t frame = 0;
    for (int i = 0; i < ex->n_ch; i++) {
        const struct chunk *ch = &ex->ch[i];
        size_t off = 0;
        while (off < ch->len) {
            size_t k = max_piece ? 1 + rn(max_piece) : ch->len;
            if (k > ch->len - off)
                k = ch->len - off;
            feed(c, ch->dir, ex->bytes[ch->dir].p + ch->off + off, k, 0, &frame);
            off += k;
        }
    }
    cs_h2_conn_finish(c, CS_H2_END_UNANSWERED, ++frame, 0);
}

static ssize_t discard_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
                          void *ud)
{
    (void)s, (void)data, (void)flags, (void)ud;
    return (ssize_t)len;
}

/* The receive-only oracle: a server session fed the client's bytes in
 * random pieces.  Its only output, the SETTINGS the live server announced,
 * goes nowhere; it must "send" them so that the client's ACK puts them in
 * effect on its inflater, as on the live server. */
static void run_receive_only(const struct round *r, struct side *ro)
{
    const struct exchange *ex = &r->ex;
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, discard_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, begin_headers_cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, header_cb);
    ro->dir = -1;
    nghttp2_session_server_new(&ro->s, cb, ro);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(ro->s, NGHTTP2_FLAG_NONE, &r->srv_settings, r->n_srv_settings);
    nghttp2_session_send(ro->s);
    const struct hb *b = &ex->bytes[CS_DIR_C2S];
    size_t off = 0;
    while (off < b->len) {
        size_t k = 1 + rn(2000);
        if (k > b->len - off)
            k = b->len - off;
        nghttp2_session_mem_recv(ro->s, b->p + off, k);
        off += k;
    }
    nghttp2_session_del(ro->s);
}

static const char *block(const struct blocks *bl, int i)
{
    return i < bl->n && bl->b[i].p ? (const char *)bl->b[i].p : "";
}

/* The response blocks of a stream as the client saw them: 1xx ones, the
 * final one, trailers. */
static void split_response(const struct blocks *bl, int *n_interim, const char **final,
                           const char **trailers)
{
    *n_interim = 0;
    *final = NULL;
    *trailers = "";
    for (int i = 0; i < bl->n; i++) {
        const char *t = block(bl, i);
        if (!*final && strncmp(t, ":status: 1", 10) == 0)
            (*n_interim)++;
        else if (!*final)
            *final = t;
        else
            *trailers = t;
    }
}

static void free_side(struct side *s)
{
    for (int i = 0; i < 2 * MAX_STREAMS; i++)
        for (int k = 0; k < 8; k++)
            hb_free(&s->st[i].b[k]);
}

static void free_ours(struct ours *o)
{
    for (int i = 0; i < 2 * MAX_STREAMS; i++) {
        hb_free(&o->req[i]);
        hb_free(&o->resp[i]);
        hb_free(&o->resp_tr[i]);
        hb_free(&o->req_tr[i]);
    }
}

static int mismatches, compared_streams, compared_resets, shown;

static void mismatch(int round, uint32_t id, const char *what, const char *want, const char *got)
{
    mismatches++;
    if (shown++ < 3)
        printf("\nround %d stream %u %s:\n--- nghttp2\n%.400s\n--- ours\n%.400s\n", round, id,
               what, want ? want : "(none)", got ? got : "(none)");
}

static void compare(int round, struct round *r, struct side *ro, struct ours *o)
{
    for (uint32_t id = 1; id < 2 * MAX_STREAMS; id += 2) {
        const struct blocks *sreq = &r->srv.st[id], *cresp = &r->cli.st[id];
        bool live_req = sreq->n > 0;
        if (!live_req && !o->seen[id])
            continue;
        compared_streams++;
        const char *got = o->seen[id] ? (const char *)o->req[id].p : NULL;
        if (!got || strcmp(block(sreq, 0), got) != 0)
            mismatch(round, id, "request (live server)", block(sreq, 0), got);
        if (strcmp(block(&ro->st[id], 0), got ? got : "") != 0)
            mismatch(round, id, "request (receive-only server)", block(&ro->st[id], 0), got);
        /* Request trailers against the receive-only server: the live one
         * ignores what follows on a stream it already decided to reset,
         * even when it came earlier on the wire. */
        const char *req_tr = block(&ro->st[id], 1);
        if (o->seen[id] && strcmp(req_tr, o->req_tr[id].p ? (char *)o->req_tr[id].p : "") != 0)
            mismatch(round, id, "request trailers", req_tr, (char *)o->req_tr[id].p);
        int n_interim;
        const char *final, *trailers;
        split_response(cresp, &n_interim, &final, &trailers);
        if (!o->seen[id])
            continue;
        const char *ours_resp = o->answered[id] ? (const char *)o->resp[id].p : NULL;
        if ((final == NULL) != (ours_resp == NULL) ||
            (final && strcmp(final, ours_resp) != 0))
            mismatch(round, id, "response", final, ours_resp);
        if (final && strcmp(trailers, o->resp_tr[id].p ? (char *)o->resp_tr[id].p : "") != 0)
            mismatch(round, id, "response trailers", trailers, (char *)o->resp_tr[id].p);
        if ((uint32_t)n_interim != o->n_interim[id])
            mismatch(round, id, "1xx count", "", "");
        if (!final && r->cli.closed[id] && r->cli.close_error[id] != 0) {
            compared_resets++;
            if (o->end[id] != CS_H2_END_RESET)
                mismatch(round, id, "end (want reset)", "", cs_h2_end_name(o->end[id]));
        }
        if (final && o->end[id] != CS_H2_END_COMPLETE && o->end[id] != CS_H2_END_RESET)
            mismatch(round, id, "end (answered)", "", cs_h2_end_name(o->end[id]));
    }
}

static void test_differential(void)
{
    uint64_t frames = 0, pushes_seen = 0, pushes_want = 0, continuations = 0, bytes = 0;
    for (int round = 0; round < ROUNDS; round++) {
        struct round *r = calloc(1, sizeof *r);
        cur = r;
        run_sessions(r);
        struct side *ro = calloc(1, sizeof *ro);
        run_receive_only(r, ro);
        for (int pass = 0; pass < 2; pass++) {
            struct ours *o = calloc(1, sizeof *o);
            struct cs_h2_stats st = {0};
            run_ours(&r->ex, o, &st, pass ? 1 + rn(1500) : 0);
            compare(round, r, ro, o);
            if (st.protocol_errors || st.hpack_failures || st.held_bytes)
                mismatch(round, 0, "clean connection", "", "errors, HPACK failures or held bytes");
            if (pass == 0) {
                frames += st.frames;
                pushes_seen += st.pushes;
                pushes_want += r->cli.push_promises;
            }
            free_ours(o);
            free(o);
        }
        /* count CONTINUATION frames, to be sure the generator makes them */
        const struct hb *b = &r->ex.bytes[CS_DIR_C2S];
        for (size_t off = CS_H2_PREFACE_LEN; off + 9 <= b->len;) {
            uint32_t len = (uint32_t)b->p[off] << 16 | (uint32_t)b->p[off + 1] << 8 | b->p[off + 2];
            continuations += b->p[off + 3] == CS_H2_CONTINUATION;
            off += 9 + len;
        }
        bytes += r->ex.bytes[0].len + r->ex.bytes[1].len;
        nghttp2_session_del(r->cli.s);
        nghttp2_session_del(r->srv.s);
        free_side(&r->cli);
        free_side(&r->srv);
        free_side(ro);
        free(ro);
        hb_free(&r->ex.bytes[0]);
        hb_free(&r->ex.bytes[1]);
        free(r);
    }
    printf("\n  %d rounds, %llu bytes, %llu frames, %d streams compared (%d resets), "
           "%llu CONTINUATION, %llu pushes\n",
           ROUNDS, (unsigned long long)bytes, (unsigned long long)frames, compared_streams,
           compared_resets, (unsigned long long)continuations, (unsigned long long)pushes_seen);
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT_EQUAL(pushes_seen, pushes_want);
    CU_ASSERT(compared_streams > ROUNDS * 3);
    CU_ASSERT(compared_resets > 10);
    CU_ASSERT(continuations > 20);
    CU_ASSERT(pushes_seen > 10);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"differential vs nghttp2 sessions", test_differential},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("h2_diff", cases);
    return cs_test_run();
}
