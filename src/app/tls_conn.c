/* One passively observed TLS connection: record framing, handshake
 * tracking, key selection and decryption.  See tls_conn.h for the
 * contract; records held for a late key and the resynchronisation after a
 * gap are at the end of this file, the cryptography in tls_keys.c, the
 * message parsers in tls_hs.c. */
#include "tls_ahead.h"
#include "tls_conn_int.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const reason_names[] = {
    "none",
    "not-tls",
    "unsupported-version",
    "unsupported-suite",
    "bad-handshake",
    "handshake-gap",
    "key-incomplete",
    "auth-failed",
    "gap",
    "renegotiation",
    "internal",
    "no-handshake",
};

const char *cs_tls_reason_name(enum cs_tls_reason r)
{
    return (unsigned)r < sizeof reason_names / sizeof reason_names[0] ? reason_names[r] : "?";
}

const char *cs_tls_state_name(enum cs_tls_state s)
{
    static const char *const names[] = {"handshake", "no-key", "decrypting", "failed"};
    return (unsigned)s < 4 ? names[s] : "?";
}

/* Where the caller's part of cs_tls_conn_new_ctx starts. */
#define CTX_OFFSET \
    ((sizeof(struct cs_tls_conn) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

struct cs_tls_conn *cs_tls_conn_new_ctx(const struct cs_tls_keylog *kl, size_t max_held_bytes,
                                        cs_tls_sink sink, size_t ctx_size)
{
    struct cs_tls_conn *c = calloc(1, CTX_OFFSET + (ctx_size ? ctx_size : 1));
    if (!c)
        return NULL;
    c->kl = kl;
    c->sink = sink;
    c->max_held = max_held_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)max_held_bytes;
    return c;
}

/* The sink's context in the caller's part (a connection per malloc either
 * way, and none keeps a pointer it does not need). */
struct cs_tls_conn *cs_tls_conn_new(const struct cs_tls_keylog *kl, size_t max_held_bytes,
                                    cs_tls_sink sink, void *sink_ctx)
{
    struct cs_tls_conn *c = cs_tls_conn_new_ctx(kl, max_held_bytes, sink, sizeof sink_ctx);
    if (!c)
        return NULL;
    memcpy(cs_tls_conn_ctx(c), &sink_ctx, sizeof sink_ctx);
    c->ctx_is_ptr = 1;
    return c;
}

void cs_tls_conn_prefetch(const struct cs_tls_conn *c, size_t ctx_size)
{
    size_t end = CTX_OFFSET + ctx_size;
    for (size_t off = 0; off < end; off += 64)
        __builtin_prefetch((const char *)c + off);
    __builtin_prefetch((const char *)c + end - 1);
}

void *cs_tls_conn_ctx(struct cs_tls_conn *c)
{
    return (char *)c + CTX_OFFSET;
}

struct cs_tls_conn *cs_tls_conn_of_ctx(void *ctx)
{
    return (struct cs_tls_conn *)(void *)((char *)ctx - CTX_OFFSET);
}

void cs_tls_conn_wait_all_secrets(struct cs_tls_conn *c)
{
    c->wait_all_secrets = 1;
}

/* Frees a direction's kept reassembly state (outside hs_feed). */
static void hs_drop(struct dir *D)
{
    if (!D->hs)
        return;
    cs_tls__hs_release(D->hs);
    free(D->hs);
    D->hs = NULL;
}

void cs_tls_conn_free(struct cs_tls_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < 2; i++) {
        cs_tls__free_partial(c->d[i].part);
        hs_drop(&c->d[i]);
        cs_tls_cipher_clear(&c->d[i].cipher);
        if (c->cold) {
            free(c->cold->rs[i]);
            if (c->cold->secret[i]) {
                cs_tls_wipe(c->cold->secret[i], CS_TLS_MAX_SECRET);
                free(c->cold->secret[i]);
            }
        }
    }
    if (c->sni_heap)
        free(c->sni.heap);
    if (c->alpn_owned)
        free((void *)c->alpn);
    free(c->rnd);
    cs_tls__release_plain(c);
    cs_tls__free_held(c);
    free(c->cold);
    free(c);
}

/* The cold part, allocated on first use; NULL when out of memory. */
struct tls_cold *cs_tls__cold(struct cs_tls_conn *c)
{
    if (!c->cold)
        c->cold = calloc(1, sizeof *c->cold);
    return c->cold;
}

/* The counters of events most connections never see, in the cold part;
 * without one (out of memory) they are counted nowhere (a thread's sink). */
struct tls_rare_counts *cs_tls__rare(struct cs_tls_conn *c)
{
    static _Thread_local struct tls_rare_counts lost;
    struct tls_cold *k = cs_tls__cold(c);
    return k ? &k->n : &lost;
}

/* Keeps the key log's generation at a failed key lookup or a key change
 * waiting for its secret: cs_tls_conn_retry tries again once it grew (and,
 * without a cold part, every time). */
static void note_generation(struct cs_tls_conn *c)
{
    struct cs_tls_keylog_stats st;
    cs_tls_keylog_get_stats(c->kl, &st);
    if (cs_tls__cold(c))
        c->cold->keylog_generation = st.generation;
}

/* Whether the key log grew since note_generation(). */
static bool keylog_grew(const struct cs_tls_conn *c)
{
    struct cs_tls_keylog_stats st;
    cs_tls_keylog_get_stats(c->kl, &st);
    return !c->cold || st.generation != c->cold->keylog_generation;
}

/* The decryption output is scratch space: no event keeps it past the
 * sink's call, so it is given back when the public call that needed it
 * returns.  One buffer per thread serves every connection (a malloc and
 * free of 18 KB per call interleaved with the parsers' small allocations
 * left the heap fragmented: +20 MB peak RSS on the TLS bench capture);
 * a connection decrypting while the thread's buffer is in use (TLS inside
 * a tunnel inside TLS) gets its own. */
static _Thread_local uint8_t *thread_plain;
static _Thread_local bool thread_plain_busy;
static pthread_key_t thread_plain_key;
static pthread_once_t thread_plain_once = PTHREAD_ONCE_INIT;

static void thread_plain_init(void)
{
    if (pthread_key_create(&thread_plain_key, free) != 0)
        abort();
}

int cs_tls__acquire_plain(struct cs_tls_conn *c)
{
    if (c->plain)
        return 0;
    if (!thread_plain_busy) {
        if (!thread_plain) {
            pthread_once(&thread_plain_once, thread_plain_init);
            if (!(thread_plain = malloc(CS_TLS_MAX_CIPHERTEXT)))
                return -1;
            pthread_setspecific(thread_plain_key, thread_plain); /* freed when the thread ends */
        }
        thread_plain_busy = true;
        c->plain = thread_plain;
        c->plain_shared = 1;
        return 0;
    }
    c->plain = malloc(CS_TLS_MAX_CIPHERTEXT);
    c->plain_shared = 0;
    return c->plain ? 0 : -1;
}

void cs_tls__release_plain(struct cs_tls_conn *c)
{
    if (c->plain && c->plain_shared)
        thread_plain_busy = false;
    else
        free(c->plain);
    c->plain = NULL;
    c->plain_shared = 0;
}

void cs_tls__emit(struct cs_tls_conn *c, enum cs_tls_event_kind kind, enum cs_tls_dir dir,
                  const uint8_t *data, size_t len, uint64_t f0, uint64_t f1, int64_t ts, int early)
{
    struct cs_tls_event ev = {kind, dir, data, len, f0, f1, ts, (uint8_t)early};
    if (!c->sink)
        return;
    void *ctx = cs_tls_conn_ctx(c);
    if (c->ctx_is_ptr)
        memcpy(&ctx, ctx, sizeof ctx);
    c->sink(ctx, &ev);
}

