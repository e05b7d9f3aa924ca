/* Decrypting ahead (see tls_ahead.h): the jobs, and the two sides that
 * work on them, the pipeline (offers, takes) and the thread that assists it
 * (cs_tls_ahead_assist: the report thread, between its events).
 *
 * A job's life: the pipeline fills a free slot and publishes it PENDING;
 * the assistant claims it (RUNNING), opens the record into the arena and
 * sets DONE.  The pipeline either claims a PENDING job itself (TAKEN: it
 * opens the record in place, as without help), waits a little for a
 * RUNNING one, or uses a DONE one (USED).  At the end of the batch what is
 * still PENDING is CANCELLED and a RUNNING one is waited for; the slots are
 * then reused for the next batch (the generation tells the assistant to
 * start over).  A slot's fields are written by the pipeline only while it
 * is not PENDING or RUNNING, and read by the assistant only while it holds
 * it RUNNING. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_relax.h"
#include "tls_ahead.h"

enum job_state {
    JOB_FREE = 0, /* not offered since the slot was last reused */
    JOB_PENDING,
    JOB_RUNNING,
    JOB_DONE,
    JOB_TAKEN,     /* the pipeline opens it itself */
    JOB_CANCELLED, /* the batch ended first */
    JOB_USED,      /* the pipeline took the result */
};

/* A record job, in three parts by who writes what, so that the pipeline's
 * scans never read a cache line the assistant has just written: */
struct job_match {     /* the pipeline's alone: what take() compares first */
    const void *owner; /* compared, never followed */
    uint64_t key_id, seq;
    uint8_t dir;
    uint8_t settled; /* used or taken back: the cursor passes it */
};
struct job_in {               /* written by the pipeline before PENDING, read by the assistant */
    unsigned piece, n_pieces; /* the record's bytes: pieces[piece ..] (one: whole in a frame) */
    size_t frag_len;
    uint8_t *out;                /* room for frag_len bytes in the arena */
    struct cs_tls_cipher cipher; /* the read state as offered (key_id names the key) */
    uint64_t seq;
};
struct job_out { /* the state, and the results the assistant writes */
    _Alignas(64) _Atomic int state;
    enum cs_tls_open_result open;
    uint8_t type;
    size_t out_len;
};

/* Pieces of the records offered in a batch: a record in one frame is one,
 * one gathered from several segments (or begun in the connection's buffer)
 * gets AHEAD_RECORD_PIECES slots reserved when it begins. */
#define AHEAD_PIECES 512u
#define AHEAD_RECORD_PIECES 16u

/* Offering positions kept per group of frames: open addressing on the
 * connection's address, emptied by moving to the next generation; room
 * for twice the segments of a group (CS_PIPELINE_GROUP). */
#define AHEAD_POSITIONS 256u

/* The pipeline waits this many pauses for a job being opened (a few
 * microseconds: a record takes well under one, unless the assistant lost
 * its core mid-job; then opening it again here is quicker). */
#define AHEAD_WAIT_SPINS 200u

/* Hello jobs (cs_tls_ahead_offer_hello): a ClientHello's key log entry
 * looked up and its traffic keys derived.  Not tied to the frames (the
 * ServerHello comes a round trip later, the client's Finished two), but the
 * key log may grow between batches (a pcapng Decryption Secrets Block), so
 * they run only while a batch is being fed; a result counts only while the
 * key log's generation is the one it was looked up in.  A slot per hash of
 * the client random; a newer hello with the same hash takes it over. */
#define AHEAD_HELLOS 128u

struct hello_job {
    _Atomic int state; /* JOB_FREE, _PENDING, _RUNNING, _DONE */
    /* The ServerHello came before the job was done: the pipeline derived
     * the handshake keys itself, so the job derives only the application
     * keys (a miss at the ServerHello otherwise costs both threads the same
     * two derivations).  Set by the pipeline, read by the assistant. */
    _Atomic int hs_late;
    const struct cs_tls_keylog *kl;
    uint64_t generation; /* the key log's, when looked up */
    uint8_t random[32];
    struct cs_tls_ahead_hello h; /* result */
};

