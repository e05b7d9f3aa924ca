/* Unit tests for flow.c: roles, dispatch, ordering, endings, caps, scale.
 * Callbacks append to a log so each test checks exact event sequences. */
#include <stdio.h>
#include <time.h>

#include "flow.h"
#include "testutil.h"

enum { L_NEW,
       L_PKT,
       L_STREAM,
       L_END };

struct log_entry {
    int type;
    uint64_t flow;
    int dir;
    int kind; /* stream event kind, or end reason */
    uint32_t len;
};

#define MAX_LOG 4096

struct log {
    int n;
    struct log_entry e[MAX_LOG];
    uint8_t bytes[2][4096]; /* delivered bytes per direction (all flows) */
    size_t blen[2];
    uint64_t news, ends, end_why[5];
    uint64_t last_ended_id;
    uint16_t last_syns; /* SYNs of the flow that ended last */
    bool last_half_open;
    bool record; /* keep entries (off for the scale test) */
};

static void add(struct log *l, int type, uint64_t flow, int dir, int kind, uint32_t len)
{
    if (!l->record)
        return;
    if (l->n < MAX_LOG)
        l->e[l->n] = (struct log_entry){type, flow, dir, kind, len};
    l->n++;
}

static void on_new(void *ctx, struct cs_flow *f)
{
    struct log *l = ctx;
    l->news++;
    f->app = l;
    add(l, L_NEW, f->key.id, -1, -1, 0);
}

static void on_packet(void *ctx, struct cs_flow *f, int dir, const struct cs_segment *s)
{
    (void)s;
    CU_ASSERT(f->app == ctx);
    CU_ASSERT(dir == CS_DIR_C2S || dir == CS_DIR_S2C);
}

static void on_stream(void *ctx, struct cs_flow *f, int dir, const struct cs_stream_event *ev)
{
    struct log *l = ctx;
    add(l, L_STREAM, f->key.id, dir, (int)ev->kind, ev->len);
    if (ev->kind == CS_STREAM_DATA && l->blen[dir] + ev->len <= sizeof l->bytes[dir]) {
        memcpy(l->bytes[dir] + l->blen[dir], ev->data, ev->len);
        l->blen[dir] += ev->len;
    }
}

static void on_end(void *ctx, struct cs_flow *f, enum cs_flow_end why)
{
    struct log *l = ctx;
    l->ends++;
    l->end_why[why]++;
    l->last_ended_id = f->key.id;
    l->last_syns = f->syns;
    l->last_half_open = f->half_open;
    f->app = NULL;
    add(l, L_END, f->key.id, -1, (int)why, 0);
}

static const struct cs_flow_callbacks callbacks = {on_new, on_packet, on_stream, on_end};

static struct log *log_new(void)
{
    struct log *l = calloc(1, sizeof *l);
    CU_ASSERT_FATAL(l != NULL);
    l->record = true;
    return l;
}

static struct cs_addr v4(uint32_t a)
{
    struct cs_addr x;
    memset(&x, 0, sizeof x);
    x.family = 4;
    x.bytes[0] = (uint8_t)(a >> 24);
    x.bytes[1] = (uint8_t)(a >> 16);
    x.bytes[2] = (uint8_t)(a >> 8);
    x.bytes[3] = (uint8_t)a;
    return x;
}

#define A_CLI 0x0A000001u /* 10.0.0.1 */
#define A_SRV 0x0A000002u /* 10.0.0.2 */

static uint64_t frame_no;

/* Feeds one segment from (src, sport) to (dst, dport); ts in seconds. */
static void seg(struct cs_flow_table *t, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                uint32_t seq, uint32_t ack, uint8_t flags, const char *payload, double ts)
{
    struct cs_segment s;
    memset(&s, 0, sizeof s);
    s.frame = ++frame_no;
    s.ts = (cs_time_ns)(ts * 1e9);
    s.src = v4(src);
    s.dst = v4(dst);
    s.sport = sport;
    s.dport = dport;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    struct guarded g = guarded_copy(payload ? payload : "", payload ? strlen(payload) : 0);
    s.payload = g.data;
    s.payload_len = s.wire_payload_len = payload ? (uint32_t)strlen(payload) : 0;
    cs_flow_table_segment(t, &s);
    guarded_free(&g);
}

static struct cs_flow_table *table(struct log *l, uint32_t max_flows, uint32_t idle_s)
{
    struct cs_limits lim;
    cs_limits_default(&lim);
    if (max_flows)
        lim.max_flows = max_flows;
    lim.idle_timeout_s = idle_s;
    struct cs_flow_table *t = cs_flow_table_new(&lim, &callbacks, l);
    CU_ASSERT_FATAL(t != NULL);
    return t;
}

static struct cs_flow *lookup(struct cs_flow_table *t, uint32_t src, uint16_t sport,
                              uint32_t dst, uint16_t dport, int *dir)
{
    struct cs_addr a = v4(src), b = v4(dst);
    return cs_flow_table_lookup(t, &a, sport, &b, dport, dir);
}

