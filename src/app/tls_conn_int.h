/* Internals of one TLS connection (tls_conn.c: framing, handshake, keys,
 * decryption, records held for a late key, resynchronisation after a gap).
 * Not an interface: everything outside tls_conn.c uses tls_conn.h. */
#ifndef CS_TLS_CONN_INT_H
#define CS_TLS_CONN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tls_conn.h"
#include "tls_hs.h"
#include "tls_keylog.h"
#include "tls_keys.h"

/* RFC 8446 5.1 / RFC 5246 6.2.1: ContentType. */
enum { CT_CCS = 20,
       CT_ALERT = 21,
       CT_HANDSHAKE = 22,
       CT_APPDATA = 23,
       CT_HEARTBEAT = 24 };

/* Which keys protect a direction's records now (TLS 1.3 changes them
 * during the handshake; TLS 1.2 has one change, at ChangeCipherSpec). */
enum epoch { EP_PLAIN,
             EP_EARLY,
             EP_HANDSHAKE,
             EP_APP };

/* What the record just processed asks for once it is done (RFC 8446 5.1:
 * key changes happen at record boundaries). */
enum pending { PEND_NONE,
               PEND_TO_HANDSHAKE,
               PEND_TO_APP,
               PEND_KEY_UPDATE };

/* Reassembly of handshake messages across records (RFC 8446 5.1 lets a
 * message span records and a record carry several): kept in the direction
 * (dir.hs) only while a message is cut across records. */
struct hs_asm {
    uint8_t *buf; /* NULL between messages: freed once one is delivered */
    uint32_t got;
    uint32_t cap; /* bytes allocated at buf, grown as the body arrives */
    uint8_t hdr[4];
    uint8_t hdr_len;
    uint8_t keep; /* body is being buffered (a message we read) */
};

/* A record cut across pieces, being gathered: allocated with its first
 * bytes (to its whole length when they include the header, else to the
 * header and grown once it is whole), freed when the record is processed. */
struct partial {
    uint64_t frame_first;
    uint32_t len;   /* bytes gathered, the header's first (at most CS_TLS_MAX_CIPHERTEXT + 5) */
    uint8_t hdr[5]; /* the header, while it is gathered */
    uint8_t sized;  /* rec has room for the record */
    uint8_t ahead;  /* a job reads rec (tls_ahead.h): cs_tls__free_partial() */
    uint8_t rec[];  /* the header and fragment, once the header is whole */
};

/* Fields ordered by size: two of these in each of thousands of
 * connections, so padding counts. */
struct dir {
    struct cs_tls_cipher cipher;
    struct hs_asm *hs;    /* NULL between messages (hs_feed) */
    struct partial *part; /* NULL between records */
    enum epoch epoch : 8;
    enum pending pending : 8;
    enum cs_tls_reason failed : 8;
    uint8_t closed;     /* close_notify seen */
    uint8_t ccs;        /* TLS 1.2 ChangeCipherSpec seen */
    uint8_t wait_key;   /* (live) its next keys' secret is not in the key log yet: the
                       * key change waits, and the records after it are held */
    uint8_t ahead_slot; /* where the handshake's keys were derived ahead (tls_ahead.h),
                         * 0: nowhere (fills padding) */
};

/* Records held for a late key, allocated with the first one and freed when
 * the queue is empty again: most connections never hold anything. */
struct held_queue {
    struct held *head, *tail;
    size_t bytes;
    size_t nodes;           /* entries (records and markers) */
    struct held *marker[2]; /* per direction: its dropped-records marker */
    uint32_t held[2];       /* per direction: its entries */
    uint8_t dropping[2];    /* per direction: budget exhausted, drop the rest */
};

/* What the hellos said that is needed only until the keys are set up. */
struct hello_randoms {
    uint8_t client[32], server[32];
};

/* The counters of cs_tls_counters, narrower: a connection counts its
 * records and events in 32 bits (4 billion records of at least 22 bytes
 * each would take 88 GB on one connection); bytes keep 64.  Those that
 * every decrypting connection moves are in it; the others, which most
 * connections never move, in a struct allocated with the first one
 * (cs_tls__rare). */