struct cs_tls_ahead {
    _Atomic unsigned published;      /* jobs [0, published) of this generation exist */
    _Atomic unsigned hellos_pending; /* hello jobs offered and not claimed (a hint) */
    _Atomic int batch;               /* a batch is being fed (hello jobs may run) */
    _Atomic int hello_running;       /* the assistant is in a hello job (or about to be) */
    _Atomic uint64_t generation;     /* bumped at each batch end */
    /* the assistant's alone */
    uint64_t assist_gen;
    unsigned assist_next;
    /* the pipeline's alone (on another cache line than the assistant's) */
    _Alignas(64) unsigned n, cursor, n_pos;
    uint32_t pos_gen; /* positions of another generation are free (starts at 1) */
    bool patient;     /* cs_tls_ahead_patient */
    size_t arena_used;
    struct cs_tls_ahead_stats st;
    struct cs_tls_ahead_pos pos[AHEAD_POSITIONS];
    uint8_t *arena;
    unsigned n_pieces;
    struct cs_tls_piece pieces[AHEAD_PIECES];
    struct job_match match[CS_TLS_AHEAD_JOBS];
    struct job_in in[CS_TLS_AHEAD_JOBS];
    struct job_out out[CS_TLS_AHEAD_JOBS];
    struct hello_job hellos[AHEAD_HELLOS];
};

/* The batch the calling (pipeline) thread is feeding. */
static _Thread_local struct cs_tls_ahead *current;

struct cs_tls_ahead *cs_tls_ahead_new(void)
{
    /* cache-line aligned, as its members ask */
    size_t size = (sizeof(struct cs_tls_ahead) + 63) & ~(size_t)63;
    struct cs_tls_ahead *a = aligned_alloc(64, size);
    if (!a)
        return NULL;
    memset(a, 0, size);
    if (!(a->arena = malloc(CS_TLS_AHEAD_ARENA))) {
        free(a);
        return NULL;
    }
    a->pos_gen = 1;
    return a;
}

void cs_tls_ahead_free(struct cs_tls_ahead *a)
{
    if (!a)
        return;
    cs_tls_wipe(a->arena, CS_TLS_AHEAD_ARENA); /* it held plaintext */
    cs_tls_wipe(a->hellos, sizeof a->hellos);  /* and keys */
    free(a->arena);
    free(a);
}

/* The TLS 1.3 suite a key log entry's secrets most likely serve: the AES-GCM
 * one of their hash (ChaCha20 and the SHA-256 secrets' other suites are
 * derived again by the pipeline, which knows). */
static const struct cs_tls_suite *likely_suite(size_t hash_len)
{
    return cs_tls_suite_find(hash_len == 48 ? 0x1302 : 0x1301);
}

static void run_hello(struct hello_job *j)
{
    struct cs_tls_ahead_hello *h = &j->h;
    memset(h, 0, sizeof *h);
    h->ref = cs_tls_keylog_find(j->kl, j->random);
    if (!h->ref)
        return;
    static const enum cs_tls_secret_kind kinds[CS_TLS_AHEAD_HELLO_KEYS] = {
        [CS_TLS_AHEAD_SERVER_HS] = CS_TLS_SECRET_SERVER_HS,
        [CS_TLS_AHEAD_CLIENT_HS] = CS_TLS_SECRET_CLIENT_HS,
        [CS_TLS_AHEAD_SERVER_AP0] = CS_TLS_SECRET_SERVER_AP0,
        [CS_TLS_AHEAD_CLIENT_AP0] = CS_TLS_SECRET_CLIENT_AP0,
    };
    for (int k = 0; k < CS_TLS_SECRET_KINDS; k++) {
        size_t len = 0;
        cs_tls_keylog_secret(j->kl, h->ref, (enum cs_tls_secret_kind)k, &len);
        h->len[k] = (uint8_t)len;
    }
    const struct cs_tls_suite *su = likely_suite(h->len[CS_TLS_SECRET_SERVER_HS]);
    h->suite = su;
    for (int i = 0; i < CS_TLS_AHEAD_HELLO_KEYS; i++) {
        if ((i == CS_TLS_AHEAD_SERVER_HS || i == CS_TLS_AHEAD_CLIENT_HS) &&
            atomic_load_explicit(&j->hs_late, memory_order_relaxed))
            continue; /* not derived: whoever reads h->derived derives it */
        size_t len = 0;
        /* (read again: the secret's pointer lasts until the next lookup) */
        const uint8_t *secret = cs_tls_keylog_secret(j->kl, h->ref, kinds[i], &len);
        h->derived[i] = su && secret && len == su->hash_len &&
                        cs_tls13_traffic_keys(su, secret, len, h->key[i], h->iv[i]) == 0;
    }
}