#define S CS_TCP_SYN
#define A CS_TCP_ACK
#define F CS_TCP_FIN
#define R CS_TCP_RST
#define P CS_TCP_PSH

struct role_case {
    const char *name;
    uint16_t sport, dport;
    uint8_t flags;
    const char *payload;
    bool sender_is_client, handshake, acked;
};

static void test_roles(void)
{
    static const struct role_case cases[] = {
        {"SYN from a high port", 1000, 50000, S, NULL, true, true, false},
        {"SYN-ACK only", 50000, 1000, S | A, NULL, false, true, true},
        {"request from port 80", 80, 5000, A | P, "GET / HTTP/1.1\r\n", true, false, false},
        {"OPTIONS preflight", 443, 9000, A, "OPTIONS /x HTTP/1.1\r\n", true, false, false},
        {"response from a high port", 3000, 80, A, "HTTP/1.1 200 OK\r\n", false, false, false},
        {"no hint: lower port serves", 443, 51000, A, "\x16\x03\x01", false, false, false},
        {"no hint: lower port serves (2)", 51000, 443, A, "xyz", true, false, false},
        {"equal ports: first sender is client", 7000, 7000, A, "xyz", true, false, false},
        {"lowercase is not a method", 80, 5000, A, "get / HTTP/1.1", false, false, false},
        {"too short a token", 80, 5000, A, "GE / HTTP/1.1", false, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct role_case *c = &cases[i];
        struct log *l = log_new();
        struct cs_flow_table *t = table(l, 0, 300);
        seg(t, A_CLI, c->sport, A_SRV, c->dport, 100, 1, c->flags, c->payload, 1.0);
        int dir = -1;
        struct cs_flow *f = lookup(t, A_CLI, c->sport, A_SRV, c->dport, &dir);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        if (c->sender_is_client != (dir == CS_DIR_C2S))
            fprintf(stderr, "\nrole case failed: %s\n", c->name);
        CU_ASSERT_EQUAL(dir, c->sender_is_client ? CS_DIR_C2S : CS_DIR_S2C);
        CU_ASSERT_EQUAL(f->key.client_port, c->sender_is_client ? c->sport : c->dport);
        CU_ASSERT_EQUAL(f->key.server_port, c->sender_is_client ? c->dport : c->sport);
        CU_ASSERT_EQUAL(f->handshake_seen, c->handshake);
        CU_ASSERT_EQUAL(f->syn_acked, c->acked);
        CU_ASSERT_EQUAL(f->key.id, 1);
        cs_flow_table_free(t);
        CU_ASSERT_EQUAL(l->end_why[CS_FLOW_END_INPUT], 1);
        free(l);
    }
}

/* A full exchange: handshake, request, response, close.  Events go to the
 * right direction, counters add up, and the close ends the flow. */
static void test_dispatch_and_close(void)
{
    struct log *l = log_new();
    struct cs_flow_table *t = table(l, 0, 300);
    seg(t, A_CLI, 40000, A_SRV, 80, 1000, 0, S, NULL, 1.0);
    seg(t, A_SRV, 80, A_CLI, 40000, 5000, 1001, S | A, NULL, 1.1);
    struct cs_flow *f = lookup(t, A_SRV, 80, A_CLI, 40000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_TRUE(f->syn_acked);
    CU_ASSERT_TRUE(f->handshake_seen);
    seg(t, A_CLI, 40000, A_SRV, 80, 1001, 5001, A, NULL, 1.2);
    seg(t, A_CLI, 40000, A_SRV, 80, 1001, 5001, A | P, "GET / HTTP/1.1\r\n\r\n", 1.3);
    seg(t, A_SRV, 80, A_CLI, 40000, 5001, 1019, A | P, "HTTP/1.1 200 OK\r\n\r\n", 1.4);
    CU_ASSERT_EQUAL(f->packets[CS_DIR_C2S], 3);
    CU_ASSERT_EQUAL(f->packets[CS_DIR_S2C], 2);
    CU_ASSERT_EQUAL(f->bytes[CS_DIR_C2S], 18);
    CU_ASSERT_EQUAL(f->bytes[CS_DIR_S2C], 19);
    CU_ASSERT_EQUAL(f->key.first_frame, frame_no - 4);
    CU_ASSERT_EQUAL(f->key.last_frame, frame_no);
    CU_ASSERT_EQUAL(f->key.first_ts, 1000000000);
    seg(t, A_CLI, 40000, A_SRV, 80, 1019, 5020, A | F, NULL, 1.5);
    CU_ASSERT_EQUAL(l->ends, 0);
    seg(t, A_SRV, 80, A_CLI, 40000, 5020, 1020, A | F, NULL, 1.6);
    CU_ASSERT_EQUAL(l->ends, 1);
    CU_ASSERT_EQUAL(l->end_why[CS_FLOW_END_CLOSED], 1);
    CU_ASSERT_PTR_NULL(lookup(t, A_CLI, 40000, A_SRV, 80, NULL));
    /* the last ACK of the close must not create a ghost flow */
    seg(t, A_CLI, 40000, A_SRV, 80, 1020, 5021, A, NULL, 1.7);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->ignored_segments, 1);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->created, 1);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->active, 0);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->closed, 1);

    static const struct log_entry want[] = {
        {L_NEW, 1, -1, -1, 0},
        {L_STREAM, 1, CS_DIR_C2S, CS_STREAM_DATA, 18},
        {L_STREAM, 1, CS_DIR_S2C, CS_STREAM_DATA, 19},
        {L_STREAM, 1, CS_DIR_C2S, CS_STREAM_FIN, 0},
        {L_STREAM, 1, CS_DIR_S2C, CS_STREAM_FIN, 0},
        {L_END, 1, -1, CS_FLOW_END_CLOSED, 0},
    };
    CU_ASSERT_EQUAL(l->n, 6);
    for (int i = 0; i < 6 && i < l->n; i++) {
        CU_ASSERT_EQUAL(l->e[i].type, want[i].type);
        CU_ASSERT_EQUAL(l->e[i].dir, want[i].dir);
        CU_ASSERT_EQUAL(l->e[i].kind, want[i].kind);
        CU_ASSERT_EQUAL(l->e[i].len, want[i].len);
    }
    CU_ASSERT_NSTRING_EQUAL(l->bytes[CS_DIR_C2S], "GET / HTTP/1.1\r\n\r\n", 18);
    CU_ASSERT_NSTRING_EQUAL(l->bytes[CS_DIR_S2C], "HTTP/1.1 200 OK\r\n\r\n", 19);
    cs_flow_table_free(t);
    CU_ASSERT_EQUAL(l->ends, 1);
    free(l);
}

