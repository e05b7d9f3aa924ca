/* pcapng Decryption Secrets Blocks: see pcapng_secrets.h.
 *
 * The walk reads the file through one window of WALK_WINDOW bytes with
 * pread(): most blocks are packets, whose 8-byte headers are all it needs,
 * so a window holds many of them and the file costs one read per window,
 * not one per block.  A DSB larger than the window is read into a buffer of
 * its own (bounded by max_block). */
#include "pcapng_secrets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "limits.h"

#define WALK_WINDOW (64u * 1024u)
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du /* pcapng SHB: tells the section's byte order */

struct walker {
    int fd;
    off_t base; /* file offset of buf[0] */
    size_t len; /* bytes valid in buf */
    int err;    /* errno of a failed read, 0 */
    uint8_t buf[WALK_WINDOW];
};

/* Reads up to n bytes at off into dst; returns the count (short at the end
 * of the file), or -1 with w->err set. */
static long read_at(struct walker *w, uint8_t *dst, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(w->fd, dst + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            w->err = errno;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}

/* The n bytes (n <= WALK_WINDOW) at off, or NULL when the file ends first
 * or a read fails (w->err). */
static const uint8_t *window_at(struct walker *w, off_t off, size_t n)
{
    if (off >= w->base && (size_t)(off - w->base) + n <= w->len)
        return w->buf + (off - w->base);
    long got = read_at(w, w->buf, WALK_WINDOW, off);
    w->base = off;
    w->len = got > 0 ? (size_t)got : 0;
    return got >= 0 && (size_t)got >= n ? w->buf : NULL;
}

static uint32_t rd32(const uint8_t *p, int big_endian)
{
    return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* One DSB of `total` bytes at off (total <= max_block): body is type,
 * length, secrets type, secrets length, the secrets padded to 4, options,
 * length again. */
static int read_dsb(struct walker *w, off_t off, uint32_t total, int be, cs_pcapng_secrets_cb cb,
                    void *ctx, struct cs_pcapng_secrets_stats *st)
{
    uint8_t *own = NULL;
    const uint8_t *b;
    if (total <= WALK_WINDOW) {
        b = window_at(w, off, total);
    } else {
        if (!(own = malloc(total))) {
            w->err = ENOMEM;
            return -1;
        }
        long got = read_at(w, own, total, off);
        b = got == (long)total ? own : NULL;
    }
    if (!b) {
        free(own);
        if (w->err)
            return -1;
        st->truncated++;
        return 1; /* the file ends inside the block: nothing follows */
    }
    uint32_t stype = rd32(b + 8, be), slen = total >= 20 ? rd32(b + 12, be) : UINT32_MAX;
    if (total < 20 || slen > total - 20) {
        st->truncated++; /* the secrets would run past the block's end */
    } else {
        st->secrets_blocks++;
        st->secrets_bytes += slen;
        if (stype != CS_PCAPNG_SECRETS_TLS_KEYLOG)
            st->other_secrets++;
        if (cb)
            cb(ctx, stype, b + 16, slen);
    }
    free(own);
    return 0;
}

int cs_pcapng_read_secrets(int fd, size_t max_block, cs_pcapng_secrets_cb cb, void *ctx,
                           struct cs_pcapng_secrets_stats *st, char errbuf[CS_PCAPNG_ERRBUF_SIZE])
{
    memset(st, 0, sizeof *st);
    errbuf[0] = 0;
    if (max_block == 0)
        max_block = CS_DEFAULT_PCAPNG_MAX_SECRETS;
    struct walker *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(errbuf, CS_PCAPNG_ERRBUF_SIZE, "out of memory");
        return -1;
    }
    w->fd = fd;
    w->base = 0;
    w->len = 0;
    int be = 0, rc = 0;
    off_t off = 0;
    const uint8_t *h = window_at(w, 0, 12);
    if (!h || rd32(h, 0) != CS_PCAPNG_BLOCK_SHB)
        goto done; /* not pcapng (or empty): no blocks */
    for (;;) {
        if (!(h = window_at(w, off, 8)))
            break;                   /* end of file (or an error, below) */
        uint32_t type = rd32(h, be); /* the SHB's type reads the same either way */
        if (type == CS_PCAPNG_BLOCK_SHB) {
            /* A new section: its byte-order magic says how to read it. */
            if (!(h = window_at(w, off, 12)))
                break;
            if (rd32(h + 8, 0) == BYTE_ORDER_MAGIC)
                be = 0;
            else if (rd32(h + 8, 1) == BYTE_ORDER_MAGIC)
                be = 1;
            else {
                st->bad_blocks++;
                break;
            }
        }
        uint32_t total = rd32(h + 4, be);
        if (total < 12 || total % 4) {
            st->bad_blocks++;
            break;
        }
        st->blocks++;
        if (type == CS_PCAPNG_BLOCK_DSB) {
            if (total > max_block) {
                st->oversized++;
            } else {
                int r = read_dsb(w, off, total, be, cb, ctx, st);
                if (r)
                    break;
            }
        }
        off += total;
    }
done:
    if (w->err) {
        snprintf(errbuf, CS_PCAPNG_ERRBUF_SIZE, "%s",
                 w->err == ESPIPE ? "not a regular file: its decryption secrets cannot be read"
                                  : strerror(w->err));
        rc = -1;
    }
    free(w);
    return rc;
}
