/* Reassembly stage: the segments of one direction of a TCP connection -> that
 * direction's bytes, in order, exactly once, as a sequence of stream events.
 *
 * A gap (bytes the sender certainly sent but the capture never saw) is an
 * event with a length, never zero bytes.  Out-of-order segments are held
 * (bounded per direction and in total by struct cs_reasm_shared) and released
 * when the hole before them fills, when the peer acknowledges past the hole,
 * or at the end of the flow.  Sequence numbers wrap (RFC 9293 §3.4 modular
 * comparisons). */
#ifndef CS_REASM_H
#define CS_REASM_H

#include <stdbool.h>
#include <stdint.h>
#include "packet.h"
#include "stats.h"

enum cs_stream_event_kind {
    CS_STREAM_DATA, /* data/len: bytes in order */
    CS_STREAM_GAP,  /* len: bytes missing at this point of the stream, or
                     * CS_STREAM_GAP_UNKNOWN */
    CS_STREAM_FIN,  /* the sender closed its direction */
    CS_STREAM_RST,  /* the connection was reset (by either side) */
};

struct cs_stream_event {
    enum cs_stream_event_kind kind;
    const uint8_t *data; /* DATA only; valid during the callback */
    uint32_t len;
    uint64_t frame; /* frame that carried the bytes / revealed the gap / FIN / RST */
    cs_time_ns ts;
};

/* A GAP's len when the amount lost is not known (decrypted TLS application
 * data after lost records: the plaintext length of what was lost cannot be
 * told).  Reassembly never reports a gap this long (CS_REASM_MAX_AHEAD). */
#define CS_STREAM_GAP_UNKNOWN UINT32_MAX

typedef void (*cs_stream_sink)(void *ctx, const struct cs_stream_event *ev);

/* struct cs_reasm_stats (this stage's counters) is in stats.h. */

/* A segment or ACK further than this ahead of the next expected byte is bogus
 * (a passive observer sees junk, old connections, and its own blind spots). */
#define CS_REASM_MAX_AHEAD (1u << 30)

/* Shared by all directions of all flows: the caps and what is held now.
 * A piece is one run of contiguous held bytes (adjacent out-of-order
 * segments are joined into one piece); held_memory is what the pieces cost
 * the allocator (see cs_reasm_alloc_cost), the figure --max-memory counts. */
struct cs_reasm_shared {
    uint32_t max_held_per_dir;
    uint64_t max_held_total;
    uint32_t max_held_pieces_per_dir;
    uint32_t max_held_pieces_total;
    uint64_t held_total;
    uint64_t held_pieces_total;
    uint64_t held_memory;
    uint64_t prio_state; /* random priorities of the held-piece trees (reasm.c) */
    struct cs_reasm_stats stats;
};

struct cs_reasm_held; /* a held out-of-order segment (reasm.c) */

/* One direction.  Zero-initialise (or cs_reasm_init) before use. */
struct cs_reasm {
    uint32_t next_seq; /* the next byte expected */
    bool started;      /* next_seq is known */
    bool fin_seen, fin_delivered, rst;
    uint32_t fin_seq;
    struct cs_reasm_held *held; /* root of a treap ordered by seq: pieces never overlap and
                                 * all start after next_seq (NULL when nothing is held) */
    uint32_t held_bytes;
    uint32_t held_pieces;
    uint64_t fin_frame; /* frame and time of the (first) FIN, for its event */
    cs_time_ns fin_ts;
};

void cs_reasm_init(struct cs_reasm *r);

/* Feeds one segment of this direction (payload, SYN, FIN, RST).  Emits
 * whatever became deliverable, in order, through sink. */
void cs_reasm_segment(struct cs_reasm *r, struct cs_reasm_shared *sh,
                      const struct cs_segment *s, cs_stream_sink sink, void *ctx);

/* The peer acknowledged everything before `ack`: bytes of this direction
 * before it that were never seen are a gap; held data up to it is released. */
void cs_reasm_ack(struct cs_reasm *r, struct cs_reasm_shared *sh, uint32_t ack,
                  uint64_t frame, cs_time_ns ts, cs_stream_sink sink, void *ctx);

/* End of the flow: releases everything held, with gaps between. */
void cs_reasm_flush(struct cs_reasm *r, struct cs_reasm_shared *sh,
                    uint64_t frame, cs_time_ns ts, cs_stream_sink sink, void *ctx);

/* What a malloc of n bytes costs (glibc: the request plus an 8-byte chunk
 * header, rounded up to 16, at least 32): held memory is charged this way. */
static inline uint64_t cs_reasm_alloc_cost(uint64_t n)
{
    uint64_t c = (n + 8 + 15) & ~(uint64_t)15;
    return c < 32 ? 32 : c;
}

/* Frees held segments without delivering them. */
void cs_reasm_release(struct cs_reasm *r, struct cs_reasm_shared *sh);

#endif
