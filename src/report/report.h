/* Report stage: transactions -> judged events -> the chosen output.
 *
 * Finds Host and Origin, asks the classifier (cors.h) for a verdict, lets
 * the timeline link preflights to actual requests and model the preflight
 * cache, keeps the summary counts, and writes text or JSON lines. */
#ifndef CS_REPORT_H
#define CS_REPORT_H

#include <stdbool.h>
#include <stdio.h>
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
    bool all;                  /* report every transaction, not only CORS-relevant ones */
    bool color;                /* ANSI colours in the text output */
    bool live;                 /* print as events complete, flush each line */
    const char *sensor;        /* this sensor's name, on every event (--sensor) */
    struct cs_sink *sink;      /* also send events there (--sink), or NULL */
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

/* Writes whatever is still pending and the summary. */
void cs_report_finish(struct cs_report *r, struct cs_summary *s);

/* True once any request was judged blocked (for --fail-on-blocked). */
bool cs_report_any_blocked(const struct cs_report *r);

#endif
