/* HTTP/2 frame layer: see h2_frame.h.  A byte-at-a-time-safe state machine
 * over one direction; every read of a frame field goes through the
 * bounds-checked accessors below, on the framer's own small buffer. */
#include <stdlib.h>
#include <string.h>

#include "h2_frame.h"

_Static_assert(CS_H2F_LOST < 8, "cs_h2_framer.st is 3 bits");

/* ---- bounds-checked reads of the gathered fixed fields ---------------- */

static uint8_t rd_u8(const uint8_t *b, uint32_t blen, uint32_t off)
{
    return off < blen ? b[off] : 0;
}

static uint32_t rd_u24(const uint8_t *b, uint32_t blen, uint32_t off)
{
    if (off > blen || blen - off < 3)
        return 0;
    return (uint32_t)b[off] << 16 | (uint32_t)b[off + 1] << 8 | b[off + 2];
}

static uint32_t rd_u32(const uint8_t *b, uint32_t blen, uint32_t off)
{
    if (off > blen || blen - off < 4)
        return 0;
    return (uint32_t)b[off] << 24 | (uint32_t)b[off + 1] << 16 | (uint32_t)b[off + 2] << 8 |
           b[off + 3];
}

static uint16_t rd_u16(const uint8_t *b, uint32_t blen, uint32_t off)
{
    if (off > blen || blen - off < 2)
        return 0;
    return (uint16_t)(b[off] << 8 | b[off + 1]);
}

/* ---- state shared by one call ------------------------------------------ */

/* One call's view of a framer: what it keeps between frames (fr), a copy
 * of the frame in progress (x), where the bytes being consumed came from
 * and where events go. */
struct fw {
    struct cs_h2_framer *fr;
    struct cs_h2_frame_cut x;
    uint64_t frame;
    cs_time_ns ts;
    cs_h2_fevent_cb cb;
    void *ctx;
};

void cs_h2_framer_init(struct cs_h2_framer *fr, bool is_client)
{
    memset(fr, 0, sizeof *fr);
    fr->is_client = is_client;
    fr->st = is_client ? CS_H2F_PREFACE : CS_H2F_HEADER;
    fr->max_frame_size = CS_H2_DEFAULT_MAX_FRAME_SIZE;
}

void cs_h2_framer_free(struct cs_h2_framer *fr)
{
    free(fr->cut);
    fr->cut = NULL;
}

bool cs_h2_framer_at_boundary(const struct cs_h2_framer *fr)
{
    return fr->st == CS_H2F_HEADER && !fr->cut && !fr->block_open;
}

/* The frame in progress into w->x: the kept one, or none (got 0). */
static void fw_load(struct fw *w, struct cs_h2_framer *fr, uint64_t frame, cs_time_ns ts,
                    cs_h2_fevent_cb cb, void *ctx)
{
    w->fr = fr;
    w->frame = frame;
    w->ts = ts;
    w->cb = cb;
    w->ctx = ctx;
    if (fr->cut)
        w->x = *fr->cut;
    else
        w->x.got = 0;
}

static void lose(struct fw *w);

/* Keeps w->x in the framer when the call ended inside a frame (or the
 * preface), and frees what it kept when it ended between frames. */
static void fw_store(struct fw *w)
{
    struct cs_h2_framer *fr = w->fr;
    bool between = fr->st == CS_H2F_LOST ||
                   ((fr->st == CS_H2F_HEADER || fr->st == CS_H2F_PREFACE) && w->x.got == 0);
    if (between) {
        cs_h2_framer_free(fr);
        return;
    }
    if (!fr->cut) {
        fr->cut = malloc(sizeof *fr->cut);
        if (!fr->cut) {
            lose(w); /* its place cannot be kept */
            return;
        }
    }
    *fr->cut = w->x;
}

static void emit(const struct fw *w, struct cs_h2_fevent *ev)
{
    if (w->cb)
        w->cb(w->ctx, ev);
}

static void emit_error(struct fw *w, enum cs_h2_frame_error e)
{
    struct cs_h2_fevent ev = {.kind = CS_H2_FEV_ERROR, .frame = &w->x.f, .error = e, .at_frame = w->frame, .at_ts = w->ts};
    emit(w, &ev);
}

