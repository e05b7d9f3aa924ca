/* Decrypting ahead (tls_ahead.h): a job's result is taken only for the very
 * inputs it was opened with, and then equals opening the record in place;
 * jobs not started are the pipeline's to do; a batch's end leaves nothing
 * running; key jobs likewise.  Then the same with an assisting thread
 * racing the pipeline over many batches. */
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "testutil.h"
#include "tls_ahead.h"
#include "tls_keys.h"
#include "tls_testutil.h"

/* A TLS 1.3 read state from a made-up secret. */
static void cipher_for(struct cs_tls_cipher *c, uint16_t suite, uint8_t seed)
{
    const struct cs_tls_suite *s = cs_tls_suite_find(suite);
    uint8_t secret[48];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(seed * 37 + i);
    memset(c, 0, sizeof *c);
    CU_ASSERT_FATAL(cs_tls13_cipher_keys(c, s, secret, s->hash_len) == 0);
}

static size_t frag_of(const uint8_t *rec)
{
    return (size_t)rec[3] << 8 | rec[4];
}

/* take() as the pipeline calls it, for c at c->seq. */
static bool take(const void *owner, int dir, struct cs_tls_cipher *c, const uint8_t *rec,
                 enum cs_tls_open_result *r, uint8_t **out, size_t *out_len, uint8_t *type)
{
    return cs_tls_ahead_take(owner, dir, c, rec, frag_of(rec), r, out, out_len, type);
}

static void test_taken_only_for_the_same_inputs(void)
{
    struct cs_tls_ahead *a = cs_tls_ahead_new();
    CU_ASSERT_FATAL(a != NULL);
    struct cs_tls_cipher c, other;
    cipher_for(&c, 0x1301, 1);
    cipher_for(&other, 0x1301, 2);
    int owner, owner2;
    uint8_t rec[4][256];
    for (uint64_t i = 0; i < 4; i++) {
        char text[32];
        int n = snprintf(text, sizeof text, "record %u", (unsigned)i);
        seal13(&c, 10 + i, (const uint8_t *)text, (size_t)n, rec[i]);
    }
    cs_tls_ahead_begin(a);
    /* records 10..13 of (owner, dir 1) */
    for (uint64_t i = 0; i < 4; i++)
        CU_ASSERT(cs_tls_ahead_offer(&owner, 1, &c, 10 + i, rec[i], frag_of(rec[i])));
    for (int i = 0; i < 4; i++)
        CU_ASSERT(cs_tls_ahead_assist(a));
    CU_ASSERT(!cs_tls_ahead_assist(a)); /* nothing left */
    enum cs_tls_open_result r;
    uint8_t *out, type;
    size_t out_len;
    /* another owner, direction or key: not taken */
    c.seq = 10;
    CU_ASSERT(!take(&owner2, 1, &c, rec[0], &r, &out, &out_len, &type));
    CU_ASSERT(!take(&owner, 0, &c, rec[0], &r, &out, &out_len, &type));
    other.seq = 10;
    CU_ASSERT(!take(&owner, 1, &other, rec[0], &r, &out, &out_len, &type));
    /* other bytes under the same number: not taken (and not a later job) */
    uint8_t tampered[256];
    memcpy(tampered, rec[0], sizeof tampered);
    tampered[7] ^= 1;
    CU_ASSERT(!take(&owner, 1, &c, tampered, &r, &out, &out_len, &type));
    /* the same inputs: the result of opening it in place */
    CU_ASSERT_FATAL(take(&owner, 1, &c, rec[0], &r, &out, &out_len, &type));
    CU_ASSERT_EQUAL(r, CS_TLS_OPEN_OK);
    CU_ASSERT(out_len == 8 && memcmp(out, "record 0", 8) == 0 && type == 23);
    /* taken once only */
    CU_ASSERT(!take(&owner, 1, &c, rec[0], &r, &out, &out_len, &type));
    /* the read state went on past record 11 (opened in place): 12 still
     * matches, and 11's job is passed over */
    c.seq = 12;
    CU_ASSERT_FATAL(take(&owner, 1, &c, rec[2], &r, &out, &out_len, &type));
    CU_ASSERT(out_len == 8 && memcmp(out, "record 2", 8) == 0);
    c.seq = 13;
    CU_ASSERT_FATAL(take(&owner, 1, &c, rec[3], &r, &out, &out_len, &type));
    CU_ASSERT_EQUAL(r, CS_TLS_OPEN_OK);
    cs_tls_ahead_end();
    struct cs_tls_ahead_stats st;
    cs_tls_ahead_stats(a, &st);
    CU_ASSERT_EQUAL(st.offered, 4);
    CU_ASSERT_EQUAL(st.taken, 3);
    CU_ASSERT_EQUAL(st.unused, 1);
    /* outside a batch nothing is offered or taken */
    CU_ASSERT(!cs_tls_ahead_offer(&owner, 1, &c, 10, rec[0], frag_of(rec[0])));
    c.seq = 10;
    CU_ASSERT(!take(&owner, 1, &c, rec[0], &r, &out, &out_len, &type));
    cs_tls_cipher_clear(&c);
    cs_tls_cipher_clear(&other);
    cs_tls_ahead_free(a);
}

