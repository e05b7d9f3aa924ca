/* Reassembly of one direction of a TCP connection (see reasm.h).
 *
 * State: next_seq (the next byte to deliver) and a sorted singly linked list
 * of held out-of-order pieces.  Invariants kept after every public call:
 *   - held pieces never overlap each other and all start after next_seq;
 *   - r->held_bytes is the sum of their lengths and sh->held_total the sum
 *     over every direction of every flow;
 *   - once a FIN was seen, no byte at or after fin_seq is held or delivered.
 *
 * Overlap policy: "first copy wins".  Bytes before next_seq were delivered
 * and are dropped; a new segment that overlaps held pieces only fills the
 * holes between them.  Linux and the BSDs keep the bytes their TCP accepted
 * first (a later overlapping copy never replaces queued data), and it is also
 * the simplest rule a reader of our output can predict.  Delivered bytes are
 * not kept, so a conflicting retransmission of delivered data is only counted
 * as retransmitted; conflicts are detected among held pieces.
 *
 * Sequence arithmetic is modular (RFC 9293 §3.4): a is before b when
 * (int32_t)(a - b) < 0. */
#include <stdlib.h>
#include <string.h>

#include "reasm.h"

struct cs_reasm_held {
    struct cs_reasm_held *next;
    uint32_t seq;
    uint32_t len;   /* captured bytes in data[] */
    uint32_t cut;   /* bytes right after data[] that were on the wire but cut by the snaplen */
    uint64_t frame;
    cs_time_ns ts;
    uint8_t data[];
};

static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

void cs_reasm_init(struct cs_reasm *r)
{
    memset(r, 0, sizeof *r);
}

static void emit(cs_stream_sink sink, void *ctx, enum cs_stream_event_kind kind,
                 const uint8_t *data, uint32_t len, uint64_t frame, cs_time_ns ts)
{
    struct cs_stream_event ev = { .kind = kind, .data = data, .len = len, .frame = frame, .ts = ts };
    if (sink)
        sink(ctx, &ev);
}

static void emit_data(struct cs_reasm *r, struct cs_reasm_shared *sh, const uint8_t *data,
                      uint32_t len, uint64_t frame, cs_time_ns ts, cs_stream_sink sink, void *ctx)
{
    r->next_seq += len;
    sh->stats.bytes_delivered += len;
    emit(sink, ctx, CS_STREAM_DATA, data, len, frame, ts);
}

static void emit_gap(struct cs_reasm *r, struct cs_reasm_shared *sh, uint32_t len,
                     uint64_t frame, cs_time_ns ts, cs_stream_sink sink, void *ctx)
{
    r->next_seq += len;
    sh->stats.gaps++;
    sh->stats.gap_bytes += len;
    emit(sink, ctx, CS_STREAM_GAP, NULL, len, frame, ts);
}

static void held_unlink_free(struct cs_reasm *r, struct cs_reasm_shared *sh,
                             struct cs_reasm_held **pp)
{
    struct cs_reasm_held *h = *pp;
    *pp = h->next;
    r->held_bytes -= h->len;
    sh->held_total -= h->len;
    free(h);
}

void cs_reasm_release(struct cs_reasm *r, struct cs_reasm_shared *sh)
{
    while (r->held)
        held_unlink_free(r, sh, &r->held);
}

/* Delivers the FIN once every byte before it is delivered.  A FIN whose
 * sequence slot is already behind us (bogus or clamped) is delivered at once. */
static void try_fin(struct cs_reasm *r, struct cs_reasm_shared *sh,
                    cs_stream_sink sink, void *ctx)
{
    if (!r->fin_seen || r->fin_delivered || seq_lt(r->next_seq, r->fin_seq))
        return;
    if (r->next_seq == r->fin_seq)
        r->next_seq = r->fin_seq + 1;  /* the FIN consumes one sequence number */
    r->fin_delivered = true;
    cs_reasm_release(r, sh);  /* nothing can be held past the FIN; be safe */
    emit(sink, ctx, CS_STREAM_FIN, NULL, 0, r->fin_frame, r->fin_ts);
}

