/* End-of-run numbers, gathered from every stage for the output writers. */
#ifndef CS_SUMMARY_H
#define CS_SUMMARY_H

#include <stdint.h>
#include "pipeline.h"

#define CS_SUMMARY_MAX_REASONS 40
#define CS_SUMMARY_TOP_ENDPOINTS 5

struct cs_reason_count {
    const char *reason;      /* Firefox key (static string) */
    uint64_t count;
};

struct cs_endpoint_count {
    char endpoint[160];      /* "METHOD host/path" without the query */
    uint64_t blocked;
};

struct cs_summary {
    const struct cs_pipeline *pipeline;   /* stage counters */
    uint64_t inputs_failed;               /* files that ended in an error */
    /* capture health (live capture; 0 for files) */
    bool live;
    uint64_t received, dropped, ifdropped;
    /* the report stage's counts */
    uint64_t transactions;                /* all HTTP transactions */
    uint64_t cors_relevant;               /* preflight/actual/simple */
    uint64_t allowed, blocked, warnings, unknown, same_origin, no_cors;
    uint64_t disagreements;               /* Firefox and Chromium differ */
    uint64_t depends_on_credentials;
    unsigned n_reasons;
    struct cs_reason_count reasons[CS_SUMMARY_MAX_REASONS];
    unsigned n_endpoints;
    struct cs_endpoint_count endpoints[CS_SUMMARY_TOP_ENDPOINTS];
};

#endif
