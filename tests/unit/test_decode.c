/* Unit tests for the decode stage: every link type, IPv4/IPv6 headers and
 * options, malformed and truncated frames, every prefix of valid frames and
 * garbage, all read from guarded copies (see decode_frames.h).  Fragments are in
 * test_ipfrag.c. */
#include "decode_frames.h"

/* ---- link layers ----------------------------------------------------- */

enum { NET_V4, NET_V6 };

struct link_case {
    const char *name;
    int linktype;
    int net;
    void (*hdr)(struct buf *b, int net);
};

static void h_eth(struct buf *b, int net) { eth(b, net == NET_V4 ? 0x0800 : 0x86dd); }
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
    put32(b, (1000u << 12) | 0x40);          /* label 1000, not bottom */
    put32(b, (2000u << 12) | 0x100 | 0x40);  /* label 2000, bottom of stack */
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
    eth(b, 0x0030);                          /* 802.3 length */
    static const uint8_t llc[6] = {0xaa, 0xaa, 0x03, 0, 0, 0};
    put(b, llc, 6);
    put16(b, net == NET_V4 ? 0x0800 : 0x86dd);
}
static void h_sll(struct buf *b, int net)
{
    put16(b, 0);                             /* packet type: to us */
    put16(b, 1);                             /* ARPHRD_ETHER */
    put16(b, 6);
    static const uint8_t a[8] = {2, 0, 0, 0, 0, 1, 0, 0};
    put(b, a, 8);
    put16(b, net == NET_V4 ? 0x0800 : 0x86dd);
}
static void h_sll2(struct buf *b, int net)
{
    put16(b, net == NET_V4 ? 0x0800 : 0x86dd);
    put16(b, 0);
    put32(b, 3);                             /* ifindex */
    put16(b, 1);
    put8(b, 0);
    put8(b, 6);
    static const uint8_t a[8] = {2, 0, 0, 0, 0, 1, 0, 0};
    put(b, a, 8);
}
static void h_null_le(struct buf *b, int net) { putle32(b, net == NET_V4 ? 2 : 30); }
static void h_null_be(struct buf *b, int net) { put32(b, net == NET_V4 ? 2 : 28); }
static void h_null_le24(struct buf *b, int net) { putle32(b, net == NET_V4 ? 2 : 24); }
static void h_loop(struct buf *b, int net) { put32(b, net == NET_V4 ? 2 : 24); }
static void h_none(struct buf *b, int net) { (void)b; (void)net; }

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
    eth(&b, 0x0806);                         /* ARP */
    putz(&b, 28);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_ip, 1);

    b.n = 0;                                 /* STP: 802.3 + plain LLC */
    eth(&b, 0x0026);
    put8(&b, 0x42); put8(&b, 0x42); put8(&b, 0x03);
    putz(&b, 35);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_ip, 2);

    b.n = 0;                                 /* LOOP is network order only */
    putle32(&b, 2);
    struct buf ip = v4_packet(0);
    put(&b, ip.b, ip.n);
    CU_ASSERT_EQUAL(decode_buf(d, 108, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_ip, 3);

    b.n = 0;                                 /* MPLS carrying something else */
    eth(&b, 0x8847);
    put32(&b, 0x100);
    putz(&b, 40);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_ip, 4);

    struct buf udp = {.n = 0};
    put16(&udp, 53); put16(&udp, 53); put16(&udp, 8); put16(&udp, 0);
    b.n = 0;
    eth(&b, 0x0800);
    ipv4(&b, &udp, 17, 0, 9, 0);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_tcp, 1);

    b.n = 0;                                 /* IPv6: ESP, no next header, ICMPv6 */
    const uint8_t nhs[] = {50, 59, 58};
    for (size_t i = 0; i < sizeof nhs; i++) {
        b.n = 0;
        ipv6(&b, nhs[i], NULL, &udp);
        CU_ASSERT_EQUAL(decode_buf(d, 229, &b).rc, CS_DECODE_SKIP);
    }
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_tcp, 4);

    /* IPv6 hop-by-hop then UDP */
    struct buf ext = {.n = 0};
    put8(&ext, 17); put8(&ext, 0); putz(&ext, 6);
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
    for (int ipo = 0; ipo <= 10; ipo += 5) {
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
    putz(&b, 60 - b.n);                     /* minimum Ethernet frame */
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
    put8(&ext, 43); put8(&ext, 0); putz(&ext, 6);          /* hop-by-hop, 8 bytes */
    put8(&ext, 60); put8(&ext, 2); putz(&ext, 22);         /* routing, 24 bytes */
    put8(&ext, 51); put8(&ext, 0); putz(&ext, 6);          /* destination options */
    put8(&ext, 44); put8(&ext, 4); putz(&ext, 22);         /* AH: (4+2)*4 = 24 */
    put8(&ext, 6); put8(&ext, 0); put16(&ext, 0); put32(&ext, 77); /* atomic fragment */
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
    const struct { const char *name; size_t off; uint8_t val; int linktype; } cases[] = {
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
    put8(&ext, 6); put8(&ext, 200); putz(&ext, 6);
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
    static const int lts[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276};
    uint8_t bytes[200];
    for (int round = 0; round < 3000; round++) {
        size_t len = (size_t)(round % 200);
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
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
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("decode", cases);
    return cs_test_run();
}