/* The assistant: one hello job offered, if any, while a batch is fed. */
static bool assist_hello(struct cs_tls_ahead *a)
{
    if (!atomic_load_explicit(&a->hellos_pending, memory_order_relaxed))
        return false;
    /* announce first, then look (cs_tls_ahead_end clears batch, then waits
     * for hello_running: sequentially consistent, one of them sees the
     * other) */
    atomic_store(&a->hello_running, 1);
    bool did = false;
    if (atomic_load(&a->batch)) {
        for (unsigned i = 0; i < AHEAD_HELLOS && !did; i++) {
            struct hello_job *j = &a->hellos[i];
            int expect = JOB_PENDING;
            if (atomic_load_explicit(&j->state, memory_order_relaxed) != JOB_PENDING ||
                !atomic_compare_exchange_strong_explicit(&j->state, &expect, JOB_RUNNING,
                                                         memory_order_acquire, memory_order_relaxed))
                continue;
            atomic_fetch_sub_explicit(&a->hellos_pending, 1, memory_order_relaxed);
            run_hello(j);
            atomic_store_explicit(&j->state, JOB_DONE, memory_order_release);
            did = true;
        }
    }
    atomic_store(&a->hello_running, 0);
    return did;
}

bool cs_tls_ahead_assist(void *ctx)
{
    struct cs_tls_ahead *a = ctx;
    uint64_t g = atomic_load_explicit(&a->generation, memory_order_acquire);
    if (g != a->assist_gen) {
        a->assist_gen = g;
        a->assist_next = 0;
    }
    unsigned n = atomic_load_explicit(&a->published, memory_order_acquire);
    while (a->assist_next < n) {
        unsigned i = a->assist_next++;
        struct job_out *o = &a->out[i];
        int expect = JOB_PENDING;
        if (!atomic_compare_exchange_strong_explicit(&o->state, &expect, JOB_RUNNING,
                                                     memory_order_acquire, memory_order_relaxed))
            continue; /* taken by the pipeline, or cancelled */
        struct job_in *j = &a->in[i];
        size_t out_len = 0;
        uint8_t type = 0;
        o->open = j->n_pieces == 1
                      ? cs_tls_record_open(&j->cipher, j->seq, a->pieces[j->piece].p,
                                           a->pieces[j->piece].p + CS_TLS_RECORD_HEADER, j->frag_len,
                                           j->out, &out_len, &type)
                      : cs_tls13_record_open_pieces(&j->cipher, j->seq, &a->pieces[j->piece],
                                                    j->n_pieces, j->out, &out_len, &type);
        o->out_len = out_len;
        o->type = type;
        atomic_store_explicit(&o->state, JOB_DONE, memory_order_release);
        return true;
    }
    return assist_hello(a); /* records first: they are needed sooner */
}

void cs_tls_ahead_begin(struct cs_tls_ahead *a)
{
    current = a;
    if (a)
        atomic_store(&a->batch, 1);
}

void cs_tls_ahead_group(void)
{
    if (current) {
        current->pos_gen++;
        current->n_pos = 0;
    }
}

void cs_tls_ahead_end(void)
{
    struct cs_tls_ahead *a = current;
    current = NULL;
    if (!a)
        return;
    /* no hello job reads the key log once this returns */
    atomic_store(&a->batch, 0);
    while (atomic_load(&a->hello_running))
        cs_cpu_relax();
    if (!a->n)
        return;
    for (unsigned i = 0; i < a->n; i++) {
        int expect = JOB_PENDING;
        atomic_compare_exchange_strong(&a->out[i].state, &expect, JOB_CANCELLED);
    }
    for (unsigned i = 0; i < a->n; i++) {
        struct job_out *o = &a->out[i];
        int s;
        while ((s = atomic_load_explicit(&o->state, memory_order_acquire)) == JOB_RUNNING)
            cs_cpu_relax();
        if (!a->match[i].settled) {
            a->st.unused++;
            /* no unused plaintext lingers in the arena (what was used went
             * to the parser, like the thread's own decryption buffer) */
            if (s == JOB_DONE && o->open == CS_TLS_OPEN_OK)
                cs_tls_wipe(a->in[i].out, o->out_len);
        }
        atomic_store_explicit(&o->state, JOB_FREE, memory_order_relaxed);
    }
    /* nor a copy of a key */
    cs_tls_wipe(a->in, a->n * sizeof a->in[0]);
    a->n = 0;
    a->n_pieces = 0;
    a->cursor = 0;
    a->arena_used = 0;
    a->n_pos = 0;
    atomic_store(&a->published, 0);
    atomic_fetch_add(&a->generation, 1);
}

bool cs_tls_ahead_active(void)
{
    return current != NULL;
}

