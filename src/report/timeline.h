/* Timeline: what one transaction alone cannot tell.
 *
 * - Links each actual request to the preflight that announced it (same
 *   client address, Origin, URL and method), across TCP connections.
 * - Models each browser's preflight cache (cors-reasons.md §1.8) to explain
 *   a non-simple request that arrives without an OPTIONS.
 * - Folds the browser's automatic retries of a failed request (§8.8) into
 *   the first one.
 *
 * - Says whether a connection that failed before carrying a request came
 *   from a client that spoke HTTP to another origin (a browser), and folds
 *   its automatic reconnects.
 *
 * State is bounded: CS_TL_MAX_PENDING announced preflights and
 * CS_TL_MAX_CACHE cache entries per browser, oldest replaced first and
 * counted; --max-http-clients client addresses. */
#ifndef CS_TIMELINE_H
#define CS_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>
#include "corscope/cors.h"
#include "packet.h"
#include "stats.h"
#include "txn.h"

#define CS_TL_ORIGIN_MAX 128
#define CS_TL_URL_MAX 384
#define CS_TL_METHOD_MAX 24
#define CS_TL_ACRH_MAX 256
#define CS_TL_NOTE_MAX 320                         /* the note made from the facts (explain.c) */
#define CS_TL_RETRY_WINDOW_NS (3LL * 1000000000LL) /* retries come within a few seconds */

/* struct cs_timeline_stats (this stage's counters) is in stats.h. */

/* What the timeline found out about one request: a structured answer (the
 * sentences for people are the output stage's, explain.c). */
enum cs_tl_what {
    CS_TL_NOTHING,           /* nothing to say */
    CS_TL_LINKED,            /* its preflight: preflight_frame, preflight_flow, age */
    CS_TL_SENT_AFTER_FAILED, /* sent although its preflight (preflight_frame) failed */
    CS_TL_CACHED,            /* no preflight: browsers' caches held one (cache_frame, age) */
    CS_TL_UNEXPLAINED,       /* needs a preflight: none seen, none cached covers it */
    CS_TL_PREFLIGHT_BLOCKS,  /* (a preflight) browsers will not send the actual request */
};

#define CS_TL_FIREFOX 1u /* cs_timeline_facts.browsers */
#define CS_TL_CHROMIUM 2u

struct cs_timeline_facts {
    enum cs_tl_what what;
    uint64_t preflight_frame; /* LINKED, SENT_AFTER_FAILED; 0 if none */
    uint64_t preflight_flow;
    uint64_t cache_frame;      /* CACHED: the preflight that filled the cache entry */
    cs_time_ns age;            /* LINKED, CACHED: how long before this request */
    unsigned browsers;         /* CACHED: whose caches; PREFLIGHT_BLOCKS: who will not send */
    const char *method;        /* PREFLIGHT_BLOCKS: the announced method, or NULL; */
    size_t method_len;         /* points into the preflight request */
    corscope_cred credentials; /* evidence from the preflight link, or UNKNOWN */
};

/* What the timeline says about a connection that never carried a request
 * (txn.h, enum cs_conn_failure). */
struct cs_tl_conn_facts {
    bool browser; /* the client spoke HTTP to another origin (server address and
                   * port) earlier in the capture: a browser's failed fetch */
    bool retry;   /* the same failure, same client and server, within the retry
                   * window: an automatic reconnect, folded into the first */
};

struct cs_timeline;

/* max_http_clients: the client table's size (--max-http-clients; 0: the
 * default).  NULL when out of memory. */
struct cs_timeline *cs_timeline_new_sized(uint32_t max_http_clients);
struct cs_timeline *cs_timeline_new(void);
void cs_timeline_free(struct cs_timeline *tl);

/* Before judging an actual (non-preflight, cross-origin) request: finds its
 * preflight or the cache entry that explains its absence; fills facts
 * (credentials evidence included). */
void cs_timeline_before_actual(struct cs_timeline *tl, const struct cs_addr *client,
                               const corscope_request *req, const char *url, const char *origin,
                               size_t origin_len, bool needs_preflight, cs_time_ns ts,
                               struct cs_timeline_facts *facts);

/* After judging a preflight: remembers it for linking, and on success adds
 * it to both browsers' cache models.  facts->note says what the browser does
 * next (e.g. that a failed preflight means the actual request is not sent). */
void cs_timeline_after_preflight(struct cs_timeline *tl, const struct cs_addr *client,
                                 const corscope_request *req, const corscope_response *resp,
                                 const corscope_verdict *v, uint64_t frame, uint64_t flow,
                                 const char *origin, size_t origin_len, cs_time_ns ts,
                                 struct cs_timeline_facts *facts);

/* A CORS request that got no response: is it a retry of the previous failed
 * one from this client (same method, URL, Origin, within the retry window)?
 * Returns true when it should be folded into that one (not reported). */
bool cs_timeline_is_retry(struct cs_timeline *tl, const struct cs_addr *client,
                          const char *method, size_t method_len, const char *url,
                          const char *origin, size_t origin_len, cs_time_ns ts);

/* Remembers that f's client sent an HTTP request to f's server and port.
 * At most --max-http-clients clients: a full table starts again empty
 * (counted in http_clients_reset). */
void cs_timeline_http_client(struct cs_timeline *tl, const struct cs_flow_key *f);

/* A connection of f that failed before any request (failure): whether its
 * client is a browser's, and whether it is a reconnect of the same failure
 * (same client, server address and port) whose first SYN came at most
 * `window` after the previous one's (at least CS_TL_RETRY_WINDOW_NS; the
 * report passes --syn-timeout for unanswered SYNs: Firefox reconnects when
 * its own 90 s connect timeout expires). */
void cs_timeline_conn_failed(struct cs_timeline *tl, const struct cs_flow_key *f,
                             enum cs_conn_failure failure, cs_time_ns window,
                             struct cs_tl_conn_facts *facts);

const struct cs_timeline_stats *cs_timeline_stats(const struct cs_timeline *tl);

#endif
