/* HTTP/2 connection stage: framer events of both directions -> streams ->
 * one transaction per stream.  See h2_conn.h for the rules; this file owns
 * the frame and stream-state rules, feeds the HPACK inflaters (libnghttp2;
 * made, parked and rebuilt by h2_hpack.c) and has the public entry points;
 * the stream table and the reports are h2_stream.c's. */
#include "h2_int.h"

/* ---- limits ----------------------------------------------------------------- */

void cs_h2_limits_default(struct cs_h2_limits *out, const struct cs_limits *l)
{
    out->max_streams = l && l->h2_max_streams ? l->h2_max_streams : CS_DEFAULT_H2_MAX_STREAMS;
    out->max_header_bytes = l ? l->max_header_bytes : CS_DEFAULT_MAX_HEADER_BYTES;
    out->max_header_lines = l ? l->max_header_lines : CS_DEFAULT_MAX_HEADER_LINES;
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
        struct h2_stream *s = cs_h2__stream_find(c, d->blk_stream);
        d->blk = BLK_DISCARD;
        if (s) {
            struct h2_sec *st = h2_sec_of(s, d->blk_sec);
            if (st)
                st->flags |= CS_H2_SEC_PARTIAL;
            cs_h2__report(c, s, CS_H2_END_LOST, frame, ts);
        }
    }
    if (d->dir == CS_DIR_S2C)
        cs_h2__report_all(c, CS_H2_END_LOST, frame, ts, d->frames_lost ? NULL : cs_h2__unanswered);
}

/* Feeds a piece of the current block (final: the block ends here) to the
 * inflater and stores what it emits.  An inflater error loses the
 * direction's HPACK state. */
static void inflate_piece(struct cs_h2_conn *c, struct h2_dir *d, const uint8_t *p, size_t n,
                          bool final, uint64_t frame, cs_time_ns ts)
{
    if (d->hpack_lost)
        return;
    if (cs_h2__hpack_get(c, d) != 0) {
        hpack_lose(c, d, frame, ts);
        return;
    }
    /* the stream the fields go to (none while a block is discarded) */
    struct h2_stream *s = d->blk >= BLK_REQUEST ? cs_h2__stream_find(c, d->blk_stream) : NULL;
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
        if ((flags & NGHTTP2_HD_INFLATE_EMIT) && s)
            cs_h2__stream_add_field(c, s, d->blk_sec, nv.name, nv.namelen, nv.value, nv.valuelen);
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

/* Decides where the fields of a HEADERS block on f->stream_id go. */
static void begin_headers(struct cs_h2_conn *c, struct h2_dir *d, const struct cs_h2_frame *f)
{
    uint32_t id = f->stream_id;
    struct h2_stream *s = id ? cs_h2__stream_find(c, id) : NULL;
    d->blk = BLK_DISCARD;
    d->blk_stream = id;
    d->blk_end_stream = (f->flags & CS_H2_FLAG_END_STREAM) != 0;
    if (id == 0)
        return; /* the framer counted it; decoded for the dynamic table only */
    int sec;
    if (d->dir == CS_DIR_C2S) {
        if (!(id & 1)) {
            protocol_error(c); /* §5.1.1: clients use odd ids */
            return;
        }
        if (s) {
            if (s->c_end) {
                c->stats->closed_stream_frames++;
                protocol_error(c); /* §5.1: STREAM_CLOSED */
                return;
            }
            sec = SEC_REQ_TRAILERS;
        } else if (id <= c->max_client_id) {
            c->stats->closed_stream_frames++;
            protocol_error(c); /* §5.1.1: ids only grow; this one is over */
            return;
        } else {
            c->max_client_id = id;
            if (d->hpack_lost) {
                c->stats->undecoded_blocks++;
                return;
            }
            s = cs_h2__stream_open(c, id);
            if (!s)
                return;
            sec = SEC_REQ;
        }
        d->blk = BLK_REQUEST;
    } else {
        if (!(id & 1))
            return; /* a pushed stream's response: counted at PUSH_PROMISE */
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
    struct h2_sec *st = cs_h2__sec_open(c, s, sec);
    if (!st) {
        d->blk = BLK_DISCARD; /* out of memory: decoded for the table only */
        return;
    }
    d->blk_sec = (unsigned)sec & 3u;
    d->blk_mark_fields = s->n_fields;
    d->blk_mark_arena = s->arena_len;
    if (!st->seen) {
        st->seen = true;
        st->frame = f->frame;
        st->ts = f->ts;
    }
    if (d->blk_end_stream)
        st->flags |= CS_H2_SEC_END_STREAM;
}

/* Parses a :status value: three digits, else 0. */
/* A :status value: digits, as many as sent (Chromium reads `2000` and `0`,
 * Firefox one to three digits other than 0: the classifier decides with the
 * form); anything else (empty, letters, a space) is NOT_DIGITS, refused by
 * both (tests/browser status-*). */
static int parse_status(const char *v, uint32_t n, corscope_status_form *form)
{
    int x = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            *form = CORSCOPE_STATUS_NOT_DIGITS;
            return 0;
        }
        x = x < 100000000 ? x * 10 + (v[i] - '0') : 999999999; /* longer: 999999999 */
    }
    *form = n == 0 ? CORSCOPE_STATUS_NOT_DIGITS : n > 3 ? CORSCOPE_STATUS_LONG
                                                        : CORSCOPE_STATUS_DIGITS;
    return x;
}