/* The whole connection fails (handshake problems: nothing will decrypt). */
void cs_tls__fail_conn(struct cs_tls_conn *c, enum cs_tls_reason r)
{
    if (c->state != CS_TLS_STATE_FAILED) {
        c->state = CS_TLS_STATE_FAILED;
        c->reason = r;
    }
    for (int i = 0; i < 2; i++)
        if (!c->d[i].failed)
            c->d[i].failed = r;
}

/* One direction becomes undecryptable; downstream learns of it as a gap. */
void cs_tls__fail_dir(struct cs_tls_conn *c, enum cs_tls_dir dir, enum cs_tls_reason r,
                      uint64_t frame, int64_t ts)
{
    struct dir *D = &c->d[dir];
    if (D->failed)
        return;
    D->failed = r;
    if (c->state != CS_TLS_STATE_FAILED) {
        c->state = CS_TLS_STATE_FAILED;
        c->reason = r;
    }
    if (c->cold) {
        free(c->cold->rs[dir]);
        c->cold->rs[dir] = NULL;
    }
    cs_tls__emit(c, CS_TLS_EV_GAP, dir, NULL, 0, frame, frame, ts, 0);
}

/* ---- keys ------------------------------------------------------------ */

/* The connection's secret of kind k when it is `want` bytes long. */
static const uint8_t *secret_of(const struct cs_tls_conn *c, enum cs_tls_secret_kind k, size_t want)
{
    size_t len;
    const uint8_t *p = cs_tls_keylog_secret(c->kl, c->keys, k, &len);
    return p && len == want ? p : NULL;
}

/* A TLS 1.3 read state for the secret of kind k: with the key and IV
 * derived ahead (h's key `which`) when they are this suite's, else from
 * the key log's secret.  0, or -1 when the secret is missing or libcrypto
 * fails. */
static int tls13_keys(struct cs_tls_conn *c, const struct cs_tls_ahead_hello *h,
                      enum cs_tls_ahead_hello_key which, enum cs_tls_secret_kind k,
                      struct cs_tls_cipher *out)
{
    const struct cs_tls_suite *su = c->suite;
    if (h && h->suite == su && h->derived[which])
        return cs_tls13_cipher_set(out, su, h->key[which], h->iv[which]);
    const uint8_t *secret = secret_of(c, k, su->hash_len);
    return secret ? cs_tls13_cipher_keys(out, su, secret, su->hash_len) : -1;
}

/* Whether the key log has the secret of kind k for the suite in use. */
static bool has_secret(const struct cs_tls_conn *c, const struct cs_tls_ahead_hello *h,
                       enum cs_tls_secret_kind k)
{
    return h ? h->len[k] == c->suite->hash_len : secret_of(c, k, c->suite->hash_len) != NULL;
}

/* Sets up the read keys once the ServerHello is known and the key log has
 * the secrets.  Returns 1 when keys are ready. */
int cs_tls__try_keys(struct cs_tls_conn *c)
{
    if (c->keys_ready)
        return 1;
    if (!c->have_sh || c->state == CS_TLS_STATE_FAILED || !c->kl)
        return 0;
    /* what was looked up and derived since the ClientHello, if anything:
     * the same entry and secrets as looking now (tls_ahead.h) */
    uint8_t slot = 0;
    const struct cs_tls_ahead_hello *h =
        !c->keys && c->suite->tls13 ? cs_tls_ahead_hello(c->kl, c->rnd->client, &slot) : NULL;
    if (h)
        c->keys = h->ref;
    if (!c->keys && !(c->keys = cs_tls_keylog_find(c->kl, c->rnd->client))) {
        c->state = CS_TLS_STATE_NO_KEY;
        note_generation(c);
        return 0;
    }
    const struct cs_tls_suite *su = c->suite;
    if (su->tls13) {
        if (!has_secret(c, h, CS_TLS_SECRET_CLIENT_HS) || !has_secret(c, h, CS_TLS_SECRET_SERVER_HS)) {
            c->state = CS_TLS_STATE_NO_KEY;
            note_generation(c);
            return 0;
        }
        if (c->wait_all_secrets && (!has_secret(c, h, CS_TLS_SECRET_CLIENT_AP0) ||
                                    !has_secret(c, h, CS_TLS_SECRET_SERVER_AP0))) {
            c->state = CS_TLS_STATE_NO_KEY; /* the rest of the line(s) are on their way */
            note_generation(c);
            return 0;
        }
        struct dir *C = &c->d[CS_TLS_FROM_CLIENT];
        int r = tls13_keys(c, h, CS_TLS_AHEAD_SERVER_HS, CS_TLS_SECRET_SERVER_HS,
                           &c->d[CS_TLS_FROM_SERVER].cipher);
        const uint8_t *early = C->epoch == EP_EARLY ? secret_of(c, CS_TLS_SECRET_CLIENT_EARLY, su->hash_len) : NULL;
        if (early)
            r |= cs_tls13_cipher_keys(&C->cipher, su, early, su->hash_len);
        else {
            C->epoch = EP_HANDSHAKE;
            r |= tls13_keys(c, h, CS_TLS_AHEAD_CLIENT_HS, CS_TLS_SECRET_CLIENT_HS, &C->cipher);
        }
        if (r) {
            cs_tls__fail_conn(c, CS_TLS_REASON_INTERNAL);
            return 0;
        }
        c->d[0].ahead_slot = c->d[1].ahead_slot = slot;
    } else {
        const uint8_t *ms = secret_of(c, CS_TLS_SECRET_MASTER, 48);
        if (!ms) {
            c->state = CS_TLS_STATE_NO_KEY;
            note_generation(c);
            return 0;
        }
        if (cs_tls12_cipher_keys(&c->d[0].cipher, &c->d[1].cipher, su, ms, c->rnd->client,
                                 c->rnd->server, c->encrypt_then_mac)) {
            cs_tls__fail_conn(c, CS_TLS_REASON_INTERNAL);
            return 0;
        }
    }
    c->keys_ready = 1;
    c->state = CS_TLS_STATE_DECRYPTING;
    free(c->rnd); /* the key log's entry is found through c->keys from now on */
    c->rnd = NULL;
    return 1;
}

/* The keys a TLS 1.3 direction moves to next: early -> handshake,
 * handshake -> application (the _0 secret), application -> KeyUpdate (the
 * next secret, from the one in use: the key log's _0 or the last update's,
 * written to next_secret; the caller keeps it with keep_secret() when it
 * adopts these keys). */
static int next_cipher(struct cs_tls_conn *c, enum cs_tls_dir dir, enum epoch from,
                       struct cs_tls_cipher *out, uint8_t next_secret[CS_TLS_MAX_SECRET])
{
    const struct cs_tls_suite *su = c->suite;
    int client = dir == CS_TLS_FROM_CLIENT;
    enum cs_tls_secret_kind ap0 = client ? CS_TLS_SECRET_CLIENT_AP0 : CS_TLS_SECRET_SERVER_AP0;
    memset(out, 0, sizeof *out);
    int r = -1;
    if (from == EP_EARLY)
        r = tls13_keys(c, NULL, CS_TLS_AHEAD_CLIENT_HS, CS_TLS_SECRET_CLIENT_HS, out);
    else if (from == EP_HANDSHAKE) /* derived ahead since the ClientHello if someone helped */
        r = tls13_keys(c, cs_tls_ahead_hello_again(c->kl, c->keys, c->d[dir].ahead_slot),
                       client ? CS_TLS_AHEAD_CLIENT_AP0 : CS_TLS_AHEAD_SERVER_AP0, ap0, out);
    else if (from == EP_APP) {
        const uint8_t *kept = c->cold ? c->cold->secret[dir] : NULL;
        const uint8_t *now = kept ? kept : secret_of(c, ap0, su->hash_len);
        if (!now || cs_tls13_next_secret(su, now, next_secret))
            return -1;
        r = cs_tls13_cipher_keys(out, su, next_secret, su->hash_len);
    }
    if (r) {
        cs_tls_cipher_clear(out);
        return -1;
    }
    return 0;
}