/* The request's first segment was never captured and its second is held;
 * the response ACKs the whole request.  The response waits (the first
 * segment may still come: merged taps record an answer before its
 * question); when the flow ends without it, the request (gap + held data)
 * is delivered before the response bytes. */
static void test_ack_ordering(void)
{
    struct log *l = log_new();
    struct cs_flow_table *t = table(l, 0, 300);
    seg(t, A_CLI, 40000, A_SRV, 80, 0, 0, S, NULL, 1.0);
    seg(t, A_SRV, 80, A_CLI, 40000, 900, 1, S | A, NULL, 1.0);
    seg(t, A_CLI, 40000, A_SRV, 80, 11, 901, A, "HTTP/1.1\r\n\r\n", 1.1); /* [11,23), held */
    CU_ASSERT_EQUAL(l->n, 1);
    seg(t, A_SRV, 80, A_CLI, 40000, 901, 23, A, "HTTP/1.1 204 No Content\r\n\r\n", 1.2);
    CU_ASSERT_EQUAL(l->n, 1); /* held back: it ACKs request bytes not seen yet */
    CU_ASSERT_EQUAL(cs_flow_table_reasm_stats(t)->gaps, 0);
    cs_flow_table_finish(t);
    static const struct log_entry want[] = {
        {L_NEW, 1, -1, -1, 0},
        {L_STREAM, 1, CS_DIR_C2S, CS_STREAM_GAP, 10},
        {L_STREAM, 1, CS_DIR_C2S, CS_STREAM_DATA, 12},
        {L_STREAM, 1, CS_DIR_S2C, CS_STREAM_DATA, 27},
    };
    CU_ASSERT_EQUAL(l->n, 5); /* and the end */
    for (int i = 0; i < 4 && i < l->n; i++) {
        CU_ASSERT_EQUAL(l->e[i].type, want[i].type);
        CU_ASSERT_EQUAL(l->e[i].dir, want[i].dir);
        CU_ASSERT_EQUAL(l->e[i].kind, want[i].kind);
        CU_ASSERT_EQUAL(l->e[i].len, want[i].len);
    }
    CU_ASSERT_EQUAL(cs_flow_table_reasm_stats(t)->gaps, 1);
    cs_flow_table_free(t);
    free(l);
}

/* Merged taps: the server's ACK of the request and its response are
 * recorded before the request itself.  They wait for it: the request is
 * delivered whole (no gap, nothing dropped as a retransmission), then the
 * response. */
