/* Unit tests for the decode stage and IP fragment reassembly.  Every frame is
 * built by hand here; every decode reads from a guarded copy (the frame ends
 * right before an unreadable page), so an over-read crashes the test. */
#include <stdio.h>

#include "testutil.h"
#include "decode.h"
#include "ipfrag.h"

/* ---- frame building -------------------------------------------------- */

struct buf { uint8_t b[4096]; size_t n; };

static void put(struct buf *b, const void *p, size_t n)
{
    CU_ASSERT_FATAL(b->n + n <= sizeof b->b);
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void put8(struct buf *b, uint8_t v) { put(b, &v, 1); }
static void put16(struct buf *b, uint16_t v) { uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v}; put(b, x, 2); }
static void put32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, x, 4);
}
static void putle32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}
static void putz(struct buf *b, size_t n) { while (n--) put8(b, 0); }

static const uint8_t V4SRC[4] = {192, 0, 2, 1}, V4DST[4] = {198, 51, 100, 7};
static const uint8_t V6SRC[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t V6DST[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2};

#define SPORT 40000
#define DPORT 80
#define SEQ 0x11223344u
#define ACK 0x55667788u
#define WIN 0x7210

/* TCP header (doff 5 + opt_words) then payload "GET /..." of plen bytes. */
static void tcp(struct buf *b, int opt_words, size_t plen)
{
    put16(b, SPORT);
    put16(b, DPORT);
    put32(b, SEQ);
    put32(b, ACK);
    put8(b, (uint8_t)((5 + opt_words) << 4));
    put8(b, 0x18);                  /* PSH ACK */
    put16(b, WIN);
    put16(b, 0xdead);               /* checksum: never checked */
    put16(b, 0);
    for (int i = 0; i < opt_words; i++)
        put32(b, 0x01010101);       /* NOPs */
    for (size_t i = 0; i < plen; i++)
        put8(b, (uint8_t)("GET /cors HTTP/1.1\r\n"[i % 20]));
}

static struct buf l4_tcp(int opt_words, size_t plen)
{
    struct buf t = {.n = 0};
    tcp(&t, opt_words, plen);
    return t;
}

/* IPv4 header with opt_words of options around the l4 bytes. */
static void ipv4(struct buf *b, const struct buf *l4, uint8_t proto, int opt_words, uint16_t id,
                 uint16_t frag_field)
{
    put8(b, (uint8_t)(0x40 | (5 + opt_words)));
    put8(b, 0);
    put16(b, (uint16_t)(20 + 4 * opt_words + l4->n));
    put16(b, id);
    put16(b, frag_field);
    put8(b, 64);
    put8(b, proto);
    put16(b, 0);
    put(b, V4SRC, 4);
    put(b, V4DST, 4);
    for (int i = 0; i < opt_words; i++)
        put32(b, 0x01010101);
    put(b, l4->b, l4->n);
}

/* IPv6 header; ext holds already-built extension headers, first_nh the
 * next-header value after the fixed header. */
static void ipv6(struct buf *b, uint8_t first_nh, const struct buf *ext, const struct buf *l4)
{
    put32(b, 0x60000000);
    put16(b, (uint16_t)((ext ? ext->n : 0) + l4->n));
    put8(b, first_nh);
    put8(b, 64);
    put(b, V6SRC, 16);
    put(b, V6DST, 16);
    if (ext)
        put(b, ext->b, ext->n);
    put(b, l4->b, l4->n);
}

static void eth(struct buf *b, uint16_t type)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
    put(b, macs, 12);
    put16(b, type);
}

static struct buf v4_packet(size_t plen)
{
    struct buf ip = {.n = 0}, t = l4_tcp(0, plen);
    ipv4(&ip, &t, 6, 0, 1, 0x4000);
    return ip;
}

static struct buf v6_packet(size_t plen)
{
    struct buf ip = {.n = 0}, t = l4_tcp(0, plen);
    ipv6(&ip, 6, NULL, &t);
    return ip;
}

/* ---- decoding helpers ------------------------------------------------ */

struct result {
    enum cs_decode_result rc;
    struct cs_segment seg;
    size_t payload_off;             /* payload - frame start, when inside the frame */
};

