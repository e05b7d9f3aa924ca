/* HTTP/2 connection stage: the two in-order byte streams of one connection
 * (client -> server, server -> client) -> one transaction per stream.
 *
 * Framing is h2_frame.c's (ours); HPACK is libnghttp2's inflater
 * (nghttp2_hd_inflate_*), one per direction, fed the header block fragments
 * as they arrive, so a block is never reassembled and never copied (between
 * blocks a direction's inflater is freed and its table kept in a compact
 * form that rebuilds it: h2_hpack.c); only the
 * decoded fields a transaction needs are kept, per stream, up to
 * limits->max_header_bytes and max_header_lines per section (the rest is
 * dropped and counted, the block is still decoded so that the dynamic table
 * stays right).  SETTINGS_HEADER_TABLE_SIZE sent by one side takes effect on
 * the inflater of the OTHER side's blocks when the other side acknowledges
 * it (RFC 9113 §6.5.3), which is what nghttp2's own session does; the
 * encoder then announces its new size inside a header block (RFC 7541 §6.3),
 * and the inflater checks it.
 *
 * The passive rules: a capture gap inside a payload nobody reads (DATA,
 * padding) costs nothing; any other gap loses the framing of that
 * direction, and with it the HPACK state (every later block of that
 * direction depends on the dynamic table).  An HPACK error loses the HPACK
 * state but not the framing.  Either way the direction's header decoding
 * stops for the rest of the connection, is counted once (hpack_failures),
 * and every stream whose headers it would have decoded ends as
 * CS_H2_END_LOST (the classifier's "unknown"), never guessed.  The other
 * direction carries on.
 *
 * Streams: the client's odd ids (RFC 9113 §5.1.1).  A stream is reported
 * once, through the callback, when it is over: both sides sent END_STREAM,
 * RST_STREAM, a GOAWAY that excludes it, the connection's end, or eviction
 * when the table (limits->max_streams) is full.  Pushed streams (RFC 9113
 * §8.4) are counted, decoded for the sake of the dynamic table, and not
 * reported: they are not requests a page made. */
#ifndef CS_H2_CONN_H
#define CS_H2_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "corscope/cors.h" /* corscope_status_form */
#include "h2_frame.h"
#include "limits.h"
#include "packet.h"
#include "reasm.h"
#include "stats.h"

/* How a stream ended. */
enum cs_h2_end {
    CS_H2_END_COMPLETE,      /* END_STREAM both ways */
    CS_H2_END_RESET,         /* RST_STREAM (rst_by, rst_error) */
    CS_H2_END_GOAWAY,        /* the server's GOAWAY last-stream-id excludes it: never processed */
    CS_H2_END_CLOSED,        /* the TCP connection closed (FIN) first */
    CS_H2_END_CONN_RESET,    /* the TCP connection was reset first */
    CS_H2_END_UNANSWERED,    /* idle timeout first */
    CS_H2_END_LOST,          /* part of it was not captured or not decodable (gap, HPACK
                                * state lost): its outcome is unknown */
    CS_H2_END_EVICTED,       /* dropped because the stream table was full */
    CS_H2_END_CAPTURE_ENDED, /* the input ended first, the connection open */
};

/* One header section (RFC 9113 §8.1) of a stream: the regular fields in
 * arrival order, duplicates separate (cookies split into several `cookie`
 * fields stay split), names as sent (lower case on a valid h2 wire). */
struct cs_h2_section {
    const corscope_header *fields;
    uint32_t n_fields;
    uint64_t frame; /* capture frame of the HEADERS frame's first byte, 0 if none */
    cs_time_ns ts;
    uint64_t frame_end; /* capture frame that completed the block (END_HEADERS) */
    uint32_t flags;     /* CS_H2_SEC_* */
};

#define CS_H2_SEC_CUT 0x01          /* more than max_header_bytes / lines: the rest dropped */
#define CS_H2_SEC_BAD_PSEUDO 0x02   /* pseudo-header unknown, repeated or after a regular
                                      * field (RFC 9113 §8.3), or no :status: kept as
                                      * sent (a repeated :status: CS_H2_SEC_STATUS_TWICE) */
