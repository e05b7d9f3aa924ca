/* HTTP/2 frame layer (RFC 9113 §3.4, §4, §6): the in-order bytes of ONE
 * direction of a connection -> frames, as events.
 *
 * Ours, not libnghttp2's session, because a passive observer must survive
 * what an endpoint never sees: pieces cut at any byte, capture gaps, a
 * capture that ends mid-frame.  The framer never copies a payload it does
 * not need: DATA, padding, GOAWAY debug data and unknown
 * frame types are skipped by count (so a gap that falls inside them costs
 * nothing), and header block fragments are handed on as pointers into the
 * caller's piece, a piece at a time, for the HPACK inflater to consume in a
 * stream (h2_conn.c).  Only the fixed fields of a frame (at most 9 + 8
 * bytes) are gathered in a small buffer, and the only allocation is the
 * frame in progress while the input stops inside one.
 *
 * The framer checks what RFC 9113 lets it check within one direction
 * (frame sizes, padding, stream 0 rules, CONTINUATION sequences) and
 * reports violations as events; what needs both directions (stream states,
 * settings acknowledgement) is h2_conn.c's. */
#ifndef CS_H2_FRAME_H
#define CS_H2_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "packet.h"

/* §3.4: the client connection preface. */
#define CS_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define CS_H2_PREFACE_LEN 24u

/* §4.1 */
#define CS_H2_FRAME_HEADER_LEN 9u
/* §4.2, §6.5.2: SETTINGS_MAX_FRAME_SIZE's initial value and its range. */
#define CS_H2_DEFAULT_MAX_FRAME_SIZE 16384u
#define CS_H2_MAX_MAX_FRAME_SIZE 16777215u

/* §6: frame types. */
enum cs_h2_frame_type {
    CS_H2_DATA = 0x0,
    CS_H2_HEADERS = 0x1,
    CS_H2_PRIORITY = 0x2,
    CS_H2_RST_STREAM = 0x3,
    CS_H2_SETTINGS = 0x4,
    CS_H2_PUSH_PROMISE = 0x5,
    CS_H2_PING = 0x6,
    CS_H2_GOAWAY = 0x7,
    CS_H2_WINDOW_UPDATE = 0x8,
    CS_H2_CONTINUATION = 0x9,
};

/* §6: flags (the same bit means different things per type). */
#define CS_H2_FLAG_END_STREAM 0x01u  /* DATA, HEADERS */
#define CS_H2_FLAG_ACK 0x01u         /* SETTINGS, PING */
#define CS_H2_FLAG_END_HEADERS 0x04u /* HEADERS, PUSH_PROMISE, CONTINUATION */
#define CS_H2_FLAG_PADDED 0x08u      /* DATA, HEADERS, PUSH_PROMISE */
#define CS_H2_FLAG_PRIORITY 0x20u    /* HEADERS */

/* §6.5.2: the settings the framer keeps (identifiers 1..6). */
enum cs_h2_setting_id {
    CS_H2_SETTINGS_HEADER_TABLE_SIZE = 0x1,
    CS_H2_SETTINGS_ENABLE_PUSH = 0x2,
    CS_H2_SETTINGS_MAX_CONCURRENT_STREAMS = 0x3,
    CS_H2_SETTINGS_INITIAL_WINDOW_SIZE = 0x4,
    CS_H2_SETTINGS_MAX_FRAME_SIZE = 0x5,
    CS_H2_SETTINGS_MAX_HEADER_LIST_SIZE = 0x6,
};
#define CS_H2_SETTINGS_KEPT 7 /* values indexed by identifier, 1..6 */

