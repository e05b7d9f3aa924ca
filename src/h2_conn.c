/* HTTP/2 connection stage: framer events of both directions -> streams ->
 * one transaction per stream.  See h2_conn.h for the rules; this file owns
 * the stream table, the two HPACK inflaters (libnghttp2) and the
 * bookkeeping of what each stream's header blocks said. */
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "flow.h"     /* CS_DIR_C2S, CS_DIR_S2C */
#include "h2_conn.h"

/* The header sections a stream keeps; 1xx fields are not kept (only their
 * status). */
enum { SEC_REQ, SEC_REQ_TRAILERS, SEC_RESP, SEC_RESP_TRAILERS, SEC_N };

/* SETTINGS frames of one side not yet acknowledged by the other (RFC 9113
 * §6.5.3).  Endpoints have one or two outstanding; more are merged into the
 * newest (latest values win), which is what they mean once all are acked. */
#define H2_PENDING_SETTINGS 8

/* Alignment kept in front of each inflater allocation to remember its size. */
#define H2_ALLOC_HDR 16u

struct h2_field {
    uint32_t name_off, name_len, value_off, value_len;
    uint8_t sec;
};

struct h2_sec {
    uint64_t frame, frame_end;
    cs_time_ns ts;
    uint32_t flags;       /* CS_H2_SEC_* */
    uint32_t n, bytes;    /* fields and name+value bytes kept */
    bool seen;
};

struct h2_stream {
    uint32_t id;
    uint64_t seq;                  /* creation order, for eviction */
    struct h2_field *fields;
    uint32_t n_fields, cap_fields;
    char *arena;
    uint32_t arena_len, arena_cap;
    struct h2_sec sec[SEC_N];
    int status, interim_status;
    uint32_t n_interim;
    uint64_t interim_frame;
    bool answered;
    bool c_end, s_end;             /* END_STREAM seen from client / server */
    bool resp_undecodable;         /* a response block came after the s2c HPACK was lost */
};

/* The header block a direction is in the middle of. */
enum blk_kind { BLK_NONE, BLK_DISCARD, BLK_REQUEST, BLK_RESPONSE };

struct h2_pending {
    uint32_t present;              /* bits of CS_H2_SETTINGS_* */
    uint32_t table_size, max_frame_size;
};

struct h2_dir {
    struct cs_h2_conn *conn;
    int dir;
    struct cs_h2_framer fr;
    nghttp2_hd_inflater *inf;
    bool hpack_lost;               /* header decoding stopped for good */
    bool frames_lost;              /* framing stopped for good (implies hpack_lost) */
    bool fin;
    enum blk_kind blk;
    uint32_t blk_stream;
    int blk_sec;
    bool blk_end_stream;
    uint32_t blk_mark_fields, blk_mark_arena;
    struct h2_sec blk_mark_sec;
    struct h2_pending pending[H2_PENDING_SETTINGS];
    uint32_t n_pending;
};

struct cs_h2_conn {
    const struct cs_h2_limits *lim;
    struct cs_h2_stats *stats;
    cs_h2_txn_cb cb;
    void *ctx;
    nghttp2_mem mem;               /* accounting allocator for the inflaters */
    struct h2_dir d[2];
    struct h2_stream **tab;        /* open streams, unordered */
    uint32_t n_streams, tab_cap;
    uint64_t next_seq;
    uint32_t max_client_id;        /* highest client stream id opened */
    uint32_t reported;
    bool marked;
    size_t held;                   /* bytes of this connection counted in stats->held_bytes */
    corscope_header *scratch;      /* fields handed to the callback */
    uint32_t scratch_cap;
};

/* ---- memory accounting ---------------------------------------------------- */

static void account(struct cs_h2_conn *c, ptrdiff_t delta)
{
    c->held += (size_t)delta;
    c->stats->held_bytes += (uint64_t)(int64_t)delta;
}

/* nghttp2_mem callbacks: the inflaters' dynamic tables and buffers are
 * counted in the connection's held bytes, exactly. */
static void *acct_malloc(size_t size, void *ud)
{
    if (size > SIZE_MAX - H2_ALLOC_HDR)
        return NULL;
    unsigned char *p = malloc(size + H2_ALLOC_HDR);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    account(ud, (ptrdiff_t)size);
    return p + H2_ALLOC_HDR;
}

