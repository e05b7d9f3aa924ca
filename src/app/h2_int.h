/* HTTP/2 connection stage, internals shared by h2_conn.c (HPACK, frames,
 * the public entry points) and h2_stream.c (the stream table, the decoded
 * fields each stream keeps, and turning a stream into a cs_h2_txn).  Not
 * for other stages: they see h2_conn.h. */
#ifndef CS_H2_INT_H
#define CS_H2_INT_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "flow.h" /* CS_DIR_C2S, CS_DIR_S2C */
#include "h2_conn.h"

/* The header sections a stream keeps; 1xx fields are not kept (only their
 * status). */
enum { SEC_REQ,
       SEC_REQ_TRAILERS,
       SEC_RESP,
       SEC_RESP_TRAILERS,
       SEC_N };

/* SETTINGS frames of one side not yet acknowledged by the other (RFC 9113
 * §6.5.3).  Endpoints have one or two outstanding; more are merged into the
 * newest (latest values win), which is what they mean once all are acked.
 * One sits in the direction itself (the usual case, which may last the
 * connection's lifetime when the peer's ACK is not captured); an array of
 * this many is allocated while more than one is outstanding. */
#define H2_PENDING_SETTINGS 8

/* A kept field.  The fields' strings lie in their stream's arena one
 * after the other in field order (each name followed by its value), from
 * h2_fields_start(): a field's place is the sum of the lengths before it. */
struct h2_field {
    uint32_t name_len, value_len;
    uint8_t sec; /* SEC_* */
};

struct h2_sec {
    uint64_t frame, frame_end;
    cs_time_ns ts;
    uint32_t n : 24;    /* fields kept (at most H2_SEC_FIELDS_MAX) */
    uint32_t flags : 7; /* CS_H2_SEC_* */
    uint32_t seen : 1;
    uint32_t bytes; /* name+value bytes kept */
};
/* The most fields a section keeps (--max-header-lines is at most 100,000). */
#define H2_SEC_FIELDS_MAX 0xffffffu

/* A stream's arena starts with the name of the `host` field that
 * cs_h2_txn_request_fields makes from :authority, so that all of a
 * request's strings lie in one block (cs_h2_txn.req_block). */
#define H2_ARENA_HOST "host"
#define H2_ARENA_HOST_LEN 4u

/* Where the strings of the fields added after the arena held arena_len
 * bytes begin. */
static inline uint32_t h2_fields_start(uint32_t arena_len)
{
    return arena_len < H2_ARENA_HOST_LEN ? H2_ARENA_HOST_LEN : arena_len;
}

struct h2_stream {
    /* (ordered by size: thousands of these wait for their responses) */
    struct h2_field *fields;
    char *arena;
    uint64_t interim_frame;
    struct h2_sec req; /* SEC_REQ */
    /* SEC_REQ_TRAILERS, SEC_RESP, SEC_RESP_TRAILERS (at [k - 1]): allocated
     * when the first of them comes (cs_h2__sec_open), so not in a stream
     * that waits for its response */
    struct h2_sec *more;
    uint32_t n_fields, cap_fields;
    uint32_t arena_len, arena_cap;
    int status, interim_status;
    uint32_t n_interim;
    uint32_t id; /* (creation order too: a client's ids only grow) */
    bool answered;
    bool c_end, s_end;     /* END_STREAM seen from client / server */
    bool resp_undecodable; /* a response block came after the s2c HPACK was lost */
    bool packed;           /* fields and arena share one allocation (cs_h2__stream_pack) */
    uint8_t status_form;   /* corscope_status_form of :status */
};

/* Section k (SEC_*) of s; NULL for one past SEC_REQ while none of those
 * came (cs_h2__sec_open makes them). */
static inline struct h2_sec *h2_sec_of(struct h2_stream *s, int k)
{
    if (k == SEC_REQ)
        return &s->req;
    return s->more ? &s->more[k - 1] : NULL;
}

/* The header block a direction is in the middle of. */
enum blk_kind { BLK_NONE,
                BLK_DISCARD,
                BLK_REQUEST,
                BLK_RESPONSE };

struct h2_pending {
    uint32_t table_size;
    uint32_t max_frame_size : 24; /* (§6.5.2: at most CS_H2_MAX_MAX_FRAME_SIZE) */
    uint32_t present : 8;         /* bits 1 << CS_H2_SETTINGS_* (1..6) */
};

struct h2_dir {
    /* (ordered by size: two of these in each connection, c->d[dir]) */
    nghttp2_hd_inflater *inf; /* NULL before the first block and while parked */
    struct h2_arena *arena;   /* the live inflater's memory (h2_hpack.c) */
    unsigned char *parked;    /* the block that rebuilds the table (h2_hpack.c) */
    union {
        struct h2_pending one;   /* while n_pending <= 1 */
        struct h2_pending *many; /* while n_pending > 1: H2_PENDING_SETTINGS slots */
    } pending;
    struct cs_h2_framer fr; /* (its frame in progress counted in held) */
    uint32_t parked_len;
    uint32_t settings_table_size; /* the SETTINGS_HEADER_TABLE_SIZE in effect */
    uint32_t blk_stream;
    uint32_t blk_mark_fields, blk_mark_arena;
    /* (bits: 72 bytes a direction, a 240-byte malloc chunk a connection) */
    uint16_t n_pending : 4;       /* at most H2_PENDING_SETTINGS */
    uint16_t dir : 1;             /* CS_DIR_C2S or CS_DIR_S2C */
    uint16_t blk : 2;             /* enum blk_kind */
    uint16_t blk_sec : 2;         /* SEC_* */
    uint16_t size_update_due : 1; /* the next block must start with a table size update */
    uint16_t hpack_lost : 1;      /* header decoding stopped for good */
    uint16_t frames_lost : 1;     /* framing stopped for good (implies hpack_lost) */
    uint16_t fin : 1;
    uint16_t blk_end_stream : 1;
};

