/* Decode stage: see decode.h.
 *
 * Layout: link layer (decode_frame's switch) -> ethertype chain (VLAN tags,
 * MPLS, PPPoE/PPP) -> IPv4 / IPv6 (extension headers, fragments via
 * ipfrag.c) -> TCP, or a tunnel (GRE, UDP to VXLAN / Geneve) whose payload
 * re-enters the chain at Ethernet, an ethertype or IP.  Tunnels recurse, so
 * d->tunnels counts them per frame against --max-tunnel-depth.
 * Every function receives a pointer and the number of bytes captured after it
 * and checks that number before each read; IP and TCP also receive the length
 * the headers claim ("wire"), so a frame cut by the snaplen can be told from
 * headers that contradict themselves. */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "ipfrag.h"

/* Link-layer values, spelled out so that decoding does not depend on the
 * platform's <pcap/dlt.h> (DLT_RAW is 14 on OpenBSD, LINKTYPE_RAW 101 in
 * files). */
#define LT_NULL 0
#define LT_EN10MB 1
#define LT_PPP 9
#define LT_PPP_SERIAL 50 /* PPP in HDLC-like framing, or Cisco HDLC */
#define LT_C_HDLC 104
#define LT_RAW_BSD 12
#define LT_RAW_OPENBSD 14
#define LT_RAW 101
#define LT_LOOP 108
#define LT_LINUX_SLL 113
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_LINUX_SLL2 276

#define ETH_HDR_LEN 14
#define SLL_HDR_LEN 16
#define SLL2_HDR_LEN 20
#define NULL_HDR_LEN 4
#define LLC_SNAP_LEN 8
#define VLAN_TAG_LEN 4
#define MPLS_LABEL_LEN 4
#define IPV4_MIN_HDR 20
#define IPV6_HDR_LEN 40
#define IPV6_FRAG_LEN 8
#define TCP_MIN_HDR 20
#define UDP_HDR_LEN 8
#define GRE_MIN_HDR 4
#define GRE_OPT_LEN 4 /* checksum+offset, key and sequence: 4 bytes each */
#define VXLAN_HDR_LEN 8
#define GENEVE_MIN_HDR 8
#define ERSPAN2_HDR_LEN 8
#define ERSPAN3_HDR_LEN 12
#define ERSPAN3_PLATFORM_LEN 8
#define PPPOE_HDR_LEN 6
#define HDLC_ADDR_CTRL_LEN 2 /* address and control bytes of (Cisco) HDLC */
#define CHDLC_HDR_LEN 4

#define GRE_FLAG_C 0x8000 /* checksum present (RFC 2784) */
#define GRE_FLAG_R 0x4000 /* RFC 1701 routing present */
#define GRE_FLAG_K 0x2000 /* key present (RFC 2890) */
#define GRE_FLAG_S 0x1000 /* sequence number present (RFC 2890) */
#define GRE_VERSION 0x0007

#define UDP_PORT_VXLAN 4789
#define UDP_PORT_VXLAN_GPE 4790
#define UDP_PORT_GENEVE 6081

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_MPLS 0x8847
#define ETHERTYPE_MPLS_MC 0x8848
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_RARP 0x8035 /* also Cisco SLARP keepalives on C-HDLC */
#define ETHERTYPE_PPPOE_DISC 0x8863
#define ETHERTYPE_PPPOE_SESS 0x8864
#define ETHERTYPE_TEB 0x6558     /* transparent Ethernet bridging (GRE, Geneve) */
#define ETHERTYPE_ERSPAN2 0x88be /* ERSPAN types I and II as a GRE protocol */
#define ETHERTYPE_ERSPAN3 0x22eb
#define ETHER_MAX_LEN_FIELD 1500 /* values up to this are 802.3 lengths */

#define IPPROTO_NUM_HOPOPTS 0
#define IPPROTO_NUM_ICMP 1
#define IPPROTO_NUM_UDP 17
#define IPPROTO_NUM_GRE 47
#define IPPROTO_NUM_ICMPV6 58
#define IPPROTO_NUM_TCP 6
#define IPPROTO_NUM_ROUTING 43
#define IPPROTO_NUM_FRAGMENT 44
#define IPPROTO_NUM_ESP 50
#define IPPROTO_NUM_AH 51
#define IPPROTO_NUM_NONE 59
#define IPPROTO_NUM_DSTOPTS 60

struct cs_decoder {
    struct cs_limits limits;
    struct cs_decode_stats st;
    uint64_t frag_local_drops; /* fragments dropped here (cut by the snaplen) */
    unsigned tunnels;          /* tunnels entered in the current frame */
    struct cs_ipfrag *frag;
    const struct cs_ipfrag_stats *frag_st; /* frag's counters (they live as long as it) */
};

static inline uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

