/* Unit tests for the decode stage: every link type, IPv4/IPv6 headers and
 * options, malformed and truncated frames, every prefix of valid frames and
 * garbage, all read from guarded copies (see decode_frames.h).  Fragments are in
 * test_ipfrag.c. */
#include "decode_frames.h"

/* ---- link layers ----------------------------------------------------- */

enum { NET_V4,
       NET_V6 };

struct link_case {
    const char *name;
    int linktype;
    int net;
    void (*hdr)(struct buf *b, int net);
};

static void h_eth(struct buf *b, int net)
{
    eth(b, net == NET_V4 ? 0x0800 : 0x86dd);
}
static void h_vlan(struct buf *b, int net)
{
    eth(b, 0x8100);
    put16(b, 0x0064);
    put16(b, net == NET_V4 ? 0x0800 : 0x86dd);
}
static void h_qinq(struct buf *b, int net)
{
    eth(b, 0x88a8);
    put16(b, 0x0010);
    put16(b, 0x8100);
    put16(b, 0x0064);
    put16(b, net == NET_V4 ? 0x0800 : 0x86dd);
}
static void h_qinq9100(struct buf *b, int net)
{
    eth(b, 0x9100);
    put16(b, 0x0010);
    put16(b, 0x8100);
    put16(b, 0x0064);
    put16(b, net == NET_V4 ? 0x0800 : 0x86dd);
}
static void h_mpls(struct buf *b, int net)
{
    (void)net;
    eth(b, 0x8847);
    put32(b, (1000u << 12) | 0x40);         /* label 1000, not bottom */
    put32(b, (2000u << 12) | 0x100 | 0x40); /* label 2000, bottom of stack */
}
static void h_vlan_mpls(struct buf *b, int net)
{
    (void)net;
    eth(b, 0x8100);
    put16(b, 7);
    put16(b, 0x8847);
    put32(b, (16u << 12) | 0x100 | 0x40);
}
static void h_snap(struct buf *b, int net)
{
    eth(b, 0x0030); /* 802.3 length */
    static const uint8_t llc[6] = {0xaa, 0xaa, 0x03, 0, 0, 0};
    put(b, llc, 6);
    put16(b, net == NET_V4 ? 0x0800 : 0x86dd);
}
static void h_sll(struct buf *b, int net)
{
    put16(b, 0); /* packet type: to us */
    put16(b, 1); /* ARPHRD_ETHER */
    put16(b, 6);
    static const uint8_t a[8] = {2, 0, 0, 0, 0, 1, 0, 0};
    put(b, a, 8);
    put16(b, net == NET_V4 ? 0x0800 : 0x86dd);
}
static void h_sll2(struct buf *b, int net)
{
    put16(b, net == NET_V4 ? 0x0800 : 0x86dd);
    put16(b, 0);
    put32(b, 3); /* ifindex */
    put16(b, 1);
    put8(b, 0);
    put8(b, 6);
    static const uint8_t a[8] = {2, 0, 0, 0, 0, 1, 0, 0};
    put(b, a, 8);
}
static void h_null_le(struct buf *b, int net)
{
    putle32(b, net == NET_V4 ? 2 : 30);
}
static void h_null_be(struct buf *b, int net)
{
    put32(b, net == NET_V4 ? 2 : 28);
}
static void h_null_le24(struct buf *b, int net)
{
    putle32(b, net == NET_V4 ? 2 : 24);
}
static void h_loop(struct buf *b, int net)
{
    put32(b, net == NET_V4 ? 2 : 24);
}
static void h_none(struct buf *b, int net)
{
    (void)b;
    (void)net;
}
/* PPP without address and control (RFC 1661 section 6.6), compressed or not. */
static void h_ppp(struct buf *b, int net)
{
    put16(b, net == NET_V4 ? 0x0021 : 0x0057);
}
static void h_ppp_pfc(struct buf *b, int net)
{
    put8(b, net == NET_V4 ? 0x21 : 0x57);
}
static void h_chdlc(struct buf *b, int net)
{
    put8(b, 0x0f);
    put8(b, 0);
    put16(b, net == NET_V4 ? 0x0800 : 0x86dd);
}

static const struct link_case link_cases[] = {
    {"ethernet v4", 1, NET_V4, h_eth},
    {"ethernet v6", 1, NET_V6, h_eth},
    {"802.1Q v4", 1, NET_V4, h_vlan},
    {"802.1Q v6", 1, NET_V6, h_vlan},
    {"802.1ad QinQ v4", 1, NET_V4, h_qinq},
    {"0x9100 QinQ v6", 1, NET_V6, h_qinq9100},
    {"MPLS v4", 1, NET_V4, h_mpls},
    {"MPLS v6", 1, NET_V6, h_mpls},
    {"VLAN+MPLS v4", 1, NET_V4, h_vlan_mpls},
    {"802.3 LLC/SNAP v4", 1, NET_V4, h_snap},
    {"SLL v4", 113, NET_V4, h_sll},
    {"SLL v6", 113, NET_V6, h_sll},
    {"SLL2 v4", 276, NET_V4, h_sll2},
    {"SLL2 v6", 276, NET_V6, h_sll2},
    {"NULL little-endian v4", 0, NET_V4, h_null_le},
    {"NULL little-endian v6 (30)", 0, NET_V6, h_null_le},
    {"NULL little-endian v6 (24)", 0, NET_V6, h_null_le24},
    {"NULL big-endian v4", 0, NET_V4, h_null_be},
    {"NULL big-endian v6 (28)", 0, NET_V6, h_null_be},
    {"LOOP v4", 108, NET_V4, h_loop},
    {"LOOP v6", 108, NET_V6, h_loop},
    {"RAW(12) v4", 12, NET_V4, h_none},
    {"RAW(12) v6", 12, NET_V6, h_none},
    {"RAW(14) v4", 14, NET_V4, h_none},
    {"LINKTYPE_RAW(101) v6", 101, NET_V6, h_none},
    {"IPV4(228)", 228, NET_V4, h_none},
    {"IPV6(229)", 229, NET_V6, h_none},
    {"PPP(9) v4", 9, NET_V4, h_ppp},
    {"PPP(9) v6, compressed protocol", 9, NET_V6, h_ppp_pfc},
    {"PPP_HDLC(50) Cisco v4", 50, NET_V4, h_chdlc},
    {"C_HDLC(104) v4", 104, NET_V4, h_chdlc},
    {"C_HDLC(104) v6", 104, NET_V6, h_chdlc},
};
#define N_LINK_CASES (sizeof link_cases / sizeof link_cases[0])

static struct buf link_frame(const struct link_case *lc, size_t plen)
{
    struct buf b = {.n = 0};
    lc->hdr(&b, lc->net);
    struct buf ip = lc->net == NET_V4 ? v4_packet(plen) : v6_packet(plen);
    put(&b, ip.b, ip.n);
    return b;
}

