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
/* Why a frame produced no segment although nothing in it was wrong: each
 * skipped frame is counted under exactly one kind.  Kinds up to
 * CS_DECODE_SKIP_LAST_NON_IP also count in `non_ip`, the IP ones in
 * `non_tcp`, CS_DECODE_SKIP_LINKTYPE in `unknown_linktype`.  Fragments held
 * for reassembly are not skips (their datagram is decoded later). */
enum cs_decode_skip {
    CS_DECODE_SKIP_ARP,             /* ARP, RARP, Cisco SLARP */
    CS_DECODE_SKIP_LLC,             /* 802.3 frames with plain LLC: STP, CDP, ... */
    CS_DECODE_SKIP_ETHERTYPE,       /* any other ethertype (LLDP, ...) */
    CS_DECODE_SKIP_PPPOE_DISCOVERY, /* PPPoE PADI/PADO/PADR/PADS/PADT */
    CS_DECODE_SKIP_PPP_NON_IP,      /* PPP protocols other than IP: LCP, IPCP, ... */
    CS_DECODE_SKIP_NOT_IP,          /* an IP version nibble that is neither 4 nor 6 */
    CS_DECODE_SKIP_LOOP_FAMILY,     /* BSD loopback address family not IPv4/IPv6 */
    CS_DECODE_SKIP_LAST_NON_IP = CS_DECODE_SKIP_LOOP_FAMILY,
    CS_DECODE_SKIP_UDP,      /* UDP not to a tunnel port */
    CS_DECODE_SKIP_ICMP,     /* ICMP, ICMPv6 */
    CS_DECODE_SKIP_ESP,      /* IPsec ESP: encrypted */
    CS_DECODE_SKIP_IP_OTHER, /* any other IP protocol, IPv6 "no next header" */
    CS_DECODE_SKIP_FRAGMENT, /* a fragment of a datagram that is not TCP */
    CS_DECODE_SKIP_TUNNEL,   /* a tunnel header this decoder cannot follow */
    CS_DECODE_SKIP_NESTING,  /* tunnels nested deeper than CS_DECODE_MAX_TUNNELS */
    CS_DECODE_SKIP_LINKTYPE, /* a link type cs_decode_frame does not know */
    CS_DECODE_SKIP_KINDS
};

/* A short English name for the text summary ("PPPoE discovery"), and a
 * lower-case key for JSON ("pppoe_discovery"); never NULL. */
const char *cs_decode_skip_name(enum cs_decode_skip kind);
const char *cs_decode_skip_key(enum cs_decode_skip kind);

/* Frames not decoded although well formed: the sum of skipped[]. */
struct cs_decode_stats;
uint64_t cs_decode_skipped_total(const struct cs_decode_stats *st);

struct cs_decode_stats {
    uint64_t frames;
    uint64_t bytes;     /* caplen summed */
    uint64_t tcp;       /* segments produced */
    uint64_t non_ip;    /* ARP, LLDP, ... */
    uint64_t non_tcp;   /* UDP, ICMP, ... */
    uint64_t truncated; /* frames cut by the snaplen before the end of what they carry */
    uint64_t malformed; /* headers that contradict themselves or the frame */
    uint64_t unknown_linktype;
    uint64_t fragments;                     /* IP fragments seen */
    uint64_t reassembled;                   /* datagrams rebuilt from fragments */
    uint64_t frag_dropped;                  /* fragments dropped: timeout, overlap conflict, memory cap */
    uint64_t tunneled;                      /* segments found inside at least one tunnel */
    uint64_t skipped[CS_DECODE_SKIP_KINDS]; /* frames not decoded, by kind: see above */
};

/* reasm.c */
struct cs_reasm_stats {
    uint64_t segments; /* segments with payload */
    uint64_t bytes_delivered;
    uint64_t out_of_order;        /* segments that had to be held */
    uint64_t retransmitted_bytes; /* bytes seen again (already delivered or already held), dropped */
    uint64_t overlap_conflicts;   /* bytes of a held segment seen again with different values
                                 * (first copy wins; delivered bytes are not kept, so only
                                 * overlaps among held segments can be compared) */
    uint64_t gaps;
    uint64_t gap_bytes;
    uint64_t held_cap_per_flow;        /* times the per-direction cap forced a release */
    uint64_t held_cap_total;           /* times the global cap forced a release */
    uint64_t held_pieces_cap_per_flow; /* times the per-direction cap on held pieces forced a release */
    uint64_t held_pieces_cap_total;    /* times the global cap on held pieces forced a release */
    uint64_t out_of_window;            /* segments/ACKs more than CS_REASM_MAX_AHEAD ahead, or data after FIN: ignored */
    uint64_t alloc_failures;           /* held copies that could not be allocated (their bytes become a gap) */
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
    uint64_t syn_timed_out;    /* ended by --syn-timeout: SYNs never answered */
};

