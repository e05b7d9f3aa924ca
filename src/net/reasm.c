/* Reassembly of one direction of a TCP connection (see reasm.h).
 *
 * State: next_seq (the next byte to deliver) and the held out-of-order
 * pieces, in a treap (a binary search tree by seq, heap-ordered by random
 * priorities: O(log n) expected per insertion, lookup and removal whatever
 * the order segments arrive in; priorities are seeded from the kernel so
 * the sender of the segments cannot shape the tree).  Invariants kept after
 * every public call:
 *   - held pieces never overlap each other and all start after next_seq;
 *   - r->held_bytes / r->held_pieces are the sums of their lengths / their
 *     number, sh->held_total / held_pieces_total / held_memory the sums over
 *     every direction of every flow (held_memory: what the allocations cost);
 *   - once a FIN was seen, no byte at or after fin_seq is held or delivered.
 *
 * Joining: a segment that continues a held piece (it starts where the piece
 * ends) is appended to that piece, whose buffer grows geometrically, so a
 * run of rising segments after a hole is one piece at amortised O(1) per
 * byte.  Each appended segment keeps its own frame and time (a "frame run"),
 * and a piece is delivered as one DATA event per frame run: the events are
 * exactly those that separate pieces would give, so the HTTP layer's frame
 * numbers (message start and end frames) do not depend on joining.  A piece
 * ending in snaplen-cut bytes is never extended (the cut is a gap after it).
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
 * (int32_t)(a - b) < 0.  Every held piece lies within CS_REASM_MAX_AHEAD
 * (plus one segment) after next_seq, so this order is total over the tree. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "reasm.h"

/* Bytes [off, next run's off) of a piece came in `frame` at `ts`; the first
 * run (offset 0) is the piece's own frame and ts.  frame_delta is the frame
 * minus the piece's frame (a segment that would not fit is not appended). */
struct frame_run {
    uint32_t off;
    uint32_t frame_delta;
    cs_time_ns ts;
};

struct cs_reasm_held {
    struct cs_reasm_held *left, *right; /* treap children (earlier, later seq) */
    uint32_t prio;                      /* >= the children's */
    uint32_t seq;
    uint32_t len;             /* captured bytes in data[] */
    uint32_t cap;             /* bytes allocated for data[] */
    uint32_t cut;             /* bytes right after data[] that were on the wire but cut by the snaplen */
    uint32_t nruns, runs_cap; /* frame runs after the first, in runs[] */
    uint64_t frame;
    cs_time_ns ts;
    struct frame_run *runs;
    uint8_t data[];
};

/* Growth of a piece's buffers: at least this many bytes, then doubling. */
#define HELD_MIN_GROW 64u
#define RUNS_MIN_GROW 4u

static inline bool seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}
static inline bool seq_le(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}

void cs_reasm_init(struct cs_reasm *r)
{
    memset(r, 0, sizeof *r);
}

/* --- accounting -------------------------------------------------------- */

static uint64_t piece_cost(const struct cs_reasm_held *h)
{
    uint64_t c = cs_reasm_alloc_cost(sizeof *h + (uint64_t)h->cap);
    if (h->runs)
        c += cs_reasm_alloc_cost((uint64_t)h->runs_cap * sizeof *h->runs);
    return c;
}

static void count_in(struct cs_reasm *r, struct cs_reasm_shared *sh, const struct cs_reasm_held *h)
{
    r->held_bytes += h->len;
    r->held_pieces++;
    sh->held_total += h->len;
    sh->held_pieces_total++;
    sh->held_memory += piece_cost(h);
}

static void count_out(struct cs_reasm *r, struct cs_reasm_shared *sh, const struct cs_reasm_held *h)
{
    r->held_bytes -= h->len;
    r->held_pieces--;
    sh->held_total -= h->len;
    sh->held_pieces_total--;
    sh->held_memory -= piece_cost(h);
}

static void piece_free(struct cs_reasm_held *h)
{
    free(h->runs);
    free(h);
}

/* --- the treap --------------------------------------------------------- */

/* splitmix64 over a state seeded once from the kernel (or the clock). */
static uint32_t next_prio(struct cs_reasm_shared *sh)
{
    if (!sh->prio_state) {
        uint64_t s = 0;
        if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)sh;
        }
        sh->prio_state = s | 1;
    }
    uint64_t z = (sh->prio_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)(z ^ (z >> 31));
}