struct cs_decoder *cs_decoder_new(const struct cs_limits *limits)
{
    struct cs_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (limits)
        d->limits = *limits;
    else
        cs_limits_default(&d->limits);
    d->frag = cs_ipfrag_new(d->limits.max_ipfrag_bytes, d->limits.ipfrag_timeout_s);
    if (!d->frag) {
        free(d);
        return NULL;
    }
    d->frag_st = cs_ipfrag_stats(d->frag);
    return d;
}

void cs_decoder_free(struct cs_decoder *d)
{
    if (!d)
        return;
    cs_ipfrag_free(d->frag);
    free(d);
}

const struct cs_decode_stats *cs_decoder_stats(const struct cs_decoder *d)
{
    return &d->st;
}

const struct cs_ipfrag_stats *cs_decoder_ipfrag_stats(const struct cs_decoder *d)
{
    return cs_ipfrag_stats(d->frag);
}

/* Copies the fragment table's counters into the decoder's stats. */
static void sync_frag_stats(struct cs_decoder *d)
{
    const struct cs_ipfrag_stats *fs = cs_ipfrag_stats(d->frag);
    d->st.reassembled = fs->completed;
    d->st.frag_dropped = fs->dropped_fragments + d->frag_local_drops;
}

static enum cs_decode_result truncated(struct cs_decoder *d)
{
    d->st.truncated++;
    return CS_DECODE_ERROR;
}

static enum cs_decode_result malformed(struct cs_decoder *d)
{
    d->st.malformed++;
    return CS_DECODE_ERROR;
}

/* Counts a frame that was not decoded under its kind and under the older
 * counter the kind belongs to (see decode.h). */
static enum cs_decode_result skip(struct cs_decoder *d, enum cs_decode_skip kind)
{
    d->st.skipped[kind]++;
    if (kind <= CS_DECODE_SKIP_LAST_NON_IP)
        d->st.non_ip++;
    else if (kind == CS_DECODE_SKIP_LINKTYPE)
        d->st.unknown_linktype++;
    else
        d->st.non_tcp++;
    return CS_DECODE_SKIP;
}

static enum cs_decode_skip ip_proto_kind(uint8_t proto)
{
    switch (proto) {
    case IPPROTO_NUM_UDP: return CS_DECODE_SKIP_UDP;
    case IPPROTO_NUM_ICMP:
    case IPPROTO_NUM_ICMPV6: return CS_DECODE_SKIP_ICMP;
    case IPPROTO_NUM_ESP: return CS_DECODE_SKIP_ESP;
    default: return CS_DECODE_SKIP_IP_OTHER;
    }
}

/* The decoders below call each other through tunnels. */
static enum cs_decode_result decode_ether(struct cs_decoder *d, const struct cs_frame *fr,
                                          const uint8_t *p, uint32_t len, struct cs_segment *out);
static enum cs_decode_result decode_ethertype(struct cs_decoder *d, const struct cs_frame *fr,
                                              uint16_t type, const uint8_t *p, uint32_t len,
                                              struct cs_segment *out);
static enum cs_decode_result decode_ip_guess(struct cs_decoder *d, const struct cs_frame *fr,
                                             const uint8_t *p, uint32_t len,
                                             struct cs_segment *out);
static enum cs_decode_result decode_ip_payload(struct cs_decoder *d, const struct cs_frame *fr,
                                               uint8_t proto, const uint8_t *p, uint32_t cap,
                                               uint32_t wire, struct cs_segment *out);

/* RFC 9293 section 3.1: the TCP header.  `cap` bytes are captured at p, the
 * IP layer says the segment is `wire` bytes long.  out->src/dst are already
 * set by the caller. */
static enum cs_decode_result decode_tcp(struct cs_decoder *d, const struct cs_frame *fr,
                                        const uint8_t *p, uint32_t cap, uint32_t wire,
                                        struct cs_segment *out)
{
    if (wire < TCP_MIN_HDR)
        return malformed(d);
    if (cap < TCP_MIN_HDR)
        return truncated(d);
    uint32_t hl = (uint32_t)(p[12] >> 4) * 4;
    if (hl < TCP_MIN_HDR || hl > wire)
        return malformed(d);
    if (hl > cap)
        return truncated(d);
    out->frame = fr->number;
    out->ts = fr->ts;
    out->sport = be16(p);
    out->dport = be16(p + 2);
    out->seq = be32(p + 4);
    out->ack = be32(p + 8);
    out->flags = p[13] & 0x3f;
    out->window = be16(p + 14);
    out->payload = p + hl;
    out->payload_len = cap - hl;
    out->wire_payload_len = wire - hl;
    if (cap < wire)
        d->st.truncated++;
    d->st.tcp++;
    return CS_DECODE_SEGMENT;
}

static void set_addr(struct cs_addr *a, int family, const uint8_t *bytes)
{
    memset(a, 0, sizeof *a);
    a->family = (uint8_t)family;
    memcpy(a->bytes, bytes, family == 4 ? 4 : 16);
}