static void test_link_types(void)
{
    for (size_t i = 0; i < N_LINK_CASES; i++) {
        const struct link_case *lc = &link_cases[i];
        struct cs_decoder *d = cs_decoder_new(NULL);
        struct buf f = link_frame(lc, 23);
        struct result r = decode_buf(d, lc->linktype, &f);
        if (r.rc != CS_DECODE_SEGMENT)
            fprintf(stderr, "link case %s: rc %d\n", lc->name, r.rc);
        check_segment(&r, lc->net == NET_V4 ? 4 : 6, 23);
        CU_ASSERT_EQUAL(r.payload_off, f.n - 23);
        CU_ASSERT_EQUAL(r.seg.frame, 1);
        CU_ASSERT_EQUAL(cs_decoder_stats(d)->tcp, 1);
        CU_ASSERT_EQUAL(cs_decoder_stats(d)->frames, 1);
        CU_ASSERT_EQUAL(cs_decoder_stats(d)->bytes, f.n);
        CU_ASSERT_EQUAL(cs_decode_linktype_supported(lc->linktype), 1);
        cs_decoder_free(d);
    }
}

/* Frames that are not TCP over IP: skipped and counted in the right box. */
static void test_skips(void)
{
    struct cs_decoder *d = cs_decoder_new(NULL);
    struct buf b = {.n = 0};
    eth(&b, 0x0806); /* ARP */
    putz(&b, 28);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_ip, 1);

    b.n = 0; /* STP: 802.3 + plain LLC */
    eth(&b, 0x0026);
    put8(&b, 0x42);
    put8(&b, 0x42);
    put8(&b, 0x03);
    putz(&b, 35);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_ip, 2);

    b.n = 0; /* LOOP is network order only */
    putle32(&b, 2);
    struct buf ip = v4_packet(0);
    put(&b, ip.b, ip.n);
    CU_ASSERT_EQUAL(decode_buf(d, 108, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_ip, 3);

    b.n = 0; /* MPLS carrying something else */
    eth(&b, 0x8847);
    put32(&b, 0x100);
    putz(&b, 40);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_ip, 4);

    struct buf udp = {.n = 0};
    put16(&udp, 53);
    put16(&udp, 53);
    put16(&udp, 8);
    put16(&udp, 0);
    b.n = 0;
    eth(&b, 0x0800);
    ipv4(&b, &udp, 17, 0, 9, 0);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_tcp, 1);

    b.n = 0; /* IPv6: ESP, no next header, ICMPv6 */
    const uint8_t nhs[] = {50, 59, 58};
    for (size_t i = 0; i < sizeof nhs; i++) {
        b.n = 0;
        ipv6(&b, nhs[i], NULL, &udp);
        CU_ASSERT_EQUAL(decode_buf(d, 229, &b).rc, CS_DECODE_SKIP);
    }
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_tcp, 4);

    /* IPv6 hop-by-hop then UDP */
    struct buf ext = {.n = 0};
    put8(&ext, 17);
    put8(&ext, 0);
    putz(&ext, 6);
    b.n = 0;
    ipv6(&b, 0, &ext, &udp);
    CU_ASSERT_EQUAL(decode_buf(d, 229, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_tcp, 5);

    b = v4_packet(0);
    CU_ASSERT_EQUAL(decode_buf(d, 147, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->unknown_linktype, 1);
    CU_ASSERT_EQUAL(cs_decode_linktype_supported(147), 0);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->tcp, 0);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->malformed, 0);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->truncated, 0);
    cs_decoder_free(d);
}

/* IPv4 and TCP options are skipped; Ethernet padding is not payload. */
static void test_options_and_padding(void)
{
    struct cs_decoder *d = cs_decoder_new(NULL);
    for (unsigned ipo = 0; ipo <= 10; ipo += 5) {
        for (int tco = 0; tco <= 10; tco += 3) {
            struct buf b = {.n = 0}, t = l4_tcp(tco, 17);
            eth(&b, 0x0800);
            ipv4(&b, &t, 6, ipo, 7, 0);
            struct result r = decode_buf(d, 1, &b);
            check_segment(&r, 4, 17);
            CU_ASSERT_EQUAL(r.payload_off, 14 + 20 + 4 * (size_t)ipo + 20 + 4 * (size_t)tco);
        }
    }
    struct buf b = {.n = 0}, t = l4_tcp(0, 0);
    eth(&b, 0x0800);
    ipv4(&b, &t, 6, 0, 7, 0);
    putz(&b, 60 - b.n); /* minimum Ethernet frame */
    struct result r = decode_buf(d, 1, &b);
    check_segment(&r, 4, 0);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->truncated, 0);
    cs_decoder_free(d);
}

/* IPv6 extension header chains in front of TCP. */
static void test_ipv6_ext(void)
{
    struct cs_decoder *d = cs_decoder_new(NULL);
    struct buf ext = {.n = 0};
    put8(&ext, 43);
    put8(&ext, 0);
    putz(&ext, 6); /* hop-by-hop, 8 bytes */
    put8(&ext, 60);
    put8(&ext, 2);
    putz(&ext, 22); /* routing, 24 bytes */
    put8(&ext, 51);
    put8(&ext, 0);
    putz(&ext, 6); /* destination options */
    put8(&ext, 44);
    put8(&ext, 4);
    putz(&ext, 22); /* AH: (4+2)*4 = 24 */
    put8(&ext, 6);
    put8(&ext, 0);
    put16(&ext, 0);
    put32(&ext, 77); /* atomic fragment */
    struct buf t = l4_tcp(2, 31), b = {.n = 0};
    eth(&b, 0x86dd);
    ipv6(&b, 0, &ext, &t);
    struct result r = decode_buf(d, 1, &b);
    check_segment(&r, 6, 31);
    CU_ASSERT_EQUAL(r.payload_off, 14 + 40 + ext.n + 28);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->fragments, 0);
    cs_decoder_free(d);
}

/* Headers that contradict themselves: counted malformed, never a segment. */
static void test_malformed(void)
{
    struct cs_decoder *d = cs_decoder_new(NULL);
    struct buf good = v4_packet(10);
    const struct {
        const char *name;
        size_t off;
        uint8_t val;
        int linktype;
    } cases[] = {
        {"IHL 4", 0, 0x44, 228},
        {"IHL 15 beyond total", 0, 0x4f, 228},
        {"version 6 on IPv4 link", 0, 0x65, 228},
        {"version 5", 0, 0x55, 1},
        {"total length 10", 3, 10, 228},
        {"total length 30 < IHL+TCP", 3, 30, 228},
        {"TCP data offset 4", 32, 0x40, 228},
        {"TCP data offset beyond total", 32, 0xf0, 228},
    };
    uint64_t want = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf b = {.n = 0};
        if (cases[i].linktype == 1)
            eth(&b, 0x0800);
        size_t base = b.n;
        put(&b, good.b, good.n);
        b.b[base + cases[i].off] = cases[i].val;
        if (cases[i].off == 3)
            b.b[base + 2] = 0;
        struct result r = decode_buf(d, cases[i].linktype, &b);
        if (r.rc != CS_DECODE_ERROR)
            fprintf(stderr, "malformed case %s: rc %d\n", cases[i].name, r.rc);
        CU_ASSERT_EQUAL(r.rc, CS_DECODE_ERROR);
        CU_ASSERT_EQUAL(cs_decoder_stats(d)->malformed, ++want);
    }
    /* IPv6 extension header longer than the payload length. */
    struct buf ext = {.n = 0}, t = l4_tcp(0, 0), b = {.n = 0};
    put8(&ext, 6);
    put8(&ext, 200);
    putz(&ext, 6);
    ipv6(&b, 60, &ext, &t);
    CU_ASSERT_EQUAL(decode_buf(d, 229, &b).rc, CS_DECODE_ERROR);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->malformed, ++want);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->tcp, 0);
    cs_decoder_free(d);
}

