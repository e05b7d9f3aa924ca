/* TLS key schedule against published vectors (RFC 8448 section 3, the TLS
 * 1.2 PRF vectors circulated on the IETF TLS list), the RFC 8448 trace
 * decrypted through the connection object, and the key log parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "testutil.h"
#include "tls_conn.h"
#include "tls_hs.h"
#include "tls_keys.h"
#include "tls_testutil.h"
#include "tls_rfc8448.h"

static void expand_eq(const char *secret_hex, const char *label, const char *ctx_hex, size_t out_len,
                      const char *want_hex)
{
    size_t sl, cl = 0;
    uint8_t *secret = unhex_alloc(secret_hex, &sl);
    uint8_t *ctx = ctx_hex ? unhex_alloc(ctx_hex, &cl) : NULL;
    uint8_t out[64];
    CU_ASSERT_EQUAL_FATAL(cs_tls13_expand_label("SHA256", secret, sl, label, ctx, cl, out, out_len), 0);
    CU_ASSERT(hex_equals(out, out_len, want_hex));
    free(secret);
    free(ctx);
}

/* RFC 8448 3: every secret of the schedule from the one before it. */
static void test_rfc8448_schedule(void)
{
    size_t n1, n2;
    uint8_t out[32];
    uint8_t *salt = unhex_alloc(R8448_DERIVED_EARLY, &n1), *ikm = unhex_alloc(R8448_ECDHE, &n2);
    CU_ASSERT_EQUAL(cs_tls_hkdf_extract("SHA256", salt, n1, ikm, n2, out, 32), 0);
    CU_ASSERT(hex_equals(out, 32, R8448_HS));
    free(salt);
    free(ikm);
    uint8_t zeros[32] = {0};
    CU_ASSERT_EQUAL(cs_tls_hkdf_extract("SHA256", NULL, 0, zeros, 32, out, 32), 0);
    CU_ASSERT(hex_equals(out, 32, R8448_EARLY));

    expand_eq(R8448_EARLY, "derived", R8448_EMPTY_HASH, 32, R8448_DERIVED_EARLY);
    expand_eq(R8448_HS, "c hs traffic", R8448_HS_HASH, 32, R8448_C_HS);
    expand_eq(R8448_HS, "s hs traffic", R8448_HS_HASH, 32, R8448_S_HS);
    expand_eq(R8448_MASTER, "c ap traffic", R8448_AP_HASH, 32, R8448_C_AP);
    expand_eq(R8448_MASTER, "s ap traffic", R8448_AP_HASH, 32, R8448_S_AP);
    expand_eq(R8448_MASTER, "exp master", R8448_AP_HASH, 32, R8448_EXP);
    expand_eq(R8448_S_HS, "finished", NULL, 32, R8448_S_FINISHED_KEY);
    expand_eq(R8448_S_HS, "key", NULL, 16, R8448_S_HS_KEY);
    expand_eq(R8448_S_HS, "iv", NULL, 12, R8448_S_HS_IV);
    expand_eq(R8448_C_HS, "key", NULL, 16, R8448_C_HS_KEY);
    expand_eq(R8448_C_HS, "iv", NULL, 12, R8448_C_HS_IV);
    expand_eq(R8448_S_AP, "key", NULL, 16, R8448_S_AP_KEY);
    expand_eq(R8448_S_AP, "iv", NULL, 12, R8448_S_AP_IV);
    expand_eq(R8448_C_AP, "iv", NULL, 12, R8448_C_AP_IV);

    /* The cipher state derives the same key and iv. */
    size_t sl;
    uint8_t *s = unhex_alloc(R8448_S_HS, &sl);
    struct cs_tls_cipher c;
    memset(&c, 0, sizeof c);
    CU_ASSERT_EQUAL(cs_tls13_cipher_keys(&c, cs_tls_suite_find(0x1301), s, sl), 0);
    CU_ASSERT(hex_equals(c.key, 16, R8448_S_HS_KEY));
    CU_ASSERT(hex_equals(c.iv, 12, R8448_S_HS_IV));
    cs_tls_cipher_clear(&c);
    free(s);
}

/* Opens rec (as sealed by seal13) with c at seq; the result, and the
 * content in out. */
static enum cs_tls_open_result open13(struct cs_tls_cipher *c, uint64_t seq, const uint8_t *rec,
                                      uint8_t *out, size_t *out_len)
{
    uint8_t type = 0;
    size_t frag = (size_t)rec[3] << 8 | rec[4];
    enum cs_tls_open_result r = cs_tls_record_open(c, seq, rec, rec + 5, frag, out, out_len, &type);
    CU_ASSERT(r != CS_TLS_OPEN_OK || type == 23);
    return r;
}

/* Records of more connections than a thread keeps keyed cipher contexts,
 * interleaved in changing orders and suites: each opens with its own keys
 * only (never with the context another connection's key left), and a
 * tampered record or tag fails, whether its context was still keyed or had
 * to be keyed again. */
static void test_cipher_contexts_interleaved(void)
{
    enum { CONNS = CS_TLS_THREAD_CIPHER_CTXS + 5,
           ROUNDS = 6 };
    static const uint16_t suite_ids[] = {0x1301, 0x1302, 0x1303};
    struct cs_tls_cipher c[CONNS];
    memset(c, 0, sizeof c);
    for (int i = 0; i < CONNS; i++) {
        const struct cs_tls_suite *s = cs_tls_suite_find(suite_ids[i % 3 == 2 ? (i / 3) % 3 : 0]);
        uint8_t secret[48];
        for (size_t b = 0; b < sizeof secret; b++)
            secret[b] = (uint8_t)(i * 31 + (int)b);
        CU_ASSERT_EQUAL_FATAL(cs_tls13_cipher_keys(&c[i], s, secret, s->hash_len), 0);
    }
    uint8_t rec[128], out[CS_TLS_MAX_CIPHERTEXT], content[32];
    size_t out_len = 0;
    unsigned opened = 0;
    for (uint64_t r = 0; r < ROUNDS; r++) {
        /* round 0 in order (every context re-keyed), later rounds strided,
         * some connections twice in a row (their context still keyed) */
        for (int k = 0; k < CONNS; k++) {
            int i = r == 0 ? k : (int)(((uint64_t)k * (2 * r + 1) + r) % CONNS);
            int n = snprintf((char *)content, sizeof content, "conn %d record %u", i, (unsigned)r);
            size_t len = seal13(&c[i], r, content, (size_t)n, rec);
            CU_ASSERT_EQUAL(open13(&c[i], r, rec, out, &out_len), CS_TLS_OPEN_OK);
            CU_ASSERT(out_len == (size_t)n && memcmp(out, content, (size_t)n) == 0);
            opened++;
            /* the same record with the previous connection's keys (whose
             * context is keyed, or was just replaced): refused */
            int j = (i + CONNS - 1) % CONNS;
            CU_ASSERT_EQUAL(open13(&c[j], r, rec, out, &out_len), CS_TLS_OPEN_AUTH_FAILED);
            /* with its own keys again, then tampered: ciphertext, tag */
            if (k % 3 == 0) {
                CU_ASSERT_EQUAL(open13(&c[i], r, rec, out, &out_len), CS_TLS_OPEN_OK);
                rec[5 + 2] ^= 0x40;
                CU_ASSERT_EQUAL(open13(&c[i], r, rec, out, &out_len), CS_TLS_OPEN_AUTH_FAILED);
                rec[5 + 2] ^= 0x40;
                rec[len - 1] ^= 0x01;
                CU_ASSERT_EQUAL(open13(&c[i], r, rec, out, &out_len), CS_TLS_OPEN_AUTH_FAILED);
                rec[len - 1] ^= 0x01;
                CU_ASSERT_EQUAL(open13(&c[i], r + 1, rec, out, &out_len), CS_TLS_OPEN_AUTH_FAILED);
                CU_ASSERT_EQUAL(open13(&c[i], r, rec, out, &out_len), CS_TLS_OPEN_OK);
            }
        }
    }
    CU_ASSERT_EQUAL(opened, CONNS * ROUNDS);
    /* a cleared read state and a new one in its place: a new key_id, never
     * the context the old keys left */
    uint8_t secret[32] = {7};
    size_t len = seal13(&c[0], 0, (const uint8_t *)"x", 1, rec);
    cs_tls_cipher_clear(&c[0]);
    CU_ASSERT_EQUAL(open13(&c[0], 0, rec, out, &out_len), CS_TLS_OPEN_MALFORMED);
    CU_ASSERT_EQUAL(cs_tls13_cipher_keys(&c[0], cs_tls_suite_find(0x1301), secret, 32), 0);
    CU_ASSERT_EQUAL(open13(&c[0], 0, rec, out, &out_len), CS_TLS_OPEN_AUTH_FAILED);
    (void)len;
    for (int i = 0; i < CONNS; i++)
        cs_tls_cipher_clear(&c[i]);
}

