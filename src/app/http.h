/* HTTP/1.x stage: the two in-order byte streams of one connection -> request
 * and response messages, paired into transactions.
 *
 * Our own incremental scanner (design.md says why not libhtp/http-parser).
 * Header blocks are gathered per direction in a bounded buffer and scanned
 * in place: every header line is kept as sent, in order, duplicates separate.
 * Bodies are skipped by framing (RFC 9112 §6: Content-Length, chunked,
 * close-delimited; HEAD, 1xx, 204, 304 have none), never copied.  After a gap
 * or garbage the scanner resynchronises on the next plausible request or
 * status line and counts what it skipped. */
#ifndef CS_HTTP_H
#define CS_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include "corscope/header.h"
#include "limits.h"
#include "packet.h"
#include "stats.h"
#include "reasm.h"
#include "txn.h"

#define CS_MSG_HEADERS_CUT 0x01 /* header bytes or lines cap hit: the rest was dropped */
#define CS_MSG_URI_CUT 0x02     /* the URI was longer than max_uri_bytes and was cut */
#define CS_MSG_BODY_GAP 0x04    /* part of the body was lost in a gap */
#define CS_MSG_INCOMPLETE 0x08  /* the connection ended before the message did */
#define CS_MSG_CHUNKED 0x10
#define CS_MSG_AFTER_RESYNC 0x20 /* first message after a gap or garbage */
#define CS_MSG_HEADER_GAP 0x40   /* part of the header block was lost in a capture gap */

/* Whether header line h had whitespace before its colon ("Name : v"): the
 * name was cut at the whitespace, so the byte after it is not the colon.
 * Firefox drops such a line, Chromium reads it (tests/browser
 * ws-before-colon); h points into the block it was scanned from. */
static inline bool cs_http_ws_before_colon(const corscope_header *h)
{
    return h->name[h->name_len] != ':';
}

struct cs_http_msg {
    /* request line (requests) */
    const char *method;
    uint32_t method_len;
    const char *uri;
    uint32_t uri_len;
    /* status line (responses) */
    int status; /* 0 for a request */
    corscope_status_form status_form;
    bool firefox_http09;  /* (response) corscope_response.firefox_http09 */
    bool chromium_http09; /* (response) corscope_response.chromium_http09 */
    /* (response) how many of the headers are lines Firefox drops and
     * Chromium reads (whitespace before the colon; app_http1.c moves them
     * last for corscope_response.n_chromium_only) */
    uint32_t n_chromium_only;
    const char *reason;
    uint32_t reason_len;
    int version; /* 9 = HTTP/0.9, 10 = 1.0, 11 = 1.1 */
    const corscope_header *headers;
    uint32_t n_headers;
    uint64_t frame; /* frame carrying the first byte of the start line */
    cs_time_ns ts;
    uint64_t frame_end; /* frame carrying the end of the header block */
    uint32_t flags;     /* CS_MSG_* */
    /* the header block every string above points into (start line and
     * header lines as received), for a consumer that copies the message */
    const char *block;
    uint32_t block_len;
};

/* enum cs_txn_end (how a request ended) is the seam's (txn.h). */

/* A request and what became of it.  Everything it points to is valid only
 * during the callback. */
struct cs_http_txn {
    const struct cs_http_msg *req;
    const struct cs_http_msg *resp; /* NULL unless end == CS_TXN_ANSWERED */
    int interim_status;             /* last 1xx before resp (100, 103), 0 if none */
    enum cs_txn_end end;
    uint32_t index;     /* 0-based position in the connection */
    uint64_t end_frame; /* frame of the FIN/RST/gap that ended it, 0 if none */
    cs_time_ns end_ts;
    struct cs_http_conn *conn; /* the connection (for cs_http_conn_set_tunnel) */
};

typedef void (*cs_http_txn_cb)(void *ctx, const struct cs_http_txn *txn);

/* struct cs_http_stats (this stage's counters) is in stats.h. */

struct cs_http_conn;

/* A parser for one connection.  limits and stats are shared by all
 * connections (the caller owns them; both must outlive the connection); cb
 * receives each transaction once. */
/* Starts loading the connection's state into the cache (a hint for a
 * caller that sees its next event coming; changes nothing). */
