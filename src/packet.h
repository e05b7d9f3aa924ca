/* The types that travel between pipeline stages: a captured frame (capture ->
 * decode) and a decoded TCP segment (decode -> flows -> reassembly).
 *
 * Neither owns its bytes: a frame points into libpcap's buffer, a segment
 * into the frame or into the IP-fragment reassembly buffer of the decoder.
 * Both are valid only until the next call to the stage that produced them. */
#ifndef CS_PACKET_H
#define CS_PACKET_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Nanoseconds since the Unix epoch, UTC. */
typedef int64_t cs_time_ns;

/* The wall clock now: what a live capture's clock follows between packets. */
cs_time_ns cs_wall_clock_ns(void);

struct cs_frame {
    uint64_t number; /* 1-based, continuous across all inputs (as Wireshark) */
    cs_time_ns ts;
    int linktype; /* DLT_* of the capture */
    const uint8_t *data;
    uint32_t caplen;  /* bytes captured */
    uint32_t wirelen; /* bytes on the wire */
};

struct cs_addr {
    uint8_t family;    /* 4 or 6 */
    uint8_t bytes[16]; /* IPv4 in the first 4 bytes, rest zero */
};

#define CS_TCP_FIN 0x01
#define CS_TCP_SYN 0x02
#define CS_TCP_RST 0x04
#define CS_TCP_PSH 0x08
#define CS_TCP_ACK 0x10
#define CS_TCP_URG 0x20

struct cs_segment {
    uint64_t frame; /* frame number carrying it (the last fragment's, if fragmented) */
    cs_time_ns ts;
    struct cs_addr src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags; /* CS_TCP_* */
    uint16_t window;
    const uint8_t *payload;    /* captured payload bytes */
    uint32_t payload_len;      /* bytes available at payload */
    uint32_t wire_payload_len; /* payload length per the IP header; > payload_len when cut by snaplen */
    const uint8_t *l3;         /* the IP header (for nDPI), or the rebuilt datagram */
    uint32_t l3_len;           /* captured bytes from l3 on */
};

/* Writes "1.2.3.4" or "2001:db8::1" into buf (at least 46 bytes). */
const char *cs_addr_format(const struct cs_addr *a, char *buf, unsigned buflen);
/* The same, returning the length of the text (buf is NUL-terminated). */
unsigned cs_addr_format_len(const struct cs_addr *a, char *buf, unsigned buflen);
/* Inline: every flow lookup compares two or four addresses per packet. */
static inline bool cs_addr_equal(const struct cs_addr *a, const struct cs_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

#endif
