/* Progress line on stderr: see progress.h. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "progress.h"

struct cs_progress {
    uint64_t next_check; /* frames at which to look at the clock */
    FILE *err;
    uint64_t total;
    int64_t start_ns, next_draw_ns;
    int64_t interval_ns; /* CS_PROGRESS_INTERVAL_NS, or $CORSCOPE_PROGRESS_INTERVAL_MS */
    bool shown;
    pthread_mutex_t lock;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct cs_progress *cs_progress_new(FILE *err, uint64_t total_bytes)
{
    struct cs_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->err = err;
    p->total = total_bytes;
    p->next_check = CS_PROGRESS_CHECK_FRAMES;
    p->start_ns = now_ns();
    /* the tests set a short interval so that a small capture shows a line
     * however fast the machine reads it (man page, ENVIRONMENT) */
    p->interval_ns = CS_PROGRESS_INTERVAL_NS;
    const char *env = getenv("CORSCOPE_PROGRESS_INTERVAL_MS");
    if (env && *env) {
        char *end;
        long ms = strtol(env, &end, 10);
        if (*end == '\0' && ms >= 1 && ms <= 60000)
            p->interval_ns = (int64_t)ms * 1000000;
    }
    /* a short run prints nothing: the first line after one interval */
    p->next_draw_ns = p->start_ns + p->interval_ns;
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

bool cs_progress_due(const struct cs_progress *p, uint64_t frames)
{
    return p && frames >= p->next_check;
}

/* "1234", "12.3k", "1.23M": short enough for one line on 80 columns. */
static void count_text(char *buf, size_t len, uint64_t v)
{
    if (v < 10000)
        snprintf(buf, len, "%llu", (unsigned long long)v);
    else if (v < 1000000)
        snprintf(buf, len, "%.1fk", (double)v / 1e3);
    else
        snprintf(buf, len, "%.2fM", (double)v / 1e6);
}

void cs_progress_update(struct cs_progress *p, uint64_t bytes, uint64_t frames,
                        uint64_t transactions, uint64_t blocked)
{
    p->next_check = frames + CS_PROGRESS_CHECK_FRAMES;
    int64_t t = now_ns();
    if (t < p->next_draw_ns)
        return;
    p->next_draw_ns = t + p->interval_ns;
    double secs = (double)(t - p->start_ns) / 1e9;
    unsigned pct = p->total ? (unsigned)(bytes >= p->total ? 100 : bytes * 100 / p->total) : 0;
    char pk[16], tx[16], bl[16];
    count_text(pk, sizeof pk, frames);
    count_text(tx, sizeof tx, transactions);
    count_text(bl, sizeof bl, blocked);
    pthread_mutex_lock(&p->lock);
    /* \r and erase to the end of the line: the new text may be shorter */
    fprintf(p->err, "\r\033[Kcorscope: %3u%%  %.1f MB/s  %s packets  %s transactions  %s blocked",
            pct, secs > 0 ? (double)bytes / 1e6 / secs : 0.0, pk, tx, bl);
    fflush(p->err);
    p->shown = true;
    pthread_mutex_unlock(&p->lock);
}

void cs_progress_hold(void *ctx)
{
    struct cs_progress *p = ctx;
    pthread_mutex_lock(&p->lock);
    if (p->shown) {
        fputs("\r\033[K", p->err);
        fflush(p->err);
        p->shown = false;
    }
}

void cs_progress_release(void *ctx)
{
    struct cs_progress *p = ctx;
    pthread_mutex_unlock(&p->lock);
}

void cs_progress_clear(void *ctx)
{
    cs_progress_hold(ctx);
    cs_progress_release(ctx);
}

void cs_progress_free(struct cs_progress *p)
{
    if (!p)
        return;
    cs_progress_clear(p);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
