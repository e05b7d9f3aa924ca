/* --workers with capture files (workers.h).
 *
 * Batches: a ring of CS_WORKERS_RING batches; the reader fills batch
 * number `filling` (ring slot filling % RING) and publishes it to all
 * workers at once; a batch goes back to the reader when every worker has
 * run it (refs reaches 0).  Each worker takes the published batches in
 * order.  One mutex guards published, eof and the refs; frame bytes are
 * written by the reader before publishing and only read after. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shard.h"
#include "summary_add.h"
#include "workers.h"

/* A batch: frames, who runs each, and their bytes.  Big enough that the
 * per-batch handover (a lock, a wakeup per worker, a report batch per
 * worker) is rare next to the frames' work. */
#define CS_WORKERS_BATCH_FRAMES 1024u
#define CS_WORKERS_BATCH_BYTES (2u << 20)
#define CS_WORKERS_RING 4u

struct fbatch {
    struct cs_frame frames[CS_WORKERS_BATCH_FRAMES];
    uint8_t owner[CS_WORKERS_BATCH_FRAMES];
    unsigned n;
    uint8_t *bytes;
    size_t used;
    unsigned refs; /* workers still running it (under mu) */
};

struct worker {
    struct cs_workers *ws;
    unsigned index;
    pthread_t thread;
    bool started;
    struct cs_pipeline *pipe;
    void *out_ctx;
    uint64_t frame;                   /* the frame the worker's clock is at */
    struct cs_pipeline_counts counts; /* under mu: as of its last batch (SIGUSR1) */
};

struct cs_workers {
    unsigned n;
    struct cs_workers_out out;
    unsigned max_protocols;
    struct worker w[CS_WORKERS_MAX];
    struct fbatch ring[CS_WORKERS_RING];
    uint64_t filling;   /* reader: the batch being filled */
    uint64_t published; /* under mu: batches 0..published-1 are out */
    bool eof;           /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t more, freed;
};

/* --- a worker ---------------------------------------------------------- */

/* The merge key of the event the pipeline is giving now (flow.h's phases):
 * the frame the clock is at, then what ends flows (held-back segments,
 * idle flows by last packet, unanswered SYNs by first SYN, the frame's own
 * segment); at the end of input, flows in order of creation. */
static void set_key(struct worker *w, const struct cs_flow_key *f)
{
    enum cs_flow_phase ph = cs_pipeline_phase(w->pipe);
    uint64_t frame = w->frame, v = 0;
    switch (ph) {
    case CS_FLOW_PHASE_DEFERRED:
    case CS_FLOW_PHASE_IDLE: v = f->last_frame; break;
    case CS_FLOW_PHASE_HALF_OPEN: v = f->first_frame; break;
    case CS_FLOW_PHASE_SEGMENT: v = 0; break;
    case CS_FLOW_PHASE_FINISH:
        frame = UINT64_MAX;
        v = f->id; /* the frame that created it */
        break;
    }
    w->ws->out.key(w->out_ctx, frame, (uint64_t)ph << 56 | (v & ((1ull << 56) - 1)));
}

static void on_txn(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t)
{
    struct worker *w = ctx;
    set_key(w, f);
    w->ws->out.hooks.on_txn(w->out_ctx, f, t);
}

static void on_flow_end(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                        const struct cs_flow_info *info)
{
    struct worker *w = ctx;
    set_key(w, f);
    w->ws->out.hooks.on_flow_end(w->out_ctx, f, why, info);
}

static void on_flow_new(void *ctx, const struct cs_flow_key *f)
{
    struct worker *w = ctx;
    set_key(w, f);
    w->ws->out.hooks.on_flow_new(w->out_ctx, f);
}

static void run_batch(struct worker *w, const struct fbatch *b)
{
    for (unsigned i = 0; i < b->n; i++) {
        const struct cs_frame *fr = &b->frames[i];
        w->frame = fr->number;
        /* every frame moves the clock, as in one pipeline */
        cs_pipeline_tick(w->pipe, fr->ts);
        if (b->owner[i] == w->index)
            cs_pipeline_frame(w->pipe, fr);
    }
    if (b->n)
        w->ws->out.mark(w->out_ctx, b->frames[b->n - 1].number);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct cs_workers *ws = w->ws;
    char name[16];
    snprintf(name, sizeof name, "corscope-w%u", w->index);
    pthread_setname_np(pthread_self(), name);
    for (uint64_t seq = 0;; seq++) {
        pthread_mutex_lock(&ws->mu);
        while (ws->published <= seq && !ws->eof)
            pthread_cond_wait(&ws->more, &ws->mu);
        bool have = ws->published > seq;
        pthread_mutex_unlock(&ws->mu);
        if (!have)
            break;
        struct fbatch *b = &ws->ring[seq % CS_WORKERS_RING];
        run_batch(w, b);
        struct cs_pipeline_counts counts;
        cs_pipeline_counts(w->pipe, &counts);
        pthread_mutex_lock(&ws->mu);
        w->counts = counts;
        if (--b->refs == 0)
            pthread_cond_signal(&ws->freed);
        pthread_mutex_unlock(&ws->mu);
    }
    cs_pipeline_finish(w->pipe);
    ws->out.done(w->out_ctx);
    return NULL;
}

/* --- the reader -------------------------------------------------------- */