/* After a KeyUpdate: the direction's application secret is the new one. */
static int keep_secret(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *secret)
{
    struct tls_cold *k = cs_tls__cold(c);
    if (!k || (!k->secret[dir] && !(k->secret[dir] = malloc(CS_TLS_MAX_SECRET))))
        return -1;
    memcpy(k->secret[dir], secret, c->suite->hash_len);
    return 0;
}

static enum epoch epoch_after(enum epoch e)
{
    return e == EP_EARLY ? EP_HANDSHAKE : EP_APP;
}

/* Applies the key change the last record asked for. */
void cs_tls__apply_pending(struct cs_tls_conn *c, enum cs_tls_dir dir, uint64_t frame, int64_t ts)
{
    struct dir *D = &c->d[dir];
    enum pending p = D->pending;
    D->pending = PEND_NONE;
    if (p == PEND_NONE || D->failed)
        return;
    struct cs_tls_cipher next;
    uint8_t next_secret[CS_TLS_MAX_SECRET];
    if (next_cipher(c, dir, D->epoch, &next, next_secret)) {
        if (c->live && p != PEND_KEY_UPDATE) { /* the secret may still be written */
            note_generation(c);
            D->pending = p;
            D->wait_key = 1;
            return;
        }
        cs_tls__fail_dir(c, dir, CS_TLS_REASON_KEY_INCOMPLETE, frame, ts);
        return;
    }
    D->wait_key = 0;
    if (p == PEND_KEY_UPDATE && keep_secret(c, dir, next_secret)) {
        cs_tls_cipher_clear(&next);
        cs_tls_wipe(next_secret, sizeof next_secret);
        cs_tls__fail_dir(c, dir, CS_TLS_REASON_INTERNAL, frame, ts);
        return;
    }
    cs_tls_wipe(next_secret, sizeof next_secret);
    cs_tls_cipher_clear(&D->cipher);
    D->cipher = next;
    if (p == PEND_KEY_UPDATE)
        cs_tls__rare(c)->key_updates++;
    else
        D->epoch = epoch_after(D->epoch);
}

/* ---- handshake ------------------------------------------------------- */

static const char *sni_of(const struct cs_tls_conn *c)
{
    return c->sni_heap ? c->sni.heap : c->sni.here;
}

/* Keeps a copy of the server name: in the connection when it fits (a
 * 32-byte heap chunk saved on each of thousands), else malloc'd to its
 * length; 0 or -1. */
static int set_sni(struct cs_tls_conn *c, const char *name)
{
    size_t len = strlen(name);
    char *copy = NULL;
    if (len >= TLS_SNI_INLINE && !(copy = malloc(len + 1)))
        return -1;
    if (c->sni_heap)
        free(c->sni.heap);
    c->sni_heap = copy != NULL;
    if (copy)
        c->sni.heap = memcpy(copy, name, len + 1);
    else
        memcpy(c->sni.here, name, len + 1);
    return 0;
}

/* The heap bytes of a long sni and of an owned alpn (most connections
 * have neither: cs_tls_conn_memory, which runs with every piece of data,
 * then reads two bits). */
static size_t names_bytes(const struct cs_tls_conn *c)
{
    if (!(c->sni_heap | c->alpn_owned))
        return 0;
    return (c->sni_heap ? strlen(c->sni.heap) + 1 : 0) + (c->alpn_owned ? strlen(c->alpn) + 1 : 0);
}

/* The chosen protocol: the usual ones point at constants (a copy of
 * "http/1.1" costs a 32-byte heap chunk per connection), others are
 * copied.  0 or -1. */
static int set_alpn(struct cs_tls_conn *c, const char *name)
{
    static const char *const usual[] = {"http/1.1", "h2"};
    const char *keep = NULL;
    for (size_t i = 0; i < sizeof usual / sizeof usual[0] && !keep; i++)
        if (strcmp(name, usual[i]) == 0)
            keep = usual[i];
    char *copy = NULL;
    if (!keep && name[0] && !(copy = strdup(name)))
        return -1;
    if (c->alpn_owned)
        free((void *)c->alpn);
    c->alpn = keep ? keep : copy;
    c->alpn_owned = copy != NULL;
    return 0;
}

static void on_client_hello(struct cs_tls_conn *c, const uint8_t *body, size_t len)
{
    struct cs_tls_client_hello ch;
    if (cs_tls_parse_client_hello(body, len, &ch)) {
        cs_tls__fail_conn(c, CS_TLS_REASON_BAD_HANDSHAKE);
        return;
    }
    if (c->have_ch)
        return; /* the second ClientHello after a HelloRetryRequest keeps the random */
    if (!(c->rnd = calloc(1, sizeof *c->rnd))) {
        cs_tls__fail_conn(c, CS_TLS_REASON_INTERNAL);
        return;
    }
    memcpy(c->rnd->client, ch.random, 32);
    /* the keys are looked up and derived meanwhile if someone helps */
    if (c->kl && cs_tls_ahead_active())
        cs_tls_ahead_offer_hello(c->kl, ch.random);
    c->offers_early_data = ch.offers_early_data;
    if (set_sni(c, ch.sni)) {
        cs_tls__fail_conn(c, CS_TLS_REASON_INTERNAL);
        return;
    }
    c->have_ch = 1;
}

static void on_server_hello(struct cs_tls_conn *c, const uint8_t *body, size_t len)
{
    struct cs_tls_server_hello sh;
    if (!c->have_ch || cs_tls_parse_server_hello(body, len, &sh)) {
        cs_tls__fail_conn(c, CS_TLS_REASON_BAD_HANDSHAKE);
        return;
    }
    if (sh.hello_retry_request) {
        c->hrr = 1; /* RFC 8446 4.1.4: a second ClientHello and ServerHello follow */
        return;
    }
    if (c->have_sh) {
        cs_tls__fail_conn(c, CS_TLS_REASON_RENEGOTIATION);
        return;
    }
    memcpy(c->rnd->server, sh.random, 32);
    c->version = sh.version;
    c->cipher_id = sh.cipher_suite;
    c->encrypt_then_mac = sh.encrypt_then_mac;
    c->have_sh = 1;
    if (sh.version != CS_TLS_VERSION_12 && sh.version != CS_TLS_VERSION_13) {
        cs_tls__fail_conn(c, CS_TLS_REASON_UNSUPPORTED_VERSION);
        return;
    }
    c->suite = cs_tls_suite_find(sh.cipher_suite);
    if (!c->suite || (c->suite->tls13 != (sh.version == CS_TLS_VERSION_13))) {
        c->suite = NULL;
        cs_tls__fail_conn(c, CS_TLS_REASON_UNSUPPORTED_SUITE);
        return;
    }
    if (sh.version == CS_TLS_VERSION_13) {
        /* RFC 8446 2: everything after the ServerHello is encrypted, the
         * client's records first with the 0-RTT keys when it sent early data. */
        c->d[CS_TLS_FROM_SERVER].epoch = EP_HANDSHAKE;
        c->d[CS_TLS_FROM_CLIENT].epoch = c->offers_early_data ? EP_EARLY : EP_HANDSHAKE;
    } else if (set_alpn(c, sh.alpn)) { /* RFC 7301 3.1: 1.2 answers in the ServerHello */
        cs_tls__fail_conn(c, CS_TLS_REASON_INTERNAL);
        return;
    }
    cs_tls__try_keys(c);
}