/* Decodes bytes[0..caplen) (wirelen on the wire) from a guarded copy. */
static struct result decode_guarded(struct cs_decoder *d, int linktype, const uint8_t *bytes,
                                    size_t caplen, size_t wirelen, uint64_t number, cs_time_ns ts)
{
    struct guarded g = guarded_copy(bytes, caplen);
    struct cs_frame fr = {.number = number, .ts = ts, .linktype = linktype, .data = g.data,
                          .caplen = (uint32_t)caplen, .wirelen = (uint32_t)wirelen};
    struct result r;
    memset(&r, 0, sizeof r);
    r.rc = cs_decode_frame(d, &fr, &r.seg);
    if (r.rc == CS_DECODE_SEGMENT) {
        CU_ASSERT(r.seg.payload_len <= r.seg.wire_payload_len);
        if (r.seg.payload >= g.data && r.seg.payload <= g.data + caplen) {
            r.payload_off = (size_t)(r.seg.payload - g.data);
            CU_ASSERT(r.payload_off + r.seg.payload_len <= caplen);
        }
        r.seg.payload = NULL;       /* the copy goes away */
    }
    guarded_free(&g);
    return r;
}

static struct result decode_buf(struct cs_decoder *d, int linktype, const struct buf *b)
{
    return decode_guarded(d, linktype, b->b, b->n, b->n, 1, 0);
}

/* Checks every field of a segment decoded from v4_packet / v6_packet. */
static void check_segment(const struct result *r, int family, size_t plen)
{
    CU_ASSERT_EQUAL_FATAL(r->rc, CS_DECODE_SEGMENT);
    CU_ASSERT_EQUAL(r->seg.src.family, family);
    CU_ASSERT_EQUAL(r->seg.dst.family, family);
    CU_ASSERT(memcmp(r->seg.src.bytes, family == 4 ? V4SRC : V6SRC, family == 4 ? 4 : 16) == 0);
    CU_ASSERT(memcmp(r->seg.dst.bytes, family == 4 ? V4DST : V6DST, family == 4 ? 4 : 16) == 0);
    if (family == 4) {
        static const uint8_t zero[12];
        CU_ASSERT(memcmp(r->seg.src.bytes + 4, zero, 12) == 0);
    }
    CU_ASSERT_EQUAL(r->seg.sport, SPORT);
    CU_ASSERT_EQUAL(r->seg.dport, DPORT);
    CU_ASSERT_EQUAL(r->seg.seq, SEQ);
    CU_ASSERT_EQUAL(r->seg.ack, ACK);
    CU_ASSERT_EQUAL(r->seg.flags, CS_TCP_PSH | CS_TCP_ACK);
    CU_ASSERT_EQUAL(r->seg.window, WIN);
    CU_ASSERT_EQUAL(r->seg.payload_len, plen);
    CU_ASSERT_EQUAL(r->seg.wire_payload_len, plen);
}

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

/* ---- fragments ------------------------------------------------------- */

#define FRAG_PLEN 100   /* TCP payload; the TCP segment is 120 bytes */

/* IPv4 fragment frame (Ethernet) carrying l4[off, off+len). */
static struct buf v4_fragment(const struct buf *l4, size_t off, size_t len, int more, uint16_t id)
{
    struct buf part = {.n = 0}, b = {.n = 0};
    put(&part, l4->b + off, len);
    eth(&b, 0x0800);
    ipv4(&b, &part, 6, 0, id, (uint16_t)((more ? 0x2000 : 0) | off / 8));
    return b;
}

/* IPv6 fragment frame (raw) carrying l4[off, off+len). */
static struct buf v6_fragment(const struct buf *l4, size_t off, size_t len, int more, uint32_t id)
{
    struct buf part = {.n = 0}, ext = {.n = 0}, b = {.n = 0};
    put(&part, l4->b + off, len);
    put8(&ext, 6);
    put8(&ext, 0);
    put16(&ext, (uint16_t)(off | (more ? 1 : 0)));
    put32(&ext, id);
    ipv6(&b, 44, &ext, &part);
    return b;
}

struct piece { size_t off, len; int more; };

/* Feeds fragments in the given order; returns how many completed, checks the
 * completed segment against the original. */
static int feed(struct cs_decoder *d, int v6, const struct buf *l4, const struct piece *p,
                const int *order, int n, const cs_time_ns *ts, uint32_t id)
{
    int done = 0;
    for (int i = 0; i < n; i++) {
        const struct piece *q = &p[order[i]];
        struct buf f = v6 ? v6_fragment(l4, q->off, q->len, q->more, id)
                          : v4_fragment(l4, q->off, q->len, q->more, (uint16_t)id);
        struct result r = decode_guarded(d, v6 ? 229 : 1, f.b, f.n, f.n, (uint64_t)i + 1,
                                         ts ? ts[i] : 0);
        if (r.rc == CS_DECODE_SEGMENT) {
            done++;
            check_segment(&r, v6 ? 6 : 4, FRAG_PLEN);
            CU_ASSERT_EQUAL(r.seg.frame, (uint64_t)i + 1);   /* the completing fragment */
        } else {
            CU_ASSERT_EQUAL(r.rc, CS_DECODE_SKIP);
        }
    }
    return done;
}