/* Hands one fragment to ipfrag.c.  Returns SEGMENT-less results for held or
 * dropped fragments; on completion sets *buf / *len to the rebuilt payload and
 * returns CS_DECODE_SEGMENT as "go on". */
static enum cs_decode_result add_fragment(struct cs_decoder *d, const struct cs_frame *fr,
                                          const struct cs_segment *addrs, uint32_t id,
                                          uint8_t proto, uint32_t off, int more,
                                          const uint8_t *data, uint32_t cap, uint32_t wire,
                                          const uint8_t **buf, uint32_t *len)
{
    d->st.fragments++;
    if (cap < wire) { /* a fragment cut by the snaplen cannot be rebuilt */
        d->frag_local_drops++;
        sync_frag_stats(d);
        return truncated(d);
    }
    struct cs_ipfrag_key key;
    memset(&key, 0, sizeof key);
    key.src = addrs->src;
    key.dst = addrs->dst;
    key.id = id;
    key.proto = proto;
    enum cs_ipfrag_result r = cs_ipfrag_add(d->frag, &key, fr->ts, off, more, data, wire, buf, len);
    sync_frag_stats(d);
    return r == CS_IPFRAG_COMPLETE ? CS_DECODE_SEGMENT : CS_DECODE_SKIP;
}

/* RFC 791 section 3.1: the IPv4 header, options skipped. */
static enum cs_decode_result decode_ipv4(struct cs_decoder *d, const struct cs_frame *fr,
                                         const uint8_t *p, uint32_t len, struct cs_segment *out)
{
    if (len < IPV4_MIN_HDR)
        return truncated(d);
    if (p[0] >> 4 != 4)
        return malformed(d);
    uint32_t hl = (uint32_t)(p[0] & 0x0f) * 4;
    uint32_t tot = be16(p + 2);
    if (tot == 0) /* TCP segmentation offload: the NIC fills it in later */
        tot = len;
    if (hl < IPV4_MIN_HDR || tot < hl)
        return malformed(d);
    if (len < hl)
        return truncated(d);
    uint32_t cap = len < tot ? len : tot; /* Ethernet padding beyond tot ignored */
    uint8_t proto = p[9];
    uint16_t fo = be16(p + 6);
    int more = (fo & 0x2000) != 0;
    uint32_t off = (uint32_t)(fo & 0x1fff) * 8;
    set_addr(&out->src, 4, p + 12);
    set_addr(&out->dst, 4, p + 16);
    out->l3 = p; /* nDPI reads whole IP packets */
    out->l3_len = cap;

    if (more || off) {
        if (proto != IPPROTO_NUM_TCP) {
            d->st.fragments++;
            return skip(d, CS_DECODE_SKIP_FRAGMENT);
        }
        const uint8_t *buf;
        uint32_t n;
        enum cs_decode_result r = add_fragment(d, fr, out, be16(p + 4), proto, off, more,
                                               p + hl, cap - hl, tot - hl, &buf, &n);
        if (r != CS_DECODE_SEGMENT)
            return r;
        out->l3 = NULL; /* a rebuilt datagram has no contiguous IP packet */
        out->l3_len = 0;
        return decode_tcp(d, fr, buf, n, n, out);
    }
    if (proto != IPPROTO_NUM_TCP)
        return decode_ip_payload(d, fr, proto, p + hl, cap - hl, tot - hl, out);
    return decode_tcp(d, fr, p + hl, cap - hl, tot - hl, out);
}

/* RFC 8200 sections 3 and 4: the IPv6 header and its extension header chain
 * (hop-by-hop, routing, destination options, AH per RFC 4302, fragment).
 * ESP and "no next header" end the chain: nothing readable follows. */
