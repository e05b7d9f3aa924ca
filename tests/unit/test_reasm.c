/* Unit tests for reasm.c: one direction of TCP reassembly.  A recording
 * sink keeps every event (kind, length, frame) and the delivered bytes, so
 * each test checks the exact event sequence. */
#include <stdio.h>
#include <time.h>

#include "reasm.h"
#include "testutil.h"

#define MAX_EV 4096

struct rec {
    int n;
    enum cs_stream_event_kind kind[MAX_EV];
    uint32_t len[MAX_EV];
    uint64_t frame[MAX_EV];
    uint8_t *buf; /* delivered bytes; gaps as '#' */
    size_t blen, bcap;
};

static void rec_sink(void *ctx, const struct cs_stream_event *ev)
{
    struct rec *r = ctx;
    if (r->n < MAX_EV) {
        r->kind[r->n] = ev->kind;
        r->len[r->n] = ev->len;
        r->frame[r->n] = ev->frame;
    }
    r->n++;
    if (ev->kind == CS_STREAM_DATA || ev->kind == CS_STREAM_GAP) {
        CU_ASSERT_FATAL(ev->len > 0);
        if (r->blen + ev->len > r->bcap) {
            r->bcap = (r->blen + ev->len) * 2;
            r->buf = realloc(r->buf, r->bcap);
            CU_ASSERT_FATAL(r->buf != NULL);
        }
        if (ev->kind == CS_STREAM_DATA)
            memcpy(r->buf + r->blen, ev->data, ev->len);
        else
            memset(r->buf + r->blen, '#', ev->len);
        r->blen += ev->len;
    }
}

static struct rec *rec_new(void)
{
    struct rec *r = calloc(1, sizeof *r);
    CU_ASSERT_FATAL(r != NULL);
    return r;
}

static void rec_free(struct rec *r)
{
    free(r->buf);
    free(r);
}

struct ev_want {
    enum cs_stream_event_kind kind;
    uint32_t len;
    uint64_t frame;
};

/* Compares the recorded events with an expected table (frame 0 = any). */
static void expect(const struct rec *r, const struct ev_want *w, int n)
{
    CU_ASSERT_EQUAL(r->n, n);
    for (int i = 0; i < n && i < r->n; i++) {
        CU_ASSERT_EQUAL(r->kind[i], w[i].kind);
        CU_ASSERT_EQUAL(r->len[i], w[i].len);
        if (w[i].frame)
            CU_ASSERT_EQUAL(r->frame[i], w[i].frame);
        if (r->kind[i] != w[i].kind || r->len[i] != w[i].len)
            fprintf(stderr, "\n event %d: kind %d len %u, want kind %d len %u\n", i,
                    r->kind[i], r->len[i], w[i].kind, w[i].len);
    }
}

static struct cs_reasm_shared shared(uint32_t per_dir, uint64_t total)
{
    struct cs_reasm_shared sh;
    memset(&sh, 0, sizeof sh);
    sh.max_held_per_dir = per_dir;
    sh.max_held_total = total;
    sh.max_held_pieces_per_dir = UINT32_MAX;
    sh.max_held_pieces_total = UINT32_MAX;
    return sh;
}

/* Feeds one segment whose payload sits right before an unreadable page. */
static void feed_cut(struct cs_reasm *r, struct cs_reasm_shared *sh, struct rec *rc, uint64_t frame,
                     uint32_t seq, uint8_t flags, const void *data, uint32_t len, uint32_t wire)
{
    struct guarded g = guarded_copy(data, len);
    struct cs_segment s;
    memset(&s, 0, sizeof s);
    s.frame = frame;
    s.ts = (cs_time_ns)frame * 1000;
    s.seq = seq;
    s.flags = flags;
    s.payload = g.data;
    s.payload_len = len;
    s.wire_payload_len = wire;
    cs_reasm_segment(r, sh, &s, rec_sink, rc);
    guarded_free(&g);
}

static void feed(struct cs_reasm *r, struct cs_reasm_shared *sh, struct rec *rc, uint64_t frame,
                 uint32_t seq, uint8_t flags, const char *data)
{
    uint32_t len = data ? (uint32_t)strlen(data) : 0;
    feed_cut(r, sh, rc, frame, seq, flags, data, len, len);
}

#define BIG 1000000u
#define D CS_STREAM_DATA
#define G CS_STREAM_GAP
#define F CS_STREAM_FIN
#define R CS_STREAM_RST

static void test_in_order(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 1000, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 1001, CS_TCP_ACK, "hello");
    feed(&r, &sh, rc, 3, 1006, CS_TCP_ACK | CS_TCP_FIN, " world");
    static const struct ev_want w[] = {{D, 5, 2}, {D, 6, 3}, {F, 0, 3}};
    expect(rc, w, 3);
    CU_ASSERT_EQUAL(rc->blen, 11);
    CU_ASSERT_NSTRING_EQUAL(rc->buf, "hello world", 11);
    CU_ASSERT_EQUAL(sh.stats.segments, 2);
    CU_ASSERT_EQUAL(sh.stats.bytes_delivered, 11);
    CU_ASSERT_EQUAL(sh.stats.out_of_order, 0);
    /* the peer acks the FIN slot: not a gap */
    cs_reasm_ack(&r, &sh, 1013, 4, 0, rec_sink, rc);
    CU_ASSERT_EQUAL(rc->n, 3);
    CU_ASSERT_EQUAL(sh.stats.gaps, 0);
    rec_free(rc);
}