static void test_ack_before_data(void)
{
    struct log *l = log_new();
    struct cs_flow_table *t = table(l, 0, 300);
    seg(t, A_CLI, 40000, A_SRV, 80, 0, 0, S, NULL, 1.0);
    seg(t, A_SRV, 80, A_CLI, 40000, 900, 1, S | A, NULL, 1.0);
    seg(t, A_CLI, 40000, A_SRV, 80, 1, 901, A, NULL, 1.0);
    seg(t, A_SRV, 80, A_CLI, 40000, 901, 19, A, NULL, 1.1);                              /* ACK first */
    seg(t, A_SRV, 80, A_CLI, 40000, 901, 19, A, "HTTP/1.1 204 No Content\r\n\r\n", 1.2); /* answer */
    CU_ASSERT_EQUAL(l->n, 1);                                                            /* both wait */
    seg(t, A_CLI, 40000, A_SRV, 80, 1, 901, A, "GET / HTTP/1.1\r\n\r\n", 1.0);           /* the request */
    static const struct log_entry want[] = {
        {L_NEW, 1, -1, -1, 0},
        {L_STREAM, 1, CS_DIR_C2S, CS_STREAM_DATA, 18},
        {L_STREAM, 1, CS_DIR_S2C, CS_STREAM_DATA, 27},
    };
    CU_ASSERT_EQUAL(l->n, 3);
    for (int i = 0; i < 3 && i < l->n; i++) {
        CU_ASSERT_EQUAL(l->e[i].type, want[i].type);
        CU_ASSERT_EQUAL(l->e[i].dir, want[i].dir);
        CU_ASSERT_EQUAL(l->e[i].kind, want[i].kind);
        CU_ASSERT_EQUAL(l->e[i].len, want[i].len);
    }
    CU_ASSERT_EQUAL(cs_flow_table_reasm_stats(t)->gaps, 0);
    CU_ASSERT_EQUAL(cs_flow_table_reasm_stats(t)->retransmitted_bytes, 0);
    CU_ASSERT_EQUAL(cs_flow_table_held_memory(t), 0); /* the copies are freed */
    cs_flow_table_free(t);
    free(l);
}

static void test_reset(void)
{
    struct log *l = log_new();
    struct cs_flow_table *t = table(l, 0, 300);
    seg(t, A_CLI, 40000, A_SRV, 80, 0, 0, S, NULL, 1.0);
    seg(t, A_CLI, 40000, A_SRV, 80, 11, 0, 0, "late", 1.1); /* held: hole [1,11) */
    seg(t, A_SRV, 80, A_CLI, 40000, 0, 0, R, NULL, 1.2);
    static const struct log_entry want[] = {
        {L_NEW, 1, -1, -1, 0},
        {L_STREAM, 1, CS_DIR_C2S, CS_STREAM_GAP, 10},
        {L_STREAM, 1, CS_DIR_C2S, CS_STREAM_DATA, 4},
        {L_STREAM, 1, CS_DIR_S2C, CS_STREAM_RST, 0},
        {L_END, 1, -1, CS_FLOW_END_RESET, 0},
    };
    CU_ASSERT_EQUAL(l->n, 5);
    for (int i = 0; i < 5 && i < l->n; i++) {
        CU_ASSERT_EQUAL(l->e[i].type, want[i].type);
        CU_ASSERT_EQUAL(l->e[i].dir, want[i].dir);
        CU_ASSERT_EQUAL(l->e[i].kind, want[i].kind);
        CU_ASSERT_EQUAL(l->e[i].len, want[i].len);
    }
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->reset, 1);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->active, 0);
    /* a trailing RST of the dead flow is ignored */
    seg(t, A_SRV, 80, A_CLI, 40000, 0, 0, R, NULL, 1.3);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->ignored_segments, 1);
    cs_flow_table_free(t);
    CU_ASSERT_EQUAL(l->ends, 1);
    free(l);
}

static void test_idle_expiry(void)
{
    struct log *l = log_new();
    struct cs_flow_table *t = table(l, 0, 60);
    seg(t, A_CLI, 40001, A_SRV, 80, 0, 0, S, NULL, 0.0);    /* flow 1 */
    seg(t, A_CLI, 40001, A_SRV, 80, 11, 0, A, "held", 0.5); /* held in flow 1 */
    seg(t, A_CLI, 40002, A_SRV, 80, 0, 0, S, NULL, 30.0);   /* flow 2 */
    seg(t, A_CLI, 40002, A_SRV, 80, 1, 0, A, "x", 61.0);    /* flow 1 idle 60.5 s */
    CU_ASSERT_EQUAL(l->end_why[CS_FLOW_END_IDLE], 1);
    CU_ASSERT_EQUAL(l->last_ended_id, 1);
    CU_ASSERT_PTR_NULL(lookup(t, A_CLI, 40001, A_SRV, 80, NULL));
    CU_ASSERT_PTR_NOT_NULL(lookup(t, A_CLI, 40002, A_SRV, 80, NULL));
    /* flow 1's held data was flushed before its end */
    int i = 0;
    while (i < l->n && !(l->e[i].type == L_END))
        i++;
    CU_ASSERT_FATAL(i >= 2 && i < l->n);
    CU_ASSERT_EQUAL(l->e[i - 1].kind, CS_STREAM_DATA);
    CU_ASSERT_EQUAL(l->e[i - 1].len, 4);
    CU_ASSERT_EQUAL(l->e[i - 2].kind, CS_STREAM_GAP);
    CU_ASSERT_EQUAL(cs_flow_table_reasm_stats(t)->gaps, 1);
    /* a clock tick expires the rest; an earlier tick does nothing */
    cs_flow_table_tick(t, (cs_time_ns)100 * 1000000000);
    CU_ASSERT_EQUAL(l->ends, 1);
    cs_flow_table_tick(t, (cs_time_ns)122 * 1000000000);
    CU_ASSERT_EQUAL(l->ends, 2);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->idle_expired, 2);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->active, 0);
    cs_flow_table_free(t);
    CU_ASSERT_EQUAL(l->ends, 2);
    free(l);
}