/* A job whose record does not verify: its failure is taken as is. */
static void test_failure_taken_as_is(void)
{
    struct cs_tls_ahead *a = cs_tls_ahead_new();
    struct cs_tls_cipher c;
    cipher_for(&c, 0x1303, 3);
    int owner;
    uint8_t rec[256];
    seal13(&c, 5, (const uint8_t *)"hello", 5, rec);
    rec[5 + 3] ^= 0x80; /* damaged on the wire */
    cs_tls_ahead_begin(a);
    CU_ASSERT(cs_tls_ahead_offer(&owner, 0, &c, 5, rec, frag_of(rec)));
    CU_ASSERT(cs_tls_ahead_assist(a));
    enum cs_tls_open_result r = CS_TLS_OPEN_OK;
    uint8_t *out, type;
    size_t out_len;
    c.seq = 5;
    CU_ASSERT_FATAL(take(&owner, 0, &c, rec, &r, &out, &out_len, &type));
    CU_ASSERT_EQUAL(r, CS_TLS_OPEN_AUTH_FAILED);
    cs_tls_ahead_end();
    cs_tls_cipher_clear(&c);
    cs_tls_ahead_free(a);
}

/* Jobs nobody started: the pipeline does them (take says no), the batch's
 * end cancels the rest, and the assistant then finds nothing. */
static void test_not_started(void)
{
    struct cs_tls_ahead *a = cs_tls_ahead_new();
    struct cs_tls_cipher c;
    cipher_for(&c, 0x1302, 4);
    int owner;
    uint8_t rec[2][256];
    seal13(&c, 0, (const uint8_t *)"a", 1, rec[0]);
    seal13(&c, 1, (const uint8_t *)"b", 1, rec[1]);
    cs_tls_ahead_begin(a);
    CU_ASSERT(cs_tls_ahead_offer(&owner, 0, &c, 0, rec[0], frag_of(rec[0])));
    CU_ASSERT(cs_tls_ahead_offer(&owner, 0, &c, 1, rec[1], frag_of(rec[1])));
    enum cs_tls_open_result r;
    uint8_t *out, type;
    size_t out_len;
    c.seq = 0;
    CU_ASSERT(!take(&owner, 0, &c, rec[0], &r, &out, &out_len, &type));
    cs_tls_ahead_end();
    CU_ASSERT(!cs_tls_ahead_assist(a)); /* the second was cancelled */
    struct cs_tls_ahead_stats st;
    cs_tls_ahead_stats(a, &st);
    CU_ASSERT_EQUAL(st.stolen, 1);
    CU_ASSERT_EQUAL(st.unused, 1);
    /* the next batch starts empty */
    cs_tls_ahead_begin(a);
    CU_ASSERT(!cs_tls_ahead_assist(a));
    c.seq = 1;
    CU_ASSERT(!take(&owner, 0, &c, rec[1], &r, &out, &out_len, &type));
    cs_tls_ahead_end();
    cs_tls_cipher_clear(&c);
    cs_tls_ahead_free(a);
}

