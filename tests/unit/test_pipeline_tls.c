/* The TLS row of the protocol table (app_tls.c) inside the pipeline, on the
 * Firefox HTTPS capture: idle without a key log (TLS left to nDPI), its
 * connections' memory counted for --max-memory, and a key that arrives
 * after the records (a browser appending to its key log during a live
 * capture) still decrypts what was held once cs_pipeline_keys_changed()
 * runs.  Every transaction out of TLS carries scheme https and TLS info. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "capture.h"
#include "pipeline.h"
#include "summary.h"
#include "tls_keylog.h"

#define PCAP "pcaps/browser/firefox-https.pcap"
#define KEYS "pcaps/browser/firefox-https.keys"

struct seen {
    unsigned txns, over_tls, https, sni;
};

static void on_txn(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t)
{
    (void)f;
    struct seen *s = ctx;
    s->txns++;
    if (t->tls) {
        s->over_tls++;
        if (strcmp(t->tls->version, "1.3") == 0 && t->tls->cipher[0] &&
            (strstr(t->tls->sni, "corscope.test") || strstr(t->tls->sni, "elsewhere.test")))
            s->sni++;
    }
    if (t->req.scheme_len == 5 && memcmp(t->req.scheme, "https", 5) == 0)
        s->https++;
}

static struct cs_pipeline *new_pipe(struct seen *s)
{
    struct cs_limits lim;
    cs_limits_default(&lim);
    struct cs_pipeline_hooks hooks = {.on_txn = on_txn};
    char errbuf[256];
    struct cs_pipeline *p = cs_pipeline_new(&lim, &hooks, s, errbuf, sizeof errbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return p;
}

/* Feeds the capture from frame `from` (1-based) to frame `to`. */
static void feed_range(struct cs_pipeline *p, unsigned from, unsigned to)
{
    char errbuf[CS_ERRBUF_SIZE];
    struct cs_capture *c = cs_capture_open_file(PCAP, NULL, 1, errbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct cs_frame frame;
    unsigned n = 0;
    while (cs_capture_next_batch(c, &frame, 1, errbuf) > 0)
        if (++n >= from && n <= to)
            cs_pipeline_frame(p, &frame);
    cs_capture_close(c);
}

static void feed(struct cs_pipeline *p)
{
    feed_range(p, 1, ~0u);
}

static void test_no_keylog_no_claim(void)
{
    struct seen s = {0};
    struct cs_pipeline *p = new_pipe(&s);
    feed(p);
    cs_pipeline_finish(p);
    static struct cs_summary sum;
    memset(&sum, 0, sizeof sum);
    cs_pipeline_summary(p, &sum);
    CU_ASSERT_EQUAL(s.txns, 0);
    CU_ASSERT_EQUAL(sum.tls.connections, 0);
    /* 26 connections that carried HTTP, and conn-tls-alert's, refused by
     * the server's handshake_failure alert (pcaps/browser/README.md).  The
     * cookie-* scenarios added 3: two to api.elsewhere.test (Firefox's
     * credentialed and anonymous ones) and the anonymous one to the API
     * that the scenarios after reset-preflight (which resets its own) open. */
    CU_ASSERT_EQUAL(sum.pipeline.other_flows, 27);
    cs_pipeline_free(p);
}

static void test_keys_in_time(void)
{
    struct seen s = {0};
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    char errbuf[256];
    CU_ASSERT_FATAL(cs_tls_keylog_read_file(kl, KEYS, errbuf, sizeof errbuf) > 0);
    struct cs_pipeline *p = new_pipe(&s);
    cs_pipeline_set_keylog(p, kl, NULL, NULL);
    feed(p);
    cs_pipeline_finish(p);
    static struct cs_summary sum;
    memset(&sum, 0, sizeof sum);
    cs_pipeline_summary(p, &sum);
    CU_ASSERT_EQUAL(sum.tls.connections, 27);
    CU_ASSERT_EQUAL(sum.tls.decrypted, 26);
    CU_ASSERT_EQUAL(sum.tls.incomplete, 1); /* the alert ended the handshake */
    CU_ASSERT(s.txns > 60);
    CU_ASSERT_EQUAL(s.over_tls, s.txns);
    CU_ASSERT_EQUAL(s.https, s.txns);
    CU_ASSERT_EQUAL(s.sni, s.txns);
    CU_ASSERT_EQUAL(sum.tls.held_bytes, 0); /* every connection ended */
    cs_pipeline_free(p);
    cs_tls_keylog_free(kl);
}

/* The key log is empty while the first half of the capture is read (the
 * connections open, requests go by), then the keys come, then the rest. */
#define LATE_KEY_FRAME 250u
static void test_late_keys(void)
{
    struct seen s = {0};
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    struct cs_pipeline *p = new_pipe(&s);
    cs_pipeline_set_keylog(p, kl, NULL, NULL);
    feed_range(p, 1, LATE_KEY_FRAME);
    static struct cs_summary sum;
    memset(&sum, 0, sizeof sum);
    cs_pipeline_summary(p, &sum);
    unsigned before = s.txns;
    /* connections still open hold their records, counted for --max-memory */
    CU_ASSERT(sum.tls.held_bytes > 0);
    char errbuf[256];
    CU_ASSERT_FATAL(cs_tls_keylog_read_file(kl, KEYS, errbuf, sizeof errbuf) > 0);
    cs_pipeline_keys_changed(p);
    unsigned at_keys = s.txns;
    CU_ASSERT(at_keys > before);
    feed_range(p, LATE_KEY_FRAME + 1, ~0u);
    CU_ASSERT(s.txns > at_keys);
    cs_pipeline_finish(p);
    memset(&sum, 0, sizeof sum);
    cs_pipeline_summary(p, &sum);
    CU_ASSERT(sum.tls.decrypted > 0);
    CU_ASSERT_EQUAL(sum.tls.decrypted + sum.tls.no_key, 26);
    CU_ASSERT_EQUAL(s.https, s.txns);
    CU_ASSERT_EQUAL(sum.tls.held_bytes, 0);
    printf("\n    late keys: %u transactions before the keys, %u when they came, %u in all; "
           "%llu of 26 decrypted\n",
           before, at_keys, s.txns, (unsigned long long)sum.tls.decrypted);
    cs_pipeline_free(p);
    cs_tls_keylog_free(kl);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    static const struct cs_test_case cases[] = {
        {"no key log: TLS flows not claimed", test_no_keylog_no_claim},
        {"key log: HTTP/1.1 over TLS 1.3 decrypted", test_keys_in_time},
        {"late keys: held records decrypted", test_late_keys},
        {NULL, NULL},
    };
    cs_test_add_suite("pipeline_tls", cases);
    return cs_test_run();
}
