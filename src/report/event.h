/* What the report stage hands to the output writers: one transaction (the
 * seam's, txn.h) with its CORS judgement, as plain strings (NULL = JSON
 * null), so the writers know nothing of the classifier's verdict types.  Everything pointed to is
 * valid only during the output call. */
#ifndef CS_EVENT_H
#define CS_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include "txn.h"
#include "fleet_ids.h"

#define CS_EVENT_MAX_WARNINGS 4

/* One browser's judgement. */
struct cs_browser_view {
    const char *verdict; /* "allowed" | "blocked" | "warning" | "unknown" | "n/a" */
    const char *reason;  /* Firefox reason key, or NULL */
    const char *message; /* the console text, or NULL */
    const char *error;   /* Chromium CorsError name (chrome view only), or NULL */
};

struct cs_event {
    const struct cs_flow_key *flow;
    const struct cs_txn *txn;
    const char *host;
    size_t host_len; /* Host header value, or NULL */
    const char *origin;
    size_t origin_len; /* Origin header value, or NULL */
    const char *acr_method;
    size_t acr_method_len; /* Access-Control-Request-Method (a preflight's), or NULL */
    /* the judgement; kind == NULL when the classifier did not run */
    const char *kind;    /* "preflight" | "actual" | "simple" | "same-origin" | "no-cors" */
    const char *verdict; /* combined: never hides a block by either browser */
    const char *reason, *message, *chrome, *hint;
    const char *credentials; /* "include" | "omit" | "unknown" */
    /* how a preflight's credentials mode was inferred from what followed:
     * "actual-request-followed" | "no-actual-request", or NULL */
    const char *credentials_from;
    bool judged_both; /* --browser both: firefox/chrome views are filled */
    bool browsers_disagree;
    bool depends_on_credentials;
    const char *alt_reason; /* the outcome under the other credentials assumption */
    struct cs_browser_view firefox, chromium;
    const char *note;         /* timeline remark (preflight link, cache, retries), or NULL */
    uint64_t preflight_frame; /* the preflight that announced this request, 0 if none */
    uint64_t stored_frame;    /* a 304: the stored response it was judged as (stored.h), 0 if none */
    /* kind "connection": a connection that never carried a request */
    const char *failure;   /* "refused" | "timed-out" | "tls-alert" | "tls-closed" | "tls-reset" */
    uint32_t attempts;     /* SYNs the client sent */
    const char *tls_alert; /* the alert's name (tls-alert), or NULL */
    uint64_t end_frame;    /* the RST, alert or FIN that ended it; the last SYN */
    const char *warnings[CS_EVENT_MAX_WARNINGS];
    unsigned n_warnings;
    /* for merging many sensors' events (filled for JSON and sinks only) */
    const char *sensor;
    char community_id[CS_COMMUNITY_ID_LEN];
    char event_id[CS_EVENT_ID_LEN];
};

#endif
