/* Frame builders shared by test_decode.c and test_ipfrag.c: Ethernet, IPv4,
 * IPv6 and TCP headers written by hand into a struct buf, and a decode
 * helper that reads every frame from a guarded copy (the frame ends right
 * before an unreadable page). */
#ifndef CS_DECODE_FRAMES_H
#define CS_DECODE_FRAMES_H

#include <stdio.h>

#include "testutil.h"
#include "decode.h"
#include "ipfrag.h"

/* ---- frame building -------------------------------------------------- */

struct buf {
    uint8_t b[4096];
    size_t n;
};

static inline void put(struct buf *b, const void *p, size_t n)
{
    CU_ASSERT_FATAL(b->n + n <= sizeof b->b);
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static inline void put8(struct buf *b, uint8_t v)
{
    put(b, &v, 1);
}
static inline void put16(struct buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(b, x, 2);
}
static inline void put32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, x, 4);
}
static inline void putle32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}
static inline void putz(struct buf *b, size_t n)
{
    while (n--)
        put8(b, 0);
}

static const uint8_t V4SRC[4] = {192, 0, 2, 1}, V4DST[4] = {198, 51, 100, 7};
static const uint8_t V6SRC[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t V6DST[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2};

#define SPORT 40000
#define DPORT 80
#define SEQ 0x11223344u
#define ACK 0x55667788u
#define WIN 0x7210

/* TCP header (doff 5 + opt_words) then payload "GET /..." of plen bytes. */
static inline void tcp(struct buf *b, int opt_words, size_t plen)
{
    put16(b, SPORT);
    put16(b, DPORT);
    put32(b, SEQ);
    put32(b, ACK);
    put8(b, (uint8_t)((5 + opt_words) << 4));
    put8(b, 0x18); /* PSH ACK */
    put16(b, WIN);
    put16(b, 0xdead); /* checksum: never checked */
    put16(b, 0);
    for (int i = 0; i < opt_words; i++)
        put32(b, 0x01010101); /* NOPs */
    for (size_t i = 0; i < plen; i++)
        put8(b, (uint8_t)("GET /cors HTTP/1.1\r\n"[i % 20]));
}

static inline struct buf l4_tcp(int opt_words, size_t plen)
{
    struct buf t = {.n = 0};
    tcp(&t, opt_words, plen);
    return t;
}

/* IPv4 header with opt_words of options around the l4 bytes. */
static inline void ipv4(struct buf *b, const struct buf *l4, uint8_t proto, unsigned opt_words, uint16_t id,
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
    for (unsigned i = 0; i < opt_words; i++)
        put32(b, 0x01010101);
    put(b, l4->b, l4->n);
}

/* IPv6 header; ext holds already-built extension headers, first_nh the
 * next-header value after the fixed header. */
static inline void ipv6(struct buf *b, uint8_t first_nh, const struct buf *ext, const struct buf *l4)
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

static inline void eth(struct buf *b, uint16_t type)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
    put(b, macs, 12);
    put16(b, type);
}

static inline struct buf v4_packet(size_t plen)
{
    struct buf ip = {.n = 0}, t = l4_tcp(0, plen);
    ipv4(&ip, &t, 6, 0, 1, 0x4000);
    return ip;
}

static inline struct buf v6_packet(size_t plen)
{
    struct buf ip = {.n = 0}, t = l4_tcp(0, plen);
    ipv6(&ip, 6, NULL, &t);
    return ip;
}

/* ---- decoding helpers ------------------------------------------------ */

struct result {
    enum cs_decode_result rc;
    struct cs_segment seg;
    size_t payload_off; /* payload - frame start, when inside the frame */
};

/* Decodes bytes[0..caplen) (wirelen on the wire) from a guarded copy. */
static inline struct result decode_guarded(struct cs_decoder *d, int linktype, const uint8_t *bytes,
                                           size_t caplen, size_t wirelen, uint64_t number, cs_time_ns ts)
{
    struct guarded g = guarded_copy(bytes, caplen);
    struct cs_frame fr = {.number = number, .ts = ts, .linktype = linktype, .data = g.data, .caplen = (uint32_t)caplen, .wirelen = (uint32_t)wirelen};
    struct result r;
    memset(&r, 0, sizeof r);
    r.rc = cs_decode_frame(d, &fr, &r.seg);
    if (r.rc == CS_DECODE_SEGMENT) {
        CU_ASSERT(r.seg.payload_len <= r.seg.wire_payload_len);
        if (r.seg.payload >= g.data && r.seg.payload <= g.data + caplen) {
            r.payload_off = (size_t)(r.seg.payload - g.data);
            CU_ASSERT(r.payload_off + r.seg.payload_len <= caplen);
        }
        r.seg.payload = NULL; /* the copy goes away */
    }
    guarded_free(&g);
    return r;
}

static inline struct result decode_buf(struct cs_decoder *d, int linktype, const struct buf *b)
{
    return decode_guarded(d, linktype, b->b, b->n, b->n, 1, 0);
}

/* Checks every field of a segment decoded from v4_packet / v6_packet. */
static inline void check_segment(const struct result *r, int family, size_t plen)
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


#endif