/* One complete handshake message of direction dir. */
static void on_handshake_message(struct cs_tls_conn *c, enum cs_tls_dir dir, uint8_t type,
                                 const uint8_t *body, size_t len)
{
    struct dir *D = &c->d[dir];
    int tls13 = c->suite && c->suite->tls13;
    switch (type) {
    case CS_TLS_HS_CLIENT_HELLO:
        if (dir == CS_TLS_FROM_CLIENT && D->epoch == EP_PLAIN)
            on_client_hello(c, body, len);
        else if (!tls13 && D->epoch == EP_PLAIN)
            cs_tls__fail_conn(c, CS_TLS_REASON_BAD_HANDSHAKE);
        break; /* an encrypted ClientHello in 1.2 is renegotiation: caught at its CCS */
    case CS_TLS_HS_SERVER_HELLO:
        if (dir == CS_TLS_FROM_SERVER && D->epoch == EP_PLAIN)
            on_server_hello(c, body, len);
        break;
    case CS_TLS_HS_ENCRYPTED_EXTENSIONS:
        if (tls13 && dir == CS_TLS_FROM_SERVER) {
            uint8_t early;
            char alpn[CS_TLS_ALPN_MAX];
            if (cs_tls_parse_encrypted_extensions(body, len, alpn, &early))
                cs_tls__rare(c)->malformed_records++;
            if (set_alpn(c, alpn)) /* what was read, even from a malformed one */
                cs_tls__fail_conn(c, CS_TLS_REASON_INTERNAL);
        }
        break;
    case 11: /* Certificate: a full handshake, not a resumption */
        if (dir == CS_TLS_FROM_SERVER)
            c->saw_certificate = 1;
        break;
    case CS_TLS_HS_END_OF_EARLY_DATA:
        if (tls13 && D->epoch == EP_EARLY)
            D->pending = PEND_TO_HANDSHAKE;
        break;
    case CS_TLS_HS_FINISHED:
        if (tls13 && D->epoch == EP_HANDSHAKE)
            D->pending = PEND_TO_APP;
        break;
    case CS_TLS_HS_KEY_UPDATE:
        if (tls13 && D->epoch == EP_APP)
            D->pending = PEND_KEY_UPDATE;
        break;
    }
}

static int keep_body(uint8_t type)
{
    return type == CS_TLS_HS_CLIENT_HELLO || type == CS_TLS_HS_SERVER_HELLO ||
           type == CS_TLS_HS_ENCRYPTED_EXTENSIONS;
}

/* Feeds handshake-record content (plain or decrypted) into the message
 * reassembler; complete messages go to on_handshake_message(). */
void cs_tls__hs_release(struct hs_asm *h)
{
    free(h->buf);
    h->buf = NULL;
    h->cap = 0;
}

/* The length of the message whose 4-byte header is complete (RFC 8446 4:
 * uint24 after the type). */
static uint32_t hs_msg_len(const struct hs_asm *h)
{
    return (uint32_t)h->hdr[1] << 16 | (uint32_t)h->hdr[2] << 8 | h->hdr[3];
}

/* Room for `need` body bytes: the buffer doubles from CS_TLS_HS_BUF_INITIAL
 * up to the message's length, so a peer that announces a long message but
 * sends little costs little.  Returns 0 or -1 (out of memory). */
static int hs_reserve(struct hs_asm *h, uint32_t need)
{
    if (need <= h->cap)
        return 0;
    uint32_t cap = h->cap ? h->cap : CS_TLS_HS_BUF_INITIAL;
    while (cap < need)
        cap *= 2;
    if (cap > hs_msg_len(h))
        cap = hs_msg_len(h);
    uint8_t *b = realloc(h->buf, cap);
    if (!b)
        return -1;
    h->buf = b;
    h->cap = cap;
    return 0;
}

/* The reassembler's loop over handshake bytes of dir, with its state at h. */
static void hs_feed_on(struct cs_tls_conn *c, enum cs_tls_dir dir, struct hs_asm *h, const uint8_t *p,
                       size_t n)
{
    while (n > 0 && !c->d[dir].failed) {
        if (h->hdr_len < 4) {
            h->hdr[h->hdr_len++] = *p++;
            n--;
            if (h->hdr_len < 4)
                continue;
            h->got = 0;
            h->keep = (uint8_t)keep_body(h->hdr[0]);
            if (h->keep && hs_msg_len(h) > CS_TLS_MAX_HS_MESSAGE) {
                cs_tls__rare(c)->oversized_handshakes++;
                cs_tls__fail_conn(c, CS_TLS_REASON_BAD_HANDSHAKE);
                return;
            }
        }
        size_t take = hs_msg_len(h) - h->got;
        if (take > n)
            take = n;
        if (h->keep && take) {
            if (hs_reserve(h, h->got + (uint32_t)take)) {
                cs_tls__fail_conn(c, CS_TLS_REASON_INTERNAL);
                return;
            }
            memcpy(h->buf + h->got, p, take);
        }
        h->got += (uint32_t)take;
        p += take;
        n -= take;
        if (h->got == hs_msg_len(h)) {
            h->hdr_len = 0;
            on_handshake_message(c, dir, h->hdr[0], h->keep ? h->buf : NULL, hs_msg_len(h));
            cs_tls__hs_release(h); /* the few messages read are read once */
        }
    }
}

/* Feeds handshake bytes of dir to the message reassembler, which works on
 * a copy of the direction's state on the stack: it goes back to the heap
 * only when a message is left cut at the end (rare), so that thousands of
 * connections between messages keep a pointer, not the state. */
static void hs_feed(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *p, size_t n)
{
    struct dir *D = &c->d[dir];
    struct hs_asm here = D->hs ? *D->hs : (struct hs_asm){0};
    hs_feed_on(c, dir, &here, p, n); /* (here.buf is the one to free from now on) */
    if (D->failed || here.hdr_len == 0) {
        cs_tls__hs_release(&here); /* (between messages: nothing to release) */
        free(D->hs);
        D->hs = NULL;
        return;
    }
    if (!D->hs && !(D->hs = malloc(sizeof *D->hs))) {
        cs_tls__hs_release(&here);
        cs_tls__fail_conn(c, CS_TLS_REASON_INTERNAL);
        return;
    }
    *D->hs = here;
}

/* ---- records --------------------------------------------------------- */

static void on_alert(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *p, size_t n,
                     uint64_t frame, int64_t ts)
{
    cs_tls__rare(c)->alerts++;
    /* RFC 8446 6 / RFC 5246 7.2: level, description; close_notify is 0. */
    if (n >= 2 && p[1] == 0) {
        cs_tls__rare(c)->close_notify++;
        c->d[dir].closed = 1;
        cs_tls__emit(c, CS_TLS_EV_CLOSE, dir, NULL, 0, frame, frame, ts, 0);
    }
}

/* Content that verified (or plaintext before encryption starts). */
void cs_tls__on_content(struct cs_tls_conn *c, enum cs_tls_dir dir, uint8_t type, const uint8_t *p,
                        size_t n, uint64_t f0, uint64_t f1, int64_t ts)
{
    struct dir *D = &c->d[dir];
    switch (type) {
    case CT_HANDSHAKE:
        hs_feed(c, dir, p, n);
        break;
    case CT_ALERT:
        on_alert(c, dir, p, n, f1, ts);
        break;
    case CT_APPDATA:
        if (D->epoch == EP_HANDSHAKE || (D->epoch == EP_PLAIN && !D->ccs)) {
            cs_tls__rare(c)->malformed_records++; /* application data before the keys allow it */
            break;
        }
        if (D->epoch == EP_EARLY)
            cs_tls__rare(c)->early_records++;
        c->n.app_bytes[dir] += n;
        if (n)
            cs_tls__emit(c, CS_TLS_EV_DATA, dir, p, n, f0, f1, ts, D->epoch == EP_EARLY);
        break;
    default:
        break; /* heartbeat and unknown types carry nothing for us */
    }
}

