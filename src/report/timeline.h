/* Timeline: what one transaction alone cannot tell.
 *
 * - Links each actual request to the preflight that announced it (same
 *   client address, Origin, URL and method), across TCP connections.
 * - Models each browser's preflight cache (cors-reasons.md §1.8) to explain
 *   a non-simple request that arrives without an OPTIONS.
 * - Folds the browser's automatic retries of a failed request (§8.8) into
 *   the first one.
 * - Decides a preflight whose outcome depends on the credentials mode (the
 *   OPTIONS never carries cookies) from what follows it: the browser sends
 *   the actual request at once when the preflight passes for the page's
 *   mode, and nothing when it fails.  The report holds such a preflight's
 *   event (cs_timeline_hold) until its actual request arrives or the window
 *   (--preflight-window) closes, then the timeline hands it back.
 * - Says whether a connection that failed before carrying a request came
 *   from a client that spoke HTTP to another origin (a browser), and folds
 *   its automatic reconnects.
 *
 * State is bounded: CS_TL_MAX_PENDING announced preflights and
 * CS_TL_MAX_CACHE cache entries per browser by default (limits.h;
 * --max-pending-preflights, --max-preflight-cache), oldest replaced first
 * and counted; --max-http-clients client addresses. */
#ifndef CS_TIMELINE_H
#define CS_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>
#include "cookies.h"
#include "corscope/cors.h"
#include "packet.h"
#include "site.h"
#include "stats.h"
#include "stored.h"
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
    /* A held preflight, decided by what followed (cs_timeline_decide): */
    CS_TL_FOLLOWED,     /* its actual request came (follow_frame, age later):
                         * credentials = the mode under which it passes */
    CS_TL_NOT_FOLLOWED, /* no actual request within the window (age) or before
                         * the capture ended (capture_ended): credentials = the
                         * mode under which it fails */
    CS_TL_GAVE_UP,      /* allowed in every mode, yet no actual request came:
                         * the browser or the page gave up */
};

/* What followed a held preflight (handed back with it). */
enum cs_tl_follow {
    CS_TL_FOLLOW_UNDECIDED = 0, /* handed back undecided (table full) */
    CS_TL_FOLLOW_SEEN,          /* the actual request came */
    CS_TL_FOLLOW_WINDOW,        /* nothing within the window */
    CS_TL_FOLLOW_END,           /* the capture ended first */
};

/* The credentials mode a held preflight was decided with. */
struct cs_tl_decision {
    corscope_cred credentials; /* INCLUDE or OMIT; UNKNOWN: not decided */
    bool blocked;              /* the decided mode fails the preflight */
    bool gave_up;              /* passes in every mode, nothing followed */
};

/* Where an actual request's credentials mode came from, when its cookies
 * said it (cookies.h); the held preflights' own sources are the report's. */
enum cs_tl_cred_from {
    CS_TL_CRED_FROM_NONE = 0,
    CS_TL_CRED_FROM_COOKIE,    /* it carries Cookie: include */
    CS_TL_CRED_FROM_NO_COOKIE, /* same-site, no Cookie where the client sent one before: omit */
};

#define CS_TL_FIREFOX 1u /* cs_timeline_facts.browsers */
#define CS_TL_CHROMIUM 2u