/* Seals one TLS 1.2 CBC record (RFC 5246 6.2.3.2, MAC-then-encrypt) of c
 * at seq with libcrypto directly, with the MAC key given; its length. */
static size_t seal12_cbc(const struct cs_tls_cipher *c, const uint8_t *mac_key, uint64_t seq,
                         const uint8_t *content, size_t n, uint8_t *rec)
{
    const struct cs_tls_suite *s = c->suite;
    uint8_t plain[256], pre[13], iv[16];
    size_t mac_len = 0;
    for (int i = 0; i < 8; i++)
        pre[i] = (uint8_t)(seq >> (56 - 8 * i));
    pre[8] = 23, pre[9] = 3, pre[10] = 3, pre[11] = (uint8_t)(n >> 8), pre[12] = (uint8_t)n;
    memcpy(plain, content, n);
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *m = EVP_MAC_CTX_new(hmac);
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string("digest", (char *)s->mac_digest, 0),
        OSSL_PARAM_construct_end(),
    };
    CU_ASSERT_FATAL(m && EVP_MAC_init(m, mac_key, s->mac_len, params) &&
                    EVP_MAC_update(m, pre, sizeof pre) && EVP_MAC_update(m, content, n) &&
                    EVP_MAC_final(m, plain + n, &mac_len, sizeof plain - n));
    EVP_MAC_CTX_free(m);
    EVP_MAC_free(hmac);
    size_t len = n + mac_len;
    uint8_t pad = (uint8_t)(15 - len % 16);
    memset(plain + len, pad, (size_t)pad + 1);
    len += (size_t)pad + 1;
    memset(iv, (int)seq + 1, sizeof iv);
    memcpy(rec + 5, iv, 16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int out = 0, fin = 0;
    CU_ASSERT_FATAL(ctx &&
                    EVP_EncryptInit_ex2(ctx, s->key_len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(),
                                        c->key, iv, NULL) &&
                    EVP_CIPHER_CTX_set_padding(ctx, 0) &&
                    EVP_EncryptUpdate(ctx, rec + 5 + 16, &out, plain, (int)len) &&
                    EVP_EncryptFinal_ex(ctx, rec + 5 + 16 + out, &fin));
    EVP_CIPHER_CTX_free(ctx);
    size_t frag = 16 + len;
    rec[0] = 23, rec[1] = 3, rec[2] = 3, rec[3] = (uint8_t)(frag >> 8), rec[4] = (uint8_t)frag;
    return 5 + frag;
}

/* TLS 1.2 CBC: the read state's HMAC context serves record after record
 * (restarted from its key each time), a tampered MAC fails and the next
 * good record still opens. */
static void test_cbc_records_in_turn(void)
{
    const struct cs_tls_suite *s = cs_tls_suite_find(0xC014); /* AES-256-CBC, HMAC-SHA1 */
    uint8_t master[48], crand[32], srand[32], rec[512], out[CS_TLS_MAX_CIPHERTEXT], type = 0;
    memset(master, 0x11, sizeof master);
    memset(crand, 0x22, sizeof crand);
    memset(srand, 0x33, sizeof srand);
    struct cs_tls_cipher cl, sv;
    memset(&cl, 0, sizeof cl);
    memset(&sv, 0, sizeof sv);
    CU_ASSERT_EQUAL_FATAL(cs_tls12_cipher_keys(&cl, &sv, s, master, crand, srand, 0), 0);
    /* the client's MAC key: the key block's first mac_len bytes */
    uint8_t seed[64], block[2 * (48 + 32)];
    memcpy(seed, srand, 32);
    memcpy(seed + 32, crand, 32);
    CU_ASSERT_EQUAL_FATAL(cs_tls12_prf(s->prf_digest, master, 48, "key expansion", seed, 64, block,
                                       2u * s->mac_len + 2u * s->key_len),
                          0);
    for (uint64_t seq = 0; seq < 4; seq++) {
        char content[40];
        int n = snprintf(content, sizeof content, "record %u of the client", (unsigned)seq);
        size_t len = seal12_cbc(&cl, block, seq, (const uint8_t *)content, (size_t)n, rec);
        size_t out_len = 0;
        CU_ASSERT_EQUAL(cs_tls_record_open(&cl, seq, rec, rec + 5, len - 5, out, &out_len, &type),
                        CS_TLS_OPEN_OK);
        CU_ASSERT(out_len == (size_t)n && memcmp(out, content, (size_t)n) == 0);
        CU_ASSERT_EQUAL(cs_tls_record_open(&sv, seq, rec, rec + 5, len - 5, out, &out_len, &type),
                        CS_TLS_OPEN_AUTH_FAILED); /* the other direction's keys */
        if (seq == 2) {                           /* the wrong sequence number: the MAC does not verify */
            CU_ASSERT_EQUAL(cs_tls_record_open(&cl, seq + 1, rec, rec + 5, len - 5, out, &out_len, &type),
                            CS_TLS_OPEN_AUTH_FAILED);
            CU_ASSERT_EQUAL(cs_tls_record_open(&cl, seq, rec, rec + 5, len - 5, out, &out_len, &type),
                            CS_TLS_OPEN_OK);
        }
    }
    cs_tls_cipher_clear(&cl);
    cs_tls_cipher_clear(&sv);
}

/* TLS 1.2 PRF known answers: secret, seed and label "test label" from the
 * vectors posted to the IETF TLS list (P_SHA256, 100 bytes; P_SHA384, 148
 * bytes); the outputs were also recomputed with Python's hmac module. */
static void test_tls12_prf_vectors(void)
{
    size_t sl, dl;
    uint8_t out[148];
    uint8_t *secret = unhex_alloc("9bbe436ba940f017b17652849a71db35", &sl);
    uint8_t *seed = unhex_alloc("a0ba9f936cda311827a6f796ffd5198c", &dl);
    CU_ASSERT_EQUAL(cs_tls12_prf("SHA256", secret, sl, "test label", seed, dl, out, 100), 0);
    CU_ASSERT(hex_equals(out, 100,
                         "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af"
                         "0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
                         "87347b66"));
    free(secret);
    free(seed);
    secret = unhex_alloc("b80b733d6ceefcdc71566ea48e5567df", &sl);
    seed = unhex_alloc("cd665cf6a8447dd6ff8b27555edb7465", &dl);
    CU_ASSERT_EQUAL(cs_tls12_prf("SHA384", secret, sl, "test label", seed, dl, out, 148), 0);
    CU_ASSERT(hex_equals(out, 148,
                         "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0"
                         "e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425"
                         "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e099070"
                         "3d73e56f"));
    free(secret);
    free(seed);
}