static void test_reversed(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 8, 0, "ghi");
    feed(&r, &sh, rc, 3, 5, 0, "def");
    CU_ASSERT_EQUAL(rc->n, 0);
    CU_ASSERT_EQUAL(sh.held_total, 6);
    CU_ASSERT_EQUAL(r.held_bytes, 6);
    feed(&r, &sh, rc, 4, 1, 0, "abcd");
    static const struct ev_want w[] = {{D, 4, 4}, {D, 3, 3}, {D, 3, 2}};
    expect(rc, w, 3);
    CU_ASSERT_NSTRING_EQUAL(rc->buf, "abcddefghi", 10);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    CU_ASSERT_EQUAL(r.held_bytes, 0);
    CU_ASSERT_EQUAL(sh.stats.out_of_order, 2);
    rec_free(rc);
}

/* Deterministic xorshift for the shuffles. */
static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

struct piece {
    uint32_t off, len;
};

/* A stream cut into random segments, with random duplicates and overlapping
 * retransmissions, fed in a random order: the output must be exactly the
 * original, whatever the seed and the ISN (some wrap past 2^32). */
static void permutation_run(uint64_t seed, uint32_t isn)
{
    enum { N = 6000,
           MAXP = 600 };
    static uint8_t stream[N];
    static struct piece p[MAXP];
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < N; i++)
        stream[i] = (uint8_t)rnd(256);
    int np = 0;
    for (uint32_t off = 0; off < N;) {
        uint32_t len = 1 + rnd(300);
        if (off + len > N)
            len = N - off;
        p[np++] = (struct piece){off, len};
        off += len;
    }
    int base = np;
    for (int i = 0; i < base / 4 && np < MAXP; i++) { /* overlapping retransmissions */
        uint32_t off = rnd(N), len = 1 + rnd(400);
        if (off + len > N)
            len = N - off;
        p[np++] = (struct piece){off, len};
    }
    for (int i = np - 1; i > 0; i--) {
        int j = (int)rnd((uint32_t)i + 1);
        struct piece t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, isn, CS_TCP_SYN, NULL);
    for (int i = 0; i < np; i++)
        feed_cut(&r, &sh, rc, (uint64_t)i + 2, isn + 1 + p[i].off, CS_TCP_ACK,
                 stream + p[i].off, p[i].len, p[i].len);
    CU_ASSERT_EQUAL(rc->blen, N);
    CU_ASSERT_EQUAL(sh.stats.gaps, 0);
    CU_ASSERT_EQUAL(sh.stats.overlap_conflicts, 0);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    CU_ASSERT_EQUAL(r.next_seq, isn + 1 + N);
    CU_ASSERT(rc->blen == N && memcmp(rc->buf, stream, N) == 0);
    cs_reasm_flush(&r, &sh, 9999, 0, rec_sink, rc);
    CU_ASSERT_EQUAL(rc->blen, N);
    rec_free(rc);
}

static void test_permutations(void)
{
    for (uint64_t seed = 1; seed <= 300; seed++)
        permutation_run(seed, (uint32_t)(seed * 2654435761u));
}

static void test_permutations_wrap(void)
{
    for (uint64_t seed = 1; seed <= 100; seed++)
        permutation_run(seed + 1000, 0xFFFFFFFFu - (uint32_t)(seed * 37));
}

static void test_duplicates(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 100, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 101, 0, "abcde");
    feed(&r, &sh, rc, 3, 101, 0, "abcde"); /* retransmission of delivered data */
    feed(&r, &sh, rc, 4, 111, 0, "klm");
    feed(&r, &sh, rc, 5, 111, 0, "klm"); /* duplicate of held data */
    CU_ASSERT_EQUAL(sh.held_total, 3);
    feed(&r, &sh, rc, 6, 106, 0, "fghij");
    static const struct ev_want w[] = {{D, 5, 2}, {D, 5, 6}, {D, 3, 4}};
    expect(rc, w, 3);
    CU_ASSERT_NSTRING_EQUAL(rc->buf, "abcdefghijklm", 13);
    CU_ASSERT_EQUAL(sh.stats.retransmitted_bytes, 8);
    CU_ASSERT_EQUAL(sh.stats.overlap_conflicts, 0);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    rec_free(rc);
}