static void lose(struct fw *w)
{
    struct cs_h2_framer *fr = w->fr;
    struct cs_h2_fevent ev = {.kind = CS_H2_FEV_LOST,
                              .in_block = fr->block_open || fr->st == CS_H2F_FRAGMENT,
                              .at_frame = w->frame,
                              .at_ts = w->ts};
    fr->st = CS_H2F_LOST;
    fr->block_open = false;
    cs_h2_framer_free(fr);
    emit(w, &ev);
}

static void emit_frame(struct fw *w)
{
    struct cs_h2_fevent ev = {.kind = CS_H2_FEV_FRAME, .frame = &w->x.f};
    emit(w, &ev);
}

static void next_frame(struct fw *w)
{
    w->fr->st = CS_H2F_HEADER;
    w->x.got = 0;
}

/* The payload of a frame reported at its end has gone by. */
static void frame_end(struct fw *w)
{
    w->x.f.end_frame = w->frame;
    w->x.f.end_ts = w->ts;
    uint8_t t = w->x.f.type;
    if (t != CS_H2_HEADERS && t != CS_H2_PUSH_PROMISE && t != CS_H2_CONTINUATION)
        emit_frame(w);
    next_frame(w);
}

static void skip_rest(struct fw *w)
{
    w->fr->st = CS_H2F_SKIP;
}

static void want_fixed(struct fw *w, uint32_t need)
{
    w->fr->st = CS_H2F_FIXED;
    w->x.need = need;
    w->x.got = 0;
}

/* A header block frame's fixed fields are read: the fragment follows,
 * then pad_left bytes of padding.  §6.2, §6.7, §6.10. */
static void start_fragment(struct fw *w, uint32_t fixed)
{
    struct cs_h2_framer *fr = w->fr;
    struct cs_h2_frame_cut *x = &w->x;
    uint32_t pad = x->f.pad_length;
    if (pad > x->f.length - fixed) {
        /* §6.2: padding that exceeds the payload is a PROTOCOL_ERROR; the
         * fragment cannot be located, so the block (and HPACK) is lost. */
        emit_error(w, CS_H2_ERR_PADDING);
        fr->block_open = true;
        lose(w);
        return;
    }
    x->fragment_left = x->f.length - fixed - pad;
    x->pad_left = pad;
    fr->block_open = true;
    fr->block_stream = x->f.stream_id;
    x->f.end_frame = w->frame;
    x->f.end_ts = w->ts;
    emit_frame(w);
    fr->st = CS_H2F_FRAGMENT;
}

