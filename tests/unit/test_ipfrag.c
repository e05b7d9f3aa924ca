/* Unit tests for IP fragment reassembly (ipfrag.c), through the decoder and
 * on its own: order, overlaps, conflicts, timeout, byte cap, bad fragments. */
#include "decode_frames.h"

/* ---- fragments ------------------------------------------------------- */

#define FRAG_PLEN 100 /* TCP payload; the TCP segment is 120 bytes */

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

struct piece {
    size_t off, len;
    int more;
};

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
            CU_ASSERT_EQUAL(r.seg.frame, (uint64_t)i + 1); /* the completing fragment */
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
    memset(bad.b + 48, 'X', 8); /* differs in [48,56): held from the first */
    struct buf f1 = v4_fragment(&l4, 0, 56, 1, 9);
    struct buf f2 = v4_fragment(&bad, 48, 48, 1, 9);
    struct buf f3 = v4_fragment(&l4, 96, 24, 0, 9);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &f1).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(decode_buf(d, 1, &f2).rc, CS_DECODE_SKIP);
    struct cs_frame fr = {.number = 3, .linktype = 1, .data = f3.b, .caplen = (uint32_t)f3.n, .wirelen = (uint32_t)f3.n};
    struct cs_segment seg;
    CU_ASSERT_EQUAL_FATAL(cs_decode_frame(d, &fr, &seg), CS_DECODE_SEGMENT);
    CU_ASSERT_EQUAL(seg.payload_len, FRAG_PLEN);
    CU_ASSERT(memcmp(seg.payload, l4.b + 20, FRAG_PLEN) == 0); /* first-arrived bytes */
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
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->held_datagrams, 1); /* the last one waits */
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
        feed(d, 0, &l4, p, (const int[]){0}, 1, NULL, id); /* first fragments only */
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

    f = v4_fragment(&l4, 0, 44, 1, 4); /* 44: not a multiple of 8 */
    CU_ASSERT_EQUAL(decode_buf(d, 1, &f).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->malformed, 1);

    f = v4_fragment(&l4, 0, 48, 1, 4);
    f.b[14 + 6] = 0x3f; /* offset 8191*8 + 48 > 65535 */
    f.b[14 + 7] = 0xff;
    CU_ASSERT_EQUAL(decode_buf(d, 1, &f).rc, CS_DECODE_SKIP);
    CU_ASSERT_EQUAL(cs_decoder_ipfrag_stats(d)->malformed, 2);
    CU_ASSERT_EQUAL(cs_decoder_stats(d)->frag_dropped, 3);

    f = v4_fragment(&l4, 0, 48, 1, 4); /* UDP fragment: not held at all */
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
    put8(&frag_part, 6);
    put8(&frag_part, 0);
    putz(&frag_part, 6);       /* dstopts -> TCP */
    put(&frag_part, t.b, t.n); /* 128 bytes */
    struct cs_decoder *d = cs_decoder_new(NULL);
    enum cs_decode_result rc[2];
    struct cs_segment seg;
    for (int i = 0; i < 2; i++) {
        struct buf part = {.n = 0}, ext = {.n = 0}, b = {.n = 0};
        int k = 1 - i; /* second half first */
        put(&part, frag_part.b + 64 * k, 64);
        put8(&ext, 60);
        put8(&ext, 0);
        put16(&ext, (uint16_t)(64 * k | (k == 0)));
        put32(&ext, 0xabcdef01u);
        ipv6(&b, 44, &ext, &part);
        struct cs_frame fr = {.number = 10u + (unsigned)i, .linktype = 229, .data = b.b, .caplen = (uint32_t)b.n, .wirelen = (uint32_t)b.n};
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
    put8(&ext, 17);
    put8(&ext, 0);
    put16(&ext, 1);
    put32(&ext, 5);
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
                                            &out_len),
                              CS_IPFRAG_COMPLETE);
        CU_ASSERT_EQUAL(out_len, 8 + (uint32_t)i + 1);
    }
    CU_ASSERT_EQUAL(cs_ipfrag_stats(f)->held_bytes, 0);
    CU_ASSERT_EQUAL(cs_ipfrag_stats(f)->completed, 5);
    cs_ipfrag_free(f);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
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
    cs_test_add_suite("ipfrag", cases);
    return cs_test_run();
}