/* http.c (HTTP/1, all connections) */
struct cs_http_stats {
    uint64_t requests, responses, transactions;
    uint64_t unanswered;       /* requests without a response */
    uint64_t orphan_responses; /* responses with no request to pair with */
    uint64_t resyncs;          /* times the scanner searched for a new start line */
    uint64_t garbage_bytes;    /* bytes skipped while resynchronising */
    uint64_t gaps, gap_bytes;
    uint64_t header_cap_hits, header_lines_cap_hits, uri_cap_hits, pipeline_cap_hits;
    uint64_t upgrades; /* 101 / CONNECT 2xx: the connection stops being HTTP */
    uint64_t http09;
    /* added by http.c's owner (additive): */
    uint64_t bad_header_lines; /* header lines without a colon / fold without a header: skipped */
    uint64_t framing_errors;   /* bad or conflicting Content-Length, bad chunk line, 64-bit overflow */
    uint64_t held_bytes;       /* now: header buffers and waiting requests, all connections */
};

/* app_handover.c: connections that left HTTP/1 for another protocol of the
 * table (all connections; additive counters). */
struct cs_handover_stats {
    uint64_t connect_tunnels;  /* CONNECT answered 2xx: the tunnel's bytes went to the table */
    uint64_t tunnels_parsed;   /* ... of which a row (HTTP/1, h2, TLS) claimed */
    uint64_t tunnels_unparsed; /* ... of which no row claimed (or nothing was sent) */
    uint64_t tunnels_too_deep; /* CONNECT inside CS_MAX_CONNECT_DEPTH tunnels: not followed */
    uint64_t h2c_upgrades;     /* Upgrade: h2c answered 101: continued as h2 */
    uint64_t h2c_not_h2;       /* ... whose client then did not send the h2 preface */
    uint64_t held_bytes;       /* now: hand-over state of all connections (--max-memory) */
};

/* h2_conn.c (HTTP/2, all connections; additive counters) */
struct cs_h2_stats {
    uint64_t connections;          /* cs_h2_conn_new calls */
    uint64_t frames;               /* frame headers read, both directions */
    uint64_t streams;              /* client streams opened by a request HEADERS */
    uint64_t transactions;         /* streams reported */
    uint64_t answered;             /* of which with a final response */
    uint64_t resets;               /* RST_STREAM frames */
    uint64_t goaways;              /* GOAWAY frames */
    uint64_t goaway_refused;       /* streams ended by a GOAWAY's last-stream-id */
    uint64_t pushes;               /* PUSH_PROMISE frames (pushed streams: not reported) */
    uint64_t hpack_failures;       /* directions whose header decoding stopped (gap or
                                * HPACK error), at most 2 per connection */
    uint64_t hpack_errors;         /* of which the inflater refused a block */
    uint64_t lost_streams;         /* streams reported CS_H2_END_LOST */
    uint64_t undecoded_blocks;     /* header blocks seen after the direction's HPACK was lost */
    uint64_t gaps;                 /* gap events */
    uint64_t gaps_skipped;         /* of which inside DATA/padding: nothing lost */
    uint64_t protocol_errors;      /* RFC 9113 violations seen (framer and stream states) */
    uint64_t oversized_frames;     /* frames longer than SETTINGS_MAX_FRAME_SIZE */
    uint64_t closed_stream_frames; /* HEADERS/DATA/RST on a stream already over */
    uint64_t orphan_responses;     /* response HEADERS on a stream with no known request */
    uint64_t stream_cap_hits;      /* streams evicted by limits->max_streams */
    uint64_t field_cap_hits;       /* sections cut by max_header_bytes / max_header_lines */
    uint64_t bad_preface;          /* client streams that did not open with the preface */
    uint64_t held_bytes;           /* now: stream fields and inflater tables, all connections */
};

