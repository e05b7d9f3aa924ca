/* Classic pcap file reader: see pcapfile.h.
 *
 * Why not libpcap: its savefile reader makes two fread() calls per record,
 * one for the 16-byte header and one for the data, each going through stdio
 * (a read(2) into the stdio buffer, then a copy into libpcap's packet
 * buffer).  On a large capture those copies were a fifth of corscope's run.
 * Here the file is read CS_PCAPFILE_DEFAULT_BUFFER bytes at a time into one
 * buffer and each record is handed out where it lies; only the partial
 * record at the end of the buffer is moved to the front before the next
 * read, and a record larger than the buffer grows it (up to libpcap's own
 * limit on a record, 256 KiB for the link types corscope decodes).
 *
 * Exactness: every check libpcap 1.10 makes on a record (sf-pcap.c,
 * pcap_next_packet) is made here in the same order with the same message,
 * because callers print the message and tests compare the output of the two
 * readers byte for byte:
 *   - fewer than 16 bytes left for a record header: "truncated dump file;
 *     tried to read 16 header bytes, only got N" (none left: end of file);
 *   - caplen above the link type's sane maximum: "invalid packet capture
 *     length N, bigger than snaplen of S" (or "... maximum of M" when the
 *     snapshot length is the larger one);
 *   - caplen above the snapshot length (but sane): the record is cut to the
 *     snapshot length and the rest skipped;
 *   - data cut short: "truncated dump file; tried to read N captured bytes,
 *     only got K".
 * Timestamps are widened from 32 bits as libpcap widens them (see
 * cs_pcapfile_next) and a microsecond fraction is multiplied by 1000, as
 * libpcap does when asked for nanoseconds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcapfile.h"

#define MAGIC_US 0xa1b2c3d4u
#define MAGIC_NS 0xa1b23c4du

struct cs_pcapfile {
    int fd;
    int swapped; /* the file's byte order is not ours */
    int micro;   /* fractions are µs (scaled by 1000) */
    uint32_t snapshot;
    uint32_t max_caplen;
    int state; /* 0 reading, else what next() returns now */
    /* read(2) buffer: bytes [pos, end) are read and not yet handed out. */
    uint8_t *buf;
    size_t cap, pos, end;
    char err[CS_PCAPFILE_ERRBUF_SIZE];
};

static uint32_t get32(const uint8_t *p, int swapped)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swapped ? __builtin_bswap32(v) : v;
}

static uint16_t get16(const uint8_t *p, int swapped)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return swapped ? __builtin_bswap16(v) : v;
}

int cs_pcapfile_header_ok(const uint8_t header[CS_PCAPFILE_HEADER_SIZE])
{
    uint32_t magic = get32(header, 0);
    int swapped = 0;
    if (magic != MAGIC_US && magic != MAGIC_NS) {
        magic = __builtin_bswap32(magic);
        if (magic != MAGIC_US && magic != MAGIC_NS)
            return 0;
        swapped = 1;
    }
    /* Version 2.4 only: before 2.3 caplen and len were the other way round,
     * and 2.3 files may be either; libpcap guesses, so leave them to it. */
    if (get16(header + 4, swapped) != 2 || get16(header + 6, swapped) != 4)
        return 0;
    return (get32(header + 20, swapped) & 0xffff0000u) == 0;
}

struct cs_pcapfile *cs_pcapfile_open(int fd, const uint8_t header[CS_PCAPFILE_HEADER_SIZE],
                                     uint32_t snapshot, uint32_t max_caplen, size_t bufsize)
{
    struct cs_pcapfile *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->fd = fd;
    uint32_t magic = get32(header, 0);
    f->swapped = magic != MAGIC_US && magic != MAGIC_NS;
    f->micro = (f->swapped ? __builtin_bswap32(magic) : magic) == MAGIC_US;
    f->snapshot = snapshot;
    f->max_caplen = max_caplen;
    f->cap = bufsize ? bufsize : CS_PCAPFILE_DEFAULT_BUFFER;
    return f;
}

/* Makes at least `need` bytes available at buf + pos, unless the input ends
 * first, reading as much as the buffer holds (a pipe may give less).
 * Returns the bytes available, or -1 on a read error (f->err filled). */
static long fill_read(struct cs_pcapfile *f, size_t need)
{
    if (f->pos > 0) {
        /* The partial record left at the end moves to the front: usually a
         * few hundred bytes, never more than one record. */
        memmove(f->buf, f->buf + f->pos, f->end - f->pos);
        f->end -= f->pos;
        f->pos = 0;
    }
    if (need > f->cap || !f->buf) {
        size_t cap = need > f->cap ? need : f->cap;
        uint8_t *b = realloc(f->buf, cap);
        if (!b) {
            snprintf(f->err, sizeof f->err, "out of memory");
            return -1;
        }
        f->buf = b;
        f->cap = cap;
    }
    while (f->end < need) {
        ssize_t r = read(f->fd, f->buf + f->end, f->cap - f->end);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            snprintf(f->err, sizeof f->err, "error reading dump file: %s", strerror(errno));
            return -1;
        }
        if (r == 0)
            break;
        f->end += (size_t)r;
    }
    return (long)f->end;
}

/* Makes `need` bytes available (fewer at the end of the file) and returns
 * where they start and how many there are (-1 on error). */