/* The clock skips the timeout lists until a deadline may be due
 * (flow.c expire_at): each flow still ends at its own deadline, when the
 * head it was computed from has moved on (touched, ended) and when a flow
 * comes after the lists were empty. */
static void test_expiry_deadlines(void)
{
    struct log *l = log_new();
    struct cs_flow_table *t = table(l, 0, 60);
    seg(t, A_CLI, 40001, A_SRV, 80, 0, 0, S, NULL, 0.0);  /* flow 1: due at 60 */
    seg(t, A_CLI, 40002, A_SRV, 80, 0, 0, S, NULL, 10.0); /* flow 2: due at 70 */
    seg(t, A_CLI, 40001, A_SRV, 80, 1, 0, A, "x", 50.0);  /* flow 1: now due at 110 */
    cs_flow_table_tick(t, (cs_time_ns)60500000000LL);
    CU_ASSERT_EQUAL(l->ends, 0);
    cs_flow_table_tick(t, (cs_time_ns)69900000000LL);
    CU_ASSERT_EQUAL(l->ends, 0);
    cs_flow_table_tick(t, (cs_time_ns)70100000000LL);
    CU_ASSERT_EQUAL(l->ends, 1);
    CU_ASSERT_EQUAL(l->last_ended_id, 2);
    cs_flow_table_tick(t, (cs_time_ns)109900000000LL);
    CU_ASSERT_EQUAL(l->ends, 1);
    cs_flow_table_tick(t, (cs_time_ns)110100000000LL);
    CU_ASSERT_EQUAL(l->ends, 2);
    CU_ASSERT_EQUAL(l->last_ended_id, 1);
    /* the lists are empty: a new flow still ends 60 s after its last segment */
    seg(t, A_CLI, 40003, A_SRV, 80, 0, 0, S, NULL, 200.0);
    cs_flow_table_tick(t, (cs_time_ns)259900000000LL);
    CU_ASSERT_EQUAL(l->ends, 2);
    cs_flow_table_tick(t, (cs_time_ns)260100000000LL);
    CU_ASSERT_EQUAL(l->ends, 3);
    CU_ASSERT_EQUAL(l->last_ended_id, 3);
    cs_flow_table_free(t);
    free(l);
}

/* --syn-timeout: SYNs never answered end the flow that long after the
 * first (retransmissions counted, not extending it); an answered flow waits
 * for the idle timeout; the half-open list is what eviction takes first when
 * it is older. */
static void test_syn_timeout(void)
{
    struct log *l = log_new();
    struct cs_limits lim;
    cs_limits_default(&lim);
    lim.syn_timeout_s = 10;
    lim.idle_timeout_s = 300;
    struct cs_flow_table *t = cs_flow_table_new(&lim, &callbacks, l);
    CU_ASSERT_FATAL(t != NULL);
    seg(t, A_CLI, 41001, A_SRV, 80, 100, 0, S, NULL, 0.0); /* flow 1: never answered */
    seg(t, A_CLI, 41001, A_SRV, 80, 100, 0, S, NULL, 1.0); /* retransmissions */
    seg(t, A_CLI, 41001, A_SRV, 80, 100, 0, S, NULL, 3.0);
    seg(t, A_CLI, 41002, A_SRV, 80, 500, 0, S, NULL, 2.0);       /* flow 2: answered */
    seg(t, A_SRV, 80, A_CLI, 41002, 900, 501, S | A, NULL, 2.1); /* SYN-ACK */
    struct cs_flow *f1 = lookup(t, A_CLI, 41001, A_SRV, 80, NULL);
    CU_ASSERT_FATAL(f1 != NULL);
    CU_ASSERT_TRUE(f1->half_open);
    CU_ASSERT_EQUAL(f1->syns, 3);
    CU_ASSERT_FALSE(lookup(t, A_CLI, 41002, A_SRV, 80, NULL)->half_open);
    cs_flow_table_tick(t, (cs_time_ns)9900000000LL); /* 9.9 s after the first SYN */
    CU_ASSERT_EQUAL(l->ends, 0);
    cs_flow_table_tick(t, (cs_time_ns)10100000000LL);
    CU_ASSERT_EQUAL(l->ends, 1);
    CU_ASSERT_EQUAL(l->last_ended_id, 1);
    CU_ASSERT_EQUAL(l->last_syns, 3);
    CU_ASSERT_EQUAL(l->end_why[CS_FLOW_END_IDLE], 1);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->syn_timed_out, 1);
    cs_flow_table_tick(t, (cs_time_ns)200 * 1000000000); /* flow 2 waits for the idle timeout */
    CU_ASSERT_EQUAL(l->ends, 1);
    cs_flow_table_tick(t, (cs_time_ns)303 * 1000000000);
    CU_ASSERT_EQUAL(l->ends, 2);
    cs_flow_table_free(t);
    free(l);

    /* eviction: the older of the two lists' heads goes first */
    l = log_new();
    lim.max_flows = 2;
    t = cs_flow_table_new(&lim, &callbacks, l);
    CU_ASSERT_FATAL(t != NULL);
    seg(t, A_CLI, 42001, A_SRV, 80, 1, 0, S, NULL, 0.0); /* half-open, oldest */
    seg(t, A_CLI, 42002, A_SRV, 80, 1, 0, S, NULL, 0.5);
    seg(t, A_SRV, 80, A_CLI, 42002, 7, 2, S | A, NULL, 0.6);
    seg(t, A_CLI, 42003, A_SRV, 80, 1, 0, S, NULL, 0.7); /* evicts flow 1 */
    CU_ASSERT_EQUAL(l->end_why[CS_FLOW_END_EVICTED], 1);
    CU_ASSERT_EQUAL(l->last_ended_id, 1);
    CU_ASSERT_TRUE(l->last_half_open);
    seg(t, A_CLI, 42002, A_SRV, 80, 2, 8, A, "x", 5.0);  /* flow 2 active again */
    seg(t, A_CLI, 42004, A_SRV, 80, 1, 0, S, NULL, 5.1); /* evicts flow 3 (half-open, older) */
    CU_ASSERT_EQUAL(l->last_ended_id, 3);
    cs_flow_table_finish(t); /* both lists end at the end of input */
    CU_ASSERT_EQUAL(l->ends, 4);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->active, 0);
    cs_flow_table_free(t);
    free(l);
}