/* The block of direction d is complete (after its END_HEADERS frame). */
static void end_block(struct cs_h2_conn *c, struct h2_dir *d, uint64_t frame, cs_time_ns ts)
{
    static const uint8_t nothing[1];
    inflate_piece(c, d, nothing, 0, true, frame, ts);
    if (!d->hpack_lost)
        d->size_update_due = false; /* the block had it (the inflater checks) */
    enum blk_kind kind = (enum blk_kind)d->blk;
    d->blk = BLK_NONE;
    struct h2_stream *s = d->blk_stream ? cs_h2__stream_find(c, d->blk_stream) : NULL;
    if (!s)
        return;
    if (kind == BLK_REQUEST || kind == BLK_RESPONSE)
        h2_sec_of(s, d->blk_sec)->frame_end = frame; /* opened by begin_headers */
    if (kind == BLK_REQUEST && d->blk_sec == SEC_REQ)
        cs_h2__stream_pack(c, s); /* as it waits for its response */
    if (kind == BLK_RESPONSE && d->blk_sec == SEC_RESP) {
        int status = 0;
        bool found = false;
        corscope_status_form form = CORSCOPE_STATUS_DIGITS;
        const char *name = s->arena ? s->arena + h2_fields_start(d->blk_mark_arena) : NULL;
        for (uint32_t i = d->blk_mark_fields; i < s->n_fields; i++) {
            const struct h2_field *fl = &s->fields[i];
            if (cs_h2__name_is(name, fl, ":status")) {
                /* the last one: what Firefox reads when there are two
                 * (Chromium refuses them: h2-status-twice-500-then-204) */
                status = parse_status(name + fl->name_len, fl->value_len, &form);
                found = true;
            }
            name += fl->name_len + fl->value_len;
        }
        if (form == CORSCOPE_STATUS_DIGITS && status >= 100 && status < 200 && !d->blk_end_stream) {
            /* RFC 9113 §8.1: informational responses precede the final
             * one; only their status is kept. */
            s->interim_status = status;
            if (s->n_interim++ == 0)
                s->interim_frame = h2_sec_of(s, SEC_RESP)->frame;
            s->n_fields = d->blk_mark_fields;
            s->arena_len = d->blk_mark_arena;
            /* (nothing else came to SEC_RESP: it was empty at the block's
             * start, as before any 1xx) */
            *h2_sec_of(s, SEC_RESP) = (struct h2_sec){0};
        } else {
            s->answered = true;
            s->status = status;
            s->status_form = (uint8_t)form;
            if (!found) /* refused by both (h2-status-missing) */
                h2_sec_of(s, SEC_RESP)->flags |= CS_H2_SEC_BAD_PSEUDO;
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
        cs_h2__report(c, s, CS_H2_END_LOST, frame, ts);
    else if (d->blk_end_stream)
        cs_h2__maybe_complete(c, s, frame, ts);
}

static void end_stream_flag(struct cs_h2_conn *c, struct h2_dir *d, const struct cs_h2_frame *f)
{
    struct h2_stream *s = cs_h2__stream_find(c, f->stream_id);
    if (!s) {
        if ((f->stream_id & 1) && f->stream_id <= c->max_client_id)
            c->stats->closed_stream_frames++;
        return;
    }
    if (d->dir == CS_DIR_C2S)
        s->c_end = true;
    else
        s->s_end = true;
    cs_h2__maybe_complete(c, s, f->end_frame, f->end_ts);
}

static void free_pending(struct cs_h2_conn *c, struct h2_dir *d)
{
    if (d->n_pending > 1) {
        cs_h2__account(c, -(ptrdiff_t)(H2_PENDING_SETTINGS * sizeof *d->pending.many));
        free(d->pending.many);
    }
    d->n_pending = 0;
}

/* SETTINGS from direction d (RFC 9113 §6.5): a new one waits for the
 * peer's ACK; an ACK puts the peer's oldest pending one into effect on
 * what d sends (its frame size limit and the table its blocks use). */
static void on_settings(struct cs_h2_conn *c, struct h2_dir *d, const struct cs_h2_frame *f)
{
    struct h2_dir *peer = &c->d[!d->dir];
    if (!(f->flags & CS_H2_FLAG_ACK)) {
        struct h2_pending p = {
            .table_size = f->settings[CS_H2_SETTINGS_HEADER_TABLE_SIZE],
            .max_frame_size = f->settings[CS_H2_SETTINGS_MAX_FRAME_SIZE] & CS_H2_MAX_MAX_FRAME_SIZE,
            .present = f->settings_present & 0xffu, /* (checked: ids 1..6) */
        };
        if (d->n_pending == 0) {
            d->pending.one = p;
            d->n_pending = 1;
        } else if (d->n_pending == 1) {
            struct h2_pending *many = malloc(H2_PENDING_SETTINGS * sizeof *many);
            if (!many)
                return; /* out of memory: its ACK will be one for nothing */
            cs_h2__account(c, (ptrdiff_t)(H2_PENDING_SETTINGS * sizeof *many));
            many[0] = d->pending.one;
            many[1] = p;
            d->pending.many = many;
            d->n_pending = 2;
        } else if (d->n_pending < H2_PENDING_SETTINGS) {
            d->pending.many[d->n_pending++] = p;
        } else {
            struct h2_pending *last = &d->pending.many[H2_PENDING_SETTINGS - 1];
            if (p.present & (1u << CS_H2_SETTINGS_HEADER_TABLE_SIZE))
                last->table_size = p.table_size;
            if (p.present & (1u << CS_H2_SETTINGS_MAX_FRAME_SIZE))
                last->max_frame_size = p.max_frame_size;
            last->present |= p.present;
        }
        return;
    }
    if (peer->n_pending == 0) {
        protocol_error(c); /* an ACK for nothing */
        return;
    }
    struct h2_pending p = peer->n_pending > 1 ? peer->pending.many[0] : peer->pending.one;
    if (peer->n_pending == 2) { /* back to the one in the direction */
        struct h2_pending *many = peer->pending.many;
        peer->pending.one = many[1];
        cs_h2__account(c, -(ptrdiff_t)(H2_PENDING_SETTINGS * sizeof *many));
        free(many);
        peer->n_pending = 1;
    } else if (peer->n_pending > 2) {
        struct h2_pending *many = peer->pending.many;
        memmove(many, many + 1, (peer->n_pending - 1u) * sizeof p);
        peer->n_pending--;
    } else {
        peer->n_pending = 0;
    }
    if (p.present & (1u << CS_H2_SETTINGS_MAX_FRAME_SIZE))
        d->fr.max_frame_size = p.max_frame_size;
    if ((p.present & (1u << CS_H2_SETTINGS_HEADER_TABLE_SIZE)) && !d->hpack_lost) {
        if (cs_h2__hpack_table_size(c, d, p.table_size) != 0) {
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
        if (d->dir == CS_DIR_S2C) /* from a client it is only an error (framer) */
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
        else if (!cs_h2__stream_find(c, f->stream_id) && (f->stream_id & 1) &&
                 f->stream_id <= c->max_client_id)
            c->stats->closed_stream_frames++;
        break;
    case CS_H2_RST_STREAM: {
        c->stats->resets++;
        struct h2_stream *s = cs_h2__stream_find(c, f->stream_id);
        struct h2_end_info e = {.end = CS_H2_END_RESET, .frame = f->end_frame, .ts = f->end_ts, .rst_by = d->dir, .rst_error = f->error_code};
        if (s)
            cs_h2__report_with(c, s, &e);
        else if ((f->stream_id & 1) && f->stream_id > c->max_client_id)
            protocol_error(c); /* §6.4: RST_STREAM on an idle stream */
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
            struct h2_end_info e = {.end = CS_H2_END_GOAWAY, .frame = f->end_frame, .ts = f->end_ts, .goaway_error = f->error_code};
            for (;;) {
                struct h2_stream *s = NULL;
                for (uint32_t i = 0; i < c->n_streams; i++)
                    if (!c->tab[i]->answered && c->tab[i]->id > f->last_stream_id &&
                        (!s || c->tab[i]->id < s->id))
                        s = c->tab[i];
                if (!s)
                    break;
                c->stats->goaway_refused++;
                cs_h2__report_with(c, s, &e);
            }
        }
        break;
    default: /* PRIORITY, PING, WINDOW_UPDATE, CONTINUATION, unknown */
        break;
    }
}

static void on_fevent(void *ctx, const struct cs_h2_fevent *ev)
{
    struct h2_dir *d = ctx;
    struct cs_h2_conn *c = h2_dir_conn(d);
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
                cs_h2__report(c, s, CS_H2_END_COMPLETE, ev->at_frame, ev->at_ts);
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
    c->lim = *lim;
    c->tab = c->tab_local;
    c->tab_cap = H2_TAB_INITIAL;
    c->stats = stats;
    c->cb = cb;
    c->ctx = ctx;
    cs_h2__account(c, (ptrdiff_t)sizeof *c); /* the stream table grows as streams open */
    cs_h2__hpack_init(c);                    /* the inflaters come with the first header blocks */
    for (int i = 0; i < 2; i++) {
        struct h2_dir *d = &c->d[i];
        d->dir = (unsigned)i & 1u;
        cs_h2_framer_init(&d->fr, i == CS_DIR_C2S);
    }
    stats->connections++;
    return c;
}

static void add_lower(struct cs_h2_conn *c, struct h2_stream *s, const char *name, size_t nl,
                      const char *value, size_t vl)
{
    char low[64];
    if (nl <= sizeof low) {
        for (size_t i = 0; i < nl; i++)
            low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
        name = low;
    }
    cs_h2__stream_add_field(c, s, SEC_REQ, (const uint8_t *)name, nl, (const uint8_t *)value, vl);
}

void cs_h2_conn_set_cache(struct cs_h2_conn *c, struct cs_h2_cache *cache)
{
    c->cache = cache;
}

int cs_h2_conn_upgrade(struct cs_h2_conn *c, const struct cs_h2_upgrade *u)
{
    struct h2_stream *s = cs_h2__stream_open(c, 1);
    if (!s)
        return -1;
    c->max_client_id = 1;
    add_lower(c, s, ":method", 7, u->method, u->method_len);
    add_lower(c, s, ":scheme", 7, "http", 4);
    if (u->authority)
        add_lower(c, s, ":authority", 10, u->authority, u->authority_len);
    add_lower(c, s, ":path", 5, u->path, u->path_len);
    for (size_t i = 0; i < u->n_fields; i++)
        add_lower(c, s, u->fields[i].name, u->fields[i].name_len, u->fields[i].value,
                  u->fields[i].value_len);
    struct h2_sec *st = h2_sec_of(s, SEC_REQ);
    st->seen = true;
    st->frame = u->frame;
    st->frame_end = u->frame_end;
    st->ts = u->ts;
    st->flags |= CS_H2_SEC_END_STREAM;
    s->c_end = true;
    s->interim_status = 101;
    s->n_interim = 1;
    s->interim_frame = u->switch_frame;
    cs_h2__stream_pack(c, s);
    struct h2_dir *sd = &c->d[CS_DIR_S2C];
    for (size_t off = 0; off + 6 <= u->settings_len; off += 6) {
        const uint8_t *e = u->settings + off;
        uint16_t id = (uint16_t)(e[0] << 8 | e[1]);
        uint32_t v = (uint32_t)e[2] << 24 | (uint32_t)e[3] << 16 | (uint32_t)e[4] << 8 | e[5];
        if (id == CS_H2_SETTINGS_HEADER_TABLE_SIZE && !sd->hpack_lost &&
            cs_h2__hpack_table_size(c, sd, v) != 0) {
            c->stats->hpack_errors++;
            hpack_lose(c, sd, u->frame, u->ts);
        }
        if (id == CS_H2_SETTINGS_MAX_FRAME_SIZE && v >= 16384 && v <= 16777215)
            sd->fr.max_frame_size = v & CS_H2_MAX_MAX_FRAME_SIZE;
    }
    return 0;
}

void cs_h2_conn_event(struct cs_h2_conn *c, int dir, const struct cs_stream_event *ev)
{
    struct h2_dir *d = &c->d[dir ? 1 : 0];
    size_t fr_held = cs_h2_framer_memory(&d->fr); /* its frame in progress, if any */
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
            cs_h2__report_all(c, CS_H2_END_CLOSED, ev->frame, ev->ts, NULL);
        break;
    case CS_STREAM_RST:
        cs_h2__report_all(c, CS_H2_END_CONN_RESET, ev->frame, ev->ts, NULL);
        break;
    }
    cs_h2__account(c, (ptrdiff_t)cs_h2_framer_memory(&d->fr) - (ptrdiff_t)fr_held);
    /* A direction between header blocks keeps its table in the compact
     * form (most of a keep-alive connection's life), or its inflater while
     * recently used (h2_hpack.c). */
    for (int i = 0; i < 2; i++)
        cs_h2__hpack_idle(c, &c->d[i]);
}

void cs_h2_conn_finish(struct cs_h2_conn *c, enum cs_h2_end why, uint64_t frame, cs_time_ns ts)
{
    if (!c)
        return;
    cs_h2__report_all(c, why, frame, ts, NULL);
    for (int i = 0; i < 2; i++) {
        cs_h2__hpack_free(c, &c->d[i]);
        free_pending(c, &c->d[i]);
        cs_h2__account(c, -(ptrdiff_t)cs_h2_framer_memory(&c->d[i].fr));
        cs_h2_framer_free(&c->d[i].fr);
    }
    bool tab_local = c->tab == c->tab_local;
    cs_h2__account(c, -(ptrdiff_t)(sizeof *c + (tab_local ? 0 : c->tab_cap * sizeof *c->tab)));
    if (!tab_local)
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
