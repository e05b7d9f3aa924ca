/* bench/hpack_decode.c: what libnghttp2's HPACK decoder alone costs on the
 * header blocks of a capture, in the best case any program using it could
 * arrange, to set beside the capture's read floor.
 *
 * corscope decodes every header block with libnghttp2's inflater
 * (design.md: HPACK is never ours).  Here the same inflater decodes the
 * same blocks with nothing else around it: each direction's blocks one
 * after the other with one warm inflater (no other connection's state
 * evicting it from the caches, no table parked and rebuilt to stay within
 * --max-memory), every allocation from a bump arena (no malloc), no field
 * copied or looked at.  corscope cannot beat this figure on the h2c
 * capture; it can only add to it.
 *
 * Input: the blocks as tshark prints them, one line per packet:
 *   tcp.stream <TAB> tcp.srcport <TAB> http2.headers[,http2.headers...]
 * (bench/run.sh makes the file once per capture).  Only HEADERS frames are
 * read: a block continued in CONTINUATION frames is cut short and fails (the
 * bench captures have none).  Prints the best of
 * BENCH_HPACK_RUNS (5) rounds: seconds first, then blocks, fields and bytes.
 * Asserts nothing about time; exits 1 when a block does not decode, since
 * the figure would then be of less work than the capture's. */
#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct block {
    uint64_t dir;   /* tcp.stream << 16 | source port: one HPACK context */
    uint64_t order; /* its place in the file: the order within a direction */
    size_t len;
    uint8_t *bytes;
};

struct blocks {
    struct block *v;
    size_t n, cap;
};

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int add_block(struct blocks *b, uint64_t dir, const char *hex, size_t digits)
{
    if (digits % 2)
        return -1;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4096;
        struct block *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return -1;
        b->v = v;
        b->cap = cap;
    }
    uint8_t *bytes = malloc(digits / 2 + 1);
    if (!bytes)
        return -1;
    for (size_t i = 0; i < digits / 2; i++) {
        int hi = hex_value((unsigned char)hex[2 * i]), lo = hex_value((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(bytes);
            return -1;
        }
        bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    b->v[b->n] = (struct block){dir, b->n, digits / 2, bytes};
    b->n++;
    return 0;
}

/* One line: stream, port, blocks separated by commas.  Lines without a
 * block (a HEADERS frame tshark could not place) are skipped. */
static int parse_line(struct blocks *b, char *line)
{
    char *end;
    unsigned long stream = strtoul(line, &end, 10);
    if (*end != '\t')
        return -1;
    unsigned long port = strtoul(end + 1, &end, 10);
    if (*end != '\t' || port > 65535)
        return -1;
    uint64_t dir = (uint64_t)stream << 16 | port;
    for (char *p = end + 1; *p && *p != '\n';) {
        size_t n = strcspn(p, ",\n");
        if (n && add_block(b, dir, p, n))
            return -1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int by_direction(const void *a, const void *b)
{
    const struct block *x = a, *y = b;
    if (x->dir != y->dir)
        return x->dir < y->dir ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- the bump arena the inflaters allocate from ---------------------------- */

struct arena {
    uint8_t *base;
    size_t used, cap;
};

#define ARENA_HEADER 16u

static void *arena_malloc(size_t size, void *user)
{
    struct arena *a = user;
    size_t need = ARENA_HEADER + ((size + 15u) & ~(size_t)15u);
    if (size > a->cap || need > a->cap - a->used)
        return NULL;
    uint8_t *p = a->base + a->used;
    a->used += need;
    memcpy(p, &size, sizeof size);
    return p + ARENA_HEADER;
}

static void arena_free(void *ptr, void *user)
{
    (void)ptr;
    (void)user;
}

static void *arena_calloc(size_t n, size_t size, void *user)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = arena_malloc(n * size, user);
    if (p)
        memset(p, 0, n * size);
    return p;
}

static void *arena_realloc(void *ptr, size_t size, void *user)
{
    void *p = arena_malloc(size, user);
    if (p && ptr) {
        size_t old;
        memcpy(&old, (uint8_t *)ptr - ARENA_HEADER, sizeof old);
        memcpy(p, ptr, old < size ? old : size);
    }
    return p;
}

/* ---- decoding --------------------------------------------------------------- */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Decodes every block, a new inflater per direction; the fields decoded,
 * or -1 when a block fails. */
static long decode_all(const struct blocks *b, struct arena *a)
{
    nghttp2_mem mem = {a, arena_malloc, arena_free, arena_calloc, arena_realloc};
    nghttp2_hd_inflater *inf = NULL;
    long fields = 0;
    for (size_t i = 0; i < b->n; i++) {
        const struct block *k = &b->v[i];
        if (!inf || k->dir != b->v[i - 1].dir) {
            a->used = 0; /* the last direction's inflater is gone with it */
            if (nghttp2_hd_inflate_new2(&inf, &mem) != 0)
                return -1;
        }
        const uint8_t *p = k->bytes;
        size_t left = k->len;
        for (;;) {
            nghttp2_nv nv;
            int flags = 0;
            ssize_t r = nghttp2_hd_inflate_hd2(inf, &nv, &flags, p, left, 1);
            if (r < 0)
                return -1;
            p += r;
            left -= (size_t)r;
            if (flags & NGHTTP2_HD_INFLATE_EMIT)
                fields++;
            if (flags & NGHTTP2_HD_INFLATE_FINAL) {
                nghttp2_hd_inflate_end_headers(inf);
                break;
            }
            if (r == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT))
                return -1; /* no progress on a final block: cut short */
        }
    }
    return fields;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: hpack_decode BLOCKS.tsv\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    struct blocks b = {0};
    size_t bytes = 0;
    char *line = NULL;
    size_t line_cap = 0;
    long lineno = 0;
    while (getline(&line, &line_cap, f) > 0) {
        lineno++;
        if (parse_line(&b, line)) {
            fprintf(stderr, "hpack_decode: %s:%ld: not a line of tshark's fields\n", argv[1], lineno);
            return 2;
        }
    }
    free(line);
    fclose(f);
    if (!b.n) {
        fprintf(stderr, "hpack_decode: %s: no header blocks\n", argv[1]);
        return 2;
    }
    for (size_t i = 0; i < b.n; i++)
        bytes += b.v[i].len;
    qsort(b.v, b.n, sizeof *b.v, by_direction);

    /* one direction's inflater and table: 64 MiB is far more than any needs */
    struct arena a = {.cap = 64u << 20};
    if (!(a.base = malloc(a.cap)))
        return 2;
    const char *runs_env = getenv("BENCH_HPACK_RUNS");
    int runs = runs_env ? atoi(runs_env) : 5;
    double best = 0;
    long fields = 0;
    for (int r = 0; r < (runs > 0 ? runs : 1); r++) {
        double t = now();
        fields = decode_all(&b, &a);
        t = now() - t;
        if (fields < 0) {
            fprintf(stderr, "hpack_decode: a header block did not decode\n");
            return 1;
        }
        if (r == 0 || t < best)
            best = t;
    }
    printf("%.4f s: libnghttp2 decoded %zu header blocks (%ld fields, %.1f MB), best of %d, %.0f ns a field\n",
           best, b.n, fields, (double)bytes / 1e6, runs > 0 ? runs : 1, best / (double)fields * 1e9);
    for (size_t i = 0; i < b.n; i++)
        free(b.v[i].bytes);
    free(b.v);
    free(a.base);
    return 0;
}
