/* HTTP/2 streams: the table of open streams of one connection, the decoded
 * fields each keeps (copied out of the inflater into one arena per stream,
 * counted in the connection's held bytes), and the report of a finished
 * stream as a cs_h2_txn.  The frame and HPACK logic that drives it is
 * h2_conn.c's. */
#include "h2_int.h"
#include "copy_small.h"

void cs_h2__account(struct cs_h2_conn *c, ptrdiff_t delta)
{
    c->held += (size_t)delta;
    c->stats->held_bytes += (uint64_t)(int64_t)delta;
}

/* ---- the stream table ------------------------------------------------------- */

struct h2_stream *cs_h2__stream_find(struct cs_h2_conn *c, uint32_t id)
{
    for (uint32_t i = 0; i < c->n_streams; i++)
        if (c->tab[i]->id == id)
            return c->tab[i];
    return NULL;
}

static size_t stream_bytes(const struct h2_stream *s)
{
    return sizeof *s + s->arena_cap + (size_t)s->cap_fields * sizeof *s->fields +
           (s->more ? (SEC_N - 1) * sizeof *s->more : 0);
}

struct h2_sec *cs_h2__sec_open(struct cs_h2_conn *c, struct h2_stream *s, int k)
{
    struct h2_sec *st = h2_sec_of(s, k);
    if (st)
        return st;
    /* (calloc, which GCC makes of a malloc and a memset, bypasses the
     * thread cache: each section is zeroed by an assignment instead) */
    s->more = malloc((SEC_N - 1) * sizeof *s->more);
    if (!s->more)
        return NULL;
    for (int i = 0; i < SEC_N - 1; i++)
        s->more[i] = (struct h2_sec){0};
    cs_h2__account(c, (ptrdiff_t)((SEC_N - 1) * sizeof *s->more));
    return h2_sec_of(s, k);
}

void cs_h2__stream_free(struct cs_h2_conn *c, struct h2_stream *s)
{
    for (uint32_t i = 0; i < c->n_streams; i++)
        if (c->tab[i] == s) {
            c->tab[i] = c->tab[--c->n_streams];
            break;
        }
    for (int d = 0; d < 2; d++)
        if (c->d[d].blk_stream == s->id && c->d[d].blk > BLK_DISCARD)
            c->d[d].blk = BLK_DISCARD;
    cs_h2__account(c, -(ptrdiff_t)stream_bytes(s));
    free(s->fields);
    if (!s->packed)
        free(s->arena);
    free(s->more);
    free(s);
}

/* A stream's first field array and string arena: sized for a browser's
 * request (~11 fields, ~300 bytes), which is all that a stream holds while
 * it waits for its response, on thousands of connections at once; the
 * response doubles them. */
#define H2_STREAM_FIELDS_FIRST 12u
#define H2_STREAM_ARENA_FIRST 384u

void cs_h2__stream_pack(struct cs_h2_conn *c, struct h2_stream *s)
{
    if (s->packed || !s->fields || !s->arena)
        return;
    size_t fields = (size_t)s->n_fields * sizeof *s->fields;
    char *b = malloc(fields + s->arena_len);
    if (!b)
        return; /* (kept as they are) */
    size_t before = stream_bytes(s);
    memcpy(b, s->fields, fields);
    memcpy(b + fields, s->arena, s->arena_len);
    free(s->fields);
    free(s->arena);
    s->fields = (struct h2_field *)(void *)b;
    s->arena = b + fields;
    s->cap_fields = s->n_fields;
    s->arena_cap = s->arena_len;
    s->packed = true;
    cs_h2__account(c, (ptrdiff_t)stream_bytes(s) - (ptrdiff_t)before);
}

/* The reverse of cs_h2__stream_pack, with room for a response's fields;
 * false when out of memory (s unchanged). */
