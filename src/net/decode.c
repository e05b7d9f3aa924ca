/* Decode stage: see decode.h.
 *
 * Layout: link layer (decode_frame's switch) -> ethertype chain (VLAN tags,
 * MPLS) -> IPv4 / IPv6 (extension headers, fragments via ipfrag.c) -> TCP.
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
#define LT_NULL       0
#define LT_EN10MB     1
#define LT_RAW_BSD    12
#define LT_RAW_OPENBSD 14
#define LT_RAW        101
#define LT_LOOP       108
#define LT_LINUX_SLL  113
#define LT_IPV4       228
#define LT_IPV6       229
#define LT_LINUX_SLL2 276

#define ETH_HDR_LEN   14
#define SLL_HDR_LEN   16
#define SLL2_HDR_LEN  20
#define NULL_HDR_LEN  4
#define LLC_SNAP_LEN  8
#define VLAN_TAG_LEN  4
#define MPLS_LABEL_LEN 4
#define IPV4_MIN_HDR  20
#define IPV6_HDR_LEN  40
#define IPV6_FRAG_LEN 8
#define TCP_MIN_HDR   20

#define ETHERTYPE_IPV4  0x0800
#define ETHERTYPE_IPV6  0x86dd
#define ETHERTYPE_VLAN  0x8100
#define ETHERTYPE_QINQ  0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_MPLS  0x8847
#define ETHERTYPE_MPLS_MC 0x8848
#define ETHER_MAX_LEN_FIELD 1500   /* values up to this are 802.3 lengths */

#define IPPROTO_NUM_HOPOPTS  0
#define IPPROTO_NUM_TCP      6
#define IPPROTO_NUM_ROUTING  43
#define IPPROTO_NUM_FRAGMENT 44
#define IPPROTO_NUM_ESP      50
#define IPPROTO_NUM_AH       51
#define IPPROTO_NUM_NONE     59
#define IPPROTO_NUM_DSTOPTS  60

struct cs_decoder {
    struct cs_limits limits;
    struct cs_decode_stats st;
    uint64_t frag_local_drops;     /* fragments dropped here (cut by the snaplen) */
    struct cs_ipfrag *frag;
};

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
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

static enum cs_decode_result non_tcp(struct cs_decoder *d)
{
    d->st.non_tcp++;
    return CS_DECODE_SKIP;
}

static enum cs_decode_result non_ip(struct cs_decoder *d)
{
    d->st.non_ip++;
    return CS_DECODE_SKIP;
}

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
    if (cap < wire) {   /* a fragment cut by the snaplen cannot be rebuilt */
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
    if (tot == 0)   /* TCP segmentation offload: the NIC fills it in later */
        tot = len;
    if (hl < IPV4_MIN_HDR || tot < hl)
        return malformed(d);
    if (len < hl)
        return truncated(d);
    uint32_t cap = len < tot ? len : tot;     /* Ethernet padding beyond tot ignored */
    uint8_t proto = p[9];
    uint16_t fo = be16(p + 6);
    int more = (fo & 0x2000) != 0;
    uint32_t off = (uint32_t)(fo & 0x1fff) * 8;
    set_addr(&out->src, 4, p + 12);
    set_addr(&out->dst, 4, p + 16);
    out->l3 = p;              /* nDPI reads whole IP packets */
    out->l3_len = cap;

    if (more || off) {
        if (proto != IPPROTO_NUM_TCP) {
            d->st.fragments++;
            return non_tcp(d);
        }
        const uint8_t *buf;
        uint32_t n;
        enum cs_decode_result r = add_fragment(d, fr, out, be16(p + 4), proto, off, more,
                                               p + hl, cap - hl, tot - hl, &buf, &n);
        if (r != CS_DECODE_SEGMENT)
            return r;
        out->l3 = NULL;           /* a rebuilt datagram has no contiguous IP packet */
        out->l3_len = 0;
        return decode_tcp(d, fr, buf, n, n, out);
    }
    if (proto != IPPROTO_NUM_TCP)
        return non_tcp(d);
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
    if (wire == 0)   /* jumbogram or segmentation offload: trust the capture */
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
        default:    /* UDP, ICMPv6, ESP, no next header, ... */
            return non_tcp(d);
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
                if (rebuilt)     /* a fragment inside a rebuilt datagram */
                    return malformed(d);
                if (next != IPPROTO_NUM_TCP && next != IPPROTO_NUM_ROUTING &&
                    next != IPPROTO_NUM_DSTOPTS && next != IPPROTO_NUM_AH) {
                    d->st.fragments++;
                    return non_tcp(d);
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
    default: return non_ip(d);
    }
}

/* Follows an ethertype through 802.1Q / 802.1ad / QinQ tags (IEEE 802.1Q
 * section 9) and an MPLS label stack (RFC 3032) down to IPv4 or IPv6.  Each
 * tag or label consumes 4 bytes, so the frame length bounds the loop. */
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
        default:
            return non_ip(d);
        }
    }
}

/* BSD loopback: a 4-byte address family.  AF_INET6 differs per BSD. */
static enum cs_decode_result decode_family(struct cs_decoder *d, const struct cs_frame *fr,
                                           uint32_t fam, const uint8_t *p, uint32_t len,
                                           struct cs_segment *out)
{
    switch (fam) {
    case 2:
        return decode_ipv4(d, fr, p, len, out);
    case 24: case 28: case 30:
        return decode_ipv6(d, fr, p, len, out);
    default:
        return non_ip(d);
    }
}

static int family_known(uint32_t fam)
{
    return fam == 2 || fam == 24 || fam == 28 || fam == 30;
}

enum cs_decode_result cs_decode_frame(struct cs_decoder *d, const struct cs_frame *fr,
                                      struct cs_segment *out)
{
    const uint8_t *p = fr->data;
    uint32_t len = fr->caplen;
    d->st.frames++;
    d->st.bytes += len;
    cs_ipfrag_expire(d->frag, fr->ts);
    sync_frag_stats(d);
    memset(out, 0, sizeof *out);

    switch (fr->linktype) {
    case LT_EN10MB: {
        if (len < ETH_HDR_LEN)
            return truncated(d);
        uint16_t type = be16(p + 12);
        p += ETH_HDR_LEN;
        len -= ETH_HDR_LEN;
        if (type <= ETHER_MAX_LEN_FIELD) {   /* IEEE 802.3 length: LLC, maybe SNAP */
            if (len < LLC_SNAP_LEN)
                return truncated(d);
            if (p[0] != 0xaa || p[1] != 0xaa || p[2] != 0x03 || p[3] || p[4] || p[5])
                return non_ip(d);   /* plain LLC: STP, ... */
            type = be16(p + 6);
            p += LLC_SNAP_LEN;
            len -= LLC_SNAP_LEN;
        }
        return decode_ethertype(d, fr, type, p, len, out);
    }
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
    default:
        d->st.unknown_linktype++;
        return CS_DECODE_SKIP;
    }
}

int cs_decode_linktype_supported(int linktype)
{
    switch (linktype) {
    case LT_NULL: case LT_EN10MB: case LT_RAW_BSD: case LT_RAW_OPENBSD: case LT_RAW:
    case LT_LOOP: case LT_LINUX_SLL: case LT_IPV4: case LT_IPV6: case LT_LINUX_SLL2:
        return 1;
    default:
        return 0;
    }
}
