/* The sentences of the output: what the judge and the timeline found out
 * (structured, judge.h / timeline.h) said for people, in the event's
 * "note". */
#ifndef CS_EXPLAIN_H
#define CS_EXPLAIN_H

#include <stddef.h>
#include "judge.h"

/* The note for a judged transaction into buf[0..size) ("" when there is
 * nothing to say): the classifier's note and the timeline's, or, for a
 * judgement downgraded for incomplete headers, why and what the visible
 * headers said. */
void cs_explain(const struct cs_judgement *j, char *buf, size_t size);

#endif
