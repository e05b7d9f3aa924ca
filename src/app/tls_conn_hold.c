/* The two ways a TLS direction waits instead of decrypting the next record
 * in order, split from tls_conn.c (which owns the connection and calls in
 * here):
 *  - holding: encrypted records that arrive before the key log has their
 *    secrets are queued, within the connection's byte budget, and replayed
 *    in arrival order by cs_tls_conn_retry() once the key is there; past the
 *    budget the rest of the direction is dropped and counted (one marker),
 *    and decryption resumes after it by trying further sequence numbers;
 *  - resynchronisation: after a gap (cs_tls_conn_gap, or framing lost on a
 *    bad header) bytes are scanned for the next record header that verifies
 *    against the tag, bounded by the CS_TLS_RESYNC_* limits; otherwise the
 *    direction is marked undecryptable. */
#include "tls_conn_int.h"

#include <stdlib.h>
#include <string.h>

void cs_tls__free_held(struct cs_tls_conn *c)
{
    for (struct held *h = c->held_head, *next; h; h = next) {
        next = h->next;
        free(h);
    }
    c->held_head = c->held_tail = NULL;
    c->held_bytes = 0;
    c->held_nodes = 0;
}

/* Keeps a record for later; over the budget, the rest of the direction is
 * dropped (one marker counts them) so that order is never broken. */
void cs_tls__hold(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *rec, size_t len,
                 uint64_t f0, uint64_t f1, int64_t ts)
{
    struct dir *D = &c->d[dir];
    struct held *h = NULL;
    if (!D->dropping && c->held_bytes + len <= c->max_held && (h = malloc(sizeof *h + len))) {
        memset(h, 0, sizeof *h);
        memcpy(h->rec, rec, len);
        h->len = len;
        c->held_bytes += len;
        c->n.held_records++;
    } else {
        c->n.held_dropped_records++;
        c->n.held_dropped_bytes += len;
        if (D->dropping) {
            if (D->marker)
                D->marker->dropped++;
            return;
        }
        D->dropping = 1;
        if (!(h = calloc(1, sizeof *h)))
            return;
        h->dropped = 1;
        D->marker = h;
    }
    D->held++;
    c->held_nodes++;
    h->dir = dir;
    h->frame_first = f0;
    h->frame_last = f1;
    h->ts = ts;
    if (c->held_tail)
        c->held_tail->next = h;
    else
        c->held_head = h;
    c->held_tail = h;
}

/* Replays the held records in arrival order; those that still cannot be
 * decrypted are held again. */
void cs_tls__drain_held(struct cs_tls_conn *c)
{
    struct held *h = c->held_head;
    c->held_head = c->held_tail = NULL;
    c->held_bytes = 0;
    c->held_nodes = 0;
    for (int i = 0; i < 2; i++) {
        c->d[i].dropping = 0;
        c->d[i].held = 0;
        c->d[i].marker = NULL;
    }
    c->draining = 1;
    while (h) {
        struct held *next = h->next;
        if (h->dropped) {
            c->d[h->dir].uncertain += h->dropped;
            cs_tls__emit(c, CS_TLS_EV_GAP, h->dir, NULL, 0, h->frame_first, h->frame_last, h->ts, 0);
        } else if (c->keys_ready || !cs_tls__encrypted(c, h->dir, h->rec[0])) {
            cs_tls__process_record(c, h->dir, h->rec, h->len - 5, h->frame_first, h->frame_last, h->ts);
        } else {
            cs_tls__hold(c, h->dir, h->rec, h->len, h->frame_first, h->frame_last, h->ts);
            c->n.held_records--; /* not a new hold */
        }
        free(h);
        h = next;
    }
    c->draining = 0;
}

int cs_tls_conn_retry(struct cs_tls_conn *c)
{
    if (c->keys_ready || c->state != CS_TLS_STATE_NO_KEY)
        return 0;
    struct cs_tls_keylog_stats st;
    cs_tls_keylog_get_stats(c->kl, &st);
    if (st.generation == c->keylog_generation)
        return 0;
    if (!cs_tls__try_keys(c))
        return 0;
    cs_tls__drain_held(c);
    cs_tls__release_plain(c);
    return 1;
}

/* Resynchronisation after a gap: bytes collect in D->scan until a
 * candidate record header is followed by a whole record that verifies
 * (encrypted) or by another plausible header (plaintext); framing resumes
 * there.  Bounded by CS_TLS_RESYNC_MAX_SCAN and _MAX_CANDIDATES. */