static const char *rfc8448_keylog(void)
{
    return "CLIENT_HANDSHAKE_TRAFFIC_SECRET " R8448_CLIENT_RANDOM " " R8448_C_HS "\n"
           "SERVER_HANDSHAKE_TRAFFIC_SECRET " R8448_CLIENT_RANDOM " " R8448_S_HS "\n"
           "CLIENT_TRAFFIC_SECRET_0 " R8448_CLIENT_RANDOM " " R8448_C_AP "\n"
           "SERVER_TRAFFIC_SECRET_0 " R8448_CLIENT_RANDOM " " R8448_S_AP "\n";
}

/* The two byte streams of the RFC 8448 trace in wire order. */
struct trace {
    uint8_t *client;
    size_t client_len;
    uint8_t *server;
    size_t server_len;
};

static struct trace rfc8448_streams(void)
{
    char *c = NULL, *s = NULL;
    if (asprintf(&c, "%s%s%s%s", R8448_CH_REC, R8448_CFIN_REC, R8448_C_APP_REC, R8448_C_ALERT_REC) < 0 ||
        asprintf(&s, "%s%s%s%s%s", R8448_SH_REC, R8448_FLIGHT_REC, R8448_NST_REC, R8448_S_APP_REC,
                 R8448_S_ALERT_REC) < 0)
        abort();
    struct trace t;
    t.client = unhex_alloc(c, &t.client_len);
    t.server = unhex_alloc(s, &t.server_len);
    free(c);
    free(s);
    return t;
}

static void free_trace(struct trace *t)
{
    free(t->client);
    free(t->server);
}

/* Feeds the trace: the ClientHello, the whole server side, then the rest
 * of the client side, each cut into pieces of `piece` bytes (0: whole). */
static void feed_rfc8448(struct cs_tls_conn *c, const struct trace *t, size_t piece)
{
    size_t ch = 201;
    uint64_t frame = 1;
    const struct {
        enum cs_tls_dir dir;
        const uint8_t *p;
        size_t n;
    } parts[] = {
        {CS_TLS_FROM_CLIENT, t->client, ch},
        {CS_TLS_FROM_SERVER, t->server, t->server_len},
        {CS_TLS_FROM_CLIENT, t->client + ch, t->client_len - ch},
    };
    for (int i = 0; i < 3; i++)
        for (size_t off = 0; off < parts[i].n;) {
            size_t n = piece && piece < parts[i].n - off ? piece : parts[i].n - off;
            struct guarded g = guarded_copy(parts[i].p + off, n);
            cs_tls_conn_data(c, parts[i].dir, g.data, n, frame++, 0);
            guarded_free(&g);
            off += n;
        }
}

static void check_rfc8448_result(struct cs_tls_conn *c, struct collected *got)
{
    struct cs_tls_info info;
    cs_tls_conn_info(c, &info);
    uint8_t payload[50];
    for (int i = 0; i < 50; i++)
        payload[i] = (uint8_t)i;
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_DECRYPTING);
    CU_ASSERT_EQUAL(info.version, CS_TLS_VERSION_13);
    CU_ASSERT_STRING_EQUAL(info.cipher, "TLS_AES_128_GCM_SHA256");
    CU_ASSERT_STRING_EQUAL(info.sni, "server");
    CU_ASSERT_EQUAL(info.n.auth_failures, 0);
    /* flight, NST, app, alert from the server; Finished, app, alert from the client */
    CU_ASSERT_EQUAL(info.n.records_decrypted, 7);
    CU_ASSERT_EQUAL(got->len[0], 50);
    CU_ASSERT_EQUAL(got->len[1], 50);
    CU_ASSERT(memcmp(got->data[0], payload, 50) == 0);
    CU_ASSERT(memcmp(got->data[1], payload, 50) == 0);
    CU_ASSERT_EQUAL(got->closes[0], 1);
    CU_ASSERT_EQUAL(got->closes[1], 1);
    CU_ASSERT_EQUAL(info.n.close_notify, 2);
}

/* The RFC 8448 trace through a new connection reading keys from kl, whole:
 * what the connection says after it (its counters and states; its strings
 * go with it), what it released in *got. */
static struct cs_tls_info rfc8448_through(const struct cs_tls_keylog *kl, struct collected *got)
{
    struct cs_tls_conn *c = cs_tls_conn_new(kl, 0, collect_sink, got);
    struct trace t = rfc8448_streams();
    feed_rfc8448(c, &t, 0);
    struct cs_tls_info info;
    cs_tls_conn_info(c, &info);
    free_trace(&t);
    cs_tls_conn_free(c);
    return info;
}

/* The RFC 8448 trace through a connection reading keys from kl, in pieces
 * of `piece` bytes (0: whole), decrypts as it should. */
static void decrypts_rfc8448(const struct cs_tls_keylog *kl, size_t piece)
{
    struct collected *got = calloc(1, sizeof *got);
    struct cs_tls_conn *c = cs_tls_conn_new(kl, 0, collect_sink, got);
    struct trace t = rfc8448_streams();
    feed_rfc8448(c, &t, piece);
    check_rfc8448_result(c, got);
    free_trace(&t);
    cs_tls_conn_free(c);
    free(got);
}

static void test_rfc8448_decrypt(void)
{
    size_t pieces[] = {0, 1, 7, 1000};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        struct cs_tls_keylog *kl = keylog_from(rfc8448_keylog());
        decrypts_rfc8448(kl, pieces[i]);
        cs_tls_keylog_free(kl);
    }
}

/* A key log file read once and for all (-r): its secrets stay in the
 * file, read again when looked up.  The trace decrypts as with the lines
 * in memory, in less memory; a line padded by a comment line and a CRLF
 * ending reads back too; a secret whose digits were overwritten since
 * reads back as none (the connection finds no key). */
