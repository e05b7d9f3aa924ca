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
#include "txn.h"

#define CS_PROTO_TABLE_SIZE 32   /* distinct non-HTTP protocols remembered for the summary */
#define CS_PROTO_SAMPLE_SNIS 3

/* struct cs_flow_info (what a flow turned out to be) is the seam's (txn.h). */
struct cs_pipeline_hooks {
    void (*on_txn)(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t);
    void (*on_flow_end)(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                        const struct cs_flow_info *info);
};

/* Flows that were not HTTP, by protocol, for "3 TLS flows (SNI ...)" lines. */
struct cs_proto_count {
    char name[CS_DPI_NAME_LEN];
    uint64_t flows;
    unsigned n_snis;
    char snis[CS_PROTO_SAMPLE_SNIS][CS_DPI_SNI_LEN];
};

struct cs_pipeline_stats {
    uint64_t http_flows;
    uint64_t other_flows;           /* carried data but not HTTP */
    uint64_t empty_flows;           /* no payload either way (SYN only, refused, ...) */
    uint64_t connections_refused;   /* SYN answered by RST: a CORS request there fails
                                     * with CORSDidNotSucceed, but nothing says it was one */
    uint64_t connections_unanswered; /* SYN never answered before the flow ended */
    unsigned n_protos;
    struct cs_proto_count protos[CS_PROTO_TABLE_SIZE];
    uint64_t protos_overflow;       /* flows of protocols past the table */
};

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
/* Advances the clock without a frame (expires idle flows). */
void cs_pipeline_tick(struct cs_pipeline *p, cs_time_ns now);
/* End of input: ends every open flow, reporting what it still held. */
void cs_pipeline_finish(struct cs_pipeline *p);

const struct cs_pipeline_stats *cs_pipeline_stats(const struct cs_pipeline *p);
const struct cs_decode_stats *cs_pipeline_decode_stats(const struct cs_pipeline *p);
const struct cs_flow_stats *cs_pipeline_flow_stats(const struct cs_pipeline *p);
const struct cs_reasm_stats *cs_pipeline_reasm_stats(const struct cs_pipeline *p);
const struct cs_http_stats *cs_pipeline_http_stats(const struct cs_pipeline *p);

#endif
