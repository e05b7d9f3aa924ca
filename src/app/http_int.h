/* Internals shared by http.c (buffering, the per-direction state machine,
 * gaps and resynchronisation), http_framing.c (body framing, a pure
 * function) and http_pair.c (the FIFO of requests waiting for responses,
 * pairing and reporting).  http.c calls the other two; they call nothing
 * back.  Not part of any interface outside these files. */
#ifndef CS_HTTP_INT_H
#define CS_HTTP_INT_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "flow.h"
#include "http.h"

#define CS_HTTP_BUF_INITIAL 2048u    /* first size of a direction's block buffer */
#define CS_HTTP_HDRS_INITIAL 32u     /* first size of a direction's header array */
#define CS_HTTP_MAX_CHUNK_LINE 1024u /* chunk-size line with extensions; longer = framing error */
/* A header block cut at --max-header-bytes or --max-header-lines still
 * frames the message: its Content-Length and Transfer-Encoding lines past
 * the cut are kept, up to CS_HTTP_FRAMING_FIELDS lines of at most
 * CS_HTTP_FRAMING_LINE bytes (CS_HTTP_FRAMING_EXTRA bytes past the byte
 * cap); otherwise a body would be read as the next message, or the next
 * messages as a body until the connection closed. */
#define CS_HTTP_FRAMING_FIELDS 4u
#define CS_HTTP_FRAMING_LINE 256u
#define CS_HTTP_FRAMING_EXTRA (CS_HTTP_FRAMING_FIELDS * CS_HTTP_FRAMING_LINE)
#define CS_HTTP_WHOLE_HEADERS 64u /* header lines a block parsed in place may have (stack array) */

enum cs_http_state {
    ST_MSG,        /* gathering a start line + header block (or resyncing) */
    ST_SKIP,       /* skipping the rest of a garbage line */
    ST_BODY_LEN,   /* Content-Length body: `remaining` bytes left */
    ST_CHUNK_SIZE, /* reading a chunk-size line */
    ST_CHUNK_DATA, /* inside a chunk: `remaining` bytes left */
    ST_CHUNK_END,  /* the CRLF after chunk data */
    ST_TRAILERS,   /* trailer lines after the last chunk, until an empty line */
    ST_BODY_CLOSE, /* body delimited by the close of the connection */
    ST_AWAIT,      /* (client) after a request that may switch the connection
                    * (CONNECT, Upgrade): bytes held in buf until its answer
                    * says whether they are HTTP or the tunnel's */
    ST_DEAD,       /* no longer HTTP (upgrade, tunnel, closed): ignore bytes */
};

/* A request waiting for its response: one allocation holding the message,
 * its header array and a copy of its header block. */
struct cs_http_req {
    struct cs_http_req *next;
    size_t bytes; /* the allocation, counted in stats->held_bytes */
    struct cs_http_msg msg;
    uint32_t index;
    int interim_status;
};

/* One direction's state.  The fields every event reads come first (64
 * bytes: one cache line when the connection is touched after a long
 * pause, as most are); those of a message gathered across events follow. */
/* A validated start line gathered in a direction's buffer (struct
 * cs_http_start, compact: every direction of every connection has one):
 * offsets, as buf may move. */
struct gathered_start {
    uint32_t method_off, method_len, uri_off, uri_len, reason_off, reason_len;
    int32_t status;
    int8_t version;
    uint8_t status_form; /* corscope_status_form */
    bool firefox_http09, chromium_http09;
    uint8_t has; /* GATHERED_METHOD | GATHERED_URI | GATHERED_REASON: not NULL */
};
#define GATHERED_METHOD 1u
#define GATHERED_URI 2u
#define GATHERED_REASON 4u

/* What only a message gathered in a direction's buffer needs lives in front
 * of the buffer (allocated with it, gone between messages), not in every
 * direction of every connection. */
struct gather_head {
    struct gathered_start start; /* the validated start line */
    uint32_t start_len;          /* bytes of that start line in buf */
};