static void test_keylog_kept_in_file(void)
{
    char path[] = "/tmp/cs_keylog_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# comment\n%s", rfc8448_keylog());
    fclose(f);
    char err[256];
    struct cs_tls_keylog *mem = keylog_from(rfc8448_keylog());
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    CU_ASSERT_EQUAL(cs_tls_keylog_read_file_ex(kl, path, true, err, sizeof err), 4);
    struct cs_tls_keylog_stats sm, sf;
    cs_tls_keylog_get_stats(mem, &sm);
    cs_tls_keylog_get_stats(kl, &sf);
    CU_ASSERT_EQUAL(sf.entries, 1);
    CU_ASSERT(sf.bytes_used < sm.bytes_used);
    uint8_t random[32];
    size_t rl;
    uint8_t *r = unhex_alloc(R8448_CLIENT_RANDOM, &rl);
    memcpy(random, r, 32);
    free(r);
    cs_tls_keylog_ref ref = cs_tls_keylog_find(kl, random), mref = cs_tls_keylog_find(mem, random);
    for (int k = 0; k < CS_TLS_SECRET_KINDS; k++) {
        size_t a, b;
        const uint8_t *x = cs_tls_keylog_secret(kl, ref, (enum cs_tls_secret_kind)k, &a);
        const uint8_t *y = cs_tls_keylog_secret(mem, mref, (enum cs_tls_secret_kind)k, &b);
        CU_ASSERT_EQUAL(a, b);
        CU_ASSERT((x == NULL) == (y == NULL));
        if (x && y)
            CU_ASSERT(memcmp(x, y, a) == 0);
    }
    decrypts_rfc8448(kl, 0);
    decrypts_rfc8448(kl, 7);
    /* the server's handshake secret overwritten in place: none any more */
    f = fopen(path, "r+");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    char *line = strstr(text, "SERVER_HANDSHAKE_TRAFFIC_SECRET");
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    char *digits = strrchr(strtok(line, "\n"), ' ') + 1;
    fseek(f, (long)(digits - text), SEEK_SET);
    fputs("zz", f);
    fclose(f);
    /* (read now, the overwritten line is refused; a lookup in this second
     * key log's entry, which has the same ref, takes the thread's cache
     * slot where the first one's secrets were) */
    struct cs_tls_keylog *kl2 = cs_tls_keylog_new(0);
    CU_ASSERT_EQUAL(cs_tls_keylog_read_file_ex(kl2, path, true, err, sizeof err), 3);
    size_t len;
    CU_ASSERT_EQUAL(cs_tls_keylog_find(kl2, random), ref);
    CU_ASSERT_PTR_NOT_NULL(cs_tls_keylog_secret(kl2, ref, CS_TLS_SECRET_CLIENT_HS, &len));
    CU_ASSERT_PTR_NULL(cs_tls_keylog_secret(kl2, ref, CS_TLS_SECRET_SERVER_HS, &len));
    cs_tls_keylog_free(kl2);
    CU_ASSERT_PTR_NULL(cs_tls_keylog_secret(kl, ref, CS_TLS_SECRET_SERVER_HS, &len));
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_PTR_NOT_NULL(cs_tls_keylog_secret(kl, ref, CS_TLS_SECRET_CLIENT_HS, &len));
    struct collected *got = calloc(1, sizeof *got);
    struct cs_tls_info info = rfc8448_through(kl, got);
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_NO_KEY);
    CU_ASSERT_EQUAL(got->len[0] + got->len[1], 0);
    free(got);
    unlink(path);
    cs_tls_keylog_free(kl);
    cs_tls_keylog_free(mem);
}

/* The key line arrives after the records: they are held, then decrypted. */
static void test_rfc8448_late_key(void)
{
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    struct collected *got = calloc(1, sizeof *got);
    struct cs_tls_conn *c = cs_tls_conn_new(kl, 64 * 1024, collect_sink, got);
    struct trace t = rfc8448_streams();
    feed_rfc8448(c, &t, 0);
    struct cs_tls_info info;
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_NO_KEY);
    CU_ASSERT_EQUAL(got->len[0] + got->len[1], 0);
    CU_ASSERT_EQUAL(info.n.held_records, 7);
    CU_ASSERT_EQUAL(cs_tls_conn_retry(c), 0); /* key log unchanged */
    const char *lines = rfc8448_keylog();
    for (const char *p = lines; *p;) {
        const char *nl = strchr(p, '\n');
        cs_tls_keylog_add_line(kl, p, (size_t)(nl - p));
        p = nl + 1;
    }
    CU_ASSERT_EQUAL(cs_tls_conn_retry(c), 1);
    check_rfc8448_result(c, got);
    CU_ASSERT(cs_tls_conn_memory(c) < 200 * 1024);
    free_trace(&t);
    cs_tls_conn_free(c);
    cs_tls_keylog_free(kl);
    free(got);
}

/* A budget too small for the server flight: records are dropped and
 * counted; after the key arrives decryption resumes on the next records
 * by trying sequence numbers and the next keys against the tag. */
static void test_rfc8448_late_key_budget(void)
{
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    struct collected *got = calloc(1, sizeof *got);
    struct cs_tls_conn *c = cs_tls_conn_new(kl, 100, collect_sink, got);
    struct trace t = rfc8448_streams();
    feed_rfc8448(c, &t, 0);
    const char *lines = rfc8448_keylog();
    for (const char *p = lines; *p;) {
        const char *nl = strchr(p, '\n');
        cs_tls_keylog_add_line(kl, p, (size_t)(nl - p));
        p = nl + 1;
    }
    CU_ASSERT_EQUAL(cs_tls_conn_retry(c), 1);
    struct cs_tls_info info;
    cs_tls_conn_info(c, &info);
    CU_ASSERT(info.n.held_dropped_records > 0);
    CU_ASSERT_EQUAL(info.n.auth_failures, 0);
    CU_ASSERT(got->gaps[1] >= 1);
    /* whatever came out is the real plaintext */
    for (size_t i = 0; i < got->len[1]; i++)
        CU_ASSERT_EQUAL(got->data[1][i], i);
    free_trace(&t);
    cs_tls_conn_free(c);
    cs_tls_keylog_free(kl);
    free(got);
}

/* A gap swallowing the client Finished: the client's application record
 * is found by its header and decrypts with the application keys at 0. */
static void test_rfc8448_gap_resync(void)
{
    struct cs_tls_keylog *kl = keylog_from(rfc8448_keylog());
    struct collected *got = calloc(1, sizeof *got);
    struct cs_tls_conn *c = cs_tls_conn_new(kl, 0, collect_sink, got);
    struct trace t = rfc8448_streams();
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client, 201, 1, 0);
    cs_tls_conn_data(c, CS_TLS_FROM_SERVER, t.server, t.server_len, 2, 0);
    cs_tls_conn_gap(c, CS_TLS_FROM_CLIENT, 58 + 10, 3, 0);
    /* the stream resumes mid-record: 10 bytes into the application record */
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client + 201 + 58 + 10, t.client_len - 201 - 58 - 10, 4, 0);
    struct cs_tls_info info;
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(got->len[0], 0); /* the app record was cut: nothing to release */
    CU_ASSERT_EQUAL(got->gaps[0], 1);
    CU_ASSERT_EQUAL(got->closes[0], 1); /* resynchronised on the alert record */
    CU_ASSERT_EQUAL(info.n.resyncs, 1);
    CU_ASSERT_EQUAL(info.n.auth_failures, 0);
    cs_tls_conn_free(c);

    /* The same with the gap exactly the Finished record. */
    memset(got, 0, sizeof *got);
    c = cs_tls_conn_new(kl, 0, collect_sink, got);
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client, 201, 1, 0);
    cs_tls_conn_data(c, CS_TLS_FROM_SERVER, t.server, t.server_len, 2, 0);
    cs_tls_conn_gap(c, CS_TLS_FROM_CLIENT, 58, 3, 0);
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client + 201 + 58, t.client_len - 201 - 58, 4, 0);
    CU_ASSERT_EQUAL(got->len[0], 50);
    CU_ASSERT_EQUAL(got->data[0][49], 49);
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_DECRYPTING);
    free_trace(&t);
    cs_tls_conn_free(c);
    cs_tls_keylog_free(kl);
    free(got);
}

/* cs_tls_conn_new_ctx: the caller's part comes zeroed and aligned in the
 * connection's allocation, is the sink's context, and costs nothing in
 * cs_tls_conn_memory (the caller's, not the connection's); the gap case
 * above through it, so that the cold part (resynchronisation) comes and
 * goes with the connection too. */