/* Opens a record trying sequence numbers seq .. seq+window-1 with the
 * current keys, then (TLS 1.3) the next keys at 0 .. next_window-1.  On success moves
 * the direction to the keys and sequence number that worked. */
enum cs_tls_open_result cs_tls__open_trying(struct cs_tls_conn *c, enum cs_tls_dir dir,
                                            const uint8_t *rec, size_t frag_len, uint32_t window,
                                            uint32_t next_window, size_t *out_len, uint8_t *type)
{
    struct dir *D = &c->d[dir];
    enum cs_tls_open_result r = CS_TLS_OPEN_AUTH_FAILED;
    for (uint32_t i = 0; i < window; i++) {
        r = cs_tls_record_open(&D->cipher, D->cipher.seq + i, rec, rec + 5, frag_len, c->plain, out_len, type);
        if (r == CS_TLS_OPEN_OK) {
            D->cipher.seq += i + 1;
            return r;
        }
        if (r != CS_TLS_OPEN_AUTH_FAILED)
            return r;
    }
    if (!c->suite->tls13 || next_window == 0 || r != CS_TLS_OPEN_AUTH_FAILED)
        return r;
    struct cs_tls_cipher next;
    uint8_t next_secret[CS_TLS_MAX_SECRET];
    if (next_cipher(c, dir, D->epoch, &next, next_secret))
        return r;
    for (uint32_t i = 0; i < next_window; i++) {
        if (cs_tls_record_open(&next, i, rec, rec + 5, frag_len, c->plain, out_len, type) == CS_TLS_OPEN_OK) {
            if (D->epoch == EP_APP && keep_secret(c, dir, next_secret)) {
                cs_tls_cipher_clear(&next);
                cs_tls_wipe(next_secret, sizeof next_secret);
                return CS_TLS_OPEN_CRYPTO_ERROR;
            }
            cs_tls_wipe(next_secret, sizeof next_secret);
            cs_tls_cipher_clear(&D->cipher);
            D->cipher = next;
            D->cipher.seq = i + 1;
            if (D->epoch == EP_APP)
                cs_tls__rare(c)->key_updates++;
            else
                D->epoch = epoch_after(D->epoch);
            return CS_TLS_OPEN_OK;
        }
    }
    cs_tls_cipher_clear(&next);
    cs_tls_wipe(next_secret, sizeof next_secret);
    return r;
}

int cs_tls__encrypted(const struct cs_tls_conn *c, enum cs_tls_dir dir, uint8_t type)
{
    const struct dir *D = &c->d[dir];
    if (c->suite && c->suite->tls13)
        return type == CT_APPDATA && D->epoch != EP_PLAIN;
    if (!c->have_sh && type == CT_APPDATA)
        return 1; /* the 1.3 client's records before the ServerHello was seen */
    return D->ccs;
}

/* One complete record (header + fragment) of direction dir. */
void cs_tls__process_record(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *rec,
                            size_t frag_len, uint64_t f0, uint64_t f1, int64_t ts)
{
    struct dir *D = &c->d[dir];
    uint8_t type = rec[0];
    if (D->failed || D->closed) {
        cs_tls__rare(c)->records_undecryptable++;
        return;
    }
    if (!c->seen_any) {
        c->seen_any = 1;
        if (dir != CS_TLS_FROM_CLIENT || type != CT_HANDSHAKE) {
            /* a whole record, but not the ClientHello: the connection was
             * already under way when this stream began */
            cs_tls__fail_conn(c, CS_TLS_REASON_NO_HANDSHAKE);
            return;
        }
    }
    int enc = cs_tls__encrypted(c, dir, type);
    struct held_queue *hq = cs_tls__held(c);
    if ((!c->draining && hq && hq->held[dir]) || D->wait_key ||
        (enc && !c->keys_ready && c->state != CS_TLS_STATE_FAILED)) {
        cs_tls__hold(c, dir, rec, 5 + frag_len, f0, f1, ts);
        return;
    }
    if (type == CT_CCS) {
        /* RFC 5246 7.1: the next records of this direction are encrypted.
         * RFC 8446 D.4: in 1.3 a compatibility CCS, ignored. */
        if (c->suite && !c->suite->tls13) {
            if (D->ccs) {
                cs_tls__fail_dir(c, dir, CS_TLS_REASON_RENEGOTIATION, f1, ts);
                return;
            }
            D->ccs = 1;
            D->epoch = EP_APP;
            D->cipher.seq = 0;
            if (dir == CS_TLS_FROM_SERVER && !c->saw_certificate)
                c->abbreviated = 1; /* no Certificate: a resumed session (RFC 5246 7.3) */
        }
        return;
    }
    if (!enc) {
        cs_tls__on_content(c, dir, type, rec + 5, frag_len, f0, f1, ts);
        if (!c->draining && c->keys_ready && cs_tls__held(c))
            cs_tls__drain_held(c); /* the ServerHello that unblocks held client records */
        return;
    }
    if (cs_tls__acquire_plain(c)) {
        cs_tls__fail_conn(c, CS_TLS_REASON_INTERNAL);
        return;
    }
    size_t out_len = 0;
    uint8_t inner = 0;
    /* Normally exactly the next sequence number; after dropped records the
     * next few, and the next keys too.  In the 0-RTT epoch the handshake
     * keys at 0 as well: a server that rejected early data gets no
     * EndOfEarlyData (RFC 8446 4.2.10). */
    uint32_t uncertain = cs_tls__uncertain(c, dir);
    uint32_t window = uncertain ? uncertain + CS_TLS_RESYNC_SEQ_WINDOW : 1;
    uint32_t next_window = uncertain ? CS_TLS_RESYNC_SEQ_WINDOW : D->epoch == EP_EARLY;
    enum cs_tls_open_result r;
    uint8_t *plain = c->plain;
    /* The usual record, exactly the next sequence number with the keys in
     * use: cs_tls_record_open() at D->cipher.seq, which the helper may have
     * done already on the same bytes (tls_ahead.h). */
    if (window == 1 && next_window == 0 &&
        cs_tls_ahead_take(c, dir, &D->cipher, rec, frag_len, &r, &plain, &out_len, &inner)) {
        if (r == CS_TLS_OPEN_OK)
            D->cipher.seq++;
    } else
        r = cs_tls__open_trying(c, dir, rec, frag_len, window, next_window, &out_len, &inner);
    if (r != CS_TLS_OPEN_OK) {
        if (r == CS_TLS_OPEN_AUTH_FAILED)
            cs_tls__rare(c)->auth_failures++;
        else
            cs_tls__rare(c)->malformed_records++;
        cs_tls__fail_dir(c, dir, r == CS_TLS_OPEN_AUTH_FAILED ? CS_TLS_REASON_AUTH_FAILED : r == CS_TLS_OPEN_MALFORMED ? CS_TLS_REASON_GAP
                                                                                                                       : CS_TLS_REASON_INTERNAL,
                         f1, ts);
        return;
    }
    if (uncertain) {
        c->cold->uncertain[dir] = 0;
        c->cold->n.resyncs++;
    }
    c->records_decrypted++;
    cs_tls__on_content(c, dir, inner, plain, out_len, f0, f1, ts);
    cs_tls__apply_pending(c, dir, f1, ts);
}

