/* HTTP/2 connection stage: each direction's HPACK decoder, libnghttp2's
 * inflater, created when its first header block comes and "parked" while
 * the connection is idle.
 *
 * An inflater holds ~1.3 KB before any field (its struct and a 128-slot
 * ring) plus ~2.5x the RFC 7541 size of its dynamic table (an entry, a
 * reference-counted buffer per name and value), all in small blocks: on
 * thousands of keep-alive connections that is most of the memory h2 takes.
 * An idle direction's state is only the table, so it is kept as the header
 * block that rebuilds it: a dynamic table size update to the table's
 * current maximum, then every entry, oldest first, as a literal with
 * incremental indexing (RFC 7541 §6.3, §6.2.1; plain octets, no Huffman).
 * The next block of that direction first feeds that block to a new
 * inflater, which then holds the very same table (same entries, same
 * order, same maximum, same SETTINGS limit); nghttp2 still does all the
 * decoding and owns the table.  The entries are read with
 * nghttp2_hd_inflate_get_table_entry.
 *
 * Not parked: a direction in the middle of a header block, one whose HPACK
 * state is lost, and one that owes a dynamic table size update (its
 * SETTINGS_HEADER_TABLE_SIZE went below the table's maximum: the next
 * block must start with the update, a state a rebuilt inflater would not
 * have). */
#include <malloc.h> /* malloc_usable_size (glibc) */

#include "h2_int.h"

/* ---- memory accounting ---------------------------------------------------- */

/* nghttp2_mem callbacks: the inflaters' dynamic tables and buffers are
 * counted in the connection's held bytes, as the bytes malloc gave (its
 * usable size: no size header of our own in front of each small block). */
static void *acct_malloc(size_t size, void *ud)
{
    void *p = malloc(size);
    if (p)
        cs_h2__account(ud, (ptrdiff_t)malloc_usable_size(p));
    return p;
}

static void acct_free(void *ptr, void *ud)
{
    if (!ptr)
        return;
    cs_h2__account(ud, -(ptrdiff_t)malloc_usable_size(ptr));
    free(ptr);
}

static void *acct_calloc(size_t n, size_t size, void *ud)
{
    void *p = calloc(n, size);
    if (p)
        cs_h2__account(ud, (ptrdiff_t)malloc_usable_size(p));
    return p;
}

static void *acct_realloc(void *ptr, size_t size, void *ud)
{
    size_t old = ptr ? malloc_usable_size(ptr) : 0;
    void *np = realloc(ptr, size);
    if (!np)
        return NULL;
    cs_h2__account(ud, (ptrdiff_t)malloc_usable_size(np) - (ptrdiff_t)old);
    return np;
}

void cs_h2__hpack_init(struct cs_h2_conn *c)
{
    c->mem = (nghttp2_mem){c, acct_malloc, acct_free, acct_calloc, acct_realloc};
    for (int i = 0; i < 2; i++)
        c->d[i].settings_table_size = NGHTTP2_DEFAULT_HEADER_TABLE_SIZE;
}

/* ---- the parked form -------------------------------------------------------- */

/* RFC 7541 §5.1: v with an n-bit prefix whose other bits are `first`. */
static size_t put_int(unsigned char *out, uint8_t first, unsigned n, size_t v)
{
    size_t max = ((size_t)1 << n) - 1, k = 0;
    if (v < max) {
        out[k++] = (unsigned char)(first | v);
        return k;
    }
    out[k++] = (unsigned char)(first | max);
    for (v -= max; v >= 128; v >>= 7)
        out[k++] = (unsigned char)(0x80u | (v & 0x7fu));
    out[k++] = (unsigned char)v;
    return k;
}

/* Bytes of an integer with an n-bit prefix. */
static size_t int_len(unsigned n, size_t v)
{
    size_t max = ((size_t)1 << n) - 1, k = 1;
    if (v < max)
        return k;
    for (v -= max; v >= 128; v >>= 7)
        k++;
    return k + 1;
}

static bool can_park(const struct h2_dir *d)
{
    return d->inf && !d->hpack_lost && d->blk == BLK_NONE && !d->fr.block_open &&
           !d->size_update_due;
}