/* The delivery engine.  Delivers held pieces that start at next_seq; after a
 * piece cut by the snaplen, the cut bytes are a gap (attributed to that
 * piece's frame); when `force` is set, holes before `target` are gaps
 * attributed to (frame, ts) and held pieces up to target are delivered.
 * Never goes past a seen FIN.  Ends by delivering the FIN if it is due. */
static void pump(struct cs_reasm *r, struct cs_reasm_shared *sh, bool force, uint32_t target,
                 uint64_t frame, cs_time_ns ts, cs_stream_sink sink, void *ctx)
{
    bool has_cut = false;
    uint32_t cut_end = 0;
    uint64_t cut_frame = 0;
    cs_time_ns cut_ts = 0;

    for (;;) {
        struct cs_reasm_held *h = r->held;
        if (h && seq_le(h->seq, r->next_seq)) {
            uint32_t skip = r->next_seq - h->seq; /* 0 by the invariant; be defensive */
            r->held = h->next;
            r->held_bytes -= h->len;
            sh->held_total -= h->len;
            if (skip < h->len)
                emit_data(r, sh, h->data + skip, h->len - skip, h->frame, h->ts, sink, ctx);
            if (h->cut) {
                uint32_t e = h->seq + h->len + h->cut;
                if (!has_cut || seq_lt(cut_end, e)) {
                    has_cut = true;
                    cut_end = e;
                    cut_frame = h->frame;
                    cut_ts = h->ts;
                }
            }
            free(h);
            continue;
        }
        uint32_t limit;
        uint64_t gframe;
        cs_time_ns gts;
        if (has_cut && seq_lt(r->next_seq, cut_end)) {
            limit = cut_end;
            gframe = cut_frame;
            gts = cut_ts;
        } else if (force && seq_lt(r->next_seq, target)) {
            limit = target;
            gframe = frame;
            gts = ts;
        } else {
            break;
        }
        if (r->fin_seen && !r->fin_delivered && seq_lt(r->fin_seq, limit))
            limit = r->fin_seq;
        if (h && seq_lt(h->seq, limit))
            limit = h->seq;
        if (!seq_lt(r->next_seq, limit))
            break;  /* clipped at the FIN */
        emit_gap(r, sh, limit - r->next_seq, gframe, gts, sink, ctx);
    }
    try_fin(r, sh, sink, ctx);
}

/* Holds a copy of [seq, seq+len) minus whatever held pieces already cover
 * (first copy wins): one malloc'd piece per uncovered run.  Overlapping bytes
 * are compared with the held copy; differences count as overlap_conflicts.
 * `cut` snaplen-cut bytes follow the data; they stay attached to the last
 * piece if that piece ends where the data ends. */
static void hold(struct cs_reasm *r, struct cs_reasm_shared *sh, uint32_t seq,
                 const uint8_t *data, uint32_t len, uint32_t cut, uint64_t frame, cs_time_ns ts)
{
    struct cs_reasm_held **pp = &r->held;
    uint32_t p = seq, end = seq + len;

    while (seq_lt(p, end)) {
        struct cs_reasm_held *h = *pp;
        if (h && seq_le(h->seq + h->len, p)) {
            pp = &h->next;
            continue;
        }
        if (!h || seq_lt(p, h->seq)) {
            uint32_t stop = (h && seq_lt(h->seq, end)) ? h->seq : end;
            uint32_t n = stop - p;
            struct cs_reasm_held *nh = malloc(sizeof *nh + n);
            if (!nh) {
                sh->stats.alloc_failures++;
                p = stop;
                continue;
            }
            nh->seq = p;
            nh->len = n;
            nh->cut = (stop == end) ? cut : 0;
            nh->frame = frame;
            nh->ts = ts;
            memcpy(nh->data, data + (p - seq), n);
            nh->next = h;
            *pp = nh;
            pp = &nh->next;
            r->held_bytes += n;
            sh->held_total += n;
            p = stop;
            continue;
        }
        /* h->seq <= p < end of h: overlap, the held copy wins */
        uint32_t h_end = h->seq + h->len;
        uint32_t stop = seq_lt(end, h_end) ? end : h_end;
        const uint8_t *a = data + (p - seq), *b = h->data + (p - h->seq);
        uint32_t n = stop - p;
        sh->stats.retransmitted_bytes += n;
        for (uint32_t i = 0; i < n; i++)
            sh->stats.overlap_conflicts += (a[i] != b[i]);
        p = stop;
        pp = &h->next;
    }
}

