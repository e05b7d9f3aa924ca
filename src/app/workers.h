/* --workers N with capture files: one reader (the caller's thread) and N
 * pipeline threads, each with its own flow table, reassembly and
 * application state.
 *
 * The reader copies frames into batches that every worker sees: a worker
 * runs the pipeline on the frames whose IP-address pair shards to it
 * (shard.h) and only moves its clock to the others' timestamps, so its
 * flows time out at the frame where one pipeline would end them.  Each
 * event a worker's pipeline gives is keyed by (frame, what ended it) so
 * that the caller's sink (the report thread, report_thread.h) can merge the
 * workers' events into the order one pipeline gives. */
#ifndef CS_WORKERS_H
#define CS_WORKERS_H

#include <stdint.h>
#include "limits.h"
#include "packet.h"
#include "pipeline.h"
#include "summary.h"

#define CS_WORKERS_MAX 64

/* Where worker i's events go: hooks called with ctx[i] (on_flow_new
 * included), and before each event key(ctx[i], frame, sub); mark(ctx[i],
 * frame) once every event up to that frame has been given, done(ctx[i]) at
 * the end. */
struct cs_workers_out {
    struct cs_pipeline_hooks hooks;
    void *ctx[CS_WORKERS_MAX];
    void (*key)(void *ctx, uint64_t frame, uint64_t sub);
    void (*mark)(void *ctx, uint64_t frame);
    void (*done)(void *ctx);
};

struct cs_workers;
struct cs_tls_keylog;

/* Starts n (2..CS_WORKERS_MAX) workers, each with a pipeline of `limits`
 * (the caller splits the global limits), TLS secrets from kl (or NULL),
 * extra memory counted through mem_fn(mem_ctx) (cs_pipeline_count_memory;
 * a NULL mem_ctx: each worker's own out->ctx[i]).
 * NULL with errbuf filled on failure. */
struct cs_workers *cs_workers_start(unsigned n, const struct cs_limits *limits,
                                    const struct cs_workers_out *out, const struct cs_tls_keylog *kl,
                                    size_t (*mem_fn)(void *ctx), void *mem_ctx, char *errbuf,
                                    unsigned errlen);
/* The reader: hands frames[0..n) to the workers (copied: they may be
 * reused at once); waits while every batch is still in use. */
void cs_workers_frames(struct cs_workers *w, const struct cs_frame *frames, unsigned n);
/* End of input: the last batch goes, each worker ends its flows (the
 * pipeline's finish) and says done; returns once all have stopped. */
void cs_workers_finish(struct cs_workers *w);
/* The workers' counters added up, each as of the last batch it ran
 * (SIGUSR1's statistics line); any thread. */
void cs_workers_counts(struct cs_workers *w, struct cs_pipeline_counts *sum);
/* The stages' counters of all workers, added (summary_add.h). */
void cs_workers_summary(const struct cs_workers *w, struct cs_summary *s);
void cs_workers_free(struct cs_workers *w);

#endif