static void acct_free(void *ptr, void *ud)
{
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - H2_ALLOC_HDR;
    size_t size;
    memcpy(&size, p, sizeof size);
    account(ud, -(ptrdiff_t)size);
    free(p);
}

static void *acct_calloc(size_t n, size_t size, void *ud)
{
    if (size && n > (SIZE_MAX - H2_ALLOC_HDR) / size)
        return NULL;
    void *p = acct_malloc(n * size, ud);
    if (p)
        memset(p, 0, n * size);
    return p;
}

static void *acct_realloc(void *ptr, size_t size, void *ud)
{
    if (!ptr)
        return acct_malloc(size, ud);
    if (size > SIZE_MAX - H2_ALLOC_HDR)
        return NULL;
    unsigned char *p = (unsigned char *)ptr - H2_ALLOC_HDR;
    size_t old;
    memcpy(&old, p, sizeof old);
    unsigned char *np = realloc(p, size + H2_ALLOC_HDR);
    if (!np)
        return NULL;
    memcpy(np, &size, sizeof size);
    account(ud, (ptrdiff_t)size - (ptrdiff_t)old);
    return np + H2_ALLOC_HDR;
}

/* ---- limits ----------------------------------------------------------------- */

void cs_h2_limits_default(struct cs_h2_limits *out, const struct cs_limits *l)
{
    out->max_streams = CS_DEFAULT_H2_MAX_STREAMS;
    out->max_header_bytes = l ? l->max_header_bytes : CS_DEFAULT_MAX_HEADER_BYTES;
    out->max_header_lines = l ? l->max_header_lines : CS_DEFAULT_MAX_HEADER_LINES;
}

/* ---- the stream table ------------------------------------------------------- */

static struct h2_stream *stream_find(struct cs_h2_conn *c, uint32_t id)
{
    for (uint32_t i = 0; i < c->n_streams; i++)
        if (c->tab[i]->id == id)
            return c->tab[i];
    return NULL;
}

static size_t stream_bytes(const struct h2_stream *s)
{
    return sizeof *s + s->arena_cap + (size_t)s->cap_fields * sizeof *s->fields;
}

static void stream_free(struct cs_h2_conn *c, struct h2_stream *s)
{
    for (uint32_t i = 0; i < c->n_streams; i++)
        if (c->tab[i] == s) {
            c->tab[i] = c->tab[--c->n_streams];
            break;
        }
    for (int d = 0; d < 2; d++)
        if (c->d[d].blk_stream == s->id && c->d[d].blk > BLK_DISCARD)
            c->d[d].blk = BLK_DISCARD;
    account(c, -(ptrdiff_t)stream_bytes(s));
    free(s->fields);
    free(s->arena);
    free(s);
}

/* Appends one decoded field to section sec of s, within the limits. */
static void stream_add_field(struct cs_h2_conn *c, struct h2_stream *s, int sec,
                             const uint8_t *name, size_t nl, const uint8_t *value, size_t vl)
{
    struct h2_sec *st = &s->sec[sec];
    if (st->n >= c->lim->max_header_lines || nl + vl > c->lim->max_header_bytes ||
        st->bytes + nl + vl > c->lim->max_header_bytes) {
        if (!(st->flags & CS_H2_SEC_CUT))
            c->stats->field_cap_hits++;
        st->flags |= CS_H2_SEC_CUT;
        return;
    }
    size_t before = stream_bytes(s);
    if (s->n_fields == s->cap_fields) {
        uint32_t cap = s->cap_fields ? s->cap_fields * 2 : 16;
        struct h2_field *f = realloc(s->fields, cap * sizeof *f);
        if (!f)
            return;
        s->fields = f;
        s->cap_fields = cap;
    }
    uint32_t need = s->arena_len + (uint32_t)(nl + vl);
    if (need > s->arena_cap || !s->arena) {   /* an arena even for empty fields */
        uint32_t cap = s->arena_cap ? s->arena_cap : 512;
        while (cap < need)
            cap *= 2;
        char *a = realloc(s->arena, cap);
        if (!a) {
            account(c, (ptrdiff_t)(stream_bytes(s) - before));
            return;
        }
        s->arena = a;
        s->arena_cap = cap;
    }
    account(c, (ptrdiff_t)(stream_bytes(s) - before));
    struct h2_field *f = &s->fields[s->n_fields++];
    f->sec = (uint8_t)sec;
    f->name_off = s->arena_len;
    f->name_len = (uint32_t)nl;
    if (nl)
        memcpy(s->arena + s->arena_len, name, nl);
    s->arena_len += (uint32_t)nl;
    f->value_off = s->arena_len;
    f->value_len = (uint32_t)vl;
    if (vl)
        memcpy(s->arena + s->arena_len, value, vl);
    s->arena_len += (uint32_t)vl;
    st->n++;
    st->bytes += (uint32_t)(nl + vl);
}