/* The arena bounds what is offered: a batch of big records stops being
 * offered when it is full, and the next batch has all of it again. */
static void test_arena_bound(void)
{
    struct cs_tls_ahead *a = cs_tls_ahead_new();
    struct cs_tls_cipher c;
    cipher_for(&c, 0x1301, 5);
    int owner;
    static uint8_t rec[CS_TLS_MAX_CIPHERTEXT + 5];
    size_t frag = 16000;
    rec[0] = 23, rec[1] = 3, rec[2] = 3, rec[3] = (uint8_t)(frag >> 8), rec[4] = (uint8_t)frag;
    cs_tls_ahead_begin(a);
    unsigned offered = 0;
    while (offered < 100 && cs_tls_ahead_offer(&owner, 0, &c, offered, rec, frag))
        offered++;
    CU_ASSERT_EQUAL(offered, CS_TLS_AHEAD_ARENA / 16000);
    cs_tls_ahead_end();
    cs_tls_ahead_begin(a);
    CU_ASSERT(cs_tls_ahead_offer(&owner, 0, &c, 0, rec, frag));
    cs_tls_ahead_end();
    cs_tls_cipher_clear(&c);
    cs_tls_ahead_free(a);
}

/* Hello jobs: the key log entry of exactly that client random, its four
 * traffic keys derived as the pipeline would (only the application ones
 * when the ServerHello came first), and nothing once the key log changed
 * or outside a batch. */
