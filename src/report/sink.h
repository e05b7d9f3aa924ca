/* The event sink: every event also goes to a store that many sensors share
 * (ClickHouse, over its HTTP interface), batched, from a thread of its own,
 * so that a slow or absent store never holds up packet capture.
 *
 * The report stage calls cs_sink_event for each event it emits; the event
 * is formatted at once into a flat row (typed columns, see
 * contrib/clickhouse/schema.sql) and queued.  The queue is bounded: when it
 * is full the event is dropped and counted.  The sender thread posts a
 * batch every flush interval or when batch_rows are waiting, and retries a
 * failed batch with exponential backoff.  At exit cs_sink_finish sends what
 * is queued, trying until the exit timeout, and counts what it could not. */
#ifndef CS_SINK_H
#define CS_SINK_H

#include <stddef.h>
#include "event.h"
#include "stats.h"

struct cs_sink_options {
    const char *url;              /* clickhouse://HOST:PORT/DB.TABLE */
    const char *credentials_file; /* "user:password" (or "user" and "password" lines); NULL: none */
    unsigned batch_rows;          /* post when this many wait (--sink-batch) */
    unsigned flush_ms;            /* post at least this often (--sink-flush-ms) */
    size_t max_queue_bytes;       /* queued rows, all batches (--sink-queue-bytes) */
    unsigned exit_timeout_ms;     /* how long exit tries to send the rest (--sink-exit-timeout) */
    unsigned request_timeout_ms;  /* one INSERT */
};

struct cs_sink;

/* Parses the URL and reads the credentials (while the file is readable,
 * before privileges are dropped).  NULL with a one-line reason in err when
 * the URL or the credentials file is wrong. */
struct cs_sink *cs_sink_new(const struct cs_sink_options *opt, char *err, size_t errlen);

/* Starts the sender thread (after privileges are dropped); -1 with a reason.
 * A store that does not answer is not an error: the queue waits for it.
 * Events queue even before the start. */
int cs_sink_start(struct cs_sink *s, char *err, size_t errlen);

/* Formats the event into a row and queues it (never blocks on the network). */
void cs_sink_event(struct cs_sink *s, const struct cs_event *ev);

/* Sends what is queued (until the exit timeout), stops the sender and
 * fills the counts.  Call once; events after it are dropped and counted. */
void cs_sink_finish(struct cs_sink *s, struct cs_sink_stats *out);

/* After cs_sink_finish and the summary's output: one row into
 * DB.summaries_local of the same server (the summary as the JSON has it,
 * sink counts included, which do not count this row), one try within the
 * exit timeout.  False with the reason in err when it was not stored. */
struct cs_summary;
bool cs_sink_summary(struct cs_sink *s, const struct cs_summary *sum, char *err, size_t errlen);

void cs_sink_free(struct cs_sink *s);

#endif