struct cs_tls_ahead_pos *cs_tls_ahead_position(const void *owner, int dir, uint64_t seq,
                                               uint32_t skip, bool *fresh)
{
    *fresh = false;
    struct cs_tls_ahead *a = current;
    if (!a)
        return NULL;
    uint64_t h = ((uint64_t)(uintptr_t)owner >> 4) * 2 + (unsigned)dir;
    size_t i = (size_t)((h * 0x9E3779B97F4A7C15u) >> 40) & (AHEAD_POSITIONS - 1);
    for (;; i = (i + 1) & (AHEAD_POSITIONS - 1)) {
        struct cs_tls_ahead_pos *p = &a->pos[i];
        if (p->gen != a->pos_gen) {
            if (a->n_pos >= AHEAD_POSITIONS / 2)
                return NULL; /* more than a group's segments: keep probes short */
            a->n_pos++;
            *p = (struct cs_tls_ahead_pos){.owner = owner, .seq = seq, .skip = skip, .gen = a->pos_gen, .dir = (uint8_t)dir};
            *fresh = true;
            return p;
        }
        if (p->owner == owner && p->dir == dir)
            return p;
    }
}

/* A job for the record in pieces [piece, piece + n_pieces). */
static bool offer(struct cs_tls_ahead *a, const void *owner, int dir, const struct cs_tls_cipher *c,
                  uint64_t seq, unsigned piece, unsigned n_pieces, size_t frag_len)
{
    size_t room = (frag_len + 15) & ~(size_t)15;
    if (a->n == CS_TLS_AHEAD_JOBS || c->mac || room > CS_TLS_AHEAD_ARENA - a->arena_used)
        return false;
    unsigned i = a->n;
    a->match[i] = (struct job_match){.owner = owner, .key_id = c->key_id, .seq = seq, .dir = (uint8_t)dir};
    /* FREE (the batch's end saw to it): the assistant keeps off it while
     * the fields are written */
    struct job_in *j = &a->in[i];
    j->piece = piece;
    j->n_pieces = n_pieces;
    j->frag_len = frag_len;
    j->cipher = *c;
    j->seq = seq;
    j->out = a->arena + a->arena_used;
    a->arena_used += room;
    atomic_store_explicit(&a->out[i].state, JOB_PENDING, memory_order_release);
    a->n++;
    a->st.offered++;
    atomic_store_explicit(&a->published, a->n, memory_order_release);
    return true;
}

bool cs_tls_ahead_offer(const void *owner, int dir, const struct cs_tls_cipher *c, uint64_t seq,
                        const uint8_t *rec, size_t frag_len)
{
    struct cs_tls_ahead *a = current;
    if (!a || a->n_pieces == AHEAD_PIECES)
        return false;
    a->pieces[a->n_pieces] = (struct cs_tls_piece){rec, CS_TLS_RECORD_HEADER + frag_len};
    if (!offer(a, owner, dir, c, seq, a->n_pieces, 1, frag_len))
        return false;
    a->n_pieces++;
    return true;
}

void cs_tls_ahead_record_begin(struct cs_tls_ahead_pos *pos, uint64_t seq, const uint8_t *p,
                               size_t n)
{
    struct cs_tls_ahead *a = current;
    pos->building = 0;
    if (!a || n < CS_TLS_RECORD_HEADER || a->n_pieces + AHEAD_RECORD_PIECES > AHEAD_PIECES)
        return;
    pos->piece = (uint16_t)a->n_pieces;
    pos->n_pieces = 1;
    pos->rec_seq = seq;
    pos->rec_len = n;
    a->pieces[a->n_pieces] = (struct cs_tls_piece){p, n};
    a->n_pieces += AHEAD_RECORD_PIECES;
    pos->building = 1;
}

void cs_tls_ahead_record_add(struct cs_tls_ahead_pos *pos, const uint8_t *p, size_t n)
{
    struct cs_tls_ahead *a = current;
    if (!a || !pos->building)
        return;
    if (pos->n_pieces == AHEAD_RECORD_PIECES) {
        pos->building = 0; /* cut too fine: the pipeline opens it */
        return;
    }
    a->pieces[pos->piece + pos->n_pieces++] = (struct cs_tls_piece){p, n};
    pos->rec_len += n;
}