static void test_partial_overlaps(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 1, 0, "0123456789");  /* [1,11) */
    feed(&r, &sh, rc, 3, 6, 0, "56789ABCDE");  /* [6,16): 5 old, 5 new */
    feed(&r, &sh, rc, 4, 21, 0, "KLMNOPQRST"); /* held [21,31) */
    feed(&r, &sh, rc, 5, 26, 0, "PQRSTUVWXY"); /* held: trimmed to [31,36) */
    feed(&r, &sh, rc, 6, 16, 0, "FGHIJKLMNO"); /* [16,26): fills the hole, 5 overlap */
    static const struct ev_want w[] = {{D, 10, 2}, {D, 5, 3}, {D, 5, 6}, {D, 10, 4}, {D, 5, 5}};
    expect(rc, w, 5);
    CU_ASSERT_EQUAL(rc->blen, 35);
    CU_ASSERT(rc->blen == 35 && memcmp(rc->buf, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXY", 35) == 0);
    CU_ASSERT_EQUAL(sh.stats.retransmitted_bytes, 15);
    CU_ASSERT_EQUAL(sh.stats.overlap_conflicts, 0);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    rec_free(rc);
}

/* A segment spanning several held pieces fills only the holes between them. */
static void test_overlap_spanning(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 5, 0, "ef");          /* [5,7) */
    feed(&r, &sh, rc, 3, 9, 0, "ij");          /* [9,11) */
    feed(&r, &sh, rc, 4, 3, 0, "cdXXghXXklm"); /* [3,14): conflicts on 4 bytes */
    CU_ASSERT_EQUAL(sh.stats.overlap_conflicts, 4);
    CU_ASSERT_EQUAL(sh.held_total, 11);
    feed(&r, &sh, rc, 5, 1, 0, "ab");
    CU_ASSERT_EQUAL(rc->blen, 13);
    CU_ASSERT(rc->blen == 13 && memcmp(rc->buf, "abcdefghijklm", 13) == 0);
    CU_ASSERT_EQUAL(rc->n, 6); /* ab, cd, ef, gh, ij, klm */
    CU_ASSERT_EQUAL(sh.held_total, 0);
    rec_free(rc);
}

static void test_conflict_first_wins(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 11, 0, "AAAAAAAAAA");
    feed(&r, &sh, rc, 3, 11, 0, "AAAAABBBBB");
    CU_ASSERT_EQUAL(sh.stats.overlap_conflicts, 5);
    CU_ASSERT_EQUAL(sh.stats.retransmitted_bytes, 10);
    feed(&r, &sh, rc, 4, 1, 0, "0123456789");
    static const struct ev_want w[] = {{D, 10, 4}, {D, 10, 2}};
    expect(rc, w, 2);
    CU_ASSERT(rc->blen == 20 && memcmp(rc->buf, "0123456789AAAAAAAAAA", 20) == 0);
    /* a conflicting copy of delivered data is only counted as retransmitted */
    feed(&r, &sh, rc, 5, 1, 0, "xxxxxxxxxx");
    CU_ASSERT_EQUAL(sh.stats.overlap_conflicts, 5);
    CU_ASSERT_EQUAL(sh.stats.retransmitted_bytes, 20);
    CU_ASSERT_EQUAL(rc->n, 2);
    rec_free(rc);
}

static void test_wraparound(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 0xFFFFFFF0u, CS_TCP_SYN, NULL); /* data starts at ...F1 */
    feed(&r, &sh, rc, 2, 0x00000005u, 0, "QRSTUVWXYZ");  /* [5,15) after the wrap */
    feed(&r, &sh, rc, 3, 0xFFFFFFFBu, 0, "KLMNOP");      /* [-5,1) */
    feed(&r, &sh, rc, 4, 0x00000001u, 0, "1234");        /* [1,5) */
    CU_ASSERT_EQUAL(rc->n, 0);
    feed(&r, &sh, rc, 5, 0xFFFFFFF1u, 0, "abcdefghij"); /* [-15,-5) */
    static const struct ev_want w[] = {{D, 10, 5}, {D, 6, 3}, {D, 4, 4}, {D, 10, 2}};
    expect(rc, w, 4);
    CU_ASSERT(rc->blen == 30 && memcmp(rc->buf, "abcdefghijKLMNOP1234QRSTUVWXYZ", 30) == 0);
    CU_ASSERT_EQUAL(r.next_seq, 15u);
    /* an ACK past the wrap reveals a gap */
    cs_reasm_ack(&r, &sh, 20, 6, 0, rec_sink, rc);
    CU_ASSERT_EQUAL(rc->n, 5);
    CU_ASSERT_EQUAL(rc->kind[4], G);
    CU_ASSERT_EQUAL(rc->len[4], 5);
    rec_free(rc);
}

static void test_gap_by_ack(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    cs_reasm_ack(&r, &sh, 500, 1, 0, rec_sink, rc); /* not started: ignored */
    CU_ASSERT_FALSE(r.started);
    feed(&r, &sh, rc, 2, 0, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 3, 1, 0, "0123456789");
    feed(&r, &sh, rc, 4, 21, 0, "KLMNOPQRST");
    feed(&r, &sh, rc, 5, 41, 0, "abc");
    cs_reasm_ack(&r, &sh, 11, 6, 0, rec_sink, rc);                          /* nothing new */
    cs_reasm_ack(&r, &sh, 5, 7, 0, rec_sink, rc);                           /* old */
    cs_reasm_ack(&r, &sh, 11 + CS_REASM_MAX_AHEAD + 1, 8, 0, rec_sink, rc); /* bogus */
    CU_ASSERT_EQUAL(rc->n, 1);
    CU_ASSERT_EQUAL(sh.stats.out_of_window, 1);
    cs_reasm_ack(&r, &sh, 31, 9, 0, rec_sink, rc);
    static const struct ev_want w[] = {{D, 10, 3}, {G, 10, 9}, {D, 10, 4}};
    expect(rc, w, 3);
    CU_ASSERT_EQUAL(sh.stats.gaps, 1);
    CU_ASSERT_EQUAL(sh.stats.gap_bytes, 10);
    CU_ASSERT_EQUAL(sh.held_total, 3);
    /* an ACK inside a hole: gap only up to the ACK */
    cs_reasm_ack(&r, &sh, 35, 10, 0, rec_sink, rc);
    CU_ASSERT_EQUAL(rc->n, 4);
    CU_ASSERT_EQUAL(rc->len[3], 4);
    CU_ASSERT_EQUAL(r.next_seq, 35u);
    CU_ASSERT_EQUAL(sh.held_total, 3);
    cs_reasm_flush(&r, &sh, 11, 0, rec_sink, rc);
    static const struct ev_want w2[] = {{D, 10, 3}, {G, 10, 9}, {D, 10, 4}, {G, 4, 10}, {G, 6, 11}, {D, 3, 5}};
    expect(rc, w2, 6);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    CU_ASSERT_EQUAL(sh.stats.gap_bytes, 20);
    rec_free(rc);
}

