/* The sentences of the output: what the judge and the timeline found out
 * (structured, judge.h / timeline.h) said for people, in the event's
 * "note". */
#ifndef CS_EXPLAIN_H
#define CS_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include "judge.h"

/* The note for a judged transaction into buf[0..size) ("" when there is
 * nothing to say): the classifier's note and the timeline's, or, for a
 * judgement downgraded for incomplete headers, why and what the visible
 * headers said. */
void cs_explain(const struct cs_judgement *j, char *buf, size_t size);

/* The hint and the note of a connection that never carried a request (f,
 * judged j, the client's SYNs): what to check, and why corscope reports it
 * (browser: the client spoke HTTP to another origin; otherwise --all). */
void cs_explain_conn(const struct cs_conn_judgement *j, const struct cs_flow_key *f, uint32_t syns,
                     bool browser, char *hint, size_t hint_size, char *note, size_t note_size);

#endif