void cs_tls_ahead_record_end(struct cs_tls_ahead_pos *pos, const void *owner, int dir,
                             const struct cs_tls_cipher *c)
{
    struct cs_tls_ahead *a = current;
    if (!a || !pos->building)
        return;
    pos->building = 0;
    for (unsigned i = 0; i < pos->n_pieces; i++)
        if (!a->pieces[pos->piece + i].p)
            return; /* its buffer went away (cs_tls_ahead_forget) */
    if (c->version == CS_TLS_VERSION_13)
        offer(a, owner, dir, c, pos->rec_seq, pos->piece, pos->n_pieces,
              pos->rec_len - CS_TLS_RECORD_HEADER);
}

void cs_tls_ahead_forget(const uint8_t *have)
{
    struct cs_tls_ahead *a = current;
    if (!a)
        return; /* outside a batch no job or piece is left */
    for (unsigned i = 0; i < a->n; i++) {
        if (a->pieces[a->in[i].piece].p != have)
            continue;
        struct job_out *o = &a->out[i];
        int expect = JOB_PENDING;
        atomic_compare_exchange_strong(&o->state, &expect, JOB_CANCELLED);
        while (atomic_load_explicit(&o->state, memory_order_acquire) == JOB_RUNNING)
            cs_cpu_relax();
        a->match[i].owner = NULL; /* never matched again */
    }
    /* and a record still being gathered from it offers nothing */
    for (unsigned i = 0; i < a->n_pieces; i++)
        if (a->pieces[i].p == have)
            a->pieces[i].p = NULL;
}

/* The job's pieces are the bytes of rec (frag_len already equal).  A piece
 * at rec itself is: what a job reads is never written before the batch
 * ends (frames) or the record is opened (a connection's buffer, see
 * cs_tls_ahead_record_begin), so the same address holds the same bytes. */
static bool same_bytes(const struct cs_tls_ahead *a, const struct job_in *j, const uint8_t *rec)
{
    for (unsigned i = 0; i < j->n_pieces; i++) {
        const struct cs_tls_piece *pc = &a->pieces[j->piece + i];
        if (pc->p != rec && memcmp(pc->p, rec, pc->n) != 0)
            return false;
        rec += pc->n;
    }
    return true;
}

bool cs_tls_ahead_take(const void *owner, int dir, const struct cs_tls_cipher *c,
                       const uint8_t *rec, size_t frag_len, enum cs_tls_open_result *r,
                       uint8_t **out, size_t *out_len, uint8_t *type)
{
    struct cs_tls_ahead *a = current;
    if (!a)
        return false;
    while (a->cursor < a->n && a->match[a->cursor].settled)
        a->cursor++;
    for (unsigned i = a->cursor; i < a->n; i++) {
        struct job_match *m = &a->match[i];
        /* (owner, dir)'s jobs were offered in stream order: an older one is
         * a guess that went wrong, a later one is not for this record */
        if (m->owner != owner || m->dir != dir || m->settled || m->key_id != c->key_id ||
            m->seq < c->seq)
            continue;
        if (m->seq > c->seq)
            return false;
        const struct job_in *j = &a->in[i];
        if (j->frag_len != frag_len || j->cipher.suite != c->suite ||
            j->cipher.version != c->version || !same_bytes(a, j, rec))
            continue; /* same number, other bytes (a retransmission guessed wrong) */
        struct job_out *o = &a->out[i];
        m->settled = 1;
        int s = atomic_load_explicit(&o->state, memory_order_acquire);
        while (a->patient && (s == JOB_PENDING || s == JOB_RUNNING)) {
            cs_cpu_relax();
            s = atomic_load_explicit(&o->state, memory_order_acquire);
        }
        if (s == JOB_PENDING && atomic_compare_exchange_strong_explicit(&o->state, &s, JOB_TAKEN,
                                                                        memory_order_acquire,
                                                                        memory_order_acquire)) {
            a->st.stolen++; /* not started yet: quicker to open it here */
            return false;
        }
        for (unsigned spin = 0; s == JOB_RUNNING && spin < AHEAD_WAIT_SPINS; spin++) {
            cs_cpu_relax();
            s = atomic_load_explicit(&o->state, memory_order_acquire);
        }
        if (s != JOB_DONE) {
            m->settled = 0; /* still running: the batch's end waits for it */
            a->st.stolen++;
            return false;
        }
        atomic_store_explicit(&o->state, JOB_USED, memory_order_relaxed);
        a->st.taken++;
        *r = o->open;
        *out = j->out;
        *out_len = o->out_len;
        *type = o->type;
        return true;
    }
    return false;
}