static void test_gap_at_flush(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 11, 0, "0123456789");
    feed(&r, &sh, rc, 3, 31, 0, "abcde");
    cs_reasm_flush(&r, &sh, 7, 0, rec_sink, rc);
    static const struct ev_want w[] = {{G, 10, 7}, {D, 10, 2}, {G, 10, 7}, {D, 5, 3}};
    expect(rc, w, 4);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    CU_ASSERT_EQUAL(r.held, NULL);
    CU_ASSERT_EQUAL(sh.stats.gaps, 2);
    rec_free(rc);
}

static void test_fin_before_missing_data(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 11, CS_TCP_FIN, "klmno"); /* FIN at 16, held */
    CU_ASSERT_EQUAL(rc->n, 0);
    CU_ASSERT_TRUE(r.fin_seen);
    CU_ASSERT_FALSE(r.fin_delivered);
    feed(&r, &sh, rc, 3, 1, 0, "abcdefghij");
    static const struct ev_want w[] = {{D, 10, 3}, {D, 5, 2}, {F, 0, 2}};
    expect(rc, w, 3);
    CU_ASSERT_TRUE(r.fin_delivered);
    /* data after the FIN is ignored */
    feed(&r, &sh, rc, 4, 16, 0, "zz");
    CU_ASSERT_EQUAL(rc->n, 3);
    rec_free(rc);

    /* the same, but the missing data never comes: the ACK of the FIN releases it */
    struct cs_reasm r2;
    cs_reasm_init(&r2);
    rc = rec_new();
    feed(&r2, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed(&r2, &sh, rc, 2, 11, CS_TCP_FIN, "klmno");
    cs_reasm_ack(&r2, &sh, 17, 3, 0, rec_sink, rc); /* fin_seq + 1 */
    static const struct ev_want w2[] = {{G, 10, 3}, {D, 5, 2}, {F, 0, 2}};
    expect(rc, w2, 3);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    rec_free(rc);

    /* a bare FIN with a hole before it: flush reports the hole then the FIN */
    struct cs_reasm r3;
    cs_reasm_init(&r3);
    rc = rec_new();
    feed(&r3, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed(&r3, &sh, rc, 2, 21, CS_TCP_FIN | CS_TCP_ACK, NULL);
    cs_reasm_flush(&r3, &sh, 5, 0, rec_sink, rc);
    static const struct ev_want w3[] = {{G, 20, 5}, {F, 0, 2}};
    expect(rc, w3, 2);
    rec_free(rc);
}

static void test_rst(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 1, 0, "abc");
    feed(&r, &sh, rc, 3, 9, 0, "xyz");
    feed(&r, &sh, rc, 4, 123456, CS_TCP_RST, NULL); /* implausible seq: still accepted */
    static const struct ev_want w[] = {{D, 3, 2}, {G, 5, 4}, {D, 3, 3}, {R, 0, 4}};
    expect(rc, w, 4);
    CU_ASSERT_TRUE(r.rst);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    feed(&r, &sh, rc, 5, 12, 0, "more");
    cs_reasm_flush(&r, &sh, 6, 0, rec_sink, rc);
    CU_ASSERT_EQUAL(rc->n, 4);
    rec_free(rc);
}

static void test_snaplen_cut(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed_cut(&r, &sh, rc, 2, 1, 0, "0123456789", 10, 30); /* [1,31), 10 captured */
    feed(&r, &sh, rc, 3, 31, 0, "abc");
    static const struct ev_want w[] = {{D, 10, 2}, {G, 20, 2}, {D, 3, 3}};
    expect(rc, w, 3);
    rec_free(rc);

    /* held cut segment: its gap comes right after its data once delivered */
    cs_reasm_init(&r);
    rc = rec_new();
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed_cut(&r, &sh, rc, 2, 6, 0, "fghij", 5, 15); /* [6,21), 5 captured */
    feed(&r, &sh, rc, 3, 21, 0, "uvw");             /* held after the cut */
    feed(&r, &sh, rc, 4, 1, 0, "abcde");
    static const struct ev_want w2[] = {{D, 5, 4}, {D, 5, 2}, {G, 10, 2}, {D, 3, 3}};
    expect(rc, w2, 4);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    CU_ASSERT_EQUAL(r.next_seq, 24u);
    rec_free(rc);

    /* a retransmission captured whole fills part of a cut region */
    cs_reasm_init(&r);
    rc = rec_new();
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 16, 0, "pqrst");           /* held [16,21) */
    feed_cut(&r, &sh, rc, 3, 1, 0, "abcde", 5, 25); /* [1,26), 5 captured */
    static const struct ev_want w3[] = {{D, 5, 3}, {G, 10, 3}, {D, 5, 2}, {G, 5, 3}};
    expect(rc, w3, 4);
    CU_ASSERT_EQUAL(r.next_seq, 26u);
    rec_free(rc);
}