static enum cs_decode_result decode_ipv6(struct cs_decoder *d, const struct cs_frame *fr,
                                         const uint8_t *p, uint32_t len, struct cs_segment *out)
{
    if (len < IPV6_HDR_LEN)
        return truncated(d);
    if (p[0] >> 4 != 6)
        return malformed(d);
    uint32_t avail = len - IPV6_HDR_LEN;
    uint32_t wire = be16(p + 4);
    if (wire == 0) /* jumbogram or segmentation offload: trust the capture */
        wire = avail;
    uint32_t cap = avail < wire ? avail : wire;
    uint8_t nh = p[6];
    set_addr(&out->src, 6, p + 8);
    set_addr(&out->dst, 6, p + 24);
    out->l3 = p;
    out->l3_len = IPV6_HDR_LEN + cap;

    const uint8_t *q = p + IPV6_HDR_LEN;
    int rebuilt = 0;
    for (;;) {
        uint32_t hl;
        switch (nh) {
        case IPPROTO_NUM_TCP:
            return decode_tcp(d, fr, q, cap, wire, out);
        case IPPROTO_NUM_HOPOPTS:
        case IPPROTO_NUM_ROUTING:
        case IPPROTO_NUM_DSTOPTS:
        case IPPROTO_NUM_AH:
            if (wire < 2)
                return malformed(d);
            if (cap < 2)
                return truncated(d);
            hl = nh == IPPROTO_NUM_AH ? ((uint32_t)q[1] + 2) * 4 : ((uint32_t)q[1] + 1) * 8;
            break;
        case IPPROTO_NUM_FRAGMENT:
            hl = IPV6_FRAG_LEN;
            break;
        default: /* UDP, GRE, ICMPv6, ESP, no next header, ... */
            return decode_ip_payload(d, fr, nh, q, cap, wire, out);
        }
        if (hl > wire)
            return malformed(d);
        if (hl > cap)
            return truncated(d);
        uint8_t next = q[0];
        if (nh == IPPROTO_NUM_FRAGMENT) {
            uint16_t fo = be16(q + 2);
            uint32_t off = fo & 0xfff8;
            int more = fo & 1;
            if (off || more) {
                if (rebuilt) /* a fragment inside a rebuilt datagram */
                    return malformed(d);
                if (next != IPPROTO_NUM_TCP && next != IPPROTO_NUM_ROUTING &&
                    next != IPPROTO_NUM_DSTOPTS && next != IPPROTO_NUM_AH) {
                    d->st.fragments++;
                    return skip(d, CS_DECODE_SKIP_FRAGMENT);
                }
                const uint8_t *buf;
                uint32_t n;
                enum cs_decode_result r = add_fragment(d, fr, out, be32(q + 4), next, off, more,
                                                       q + hl, cap - hl, wire - hl, &buf, &n);
                if (r != CS_DECODE_SEGMENT)
                    return r;
                q = buf;
                cap = wire = n;
                out->l3 = NULL;
                out->l3_len = 0;
                nh = next;
                rebuilt = 1;
                continue;
            }
            /* RFC 6946: an atomic fragment is an ordinary packet. */
        }
        q += hl;
        cap -= hl;
        wire -= hl;
        nh = next;
    }
}

/* Guesses IPv4 or IPv6 from the version nibble (raw IP, MPLS payloads). */
static enum cs_decode_result decode_ip_guess(struct cs_decoder *d, const struct cs_frame *fr,
                                             const uint8_t *p, uint32_t len, struct cs_segment *out)
{
    if (len < 1)
        return truncated(d);
    switch (p[0] >> 4) {
    case 4: return decode_ipv4(d, fr, p, len, out);
    case 6: return decode_ipv6(d, fr, p, len, out);
    default: return skip(d, CS_DECODE_SKIP_NOT_IP);
    }
}

/* ---- tunnels ------------------------------------------------------------
 * Each tunnel below reads its header from `cap` captured bytes of a payload
 * the outer layer says is `wire` bytes long, then hands what it carries back
 * to decode_ether / decode_ethertype / decode_ip_guess.  enter_tunnel()
 * bounds the recursion. */

static int enter_tunnel(struct cs_decoder *d)
{
    return ++d->tunnels <= d->limits.max_tunnel_depth;
}

/* A header of hl bytes: malformed when the outer layer leaves no room for
 * it, truncated when the snaplen cut it.  Returns 0 when it fits. */
static int header_fits(struct cs_decoder *d, uint32_t hl, uint32_t cap, uint32_t wire,
                       enum cs_decode_result *r)
{
    if (hl > wire) {
        *r = malformed(d);
        return 0;
    }
    if (hl > cap) {
        *r = truncated(d);
        return 0;
    }
    return 1;
}

/* draft-foschiano-erspan-03 (there is no RFC): type I has no header of its
 * own (GRE without a sequence number, section 4.1), type II an 8-byte header
 * with version 1 (section 4.2), type III a 12-byte one with version 2 and an
 * optional 8-byte platform-specific subheader (section 4.3, the O bit), whose
 * frame type says Ethernet (0) or IP (2). */