void cs_tls__resync_feed(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *p, size_t n,
                        uint64_t frame, int64_t ts)
{
    struct dir *D = &c->d[dir];
    size_t room = CS_TLS_RESYNC_MAX_SCAN - D->scan_len;
    size_t take = n < room ? n : room;
    memcpy(D->scan + D->scan_len, p, take);
    D->scan_len += take;
    for (; D->scan_pos + 5 <= D->scan_len; D->scan_pos++) {
        const uint8_t *h = D->scan + D->scan_pos;
        if (!cs_tls__plausible_header(h) ||
            (c->suite && c->suite->tls13 && D->epoch != EP_PLAIN && h[0] != CT_APPDATA))
            continue; /* 1.3 protected records all say application_data */
        size_t rl = cs_tls__record_len(h);
        if (D->scan_pos + rl > D->scan_len) {
            if (D->scan_pos + rl > CS_TLS_RESYNC_MAX_SCAN)
                continue; /* can never complete here */
            return;       /* wait for the rest of this candidate */
        }
        int ok;
        if (cs_tls__encrypted(c, dir, h[0]) && c->keys_ready) {
            size_t out_len;
            uint8_t inner;
            if (!c->plain && !(c->plain = malloc(CS_TLS_MAX_CIPHERTEXT)))
                break;
            ok = cs_tls__open_trying(c, dir, h, rl - 5, CS_TLS_RESYNC_SEQ_WINDOW, CS_TLS_RESYNC_SEQ_WINDOW,
                             &out_len, &inner) == CS_TLS_OPEN_OK;
            if (ok) {
                uint8_t *rest = D->scan;
                size_t from = D->scan_pos + rl, rest_len = D->scan_len - from;
                D->scan = NULL;
                D->resync = 0;
                c->n.resyncs++;
                c->n.records[dir]++;
                c->n.records_decrypted++;
                cs_tls__on_content(c, dir, inner, c->plain, out_len, D->scan_frame, frame, ts);
                cs_tls__apply_pending(c, dir, frame, ts);
                cs_tls__frame_records(c, dir, rest + from, rest_len, frame, ts);
                free(rest);
                if (take < n)
                    cs_tls__frame_records(c, dir, p + take, n - take, frame, ts);
                return;
            }
        } else {
            ok = D->scan_pos + rl + 5 <= D->scan_len && cs_tls__plausible_header(h + rl);
            if (!ok && D->scan_pos + rl + 5 > D->scan_len)
                return; /* wait to see the next header */
            if (ok) {
                uint8_t *rest = D->scan;
                size_t from = D->scan_pos, rest_len = D->scan_len - from;
                D->scan = NULL;
                D->resync = 0;
                c->n.resyncs++;
                cs_tls__frame_records(c, dir, rest + from, rest_len, frame, ts);
                free(rest);
                if (take < n)
                    cs_tls__frame_records(c, dir, p + take, n - take, frame, ts);
                return;
            }
        }
        if (++D->candidates >= CS_TLS_RESYNC_MAX_CANDIDATES)
            break;
    }
    if (D->candidates >= CS_TLS_RESYNC_MAX_CANDIDATES || D->scan_len == CS_TLS_RESYNC_MAX_SCAN ||
        D->scan_pos + 5 > CS_TLS_RESYNC_MAX_SCAN)
        cs_tls__fail_dir(c, dir, CS_TLS_REASON_GAP, frame, ts);
}

void cs_tls_conn_gap(struct cs_tls_conn *c, enum cs_tls_dir dir, uint64_t len, uint64_t frame, int64_t ts)
{
    if ((unsigned)dir > 1)
        return;
    struct dir *D = &c->d[dir];
    c->n.gaps++;
    (void)len;
    if (D->failed || D->closed)
        return;
    /* The hellos are needed for everything else. */
    if (!(dir == CS_TLS_FROM_CLIENT ? c->have_ch : c->have_sh)) {
        cs_tls__fail_conn(c, CS_TLS_REASON_HANDSHAKE_GAP);
        cs_tls__emit(c, CS_TLS_EV_GAP, dir, NULL, 0, frame, frame, ts, 0);
        return;
    }
    /* Before its key is known a direction cannot tell a real header from
     * noise by its tag, and its held records would lose their order. */
    if (!c->keys_ready && (c->d[dir].ccs || (c->suite && c->suite->tls13))) {
        cs_tls__fail_dir(c, dir, CS_TLS_REASON_GAP, frame, ts);
        return;
    }
    D->rec_len = 0;
    free(D->rec);
    D->rec = NULL;
    D->hs.hdr_len = 0;
    cs_tls__hs_release(&D->hs);
    D->pending = PEND_NONE;
    if (!D->resync) {
        if (!(D->scan = malloc(CS_TLS_RESYNC_MAX_SCAN))) {
            cs_tls__fail_dir(c, dir, CS_TLS_REASON_INTERNAL, frame, ts);
            return;
        }
        D->resync = 1;
        D->scan_len = D->scan_pos = 0;
        D->candidates = 0;
        D->scan_frame = frame;
        cs_tls__emit(c, CS_TLS_EV_GAP, dir, NULL, 0, frame, frame, ts, 0);
    }
}