struct tls_counts {
    uint64_t app_bytes[2];
    uint32_t records[2];
};

struct tls_rare_counts {
    uint64_t held_dropped_bytes;
    uint32_t auth_failures, malformed_records, records_undecryptable, alerts, close_notify,
        key_updates, early_records, resyncs, gaps, held_records, held_dropped_records,
        oversized_handshakes;
};

/* What most connections never need while they decrypt, allocated with the
 * first use of any of it (cs_tls__cold) and kept until the connection is
 * freed: the rare counters, the records held for a late key, the key log's
 * generation at a failed key lookup, and per direction the
 * resynchronisation scan, the secret after a KeyUpdate and the records
 * possibly missed.  Out of the connection itself, which thousands of idle
 * connections keep (56 bytes each). */
struct tls_cold {
    struct tls_rare_counts n;
    struct held_queue *hq;      /* NULL when nothing is held */
    struct resync *rs[2];       /* the scan after a gap; NULL when not resynchronising */
    uint8_t *secret[2];         /* 1.3 after a KeyUpdate: the application traffic secret in
                                 * use (CS_TLS_MAX_SECRET bytes); before one, the key log's _0 */
    uint64_t keylog_generation; /* generation at the last failed lookup */
    uint32_t uncertain[2];      /* records possibly missed: try further sequence numbers */
};

/* A direction's resynchronisation scan, allocated by the gap that starts it
 * and freed when framing resumes or the direction fails: its bookkeeping
 * costs nothing to the many directions that never see a gap. */
struct resync {
    size_t len, pos;
    uint64_t frame;       /* frame of the first byte scanned */
    size_t piece_off;     /* where the newest piece starts in buf */
    uint64_t piece_frame; /* ... and its frame */
    uint32_t candidates;
    uint8_t buf[CS_TLS_RESYNC_MAX_SCAN];
};

/* The ClientHello's server name: a short one (most are) in the connection
 * itself, a longer one malloc'd to its length (sni_heap); "" when none. */
#define TLS_SNI_INLINE 16
union tls_sni {
    char *heap;
    char here[TLS_SNI_INLINE];
};

/* A record held until its key is known, or a marker for dropped ones. */
struct held {
    struct held *next;
    enum cs_tls_dir dir;
    uint64_t frame_first, frame_last;
    int64_t ts;
    uint32_t dropped; /* a marker: this many records of dir were dropped here */
    size_t len;
    uint8_t rec[];
};

struct cs_tls_conn {
    const struct cs_tls_keylog *kl;
    cs_tls_sink sink; /* called with the caller's part, or (ctx_is_ptr) the pointer it holds */
    struct dir d[2];
    uint8_t *plain;            /* decryption output, CS_TLS_MAX_CIPHERTEXT; lives
                                 * during one cs_tls_conn_data / _retry call */
    struct hello_randoms *rnd; /* from the ClientHello until the keys are set up */
    const struct cs_tls_suite *suite;
    union tls_sni sni;
    const char *alpn;      /* the protocol chosen, NULL when none: a constant for the
                                 * usual ones, else malloc'd (alpn_owned) */
    struct tls_cold *cold; /* NULL until some of it is needed */
    struct tls_counts n;
    uint32_t records_decrypted; /* (of n, beside it: no padding) */
    uint32_t max_held;
    cs_tls_keylog_ref keys;      /* the key log's entry for the client random (0: not found yet) */
    uint16_t version, cipher_id; /* the ServerHello's (0 before it) */
    enum cs_tls_state state : 8;
    enum cs_tls_reason reason : 8;
    uint8_t plain_shared; /* plain is the thread's buffer (see cs_tls__acquire_plain) */
    uint8_t draining;
    uint8_t wait_all_secrets; /* cs_tls_conn_wait_all_secrets */
    uint8_t live;             /* the key log still grows: wait for a late secret (cs_tls_conn_set_live) */
    uint8_t seen_any, have_ch, have_sh, keys_ready, hrr, saw_certificate, abbreviated;
    uint8_t offers_early_data, encrypt_then_mac;
    uint8_t alpn_owned : 1, sni_heap : 1;
    uint8_t ctx_is_ptr : 1; /* cs_tls_conn_new: the caller's part is its sink_ctx pointer */
};

