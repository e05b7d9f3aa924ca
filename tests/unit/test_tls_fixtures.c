/* Real traffic: the loopback captures of tests/tls/ (made by
 * tests/tls/make_fixtures.py with openssl s_client / Python ssl) decrypt to
 * exactly the HTTP bytes that were sent, whole, split one byte at a time,
 * with a late key, and fail cleanly with a wrong key. */
#include <stdbool.h>
#include <stdio.h>

#include "limits.h"
#include "testutil.h"
#include "tls_conn.h"
#include "tls_testutil.h"

struct fixture_case {
    const char *name;
    uint16_t version;
    const char *cipher;
};

static const struct fixture_case cases[] = {
    {"tls13_aes128gcm", 0x0304, "TLS_AES_128_GCM_SHA256"},
    {"tls13_aes256gcm", 0x0304, "TLS_AES_256_GCM_SHA384"},
    {"tls13_chacha20", 0x0304, "TLS_CHACHA20_POLY1305_SHA256"},
    {"tls13_keyupdate", 0x0304, "TLS_AES_128_GCM_SHA256"},
    {"tls13_resume", 0x0304, NULL},
    {"tls12_aes128gcm", 0x0303, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {"tls12_aes256gcm", 0x0303, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
    {"tls12_chacha20", 0x0303, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
    {"tls12_cbc_sha256_etm", 0x0303, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
    {"tls12_cbc_sha1", 0x0303, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
    {"tls12_resume", 0x0303, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
};

struct fixture {
    uint8_t *stream, *keys, *req, *resp;
    size_t stream_len, keys_len, req_len, resp_len;
};

static struct fixture load(const char *name)
{
    struct fixture f;
    char path[256];
    snprintf(path, sizeof path, "tests/tls/%s.stream", name);
    f.stream = read_whole(path, &f.stream_len);
    snprintf(path, sizeof path, "tests/tls/%s.keys", name);
    f.keys = read_whole(path, &f.keys_len);
    f.req = read_whole("tests/tls/http_request.bin", &f.req_len);
    f.resp = read_whole("tests/tls/http_response.bin", &f.resp_len);
    if (!f.stream || !f.keys || !f.req || !f.resp) {
        fprintf(stderr, "missing fixture %s\n", name);
        abort();
    }
    return f;
}

static void unload(struct fixture *f)
{
    free(f->stream);
    free(f->keys);
    free(f->req);
    free(f->resp);
}

/* Feeds the recorded chunks (frame = chunk number) in pieces of at most
 * `piece` bytes (0: whole chunks).  Chunks of direction skip_dir numbered
 * skip_chunk become a gap instead. */
static void feed(struct cs_tls_conn *c, const struct fixture *f, size_t piece, int skip_dir, int skip_chunk)
{
    uint64_t frame = 0;
    int chunk[2] = {0, 0};
    for (size_t off = 0; off + 5 <= f->stream_len;) {
        int dir = f->stream[off];
        size_t len = (size_t)f->stream[off + 1] << 24 | (size_t)f->stream[off + 2] << 16 |
                     (size_t)f->stream[off + 3] << 8 | f->stream[off + 4];
        const uint8_t *p = f->stream + off + 5;
        off += 5 + len;
        frame++;
        if (dir == skip_dir && chunk[dir]++ == skip_chunk) {
            cs_tls_conn_gap(c, (enum cs_tls_dir)dir, len, frame, 0);
            continue;
        }
        for (size_t o = 0; o < len;) {
            size_t n = piece && piece < len - o ? piece : len - o;
            struct guarded g = guarded_copy(p + o, n);
            cs_tls_conn_data(c, (enum cs_tls_dir)dir, g.data, n, frame, (int64_t)frame);
            guarded_free(&g);
            o += n;
        }
    }
}

static void check_decrypts(const struct fixture_case *fc, size_t piece)
{
    struct fixture f = load(fc->name);
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    struct collected *got = calloc(1, sizeof *got);
    for (char *p = (char *)f.keys, *nl; *p; p = nl + 1) {
        if (!(nl = strchr(p, '\n')))
            break;
        cs_tls_keylog_add_line(kl, p, (size_t)(nl - p));
    }
    struct cs_tls_conn *c = cs_tls_conn_new(kl, 0, collect_sink, got);
    feed(c, &f, piece, -1, -1);
    struct cs_tls_info info;
    cs_tls_conn_info(c, &info);
    if (got->len[0] != f.req_len || got->len[1] != f.resp_len || info.state != CS_TLS_STATE_DECRYPTING)
        fprintf(stderr, "%s piece %zu: state %s reason %s, %zu/%zu bytes\n", fc->name, piece,
                cs_tls_state_name(info.state), cs_tls_reason_name(info.reason), got->len[0], got->len[1]);
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_DECRYPTING);
    CU_ASSERT_EQUAL(info.version, fc->version);
    if (fc->cipher)
        CU_ASSERT_STRING_EQUAL(info.cipher ? info.cipher : "", fc->cipher);
    CU_ASSERT_STRING_EQUAL(info.sni, "api.example");
    CU_ASSERT_STRING_EQUAL(info.alpn, "http/1.1");
    CU_ASSERT_EQUAL(info.n.auth_failures, 0);
    CU_ASSERT_EQUAL(got->len[0], f.req_len);
    CU_ASSERT_EQUAL(got->len[1], f.resp_len);
    CU_ASSERT(memcmp(got->data[0], f.req, f.req_len) == 0);
    CU_ASSERT(memcmp(got->data[1], f.resp, f.resp_len) == 0);
    CU_ASSERT_EQUAL(got->closes[1], 1); /* the server's unwrap() sent close_notify */
    if (strstr(fc->name, "keyupdate"))
        CU_ASSERT(info.n.key_updates >= 2); /* the client's, and the server's answer */
    CU_ASSERT_EQUAL(info.resumed, strstr(fc->name, "resume") != NULL);
    cs_tls_conn_free(c);
    cs_tls_keylog_free(kl);
    free(got);
    unload(&f);
}

static void test_all_suites(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_decrypts(&cases[i], 0);
}

static void test_one_byte_pieces(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_decrypts(&cases[i], 1);
}

/* The key log is read only after all the traffic went by (the live case). */
static void test_late_key(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fixture f = load(cases[i].name);
        struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
        struct collected *got = calloc(1, sizeof *got);
        struct cs_tls_conn *c = cs_tls_conn_new(kl, 64 * 1024, collect_sink, got);
        feed(c, &f, 0, -1, -1);
        struct cs_tls_info info;
        cs_tls_conn_info(c, &info);
        CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_NO_KEY);
        CU_ASSERT_EQUAL(got->len[0] + got->len[1], 0);
        for (char *p = (char *)f.keys, *nl; (nl = strchr(p, '\n')); p = nl + 1)
            cs_tls_keylog_add_line(kl, p, (size_t)(nl - p));
        CU_ASSERT_EQUAL(cs_tls_conn_retry(c), 1);
        cs_tls_conn_info(c, &info);
        CU_ASSERT_EQUAL(info.n.held_dropped_records, 0);
        CU_ASSERT_EQUAL(got->len[0], f.req_len);
        CU_ASSERT_EQUAL(got->len[1], f.resp_len);
        CU_ASSERT(memcmp(got->data[1], f.resp, f.resp_len) == 0);
        cs_tls_conn_free(c);
        cs_tls_keylog_free(kl);
        free(got);
        unload(&f);
    }
}

/* A wrong key for every suite: the first protected record fails its tag
 * or MAC, it is counted, and not one byte is released. */
static void test_wrong_key(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fixture f = load(cases[i].name);
        /* flip the last hex digit of every secret */
        for (char *p = (char *)f.keys, *nl; (nl = strchr(p, '\n')); p = nl + 1)
            if (*p != '#' && nl > p)
                nl[-1] = nl[-1] == '0' ? '1' : '0';
        struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
        for (char *p = (char *)f.keys, *nl; (nl = strchr(p, '\n')); p = nl + 1)
            cs_tls_keylog_add_line(kl, p, (size_t)(nl - p));
        struct collected *got = calloc(1, sizeof *got);
        struct cs_tls_conn *c = cs_tls_conn_new(kl, 0, collect_sink, got);
        feed(c, &f, 0, -1, -1);
        struct cs_tls_info info;
        cs_tls_conn_info(c, &info);
        CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_FAILED);
        CU_ASSERT_EQUAL(info.reason, CS_TLS_REASON_AUTH_FAILED);
        CU_ASSERT_EQUAL(info.n.auth_failures, 2); /* one per direction */
        CU_ASSERT_EQUAL(info.n.records_decrypted, 0);
        CU_ASSERT_EQUAL(got->len[0] + got->len[1], 0);
        cs_tls_conn_free(c);
        cs_tls_keylog_free(kl);
        free(got);
        unload(&f);
    }
}

/* A lost segment in the server direction: the direction resynchronises or
 * is marked undecryptable; what is released is never wrong. */
static void test_lost_segment(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fixture f = load(cases[i].name);
        struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
        for (char *p = (char *)f.keys, *nl; (nl = strchr(p, '\n')); p = nl + 1)
            cs_tls_keylog_add_line(kl, p, (size_t)(nl - p));
        for (int skip = 1; skip < 4; skip++) {
            struct collected *got = calloc(1, sizeof *got);
            struct cs_tls_conn *c = cs_tls_conn_new(kl, 0, collect_sink, got);
            feed(c, &f, 0, 1, skip);
            struct cs_tls_info info;
            cs_tls_conn_info(c, &info);
            CU_ASSERT_EQUAL(info.n.auth_failures, 0);
            CU_ASSERT(got->gaps[1] >= 1 || got->len[1] == f.resp_len);
            /* released bytes are a suffix of the response (the rest was lost) */
            CU_ASSERT(got->len[1] <= f.resp_len);
            if (got->len[1] <= f.resp_len)
                CU_ASSERT(memcmp(got->data[1], f.resp + f.resp_len - got->len[1], got->len[1]) == 0);
            cs_tls_conn_free(c);
            free(got);
        }
        cs_tls_keylog_free(kl);
        unload(&f);
    }
}