/* A frame cut by the snaplen inside the payload is a segment with
 * payload_len < wire_payload_len; inside a header, an error.  Both counted. */
static void test_snaplen_cut(void)
{
    struct cs_decoder *d = cs_decoder_new(NULL);
    struct buf b = {.n = 0}, ip = v4_packet(100);
    eth(&b, 0x0800);
    put(&b, ip.b, ip.n);
    struct result r = decode_guarded(d, 1, b.b, 96, b.n, 3, 0);
    CU_ASSERT_EQUAL_FATAL(r.rc, CS_DECODE_SEGMENT);
    CU_ASSERT_EQUAL(r.seg.payload_len, 96 - 54);
    CU_ASSERT_EQUAL(r.seg.wire_payload_len, 100);
    CU_ASSERT_EQUAL(r.seg.frame, 3);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->truncated, 1);
    r = decode_guarded(d, 1, b.b, 40, b.n, 4, 0);
    CU_ASSERT_EQUAL(r.rc, CS_DECODE_ERROR);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->truncated, 2);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->malformed, 0);
    cs_decoder_free(d);
}

/* Every prefix of every valid frame, with the wire length the full frame and
 * with the wire length the prefix: no over-read (guarded copy), no crash,
 * ERROR or a consistent segment. */
static void test_every_prefix(void)
{
    struct cs_decoder *d = cs_decoder_new(NULL);
    size_t segments = 0, errors = 0;
    for (size_t i = 0; i < N_LINK_CASES; i++) {
        struct buf f = link_frame(&link_cases[i], 9);
        for (size_t len = 0; len <= f.n; len++) {
            for (int w = 0; w < 2; w++) {
                struct result r = decode_guarded(d, link_cases[i].linktype, f.b, len,
                                                 w ? len : f.n, 1, 0);
                CU_ASSERT(r.rc == CS_DECODE_ERROR || r.rc == CS_DECODE_SEGMENT);
                if (r.rc == CS_DECODE_SEGMENT) {
                    segments++;
                    CU_ASSERT_EQUAL(r.seg.wire_payload_len, 9);
                    CU_ASSERT_EQUAL(r.payload_off + r.seg.payload_len, len);
                    CU_ASSERT(len >= f.n - 9);
                } else {
                    errors++;
                    CU_ASSERT(len < f.n - 9);
                }
            }
        }
    }
    const struct cs_decode_stats *st = cs_decoder_stats(d);
    CU_ASSERT_EQUAL(st->tcp, segments);
    CU_ASSERT(errors > 0);
    CU_ASSERT_EQUAL(st->non_ip + st->non_tcp, 0);
    cs_decoder_free(d);
}

/* Deterministic garbage (xorshift) for every link type, and garbage behind
 * valid link headers: must not crash or over-read. */
static void test_garbage(void)
{
    struct cs_decoder *d = cs_decoder_new(NULL);
    uint64_t x = 0x9e3779b97f4a7c15ULL, frames = 0;
    static const int lts[] = {0, 1, 9, 12, 14, 50, 101, 104, 108, 113, 228, 229, 276};
    uint8_t bytes[200];
    for (int round = 0; round < 3000; round++) {
        size_t len = (size_t)(round % 200);
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes[k] = (uint8_t)x;
        }
        /* Make version nibbles and ethertypes plausible half of the time. */
        if (round & 1 && len > 20) {
            bytes[0] = (uint8_t)((round & 2 ? 0x40 : 0x60) | (bytes[0] & 0x0f));
            bytes[12] = round & 4 ? 0x08 : 0x86;
            bytes[13] = round & 4 ? 0x00 : 0xdd;
        }
        for (size_t k = 0; k < sizeof lts / sizeof lts[0]; k++) {
            struct result r = decode_guarded(d, lts[k], bytes, len, len, 1, 0);
            CU_ASSERT(r.rc >= CS_DECODE_ERROR && r.rc <= CS_DECODE_SEGMENT);
            frames++;
        }
    }
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->frames, frames);
    CU_ASSERT(cs_decoder_stats(d)->malformed + cs_decoder_stats(d)->truncated > 0);
    cs_decoder_free(d);
}

/* ---- tunnels ----------------------------------------------------------- */

/* The skip kinds add up to the older counters they refine (decode.h). */
static void check_skip_sums(struct cs_decoder *d)
{
    const struct cs_decode_stats *st = cs_decoder_stats(d);
    uint64_t non_ip = 0, non_tcp = 0;
    for (int k = 0; k < CS_DECODE_SKIP_KINDS; k++) {
        if (k <= CS_DECODE_SKIP_LAST_NON_IP)
            non_ip += st->skipped[k];
        else if (k != CS_DECODE_SKIP_LINKTYPE)
            non_tcp += st->skipped[k];
    }
    CU_ASSERT_EQUAL(non_ip, st->non_ip);
    CU_ASSERT_EQUAL(non_tcp, st->non_tcp);
    CU_ASSERT_EQUAL(st->skipped[CS_DECODE_SKIP_LINKTYPE], st->unknown_linktype);
    CU_ASSERT_EQUAL(cs_decode_skipped_total(st), non_ip + non_tcp + st->unknown_linktype);
}

