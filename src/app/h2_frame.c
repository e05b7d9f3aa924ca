/* HTTP/2 frame layer: see h2_frame.h.  A byte-at-a-time-safe state machine
 * over one direction; every read of a frame field goes through the
 * bounds-checked accessors below, on the framer's own small buffer. */
#include <string.h>

#include "h2_frame.h"

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

/* Where the bytes being consumed came from, and where events go. */
struct feed {
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

bool cs_h2_framer_at_boundary(const struct cs_h2_framer *fr)
{
    return fr->st == CS_H2F_HEADER && fr->got == 0 && !fr->block_open;
}

static void emit(const struct feed *fd, struct cs_h2_fevent *ev)
{
    if (fd->cb)
        fd->cb(fd->ctx, ev);
}

static void emit_error(struct cs_h2_framer *fr, const struct feed *fd, enum cs_h2_frame_error e)
{
    struct cs_h2_fevent ev = {.kind = CS_H2_FEV_ERROR, .frame = &fr->f, .error = e, .at_frame = fd->frame, .at_ts = fd->ts};
    emit(fd, &ev);
}

static void lose(struct cs_h2_framer *fr, const struct feed *fd)
{
    struct cs_h2_fevent ev = {.kind = CS_H2_FEV_LOST,
                              .in_block = fr->block_open || fr->st == CS_H2F_FRAGMENT,
                              .at_frame = fd->frame,
                              .at_ts = fd->ts};
    fr->st = CS_H2F_LOST;
    fr->block_open = false;
    emit(fd, &ev);
}

static void emit_frame(struct cs_h2_framer *fr, const struct feed *fd)
{
    struct cs_h2_fevent ev = {.kind = CS_H2_FEV_FRAME, .frame = &fr->f};
    emit(fd, &ev);
}

static void next_frame(struct cs_h2_framer *fr)
{
    fr->st = CS_H2F_HEADER;
    fr->got = 0;
}

/* The payload of a frame reported at its end has gone by. */
static void frame_end(struct cs_h2_framer *fr, const struct feed *fd)
{
    fr->f.end_frame = fd->frame;
    fr->f.end_ts = fd->ts;
    uint8_t t = fr->f.type;
    if (t != CS_H2_HEADERS && t != CS_H2_PUSH_PROMISE && t != CS_H2_CONTINUATION)
        emit_frame(fr, fd);
    next_frame(fr);
}

static void skip_rest(struct cs_h2_framer *fr)
{
    fr->st = CS_H2F_SKIP;
}

static void want_fixed(struct cs_h2_framer *fr, uint32_t need)
{
    fr->st = CS_H2F_FIXED;
    fr->need = need;
    fr->got = 0;
}

/* A header block frame's fixed fields are read: the fragment follows,
 * then pad_left bytes of padding.  §6.2, §6.7, §6.10. */
static void start_fragment(struct cs_h2_framer *fr, const struct feed *fd, uint32_t fixed)
{
    uint32_t pad = fr->f.pad_length;
    if (pad > fr->f.length - fixed) {
        /* §6.2: padding that exceeds the payload is a PROTOCOL_ERROR; the
         * fragment cannot be located, so the block (and HPACK) is lost. */
        emit_error(fr, fd, CS_H2_ERR_PADDING);
        fr->block_open = true;
        lose(fr, fd);
        return;
    }
    fr->fragment_left = fr->f.length - fixed - pad;
    fr->pad_left = pad;
    fr->block_open = true;
    fr->block_stream = fr->f.stream_id;
    fr->f.end_frame = fd->frame;
    fr->f.end_ts = fd->ts;
    emit_frame(fr, fd);
    fr->st = CS_H2F_FRAGMENT;
}

/* §4.1: a whole frame header is in buf; decide how to read the payload. */
static void begin_frame(struct cs_h2_framer *fr, const struct feed *fd)
{
    const uint32_t bl = CS_H2_FRAME_HEADER_LEN;
    struct cs_h2_frame *f = &fr->f;
    uint64_t frame = f->frame;
    cs_time_ns ts = f->ts;
    memset(f, 0, sizeof *f);
    f->frame = frame;
    f->ts = ts;
    f->length = rd_u24(fr->buf, bl, 0);
    f->type = rd_u8(fr->buf, bl, 3);
    f->flags = rd_u8(fr->buf, bl, 4);
    f->stream_id = rd_u32(fr->buf, bl, 5) & 0x7fffffffu; /* §4.1: R bit ignored */
    fr->frames++;
    fr->payload_left = f->length;
    fr->got = 0;

    if (f->length > fr->max_frame_size) {
        /* §4.2: FRAME_SIZE_ERROR.  The length is still known, so a passive
         * reader can stay in step and read on. */
        f->oversized = true;
        emit_error(fr, fd, CS_H2_ERR_FRAME_SIZE);
    }
    if (!fr->seen_frame && !fr->is_client && f->type != CS_H2_SETTINGS)
        emit_error(fr, fd, CS_H2_ERR_FIRST_FRAME); /* §3.4 */
    fr->seen_frame = true;

    /* §6.10: while a header block is open only its CONTINUATION may come. */
    if (fr->block_open && (f->type != CS_H2_CONTINUATION || f->stream_id != fr->block_stream)) {
        emit_error(fr, fd, CS_H2_ERR_CONTINUATION);
        lose(fr, fd);
        return;
    }

    bool padded = f->flags & CS_H2_FLAG_PADDED;
    switch (f->type) {
    case CS_H2_DATA: /* §6.1 */
        if (f->stream_id == 0)
            emit_error(fr, fd, CS_H2_ERR_STREAM_ZERO);
        if (padded && f->length >= 1)
            want_fixed(fr, 1);
        else {
            if (padded)
                emit_error(fr, fd, CS_H2_ERR_PADDING);
            skip_rest(fr);
        }
        return;
    case CS_H2_HEADERS: { /* §6.2 */
        uint32_t need = (padded ? 1u : 0u) + (f->flags & CS_H2_FLAG_PRIORITY ? 5u : 0u);
        if (f->stream_id == 0)
            emit_error(fr, fd, CS_H2_ERR_STREAM_ZERO); /* still decoded: HPACK state */
        if (need > f->length) {
            emit_error(fr, fd, CS_H2_ERR_FRAME_SIZE);
            fr->block_open = true;
            lose(fr, fd);
            return;
        }
        want_fixed(fr, need);
        return;
    }
    case CS_H2_PUSH_PROMISE: { /* §6.6 */
        uint32_t need = (padded ? 1u : 0u) + 4u;
        if (fr->is_client || f->stream_id == 0)
            emit_error(fr, fd, fr->is_client ? CS_H2_ERR_PUSH_FROM_CLIENT : CS_H2_ERR_STREAM_ZERO);
        if (need > f->length) {
            emit_error(fr, fd, CS_H2_ERR_FRAME_SIZE);
            fr->block_open = true;
            lose(fr, fd);
            return;
        }
        want_fixed(fr, need);
        return;
    }
    case CS_H2_CONTINUATION: /* §6.10 */
        if (!fr->block_open) {
            emit_error(fr, fd, CS_H2_ERR_CONTINUATION);
            f->malformed = true;
            skip_rest(fr);
            return;
        }
        fr->fragment_left = f->length;
        fr->pad_left = 0;
        f->end_frame = fd->frame;
        f->end_ts = fd->ts;
        emit_frame(fr, fd);
        fr->st = CS_H2F_FRAGMENT;
        return;
    case CS_H2_PRIORITY:        /* §6.3 */
    case CS_H2_RST_STREAM:      /* §6.4 */
    case CS_H2_WINDOW_UPDATE: { /* §6.9 */
        uint32_t want = f->type == CS_H2_PRIORITY ? 5u : 4u;
        if (f->stream_id == 0 && f->type != CS_H2_WINDOW_UPDATE)
            emit_error(fr, fd, CS_H2_ERR_STREAM_ZERO);
        if (f->length != want) {
            emit_error(fr, fd, CS_H2_ERR_FRAME_SIZE);
            f->malformed = true;
            skip_rest(fr);
            return;
        }
        want_fixed(fr, want);
        return;
    }
    case CS_H2_SETTINGS: /* §6.5 */
        if (f->stream_id != 0)
            emit_error(fr, fd, CS_H2_ERR_STREAM_ZERO);
        if (f->length % 6 != 0 || ((f->flags & CS_H2_FLAG_ACK) && f->length != 0)) {
            emit_error(fr, fd, CS_H2_ERR_FRAME_SIZE);
            f->malformed = true;
            skip_rest(fr);
            return;
        }
        fr->st = CS_H2F_SETTING;
        return;
    case CS_H2_PING:   /* §6.7 */
    case CS_H2_GOAWAY: /* §6.8 */
        if (f->stream_id != 0)
            emit_error(fr, fd, CS_H2_ERR_STREAM_ZERO);
        if (f->type == CS_H2_PING ? f->length != 8 : f->length < 8) {
            emit_error(fr, fd, CS_H2_ERR_FRAME_SIZE);
            f->malformed = true;
            skip_rest(fr);
            return;
        }
        want_fixed(fr, 8);
        return;
    default: /* §5.5: unknown types are ignored */
        skip_rest(fr);
        return;
    }
}

/* The fixed fields of the current frame are in buf[0..need). */
static void fixed_done(struct cs_h2_framer *fr, const struct feed *fd)
{
    struct cs_h2_frame *f = &fr->f;
    const uint8_t *b = fr->buf;
    uint32_t bl = fr->need;
    uint32_t off = 0;
    fr->payload_left -= fr->need;
    switch (f->type) {
    case CS_H2_DATA:
        f->pad_length = rd_u8(b, bl, 0);
        if (f->pad_length > f->length - 1)
            emit_error(fr, fd, CS_H2_ERR_PADDING); /* still skipped by length */
        skip_rest(fr);
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
        start_fragment(fr, fd, fr->need);
        return;
    case CS_H2_PUSH_PROMISE:
        if (f->flags & CS_H2_FLAG_PADDED)
            f->pad_length = rd_u8(b, bl, off++);
        f->promised_stream_id = rd_u32(b, bl, off) & 0x7fffffffu;
        start_fragment(fr, fd, fr->need);
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
    if (fr->payload_left == 0)
        frame_end(fr, fd);
    else
        skip_rest(fr); /* GOAWAY debug data */
}

/* §6.5.1: one setting (identifier, value) is in buf[0..6). */
static void setting_done(struct cs_h2_framer *fr, const struct feed *fd)
{
    struct cs_h2_frame *f = &fr->f;
    uint16_t id = rd_u16(fr->buf, 6, 0);
    uint32_t v = rd_u32(fr->buf, 6, 2);
    bool bad = (id == CS_H2_SETTINGS_ENABLE_PUSH && v > 1) ||
               (id == CS_H2_SETTINGS_INITIAL_WINDOW_SIZE && v > 0x7fffffffu) ||
               (id == CS_H2_SETTINGS_MAX_FRAME_SIZE &&
                (v < CS_H2_DEFAULT_MAX_FRAME_SIZE || v > CS_H2_MAX_MAX_FRAME_SIZE));
    if (bad)
        emit_error(fr, fd, CS_H2_ERR_SETTINGS_VALUE);
    else if (id >= 1 && id < CS_H2_SETTINGS_KEPT) { /* §6.5.2: unknown ids ignored */
        f->settings[id] = v;
        f->settings_present |= 1u << id;
    }
    fr->payload_left -= 6;
    fr->got = 0;
}

/* Moves on from states that have nothing left to read (zero-length
 * payloads, fragments, padding), so that a frame ending exactly at the end
 * of a piece is reported without waiting for the next one. */
static void settle(struct cs_h2_framer *fr, const struct feed *fd)
{
    for (;;) {
        switch (fr->st) {
        case CS_H2F_FIXED:
            if (fr->got < fr->need)
                return;
            fixed_done(fr, fd);
            break;
        case CS_H2F_SETTING:
            if (fr->got == 6)
                setting_done(fr, fd);
            if (fr->payload_left != 0)
                return;
            frame_end(fr, fd);
            break;
        case CS_H2F_FRAGMENT:
            if (fr->fragment_left != 0)
                return;
            if (fr->f.flags & CS_H2_FLAG_END_HEADERS) {
                struct cs_h2_fevent ev = {.kind = CS_H2_FEV_BLOCK_END, .frame = &fr->f};
                fr->block_open = false;
                emit(fd, &ev);
            }
            fr->payload_left = fr->pad_left;
            fr->pad_left = 0;
            fr->st = CS_H2F_SKIP;
            break;
        case CS_H2F_SKIP:
            if (fr->payload_left != 0)
                return;
            frame_end(fr, fd);
            break;
        default:
            return;
        }
    }
}

void cs_h2_framer_data(struct cs_h2_framer *fr, const uint8_t *p, uint32_t n,
                       uint64_t frame, cs_time_ns ts, cs_h2_fevent_cb cb, void *ctx)
{
    struct feed fd = {frame, ts, cb, ctx};
    uint32_t i = 0;
    while (i < n && fr->st != CS_H2F_LOST) {
        uint32_t avail = n - i, k;
        switch (fr->st) {
        case CS_H2F_PREFACE: /* §3.4 */
            k = CS_H2_PREFACE_LEN - fr->got;
            if (k > avail)
                k = avail;
            if (memcmp(p + i, &CS_H2_PREFACE[fr->got], k) != 0) {
                emit_error(fr, &fd, CS_H2_ERR_BAD_PREFACE);
                lose(fr, &fd);
                return;
            }
            fr->got += k;
            i += k;
            if (fr->got == CS_H2_PREFACE_LEN)
                next_frame(fr);
            break;
        case CS_H2F_HEADER:
            if (fr->got == 0) {
                fr->f.frame = frame;
                fr->f.ts = ts;
            }
            k = CS_H2_FRAME_HEADER_LEN - fr->got;
            if (k > avail)
                k = avail;
            memcpy(fr->buf + fr->got, p + i, k);
            fr->got += k;
            i += k;
            if (fr->got == CS_H2_FRAME_HEADER_LEN) {
                begin_frame(fr, &fd);
                settle(fr, &fd);
            }
            break;
        case CS_H2F_FIXED:
        case CS_H2F_SETTING: {
            uint32_t want = fr->st == CS_H2F_FIXED ? fr->need : 6u;
            k = want - fr->got;
            if (k > avail)
                k = avail;
            memcpy(fr->buf + fr->got, p + i, k);
            fr->got += k;
            i += k;
            settle(fr, &fd);
            break;
        }
        case CS_H2F_FRAGMENT: {
            k = fr->fragment_left < avail ? fr->fragment_left : avail;
            struct cs_h2_fevent ev = {.kind = CS_H2_FEV_BLOCK, .frame = &fr->f, .data = p + i, .len = k};
            fr->fragment_left -= k;
            fr->payload_left -= k;
            i += k;
            emit(&fd, &ev);
            settle(fr, &fd);
            break;
        }
        case CS_H2F_SKIP:
            k = fr->payload_left < avail ? fr->payload_left : avail;
            fr->payload_left -= k;
            i += k;
            settle(fr, &fd);
            break;
        case CS_H2F_LOST:
            return;
        }
    }
}

bool cs_h2_framer_gap(struct cs_h2_framer *fr, uint32_t len, uint64_t frame, cs_time_ns ts,
                      cs_h2_fevent_cb cb, void *ctx)
{
    struct feed fd = {frame, ts, cb, ctx};
    if (fr->st == CS_H2F_LOST)
        return false;
    if (len == 0)
        return true;
    if (fr->st == CS_H2F_SKIP && len <= fr->payload_left) {
        /* Inside DATA, padding or GOAWAY debug data: nothing read is lost. */
        fr->payload_left -= len;
        settle(fr, &fd);
        return true;
    }
    lose(fr, &fd);
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
