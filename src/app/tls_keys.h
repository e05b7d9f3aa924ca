/* TLS key schedule and record protection, on OpenSSL's libcrypto 3.
 *
 * This file pair knows the cipher suites corscope can decrypt, derives
 * traffic keys (TLS 1.3: HKDF-Expand-Label, RFC 8446 section 7; TLS 1.2: the
 * PRF key block, RFC 5246 section 6.3) and opens one record at a time.  All
 * cryptography is libcrypto's (the AEAD and CBC ciphers EVP_CIPHER_fetch
 * finds, called through their provider's functions; EVP_KDF "HKDF" and
 * "TLS1-PRF", EVP_MAC "HMAC"); nothing here computes a cipher or hash itself.
 *
 * It knows nothing of streams, handshakes or key logs: tls_conn.c owns those
 * and calls in here with secrets and record bytes. */
#ifndef CS_TLS_KEYS_H
#define CS_TLS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define CS_TLS_MAX_SECRET 48u                                /* SHA-384 output: the longest secret in use */
#define CS_TLS_MAX_PLAINTEXT 16384u                          /* RFC 8446 5.1, RFC 5246 6.2.1 */
#define CS_TLS_MAX_CIPHERTEXT (CS_TLS_MAX_PLAINTEXT + 2048u) /* RFC 5246 6.2.3 (1.3 allows +256) */
#define CS_TLS_RECORD_HEADER 5u
/* What libcrypto allocates for one direction's read state, which no sizeof
 * can see: only the HMAC context of the CBC suites (the cipher contexts are
 * the thread's, shared: see CS_TLS_THREAD_CIPHER_CTXS).  Measured with mallinfo2() over
 * 198 directions per suite with OpenSSL 3: 1519-1565 bytes for CBC+HMAC
 * when each direction had its own cipher context too (1050-1170 of it), so
 * this bound is generous; cs_tls_conn_memory() counts it. */
#define CS_TLS_CIPHER_CTX_COST 1600u
/* The keyed cipher contexts a thread keeps, each for the read state that
 * used it last (the least recently used is re-keyed): consecutive records
 * of the few connections busy at a time skip setting the key.  Allocated
 * as a thread first needs them, freed when it ends: at most this many
 * times ~1.1 KB (CS_TLS_CIPHER_CTX_COST bounds it) per thread, whatever
 * the number of connections. */
#define CS_TLS_THREAD_CIPHER_CTXS 8u

#define CS_TLS_VERSION_12 0x0303u
#define CS_TLS_VERSION_13 0x0304u

enum cs_tls_bulk {
    CS_TLS_BULK_AES_GCM,
    CS_TLS_BULK_CHACHA20_POLY1305,
    CS_TLS_BULK_AES_CBC,
};

/* One cipher suite: what its key block holds and which algorithms run it. */
struct cs_tls_suite {
    uint16_t id;      /* IANA code point */
    const char *name; /* IANA name, e.g. "TLS_AES_128_GCM_SHA256" */
    uint8_t tls13;    /* a TLS 1.3 suite (RFC 8446 B.4) */
    enum cs_tls_bulk bulk;
    uint8_t key_len;        /* cipher key */
    uint8_t fixed_iv_len;   /* 1.2 GCM: 4 (salt); ChaCha20 and 1.3: 12; CBC: 0 */
    uint8_t mac_len;        /* CBC: HMAC output length; AEAD: 0 */
    const char *mac_digest; /* CBC: "SHA1" / "SHA256" / "SHA384"; AEAD: NULL */
    const char *prf_digest; /* 1.2 PRF / 1.3 HKDF hash: "SHA256" or "SHA384" */
    uint8_t hash_len;       /* output length of prf_digest */
};

/* The suite with that code point, or NULL when corscope cannot decrypt it. */
const struct cs_tls_suite *cs_tls_suite_find(uint16_t id);

/* HKDF-Extract (RFC 5869 2.2) with `digest`; out must hold the hash length.
 * Returns 0 or -1. */
int cs_tls_hkdf_extract(const char *digest, const uint8_t *salt, size_t salt_len,
                        const uint8_t *ikm, size_t ikm_len, uint8_t *out, size_t out_len);

/* HKDF-Expand-Label (RFC 8446 section 7.1): label without the "tls13 "
 * prefix, which this adds.  Returns 0 or -1. */
int cs_tls13_expand_label(const char *digest, const uint8_t *secret, size_t secret_len,
                          const char *label, const uint8_t *context, size_t context_len,
                          uint8_t *out, size_t out_len);

/* The TLS 1.2 PRF (RFC 5246 section 5): P_<digest>(secret, label + seed).
 * Returns 0 or -1. */
int cs_tls12_prf(const char *digest, const uint8_t *secret, size_t secret_len,
                 const char *label, const uint8_t *seed, size_t seed_len,
                 uint8_t *out, size_t out_len);