static void test_hello_jobs(void)
{
    static const char *random_hex = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
    static const char *late_hex = "c0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b701b9babbbcbdbebf"; /* another slot */
    static const char *labels[4] = {"SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                                    "SERVER_TRAFFIC_SECRET_0", "CLIENT_TRAFFIC_SECRET_0"};
    char text[2048] = "", secret_hex[4][65];
    uint8_t secret[4][32];
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < 32; i++) {
            secret[k][i] = (uint8_t)(k * 50 + i * 3 + 1);
            snprintf(secret_hex[k] + 2 * i, 3, "%02x", secret[k][i]);
        }
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, "%s %s %s\n%s %s %s\n", labels[k], random_hex, secret_hex[k],
                 labels[k], late_hex, secret_hex[k]);
    }
    struct cs_tls_keylog *kl = keylog_from(text);
    size_t rl;
    uint8_t *random = unhex_alloc(random_hex, &rl), *late = unhex_alloc(late_hex, &rl), other[32];
    memcpy(other, random, 32);
    other[31] ^= 1;
    const struct cs_tls_suite *s = cs_tls_suite_find(0x1301);
    uint8_t key[4][32], iv[4][12];
    for (int k = 0; k < 4; k++)
        CU_ASSERT_FATAL(cs_tls13_traffic_keys(s, secret[k], 32, key[k], iv[k]) == 0);
    struct cs_tls_ahead *a = cs_tls_ahead_new();
    uint8_t slot = 9;
    /* offered in a batch, run only in one */
    cs_tls_ahead_begin(a);
    cs_tls_ahead_offer_hello(kl, random);
    cs_tls_ahead_offer_hello(kl, late);
    cs_tls_ahead_end();
    CU_ASSERT(!cs_tls_ahead_assist(a));
    cs_tls_ahead_begin(a);
    /* the ServerHello before the job ran: the pipeline derives the
     * handshake keys itself, the job only the application keys */
    CU_ASSERT(cs_tls_ahead_hello(kl, late, &slot) == NULL);
    CU_ASSERT(slot != 0); /* but the slot is known */
    CU_ASSERT(cs_tls_ahead_hello_again(kl, 1, slot) == NULL);
    uint8_t late_slot = slot;
    CU_ASSERT(cs_tls_ahead_assist(a));
    CU_ASSERT(cs_tls_ahead_assist(a));
    const struct cs_tls_ahead_hello *h = cs_tls_ahead_hello_again(kl, cs_tls_keylog_find(kl, late), late_slot);
    CU_ASSERT_FATAL(h != NULL);
    CU_ASSERT(!h->derived[CS_TLS_AHEAD_SERVER_HS] && !h->derived[CS_TLS_AHEAD_CLIENT_HS]);
    for (int k = CS_TLS_AHEAD_SERVER_AP0; k <= CS_TLS_AHEAD_CLIENT_AP0; k++)
        CU_ASSERT(h->derived[k] && memcmp(h->key[k], key[k], 16) == 0 && memcmp(h->iv[k], iv[k], 12) == 0);
    /* done before its ServerHello: all four */
    h = cs_tls_ahead_hello(kl, random, &slot);
    CU_ASSERT_FATAL(h != NULL);
    CU_ASSERT(slot != 0 && slot != late_slot);
    CU_ASSERT_EQUAL(h->ref, cs_tls_keylog_find(kl, random));
    CU_ASSERT(h->suite == s);
    for (int k = 0; k < 4; k++)
        CU_ASSERT(h->derived[k] && memcmp(h->key[k], key[k], 16) == 0 && memcmp(h->iv[k], iv[k], 12) == 0);
    CU_ASSERT_EQUAL(h->len[CS_TLS_SECRET_CLIENT_AP0], 32);
    CU_ASSERT_EQUAL(h->len[CS_TLS_SECRET_CLIENT_EARLY], 0);
    CU_ASSERT(cs_tls_ahead_hello(kl, other, &slot) == NULL);
    CU_ASSERT(cs_tls_ahead_hello_again(kl, h->ref, 0) == NULL);
    /* later in the handshake, by the slot and the entry */
    CU_ASSERT_FATAL(cs_tls_ahead_hello(kl, random, &slot) != NULL);
    CU_ASSERT(cs_tls_ahead_hello_again(kl, h->ref, slot) == h);
    CU_ASSERT(cs_tls_ahead_hello_again(kl, h->ref + 1, slot) == NULL);
    /* the key log gained a line: what was looked up may be stale */
    CU_ASSERT(cs_tls_keylog_add_line(kl, "CLIENT_EARLY_TRAFFIC_SECRET a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf "
                                         "0101010101010101010101010101010101010101010101010101010101010101",
                                     strlen("CLIENT_EARLY_TRAFFIC_SECRET a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf "
                                            "0101010101010101010101010101010101010101010101010101010101010101")) == 1);
    CU_ASSERT(cs_tls_ahead_hello(kl, random, &slot) == NULL);
    cs_tls_ahead_end();
    struct cs_tls_ahead_stats st;
    cs_tls_ahead_stats(a, &st);
    CU_ASSERT_EQUAL(st.hellos_offered, 2);
    CU_ASSERT_EQUAL(st.hellos_late, 1);
    /* a random the key log lacks: nothing to take */
    cs_tls_ahead_begin(a);
    cs_tls_ahead_offer_hello(kl, other);
    CU_ASSERT(cs_tls_ahead_assist(a));
    CU_ASSERT(cs_tls_ahead_hello(kl, other, &slot) == NULL);
    cs_tls_ahead_end();
    cs_tls_ahead_free(a);
    cs_tls_keylog_free(kl);
    free(random);
    free(late);
}

/* An assisting thread racing the pipeline: over many batches of records of
 * several connections, whatever take() returns equals opening the record
 * in place, and every record is opened once, by one side or the other. */
struct racer {
    struct cs_tls_ahead *a;
    atomic_bool stop;
    atomic_uint ran; /* jobs the assistant did */
};

static void *assist_loop(void *arg)
{
    struct racer *r = arg;
    while (!atomic_load(&r->stop))
        if (cs_tls_ahead_assist(r->a))
            atomic_fetch_add(&r->ran, 1);
    return NULL;
}