/* Cuts a direction's bytes into records. */
void cs_tls__frame_records(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *p, size_t n,
                           uint64_t frame, int64_t ts)
{
    struct dir *D = &c->d[dir];
    while (n > 0) {
        if (D->failed) {
            return;
        }
        if (cs_tls__resync(c, dir)) {
            cs_tls__resync_feed(c, dir, p, n, frame, ts);
            return;
        }
        struct partial *pr = D->part;
        if (!pr && n >= 5 && cs_tls__plausible_header(p) && cs_tls__record_len(p) <= n) {
            size_t rl = cs_tls__record_len(p); /* the whole record in this piece: no copy */
            c->n.records[dir]++;
            cs_tls__process_record(c, dir, p, (size_t)rl - 5, frame, frame, ts);
            p += rl;
            n -= rl;
            continue;
        }
        if (!pr) {
            /* its header in this piece (the usual case): room for all of it
             * (cs_tls__plausible_header() bounds the length by CS_TLS_MAX_CIPHERTEXT) */
            bool sized = n >= 5 && cs_tls__plausible_header(p);
            if (!(pr = malloc(offsetof(struct partial, rec) + (sized ? cs_tls__record_len(p) : 0)))) {
                cs_tls__fail_conn(c, CS_TLS_REASON_INTERNAL);
                return;
            }
            pr->frame_first = frame;
            pr->len = 0;
            pr->sized = sized;
            pr->ahead = 0;
            D->part = pr;
        }
        size_t want = pr->len < 5 ? 5 - pr->len : cs_tls__record_len(pr->hdr) - pr->len;
        size_t take = want < n ? want : n;
        memcpy(pr->len < 5 ? pr->hdr + pr->len : pr->rec + pr->len, p, take);
        pr->len += (uint32_t)take;
        p += take;
        n -= take;
        if (pr->len == 5 && !cs_tls__plausible_header(pr->hdr)) {
            uint8_t hdr[5];
            memcpy(hdr, pr->hdr, 5);
            free(pr);
            D->part = NULL;
            if (!c->seen_any) {
                cs_tls__fail_conn(c, CS_TLS_REASON_NOT_TLS);
                return;
            }
            cs_tls_conn_gap(c, dir, 0, frame, ts); /* framing lost: look for the next header */
            if (cs_tls__resync(c, dir))
                cs_tls__resync_feed(c, dir, hdr, 5, frame, ts);
            continue;
        }
        if (pr->len == 5) {
            if (!pr->sized) { /* the header came in pieces: now the record's room */
                struct partial *grown = realloc(pr, offsetof(struct partial, rec) + cs_tls__record_len(pr->hdr));
                if (!grown) {
                    free(pr);
                    D->part = NULL;
                    cs_tls__fail_conn(c, CS_TLS_REASON_INTERNAL);
                    return;
                }
                D->part = pr = grown;
                pr->sized = 1;
            }
            memcpy(pr->rec, pr->hdr, 5);
        }
        if (pr->len == cs_tls__record_len(pr->hdr)) {
            D->part = NULL;
            c->n.records[dir]++;
            cs_tls__process_record(c, dir, pr->rec, cs_tls__record_len(pr->hdr) - 5, pr->frame_first, frame, ts);
            cs_tls__free_partial(pr);
        }
    }
}

/* Offers the whole encrypted records in p[0..n), the next bytes of dir as
 * far as the caller can tell, while dir decrypts steadily with its
 * application keys, or (1.3) its handshake keys (a client's Finished comes
 * a round trip after the keys are known).  AEAD suites only: a CBC read
 * state's HMAC context is the connection's alone.  Where the records start
 * comes from the record dir is gathering now, then from the records offered
 * before in this group. */
void cs_tls_conn_ahead(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *p, size_t n)
{
    if ((unsigned)dir > 1 || !cs_tls_ahead_active())
        return;
    const struct dir *D = &c->d[dir];
    bool tls13 = c->suite && c->suite->tls13;
    if (!c->keys_ready || c->state != CS_TLS_STATE_DECRYPTING || c->draining || D->failed ||
        D->closed || D->wait_key || !(D->epoch == EP_APP || (tls13 && D->epoch == EP_HANDSHAKE)) ||
        D->cipher.mac || cs_tls__held(c) || cs_tls__resync(c, dir) || cs_tls__uncertain(c, dir))
        return;
    struct partial *pr = D->part;
    if (pr && pr->len < 5)
        return; /* a header cut in two: where the record ends is not known */
    bool fresh;
    struct cs_tls_ahead_pos *pos =
        cs_tls_ahead_position(c, dir, D->cipher.seq + (pr ? 1 : 0),
                              pr ? (uint32_t)(cs_tls__record_len(pr->hdr) - pr->len) : 0, &fresh);
    if (!pos || pos->dead)
        return;
    if (fresh && pr && tls13) {
        /* the record being gathered: its start is in pr, which stays as
         * it is until the record is whole and opened */
        cs_tls_ahead_record_begin(pos, D->cipher.seq, pr->rec, pr->len);
        pr->ahead |= pos->building;
    }
    if (pos->skip) { /* the rest of a record begun before */
        size_t take = pos->skip < n ? pos->skip : n;
        cs_tls_ahead_record_add(pos, p, take);
        pos->skip -= (uint32_t)take;
        p += take;
        n -= take;
        if (!pos->skip)
            cs_tls_ahead_record_end(pos, c, dir, &D->cipher);
    }
    while (n > 0) {
        if (n < 5 || !cs_tls__plausible_header(p) || (p[0] != CT_APPDATA && !(tls13 && p[0] == CT_CCS))) {
            pos->dead = 1; /* a header cut in two, or something else: stop guessing */
            return;
        }
        size_t rl = cs_tls__record_len(p);
        if (p[0] == CT_CCS && rl <= n) { /* 1.3's compatibility CCS: no number, nothing changes */
            p += rl;
            n -= rl;
            continue;
        }
        if (rl > n) { /* goes on in the next segments: offered when it ends (1.3) */
            if (p[0] != CT_APPDATA) {
                pos->dead = 1;
                return;
            }
            if (tls13)
                cs_tls_ahead_record_begin(pos, pos->seq, p, n);
            pos->skip = (uint32_t)(rl - n);
            pos->seq++;
            return;
        }
        cs_tls_ahead_offer(c, dir, &D->cipher, pos->seq, p, rl - 5);
        pos->seq++;
        p += rl;
        n -= rl;
    }
}

void cs_tls__free_partial(struct partial *pr)
{
    if (pr && pr->ahead)
        cs_tls_ahead_forget(pr->rec);
    free(pr);
}

void cs_tls_hello_ahead(const struct cs_tls_keylog *kl, const uint8_t *p, size_t n)
{
    /* record header (5), handshake header (4: ClientHello = 1), legacy
     * version (2), random (32): RFC 8446 4.1.2 */
    if (n >= 43 && cs_tls_ahead_active() && p[0] == CT_HANDSHAKE && p[1] == 3 && p[5] == 1)
        cs_tls_ahead_offer_hello(kl, p + 11);
}

void cs_tls_conn_data(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *data, size_t len,
                      uint64_t frame, int64_t ts)
{
    if ((unsigned)dir > 1)
        return;
    cs_tls__frame_records(c, dir, data, len, frame, ts);
    cs_tls__release_plain(c);
}