/* Memory once the handshake is over (issue 14: 65,536 flows may each be a
 * TLS connection): no handshake, record or decryption buffer is left, only
 * the object, and with the CBC suites libcrypto's two HMAC contexts (the
 * cipher context is one per thread).  With every fixture, fed whole and one
 * byte at a time, that is under CS_TLS_CONN_SMALL bytes, and under
 * CS_TLS_CONN_SMALL_AEAD for the AEAD suites. */
#define CS_TLS_CONN_SMALL (6u * 1024u)
#define CS_TLS_CONN_SMALL_AEAD (2u * 1024u)
static void test_memory_after_handshake(void)
{
    size_t most = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t piece = 0; piece < 2; piece++) {
            struct fixture f = load(cases[i].name);
            struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
            for (char *p = (char *)f.keys, *nl; (nl = strchr(p, '\n')); p = nl + 1)
                cs_tls_keylog_add_line(kl, p, (size_t)(nl - p));
            struct collected *got = calloc(1, sizeof *got);
            struct cs_tls_conn *c = cs_tls_conn_new(kl, 0, collect_sink, got);
            feed(c, &f, piece, -1, -1);
            size_t m = cs_tls_conn_memory(c);
            struct cs_tls_info info;
            cs_tls_conn_info(c, &info);
            CU_ASSERT(m < CS_TLS_CONN_SMALL);
            bool cbc = info.cipher && strstr(info.cipher, "_CBC_");
            CU_ASSERT(!cbc || m >= 2 * CS_TLS_CIPHER_CTX_COST); /* the HMAC contexts are counted */
            CU_ASSERT(cbc || m < CS_TLS_CONN_SMALL_AEAD);
            most = m > most ? m : most;
            CU_ASSERT_EQUAL(got->len[1], f.resp_len);
            cs_tls_conn_free(c);
            cs_tls_keylog_free(kl);
            free(got);
            unload(&f);
        }
    }
    printf("\n  largest connection after its handshake: %zu bytes\n", most);
}

