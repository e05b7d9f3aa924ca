/* Progress on long reads: one line on stderr, redrawn a few times a second
 * and erased at the end ("corscope: 42%  310 MB/s  1.2M packets ...").
 *
 * main creates it only when stderr is a terminal, the inputs are files of
 * known size and -q is not given.  The cost per frame is one comparison:
 * the clock is read every CS_PROGRESS_CHECK_FRAMES frames, the line drawn
 * at most every CS_PROGRESS_INTERVAL_NS.  The report writes the timeline
 * from another thread; when that output goes to the same terminal,
 * cs_progress_hold (called by the output sink before it writes) erases the
 * line first, so the two never mix. */
#ifndef CS_PROGRESS_H
#define CS_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CS_PROGRESS_CHECK_FRAMES 4096
#define CS_PROGRESS_INTERVAL_NS (250LL * 1000 * 1000)

struct cs_progress;

/* A progress line on `err` for `total_bytes` of input; NULL when out of
 * memory. */
struct cs_progress *cs_progress_new(FILE *err, uint64_t total_bytes);

/* True when `frames` (read so far) calls for a look at the clock. */
bool cs_progress_due(const struct cs_progress *p, uint64_t frames);

/* Redraws the line if the interval passed: bytes of the inputs read, and
 * the counts so far. */
void cs_progress_update(struct cs_progress *p, uint64_t bytes, uint64_t frames,
                        uint64_t transactions, uint64_t blocked);

/* Erases the line if it is shown (thread-safe; it is drawn again at the
 * next update).  ctx is the struct cs_progress (a cs_output hook). */
void cs_progress_clear(void *ctx);
/* The output sink around each write: hold erases the line and keeps it
 * from being redrawn until release (the write happens in between). */
void cs_progress_hold(void *ctx);
void cs_progress_release(void *ctx);

/* Erases the line and frees; NULL is fine. */
void cs_progress_free(struct cs_progress *p);

#endif