/* Decodes b and expects a skip of exactly this kind, nothing else counted. */
static void expect_skip(const char *what, int linktype, const struct buf *b, enum cs_decode_skip kind)
{
    struct cs_decoder *d = cs_decoder_new(NULL);
    struct result r = decode_buf(d, linktype, b);
    const struct cs_decode_stats *st = cs_decoder_stats(d);
    if (r.rc != CS_DECODE_SKIP || st->skipped[kind] != 1)
        fprintf(stderr, "%s: rc %d, kind %s count %llu\n", what, r.rc, cs_decode_skip_name(kind),
                (unsigned long long)st->skipped[kind]);
    CU_ASSERT_EQUAL(r.rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(st->skipped[kind], 1);
    CU_ASSERT_EQUAL(cs_decode_skipped_total(st), 1);
    CU_ASSERT_EQUAL(st->malformed + st->truncated + st->tcp, 0);
    check_skip_sums(d);
    cs_decoder_free(d);
}

static void expect_error(const char *what, int linktype, const struct buf *b, int want_malformed)
{
    struct cs_decoder *d = cs_decoder_new(NULL);
    struct result r = decode_buf(d, linktype, b);
    const struct cs_decode_stats *st = cs_decoder_stats(d);
    if (r.rc != CS_DECODE_ERROR)
        fprintf(stderr, "%s: rc %d\n", what, r.rc);
    CU_ASSERT_EQUAL(r.rc, CS_DECODE_ERROR);
    CU_ASSERT_EQUAL(st->malformed, want_malformed ? 1 : 0);
    CU_ASSERT_EQUAL(st->truncated, want_malformed ? 0 : 1);
    CU_ASSERT_EQUAL(cs_decode_skipped_total(st), 0);
    cs_decoder_free(d);
}

/* Outer Ethernet + IPv4 (or IPv6) carrying `l4` as protocol `proto`. */
static void outer_ip(struct buf *b, int v6, uint8_t proto, const struct buf *l4)
{
    eth(b, v6 ? 0x86dd : 0x0800);
    if (v6)
        ipv6(b, proto, NULL, l4);
    else
        ipv4(b, l4, proto, 0, 99, 0x4000);
}

#define GRE_C 0x8000
#define GRE_R 0x4000
#define GRE_K 0x2000
#define GRE_S 0x1000

static void gre(struct buf *b, uint16_t flags, uint16_t proto, const struct buf *payload)
{
    put16(b, flags);
    put16(b, proto);
    if (flags & GRE_C)
        put32(b, 0xbeef0000); /* checksum (never checked), reserved1 */
    if (flags & GRE_K)
        put32(b, 0x00c0ffee);
    if (flags & GRE_S)
        put32(b, 12345);
    put(b, payload->b, payload->n);
}

static void udp(struct buf *b, uint16_t dport, const struct buf *payload)
{
    put16(b, 50000);
    put16(b, dport);
    put16(b, (uint16_t)(8 + payload->n));
    put16(b, 0);
    put(b, payload->b, payload->n);
}

/* An Ethernet frame around an IP packet (ethertype from its version). */
static struct buf ether_of(const struct buf *ip)
{
    struct buf e = {.n = 0};
    eth(&e, ip->b[0] >> 4 == 6 ? 0x86dd : 0x0800);
    put(&e, ip->b, ip->n);
    return e;
}

static void vxlan_hdr(struct buf *b, uint8_t flags, uint8_t next)
{
    put8(b, flags);
    put16(b, 0);
    put8(b, next);
    put32(b, 4242u << 8);
}

/* Geneve header with opt_words of options, then the payload. */
static void geneve(struct buf *b, int version, int opt_words, uint16_t proto, const struct buf *payload)
{
    put8(b, (uint8_t)(version << 6 | opt_words));
    put8(b, 0);
    put16(b, proto);
    put32(b, 777u << 8);
    for (int i = 0; i < opt_words; i++)
        put32(b, i == 0 ? 0x01038000u | (uint32_t)(opt_words - 1) : 0xa5a5a5a5u);
    put(b, payload->b, payload->n);
}

static void erspan2(struct buf *b, int version)
{
    put16(b, (uint16_t)(version << 12));
    put16(b, 100);
    put32(b, 5);
}

static void erspan3(struct buf *b, int version, int frame_type, int platform)
{
    put16(b, (uint16_t)(version << 12));
    put16(b, 200);
    put32(b, 0x01020304); /* timestamp */
    put16(b, 0);          /* SGT */
    put16(b, (uint16_t)(frame_type << 10 | (platform ? 1 : 0)));
    if (platform)
        put(b, "\x0c\x00\x00\x01\x0a\x0b\x0c\x0d", 8);
}

static void pppoe(struct buf *b, uint16_t ppp_proto, const struct buf *ip)
{
    eth(b, 0x8864);
    put8(b, 0x11);
    put8(b, 0);
    put16(b, 0x1234);
    put16(b, (uint16_t)(2 + ip->n));
    put16(b, ppp_proto);
    put(b, ip->b, ip->n);
}

/* One tunnel frame builder per case: wraps the inner IP packet `ip`. */
struct tunnel_case {
    const char *name;
    int linktype;
    int net; /* of the inner packet */
    void (*build)(struct buf *out, const struct buf *ip);
    size_t may_skip_below; /* prefixes shorter than this may be skips */
};

static void t_gre(struct buf *o, const struct buf *ip)
{
    struct buf g = {.n = 0};
    gre(&g, 0, ip->b[0] >> 4 == 6 ? 0x86dd : 0x0800, ip);
    outer_ip(o, 0, 47, &g);
}
static void t_gre_all_options_v6(struct buf *o, const struct buf *ip)
{
    struct buf g = {.n = 0};
    gre(&g, GRE_C | GRE_K | GRE_S, ip->b[0] >> 4 == 6 ? 0x86dd : 0x0800, ip);
    outer_ip(o, 1, 47, &g);
}
static void t_gre_teb(struct buf *o, const struct buf *ip)
{
    struct buf g = {.n = 0}, e = ether_of(ip);
    gre(&g, GRE_K, 0x6558, &e);
    outer_ip(o, 0, 47, &g);
}
static void t_erspan1(struct buf *o, const struct buf *ip)
{
    struct buf g = {.n = 0}, e = ether_of(ip);
    gre(&g, 0, 0x88be, &e);
    outer_ip(o, 0, 47, &g);
}
static void t_erspan2(struct buf *o, const struct buf *ip)
{
    struct buf g = {.n = 0}, e = {.n = 0}, f = ether_of(ip);
    erspan2(&e, 1);
    put(&e, f.b, f.n);
    gre(&g, GRE_S, 0x88be, &e);
    outer_ip(o, 0, 47, &g);
}
static void t_erspan3(struct buf *o, const struct buf *ip)
{
    struct buf g = {.n = 0}, e = {.n = 0}, f = ether_of(ip);
    erspan3(&e, 2, 0, 1);
    put(&e, f.b, f.n);
    gre(&g, GRE_S, 0x22eb, &e);
    outer_ip(o, 1, 47, &g);
}
static void t_erspan3_ip(struct buf *o, const struct buf *ip)
{
    struct buf g = {.n = 0}, e = {.n = 0};
    erspan3(&e, 2, 2, 0);
    put(&e, ip->b, ip->n);
    gre(&g, GRE_S, 0x22eb, &e);
    outer_ip(o, 0, 47, &g);
}
static void t_vxlan(struct buf *o, const struct buf *ip)
{
    struct buf u = {.n = 0}, v = {.n = 0}, e = ether_of(ip);
    vxlan_hdr(&v, 0x08, 0);
    put(&v, e.b, e.n);
    udp(&u, 4789, &v);
    outer_ip(o, 0, 17, &u);
}
static void t_vxlan_gpe_ip(struct buf *o, const struct buf *ip)
{
    struct buf u = {.n = 0}, v = {.n = 0};
    vxlan_hdr(&v, 0x0c, ip->b[0] >> 4 == 6 ? 2 : 1);
    put(&v, ip->b, ip->n);
    udp(&u, 4790, &v);
    outer_ip(o, 1, 17, &u);
}
static void t_geneve(struct buf *o, const struct buf *ip)
{
    struct buf u = {.n = 0}, v = {.n = 0}, e = ether_of(ip);
    geneve(&v, 0, 3, 0x6558, &e);
    udp(&u, 6081, &v);
    outer_ip(o, 1, 17, &u);
}
static void t_geneve_ip(struct buf *o, const struct buf *ip)
{
    struct buf u = {.n = 0}, v = {.n = 0};
    geneve(&v, 0, 0, ip->b[0] >> 4 == 6 ? 0x86dd : 0x0800, ip);
    udp(&u, 6081, &v);
    outer_ip(o, 0, 17, &u);
}
static void t_pppoe(struct buf *o, const struct buf *ip)
{
    pppoe(o, ip->b[0] >> 4 == 6 ? 0x0057 : 0x0021, ip);
}
static void t_pppoe_vlan(struct buf *o, const struct buf *ip)
{
    eth(o, 0x8100);
    put16(o, 7);
    put16(o, 0x8864);
    put8(o, 0x11);
    put8(o, 0);
    put16(o, 1);
    put16(o, (uint16_t)(2 + ip->n));
    put16(o, ip->b[0] >> 4 == 6 ? 0x0057 : 0x0021);
    put(o, ip->b, ip->n);
}
static void t_ppp_hdlc(struct buf *o, const struct buf *ip)
{
    put8(o, 0xff);
    put8(o, 0x03);
    put16(o, ip->b[0] >> 4 == 6 ? 0x0057 : 0x0021);
    put(o, ip->b, ip->n);
}
/* VXLAN in IPv4 in GRE: two tunnels. */
static void t_gre_vxlan(struct buf *o, const struct buf *ip)
{
    struct buf u = {.n = 0}, v = {.n = 0}, e = ether_of(ip), i4 = {.n = 0}, g = {.n = 0};
    vxlan_hdr(&v, 0x08, 0);
    put(&v, e.b, e.n);
    udp(&u, 4789, &v);
    ipv4(&i4, &u, 17, 0, 5, 0);
    gre(&g, 0, 0x0800, &i4);
    outer_ip(o, 0, 47, &g);
}

static const struct tunnel_case tunnel_cases[] = {
    {"GRE v4 in v4", 1, NET_V4, t_gre, 0},
    {"GRE v6 in v4", 1, NET_V6, t_gre, 0},
    {"GRE C+K+S v4 in v6", 1, NET_V4, t_gre_all_options_v6, 0},
    {"GRE C+K+S v6 in v6", 1, NET_V6, t_gre_all_options_v6, 0},
    {"GRE transparent Ethernet bridging", 1, NET_V4, t_gre_teb, 0},
    {"ERSPAN type I", 1, NET_V6, t_erspan1, 0},
    {"ERSPAN type II", 1, NET_V4, t_erspan2, 0},
    {"ERSPAN type III, platform subheader", 1, NET_V6, t_erspan3, 0},
    {"ERSPAN type III, IP frame", 1, NET_V4, t_erspan3_ip, 0},
    {"VXLAN", 1, NET_V4, t_vxlan, 14 + 20 + 8},
    {"VXLAN-GPE IPv6", 1, NET_V6, t_vxlan_gpe_ip, 14 + 40 + 8},
    {"Geneve with options", 1, NET_V4, t_geneve, 14 + 40 + 8},
    {"Geneve IPv6 payload", 1, NET_V6, t_geneve_ip, 14 + 20 + 8},
    {"PPPoE v4", 1, NET_V4, t_pppoe, 0},
    {"PPPoE v6 behind 802.1Q", 1, NET_V6, t_pppoe_vlan, 0},
    {"PPP(9) HDLC framing v4", 9, NET_V4, t_ppp_hdlc, 2},
    {"PPP_HDLC(50) v6", 50, NET_V6, t_ppp_hdlc, 2},
    {"VXLAN in GRE", 1, NET_V4, t_gre_vxlan, 14 + 20 + 4 + 20 + 8},
};
#define N_TUNNEL_CASES (sizeof tunnel_cases / sizeof tunnel_cases[0])

static struct buf tunnel_frame(const struct tunnel_case *tc, size_t plen)
{
    struct buf b = {.n = 0};
    struct buf ip = tc->net == NET_V4 ? v4_packet(plen) : v6_packet(plen);
    tc->build(&b, &ip);
    return b;
}

/* The inner flow comes out of every tunnel, counted as tunneled exactly when
 * a tunnel was crossed (PPPoE and PPP are link layers, not tunnels). */
static void test_tunnels(void)
{
    for (size_t i = 0; i < N_TUNNEL_CASES; i++) {
        const struct tunnel_case *tc = &tunnel_cases[i];
        struct cs_decoder *d = cs_decoder_new(NULL);
        struct buf f = tunnel_frame(tc, 23);
        struct result r = decode_buf(d, tc->linktype, &f);
        if (r.rc != CS_DECODE_SEGMENT)
            fprintf(stderr, "tunnel case %s: rc %d\n", tc->name, r.rc);
        check_segment(&r, tc->net == NET_V4 ? 4 : 6, 23);
        CU_ASSERT_EQUAL(r.payload_off, f.n - 23);
        const struct cs_decode_stats *st = cs_decoder_stats(d);
        int is_tunnel = tc->build != t_pppoe && tc->build != t_pppoe_vlan &&
                        tc->build != t_ppp_hdlc;
        CU_ASSERT_EQUAL(st->tunneled, is_tunnel ? 1 : 0);
        CU_ASSERT_EQUAL(st->tcp, 1);
        CU_ASSERT_EQUAL(st->truncated + st->malformed + cs_decode_skipped_total(st), 0);
        /* nDPI gets the inner IP packet */
        CU_ASSERT_EQUAL(r.seg.l3_len, (tc->net == NET_V4 ? 20u : 40u) + 20 + 23);
        cs_decoder_free(d);
    }
}

/* Every prefix of every tunnel frame from a guarded copy: an error (the
 * outer headers say more follows), never a segment before the payload,
 * and a skip only where the decoder reads too little to know (a UDP header
 * cut before its ports, a lone PPP 0xff). */
static void test_tunnel_prefixes(void)
{
    for (size_t i = 0; i < N_TUNNEL_CASES; i++) {
        const struct tunnel_case *tc = &tunnel_cases[i];
        struct cs_decoder *d = cs_decoder_new(NULL);
        struct buf f = tunnel_frame(tc, 9);
        for (size_t len = 0; len < f.n; len++) {
            struct result r = decode_guarded(d, tc->linktype, f.b, len, f.n, 1, 0);
            if (r.rc == CS_DECODE_SEGMENT) {
                CU_ASSERT(len >= f.n - 9);
                CU_ASSERT_EQUAL(r.seg.wire_payload_len, 9);
                CU_ASSERT_EQUAL(r.payload_off + r.seg.payload_len, len);
            } else if (r.rc == CS_DECODE_SKIP) {
                if (len >= tc->may_skip_below)
                    fprintf(stderr, "tunnel case %s: skip at prefix %zu\n", tc->name, len);
                CU_ASSERT(len < tc->may_skip_below);
            } else {
                CU_ASSERT(len < f.n - 9);
            }
            /* the other guard: nothing read before the frame either */
            struct guarded g = guarded_copy_at(f.b, len, 1);
            struct cs_frame fr = {.number = 1, .linktype = tc->linktype, .data = g.data, .caplen = (uint32_t)len, .wirelen = (uint32_t)f.n};
            struct cs_segment seg;
            enum cs_decode_result rc2 = cs_decode_frame(d, &fr, &seg);
            CU_ASSERT_EQUAL(rc2, r.rc);
            guarded_free(&g);
        }
        CU_ASSERT_EQUAL(cs_decoder_stats(d)->malformed, 0);
        check_skip_sums(d);
        cs_decoder_free(d);
    }
}

/* Random bytes written over the tunnel headers of every case: no crash, no
 * over-read, and every frame accounted for: a segment, an error, a skip of
 * one kind, or a fragment held for later. */
static void test_tunnel_garbage(void)
{
    uint64_t x = 0x2545f4914f6cdd1dULL;
    for (size_t i = 0; i < N_TUNNEL_CASES; i++) {
        struct cs_decoder *d = cs_decoder_new(NULL);
        const struct cs_decode_stats *st = cs_decoder_stats(d);
        struct buf f = tunnel_frame(&tunnel_cases[i], 9);
        size_t hdr = f.n - 9 - 20 - (tunnel_cases[i].net == NET_V4 ? 20 : 40);
        for (int round = 0; round < 400; round++) {
            struct buf m = f;
            for (int k = 0; k < 3; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                m.b[(x >> 8) % hdr] = (uint8_t)x;
            }
            struct cs_decode_stats before = *st;
            struct result r = decode_buf(d, tunnel_cases[i].linktype, &m);
            uint64_t errors = st->malformed + st->truncated - before.malformed - before.truncated;
            uint64_t skips = cs_decode_skipped_total(st) - cs_decode_skipped_total(&before);
            uint64_t frags = st->fragments - before.fragments;
            if (r.rc == CS_DECODE_SEGMENT) {
                CU_ASSERT(st->tcp == before.tcp + 1 && skips == 0);
            } else if (r.rc == CS_DECODE_ERROR) {
                CU_ASSERT(errors == 1 && skips == 0 && st->tcp == before.tcp);
            } else {
                CU_ASSERT((skips == 1 || frags == 1) && errors == 0 && st->tcp == before.tcp);
            }
        }
        CU_ASSERT_EQUAL(st->frames, 400);
        check_skip_sums(d);
        cs_decoder_free(d);
    }
}

/* RFC 2784 / 2890: every combination of checksum, key and sequence number
 * moves the payload by 4 bytes each; RFC 1701 routing, version 1 (PPTP) and
 * options the outer packet has no room for are not followed. */
static void test_gre_options(void)
{
    struct cs_decoder *d = cs_decoder_new(NULL);
    for (unsigned bits = 0; bits < 8; bits++) {
        uint16_t flags = (uint16_t)((bits & 1 ? GRE_C : 0) | (bits & 2 ? GRE_K : 0) |
                                    (bits & 4 ? GRE_S : 0));
        for (int net = NET_V4; net <= NET_V6; net++) {
            struct buf ip = net == NET_V4 ? v4_packet(11) : v6_packet(11), g = {.n = 0}, b = {.n = 0};
            gre(&g, flags, net == NET_V4 ? 0x0800 : 0x86dd, &ip);
            outer_ip(&b, (int)bits & 1, 47, &g);
            struct result r = decode_buf(d, 1, &b);
            check_segment(&r, net == NET_V4 ? 4 : 6, 11);
            size_t outer = 14 + ((bits & 1) ? 40 : 20);
            CU_ASSERT_EQUAL(r.payload_off, outer + 4 + 4 * (size_t)__builtin_popcount(bits) +
                                               (net == NET_V4 ? 20 : 40) + 20);
        }
    }
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->tunneled, 16);
    cs_decoder_free(d);

    struct buf ip = v4_packet(5), g = {.n = 0}, b = {.n = 0};
    gre(&g, GRE_R, 0x0800, &ip);
    outer_ip(&b, 0, 47, &g);
    expect_skip("GRE with RFC 1701 routing", 1, &b, CS_DECODE_SKIP_TUNNEL);

    g.n = b.n = 0;
    gre(&g, GRE_K | 1, 0x880b, &ip); /* version 1: PPTP's enhanced GRE */
    outer_ip(&b, 0, 47, &g);
    expect_skip("GRE version 1", 1, &b, CS_DECODE_SKIP_TUNNEL);

    g.n = b.n = 0;
    gre(&g, 0, 0x0806, &ip); /* GRE carrying ARP */
    outer_ip(&b, 0, 47, &g);
    expect_skip("GRE carrying ARP", 1, &b, CS_DECODE_SKIP_ARP);

    g.n = b.n = 0;
    gre(&g, 0, 0x1234, &ip);
    outer_ip(&b, 0, 47, &g);
    expect_skip("GRE carrying ethertype 0x1234", 1, &b, CS_DECODE_SKIP_ETHERTYPE);

    /* All options claimed, the IP packet ends after the base header. */
    struct buf empty = {.n = 0};
    g.n = b.n = 0;
    put16(&g, GRE_C | GRE_K | GRE_S);
    put16(&g, 0x0800);
    (void)empty;
    outer_ip(&b, 0, 47, &g);
    expect_error("GRE options beyond the IP packet", 1, &b, 1);
    /* the same frame with room claimed by IP but cut by the snaplen */
    g.n = b.n = 0;
    gre(&g, GRE_C | GRE_K | GRE_S, 0x0800, &ip);
    outer_ip(&b, 0, 47, &g);
    struct cs_decoder *d2 = cs_decoder_new(NULL);
    struct result r = decode_guarded(d2, 1, b.b, 14 + 20 + 4 + 8, b.n, 1, 0);
    CU_ASSERT_EQUAL(r.rc, CS_DECODE_ERROR);
    CU_ASSERT_EQUAL(cs_decoder_stats(d2)->truncated, 1);
    cs_decoder_free(d2);
}

