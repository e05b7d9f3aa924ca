/* NSS key log parsing and the client-random table: see tls_keylog.h. */
#include "tls_keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "hash.h"
#include "limits.h"

/* The table lives in one arena of 4-byte aligned records addressed by
 * offset (0: none): an entry per client random, chained from its hash
 * bucket, and a node per secret, chained from its entry, newest first.
 * Thousands of connections' secrets take a few hundred KB this way; a
 * malloc'd fixed-size struct per random with room for every secret (and a
 * GHashTable node for it) took twice that.
 *
 * A file read once and for all (-r: `final`) is kept open, and its secret
 * nodes keep only where the secret's hex digits are in it (12 bytes instead
 * of 8 + the secret): a lookup reads them again (cs_tls_keylog_secret),
 * which happens a few times per connection, while the table lives as long
 * as the run.  7,500 TLS 1.3 connections: 1.5 MB -> 0.66 MB. */
struct entry {
    uint8_t client_random[32];
    uint32_t chain; /* next entry in the same bucket */
    uint32_t first; /* newest secret node */
};

struct secret_node {
    uint32_t next; /* older secret node of the same entry */
    uint8_t kind;  /* enum cs_tls_secret_kind */
    uint8_t len;
    uint8_t file; /* 0: the bytes follow; i + 1: in files[i] (a uint32_t offset follows) */
    uint8_t unused;
    uint8_t bytes[]; /* len bytes, or the offset of their 2 * len hex digits */
};

/* Where the next read of a file starts. */
struct keylog_file {
    char *path;
    off_t offset; /* just after the last complete line read */
    int fd;       /* kept open once read with `final`: its nodes point into it (-1: none) */
};

/* Tells key logs apart in the threads' caches of secrets read from files
 * (a freed key log's address may come back). */
static atomic_uint_fast64_t keylog_ids = 1;

struct cs_tls_keylog {
    uint64_t id;
    uint8_t *arena;
    uint32_t used, cap; /* offset 0 is never handed out: it means "none" */
    uint32_t *buckets;  /* entry offsets, n_buckets (a power of two) */
    uint32_t n_buckets;
    struct cs_tls_keylog_stats st;
    struct keylog_file files[CS_TLS_KEYLOG_MAX_FILES];
    size_t n_files;
};

#define KEYLOG_FIRST_BUCKETS 64u

static uint32_t random_hash(const uint8_t *random)
{
    uint64_t a;
    memcpy(&a, random, 8); /* the random is random: any 8 bytes, mixed, will do */
    return (uint32_t)cs_mix64(a);
}

static size_t round4(size_t n)
{
    return (n + 3u) & ~(size_t)3u;
}

static struct entry *entry_at(const struct cs_tls_keylog *kl, uint32_t off)
{
    return (struct entry *)(void *)(kl->arena + off);
}

static struct secret_node *node_at(const struct cs_tls_keylog *kl, uint32_t off)
{
    return (struct secret_node *)(void *)(kl->arena + off);
}

/* n more bytes of arena (charged to the budget): their offset, 0 when the
 * budget or memory has no room. */
static uint32_t arena_take(struct cs_tls_keylog *kl, size_t n)
{
    n = round4(n);
    if (kl->st.bytes_used + n > kl->st.bytes_budget || (uint64_t)kl->used + n > UINT32_MAX)
        return 0;
    if (kl->used + n > kl->cap) {
        uint64_t cap = kl->cap ? kl->cap : 4096u;
        while (cap < kl->used + n)
            cap *= 2;
        if (cap > UINT32_MAX)
            cap = UINT32_MAX;
        uint8_t *a = realloc(kl->arena, (size_t)cap);
        if (!a)
            return 0;
        kl->arena = a;
        kl->cap = (uint32_t)cap;
    }
    uint32_t off = kl->used;
    kl->used += (uint32_t)n;
    kl->st.bytes_used += n;
    return off;
}

/* Doubles the bucket array once there are as many entries as buckets. */
static void maybe_grow_buckets(struct cs_tls_keylog *kl)
{
    if (kl->st.entries < kl->n_buckets)
        return;
    uint64_t extra = (uint64_t)kl->n_buckets * sizeof *kl->buckets;
    if (kl->st.bytes_used + extra > kl->st.bytes_budget)
        return; /* longer chains, still correct */
    uint32_t n = kl->n_buckets * 2;
    uint32_t *b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (uint32_t i = 0; i < kl->n_buckets; i++) {
        uint32_t off = kl->buckets[i];
        while (off) {
            struct entry *e = entry_at(kl, off);
            uint32_t next = e->chain;
            uint32_t h = random_hash(e->client_random) & (n - 1);
            e->chain = b[h];
            b[h] = off;
            off = next;
        }
    }
    free(kl->buckets);
    kl->buckets = b;
    kl->n_buckets = n;
    kl->st.bytes_used += extra;
}