static enum cs_decode_result decode_erspan(struct cs_decoder *d, const struct cs_frame *fr,
                                           uint16_t gre_proto, int gre_seq, const uint8_t *p,
                                           uint32_t cap, uint32_t wire, struct cs_segment *out)
{
    enum cs_decode_result r;
    if (gre_proto == ETHERTYPE_ERSPAN2) {
        if (!gre_seq) /* type I */
            return decode_ether(d, fr, p, cap, out);
        if (!header_fits(d, ERSPAN2_HDR_LEN, cap, wire, &r))
            return r;
        if (p[0] >> 4 != 1)
            return skip(d, CS_DECODE_SKIP_TUNNEL);
        return decode_ether(d, fr, p + ERSPAN2_HDR_LEN, cap - ERSPAN2_HDR_LEN, out);
    }
    if (!header_fits(d, ERSPAN3_HDR_LEN, cap, wire, &r))
        return r;
    if (p[0] >> 4 != 2)
        return skip(d, CS_DECODE_SKIP_TUNNEL);
    uint32_t hl = ERSPAN3_HDR_LEN + ((p[11] & 1) ? ERSPAN3_PLATFORM_LEN : 0);
    if (!header_fits(d, hl, cap, wire, &r))
        return r;
    unsigned frame_type = (p[10] >> 2) & 0x1f;
    if (frame_type == 0)
        return decode_ether(d, fr, p + hl, cap - hl, out);
    if (frame_type == 2)
        return decode_ip_guess(d, fr, p + hl, cap - hl, out);
    return skip(d, CS_DECODE_SKIP_TUNNEL);
}

/* RFC 2784 section 2 (the GRE header, checksum and its reserved word when C
 * is set) and RFC 2890 section 2 (key and sequence number, in that order,
 * after the checksum).  RFC 2784 section 2.3 discards RFC 1701 routing (R)
 * and versions other than 0 (version 1 is PPTP's, RFC 2637): unknown tunnels
 * here.  The protocol type is an ethertype; 0x6558 is transparent Ethernet
 * bridging, 0x88BE / 0x22EB ERSPAN.  Checksums are not verified. */
static enum cs_decode_result decode_gre(struct cs_decoder *d, const struct cs_frame *fr,
                                        const uint8_t *p, uint32_t cap, uint32_t wire,
                                        struct cs_segment *out)
{
    if (!enter_tunnel(d))
        return skip(d, CS_DECODE_SKIP_NESTING);
    enum cs_decode_result r;
    if (!header_fits(d, GRE_MIN_HDR, cap, wire, &r))
        return r;
    uint16_t flags = be16(p), proto = be16(p + 2);
    if ((flags & GRE_VERSION) != 0 || (flags & GRE_FLAG_R))
        return skip(d, CS_DECODE_SKIP_TUNNEL);
    uint32_t hl = GRE_MIN_HDR;
    if (flags & GRE_FLAG_C)
        hl += GRE_OPT_LEN;
    if (flags & GRE_FLAG_K)
        hl += GRE_OPT_LEN;
    if (flags & GRE_FLAG_S)
        hl += GRE_OPT_LEN;
    if (!header_fits(d, hl, cap, wire, &r))
        return r;
    p += hl;
    cap -= hl;
    wire -= hl;
    switch (proto) {
    case ETHERTYPE_TEB:
        return decode_ether(d, fr, p, cap, out);
    case ETHERTYPE_ERSPAN2:
    case ETHERTYPE_ERSPAN3:
        return decode_erspan(d, fr, proto, (flags & GRE_FLAG_S) != 0, p, cap, wire, out);
    default:
        return decode_ethertype(d, fr, proto, p, cap, out);
    }
}

/* RFC 7348 section 5: VXLAN's 8-byte header, the I flag set for a valid VNI,
 * then an Ethernet frame. */
static enum cs_decode_result decode_vxlan(struct cs_decoder *d, const struct cs_frame *fr,
                                          const uint8_t *p, uint32_t cap, uint32_t wire,
                                          struct cs_segment *out)
{
    enum cs_decode_result r;
    if (!header_fits(d, VXLAN_HDR_LEN, cap, wire, &r))
        return r;
    if (!(p[0] & 0x08))
        return skip(d, CS_DECODE_SKIP_TUNNEL);
    return decode_ether(d, fr, p + VXLAN_HDR_LEN, cap - VXLAN_HDR_LEN, out);
}

/* draft-ietf-nvo3-vxlan-gpe-12 section 3.1: VXLAN with a version (0) and,
 * when the P flag is set, a next protocol byte: 1 IPv4, 2 IPv6, 3 Ethernet
 * (NSH, MPLS and others are not followed).  Without P the payload is
 * Ethernet, as in VXLAN. */
static enum cs_decode_result decode_vxlan_gpe(struct cs_decoder *d, const struct cs_frame *fr,
                                              const uint8_t *p, uint32_t cap, uint32_t wire,
                                              struct cs_segment *out)
{
    enum cs_decode_result r;
    if (!header_fits(d, VXLAN_HDR_LEN, cap, wire, &r))
        return r;
    uint8_t flags = p[0], next = p[3];
    if ((flags & 0x30) != 0)
        return skip(d, CS_DECODE_SKIP_TUNNEL);
    p += VXLAN_HDR_LEN;
    cap -= VXLAN_HDR_LEN;
    if (!(flags & 0x04))
        return decode_ether(d, fr, p, cap, out);
    switch (next) {
    case 1: return decode_ipv4(d, fr, p, cap, out);
    case 2: return decode_ipv6(d, fr, p, cap, out);
    case 3: return decode_ether(d, fr, p, cap, out);
    default: return skip(d, CS_DECODE_SKIP_TUNNEL);
    }
}