/* Cases served by openssl s_server (make_fixtures.py SERVER_CASES): the
 * request sent as 0-RTT data on a resumed session, decrypted with the
 * CLIENT_EARLY_TRAFFIC_SECRET and flagged early; and a HelloRetryRequest
 * (server only P-256, client's first key share X25519), after which the
 * second ClientHello keeps the random and the keys are found.  Whole, one
 * byte at a time, and with the key arriving after all the records.  0-RTT
 * records precede the ServerHello that names their suite, so they are held
 * until it arrives: the connection needs a hold budget for them (the
 * default one here). */
static void check_server_case(const char *name, size_t piece, int late)
{
    struct fixture f = load(name);
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    struct collected *got = calloc(1, sizeof *got);
    struct cs_tls_conn *c = cs_tls_conn_new(kl, CS_DEFAULT_TLS_MAX_HELD_BYTES, collect_sink, got);
    if (!late)
        cs_tls_keylog_add_text(kl, (const char *)f.keys, f.keys_len);
    feed(c, &f, piece, -1, -1);
    if (late) {
        CU_ASSERT_EQUAL(got->len[0] + got->len[1], 0);
        cs_tls_keylog_add_text(kl, (const char *)f.keys, f.keys_len);
        CU_ASSERT_EQUAL(cs_tls_conn_retry(c), 1);
    }
    struct cs_tls_info info;
    cs_tls_conn_info(c, &info);
    if (info.state != CS_TLS_STATE_DECRYPTING)
        fprintf(stderr, "%s piece %zu late %d: state %s reason %s\n", name, piece, late,
                cs_tls_state_name(info.state), cs_tls_reason_name(info.reason));
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_DECRYPTING);
    CU_ASSERT_EQUAL(info.version, 0x0304);
    CU_ASSERT_STRING_EQUAL(info.sni, "api.example");
    CU_ASSERT_STRING_EQUAL(info.alpn, "http/1.1");
    CU_ASSERT_EQUAL(info.n.auth_failures, 0);
    CU_ASSERT_EQUAL(got->len[0], f.req_len);
    CU_ASSERT_EQUAL(got->len[1], f.resp_len);
    CU_ASSERT(memcmp(got->data[0], f.req, f.req_len) == 0);
    CU_ASSERT(memcmp(got->data[1], f.resp, f.resp_len) == 0);
    if (strcmp(name, "tls13_early_data") == 0) {
        CU_ASSERT_EQUAL(got->early_bytes, f.req_len); /* all of the request was 0-RTT */
        CU_ASSERT(info.n.early_records >= 1);
        CU_ASSERT_EQUAL(info.resumed, 1);
        CU_ASSERT_EQUAL(info.hello_retry, 0);
    } else {
        CU_ASSERT_EQUAL(info.hello_retry, 1);
        CU_ASSERT_EQUAL(got->early_bytes, 0);
        CU_ASSERT_EQUAL(info.resumed, 0);
    }
    cs_tls_conn_free(c);
    cs_tls_keylog_free(kl);
    free(got);
    unload(&f);
}

