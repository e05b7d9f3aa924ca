/* The report stage on its own thread, for capture files.
 *
 * Reading a file, the capture/decode/flow/reassembly/HTTP stages and the
 * report stage (classifier, timeline, output) each take about half of the
 * run; on a machine with two cores they can overlap.  The pipeline calls
 * cs_report_thread_txn and cs_report_thread_flow_end as its hooks; each
 * call copies what the report reads (the flow's key, the transaction with
 * its header blocks) into a batch, and the report thread
 * replays the batches in order through cs_report_txn and
 * cs_report_flow_end.  The output is byte for byte what the same hooks
 * called directly would write: the report sees every event, in the same
 * order, with the same content.
 *
 * Memory is fixed: CS_REPORT_BATCHES slots of CS_REPORT_SLOT_BYTES (0.75 MB
 * in all), each handed over once it holds CS_REPORT_BATCH_BYTES;
 * when they are all full the pipeline waits for the report.  A slot grown
 * for one huge record shrinks back when the pipeline takes it again.  This
 * fixed cost is not part of --max-memory, which bounds what grows with the
 * traffic.  A record
 * that does not fit (or when memory runs out) is handed over synchronously:
 * the pipeline waits until the report thread is idle and calls the report
 * itself, so nothing is lost.
 *
 * Live captures do not use it: there every event is printed as it happens,
 * and the report is cheap next to the packet rate. */
#ifndef CS_REPORT_THREAD_H
#define CS_REPORT_THREAD_H

#include <stdbool.h>
#include <stdint.h>
#include "report.h"
#include "txn.h"

#define CS_REPORT_BATCHES 4
/* A batch is handed over once it holds this much: each handover may wake
 * the report thread (a futex system call), so not too often (64 KB batches
 * spent 2% of the pipeline thread in wakeups).  128 KB batches run as fast
 * as 256 KB ones (measured on the bench's cors, wire-http1 and h2-tls
 * captures, 2026-12) and keep 0.5 MB less resident. */
#define CS_REPORT_BATCH_BYTES (128 * 1024)
/* A slot: a batch plus room for the record that completes it (a typical
 * transaction takes 2-3 KB; a bigger one grows its slot for a while). */
#define CS_REPORT_SLOT_BYTES (CS_REPORT_BATCH_BYTES + 64 * 1024)

struct cs_report_thread;

/* Starts the report thread for r (which it then owns until
 * cs_report_thread_stop).  NULL when the thread cannot be started: the
 * caller then uses cs_report_txn/cs_report_flow_end directly. */
struct cs_report_thread *cs_report_thread_start(struct cs_report *r);

/* Work the report thread does for the pipeline, between its events and
 * while it waits for the next batch (decrypting ahead: tls_ahead.h):
 * work(ctx) does one piece and returns false when there was none.  One
 * producer only; set before the pipeline starts, and the thread calls it
 * until cs_report_thread_stop. */
void cs_report_thread_assist(struct cs_report_thread *rt, bool (*work)(void *ctx), void *ctx);

/* Pipeline hooks (pass the cs_report_thread as the hook context). */
void cs_report_thread_txn(void *rt, const struct cs_flow_key *f, const struct cs_txn *t);
void cs_report_thread_flow_end(void *rt, const struct cs_flow_key *f, enum cs_flow_end why,
                               const struct cs_flow_info *info);

/* Several pipelines (--workers): the report thread merges their events.
 * Each pipeline is a producer with its own ring of batches (its hook
 * context: cs_report_thread_producer(rt, i); rt itself is producer 0's).
 * Before each event the producer sets the event's key (frame, sub):
 * the report sees the events of all producers in key order, a producer's
 * events of equal key in the order they came.  mark(frame) says that every
 * event up to that frame has been given (it hands over the batch, so call
 * it once per batch of frames, not per frame); done, that nothing more
 * comes.  Flow ids: each producer numbers its flows with the frame that
 * created them and calls cs_report_thread_flow_new at each creation; the
 * report sees them numbered 1, 2, ... in merged order of creation, as one
 * pipeline numbers them.  An event that cannot be copied goes to the
 * report at once, under a lock, out of the merged order. */
struct cs_report_thread *cs_report_thread_start_n(struct cs_report *r, unsigned producers);
void *cs_report_thread_producer(struct cs_report_thread *rt, unsigned i);
void cs_report_thread_flow_new(void *producer, const struct cs_flow_key *f);
void cs_report_thread_key(void *producer, uint64_t frame, uint64_t sub);
void cs_report_thread_mark(void *producer, uint64_t frame);
void cs_report_thread_done(void *producer);
/* fn(ctx, ...) is told every flow end after the report, in the merged
 * order, on the report thread (set it before the first event). */
void cs_report_thread_observe(struct cs_report_thread *rt,
                              void (*fn)(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                                         const struct cs_flow_info *info),
                              void *ctx);

/* Has writing the output failed?  Seen by the report thread after each
 * batch; this reads its flag and never the stream (whose lock the report
 * thread holds while it writes). */
bool cs_report_thread_output_failed(struct cs_report_thread *rt);

/* The report's held bytes for a producer's --max-memory check (its hook
 * context; rt is producer 0's): as the report stood after the batch the
 * producer handed over CS_REPORT_BATCHES batches ago, so the same input
 * always gives the same figure at the same point. */
size_t cs_report_thread_held_bytes(void *producer);

/* Hands over the last batch, waits until the report has seen everything,
 * ends the thread and frees rt.  The report is the caller's again.
 * Several producers: call it once every producer is done (or has stopped
 * calling the hooks for good). */
void cs_report_thread_stop(struct cs_report_thread *rt);

#endif