static void test_fragments(void)
{
    struct buf l4 = l4_tcp(0, FRAG_PLEN);
    const struct piece p[3] = {{0, 48, 1}, {48, 48, 1}, {96, 24, 0}};
    const int orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}};
    for (int v6 = 0; v6 < 2; v6++) {
        for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
            struct cs_decoder *d = cs_decoder_new(NULL);
            CU_ASSERT_EQUAL(feed(d, v6, &l4, p, orders[o], 3, NULL, 0x1234), 1);
            const struct cs_decode_stats *st = cs_decoder_stats(d);
            CU_ASSERT_EQUAL(st->fragments, 3);
            CU_ASSERT_EQUAL(st->reassembled, 1);
            CU_ASSERT_EQUAL(st->frag_dropped, 0);
            CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->held_bytes, 0);
            CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->held_datagrams, 0);
            cs_decoder_free(d);
        }
    }
    /* Two datagrams interleaved, told apart by their id. */
    struct cs_decoder *d = cs_decoder_new(NULL);
    int done = 0;
    for (int i = 0; i < 3; i++) {
        done += feed(d, 0, &l4, p, (const int[]){i}, 1, NULL, 1);
        done += feed(d, 0, &l4, p, (const int[]){2 - i}, 1, NULL, 2);
    }
    CU_ASSERT_EQUAL(done, 2);
    cs_decoder_free(d);
}

/* Overlaps: identical overlapping data is fine; differing data keeps the
 * first-arrived bytes and is counted as a conflict. */
static void test_fragment_overlap(void)
{
    struct buf l4 = l4_tcp(0, FRAG_PLEN);
    const struct piece p[4] = {{0, 56, 1}, {48, 48, 1}, {40, 80, 0}, {96, 24, 0}};
    struct cs_decoder *d = cs_decoder_new(NULL);
    CU_ASSERT_EQUAL(feed(d, 0, &l4, p, (const int[]){0, 1, 2}, 3, NULL, 5), 1);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->overlaps, 2);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->conflicts, 0);
    cs_decoder_free(d);

    /* Second fragment carries different bytes where it overlaps the first. */
    d = cs_decoder_new(NULL);
    struct buf bad = l4;
    memset(bad.b + 48, 'X', 8);              /* differs in [48,56): held from the first */
    struct buf f1 = v4_fragment(&l4, 0, 56, 1, 9);
    struct buf f2 = v4_fragment(&bad, 48, 48, 1, 9);
    struct buf f3 = v4_fragment(&l4, 96, 24, 0, 9);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &f1).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &f2).rc, CS_DECODE_SKIP);
    struct cs_frame fr = {.number = 3, .linktype = 1, .data = f3.b,
                          .caplen = (uint32_t)f3.n, .wirelen = (uint32_t)f3.n};
    struct cs_segment seg;
    CU_ASSERT_EQUAL_FATAL(cs_decode_frame(d, &fr, &seg), CS_DECODE_SEGMENT);
    CU_ASSERT_EQUAL(seg.payload_len, FRAG_PLEN);
    CU_ASSERT(memcmp(seg.payload, l4.b + 20, FRAG_PLEN) == 0);   /* first-arrived bytes */
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->conflicts, 1);
    cs_decoder_free(d);

    /* Two last fragments that disagree on the end: the datagram is dropped. */
    d = cs_decoder_new(NULL);
    const struct piece q[3] = {{96, 24, 0}, {48, 24, 0}, {0, 48, 1}};
    CU_ASSERT_EQUAL(feed(d, 1, &l4, q, (const int[]){0, 1, 2}, 3, NULL, 5), 0);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->malformed, 1);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->frag_dropped, 2);
    cs_decoder_free(d);
}

/* A datagram whose fragments span more than the timeout is dropped; one
 * inside it completes. */
