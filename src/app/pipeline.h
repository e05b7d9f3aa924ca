/* The offline/live pipeline below the report: frames -> decode -> flows ->
 * reassembly -> (an application protocol of the table, app_proto.h |
 * protocol identification) -> transactions.
 *
 * The pipeline owns every stage's state.  It hands each finished
 * transaction, and the end of each flow, to the hooks the caller gives (the
 * report, in corscope; a test's recorder in tests), as the seam's types
 * (txn.h) only. */
#ifndef CS_PIPELINE_H
#define CS_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include "decode.h"
#include "dpi.h"
#include "flow.h"
#include "http.h"
#include "limits.h"
#include "packet.h"
#include "stats.h"
#include "txn.h"


/* struct cs_flow_info (what a flow turned out to be) is the seam's (txn.h). */
struct cs_pipeline_hooks {
    void (*on_txn)(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t);
    void (*on_flow_end)(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                        const struct cs_flow_info *info);
    /* a flow starts (may be NULL): --workers numbers flows from these */
    void (*on_flow_new)(void *ctx, const struct cs_flow_key *f);
};

/* struct cs_pipeline_stats (this stage's counters) is in stats.h. */

struct cs_pipeline;

struct cs_pipeline *cs_pipeline_new(const struct cs_limits *limits,
                                    const struct cs_pipeline_hooks *hooks, void *ctx,
                                    char *errbuf, unsigned errlen);
/* Ends every flow still open (cs_pipeline_finish) and frees everything. */
void cs_pipeline_free(struct cs_pipeline *p);

/* Feeds one captured frame through every stage. */
void cs_pipeline_frame(struct cs_pipeline *p, const struct cs_frame *frame);
/* Feeds frames[0..n) in order, exactly as n calls of cs_pipeline_frame;
 * faster, because it decodes a few frames ahead and prefetches the flow
 * state they will touch.  The frames must all stay valid during the call. */
void cs_pipeline_frames(struct cs_pipeline *p, const struct cs_frame *frames, unsigned n);
/* Memory held beyond the pipeline's own state that --max-memory also counts
 * (the report's held preflight events): fn(ctx) is read at each budget check
 * and may be called from another thread's data (it must be thread-safe). */
void cs_pipeline_count_memory(struct cs_pipeline *p, size_t (*fn)(void *ctx), void *ctx);
/* Advances the clock without a frame (expires idle flows). */
void cs_pipeline_tick(struct cs_pipeline *p, cs_time_ns now);
/* TLS secrets for the TLS row (NULL, the default: TLS flows are only
 * named).  kl must outlive the pipeline; call cs_pipeline_keys_changed()
 * whenever it gained secrets, so connections waiting for a key go on.
 * Live, refresh (or NULL) reads what the key log files gained: a
 * connection that ends still without its key calls it once first.  The
 * key log's memory counts in --max-memory (its entries grow with the
 * connections): each of `share` pipelines using kl counts 1/share of it. */
struct cs_tls_keylog;
void cs_pipeline_set_keylog(struct cs_pipeline *p, const struct cs_tls_keylog *kl,
                            int (*refresh)(void *ctx), void *refresh_ctx, unsigned share);
void cs_pipeline_keys_changed(struct cs_pipeline *p);
/* Offer TLS records to be opened ahead by another thread (tls_ahead.h),
 * which calls cs_tls_ahead_assist with what this returns (NULL when out of
 * memory: then the pipeline opens every record itself, as by default).
 * For batches of frames (files).  Changes no output.  The helper is the
 * pipeline's: stop assisting before cs_pipeline_free. */
struct cs_tls_ahead;
struct cs_tls_ahead *cs_pipeline_decrypt_ahead(struct cs_pipeline *p);
/* What the flow table is doing as a hook is called (flow.h), and flow ids
 * from frame numbers (cs_flow_table_ids_by_frame): for --workers. */
enum cs_flow_phase cs_pipeline_phase(const struct cs_pipeline *p);
void cs_pipeline_ids_by_frame(struct cs_pipeline *p);
/* Counts a flow that no row parsed but carried data (info->parsed false,
 * info->had_data true; others are ignored) under its protocol in st's
 * table of at most max_protocols, as the pipeline does at each flow's end.
 * --workers rebuilds the table from the merged flow ends with it, so that
 * it lists protocols and names in the order one pipeline meets them. */
void cs_pipeline_count_protocol(struct cs_pipeline_stats *st, unsigned max_protocols,
                                const struct cs_flow_info *info);
/* End of input: ends every open flow, reporting what it still held. */
void cs_pipeline_finish(struct cs_pipeline *p);

const struct cs_pipeline_stats *cs_pipeline_stats(const struct cs_pipeline *p);
/* Copies every stage's counters into s (decode, flows, reassembly, the
 * application protocols, the pipeline's own). */
struct cs_summary;
void cs_pipeline_summary(const struct cs_pipeline *p, struct cs_summary *s);
const struct cs_decode_stats *cs_pipeline_decode_stats(const struct cs_pipeline *p);
const struct cs_flow_stats *cs_pipeline_flow_stats(const struct cs_pipeline *p);
const struct cs_reasm_stats *cs_pipeline_reasm_stats(const struct cs_pipeline *p);
const struct cs_http_stats *cs_pipeline_http_stats(const struct cs_pipeline *p);
const struct cs_dpi_stats *cs_pipeline_dpi_stats(const struct cs_pipeline *p);

/* The counters of SIGUSR1's statistics line (corscope(1) SIGNALS): a
 * copy, so that a worker can hand its own to the main thread. */
struct cs_pipeline_counts {
    uint64_t frames, flows, active_flows, requests, responses;
};
void cs_pipeline_counts(const struct cs_pipeline *p, struct cs_pipeline_counts *c);
void cs_pipeline_counts_add(struct cs_pipeline_counts *sum, const struct cs_pipeline_counts *c);

#endif