static bool name_is(const struct h2_stream *s, const struct h2_field *f, const char *lit)
{
    size_t n = strlen(lit);
    return f->name_len == n && memcmp(s->arena + f->name_off, lit, n) == 0;
}

/* ---- reporting --------------------------------------------------------------- */

static int ensure_scratch(struct cs_h2_conn *c, uint32_t n)
{
    if (n <= c->scratch_cap)
        return 0;
    corscope_header *h = realloc(c->scratch, (size_t)n * sizeof *h);
    if (!h)
        return -1;
    account(c, (ptrdiff_t)((n - c->scratch_cap) * sizeof *h));
    c->scratch = h;
    c->scratch_cap = n;
    return 0;
}

/* Fills out's sections and pseudo-header fields from s's stored fields;
 * the regular fields of each section go to c->scratch, in order. */
static void build_txn(struct cs_h2_conn *c, struct h2_stream *s, struct cs_h2_txn *t)
{
    struct cs_h2_section *secs[SEC_N] = {&t->req, &t->req_trailers, &t->resp, &t->resp_trailers};
    bool fail = ensure_scratch(c, s->n_fields ? s->n_fields : 1) < 0;
    uint32_t used = 0;
    for (int k = 0; k < SEC_N; k++) {
        struct cs_h2_section *out = secs[k];
        const struct h2_sec *st = &s->sec[k];
        out->frame = st->frame;
        out->ts = st->ts;
        out->frame_end = st->frame_end;
        out->flags = st->flags;
        out->fields = fail ? NULL : c->scratch + used;
        out->n_fields = 0;
        bool regular_seen = false;
        uint32_t pseudo_seen = 0;
        for (uint32_t i = 0; i < s->n_fields; i++) {
            const struct h2_field *f = &s->fields[i];
            if (f->sec != k || (k == SEC_RESP && !s->answered))
                continue;
            const char *name = s->arena + f->name_off;
            const char *value = s->arena + f->value_off;
            if (f->name_len > 0 && name[0] == ':') {
                /* RFC 9113 §8.3: pseudo-headers first, each once, known
                 * names only, none in trailers. */
                static const char *const req_names[] = {":method", ":scheme", ":authority",
                                                        ":path", ":protocol"};
                int which = -1;
                if (k == SEC_REQ)
                    for (int j = 0; j < 5; j++)
                        if (name_is(s, f, req_names[j]))
                            which = j;
                if (k == SEC_RESP && name_is(s, f, ":status"))
                    which = 5;
                if (which < 0 || regular_seen || (pseudo_seen & (1u << which)))
                    out->flags |= CS_H2_SEC_BAD_PSEUDO;
                if (which >= 0 && !(pseudo_seen & (1u << which))) {
                    pseudo_seen |= 1u << which;
                    if (which == 0) { t->method = value; t->method_len = f->value_len; }
                    if (which == 1) { t->scheme = value; t->scheme_len = f->value_len; }
                    if (which == 2) { t->authority = value; t->authority_len = f->value_len; }
                    if (which == 3) { t->path = value; t->path_len = f->value_len; }
                }
                continue;
            }
            regular_seen = true;
            if (fail)
                continue;
            corscope_header *h = &c->scratch[used++];
            h->name = name;
            h->name_len = f->name_len;
            h->value = value;
            h->value_len = f->value_len;
            out->n_fields++;
        }
    }
}

/* How a stream is reported: why, where, and the RST_STREAM / GOAWAY
 * details that go with RESET / GOAWAY. */
struct h2_end_info {
    enum cs_h2_end end;
    uint64_t frame;
    cs_time_ns ts;
    int rst_by;
    uint32_t rst_error, goaway_error;
};

/* Hands stream s to the callback (LOST instead of e->end when the capture
 * could not show its response), then frees it. */
