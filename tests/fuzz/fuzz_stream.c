/* libFuzzer target: flow table + TCP reassembly + HTTP (flow.c, reasm.c,
 * http.c) on a sequence of TCP segments of up to four connections, glued the
 * way pipeline.c glues them (without nDPI).
 *
 * Input: byte 0 chooses limits (bit 0: tiny caps; bit 1: max 2 flows;
 * bit 2: tiny caps on held out-of-order pieces).  Then
 * records of 7 bytes plus payload:
 *   ctl   bit 0 direction (server->client), bits 1-2 connection, bit 3 SYN,
 *         bit 4 FIN, bit 5 RST, bit 6 ACK, bit 7 jump the clock 400 s
 *   seq   int16 LE: offset from the sender's next byte (gaps, overlaps)
 *   ack   int16 LE: offset from the peer's next byte
 *   len   payload length (the last record takes what is left)
 * Payloads are copied to buffers of exactly their size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct app {
    struct cs_http_conn *http;
};

static struct cs_limits g_lim;
static struct cs_http_stats g_stats;

static void on_txn(void *ctx, const struct cs_http_txn *t)
{
    (void)ctx;
    volatile uint8_t sink = 0;
    for (uint32_t h = 0; h < t->req->n_headers; h++)
        for (size_t i = 0; i < t->req->headers[h].value_len; i++)
            sink ^= (uint8_t)t->req->headers[h].value[i];
    (void)sink;
}

static void on_new(void *ctx, struct cs_flow *f)
{
    (void)ctx;
    struct app *a = calloc(1, sizeof *a);
    if (!a)
        return;
    a->http = cs_http_conn_new(&g_lim, &g_stats, on_txn, a);
    f->app = a;
}

static void on_stream(void *ctx, struct cs_flow *f, int dir, const struct cs_stream_event *ev)
{
    (void)ctx;
    struct app *a = f->app;
    if (ev->kind == CS_STREAM_DATA && (ev->len == 0 || !ev->data))
        abort(); /* the reassembler never hands out empty data */
    if (ev->kind == CS_STREAM_GAP && ev->len == 0)
        abort();
    if (a && a->http)
        cs_http_conn_event(a->http, dir, ev);
}

static void on_end(void *ctx, struct cs_flow *f, enum cs_flow_end why)
{
    (void)ctx;
    struct app *a = f->app;
    if (!a)
        return;
    if (a->http)
        cs_http_conn_finish(a->http, why == CS_FLOW_END_RESET ? CS_TXN_RESET : CS_TXN_UNANSWERED,
                            f->key.last_frame, f->key.last_ts);
    free(a);
    f->app = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cs_limits_default(&g_lim);
    if (data[0] & 1) {
        g_lim.max_held_per_flow = 300;
        g_lim.max_held_total = 500;
        g_lim.max_header_bytes = 64;
        g_lim.max_header_lines = 3;
        g_lim.max_pipeline = 2;
        g_lim.max_uri_bytes = 8;
    }
    if (data[0] & 2)
        g_lim.max_flows = 2;
    if (data[0] & 4) {
        g_lim.max_held_pieces_per_flow = 5;
        g_lim.max_held_pieces = 9;
    }
    memset(&g_stats, 0, sizeof g_stats);
    struct cs_flow_callbacks cb = {.on_new = on_new, .on_stream = on_stream, .on_end = on_end};
    struct cs_flow_table *t = cs_flow_table_new(&g_lim, &cb, NULL);
    if (!t)
        return 0;

    uint32_t next[4][2];
    for (int c = 0; c < 4; c++) {
        next[c][0] = 0xfffff000u + (uint32_t)c * 0x10000000u; /* near a wrap */
        next[c][1] = 0x12345678u * (uint32_t)(c + 1);
    }
    size_t off = 1;
    uint64_t frame = 0;
    cs_time_ns ts = 1767225600LL * 1000000000LL;
    while (off + 6 <= size) {
        uint8_t ctl = data[off];
        int32_t sd = (int16_t)(uint16_t)(data[off + 1] | data[off + 2] << 8);
        int32_t ad = (int16_t)(uint16_t)(data[off + 3] | data[off + 4] << 8);
        uint32_t len = data[off + 5];
        off += 6;
        if (len > size - off)
            len = (uint32_t)(size - off);
        int dir = ctl & 1, conn = (ctl >> 1) & 3;
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
            break;
        memcpy(buf, data + off, len);
        off += len;
        ts += (ctl & 0x80) ? 400LL * 1000000000LL : 1000000;

        struct cs_segment s;
        memset(&s, 0, sizeof s);
        s.frame = ++frame;
        s.ts = ts;
        struct cs_addr cli = {.family = 4, .bytes = {192, 0, 2, 10}};
        struct cs_addr srv = {.family = 4, .bytes = {198, 51, 100, 20}};
        uint16_t cport = (uint16_t)(41000 + conn), sport = 80;
        if (dir == 0) {
            s.src = cli;
            s.dst = srv;
            s.sport = cport;
            s.dport = sport;
        } else {
            s.src = srv;
            s.dst = cli;
            s.sport = sport;
            s.dport = cport;
        }
        s.seq = next[conn][dir] + (uint32_t)sd;
        s.ack = next[conn][!dir] + (uint32_t)ad;
        s.flags = (uint8_t)(((ctl & 0x08) ? CS_TCP_SYN : 0) | ((ctl & 0x10) ? CS_TCP_FIN : 0) |
                            ((ctl & 0x20) ? CS_TCP_RST : 0) | ((ctl & 0x40) ? CS_TCP_ACK : 0));
        s.window = 65535;
        s.payload = buf;
        s.payload_len = len;
        s.wire_payload_len = len;
        s.l3 = buf;
        s.l3_len = len;
        cs_flow_table_segment(t, &s);
        uint32_t end = s.seq + len + ((s.flags & CS_TCP_SYN) ? 1 : 0) + ((s.flags & CS_TCP_FIN) ? 1 : 0);
        if ((int32_t)(end - next[conn][dir]) > 0)
            next[conn][dir] = end;
        free(buf);
    }
    cs_flow_table_finish(t);
    const struct cs_flow_stats *fs = cs_flow_table_stats(t);
    if (fs->active != 0)
        abort();
    /* every held piece was released, and its memory with it */
    if (cs_flow_table_held_bytes(t) != 0 || cs_flow_table_held_memory(t) != 0)
        abort();
    cs_flow_table_free(t);
    return 0;
}