/* Splits t into the pieces starting before key (*lo) and the others (*hi). */
static void tree_split(struct cs_reasm_held *t, uint32_t key,
                       struct cs_reasm_held **lo, struct cs_reasm_held **hi)
{
    while (t) {
        if (seq_lt(t->seq, key)) {
            *lo = t;
            lo = &t->right;
            t = t->right;
        } else {
            *hi = t;
            hi = &t->left;
            t = t->left;
        }
    }
    *lo = *hi = NULL;
}

static void tree_insert(struct cs_reasm_held **link, struct cs_reasm_held *n)
{
    while (*link && (*link)->prio >= n->prio)
        link = seq_lt(n->seq, (*link)->seq) ? &(*link)->left : &(*link)->right;
    tree_split(*link, n->seq, &n->left, &n->right);
    *link = n;
}

/* The link (root or child pointer) that points at the piece starting at seq. */
static struct cs_reasm_held **tree_link(struct cs_reasm_held **link, uint32_t seq)
{
    while (*link && (*link)->seq != seq)
        link = seq_lt(seq, (*link)->seq) ? &(*link)->left : &(*link)->right;
    return link;
}

static struct cs_reasm_held **tree_first(struct cs_reasm_held **link)
{
    if (!*link)
        return NULL;
    while ((*link)->left)
        link = &(*link)->left;
    return link;
}

static struct cs_reasm_held *tree_last(struct cs_reasm_held *t)
{
    while (t && t->right)
        t = t->right;
    return t;
}

/* The last piece starting at or before p (*le) and the first after it (*gt). */
static void tree_around(struct cs_reasm_held *t, uint32_t p,
                        struct cs_reasm_held **le, struct cs_reasm_held **gt)
{
    *le = *gt = NULL;
    while (t) {
        if (seq_le(t->seq, p)) {
            *le = t;
            t = t->right;
        } else {
            *gt = t;
            t = t->left;
        }
    }
}

/* Frees every piece of t (without recursion: rotate left children up). */
static void tree_free(struct cs_reasm *r, struct cs_reasm_shared *sh, struct cs_reasm_held *t)
{
    while (t) {
        if (t->left) {
            struct cs_reasm_held *l = t->left;
            t->left = l->right;
            l->right = t;
            t = l;
            continue;
        }
        struct cs_reasm_held *next = t->right;
        count_out(r, sh, t);
        piece_free(t);
        t = next;
    }
}

static struct cs_reasm_held *first_piece(const struct cs_reasm *r)
{
    struct cs_reasm_held *h = r->held;
    while (h && h->left)
        h = h->left;
    return h;
}

/* --- events ------------------------------------------------------------ */