static void test_fragment_timeout(void)
{
    struct cs_limits lim;
    cs_limits_default(&lim);
    lim.ipfrag_timeout_s = 30;
    struct buf l4 = l4_tcp(0, FRAG_PLEN);
    const struct piece p[3] = {{0, 48, 1}, {48, 48, 1}, {96, 24, 0}};
    const int order[3] = {0, 1, 2};
    const cs_time_ns S = 1000000000LL;
    const cs_time_ns late[3] = {100 * S, 110 * S, 131 * S};
    const cs_time_ns ok[3] = {100 * S, 110 * S, 130 * S};

    struct cs_decoder *d = cs_decoder_new(&lim);
    CU_ASSERT_EQUAL(feed(d, 0, &l4, p, order, 3, late, 1), 0);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->timeouts, 1);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->frag_dropped, 2);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->held_datagrams, 1);   /* the last one waits */
    /* Any later frame expires what is due, fragment or not. */
    struct buf other = v4_packet(0);
    decode_guarded(d, 228, other.b, other.n, other.n, 9, 200 * S);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->held_datagrams, 0);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->held_bytes, 0);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->frag_dropped, 3);
    cs_decoder_free(d);

    d = cs_decoder_new(&lim);
    CU_ASSERT_EQUAL(feed(d, 1, &l4, p, order, 3, ok, 1), 1);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->timeouts, 0);
    cs_decoder_free(d);
}

/* The byte cap: held bytes never exceed it; the oldest datagrams go first,
 * so newer ones still complete; a fragment bigger than the cap is refused. */
static void test_fragment_cap(void)
{
    struct cs_limits lim;
    cs_limits_default(&lim);
    lim.max_ipfrag_bytes = 600;
    struct buf l4 = l4_tcp(0, FRAG_PLEN);
    const struct piece p[3] = {{0, 48, 1}, {48, 48, 1}, {96, 24, 0}};
    struct cs_decoder *d = cs_decoder_new(&lim);
    for (uint32_t id = 1; id <= 20; id++) {
        feed(d, 0, &l4, p, (const int[]){0}, 1, NULL, id);    /* first fragments only */
        CU_ASSERT(cs_decoder_ipfrag_stats(d)->held_bytes <= lim.max_ipfrag_bytes);
    }
    CU_ASSERT(cs_decoder_ipfrag_stats(d)->cap_evictions > 0);
    CU_ASSERT(cs_decoder_stats(d)->frag_dropped > 0);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->frag_dropped, cs_decoder_ipfrag_stats(d)->cap_evictions);
    /* The newest datagram is still there: completing it works. */
    CU_ASSERT_EQUAL(feed(d, 0, &l4, p, (const int[]){1, 2}, 2, NULL, 20), 1);
    /* The oldest is gone: completing it does not. */
    CU_ASSERT_EQUAL(feed(d, 0, &l4, p, (const int[]){1, 2}, 2, NULL, 1), 0);
    cs_decoder_free(d);

    lim.max_ipfrag_bytes = 64;
    d = cs_decoder_new(&lim);
    CU_ASSERT_EQUAL(feed(d, 0, &l4, p, (const int[]){0, 1, 2}, 3, NULL, 3), 0);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->cap_refused, 3);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->frag_dropped, 3);
    cs_decoder_free(d);
}

/* Fragments that cannot be rebuilt: cut by the snaplen, not a multiple of 8,
 * beyond 65535, not TCP. */
static void test_fragment_bad(void)
{
    struct buf l4 = l4_tcp(0, FRAG_PLEN);
    struct cs_decoder *d = cs_decoder_new(NULL);
    struct buf f = v4_fragment(&l4, 0, 48, 1, 4);
    CU_ASSERT_EQUAL(decode_guarded(d, 1, f.b, f.n - 4, f.n, 1, 0).rc, CS_DECODE_ERROR);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->truncated, 1);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->frag_dropped, 1);

    f = v4_fragment(&l4, 0, 44, 1, 4);       /* 44: not a multiple of 8 */
    CU_ASSERT_EQUAL(decode_buf(d, 1, &f).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->malformed, 1);

    f = v4_fragment(&l4, 0, 48, 1, 4);
    f.b[14 + 6] = 0x3f;                      /* offset 8191*8 + 48 > 65535 */
    f.b[14 + 7] = 0xff;
    CU_ASSERT_EQUAL(decode_buf(d, 1, &f).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->malformed, 2);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->frag_dropped, 3);

    f = v4_fragment(&l4, 0, 48, 1, 4);       /* UDP fragment: not held at all */
    f.b[14 + 9] = 17;
    CU_ASSERT_EQUAL(decode_buf(d, 1, &f).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_tcp, 1);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->held_datagrams, 0);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->fragments, 4);
    cs_decoder_free(d);
}

/* IPv6: the fragmentable part starts with a destination options header;
 * the chain is walked on in the rebuilt datagram.  A UDP fragment is not held. */
