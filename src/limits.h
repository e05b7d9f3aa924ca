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

#define CS_DEFAULT_MAX_FLOWS 65536u                    /* --max-flows */
#define CS_DEFAULT_IDLE_TIMEOUT_S 300u                 /* --idle-timeout (seconds) */
#define CS_DEFAULT_MAX_HELD_PER_FLOW (256u * 1024u)    /* --max-held-per-flow: out-of-order bytes, one direction */
#define CS_DEFAULT_MAX_HELD_TOTAL (8u * 1024u * 1024u) /* --max-held-total: out-of-order bytes, all flows */
/* Out-of-order pieces (runs of contiguous held bytes: a segment that continues
 * a held piece joins it), bounding the reassembly trees and their per-piece
 * bookkeeping whatever the segment sizes. */
#define CS_DEFAULT_MAX_HELD_PIECES_PER_FLOW 4096u        /* --max-held-pieces-per-flow: one direction */
#define CS_DEFAULT_MAX_HELD_PIECES 65536u                /* --max-held-pieces: all flows */
#define CS_DEFAULT_MAX_HEADER_BYTES (32u * 1024u)        /* --max-header-bytes: start line + header block */
#define CS_DEFAULT_MAX_HEADER_LINES 200u                 /* --max-header-lines */
#define CS_DEFAULT_MAX_PIPELINE 32u                      /* --max-pipeline: requests waiting for responses */
#define CS_DEFAULT_MAX_URI_BYTES 8192u                   /* --max-uri (longer URIs are cut, counted) */
#define CS_DEFAULT_H2_MAX_STREAMS 256u                   /* --h2-max-streams: open HTTP/2 streams
                                                     * tracked per connection (h2_conn.c) */
#define CS_DEFAULT_MAX_IPFRAG_BYTES (2u * 1024u * 1024u) /* --max-ipfrag-bytes: held IP fragments, all datagrams */
#define CS_DEFAULT_IPFRAG_TIMEOUT_S 30u                  /* --ipfrag-timeout (seconds) */
#define CS_DEFAULT_MAX_DPI_FLOWS 1024u                   /* --max-dpi-flows: connections under nDPI inspection at once */
/* --syn-timeout (seconds after the first SYN): a connection whose SYNs got
 * no answer for this long is reported as timed out (the end of the capture
 * decides too).  Measured on Linux 6.x (tcp_syn_retries 6: 11 SYNs over
 * 68 s) in a network namespace that drops the SYNs, each browser fetching
 * once: Chromium 156 opens 2 connections (a backup after 250 ms) and reports
 * net::ERR_CONNECTION_TIMED_OUT 134.4 s after the first SYN, when the kernel
 * gives up; Firefox ESR 153 abandons its 2 after 90 s (its own connection
 * timeout), opens 2 more, and reports NetworkError (CORSDidNotSucceed) after
 * 181.9 s.  135 s: past the kernel's give-up, so a connection still waiting
 * for an answer is never called timed out; reconnects within it fold. */
#define CS_DEFAULT_SYN_TIMEOUT_S 135u
/* --max-http-clients: client addresses remembered as having spoken HTTP (a
 * failed connection of such a client is reported by default: a browser).
 * The table (report/timeline.c) is allocated whole, at most half full:
 * cs_http_clients_memory() bytes, reserved in --max-memory (80 KiB by
 * default). */
#define CS_DEFAULT_MAX_HTTP_CLIENTS 1024u
#define CS_HTTP_CLIENT_SLOT_BYTES 40u
static inline size_t cs_http_clients_slots(uint32_t max_clients)
{
    size_t slots = 2;
    while (slots < 2 * (size_t)max_clients)
        slots *= 2;
    return slots;
}
static inline size_t cs_http_clients_memory(uint32_t max_clients)
{
    return cs_http_clients_slots(max_clients) * CS_HTTP_CLIENT_SLOT_BYTES;
}
/* --max-memory: traffic state, see below.  With the process itself (8.3 MiB
 * resident: the libraries, the report's tables) the whole stays under
 * 32 MiB when the budget is full (bench/run.sh header-flood); the h2 bench
 * captures' 7,150 connections fit without eviction. */
#define CS_DEFAULT_MAX_MEMORY (20u * 1024u * 1024u)
/* What --max-memory counts: each tracked connection at CS_FLOW_MEMORY_COST
 * (its flow, reassembly and HTTP state), plus what the held out-of-order
 * pieces cost the allocator (payload, buffer slack, per-piece bookkeeping and
 * one record per segment joined, each allocation rounded as glibc's malloc
 * rounds it: cs_reasm_alloc_cost in reasm.h), plus the HTTP header buffers
 * and requests waiting for their responses, plus nDPI's state of the
 * connections under inspection (measured, dpi.c) and nDPI's module once a
 * flow asked for it (CS_DPI_MODULE_COST, at most a quarter of the budget),
 * plus the key log's entries and index (cs_tls_keylog_memory: they grow
 * with the connections it covers).  Over budget, the least recently active
 * connections are dropped. */
#define CS_FLOW_MEMORY_COST 1024u
/* TLS with a key log (tls_keylog.c, tls_conn.c; CLI options come with the
 * pipeline wiring): the key table's memory, and the records one connection
 * may hold while it waits for its key to appear in the key log. */