/* §4.1: a whole frame header is in buf; decide how to read the payload. */
static void begin_frame(struct fw *w)
{
    const uint32_t bl = CS_H2_FRAME_HEADER_LEN;
    struct cs_h2_framer *fr = w->fr;
    struct cs_h2_frame_cut *x = &w->x;
    struct cs_h2_frame *f = &x->f;
    uint64_t frame = f->frame;
    cs_time_ns ts = f->ts;
    memset(f, 0, sizeof *f);
    f->frame = frame;
    f->ts = ts;
    f->length = rd_u24(x->buf, bl, 0);
    f->type = rd_u8(x->buf, bl, 3);
    f->flags = rd_u8(x->buf, bl, 4);
    f->stream_id = rd_u32(x->buf, bl, 5) & 0x7fffffffu; /* §4.1: R bit ignored */
    x->payload_left = f->length;
    x->got = 0;

    if (f->length > fr->max_frame_size) {
        /* §4.2: FRAME_SIZE_ERROR.  The length is still known, so a passive
         * reader can stay in step and read on. */
        f->oversized = true;
        emit_error(w, CS_H2_ERR_FRAME_SIZE);
    }
    if (!fr->seen_frame && !fr->is_client && f->type != CS_H2_SETTINGS)
        emit_error(w, CS_H2_ERR_FIRST_FRAME); /* §3.4 */
    fr->seen_frame = true;

    /* §6.10: while a header block is open only its CONTINUATION may come. */
    if (fr->block_open && (f->type != CS_H2_CONTINUATION || f->stream_id != fr->block_stream)) {
        emit_error(w, CS_H2_ERR_CONTINUATION);
        lose(w);
        return;
    }

    bool padded = f->flags & CS_H2_FLAG_PADDED;
    switch (f->type) {
    case CS_H2_DATA: /* §6.1 */
        if (f->stream_id == 0)
            emit_error(w, CS_H2_ERR_STREAM_ZERO);
        if (padded && f->length >= 1)
            want_fixed(w, 1);
        else {
            if (padded)
                emit_error(w, CS_H2_ERR_PADDING);
            skip_rest(w);
        }
        return;
    case CS_H2_HEADERS: { /* §6.2 */
        uint32_t need = (padded ? 1u : 0u) + (f->flags & CS_H2_FLAG_PRIORITY ? 5u : 0u);
        if (f->stream_id == 0)
            emit_error(w, CS_H2_ERR_STREAM_ZERO); /* still decoded: HPACK state */
        if (need > f->length) {
            emit_error(w, CS_H2_ERR_FRAME_SIZE);
            fr->block_open = true;
            lose(w);
            return;
        }
        want_fixed(w, need);
        return;
    }
    case CS_H2_PUSH_PROMISE: { /* §6.6 */
        uint32_t need = (padded ? 1u : 0u) + 4u;
        if (fr->is_client || f->stream_id == 0)
            emit_error(w, fr->is_client ? CS_H2_ERR_PUSH_FROM_CLIENT : CS_H2_ERR_STREAM_ZERO);
        if (need > f->length) {
            emit_error(w, CS_H2_ERR_FRAME_SIZE);
            fr->block_open = true;
            lose(w);
            return;
        }
        want_fixed(w, need);
        return;
    }
    case CS_H2_CONTINUATION: /* §6.10 */
        if (!fr->block_open) {
            emit_error(w, CS_H2_ERR_CONTINUATION);
            f->malformed = true;
            skip_rest(w);
            return;
        }
        x->fragment_left = f->length;
        x->pad_left = 0;
        f->end_frame = w->frame;
        f->end_ts = w->ts;
        emit_frame(w);
        fr->st = CS_H2F_FRAGMENT;
        return;
    case CS_H2_PRIORITY:        /* §6.3 */
    case CS_H2_RST_STREAM:      /* §6.4 */
    case CS_H2_WINDOW_UPDATE: { /* §6.9 */
        uint32_t want = f->type == CS_H2_PRIORITY ? 5u : 4u;
        if (f->stream_id == 0 && f->type != CS_H2_WINDOW_UPDATE)
            emit_error(w, CS_H2_ERR_STREAM_ZERO);
        if (f->length != want) {
            emit_error(w, CS_H2_ERR_FRAME_SIZE);
            f->malformed = true;
            skip_rest(w);
            return;
        }
        want_fixed(w, want);
        return;
    }
    case CS_H2_SETTINGS: /* §6.5 */
        if (f->stream_id != 0)
            emit_error(w, CS_H2_ERR_STREAM_ZERO);
        if (f->length % 6 != 0 || ((f->flags & CS_H2_FLAG_ACK) && f->length != 0)) {
            emit_error(w, CS_H2_ERR_FRAME_SIZE);
            f->malformed = true;
            skip_rest(w);
            return;
        }
        fr->st = CS_H2F_SETTING;
        return;
    case CS_H2_PING:   /* §6.7 */
    case CS_H2_GOAWAY: /* §6.8 */
        if (f->stream_id != 0)
            emit_error(w, CS_H2_ERR_STREAM_ZERO);
        if (f->type == CS_H2_PING ? f->length != 8 : f->length < 8) {
            emit_error(w, CS_H2_ERR_FRAME_SIZE);
            f->malformed = true;
            skip_rest(w);
            return;
        }
        want_fixed(w, 8);
        return;
    default: /* §5.5: unknown types are ignored */
        skip_rest(w);
        return;
    }
}

