/* Flow stage: TCP segments -> connections with client/server roles.
 *
 * One struct cs_flow per TCP connection, keyed by the full 5-tuple (hashed
 * with a real mixer, so a busy /16 does not fall in one bucket).  The table
 * owns the flows and the two reassemblers of each; the application layer
 * (pipeline.c) owns flow->app, which it sets in on_new and frees in on_end.
 *
 * Roles: the sender of a SYN is the client, the sender of a SYN-ACK the
 * server; without a handshake, a payload that starts like an HTTP request
 * marks the client and one that starts with "HTTP/" the server; failing that
 * the lower (well-known) port is the server (equal ports: the first sender is
 * the client).  Roles are fixed at creation: a later SYN that contradicts a
 * mid-stream guess does not swap them.  A pure SYN with a new ISN on a known
 * tuple (port reuse) ends the old flow and starts a new one. */
#ifndef CS_FLOW_H
#define CS_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "limits.h"
#include "packet.h"
#include "reasm.h"
#include "txn.h"

enum { CS_DIR_C2S = 0,
       CS_DIR_S2C = 1 };

/* enum cs_flow_end (why a flow ended) is in txn.h: the report reads it. */

struct cs_flow {
    /* table internals the lookup reads, beside the tuple it compares (the
     * key starts with it): a chain step then touches one cache line, not
     * three (flow lookups are the run's main source of cache misses) */
    uint64_t hash;
    struct cs_flow *hash_next;
    struct cs_flow_key key;        /* id, endpoints, first/last time and frame */
    uint64_t packets[2], bytes[2]; /* per direction: CS_DIR_C2S, CS_DIR_S2C */
    struct cs_reasm dir[2];
    void *app; /* owned by the application layer */
    /* table internals */
    struct cs_flow *lru_prev, *lru_next;
    /* the flags and the SYN count share one byte each so that the flow
     * stays four cache lines (see the assertion below) */
    bool ended : 1;
    bool handshake_seen : 1; /* roles come from SYN/SYN-ACK */
    bool syn_acked : 1;      /* the server answered the SYN */
    bool half_open : 1;      /* only the client's SYNs so far: lru_prev/lru_next link it
                              * into the table's half-open list (--syn-timeout) */
    uint8_t syns;            /* SYNs the client sent (retransmissions included; saturates) */
    uint32_t deferred;       /* segments held back until the peer's bytes they
                              * acknowledge are seen (flow.c): slot + 1, 0 none */
};

_Static_assert(offsetof(struct cs_flow, key.id) + 8 <= 64,
               "hash, chain pointer and tuple share the flow's first cache line");
_Static_assert(sizeof(struct cs_flow) % 64 == 0,
               "whole cache lines (flow.c allocates flows 64-byte aligned, in slabs)");

struct cs_flow_callbacks {
    void (*on_new)(void *ctx, struct cs_flow *f);
    /* every segment of the flow, before reassembly (protocol identification
     * looks at packets); dir is CS_DIR_C2S or CS_DIR_S2C; may be NULL */
    void (*on_packet)(void *ctx, struct cs_flow *f, int dir, const struct cs_segment *s);
    /* in-order stream events of one direction; reassembly of the other
     * direction up to this segment's ACK is delivered first */
    void (*on_stream)(void *ctx, struct cs_flow *f, int dir, const struct cs_stream_event *ev);
    /* last call for f; f is freed after it returns */
    void (*on_end)(void *ctx, struct cs_flow *f, enum cs_flow_end why);
};

/* struct cs_flow_stats (this stage's counters) is in stats.h. */

/* Hash buckets start at this many and double when flows outnumber them. */
#define CS_FLOW_MIN_BUCKETS 1024u
/* Flow structs are allocated this many at a time (16 KB); those of ended
 * flows are kept for reuse until the table is freed (not a limit on flows). */
#define CS_FLOW_SLAB 64u
/* A pure SYN on a known 5-tuple whose ISN is more than this behind the
 * direction's next byte (or after its FIN) starts a new connection. */
#define CS_FLOW_LATE_SYN_WINDOW (1u << 20)
/* A segment that acknowledges bytes of the other direction the capture has
 * not shown yet (merged taps, capture-point reordering: the server's ACK or
 * response recorded before the request) waits for those bytes, so that they
 * are not declared a gap and the request comes before its response.  It
 * waits while its flow has at most this many such segments, this many bytes
 * of them, and for no longer than CS_FLOW_DEFER_MAX_AGE of capture time;
 * past that (the bytes were really lost) the oldest is taken as it is and
 * its ACK declares the gap, as it would have at once. */
#define CS_FLOW_DEFER_MAX_SEGS 16u
/* ... at most this many while either direction holds bytes after a hole of
 * its own (its segments came out of order, or one was lost: a loss looks
 * the same, and the connection's later exchanges wait behind it). */
