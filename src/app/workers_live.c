/* --workers live (workers_live.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "summary_add.h"
#include "workers.h"
#include "workers_live.h"

/* Frames read from a capture at a time (libpcap's frame lives until the
 * next read: one). */
#define LIVE_BATCH 1

struct live {
    unsigned n;
    struct cs_capture **caps;
    struct cs_live_out out;
    struct cs_live_stop stop;
    pthread_mutex_t report_mu; /* every call into the report */
    uint64_t next_number;      /* atomic: frame numbers across captures */
    uint64_t frames;           /* atomic */
    bool ended;                /* atomic: an error or the output gone: all stop */
    unsigned running;          /* atomic: workers not yet at their end */
    unsigned stats_asked;      /* atomic: SIGUSR1s seen by the main thread */
    int status;
    char errbuf[CS_ERRBUF_SIZE];
};

struct live_worker {
    struct live *lv;
    struct cs_capture *cap;
    struct cs_pipeline *pipe;
    pthread_t thread;
    bool started;
    /* under report_mu: the counters as of the request stats_answered */
    struct cs_live_counts counts;
    unsigned stats_answered;
    bool done;
};

static void on_txn(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t)
{
    struct live *lv = ctx;
    pthread_mutex_lock(&lv->report_mu);
    lv->out.hooks.on_txn(lv->out.ctx, f, t);
    pthread_mutex_unlock(&lv->report_mu);
}

static void on_flow_end(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                        const struct cs_flow_info *info)
{
    struct live *lv = ctx;
    pthread_mutex_lock(&lv->report_mu);
    lv->out.hooks.on_flow_end(lv->out.ctx, f, why, info);
    pthread_mutex_unlock(&lv->report_mu);
}

static void tick(struct live *lv)
{
    pthread_mutex_lock(&lv->report_mu);
    bool go_on = lv->out.tick(lv->out.ctx, cs_wall_clock_ns());
    pthread_mutex_unlock(&lv->report_mu);
    if (!go_on)
        __atomic_store_n(&lv->ended, true, __ATOMIC_RELAXED);
}

/* A worker's answer to SIGUSR1: its own counters, and its capture's
 * (libpcap's statistics are read by the thread that reads the capture). */
static void answer_stats(struct live_worker *w, unsigned asked, bool done)
{
    struct cs_live_counts c = {0};
    cs_pipeline_counts(w->pipe, &c.pipe);
    cs_capture_stats(w->cap, &c.received, &c.dropped, &c.ifdropped);
    pthread_mutex_lock(&w->lv->report_mu);
    w->counts = c;
    w->stats_answered = asked;
    w->done = done;
    pthread_mutex_unlock(&w->lv->report_mu);
}

static bool stopped(const struct live *lv)
{
    return __atomic_load_n(lv->stop.stop, __ATOMIC_RELAXED) || __atomic_load_n(&lv->ended, __ATOMIC_RELAXED);
}

/* Reads one frame (or a timeout) into the pipeline; false at the end. */
static bool step(struct live_worker *w, char *errbuf)
{
    struct live *lv = w->lv;
    struct cs_frame fr;
    int rc = cs_capture_next_batch(w->cap, &fr, LIVE_BATCH, errbuf);
    unsigned asked = __atomic_load_n(&lv->stats_asked, __ATOMIC_RELAXED);
    if (asked != w->stats_answered) /* only this thread writes it */
        answer_stats(w, asked, false);
    if (rc == 2) { /* no packet within the timeout: the clock moves on */
        cs_pipeline_tick(w->pipe, cs_wall_clock_ns());
        tick(lv);
        return true;
    }
    if (rc <= 0)
        return false;
    /* numbered across the captures, in the order read */
    fr.number = __atomic_add_fetch(&lv->next_number, 1, __ATOMIC_RELAXED);
    cs_pipeline_frame(w->pipe, &fr);
    tick(lv);
    uint64_t got = __atomic_add_fetch(&lv->frames, 1, __ATOMIC_RELAXED);
    if (lv->stop.max_count && got >= lv->stop.max_count)
        __atomic_store_n(&lv->ended, true, __ATOMIC_RELAXED);
    return true;
}

static void *live_main(void *arg)
{
    struct live_worker *w = arg;
    struct live *lv = w->lv;
    char errbuf[CS_ERRBUF_SIZE] = "";
    bool ok = true;
    while (ok && !stopped(lv))
        ok = step(w, errbuf);
    if (!ok && errbuf[0]) {
        pthread_mutex_lock(&lv->report_mu);
        if (!lv->status) {
            lv->status = 2;
            memcpy(lv->errbuf, errbuf, sizeof errbuf);
        }
        pthread_mutex_unlock(&lv->report_mu);
        __atomic_store_n(&lv->ended, true, __ATOMIC_RELAXED);
    }
    /* After one SIGINT/SIGTERM: what the kernel already holds, for a while. */
    if (ok && __atomic_load_n(lv->stop.signals, __ATOMIC_RELAXED) == 1 &&
        !__atomic_load_n(&lv->ended, __ATOMIC_RELAXED)) {
        cs_time_ns deadline = cs_wall_clock_ns() + lv->stop.drain_ns;
        while (__atomic_load_n(lv->stop.signals, __ATOMIC_RELAXED) < 2 && cs_wall_clock_ns() < deadline &&
               !__atomic_load_n(&lv->ended, __ATOMIC_RELAXED)) {
            struct cs_frame fr;
            if (cs_capture_next(w->cap, &fr, errbuf) != 1)
                break;
            fr.number = __atomic_add_fetch(&lv->next_number, 1, __ATOMIC_RELAXED);
            cs_pipeline_frame(w->pipe, &fr);
            uint64_t got = __atomic_add_fetch(&lv->frames, 1, __ATOMIC_RELAXED);
            if (lv->stop.max_count && got >= lv->stop.max_count)
                break;
        }
    }
    answer_stats(w, __atomic_load_n(&lv->stats_asked, __ATOMIC_RELAXED), true);
    __atomic_sub_fetch(&lv->running, 1, __ATOMIC_RELEASE);
    cs_pipeline_finish(w->pipe);
    return NULL;
}