static bool stream_unpack(struct cs_h2_conn *c, struct h2_stream *s)
{
    uint32_t cap_fields = s->n_fields + H2_STREAM_FIELDS_FIRST;
    uint32_t arena_cap = s->arena_len + H2_STREAM_ARENA_FIRST;
    struct h2_field *f = malloc(cap_fields * sizeof *f);
    char *a = malloc(arena_cap);
    if (!f || !a) {
        free(f);
        free(a);
        return false;
    }
    size_t before = stream_bytes(s);
    memcpy(f, s->fields, s->n_fields * sizeof *f);
    memcpy(a, s->arena, s->arena_len);
    free(s->fields);
    s->fields = f;
    s->arena = a;
    s->cap_fields = cap_fields;
    s->arena_cap = arena_cap;
    s->packed = false;
    cs_h2__account(c, (ptrdiff_t)stream_bytes(s) - (ptrdiff_t)before);
    return true;
}

/* Appends one decoded field to section sec of s, within the limits. */
void cs_h2__stream_add_field(struct cs_h2_conn *c, struct h2_stream *s, int sec,
                             const uint8_t *name, size_t nl, const uint8_t *value, size_t vl)
{
    struct h2_sec *st = h2_sec_of(s, sec);
    if (!st)
        return; /* (its block opened it) */
    /* SP and HTAB around a value are dropped, as an HTTP/1.1 parser drops
     * OWS.  RFC 9113 §8.2.1 calls such a field malformed, but both
     * browsers read an h2 field like a header line: Firefox and Chromium
     * accept `access-control-allow-origin: " https://app "` over h2 as the
     * origin itself (tests/browser: shape-acao-surrounding-space,
     * shape-acao-inner-tab), and the classifier must see what they see.
     * Not a pseudo-header's: both refuse `:status: " 200"`
     * (status-leading-space over h2), so it is kept as sent. */
    if (vl && (value[0] <= ' ' || value[vl - 1] <= ' ') && (nl == 0 || name[0] != ':')) {
        while (vl && (value[0] == ' ' || value[0] == '\t')) {
            value++;
            vl--;
        }
        while (vl && (value[vl - 1] == ' ' || value[vl - 1] == '\t'))
            vl--;
    }
    if (st->n >= c->lim.max_header_lines || st->n >= H2_SEC_FIELDS_MAX ||
        st->bytes + nl + vl > c->lim.max_header_bytes) { /* (sizes: no overflow) */
        if (!(st->flags & CS_H2_SEC_CUT))
            c->stats->field_cap_hits++;
        st->flags |= CS_H2_SEC_CUT;
        return;
    }
    if (s->packed && !stream_unpack(c, s))
        return;
    /* Only a growth changes stream_bytes: each is counted where it is made. */
    if (s->n_fields == s->cap_fields) {
        uint32_t cap = s->cap_fields ? s->cap_fields * 2 : H2_STREAM_FIELDS_FIRST;
        struct h2_field *f = realloc(s->fields, cap * sizeof *f);
        if (!f)
            return;
        cs_h2__account(c, (ptrdiff_t)((size_t)(cap - s->cap_fields) * sizeof *f));
        s->fields = f;
        s->cap_fields = cap;
    }
    uint32_t base = h2_fields_start(s->arena_len);
    uint32_t need = base + (uint32_t)(nl + vl);
    if (need > s->arena_cap || !s->arena) { /* an arena even for empty fields */
        uint32_t cap = s->arena_cap ? s->arena_cap : H2_STREAM_ARENA_FIRST;
        while (cap < need)
            cap *= 2;
        char *a = realloc(s->arena, cap);
        if (!a)
            return;
        cs_h2__account(c, (ptrdiff_t)cap - (ptrdiff_t)s->arena_cap);
        s->arena = a;
        s->arena_cap = cap;
    }
    if (s->arena_len < H2_ARENA_HOST_LEN) /* the first field (or all rolled back) */
        memcpy(s->arena, H2_ARENA_HOST, H2_ARENA_HOST_LEN);
    /* Everything is stored before the copies, which the compiler must
     * assume could change any of it. */
    char *to = s->arena + base;
    s->arena_len = need;
    struct h2_field *f = &s->fields[s->n_fields++];
    f->sec = (uint8_t)sec;
    f->name_len = (uint32_t)nl;
    f->value_len = (uint32_t)vl;
    st->n++;
    st->bytes += (uint32_t)(nl + vl);
    cs_copy_small(to, name, nl);
    cs_copy_small(to + nl, value, vl);
}

