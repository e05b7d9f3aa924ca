/* libFuzzer target: the HTTP/2 stage (h2_frame.c + h2_conn.c, with
 * libnghttp2's HPACK inflater) on the two streams of one connection, split
 * at fuzzer-chosen positions, with GAP, FIN and RST events; plus the probe
 * and a lone framer on the raw input.
 *
 * Input: byte 0 chooses the set-up (bit 0: tiny limits; bit 1: do NOT put
 * the client preface in front of the client stream, so that the fuzzer's
 * bytes reach the frame parser without having to spell it).  Then records
 * as in fuzz_http.c: one control byte (low 2 bits: 0 DATA, 1 GAP, 2 FIN,
 * 3 RST; bit 2: direction server->client), a 16-bit little-endian length,
 * and for DATA that many bytes (the last record takes what is left).  Each
 * DATA chunk is copied to a buffer of exactly its size.  After the run,
 * every byte the stage held must have been given back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h2_conn.h"
#include "h2_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_txn(void *ctx, const struct cs_h2_txn *t)
{
    volatile uint8_t sink = 0;
    (void)ctx;
    const struct cs_h2_section *s[4] = {&t->req, &t->req_trailers, &t->resp, &t->resp_trailers};
    for (int k = 0; k < 4; k++)
        for (uint32_t h = 0; h < s[k]->n_fields; h++) {
            const corscope_header *x = &s[k]->fields[h];
            for (size_t i = 0; i < x->name_len; i++)
                sink ^= (uint8_t)x->name[i];
            for (size_t i = 0; i < x->value_len; i++)
                sink ^= (uint8_t)x->value[i];
        }
    const char *p[4] = {t->method, t->scheme, t->authority, t->path};
    uint32_t n[4] = {t->method_len, t->scheme_len, t->authority_len, t->path_len};
    for (int k = 0; k < 4; k++)
        for (uint32_t i = 0; p[k] && i < n[k]; i++)
            sink ^= (uint8_t)p[k][i];
    corscope_header h[16];
    (void)cs_h2_txn_request_fields(t, h, 16);
    (void)sink;
}

static void on_fevent(void *ctx, const struct cs_h2_fevent *ev)
{
    volatile uint8_t sink = 0;
    (void)ctx;
    for (uint32_t i = 0; ev->kind == CS_H2_FEV_BLOCK && i < ev->len; i++)
        sink ^= ev->data[i];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    (void)cs_h2_probe(data, (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size));
    struct cs_h2_framer lone;
    cs_h2_framer_init(&lone, false);
    cs_h2_framer_data(&lone, data, (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size), 1, 0,
                      on_fevent, NULL);
    cs_h2_framer_free(&lone); /* its frame in progress, when the input ends inside one */

    struct cs_h2_limits lim;
    cs_h2_limits_default(&lim, NULL);
    if (data[0] & 1) {
        lim.max_streams = 2;
        lim.max_header_bytes = 64;
        lim.max_header_lines = 3;
    }
    struct cs_h2_stats stats;
    memset(&stats, 0, sizeof stats);
    struct cs_h2_conn *c = cs_h2_conn_new(&lim, &stats, on_txn, NULL);
    if (!c)
        return 0;
    uint64_t frame = 0;
    cs_time_ns ts = 1767225600LL * 1000000000LL;
    if (!(data[0] & 2)) {
        struct cs_stream_event pre = {CS_STREAM_DATA, (const uint8_t *)CS_H2_PREFACE,
                                      CS_H2_PREFACE_LEN, ++frame, ts};
        cs_h2_conn_event(c, 0, &pre);
    }
    size_t off = 1;
    while (off + 3 <= size) {
        uint8_t ctl = data[off];
        uint32_t len = (uint32_t)data[off + 1] | (uint32_t)data[off + 2] << 8;
        off += 3;
        struct cs_stream_event ev = {.frame = ++frame, .ts = ts += 1000};
        int dir = (ctl >> 2) & 1;
        uint8_t *buf = NULL;
        switch (ctl & 3) {
        case 0:
            if (len > size - off)
                len = (uint32_t)(size - off);
            if (len == 0) /* the reassembler never delivers empty data */
                continue;
            buf = malloc(len);
            if (!buf)
                goto out;
            memcpy(buf, data + off, len);
            off += len;
            ev.kind = CS_STREAM_DATA;
            ev.data = buf;
            ev.len = len;
            break;
        case 1:
            ev.kind = CS_STREAM_GAP;
            ev.len = len ? len : 1;
            break;
        case 2:
            ev.kind = CS_STREAM_FIN;
            break;
        default:
            ev.kind = CS_STREAM_RST;
            break;
        }
        cs_h2_conn_event(c, dir, &ev);
        free(buf);
    }
out:
    cs_h2_conn_finish(c, CS_H2_END_UNANSWERED, frame + 1, ts + 1000);
    if (stats.held_bytes != 0)
        abort(); /* the stage must give back every byte it counted */
    return 0;
}