static void emit(cs_stream_sink sink, void *ctx, enum cs_stream_event_kind kind,
                 const uint8_t *data, uint32_t len, uint64_t frame, cs_time_ns ts)
{
    struct cs_stream_event ev = {.kind = kind, .data = data, .len = len, .frame = frame, .ts = ts};
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

/* Delivers a piece's bytes from `skip` on, one DATA event per frame run. */
static void emit_piece(struct cs_reasm *r, struct cs_reasm_shared *sh, const struct cs_reasm_held *h,
                       uint32_t skip, cs_stream_sink sink, void *ctx)
{
    for (uint32_t i = 0; i <= h->nruns; i++) {
        uint32_t from = i ? h->runs[i - 1].off : 0;
        uint32_t to = i < h->nruns ? h->runs[i].off : h->len;
        uint64_t frame = i ? h->frame + h->runs[i - 1].frame_delta : h->frame;
        cs_time_ns ts = i ? h->runs[i - 1].ts : h->ts;
        if (from < skip)
            from = skip;
        if (from < to)
            emit_data(r, sh, h->data + from, to - from, frame, ts, sink, ctx);
    }
}

void cs_reasm_release(struct cs_reasm *r, struct cs_reasm_shared *sh)
{
    tree_free(r, sh, r->held);
    r->held = NULL;
}

/* Delivers the FIN once every byte before it is delivered.  A FIN whose
 * sequence slot is already behind us (bogus or clamped) is delivered at once. */
static void try_fin(struct cs_reasm *r, struct cs_reasm_shared *sh,
                    cs_stream_sink sink, void *ctx)
{
    if (!r->fin_seen || r->fin_delivered || seq_lt(r->next_seq, r->fin_seq))
        return;
    if (r->next_seq == r->fin_seq)
        r->next_seq = r->fin_seq + 1; /* the FIN consumes one sequence number */
    r->fin_delivered = true;
    cs_reasm_release(r, sh); /* nothing can be held past the FIN; be safe */
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
        struct cs_reasm_held **first = tree_first(&r->held);
        struct cs_reasm_held *h = first ? *first : NULL;
        if (h && seq_le(h->seq, r->next_seq)) {
            uint32_t skip = r->next_seq - h->seq; /* 0 by the invariant; be defensive */
            *first = h->right;
            count_out(r, sh, h);
            emit_piece(r, sh, h, skip, sink, ctx);
            if (h->cut) {
                /* the cut belongs to the segment that ends the piece */
                uint32_t e = h->seq + h->len + h->cut;
                if (!has_cut || seq_lt(cut_end, e)) {
                    has_cut = true;
                    cut_end = e;
                    cut_frame = h->nruns ? h->frame + h->runs[h->nruns - 1].frame_delta : h->frame;
                    cut_ts = h->nruns ? h->runs[h->nruns - 1].ts : h->ts;
                }
            }
            piece_free(h);
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
            break; /* clipped at the FIN */
        emit_gap(r, sh, limit - r->next_seq, gframe, gts, sink, ctx);
    }
    try_fin(r, sh, sink, ctx);
}

/* A new piece holding [seq, seq+n) of one segment. */
static void hold_new(struct cs_reasm *r, struct cs_reasm_shared *sh, uint32_t seq,
                     const uint8_t *data, uint32_t n, uint32_t cut, uint64_t frame, cs_time_ns ts)
{
    struct cs_reasm_held *h = malloc(sizeof *h + n);
    if (!h) {
        sh->stats.alloc_failures++;
        return;
    }
    memset(h, 0, sizeof *h);
    h->prio = next_prio(sh);
    h->seq = seq;
    h->len = h->cap = n;
    h->cut = cut;
    h->frame = frame;
    h->ts = ts;
    memcpy(h->data, data, n);
    tree_insert(&r->held, h);
    count_in(r, sh, h);
}

/* Appends [h->seq + h->len, +n) of one segment to the held piece h, as a new
 * frame run; the buffers grow by doubling (amortised O(1) per byte).  False
 * when it cannot (h ends in cut bytes, the frame does not fit a run, or out
 * of memory): the caller then holds the bytes as a new piece. */
static bool hold_append(struct cs_reasm *r, struct cs_reasm_shared *sh, struct cs_reasm_held *h,
                        const uint8_t *data, uint32_t n, uint32_t cut, uint64_t frame, cs_time_ns ts)
{
    if (h->cut || frame < h->frame || frame - h->frame > UINT32_MAX || h->nruns == UINT32_MAX)
        return false;
    uint64_t before = piece_cost(h);
    if (h->nruns == h->runs_cap) {
        uint64_t rc = (uint64_t)h->runs_cap * 2;
        if (rc < RUNS_MIN_GROW)
            rc = RUNS_MIN_GROW;
        if (rc > UINT32_MAX)
            rc = UINT32_MAX;
        struct frame_run *runs = realloc(h->runs, rc * sizeof *runs);
        if (!runs)
            return false;
        h->runs = runs;
        h->runs_cap = (uint32_t)rc;
    }
    if ((uint64_t)h->len + n > h->cap) {
        uint64_t cap = (uint64_t)h->cap * 2;
        if (cap < (uint64_t)h->len + n)
            cap = (uint64_t)h->len + n;
        if (cap < HELD_MIN_GROW)
            cap = HELD_MIN_GROW;
        if (cap > UINT32_MAX)
            cap = UINT32_MAX;
        if (cap < (uint64_t)h->len + n)
            return false;
        struct cs_reasm_held **link = tree_link(&r->held, h->seq);
        struct cs_reasm_held *g = realloc(h, sizeof *g + cap);
        if (!g) {
            sh->held_memory += piece_cost(h) - before; /* the runs array may have grown */
            return false;
        }
        *link = h = g;
        h->cap = (uint32_t)cap;
    }
    memcpy(h->data + h->len, data, n);
    h->runs[h->nruns++] = (struct frame_run){h->len, (uint32_t)(frame - h->frame), ts};
    h->len += n;
    h->cut = cut;
    r->held_bytes += n;
    sh->held_total += n;
    sh->held_memory += piece_cost(h) - before;
    return true;
}

/* Holds a copy of [seq, seq+len) minus whatever held pieces already cover
 * (first copy wins): each uncovered run continues the piece before it or
 * becomes a new piece.  Overlapping bytes are compared with the held copy;
 * differences count as overlap_conflicts.  `cut` snaplen-cut bytes follow
 * the data; they stay attached to the last run if it ends where the data
 * ends.  Each step is one O(log n) tree search. */
static void hold(struct cs_reasm *r, struct cs_reasm_shared *sh, uint32_t seq,
                 const uint8_t *data, uint32_t len, uint32_t cut, uint64_t frame, cs_time_ns ts)
{
    uint32_t p = seq, end = seq + len;

    while (seq_lt(p, end)) {
        struct cs_reasm_held *le, *gt;
        tree_around(r->held, p, &le, &gt);
        if (le && seq_lt(p, le->seq + le->len)) {
            /* le->seq <= p < end of le: overlap, the held copy wins */
            uint32_t le_end = le->seq + le->len;
            uint32_t stop = seq_lt(end, le_end) ? end : le_end;
            const uint8_t *a = data + (p - seq), *b = le->data + (p - le->seq);
            uint32_t n = stop - p;
            sh->stats.retransmitted_bytes += n;
            for (uint32_t i = 0; i < n; i++)
                sh->stats.overlap_conflicts += (a[i] != b[i]);
            p = stop;
            continue;
        }
        uint32_t stop = (gt && seq_lt(gt->seq, end)) ? gt->seq : end;
        uint32_t n = stop - p, c = (stop == end) ? cut : 0;
        if (!le || le->seq + le->len != p ||
            !hold_append(r, sh, le, data + (p - seq), n, c, frame, ts))
            hold_new(r, sh, p, data + (p - seq), n, c, frame, ts);
        p = stop;
    }
}

/* Forces releases until `over` is false: the oldest hole becomes a gap and
 * the held data after it is delivered (each round frees at least one piece). */
#define RELEASE_WHILE(over)   \
    while (r->held && (over)) \
    pump(r, sh, true, first_piece(r)->seq, frame, ts, sink, ctx)

/* Enforces the per-direction and then the global caps on held bytes and on
 * held pieces: the oldest hole becomes a gap and the held data after it is
 * delivered, until this direction is back under the cap(s).  Each forced
 * release is counted once per cap hit. */
static void enforce_caps(struct cs_reasm *r, struct cs_reasm_shared *sh, uint64_t frame,
                         cs_time_ns ts, cs_stream_sink sink, void *ctx)
{
    if (r->held && r->held_bytes > sh->max_held_per_dir) {
        sh->stats.held_cap_per_flow++;
        RELEASE_WHILE(r->held_bytes > sh->max_held_per_dir);
    }
    if (r->held && r->held_pieces > sh->max_held_pieces_per_dir) {
        sh->stats.held_pieces_cap_per_flow++;
        RELEASE_WHILE(r->held_pieces > sh->max_held_pieces_per_dir);
    }
    if (r->held && sh->held_total > sh->max_held_total) {
        sh->stats.held_cap_total++;
        RELEASE_WHILE(sh->held_total > sh->max_held_total);
    }
    if (r->held && sh->held_pieces_total > sh->max_held_pieces_total) {
        sh->stats.held_pieces_cap_total++;
        RELEASE_WHILE(sh->held_pieces_total > sh->max_held_pieces_total);
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
        const struct cs_reasm_held *first = first_piece(r);
        if (first && seq_lt(first->seq, dseq + len))
            k = first->seq - dseq;
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

/* Cuts the pieces of t (all before fin_seq) at fin_seq: data, frame runs
 * and snaplen-cut bytes past it go.  Visits every piece, once per FIN. */
static void clip_tree_to_fin(struct cs_reasm *r, struct cs_reasm_shared *sh, struct cs_reasm_held *h)
{
    for (; h; h = h->right) {
        clip_tree_to_fin(r, sh, h->left);
        uint32_t room = r->fin_seq - h->seq;
        if (h->len > room) {
            r->held_bytes -= h->len - room;
            sh->held_total -= h->len - room;
            h->len = room;
            while (h->nruns && h->runs[h->nruns - 1].off >= h->len)
                h->nruns--;
        }
        if (h->len + h->cut > room)
            h->cut = room - h->len;
    }
}

/* Drops held bytes at or after a newly seen FIN's sequence slot. */
static void clip_held_to_fin(struct cs_reasm *r, struct cs_reasm_shared *sh)
{
    struct cs_reasm_held *after;
    tree_split(r->held, r->fin_seq, &r->held, &after);
    tree_free(r, sh, after);
    clip_tree_to_fin(r, sh, r->held);
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
    const struct cs_reasm_held *last = tree_last(r->held);
    if (last) {
        force = true;
        target = last->seq + last->len + last->cut;
    }
    if (r->fin_seen && !r->fin_delivered) {
        force = true;
        target = r->fin_seq;
    }
    if (force)
        pump(r, sh, true, target, frame, ts, sink, ctx);
    cs_reasm_release(r, sh);
}