/* The fixed fields of the current frame are in buf[0..need). */
static void fixed_done(struct fw *w)
{
    struct cs_h2_frame_cut *x = &w->x;
    struct cs_h2_frame *f = &x->f;
    const uint8_t *b = x->buf;
    uint32_t bl = x->need;
    uint32_t off = 0;
    x->payload_left -= x->need;
    switch (f->type) {
    case CS_H2_DATA:
        f->pad_length = rd_u8(b, bl, 0);
        if (f->pad_length > f->length - 1)
            emit_error(w, CS_H2_ERR_PADDING); /* still skipped by length */
        skip_rest(w);
        return;
    case CS_H2_HEADERS:
        if (f->flags & CS_H2_FLAG_PADDED)
            f->pad_length = rd_u8(b, bl, off++);
        if (f->flags & CS_H2_FLAG_PRIORITY) {
            uint32_t dep = rd_u32(b, bl, off);
            f->has_priority = true;
            f->exclusive = dep >> 31;
            f->dependency = dep & 0x7fffffffu;
            f->weight = rd_u8(b, bl, off + 4);
        }
        start_fragment(w, x->need);
        return;
    case CS_H2_PUSH_PROMISE:
        if (f->flags & CS_H2_FLAG_PADDED)
            f->pad_length = rd_u8(b, bl, off++);
        f->promised_stream_id = rd_u32(b, bl, off) & 0x7fffffffu;
        start_fragment(w, x->need);
        return;
    case CS_H2_PRIORITY: {
        uint32_t dep = rd_u32(b, bl, 0);
        f->has_priority = true;
        f->exclusive = dep >> 31;
        f->dependency = dep & 0x7fffffffu;
        f->weight = rd_u8(b, bl, 4);
        break;
    }
    case CS_H2_RST_STREAM:
        f->error_code = rd_u32(b, bl, 0);
        break;
    case CS_H2_WINDOW_UPDATE:
        f->window_increment = rd_u32(b, bl, 0) & 0x7fffffffu;
        break;
    case CS_H2_GOAWAY:
        f->last_stream_id = rd_u32(b, bl, 0) & 0x7fffffffu;
        f->error_code = rd_u32(b, bl, 4);
        break;
    default: /* PING: the opaque data is of no interest */
        break;
    }
    if (x->payload_left == 0)
        frame_end(w);
    else
        skip_rest(w); /* GOAWAY debug data */
}

/* §6.5.1: one setting (identifier, value) is in buf[0..6). */
static void setting_done(struct fw *w)
{
    struct cs_h2_frame_cut *x = &w->x;
    struct cs_h2_frame *f = &x->f;
    uint16_t id = rd_u16(x->buf, 6, 0);
    uint32_t v = rd_u32(x->buf, 6, 2);
    bool bad = (id == CS_H2_SETTINGS_ENABLE_PUSH && v > 1) ||
               (id == CS_H2_SETTINGS_INITIAL_WINDOW_SIZE && v > 0x7fffffffu) ||
               (id == CS_H2_SETTINGS_MAX_FRAME_SIZE &&
                (v < CS_H2_DEFAULT_MAX_FRAME_SIZE || v > CS_H2_MAX_MAX_FRAME_SIZE));
    if (bad)
        emit_error(w, CS_H2_ERR_SETTINGS_VALUE);
    else if (id >= 1 && id < CS_H2_SETTINGS_KEPT) { /* §6.5.2: unknown ids ignored */
        f->settings[id] = v;
        f->settings_present |= 1u << id;
    }
    x->payload_left -= 6;
    x->got = 0;
}

/* Moves on from states that have nothing left to read (zero-length
 * payloads, fragments, padding), so that a frame ending exactly at the end
 * of a piece is reported without waiting for the next one. */
static void settle(struct fw *w)
{
    struct cs_h2_frame_cut *x = &w->x;
    for (;;) {
        switch (w->fr->st) {
        case CS_H2F_FIXED:
            if (x->got < x->need)
                return;
            fixed_done(w);
            break;
        case CS_H2F_SETTING:
            if (x->got == 6)
                setting_done(w);
            if (x->payload_left != 0)
                return;
            frame_end(w);
            break;
        case CS_H2F_FRAGMENT:
            if (x->fragment_left != 0)
                return;
            if (x->f.flags & CS_H2_FLAG_END_HEADERS) {
                struct cs_h2_fevent ev = {.kind = CS_H2_FEV_BLOCK_END, .frame = &x->f};
                w->fr->block_open = false;
                emit(w, &ev);
            }
            x->payload_left = x->pad_left;
            x->pad_left = 0;
            w->fr->st = CS_H2F_SKIP;
            break;
        case CS_H2F_SKIP:
            if (x->payload_left != 0)
                return;
            frame_end(w);
            break;
        default:
            return;
        }
    }
}