/* What the framer found wrong (one direction's view). */
enum cs_h2_frame_error {
    CS_H2_ERR_BAD_PREFACE = 1,  /* §3.4: the client did not start with the preface */
    CS_H2_ERR_FRAME_SIZE,       /* §4.2: longer than SETTINGS_MAX_FRAME_SIZE, or a
                                 * fixed-size frame of the wrong length */
    CS_H2_ERR_PADDING,          /* §6.1, §6.2: padding longer than the payload */
    CS_H2_ERR_STREAM_ZERO,      /* a stream frame on stream 0, or a connection
                                 * frame (SETTINGS, PING, GOAWAY) on a stream */
    CS_H2_ERR_CONTINUATION,     /* §6.10: a frame other than CONTINUATION on the same
                                 * stream while a header block is open, or a
                                 * CONTINUATION without an open block */
    CS_H2_ERR_SETTINGS_VALUE,   /* §6.5.2: ENABLE_PUSH > 1, window > 2^31-1,
                                 * MAX_FRAME_SIZE out of range */
    CS_H2_ERR_FIRST_FRAME,      /* §3.4: a server's first frame is not SETTINGS */
    CS_H2_ERR_PUSH_FROM_CLIENT, /* §8.4: a client sent PUSH_PROMISE */
};

/* One frame, as far as the framer has read it.  Which fields are set
 * depends on `type`; the rest are zero. */
struct cs_h2_frame {
    /* (ordered by size: one of these in each direction of each connection) */
    uint64_t frame; /* capture frame carrying the frame header's first byte */
    cs_time_ns ts;
    /* capture frame carrying its last byte (frames reported at their end;
     * for header frames: same as frame) */
    uint64_t end_frame;
    cs_time_ns end_ts;
    uint32_t length;    /* payload length from the frame header */
    uint32_t stream_id; /* reserved bit cleared */
    /* The fields of its type (zero when not sent or not read). */
    union {
        uint32_t dependency;         /* HEADERS, PRIORITY: with has_priority */
        uint32_t promised_stream_id; /* PUSH_PROMISE */
        uint32_t window_increment;   /* WINDOW_UPDATE */
        struct {
            uint32_t error_code;     /* RST_STREAM, GOAWAY */
            uint32_t last_stream_id; /* GOAWAY */
        };
        /* SETTINGS: the last value of each identifier 1..6 in this frame;
         * bit i of settings_present says settings[i] was sent. */
        struct {
            uint32_t settings_present;
            uint32_t settings[CS_H2_SETTINGS_KEPT];
        };
    };
    uint8_t type, flags;
    bool oversized; /* length > the direction's max frame size */
    /* its fixed fields could not be read (wrong length): reported for
     * counting only, fields zero */
    bool malformed;
    uint8_t pad_length; /* PADDED */
    bool has_priority;  /* HEADERS with PRIORITY, and PRIORITY */
    bool exclusive;
    uint8_t weight;
};

enum cs_h2_fevent_kind {
    /* A frame.  HEADERS, PUSH_PROMISE and CONTINUATION are reported when
     * their fixed fields are read, before their fragment's bytes; every
     * other type once its whole payload has gone by. */
    CS_H2_FEV_FRAME,
    /* Bytes of the open header block's fragment (data, len); may come in
     * many events, cut at any byte. */
    CS_H2_FEV_BLOCK,
    /* The open header block is complete (END_HEADERS frame fully read). */
    CS_H2_FEV_BLOCK_END,
    /* A protocol violation (error; frame when it belongs to one).  The
     * framer carries on where it can. */
    CS_H2_FEV_ERROR,
    /* The framer lost its place (a gap outside a skippable payload, or a
     * violation that leaves frame boundaries unknown): nothing more comes
     * from this direction.  in_block says a header block was open. */
    CS_H2_FEV_LOST,
};

struct cs_h2_fevent {
    enum cs_h2_fevent_kind kind;
    const struct cs_h2_frame *frame; /* FRAME, BLOCK, BLOCK_END; ERROR when known */
    const uint8_t *data;             /* BLOCK */
    uint32_t len;
    enum cs_h2_frame_error error; /* ERROR */
    bool in_block;                /* LOST */
    uint64_t at_frame;            /* ERROR, LOST: the capture frame where it happened */
    cs_time_ns at_ts;
};

typedef void (*cs_h2_fevent_cb)(void *ctx, const struct cs_h2_fevent *ev);