void cs_http_conn_prefetch(const struct cs_http_conn *c);
struct cs_http_conn *cs_http_conn_new(const struct cs_limits *limits,
                                      struct cs_http_stats *stats,
                                      cs_http_txn_cb cb, void *ctx);

/* Entries of answered requests kept for the next ones, shared by the
 * connections of one thread's parser (the HTTP/1 row of a pipeline).  Each
 * request's entry (its header block and lines, 1-3 KB) went through
 * glibc's large-chunk bins, whose sorting was the biggest part of the
 * pipeline thread's malloc time on CORS-heavy captures; entries are
 * allocated in size classes and reused last-freed first (still in the
 * cache).  At most CS_HTTP_POOL_MAX entries of at most
 * CS_HTTP_POOL_CLASS_MAX * CS_HTTP_POOL_CLASS bytes are kept. */
#define CS_HTTP_POOL_MAX 64
#define CS_HTTP_POOL_CLASS 128
#define CS_HTTP_POOL_CLASS_MAX 32
struct cs_http_pool {
    unsigned n;
    unsigned next_out;              /* when full: the entry that makes room (in turn) */
    uint16_t cls[CS_HTTP_POOL_MAX]; /* size class of r[i] */
    void *r[CS_HTTP_POOL_MAX];
};
/* Takes the connection's request entries from (and gives them back to)
 * pool, which must outlive it; set before the first event, or never. */
void cs_http_conn_set_pool(struct cs_http_conn *c, struct cs_http_pool *pool);
/* Frees the entries kept in pool. */
void cs_http_pool_drain(struct cs_http_pool *pool);

/* One stream event of direction dir (CS_DIR_C2S = 0, CS_DIR_S2C = 1). */
void cs_http_conn_event(struct cs_http_conn *c, int dir, const struct cs_stream_event *ev);

/* The flow is over: reports every request still waiting (with `why`) and
 * frees the parser. */
void cs_http_conn_finish(struct cs_http_conn *c, enum cs_txn_end why,
                         uint64_t frame, cs_time_ns ts);

/* After a 101 or a CONNECT answered 2xx the connection stops being HTTP.
 * Set from the transaction callback of that exchange, the tunnel then gets
 * every later stream event of both directions (the bytes after the
 * response's header block first), and its finish when the connection ends;
 * without one those bytes are ignored. */
struct cs_http_tunnel_ops {
    void (*event)(void *t, int dir, const struct cs_stream_event *ev);
    void (*finish)(void *t, enum cs_txn_end why, uint64_t frame, cs_time_ns ts);
};
void cs_http_conn_set_tunnel(struct cs_http_conn *c, const struct cs_http_tunnel_ops *ops,
                             void *t);

/* Bytes at the start of a client stream: 1 = looks like an HTTP/1.x request
 * line ("GET / HTTP/1.1", "OPTIONS * HTTP/1.0", "GET /", "get / HTTP/1.1"),
 * 0 = does not, -1 = too few bytes to tell. */
int cs_http_looks_like_request(const uint8_t *p, uint32_t n);
/* Same for a server stream: starts with "http/" and a digit, in any case,
 * after up to four SPs (cs_http_parse_status_line). */
int cs_http_looks_like_response(const uint8_t *p, uint32_t n);

/* ---- The pure scanner (http_scan.c), used by http.c and the tests. ----
 * These never allocate; every output points into the caller's buffer. */

/* A parsed start line.  For a request: method, uri, version (9 when the line
 * has no version, i.e. HTTP/0.9).  For a response: version, status, reason. */
struct cs_http_start {
    const char *method;
    uint32_t method_len;
    const char *uri;
    uint32_t uri_len;
    const char *reason;
    uint32_t reason_len;
    int status;
    int version;
    corscope_status_form status_form; /* (response) how the code was written */
    bool firefox_http09;              /* (response) Firefox reads no header lines (cs_http_parse_status_line) */
    bool chromium_http09;             /* (response) Chromium reads none ("ICY 200 OK") */
};

/* Parses one complete request line p[0..n) (CR/LF already removed).
 * Returns 0, or -1 when it is not a plausible request line.  allow09 also
 * accepts "METHOD target" without a version (HTTP/0.9).  Lenient like Zeek:
 * the parts may be separated by several SP or HTAB and SP/HTAB may follow the
 * version, "OPTIONS HTTP/1.1" has an empty URI (uri_len 0), "HTTP/1." counts as 1.1,
 * a target may hold spaces when a version ends the line, and methods may be
 * lowercase (kept as sent). */