static void test_conn_with_ctx(void)
{
    struct cs_tls_keylog *kl = keylog_from(rfc8448_keylog());
    struct cs_tls_conn *plain = cs_tls_conn_new(kl, 0, collect_sink, NULL);
    struct cs_tls_conn *c = cs_tls_conn_new_ctx(kl, 0, collect_sink, sizeof(struct collected));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct collected *got = cs_tls_conn_ctx(c);
    CU_ASSERT_EQUAL((uintptr_t)got % _Alignof(max_align_t), 0);
    CU_ASSERT((char *)got >= (char *)c + 1);
    CU_ASSERT_PTR_EQUAL(cs_tls_conn_of_ctx(got), c);
    CU_ASSERT_EQUAL(got->len[0] + got->len[1] + got->gaps[0] + got->closes[0], 0);
    CU_ASSERT_EQUAL(cs_tls_conn_memory(c), cs_tls_conn_memory(plain));
    struct trace t = rfc8448_streams();
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client, 201, 1, 0);
    cs_tls_conn_data(c, CS_TLS_FROM_SERVER, t.server, t.server_len, 2, 0);
    cs_tls_conn_gap(c, CS_TLS_FROM_CLIENT, 58, 3, 0);
    CU_ASSERT(cs_tls_conn_memory(c) > cs_tls_conn_memory(plain)); /* the scan's window */
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client + 201 + 58, t.client_len - 201 - 58, 4, 0);
    CU_ASSERT_EQUAL(got->len[0], 50);
    CU_ASSERT_EQUAL(got->data[0][49], 49);
    CU_ASSERT_EQUAL(got->gaps[0], 1);
    struct cs_tls_info info;
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_DECRYPTING);
    CU_ASSERT_EQUAL(info.n.resyncs, 1);
    free_trace(&t);
    cs_tls_conn_free(c);
    cs_tls_conn_free(plain);
    cs_tls_keylog_free(kl);
}

static size_t put_bytes(uint8_t *p, size_t i, const void *b, size_t n)
{
    memcpy(p + i, b, n);
    return i + n;
}

static size_t put_u16(uint8_t *p, size_t i, size_t v)
{
    p[i] = (uint8_t)(v >> 8);
    p[i + 1] = (uint8_t)v;
    return i + 2;
}

/* A connection fed a ClientHello naming `sni` ("": no server_name
 * extension), in one record or (split > 0) in two, the first with `split`
 * bytes of the message. */
static struct cs_tls_conn *conn_with_sni_split(const char *sni, size_t split)
{
    static const uint8_t suites_compression[] = {0, 0, 2, 0x13, 0x01, 1, 0}; /* no session id */
    uint8_t msg[512], random[32];
    memset(random, 0x5a, sizeof random);
    size_t n = strlen(sni), ext = n ? 4 + 2 + 3 + n : 0;
    size_t body = 2 + 32 + sizeof suites_compression + 2 + ext, i = 0;
    uint8_t *rec = msg;
    i = put_bytes(rec, i, (const uint8_t[]){1, 0}, 2); /* ClientHello, length's high byte */
    i = put_u16(rec, i, body);
    i = put_bytes(rec, i, (const uint8_t[]){3, 3}, 2);
    i = put_bytes(rec, i, random, sizeof random);
    i = put_bytes(rec, i, suites_compression, sizeof suites_compression);
    i = put_u16(rec, i, ext);
    if (n) {
        i = put_u16(rec, i, 0); /* server_name (RFC 6066 3) */
        i = put_u16(rec, i, n + 5);
        i = put_u16(rec, i, n + 3);
        i = put_bytes(rec, i, (const uint8_t[]){0}, 1); /* host_name */
        i = put_u16(rec, i, n);
        i = put_bytes(rec, i, sni, n);
    }
    struct cs_tls_conn *c = cs_tls_conn_new(NULL, 0, NULL, NULL);
    for (size_t from = 0, frame = 1; from < i; frame++) {
        size_t len = split && from == 0 ? split : i - from;
        uint8_t r[5 + sizeof msg];
        size_t k = put_bytes(r, 0, (const uint8_t[]){0x16, 3, 1}, 3);
        k = put_u16(r, k, len);
        k = put_bytes(r, k, msg + from, len);
        cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, r, k, frame, 0);
        from += len;
    }
    return c;
}

static struct cs_tls_conn *conn_with_sni(const char *sni)
{
    return conn_with_sni_split(sni, 0);
}

/* The server name: up to 15 bytes kept in the connection (counted in its
 * size), longer ones allocated and counted to their length. */
static void test_sni_storage(void)
{
    static const char *const names[] = {"", "a.b", "fifteen.chars.x", "sixteen.chars.xy",
                                        "a-much-longer-server-name.example.com"};
    struct cs_tls_conn *none = conn_with_sni("");
    size_t base = cs_tls_conn_memory(none);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        struct cs_tls_conn *c = conn_with_sni(names[k]);
        struct cs_tls_info info;
        cs_tls_conn_info(c, &info);
        CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_HANDSHAKE);
        CU_ASSERT_STRING_EQUAL(info.sni, names[k]);
        size_t len = strlen(names[k]);
        CU_ASSERT_EQUAL(cs_tls_conn_memory(c), base + (len >= 16 ? len + 1 : 0));
        cs_tls_conn_free(c);
    }
    /* the same hello cut across two records at every place: the same
     * name, and nothing kept for the reassembly once it is whole */
    for (size_t split = 1; split < 60; split++) {
        struct cs_tls_conn *c = conn_with_sni_split("fifteen.chars.x", split);
        struct cs_tls_info info;
        cs_tls_conn_info(c, &info);
        CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_HANDSHAKE);
        CU_ASSERT_STRING_EQUAL(info.sni, "fifteen.chars.x");
        CU_ASSERT_EQUAL(cs_tls_conn_memory(c), base);
        cs_tls_conn_free(c);
    }
    cs_tls_conn_free(none);
}

/* A record cut across pieces: its header in pieces costs a few bytes, the
 * whole header the record's length, and nothing once it is processed;
 * header and body cut at every place decrypt as whole (test above). */
static void test_partial_record_memory(void)
{
    struct cs_tls_keylog *kl = keylog_from(rfc8448_keylog());
    struct collected *got = calloc(1, sizeof *got);
    struct cs_tls_conn *c = cs_tls_conn_new(kl, 0, collect_sink, got);
    size_t base = cs_tls_conn_memory(c);
    struct trace t = rfc8448_streams();
    size_t rl = 5 + ((size_t)t.client[3] << 8 | t.client[4]); /* the ClientHello's record */
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client, 3, 1, 0);
    size_t head = cs_tls_conn_memory(c);
    CU_ASSERT(head > base && head < base + 64);
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client + 3, 10, 2, 0);
    CU_ASSERT_EQUAL(cs_tls_conn_memory(c), head + rl);
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client + 13, rl - 13, 3, 0);
    struct cs_tls_info info;
    cs_tls_conn_info(c, &info);
    CU_ASSERT_STRING_EQUAL(info.sni, "server");
    CU_ASSERT_EQUAL(info.n.records[0], 1);
    CU_ASSERT_EQUAL(cs_tls_conn_memory(c), base + 64); /* the hello's randoms until the keys */
    free_trace(&t);
    cs_tls_conn_free(c);
    cs_tls_keylog_free(kl);
    free(got);
}

/* Wrong key: every byte of every secret flipped in turn would be slow; one
 * byte of the server's handshake secret is enough to fail the tag. */
