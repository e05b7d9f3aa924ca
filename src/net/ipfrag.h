/* IP fragment reassembly for the decode stage (RFC 791 section 3.2 for IPv4,
 * RFC 8200 section 4.5 for IPv6).
 *
 * Fragments are held per (family, src, dst, id, protocol) until the datagram
 * is complete, its first fragment is older than the timeout (capture time),
 * or the byte cap forces the oldest datagrams out.  Overlapping fragments:
 * the bytes that arrived first win; a later fragment whose overlapping bytes
 * differ is counted as a conflict (its new, non-overlapping bytes are kept).
 * Only the fragmentable part is handled: for IPv4 the bytes after the IP
 * header, for IPv6 the bytes after the fragment header. */
#ifndef CS_IPFRAG_H
#define CS_IPFRAG_H

#include <stdint.h>
#include "packet.h"

/* Largest reassembled datagram payload (IPv4 offset field 13 bits * 8 plus
 * one fragment; IPv6 payload length 16 bits).  Fragments that would end past
 * it are malformed. */
#define CS_IPFRAG_MAX_DATAGRAM 65535u

struct cs_ipfrag_key {
    struct cs_addr src, dst;
    uint32_t id;   /* IPv4: 16-bit identification; IPv6: 32-bit */
    uint8_t proto; /* IPv4 protocol; IPv6 next header after the fragment header */
};

struct cs_ipfrag_stats {
    uint64_t held_bytes;        /* now (accounted bytes, including bookkeeping) */
    uint64_t held_datagrams;    /* now */
    uint64_t completed;         /* datagrams rebuilt */
    uint64_t timeouts;          /* datagrams expired incomplete */
    uint64_t cap_evictions;     /* datagrams evicted to respect the byte cap */
    uint64_t cap_refused;       /* fragments refused: bigger than the whole cap */
    uint64_t dropped_fragments; /* fragments thrown away: expired, evicted, refused, malformed */
    uint64_t overlaps;          /* fragments overlapping bytes already held */
    uint64_t conflicts;         /* ... whose overlapping bytes differed */
    uint64_t malformed;         /* end beyond the maximum, two different ends, ... */
};

enum cs_ipfrag_result {
    CS_IPFRAG_DROPPED = -1, /* malformed or refused: counted */
    CS_IPFRAG_HELD = 0,     /* waiting for more fragments */
    CS_IPFRAG_COMPLETE = 1, /* the rebuilt payload is in out, out_len */
};

struct cs_ipfrag;

/* max_bytes: cap on held bytes over all datagrams; timeout_s: how long (in
 * capture time) a datagram may wait for its missing fragments.  Returns NULL
 * when out of memory.  Free with cs_ipfrag_free(). */
struct cs_ipfrag *cs_ipfrag_new(uint32_t max_bytes, uint32_t timeout_s);
void cs_ipfrag_free(struct cs_ipfrag *f);

/* Adds one fragment: `offset` bytes into the datagram's fragmentable part,
 * `more` set when more fragments follow (MF / M flag).  On
 * CS_IPFRAG_COMPLETE, *out points to the rebuilt payload (owned by `f`, valid
 * until the next call on `f`) and *out_len is its length; the datagram is
 * forgotten.  Expires timed-out datagrams first. */
enum cs_ipfrag_result cs_ipfrag_add(struct cs_ipfrag *f, const struct cs_ipfrag_key *key,
                                    cs_time_ns now, uint32_t offset, int more,
                                    const uint8_t *data, uint32_t len,
                                    const uint8_t **out, uint32_t *out_len);

/* Drops every datagram whose first fragment is older than the timeout at
 * `now`.  Cheap when nothing is due (looks at the oldest only). */
void cs_ipfrag_expire(struct cs_ipfrag *f, cs_time_ns now);

const struct cs_ipfrag_stats *cs_ipfrag_stats(const struct cs_ipfrag *f);

#endif