/* RFC 8926 section 3.4: Geneve's 8-byte header, version 0 (others MUST be
 * dropped), options of 4 * Opt Len bytes skipped whole (section 3.5 says a
 * transit device need not parse them), a protocol type that is an ethertype
 * (0x6558 for Ethernet). */
static enum cs_decode_result decode_geneve(struct cs_decoder *d, const struct cs_frame *fr,
                                           const uint8_t *p, uint32_t cap, uint32_t wire,
                                           struct cs_segment *out)
{
    enum cs_decode_result r;
    if (!header_fits(d, GENEVE_MIN_HDR, cap, wire, &r))
        return r;
    if (p[0] >> 6 != 0)
        return skip(d, CS_DECODE_SKIP_TUNNEL);
    uint32_t hl = GENEVE_MIN_HDR + (uint32_t)(p[0] & 0x3f) * 4;
    uint16_t proto = be16(p + 2);
    if (!header_fits(d, hl, cap, wire, &r))
        return r;
    if (proto == ETHERTYPE_TEB)
        return decode_ether(d, fr, p + hl, cap - hl, out);
    return decode_ethertype(d, fr, proto, p + hl, cap - hl, out);
}

/* RFC 768: UDP to the IANA ports of VXLAN (RFC 7348 section 5), VXLAN-GPE
 * and Geneve (RFC 8926 section 3.3) is followed; any other UDP is skipped
 * without reading it, as before tunnels were decoded. */
static enum cs_decode_result decode_udp(struct cs_decoder *d, const struct cs_frame *fr,
                                        const uint8_t *p, uint32_t cap, uint32_t wire,
                                        struct cs_segment *out)
{
    if (cap < UDP_HDR_LEN || wire < UDP_HDR_LEN)
        return skip(d, CS_DECODE_SKIP_UDP);
    uint16_t dport = be16(p + 2);
    if (dport != UDP_PORT_VXLAN && dport != UDP_PORT_VXLAN_GPE && dport != UDP_PORT_GENEVE)
        return skip(d, CS_DECODE_SKIP_UDP);
    if (!enter_tunnel(d))
        return skip(d, CS_DECODE_SKIP_NESTING);
    uint32_t ulen = be16(p + 4);
    if (ulen < UDP_HDR_LEN || ulen > wire)
        return malformed(d);
    if (cap > ulen)
        cap = ulen;
    p += UDP_HDR_LEN;
    cap -= UDP_HDR_LEN;
    wire = ulen - UDP_HDR_LEN;
    switch (dport) {
    case UDP_PORT_VXLAN: return decode_vxlan(d, fr, p, cap, wire, out);
    case UDP_PORT_VXLAN_GPE: return decode_vxlan_gpe(d, fr, p, cap, wire, out);
    default: return decode_geneve(d, fr, p, cap, wire, out);
    }
}

/* What an IP header carries when it is not TCP: a tunnel, or a skip. */
static enum cs_decode_result decode_ip_payload(struct cs_decoder *d, const struct cs_frame *fr,
                                               uint8_t proto, const uint8_t *p, uint32_t cap,
                                               uint32_t wire, struct cs_segment *out)
{
    switch (proto) {
    case IPPROTO_NUM_GRE: return decode_gre(d, fr, p, cap, wire, out);
    case IPPROTO_NUM_UDP: return decode_udp(d, fr, p, cap, wire, out);
    default: return skip(d, ip_proto_kind(proto));
    }
}

/* ---- PPP ---------------------------------------------------------------- */

/* RFC 1661 section 2: the PPP protocol field, one byte when compressed
 * (an odd first byte, section 6.5), then IPv4 (0x0021) or IPv6 (0x0057,
 * RFC 5072); everything else (LCP, IPCP, compressed TCP/IP, ...) is skipped. */
static enum cs_decode_result decode_ppp(struct cs_decoder *d, const struct cs_frame *fr,
                                        const uint8_t *p, uint32_t len, struct cs_segment *out)
{
    if (len < 1)
        return truncated(d);
    uint16_t proto;
    uint32_t n;
    if (p[0] & 1) {
        proto = p[0];
        n = 1;
    } else {
        if (len < 2)
            return truncated(d);
        proto = be16(p);
        n = 2;
    }
    switch (proto) {
    case PPP_IPV4: return decode_ipv4(d, fr, p + n, len - n, out);
    case PPP_IPV6: return decode_ipv6(d, fr, p + n, len - n, out);
    default: return skip(d, CS_DECODE_SKIP_PPP_NON_IP);
    }
}

/* RFC 1662 section 3.1: HDLC-like framing puts address 0xff and control 0x03
 * before the protocol; LINKTYPE_PPP frames may carry them or not (address
 * and control field compression, RFC 1661 section 6.6). */
