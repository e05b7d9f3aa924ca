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
#include "stats.h"

/* Tunnels (GRE, VXLAN, Geneve) inside tunnels followed before giving up on
 * a packet (counted as CS_DECODE_SKIP_NESTING).  Real deployments nest two
 * (a VXLAN overlay mirrored over ERSPAN); the bound keeps crafted packets
 * from recursing through the decoder.  The default; --max-tunnel-depth sets
 * it (limits.h). */
#define CS_DECODE_MAX_TUNNELS CS_DEFAULT_MAX_TUNNEL_DEPTH

/* struct cs_decode_stats and enum cs_decode_skip (this stage's counters
 * and the kinds of frames not decoded, with their names) are in stats.h. */


enum cs_decode_result {
    CS_DECODE_ERROR = -1,  /* malformed or truncated: counted */
    CS_DECODE_SKIP = 0,    /* not TCP, or a fragment held for later */
    CS_DECODE_SEGMENT = 1, /* *out holds a TCP segment */
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