#define CS_H2_SEC_END_STREAM 0x04   /* its HEADERS frame carried END_STREAM */
#define CS_H2_SEC_PARTIAL 0x08      /* the block never completed (gap, HPACK error): the
                                      * fields are the ones decoded before that */
#define CS_H2_SEC_BAD_FIELD 0x10    /* (response) a regular field both browsers refuse
                                     * (RFC 9113 §8.2.1): a name byte that is not a
                                     * lower-case token character, NUL, CR or LF in a
                                     * value (app_h2.c) */
#define CS_H2_SEC_STATUS_TWICE 0x20 /* (response) :status more than once, before the
                                     * regular fields: Chromium alone refuses it */

/* A stream and what became of it.  Every pointer is valid only during the
 * callback; strings are not NUL-terminated. */
struct cs_h2_txn {
    uint32_t stream_id;
    /* Request pseudo-header fields (RFC 9113 §8.3.1); NULL/0 when absent. */
    const char *method;
    uint32_t method_len;
    const char *scheme;
    uint32_t scheme_len;
    const char *authority;
    uint32_t authority_len; /* the host */
    const char *path;
    uint32_t path_len;
    struct cs_h2_section req;          /* request fields (frame 0: not seen) */
    struct cs_h2_section req_trailers; /* n_fields 0 and frame 0 when none */
    bool answered;                     /* a final (non-1xx) response HEADERS was decoded */
    int status;                        /* :status of the final response, 0 if none */
    corscope_status_form status_form;  /* how it was written (REPEATED: twice) */
    int interim_status;                /* last 1xx before it (100, 103), 0 if none */
    uint32_t n_interim;                /* informational HEADERS seen */
    uint64_t interim_frame;            /* frame of the first informational HEADERS */
    struct cs_h2_section resp;         /* final response fields (none unless answered) */
    struct cs_h2_section resp_trailers;
    enum cs_h2_end end;
    int rst_by;            /* RESET: CS_DIR_C2S (0) or CS_DIR_S2C (1) */
    uint32_t rst_error;    /* RESET: the RST_STREAM error code */
    uint32_t goaway_error; /* GOAWAY: its error code */
    uint64_t end_frame;    /* frame that ended it (last END_STREAM, RST,
                                          * GOAWAY, FIN...), 0 if none */
    cs_time_ns end_ts;
    uint32_t index; /* 0-based order of report on the connection */
    /* Bytes every string of the request (its pseudo-header values, the
     * `req` fields and the name of the host field cs_h2_txn_request_fields
     * adds) lies in, and those of the final response's `resp` fields: for
     * a consumer that copies the transaction (cs_txn.req_block).  NULL/0
     * when there is nothing to point at. */
    const char *req_block, *resp_block;
    uint32_t req_block_len, resp_block_len;
    const char *host_name; /* "host", inside req_block */
};

typedef void (*cs_h2_txn_cb)(void *ctx, const struct cs_h2_txn *txn);

/* struct cs_h2_stats (shared by all connections, the caller owns it;
 * additive counters) is in stats.h, for the summary. */

/* Limits of this stage (from struct cs_limits; see cs_h2_limits_default). */
struct cs_h2_limits {
    uint32_t max_streams;      /* open streams tracked per connection */
    uint32_t max_header_bytes; /* decoded name + value bytes kept per section */
    uint32_t max_header_lines; /* fields kept per section */
};

/* Fills *out from the run's limits (max_header_bytes/lines, h2_max_streams;
 * CS_DEFAULT_H2_MAX_STREAMS when that is 0). */
void cs_h2_limits_default(struct cs_h2_limits *out, const struct cs_limits *l);

struct cs_h2_conn;

/* Idle directions whose HPACK inflater stays live instead of being parked
 * (h2_hpack.c), shared by the connections of one pipeline (used by one
 * thread at a time): a direction still in it when its next header block
 * comes (a page load's next request, its responses) skips the rebuild.
 * It holds at most `max` (0: CS_H2_HPACK_CACHE) directions, the least
 * recently used one parked to make room; each costs its inflater's first
 * arena chunk (8 KB; one that outgrew it is parked) less its parked
 * block, counted in its connection's held bytes.  Zero it, give it to
 * each connection (cs_h2_conn_set_cache) before its first event; it is
 * empty once they are all finished. */
