/* --workers N live (-i): N captures of one interface in one PACKET_FANOUT
 * group whose classic BPF program is the IP-pair hash (shard.h), so the
 * kernel gives each capture the packets of its share of address pairs, and
 * N threads, each reading its capture into its own pipeline.  The report is
 * one: every call into it (the hooks, the tick) is made under one lock.
 * Events come in the order the workers judge them: per connection in
 * order, no global order. */
#ifndef CS_WORKERS_LIVE_H
#define CS_WORKERS_LIVE_H

#include <signal.h>
#include <stdint.h>
#include "capture.h"
#include "limits.h"
#include "pipeline.h"
#include "summary.h"

/* SIGUSR1's statistics: the pipelines' counters added up and the kernel's
 * of every capture socket. */
struct cs_live_counts {
    struct cs_pipeline_counts pipe;
    uint64_t received, dropped, ifdropped;
};

/* The report's side, called under the workers' lock: the hooks with ctx,
 * tick(ctx, now) when a capture timed out or read packets (held events
 * whose window closed); it returns false once the output is gone (the run
 * then stops). */
struct cs_live_out {
    struct cs_pipeline_hooks hooks;
    void *ctx;
    bool (*tick)(void *ctx, cs_time_ns now);
    size_t (*memory)(void *ctx); /* cs_pipeline_count_memory, may be NULL */
    /* the statistics asked for by *stop->stats, from the calling thread */
    void (*print_stats)(void *ctx, const struct cs_live_counts *c);
};

/* How the run stops: *stop set (a signal); after the first of *signals
 * (SIGINT/SIGTERM), what the kernel already holds is still read for at
 * most drain_ns; max_count packets in all (0: no limit).  *stats set
 * (SIGUSR1): the statistics go to out->print_stats, the run goes on. */
struct cs_live_stop {
    volatile sig_atomic_t *stop;
    volatile sig_atomic_t *signals;
    volatile sig_atomic_t *stats;
    int64_t drain_ns;
    uint64_t max_count;
};

/* Runs caps[0..n) (already in one fanout group) until stopped; the
 * pipelines' counters are added into *s and the packets read into *frames.
 * Returns 0, or 2 after a capture error (in errbuf) or when a thread or a
 * pipeline could not be started. */
int cs_workers_live_run(unsigned n, struct cs_capture **caps, const struct cs_limits *limits,
                        const struct cs_live_out *out, const struct cs_live_stop *stop,
                        struct cs_summary *s, uint64_t *frames, char errbuf[CS_ERRBUF_SIZE]);

#endif