static void test_early_data_and_hrr(void)
{
    static const char *const names[] = {"tls13_early_data", "tls13_hrr"};
    for (size_t i = 0; i < 2; i++) {
        check_server_case(names[i], 0, 0);
        check_server_case(names[i], 1, 0);
        check_server_case(names[i], 0, 1);
    }
    /* Without a hold budget the early record is dropped, counted and
     * reported as a gap of the client's data; the rest still decrypts. */
    struct fixture f = load("tls13_early_data");
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    cs_tls_keylog_add_text(kl, (const char *)f.keys, f.keys_len);
    struct collected *got = calloc(1, sizeof *got);
    struct cs_tls_conn *c = cs_tls_conn_new(kl, 0, collect_sink, got);
    feed(c, &f, 0, -1, -1);
    struct cs_tls_info info;
    cs_tls_conn_info(c, &info);
    CU_ASSERT_EQUAL(info.state, CS_TLS_STATE_DECRYPTING);
    CU_ASSERT_EQUAL(info.n.held_dropped_records, 1);
    CU_ASSERT_EQUAL(got->gaps[0], 1);
    CU_ASSERT_EQUAL(got->len[0], 0);
    CU_ASSERT_EQUAL(got->len[1], f.resp_len);
    cs_tls_conn_free(c);
    cs_tls_keylog_free(kl);
    free(got);
    unload(&f);
}

int main(void)
{
    static const struct cs_test_case tests[] = {
        {"every suite decrypts to the HTTP bytes sent", test_all_suites},
        {"records split one byte at a time", test_one_byte_pieces},
        {"late key: everything held, decrypted on retry", test_late_key},
        {"wrong key: auth failures, nothing released", test_wrong_key},
        {"lost server segment: resync or gap, never wrong bytes", test_lost_segment},
        {"memory after the handshake is small", test_memory_after_handshake},
        {"0-RTT early data decrypted and flagged; HelloRetryRequest", test_early_data_and_hrr},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("tls fixtures", tests);
    return cs_test_run();
}
