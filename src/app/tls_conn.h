/* One TLS connection seen passively, decrypted with secrets from a key log.
 *
 * Where it sits (design.md): between TCP reassembly and the application
 * protocol table.  The caller feeds each direction's in-order bytes (with
 * the frame number and time of each piece) and gap events; the connection
 * frames records, follows the handshake (RFC 8446 / RFC 5246), derives keys
 * from the key log's secrets (tls_keys.c), verifies and decrypts records,
 * and calls the sink with application data and the frames of the records
 * that carried it.  Plaintext is released only from records whose tag or
 * MAC verified.
 *
 * Keys that arrive late (a browser appends its key line after the first
 * records went by): encrypted records are held, within the byte budget given
 * to cs_tls_conn_new(), until cs_tls_conn_retry() finds the key; records
 * that did not fit are dropped and counted, and decryption resumes after
 * them by trying the next sequence numbers against the tag.
 *
 * After a gap, a direction looks for the next record header and tries the
 * next CS_TLS_RESYNC_SEQ_WINDOW sequence numbers against the tag (bounded by
 * CS_TLS_RESYNC_MAX_CANDIDATES headers and CS_TLS_RESYNC_MAX_SCAN bytes);
 * otherwise the direction is marked undecryptable with a reason.
 *
 * Single-threaded; the connection owns its memory (cs_tls_conn_memory()
 * reports it) and reads the key log it was given, which must outlive it. */
#ifndef CS_TLS_CONN_H
#define CS_TLS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "tls_keylog.h"

/* Resynchronisation after a gap or dropped records: the sequence numbers
 * tried after the last one known, the candidate record headers tried, and
 * the bytes scanned for one, before a direction is given up. */
#define CS_TLS_RESYNC_SEQ_WINDOW 32u
#define CS_TLS_RESYNC_MAX_CANDIDATES 16u
#define CS_TLS_RESYNC_MAX_SCAN (64u * 1024u)
/* Handshake messages corscope reads (hellos, EncryptedExtensions) longer
 * than this are malformed for us; others (certificates) are skipped. */
#define CS_TLS_MAX_HS_MESSAGE (64u * 1024u)
/* A handshake message being gathered starts with this much buffer, which
 * doubles as its bytes arrive (up to its length, at most the limit above)
 * and is freed once the message is read. */
#define CS_TLS_HS_BUF_INITIAL 512u

enum cs_tls_dir { CS_TLS_FROM_CLIENT = 0,
                  CS_TLS_FROM_SERVER = 1 };

enum cs_tls_state {
    CS_TLS_STATE_HANDSHAKE,  /* no ServerHello yet: nothing to decrypt so far */
    CS_TLS_STATE_NO_KEY,     /* the key log has no secrets for this connection (yet) */
    CS_TLS_STATE_DECRYPTING, /* keys found; records verify */
    CS_TLS_STATE_FAILED,     /* see enum cs_tls_reason */
};

enum cs_tls_reason {
    CS_TLS_REASON_NONE,
    CS_TLS_REASON_NOT_TLS,             /* the stream does not start with a TLS handshake record */
    CS_TLS_REASON_UNSUPPORTED_VERSION, /* SSL 3.0, TLS 1.0/1.1 */
    CS_TLS_REASON_UNSUPPORTED_SUITE,   /* a suite cs_tls_suite_find() does not know */
    CS_TLS_REASON_BAD_HANDSHAKE,       /* a hello that does not parse, an oversized message */
    CS_TLS_REASON_HANDSHAKE_GAP,       /* bytes of the hellos were not captured */
    CS_TLS_REASON_KEY_INCOMPLETE,      /* the key log has some secrets but not the ones needed */
    CS_TLS_REASON_AUTH_FAILED,         /* a record failed its tag or MAC (wrong key, corruption) */
    CS_TLS_REASON_GAP,                 /* a gap or dropped records, and resynchronisation failed */
    CS_TLS_REASON_RENEGOTIATION,       /* TLS 1.2 renegotiation (new keys mid-stream) */
    CS_TLS_REASON_INTERNAL,            /* libcrypto or memory failure */
    CS_TLS_REASON_NO_HANDSHAKE,        /* picked up mid-stream: the first record is not the
                                        * ClientHello (the handshake came before the capture,
                                        * or the connection was evicted and came back) */
};