/* RFC 8926 section 3.4: Opt Len counts 4-byte words, 0 to 63; the payload
 * starts after them.  Longer than the UDP datagram: malformed; cut by the
 * snaplen: truncated; version 1: not followed. */
static void test_geneve_options(void)
{
    struct cs_decoder *d = cs_decoder_new(NULL);
    struct buf ip = v4_packet(7), e = ether_of(&ip);
    for (int words = 0; words <= 63; words++) {
        struct buf v = {.n = 0}, u = {.n = 0}, b = {.n = 0};
        geneve(&v, 0, words, 0x6558, &e);
        udp(&u, 6081, &v);
        outer_ip(&b, 0, 17, &u);
        struct result r = decode_buf(d, 1, &b);
        check_segment(&r, 4, 7);
        CU_ASSERT_EQUAL(r.payload_off, 14 + 20 + 8 + 8 + 4 * (size_t)words + 14 + 20 + 20);
    }
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->tunneled, 64);
    cs_decoder_free(d);

    /* Opt Len 63 (252 bytes) with 40 bytes after the header. */
    struct buf v = {.n = 0}, u = {.n = 0}, b = {.n = 0};
    put8(&v, 63);
    put8(&v, 0);
    put16(&v, 0x6558);
    put32(&v, 0);
    putz(&v, 40);
    udp(&u, 6081, &v);
    outer_ip(&b, 0, 17, &u);
    expect_error("Geneve options beyond the datagram", 1, &b, 1);

    v.n = u.n = b.n = 0;
    geneve(&v, 0, 4, 0x6558, &e);
    udp(&u, 6081, &v);
    outer_ip(&b, 0, 17, &u);
    d = cs_decoder_new(NULL);
    struct result r = decode_guarded(d, 1, b.b, 14 + 20 + 8 + 8 + 10, b.n, 1, 0);
    CU_ASSERT_EQUAL(r.rc, CS_DECODE_ERROR);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->truncated, 1);
    cs_decoder_free(d);

    v.n = u.n = b.n = 0;
    geneve(&v, 1, 0, 0x6558, &e);
    udp(&u, 6081, &v);
    outer_ip(&b, 0, 17, &u);
    expect_skip("Geneve version 1", 1, &b, CS_DECODE_SKIP_TUNNEL);
}