struct cs_workers *cs_workers_start(unsigned n, const struct cs_limits *limits,
                                    const struct cs_workers_out *out, const struct cs_tls_keylog *kl,
                                    size_t (*mem_fn)(void *ctx), void *mem_ctx, char *errbuf,
                                    unsigned errlen)
{
    if (n < 2 || n > CS_WORKERS_MAX) {
        snprintf(errbuf, errlen, "--workers: %u workers (2 to %d)", n, CS_WORKERS_MAX);
        return NULL;
    }
    struct cs_workers *ws = calloc(1, sizeof *ws);
    if (!ws) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    ws->n = n;
    ws->out = *out;
    ws->max_protocols = limits->max_protocols;
    pthread_mutex_init(&ws->mu, NULL);
    pthread_cond_init(&ws->more, NULL);
    pthread_cond_init(&ws->freed, NULL);
    for (unsigned i = 0; i < CS_WORKERS_RING; i++)
        if (!(ws->ring[i].bytes = malloc(CS_WORKERS_BATCH_BYTES))) {
            snprintf(errbuf, errlen, "out of memory");
            cs_workers_free(ws);
            return NULL;
        }
    const struct cs_pipeline_hooks hooks = {on_txn, on_flow_end, on_flow_new};
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &ws->w[i];
        w->ws = ws;
        w->index = i;
        w->out_ctx = out->ctx[i];
        w->pipe = cs_pipeline_new(limits, &hooks, w, errbuf, errlen);
        if (!w->pipe) {
            cs_workers_free(ws);
            return NULL;
        }
        cs_pipeline_ids_by_frame(w->pipe);
        if (mem_fn)
            cs_pipeline_count_memory(w->pipe, mem_fn, mem_ctx ? mem_ctx : w->out_ctx);
        if (kl)
            cs_pipeline_set_keylog(w->pipe, kl, NULL, NULL, n);
    }
    /* Signals stay with the main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&ws->w[i].thread, NULL, worker_main, &ws->w[i]) != 0) {
            snprintf(errbuf, errlen, "--workers: cannot start a thread");
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            cs_workers_finish(ws);
            cs_workers_free(ws);
            return NULL;
        }
        ws->w[i].started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ws;
}

/* Publishes the batch being filled (if it holds frames) and waits for the
 * next ring slot to be free. */
static void publish(struct cs_workers *ws)
{
    struct fbatch *b = &ws->ring[ws->filling % CS_WORKERS_RING];
    if (b->n == 0)
        return;
    pthread_mutex_lock(&ws->mu);
    b->refs = ws->n;
    ws->published = ++ws->filling;
    pthread_cond_broadcast(&ws->more);
    b = &ws->ring[ws->filling % CS_WORKERS_RING];
    while (b->refs)
        pthread_cond_wait(&ws->freed, &ws->mu);
    pthread_mutex_unlock(&ws->mu);
    b->n = 0;
    b->used = 0;
}

void cs_workers_frames(struct cs_workers *ws, const struct cs_frame *frames, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct cs_frame *fr = &frames[i];
        struct fbatch *b = &ws->ring[ws->filling % CS_WORKERS_RING];
        uint32_t len = fr->caplen <= CS_WORKERS_BATCH_BYTES ? fr->caplen : CS_WORKERS_BATCH_BYTES;
        if (b->n == CS_WORKERS_BATCH_FRAMES || b->used + len > CS_WORKERS_BATCH_BYTES) {
            publish(ws);
            b = &ws->ring[ws->filling % CS_WORKERS_RING];
        }
        struct cs_frame *copy = &b->frames[b->n];
        *copy = *fr;
        copy->caplen = len;
        copy->data = b->bytes + b->used;
        memcpy(b->bytes + b->used, fr->data, len);
        b->used += (len + 15) & ~(size_t)15;
        if (b->used > CS_WORKERS_BATCH_BYTES)
            b->used = CS_WORKERS_BATCH_BYTES;
        b->owner[b->n] = (uint8_t)cs_shard_worker(cs_shard_hash_frame(fr->linktype, fr->data, len), ws->n);
        b->n++;
    }
}

void cs_workers_finish(struct cs_workers *ws)
{
    publish(ws);
    pthread_mutex_lock(&ws->mu);
    ws->eof = true;
    pthread_cond_broadcast(&ws->more);
    pthread_mutex_unlock(&ws->mu);
    for (unsigned i = 0; i < ws->n; i++)
        if (ws->w[i].started) {
            pthread_join(ws->w[i].thread, NULL);
            ws->w[i].started = false;
        }
}

void cs_workers_counts(struct cs_workers *ws, struct cs_pipeline_counts *sum)
{
    *sum = (struct cs_pipeline_counts){0};
    pthread_mutex_lock(&ws->mu);
    for (unsigned i = 0; i < ws->n; i++)
        cs_pipeline_counts_add(sum, &ws->w[i].counts);
    pthread_mutex_unlock(&ws->mu);
}

void cs_workers_summary(const struct cs_workers *ws, struct cs_summary *s)
{
    static struct cs_summary one; /* ~5 KB: not on the stack; main's thread only */
    cs_pipeline_summary(ws->w[0].pipe, s);
    for (unsigned i = 1; i < ws->n; i++) {
        memset(&one, 0, sizeof one);
        cs_pipeline_summary(ws->w[i].pipe, &one);
        cs_summary_add_stages(s, &one, ws->max_protocols);
    }
}

void cs_workers_free(struct cs_workers *ws)
{
    if (!ws)
        return;
    for (unsigned i = 0; i < ws->n; i++)
        cs_pipeline_free(ws->w[i].pipe);
    for (unsigned i = 0; i < CS_WORKERS_RING; i++)
        free(ws->ring[i].bytes);
    pthread_cond_destroy(&ws->more);
    pthread_cond_destroy(&ws->freed);
    pthread_mutex_destroy(&ws->mu);
    free(ws);
}