void cs_tls_conn_info(const struct cs_tls_conn *c, struct cs_tls_info *out)
{
    memset(out, 0, sizeof *out);
    out->version = c->have_sh ? c->version : 0;
    out->cipher_id = c->have_sh ? c->cipher_id : 0;
    out->cipher = c->suite ? c->suite->name : NULL;
    out->sni = sni_of(c);
    out->alpn = c->alpn ? c->alpn : "";
    out->resumed = c->abbreviated ||
                   (c->suite && c->suite->tls13 && c->d[1].epoch == EP_APP && !c->saw_certificate);
    out->hello_retry = c->hrr;
    out->state = c->state;
    out->reason = c->reason;
    out->dir_reason[0] = c->d[0].failed;
    out->dir_reason[1] = c->d[1].failed;
    const struct tls_counts *n = &c->n;
    static const struct tls_rare_counts none;
    const struct tls_rare_counts *r = c->cold ? &c->cold->n : &none;
    out->n = (struct cs_tls_counters){
        .records = {n->records[0], n->records[1]},
        .records_decrypted = c->records_decrypted,
        .app_bytes = {n->app_bytes[0], n->app_bytes[1]},
        .auth_failures = r->auth_failures,
        .malformed_records = r->malformed_records,
        .records_undecryptable = r->records_undecryptable,
        .alerts = r->alerts,
        .close_notify = r->close_notify,
        .key_updates = r->key_updates,
        .early_records = r->early_records,
        .resyncs = r->resyncs,
        .gaps = r->gaps,
        .held_records = r->held_records,
        .held_dropped_records = r->held_dropped_records,
        .held_dropped_bytes = r->held_dropped_bytes,
        .oversized_handshakes = r->oversized_handshakes,
    };
}

/* What is allocated now: the object, held records with their list nodes,
 * and per direction the record being gathered, the handshake message being
 * gathered, the resynchronisation window and libcrypto's HMAC context of
 * the CBC suites (which it allocates, so counted at CS_TLS_CIPHER_CTX_COST;
 * the cipher context is one per thread, tls_keys.c). */
size_t cs_tls_conn_memory(const struct cs_tls_conn *c)
{
    size_t m = sizeof *c + (c->plain ? CS_TLS_MAX_CIPHERTEXT : 0) + names_bytes(c) +
               (c->rnd ? sizeof *c->rnd : 0);
    for (int i = 0; i < 2; i++) {
        const struct dir *D = &c->d[i];
        const struct partial *pr = D->part;
        m += (pr ? offsetof(struct partial, rec) + (pr->sized ? cs_tls__record_len(pr->hdr) : 0) : 0) +
             (D->hs ? sizeof *D->hs + D->hs->cap : 0) +
             (D->cipher.mac ? CS_TLS_CIPHER_CTX_COST : 0);
    }
    const struct tls_cold *k = c->cold;
    if (!k)
        return m;
    m += sizeof *k;
    if (k->hq)
        m += sizeof *k->hq + k->hq->bytes + k->hq->nodes * sizeof(struct held);
    for (int i = 0; i < 2; i++)
        m += (k->rs[i] ? sizeof *k->rs[i] : 0) + (k->secret[i] ? CS_TLS_MAX_SECRET : 0);
    return m;
}

int cs_tls_probe(const uint8_t *p, size_t n)
{
    /* RFC 8446 5.1: handshake record, legacy version 3.x, then a
     * ClientHello (type 1) as the first message. */
    if (n >= 1 && p[0] != CT_HANDSHAKE)
        return 0;
    if (n >= 2 && p[1] != 3)
        return 0;
    if (n >= 3 && p[2] > 4)
        return 0;
    if (n >= 6 && p[5] != CS_TLS_HS_CLIENT_HELLO)
        return 0;
    return n >= 6 ? 1 : -1;
}

int cs_tls_probe_mid_stream(const uint8_t *p, size_t n)
{
    if (n >= 1 && p[0] != CT_APPDATA)
        return 0;
    if (n >= 2 && p[1] != 3)
        return 0;
    if (n >= 3 && (p[2] < 1 || p[2] > 3))
        return 0;
    if (n < 5)
        return -1;
    return cs_tls__plausible_header(p) ? 1 : 0;
}

/* ---- waiting instead of decrypting in order ------------------------------
 * Holding: encrypted records that arrive before the key log has their
 * secrets are queued, within the connection's byte budget, and replayed in
 * arrival order by cs_tls_conn_retry() once the key is there; past the
 * budget the rest of the direction is dropped and counted (one marker), and
 * decryption resumes after it by trying further sequence numbers.
 * Resynchronisation: after a gap (cs_tls_conn_gap, or framing lost on a bad
 * header) bytes are scanned for the next record header that verifies
 * against the tag, bounded by the CS_TLS_RESYNC_* limits; otherwise the
 * direction is marked undecryptable.  This lives in the same file as the
 * record path because each calls the other (a split file pair formed a call
 * cycle, which make check-layers refuses). */

void cs_tls__free_held(struct cs_tls_conn *c)
{
    struct held_queue *q = cs_tls__held(c);
    if (!q)
        return;
    for (struct held *h = q->head, *next; h; h = next) {
        next = h->next;
        free(h);
    }
    free(q);
    c->cold->hq = NULL;
}

/* Keeps a record for later; over the budget, the rest of the direction is
 * dropped (one marker counts them) so that order is never broken. */
void cs_tls__hold(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *rec, size_t len,
                  uint64_t f0, uint64_t f1, int64_t ts)
{
    struct tls_cold *k = cs_tls__cold(c);
    if (!k || (!k->hq && !(k->hq = calloc(1, sizeof *k->hq)))) {
        cs_tls__rare(c)->held_dropped_records++; /* no room even to count it in the queue */
        cs_tls__rare(c)->held_dropped_bytes += len;
        return;
    }
    struct held_queue *q = k->hq;
    struct held *h = NULL;
    if (!q->dropping[dir] && q->bytes + len <= c->max_held && (h = malloc(sizeof *h + len))) {
        memset(h, 0, sizeof *h);
        memcpy(h->rec, rec, len);
        h->len = len;
        q->bytes += len;
        cs_tls__rare(c)->held_records++;
    } else {
        cs_tls__rare(c)->held_dropped_records++;
        cs_tls__rare(c)->held_dropped_bytes += len;
        if (q->dropping[dir]) {
            if (q->marker[dir])
                q->marker[dir]->dropped++;
            return;
        }
        q->dropping[dir] = 1;
        if (!(h = calloc(1, sizeof *h)))
            return;
        h->dropped = 1;
        q->marker[dir] = h;
    }
    q->held[dir]++;
    q->nodes++;
    h->dir = dir;
    h->frame_first = f0;
    h->frame_last = f1;
    h->ts = ts;
    if (q->tail)
        q->tail->next = h;
    else
        q->head = h;
    q->tail = h;
}

/* Replays the held records in arrival order; those that still cannot be
 * decrypted are held again. */
void cs_tls__drain_held(struct cs_tls_conn *c)
{
    struct held_queue *q = cs_tls__held(c);
    if (!q)
        return;
    struct held *h = q->head;
    free(q); /* a record held again starts a new queue */
    c->cold->hq = NULL;
    c->draining = 1;
    while (h) {
        struct held *next = h->next;
        if (h->dropped) {
            c->cold->uncertain[h->dir] += h->dropped; /* (the queue was in it) */
            cs_tls__emit(c, CS_TLS_EV_GAP, h->dir, NULL, 0, h->frame_first, h->frame_last, h->ts, 0);
        } else if (c->keys_ready || !cs_tls__encrypted(c, h->dir, h->rec[0])) {
            cs_tls__process_record(c, h->dir, h->rec, h->len - 5, h->frame_first, h->frame_last, h->ts);
        } else {
            cs_tls__hold(c, h->dir, h->rec, h->len, h->frame_first, h->frame_last, h->ts);
            cs_tls__rare(c)->held_records--; /* not a new hold */
        }
        free(h);
        h = next;
    }
    c->draining = 0;
}