struct h2_stream *cs_h2__stream_open(struct cs_h2_conn *c, uint32_t id)
{
    uint32_t cap = c->lim.max_streams;
    if (c->n_streams >= cap && c->n_streams > 0) {
        struct h2_stream *old = c->tab[0]; /* the oldest: the lowest id */
        for (uint32_t i = 1; i < c->n_streams; i++)
            if (c->tab[i]->id < old->id)
                old = c->tab[i];
        c->stats->stream_cap_hits++;
        cs_h2__report(c, old, CS_H2_END_EVICTED, 0, 0);
    }
    if (cap == 0)
        return NULL;
    if (c->n_streams == c->tab_cap) {
        /* The table grows by doubling up to --h2-max-streams: most
         * connections never have more than the few streams open at once
         * that tab_local holds. */
        uint32_t ncap = c->tab_cap * 2;
        if (ncap > cap)
            ncap = cap;
        bool local = c->tab == c->tab_local;
        struct h2_stream **t = realloc(local ? NULL : c->tab, (size_t)ncap * sizeof *t);
        if (!t)
            return NULL;
        if (local)
            memcpy(t, c->tab_local, sizeof c->tab_local);
        cs_h2__account(c, (ptrdiff_t)(ncap * sizeof *t) - (local ? 0 : (ptrdiff_t)(c->tab_cap * sizeof *t)));
        c->tab = t;
        c->tab_cap = ncap;
    }
    struct h2_stream *s = malloc(sizeof *s); /* (calloc: no thread cache) */
    if (!s)
        return NULL;
    *s = (struct h2_stream){0};
    s->id = id;
    c->tab[c->n_streams++] = s;
    cs_h2__account(c, (ptrdiff_t)sizeof *s);
    c->stats->streams++;
    return s;
}

/* ---- reporting --------------------------------------------------------------- */

/* Room for n fields to hand over: the caller's local[H2_SCRATCH_LOCAL]
 * when they fit (no allocation on most reports), else a new array at
 * *heap (counted in held; the caller frees it after the report). */
static corscope_header *ensure_scratch(struct cs_h2_conn *c, uint32_t n, corscope_header *local,
                                       corscope_header **heap)
{
    if (n <= H2_SCRATCH_LOCAL)
        return local;
    *heap = malloc((size_t)n * sizeof **heap);
    if (*heap)
        cs_h2__account(c, (ptrdiff_t)((size_t)n * sizeof **heap));
    return *heap;
}

/* Fills out's sections and pseudo-header fields from s's stored fields;
 * the regular fields of each section go to local or *heap (ensure_scratch),
 * in order. */
/* A value byte equal to NUL, CR or LF, eight bytes at a time (SWAR: the
 * usual "has a zero byte" test, exact for "any"). */
#define ONES UINT64_C(0x0101010101010101)
#define HIGH UINT64_C(0x8080808080808080)

static inline uint64_t zero_bytes(uint64_t w)
{
    return (w - ONES) & ~w & HIGH;
}

static inline bool word_has_nul_cr_lf(uint64_t w)
{
    return (zero_bytes(w) | zero_bytes(w ^ (0x0d * ONES)) | zero_bytes(w ^ (0x0a * ONES))) != 0;
}

/* A field RFC 9113 §8.2.1 calls malformed and both browsers refuse: an
 * empty name, a name byte that is not a lower-case token character
 * (measured: an upper-case letter, ')', SP, a byte above 0x7f; tests/browser
 * h2-uppercase-name, h2-name-paren, h2-name-non-ascii), a value with NUL,
 * CR or LF (h2-value-nul, h2-value-newline).  It runs on
 * every response field, hence the table and the word-wise test. */