static void test_eviction(void)
{
    struct log *l = log_new();
    struct cs_flow_table *t = table(l, 4, 0);
    for (uint16_t i = 0; i < 10; i++) {
        seg(t, A_CLI, (uint16_t)(30000 + i), A_SRV, 80, 0, 0, S, NULL, 1.0 + i);
        if (i == 3) /* flow 1 becomes the most recently active */
            seg(t, A_CLI, 30000, A_SRV, 80, 1, 0, A, "keep", 4.5);
    }
    const struct cs_flow_stats *st = cs_flow_table_stats(t);
    CU_ASSERT_EQUAL(st->created, 10);
    CU_ASSERT_EQUAL(st->active, 4);
    CU_ASSERT_EQUAL(st->max_active, 4);
    CU_ASSERT_EQUAL(st->evicted, 6);
    /* evicted in LRU order: 2, 3, 4, 1, 5, 6 */
    static const uint64_t order[] = {2, 3, 4, 1, 5, 6};
    int k = 0;
    for (int i = 0; i < l->n; i++)
        if (l->e[i].type == L_END && k < 6) {
            CU_ASSERT_EQUAL(l->e[i].flow, order[k]);
            CU_ASSERT_EQUAL(l->e[i].kind, CS_FLOW_END_EVICTED);
            k++;
        }
    CU_ASSERT_EQUAL(k, 6);
    CU_ASSERT_PTR_NULL(lookup(t, A_CLI, 30000, A_SRV, 80, NULL));
    CU_ASSERT_PTR_NOT_NULL(lookup(t, A_CLI, 30009, A_SRV, 80, NULL));
    /* finish ends the rest in order of creation */
    int before = l->n;
    cs_flow_table_finish(t);
    static const uint64_t rest[] = {7, 8, 9, 10};
    k = 0;
    for (int i = before; i < l->n; i++)
        if (l->e[i].type == L_END && k < 4) {
            CU_ASSERT_EQUAL(l->e[i].flow, rest[k]);
            CU_ASSERT_EQUAL(l->e[i].kind, CS_FLOW_END_INPUT);
            k++;
        }
    CU_ASSERT_EQUAL(k, 4);
    CU_ASSERT_EQUAL(st->ended_at_input_end, 4);
    cs_flow_table_free(t);
    CU_ASSERT_EQUAL(l->ends, 10);
    free(l);
}

static void test_ghosts(void)
{
    struct log *l = log_new();
    struct cs_flow_table *t = table(l, 0, 300);
    seg(t, A_CLI, 40000, A_SRV, 80, 5, 6, A, NULL, 1.0);
    seg(t, A_CLI, 40000, A_SRV, 80, 5, 6, A | F, NULL, 1.0);
    seg(t, A_CLI, 40000, A_SRV, 80, 5, 6, R, NULL, 1.0);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->ignored_segments, 3);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->created, 0);
    CU_ASSERT_EQUAL(l->news, 0);
    CU_ASSERT_PTR_NULL(lookup(t, A_CLI, 40000, A_SRV, 80, NULL));
    cs_flow_table_free(t);
    free(l);
}

/* Both orders of the tuple find the same flow, with the right direction;
 * a different port, or the same ports on another address, does not. */