struct cs_timeline_facts {
    enum cs_tl_what what;
    uint64_t preflight_frame; /* LINKED, SENT_AFTER_FAILED; 0 if none */
    uint64_t preflight_flow;
    uint64_t cache_frame;           /* CACHED: the preflight that filled the cache entry */
    cs_time_ns age;                 /* LINKED, CACHED: how long before this request */
    unsigned browsers;              /* CACHED: whose caches; PREFLIGHT_BLOCKS: who will not send */
    const char *method;             /* PREFLIGHT_BLOCKS: the announced method, or NULL; */
    size_t method_len;              /* points into the preflight request */
    corscope_cred credentials;      /* evidence from the preflight link, or UNKNOWN */
    bool conditional_by_page;       /* LINKED: the preflight announced If-None-Match or
                                     * another condition: the page made it conditional */
    uint64_t request_key;           /* (before_actual) cs_timeline_request_key of the request */
    enum cs_tl_cred_from cred_from; /* (actual requests) the cookie evidence used */
    /* FOLLOWED: the actual request's frame; NOT_FOLLOWED: the capture ended
     * before the window closed */
    uint64_t follow_frame;
    bool capture_ended;
    /* (before_actual) the report's held event of the preflight this request
     * follows, handed back: the caller decides it (CS_TL_FOLLOW_SEEN) */
    void *held;
    cs_time_ns held_age; /* how long after that preflight this request came */
};

/* Hands a held preflight's payload back to the report, with what followed
 * (see cs_timeline_hold). */
typedef void (*cs_tl_release_fn)(void *ctx, void *payload, enum cs_tl_follow follow);

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
/* Table sizes other than the defaults, before the first use; each from 1
 * to its CS_TL_*_CAPACITY (limits.h), values outside are clamped. */
void cs_timeline_set_limits(struct cs_timeline *tl, size_t max_pending, size_t max_cache);

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

/* How long a held preflight waits for its actual request (default
 * CS_DEFAULT_PREFLIGHT_WINDOW_MS), and where payloads go back to when the
 * timeline itself lets go of them (window closed, table slot reused). */
void cs_timeline_set_window(struct cs_timeline *tl, cs_time_ns window);
void cs_timeline_set_release(struct cs_timeline *tl, cs_tl_release_fn fn, void *ctx);

/* Holds `payload` on the preflight the last cs_timeline_after_preflight call
 * remembered (for the flow `flow`); false when it remembered none (keys too
 * long for the table) or the table of held preflights is full: then the
 * caller reports the preflight undecided at once. */
bool cs_timeline_hold(struct cs_timeline *tl, void *payload);
/* The caller could not hold that preflight (its own budget): counted. */
void cs_timeline_hold_refused(struct cs_timeline *tl);

/* The clock moved on to `now`: hands back (oldest first) every held
 * preflight whose window closed, with CS_TL_FOLLOW_WINDOW. */
void cs_timeline_advance(struct cs_timeline *tl, cs_time_ns now);

/* End of the capture (flow == 0) or of one connection's input (flow: its
 * id): hands back those held preflights with CS_TL_FOLLOW_END. */
void cs_timeline_release_end(struct cs_timeline *tl, uint64_t flow);

cs_time_ns cs_timeline_window(const struct cs_timeline *tl);

/* Preflights held now. */
size_t cs_timeline_held(const struct cs_timeline *tl);

/* The decision for a held preflight: `omit` and `include` are its verdicts
 * judged in each mode; `follow` is what followed.  Pure: the rule of
 * issue 16 §1, tested on its own.  Reads only each verdict's `verdict`,
 * `firefox.verdict` and `chromium.verdict`. */
void cs_timeline_decide(const corscope_verdict *omit, const corscope_verdict *include,
                        enum cs_tl_follow follow, struct cs_tl_decision *d);

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

/* The cookie evidence's state (cookies.h, site.h), kept with the timeline's;
 * cs_judge asks it about every request. */
struct cs_cookies *cs_timeline_cookies(struct cs_timeline *tl);
struct cs_site *cs_timeline_site(struct cs_timeline *tl);
/* The responses a 304 may revalidate (stored.h); cs_judge keeps it. */
struct cs_stored *cs_timeline_stored(struct cs_timeline *tl);
/* The key of (client, Origin, URL) that the preflight cache and the stored
 * responses are found by: a 64-bit hash, never 0. */
uint64_t cs_timeline_request_key(const struct cs_addr *client, const char *origin, size_t origin_len,
                                 const char *url);

#endif
