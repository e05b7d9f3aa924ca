/* Decrypting ahead: another thread opens TLS records, and derives the keys
 * of TLS 1.3 handshakes, a little before the pipeline needs them.
 *
 * Why: with a key log, opening records is the pipeline thread's largest
 * single cost (re-keying a cipher context and opening each record, ~0.5-0.8
 * us a record with OpenSSL 3), then looking secrets up in the key log and
 * deriving keys, while the report thread, on the other core, waits two
 * thirds of the time.  Reading a capture file gives the pipeline a batch of
 * frames at a time; a few segments before it feeds one to TCP reassembly,
 * the TLS layer looks whether the segment continues a decrypting connection
 * in order, and offers the whole records in it as jobs: a copy of the
 * connection's read state, the sequence number the record will have, and
 * where its bytes are (in the frame; a record cut across segments in
 * pieces, offered when its last piece is seen).  And every ClientHello in
 * the batch is offered as a hello job: its key log entry looked up, its four
 * traffic keys derived.  The report thread does the jobs between its own
 * events and while it waits (cs_tls_ahead_assist, given to
 * cs_report_thread_assist).
 *
 * A pure accelerator: when the pipeline comes to open a record, it takes a
 * job's result only if the job opened the very same bytes (compared, or the
 * same memory, which nothing writes meanwhile) with the same key
 * (cs_tls_cipher.key_id, never reused) and the same sequence number as it
 * would itself: cs_tls_record_open() of identical inputs, so the output
 * cannot differ from opening it in place.  A hello job's result counts only
 * for the same key log entry while the key log is unchanged, its keys only
 * for the suite in use.  Any other case (a guess that went wrong: a
 * retransmission, a key change) takes no job, and the pipeline does the
 * work itself, as without help; so it does with a job not started in time.
 *
 * Record jobs point into the batch's frames: cs_tls_ahead_end() (the
 * pipeline, at the end of each batch) cancels those not started and waits
 * for one being opened, so nothing outlives the frames; hello jobs read the
 * key log only while a batch is fed.  Memory: fixed tables and an arena for
 * the plaintext of one batch (CS_TLS_AHEAD_ARENA), allocated with the
 * helper; records that do not fit are simply not offered.  Offers and takes
 * come from the pipeline's thread only (cs_tls_ahead_begin makes the helper
 * current there), assisting from one other thread. */
#ifndef CS_TLS_AHEAD_H
#define CS_TLS_AHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_keylog.h"
#include "tls_keys.h"

/* Jobs a batch may hold, and bytes of plaintext room for them. */
#define CS_TLS_AHEAD_JOBS 128u
#define CS_TLS_AHEAD_ARENA (64u * 1024u)

struct cs_tls_ahead;

/* NULL when out of memory (then nothing is decrypted ahead, and
 * everything works as before). */
struct cs_tls_ahead *cs_tls_ahead_new(void);
/* After the assisting thread stopped calling cs_tls_ahead_assist; NULL is
 * ignored. */
void cs_tls_ahead_free(struct cs_tls_ahead *a);

/* The assisting thread: opens one job offered and not started (ctx: the
 * struct cs_tls_ahead); false when there was none. */
bool cs_tls_ahead_assist(void *ctx);

/* The calling (pipeline) thread's helper for the batch that starts: offers
 * and takes go to it until cs_tls_ahead_end().  a may be NULL (none). */
void cs_tls_ahead_begin(struct cs_tls_ahead *a);
/* A new group of frames: the offering positions start again from the
 * connections' state (which the frames fed so far have moved on). */
void cs_tls_ahead_group(void);
/* End of the batch: no job outlives it (see above); none is current. */
void cs_tls_ahead_end(void);

/* Where the next record of (owner, dir) is expected to start, for the
 * offering side: the TLS layer keeps one per connection and direction
 * within a group of frames (cs_tls_ahead_position). */
struct cs_tls_ahead_pos {
    const void *owner;
    uint64_t seq;  /* the record sequence number it will have */
    uint32_t skip; /* bytes that still belong to a record cut across segments */
    uint32_t gen;  /* (the table's) */
    /* the record cut across segments being offered piece by piece */
    uint64_t rec_seq;
    size_t rec_len; /* bytes in its pieces so far */
    uint16_t piece, n_pieces;
    uint8_t building;
    uint8_t dir;
    uint8_t dead; /* the guess is lost for this batch: offer nothing more */
};

/* True while a helper is current on this thread (cheap: offer nothing
 * otherwise). */
bool cs_tls_ahead_active(void);
/* The position kept for (owner, dir) in this group, created from seq and
 * skip when new (*fresh); NULL when none is current or the table is full. */
struct cs_tls_ahead_pos *cs_tls_ahead_position(const void *owner, int dir, uint64_t seq,
                                               uint32_t skip, bool *fresh);