static void test_swapped_tuple(void)
{
    struct log *l = log_new();
    struct cs_flow_table *t = table(l, 0, 300);
    seg(t, A_CLI, 40000, A_SRV, 8080, 0, 0, S, NULL, 1.0);
    int d1 = -1, d2 = -1;
    struct cs_flow *f1 = lookup(t, A_CLI, 40000, A_SRV, 8080, &d1);
    struct cs_flow *f2 = lookup(t, A_SRV, 8080, A_CLI, 40000, &d2);
    CU_ASSERT_PTR_NOT_NULL(f1);
    CU_ASSERT_PTR_EQUAL(f1, f2);
    CU_ASSERT_EQUAL(d1, CS_DIR_C2S);
    CU_ASSERT_EQUAL(d2, CS_DIR_S2C);
    CU_ASSERT_PTR_NULL(lookup(t, A_CLI, 40001, A_SRV, 8080, NULL));
    CU_ASSERT_PTR_NULL(lookup(t, A_CLI, 8080, A_SRV, 40000, NULL));
    CU_ASSERT_PTR_NULL(lookup(t, A_CLI + 1, 40000, A_SRV, 8080, NULL));
    /* the server's segment joins the same flow */
    seg(t, A_SRV, 8080, A_CLI, 40000, 77, 1, S | A, NULL, 1.1);
    CU_ASSERT_EQUAL(l->news, 1);
    CU_ASSERT_EQUAL(f1->packets[CS_DIR_S2C], 1);
    /* IPv6 addresses that agree in their first 4 bytes are distinct */
    struct cs_addr a6, b6, c6;
    memset(&a6, 0, sizeof a6);
    a6.family = 6;
    a6.bytes[0] = 0x20;
    a6.bytes[1] = 0x01;
    a6.bytes[15] = 1;
    b6 = a6;
    b6.bytes[15] = 2;
    c6 = a6;
    c6.bytes[15] = 3;
    struct cs_segment s;
    memset(&s, 0, sizeof s);
    s.src = a6;
    s.dst = b6;
    s.sport = 5555;
    s.dport = 80;
    s.flags = S;
    s.ts = 1200000000;
    cs_flow_table_segment(t, &s);
    CU_ASSERT_PTR_NOT_NULL(cs_flow_table_lookup(t, &b6, 80, &a6, 5555, NULL));
    CU_ASSERT_PTR_NULL(cs_flow_table_lookup(t, &c6, 80, &a6, 5555, NULL));
    cs_flow_table_free(t);
    CU_ASSERT_EQUAL(l->ends, 2);
    free(l);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100k flows: created, found from both sides, expired by the clock. */
static void test_many_flows(void)
{
    enum { N = 100000 };
    struct log *l = log_new();
    l->record = false;
    struct cs_flow_table *t = table(l, 200000, 60);
    struct cs_segment s;
    memset(&s, 0, sizeof s);
    double t0 = now_s();
    for (uint32_t i = 0; i < N; i++) {
        /* one /16 of clients, all to one server port: a weak hash would chain */
        s.src = v4(0xC0A80000u | (i & 0xFFFF));
        s.dst = v4(A_SRV);
        s.sport = (uint16_t)(10000 + (i >> 16));
        s.dport = 80;
        s.seq = i;
        s.flags = S;
        s.frame = i + 1;
        s.ts = 1000000000 + (cs_time_ns)i * 1000;
        cs_flow_table_segment(t, &s);
    }
    double t1 = now_s();
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->active, N);
    uint32_t found = 0, right_dir = 0;
    for (uint32_t i = 0; i < N; i++) {
        struct cs_addr c = v4(0xC0A80000u | (i & 0xFFFF)), sv = v4(A_SRV);
        int dir = -1;
        struct cs_flow *f = cs_flow_table_lookup(t, &sv, 80, &c, (uint16_t)(10000 + (i >> 16)), &dir);
        if (f && f->key.id == i + 1)
            found++;
        if (dir == CS_DIR_S2C)
            right_dir++;
    }
    double t2 = now_s();
    CU_ASSERT_EQUAL(found, N);
    CU_ASSERT_EQUAL(right_dir, N);
    cs_flow_table_tick(t, (cs_time_ns)1000 * 1000000000);
    double t3 = now_s();
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->idle_expired, N);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->active, 0);
    CU_ASSERT_EQUAL(l->ends, N);
    fprintf(stderr, "\n  100k flows: insert %.0f ns/flow, lookup %.0f ns, expire %.0f ns; sizeof(struct cs_flow) = %zu\n",
            (t1 - t0) / N * 1e9, (t2 - t1) / N * 1e9, (t3 - t2) / N * 1e9, sizeof(struct cs_flow));
    cs_flow_table_free(t);
    free(l);
}

/* Flow structs come from slabs of CS_FLOW_SLAB, each on a cache line; the
 * structs of ended flows are reused before a new slab is taken. */