static enum cs_decode_result decode_ppp_link(struct cs_decoder *d, const struct cs_frame *fr,
                                             const uint8_t *p, uint32_t len,
                                             struct cs_segment *out)
{
    if (len >= HDLC_ADDR_CTRL_LEN && p[0] == 0xff && p[1] == 0x03) {
        p += HDLC_ADDR_CTRL_LEN;
        len -= HDLC_ADDR_CTRL_LEN;
    }
    return decode_ppp(d, fr, p, len, out);
}

/* Cisco HDLC (RFC 1547 section 4.3.1): address (0x0f unicast, 0x8f
 * broadcast), control 0x00, then an ethertype; SLARP keepalives use the
 * RARP one. */
static enum cs_decode_result decode_chdlc(struct cs_decoder *d, const struct cs_frame *fr,
                                          const uint8_t *p, uint32_t len, struct cs_segment *out)
{
    if (len < CHDLC_HDR_LEN)
        return truncated(d);
    return decode_ethertype(d, fr, be16(p + 2), p + CHDLC_HDR_LEN, len - CHDLC_HDR_LEN, out);
}

/* RFC 2516 section 4 (and the packet format in section 4's figure): a PPPoE
 * session header, version 1 and type 1, code 0, whose length covers the
 * PPP protocol field and payload (Ethernet padding after it is ignored).
 * Discovery (ethertype 0x8863, section 5) carries no IP. */
static enum cs_decode_result decode_pppoe_session(struct cs_decoder *d, const struct cs_frame *fr,
                                                  const uint8_t *p, uint32_t len,
                                                  struct cs_segment *out)
{
    if (len < PPPOE_HDR_LEN)
        return truncated(d);
    if (p[0] != 0x11)
        return skip(d, CS_DECODE_SKIP_TUNNEL);
    if (p[1] != 0)
        return malformed(d);
    uint32_t plen = be16(p + 4);
    p += PPPOE_HDR_LEN;
    len -= PPPOE_HDR_LEN;
    if (len > plen)
        len = plen;
    return decode_ppp(d, fr, p, len, out);
}

/* ---- link layers -------------------------------------------------------- */

/* Follows an ethertype through 802.1Q / 802.1ad / QinQ tags (IEEE 802.1Q
 * section 9) and an MPLS label stack (RFC 3032) down to IPv4, IPv6 or a PPPoE
 * session.  Each tag or label consumes 4 bytes, so the frame length bounds
 * the loop. */
static enum cs_decode_result decode_ethertype(struct cs_decoder *d, const struct cs_frame *fr,
                                              uint16_t type, const uint8_t *p, uint32_t len,
                                              struct cs_segment *out)
{
    for (;;) {
        switch (type) {
        case ETHERTYPE_VLAN:
        case ETHERTYPE_QINQ:
        case ETHERTYPE_QINQ_OLD:
            if (len < VLAN_TAG_LEN)
                return truncated(d);
            type = be16(p + 2);
            p += VLAN_TAG_LEN;
            len -= VLAN_TAG_LEN;
            break;
        case ETHERTYPE_MPLS:
        case ETHERTYPE_MPLS_MC:
            for (;;) {
                if (len < MPLS_LABEL_LEN)
                    return truncated(d);
                int bottom = p[2] & 1;
                p += MPLS_LABEL_LEN;
                len -= MPLS_LABEL_LEN;
                if (bottom)
                    return decode_ip_guess(d, fr, p, len, out);
            }
        case ETHERTYPE_IPV4:
            return decode_ipv4(d, fr, p, len, out);
        case ETHERTYPE_IPV6:
            return decode_ipv6(d, fr, p, len, out);
        case ETHERTYPE_PPPOE_SESS:
            return decode_pppoe_session(d, fr, p, len, out);
        case ETHERTYPE_PPPOE_DISC:
            return skip(d, CS_DECODE_SKIP_PPPOE_DISCOVERY);
        case ETHERTYPE_ARP:
        case ETHERTYPE_RARP:
            return skip(d, CS_DECODE_SKIP_ARP);
        default:
            return skip(d, CS_DECODE_SKIP_ETHERTYPE);
        }
    }
}

/* IEEE 802.3 Ethernet II, or an 802.3 length field followed by LLC/SNAP. */
static enum cs_decode_result decode_ether(struct cs_decoder *d, const struct cs_frame *fr,
                                          const uint8_t *p, uint32_t len, struct cs_segment *out)
{
    if (len < ETH_HDR_LEN)
        return truncated(d);
    uint16_t type = be16(p + 12);
    p += ETH_HDR_LEN;
    len -= ETH_HDR_LEN;
    if (type <= ETHER_MAX_LEN_FIELD) { /* IEEE 802.3 length: LLC, maybe SNAP */
        if (len < LLC_SNAP_LEN)
            return truncated(d);
        if (p[0] != 0xaa || p[1] != 0xaa || p[2] != 0x03 || p[3] || p[4] || p[5])
            return skip(d, CS_DECODE_SKIP_LLC); /* plain LLC: STP, ... */
        type = be16(p + 6);
        p += LLC_SNAP_LEN;
        len -= LLC_SNAP_LEN;
    }
    return decode_ethertype(d, fr, type, p, len, out);
}