#define CS_H2_HPACK_CACHE 16u /* ~130 KB at most */
struct h2_arena;
struct cs_h2_cache {
    struct h2_arena *newest, *oldest; /* the live inflaters' arenas, by last use */
    uint32_t n, max;
    uint64_t hits;     /* header blocks whose inflater was still live */
    uint64_t rebuilds; /* ... rebuilt from the parked table */
};

/* A connection whose client stream starts with the preface (prior
 * knowledge: cs_h2_probe() said 1).  *lim is copied; stats must outlive it; cb gets
 * each stream once.  NULL when out of memory. */
struct cs_h2_conn *cs_h2_conn_new(const struct cs_h2_limits *lim, struct cs_h2_stats *stats,
                                  cs_h2_txn_cb cb, void *ctx);

/* Keeps c's idle inflaters in cache (see struct cs_h2_cache) rather than
 * parking each after its block.  Before the first event. */
void cs_h2_conn_set_cache(struct cs_h2_conn *c, struct cs_h2_cache *cache);

/* RFC 7540 §3.2: an HTTP/1.1 request with `Upgrade: h2c` answered 101.
 * The connection goes on as h2 (the client still sends the preface) and
 * that request is stream 1, half-closed from the client: its fields (the
 * HTTP/1 request's, Host as :authority, names lower-cased) are set here;
 * the server answers it with HEADERS on stream 1, and the 101 is its
 * interim status (reported with the stream, also when no h2 follows).  settings[0..n) is the
 * decoded HTTP2-Settings payload (the client's SETTINGS, in effect at once
 * without an ACK, as nghttp2's session_upgrade does): its
 * SETTINGS_HEADER_TABLE_SIZE sizes the table of the server's blocks.
 * Call once, before any event.  Returns 0, or -1 when stream 1 cannot be
 * kept (memory). */
struct cs_h2_upgrade {
    const char *method, *path, *authority;
    uint32_t method_len, path_len, authority_len;
    const corscope_header *fields; /* without Host */
    size_t n_fields;
    uint64_t frame, frame_end;
    cs_time_ns ts;
    uint64_t switch_frame; /* the 101's: stream 1's interim status */
    const uint8_t *settings;
    size_t settings_len;
};
int cs_h2_conn_upgrade(struct cs_h2_conn *c, const struct cs_h2_upgrade *u);

/* One stream event of direction dir (CS_DIR_C2S = 0, CS_DIR_S2C = 1):
 * bytes, a gap, FIN or RST. */
void cs_h2_conn_event(struct cs_h2_conn *c, int dir, const struct cs_stream_event *ev);

/* The flow is over: reports every stream still open with `why` (CLOSED,
 * CONN_RESET, UNANSWERED; LOST where the capture lost its part) and frees
 * the connection. */
void cs_h2_conn_finish(struct cs_h2_conn *c, enum cs_h2_end why, uint64_t frame, cs_time_ns ts);

/* Bytes this connection holds now (its state, the streams' fields, both
 * inflaters' tables), for --max-memory.  Also summed in stats->held_bytes. */
size_t cs_h2_conn_memory(const struct cs_h2_conn *c);

/* True once a protocol error or an oversized frame was seen on it. */
bool cs_h2_conn_marked(const struct cs_h2_conn *c);

/* The request of a transaction as the classifier's input: method, target
 * (:path), and the fields with a `host` field made from :authority first
 * when the request carries no Host field (RFC 9113 §8.3.1: :authority
 * takes its place).  hdr[0..cap) is the caller's; returns the fields
 * written (at most cap). */
size_t cs_h2_txn_request_fields(const struct cs_h2_txn *t, corscope_header *hdr, size_t cap);

/* Static name of an end ("complete", "reset", ...). */
const char *cs_h2_end_name(enum cs_h2_end e);

#endif