static uint32_t find_entry(const struct cs_tls_keylog *kl, const uint8_t random[32])
{
    uint32_t off = kl->buckets[random_hash(random) & (kl->n_buckets - 1)];
    while (off) {
        const struct entry *e = entry_at(kl, off);
        if (memcmp(e->client_random, random, 32) == 0)
            return off;
        off = e->chain;
    }
    return 0;
}

struct cs_tls_keylog *cs_tls_keylog_new(size_t max_bytes)
{
    struct cs_tls_keylog *kl = calloc(1, sizeof *kl);
    if (!kl)
        return NULL;
    kl->buckets = calloc(KEYLOG_FIRST_BUCKETS, sizeof *kl->buckets);
    if (!kl->buckets) {
        free(kl);
        return NULL;
    }
    kl->n_buckets = KEYLOG_FIRST_BUCKETS;
    kl->id = atomic_fetch_add(&keylog_ids, 1);
    kl->used = 4; /* offset 0 means "none" */
    kl->st.bytes_budget = max_bytes ? max_bytes : CS_DEFAULT_KEYLOG_MAX_BYTES;
    kl->st.bytes_used = KEYLOG_FIRST_BUCKETS * sizeof *kl->buckets;
    return kl;
}

void cs_tls_keylog_free(struct cs_tls_keylog *kl)
{
    if (!kl)
        return;
    free(kl->arena);
    free(kl->buckets);
    for (size_t i = 0; i < kl->n_files; i++) {
        free(kl->files[i].path);
        if (kl->files[i].fd >= 0)
            close(kl->files[i].fd);
    }
    free(kl);
}

#define LABEL(s) s, sizeof s - 1
static const struct {
    const char *label;
    size_t len;
    enum cs_tls_secret_kind kind;
} labels[] = {
    {LABEL("CLIENT_RANDOM"), CS_TLS_SECRET_MASTER},
    {LABEL("CLIENT_EARLY_TRAFFIC_SECRET"), CS_TLS_SECRET_CLIENT_EARLY},
    {LABEL("EARLY_TRAFFIC_SECRET"), CS_TLS_SECRET_CLIENT_EARLY},
    {LABEL("CLIENT_HANDSHAKE_TRAFFIC_SECRET"), CS_TLS_SECRET_CLIENT_HS},
    {LABEL("SERVER_HANDSHAKE_TRAFFIC_SECRET"), CS_TLS_SECRET_SERVER_HS},
    {LABEL("CLIENT_TRAFFIC_SECRET_0"), CS_TLS_SECRET_CLIENT_AP0},
    {LABEL("SERVER_TRAFFIC_SECRET_0"), CS_TLS_SECRET_SERVER_AP0},
};

/* Hex digit values, 0xFF for anything else: a key log is mostly hex
 * (30,000 lines of 160 digits for 7,500 connections), decoded with one
 * lookup a digit. */
#define HEX_DIGITS(X) X('0', 0) X('1', 1) X('2', 2) X('3', 3) X('4', 4) X('5', 5) X('6', 6) X('7', 7) \
    X('8', 8) X('9', 9) X('a', 10) X('b', 11) X('c', 12) X('d', 13) X('e', 14) X('f', 15)             \
        X('A', 10) X('B', 11) X('C', 12) X('D', 13) X('E', 14) X('F', 15)
#define HEX_ENTRY(c, v) [c] = (v) + 1,
/* value + 1, so that the unlisted entries (0) mean "not hex" */
static const uint8_t hex_plus1[256] = {HEX_DIGITS(HEX_ENTRY)};

#ifdef __SSE2__
/* 16 hex digits at p as 8 bytes at out, all at once; false when one of
 * them is not a hex digit (out then holds nothing useful).  A digit's value
 * is its low nibble, plus 9 for a letter; byte 2k of the nibbles is the high
 * half of out[k].  (Signed compares: a byte above 0x7f is no digit.) */