/* VXLAN carries Ethernet (RFC 7348 section 5); what else arrives there is
 * counted by what it turned out to be.  VXLAN-GPE names its payload. */
static void test_vxlan_payloads(void)
{
    struct buf ip = v4_packet(5), e = ether_of(&ip);
    struct buf v = {.n = 0}, u = {.n = 0}, b = {.n = 0};

    vxlan_hdr(&v, 0x00, 0); /* I flag clear */
    put(&v, e.b, e.n);
    udp(&u, 4789, &v);
    outer_ip(&b, 0, 17, &u);
    expect_skip("VXLAN without the I flag", 1, &b, CS_DECODE_SKIP_TUNNEL);

    v.n = u.n = b.n = 0; /* an IPv4 packet where Ethernet belongs */
    vxlan_hdr(&v, 0x08, 0);
    put(&v, ip.b, ip.n);
    udp(&u, 4789, &v);
    outer_ip(&b, 0, 17, &u);
    expect_skip("VXLAN carrying bare IPv4", 1, &b, CS_DECODE_SKIP_ETHERTYPE);

    v.n = u.n = b.n = 0; /* inner ARP */
    vxlan_hdr(&v, 0x08, 0);
    eth(&v, 0x0806);
    putz(&v, 28);
    udp(&u, 4789, &v);
    outer_ip(&b, 0, 17, &u);
    expect_skip("VXLAN carrying ARP", 1, &b, CS_DECODE_SKIP_ARP);

    v.n = u.n = b.n = 0; /* a VXLAN header with nothing after it */
    vxlan_hdr(&v, 0x08, 0);
    udp(&u, 4789, &v);
    outer_ip(&b, 0, 17, &u);
    expect_error("VXLAN without payload", 1, &b, 0);

    static const struct {
        uint8_t flags, next;
        int ok;
        enum cs_decode_skip kind;
    } gpe[] = {
        {0x0c, 1, 1, 0},                     /* IPv4 */
        {0x0c, 3, 0, 0},                     /* Ethernet, given the bare IPv4 below: not a segment */
        {0x0c, 4, 0, CS_DECODE_SKIP_TUNNEL}, /* NSH */
        {0x2c, 1, 0, CS_DECODE_SKIP_TUNNEL}, /* version 2 */
    };
    for (size_t i = 0; i < sizeof gpe / sizeof gpe[0]; i++) {
        v.n = u.n = b.n = 0;
        vxlan_hdr(&v, gpe[i].flags, gpe[i].next);
        put(&v, ip.b, ip.n);
        udp(&u, 4790, &v);
        outer_ip(&b, 0, 17, &u);
        if (gpe[i].ok) {
            struct cs_decoder *d = cs_decoder_new(NULL);
            struct result r = decode_buf(d, 1, &b);
            check_segment(&r, 4, 5);
            cs_decoder_free(d);
        } else if (gpe[i].next == 3) {
            expect_skip("VXLAN-GPE Ethernet", 1, &b, CS_DECODE_SKIP_ETHERTYPE);
        } else {
            expect_skip("VXLAN-GPE", 1, &b, gpe[i].kind);
        }
    }
    v.n = u.n = b.n = 0; /* GPE without P: Ethernet */
    vxlan_hdr(&v, 0x08, 0);
    put(&v, e.b, e.n);
    udp(&u, 4790, &v);
    outer_ip(&b, 0, 17, &u);
    struct cs_decoder *d = cs_decoder_new(NULL);
    struct result r = decode_buf(d, 1, &b);
    check_segment(&r, 4, 5);

    /* UDP to another port is UDP, its length field not even read; a tunnel
     * port with a length that contradicts IP is malformed. */
    v.n = u.n = b.n = 0;
    vxlan_hdr(&v, 0x08, 0);
    put(&v, e.b, e.n);
    udp(&u, 4788, &v);
    outer_ip(&b, 0, 17, &u);
    expect_skip("UDP to port 4788", 1, &b, CS_DECODE_SKIP_UDP);
    u.b[4] = 0;
    u.b[5] = 7;
    b.n = 0;
    udp(&u, 4789, &v);
    u.n = 0;
    udp(&u, 4789, &v);
    u.b[4] = 0;
    u.b[5] = 7; /* UDP length 7 < 8 */
    outer_ip(&b, 0, 17, &u);
    expect_error("UDP length 7", 1, &b, 1);
    b.n = 0;
    u.b[4] = 0x10;
    u.b[5] = 0; /* UDP length 4096 > IP payload */
    outer_ip(&b, 0, 17, &u);
    expect_error("UDP length beyond IP", 1, &b, 1);
    cs_decoder_free(d);

    /* A UDP length 5 bytes short of the IP payload ends the tunnel there:
     * the inner packet is cut, as by a snaplen. */
    v.n = u.n = b.n = 0;
    vxlan_hdr(&v, 0x08, 0);
    put(&v, e.b, e.n);
    udp(&u, 4789, &v);
    u.b[5] = (uint8_t)(u.b[5] - 5);
    outer_ip(&b, 0, 17, &u);
    d = cs_decoder_new(NULL);
    r = decode_buf(d, 1, &b);
    CU_ASSERT_EQUAL_FATAL(r.rc, CS_DECODE_SEGMENT);
    CU_ASSERT_EQUAL(r.seg.payload_len, 0);
    CU_ASSERT_EQUAL(r.seg.wire_payload_len, 5);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->truncated, 1);
    cs_decoder_free(d);
}