/* Offers the whole record rec[0 .. 5 + frag_len) of (owner, dir), to be
 * opened with a copy of c at sequence number seq.  False when it does not
 * fit (then the pipeline opens it itself). */
bool cs_tls_ahead_offer(const void *owner, int dir, const struct cs_tls_cipher *c, uint64_t seq,
                        const uint8_t *rec, size_t frag_len);

/* TLS 1.3: a record cut across segments, offered piece by piece as they
 * are seen: begins at p[0..n) (header whole: the connection's buffer of
 * the part gathered already, or the segment it starts in), goes on, and
 * is offered when it ends.  A buffer of the connection's used as a piece
 * stays unchanged until the record is opened, or cs_tls_ahead_forget(p)
 * before it is freed. */
void cs_tls_ahead_record_begin(struct cs_tls_ahead_pos *pos, uint64_t seq, const uint8_t *p,
                               size_t n);
void cs_tls_ahead_record_add(struct cs_tls_ahead_pos *pos, const uint8_t *p, size_t n);
void cs_tls_ahead_record_end(struct cs_tls_ahead_pos *pos, const void *owner, int dir,
                             const struct cs_tls_cipher *c);
/* have is about to be freed: no job reads it any more once this returns. */
void cs_tls_ahead_forget(const uint8_t *have);

/* The pipeline opens rec (5 + frag_len bytes) of (owner, dir) with c at
 * c->seq: true when a job had done exactly that, with its result in *r and,
 * on CS_TLS_OPEN_OK, the plaintext at *out (valid until the batch ends),
 * *out_len and *type.  False: open it yourself. */
bool cs_tls_ahead_take(const void *owner, int dir, const struct cs_tls_cipher *c,
                       const uint8_t *rec, size_t frag_len, enum cs_tls_open_result *r,
                       uint8_t **out, size_t *out_len, uint8_t *type);

/* TLS 1.3 handshakes: what the assistant looks up and derives between the
 * ClientHello and the moments the keys are needed (the ServerHello, a round
 * trip later, and the Finished messages): the key log entry of the client
 * random, which secrets it holds, and the keys and IVs of the four traffic
 * secrets for the suite the secrets most likely serve (AES-GCM of their
 * hash). */
enum cs_tls_ahead_hello_key {
    CS_TLS_AHEAD_SERVER_HS,
    CS_TLS_AHEAD_CLIENT_HS,
    CS_TLS_AHEAD_SERVER_AP0,
    CS_TLS_AHEAD_CLIENT_AP0,
    CS_TLS_AHEAD_HELLO_KEYS
};
struct cs_tls_ahead_hello {
    cs_tls_keylog_ref ref;
    const struct cs_tls_suite *suite; /* the keys below are this suite's */
    uint8_t len[CS_TLS_SECRET_KINDS]; /* each secret's length, 0: absent */
    bool derived[CS_TLS_AHEAD_HELLO_KEYS];
    uint8_t key[CS_TLS_AHEAD_HELLO_KEYS][32], iv[CS_TLS_AHEAD_HELLO_KEYS][12];
};
void cs_tls_ahead_offer_hello(const struct cs_tls_keylog *kl, const uint8_t client_random[32]);
/* At the ServerHello: what was found for (kl, client_random), valid only
 * while the key log has not changed since (then exactly what the pipeline
 * would find itself); NULL: look it up yourself.  *slot names the job for
 * cs_tls_ahead_hello_again, done or not (0: there is none).  A job not done
 * by then derives the application keys only (derived[] says which). */
const struct cs_tls_ahead_hello *cs_tls_ahead_hello(const struct cs_tls_keylog *kl,
                                                    const uint8_t client_random[32], uint8_t *slot);
/* Later in the handshake: the same, if slot still holds the entry ref. */
const struct cs_tls_ahead_hello *cs_tls_ahead_hello_again(const struct cs_tls_keylog *kl,
                                                          cs_tls_keylog_ref ref, uint8_t slot);

/* Tests: the pipeline waits for every job the assistant has not finished
 * instead of doing it itself (an assistant must be running), so that what
 * it takes does not depend on timing. */
void cs_tls_ahead_patient(struct cs_tls_ahead *a, bool patient);

/* Counters (tests): record jobs offered, taken with their result, opened
 * by the pipeline instead (not done in time), and never used (a guess that
 * went wrong, or left at the end of a batch), hello jobs offered, taken at
 * the ServerHello, and taken again for application keys, over the helper's
 * life. */
struct cs_tls_ahead_stats {
    uint64_t offered, taken, stolen, unused;
    uint64_t hellos_offered, hellos_taken, hellos_again;
    uint64_t hellos_late; /* not done by the ServerHello: application keys only */
};
void cs_tls_ahead_stats(const struct cs_tls_ahead *a, struct cs_tls_ahead_stats *out);

#endif