static bool unhex16(const unsigned char *p, uint8_t *out)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
    __m128i lower = _mm_or_si128(x, _mm_set1_epi8(0x20));
    __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                   _mm_cmplt_epi8(lower, _mm_set1_epi8('f' + 1)));
    if (_mm_movemask_epi8(_mm_or_si128(digit, letter)) != 0xFFFF)
        return false;
    __m128i nib = _mm_add_epi8(_mm_and_si128(x, _mm_set1_epi8(0x0F)),
                               _mm_and_si128(letter, _mm_set1_epi8(9)));
    __m128i v = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(nib, _mm_set1_epi16(0x00FF)), 4),
                             _mm_srli_epi16(nib, 8));
    _mm_storel_epi64((__m128i *)(void *)out, _mm_packus_epi16(v, v));
    return true;
}
#endif

/* Decodes the hex field [p, p+n) into out (room for cap bytes); returns the
 * byte count, -1 when not hex, -2 when odd or longer than cap.  (Sixteen
 * digits at a time where SSE2 is there: a key log's 160 digits a line were
 * most of reading it; tests/unit/test_tls keylog hex.) */
static long unhex(const char *p, size_t n, uint8_t *out, size_t cap)
{
    if (n % 2 || n / 2 > cap)
        return -2;
    const unsigned char *u = (const unsigned char *)p;
    unsigned bad = 0;
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16)
        if (!unhex16(u + i, out + i / 2))
            return -1;
#endif
    for (; i < n; i += 2) {
        /* a digit's value, or (not hex: 0 - 1) all bits set */
        unsigned hi = hex_plus1[u[i]] - 1u, lo = hex_plus1[u[i + 1]] - 1u;
        bad |= hi | lo;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return bad > 15 ? -1 : (long)(n / 2);
}

static int ignore(struct cs_tls_keylog *kl, uint64_t *why)
{
    (*why)++;
    kl->st.lines_ignored++;
    return 0;
}

/* The next space-separated field of [*p, end): its start and length. */
static size_t next_field(const char **p, const char *end, const char **field)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
    *field = *p;
    while (*p < end && **p != ' ' && **p != '\t')
        (*p)++;
    return (size_t)(*p - *field);
}

/* The size of a node for a secret of n bytes, in memory or in a file. */
static size_t node_size(size_t n, unsigned file)
{
    return sizeof(struct secret_node) + (file ? sizeof(uint32_t) : n);
}

/* One line; file > 0 when it was read from files[file - 1] (with `final`)
 * at offset `at`: the secret's node then says where its digits are. */