static void report_with(struct cs_h2_conn *c, struct h2_stream *s, const struct h2_end_info *e)
{
    struct h2_dir *sd = &c->d[CS_DIR_S2C];
    enum cs_h2_end end = e->end;
    if (end != CS_H2_END_EVICTED && end != CS_H2_END_GOAWAY &&
        ((!s->answered && (sd->hpack_lost || s->resp_undecodable)) ||
         (s->answered && sd->frames_lost && !s->s_end)))
        end = CS_H2_END_LOST;
    struct cs_h2_txn t;
    memset(&t, 0, sizeof t);
    t.stream_id = s->id;
    build_txn(c, s, &t);
    t.answered = s->answered;
    t.status = s->status;
    t.interim_status = s->interim_status;
    t.n_interim = s->n_interim;
    t.interim_frame = s->interim_frame;
    t.end = end;
    if (end == CS_H2_END_RESET) {
        t.rst_by = e->rst_by;
        t.rst_error = e->rst_error;
    }
    t.goaway_error = e->goaway_error;
    t.end_frame = e->frame;
    t.end_ts = e->ts;
    t.index = c->reported++;
    c->stats->transactions++;
    if (s->answered)
        c->stats->answered++;
    if (end == CS_H2_END_LOST)
        c->stats->lost_streams++;
    if (c->cb)
        c->cb(c->ctx, &t);
    stream_free(c, s);
}

static void report(struct cs_h2_conn *c, struct h2_stream *s, enum cs_h2_end end,
                   uint64_t frame, cs_time_ns ts)
{
    struct h2_end_info e = {.end = end, .frame = frame, .ts = ts};
    report_with(c, s, &e);
}

/* A stream both of whose sides are over (or whose client side can no
 * longer be followed) is reported. */
static void maybe_complete(struct cs_h2_conn *c, struct h2_stream *s, uint64_t frame,
                           cs_time_ns ts)
{
    bool client_done = s->c_end || c->d[CS_DIR_C2S].frames_lost;
    if (client_done && s->s_end)
        report(c, s, CS_H2_END_COMPLETE, frame, ts);
}

/* Reports the open streams in stream id order with `end` (pred NULL: all). */
static void report_all(struct cs_h2_conn *c, enum cs_h2_end end, uint64_t frame, cs_time_ns ts,
                       bool (*pred)(const struct cs_h2_conn *, const struct h2_stream *))
{
    for (;;) {
        struct h2_stream *best = NULL;
        for (uint32_t i = 0; i < c->n_streams; i++) {
            struct h2_stream *s = c->tab[i];
            if (pred && !pred(c, s))
                continue;
            if (!best || s->id < best->id)
                best = s;
        }
        if (!best)
            return;
        report(c, best, end, frame, ts);
    }
}

static bool unanswered(const struct cs_h2_conn *c, const struct h2_stream *s)
{
    (void)c;
    return !s->answered;
}

/* ---- HPACK -------------------------------------------------------------------- */

/* Direction d's header decoding stops for good.  Streams whose header
 * block was being decoded, and (for the server side) every stream still
 * waiting for its response, end as LOST now. */
static void hpack_lose(struct cs_h2_conn *c, struct h2_dir *d, uint64_t frame, cs_time_ns ts)
{
    if (d->hpack_lost)
        return;
    d->hpack_lost = true;
    c->stats->hpack_failures++;
    if (d->blk >= BLK_REQUEST) {
        struct h2_stream *s = stream_find(c, d->blk_stream);
        d->blk = BLK_DISCARD;
        if (s) {
            s->sec[d->blk_sec].flags |= CS_H2_SEC_PARTIAL;
            report(c, s, CS_H2_END_LOST, frame, ts);
        }
    }
    if (d->dir == CS_DIR_S2C)
        report_all(c, CS_H2_END_LOST, frame, ts, d->frames_lost ? NULL : unanswered);
}

/* Feeds a piece of the current block (final: the block ends here) to the
 * inflater and stores what it emits.  An inflater error loses the
 * direction's HPACK state. */
static void inflate_piece(struct cs_h2_conn *c, struct h2_dir *d, const uint8_t *p, size_t n,
                          bool final, uint64_t frame, cs_time_ns ts)
{
    if (d->hpack_lost)
        return;
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        ssize_t rv = nghttp2_hd_inflate_hd2(d->inf, &nv, &flags, p, n, final);
        if (rv < 0) {
            c->stats->hpack_errors++;
            c->marked = true;
            hpack_lose(c, d, frame, ts);
            return;
        }
        p += rv;
        n -= (size_t)rv;
        if (flags & NGHTTP2_HD_INFLATE_EMIT) {
            struct h2_stream *s = d->blk >= BLK_REQUEST ? stream_find(c, d->blk_stream) : NULL;
            if (s)
                stream_add_field(c, s, d->blk_sec, nv.name, nv.namelen, nv.value, nv.valuelen);
        }
        if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(d->inf);
            return;
        }
        if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && n == 0)
            return;
    }
}

