/* JSON lines output (-o json): one object per reported transaction, then one
 * "summary" object.  The keys are the contract of design.md. */
#ifndef CS_OUT_JSON_H
#define CS_OUT_JSON_H

#include <stdio.h>
#include "event.h"
#include "summary.h"

void cs_out_json_event(FILE *out, const struct cs_event *ev);
void cs_out_json_summary(FILE *out, const struct cs_summary *s);

/* The same keys as one flat ClickHouse JSONEachRow row, for the sink
 * (contrib/clickhouse/schema.sql: events_local, summaries_local). */
struct cs_jbuf;
void cs_out_json_event_row(struct cs_jbuf *b, const struct cs_event *ev);
void cs_out_json_summary_row(FILE *out, const struct cs_summary *s);

/* "answered", "closed", ...: the "end" key's values. */
const char *cs_txn_end_name(enum cs_txn_end e);

#endif
