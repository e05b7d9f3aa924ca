/* Every limit corscope enforces, as a named default and a run-time value.
 *
 * Each default can be overridden from the command line (main.c maps the
 * long options onto struct cs_limits).  Hitting a limit is never silent: the
 * stage that enforces it counts the hit in its stats, and the summary reports
 * it. */
#ifndef CS_LIMITS_H
#define CS_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#define CS_DEFAULT_MAX_FLOWS            65536u      /* --max-flows */
#define CS_DEFAULT_IDLE_TIMEOUT_S       300u        /* --idle-timeout (seconds) */
#define CS_DEFAULT_MAX_HELD_PER_FLOW    (256u * 1024u)  /* --max-held-per-flow: out-of-order bytes, one direction */
#define CS_DEFAULT_MAX_HELD_TOTAL       (8u * 1024u * 1024u) /* --max-held-total: out-of-order bytes, all flows */
#define CS_DEFAULT_MAX_HEADER_BYTES     (32u * 1024u)  /* --max-header-bytes: start line + header block */
#define CS_DEFAULT_MAX_HEADER_LINES     200u        /* --max-header-lines */
#define CS_DEFAULT_MAX_PIPELINE         32u         /* --max-pipeline: requests waiting for responses */
#define CS_DEFAULT_MAX_URI_BYTES        8192u       /* --max-uri (longer URIs are cut, counted) */
#define CS_DEFAULT_MAX_IPFRAG_BYTES     (2u * 1024u * 1024u) /* --max-ipfrag-bytes: held IP fragments, all datagrams */
#define CS_DEFAULT_IPFRAG_TIMEOUT_S     30u         /* --ipfrag-timeout (seconds) */
#define CS_DEFAULT_MAX_MEMORY           (24u * 1024u * 1024u) /* --max-memory: traffic state, see below */
/* What --max-memory counts: each tracked connection at CS_FLOW_MEMORY_COST
 * (its flow, reassembly and HTTP state), plus the out-of-order bytes held,
 * plus the HTTP header buffers and requests waiting for their responses.
 * Over budget, the least recently active connections are dropped. */
#define CS_FLOW_MEMORY_COST             1024u

/* Fixed table sizes (compile time): what does not fit is counted, and the
 * summary's "caps_hit" says how much was left out. */
#define CS_PROTO_TABLE_SIZE             32u  /* distinct unparsed protocols named in the summary */
#define CS_PROTO_SAMPLE_SNIS            3u   /* server names kept per such protocol */
#define CS_SUMMARY_MAX_REASONS          40u  /* distinct block/warning reasons counted */
#define CS_MAX_ENDPOINTS                4096u /* distinct blocked endpoints counted */
#define CS_TL_MAX_PENDING               512  /* preflights waiting for their actual request */
#define CS_TL_MAX_CACHE                 256  /* preflight-cache entries, per browser */

struct cs_limits {
    uint32_t max_flows;
    uint32_t idle_timeout_s;
    uint32_t max_held_per_flow;
    uint32_t max_held_total;
    uint32_t max_header_bytes;
    uint32_t max_header_lines;
    uint32_t max_pipeline;
    uint32_t max_uri_bytes;
    uint32_t max_ipfrag_bytes;
    uint32_t ipfrag_timeout_s;
    size_t   max_memory;
};

/* Fills *l with the CS_DEFAULT_* values. */
void cs_limits_default(struct cs_limits *l);

#endif