static void test_rfc8448_wrong_key(void)
{
    char *lines = strdup(rfc8448_keylog());
    char *s = strstr(lines, R8448_S_HS);
    s[10] = s[10] == '0' ? '1' : '0';
    struct cs_tls_keylog *kl = keylog_from(lines);
    struct collected *got = calloc(1, sizeof *got);
    struct cs_tls_info info = rfc8448_through(kl, got);
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_FAILED);
    CU_ASSERT_EQUAL(info.dir_reason[1], CS_TLS_REASON_AUTH_FAILED);
    CU_ASSERT_STRING_EQUAL(cs_tls_reason_name(info.reason), "auth-failed");
    CU_ASSERT_EQUAL(info.n.auth_failures, 1);
    CU_ASSERT_EQUAL(got->len[1], 0); /* nothing released */
    CU_ASSERT_EQUAL(got->gaps[1], 1);
    /* the client side has the right key and still decrypts */
    CU_ASSERT_EQUAL(got->len[0], 50);
    free(lines);
    cs_tls_keylog_free(kl);
    free(got);
}

/* Handshake problems: unsupported suite, truncated hello, not TLS, a key
 * log for another connection. */
static void test_rfc8448_bad_handshakes(void)
{
    struct trace t = rfc8448_streams();
    struct cs_tls_keylog *kl = keylog_from(rfc8448_keylog());
    struct cs_tls_info info;
    struct collected *got = calloc(1, sizeof *got);

    /* ServerHello choosing TLS_AES_128_CCM_SHA256 (0x1304) */
    uint8_t *sh = malloc(t.server_len);
    memcpy(sh, t.server, t.server_len);
    CU_ASSERT(sh[5 + 4 + 2 + 32 + 1] == 0x13 && sh[5 + 4 + 2 + 32 + 2] == 0x01);
    sh[5 + 4 + 2 + 32 + 2] = 0x04;
    struct cs_tls_conn *c = cs_tls_conn_new(kl, 0, collect_sink, got);
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client, t.client_len, 1, 0);
    cs_tls_conn_data(c, CS_TLS_FROM_SERVER, sh, t.server_len, 2, 0);
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.reason, CS_TLS_REASON_UNSUPPORTED_SUITE);
    CU_ASSERT_PTR_NULL(info.cipher);
    CU_ASSERT_EQUAL(info.cipher_id, 0x1304);
    CU_ASSERT_EQUAL(got->len[0] + got->len[1], 0);
    cs_tls_conn_free(c);
    free(sh);

    /* a ClientHello cut short by a gap */
    c = cs_tls_conn_new(kl, 0, collect_sink, got);
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client, 100, 1, 0);
    cs_tls_conn_gap(c, CS_TLS_FROM_CLIENT, 101, 2, 0);
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, t.client + 201, t.client_len - 201, 3, 0);
    cs_tls_conn_data(c, CS_TLS_FROM_SERVER, t.server, t.server_len, 4, 0);
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.reason, CS_TLS_REASON_HANDSHAKE_GAP);
    cs_tls_conn_free(c);

    /* a ClientHello whose length fields lie (claims more extensions) */
    uint8_t *ch = malloc(201);
    memcpy(ch, t.client, 201);
    ch[5 + 4 + 2 + 32 + 1 + 2 + 6 + 2] = 0xff; /* extensions length high byte */
    c = cs_tls_conn_new(kl, 0, collect_sink, got);
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, ch, 201, 1, 0);
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.reason, CS_TLS_REASON_BAD_HANDSHAKE);
    cs_tls_conn_free(c);
    free(ch);

    /* HTTP, not TLS */
    c = cs_tls_conn_new(kl, 0, collect_sink, got);
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, 1, 0);
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.reason, CS_TLS_REASON_NOT_TLS);
    CU_ASSERT_EQUAL(cs_tls_probe((const uint8_t *)"GET /", 5), 0);
    CU_ASSERT_EQUAL(cs_tls_probe(t.client, 3), -1);
    CU_ASSERT_EQUAL(cs_tls_probe(t.client, 201), 1);
    cs_tls_conn_free(c);

    /* picked up mid-stream: an application data record first, from either
     * side, is TLS whose handshake was not captured */
    static const uint8_t appdata[] = {23, 3, 3, 0, 4, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(cs_tls_probe_mid_stream(appdata, sizeof appdata), 1);
    CU_ASSERT_EQUAL(cs_tls_probe_mid_stream(appdata, 2), -1);
    CU_ASSERT_EQUAL(cs_tls_probe_mid_stream(t.client, 201), 0); /* a ClientHello: cs_tls_probe's */
    CU_ASSERT_EQUAL(cs_tls_probe_mid_stream((const uint8_t *)"\x17\x03\x05\x00\x10", 5), 0);
    CU_ASSERT_EQUAL(cs_tls_probe_mid_stream((const uint8_t *)"\x17\x03\x03\xff\xff", 5), 0); /* too long */
    CU_ASSERT_EQUAL(cs_tls_probe_mid_stream((const uint8_t *)"\x17\x03\x03\x00\x00", 5), 0); /* empty */
    CU_ASSERT_EQUAL(cs_tls_probe_mid_stream((const uint8_t *)"GET /", 5), 0);
    for (int from = 0; from < 2; from++) {
        c = cs_tls_conn_new(kl, 0, collect_sink, got);
        cs_tls_conn_data(c, from ? CS_TLS_FROM_SERVER : CS_TLS_FROM_CLIENT, appdata, sizeof appdata, 1, 0);
        cs_tls_conn_info(c, &info);
        CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_FAILED);
        CU_ASSERT_EQUAL(info.reason, CS_TLS_REASON_NO_HANDSHAKE);
        CU_ASSERT_STRING_EQUAL(cs_tls_reason_name(info.reason), "no-handshake");
        cs_tls_conn_free(c);
    }

    /* a key log for another connection */
    struct cs_tls_keylog *other = keylog_from(
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET 0034ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7 " R8448_C_HS "\n"
        "SERVER_HANDSHAKE_TRAFFIC_SECRET 0034ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7 " R8448_S_HS "\n");
    c = cs_tls_conn_new(other, 0, collect_sink, got);
    feed_rfc8448(c, &t, 0);
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_NO_KEY);
    CU_ASSERT_STRING_EQUAL(cs_tls_state_name(info.state), "no-key");
    CU_ASSERT_EQUAL(info.n.held_dropped_records, 7);
    CU_ASSERT_EQUAL(got->len[0] + got->len[1], 0);
    cs_tls_conn_free(c);
    cs_tls_keylog_free(other);

    cs_tls_keylog_free(kl);
    free_trace(&t);
    free(got);
}

