/* Hand-overs between rows of the protocol table, through the whole
 * pipeline on generated TCP connections:
 *   - the h2 client preface cut before its 24th byte (which looks like the
 *     start of an HTTP/1 request line) still goes to the h2 row, at every
 *     cut, with server bytes arriving while the rows disagree;
 *   - HTTP/1 inside a CONNECT tunnel (2xx) is parsed, and names the tunnel;
 *     a CONNECT answered 407 stays an ordinary transaction; garbage and
 *     nested CONNECTs inside a tunnel do not crash and stay bounded;
 *   - Upgrade: h2c answered 101 continues as h2: stream 1 is the upgrading
 *     request, answered by the server's HEADERS on stream 1. */
#include <stdio.h>
#include <string.h>

#include "h2_testutil.h"
#include "pipeline.h"
#include "summary.h"

/* ---- a TCP connection as Ethernet frames ---------------------------------- */

struct conn {
    uint32_t seq[2]; /* next sequence number per direction */
    uint64_t frame;
    uint8_t pkt[2048];
    struct cs_pipeline *p;
    uint16_t cport;
};

static void put16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32be(uint8_t *p, uint32_t v)
{
    put16be(p, (uint16_t)(v >> 16));
    put16be(p + 2, (uint16_t)v);
}

/* One segment of direction dir (0 client -> server) with flags and data. */
static void segment(struct conn *c, int dir, uint8_t flags, const void *data, uint32_t n)
{
    static const uint8_t cli[4] = {192, 0, 2, 1}, srv[4] = {198, 51, 100, 7};
    uint8_t *p = c->pkt;
    memset(p, 0, 54);
    p[12] = 0x08; /* IPv4 */
    uint8_t *ip = p + 14;
    ip[0] = 0x45;
    put16be(ip + 2, (uint16_t)(20 + 20 + n));
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, dir ? srv : cli, 4);
    memcpy(ip + 16, dir ? cli : srv, 4);
    uint8_t *tcp = ip + 20;
    put16be(tcp, dir ? 8080 : c->cport);
    put16be(tcp + 2, dir ? c->cport : 8080);
    put32be(tcp + 4, c->seq[dir]);
    put32be(tcp + 8, c->seq[!dir]);
    tcp[12] = 5 << 4;
    tcp[13] = flags | (flags & 0x02 && !dir ? 0 : 0x10); /* ACK but on the first SYN */
    put16be(tcp + 14, 65535);
    if (n)
        memcpy(tcp + 20, data, n);
    c->seq[dir] += n + ((flags & 0x03) ? 1u : 0u); /* SYN, FIN count one */
    struct cs_frame fr = {
        .number = ++c->frame,
        .ts = (cs_time_ns)c->frame * 1000000,
        .linktype = 1,
        .data = p,
        .caplen = 54 + n,
        .wirelen = 54 + n,
    };
    cs_pipeline_frame(c->p, &fr);
}

static void open_conn(struct conn *c, struct cs_pipeline *p, uint16_t cport)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    c->cport = cport;
    c->seq[0] = 1000;
    c->seq[1] = 5000;
    segment(c, 0, 0x02, NULL, 0);
    segment(c, 1, 0x02, NULL, 0);
    segment(c, 0, 0, NULL, 0);
}

static void send_str(struct conn *c, int dir, const char *s)
{
    segment(c, dir, 0x08, s, (uint32_t)strlen(s));
}

static void close_conn(struct conn *c)
{
    segment(c, 0, 0x01, NULL, 0);
    segment(c, 1, 0x01, NULL, 0);
}

/* ---- what came out --------------------------------------------------------- */

struct seen {
    unsigned txns, h2, http1, answered;
    int status[16];
    char transport[16][16];
    char via[16][64];
    uint32_t stream[16];
    int interim[16];
    char path[16][64];
};