static void test_flow_slabs(void)
{
    enum { N = 3 * CS_FLOW_SLAB + 5 };
    struct log *l = log_new();
    l->record = false;
    struct cs_flow_table *t = table(l, 100000, 60);
    struct cs_flow *seen[N];
    for (uint32_t i = 0; i < N; i++) {
        seg(t, A_CLI, (uint16_t)(20000 + i), A_SRV, 443, 100, 0, S, NULL, 1.0);
        int dir;
        seen[i] = lookup(t, A_CLI, (uint16_t)(20000 + i), A_SRV, 443, &dir);
        CU_ASSERT_FATAL(seen[i] != NULL);
        CU_ASSERT_EQUAL((uintptr_t)seen[i] % 64, 0);
    }
    /* within a slab, one after the other */
    CU_ASSERT_EQUAL(seen[1], seen[0] + 1);
    CU_ASSERT_EQUAL(seen[CS_FLOW_SLAB - 1], seen[0] + CS_FLOW_SLAB - 1);
    cs_flow_table_tick(t, (cs_time_ns)1000 * 1000000000);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->active, 0);
    /* the same number again: every struct is one of those (no new slab) */
    int reused = 0;
    for (uint32_t i = 0; i < N; i++) {
        seg(t, A_CLI, (uint16_t)(30000 + i), A_SRV, 443, 100, 0, S, NULL, 2000.0);
        int dir;
        struct cs_flow *f = lookup(t, A_CLI, (uint16_t)(30000 + i), A_SRV, 443, &dir);
        for (uint32_t k = 0; f && k < N; k++)
            if (seen[k] == f) {
                reused++;
                break;
            }
    }
    CU_ASSERT_EQUAL(reused, N);
    cs_flow_table_free(t);
    free(l);
}

/* A new SYN on a known tuple starts a new flow; a retransmitted or late SYN
 * of the same connection does not. */
static void test_port_reuse(void)
{
    struct log *l = log_new();
    struct cs_flow_table *t = table(l, 0, 300);
    seg(t, A_CLI, 40000, A_SRV, 80, 1000, 0, S, NULL, 1.0);
    seg(t, A_CLI, 40000, A_SRV, 80, 1000, 0, S, NULL, 1.5); /* retransmitted SYN */
    CU_ASSERT_EQUAL(l->news, 1);
    seg(t, A_CLI, 40000, A_SRV, 80, 1001, 0, A, "GET / HTTP/1.1\r\n\r\n", 2.0);
    seg(t, A_CLI, 40000, A_SRV, 80, 1019, 0, A | F, NULL, 2.1);
    seg(t, A_CLI, 40000, A_SRV, 80, 900000000, 0, S, NULL, 3.0); /* reuse */
    CU_ASSERT_EQUAL(l->news, 2);
    CU_ASSERT_EQUAL(l->end_why[CS_FLOW_END_CLOSED], 1);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->port_reuse, 1);
    struct cs_flow *f = lookup(t, A_CLI, 40000, A_SRV, 80, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->key.id, 2);
    CU_ASSERT_EQUAL(f->dir[CS_DIR_C2S].next_seq, 900000001u);
    /* mid-stream pickup, then the connection's own SYN captured late */
    seg(t, A_CLI, 40001, A_SRV, 80, 5001, 0, A, "GET / HTTP/1.1\r\n\r\n", 4.0);
    seg(t, A_CLI, 40001, A_SRV, 80, 5000, 0, S, NULL, 4.0);
    CU_ASSERT_EQUAL(l->news, 3);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->port_reuse, 1);
    /* roles from a port guess are kept when a later SYN contradicts them */
    seg(t, A_CLI, 51000, A_SRV, 443, 7000, 0, A, "xyz", 5.0);
    seg(t, A_SRV, 443, A_CLI, 51000, 100, 0, S, NULL, 5.1);
    f = lookup(t, A_CLI, 51000, A_SRV, 443, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->key.client_port, 51000);
    CU_ASSERT_FALSE(f->handshake_seen);
    CU_ASSERT_EQUAL(l->news, 4);
    cs_flow_table_free(t);
    CU_ASSERT_EQUAL(l->ends, 4);
    free(l);
}

/* Callbacks may be NULL. */
static void test_null_callbacks(void)
{
    struct cs_limits lim;
    cs_limits_default(&lim);
    struct cs_flow_table *t = cs_flow_table_new(&lim, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    seg(t, A_CLI, 1, A_SRV, 2, 0, 0, A, "data", 1.0);
    seg(t, A_CLI, 1, A_SRV, 2, 9, 0, A, "more", 1.0);
    CU_ASSERT_EQUAL(cs_flow_table_stats(t)->created, 1);
    cs_flow_table_free(t);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"roles", test_roles},
        {"dispatch and close on FIN/FIN", test_dispatch_and_close},
        {"ACK-driven ordering", test_ack_ordering},
        {"ACK recorded before the data", test_ack_before_data},
        {"reset", test_reset},
        {"SYN timeout and the half-open list", test_syn_timeout},
        {"idle expiry", test_idle_expiry},
        {"expiry deadlines after the heads move", test_expiry_deadlines},
        {"eviction at max_flows", test_eviction},
        {"ghost ACK/FIN/RST", test_ghosts},
        {"swapped tuple", test_swapped_tuple},
        {"100k flows", test_many_flows},
        {"flow structs from slabs", test_flow_slabs},
        {"port reuse and late SYN", test_port_reuse},
        {"NULL callbacks", test_null_callbacks},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("flow", cases);
    return cs_test_run();
}