static int add_line_at(struct cs_tls_keylog *kl, const char *line, size_t len, unsigned file, off_t at)
{
    kl->st.lines_read++;
    if (len && line[len - 1] == '\r')
        len--;
    const char *p = line, *end = line + len, *f;
    size_t flen = next_field(&p, end, &f);
    if (flen == 0 || f[0] == '#')
        return ignore(kl, &kl->st.ignored_comment);
    if (len > CS_TLS_KEYLOG_MAX_LINE)
        return ignore(kl, &kl->st.ignored_syntax);

    int kind = -1;
    for (size_t i = 0; i < sizeof labels / sizeof labels[0] && kind < 0; i++)
        if (labels[i].len == flen && memcmp(labels[i].label, f, flen) == 0)
            kind = (int)labels[i].kind;
    if (kind < 0) {
        /* labels of the format that decryption does not need: not garbage.
         * OpenSSL 3 logs each KeyUpdate's secret as *_TRAFFIC_SECRET_N (the
         * next secret is derived here from _0), and with RSA key exchange an
         * "RSA" premaster line beside the CLIENT_RANDOM master secret. */
        static const char *const unused[] = {
            "EXPORTER_SECRET", "EARLY_EXPORTER_SECRET", "CLIENT_TRAFFIC_SECRET_1",
            "SERVER_TRAFFIC_SECRET_1", "CLIENT_TRAFFIC_SECRET_N", "SERVER_TRAFFIC_SECRET_N",
            "RSA"};
        for (size_t i = 0; i < sizeof unused / sizeof unused[0]; i++)
            if (strlen(unused[i]) == flen && memcmp(unused[i], f, flen) == 0)
                return ignore(kl, &kl->st.ignored_unused_label);
        return ignore(kl, &kl->st.ignored_label);
    }

    uint8_t random[32], secret[CS_TLS_MAX_SECRET];
    const char *rf = p + 1, *sf = p + 66, *extra;
    long rn = -1, sn = -1;
    /* The line as written ("LABEL random secret", one space each): its
     * fields are at known places, and hex digits are not blanks, so the
     * field scan below would find the same (30,000 lines for 7,500
     * connections; the scan cost as much as the rest). */
    if (end - p >= 66 + 64 && p[0] == ' ' && p[65] == ' ') {
        rn = unhex(rf, 64, random, sizeof random);
        sn = unhex(sf, (size_t)(end - sf), secret, sizeof secret);
    }
    if (rn < 0 || sn < 0) {
        size_t rlen = next_field(&p, end, &rf);
        size_t slen = next_field(&p, end, &sf);
        if (rlen == 0 || slen == 0 || next_field(&p, end, &extra) != 0)
            return ignore(kl, &kl->st.ignored_syntax);
        rn = unhex(rf, rlen, random, sizeof random);
        sn = unhex(sf, slen, secret, sizeof secret);
        if (rn == -1 || sn == -1)
            return ignore(kl, &kl->st.ignored_syntax);
    }
    /* RFC 5246 8.1: a master secret is 48 bytes; 1.3 secrets are one hash
     * long (SHA-256 or SHA-384, RFC 8446 7.1). */
    int len_ok = rn == 32 && (kind == CS_TLS_SECRET_MASTER ? sn == 48 : (sn == 32 || sn == 48));
    if (!len_ok)
        return ignore(kl, &kl->st.ignored_length);
    off_t digits = at + (sf - line);
    if (file && (uint64_t)digits > UINT32_MAX)
        file = 0; /* (a key log past 4 GB: kept in memory) */

    uint32_t eoff = find_entry(kl, random);
    if (!eoff) {
        /* the entry and its first secret fit together, or the random is dropped */
        size_t cost = sizeof(struct entry) + round4(node_size((size_t)sn, file));
        if (kl->st.bytes_used + cost > kl->st.bytes_budget ||
            !(eoff = arena_take(kl, sizeof(struct entry))))
            return ignore(kl, &kl->st.ignored_over_budget);
        struct entry *e = entry_at(kl, eoff);
        memcpy(e->client_random, random, 32);
        uint32_t h = random_hash(random) & (kl->n_buckets - 1);
        e->chain = kl->buckets[h];
        e->first = 0;
        kl->buckets[h] = eoff;
        kl->st.entries++;
        maybe_grow_buckets(kl);
    }
    /* the same secret again: the newer value wins, in place when it fits */
    struct secret_node *old = NULL;
    for (uint32_t o = entry_at(kl, eoff)->first; o && !old; o = node_at(kl, o)->next)
        if (node_at(kl, o)->kind == kind)
            old = node_at(kl, o);
    if (old)
        kl->st.duplicates++;
    struct secret_node *nd = old && old->len == sn && (old->file != 0) == (file != 0) ? old : NULL;
    if (!nd) {
        uint32_t noff = arena_take(kl, node_size((size_t)sn, file));
        if (!noff)
            return ignore(kl, &kl->st.ignored_over_budget);
        nd = node_at(kl, noff);
        struct entry *e = entry_at(kl, eoff); /* the arena may have moved */
        nd->next = e->first;
        nd->kind = (uint8_t)kind;
        nd->len = (uint8_t)sn;
        nd->unused = 0;
        e->first = noff;
    }
    nd->file = (uint8_t)file;
    if (file) {
        uint32_t where = (uint32_t)digits;
        memcpy(nd->bytes, &where, sizeof where);
    } else {
        memcpy(nd->bytes, secret, (size_t)sn);
    }
    kl->st.lines_used++;
    kl->st.generation++;
    return 1;
}

int cs_tls_keylog_add_line(struct cs_tls_keylog *kl, const char *line, size_t len)
{
    return add_line_at(kl, line, len, 0, 0);
}

int cs_tls_keylog_add_text(struct cs_tls_keylog *kl, const char *text, size_t len)
{
    int used = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (memchr(p, '\0', n)) {
            kl->st.lines_read++;
            ignore(kl, &kl->st.ignored_syntax);
        } else {
            used += cs_tls_keylog_add_line(kl, p, n);
        }
        p += n + (nl != NULL);
    }
    return used;
}

