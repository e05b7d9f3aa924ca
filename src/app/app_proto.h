/* The table of application protocols (in the manner of tcpdump's printers[]
 * or Suricata's parser registration).  The pipeline offers a flow's first
 * data to each row's probe, in table order; the first row that claims it
 * parses the flow to its end and reports each request as a struct cs_txn
 * (txn.h).  Flows no row claims go to protocol identification (nDPI),
 * which only names them for the summary.
 *
 * A new application protocol is one file (a `const struct cs_app_proto`)
 * and one row in pipeline.c's app_protos[]; nothing downstream changes. */
#ifndef CS_APP_PROTO_H
#define CS_APP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "limits.h"
#include "summary.h"
#include "reasm.h"
#include "txn.h"

/* A probe's answer. */
enum cs_app_probe {
    CS_PROBE_NEED_MORE = -1, /* too few bytes to tell: the row takes the flow (its parser copes) */
    CS_PROBE_NO = 0,
    CS_PROBE_YES = 1,
};

/* Where one flow's parser reports its transactions (the pipeline's; lives
 * as long as the flow). */
struct cs_app_out {
    void (*txn)(void *ctx, const struct cs_txn *t);
    void *ctx;
    unsigned depth; /* CONNECT tunnels around this stream (0: the TCP flow itself) */
    /* The env of the row opened with this out (set by whoever opens it), so
     * a row can hand the connection over to another (app_handover.c). */
    struct cs_app_env *env;
};

struct cs_tls_keylog;
struct cs_app_proto;
struct cs_app_env;

/* One protocol's state shared by all its flows, owned by the pipeline. */
struct cs_app_env {
    const struct cs_limits *limits; /* the pipeline's */
    void *stats;                    /* the row's counters (stats_size bytes, zeroed) */
    /* TLS secrets given with --keylog (NULL: none; the TLS row stays idle) */
    const struct cs_tls_keylog *keylog;
    /* Live: reads what the key log files gained now (main's; NULL for
     * files), for a connection that ends before the once-a-second re-read
     * found its key (a short request right after the handshake). */
    int (*refresh_keys)(void *ctx);
    void *refresh_ctx;
    /* Another row of the table by name ("HTTP/1", "h2"), with its env, for
     * a row that carries other protocols inside (TLS); NULL if absent. */
    const struct cs_app_proto *(*row)(const struct cs_app_env *self, const char *name,
                                      struct cs_app_env **env);
    void *pipe; /* for row() */
    /* The row that claims data p[0..n) of direction dir, as the pipeline
     * decides for a new flow, with its env; NULL when none.  *ambiguous:
     * too few bytes to tell that row from a later one. */
    const struct cs_app_proto *(*claim)(const struct cs_app_env *self, int dir, const uint8_t *p,
                                        uint32_t n, struct cs_app_env **env, bool *ambiguous);
    struct cs_handover_stats *handover; /* the pipeline's (app_handover.c) */
};

/* A connection that leaves HTTP/1 for another protocol of the table
 * (app_handover.c): what the HTTP/1 row hands over. */
struct cs_handover;
/* A CONNECT answered 2xx: the tunnel's bytes are a new stream for the
 * table, probed again; its transactions name the tunnel (via_connect,
 * target[0..target_len)) and go to out.  NULL when out of memory or
 * nested too deep (counted). */
struct cs_handover *cs_handover_connect(struct cs_app_env *env, const struct cs_app_out *out,
                                        const char *target, size_t target_len);
/* Upgrade: h2c answered 101: the connection goes on as h2, and the
 * upgrading request (t) is stream 1 (RFC 7540 §3.2); settings is the
 * request's HTTP2-Settings value (base64url SETTINGS payload; NULL if
 * none).  NULL when there is no h2 row or memory. */
struct cs_handover *cs_handover_h2c(struct cs_app_env *env, const struct cs_app_out *out,
                                    const struct cs_txn *t, const char *settings,
                                    size_t settings_len);
void cs_handover_event(void *h, int dir, const struct cs_stream_event *ev);
void cs_handover_finish(void *h, enum cs_txn_end why, uint64_t frame, cs_time_ns ts);

/* Room for one row's counters (the pipeline holds them). */
#define CS_APP_STATS_MAX 2048

struct cs_app_proto {
    const char *name;
    size_t stats_size; /* at most CS_APP_STATS_MAX */
    /* First data of direction dir (CS_DIR_C2S = 0, CS_DIR_S2C = 1): is
     * this flow ours? */
    enum cs_app_probe (*probe)(int dir, const uint8_t *p, uint32_t n);
    /* A parser for one flow; NULL when out of memory (the flow then goes
     * unparsed, still counted as this protocol's). */
    void *(*open)(struct cs_app_env *env, const struct cs_app_out *out);
    /* One in-order stream event of direction dir. */
    void (*event)(void *conn, int dir, const struct cs_stream_event *ev);
    /* The flow is over: reports what is still waiting (with `why`) and
     * frees the parser. */
    void (*finish)(void *conn, enum cs_txn_end why, uint64_t frame, cs_time_ns ts);
    /* Optional: starts loading conn into the cache (changes nothing). */
    void (*prefetch)(const void *conn);
    /* Optional: p[0..n) will most likely be direction dir's next event's
     * data (a segment in order, about to be fed): the row may start work
     * on it on another thread, which changes nothing it reports (TLS:
     * decrypting ahead, tls_ahead.h).  p lives until the batch of frames
     * it came with is done. */
    void (*ahead)(void *conn, int dir, const uint8_t *p, uint32_t n);
    /* Optional: the same for any segment's payload, before the flow is
     * known or claimed: a flow's first data may turn out to be this row's
     * (TLS: a ClientHello, whose key log entry is looked up ahead).  A
     * cheap look at the bytes: it is every segment's. */
    void (*ahead_first)(const struct cs_app_env *env, const uint8_t *p, uint32_t n);
    /* Bytes all this protocol's flows hold now (for --max-memory). */
    uint64_t (*held_bytes)(const void *stats);
    /* Copies the row's counters into the summary. */
    void (*summarize)(const void *stats, struct cs_summary *s);
    /* Optional: frees what the row keeps in its counters block for all
     * its flows (the pipeline is freed, every flow finished). */
    void (*release)(void *stats);
    /* Optional: whether the row may claim flows at all in this run (the
     * TLS row only with a key log); NULL means always. */
    bool (*active)(const struct cs_app_env *env);
    /* Optional: the key log gained secrets (flows waiting may go on). */
    void (*keys_changed)(struct cs_app_env *env);
    /* Optional (h2): a connection just opened goes on from an HTTP/1.1
     * Upgrade answered 101; req is the upgrading request (stream 1),
     * settings[0..n) its decoded HTTP2-Settings.  0, or -1 on failure. */
    int (*upgrade)(void *conn, const struct cs_txn *req, const uint8_t *settings, size_t n);
};

/* The rows (one file each). */
extern const struct cs_app_proto cs_app_http1; /* app_http1.c */
extern const struct cs_app_proto cs_app_tls;   /* app_tls.c */
extern const struct cs_app_proto cs_app_h2;    /* app_h2.c */

#endif