/* ---- frames -------------------------------------------------------------------- */

static void protocol_error(struct cs_h2_conn *c)
{
    c->stats->protocol_errors++;
    c->marked = true;
}

static struct h2_stream *stream_open(struct cs_h2_conn *c, uint32_t id)
{
    uint32_t cap = c->lim->max_streams < c->tab_cap ? c->lim->max_streams : c->tab_cap;
    if (c->n_streams >= cap && c->n_streams > 0) {
        struct h2_stream *old = c->tab[0];
        for (uint32_t i = 1; i < c->n_streams; i++)
            if (c->tab[i]->seq < old->seq)
                old = c->tab[i];
        c->stats->stream_cap_hits++;
        report(c, old, CS_H2_END_EVICTED, 0, 0);
    }
    if (cap == 0)
        return NULL;
    struct h2_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->id = id;
    s->seq = c->next_seq++;
    c->tab[c->n_streams++] = s;
    account(c, (ptrdiff_t)sizeof *s);
    c->stats->streams++;
    return s;
}

/* Decides where the fields of a HEADERS block on f->stream_id go. */
static void begin_headers(struct cs_h2_conn *c, struct h2_dir *d, const struct cs_h2_frame *f)
{
    uint32_t id = f->stream_id;
    struct h2_stream *s = id ? stream_find(c, id) : NULL;
    d->blk = BLK_DISCARD;
    d->blk_stream = id;
    d->blk_end_stream = f->flags & CS_H2_FLAG_END_STREAM;
    if (id == 0)
        return;   /* the framer counted it; decoded for the dynamic table only */
    int sec;
    if (d->dir == CS_DIR_C2S) {
        if (!(id & 1)) {
            protocol_error(c);        /* §5.1.1: clients use odd ids */
            return;
        }
        if (s) {
            if (s->c_end) {
                c->stats->closed_stream_frames++;
                protocol_error(c);    /* §5.1: STREAM_CLOSED */
                return;
            }
            sec = SEC_REQ_TRAILERS;
        } else if (id <= c->max_client_id) {
            c->stats->closed_stream_frames++;
            protocol_error(c);        /* §5.1.1: ids only grow; this one is over */
            return;
        } else {
            c->max_client_id = id;
            if (d->hpack_lost) {
                c->stats->undecoded_blocks++;
                return;
            }
            s = stream_open(c, id);
            if (!s)
                return;
            sec = SEC_REQ;
        }
        d->blk = BLK_REQUEST;
    } else {
        if (!(id & 1))
            return;                   /* a pushed stream's response: counted at PUSH_PROMISE */
        if (!s) {
            if (id > c->max_client_id)
                c->stats->orphan_responses++;
            else
                c->stats->closed_stream_frames++;
            return;
        }
        if (s->s_end) {
            c->stats->closed_stream_frames++;
            protocol_error(c);
            return;
        }
        if (d->hpack_lost && !s->answered)
            s->resp_undecodable = true;
        sec = s->answered ? SEC_RESP_TRAILERS : SEC_RESP;
        d->blk = BLK_RESPONSE;
    }
    if (d->hpack_lost) {
        c->stats->undecoded_blocks++;
        d->blk = BLK_DISCARD;
        return;
    }
    d->blk_sec = sec;
    d->blk_mark_fields = s->n_fields;
    d->blk_mark_arena = s->arena_len;
    d->blk_mark_sec = s->sec[sec];
    struct h2_sec *st = &s->sec[sec];
    if (!st->seen) {
        st->seen = true;
        st->frame = f->frame;
        st->ts = f->ts;
    }
    if (d->blk_end_stream)
        st->flags |= CS_H2_SEC_END_STREAM;
}