int cs_http_parse_request_line(const char *p, uint32_t n, bool allow09,
                               struct cs_http_start *out);
/* Parses one complete status line p[0..n) (CR/LF removed): 0, or -1 when
 * it does not start like one (cs_http_looks_like_response); any version
 * and status code are read as Chromium reads them, with what Firefox makes
 * of them (status_form, firefox_http09). */
int cs_http_parse_status_line(const char *p, uint32_t n, struct cs_http_start *out);

/* Scans the header lines of buf[*off..len) into h[*n..max).  Stops at the
 * empty line, at the end of the last complete line, or when h is full.
 * Obsolete line folding extends the previous value in place (the CR/LF and
 * indent inside it are overwritten with SP, which is why buf is writable).
 * Lines without a colon are skipped and counted in *bad.  Returns 0 when the
 * block was scanned to its end, 1 when h filled up first (*off is then where
 * to resume once the caller has grown h). */
int cs_http_scan_headers(char *buf, uint32_t len, uint32_t *off,
                         corscope_header *h, uint32_t *n, uint32_t max, uint64_t *bad);

/* One-pass variant for a header block that is wholly in p[0..n) (p starts
 * after the start line): line ends and colons are found 64 bytes at a time
 * (SSE2 masks) and each line is split into h[0..max).  Returns the bytes through the empty line, with *nh set and
 * lines without a colon added to *bad; or -1, touching neither, when the
 * block does not end within n, has more than max field lines, or has an
 * obs-fold line (unfolding rewrites bytes, so it needs a writable copy: the
 * caller then gathers the block and uses cs_http_scan_headers). */
int64_t cs_http_scan_block(const char *p, uint32_t n, corscope_header *h, uint32_t *nh,
                           uint32_t max, uint64_t *bad);

/* Whether line s[0..n) (without its line ending) is a Content-Length or
 * Transfer-Encoding field line: the name in any case, whitespace allowed
 * before the colon, as cs_http_scan_headers reads it. */
bool cs_http_is_framing_line(const char *s, uint32_t n);

/* The framing field lines (cs_http_is_framing_line) among the whole lines
 * of p[0..n), each split as cs_http_scan_headers splits a line, into
 * h[0..max); returns how many.  For the lines past a header limit, which
 * are not scanned but still frame the body. */
uint32_t cs_http_framing_fields(const char *p, uint32_t n, corscope_header *h, uint32_t max);

/* The bytes of a response block the browsers read differently: NUL (both
 * refuse the response) and a CR not followed by LF (a CR ending the buffer
 * counts as followed; cs_http_chromium_lines).  One pass, 16 bytes at a
 * time: it runs on every response's block. */
#define CS_HTTP_ODD_NUL 1u
#define CS_HTTP_ODD_BARE_CR 2u
unsigned cs_http_odd_bytes(const char *p, uint32_t n);

/* The header lines Chromium reads from a whole response block p[0..n)
 * (status line first, as received): it ends a line at any CR or LF and
 * skips the empty ones (tests/browser bare-cr-*), so a bare CR starts a new
 * line, in the status line too.  Each line is split as Chromium does
 * (whitespace before the colon trimmed from the name); lines without a
 * colon or with an empty name, and continuation lines (which Chromium
 * joins to the previous one, a shape not modelled here), are skipped.
 * Writes up to max lines to h, pointing into p; returns how many. */
uint32_t cs_http_chromium_lines(const char *p, uint32_t n, corscope_header *h, uint32_t max);

/* Content-Length value (RFC 9110 §8.6): digits, or a list of identical
 * values.  Returns 0 and *out, or -1 when invalid or above INT64_MAX. */
int cs_http_parse_content_length(const char *v, size_t n, uint64_t *out);
/* 1 when the last transfer coding of a Transfer-Encoding value is chunked. */
int cs_http_te_chunked_last(const char *v, size_t n);
/* Parses a chunk-size line (without CR/LF): hex digits, optional
 * whitespace and ";ext".  Returns 0 and *out, -1 on garbage or 64-bit overflow. */
int cs_http_parse_chunk_size(const char *p, uint32_t n, uint64_t *out);

#endif