/* ERSPAN header versions must match the GRE protocol; type III frame types
 * other than Ethernet and IP are not followed. */
static void test_erspan_errors(void)
{
    struct buf ip = v4_packet(5), f = ether_of(&ip);
    struct buf e = {.n = 0}, g = {.n = 0}, b = {.n = 0};
    erspan2(&e, 2);
    put(&e, f.b, f.n);
    gre(&g, GRE_S, 0x88be, &e);
    outer_ip(&b, 0, 47, &g);
    expect_skip("ERSPAN II with version 2", 1, &b, CS_DECODE_SKIP_TUNNEL);

    e.n = g.n = b.n = 0;
    erspan3(&e, 1, 0, 0);
    put(&e, f.b, f.n);
    gre(&g, GRE_S, 0x22eb, &e);
    outer_ip(&b, 0, 47, &g);
    expect_skip("ERSPAN III with version 1", 1, &b, CS_DECODE_SKIP_TUNNEL);

    e.n = g.n = b.n = 0;
    erspan3(&e, 2, 5, 0);
    put(&e, f.b, f.n);
    gre(&g, GRE_S, 0x22eb, &e);
    outer_ip(&b, 0, 47, &g);
    expect_skip("ERSPAN III frame type 5", 1, &b, CS_DECODE_SKIP_TUNNEL);

    e.n = g.n = b.n = 0; /* O bit, subheader missing */
    erspan3(&e, 2, 0, 0);
    e.b[11] |= 1;
    put(&e, "\x01\x02\x03", 3);
    gre(&g, GRE_S, 0x22eb, &e);
    outer_ip(&b, 0, 47, &g);
    expect_error("ERSPAN III platform subheader beyond the packet", 1, &b, 1);
}