#define CS_DEFAULT_KEYLOG_MAX_BYTES (4u * 1024u * 1024u) /* --max-keylog-bytes */
#define CS_DEFAULT_TLS_MAX_HELD_BYTES (64u * 1024u)      /* --max-tls-held-bytes: per connection */
/* A pcapng Decryption Secrets Block (pcapng_secrets.c) longer than this is
 * skipped and counted: a key log line is ~200 bytes, so 1 MiB is ~5,000
 * connections' secrets in one block. */
#define CS_DEFAULT_PCAPNG_MAX_SECRETS (1024u * 1024u)

/* A preflight whose outcome depends on the credentials mode is decided by
 * what follows it (report/timeline.h): its event is held until the actual
 * request arrives or this window closes (browsers send the actual request
 * milliseconds after the preflight's answer, so a second is generous).
 * Held events copy their transaction; those bytes count in --max-memory. */
#define CS_DEFAULT_PREFLIGHT_WINDOW_MS 1000u /* --preflight-window (milliseconds) */
#define CS_MAX_HELD_PREFLIGHTS 256u          /* preflight events held at once (the rest
                                              * are reported undecided, counted) */

/* The event sink (--sink, report/sink.h): its queue is outside the traffic
 * state's --max-memory, and bounded by its own limit. */
#define CS_DEFAULT_SINK_BATCH_ROWS 10000u                /* --sink-batch: rows per INSERT at most */
#define CS_DEFAULT_SINK_FLUSH_MS 1000u                   /* --sink-flush-ms: post at least this often */
#define CS_DEFAULT_SINK_QUEUE_BYTES (8u * 1024u * 1024u) /* --sink-queue-bytes: queued rows */
#define CS_DEFAULT_SINK_EXIT_TIMEOUT_MS 10000u           /* --sink-exit-timeout-ms: exit tries this long */
#define CS_SINK_REQUEST_TIMEOUT_MS 10000u                /* one INSERT */

/* Table sizes: what does not fit is counted, and the summary's "caps_hit"
 * says how much was left out (tunnels nested deeper: the decoder's "not
 * decoded" counts).  The tables that are arrays are compiled at their largest
 * size (the *_CAPACITY, which bounds the option) and a run uses the first
 * --max-* entries of them: pages never used are never touched. */
#define CS_PROTO_TABLE_SIZE 32u          /* --max-protocols: distinct unparsed protocols named in the summary */
#define CS_PROTO_TABLE_CAPACITY 128u     /* its largest value */
#define CS_PROTO_SAMPLE_SNIS 3u          /* server names kept per such protocol (a sample, nothing is lost) */
#define CS_SUMMARY_MAX_REASONS 40u       /* --max-reasons: distinct block/warning reasons counted */
#define CS_SUMMARY_REASONS_CAPACITY 256u /* its largest value */
#define CS_MAX_ENDPOINTS 4096u           /* --max-endpoints: distinct blocked endpoints counted */
#define CS_ENDPOINTS_CAPACITY (1u << 24) /* its largest value (a hash table, grown as used) */
#define CS_TL_MAX_PENDING 512            /* --max-pending-preflights: preflights waiting for their actual request */
#define CS_TL_PENDING_CAPACITY 8192      /* its largest value */
#define CS_TL_MAX_CACHE 256              /* --max-preflight-cache: preflight-cache entries, per browser */
#define CS_TL_CACHE_CAPACITY 4096        /* its largest value */
#define CS_DEFAULT_MAX_TUNNEL_DEPTH 4    /* --max-tunnel-depth: tunnels followed inside one frame */
#define CS_TUNNEL_DEPTH_CAPACITY 32      /* its largest value (the decoder recurses per tunnel) */
/* CONNECT tunnels followed inside each other (a proxy chain), as the
 * decoder's bound on nested network tunnels (CS_DECODE_MAX_TUNNELS): a
 * CONNECT deeper than this is reported, its tunnel not followed (counted). */
#define CS_MAX_CONNECT_DEPTH 4u

struct cs_limits {
    uint32_t max_flows;
    uint32_t idle_timeout_s;
    uint32_t max_held_per_flow;
    uint32_t max_held_total;
    uint32_t max_held_pieces_per_flow;
    uint32_t max_held_pieces;
    uint32_t max_header_bytes;
    uint32_t max_header_lines;
    uint32_t max_pipeline;
    uint32_t max_uri_bytes;
    uint32_t max_ipfrag_bytes;
    uint32_t ipfrag_timeout_s;
    uint32_t max_dpi_flows;
    uint32_t syn_timeout_s;
    uint32_t max_http_clients;
    uint32_t h2_max_streams;
    size_t max_memory;
    uint32_t max_keylog_bytes;
    uint32_t max_tls_held_bytes;
    uint32_t max_protocols;
    uint32_t max_reasons;
    uint32_t max_endpoints;
    uint32_t max_pending_preflights;
    uint32_t max_preflight_cache;
    uint32_t max_tunnel_depth;
    uint32_t preflight_window_ms;
};

/* Fills *l with the CS_DEFAULT_* values. */
void cs_limits_default(struct cs_limits *l);

#endif