void cs_tls_conn_set_live(struct cs_tls_conn *c)
{
    c->live = 1;
}

void cs_tls_conn_stop_waiting(struct cs_tls_conn *c)
{
    c->live = 0;
    for (int i = 0; i < 2; i++)
        if (c->d[i].wait_key) {
            c->d[i].wait_key = 0;
            c->d[i].pending = PEND_NONE;
            cs_tls__fail_dir(c, (enum cs_tls_dir)i, CS_TLS_REASON_KEY_INCOMPLETE, 0, 0);
        }
}

/* A key change that waited for its secret (live): applied once the key log
 * has it, then the records held behind it are decrypted. */
static int retry_waiting(struct cs_tls_conn *c)
{
    if (!keylog_grew(c))
        return 0;
    int done = 0;
    for (int i = 0; i < 2; i++) {
        struct dir *D = &c->d[i];
        if (!D->wait_key)
            continue;
        cs_tls__apply_pending(c, (enum cs_tls_dir)i, 0, 0);
        done |= !D->wait_key;
    }
    note_generation(c);
    if (done && cs_tls__held(c) && !c->draining) {
        cs_tls__drain_held(c);
        cs_tls__release_plain(c);
    }
    return done;
}

int cs_tls_conn_retry(struct cs_tls_conn *c)
{
    if (c->keys_ready && (c->d[0].wait_key || c->d[1].wait_key))
        return retry_waiting(c);
    if (c->keys_ready || c->state != CS_TLS_STATE_NO_KEY)
        return 0;
    if (!keylog_grew(c))
        return 0;
    if (!cs_tls__try_keys(c))
        return 0;
    cs_tls__drain_held(c);
    cs_tls__release_plain(c);
    return 1;
}

/* Resynchronisation after a gap: bytes collect in D->scan until a
 * candidate record header is followed by a whole record that verifies
 * (encrypted) or by another plausible header (plaintext); framing resumes
 * there.  Bounded by CS_TLS_RESYNC_MAX_SCAN and _MAX_CANDIDATES. */
void cs_tls__resync_feed(struct cs_tls_conn *c, enum cs_tls_dir dir, const uint8_t *p, size_t n,
                         uint64_t frame, int64_t ts)
{
    struct dir *D = &c->d[dir];
    struct resync *R = c->cold->rs[dir]; /* (the caller saw it) */
    size_t room = CS_TLS_RESYNC_MAX_SCAN - R->len;
    size_t take = n < room ? n : room;
    if (R->len == 0)
        R->frame = frame; /* the first bytes after the gap, not the frame that revealed it */
    if (take) {
        R->piece_off = R->len;
        R->piece_frame = frame;
    }
    memcpy(R->buf + R->len, p, take);
    R->len += take;
    for (; R->pos + 5 <= R->len; R->pos++) {
        const uint8_t *h = R->buf + R->pos;
        if (!cs_tls__plausible_header(h) ||
            (c->suite && c->suite->tls13 && D->epoch != EP_PLAIN && h[0] != CT_APPDATA))
            continue; /* 1.3 protected records all say application_data */
        size_t rl = cs_tls__record_len(h);
        if (R->pos + rl > R->len) {
            if (R->pos + rl > CS_TLS_RESYNC_MAX_SCAN)
                continue; /* can never complete here */
            return;       /* wait for the rest of this candidate */
        }
        int ok;
        if (cs_tls__encrypted(c, dir, h[0]) && c->keys_ready) {
            size_t out_len;
            uint8_t inner;
            if (cs_tls__acquire_plain(c))
                break;
            ok = cs_tls__open_trying(c, dir, h, rl - 5, CS_TLS_RESYNC_SEQ_WINDOW, CS_TLS_RESYNC_SEQ_WINDOW,
                                     &out_len, &inner) == CS_TLS_OPEN_OK;
            if (ok) {
                size_t from = R->pos + rl, rest_len = R->len - from;
                c->cold->rs[dir] = NULL; /* R is freed once its rest is framed */
                cs_tls__rare(c)->resyncs++;
                c->n.records[dir]++;
                c->records_decrypted++;
                /* the frame of its first byte: exact when it starts in the
                 * first or the newest piece scanned (a record-aligned loss) */
                uint64_t f0 = R->pos >= R->piece_off ? R->piece_frame : R->frame;
                cs_tls__on_content(c, dir, inner, c->plain, out_len, f0, frame, ts);
                cs_tls__apply_pending(c, dir, frame, ts);
                cs_tls__frame_records(c, dir, R->buf + from, rest_len, frame, ts);
                free(R);
                if (take < n)
                    cs_tls__frame_records(c, dir, p + take, n - take, frame, ts);
                return;
            }
        } else {
            ok = R->pos + rl + 5 <= R->len && cs_tls__plausible_header(h + rl);
            if (!ok && R->pos + rl + 5 > R->len)
                return; /* wait to see the next header */
            if (ok) {
                size_t from = R->pos, rest_len = R->len - from;
                c->cold->rs[dir] = NULL;
                cs_tls__rare(c)->resyncs++;
                cs_tls__frame_records(c, dir, R->buf + from, rest_len, frame, ts);
                free(R);
                if (take < n)
                    cs_tls__frame_records(c, dir, p + take, n - take, frame, ts);
                return;
            }
        }
        if (++R->candidates >= CS_TLS_RESYNC_MAX_CANDIDATES)
            break;
    }
    if (R->candidates >= CS_TLS_RESYNC_MAX_CANDIDATES || R->len == CS_TLS_RESYNC_MAX_SCAN ||
        R->pos + 5 > CS_TLS_RESYNC_MAX_SCAN)
        cs_tls__fail_dir(c, dir, CS_TLS_REASON_GAP, frame, ts);
}

void cs_tls_conn_gap(struct cs_tls_conn *c, enum cs_tls_dir dir, uint64_t len, uint64_t frame, int64_t ts)
{
    if ((unsigned)dir > 1)
        return;
    struct dir *D = &c->d[dir];
    cs_tls__rare(c)->gaps++;
    (void)len;
    if (D->failed || D->closed)
        return;
    /* The hellos are needed for everything else. */
    if (!(dir == CS_TLS_FROM_CLIENT ? c->have_ch : c->have_sh)) {
        cs_tls__fail_conn(c, CS_TLS_REASON_HANDSHAKE_GAP);
        cs_tls__emit(c, CS_TLS_EV_GAP, dir, NULL, 0, frame, frame, ts, 0);
        return;
    }
    /* Before its key is known a direction cannot tell a real header from
     * noise by its tag, and its held records would lose their order. */
    if (!c->keys_ready && (c->d[dir].ccs || (c->suite && c->suite->tls13))) {
        cs_tls__fail_dir(c, dir, CS_TLS_REASON_GAP, frame, ts);
        return;
    }
    cs_tls__free_partial(D->part);
    D->part = NULL;
    hs_drop(D);
    D->pending = PEND_NONE;
    if (!cs_tls__resync(c, dir)) {
        struct tls_cold *k = cs_tls__cold(c);
        struct resync *R = k ? malloc(sizeof *R) : NULL;
        if (!R) {
            cs_tls__fail_dir(c, dir, CS_TLS_REASON_INTERNAL, frame, ts);
            return;
        }
        k->rs[dir] = R;
        R->len = R->pos = R->piece_off = 0;
        R->piece_frame = 0;
        R->candidates = 0;
        R->frame = frame;
        cs_tls__emit(c, CS_TLS_EV_GAP, dir, NULL, 0, frame, frame, ts, 0);
    }
}
