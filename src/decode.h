/* Decode stage: one captured frame -> at most one TCP segment.
 *
 * Link layers: Ethernet (with 802.1Q / QinQ / 802.1ad tags, MPLS, PPPoE
 * sessions), Linux SLL and SLL2, BSD NULL/LOOP, RAW IPv4/IPv6, PPP (plain and
 * in HDLC-like framing) and Cisco HDLC.  Tunnels: GRE (with transparent
 * Ethernet bridging and ERSPAN types I, II and III), VXLAN, VXLAN-GPE and
 * Geneve; the segment is the innermost one, at most CS_DECODE_MAX_TUNNELS
 * deep.  IPv4 with options and fragments, IPv6 with extension headers and
 * fragments (ipfrag.c holds the fragments).
 * Every field read is bounds-checked; a frame too short for what it claims is
 * counted, never read past its caplen.  Checksums are not verified (loopback
 * and offload captures carry partial checksums). */
#ifndef CS_DECODE_H
#define CS_DECODE_H

#include <stdint.h>
#include "limits.h"
#include "packet.h"

/* Tunnels (GRE, VXLAN, Geneve) inside tunnels followed before giving up on
 * a packet (counted as CS_DECODE_SKIP_NESTING).  Real deployments nest two
 * (a VXLAN overlay mirrored over ERSPAN); the bound keeps crafted packets
 * from recursing through the decoder. */
#define CS_DECODE_MAX_TUNNELS 4

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
    CS_DECODE_SKIP_UDP,             /* UDP not to a tunnel port */
    CS_DECODE_SKIP_ICMP,            /* ICMP, ICMPv6 */
    CS_DECODE_SKIP_ESP,             /* IPsec ESP: encrypted */
    CS_DECODE_SKIP_IP_OTHER,        /* any other IP protocol, IPv6 "no next header" */
    CS_DECODE_SKIP_FRAGMENT,        /* a fragment of a datagram that is not TCP */
    CS_DECODE_SKIP_TUNNEL,          /* a tunnel header this decoder cannot follow */
    CS_DECODE_SKIP_NESTING,         /* tunnels nested deeper than CS_DECODE_MAX_TUNNELS */
    CS_DECODE_SKIP_LINKTYPE,        /* a link type cs_decode_frame does not know */
    CS_DECODE_SKIP_KINDS
};

/* A short English name for the text summary ("PPPoE discovery"), and a
 * lower-case key for JSON ("pppoe_discovery"); never NULL. */
const char *cs_decode_skip_name(enum cs_decode_skip kind);
const char *cs_decode_skip_key(enum cs_decode_skip kind);

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
    uint64_t tunneled;         /* segments found inside at least one tunnel */
    uint64_t skipped[CS_DECODE_SKIP_KINDS]; /* frames not decoded, by kind: see above */
};

/* Frames not decoded although well formed: the sum of skipped[]. */
uint64_t cs_decode_skipped_total(const struct cs_decode_stats *st);

enum cs_decode_result {
    CS_DECODE_ERROR   = -1,  /* malformed or truncated: counted */
    CS_DECODE_SKIP    = 0,   /* not TCP, or a fragment held for later */
    CS_DECODE_SEGMENT = 1,   /* *out holds a TCP segment */
};

struct cs_decoder;

/* limits NULL: the defaults.  Uses max_ipfrag_bytes and ipfrag_timeout_s.
 * Returns NULL when out of memory; free with cs_decoder_free(). */
struct cs_decoder *cs_decoder_new(const struct cs_limits *limits);
void cs_decoder_free(struct cs_decoder *d);

/* Decodes one frame.  On CS_DECODE_SEGMENT, *out points into the frame or into
 * the decoder's reassembly buffer; valid until the next call. */
enum cs_decode_result cs_decode_frame(struct cs_decoder *d,
                                      const struct cs_frame *frame,
                                      struct cs_segment *out);

const struct cs_decode_stats *cs_decoder_stats(const struct cs_decoder *d);

/* Detailed counters of the IP fragment table (overlaps, conflicts, timeouts,
 * cap evictions, bytes held now); owned by the decoder. */
struct cs_ipfrag_stats;
const struct cs_ipfrag_stats *cs_decoder_ipfrag_stats(const struct cs_decoder *d);

/* True when cs_decode_frame understands this link type (DLT_* or LINKTYPE_*
 * value).  capture.c's cs_linktype_supported() answers from this list. */
int cs_decode_linktype_supported(int linktype);

#endif
