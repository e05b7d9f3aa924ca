/* libFuzzer target: the HTTP/1.x stage alone (http.c + http_scan.c) on the
 * two streams of one connection, split at fuzzer-chosen positions, with GAP,
 * FIN and RST events; plus the pure scanner functions on the raw input.
 *
 * Input: byte 0 chooses limits (bit 0: tiny caps).  Then records: one
 * control byte (low 2 bits: 0 DATA, 1 GAP, 2 FIN, 3 RST; bit 2: direction
 * server->client), a 16-bit little-endian length, and for DATA that many
 * bytes (the last record takes what is left).  A GAP's length is the
 * length field.  Each DATA chunk is copied to a buffer of exactly its size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Chromium's lines of p[0..n) (a response block with a bare CR): each in
 * the buffer, with a name, and no CR or LF inside; none without a bare CR
 * or NUL that the HTTP stage would not also find. */
static void chromium_lines(const char *p, uint32_t n)
{
    corscope_header h[64];
    unsigned odd = cs_http_odd_bytes(p, n);
    if (odd & ~(CS_HTTP_ODD_NUL | CS_HTTP_ODD_BARE_CR))
        abort();
    uint32_t k = cs_http_chromium_lines(p, n, h, 64);
    if (k > 64)
        abort();
    for (uint32_t i = 0; i < k; i++) {
        const corscope_header *x = &h[i];
        if (x->name_len == 0 || x->name < p || x->name + x->name_len > p + n || x->value < p ||
            x->value + x->value_len > p + n)
            abort();
        if (memchr(x->name, '\r', x->name_len) || memchr(x->name, '\n', x->name_len) ||
            memchr(x->value, '\r', x->value_len) || memchr(x->value, '\n', x->value_len))
            abort();
    }
}

static void on_txn(void *ctx, const struct cs_http_txn *t)
{
    volatile uint8_t sink = 0;
    (void)ctx;
    const struct cs_http_msg *m[2] = {t->req, t->resp};
    for (int k = 0; k < 2; k++) {
        if (!m[k])
            continue;
        for (uint32_t i = 0; i < m[k]->method_len; i++)
            sink ^= (uint8_t)m[k]->method[i];
        for (uint32_t i = 0; i < m[k]->uri_len; i++)
            sink ^= (uint8_t)m[k]->uri[i];
        for (uint32_t i = 0; i < m[k]->reason_len; i++)
            sink ^= (uint8_t)m[k]->reason[i];
        for (uint32_t h = 0; h < m[k]->n_headers; h++) {
            const corscope_header *x = &m[k]->headers[h];
            for (size_t i = 0; i < x->name_len; i++)
                sink ^= (uint8_t)x->name[i];
            for (size_t i = 0; i < x->value_len; i++)
                sink ^= (uint8_t)x->value[i];
        }
    }
    if (t->resp && t->resp->block)
        chromium_lines(t->resp->block, t->resp->block_len);
    (void)sink;
}

/* The scanner's stateless helpers, on a private copy of the input. */
static void scan_helpers(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (!p)
        return;
    memcpy(p, data, size);
    uint32_t n = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
    struct cs_http_start st;
    uint64_t v;
    (void)cs_http_parse_request_line(p, n, true, &st);
    (void)cs_http_parse_request_line(p, n, false, &st);
    (void)cs_http_parse_status_line(p, n, &st);
    (void)cs_http_parse_content_length(p, n, &v);
    (void)cs_http_te_chunked_last(p, n);
    (void)cs_http_parse_chunk_size(p, n, &v);
    (void)cs_http_looks_like_request(data, n);
    (void)cs_http_looks_like_response(data, n);
    chromium_lines(p, n);
    corscope_header h[8];
    uint32_t off = 0, nh = 0;
    uint64_t bad = 0;
    while (cs_http_scan_headers(p, n, &off, h, &nh, 8, &bad) == 1 && nh == 8)
        nh = 0;
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    scan_helpers(data + 1, size - 1);
    struct cs_limits lim;
    cs_limits_default(&lim);
    if (data[0] & 1) {
        lim.max_header_bytes = 64;
        lim.max_header_lines = 3;
        lim.max_pipeline = 2;
        lim.max_uri_bytes = 8;
    }
    struct cs_http_stats stats;
    memset(&stats, 0, sizeof stats);
    struct cs_http_conn *c = cs_http_conn_new(&lim, &stats, on_txn, NULL);
    if (!c)
        return 0;
    size_t off = 1;
    uint64_t frame = 0;
    cs_time_ns ts = 1767225600LL * 1000000000LL;
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
            buf = malloc(len ? len : 1);
            if (!buf)
                goto out;
            memcpy(buf, data + off, len);
            off += len;
            ev.kind = CS_STREAM_DATA;
            ev.data = buf;
            ev.len = len;
            if (len == 0) { /* the reassembler never delivers empty data */
                free(buf);
                continue;
            }
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
        cs_http_conn_event(c, dir, &ev);
        free(buf);
    }
out:
    cs_http_conn_finish(c, CS_TXN_UNANSWERED, frame + 1, ts + 1000);
    return 0;
}