static void test_cap_per_dir(void)
{
    struct cs_reasm_shared sh = shared(100, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    uint8_t buf[60];
    memset(buf, 'x', sizeof buf);
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed_cut(&r, &sh, rc, 2, 101, 0, buf, 60, 60); /* held [101,161) */
    feed_cut(&r, &sh, rc, 3, 161, 0, buf, 20, 20); /* held [161,181) */
    CU_ASSERT_EQUAL(rc->n, 0);
    CU_ASSERT_EQUAL(r.held_bytes, 80);
    feed_cut(&r, &sh, rc, 4, 201, 0, buf, 60, 60); /* 140 > 100: release */
    static const struct ev_want w[] = {{G, 100, 4}, {D, 60, 2}, {D, 20, 3}};
    expect(rc, w, 3);
    CU_ASSERT_EQUAL(sh.stats.held_cap_per_flow, 1);
    CU_ASSERT_EQUAL(r.held_bytes, 60);
    CU_ASSERT_EQUAL(sh.held_total, 60);
    CU_ASSERT_EQUAL(r.next_seq, 181u);
    cs_reasm_flush(&r, &sh, 5, 0, rec_sink, rc);
    CU_ASSERT_EQUAL(rc->n, 5);
    CU_ASSERT_EQUAL(rc->kind[3], G);
    CU_ASSERT_EQUAL(rc->len[3], 20);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    CU_ASSERT_EQUAL(r.held_bytes, 0);
    rec_free(rc);
}

static void test_cap_total(void)
{
    struct cs_reasm_shared sh = shared(BIG, 100);
    struct cs_reasm a, b;
    cs_reasm_init(&a);
    cs_reasm_init(&b);
    struct rec *ra = rec_new(), *rb = rec_new();
    uint8_t buf[60];
    memset(buf, 'y', sizeof buf);
    feed(&a, &sh, ra, 1, 0, CS_TCP_SYN, NULL);
    feed(&b, &sh, rb, 2, 5000, CS_TCP_SYN, NULL);
    feed_cut(&a, &sh, ra, 3, 11, 0, buf, 60, 60);
    feed_cut(&b, &sh, rb, 4, 5011, 0, buf, 30, 30);
    CU_ASSERT_EQUAL(sh.held_total, 90);
    feed_cut(&b, &sh, rb, 5, 5051, 0, buf, 30, 30); /* 120 > 100 */
    CU_ASSERT_EQUAL(sh.stats.held_cap_total, 1);
    CU_ASSERT_EQUAL(sh.stats.held_cap_per_flow, 0);
    static const struct ev_want w[] = {{G, 10, 5}, {D, 30, 4}};
    expect(rb, w, 2); /* b's oldest hole goes; b is back to 30 held, total 90 */
    CU_ASSERT_EQUAL(ra->n, 0);
    CU_ASSERT_EQUAL(sh.held_total, 90);
    CU_ASSERT_EQUAL(b.held_bytes, 30);
    cs_reasm_release(&a, &sh);
    cs_reasm_flush(&b, &sh, 6, 0, rec_sink, rb);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    CU_ASSERT_EQUAL(a.held_bytes, 0);
    rec_free(ra);
    rec_free(rb);
}

static void test_midstream_and_tfo(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 0, CS_TCP_ACK, NULL); /* pure ACK: does not start */
    CU_ASSERT_FALSE(r.started);
    feed(&r, &sh, rc, 2, 77777, CS_TCP_ACK, "GET / HTTP/1.1\r\n");
    CU_ASSERT_TRUE(r.started);
    CU_ASSERT_EQUAL(rc->n, 1);
    CU_ASSERT_EQUAL(sh.stats.gaps, 0);
    rec_free(rc);

    cs_reasm_init(&r);
    rc = rec_new();
    feed(&r, &sh, rc, 1, 500, CS_TCP_SYN, "tfo"); /* payload at 501 */
    feed(&r, &sh, rc, 2, 504, 0, "data");
    static const struct ev_want w[] = {{D, 3, 1}, {D, 4, 2}};
    expect(rc, w, 2);
    CU_ASSERT_NSTRING_EQUAL(rc->buf, "tfodata", 7);
    rec_free(rc);

    /* far-ahead junk is ignored rather than held */
    cs_reasm_init(&r);
    rc = rec_new();
    uint64_t oow = sh.stats.out_of_window;
    feed(&r, &sh, rc, 1, 0, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 0x60000000u, 0, "junk");
    CU_ASSERT_EQUAL(sh.stats.out_of_window, oow + 1);
    CU_ASSERT_EQUAL(r.held_bytes, 0);
    rec_free(rc);
}

/* Random segments, cuts, ACKs and caps: the accounting invariants hold
 * throughout (held bytes add up, delivered + gap bytes = sequence space
 * covered) and everything is released at the end. */