/* BSD loopback: a 4-byte address family.  AF_INET6 differs per BSD. */
static enum cs_decode_result decode_family(struct cs_decoder *d, const struct cs_frame *fr,
                                           uint32_t fam, const uint8_t *p, uint32_t len,
                                           struct cs_segment *out)
{
    switch (fam) {
    case 2:
        return decode_ipv4(d, fr, p, len, out);
    case 24:
    case 28:
    case 30:
        return decode_ipv6(d, fr, p, len, out);
    default:
        return skip(d, CS_DECODE_SKIP_LOOP_FAMILY);
    }
}

static int family_known(uint32_t fam)
{
    return fam == 2 || fam == 24 || fam == 28 || fam == 30;
}

static enum cs_decode_result decode_link(struct cs_decoder *d, const struct cs_frame *fr,
                                         struct cs_segment *out)
{
    const uint8_t *p = fr->data;
    uint32_t len = fr->caplen;

    switch (fr->linktype) {
    case LT_EN10MB:
        return decode_ether(d, fr, p, len, out);
    case LT_LINUX_SLL:
        if (len < SLL_HDR_LEN)
            return truncated(d);
        return decode_ethertype(d, fr, be16(p + 14), p + SLL_HDR_LEN, len - SLL_HDR_LEN, out);
    case LT_LINUX_SLL2:
        if (len < SLL2_HDR_LEN)
            return truncated(d);
        return decode_ethertype(d, fr, be16(p), p + SLL2_HDR_LEN, len - SLL2_HDR_LEN, out);
    case LT_NULL: {
        if (len < NULL_HDR_LEN)
            return truncated(d);
        /* Host byte order of the capturing machine: try both. */
        uint32_t fam = le32(p);
        if (!family_known(fam))
            fam = be32(p);
        return decode_family(d, fr, fam, p + NULL_HDR_LEN, len - NULL_HDR_LEN, out);
    }
    case LT_LOOP:
        if (len < NULL_HDR_LEN)
            return truncated(d);
        return decode_family(d, fr, be32(p), p + NULL_HDR_LEN, len - NULL_HDR_LEN, out);
    case LT_RAW:
    case LT_RAW_BSD:
    case LT_RAW_OPENBSD:
        return decode_ip_guess(d, fr, p, len, out);
    case LT_IPV4:
        return decode_ipv4(d, fr, p, len, out);
    case LT_IPV6:
        return decode_ipv6(d, fr, p, len, out);
    case LT_PPP:
        return decode_ppp_link(d, fr, p, len, out);
    case LT_PPP_SERIAL:
        /* LINKTYPE_PPP_HDLC: 0xff starts PPP in HDLC-like framing, 0x0f or
         * 0x8f Cisco HDLC (RFC 1547 section 4.3.1). */
        if (len >= 1 && (p[0] == 0x0f || p[0] == 0x8f))
            return decode_chdlc(d, fr, p, len, out);
        return decode_ppp_link(d, fr, p, len, out);
    case LT_C_HDLC:
        return decode_chdlc(d, fr, p, len, out);
    default:
        return skip(d, CS_DECODE_SKIP_LINKTYPE);
    }
}

enum cs_decode_result cs_decode_frame(struct cs_decoder *d, const struct cs_frame *fr,
                                      struct cs_segment *out)
{
    d->st.frames++;
    d->st.bytes += fr->caplen;
    d->tunnels = 0;
    if (d->frag_st->held_datagrams) { /* else nothing can expire, no counter moves */
        cs_ipfrag_expire(d->frag, fr->ts);
        sync_frag_stats(d);
    }
    memset(out, 0, sizeof *out);
    enum cs_decode_result r = decode_link(d, fr, out);
    if (r == CS_DECODE_SEGMENT && d->tunnels)
        d->st.tunneled++;
    return r;
}

int cs_decode_linktype_supported(int linktype)
{
    switch (linktype) {
    case LT_NULL:
    case LT_EN10MB:
    case LT_RAW_BSD:
    case LT_RAW_OPENBSD:
    case LT_RAW:
    case LT_LOOP:
    case LT_LINUX_SLL:
    case LT_IPV4:
    case LT_IPV6:
    case LT_LINUX_SLL2:
    case LT_PPP:
    case LT_PPP_SERIAL:
    case LT_C_HDLC:
        return 1;
    default:
        return 0;
    }
}
