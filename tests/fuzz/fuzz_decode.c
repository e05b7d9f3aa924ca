/* libFuzzer target: the decode stage (link layer, tunnels, IPv4/IPv6, TCP, IP
 * fragments) on a sequence of frames fed to one decoder, so fragments meet
 * across calls.
 *
 * Input: byte 0 chooses the link type (low 4 bits, index into linktypes[])
 * and tiny fragment limits (bit 7).  Then frames: a 3-byte record header
 * (length, 16-bit little-endian; seconds to advance the clock) and that many
 * bytes (the last frame takes what is left).  Each frame is copied into a
 * buffer of exactly its size so ASan sees any read past its caplen. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "ipfrag.h"

static const int linktypes[16] = {1, 0, 101, 113, 276, 12, 14, 108, 228, 229,
                                  9, 50, 101, 113, 147, 104};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct cs_limits lim;
    cs_limits_default(&lim);
    if (data[0] & 0x80) {
        lim.max_ipfrag_bytes = 2048;
        lim.ipfrag_timeout_s = 1;
    }
    int linktype = linktypes[data[0] & 0x0f];
    struct cs_decoder *d = cs_decoder_new(&lim);
    if (!d)
        return 0;
    size_t off = 1;
    cs_time_ns ts = 1767225600LL * 1000000000LL;
    uint64_t number = 0;
    while (off < size) {
        uint32_t len = (uint32_t)(size - off);
        if (size - off >= 3) {
            uint32_t want = (uint32_t)data[off] | (uint32_t)data[off + 1] << 8;
            ts += (cs_time_ns)data[off + 2] * 1000000000LL + 1000;
            off += 3;
            len = (uint32_t)(size - off);
            if (want < len)
                len = want;
        } else {
            off = size;
            break;
        }
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
            break;
        memcpy(buf, data + off, len);
        off += len;
        struct cs_frame fr = {
            .number = ++number,
            .ts = ts,
            .linktype = linktype,
            .data = buf,
            .caplen = len,
            .wirelen = len + (data[0] & 0x40 ? 100 : 0),
        };
        struct cs_segment seg;
        if (cs_decode_frame(d, &fr, &seg) == CS_DECODE_SEGMENT) {
            /* Touch everything the segment points to. */
            volatile uint8_t sink = 0;
            for (uint32_t i = 0; i < seg.payload_len; i++)
                sink ^= seg.payload[i];
            for (uint32_t i = 0; i < seg.l3_len; i++)
                sink ^= seg.l3[i];
            (void)sink;
            if (seg.payload_len > seg.wire_payload_len)
                abort(); /* captured more than the header says was sent */
        }
        free(buf);
    }
    const struct cs_decode_stats *st = cs_decoder_stats(d);
    if (st->frames != number)
        abort();
    (void)cs_decoder_ipfrag_stats(d);
    cs_decoder_free(d);
    return 0;
}