/* The read state of one direction: keys, its libcrypto contexts, the
 * sequence number of the next record.  Zero it, then fill it with one of the
 * two *_keys functions; release with cs_tls_cipher_clear().  Thousands of
 * connections keep two of these each: no secret is kept here (the 1.3
 * traffic secret, needed again only at a KeyUpdate, is the caller's; the
 * 1.2 MAC key lives in the HMAC context). */
struct cs_tls_cipher {
    const struct cs_tls_suite *suite;
    uint16_t version;         /* CS_TLS_VERSION_12 or _13 */
    uint8_t encrypt_then_mac; /* 1.2 CBC with RFC 7366 negotiated */
    uint8_t key[32];
    uint8_t iv[12];
    uint8_t ctx_slot; /* which of the thread's cipher contexts it was keyed into
                       * last (a hint: key_id decides; fills padding) */
    uint64_t seq;     /* next record's sequence number */
    uint64_t key_id;  /* names this key to the thread's cipher contexts; the
                       * cipher comes from suite (fetched once per process) */
    void *mac;        /* EVP_MAC_CTX * (CBC only) */
};

/* TLS 1.3 (RFC 8446 7.3): key = Expand-Label(secret, "key"), iv = "iv".
 * Resets seq to 0.  Returns 0 or -1. */
int cs_tls13_cipher_keys(struct cs_tls_cipher *c, const struct cs_tls_suite *s,
                         const uint8_t *secret, size_t secret_len);

/* The same in two steps, so that the first can run on another thread
 * (tls_ahead.h): the key (s->key_len bytes) and IV of a traffic secret,
 * then a read state set up with them.  Return 0 or -1. */
int cs_tls13_traffic_keys(const struct cs_tls_suite *s, const uint8_t *secret, size_t secret_len,
                          uint8_t key[32], uint8_t iv[12]);
int cs_tls13_cipher_set(struct cs_tls_cipher *c, const struct cs_tls_suite *s, const uint8_t key[32],
                        const uint8_t iv[12]);
/* TLS 1.3 KeyUpdate (RFC 8446 7.2): the next application traffic secret,
 * Expand-Label(secret, "traffic upd", "", Hash.length), into out (room for
 * s->hash_len bytes); secret is s->hash_len bytes.  Returns 0 or -1. */
int cs_tls13_next_secret(const struct cs_tls_suite *s, const uint8_t *secret, uint8_t *out);

/* TLS 1.2 (RFC 5246 6.3): the key block from PRF(master, "key expansion",
 * server_random + client_random), split into the client's and the server's
 * read states.  Returns 0 or -1. */
int cs_tls12_cipher_keys(struct cs_tls_cipher *client, struct cs_tls_cipher *server,
                         const struct cs_tls_suite *s, const uint8_t master[48],
                         const uint8_t client_random[32], const uint8_t server_random[32],
                         int encrypt_then_mac);

void cs_tls_cipher_clear(struct cs_tls_cipher *c);

/* Zeroes n bytes at p in a way the compiler keeps (secrets that go out of
 * use): libcrypto's OPENSSL_cleanse. */
void cs_tls_wipe(void *p, size_t n);

enum cs_tls_open_result {
    CS_TLS_OPEN_OK = 0,
    CS_TLS_OPEN_AUTH_FAILED = -1,  /* tag, MAC or padding did not verify */
    CS_TLS_OPEN_MALFORMED = -2,    /* too short for this suite, bad length */
    CS_TLS_OPEN_CRYPTO_ERROR = -3, /* libcrypto refused (should not happen) */
};

/* Opens one record with sequence number `seq` (the caller chooses it, so
 * that resynchronisation can try several).  `header` is the 5-byte record
 * header, `frag` its fragment.  On CS_TLS_OPEN_OK writes the plaintext to
 * `out` (room for CS_TLS_MAX_CIPHERTEXT bytes), its length to *out_len and
 * the content type to *type (1.3: the inner type with padding removed;
 * 1.2: the record's type).  On any other result nothing written to `out`
 * may be used.  Does not advance c->seq. */
enum cs_tls_open_result cs_tls_record_open(struct cs_tls_cipher *c, uint64_t seq,
                                           const uint8_t header[5], const uint8_t *frag,
                                           size_t frag_len, uint8_t *out, size_t *out_len,
                                           uint8_t *type);
/* TLS 1.3 (AEAD): the same for a record in pieces, in order (header and
 * fragment; the header whole in the first), as a record gathered from
 * several segments is opened ahead (tls_ahead.h): libcrypto's decryption
 * streams, so the result is that of cs_tls_record_open on the pieces
 * joined. */
struct cs_tls_piece {
    const uint8_t *p;
    size_t n;
};
enum cs_tls_open_result cs_tls13_record_open_pieces(struct cs_tls_cipher *c, uint64_t seq,
                                                    const struct cs_tls_piece *pieces,
                                                    unsigned n_pieces, uint8_t *out, size_t *out_len,
                                                    uint8_t *type);

#endif