static void test_racing_assistant(void)
{
    enum { CONNS = 5,
           BATCHES = 300,
           PER_BATCH = 20 };
    struct racer rc = {.a = cs_tls_ahead_new()};
    CU_ASSERT_FATAL(rc.a != NULL);
    pthread_t t;
    CU_ASSERT_FATAL(pthread_create(&t, NULL, assist_loop, &rc) == 0);
    struct cs_tls_cipher c[CONNS];
    for (int i = 0; i < CONNS; i++)
        cipher_for(&c[i], i % 2 ? 0x1303 : 0x1301, (uint8_t)(10 + i));
    static uint8_t rec[PER_BATCH][1200];
    unsigned taken = 0, mismatches = 0;
    uint64_t next[CONNS] = {0};
    for (int b = 0; b < BATCHES; b++) {
        cs_tls_ahead_begin(rc.a);
        int who[PER_BATCH];
        for (int k = 0; k < PER_BATCH; k++) {
            who[k] = (b * 7 + k * 3) % CONNS;
            uint8_t text[1024];
            size_t n = 100 + (size_t)((b * 13 + k * 31) % 900);
            memset(text, 'a' + k % 26, n);
            seal13(&c[who[k]], next[who[k]] + (uint64_t)k, text, n, rec[k]);
        }
        /* offered: a guess for every record (the odd batches guess one
         * number wrong), opened by the pipeline in order */
        unsigned ran = atomic_load(&rc.ran);
        for (int k = 0; k < PER_BATCH; k++)
            cs_tls_ahead_offer(&c[who[k]], 0, &c[who[k]],
                               next[who[k]] + (uint64_t)k + (b % 2 && k == 3), rec[k], frag_of(rec[k]));
        /* every tenth batch waits for the assistant (however loaded the
         * machine, up to ~10 s): its results are then surely taken */
        for (int wait = 0; b % 10 == 0 && atomic_load(&rc.ran) < ran + PER_BATCH && wait < 100000; wait++)
            usleep(100);
        for (int k = 0; k < PER_BATCH; k++) {
            struct cs_tls_cipher *ci = &c[who[k]];
            ci->seq = next[who[k]] + (uint64_t)k;
            enum cs_tls_open_result r;
            uint8_t *out, type;
            size_t out_len;
            static uint8_t in_place[CS_TLS_MAX_CIPHERTEXT];
            size_t ip_len = 0;
            uint8_t ip_type = 0;
            enum cs_tls_open_result want = cs_tls_record_open(ci, ci->seq, rec[k], rec[k] + 5, frag_of(rec[k]),
                                                              in_place, &ip_len, &ip_type);
            if (take(ci, 0, ci, rec[k], &r, &out, &out_len, &type)) {
                taken++;
                if (r != want || (r == CS_TLS_OPEN_OK && (out_len != ip_len || type != ip_type ||
                                                          memcmp(out, in_place, ip_len) != 0)))
                    mismatches++;
            }
        }
        cs_tls_ahead_end();
        for (int i = 0; i < CONNS; i++)
            next[i] += PER_BATCH;
    }
    atomic_store(&rc.stop, true);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT(taken >= (BATCHES / 10) * (PER_BATCH - 1)); /* the waited batches' (one guess is wrong) */
    struct cs_tls_ahead_stats st;
    cs_tls_ahead_stats(rc.a, &st);
    CU_ASSERT_EQUAL(st.offered, (uint64_t)BATCHES * PER_BATCH);
    CU_ASSERT_EQUAL(st.taken, taken);
    for (int i = 0; i < CONNS; i++)
        cs_tls_cipher_clear(&c[i]);
    cs_tls_ahead_free(rc.a);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"a result taken only for the same owner, key, number and bytes", test_taken_only_for_the_same_inputs},
        {"a record that fails its tag: the failure is the result", test_failure_taken_as_is},
        {"jobs not started: the pipeline's, cancelled at the batch's end", test_not_started},
        {"the arena bounds a batch's offers", test_arena_bound},
        {"hello jobs: that client random's entry and keys, while the key log is unchanged", test_hello_jobs},
        {"an assisting thread racing the pipeline: results equal opening in place", test_racing_assistant},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("tls_ahead", cases);
    return cs_test_run();
}