/* Key log lines: what is used, what is ignored and why. */
static void test_keylog_lines(void)
{
    struct cs_tls_keylog *kl = keylog_from(
        "# comment\n"
        "\n"
        "CLIENT_RANDOM " R8448_CLIENT_RANDOM " " R8448_C_HS R8448_S_HS_KEY "\n" /* 48 bytes: used */
        "CLIENT_RANDOM " R8448_CLIENT_RANDOM " " R8448_C_HS "\n"                /* 32: wrong length */
        "SERVER_TRAFFIC_SECRET_0 " R8448_CLIENT_RANDOM "\n"                     /* truncated */
        "SERVER_TRAFFIC_SECRET_0 " R8448_CLIENT_RANDOM " zz" R8448_C_HS "\n"    /* not hex */
        "EXPORTER_SECRET " R8448_CLIENT_RANDOM " " R8448_C_HS "\n"              /* unused label */
        "CLIENT_TRAFFIC_SECRET_0 abcd " R8448_C_HS "\n"                         /* short random */
        "\x01\x02garbage\xff\n"
        "CLIENT_TRAFFIC_SECRET_0 " R8448_CLIENT_RANDOM " " R8448_C_AP "\r\n"       /* CRLF: used */
        "CLIENT_TRAFFIC_SECRET_0 " R8448_CLIENT_RANDOM " " R8448_C_AP " extra\n"); /* syntax */
    struct cs_tls_keylog_stats st;
    cs_tls_keylog_get_stats(kl, &st);
    CU_ASSERT_EQUAL(st.lines_read, 11);
    CU_ASSERT_EQUAL(st.lines_used, 2);
    CU_ASSERT_EQUAL(st.lines_ignored, 9);
    CU_ASSERT_EQUAL(st.ignored_comment, 2);
    CU_ASSERT_EQUAL(st.ignored_length, 2);
    CU_ASSERT_EQUAL(st.ignored_syntax, 3);
    CU_ASSERT_EQUAL(st.ignored_label, 1);
    CU_ASSERT_EQUAL(st.ignored_unused_label, 1);
    CU_ASSERT_EQUAL(st.entries, 1);
    CU_ASSERT(st.bytes_used > 0 && st.bytes_used <= st.bytes_budget);
    size_t n;
    uint8_t *random = unhex_alloc(R8448_CLIENT_RANDOM, &n);
    cs_tls_keylog_ref s = cs_tls_keylog_find(kl, random);
    CU_ASSERT_FATAL(s != 0);
    size_t len;
    CU_ASSERT_PTR_NOT_NULL(cs_tls_keylog_secret(kl, s, CS_TLS_SECRET_MASTER, &len));
    CU_ASSERT_EQUAL(len, 48);
    const uint8_t *ap = cs_tls_keylog_secret(kl, s, CS_TLS_SECRET_CLIENT_AP0, &len);
    CU_ASSERT_FATAL(ap != NULL && len == 32);
    CU_ASSERT(hex_equals(ap, 32, R8448_C_AP));
    CU_ASSERT_PTR_NULL(cs_tls_keylog_secret(kl, s, CS_TLS_SECRET_SERVER_AP0, &len));
    random[0] ^= 1;
    CU_ASSERT_EQUAL(cs_tls_keylog_find(kl, random), 0);
    free(random);
    cs_tls_keylog_free(kl);
}

/* Hex digits of any case at every place of a line, and a non-digit at
 * every place (the decoder takes sixteen digits at a time where SSE2 is
 * there): the secret read back is the bytes written; a line with one bad
 * digit is ignored as syntax. */