/* Enforces the per-direction and then the global cap on held bytes: the
 * oldest hole becomes a gap and the held data after it is delivered, until
 * this direction is back under the cap(s).  Each forced release is counted
 * once per cap hit. */
static void enforce_caps(struct cs_reasm *r, struct cs_reasm_shared *sh, uint64_t frame,
                         cs_time_ns ts, cs_stream_sink sink, void *ctx)
{
    if (r->held && r->held_bytes > sh->max_held_per_dir) {
        sh->stats.held_cap_per_flow++;
        while (r->held && r->held_bytes > sh->max_held_per_dir)
            pump(r, sh, true, r->held->seq, frame, ts, sink, ctx);
    }
    if (r->held && sh->held_total > sh->max_held_total) {
        sh->stats.held_cap_total++;
        while (r->held && sh->held_total > sh->max_held_total)
            pump(r, sh, true, r->held->seq, frame, ts, sink, ctx);
    }
}

/* The payload of one segment, starting at sequence number dseq: `len`
 * captured bytes of `wire` on the wire. */
static void take_payload(struct cs_reasm *r, struct cs_reasm_shared *sh,
                         const struct cs_segment *s, uint32_t dseq, const uint8_t *data,
                         uint32_t len, uint32_t wire, cs_stream_sink sink, void *ctx)
{
    if (seq_lt(dseq, r->next_seq)) {
        uint32_t behind = r->next_seq - dseq;
        if (behind >= wire) {
            sh->stats.retransmitted_bytes += wire;
            return;
        }
        sh->stats.retransmitted_bytes += behind;
        if (behind >= len) {
            data += len;
            len = 0;
        } else {
            data += behind;
            len -= behind;
        }
        wire -= behind;
        dseq = r->next_seq;
    }
    if (r->fin_seen) {
        if (!seq_lt(dseq, r->fin_seq)) {
            sh->stats.out_of_window++;
            return;
        }
        uint32_t room = r->fin_seq - dseq;
        if (wire > room)
            wire = room;
        if (len > room)
            len = room;
    }
    uint32_t ahead = dseq - r->next_seq;
    if (ahead > CS_REASM_MAX_AHEAD) {
        sh->stats.out_of_window++;
        return;
    }
    uint32_t cut = wire - len;
    if (ahead == 0) {
        /* In order: deliver straight from the caller's buffer up to the first
         * held piece; only an overlap with held data needs a copy. */
        uint32_t k = len;
        if (r->held && seq_lt(r->held->seq, dseq + len))
            k = r->held->seq - dseq;
        if (k)
            emit_data(r, sh, data, k, s->frame, s->ts, sink, ctx);
        if (k < len) {
            hold(r, sh, dseq + k, data + k, len - k, cut, s->frame, s->ts);
            pump(r, sh, false, 0, s->frame, s->ts, sink, ctx);
        } else {
            pump(r, sh, cut != 0, dseq + wire, s->frame, s->ts, sink, ctx);
        }
    } else {
        sh->stats.out_of_order++;
        hold(r, sh, dseq, data, len, cut, s->frame, s->ts);
    }
    enforce_caps(r, sh, s->frame, s->ts, sink, ctx);
}