static void rec_txn(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t)
{
    (void)f;
    struct seen *s = ctx;
    unsigned i = s->txns++;
    if (strcmp(t->transport, CS_TRANSPORT_H2) == 0)
        s->h2++;
    else
        s->http1++;
    if (t->has_resp)
        s->answered++;
    if (i < 16) {
        s->status[i] = t->has_resp ? t->resp.status : 0;
        snprintf(s->transport[i], sizeof s->transport[i], "%s", t->transport);
        snprintf(s->via[i], sizeof s->via[i], "%s", t->via_connect ? t->via_connect : "");
        s->stream[i] = t->stream;
        s->interim[i] = t->interim_status;
        snprintf(s->path[i], sizeof s->path[i], "%.*s", (int)t->req.target_len, t->req.target);
    }
}

static struct cs_pipeline *new_pipe(struct seen *s)
{
    memset(s, 0, sizeof *s);
    struct cs_limits lim;
    cs_limits_default(&lim);
    struct cs_pipeline_hooks hooks = {.on_txn = rec_txn};
    char errbuf[256];
    struct cs_pipeline *p = cs_pipeline_new(&lim, &hooks, s, errbuf, sizeof errbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return p;
}

static void end_pipe(struct cs_pipeline *p, struct cs_summary *sum)
{
    cs_pipeline_finish(p);
    memset(sum, 0, sizeof *sum);
    cs_pipeline_summary(p, sum);
    cs_pipeline_free(p);
}

/* An h2 client stream: preface, SETTINGS, one GET on stream 1. */
static struct hb h2_client(void)
{
    nghttp2_hd_deflater *def;
    nghttp2_hd_deflate_new(&def, 4096);
    struct hb b = {0};
    put_preface(&b);
    put_settings(&b, false, NULL, 0);
    static const char *const req[] = {":method", "GET", ":scheme", "http", ":authority",
                                      "api.test", ":path", "/split", "origin",
                                      "http://app.test", NULL};
    put_headers(&b, def, 1, req, &(struct hdr_opts){.pad = -1, .end_stream = true});
    nghttp2_hd_deflate_del(def);
    return b;
}

static struct hb h2_server(uint32_t stream)
{
    nghttp2_hd_deflater *def;
    nghttp2_hd_deflate_new(&def, 4096);
    struct hb b = {0};
    put_settings(&b, false, NULL, 0);
    put_settings(&b, true, NULL, 0);
    static const char *const resp[] = {":status", "200", "access-control-allow-origin",
                                       "http://app.test", NULL};
    put_headers(&b, def, stream, resp, &(struct hdr_opts){.pad = -1, .end_stream = true});
    nghttp2_hd_deflate_del(def);
    return b;
}

/* The preface cut at every byte 1..23 (and 24, the whole preface), with
 * the server's SETTINGS arriving between the two pieces. */
static void test_preface_split(void)
{
    struct hb cl = h2_client(), sv = h2_server(1);
    for (uint32_t cut = 1; cut <= CS_H2_PREFACE_LEN; cut++) {
        struct seen s;
        struct cs_pipeline *p = new_pipe(&s);
        struct conn c;
        open_conn(&c, p, (uint16_t)(40000 + cut));
        segment(&c, 0, 0x08, cl.p, cut);
        segment(&c, 1, 0x08, sv.p, 9); /* the server's SETTINGS (empty) */
        segment(&c, 0, 0x08, cl.p + cut, (uint32_t)(cl.len - cut));
        segment(&c, 1, 0x08, sv.p + 9, (uint32_t)(sv.len - 9));
        close_conn(&c);
        struct cs_summary sum;
        end_pipe(p, &sum);
        CU_ASSERT_EQUAL(s.txns, 1);
        CU_ASSERT_EQUAL(s.h2, 1);
        CU_ASSERT_EQUAL(s.status[0], 200);
        CU_ASSERT_STRING_EQUAL(s.path[0], "/split");
        CU_ASSERT_EQUAL(sum.h2.bad_preface, 0);
        CU_ASSERT_EQUAL(sum.http.garbage_bytes, 0);
        if (s.h2 != 1)
            printf("\n    cut at %u: %u h2, %u HTTP/1 transactions\n", cut, s.h2, s.http1);
    }
    /* one byte per segment: the held events' bound, then still h2 */
    struct seen s;
    struct cs_pipeline *p = new_pipe(&s);
    struct conn c;
    open_conn(&c, p, 40100);
    for (uint32_t i = 0; i < CS_H2_PREFACE_LEN; i++)
        segment(&c, 0, 0x08, cl.p + i, 1);
    segment(&c, 0, 0x08, cl.p + CS_H2_PREFACE_LEN, (uint32_t)(cl.len - CS_H2_PREFACE_LEN));
    segment(&c, 1, 0x08, sv.p, (uint32_t)sv.len);
    close_conn(&c);
    struct cs_summary sum;
    end_pipe(p, &sum);
    CU_ASSERT_EQUAL(s.h2, 1);
    CU_ASSERT_EQUAL(s.status[0], 200);
    /* an HTTP/1 POST cut after "P" still goes to HTTP/1 */
    p = new_pipe(&s);
    open_conn(&c, p, 40101);
    send_str(&c, 0, "P");
    send_str(&c, 0, "OST /x HTTP/1.1\r\nHost: api.test\r\nContent-Length: 0\r\n\r\n");
    send_str(&c, 1, "HTTP/1.1 204 No Content\r\n\r\n");
    close_conn(&c);
    end_pipe(p, &sum);
    CU_ASSERT_EQUAL(s.http1, 1);
    CU_ASSERT_EQUAL(s.status[0], 204);
    hb_free(&cl);
    hb_free(&sv);
}

static const char CONNECT_REQ[] = "CONNECT api.test:80 HTTP/1.1\r\nHost: api.test:80\r\n\r\n";
static const char CONNECT_OK[] = "HTTP/1.1 200 Connection established\r\n\r\n";
static const char INNER_REQ[] = "GET /in HTTP/1.1\r\nHost: api.test\r\nOrigin: http://app.test\r\n\r\n";
static const char INNER_RESP[] = "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n";

/* HTTP/1 inside a tunnel: the CONNECT itself, then the inner exchange
 * naming the tunnel; the answer's first inner bytes in the 200's segment. */
static void test_connect_http1(void)
{
    struct seen s;
    struct cs_pipeline *p = new_pipe(&s);
    struct conn c;
    open_conn(&c, p, 41000);
    send_str(&c, 0, CONNECT_REQ);
    send_str(&c, 1, CONNECT_OK);
    send_str(&c, 0, "GET /in HTTP/1.1\r\nHo");
    send_str(&c, 0, "st: api.test\r\nOrigin: http://app.test\r\n\r\n");
    send_str(&c, 1, INNER_RESP);
    send_str(&c, 0, INNER_REQ);
    send_str(&c, 1, INNER_RESP);
    close_conn(&c);
    struct cs_summary sum;
    end_pipe(p, &sum);
    CU_ASSERT_EQUAL_FATAL(s.txns, 3);
    CU_ASSERT_STRING_EQUAL(s.path[0], "api.test:80");
    CU_ASSERT_STRING_EQUAL(s.via[0], "");
    CU_ASSERT_EQUAL(s.status[0], 200);
    for (int i = 1; i < 3; i++) {
        CU_ASSERT_STRING_EQUAL(s.path[i], "/in");
        CU_ASSERT_STRING_EQUAL(s.via[i], "api.test:80");
        CU_ASSERT_EQUAL(s.status[i], 200);
    }
    CU_ASSERT_EQUAL(sum.handover.connect_tunnels, 1);
    CU_ASSERT_EQUAL(sum.handover.tunnels_parsed, 1);
    CU_ASSERT_EQUAL(sum.handover.held_bytes, 0);
    CU_ASSERT_EQUAL(sum.http.held_bytes, 0);

    /* 407: an ordinary exchange, the connection stays HTTP/1 */
    p = new_pipe(&s);
    open_conn(&c, p, 41001);
    send_str(&c, 0, CONNECT_REQ);
    send_str(&c, 1, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
    send_str(&c, 0, INNER_REQ);
    send_str(&c, 1, INNER_RESP);
    close_conn(&c);
    end_pipe(p, &sum);
    CU_ASSERT_EQUAL_FATAL(s.txns, 2);
    CU_ASSERT_EQUAL(s.status[0], 407);
    CU_ASSERT_STRING_EQUAL(s.via[1], "");
    CU_ASSERT_EQUAL(sum.handover.connect_tunnels, 0);
}

/* A client that does not wait for the answer: its bytes after the CONNECT
 * are held until the answer says whose they are. */
static void test_connect_pipelined(void)
{
    struct seen s;
    struct cs_pipeline *p = new_pipe(&s);
    struct conn c;
    open_conn(&c, p, 41020);
    struct hb b = {0};
    hb_str(&b, CONNECT_REQ);
    hb_str(&b, INNER_REQ);
    segment(&c, 0, 0x08, b.p, (uint32_t)b.len);
    hb_free(&b);
    hb_str(&b, CONNECT_OK);
    hb_str(&b, INNER_RESP);
    segment(&c, 1, 0x08, b.p, (uint32_t)b.len);
    hb_free(&b);
    close_conn(&c);
    struct cs_summary sum;
    end_pipe(p, &sum);
    CU_ASSERT_EQUAL_FATAL(s.txns, 2);
    CU_ASSERT_STRING_EQUAL(s.path[1], "/in");
    CU_ASSERT_STRING_EQUAL(s.via[1], "api.test:80");
    CU_ASSERT_EQUAL(s.status[1], 200);
    CU_ASSERT_EQUAL(sum.http.garbage_bytes, 0);
    CU_ASSERT_EQUAL(sum.http.held_bytes, 0);

    /* the same answered 407: the held request is HTTP after all */
    p = new_pipe(&s);
    open_conn(&c, p, 41021);
    hb_str(&b, CONNECT_REQ);
    hb_str(&b, INNER_REQ);
    segment(&c, 0, 0x08, b.p, (uint32_t)b.len);
    hb_free(&b);
    send_str(&c, 1, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
    send_str(&c, 1, INNER_RESP);
    close_conn(&c);
    end_pipe(p, &sum);
    CU_ASSERT_EQUAL_FATAL(s.txns, 2);
    CU_ASSERT_EQUAL(s.status[0], 407);
    CU_ASSERT_STRING_EQUAL(s.path[1], "/in");
    CU_ASSERT_STRING_EQUAL(s.via[1], "");
    CU_ASSERT_EQUAL(s.status[1], 200);
    CU_ASSERT_EQUAL(sum.handover.connect_tunnels, 0);
    CU_ASSERT_EQUAL(sum.http.held_bytes, 0);
}

/* Garbage after the 200, and CONNECTs nested deeper than the bound. */
static void test_connect_bad(void)
{
    struct seen s;
    struct cs_pipeline *p = new_pipe(&s);
    struct conn c;
    open_conn(&c, p, 41002);
    send_str(&c, 0, CONNECT_REQ);
    send_str(&c, 1, CONNECT_OK);
    static const uint8_t junk[] = {0, 1, 2, 0xff, 'P', 'R', 0, '\r', '\n'};
    segment(&c, 0, 0x08, junk, sizeof junk);
    segment(&c, 1, 0x08, junk, sizeof junk);
    send_str(&c, 0, INNER_REQ);
    close_conn(&c);
    struct cs_summary sum;
    end_pipe(p, &sum);
    CU_ASSERT_EQUAL(s.txns, 1);
    CU_ASSERT_EQUAL(sum.handover.connect_tunnels, 1);
    CU_ASSERT_EQUAL(sum.handover.tunnels_unparsed, 1);
    CU_ASSERT_EQUAL(sum.handover.held_bytes, 0);

    /* server bytes first, then nothing from the client: not parsed */
    p = new_pipe(&s);
    open_conn(&c, p, 41003);
    send_str(&c, 0, CONNECT_REQ);
    send_str(&c, 1, CONNECT_OK);
    send_str(&c, 1, "220 smtp.test ESMTP\r\n");
    close_conn(&c);
    end_pipe(p, &sum);
    CU_ASSERT_EQUAL(sum.handover.tunnels_unparsed, 1);
    CU_ASSERT_EQUAL(sum.handover.held_bytes, 0);

    /* CONNECT inside CONNECT, 6 deep: followed CS_MAX_CONNECT_DEPTH deep */
    p = new_pipe(&s);
    open_conn(&c, p, 41004);
    for (int i = 0; i < 6; i++) {
        send_str(&c, 0, CONNECT_REQ);
        send_str(&c, 1, CONNECT_OK);
    }
    send_str(&c, 0, INNER_REQ);
    send_str(&c, 1, INNER_RESP);
    close_conn(&c);
    end_pipe(p, &sum);
    CU_ASSERT_EQUAL(s.txns, 1 + CS_MAX_CONNECT_DEPTH);
    CU_ASSERT_EQUAL(sum.handover.connect_tunnels, CS_MAX_CONNECT_DEPTH);
    CU_ASSERT_EQUAL(sum.handover.tunnels_too_deep, 1);
    CU_ASSERT_STRING_EQUAL(s.via[1], "api.test:80");
    CU_ASSERT_EQUAL(sum.handover.held_bytes, 0);
}

/* HTTP2-Settings: SETTINGS_HEADER_TABLE_SIZE=100 (a smaller table for the
 * server's blocks), SETTINGS_MAX_CONCURRENT_STREAMS=100. */
#define H2C_UPGRADE_REQ                                       \
    "GET /up HTTP/1.1\r\nHost: api.test\r\n"                  \
    "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" \
    "HTTP2-Settings: AAEAAABkAAMAAABk\r\nOrigin: http://app.test\r\n\r\n"

static void h2c_run(struct seen *s, struct cs_summary *sum, bool preface, uint32_t table)
{
    struct cs_pipeline *p = new_pipe(s);
    struct conn c;
    open_conn(&c, p, 41010);
    send_str(&c, 0, H2C_UPGRADE_REQ);
    nghttp2_hd_deflater *def;
    nghttp2_hd_deflate_new(&def, table);
    struct hb sv = {0};
    hb_str(&sv, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
    put_settings(&sv, false, NULL, 0);
    static const char *const resp[] = {":status", "200", "access-control-allow-origin",
                                       "http://app.test", "x-long-enough-to-be-indexed",
                                       "0123456789012345678901234567890123456789", NULL};
    put_headers(&sv, def, 1, resp, &(struct hdr_opts){.pad = -1, .end_stream = true});
    segment(&c, 1, 0x08, sv.p, (uint32_t)sv.len);
    if (preface) {
        nghttp2_hd_deflater *cdef;
        nghttp2_hd_deflate_new(&cdef, 4096);
        struct hb cl = {0};
        put_preface(&cl);
        put_settings(&cl, false, NULL, 0);
        put_settings(&cl, true, NULL, 0);
        static const char *const req[] = {":method", "GET", ":scheme", "http", ":authority",
                                          "api.test", ":path", "/second", NULL};
        put_headers(&cl, cdef, 3, req, &(struct hdr_opts){.pad = -1, .end_stream = true});
        segment(&c, 0, 0x08, cl.p, (uint32_t)cl.len);
        struct hb sv2 = {0};
        put_settings(&sv2, true, NULL, 0);
        put_headers(&sv2, def, 3, resp, &(struct hdr_opts){.pad = -1, .end_stream = true});
        segment(&c, 1, 0x08, sv2.p, (uint32_t)sv2.len);
        hb_free(&sv2);
        hb_free(&cl);
        nghttp2_hd_deflate_del(cdef);
    } else {
        send_str(&c, 0, "GET /not-h2 HTTP/1.1\r\n\r\n");
    }
    close_conn(&c);
    end_pipe(p, sum);
    hb_free(&sv);
    nghttp2_hd_deflate_del(def);
}

static void test_h2c(void)
{
    struct seen s;
    struct cs_summary sum;
    h2c_run(&s, &sum, true, 100);
    CU_ASSERT_EQUAL_FATAL(s.txns, 2);
    /* stream 1: the upgrading request, answered in h2, the 101 its interim */
    CU_ASSERT_STRING_EQUAL(s.transport[0], CS_TRANSPORT_H2);
    CU_ASSERT_EQUAL(s.stream[0], 1);
    CU_ASSERT_STRING_EQUAL(s.path[0], "/up");
    CU_ASSERT_EQUAL(s.status[0], 200);
    CU_ASSERT_EQUAL(s.interim[0], 101);
    CU_ASSERT_EQUAL(s.stream[1], 3);
    CU_ASSERT_STRING_EQUAL(s.path[1], "/second");
    CU_ASSERT_EQUAL(s.status[1], 200);
    CU_ASSERT_EQUAL(sum.handover.h2c_upgrades, 1);
    CU_ASSERT_EQUAL(sum.handover.h2c_not_h2, 0);
    CU_ASSERT_EQUAL(sum.h2.hpack_failures, 0);
    CU_ASSERT_EQUAL(sum.h2.held_bytes, 0);
    CU_ASSERT_EQUAL(sum.handover.held_bytes, 0);
    /* an encoder with a bigger table than HTTP2-Settings allowed: the
     * inflater sized by the settings refuses its blocks (so they were applied) */
    h2c_run(&s, &sum, true, 4096);
    CU_ASSERT(sum.h2.hpack_failures > 0 || sum.h2.hpack_errors > 0);
    /* a 101 to h2c the client does not follow with the preface */
    h2c_run(&s, &sum, false, 100);
    CU_ASSERT_EQUAL(sum.handover.h2c_upgrades, 1);
    CU_ASSERT_EQUAL(sum.handover.h2c_not_h2, 1);
    CU_ASSERT_EQUAL(s.txns, 1); /* stream 1: the server did answer it */
    CU_ASSERT_EQUAL(s.status[0], 200);
    CU_ASSERT_EQUAL(s.interim[0], 101);
}

/* The client sends its preface and a request right behind the Upgrade,
 * before the 101: held, then the h2 row's. */
static void test_h2c_early(void)
{
    struct seen s;
    struct cs_pipeline *p = new_pipe(&s);
    struct conn c;
    open_conn(&c, p, 41030);
    nghttp2_hd_deflater *cdef, *def;
    nghttp2_hd_deflate_new(&cdef, 4096);
    nghttp2_hd_deflate_new(&def, 100); /* as the client's HTTP2-Settings asks */
    struct hb cl = {0}, sv = {0};
    hb_str(&cl, H2C_UPGRADE_REQ);
    put_preface(&cl);
    put_settings(&cl, false, NULL, 0);
    static const char *const req[] = {":method", "GET", ":scheme", "http", ":authority",
                                      "api.test", ":path", "/early", NULL};
    put_headers(&cl, cdef, 3, req, &(struct hdr_opts){.pad = -1, .end_stream = true});
    segment(&c, 0, 0x08, cl.p, (uint32_t)cl.len);
    hb_str(&sv, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
    put_settings(&sv, false, NULL, 0);
    put_settings(&sv, true, NULL, 0);
    static const char *const resp[] = {":status", "204", NULL};
    put_headers(&sv, def, 1, resp, &(struct hdr_opts){.pad = -1, .end_stream = true});
    put_headers(&sv, def, 3, resp, &(struct hdr_opts){.pad = -1, .end_stream = true});
    segment(&c, 1, 0x08, sv.p, (uint32_t)sv.len);
    close_conn(&c);
    struct cs_summary sum;
    end_pipe(p, &sum);
    CU_ASSERT_EQUAL_FATAL(s.txns, 2);
    CU_ASSERT_STRING_EQUAL(s.path[0], "/up");
    CU_ASSERT_EQUAL(s.status[0], 204);
    CU_ASSERT_STRING_EQUAL(s.path[1], "/early");
    CU_ASSERT_EQUAL(s.status[1], 204);
    CU_ASSERT_EQUAL(sum.handover.h2c_not_h2, 0);
    CU_ASSERT_EQUAL(sum.h2.bad_preface, 0);
    hb_free(&cl);
    hb_free(&sv);
    nghttp2_hd_deflate_del(cdef);
    nghttp2_hd_deflate_del(def);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    static const struct cs_test_case cases[] = {
        {"h2 preface split at every byte goes to h2", test_preface_split},
        {"CONNECT 2xx: HTTP/1 inside, via_connect; 407 stays HTTP/1", test_connect_http1},
        {"CONNECT: garbage, server-first, nesting bound", test_connect_bad},
        {"CONNECT: client bytes before the answer", test_connect_pipelined},
        {"Upgrade: h2c answered 101 goes on as h2, stream 1", test_h2c},
        {"Upgrade: h2c with the preface sent before the 101", test_h2c_early},
        {NULL, NULL},
    };
    cs_test_add_suite("pipeline_handover", cases);
    return cs_test_run();
}