/* Parses a :status value: three digits, else 0. */
static int parse_status(const char *v, uint32_t n)
{
    if (n != 3)
        return 0;
    int x = 0;
    for (uint32_t i = 0; i < 3; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

/* The block of direction d is complete (after its END_HEADERS frame). */
static void end_block(struct cs_h2_conn *c, struct h2_dir *d, uint64_t frame, cs_time_ns ts)
{
    static const uint8_t nothing[1];
    inflate_piece(c, d, nothing, 0, true, frame, ts);
    enum blk_kind kind = d->blk;
    d->blk = BLK_NONE;
    struct h2_stream *s = d->blk_stream ? stream_find(c, d->blk_stream) : NULL;
    if (!s)
        return;
    if (kind == BLK_REQUEST || kind == BLK_RESPONSE)
        s->sec[d->blk_sec].frame_end = frame;
    if (kind == BLK_RESPONSE && d->blk_sec == SEC_RESP) {
        int status = 0;
        for (uint32_t i = d->blk_mark_fields; i < s->n_fields; i++)
            if (name_is(s, &s->fields[i], ":status")) {
                status = parse_status(s->arena + s->fields[i].value_off, s->fields[i].value_len);
                break;
            }
        if (status >= 100 && status < 200 && !d->blk_end_stream) {
            /* RFC 9113 §8.1: informational responses precede the final
             * one; only their status is kept. */
            s->interim_status = status;
            if (s->n_interim++ == 0)
                s->interim_frame = s->sec[SEC_RESP].frame;
            s->n_fields = d->blk_mark_fields;
            s->arena_len = d->blk_mark_arena;
            s->sec[SEC_RESP] = d->blk_mark_sec;
        } else {
            s->answered = true;
            s->status = status;
            if (status == 0)
                s->sec[SEC_RESP].flags |= CS_H2_SEC_BAD_PSEUDO;
        }
    }
    if (d->blk_end_stream) {
        if (d->dir == CS_DIR_C2S)
            s->c_end = true;
        else
            s->s_end = true;
    }
    /* Every stream is LOST once the server side cannot be decoded: a new
     * request is reported as soon as it is complete. */
    if (d->dir == CS_DIR_C2S && c->d[CS_DIR_S2C].hpack_lost && kind == BLK_REQUEST &&
        d->blk_sec == SEC_REQ)
        report(c, s, CS_H2_END_LOST, frame, ts);
    else if (d->blk_end_stream)
        maybe_complete(c, s, frame, ts);
}

static void end_stream_flag(struct cs_h2_conn *c, struct h2_dir *d, const struct cs_h2_frame *f)
{
    struct h2_stream *s = stream_find(c, f->stream_id);
    if (!s) {
        if ((f->stream_id & 1) && f->stream_id <= c->max_client_id)
            c->stats->closed_stream_frames++;
        return;
    }
    if (d->dir == CS_DIR_C2S)
        s->c_end = true;
    else
        s->s_end = true;
    maybe_complete(c, s, f->end_frame, f->end_ts);
}

/* SETTINGS from direction d (RFC 9113 §6.5): a new one waits for the
 * peer's ACK; an ACK puts the peer's oldest pending one into effect on
 * what d sends (its frame size limit and the table its blocks use). */
static void on_settings(struct cs_h2_conn *c, struct h2_dir *d, const struct cs_h2_frame *f)
{
    struct h2_dir *peer = &c->d[!d->dir];
    if (!(f->flags & CS_H2_FLAG_ACK)) {
        struct h2_pending p = {
            .present = f->settings_present,
            .table_size = f->settings[CS_H2_SETTINGS_HEADER_TABLE_SIZE],
            .max_frame_size = f->settings[CS_H2_SETTINGS_MAX_FRAME_SIZE],
        };
        if (d->n_pending == H2_PENDING_SETTINGS) {
            struct h2_pending *last = &d->pending[H2_PENDING_SETTINGS - 1];
            if (p.present & (1u << CS_H2_SETTINGS_HEADER_TABLE_SIZE))
                last->table_size = p.table_size;
            if (p.present & (1u << CS_H2_SETTINGS_MAX_FRAME_SIZE))
                last->max_frame_size = p.max_frame_size;
            last->present |= p.present;
        } else {
            d->pending[d->n_pending++] = p;
        }
        return;
    }
    if (peer->n_pending == 0) {
        protocol_error(c);   /* an ACK for nothing */
        return;
    }
    struct h2_pending p = peer->pending[0];
    memmove(peer->pending, peer->pending + 1, (peer->n_pending - 1) * sizeof p);
    peer->n_pending--;
    if (p.present & (1u << CS_H2_SETTINGS_MAX_FRAME_SIZE))
        d->fr.max_frame_size = p.max_frame_size;
    if ((p.present & (1u << CS_H2_SETTINGS_HEADER_TABLE_SIZE)) && !d->hpack_lost) {
        if (nghttp2_hd_inflate_change_table_size(d->inf, p.table_size) != 0) {
            c->stats->hpack_errors++;
            hpack_lose(c, d, f->end_frame, f->end_ts);
        }
    }
}

static void on_frame(struct cs_h2_conn *c, struct h2_dir *d, const struct cs_h2_frame *f)
{
    c->stats->frames++;
    if (f->oversized)
        c->stats->oversized_frames++;
    if (f->malformed)
        return;
    switch (f->type) {
    case CS_H2_HEADERS:
        begin_headers(c, d, f);
        break;
    case CS_H2_PUSH_PROMISE:
        if (d->dir == CS_DIR_S2C)   /* from a client it is only an error (framer) */
            c->stats->pushes++;
        d->blk = BLK_DISCARD;
        d->blk_stream = 0;
        d->blk_end_stream = false;
        if (d->hpack_lost)
            c->stats->undecoded_blocks++;
        break;
    case CS_H2_DATA:
        if (f->flags & CS_H2_FLAG_END_STREAM)
            end_stream_flag(c, d, f);
        else if (!stream_find(c, f->stream_id) && (f->stream_id & 1) &&
                 f->stream_id <= c->max_client_id)
            c->stats->closed_stream_frames++;
        break;
    case CS_H2_RST_STREAM: {
        c->stats->resets++;
        struct h2_stream *s = stream_find(c, f->stream_id);
        struct h2_end_info e = {.end = CS_H2_END_RESET, .frame = f->end_frame, .ts = f->end_ts,
                                .rst_by = d->dir, .rst_error = f->error_code};
        if (s)
            report_with(c, s, &e);
        else if ((f->stream_id & 1) && f->stream_id > c->max_client_id)
            protocol_error(c);   /* §6.4: RST_STREAM on an idle stream */
        else
            c->stats->closed_stream_frames++;
        break;
    }
    case CS_H2_SETTINGS:
        on_settings(c, d, f);
        break;
    case CS_H2_GOAWAY:
        c->stats->goaways++;
        if (d->dir == CS_DIR_S2C) {
            /* §6.8: streams above last-stream-id were never processed. */
            struct h2_end_info e = {.end = CS_H2_END_GOAWAY, .frame = f->end_frame,
                                    .ts = f->end_ts, .goaway_error = f->error_code};
            for (;;) {
                struct h2_stream *s = NULL;
                for (uint32_t i = 0; i < c->n_streams; i++)
                    if (!c->tab[i]->answered && c->tab[i]->id > f->last_stream_id &&
                        (!s || c->tab[i]->id < s->id))
                        s = c->tab[i];
                if (!s)
                    break;
                c->stats->goaway_refused++;
                report_with(c, s, &e);
            }
        }
        break;
    default:   /* PRIORITY, PING, WINDOW_UPDATE, CONTINUATION, unknown */
        break;
    }
}

static void on_fevent(void *ctx, const struct cs_h2_fevent *ev)
{
    struct h2_dir *d = ctx;
    struct cs_h2_conn *c = d->conn;
    switch (ev->kind) {
    case CS_H2_FEV_FRAME:
        on_frame(c, d, ev->frame);
        break;
    case CS_H2_FEV_BLOCK:
        inflate_piece(c, d, ev->data, ev->len, false, ev->frame->frame, ev->frame->ts);
        break;
    case CS_H2_FEV_BLOCK_END:
        end_block(c, d, ev->frame->end_frame, ev->frame->end_ts);
        break;
    case CS_H2_FEV_ERROR:
        if (ev->error == CS_H2_ERR_BAD_PREFACE)
            c->stats->bad_preface++;
        protocol_error(c);
        break;
    case CS_H2_FEV_LOST:
        d->frames_lost = true;
        hpack_lose(c, d, ev->at_frame, ev->at_ts);
        if (d->dir == CS_DIR_C2S) {
            /* Streams waiting only for the client's END_STREAM are done. */
            for (;;) {
                struct h2_stream *s = NULL;
                for (uint32_t i = 0; i < c->n_streams && !s; i++)
                    if (c->tab[i]->s_end)
                        s = c->tab[i];
                if (!s)
                    break;
                report(c, s, CS_H2_END_COMPLETE, ev->at_frame, ev->at_ts);
            }
        }
        break;
    }
}

/* ---- public ------------------------------------------------------------------- */

struct cs_h2_conn *cs_h2_conn_new(const struct cs_h2_limits *lim, struct cs_h2_stats *stats,
                                  cs_h2_txn_cb cb, void *ctx)
{
    struct cs_h2_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->lim = lim;
    c->stats = stats;
    c->cb = cb;
    c->ctx = ctx;
    c->mem = (nghttp2_mem){c, acct_malloc, acct_free, acct_calloc, acct_realloc};
    uint32_t cap = lim->max_streams ? lim->max_streams : 1;
    c->tab = calloc(cap, sizeof *c->tab);
    c->tab_cap = cap;
    if (!c->tab) {
        free(c);
        return NULL;
    }
    account(c, (ptrdiff_t)(sizeof *c + cap * sizeof *c->tab));
    for (int i = 0; i < 2; i++) {
        struct h2_dir *d = &c->d[i];
        d->conn = c;
        d->dir = i;
        cs_h2_framer_init(&d->fr, i == CS_DIR_C2S);
        if (nghttp2_hd_inflate_new2(&d->inf, &c->mem) != 0) {
            d->inf = NULL;
            cs_h2_conn_finish(c, CS_H2_END_UNANSWERED, 0, 0);
            return NULL;
        }
    }
    stats->connections++;
    return c;
}

void cs_h2_conn_event(struct cs_h2_conn *c, int dir, const struct cs_stream_event *ev)
{
    struct h2_dir *d = &c->d[dir ? 1 : 0];
    switch (ev->kind) {
    case CS_STREAM_DATA:
        if (!d->frames_lost)
            cs_h2_framer_data(&d->fr, ev->data, ev->len, ev->frame, ev->ts, on_fevent, d);
        break;
    case CS_STREAM_GAP:
        c->stats->gaps++;
        if (d->frames_lost)
            break;
        if (cs_h2_framer_gap(&d->fr, ev->len, ev->frame, ev->ts, on_fevent, d))
            c->stats->gaps_skipped++;
        break;
    case CS_STREAM_FIN:
        d->fin = true;
        /* The server closing means no stream gets anything more. */
        if (d->dir == CS_DIR_S2C)
            report_all(c, CS_H2_END_CLOSED, ev->frame, ev->ts, NULL);
        break;
    case CS_STREAM_RST:
        report_all(c, CS_H2_END_CONN_RESET, ev->frame, ev->ts, NULL);
        break;
    }
}

void cs_h2_conn_finish(struct cs_h2_conn *c, enum cs_h2_end why, uint64_t frame, cs_time_ns ts)
{
    if (!c)
        return;
    report_all(c, why, frame, ts, NULL);
    for (int i = 0; i < 2; i++)
        if (c->d[i].inf)
            nghttp2_hd_inflate_del(c->d[i].inf);
    account(c, -(ptrdiff_t)(sizeof *c + c->tab_cap * sizeof *c->tab));
    account(c, -(ptrdiff_t)(c->scratch_cap * sizeof *c->scratch));
    free(c->scratch);
    free(c->tab);
    free(c);
}

size_t cs_h2_conn_memory(const struct cs_h2_conn *c)
{
    return c->held;
}

bool cs_h2_conn_marked(const struct cs_h2_conn *c)
{
    return c->marked;
}

size_t cs_h2_txn_request_fields(const struct cs_h2_txn *t, corscope_header *hdr, size_t cap)
{
    size_t n = 0;
    if (t->authority && !corscope_header_find(t->req.fields, t->req.n_fields, "host") &&
        n < cap)
        hdr[n++] = (corscope_header){"host", 4, t->authority, t->authority_len};
    for (uint32_t i = 0; i < t->req.n_fields && n < cap; i++)
        hdr[n++] = t->req.fields[i];
    return n;
}

const char *cs_h2_end_name(enum cs_h2_end e)
{
    switch (e) {
    case CS_H2_END_COMPLETE: return "complete";
    case CS_H2_END_RESET: return "reset";
    case CS_H2_END_GOAWAY: return "goaway";
    case CS_H2_END_CLOSED: return "closed";
    case CS_H2_END_CONN_RESET: return "connection-reset";
    case CS_H2_END_UNANSWERED: return "unanswered";
    case CS_H2_END_LOST: return "lost";
    case CS_H2_END_EVICTED: return "evicted";
    }
    return "unknown";
}