enum cs_h2_framer_state {
    CS_H2F_PREFACE,  /* matching the client preface */
    CS_H2F_HEADER,   /* gathering a 9-byte frame header */
    CS_H2F_FIXED,    /* gathering a frame's fixed fields (pad length, priority, ...) */
    CS_H2F_SETTING,  /* gathering one 6-byte SETTINGS entry */
    CS_H2F_FRAGMENT, /* header block fragment bytes */
    CS_H2F_SKIP,     /* payload bytes nobody reads */
    CS_H2F_LOST,
};

/* What a frame in progress needs between two pieces of input: the frame as
 * read so far, its fixed-field buffer and what is left of its payload.  A
 * call works on a copy of it on the stack; a framer keeps one (malloc'd)
 * only while a piece has ended inside a frame or the preface. */
struct cs_h2_frame_cut {
    struct cs_h2_frame f;   /* the frame being read */
    uint32_t got;           /* bytes in buf (or of the preface matched) */
    uint32_t need;          /* bytes of fixed fields wanted in buf */
    uint32_t payload_left;  /* payload bytes of f not yet consumed */
    uint32_t fragment_left; /* of which header block fragment */
    uint32_t pad_left;      /* of which padding (after the fragment) */
    uint8_t buf[CS_H2_FRAME_HEADER_LEN + 8];
};

/* One direction's framer: what it keeps between frames (thousands of
 * connections sit between frames at once).  cs_h2_framer_init() it;
 * cs_h2_framer_free() gives back the frame in progress, if any. */
struct cs_h2_framer {
    struct cs_h2_frame_cut *cut; /* while a piece ended inside a frame, else NULL */
    uint32_t block_stream;       /* stream of the open header block, 0 if none */
    /* the peer's SETTINGS_MAX_FRAME_SIZE (h2_conn.c sets it; §6.5.2: at
     * most CS_H2_MAX_MAX_FRAME_SIZE) */
    uint32_t max_frame_size : 24;
    uint32_t st : 3;         /* enum cs_h2_framer_state */
    uint32_t is_client : 1;  /* expects the preface, may not send PUSH_PROMISE */
    uint32_t seen_frame : 1; /* a frame header was read (server: the first must be SETTINGS) */
    uint32_t block_open : 1;
};

/* Prepares a framer; is_client: this direction is client -> server. */
void cs_h2_framer_init(struct cs_h2_framer *fr, bool is_client);

/* Frees the frame in progress a framer keeps, if any (the framer is then
 * between frames as far as memory goes: feed it no more). */
void cs_h2_framer_free(struct cs_h2_framer *fr);

/* Heap bytes the framer holds now (its frame in progress). */
static inline size_t cs_h2_framer_memory(const struct cs_h2_framer *fr)
{
    return fr->cut ? sizeof *fr->cut : 0;
}

/* Feeds in-order bytes p[0..n) that arrived in capture frame `frame` at
 * ts; events go to cb before it returns.  When p ends inside a frame the
 * framer allocates its frame in progress (freed once that frame is read);
 * if that allocation fails it loses its place (CS_H2_FEV_LOST). */
void cs_h2_framer_data(struct cs_h2_framer *fr, const uint8_t *p, uint32_t n,
                       uint64_t frame, cs_time_ns ts, cs_h2_fevent_cb cb, void *ctx);

/* `len` bytes of this direction were never captured.  Inside a payload
 * that is skipped anyway the framer stays in step; anywhere else it is lost
 * (one CS_H2_FEV_LOST).  Returns true when still in step. */
bool cs_h2_framer_gap(struct cs_h2_framer *fr, uint32_t len, uint64_t frame, cs_time_ns ts,
                      cs_h2_fevent_cb cb, void *ctx);

/* True when the framer sits between frames (nothing half-read). */
bool cs_h2_framer_at_boundary(const struct cs_h2_framer *fr);

/* The start of a client stream against the preface: 1 = it is h2 with
 * prior knowledge, 0 = it is not, -1 = too few bytes to tell (a prefix of
 * the preface). */
int cs_h2_probe(const uint8_t *p, uint32_t n);

/* Static name of a frame type ("HEADERS"; "unknown" beyond CONTINUATION)
 * and of a framer error. */
const char *cs_h2_frame_type_name(uint8_t type);
const char *cs_h2_frame_error_name(enum cs_h2_frame_error e);

#endif