/* Machine-readable name of a reason, e.g. "auth-failed". */
const char *cs_tls_reason_name(enum cs_tls_reason r);
const char *cs_tls_state_name(enum cs_tls_state s);

enum cs_tls_event_kind {
    CS_TLS_EV_DATA,  /* decrypted application data */
    CS_TLS_EV_GAP,   /* application data of this direction was lost from here on
                       * (until DATA resumes after a resynchronisation) */
    CS_TLS_EV_CLOSE, /* close_notify alert */
};

struct cs_tls_event {
    enum cs_tls_event_kind kind;
    enum cs_tls_dir dir;
    const uint8_t *data; /* DATA: valid during the call only */
    size_t len;
    uint64_t frame_first; /* frame carrying the record's first byte */
    uint64_t frame_last;  /* frame carrying its last byte */
    int64_t ts;           /* time of frame_last */
    uint8_t early;        /* TLS 1.3 0-RTT data */
};

typedef void (*cs_tls_sink)(void *ctx, const struct cs_tls_event *ev);

struct cs_tls_counters {
    uint64_t records[2];            /* records framed, per direction */
    uint64_t records_decrypted;     /* verified and decrypted */
    uint64_t app_bytes[2];          /* application bytes released, per direction */
    uint64_t auth_failures;         /* records whose tag / MAC / padding failed */
    uint64_t malformed_records;     /* too short for the suite, bad inner type */
    uint64_t records_undecryptable; /* records skipped in a failed or closed direction */
    uint64_t alerts;                /* alert records (plain or decrypted) */
    uint64_t close_notify;
    uint64_t key_updates;          /* TLS 1.3 KeyUpdate messages applied */
    uint64_t early_records;        /* TLS 1.3 0-RTT records decrypted */
    uint64_t resyncs;              /* successful resynchronisations */
    uint64_t gaps;                 /* gap events received */
    uint64_t held_records;         /* records held for a late key */
    uint64_t held_dropped_records; /* ... that did not fit the budget */
    uint64_t held_dropped_bytes;
    uint64_t oversized_handshakes; /* hellos / EncryptedExtensions over CS_TLS_MAX_HS_MESSAGE */
};

struct cs_tls_info {
    uint16_t version; /* 0x0303, 0x0304, 0 before the ServerHello */
    uint16_t cipher_id;
    const char *cipher;  /* IANA name or NULL (unknown or unsupported) */
    const char *sni;     /* "" when absent */
    const char *alpn;    /* chosen protocol, "" when none */
    uint8_t resumed;     /* 1.2 abbreviated handshake, or 1.3 with a PSK offered and no certificate seen */
    uint8_t hello_retry; /* a HelloRetryRequest was seen */
    enum cs_tls_state state;
    enum cs_tls_reason reason; /* FAILED (or a failed direction): the first reason */
    enum cs_tls_reason dir_reason[2];
    struct cs_tls_counters n;
};

struct cs_tls_conn;

/* A new connection reading keys from kl (which it does not own).  At most
 * max_held_bytes of records are held for a late key (0: none are held).
 * The sink receives data, gap and close events.  NULL when out of memory. */
struct cs_tls_conn *cs_tls_conn_new(const struct cs_tls_keylog *kl, size_t max_held_bytes,
                                    cs_tls_sink sink, void *sink_ctx);
/* cs_tls_conn_new with ctx_size bytes for the caller in the same
 * allocation (one malloc per connection instead of two, for a caller that
 * keeps its own state per connection): zeroed, suitably aligned for any
 * type, found with cs_tls_conn_ctx(), passed to the sink as its context,
 * and freed by cs_tls_conn_free(). */
