/* --workers: several pipelines' counters as one summary. */
#ifndef CS_SUMMARY_ADD_H
#define CS_SUMMARY_ADD_H

#include "summary.h"

/* Adds the stages' counters of `from` (cs_pipeline_summary of one worker)
 * into `into`: counters are summed, peaks too (so a peak is at most the sum
 * of the workers' peaks); the protocol table, TLS failure reasons and SNI
 * samples are merged by name, in the order of the workers, each name once,
 * at most max_protocols protocols (the rest counted as overflow). */
void cs_summary_add_stages(struct cs_summary *into, const struct cs_summary *from, unsigned max_protocols);

#endif