static struct keylog_file *file_state(struct cs_tls_keylog *kl, const char *path)
{
    for (size_t i = 0; i < kl->n_files; i++)
        if (strcmp(kl->files[i].path, path) == 0)
            return &kl->files[i];
    if (kl->n_files == CS_TLS_KEYLOG_MAX_FILES)
        return NULL;
    struct keylog_file *f = &kl->files[kl->n_files];
    if (!(f->path = strdup(path)))
        return NULL;
    f->offset = 0;
    f->fd = -1;
    kl->n_files++;
    return f;
}

int cs_tls_keylog_read_file(struct cs_tls_keylog *kl, const char *path, char *errbuf, size_t errlen)
{
    return cs_tls_keylog_read_file_ex(kl, path, false, errbuf, errlen);
}

int cs_tls_keylog_read_file_ex(struct cs_tls_keylog *kl, const char *path, bool final, char *errbuf,
                               size_t errlen)
{
    struct keylog_file *st = file_state(kl, path);
    if (!st) {
        snprintf(errbuf, errlen, "%s: more than %u key log files", path, CS_TLS_KEYLOG_MAX_FILES);
        return -1;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(fp), &sb) == 0 && sb.st_size < st->offset)
        st->offset = 0; /* truncated or replaced: start over */
    /* Read once and for all: the file is kept open and the secrets stay in
     * it (nodes say where), unless it is not the file first read so (it was
     * replaced) or cannot be kept: then they are copied as for a live one. */
    unsigned file = 0;
    if (final) {
        if (st->fd < 0)
            st->fd = fcntl(fileno(fp), F_DUPFD_CLOEXEC, 0);
        struct stat kept;
        if (st->fd >= 0 && fstat(st->fd, &kept) == 0 && kept.st_dev == sb.st_dev &&
            kept.st_ino == sb.st_ino && S_ISREG(kept.st_mode))
            file = (unsigned)(st - kl->files) + 1;
    }
    if (fseeko(fp, st->offset, SEEK_SET) != 0) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        fclose(fp);
        return -1;
    }
    /* Lines are read into a fixed buffer; a longer one is skipped to its
     * newline and counted as garbage. */
    char line[CS_TLS_KEYLOG_MAX_LINE + 2];
    char chunk[65536];
    size_t n = 0, got;
    int used = 0, overlong = 0;
    off_t pos = st->offset, line_at = pos;
    /* Read in chunks, cut at newlines with memchr: a getc() per byte cost
     * more than the parsing on a key log of thousands of connections. */
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        const char *p = chunk, *end = chunk + got;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t take = (size_t)((nl ? nl : end) - p);
            if (!overlong && n + take <= sizeof line) {
                memcpy(line + n, p, take);
                n += take;
            } else {
                overlong = 1;
            }
            pos += (off_t)take;
            p += take;
            if (!nl)
                break;
            p++; /* the newline */
            pos++;
            if (overlong) {
                kl->st.lines_read++;
                ignore(kl, &kl->st.ignored_syntax);
            } else {
                used += add_line_at(kl, line, n, file, line_at);
            }
            n = 0;
            overlong = 0;
            st->offset = line_at = pos; /* only complete lines move the offset */
        }
    }
    int err = ferror(fp);
    fclose(fp);
    if (!err && final && (n > 0 || overlong)) {
        /* The file is read once and for all (-r): its last line counts even
         * without its newline (a key log copied or cut by hand). */
        if (overlong) {
            kl->st.lines_read++;
            ignore(kl, &kl->st.ignored_syntax);
        } else {
            used += add_line_at(kl, line, n, file, line_at);
        }
        st->offset = pos;
    }
    if (err) {
        snprintf(errbuf, errlen, "%s: read error", path);
        return -1;
    }
    return used;
}

cs_tls_keylog_ref cs_tls_keylog_find(const struct cs_tls_keylog *kl, const uint8_t client_random[32])
{
    return find_entry(kl, client_random);
}

/* Secrets read back from key log files, per thread: a few recent entries'
 * (a slot per entry, chosen by its ref), every secret of the entry read
 * with the first lookup (one pread when its lines are close together, as
 * they usually are), so that a connection's handshake and application
 * secrets cost one or two reads.  What a lookup returns stays valid until
 * the thread's next lookup in another entry of the same slot. */
#define FETCH_SLOTS 64u
#define FETCH_SPAN 2048u /* the most read at once for one entry */
static _Thread_local struct fetched {
    uint64_t keylog; /* its id; 0: empty */
    uint32_t ref;
    uint32_t where[CS_TLS_SECRET_KINDS]; /* per kind: the offset of the digits in ... */
    uint8_t file[CS_TLS_SECRET_KINDS];   /* ... files[file - 1]; 0: not read */
    uint8_t len[CS_TLS_SECRET_KINDS];
    uint8_t bytes[CS_TLS_SECRET_KINDS][CS_TLS_MAX_SECRET];
} fetched[FETCH_SLOTS];