static bool bad_field(const char *name, uint32_t nl, const char *value, uint32_t vl)
{
    if (nl == 0)
        return true;
    for (uint32_t i = 0; i < nl; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!corscope_is_tchar(c) || (c >= 'A' && c <= 'Z'))
            return true;
    }
    uint32_t i = 0;
    for (; i + 8 <= vl; i += 8) {
        uint64_t w;
        memcpy(&w, value + i, 8);
        if (word_has_nul_cr_lf(w))
            return true;
    }
    for (; i < vl; i++)
        if (value[i] == '\0' || value[i] == '\r' || value[i] == '\n')
            return true;
    return false;
}

static void build_txn(struct cs_h2_conn *c, struct h2_stream *s, struct cs_h2_txn *t,
                      corscope_header *local, corscope_header **heap)
{
    struct cs_h2_section *secs[SEC_N] = {&t->req, &t->req_trailers, &t->resp, &t->resp_trailers};
    corscope_header *scratch = ensure_scratch(c, s->n_fields ? s->n_fields : 1, local, heap);
    bool fail = scratch == NULL;
    uint32_t used = 0;
    /* the spans of the arena the request's and the response's strings lie
     * in: [0, req_end) (the host name first), [resp_lo, resp_end) */
    uint32_t req_end = 0, resp_lo = UINT32_MAX, resp_end = 0;
    /* The request's fields nearly always lead the array (its block opens
     * the stream): the other sections' walks start after them. */
    uint32_t lead = 0, lead_end = h2_fields_start(0);
    for (int k = 0; k < SEC_N; k++) {
        struct cs_h2_section *out = secs[k];
        static const struct h2_sec none;
        const struct h2_sec *st = h2_sec_of(s, k) ? h2_sec_of(s, k) : &none;
        out->frame = st->frame;
        out->ts = st->ts;
        out->frame_end = st->frame_end;
        out->flags = st->flags;
        out->fields = fail ? NULL : scratch + used;
        out->n_fields = 0;
        if (!h2_sec_of(s, k) || (k == SEC_RESP && !s->answered))
            continue; /* trailers none of which came, a response not final: no field */
        bool regular_seen = false;
        uint32_t pseudo_seen = 0;
        /* the section's st->n fields, in field order among the others */
        uint32_t left = k == SEC_RESP && !s->answered ? 0 : st->n;
        uint32_t f_end = lead_end, i = lead;
        for (; i < s->n_fields && left > 0; i++) {
            const struct h2_field *f = &s->fields[i];
            uint32_t name_off = f_end;
            f_end += f->name_len + f->value_len;
            if (f->sec != k)
                continue;
            left--;
            const char *name = s->arena + name_off;
            const char *value = name + f->name_len;
            if (k == SEC_REQ && f_end > req_end)
                req_end = f_end;
            if (k == SEC_RESP) {
                if (name_off < resp_lo)
                    resp_lo = name_off;
                if (f_end > resp_end)
                    resp_end = f_end;
            }
            if (f->name_len > 0 && name[0] == ':') {
                /* RFC 9113 §8.3: pseudo-headers first, each once, known
                 * names only, none in trailers. */
                static const char *const req_names[] = {":method", ":scheme", ":authority",
                                                        ":path", ":protocol"};
                int which = -1;
                if (k == SEC_REQ)
                    for (int j = 0; j < 5; j++)
                        if (cs_h2__name_is(name, f, req_names[j]))
                            which = j;
                if (k == SEC_RESP && cs_h2__name_is(name, f, ":status"))
                    which = 5;
                if (which == 5 && !regular_seen && (pseudo_seen & (1u << which)))
                    out->flags |= CS_H2_SEC_STATUS_TWICE; /* Firefox reads it (h2-status-twice) */
                else if (which < 0 || regular_seen || (pseudo_seen & (1u << which)))
                    out->flags |= CS_H2_SEC_BAD_PSEUDO;
                if (which >= 0 && !(pseudo_seen & (1u << which))) {
                    pseudo_seen |= 1u << which;
                    if (which == 0) {
                        t->method = value;
                        t->method_len = f->value_len;
                    }
                    if (which == 1) {
                        t->scheme = value;
                        t->scheme_len = f->value_len;
                    }
                    if (which == 2) {
                        t->authority = value;
                        t->authority_len = f->value_len;
                    }
                    if (which == 3) {
                        t->path = value;
                        t->path_len = f->value_len;
                    }
                }
                continue;
            }
            regular_seen = true;
            if (k == SEC_RESP && bad_field(name, f->name_len, value, f->value_len))
                out->flags |= CS_H2_SEC_BAD_FIELD;
            if (fail)
                continue;
            corscope_header *h = &scratch[used++];
            h->name = name;
            h->name_len = f->name_len;
            h->value = value;
            h->value_len = f->value_len;
            out->n_fields++;
        }
        if (k == SEC_REQ && i == st->n) { /* fields [0, i) are all the request's */
            lead = i;
            lead_end = f_end;
        }
    }
    if (s->arena) {
        t->host_name = s->arena;
        t->req_block = s->arena;
        t->req_block_len = req_end > H2_ARENA_HOST_LEN ? req_end : H2_ARENA_HOST_LEN;
        if (resp_lo != UINT32_MAX) {
            t->resp_block = s->arena + resp_lo;
            t->resp_block_len = resp_end - resp_lo;
        }
    }
}