/* Fields of a reported stream handed over from the stack; a stream with
 * more takes an allocation for the time of its report. */
#define H2_SCRATCH_LOCAL 64u

/* Open-stream table slots in the connection itself; more are allocated
 * (doubling up to --h2-max-streams). */
#define H2_TAB_INITIAL 2u

struct cs_h2_conn {
    /* (ordered by size: one per connection) */
    struct cs_h2_stats *stats;
    cs_h2_txn_cb cb;
    void *ctx;
    struct h2_stream **tab; /* open streams, unordered: tab_local or allocated */
    size_t held;            /* bytes of this connection counted in stats->held_bytes */
    struct h2_dir d[2];
    struct cs_h2_cache *cache; /* the pipeline's live idle inflaters, or NULL */
    struct h2_stream *tab_local[H2_TAB_INITIAL];
    struct cs_h2_limits lim;
    uint32_t n_streams, tab_cap;
    uint32_t max_client_id; /* highest client stream id opened */
    uint32_t reported : 31; /* (streams reported: fewer than 2^30 client ids) */
    uint32_t marked : 1;
};

/* The connection direction d belongs to (d is c->d[d->dir]). */
static inline struct cs_h2_conn *h2_dir_conn(struct h2_dir *d)
{
    return (struct cs_h2_conn *)(void *)((char *)(d - d->dir) - offsetof(struct cs_h2_conn, d));
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

/* ---- h2_hpack.c ---- */

/* Sets up both directions' HPACK state (no inflater yet). */
void cs_h2__hpack_init(struct cs_h2_conn *c);
/* Makes d->inf live for a block: the one kept in c->cache (taken out of
 * it), or a new inflater, rebuilt from the parked table if any.  0, or -1
 * when it cannot be had (memory; a rebuild nghttp2 refused): the table is
 * then gone. */
int cs_h2__hpack_get(struct cs_h2_conn *c, struct h2_dir *d);
/* After each event: when d is idle (no block open, HPACK not lost, no
 * size update owed) its inflater goes to c->cache as the most recently
 * used (parking the least recently used one when full), or, without a
 * cache, is freed at once with its table kept as the block that rebuilds
 * it.  A lost direction's state is freed. */
void cs_h2__hpack_idle(struct cs_h2_conn *c, struct h2_dir *d);
/* A SETTINGS_HEADER_TABLE_SIZE that took effect on d's blocks.  0 or -1. */
int cs_h2__hpack_table_size(struct cs_h2_conn *c, struct h2_dir *d, uint32_t size);
/* Frees d's inflater or parked table. */
void cs_h2__hpack_free(struct cs_h2_conn *c, struct h2_dir *d);

/* ---- h2_stream.c ---- */

/* Adds delta bytes to the connection's held bytes and stats->held_bytes. */
void cs_h2__account(struct cs_h2_conn *c, ptrdiff_t delta);
/* The open stream with this id, or NULL. */
struct h2_stream *cs_h2__stream_find(struct cs_h2_conn *c, uint32_t id);
/* A new stream (the oldest one is evicted, reported, when the table is
 * full); NULL when it cannot be tracked. */
struct h2_stream *cs_h2__stream_open(struct cs_h2_conn *c, uint32_t id);
/* Removes s from the table and frees it (no report). */
void cs_h2__stream_free(struct cs_h2_conn *c, struct h2_stream *s);
/* Section k of s, made if it is a trailer section not there yet; NULL
 * when out of memory. */
struct h2_sec *cs_h2__sec_open(struct cs_h2_conn *c, struct h2_stream *s, int k);
/* Moves s's fields and arena into one allocation of their exact size (the
 * fields, then the arena), as a stream holds them while it waits for its
 * response; a field added later moves them back to arrays that grow. */
void cs_h2__stream_pack(struct cs_h2_conn *c, struct h2_stream *s);
/* Keeps one decoded field in section sec of s, within the limits. */
void cs_h2__stream_add_field(struct cs_h2_conn *c, struct h2_stream *s, int sec,
                             const uint8_t *name, size_t nl, const uint8_t *value, size_t vl);
/* Field f, whose name is at `name`, is named exactly lit (inline: lit's
 * length folds away). */
static inline bool cs_h2__name_is(const char *name, const struct h2_field *f, const char *lit)
{
    size_t n = strlen(lit);
    return f->name_len == n && memcmp(name, lit, n) == 0;
}
/* Hands s to the callback as a cs_h2_txn and frees it. */
void cs_h2__report_with(struct cs_h2_conn *c, struct h2_stream *s, const struct h2_end_info *e);
void cs_h2__report(struct cs_h2_conn *c, struct h2_stream *s, enum cs_h2_end end,
                   uint64_t frame, cs_time_ns ts);
/* Reports the open streams (those pred accepts; all when pred is NULL) in
 * stream id order. */
void cs_h2__report_all(struct cs_h2_conn *c, enum cs_h2_end end, uint64_t frame, cs_time_ns ts,
                       bool (*pred)(const struct cs_h2_conn *, const struct h2_stream *));
/* Reports s when both of its sides are over. */
void cs_h2__maybe_complete(struct cs_h2_conn *c, struct h2_stream *s, uint64_t frame,
                           cs_time_ns ts);
/* pred for cs_h2__report_all: no final response yet. */
bool cs_h2__unanswered(const struct cs_h2_conn *c, const struct h2_stream *s);

#endif