/* RFC 5246 6.2.1 / RFC 8446 5.1: could this be a record header? */
static inline int cs_tls__plausible_header(const uint8_t *h)
{
    size_t len = (size_t)h[3] << 8 | h[4];
    return h[0] >= CT_CCS && h[0] <= CT_HEARTBEAT && h[1] == 3 && h[2] <= 4 && len > 0 &&
           len <= CS_TLS_MAX_CIPHERTEXT;
}

/* The held records' queue, the resynchronisation scan of dir and the
 * records dir possibly missed, as kept in the cold part (none without one). */
static inline struct held_queue *cs_tls__held(const struct cs_tls_conn *c)
{
    return c->cold ? c->cold->hq : NULL;
}

static inline struct resync *cs_tls__resync(const struct cs_tls_conn *c, enum cs_tls_dir dir)
{
    return c->cold ? c->cold->rs[dir] : NULL;
}

static inline uint32_t cs_tls__uncertain(const struct cs_tls_conn *c, enum cs_tls_dir dir)
{
    return c->cold ? c->cold->uncertain[dir] : 0;
}

/* Header plus fragment length of the record whose header is at h. */
static inline size_t cs_tls__record_len(const uint8_t *h)
{
    return 5 + ((size_t)h[3] << 8 | h[4]);
}

/* tls_conn.c */
struct tls_cold *cs_tls__cold(struct cs_tls_conn *c);
struct tls_rare_counts *cs_tls__rare(struct cs_tls_conn *c);
void cs_tls__emit(struct cs_tls_conn *c, enum cs_tls_event_kind kind, enum cs_tls_dir dir,
                  const uint8_t *data, size_t len, uint64_t f0, uint64_t f1, int64_t ts, int early);
void cs_tls__fail_conn(struct cs_tls_conn *c, enum cs_tls_reason r);
void cs_tls__fail_dir(struct cs_tls_conn *c, enum cs_tls_dir dir, enum cs_tls_reason r,
                      uint64_t frame, int64_t ts);
int cs_tls__acquire_plain(struct cs_tls_conn *c);
void cs_tls__release_plain(struct cs_tls_conn *c);
void cs_tls__hs_release(struct hs_asm *h);
int cs_tls__try_keys(struct cs_tls_conn *c);
int cs_tls__encrypted(const struct cs_tls_conn *c, enum cs_tls_dir dir, uint8_t type);
enum cs_tls_open_result cs_tls__open_trying(struct cs_tls_conn *c, enum cs_tls_dir dir,
                                            const uint8_t *rec, size_t frag_len, uint32_t window,
                                            uint32_t next_window, size_t *out_len, uint8_t *type);
void cs_tls__on_content(struct cs_tls_conn *c, enum cs_tls_dir dir, uint8_t type, const uint8_t *p,
                        size_t n, uint64_t f0, uint64_t f1, int64_t ts);
void cs_tls__apply_pending(struct cs_tls_conn *c, enum cs_tls_dir dir, uint64_t frame, int64_t ts);
void cs_tls__process_record(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *rec,
                            size_t frag_len, uint64_t f0, uint64_t f1, int64_t ts);
void cs_tls__frame_records(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *p, size_t n,
                           uint64_t frame, int64_t ts);

/* Frees a record being gathered (NULL allowed), once no job reads it. */
void cs_tls__free_partial(struct partial *pr);

/* holding and resynchronisation (end of tls_conn.c) */
void cs_tls__free_held(struct cs_tls_conn *c);
void cs_tls__hold(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *rec, size_t len,
                  uint64_t f0, uint64_t f1, int64_t ts);
void cs_tls__drain_held(struct cs_tls_conn *c);
void cs_tls__resync_feed(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *p, size_t n,
                         uint64_t frame, int64_t ts);

#endif