/* RFC 2516: discovery frames and PPP control traffic carry no IP and are
 * counted by name; a session header of another version is an unknown
 * tunnel, a non-zero session code malformed, padding after the PPPoE
 * length ignored. */
static void test_pppoe(void)
{
    struct buf b = {.n = 0};
    eth(&b, 0x8863); /* PADI with a Service-Name tag */
    put8(&b, 0x11);
    put8(&b, 0x09);
    put16(&b, 0);
    put16(&b, 4);
    put16(&b, 0x0101);
    put16(&b, 0);
    expect_skip("PPPoE PADI", 1, &b, CS_DECODE_SKIP_PPPOE_DISCOVERY);
    CU_ASSERT_STRING_EQUAL(cs_decode_skip_name(CS_DECODE_SKIP_PPPOE_DISCOVERY), "PPPoE discovery");
    CU_ASSERT_STRING_EQUAL(cs_decode_skip_key(CS_DECODE_SKIP_PPPOE_DISCOVERY), "pppoe_discovery");

    struct buf lcp = {.n = 0};
    put8(&lcp, 9);
    put8(&lcp, 1);
    put16(&lcp, 8);
    put32(&lcp, 0);
    b.n = 0;
    pppoe(&b, 0xc021, &lcp);
    expect_skip("PPPoE LCP echo", 1, &b, CS_DECODE_SKIP_PPP_NON_IP);

    struct buf ip = v4_packet(5);
    b.n = 0;
    pppoe(&b, 0x0021, &ip);
    b.b[14] = 0x21; /* version 2 */
    expect_skip("PPPoE version 2", 1, &b, CS_DECODE_SKIP_TUNNEL);
    b.b[14] = 0x11;
    b.b[15] = 0xa7; /* PADT code inside a session frame */
    expect_error("PPPoE session with code 0xa7", 1, &b, 1);

    b.n = 0;
    pppoe(&b, 0x0021, &ip);
    putz(&b, 20); /* Ethernet padding */
    struct cs_decoder *d = cs_decoder_new(NULL);
    struct result r = decode_buf(d, 1, &b);
    check_segment(&r, 4, 5);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->truncated, 0);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->tunneled, 0);
    cs_decoder_free(d);

    /* the PPP link types: LCP, and a Cisco SLARP keepalive */
    b.n = 0;
    put8(&b, 0xff);
    put8(&b, 0x03);
    put16(&b, 0xc021);
    put(&b, lcp.b, lcp.n);
    expect_skip("PPP LCP", 9, &b, CS_DECODE_SKIP_PPP_NON_IP);
    expect_skip("PPP_HDLC LCP", 50, &b, CS_DECODE_SKIP_PPP_NON_IP);
    b.n = 0;
    put8(&b, 0x8f);
    put8(&b, 0);
    put16(&b, 0x8035);
    putz(&b, 18);
    expect_skip("C-HDLC SLARP", 104, &b, CS_DECODE_SKIP_ARP);
    expect_skip("PPP_HDLC Cisco SLARP", 50, &b, CS_DECODE_SKIP_ARP);
}

/* Tunnels inside tunnels: followed up to CS_DECODE_MAX_TUNNELS, one more is
 * counted as nesting and not followed. */
static void test_nesting(void)
{
    for (int depth = 1; depth <= CS_DECODE_MAX_TUNNELS + 2; depth++) {
        struct buf cur = v4_packet(3);
        for (int k = 0; k < depth; k++) {
            struct buf next = {.n = 0}, g = {.n = 0};
            if (k % 2) { /* alternate GRE and VXLAN */
                struct buf v = {.n = 0}, u = {.n = 0}, e = ether_of(&cur);
                vxlan_hdr(&v, 0x08, 0);
                put(&v, e.b, e.n);
                udp(&u, 4789, &v);
                ipv4(&next, &u, 17, 0, 1, 0);
            } else {
                gre(&g, GRE_K, 0x0800, &cur);
                ipv4(&next, &g, 47, 0, 1, 0);
            }
            cur = next;
        }
        struct cs_decoder *d = cs_decoder_new(NULL);
        struct result r = decode_buf(d, 228, &cur);
        const struct cs_decode_stats *st = cs_decoder_stats(d);
        if (depth <= CS_DECODE_MAX_TUNNELS) {
            check_segment(&r, 4, 3);
            CU_ASSERT_EQUAL(st->tunneled, 1);
        } else {
            CU_ASSERT_EQUAL(r.rc, CS_DECODE_SKIP);
            CU_ASSERT_EQUAL(st->skipped[CS_DECODE_SKIP_NESTING], 1);
            CU_ASSERT_EQUAL(st->non_tcp, 1);
            CU_ASSERT_EQUAL(st->tcp, 0);
        }
        check_skip_sums(d);
        cs_decoder_free(d);
    }
}

/* Every kind has a distinct name and a distinct lower-case key. */
static void test_skip_names(void)
{
    for (int a = 0; a < CS_DECODE_SKIP_KINDS; a++) {
        const char *key = cs_decode_skip_key((enum cs_decode_skip)a);
        CU_ASSERT(strlen(cs_decode_skip_name((enum cs_decode_skip)a)) > 1);
        CU_ASSERT(strspn(key, "abcdefghijklmnopqrstuvwxyz_") == strlen(key) && *key);
        for (int b = 0; b < a; b++) {
            CU_ASSERT(strcmp(cs_decode_skip_name((enum cs_decode_skip)a),
                             cs_decode_skip_name((enum cs_decode_skip)b)) != 0);
            CU_ASSERT(strcmp(key, cs_decode_skip_key((enum cs_decode_skip)b)) != 0);
        }
    }
    CU_ASSERT_STRING_EQUAL(cs_decode_skip_name(CS_DECODE_SKIP_KINDS), "?");
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"every link type", test_link_types},
        {"non-TCP and non-IP frames are skipped", test_skips},
        {"IPv4/TCP options, Ethernet padding", test_options_and_padding},
        {"IPv6 extension headers", test_ipv6_ext},
        {"malformed headers", test_malformed},
        {"snaplen cut", test_snaplen_cut},
        {"every prefix of every frame", test_every_prefix},
        {"garbage", test_garbage},
        {"every tunnel", test_tunnels},
        {"every prefix of every tunnel frame", test_tunnel_prefixes},
        {"garbage in tunnel headers", test_tunnel_garbage},
        {"GRE options", test_gre_options},
        {"Geneve options length", test_geneve_options},
        {"VXLAN payloads", test_vxlan_payloads},
        {"ERSPAN errors", test_erspan_errors},
        {"PPPoE and PPP non-IP", test_pppoe},
        {"tunnel nesting limit", test_nesting},
        {"skip kind names", test_skip_names},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("decode", cases);
    return cs_test_run();
}