static void test_random_stress(void)
{
    static uint8_t junk[2000];
    for (int i = 0; i < (int)sizeof junk; i++)
        junk[i] = (uint8_t)i;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        rng_state = seed * 0x2545F4914F6CDD1Dull;
        struct cs_reasm_shared sh = shared(1 + rnd(3000), 1 + rnd(5000));
        struct cs_reasm r[2];
        struct rec *rc[2] = {rec_new(), rec_new()};
        uint32_t isn[2] = {rnd(0xFFFFFFFFu), 0xFFFFF000u + rnd(0x1000)};
        for (int d = 0; d < 2; d++) {
            cs_reasm_init(&r[d]);
            feed(&r[d], &sh, rc[d], 1, isn[d], CS_TCP_SYN, NULL);
        }
        for (int i = 0; i < 300; i++) {
            int d = (int)rnd(2);
            uint32_t off = rnd(20000), len = rnd(1500), wire = len + (rnd(8) == 0 ? rnd(500) : 0);
            uint8_t flags = rnd(50) == 0 ? CS_TCP_FIN : 0;
            feed_cut(&r[d], &sh, rc[d], (uint64_t)i + 2, isn[d] + 1 + off, flags, junk, len, wire);
            if (rnd(10) == 0)
                cs_reasm_ack(&r[d], &sh, isn[d] + 1 + rnd(20000), (uint64_t)i + 2, 0, rec_sink, rc[d]);
            CU_ASSERT_EQUAL(sh.held_total, (uint64_t)r[0].held_bytes + r[1].held_bytes);
            CU_ASSERT(r[0].held_bytes <= sh.max_held_per_dir && r[1].held_bytes <= sh.max_held_per_dir);
            CU_ASSERT(sh.held_total <= sh.max_held_total);
        }
        for (int d = 0; d < 2; d++) {
            cs_reasm_flush(&r[d], &sh, 999, 0, rec_sink, rc[d]);
            uint32_t covered = r[d].next_seq - (isn[d] + 1) - (r[d].fin_delivered ? 1u : 0u);
            CU_ASSERT_EQUAL(rc[d]->blen, covered);
            CU_ASSERT_PTR_NULL(r[d].held);
            rec_free(rc[d]);
        }
        CU_ASSERT_EQUAL(sh.held_total, 0);
        CU_ASSERT_EQUAL(sh.stats.bytes_delivered + sh.stats.gap_bytes,
                        (uint64_t)(r[0].next_seq - isn[0] - 1 - r[0].fin_delivered) +
                            (r[1].next_seq - isn[1] - 1 - r[1].fin_delivered));
    }
}

/* Rising segments after a hole are joined into one piece, but each keeps
 * its frame: the events are those separate pieces would give. */
static void test_joined_pieces_keep_frames(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 1000, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 1003, CS_TCP_ACK, "cd");
    feed(&r, &sh, rc, 3, 1005, CS_TCP_ACK, "e");
    feed(&r, &sh, rc, 4, 1006, CS_TCP_ACK, "fgh");
    feed(&r, &sh, rc, 5, 1012, CS_TCP_ACK, "lm");  /* after a second hole */
    feed(&r, &sh, rc, 6, 1009, CS_TCP_ACK, "ijk"); /* fills it: joins "cdefgh" */
    CU_ASSERT_EQUAL(r.held_pieces, 2);             /* "cdefghijk" and "lm" */
    CU_ASSERT_EQUAL(r.held_bytes, 11);
    CU_ASSERT_EQUAL(sh.held_pieces_total, 2);
    CU_ASSERT_EQUAL(rc->n, 0);
    feed(&r, &sh, rc, 7, 1001, CS_TCP_ACK, "ab");
    static const struct ev_want w[] = {
        {D, 2, 7},
        {D, 2, 2},
        {D, 1, 3},
        {D, 3, 4},
        {D, 3, 6},
        {D, 2, 5},
    };
    expect(rc, w, 6);
    CU_ASSERT_NSTRING_EQUAL(rc->buf, "abcdefghijklm", 13);
    CU_ASSERT_EQUAL(r.held_pieces, 0);
    CU_ASSERT_EQUAL(sh.held_memory, 0);
    rec_free(rc);
}

/* A FIN inside a joined piece cuts it, frame runs included. */
static void test_joined_piece_cut_by_fin(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 1000, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 1002, CS_TCP_ACK, "bc");
    feed(&r, &sh, rc, 3, 1004, CS_TCP_ACK, "de");
    feed(&r, &sh, rc, 4, 1006, CS_TCP_ACK, "fg");
    feed(&r, &sh, rc, 5, 1002, CS_TCP_ACK | CS_TCP_FIN, NULL); /* FIN at 1002: nothing after */
    CU_ASSERT_EQUAL(r.held_pieces, 0);
    feed(&r, &sh, rc, 6, 1001, CS_TCP_ACK, "a");
    static const struct ev_want w1[] = {{D, 1, 6}, {F, 0, 5}};
    expect(rc, w1, 2);
    CU_ASSERT_EQUAL(r.held_bytes, 0);
    CU_ASSERT_EQUAL(sh.held_total, 0);
    CU_ASSERT_EQUAL(sh.held_memory, 0);
    rec_free(rc);

    /* the FIN falls inside the second run of a piece */
    cs_reasm_init(&r);
    rc = rec_new();
    feed(&r, &sh, rc, 1, 1000, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 1002, CS_TCP_ACK, "bc");
    feed(&r, &sh, rc, 3, 1004, CS_TCP_ACK, "de");
    feed(&r, &sh, rc, 4, 1006, CS_TCP_ACK, "fg");
    feed(&r, &sh, rc, 5, 1005, CS_TCP_ACK | CS_TCP_FIN, NULL); /* FIN at 1005 */
    CU_ASSERT_EQUAL(r.held_bytes, 3);
    feed(&r, &sh, rc, 6, 1001, CS_TCP_ACK, "a");
    static const struct ev_want w2[] = {{D, 1, 6}, {D, 2, 2}, {D, 1, 3}, {F, 0, 5}};
    expect(rc, w2, 4);
    CU_ASSERT_NSTRING_EQUAL(rc->buf, "abcd", 4);
    CU_ASSERT_EQUAL(sh.held_memory, 0);
    rec_free(rc);
}

