/* NSS key log: the TLS secrets browsers and tools write to $SSLKEYLOGFILE.
 *
 * Each line is "LABEL <client random, 64 hex> <secret, hex>"
 * (https://udn.realityripple.com/docs/Mozilla/Projects/NSS/Key_Log_Format,
 * also draft-ietf-tls-keylogfile).  This file pair parses those lines into a
 * table keyed by the 32-byte ClientHello random, counts every line it could
 * not use, and re-reads growing files from where it stopped (browsers append
 * a line per connection while corscope runs).
 *
 * The table's memory is bounded by the budget given at creation and
 * reported (cs_tls_keylog_stats.bytes_used) so that it can count in
 * --max-memory; a random that would exceed the budget is dropped and
 * counted.  Not thread-safe: one owner reads files and looks keys up. */
#ifndef CS_TLS_KEYLOG_H
#define CS_TLS_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_keys.h"

/* The secrets a line can carry, by label. */
enum cs_tls_secret_kind {
    CS_TLS_SECRET_MASTER,       /* CLIENT_RANDOM: TLS 1.2 master secret (48 bytes) */
    CS_TLS_SECRET_CLIENT_EARLY, /* CLIENT_EARLY_TRAFFIC_SECRET (1.3 0-RTT) */
    CS_TLS_SECRET_CLIENT_HS,    /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
    CS_TLS_SECRET_SERVER_HS,    /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
    CS_TLS_SECRET_CLIENT_AP0,   /* CLIENT_TRAFFIC_SECRET_0 */
    CS_TLS_SECRET_SERVER_AP0,   /* SERVER_TRAFFIC_SECRET_0 */
    CS_TLS_SECRET_KINDS
};

/* Everything known about one connection, found by its client random: a
 * handle of its entry in the table (0: none), valid as long as the key log
 * (entries are never removed; secrets added later are found through it). */
typedef uint32_t cs_tls_keylog_ref;

struct cs_tls_keylog_stats {
    uint64_t lines_read;           /* complete lines seen, used or not */
    uint64_t lines_used;           /* lines whose secret went into the table */
    uint64_t lines_ignored;        /* the sum of the ignored_* below */
    uint64_t ignored_comment;      /* '#' comments and blank lines */
    uint64_t ignored_label;        /* unknown label (garbage...) */
    uint64_t ignored_unused_label; /* a label of the format not needed to decrypt (EXPORTER_SECRET) */
    uint64_t ignored_syntax;       /* missing fields, not hex, too long a line */
    uint64_t ignored_length;       /* random not 32 bytes, secret of a wrong length */
    uint64_t ignored_over_budget;  /* a new random that the memory budget had no room for */
    uint64_t duplicates;           /* same random and label again (the newer value wins) */
    uint64_t entries;              /* client randoms in the table */
    uint64_t bytes_used;           /* memory charged for the table */
    uint64_t bytes_budget;
    uint64_t generation; /* bumped whenever a secret is added: "retry now" */
};

struct cs_tls_keylog;

/* A new, empty key log whose table may use at most max_bytes (0: the
 * CS_DEFAULT_KEYLOG_MAX_BYTES default).  NULL when out of memory. */
struct cs_tls_keylog *cs_tls_keylog_new(size_t max_bytes);
void cs_tls_keylog_free(struct cs_tls_keylog *kl);

/* Parses one line (without its newline; a trailing '\r' is allowed) and
 * stores its secret.  Returns 1 when used, 0 when ignored (counted). */
int cs_tls_keylog_add_line(struct cs_tls_keylog *kl, const char *line, size_t len);

/* Adds key log text held in memory (a pcapng Decryption Secrets Block, see
 * pcapng_secrets.h): lines separated by '\n' (a '\r' before it is allowed),
 * the last one with or without its newline; NUL bytes make a line garbage.
 * Every line is counted as the file reader counts it.  Returns the number
 * of lines used. */
int cs_tls_keylog_add_text(struct cs_tls_keylog *kl, const char *text, size_t len);

/* Reads whatever `path` gained since the last call for that path (the
 * first call reads it all).  A last line without its newline is left for
 * the next call; a file that shrank is read again from its start.  Returns
 * the number of lines used, or -1 with a message in errbuf (the file cannot
 * be opened or read).  Remembers up to CS_TLS_KEYLOG_MAX_FILES paths. */
int cs_tls_keylog_read_file(struct cs_tls_keylog *kl, const char *path, char *errbuf, size_t errlen);

/* The same; with `final` (the file will not be read again: -r) a last line
 * without its newline is read as a line too. */
int cs_tls_keylog_read_file_ex(struct cs_tls_keylog *kl, const char *path, bool final, char *errbuf,
                               size_t errlen);

/* The entry of a ClientHello random, or 0. */
cs_tls_keylog_ref cs_tls_keylog_find(const struct cs_tls_keylog *kl, const uint8_t client_random[32]);

/* The newest secret of that kind in entry `ref` (0 allowed), its length in
 * *len; NULL when the key log has none.  The pointer stays valid until the
 * next add or read call, and (a secret of a file read with `final`, read
 * again from it) until the thread's next lookup of the same kind. */
const uint8_t *cs_tls_keylog_secret(const struct cs_tls_keylog *kl, cs_tls_keylog_ref ref,
                                    enum cs_tls_secret_kind kind, size_t *len);

void cs_tls_keylog_get_stats(const struct cs_tls_keylog *kl, struct cs_tls_keylog_stats *out);
/* The stats' generation alone (bumped whenever a secret is added). */
uint64_t cs_tls_keylog_generation(const struct cs_tls_keylog *kl);
/* Bytes the key log holds: its entries (at most max_bytes; the rest of the
 * arena, allocated and never touched, takes no memory) and their index.  --max-memory counts them (pipeline.c): a key log grows with
 * the connections it covers (~88 bytes each in TLS 1.3). */
size_t cs_tls_keylog_memory(const struct cs_tls_keylog *kl);

#define CS_TLS_KEYLOG_MAX_FILES 16u  /* --keylog given more often: refused */
#define CS_TLS_KEYLOG_MAX_LINE 1024u /* longer lines are garbage (real ones are < 200) */

#endif
