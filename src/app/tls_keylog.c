/* NSS key log parsing and the client-random table: see tls_keylog.h. */
#include "tls_keylog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hash.h"
#include "limits.h"

/* The table lives in one arena of 4-byte aligned records addressed by
 * offset (0: none): an entry per client random, chained from its hash
 * bucket, and a node per secret, chained from its entry, newest first.
 * Thousands of connections' secrets take a few hundred KB this way; a
 * malloc'd fixed-size struct per random with room for every secret (and a
 * GHashTable node for it) took twice that. */
struct entry {
    uint8_t client_random[32];
    uint32_t chain; /* next entry in the same bucket */
    uint32_t first; /* newest secret node */
};

struct secret_node {
    uint32_t next; /* older secret node of the same entry */
    uint8_t kind;  /* enum cs_tls_secret_kind */
    uint8_t len;
    uint8_t bytes[]; /* len bytes */
};

/* Where the next read of a file starts. */
struct keylog_file {
    char *path;
    off_t offset; /* just after the last complete line read */
};

struct cs_tls_keylog {
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
    for (size_t i = 0; i < kl->n_files; i++)
        free(kl->files[i].path);
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

/* Decodes the hex field [p, p+n) into out (room for cap bytes); returns the
 * byte count, -1 when not hex, -2 when odd or longer than cap. */
static long unhex(const char *p, size_t n, uint8_t *out, size_t cap)
{
    if (n % 2 || n / 2 > cap)
        return -2;
    const unsigned char *u = (const unsigned char *)p;
    unsigned bad = 0;
    for (size_t i = 0; i < n; i += 2) {
        unsigned hi = hex_plus1[u[i]], lo = hex_plus1[u[i + 1]];
        bad |= (hi == 0) | (lo == 0);
        out[i / 2] = (uint8_t)((hi - 1) << 4 | ((lo - 1) & 15));
    }
    return bad ? -1 : (long)(n / 2);
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

int cs_tls_keylog_add_line(struct cs_tls_keylog *kl, const char *line, size_t len)
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
    const char *rf, *sf, *extra;
    size_t rlen = next_field(&p, end, &rf);
    size_t slen = next_field(&p, end, &sf);
    if (rlen == 0 || slen == 0 || next_field(&p, end, &extra) != 0)
        return ignore(kl, &kl->st.ignored_syntax);
    long rn = unhex(rf, rlen, random, sizeof random);
    long sn = unhex(sf, slen, secret, sizeof secret);
    if (rn == -1 || sn == -1)
        return ignore(kl, &kl->st.ignored_syntax);
    /* RFC 5246 8.1: a master secret is 48 bytes; 1.3 secrets are one hash
     * long (SHA-256 or SHA-384, RFC 8446 7.1). */
    int len_ok = rn == 32 && (kind == CS_TLS_SECRET_MASTER ? sn == 48 : (sn == 32 || sn == 48));
    if (!len_ok)
        return ignore(kl, &kl->st.ignored_length);

    uint32_t eoff = find_entry(kl, random);
    if (!eoff) {
        /* the entry and its first secret fit together, or the random is dropped */
        size_t cost = sizeof(struct entry) + round4(sizeof(struct secret_node) + (size_t)sn);
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
    if (old && old->len == sn) {
        memcpy(old->bytes, secret, (size_t)sn);
    } else {
        uint32_t noff = arena_take(kl, sizeof(struct secret_node) + (size_t)sn);
        if (!noff)
            return ignore(kl, &kl->st.ignored_over_budget);
        struct secret_node *nd = node_at(kl, noff);
        struct entry *e = entry_at(kl, eoff); /* the arena may have moved */
        nd->next = e->first;
        nd->kind = (uint8_t)kind;
        nd->len = (uint8_t)sn;
        memcpy(nd->bytes, secret, (size_t)sn);
        e->first = noff;
    }
    kl->st.lines_used++;
    kl->st.generation++;
    return 1;
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
    off_t pos = st->offset;
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
                used += cs_tls_keylog_add_line(kl, line, n);
            }
            n = 0;
            overlong = 0;
            st->offset = pos; /* only complete lines move the offset */
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
            used += cs_tls_keylog_add_line(kl, line, n);
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

const uint8_t *cs_tls_keylog_secret(const struct cs_tls_keylog *kl, cs_tls_keylog_ref ref,
                                    enum cs_tls_secret_kind kind, size_t *len)
{
    for (uint32_t o = ref ? entry_at(kl, ref)->first : 0; o; o = node_at(kl, o)->next) {
        const struct secret_node *nd = node_at(kl, o);
        if (nd->kind == kind) {
            *len = nd->len;
            return nd->bytes;
        }
    }
    *len = 0;
    return NULL;
}

void cs_tls_keylog_get_stats(const struct cs_tls_keylog *kl, struct cs_tls_keylog_stats *out)
{
    *out = kl->st;
}
