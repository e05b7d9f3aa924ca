/* Report stage: transactions -> judged events -> the chosen output.
 *
 * Finds Host and Origin, asks the classifier (cors.h) for a verdict, lets
 * the timeline link preflights to actual requests and model the preflight
 * cache, keeps the summary counts, and writes text or JSON lines. */
#ifndef CS_REPORT_H
#define CS_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "packet.h"
#include "summary.h"
#include "txn.h"

enum cs_format { CS_FORMAT_TEXT,
                 CS_FORMAT_JSON,
                 CS_FORMAT_AUTO };
enum cs_browser_choice { CS_BROWSER_BOTH,
                         CS_BROWSER_FIREFOX,
                         CS_BROWSER_CHROME };

struct cs_report_options {
    enum cs_format format;
    enum cs_browser_choice browser;
    bool all;             /* report every transaction, not only CORS-relevant ones */
    bool color;           /* ANSI colours in the text output */
    bool live;            /* print as events complete, flush each line */
    unsigned width;       /* text: wrap message lines at this width (0: never) */
    bool ascii;           /* text: the locale is not UTF-8 (ASCII quotes) */
    const char *sensor;   /* this sensor's name, on every event (--sensor) */
    struct cs_sink *sink; /* also send events there (--sink), or NULL */
    /* the table sizes (--max-reasons, --max-endpoints, --max-pending-preflights,
     * --max-preflight-cache); NULL: the defaults */
    const struct cs_limits *limits;
    /* Preflights decided by what follows (timeline.h): how long to wait for
     * the actual request (0: CS_DEFAULT_PREFLIGHT_WINDOW_MS), and the bytes
     * the held copies may take (0: no limit but the table's) */
    cs_time_ns preflight_window;
    size_t max_held_bytes;
    uint32_t max_http_clients; /* --max-http-clients (0: the default) */
    uint32_t syn_timeout_s;    /* --syn-timeout: how far apart reconnects fold */
};

struct cs_report;
struct cs_sink;

struct cs_report *cs_report_new(const struct cs_report_options *opt, FILE *out);
void cs_report_free(struct cs_report *r);

/* Pipeline hooks (pass r as the hook context). */
void cs_report_txn(void *r, const struct cs_flow_key *f, const struct cs_txn *t);
void cs_report_flow_end(void *r, const struct cs_flow_key *f, enum cs_flow_end why,
                        const struct cs_flow_info *info);

/* Live: the clock moved on to `now` without a transaction; held preflight
 * events whose window closed are decided and written. */
void cs_report_tick(struct cs_report *r, cs_time_ns now);

/* Bytes the held preflight events take now (thread-safe; for
 * cs_pipeline_count_memory, --max-memory). */
size_t cs_report_held_bytes(void *r);

/* Has writing the output failed (ferror on its stream)?  Call it from the
 * thread that reports: it takes the stream's lock. */
bool cs_report_output_failed(struct cs_report *r);

/* Writes whatever is still pending and the summary. */
void cs_report_finish(struct cs_report *r, struct cs_summary *s);

/* The transactions and blocked requests counted so far, for the progress
 * line: safe to call from another thread than the one reporting. */
void cs_report_progress(struct cs_report *r, uint64_t *transactions, uint64_t *blocked);

/* True once any request was judged blocked (for --fail-on-blocked). */
bool cs_report_any_blocked(const struct cs_report *r);

#endif