struct cs_http_dir {
    enum cs_http_state st;
    uint32_t len, cap;   /* of buf */
    uint32_t msg_flags;  /* CS_MSG_* gathered for the message in progress */
    uint8_t line_first;  /* first byte of the current, unfinished line */
    bool spill_skip;     /* past the byte cap: the current line is too long to be a framing line */
    uint32_t spill;      /* past the byte cap: where the current line starts in buf */
    bool first_done;     /* the start line of the block is complete */
    bool resync;         /* searching for a start line after gap/garbage */
    bool switched;       /* the connection left HTTP (101, CONNECT 2xx) while this
                                 * direction was open: its bytes go to the tunnel */
    bool maybe09;        /* the start line has no version: HTTP/0.9 if the
                                 * server answers (or the stream ends) before more
                                 * client bytes; a client that sends header lines
                                 * ("GET /HTTP/1.1" then Host) just left the version
                                 * out, and is taken as HTTP/1.0 */
    char *buf;           /* the header block being gathered; chunk lines (after a
                * struct gather_head, http.c) */
    uint64_t line_bytes; /* bytes of the current, unfinished line */
    uint64_t remaining;  /* body or chunk bytes left */
    /* a message gathered in buf */
    uint64_t frame; /* first frame of the message in progress */
    cs_time_ns ts;
};
_Static_assert(offsetof(struct cs_http_dir, frame) <= 64, "per-event fields fit one cache line");

/* The connection-wide fields first, in one 64-byte block: with thousands
 * of open connections each event starts with cache misses on its
 * connection, so the fields it reads sit together (the limits are the
 * caller's shared copy, which stays cached, not one per connection). */
struct cs_http_conn {
    const struct cs_limits *lim; /* the caller's; outlives the connection */
    struct cs_http_stats *stats;
    struct cs_http_pool *pool; /* request entries to reuse, or NULL */
    cs_http_txn_cb cb;
    void *ctx;
    struct cs_http_req *head, *tail; /* FIFO of waiting requests, oldest first */
    struct cs_http_req *body_req;    /* request whose body the client is sending */
    uint32_t n_waiting;
    uint32_t n_requests; /* requests seen: the next txn index */
    struct cs_http_dir dir[2];
    uint32_t await;                           /* index + 1 of the request ST_AWAIT waits on */
    const struct cs_http_tunnel_ops *tun_ops; /* after a switch: where the bytes go */
    void *tun;
};

/* Whether name[off..off + 8) equals lower[off..off + 8) ignoring ASCII
 * case, for a literal made only of lowercase letters, digits and '-': a
 * byte of lower with bit 0x40 set is a letter, which also matches the same
 * byte with 0x20 cleared (its uppercase); any other byte must match
 * exactly. */
static inline bool cs_http_word_eq(const char *name, const char *lower, size_t off)
{
    uint64_t a, l;
    memcpy(&a, name + off, 8);
    memcpy(&l, lower + off, 8);
    return (a | (l & UINT64_C(0x4040404040404040)) >> 1) == l;
}

/* Whether name[0..n) equals lower[0..n), 8 <= n <= 24, ignoring ASCII case
 * (lower as for cs_http_word_eq): two or three overlapping 8-byte words
 * instead of strncasecmp, for names compared on every header line. */
static inline bool cs_http_name_eq8(const char *name, const char *lower, size_t n)
{
    bool eq = cs_http_word_eq(name, lower, 0) & cs_http_word_eq(name, lower, n - 8);
    if (n > 16)
        eq &= cs_http_word_eq(name, lower, 8);
    return eq;
}

/* Body framing of a message (RFC 9112 §6.3). */
enum framing { FR_NONE,
               FR_LEN,
               FR_CHUNKED,
               FR_CLOSE,
               FR_ERROR };

/* http_framing.c: the framing of message m's body; *len for FR_LEN. */
enum framing cs_http_body_framing(const struct cs_http_msg *m, bool is_request, uint64_t *len);

/* http_pair.c */
void cs_http_req_free(struct cs_http_conn *c, struct cs_http_req *r);
void cs_http_report(struct cs_http_conn *c, struct cs_http_req *r, const struct cs_http_msg *resp, enum cs_txn_end end, uint64_t frame, cs_time_ns ts);
struct cs_http_req *cs_http_fifo_pop(struct cs_http_conn *c);
void cs_http_fifo_flush(struct cs_http_conn *c, enum cs_txn_end end, uint64_t frame, cs_time_ns ts);
void cs_http_fifo_gap(struct cs_http_conn *c, uint64_t frame, cs_time_ns ts);
void cs_http_queue_request(struct cs_http_conn *c, const struct cs_http_msg *m, const char *blk, uint32_t len, bool has_body);
void cs_http_pair_interim(struct cs_http_conn *c, int status);
void cs_http_pair_answer(struct cs_http_conn *c, const struct cs_http_msg *m);
void cs_http_pair_answer09(struct cs_http_conn *c, uint64_t frame, cs_time_ns ts);

#endif