/* SIGUSR1: asks every worker for its counters (each answers within a
 * capture timeout), waits at most a second for them, and prints the sum. */
static void print_stats(struct live *lv, struct live_worker *w, unsigned n)
{
    unsigned asked = __atomic_add_fetch(&lv->stats_asked, 1, __ATOMIC_RELAXED);
    cs_time_ns deadline = cs_wall_clock_ns() + 1000000000;
    struct cs_live_counts sum = {0};
    for (;;) {
        unsigned answered = 0;
        pthread_mutex_lock(&lv->report_mu);
        for (unsigned i = 0; i < n; i++)
            answered += w[i].started && (w[i].stats_answered == asked || w[i].done);
        pthread_mutex_unlock(&lv->report_mu);
        if (answered == n || cs_wall_clock_ns() >= deadline)
            break;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    pthread_mutex_lock(&lv->report_mu);
    for (unsigned i = 0; i < n; i++) {
        cs_pipeline_counts_add(&sum.pipe, &w[i].counts.pipe);
        sum.received += w[i].counts.received;
        sum.dropped += w[i].counts.dropped;
        sum.ifdropped += w[i].counts.ifdropped;
    }
    pthread_mutex_unlock(&lv->report_mu);
    lv->out.print_stats(lv->out.ctx, &sum);
}

int cs_workers_live_run(unsigned n, struct cs_capture **caps, const struct cs_limits *limits,
                        const struct cs_live_out *out, const struct cs_live_stop *stop,
                        struct cs_summary *s, uint64_t *frames, char errbuf[CS_ERRBUF_SIZE])
{
    static struct live lv; /* one run per process */
    static struct live_worker w[CS_WORKERS_MAX];
    memset(&lv, 0, sizeof lv);
    memset(w, 0, sizeof w);
    lv.n = n;
    lv.caps = caps;
    lv.out = *out;
    lv.stop = *stop;
    pthread_mutex_init(&lv.report_mu, NULL);
    const struct cs_pipeline_hooks hooks = {.on_txn = on_txn, .on_flow_end = on_flow_end};
    int status = 0;
    for (unsigned i = 0; i < n && !status; i++) {
        w[i].lv = &lv;
        w[i].cap = caps[i];
        w[i].pipe = cs_pipeline_new(limits, &hooks, &lv, errbuf, CS_ERRBUF_SIZE);
        if (!w[i].pipe) {
            status = 2;
            break;
        }
        /* flow ids: the frame that opened the connection, unique across
         * the workers (frames are numbered across the captures) */
        cs_pipeline_ids_by_frame(w[i].pipe);
        if (out->memory)
            cs_pipeline_count_memory(w[i].pipe, out->memory, out->ctx);
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < n && !status; i++) {
        if (pthread_create(&w[i].thread, NULL, live_main, &w[i]) != 0) {
            snprintf(errbuf, CS_ERRBUF_SIZE, "--workers: cannot start a thread");
            status = 2;
            __atomic_store_n(&lv.ended, true, __ATOMIC_RELAXED);
            break;
        }
        w[i].started = true;
        __atomic_add_fetch(&lv.running, 1, __ATOMIC_RELAXED);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* the main thread: SIGUSR1's statistics until every worker is done */
    while (__atomic_load_n(&lv.running, __ATOMIC_ACQUIRE) > 0) {
        if (stop->stats && *stop->stats && out->print_stats && !status) {
            *stop->stats = 0;
            print_stats(&lv, w, n);
        }
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    for (unsigned i = 0; i < n; i++)
        if (w[i].started)
            pthread_join(w[i].thread, NULL);
    if (!status && lv.status) {
        status = lv.status;
        memcpy(errbuf, lv.errbuf, CS_ERRBUF_SIZE);
    }
    static struct cs_summary one;
    bool first = true;
    for (unsigned i = 0; i < n; i++) {
        if (!w[i].pipe)
            continue;
        if (first) {
            cs_pipeline_summary(w[i].pipe, s);
            first = false;
        } else {
            memset(&one, 0, sizeof one);
            cs_pipeline_summary(w[i].pipe, &one);
            cs_summary_add_stages(s, &one, limits->max_protocols);
        }
    }
    for (unsigned i = 0; i < n; i++)
        cs_pipeline_free(w[i].pipe);
    pthread_mutex_destroy(&lv.report_mu);
    *frames = lv.frames;
    return status;
}