/* The caps on held pieces: per direction, then in total. */
static void test_cap_pieces(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    sh.max_held_pieces_per_dir = 3;
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 1000, CS_TCP_SYN, NULL);
    feed(&r, &sh, rc, 2, 1003, CS_TCP_ACK, "c");
    feed(&r, &sh, rc, 3, 1005, CS_TCP_ACK, "e");
    feed(&r, &sh, rc, 4, 1007, CS_TCP_ACK, "g");
    CU_ASSERT_EQUAL(rc->n, 0);
    CU_ASSERT_EQUAL(sh.stats.held_pieces_cap_per_flow, 0);
    feed(&r, &sh, rc, 5, 1009, CS_TCP_ACK, "i"); /* a 4th piece: the oldest hole goes */
    static const struct ev_want w[] = {{G, 2, 5}, {D, 1, 2}};
    expect(rc, w, 2);
    CU_ASSERT_EQUAL(sh.stats.held_pieces_cap_per_flow, 1);
    CU_ASSERT_EQUAL(r.held_pieces, 3);
    feed(&r, &sh, rc, 6, 1008, CS_TCP_ACK, "h"); /* joins "g": still 3 pieces */
    CU_ASSERT_EQUAL(sh.stats.held_pieces_cap_per_flow, 1);
    CU_ASSERT_EQUAL(r.held_pieces, 3);
    cs_reasm_release(&r, &sh);
    CU_ASSERT_EQUAL(sh.held_memory, 0);
    rec_free(rc);

    struct cs_reasm_shared sh2 = shared(BIG, BIG);
    sh2.max_held_pieces_total = 4;
    struct cs_reasm a, b;
    cs_reasm_init(&a);
    cs_reasm_init(&b);
    struct rec *ra = rec_new(), *rb = rec_new();
    feed(&a, &sh2, ra, 1, 1000, CS_TCP_SYN, NULL);
    feed(&b, &sh2, rb, 2, 5000, CS_TCP_SYN, NULL);
    for (uint32_t i = 0; i < 3; i++)
        feed(&a, &sh2, ra, 3 + i, 1003 + 2 * i, CS_TCP_ACK, "x");
    feed(&b, &sh2, rb, 6, 5003, CS_TCP_ACK, "y");
    CU_ASSERT_EQUAL(sh2.stats.held_pieces_cap_total, 0);
    feed(&b, &sh2, rb, 7, 5005, CS_TCP_ACK, "y"); /* 5 in all: b releases its own */
    CU_ASSERT_EQUAL(sh2.stats.held_pieces_cap_total, 1);
    CU_ASSERT_EQUAL(b.held_pieces, 1);
    CU_ASSERT_EQUAL(sh2.held_pieces_total, 4);
    CU_ASSERT_EQUAL(ra->n, 0);
    cs_reasm_release(&a, &sh2);
    cs_reasm_release(&b, &sh2);
    CU_ASSERT_EQUAL(sh2.held_pieces_total, 0);
    CU_ASSERT_EQUAL(sh2.held_memory, 0);
    rec_free(ra);
    rec_free(rb);
}

/* Held memory is charged as the allocator rounds it, bookkeeping included:
 * a 1-byte piece costs far more than a byte. */
static void test_held_memory_accounting(void)
{
    struct cs_reasm_shared sh = shared(BIG, BIG);
    struct cs_reasm r;
    cs_reasm_init(&r);
    struct rec *rc = rec_new();
    feed(&r, &sh, rc, 1, 1000, CS_TCP_SYN, NULL);
    for (uint32_t i = 0; i < 1000; i++)
        feed(&r, &sh, rc, 2 + i, 1003 + 2 * i, CS_TCP_ACK, "x"); /* 1000 separate pieces */
    CU_ASSERT_EQUAL(r.held_pieces, 1000);
    CU_ASSERT_EQUAL(sh.held_total, 1000);
    CU_ASSERT(sh.held_memory >= 1000 * 64);
    uint64_t separate = sh.held_memory;
    cs_reasm_release(&r, &sh);
    CU_ASSERT_EQUAL(sh.held_memory, 0);

    /* 1000 rising bytes join one piece: the buffer doubles, and each segment
     * adds a frame run; still charged, but far less than separate pieces */
    cs_reasm_init(&r);
    feed(&r, &sh, rc, 1, 1000, CS_TCP_SYN, NULL);
    for (uint32_t i = 0; i < 1000; i++)
        feed(&r, &sh, rc, 2 + i, 1002 + i, CS_TCP_ACK, "x");
    CU_ASSERT_EQUAL(r.held_pieces, 1);
    CU_ASSERT(sh.held_memory >= 1000 + 1000 * 16);
    CU_ASSERT(sh.held_memory < separate / 2);
    cs_reasm_flush(&r, &sh, 9999, 0, rec_sink, rc);
    CU_ASSERT_EQUAL(sh.held_memory, 0);
    CU_ASSERT_EQUAL(sh.held_pieces_total, 0);
    rec_free(rc);
}