/* Hands stream s to the callback (LOST instead of e->end when the capture
 * could not show its response), then frees it. */
void cs_h2__report_with(struct cs_h2_conn *c, struct h2_stream *s, const struct h2_end_info *e)
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
    corscope_header local[H2_SCRATCH_LOCAL], *heap = NULL;
    build_txn(c, s, &t, local, &heap);
    t.answered = s->answered;
    t.status = s->status;
    t.status_form = t.resp.flags & CS_H2_SEC_STATUS_TWICE ? CORSCOPE_STATUS_REPEATED
                                                          : (corscope_status_form)s->status_form;
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
    /* The fields handed over were the callback's to copy: a scratch is
     * not kept, so an idle connection holds none (one stream's worth of
     * pointers, ~1 KB, on each of thousands of keep-alive connections). */
    if (heap) {
        cs_h2__account(c, -(ptrdiff_t)((s->n_fields ? s->n_fields : 1) * sizeof *heap));
        free(heap);
    }
    cs_h2__stream_free(c, s);
}

void cs_h2__report(struct cs_h2_conn *c, struct h2_stream *s, enum cs_h2_end end,
                   uint64_t frame, cs_time_ns ts)
{
    struct h2_end_info e = {.end = end, .frame = frame, .ts = ts};
    cs_h2__report_with(c, s, &e);
}

/* A stream both of whose sides are over (or whose client side can no
 * longer be followed) is reported. */
void cs_h2__maybe_complete(struct cs_h2_conn *c, struct h2_stream *s, uint64_t frame,
                           cs_time_ns ts)
{
    bool client_done = s->c_end || c->d[CS_DIR_C2S].frames_lost;
    if (client_done && s->s_end)
        cs_h2__report(c, s, CS_H2_END_COMPLETE, frame, ts);
}

/* Reports the open streams in stream id order with `end` (pred NULL: all). */
void cs_h2__report_all(struct cs_h2_conn *c, enum cs_h2_end end, uint64_t frame, cs_time_ns ts,
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
        cs_h2__report(c, best, end, frame, ts);
    }
}

bool cs_h2__unanswered(const struct cs_h2_conn *c, const struct h2_stream *s)
{
    (void)c;
    return !s->answered;
}

size_t cs_h2_txn_request_fields(const struct cs_h2_txn *t, corscope_header *hdr, size_t cap)
{
    size_t n = 0;
    if (t->authority && !corscope_header_find(t->req.fields, t->req.n_fields, "host") &&
        n < cap)
        hdr[n++] = (corscope_header){t->host_name ? t->host_name : "host", 4, t->authority,
                                     t->authority_len};
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
    case CS_H2_END_CAPTURE_ENDED: return "capture-ended";
    }
    return "unknown";
}