static void test_fragment_v6_ext(void)
{
    struct buf frag_part = {.n = 0}, t = l4_tcp(0, FRAG_PLEN);
    put8(&frag_part, 6); put8(&frag_part, 0); putz(&frag_part, 6);   /* dstopts -> TCP */
    put(&frag_part, t.b, t.n);                                        /* 128 bytes */
    struct cs_decoder *d = cs_decoder_new(NULL);
    enum cs_decode_result rc[2];
    struct cs_segment seg;
    for (int i = 0; i < 2; i++) {
        struct buf part = {.n = 0}, ext = {.n = 0}, b = {.n = 0};
        int k = 1 - i;                       /* second half first */
        put(&part, frag_part.b + 64 * k, 64);
        put8(&ext, 60);
        put8(&ext, 0);
        put16(&ext, (uint16_t)(64 * k | (k == 0)));
        put32(&ext, 0xabcdef01u);
        ipv6(&b, 44, &ext, &part);
        struct cs_frame fr = {.number = 10u + (unsigned)i, .linktype = 229, .data = b.b,
                              .caplen = (uint32_t)b.n, .wirelen = (uint32_t)b.n};
        rc[i] = cs_decode_frame(d, &fr, &seg);
    }
    CU_ASSERT_EQUAL(rc[0], CS_DECODE_SKIP);
    CU_ASSERT_EQUAL_FATAL(rc[1], CS_DECODE_SEGMENT);
    CU_ASSERT_EQUAL(seg.frame, 11);
    CU_ASSERT_EQUAL(seg.sport, SPORT);
    CU_ASSERT_EQUAL(seg.payload_len, FRAG_PLEN);
    CU_ASSERT(memcmp(seg.payload, t.b + 20, FRAG_PLEN) == 0);
    CU_ASSERT_EQUAL(seg.src.family, 6);

    struct buf udp = {.n = 0}, ext = {.n = 0}, b = {.n = 0};
    putz(&udp, 16);
    put8(&ext, 17); put8(&ext, 0); put16(&ext, 1); put32(&ext, 5);
    ipv6(&b, 44, &ext, &udp);
    CU_ASSERT_EQUAL(decode_buf(d, 229, &b).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->non_tcp, 1);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->fragments, 3);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->held_datagrams, 0);
    cs_decoder_free(d);
}

/* ipfrag.c on its own: held bytes go back to zero, keys differ by family,
 * addresses, id and protocol. */
static void test_ipfrag_keys(void)
{
    struct cs_ipfrag *f = cs_ipfrag_new(1 << 20, 30);
    uint8_t data[16];
    memset(data, 'a', sizeof data);
    struct cs_ipfrag_key k[5];
    memset(k, 0, sizeof k);
    for (int i = 0; i < 5; i++) {
        k[i].src.family = k[i].dst.family = 4;
        k[i].src.bytes[0] = 10;
        k[i].id = 7;
        k[i].proto = 6;
    }
    k[1].src.family = k[1].dst.family = 6;
    k[2].dst.bytes[3] = 1;
    k[3].id = 8;
    k[4].proto = 17;
    const uint8_t *out;
    uint32_t out_len;
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(cs_ipfrag_add(f, &k[i], 0, 0, 1, data, 8, &out, &out_len), CS_IPFRAG_HELD);
    CU_ASSERT_EQUAL(cs_ipfrag_stats(f)->held_datagrams, 5);
    for (int i = 4; i >= 0; i--) {
        CU_ASSERT_EQUAL_FATAL(cs_ipfrag_add(f, &k[i], 0, 8, 0, data, (uint32_t)i + 1, &out,
                                            &out_len), CS_IPFRAG_COMPLETE);
        CU_ASSERT_EQUAL(out_len, 8 + (uint32_t)i + 1);
    }
    CU_ASSERT_EQUAL(cs_ipfrag_stats(f)->held_bytes, 0);
    CU_ASSERT_EQUAL(cs_ipfrag_stats(f)->completed, 5);
    cs_ipfrag_free(f);
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
        {"fragments in any order, v4 and v6", test_fragments},
        {"overlapping fragments", test_fragment_overlap},
        {"fragment timeout", test_fragment_timeout},
        {"fragment byte cap", test_fragment_cap},
        {"unusable fragments", test_fragment_bad},
        {"IPv6 fragment with extension header inside", test_fragment_v6_ext},
        {"ipfrag keys", test_ipfrag_keys},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("decode", cases);
    return cs_test_run();
}