struct cs_tls_conn *cs_tls_conn_new_ctx(const struct cs_tls_keylog *kl, size_t max_held_bytes,
                                        cs_tls_sink sink, size_t ctx_size);
void *cs_tls_conn_ctx(struct cs_tls_conn *c);
/* The connection whose caller's part is at ctx (cs_tls_conn_new_ctx). */
struct cs_tls_conn *cs_tls_conn_of_ctx(void *ctx);
void cs_tls_conn_free(struct cs_tls_conn *c);

/* Live, with a key log that is still being written: a TLS 1.3 connection
 * waits (holding its records, as for a missing key) until the key log has
 * its application secrets too, not only the handshake ones.  Browsers write
 * each secret when they derive it, and the application secrets' line can
 * reach the file after the first records reach the wire: without the wait
 * the switch to the application keys found no secret (key-incomplete). */
void cs_tls_conn_wait_all_secrets(struct cs_tls_conn *c);

/* The next in-order bytes of one direction, from frame `frame` at time ts. */
void cs_tls_conn_data(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *data, size_t len,
                      uint64_t frame, int64_t ts);

/* Bytes that will most likely be dir's next in-order data (a segment the
 * pipeline is about to feed): whole records in them are offered to the
 * thread's decrypting-ahead helper, if any (tls_ahead.h).  Changes nothing
 * the connection does or reports. */
void cs_tls_conn_ahead(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *data, size_t len);

/* A segment's payload, before anyone knows whose: when it starts with a
 * TLS ClientHello, its key log entry is looked up (and its keys derived)
 * ahead by the thread's helper, if any (tls_ahead.h). */
void cs_tls_hello_ahead(const struct cs_tls_keylog *kl, const uint8_t *p, size_t n);

/* Starts loading c and its caller's part (ctx_size bytes) into the cache. */
void cs_tls_conn_prefetch(const struct cs_tls_conn *c, size_t ctx_size);

/* `len` bytes of one direction were not captured. */
void cs_tls_conn_gap(struct cs_tls_conn *c, enum cs_tls_dir dir, uint64_t len, uint64_t frame, int64_t ts);

/* Looks the key up again (call when the key log grew) and, if it is there
 * now, decrypts the held records.  Returns 1 when keys were found by this
 * call, 0 otherwise.  Cheap when the key log has not changed. */
int cs_tls_conn_retry(struct cs_tls_conn *c);

/* Live capture: the key log is still being written, so a key change whose
 * secret is not there yet (a browser writes its application traffic
 * secrets a moment after the server's Finished went by) waits for it, the
 * records after it held like those waiting for a late key, instead of
 * failing with key-incomplete at once. */
void cs_tls_conn_set_live(struct cs_tls_conn *c);

/* At the connection's end: a key change still waiting for its secret fails
 * (key-incomplete), as it would have at once in a file. */
void cs_tls_conn_stop_waiting(struct cs_tls_conn *c);

void cs_tls_conn_info(const struct cs_tls_conn *c, struct cs_tls_info *out);

/* Bytes this connection holds now (the object, buffers, held records,
 * libcrypto's contexts at their measured cost): for --max-memory.  Between
 * calls, a connection that is decrypting and holds nothing costs about
 * sizeof(struct) + 2 * CS_TLS_CIPHER_CTX_COST (under 6 KiB). */
size_t cs_tls_conn_memory(const struct cs_tls_conn *c);

/* Does a stream starting with these bytes look like TLS (a handshake record
 * carrying a ClientHello)?  1 yes, 0 no, -1 need more bytes. */
int cs_tls_probe(const uint8_t *p, size_t n);

/* Does a stream picked up mid-connection start with a TLS application data
 * record (type 23, version 3.1 to 3.3 as TLS 1.2 and 1.3 write it, a length
 * a record may have)?  1 yes, 0 no, -1 need more bytes.  Such a connection
 * cannot be decrypted: its keys are found by the ClientHello's random. */
int cs_tls_probe_mid_stream(const uint8_t *p, size_t n);

#endif