static void test_keylog_hex(void)
{
    static const char digits[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
    static const char bad[] = {'g', 'G', '/', ':', '@', '`', ' ', '\x7f', '\x80', '\xe6', 'x'};
    uint64_t seed = 12345;
    for (int round = 0; round < 64; round++) {
        struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
        CU_ASSERT_FATAL(kl != NULL);
        uint8_t random[32], secret[48];
        char line[256];
        int n = snprintf(line, sizeof line, "CLIENT_RANDOM ");
        for (int i = 0; i < 80; i++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            uint8_t b = (uint8_t)(seed >> 33);
            if (i < 32)
                random[i] = b;
            else
                secret[i - 32] = b;
            const char *d = (seed >> 20) & 1 ? upper : digits;
            line[n++] = d[b >> 4];
            line[n++] = d[b & 15];
            if (i == 31)
                line[n++] = ' ';
        }
        /* every other round, one bad byte somewhere in the digits */
        int at = -1;
        if (round % 2) {
            at = 14 + (int)((seed >> 40) % 161);
            if (line[at] == ' ')
                at++;
            line[at] = bad[(seed >> 50) % sizeof bad];
        }
        CU_ASSERT_EQUAL(cs_tls_keylog_add_line(kl, line, (size_t)n), at < 0 ? 1 : 0);
        cs_tls_keylog_ref r = cs_tls_keylog_find(kl, random);
        size_t len = 0;
        const uint8_t *s = r ? cs_tls_keylog_secret(kl, r, CS_TLS_SECRET_MASTER, &len) : NULL;
        if (at < 0) {
            CU_ASSERT_FATAL(s != NULL && len == 48);
            CU_ASSERT(memcmp(s, secret, 48) == 0);
        } else {
            CU_ASSERT_PTR_NULL(s);
            struct cs_tls_keylog_stats st;
            cs_tls_keylog_get_stats(kl, &st);
            CU_ASSERT_EQUAL(st.ignored_syntax, 1);
        }
        cs_tls_keylog_free(kl);
    }
}

/* The memory budget: randoms past it are dropped and counted. */
static void test_keylog_budget(void)
{
    struct cs_tls_keylog *kl = cs_tls_keylog_new(2000);
    size_t empty = cs_tls_keylog_memory(kl), before = empty;
    char line[200];
    for (int i = 0; i < 50; i++) {
        int n = snprintf(line, sizeof line, "CLIENT_TRAFFIC_SECRET_0 %064x %s", i, R8448_C_AP);
        cs_tls_keylog_add_line(kl, line, (size_t)n);
        /* what --max-memory counts grows with every entry kept */
        struct cs_tls_keylog_stats now;
        cs_tls_keylog_get_stats(kl, &now);
        size_t m = cs_tls_keylog_memory(kl);
        CU_ASSERT(now.ignored_over_budget ? m == before : m >= before + 32 + 32);
        before = m;
    }
    struct cs_tls_keylog_stats st;
    cs_tls_keylog_get_stats(kl, &st);
    CU_ASSERT(st.entries > 0 && st.entries < 50);
    CU_ASSERT_EQUAL(st.entries + st.ignored_over_budget, 50);
    CU_ASSERT(st.bytes_used <= 2000);
    /* the entries and their index, within the key log's own budget */
    CU_ASSERT_EQUAL(cs_tls_keylog_memory(kl), st.bytes_used);
    CU_ASSERT(cs_tls_keylog_memory(kl) > empty && cs_tls_keylog_memory(kl) <= 2000);
    cs_tls_keylog_free(kl);
}

/* A growing file: a partial last line waits for its newline; a file that
 * shrank is read again. */
static void test_keylog_file_growth(void)
{
    char path[] = "/tmp/cs_keylog_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    const char *l1 = "SERVER_TRAFFIC_SECRET_0 " R8448_CLIENT_RANDOM " " R8448_S_AP "\n";
    const char *l2 = "CLIENT_TRAFFIC_SECRET_0 " R8448_CLIENT_RANDOM " " R8448_C_AP "\n";
    fputs(l1, f);
    fwrite(l2, 1, 30, f);
    fflush(f);
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    char err[256];
    CU_ASSERT_EQUAL(cs_tls_keylog_read_file(kl, path, err, sizeof err), 1);
    CU_ASSERT_EQUAL(cs_tls_keylog_read_file(kl, path, err, sizeof err), 0);
    fputs(l2 + 30, f);
    fflush(f);
    CU_ASSERT_EQUAL(cs_tls_keylog_read_file(kl, path, err, sizeof err), 1);
    struct cs_tls_keylog_stats st;
    cs_tls_keylog_get_stats(kl, &st);
    CU_ASSERT_EQUAL(st.lines_read, 2);
    CU_ASSERT_EQUAL(st.lines_ignored, 0);
    CU_ASSERT_EQUAL(st.generation, 2);
    fclose(f);
    f = fopen(path, "w"); /* truncated and rewritten, shorter */
    fputs("# x\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(cs_tls_keylog_read_file(kl, path, err, sizeof err), 0);
    cs_tls_keylog_get_stats(kl, &st);
    CU_ASSERT_EQUAL(st.ignored_comment, 1);
    unlink(path);
    CU_ASSERT_EQUAL(cs_tls_keylog_read_file(kl, path, err, sizeof err), -1);
    CU_ASSERT(strstr(err, path) != NULL);
    cs_tls_keylog_free(kl);
}

/* Read once (-r): the last line counts without its newline, and is not
 * read twice; OpenSSL's KeyUpdate and RSA lines are known labels. */
static void test_keylog_file_final(void)
{
    char path[] = "/tmp/cs_keylog_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("SERVER_TRAFFIC_SECRET_N " R8448_CLIENT_RANDOM " " R8448_S_AP "\n", f);
    fputs("RSA 0011223344556677 " R8448_S_AP "\n", f);
    fputs("CLIENT_TRAFFIC_SECRET_0 " R8448_CLIENT_RANDOM " " R8448_C_AP, f); /* no newline */
    fclose(f);
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    char err[256];
    CU_ASSERT_EQUAL(cs_tls_keylog_read_file_ex(kl, path, true, err, sizeof err), 1);
    CU_ASSERT_EQUAL(cs_tls_keylog_read_file_ex(kl, path, true, err, sizeof err), 0);
    struct cs_tls_keylog_stats st;
    cs_tls_keylog_get_stats(kl, &st);
    CU_ASSERT_EQUAL(st.lines_read, 3);
    CU_ASSERT_EQUAL(st.lines_used, 1);
    CU_ASSERT_EQUAL(st.ignored_unused_label, 2);
    CU_ASSERT_EQUAL(st.lines_ignored, 2);
    unlink(path);
    cs_tls_keylog_free(kl);
}

/* Handshake parser bounds: every truncation of the hellos is refused. */
static void test_hello_truncations(void)
{
    struct trace t = rfc8448_streams();
    struct cs_tls_client_hello ch;
    struct cs_tls_server_hello sh;
    CU_ASSERT_EQUAL(cs_tls_parse_client_hello(t.client + 9, 192, &ch), 0);
    CU_ASSERT_STRING_EQUAL(ch.sni, "server");
    CU_ASSERT(ch.offers_tls13);
    CU_ASSERT_EQUAL(cs_tls_parse_server_hello(t.server + 9, 86, &sh), 0);
    CU_ASSERT_EQUAL(sh.version, CS_TLS_VERSION_13);
    CU_ASSERT_EQUAL(sh.cipher_suite, 0x1301);
    for (size_t n = 0; n < 192; n++) {
        struct guarded g = guarded_copy(t.client + 9, n);
        if (n > 2 + 32 + 1 + 2 + 6 + 2) /* past compression: a cut in the extensions */
            CU_ASSERT_EQUAL(cs_tls_parse_client_hello(g.data, n, &ch), -1);
        guarded_free(&g);
    }
    for (size_t n = 0; n < 86; n++) {
        struct guarded g = guarded_copy(t.server + 9, n);
        if (n < 2 + 32 + 1 + 2 + 1 || n > 2 + 32 + 1 + 2 + 1)
            CU_ASSERT_EQUAL(cs_tls_parse_server_hello(g.data, n, &sh), -1);
        guarded_free(&g);
    }
    free_trace(&t);
}

/* A ClientHello announcing 1 MB (over CS_TLS_MAX_HS_MESSAGE) fails the
 * connection at its 4-byte header, before anything is allocated for it; one
 * announcing 60 KB but sending 100 bytes costs what arrived (the buffer
 * grows with the body), not what was announced. */
static void test_handshake_length_bounds(void)
{
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    struct collected *got = calloc(1, sizeof *got);
    struct cs_tls_info info;

    static const uint8_t huge[] = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x10, 0x00, 0x00};
    struct cs_tls_conn *c = cs_tls_conn_new(kl, 0, collect_sink, got);
    size_t empty = cs_tls_conn_memory(c);
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, huge, sizeof huge, 1, 1);
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_FAILED);
    CU_ASSERT_EQUAL(info.reason, CS_TLS_REASON_BAD_HANDSHAKE);
    CU_ASSERT_EQUAL(info.n.oversized_handshakes, 1);
    /* nothing for the message; the struct of the rarely moved counters
     * (oversized_handshakes is one) is allocated with its first count */
    CU_ASSERT(cs_tls_conn_memory(c) > empty && cs_tls_conn_memory(c) < empty + 128);
    cs_tls_conn_free(c);

    uint8_t big[5 + 4 + 100] = {0x16, 0x03, 0x01, 0x00, 104, 0x01, 0x00, 0xf0, 0x00};
    c = cs_tls_conn_new(kl, 0, collect_sink, got);
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, big, sizeof big, 1, 1);
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_HANDSHAKE);
    /* (and the reassembly's few bytes of state, kept while a message is cut) */
    size_t part = cs_tls_conn_memory(c);
    CU_ASSERT(part > empty + CS_TLS_HS_BUF_INITIAL && part <= empty + CS_TLS_HS_BUF_INITIAL + 64);
    /* the next record, 500 bytes more: the buffer doubles (600 > 512) */
    uint8_t more[5 + 500] = {0x16, 0x03, 0x01, 500 >> 8, 500 & 0xff};
    cs_tls_conn_data(c, CS_TLS_FROM_CLIENT, more, sizeof more, 2, 2);
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_HANDSHAKE);
    CU_ASSERT_EQUAL(cs_tls_conn_memory(c), part + CS_TLS_HS_BUF_INITIAL);
    cs_tls_conn_free(c);

    cs_tls_keylog_free(kl);
    free(got);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"RFC 8448 key schedule", test_rfc8448_schedule},
        {"TLS 1.2 PRF vectors", test_tls12_prf_vectors},
        {"cipher contexts: more connections than kept, interleaved, tampered", test_cipher_contexts_interleaved},
        {"TLS 1.2 CBC: records in turn on one HMAC context, a bad MAC refused", test_cbc_records_in_turn},
        {"RFC 8448 trace decrypts (whole, 1, 7, 1000-byte pieces)", test_rfc8448_decrypt},
        {"late key: held records decrypted on retry", test_rfc8448_late_key},
        {"late key over the hold budget: dropped, counted, resumes", test_rfc8448_late_key_budget},
        {"gap: resynchronise on the next record", test_rfc8448_gap_resync},
        {"connection with the caller's part in its allocation", test_conn_with_ctx},
        {"record cut across pieces: what its gathering costs", test_partial_record_memory},
        {"server name in the connection or allocated", test_sni_storage},
        {"wrong key: auth failure, nothing released", test_rfc8448_wrong_key},
        {"bad handshakes", test_rfc8448_bad_handshakes},
        {"key log lines used and ignored", test_keylog_lines},
        {"key log hex: every case and place, a bad digit anywhere", test_keylog_hex},
        {"key log memory budget", test_keylog_budget},
        {"key log file grows, partial line, truncation", test_keylog_file_growth},
        {"key log read once: last line without newline", test_keylog_file_final},
        {"key log read once: secrets read again from the file", test_keylog_kept_in_file},
        {"hello truncations refused", test_hello_truncations},
        {"handshake lengths: 1 MB refused unallocated, 60 KB costs what arrived", test_handshake_length_bounds},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("tls", cases);
    return cs_test_run();
}
