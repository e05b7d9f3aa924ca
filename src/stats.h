/* Every stage's counters, as plain values.  Each stage keeps its struct
 * here (the stage's header says so) and counts into it; the summary
 * (summary.h) is a copy of all of them taken at the end of the run, so
 * the writers read numbers, never a stage. */
#ifndef CS_STATS_H
#define CS_STATS_H

#include <stdint.h>
#include "limits.h"

#define CS_PROTO_NAME_LEN 32
#define CS_PROTO_SNI_LEN 80

/* decode.c */
struct cs_decode_stats {
    uint64_t frames;
    uint64_t bytes;            /* caplen summed */
    uint64_t tcp;              /* segments produced */
    uint64_t non_ip;           /* ARP, LLDP, ... */
    uint64_t non_tcp;          /* UDP, ICMP, ... */
    uint64_t truncated;        /* frames cut by the snaplen before the end of what they carry */
    uint64_t malformed;        /* headers that contradict themselves or the frame */
    uint64_t unknown_linktype;
    uint64_t fragments;        /* IP fragments seen */
    uint64_t reassembled;      /* datagrams rebuilt from fragments */
    uint64_t frag_dropped;     /* fragments dropped: timeout, overlap conflict, memory cap */
};

/* reasm.c */
struct cs_reasm_stats {
    uint64_t segments;         /* segments with payload */
    uint64_t bytes_delivered;
    uint64_t out_of_order;     /* segments that had to be held */
    uint64_t retransmitted_bytes; /* bytes seen again (already delivered or already held), dropped */
    uint64_t overlap_conflicts; /* bytes of a held segment seen again with different values
                                 * (first copy wins; delivered bytes are not kept, so only
                                 * overlaps among held segments can be compared) */
    uint64_t gaps;
    uint64_t gap_bytes;
    uint64_t held_cap_per_flow; /* times the per-direction cap forced a release */
    uint64_t held_cap_total;    /* times the global cap forced a release */
    uint64_t held_pieces_cap_per_flow; /* times the per-direction cap on held pieces forced a release */
    uint64_t held_pieces_cap_total;    /* times the global cap on held pieces forced a release */
    uint64_t out_of_window;     /* segments/ACKs more than CS_REASM_MAX_AHEAD ahead, or data after FIN: ignored */
    uint64_t alloc_failures;    /* held copies that could not be allocated (their bytes become a gap) */
};

/* flow.c */
struct cs_flow_stats {
    uint64_t created;
    uint64_t active;
    uint64_t max_active;
    uint64_t closed, reset, idle_expired, evicted, ended_at_input_end;
    uint64_t evicted_memory;   /* of `evicted`: dropped for --max-memory */
    uint64_t ignored_segments; /* pure ACK/FIN/RST of no known flow */
    uint64_t alloc_failures;   /* flows that could not be allocated (their segment is dropped) */
    uint64_t port_reuse;       /* a new SYN on a known 5-tuple ended the old flow */
};

/* http.c (HTTP/1, all connections) */
struct cs_http_stats {
    uint64_t requests, responses, transactions;
    uint64_t unanswered;        /* requests without a response */
    uint64_t orphan_responses;  /* responses with no request to pair with */
    uint64_t resyncs;           /* times the scanner searched for a new start line */
    uint64_t garbage_bytes;     /* bytes skipped while resynchronising */
    uint64_t gaps, gap_bytes;
    uint64_t header_cap_hits, header_lines_cap_hits, uri_cap_hits, pipeline_cap_hits;
    uint64_t upgrades;          /* 101 / CONNECT 2xx: the connection stops being HTTP */
    uint64_t http09;
    /* added by http.c's owner (additive): */
    uint64_t bad_header_lines;  /* header lines without a colon / fold without a header: skipped */
    uint64_t framing_errors;    /* bad or conflicting Content-Length, bad chunk line, 64-bit overflow */
    uint64_t held_bytes;        /* now: header buffers and waiting requests, all connections */
};

/* h2_conn.c (HTTP/2, all connections; additive counters) */
struct cs_h2_stats {
    uint64_t connections;      /* cs_h2_conn_new calls */
    uint64_t frames;           /* frame headers read, both directions */
    uint64_t streams;          /* client streams opened by a request HEADERS */
    uint64_t transactions;     /* streams reported */
    uint64_t answered;         /* of which with a final response */
    uint64_t resets;           /* RST_STREAM frames */
    uint64_t goaways;          /* GOAWAY frames */
    uint64_t goaway_refused;   /* streams ended by a GOAWAY's last-stream-id */
    uint64_t pushes;           /* PUSH_PROMISE frames (pushed streams: not reported) */
    uint64_t hpack_failures;   /* directions whose header decoding stopped (gap or
                                * HPACK error), at most 2 per connection */
    uint64_t hpack_errors;     /* of which the inflater refused a block */
    uint64_t lost_streams;     /* streams reported CS_H2_END_LOST */
    uint64_t undecoded_blocks; /* header blocks seen after the direction's HPACK was lost */
    uint64_t gaps;             /* gap events */
    uint64_t gaps_skipped;     /* of which inside DATA/padding: nothing lost */
    uint64_t protocol_errors;  /* RFC 9113 violations seen (framer and stream states) */
    uint64_t oversized_frames; /* frames longer than SETTINGS_MAX_FRAME_SIZE */
    uint64_t closed_stream_frames; /* HEADERS/DATA/RST on a stream already over */
    uint64_t orphan_responses; /* response HEADERS on a stream with no known request */
    uint64_t stream_cap_hits;  /* streams evicted by limits->max_streams */
    uint64_t field_cap_hits;   /* sections cut by max_header_bytes / max_header_lines */
    uint64_t bad_preface;      /* client streams that did not open with the preface */
    uint64_t held_bytes;       /* now: stream fields and inflater tables, all connections */
};

/* dpi.c (nDPI's per-flow state) */
struct cs_dpi_stats {
    uint64_t inspecting;          /* flows with detection state now */
    uint64_t max_inspecting;      /* the most at once */
    uint64_t limit_hits;          /* flows not inspected: --max-dpi-flows were already */
    uint64_t memory;              /* bytes of detection state held now (all flows) */
    uint64_t max_memory;          /* the most at once */
};

/* timeline.c */
struct cs_timeline_stats {
    uint64_t preflights_linked;     /* actual requests matched to their preflight */
    uint64_t cache_hits;            /* actual requests explained by a cached preflight */
    uint64_t unexplained_missing;   /* non-simple requests with no preflight to explain them */
    uint64_t retries_folded;
    uint64_t pending_evicted, cache_evicted;
};

/* pipeline.c */
/* Flows that were not HTTP, by protocol, for "3 TLS flows (SNI ...)" lines. */
struct cs_proto_count {
    char name[CS_PROTO_NAME_LEN];
    uint64_t flows;
    unsigned n_snis;
    char snis[CS_PROTO_SAMPLE_SNIS][CS_PROTO_SNI_LEN];
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

#endif