static uint32_t node_where(const struct secret_node *nd)
{
    uint32_t where;
    memcpy(&where, nd->bytes, sizeof where);
    return where;
}

/* Reads and decodes the newest file-kept secret of each kind of entry ref
 * into slot f: the span of their digits at once when it is short and in
 * one file, else one by one.  A secret that does not read back as hex of
 * its length (the file changed under us) is left out: no secret. */
static void fetch_entry(const struct cs_tls_keylog *kl, cs_tls_keylog_ref ref, struct fetched *f)
{
    const struct secret_node *newest[CS_TLS_SECRET_KINDS] = {0};
    uint32_t lo = UINT32_MAX, hi = 0;
    unsigned file = 0, files = 0;
    for (uint32_t o = entry_at(kl, ref)->first; o; o = node_at(kl, o)->next) {
        const struct secret_node *nd = node_at(kl, o);
        if (newest[nd->kind] || !nd->file)
            continue;
        newest[nd->kind] = nd;
        uint32_t w = node_where(nd);
        lo = w < lo ? w : lo;
        hi = w + 2u * nd->len > hi ? w + 2u * nd->len : hi;
        files |= file && file != nd->file;
        file = nd->file;
    }
    f->keylog = kl->id;
    f->ref = ref;
    char span[FETCH_SPAN];
    bool together = !files && hi > lo && hi - lo <= sizeof span &&
                    pread(kl->files[file - 1].fd, span, hi - lo, (off_t)lo) == (ssize_t)(hi - lo);
    for (int k = 0; k < CS_TLS_SECRET_KINDS; k++) {
        const struct secret_node *nd = newest[k];
        f->file[k] = 0;
        if (!nd)
            continue;
        char one[2 * CS_TLS_MAX_SECRET];
        size_t n = 2u * nd->len;
        uint32_t w = node_where(nd);
        const char *hex = together ? span + (w - lo) : one;
        if (!together && pread(kl->files[nd->file - 1].fd, one, n, (off_t)w) != (ssize_t)n)
            continue;
        if (unhex(hex, n, f->bytes[k], sizeof f->bytes[k]) != (long)nd->len)
            continue;
        f->file[k] = nd->file;
        f->where[k] = w;
        f->len[k] = nd->len;
    }
}

/* The secret of node nd (kind k of entry ref) kept in a file; NULL when it
 * cannot be read back. */
static const uint8_t *fetch(const struct cs_tls_keylog *kl, cs_tls_keylog_ref ref,
                            const struct secret_node *nd)
{
    struct fetched *f = &fetched[cs_mix64(ref) % FETCH_SLOTS];
    int k = nd->kind;
    bool hit = f->keylog == kl->id && f->ref == ref && f->file[k] == nd->file &&
               f->where[k] == node_where(nd) && f->len[k] == nd->len;
    if (!hit) {
        fetch_entry(kl, ref, f);
        if (f->file[k] != nd->file || f->where[k] != node_where(nd))
            return NULL;
    }
    return f->bytes[k];
}

const uint8_t *cs_tls_keylog_secret(const struct cs_tls_keylog *kl, cs_tls_keylog_ref ref,
                                    enum cs_tls_secret_kind kind, size_t *len)
{
    for (uint32_t o = ref ? entry_at(kl, ref)->first : 0; o; o = node_at(kl, o)->next) {
        const struct secret_node *nd = node_at(kl, o);
        if (nd->kind == kind) {
            const uint8_t *p = nd->file ? fetch(kl, ref, nd) : nd->bytes;
            *len = p ? nd->len : 0;
            return p;
        }
    }
    *len = 0;
    return NULL;
}

size_t cs_tls_keylog_memory(const struct cs_tls_keylog *kl)
{
    return kl->st.bytes_used; /* entries and index, as --max-keylog-bytes counts them */
}

uint64_t cs_tls_keylog_generation(const struct cs_tls_keylog *kl)
{
    return kl->st.generation;
}

void cs_tls_keylog_get_stats(const struct cs_tls_keylog *kl, struct cs_tls_keylog_stats *out)
{
    *out = kl->st;
}