#define CS_FLOW_DEFER_MAX_HOLE_SEGS 4u
#define CS_FLOW_DEFER_MAX_BYTES (256u * 1024u)
#define CS_FLOW_DEFER_MAX_AGE ((cs_time_ns)2 * 1000000000)
/* ... and all flows together hold at most this many such bytes. */
#define CS_FLOW_DEFER_MAX_TOTAL (16u * 1024u * 1024u)

struct cs_flow_table;

struct cs_flow_table *cs_flow_table_new(const struct cs_limits *limits,
                                        const struct cs_flow_callbacks *cb, void *ctx);
/* Ends every flow (CS_FLOW_END_INPUT) and frees the table. */
void cs_flow_table_free(struct cs_flow_table *t);

/* Feeds one segment; advances the table's clock to s->ts and expires flows
 * idle for longer than the idle timeout, and connections whose SYNs got no
 * answer for --syn-timeout after the first (CS_FLOW_END_IDLE, counted in
 * syn_timed_out; any segment but the client's SYN again answers it). */
void cs_flow_table_segment(struct cs_flow_table *t, const struct cs_segment *s);

/* Prefetch hints, for a caller that decodes a few segments ahead: none of
 * them changes anything.  cs_flow_table_hash returns the segment's tuple
 * hash and starts loading its bucket; cs_flow_table_prefetch reads the
 * bucket and starts loading the first flow in it (returned, or NULL: maybe
 * not the segment's); cs_flow_table_prefetch_neighbours starts loading the
 * LRU neighbours that feeding a segment of f updates.  Then
 * cs_flow_table_segment_hashed(t, s, hash) is cs_flow_table_segment(t, s). */
uint64_t cs_flow_table_hash(const struct cs_flow_table *t, const struct cs_segment *s);
struct cs_flow *cs_flow_table_prefetch(const struct cs_flow_table *t, uint64_t hash);
/* Once f (from cs_flow_table_prefetch) has arrived: if it is another
 * tuple's, starts loading the next flow of its chain and returns that. */
struct cs_flow *cs_flow_table_prefetch_chain(struct cs_flow *f, uint64_t hash);
void cs_flow_table_prefetch_neighbours(const struct cs_flow *f);
void cs_flow_table_segment_hashed(struct cs_flow_table *t, const struct cs_segment *s,
                                  uint64_t hash);

/* Advances the clock without a segment (live capture timer ticks). */
void cs_flow_table_tick(struct cs_flow_table *t, cs_time_ns now);

/* Ends the least recently active flow (CS_FLOW_END_EVICTED, counted in
 * evicted_memory): the caller's memory budget is spent.  Must not be called
 * from a callback.  Returns false when there is no flow left. */
bool cs_flow_table_evict_oldest(struct cs_flow_table *t);

/* Bytes held now by reassembly (out-of-order segments, all flows). */
uint64_t cs_flow_table_held_bytes(const struct cs_flow_table *t);
/* What those held pieces cost in memory (payload and bookkeeping, as the
 * allocator rounds it): the figure --max-memory counts. */
uint64_t cs_flow_table_held_memory(const struct cs_flow_table *t);

/* Ends every remaining flow with CS_FLOW_END_INPUT (flushing reassembly). */
void cs_flow_table_finish(struct cs_flow_table *t);

/* What is ending flows at the moment (read from the callbacks): --workers
 * merges the events of several tables in the order one table would give,
 * and one table ends flows in this order at each frame: held-back segments
 * too old, idle flows (oldest last packet first), unanswered SYNs (oldest
 * first SYN first), then the frame's own segment; at the end of input,
 * every flow in order of creation. */
enum cs_flow_phase {
    CS_FLOW_PHASE_DEFERRED,
    CS_FLOW_PHASE_IDLE,
    CS_FLOW_PHASE_HALF_OPEN,
    CS_FLOW_PHASE_SEGMENT,
    CS_FLOW_PHASE_FINISH,
};
enum cs_flow_phase cs_flow_table_phase(const struct cs_flow_table *t);
/* --workers: each flow's id is the number of the frame that created it
 * (unique across tables fed from one capture), which the report turns into
 * the id one table would have given. */
void cs_flow_table_ids_by_frame(struct cs_flow_table *t);

/* Finds the flow of a 5-tuple given in either order, or NULL; *dir (if not
 * NULL) is set to the direction src -> dst has in that flow.  The flow stays
 * owned by the table. */
struct cs_flow *cs_flow_table_lookup(struct cs_flow_table *t,
                                     const struct cs_addr *src, uint16_t sport,
                                     const struct cs_addr *dst, uint16_t dport, int *dir);

/* The flow of segment s (hash: cs_flow_table_hash's), or NULL, with *dir as
 * above; looks only (no flow is created, moved or timed). */
struct cs_flow *cs_flow_table_find_hashed(const struct cs_flow_table *t, const struct cs_segment *s,
                                          uint64_t hash, int *dir);

const struct cs_flow_stats *cs_flow_table_stats(const struct cs_flow_table *t);
const struct cs_reasm_stats *cs_flow_table_reasm_stats(const struct cs_flow_table *t);

#endif