/* Drops held bytes at or after a newly seen FIN's sequence slot. */
static void clip_held_to_fin(struct cs_reasm *r, struct cs_reasm_shared *sh)
{
    struct cs_reasm_held **pp = &r->held;
    while (*pp) {
        struct cs_reasm_held *h = *pp;
        if (!seq_lt(h->seq, r->fin_seq)) {
            held_unlink_free(r, sh, pp);
            continue;
        }
        uint32_t room = r->fin_seq - h->seq;
        if (h->len > room) {
            r->held_bytes -= h->len - room;
            sh->held_total -= h->len - room;
            h->len = room;
        }
        if (h->len + h->cut > room)
            h->cut = room - h->len;
        pp = &h->next;
    }
}

void cs_reasm_segment(struct cs_reasm *r, struct cs_reasm_shared *sh,
                      const struct cs_segment *s, cs_stream_sink sink, void *ctx)
{
    if (r->rst)
        return;
    bool syn = (s->flags & CS_TCP_SYN) != 0;
    uint32_t len = s->payload ? s->payload_len : 0;
    uint32_t wire = s->wire_payload_len > len ? s->wire_payload_len : len;
    uint32_t dseq = s->seq + (syn ? 1u : 0u);

    if (!r->started && (syn || wire > 0)) {
        /* A SYN fixes the start; without one (mid-stream pickup) the first
         * payload does, and the unknown past is not a gap. */
        r->started = true;
        r->next_seq = dseq;
    }
    if (wire > 0) {
        sh->stats.segments++;
        take_payload(r, sh, s, dseq, s->payload, len, wire, sink, ctx);
    }
    if (s->flags & CS_TCP_FIN) {
        if (!r->started) {
            r->started = true;
            r->next_seq = dseq;
        }
        if (!r->fin_seen) {
            r->fin_seen = true;
            r->fin_seq = dseq + wire;
            if (seq_lt(r->fin_seq, r->next_seq))
                r->fin_seq = r->next_seq;
            r->fin_frame = s->frame;
            r->fin_ts = s->ts;
            clip_held_to_fin(r, sh);
        }
        try_fin(r, sh, sink, ctx);
    }
    if (s->flags & CS_TCP_RST) {
        /* Accepted whatever its sequence number: a passive observer cannot
         * check it against a receive window it does not know. */
        cs_reasm_flush(r, sh, s->frame, s->ts, sink, ctx);
        r->rst = true;
        emit(sink, ctx, CS_STREAM_RST, NULL, 0, s->frame, s->ts);
    }
}

void cs_reasm_ack(struct cs_reasm *r, struct cs_reasm_shared *sh, uint32_t ack,
                  uint64_t frame, cs_time_ns ts, cs_stream_sink sink, void *ctx)
{
    if (!r->started || r->rst || r->fin_delivered)
        return;
    uint32_t ahead = ack - r->next_seq;
    if (ahead == 0 || ahead > CS_REASM_MAX_AHEAD) {
        if (ahead != 0 && (int32_t)ahead > 0)
            sh->stats.out_of_window++;
        return;
    }
    /* pump() stops at a seen FIN, so the FIN's own slot (ack == fin_seq + 1)
     * is never reported as a gap. */
    pump(r, sh, true, ack, frame, ts, sink, ctx);
}

void cs_reasm_flush(struct cs_reasm *r, struct cs_reasm_shared *sh,
                    uint64_t frame, cs_time_ns ts, cs_stream_sink sink, void *ctx)
{
    if (r->rst)
        return;
    bool force = false;
    uint32_t target = r->next_seq;
    for (struct cs_reasm_held *h = r->held; h; h = h->next) {
        force = true;
        target = h->seq + h->len + h->cut;  /* the list is sorted: the last wins */
    }
    if (r->fin_seen && !r->fin_delivered) {
        force = true;
        target = r->fin_seq;
    }
    if (force)
        pump(r, sh, true, target, frame, ts, sink, ctx);
    cs_reasm_release(r, sh);
}
