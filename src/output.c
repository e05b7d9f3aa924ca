/* Output sink: see output.h.  A fopencookie() stream whose write callback
 * receives what stdio flushes, writes it up to its last newline, and keeps
 * the rest (part of one line) until its newline comes.  stdio calls the
 * callback under the stream's lock, so the report thread and main may both
 * use the stream. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"

struct cs_output {
    FILE *fp;
    int fd;
    int error;  /* errno of the first failed write, then sticky */
    char *tail; /* the unfinished line, not written yet */
    size_t tail_len, tail_cap;
    uint64_t written;             /* bytes on fd */
    uint64_t whole_bytes;         /* of those, up to the last newline */
    uint64_t lines;               /* newlines on fd */
    void (*before_write)(void *); /* cs_output_around_write */
    void (*after_write)(void *);  /* called after those bytes went out */
    void *before_ctx;
};

/* Counts what reached fd: n bytes from p. */
static void count_written(struct cs_output *o, const char *p, size_t n)
{
    const char *last = NULL;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))) != NULL; q++) {
        o->lines++;
        last = q;
    }
    if (last)
        o->whole_bytes = o->written + (uint64_t)(last - p) + 1;
    o->written += n;
}

/* After a failed write: a regular file that ends in part of a line (a
 * short write before ENOSPC or EFBIG) is cut back to its last newline, if
 * nothing was written after us. */
static void cut_partial_line(struct cs_output *o)
{
    uint64_t partial = o->written - o->whole_bytes;
    struct stat st;
    if (partial == 0 || fstat(o->fd, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    off_t end = lseek(o->fd, 0, SEEK_CUR);
    if (end < 0 || (uint64_t)end < partial || st.st_size != end)
        return;
    if (ftruncate(o->fd, end - (off_t)partial) == 0 &&
        lseek(o->fd, end - (off_t)partial, SEEK_SET) >= 0)
        o->written = o->whole_bytes;
}

/* Writes all n bytes, or records the error (and returns -1). */
static int write_all(struct cs_output *o, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(o->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            o->error = k < 0 ? errno : EIO;
            cut_partial_line(o);
            return -1;
        }
        count_written(o, p, (size_t)k);
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Writes a (held tail) then b as one piece for the hooks: the progress
 * line is erased once before and may be redrawn only after both, never
 * between a line's start and its end. */
static int put2(struct cs_output *o, const char *a, size_t an, const char *b, size_t bn)
{
    bool around = (an || bn) && o->before_write;
    if (around)
        o->before_write(o->before_ctx);
    int rc = 0;
    if ((an && write_all(o, a, an) != 0) || (bn && write_all(o, b, bn) != 0))
        rc = -1;
    if (around && o->after_write)
        o->after_write(o->before_ctx);
    return rc;
}

static int keep_tail(struct cs_output *o, const char *p, size_t n)
{
    if (o->tail_len + n > o->tail_cap) {
        size_t cap = o->tail_cap ? o->tail_cap : 256;
        while (cap < o->tail_len + n)
            cap *= 2;
        char *t = realloc(o->tail, cap);
        if (!t) {
            o->error = ENOMEM;
            return -1;
        }
        o->tail = t;
        o->tail_cap = cap;
    }
    memcpy(o->tail + o->tail_len, p, n);
    o->tail_len += n;
    return 0;
}

static ssize_t sink_write(void *cookie, const char *buf, size_t size)
{
    struct cs_output *o = cookie;
    const size_t taken = size;
    if (o->error) {
        errno = o->error;
        return -1;
    }
    const char *nl = size ? memrchr(buf, '\n', size) : NULL;
    if (nl) {
        size_t whole = (size_t)(nl - buf) + 1;
        if (put2(o, o->tail, o->tail_len, buf, whole) != 0) {
            errno = o->error;
            return -1;
        }
        o->tail_len = 0;
        buf += whole;
        size -= whole;
    }
    if (size && keep_tail(o, buf, size) != 0) {
        errno = o->error;
        return -1;
    }
    return (ssize_t)taken;
}

struct cs_output *cs_output_open(int fd)
{
    struct cs_output *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->fd = fd;
    cookie_io_functions_t io = {.write = sink_write};
    o->fp = fopencookie(o, "w", io);
    if (!o->fp) {
        free(o);
        return NULL;
    }
    return o;
}

void cs_output_around_write(struct cs_output *o, void (*before)(void *), void (*after)(void *),
                            void *ctx)
{
    o->before_write = before;
    o->after_write = after;
    o->before_ctx = ctx;
}

FILE *cs_output_stream(const struct cs_output *o)
{
    return o->fp;
}

int cs_output_finish(struct cs_output *o)
{
    fflush(o->fp);
    if (!o->error && o->tail_len && put2(o, o->tail, o->tail_len, NULL, 0) == 0)
        o->tail_len = 0;
    return o->error;
}

uint64_t cs_output_lines(const struct cs_output *o)
{
    return o->lines;
}

uint64_t cs_output_bytes(const struct cs_output *o)
{
    return o->whole_bytes;
}

void cs_output_free(struct cs_output *o)
{
    if (!o)
        return;
    fclose(o->fp);
    free(o->tail);
    free(o);
}
