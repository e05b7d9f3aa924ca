/* End-of-run numbers for the output writers: a plain-value snapshot of every
 * stage's counters (stats.h), taken by the pipeline (cs_pipeline_summary:
 * capture to application protocols) and by the report (its own counts and
 * the timeline's), plus what main knows (inputs, live capture health).
 * Nothing in it points into a stage. */
#ifndef CS_SUMMARY_H
#define CS_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>
#include "limits.h"
#include "stats.h"

#define CS_SUMMARY_TOP_ENDPOINTS 5

struct cs_reason_count {
    const char *reason; /* Firefox key (static string) */
    uint64_t count;
};

struct cs_endpoint_count {
    char endpoint[160]; /* "METHOD host/path" without the query */
    uint64_t blocked;
};

struct cs_summary {
    /* the stages' counters (cs_pipeline_summary) */
    struct cs_decode_stats decode;
    struct cs_flow_stats flows;
    struct cs_reasm_stats reasm;
    struct cs_http_stats http;
    struct cs_h2_stats h2;
    struct cs_handover_stats handover;
    struct cs_dpi_stats dpi;
    struct cs_tls_stats tls;
    bool tls_keylog; /* a key log was given: TLS lines are printed */
    struct cs_pipeline_stats pipeline;
    /* main's */
    uint64_t inputs_failed; /* files that ended in an error */
    const char *sensor;     /* --sensor, on the summary line too */
    bool has_sink;          /* --sink given: sink holds its counts */
    struct cs_sink_stats sink;
    /* capture health (live capture; 0 for files) */
    bool live;
    bool loopback; /* live on a loopback interface: received counts each packet twice */
    uint64_t received, dropped, ifdropped;
    uint64_t not_shown; /* text: connections ended with nothing printed (no --all) */
    /* the report stage's counts (cs_report_finish) */
    struct cs_timeline_stats timeline;
    uint64_t transactions;  /* all transactions */
    uint64_t cors_relevant; /* preflight/actual/simple */
    uint64_t allowed, blocked, warnings, unknown, same_origin, no_cors;
    uint64_t aborted;       /* cancelled by the client before any response: no verdict (n/a) */
    uint64_t disagreements; /* Firefox and Chromium differ */
    uint64_t depends_on_credentials;
    unsigned n_reasons;
    struct cs_reason_count reasons[CS_SUMMARY_REASONS_CAPACITY]; /* the first --max-reasons */
    uint64_t reasons_dropped;                                    /* counts of reasons past the table */
    unsigned n_endpoints;
    struct cs_endpoint_count endpoints[CS_SUMMARY_TOP_ENDPOINTS];
    uint64_t endpoints_dropped; /* blocks of endpoints past --max-endpoints */
    /* connections that never carried a request (refused, unanswered, TLS
     * handshake failed): reported as events, or left out (their client spoke
     * no HTTP to another origin, and no --all); reconnects folded are in
     * timeline.reconnects_folded */
    uint64_t conn_reported, conn_not_reported;
};

#endif
