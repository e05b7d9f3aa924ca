/* libFuzzer target: the whole pipeline below the report (decode, flows,
 * reassembly, the protocol table and the hand-overs between its rows:
 * CONNECT tunnels, nested ones, Upgrade: h2c, the h2 preface cut short) on
 * one TCP connection whose segments the input writes.
 *
 * Input: byte 0 chooses limits (bit 0: tiny memory budget, so eviction
 * runs in the middle of hand-overs; bits 1-3 all set: nDPI identifies what
 * no row of ours claims, as corscope does).  nDPI is off otherwise: its
 * module is built for the first flow that needs it, ~20 ms under the
 * sanitizers, which held this target to ~40 inputs a second when most
 * inputs (garbage to our rows) built it.  Then records: one control byte (bit
 * 0: direction server->client; bit 1: skip 100 sequence numbers first, a
 * capture gap; bit 2: FIN after the data; bit 3: RST instead of data), a
 * 16-bit little-endian length, and that many bytes of payload (the last
 * record takes what is left), sent as one segment (cut at 1400 bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct conn {
    uint32_t seq[2];
    uint64_t frame;
    struct cs_pipeline *p;
    uint8_t pkt[54 + 1400];
};

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

static void segment(struct conn *c, int dir, uint8_t flags, const uint8_t *d, uint32_t n)
{
    static const uint8_t cli[4] = {192, 0, 2, 1}, srv[4] = {198, 51, 100, 7};
    uint8_t *p = c->pkt;
    memset(p, 0, 54);
    p[12] = 0x08;
    uint8_t *ip = p + 14;
    ip[0] = 0x45;
    put16(ip + 2, 40 + n);
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, dir ? srv : cli, 4);
    memcpy(ip + 16, dir ? cli : srv, 4);
    uint8_t *tcp = ip + 20;
    put16(tcp, dir ? 80 : 40000);
    put16(tcp + 2, dir ? 40000 : 80);
    put32(tcp + 4, c->seq[dir]);
    put32(tcp + 8, c->seq[!dir]);
    tcp[12] = 5 << 4;
    tcp[13] = (uint8_t)(flags | ((flags & 0x02) && !dir ? 0 : 0x10));
    put16(tcp + 14, 65535);
    if (n)
        memcpy(tcp + 20, d, n);
    c->seq[dir] += n + ((flags & 0x03) ? 1u : 0u);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct cs_limits lim;
    cs_limits_default(&lim);
    if (data[0] & 1)
        lim.max_memory = 24 * 1024;
    if ((data[0] & 0x0e) != 0x0e)
        lim.max_dpi_flows = 0; /* every flow no row claims stays "Unknown" */
    char errbuf[256];
    static struct conn c;
    memset(&c, 0, sizeof c);
    c.p = cs_pipeline_new(&lim, NULL, NULL, errbuf, sizeof errbuf);
    if (!c.p)
        return 0;
    c.seq[0] = 1000;
    c.seq[1] = 5000;
    segment(&c, 0, 0x02, NULL, 0);
    segment(&c, 1, 0x02, NULL, 0);
    segment(&c, 0, 0, NULL, 0);
    size_t i = 1;
    while (i + 3 <= size) {
        uint8_t ctl = data[i];
        size_t len = (size_t)data[i + 1] | (size_t)data[i + 2] << 8;
        i += 3;
        if (len > size - i)
            len = size - i;
        int dir = ctl & 1;
        if (ctl & 2)
            c.seq[dir] += 100;
        if (ctl & 8) {
            segment(&c, dir, 0x04, NULL, 0);
        } else {
            for (size_t k = 0; k < len; k += 1400) {
                uint32_t n = (uint32_t)(len - k < 1400 ? len - k : 1400);
                segment(&c, dir, 0x08, data + i + k, n);
            }
        }
        if (ctl & 4)
            segment(&c, dir, 0x01, NULL, 0);
        i += len;
    }
    cs_pipeline_free(c.p);
    return 0;
}