static struct hello_job *hello_slot(struct cs_tls_ahead *a, const uint8_t random[32])
{
    uint64_t h;
    memcpy(&h, random + 24, sizeof h); /* a ClientHello random is random: its last 8 bytes hash */
    return &a->hellos[(h ^ h >> 29) % AHEAD_HELLOS];
}

void cs_tls_ahead_offer_hello(const struct cs_tls_keylog *kl, const uint8_t client_random[32])
{
    struct cs_tls_ahead *a = current;
    if (!a || !kl)
        return;
    struct hello_job *j = hello_slot(a, client_random);
    int st = atomic_load_explicit(&j->state, memory_order_acquire);
    if (st != JOB_FREE && j->kl == kl && j->generation == cs_tls_keylog_generation(kl) &&
        memcmp(j->random, client_random, 32) == 0)
        return; /* offered already (from the segment, before the pipeline read it) */
    if (st == JOB_PENDING) {
        if (!atomic_compare_exchange_strong(&j->state, &st, JOB_FREE))
            return; /* being looked up: leave it */
        atomic_fetch_sub_explicit(&a->hellos_pending, 1, memory_order_relaxed);
    } else if (st == JOB_RUNNING)
        return;
    /* FREE or DONE: the assistant keeps off it */
    j->kl = kl;
    j->generation = cs_tls_keylog_generation(kl);
    memcpy(j->random, client_random, 32);
    atomic_store_explicit(&j->hs_late, 0, memory_order_relaxed);
    atomic_store_explicit(&j->state, JOB_PENDING, memory_order_release);
    atomic_fetch_add_explicit(&a->hellos_pending, 1, memory_order_relaxed);
    a->st.hellos_offered++;
}

/* The job of slot j, done for kl with the key log as it is now. */
static const struct cs_tls_ahead_hello *hello_done(const struct hello_job *j,
                                                   const struct cs_tls_keylog *kl)
{
    if (atomic_load_explicit(&j->state, memory_order_acquire) != JOB_DONE || j->kl != kl ||
        j->generation != cs_tls_keylog_generation(kl) || !j->h.ref)
        return NULL;
    return &j->h;
}

const struct cs_tls_ahead_hello *cs_tls_ahead_hello(const struct cs_tls_keylog *kl,
                                                    const uint8_t client_random[32], uint8_t *slot)
{
    struct cs_tls_ahead *a = current;
    *slot = 0;
    if (!a || !kl)
        return NULL;
    struct hello_job *j = hello_slot(a, client_random);
    int st = atomic_load_explicit(&j->state, memory_order_acquire);
    /* the random is the pipeline's own writing: stable in any state */
    if (st == JOB_FREE || j->kl != kl || memcmp(j->random, client_random, 32) != 0)
        return NULL;
    /* done or not, the slot is this handshake's for now: the
     * application keys may be ready by the Finished messages */
    *slot = (uint8_t)(j - a->hellos + 1);
    /* being looked up: a few microseconds more is quicker than a lookup
     * and four derivations here */
    while (a->patient && (st == JOB_PENDING || st == JOB_RUNNING)) {
        cs_cpu_relax();
        st = atomic_load_explicit(&j->state, memory_order_acquire);
    }
    for (unsigned spin = 0; st == JOB_RUNNING && spin < AHEAD_WAIT_SPINS; spin++) {
        cs_cpu_relax();
        st = atomic_load_explicit(&j->state, memory_order_acquire);
    }
    const struct cs_tls_ahead_hello *h = hello_done(j, kl);
    if (h)
        a->st.hellos_taken++;
    else if (st == JOB_PENDING || st == JOB_RUNNING) {
        atomic_store_explicit(&j->hs_late, 1, memory_order_relaxed);
        a->st.hellos_late++;
    }
    return h;
}

const struct cs_tls_ahead_hello *cs_tls_ahead_hello_again(const struct cs_tls_keylog *kl,
                                                          cs_tls_keylog_ref ref, uint8_t slot)
{
    struct cs_tls_ahead *a = current;
    if (!a || !slot || slot > AHEAD_HELLOS)
        return NULL;
    const struct cs_tls_ahead_hello *h = hello_done(&a->hellos[slot - 1], kl);
    if (!h || h->ref != ref)
        return NULL;
    a->st.hellos_again++;
    return h;
}

void cs_tls_ahead_patient(struct cs_tls_ahead *a, bool patient)
{
    a->patient = patient;
}

void cs_tls_ahead_stats(const struct cs_tls_ahead *a, struct cs_tls_ahead_stats *out)
{
    *out = a ? a->st : (struct cs_tls_ahead_stats){0};
}
