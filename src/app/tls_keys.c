/* TLS key schedule and record protection on libcrypto 3: see tls_keys.h. */
#include "tls_keys.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/provider.h>

/* The suites corscope decrypts.  TLS 1.3: RFC 8446 B.4 (CCM suites left
 * out: no browser offers them).  TLS 1.2: the AEAD suites of RFC 5288,
 * RFC 5289 and RFC 7905, and the CBC suites servers still offer (RFC 5246
 * appendix A.5, RFC 4492, RFC 5289).  The 1.2 PRF hash is SHA-256 except for
 * the suites named _SHA384 (RFC 5246 5, RFC 5289 3.2). */
#define GCM(id, name, klen, prf, hl)                                \
    {                                                               \
        id, name, 0, CS_TLS_BULK_AES_GCM, klen, 4, 0, NULL, prf, hl \
    }
#define CHA(id, name)                                                             \
    {                                                                             \
        id, name, 0, CS_TLS_BULK_CHACHA20_POLY1305, 32, 12, 0, NULL, "SHA256", 32 \
    }
#define CBC(id, name, klen, mlen, mac, prf, hl)                       \
    {                                                                 \
        id, name, 0, CS_TLS_BULK_AES_CBC, klen, 0, mlen, mac, prf, hl \
    }
static const struct cs_tls_suite suites[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256", 1, CS_TLS_BULK_AES_GCM, 16, 12, 0, NULL, "SHA256", 32},
    {0x1302, "TLS_AES_256_GCM_SHA384", 1, CS_TLS_BULK_AES_GCM, 32, 12, 0, NULL, "SHA384", 48},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", 1, CS_TLS_BULK_CHACHA20_POLY1305, 32, 12, 0, NULL, "SHA256", 32},
    GCM(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 16, "SHA256", 32),
    GCM(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 32, "SHA384", 48),
    GCM(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 16, "SHA256", 32),
    GCM(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 32, "SHA384", 48),
    GCM(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", 16, "SHA256", 32),
    GCM(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", 32, "SHA384", 48),
    GCM(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 16, "SHA256", 32),
    GCM(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 32, "SHA384", 48),
    CHA(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    CHA(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    CHA(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    CBC(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 16, 20, "SHA1", "SHA256", 32),
    CBC(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 32, 20, "SHA1", "SHA256", 32),
    CBC(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 16, 20, "SHA1", "SHA256", 32),
    CBC(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 32, 20, "SHA1", "SHA256", 32),
    CBC(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 16, 32, "SHA256", "SHA256", 32),
    CBC(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", 32, 48, "SHA384", "SHA384", 48),
    CBC(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 16, 32, "SHA256", "SHA256", 32),
    CBC(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 32, 48, "SHA384", "SHA384", 48),
    CBC(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", 16, 20, "SHA1", "SHA256", 32),
    CBC(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", 32, 20, "SHA1", "SHA256", 32),
    CBC(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", 16, 32, "SHA256", "SHA256", 32),
    CBC(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", 32, 32, "SHA256", "SHA256", 32),
    CBC(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", 16, 20, "SHA1", "SHA256", 32),
    CBC(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 32, 20, "SHA1", "SHA256", 32),
    CBC(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 16, 32, "SHA256", "SHA256", 32),
    CBC(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 32, 32, "SHA256", "SHA256", 32),
};

const struct cs_tls_suite *cs_tls_suite_find(uint16_t id)
{
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

/* The algorithms are fetched once per process, not once per key: an
 * EVP_*_fetch looks the name up in the provider store under a lock, and
 * per connection (six derivations and two ciphers) that cost more than
 * decrypting its records.  Fetched objects are immutable and may be shared
 * by threads; they live until exit. */
enum { ALG_HKDF,
       ALG_TLS1_PRF,
       ALG_AES_128_GCM,
       ALG_AES_256_GCM,
       ALG_CHACHA20_POLY1305,
       ALG_AES_128_CBC,
       ALG_AES_256_CBC,
       ALG_HMAC,
       ALG_COUNT };
static void *algs[ALG_COUNT];
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void find_impl(int which, const char *name);

/* The cipher names, in ALG_ order from ALG_AES_128_GCM on. */
static const char *const cipher_names[] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305",
                                           "AES-128-CBC", "AES-256-CBC"};

static void fetch_algs(void)
{
    algs[ALG_HKDF] = EVP_KDF_fetch(NULL, "HKDF", NULL);
    algs[ALG_TLS1_PRF] = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    for (int i = ALG_AES_128_GCM; i <= ALG_AES_256_CBC; i++) {
        algs[i] = EVP_CIPHER_fetch(NULL, cipher_names[i - ALG_AES_128_GCM], NULL);
        find_impl(i, cipher_names[i - ALG_AES_128_GCM]);
    }
    algs[ALG_HMAC] = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static void *alg(int which)
{
    pthread_once(&algs_once, fetch_algs);
    return algs[which];
}

/* A cipher's own functions (provider-cipher(7)), as the provider that
 * EVP_CIPHER_fetch chose for it hands them to libcrypto.  Opening a record
 * calls them directly: the EVP layer around them asks the provider for the
 * key and IV lengths through parameter lists on every EVP_DecryptInit_ex2
 * (OpenSSL 3.0 does not keep them), ~1,200 instructions of name lookups and
 * string compares per record on top of ~700 for the key schedule itself,
 * and on the bench's TLS capture nearly every record is keyed afresh (see
 * the thread contexts below).  Lengths corscope knows (the suite's); the
 * cipher is still libcrypto's, the same implementation EVP would call. */
struct cipher_impl {
    void *provctx;
    OSSL_FUNC_cipher_newctx_fn *newctx;
    OSSL_FUNC_cipher_freectx_fn *freectx;
    OSSL_FUNC_cipher_decrypt_init_fn *dinit;
    OSSL_FUNC_cipher_update_fn *update;
    OSSL_FUNC_cipher_final_fn *final;
    OSSL_FUNC_cipher_set_ctx_params_fn *set_ctx_params;
};
static struct cipher_impl impls[ALG_COUNT];

/* Whether name is one of the colon-separated names of an algorithm. */
static int names_include(const char *names, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = names;; p++) {
        if (OPENSSL_strncasecmp(p, name, n) == 0 && (p[n] == ':' || p[n] == '\0'))
            return 1;
        if (!(p = strchr(p, ':')))
            return 0;
    }
}

/* Fills impls[which] from the provider of the fetched cipher; leaves it
 * empty (the suites on it unsupported) if that provider lists no
 * implementation of name with the six functions. */
static void find_impl(int which, const char *name)
{
    const OSSL_PROVIDER *prov = algs[which] ? EVP_CIPHER_get0_provider(algs[which]) : NULL;
    int no_cache = 0;
    const OSSL_ALGORITHM *list = prov ? OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_cache)
                                      : NULL;
    struct cipher_impl f = {0};
    for (const OSSL_ALGORITHM *a = list; a && a->algorithm_names; a++) {
        if (!names_include(a->algorithm_names, name))
            continue;
        for (const OSSL_DISPATCH *d = a->implementation; d->function_id; d++) {
            switch (d->function_id) {
            case OSSL_FUNC_CIPHER_NEWCTX: f.newctx = OSSL_FUNC_cipher_newctx(d); break;
            case OSSL_FUNC_CIPHER_FREECTX: f.freectx = OSSL_FUNC_cipher_freectx(d); break;
            case OSSL_FUNC_CIPHER_DECRYPT_INIT: f.dinit = OSSL_FUNC_cipher_decrypt_init(d); break;
            case OSSL_FUNC_CIPHER_UPDATE: f.update = OSSL_FUNC_cipher_update(d); break;
            case OSSL_FUNC_CIPHER_FINAL: f.final = OSSL_FUNC_cipher_final(d); break;
            case OSSL_FUNC_CIPHER_SET_CTX_PARAMS: f.set_ctx_params = OSSL_FUNC_cipher_set_ctx_params(d); break;
            default: break;
            }
        }
        break;
    }
    if (list)
        OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, list);
    if (f.newctx && f.freectx && f.dinit && f.update && f.final && f.set_ctx_params) {
        f.provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
        impls[which] = f;
    }
}

/* One EVP_KDF derivation with the parameters given; 0 or -1. */
static int kdf_derive(int which, OSSL_PARAM *params, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = alg(which);
    if (!kdf)
        return -1;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    if (!ctx)
        return -1;
    int ok = EVP_KDF_derive(ctx, out, out_len, params) > 0;
    EVP_KDF_CTX_free(ctx);
    return ok ? 0 : -1;
}

int cs_tls_hkdf_extract(const char *digest, const uint8_t *salt, size_t salt_len,
                        const uint8_t *ikm, size_t ikm_len, uint8_t *out, size_t out_len)
{
    int mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt_len) /* RFC 5869 2.2: an absent salt is HashLen zeros, HKDF's default */
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    *p = OSSL_PARAM_construct_end();
    return kdf_derive(ALG_HKDF, params, out, out_len);
}

/* HKDF-Expand (RFC 5869 2.3) on an HMAC context per digest and thread,
 * with the digest set once.  EVP_KDF "HKDF" took ~16,000 instructions per
 * expansion (a new HMAC context, parameter lookups, cleanses on every free):
 * with eight expansions per TLS 1.3 connection that was a third of the
 * whole decrypting run.  The HMAC is libcrypto's (EVP_MAC "HMAC"); here is
 * only RFC 5869's chaining of its blocks, T(i) = HMAC(PRK, T(i-1) || info
 * || i).  Keying once serves several expansions of one secret (the key and
 * the IV): EVP_MAC_init without a key starts again from the same key. */
static _Thread_local EVP_MAC_CTX *hmac_ctxs[2]; /* SHA256, SHA384 */
static pthread_key_t hmac_ctxs_key;
static pthread_once_t hmac_ctxs_once = PTHREAD_ONCE_INIT;

static void hmac_ctxs_free(void *unused)
{
    (void)unused;
    for (int i = 0; i < 2; i++) {
        EVP_MAC_CTX_free(hmac_ctxs[i]);
        hmac_ctxs[i] = NULL;
    }
}

static void hmac_ctxs_init(void)
{
    if (pthread_key_create(&hmac_ctxs_key, hmac_ctxs_free) != 0)
        abort();
}

/* The thread's HMAC context for digest ("SHA256" or "SHA384") and its
 * output length in *hash_len; NULL when libcrypto fails. */
static EVP_MAC_CTX *hmac_ctx(const char *digest, size_t *hash_len)
{
    int i = strcmp(digest, "SHA256") == 0 ? 0 : strcmp(digest, "SHA384") == 0 ? 1
                                                                              : -1;
    if (i < 0)
        return NULL;
    *hash_len = i == 0 ? 32 : 48;
    if (!hmac_ctxs[i]) {
        EVP_MAC *mac = alg(ALG_HMAC);
        pthread_once(&hmac_ctxs_once, hmac_ctxs_init);
        EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
        if (!ctx)
            return NULL;
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
            OSSL_PARAM_construct_end(),
        };
        if (!EVP_MAC_CTX_set_params(ctx, params)) {
            EVP_MAC_CTX_free(ctx);
            return NULL;
        }
        hmac_ctxs[i] = ctx;
        pthread_setspecific(hmac_ctxs_key, hmac_ctxs); /* freed when the thread ends */
    }
    return hmac_ctxs[i];
}

/* HKDF-Expand(PRK = secret, info, out_len) on m; secret NULL: the key m
 * was last keyed with.  info has room for one byte more than info_len (the
 * block counter goes there: one update instead of two).  0 or -1. */
static int hkdf_expand(EVP_MAC_CTX *m, size_t hash_len, const uint8_t *secret, size_t secret_len,
                       uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    uint8_t t[64];
    size_t t_len = 0, done = 0;
    if (out_len > 255 * hash_len || hash_len > sizeof t)
        return -1;
    for (uint8_t i = 1; done < out_len; i++) {
        size_t got = 0;
        info[info_len] = i;
        if (!EVP_MAC_init(m, secret, secret ? secret_len : 0, NULL) ||
            (t_len && !EVP_MAC_update(m, t, t_len)) || !EVP_MAC_update(m, info, info_len + 1) ||
            !EVP_MAC_final(m, t, &got, sizeof t) ||
            got != hash_len) {
            OPENSSL_cleanse(t, sizeof t);
            return -1;
        }
        secret = NULL; /* the next blocks: same key */
        t_len = got;
        size_t take = out_len - done < got ? out_len - done : got;
        memcpy(out + done, t, take);
        done += take;
    }
    OPENSSL_cleanse(t, sizeof t);
    return 0;
}

/* The longest HkdfLabel, and a byte for HKDF's block counter after it. */
#define HKDF_INFO_ROOM (2 + 1 + 255 + 1 + 255 + 1)

/* RFC 8446 7.1: HkdfLabel = uint16 length, opaque label<7..255> =
 * "tls13 " + Label, opaque context<0..255>, into info; its length or 0. */
static size_t hkdf_label(const char *label, const uint8_t *context, size_t context_len,
                         size_t out_len, uint8_t info[HKDF_INFO_ROOM])
{
    size_t label_len = strlen(label);
    if (label_len + 6 > 255 || context_len > 255 || out_len > 0xFFFF)
        return 0;
    size_t n = 0;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(label_len + 6);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = (uint8_t)context_len;
    if (context_len)
        memcpy(info + n, context, context_len);
    return n + context_len;
}

/* Expand-Label on m, keyed with secret (NULL: as last keyed). */
static int expand_label_on(EVP_MAC_CTX *m, size_t hash_len, const uint8_t *secret,
                           size_t secret_len, const char *label, const uint8_t *context,
                           size_t context_len, uint8_t *out, size_t out_len)
{
    uint8_t info[HKDF_INFO_ROOM];
    size_t n = hkdf_label(label, context, context_len, out_len, info);
    if (!n)
        return -1;
    return hkdf_expand(m, hash_len, secret, secret_len, info, n, out, out_len);
}

int cs_tls13_expand_label(const char *digest, const uint8_t *secret, size_t secret_len,
                          const char *label, const uint8_t *context, size_t context_len,
                          uint8_t *out, size_t out_len)
{
    size_t hash_len = 0;
    EVP_MAC_CTX *m = hmac_ctx(digest, &hash_len);
    if (!m || !secret)
        return -1;
    return expand_label_on(m, hash_len, secret, secret_len, label, context, context_len, out,
                           out_len);
}

int cs_tls12_prf(const char *digest, const uint8_t *secret, size_t secret_len,
                 const char *label, const uint8_t *seed, size_t seed_len,
                 uint8_t *out, size_t out_len)
{
    /* TLS1-PRF concatenates its seed parameters: label first, then seed. */
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, secret_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)label, strlen(label));
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed, seed_len);
    *p = OSSL_PARAM_construct_end();
    return kdf_derive(ALG_TLS1_PRF, params, out, out_len);
}

void cs_tls_cipher_clear(struct cs_tls_cipher *c)
{
    EVP_MAC_CTX_free(c->mac);      /* the EVP_CIPHER is the process's own: not freed */
    OPENSSL_cleanse(c, sizeof *c); /* zeroes it: keys do not linger */
}

void cs_tls_wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

static int cipher_alg(const struct cs_tls_suite *s)
{
    switch (s->bulk) {
    case CS_TLS_BULK_AES_GCM: return s->key_len == 16 ? ALG_AES_128_GCM : ALG_AES_256_GCM;
    case CS_TLS_BULK_CHACHA20_POLY1305: return ALG_CHACHA20_POLY1305;
    case CS_TLS_BULK_AES_CBC: return s->key_len == 16 ? ALG_AES_128_CBC : ALG_AES_256_CBC;
    }
    return ALG_COUNT;
}

/* A few cipher contexts per thread, each keyed for the read state that used
 * it last, instead of one per direction of every connection: a context with
 * its key schedule is ~1.1 KB that libcrypto allocates, 2.2 KB a connection
 * whether it is busy or idle, which on thousands of keep-alive connections
 * made --max-memory evict them.  Keying one costs the AES key schedule and
 * GCM's table of powers of H (~700 instructions), as much as decrypting a
 * short record.  With one context per thread a record of another
 * connection in between meant keying again: 15-24 % of the records of the
 * browser captures found their key set, against 66-93 % with
 * CS_TLS_THREAD_CIPHER_CTXS contexts keyed in turn (the oldest keyed goes:
 * within a point of least recently used there, and a read state finds its
 * context without a scan).  On the bench captures, 7,000 connections
 * interleaved record by record, no small set helps (1.7 % at any size up to
 * 64: a key comes back after ~12,000 other records).
 *
 * A context is the provider's own (cipher_impl: newctx, freectx).  Each
 * read state gets a key_id of its own (a process-wide counter, never
 * reused, never 0), which is what a context remembers: a context is used
 * only for the read state whose key_id it holds, so no record is ever
 * opened with another connection's key. */
static uint64_t next_key_id;
/* The thread's contexts and the key_id each is keyed for. */
static _Thread_local uint64_t thread_ctx_keys[CS_TLS_THREAD_CIPHER_CTXS]; /* 0: keyed for none */
static _Thread_local struct keyed_ctx {
    void *ctx; /* the provider's context for alg; NULL until the thread needs this one */
    int alg;   /* ALG_COUNT while ctx is NULL */
} thread_ctxs[CS_TLS_THREAD_CIPHER_CTXS];
static _Thread_local unsigned thread_ctx_next; /* the one to key next */
static pthread_key_t thread_ctxs_free_key;
static pthread_once_t thread_ctxs_once = PTHREAD_ONCE_INIT;

static void keyed_ctx_drop(struct keyed_ctx *k)
{
    if (k->ctx)
        impls[k->alg].freectx(k->ctx); /* cleanses the key schedule */
    *k = (struct keyed_ctx){NULL, ALG_COUNT};
}

static void thread_ctxs_free(void *ctxs)
{
    struct keyed_ctx *k = ctxs;
    for (size_t i = 0; i < CS_TLS_THREAD_CIPHER_CTXS; i++) {
        keyed_ctx_drop(&k[i]);
        thread_ctx_keys[i] = 0;
    }
}

static void thread_ctxs_init(void)
{
    if (pthread_key_create(&thread_ctxs_free_key, thread_ctxs_free) != 0)
        abort();
}

/* CBC records come with their padding checked by open_cbc (constant
 * pattern, then the MAC): the cipher must not strip it. */
static const OSSL_PARAM *cbc_no_padding(void)
{
    static unsigned int zero = 0;
    static const OSSL_PARAM params[] = {
        {OSSL_CIPHER_PARAM_PADDING, OSSL_PARAM_UNSIGNED_INTEGER, &zero, sizeof zero, 0},
        OSSL_PARAM_END,
    };
    return params;
}

/* Starts a record on context i: keyed for c first unless it holds c's
 * key_id, then iv set (the record's nonce, or its CBC IV, iv_len bytes).
 * The context, or NULL when libcrypto fails. */
static struct keyed_ctx *ctx_start(size_t i, struct cs_tls_cipher *c, const uint8_t *iv,
                                   size_t iv_len, int keyed)
{
    struct keyed_ctx *k = &thread_ctxs[i];
    int which = cipher_alg(c->suite);
    const OSSL_PARAM *params = which >= ALG_AES_128_CBC && which <= ALG_AES_256_CBC
                                   ? cbc_no_padding()
                                   : NULL;
    if (keyed)
        return impls[which].dinit(k->ctx, NULL, 0, iv, iv_len, params) ? k : NULL;
    thread_ctx_keys[i] = 0;
    if (which == ALG_COUNT || !alg(which) || !impls[which].newctx)
        return NULL;
    if (k->alg != which) { /* another algorithm: another provider context */
        keyed_ctx_drop(k);
        pthread_once(&thread_ctxs_once, thread_ctxs_init);
        if (!(k->ctx = impls[which].newctx(impls[which].provctx)))
            return NULL;
        k->alg = which;
        pthread_setspecific(thread_ctxs_free_key, thread_ctxs); /* freed when the thread ends */
    }
    if (!impls[which].dinit(k->ctx, c->key, c->suite->key_len, iv, iv_len, params)) {
        keyed_ctx_drop(k);
        return NULL;
    }
    thread_ctx_keys[i] = c->key_id;
    return k;
}

/* A context of the calling thread keyed for c, with iv set; NULL when
 * libcrypto fails. */
static struct keyed_ctx *ctx_for(struct cs_tls_cipher *c, const uint8_t *iv, size_t iv_len)
{
    /* A read state is keyed in one context at most, the one it names:
     * no scan.  The name is only a hint (a state copied, or used on another
     * thread): the key_id the context holds decides. */
    size_t i = c->ctx_slot % CS_TLS_THREAD_CIPHER_CTXS;
    if (thread_ctx_keys[i] == c->key_id && c->key_id)
        return ctx_start(i, c, iv, iv_len, 1);
    i = thread_ctx_next;
    thread_ctx_next = (thread_ctx_next + 1) % CS_TLS_THREAD_CIPHER_CTXS;
    c->ctx_slot = (uint8_t)i;
    return ctx_start(i, c, iv, iv_len, 0);
}

/* The provider's update: out NULL feeds AEAD additional data. */
static int ctx_update(struct keyed_ctx *k, uint8_t *out, size_t *n, const uint8_t *in, size_t len)
{
    *n = 0;
    return impls[k->alg].update(k->ctx, out, n, len, in, len);
}

/* Names the algorithm and gives the read state its key_id, and for CBC
 * creates the HMAC context with the MAC key set (restarted per record). */
static int cipher_setup(struct cs_tls_cipher *c, const uint8_t *mac_key)
{
    int which = cipher_alg(c->suite);
    if (which == ALG_COUNT || !alg(which) || !impls[which].newctx)
        return -1;
    /* The key is set with the first record's nonce (ctx_for): setting it
     * here too cost a key schedule per direction and epoch, undone by the
     * next connection's record before this one's came. */
    c->key_id = __atomic_add_fetch(&next_key_id, 1, __ATOMIC_RELAXED);
    if (c->suite->bulk == CS_TLS_BULK_AES_CBC) {
        EVP_MAC *mac = alg(ALG_HMAC);
        if (!mac)
            return -1;
        EVP_MAC_CTX_free(c->mac);
        c->mac = EVP_MAC_CTX_new(mac);
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)c->suite->mac_digest, 0),
            OSSL_PARAM_construct_end(),
        };
        if (!c->mac || !EVP_MAC_init(c->mac, mac_key, c->suite->mac_len, params))
            return -1;
    }
    return 0;
}

int cs_tls13_traffic_keys(const struct cs_tls_suite *s, const uint8_t *secret, size_t secret_len,
                          uint8_t key[32], uint8_t iv[12])
{
    if (!s->tls13 || secret_len != s->hash_len)
        return -1;
    size_t hash_len = 0;
    EVP_MAC_CTX *m = hmac_ctx(s->prf_digest, &hash_len);
    if (!m || expand_label_on(m, hash_len, secret, secret_len, "key", NULL, 0, key, s->key_len) ||
        expand_label_on(m, hash_len, NULL, 0, "iv", NULL, 0, iv, 12))
        return -1;
    return 0;
}

int cs_tls13_cipher_set(struct cs_tls_cipher *c, const struct cs_tls_suite *s, const uint8_t key[32],
                        const uint8_t iv[12])
{
    if (!s->tls13)
        return -1;
    c->suite = s;
    c->version = CS_TLS_VERSION_13;
    c->seq = 0;
    memcpy(c->key, key, s->key_len);
    memcpy(c->iv, iv, 12);
    return cipher_setup(c, NULL);
}

int cs_tls13_cipher_keys(struct cs_tls_cipher *c, const struct cs_tls_suite *s,
                         const uint8_t *secret, size_t secret_len)
{
    if (!s->tls13 || secret_len != s->hash_len)
        return -1;
    c->suite = s;
    c->version = CS_TLS_VERSION_13;
    c->seq = 0;
    if (cs_tls13_traffic_keys(s, secret, secret_len, c->key, c->iv))
        return -1;
    return cipher_setup(c, NULL);
}

int cs_tls13_next_secret(const struct cs_tls_suite *s, const uint8_t *secret, uint8_t *out)
{
    if (!s->tls13)
        return -1;
    return cs_tls13_expand_label(s->prf_digest, secret, s->hash_len, "traffic upd", NULL, 0, out,
                                 s->hash_len);
}

int cs_tls12_cipher_keys(struct cs_tls_cipher *client, struct cs_tls_cipher *server,
                         const struct cs_tls_suite *s, const uint8_t master[48],
                         const uint8_t client_random[32], const uint8_t server_random[32],
                         int encrypt_then_mac)
{
    if (s->tls13)
        return -1;
    /* RFC 5246 6.3: client MAC key, server MAC key, client key, server key,
     * client IV, server IV (IVs only for AEAD implicit nonces). */
    uint8_t block[2 * (48 + 32 + 12)];
    uint8_t seed[64];
    memcpy(seed, server_random, 32);
    memcpy(seed + 32, client_random, 32);
    size_t need = 2u * s->mac_len + 2u * s->key_len + 2u * s->fixed_iv_len;
    if (cs_tls12_prf(s->prf_digest, master, 48, "key expansion", seed, 64, block, need))
        return -1;
    const uint8_t *p = block;
    struct cs_tls_cipher *both[2] = {client, server};
    for (int i = 0; i < 2; i++) {
        both[i]->suite = s;
        both[i]->version = CS_TLS_VERSION_12;
        both[i]->encrypt_then_mac = s->bulk == CS_TLS_BULK_AES_CBC && encrypt_then_mac;
        both[i]->seq = 0;
    }
    const uint8_t *client_mac_key = p;
    p += s->mac_len;
    const uint8_t *server_mac_key = p;
    p += s->mac_len;
    memcpy(client->key, p, s->key_len);
    p += s->key_len;
    memcpy(server->key, p, s->key_len);
    p += s->key_len;
    memcpy(client->iv, p, s->fixed_iv_len);
    p += s->fixed_iv_len;
    memcpy(server->iv, p, s->fixed_iv_len);
    int r = cipher_setup(client, client_mac_key) || cipher_setup(server, server_mac_key) ? -1 : 0;
    OPENSSL_cleanse(block, sizeof block);
    return r;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* RFC 8446 5.3 and RFC 7905 2: the 12-byte IV XOR the sequence number
 * padded on the left. */
static void xor_nonce(const uint8_t iv[12], uint64_t seq, uint8_t nonce[12])
{
    uint8_t s[8];
    put_u64(s, seq);
    memcpy(nonce, iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= s[i];
}

/* One AEAD open of the bytes from `skip` on of the pieces joined: the
 * ciphertext, then its 16-byte tag (libcrypto's decryption streams: one
 * update per piece).  0 when the tag verified, the plaintext (as long as
 * the ciphertext) in out. */
static int aead_open(struct cs_tls_cipher *c, const uint8_t nonce[12], const uint8_t *aad,
                     size_t aad_len, const struct cs_tls_piece *pieces, unsigned n_pieces,
                     size_t skip, size_t total, uint8_t *out)
{
    size_t ct_end = total - 16; /* the ciphertext: bytes [skip, ct_end) of the pieces */
    uint8_t tag[16];
    struct keyed_ctx *k = ctx_for(c, nonce, 12);
    size_t n = 0;
    if (!k || !ctx_update(k, NULL, &n, aad, aad_len))
        return CS_TLS_OPEN_CRYPTO_ERROR;
    size_t at = 0, done = 0; /* where the piece starts in the pieces joined; plaintext out */
    for (unsigned i = 0; i < n_pieces; at += pieces[i].n, i++) {
        const uint8_t *p = pieces[i].p;
        size_t end = at + pieces[i].n;
        size_t lo = at < skip ? skip : at, hi = end < ct_end ? end : ct_end;
        if (lo < hi) {
            if (!ctx_update(k, out + done, &n, p + (lo - at), hi - lo))
                return CS_TLS_OPEN_CRYPTO_ERROR;
            done += n;
        }
        for (size_t b = at > ct_end ? at : ct_end; b < end; b++) /* the tag's bytes in it */
            tag[b - ct_end] = p[b - at];
    }
    OSSL_PARAM expect[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, sizeof tag),
        OSSL_PARAM_construct_end(),
    };
    if (!impls[k->alg].set_ctx_params(k->ctx, expect))
        return CS_TLS_OPEN_CRYPTO_ERROR;
    /* An AEAD's final writes nothing; it compares the tag. */
    return impls[k->alg].final(k->ctx, out + done, &n, 0) ? 0 : CS_TLS_OPEN_AUTH_FAILED;
}

/* RFC 8446 5.2, after decryption: the plaintext is content ||
 * ContentType || zeros. */
static enum cs_tls_open_result tls13_inner(const uint8_t *out, size_t ct_len, size_t *out_len,
                                           uint8_t *type)
{
    size_t n = ct_len;
    while (n > 0 && out[n - 1] == 0)
        n--;
    if (n == 0)
        return CS_TLS_OPEN_MALFORMED; /* no content type: unexpected_message */
    *type = out[n - 1];
    *out_len = n - 1;
    return CS_TLS_OPEN_OK;
}

/* RFC 8446 5.2: a TLS 1.3 record with the AAD `header` and its fragment
 * the bytes from `skip` on of the pieces joined. */
static enum cs_tls_open_result tls13_open(struct cs_tls_cipher *c, uint64_t seq,
                                          const uint8_t header[5], const struct cs_tls_piece *pieces,
                                          unsigned n_pieces, size_t skip, uint8_t *out,
                                          size_t *out_len, uint8_t *type)
{
    size_t total = 0;
    for (unsigned i = 0; i < n_pieces; i++)
        total += pieces[i].n;
    if (total < skip + 16 + 1)
        return CS_TLS_OPEN_MALFORMED;
    uint8_t nonce[12];
    xor_nonce(c->iv, seq, nonce);
    int r = aead_open(c, nonce, header, 5, pieces, n_pieces, skip, total, out);
    return r ? (enum cs_tls_open_result)r : tls13_inner(out, total - 16 - skip, out_len, type);
}

enum cs_tls_open_result cs_tls13_record_open_pieces(struct cs_tls_cipher *c, uint64_t seq,
                                                    const struct cs_tls_piece *pieces,
                                                    unsigned n_pieces, uint8_t *out, size_t *out_len,
                                                    uint8_t *type)
{
    size_t total = 0;
    for (unsigned i = 0; i < n_pieces; i++)
        total += pieces[i].n;
    if (!c->suite || c->version != CS_TLS_VERSION_13 || !n_pieces || pieces[0].n < 5 ||
        total - 5 > CS_TLS_MAX_CIPHERTEXT)
        return CS_TLS_OPEN_MALFORMED;
    return tls13_open(c, seq, pieces[0].p, pieces, n_pieces, 5, out, out_len, type);
}

/* RFC 5246 6.2.3.1 (and RFC 7366 for encrypt-then-MAC): the HMAC over
 * seq_num + type + version + length + content, compared in constant time. */
static int mac_check(struct cs_tls_cipher *c, uint64_t seq, uint8_t type, const uint8_t version[2],
                     const uint8_t *data, size_t len, const uint8_t *expect)
{
    uint8_t pre[13], got[64];
    size_t got_len = 0;
    put_u64(pre, seq);
    pre[8] = type;
    pre[9] = version[0];
    pre[10] = version[1];
    pre[11] = (uint8_t)(len >> 8);
    pre[12] = (uint8_t)len;
    /* EVP_MAC_init without a key starts again from the key set up with
     * the read state: one digest state copied, where a duplicate of the
     * whole context per record copied three and freed them again. */
    EVP_MAC_CTX *m = c->mac;
    int ok = m && EVP_MAC_init(m, NULL, 0, NULL) && EVP_MAC_update(m, pre, sizeof pre) &&
             EVP_MAC_update(m, data, len) && EVP_MAC_final(m, got, &got_len, sizeof got);
    if (!ok || got_len != c->suite->mac_len)
        return CS_TLS_OPEN_CRYPTO_ERROR;
    return CRYPTO_memcmp(got, expect, got_len) == 0 ? 0 : CS_TLS_OPEN_AUTH_FAILED;
}

static int cbc_decrypt(struct cs_tls_cipher *c, const uint8_t *iv, const uint8_t *ct, size_t len, uint8_t *out)
{
    size_t n = 0, fin = 0;
    struct keyed_ctx *k = ctx_for(c, iv, 16);
    if (!k || !ctx_update(k, out, &n, ct, len) || n > len ||
        !impls[k->alg].final(k->ctx, out + n, &fin, len - n) || n + fin != len)
        return CS_TLS_OPEN_CRYPTO_ERROR;
    return 0;
}

/* TLS 1.2 CBC (RFC 5246 6.2.3.2): IV || E(content || MAC || padding ||
 * padding_length), or with RFC 7366 IV || E(content || padding) || MAC. */
static enum cs_tls_open_result open_cbc(struct cs_tls_cipher *c, uint64_t seq, const uint8_t header[5],
                                        const uint8_t *frag, size_t len, uint8_t *out, size_t *out_len)
{
    size_t mac_len = c->suite->mac_len;
    const uint8_t *version = header + 1;
    if (c->encrypt_then_mac) {
        if (len < 16 + 16 + mac_len || (len - mac_len) % 16)
            return CS_TLS_OPEN_MALFORMED;
        size_t body = len - mac_len;
        int r = mac_check(c, seq, header[0], version, frag, body, frag + body);
        if (r)
            return r;
        if ((r = cbc_decrypt(c, frag, frag + 16, body - 16, out)))
            return r;
        size_t plen = body - 16;
        uint8_t pad = out[plen - 1];
        if ((size_t)pad + 1 > plen)
            return CS_TLS_OPEN_AUTH_FAILED;
        for (size_t i = plen - 1 - pad; i < plen; i++)
            if (out[i] != pad)
                return CS_TLS_OPEN_AUTH_FAILED;
        *out_len = plen - 1 - pad;
        return CS_TLS_OPEN_OK;
    }
    if (len < 16 + 16 || (len - 16) % 16 || len - 16 < mac_len + 1)
        return CS_TLS_OPEN_MALFORMED;
    size_t plen = len - 16;
    int r = cbc_decrypt(c, frag, frag + 16, plen, out);
    if (r)
        return r;
    uint8_t pad = out[plen - 1];
    if ((size_t)pad + 1 + mac_len > plen)
        return CS_TLS_OPEN_AUTH_FAILED;
    for (size_t i = plen - 1 - pad; i < plen; i++)
        if (out[i] != pad)
            return CS_TLS_OPEN_AUTH_FAILED;
    size_t content = plen - 1 - pad - mac_len;
    if ((r = mac_check(c, seq, header[0], version, out, content, out + content)))
        return r;
    *out_len = content;
    return CS_TLS_OPEN_OK;
}

enum cs_tls_open_result cs_tls_record_open(struct cs_tls_cipher *c, uint64_t seq,
                                           const uint8_t header[5], const uint8_t *frag,
                                           size_t frag_len, uint8_t *out, size_t *out_len,
                                           uint8_t *type)
{
    if (!c->suite || frag_len > CS_TLS_MAX_CIPHERTEXT)
        return CS_TLS_OPEN_MALFORMED;
    uint8_t nonce[12];
    if (c->version == CS_TLS_VERSION_13) {
        /* RFC 8446 5.2: AAD is the record header; the plaintext is
         * content || ContentType || zeros. */
        const struct cs_tls_piece whole = {frag, frag_len};
        return tls13_open(c, seq, header, &whole, 1, 0, out, out_len, type);
    }
    *type = header[0];
    if (c->suite->bulk == CS_TLS_BULK_AES_CBC)
        return open_cbc(c, seq, header, frag, frag_len, out, out_len);

    /* TLS 1.2 AEAD (RFC 5246 6.2.3.3): additional_data = seq_num + type +
     * version + length of the plaintext.  GCM (RFC 5288 3): nonce = salt(4)
     * || explicit(8) carried in the record.  ChaCha20 (RFC 7905 2): nonce =
     * IV XOR seq, nothing explicit. */
    size_t explicit = 0;
    if (c->suite->bulk == CS_TLS_BULK_AES_GCM) {
        explicit = 8;
        if (frag_len < explicit + 16)
            return CS_TLS_OPEN_MALFORMED;
        memcpy(nonce, c->iv, 4);
        memcpy(nonce + 4, frag, 8);
    } else {
        if (frag_len < 16)
            return CS_TLS_OPEN_MALFORMED;
        xor_nonce(c->iv, seq, nonce);
    }
    size_t ct_len = frag_len - explicit - 16;
    uint8_t aad[13];
    put_u64(aad, seq);
    aad[8] = header[0];
    aad[9] = header[1];
    aad[10] = header[2];
    aad[11] = (uint8_t)(ct_len >> 8);
    aad[12] = (uint8_t)ct_len;
    const struct cs_tls_piece whole = {frag, frag_len};
    int r = aead_open(c, nonce, aad, sizeof aad, &whole, 1, explicit, frag_len, out);
    if (r)
        return r;
    *out_len = ct_len;
    return CS_TLS_OPEN_OK;
}