void cs_h2_framer_data(struct cs_h2_framer *fr, const uint8_t *p, uint32_t n,
                       uint64_t frame, cs_time_ns ts, cs_h2_fevent_cb cb, void *ctx)
{
    if (fr->st == CS_H2F_LOST)
        return;
    struct fw w;
    fw_load(&w, fr, frame, ts, cb, ctx);
    struct cs_h2_frame_cut *x = &w.x;
    uint32_t i = 0;
    while (i < n && fr->st != CS_H2F_LOST) {
        uint32_t avail = n - i, k;
        switch (fr->st) {
        case CS_H2F_PREFACE: /* §3.4 */
            k = CS_H2_PREFACE_LEN - x->got;
            if (k > avail)
                k = avail;
            if (memcmp(p + i, &CS_H2_PREFACE[x->got], k) != 0) {
                emit_error(&w, CS_H2_ERR_BAD_PREFACE);
                lose(&w);
                return;
            }
            x->got += k;
            i += k;
            if (x->got == CS_H2_PREFACE_LEN)
                next_frame(&w);
            break;
        case CS_H2F_HEADER:
            if (x->got == 0) {
                x->f.frame = frame;
                x->f.ts = ts;
            }
            k = CS_H2_FRAME_HEADER_LEN - x->got;
            if (k > avail)
                k = avail;
            memcpy(x->buf + x->got, p + i, k);
            x->got += k;
            i += k;
            if (x->got == CS_H2_FRAME_HEADER_LEN) {
                begin_frame(&w);
                settle(&w);
            }
            break;
        case CS_H2F_FIXED:
        case CS_H2F_SETTING: {
            uint32_t want = fr->st == CS_H2F_FIXED ? x->need : 6u;
            k = want - x->got;
            if (k > avail)
                k = avail;
            memcpy(x->buf + x->got, p + i, k);
            x->got += k;
            i += k;
            settle(&w);
            break;
        }
        case CS_H2F_FRAGMENT: {
            k = x->fragment_left < avail ? x->fragment_left : avail;
            struct cs_h2_fevent ev = {.kind = CS_H2_FEV_BLOCK, .frame = &x->f, .data = p + i, .len = k};
            x->fragment_left -= k;
            x->payload_left -= k;
            i += k;
            emit(&w, &ev);
            settle(&w);
            break;
        }
        case CS_H2F_SKIP:
            k = x->payload_left < avail ? x->payload_left : avail;
            x->payload_left -= k;
            i += k;
            settle(&w);
            break;
        default: /* CS_H2F_LOST */
            break;
        }
    }
    fw_store(&w);
}

bool cs_h2_framer_gap(struct cs_h2_framer *fr, uint32_t len, uint64_t frame, cs_time_ns ts,
                      cs_h2_fevent_cb cb, void *ctx)
{
    if (fr->st == CS_H2F_LOST)
        return false;
    if (len == 0)
        return true;
    struct fw w;
    fw_load(&w, fr, frame, ts, cb, ctx);
    if (fr->st == CS_H2F_SKIP && len <= w.x.payload_left) {
        /* Inside DATA, padding or GOAWAY debug data: nothing read is lost. */
        w.x.payload_left -= len;
        settle(&w);
        fw_store(&w);
        return true;
    }
    lose(&w);
    return false;
}

int cs_h2_probe(const uint8_t *p, uint32_t n)
{
    uint32_t k = n < CS_H2_PREFACE_LEN ? n : CS_H2_PREFACE_LEN;
    if (memcmp(p, CS_H2_PREFACE, k) != 0)
        return 0;
    return n < CS_H2_PREFACE_LEN ? -1 : 1;
}

const char *cs_h2_frame_type_name(uint8_t type)
{
    static const char *const names[] = {
        "DATA",
        "HEADERS",
        "PRIORITY",
        "RST_STREAM",
        "SETTINGS",
        "PUSH_PROMISE",
        "PING",
        "GOAWAY",
        "WINDOW_UPDATE",
        "CONTINUATION",
    };
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

const char *cs_h2_frame_error_name(enum cs_h2_frame_error e)
{
    switch (e) {
    case CS_H2_ERR_BAD_PREFACE: return "bad-preface";
    case CS_H2_ERR_FRAME_SIZE: return "frame-size";
    case CS_H2_ERR_PADDING: return "padding";
    case CS_H2_ERR_STREAM_ZERO: return "stream-id";
    case CS_H2_ERR_CONTINUATION: return "continuation";
    case CS_H2_ERR_SETTINGS_VALUE: return "settings-value";
    case CS_H2_ERR_FIRST_FRAME: return "first-frame";
    case CS_H2_ERR_PUSH_FROM_CLIENT: return "push-from-client";
    }
    return "unknown";
}