void cs_h2__hpack_park(struct cs_h2_conn *c, struct h2_dir *d)
{
    if (!can_park(d))
        return;
    nghttp2_hd_inflater *inf = d->inf;
    size_t n = nghttp2_hd_inflate_get_num_table_entries(inf) - 61; /* RFC 7541 Appendix A */
    size_t max = nghttp2_hd_inflate_get_max_dynamic_table_size(inf);
    size_t len = int_len(5, max);
    for (size_t i = 0; i < n; i++) {
        const nghttp2_nv *nv = nghttp2_hd_inflate_get_table_entry(inf, 62 + i);
        if (!nv)
            return;
        len += 1 + int_len(7, nv->namelen) + nv->namelen + int_len(7, nv->valuelen) + nv->valuelen;
    }
    unsigned char *b = malloc(len);
    if (!b)
        return;                          /* stays as it is */
    size_t k = put_int(b, 0x20, 5, max); /* dynamic table size update */
    for (size_t i = n; i-- > 0;) {       /* 62 + n - 1 is the oldest */
        const nghttp2_nv *nv = nghttp2_hd_inflate_get_table_entry(inf, 62 + i);
        b[k++] = 0x40; /* literal with incremental indexing, new name */
        k += put_int(b + k, 0, 7, nv->namelen);
        memcpy(b + k, nv->name, nv->namelen);
        k += nv->namelen;
        k += put_int(b + k, 0, 7, nv->valuelen);
        memcpy(b + k, nv->value, nv->valuelen);
        k += nv->valuelen;
    }
    nghttp2_hd_inflate_del(inf);
    d->inf = NULL;
    d->parked = b;
    d->parked_len = (uint32_t)k;
    cs_h2__account(c, (ptrdiff_t)malloc_usable_size(b));
}

int cs_h2__hpack_get(struct cs_h2_conn *c, struct h2_dir *d)
{
    if (d->inf)
        return 0;
    if (d->hpack_lost)
        return -1;
    if (nghttp2_hd_inflate_new2(&d->inf, &c->mem) != 0) {
        d->inf = NULL;
        return -1;
    }
    int rv = 0;
    if (d->settings_table_size != NGHTTP2_DEFAULT_HEADER_TABLE_SIZE)
        rv = nghttp2_hd_inflate_change_table_size(d->inf, d->settings_table_size);
    if (d->parked) {
        const uint8_t *p = d->parked;
        size_t n = d->parked_len;
        for (;;) {
            nghttp2_nv nv;
            int flags = 0;
            ssize_t r = rv ? -1 : nghttp2_hd_inflate_hd2(d->inf, &nv, &flags, p, n, 1);
            if (r < 0) {
                rv = -1;
                break;
            }
            p += r;
            n -= (size_t)r;
            if (flags & NGHTTP2_HD_INFLATE_FINAL) {
                nghttp2_hd_inflate_end_headers(d->inf);
                break;
            }
            if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && n == 0) {
                rv = -1;
                break;
            }
        }
        cs_h2__account(c, -(ptrdiff_t)malloc_usable_size(d->parked));
        free(d->parked);
        d->parked = NULL;
        d->parked_len = 0;
    }
    if (rv != 0) {
        nghttp2_hd_inflate_del(d->inf);
        d->inf = NULL;
        return -1;
    }
    return 0;
}

int cs_h2__hpack_table_size(struct cs_h2_conn *c, struct h2_dir *d, uint32_t size)
{
    if (cs_h2__hpack_get(c, d) != 0)
        return -1;
    if (nghttp2_hd_inflate_get_max_dynamic_table_size(d->inf) > size)
        d->size_update_due = true; /* RFC 7541 §4.2: the next block starts with it */
    if (nghttp2_hd_inflate_change_table_size(d->inf, size) != 0)
        return -1;
    d->settings_table_size = size;
    return 0;
}

void cs_h2__hpack_free(struct cs_h2_conn *c, struct h2_dir *d)
{
    if (d->inf)
        nghttp2_hd_inflate_del(d->inf);
    d->inf = NULL;
    if (d->parked) {
        cs_h2__account(c, -(ptrdiff_t)malloc_usable_size(d->parked));
        free(d->parked);
    }
    d->parked = NULL;
    d->parked_len = 0;
}