/* dpi.c (nDPI's per-flow state) */
struct cs_dpi_stats {
    uint64_t inspecting;     /* flows with detection state now */
    uint64_t max_inspecting; /* the most at once */
    uint64_t limit_hits;     /* flows not inspected: --max-dpi-flows were already */
    uint64_t memory;         /* bytes of detection state held now (all flows) */
    uint64_t max_memory;     /* the most at once */
};

/* app_tls.c (TLS decrypted with a key log; the key log's line counts are
 * main's, filled into the summary by it) */
#define CS_TLS_STATS_REASONS 12u
#define CS_TLS_STATS_SNIS 3u
#define CS_TLS_STATS_SNI_LEN 80u
struct cs_tls_stats {
    uint64_t connections; /* flows the TLS row took (a ClientHello, a key log given) */
    uint64_t decrypted;   /* keys found, records verified */
    uint64_t no_key;      /* the key log never had this connection's secrets */
    uint64_t incomplete;  /* ended before the ServerHello */
    uint64_t failed;      /* see failed_by[] */
    struct {
        const char *reason;
        uint64_t count;
    } failed_by[CS_TLS_STATS_REASONS];
    unsigned n_no_key_snis;
    char no_key_snis[CS_TLS_STATS_SNIS][CS_TLS_STATS_SNI_LEN];
    uint64_t h2_unparsed; /* ALPN h2, decrypted, and no h2 row in the table */
    unsigned n_h2_snis;
    char h2_snis[CS_TLS_STATS_SNIS][CS_TLS_STATS_SNI_LEN];
    uint64_t records_decrypted, auth_failures, held_dropped_records;
    uint64_t held_bytes; /* now: every open TLS connection's memory (--max-memory) */
    /* main's: the key log files and pcapng Decryption Secrets Blocks */
    uint64_t keylog_lines_read, keylog_lines_used, keylog_lines_ignored;
};

/* timeline.c */
struct cs_timeline_stats {
    uint64_t preflights_linked;   /* actual requests matched to their preflight */
    uint64_t cache_hits;          /* actual requests explained by a cached preflight */
    uint64_t unexplained_missing; /* non-simple requests with no preflight to explain them */
    uint64_t retries_folded;
    uint64_t pending_evicted, cache_evicted;
    /* preflights decided by what followed (issue 16 §1) */
    uint64_t preflights_held;      /* held until their actual request or the window */
    uint64_t held_followed;        /* decided: the actual request came */
    uint64_t held_not_followed;    /* decided: nothing came (window or end of capture) */
    uint64_t held_not_held;        /* left undecided: held-preflight table or budget full */
    uint64_t http_clients_reset;   /* times the full client table started again empty */
    uint64_t reconnects_folded;    /* failed connections folded into the one before */
    uint64_t cookie_hosts_refused; /* cookie hosts not remembered: table full (cookies.h) */
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
    uint64_t other_flows;            /* carried data but not HTTP */
    uint64_t empty_flows;            /* no payload either way (SYN only, refused, ...) */
    uint64_t connections_refused;    /* SYN answered by RST: a CORS request there fails
                                     * with CORSDidNotSucceed, but nothing says it was one */
    uint64_t connections_unanswered; /* SYN never answered before the flow ended */
    uint64_t connections_tls_failed; /* TLS handshake refused (alert) or cut (FIN/RST) by the
                                     * server before any request */
    unsigned n_protos;
    struct cs_proto_count protos[CS_PROTO_TABLE_CAPACITY]; /* the first --max-protocols */
    uint64_t protos_overflow;                              /* flows of protocols past the table */
};

/* The event sink (--sink): what reached the store and what did not. */
struct cs_sink_stats {
    uint64_t queued;      /* events accepted into the queue */
    uint64_t sent;        /* events the store acknowledged */
    uint64_t batches;     /* INSERTs acknowledged */
    uint64_t retries;     /* INSERTs tried again after a failure */
    uint64_t dropped;     /* events refused because the queue was full */
    uint64_t unsent;      /* events still queued when corscope gave up at exit */
    char last_error[160]; /* the last failure, "" if none */
};

#endif