static long avail(struct cs_pcapfile *f, size_t need, const uint8_t **at)
{
    if (f->end - f->pos >= need) {
        *at = f->buf + f->pos;
        return (long)(f->end - f->pos);
    }
    long n = fill_read(f, need);
    *at = f->buf + f->pos;
    return n;
}

/* Stops reading: later calls return `state`; the buffer is no longer
 * needed once the caller is told. */
static int finish(struct cs_pcapfile *f, int state)
{
    f->state = state;
    free(f->buf);
    f->buf = NULL;
    f->pos = f->end = 0;
    return state;
}

int cs_pcapfile_next_buffered(struct cs_pcapfile *f, struct cs_pcapfile_record *rec)
{
    if (f->state || f->end - f->pos < CS_PCAPFILE_RECORD_HEADER_SIZE)
        return 0;
    const uint8_t *p = f->buf + f->pos;
    uint32_t caplen = get32(p + 8, f->swapped);
    if (caplen > f->snapshot || caplen > f->max_caplen ||
        f->end - f->pos - CS_PCAPFILE_RECORD_HEADER_SIZE < (size_t)caplen)
        return 0;
    /* the same reading as cs_pcapfile_next's, sign quirk included */
    uint32_t sec_raw = get32(p, f->swapped), frac_raw = get32(p + 4, f->swapped);
    int64_t frac = f->swapped ? (int64_t)frac_raw : (int64_t)(int32_t)frac_raw;
    rec->sec = f->swapped ? (int64_t)sec_raw : (int64_t)(int32_t)sec_raw;
    rec->nsec = f->micro ? frac * 1000 : frac;
    rec->caplen = caplen;
    rec->len = get32(p + 12, f->swapped);
    rec->data = p + CS_PCAPFILE_RECORD_HEADER_SIZE;
    f->pos += CS_PCAPFILE_RECORD_HEADER_SIZE + (size_t)caplen;
    return 1;
}

int cs_pcapfile_next(struct cs_pcapfile *f, struct cs_pcapfile_record *rec)
{
    if (f->state)
        return f->state;
    const uint8_t *p;
    long n = avail(f, CS_PCAPFILE_RECORD_HEADER_SIZE, &p);
    if (n < 0)
        return finish(f, -1);
    if (n == 0)
        return finish(f, 0);
    if (n < CS_PCAPFILE_RECORD_HEADER_SIZE) {
        snprintf(f->err, sizeof f->err,
                 "truncated dump file; tried to read %d header bytes, only got %ld",
                 CS_PCAPFILE_RECORD_HEADER_SIZE, n);
        return finish(f, -1);
    }
    /* libpcap 1.10 reads the timestamp as two signed 32-bit fields, but its
     * byte swap yields unsigned values: seconds and fraction with the top bit
     * set are negative in a file of our byte order, positive in the other. */
    uint32_t sec_raw = get32(p, f->swapped), frac_raw = get32(p + 4, f->swapped);
    int64_t sec = f->swapped ? (int64_t)sec_raw : (int64_t)(int32_t)sec_raw;
    int64_t frac = f->swapped ? (int64_t)frac_raw : (int64_t)(int32_t)frac_raw;
    uint32_t caplen = get32(p + 8, f->swapped);
    uint32_t len = get32(p + 12, f->swapped);
    if (caplen > f->max_caplen) {
        if (caplen > f->snapshot)
            snprintf(f->err, sizeof f->err,
                     "invalid packet capture length %u, bigger than snaplen of %d",
                     caplen, (int)f->snapshot);
        else
            snprintf(f->err, sizeof f->err,
                     "invalid packet capture length %u, bigger than maximum of %u",
                     caplen, f->max_caplen);
        return finish(f, -1);
    }
    size_t need = CS_PCAPFILE_RECORD_HEADER_SIZE + (size_t)caplen;
    n = avail(f, need, &p);
    if (n < 0)
        return finish(f, -1);
    size_t got = (size_t)n - CS_PCAPFILE_RECORD_HEADER_SIZE;
    uint32_t keep = caplen;
    if (caplen > f->snapshot) {
        /* libpcap reads the snapshot length first, then skips the rest, and
         * names the number it failed to reach. */
        if (got < f->snapshot || got < caplen) {
            snprintf(f->err, sizeof f->err,
                     "truncated dump file; tried to read %u captured bytes, only got %zu",
                     got < f->snapshot ? f->snapshot : caplen, got);
            return finish(f, -1);
        }
        keep = f->snapshot;
    } else if (got < caplen) {
        snprintf(f->err, sizeof f->err,
                 "truncated dump file; tried to read %u captured bytes, only got %zu",
                 caplen, got);
        return finish(f, -1);
    }
    rec->sec = sec;
    rec->nsec = f->micro ? frac * 1000 : frac;
    rec->caplen = keep;
    rec->len = len;
    rec->data = p + CS_PCAPFILE_RECORD_HEADER_SIZE;
    f->pos += need;
    return 1;
}

const char *cs_pcapfile_error(const struct cs_pcapfile *f)
{
    return f->err;
}

void cs_pcapfile_close(struct cs_pcapfile *f)
{
    if (!f)
        return;
    finish(f, 0);
    free(f);
}