/* --- cost per segment must not grow with the number held --------------- */

enum order { ASCENDING,
             DESCENDING,
             INTERLEAVED,
             OVERLAPPING };
static const char *const order_name[] = {"ascending", "descending", "interleaved", "overlapping"};

static void count_sink(void *ctx, const struct cs_stream_event *ev)
{
    if (ev->kind == CS_STREAM_DATA)
        *(uint64_t *)ctx += ev->len;
}

static double thread_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Holds n small segments after a 1-byte hole in the given order, then fills
 * the hole (everything is delivered): CPU seconds per segment. */
static double seconds_per_segment(enum order o, uint32_t n)
{
    struct cs_reasm_shared sh = shared(BIG * 4, BIG * 4);
    struct cs_reasm r;
    cs_reasm_init(&r);
    static const uint8_t bytes[2] = {'x', 'y'};
    uint64_t delivered = 0;
    struct cs_segment s;
    memset(&s, 0, sizeof s);
    s.seq = 1000;
    s.flags = CS_TCP_SYN;
    cs_reasm_segment(&r, &sh, &s, count_sink, &delivered);
    s.flags = CS_TCP_ACK;
    s.payload = bytes;
    double t0 = thread_seconds();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off;
        switch (o) {
        case ASCENDING:
        case OVERLAPPING: off = i; break;
        case DESCENDING: off = n - 1 - i; break;
        default: off = i < (n + 1) / 2 ? 2 * i : 2 * (n - 1 - i) + 1; break;
        }
        s.frame = 2 + i;
        s.seq = 1002 + off;
        s.payload_len = s.wire_payload_len = (o == OVERLAPPING) ? 2 : 1;
        cs_reasm_segment(&r, &sh, &s, count_sink, &delivered);
    }
    s.frame = 2 + n;
    s.seq = 1001;
    s.payload_len = s.wire_payload_len = 1;
    cs_reasm_segment(&r, &sh, &s, count_sink, &delivered);
    double dt = thread_seconds() - t0;
    CU_ASSERT_EQUAL(delivered, 1 + n + (o == OVERLAPPING ? 1 : 0));
    CU_ASSERT_EQUAL(sh.held_total, 0);
    CU_ASSERT_EQUAL(sh.held_memory, 0);
    cs_reasm_release(&r, &sh);
    return dt / n;
}

/* Best of three (a loaded machine only ever makes a run slower). */
static double best_seconds_per_segment(enum order o, uint32_t n)
{
    double best = seconds_per_segment(o, n);
    for (int k = 0; k < 2; k++) {
        double t = seconds_per_segment(o, n);
        if (t < best)
            best = t;
    }
    return best;
}

/* 4k and 40k segments held: a list walked per segment costs ~10 times more
 * per segment at 40k; the tree and joining cost about the same.  The ratio
 * allows 4 (log n grows by 1.3, plus cache misses on a bigger tree). */
static void test_cost_does_not_grow(void)
{
    for (enum order o = ASCENDING; o <= OVERLAPPING; o++) {
        double small = best_seconds_per_segment(o, 4000);
        double large = best_seconds_per_segment(o, 40000);
        double ratio = large / (small > 0 ? small : 1e-9);
        fprintf(stderr, "\n  %s: %.0f ns/segment at 4k, %.0f at 40k (ratio %.2f)", order_name[o],
                small * 1e9, large * 1e9, ratio);
        CU_ASSERT(ratio < 4.0);
    }
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"in order", test_in_order},
        {"reversed order", test_reversed},
        {"random permutations", test_permutations},
        {"random permutations across the wrap", test_permutations_wrap},
        {"duplicates", test_duplicates},
        {"partial overlaps", test_partial_overlaps},
        {"overlap spanning held pieces", test_overlap_spanning},
        {"conflicting overlap: first wins", test_conflict_first_wins},
        {"sequence wrap-around", test_wraparound},
        {"gap revealed by ACK", test_gap_by_ack},
        {"gap at flush", test_gap_at_flush},
        {"FIN before missing data", test_fin_before_missing_data},
        {"RST", test_rst},
        {"snaplen-cut segments", test_snaplen_cut},
        {"per-direction cap", test_cap_per_dir},
        {"total cap", test_cap_total},
        {"mid-stream start, TFO, far junk", test_midstream_and_tfo},
        {"random stress: invariants", test_random_stress},
        {"joined pieces keep their frames", test_joined_pieces_keep_frames},
        {"FIN cuts a joined piece", test_joined_piece_cut_by_fin},
        {"caps on held pieces", test_cap_pieces},
        {"held memory accounting", test_held_memory_accounting},
        {"cost per segment does not grow with pieces held", test_cost_does_not_grow},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("reasm", cases);
    return cs_test_run();
}
