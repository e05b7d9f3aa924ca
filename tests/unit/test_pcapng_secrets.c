/* pcapng Decryption Secrets Blocks (pcapng_secrets.c) into the key table
 * (cs_tls_keylog_add_text): a file written by Wireshark's editcap
 * --inject-secrets and a synthetic one with both byte orders, CRLF, another
 * secrets type, an oversized, an inconsistent and a cut-off block (see
 * tests/tls/make_pcapng.py). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "pcapng_secrets.h"
#include "testutil.h"
#include "tls_keylog.h"
#include "tls_testutil.h"

/* The caller's side: TLS key log text goes to the table, other types not. */
static void to_keylog(void *ctx, uint32_t type, const uint8_t *data, size_t len)
{
    if (type == CS_PCAPNG_SECRETS_TLS_KEYLOG)
        cs_tls_keylog_add_text(ctx, (const char *)data, len);
}

static int scan(const char *path, size_t max_block, struct cs_tls_keylog *kl,
                struct cs_pcapng_secrets_stats *st, char *err)
{
    int fd = open(path, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    int r = cs_pcapng_read_secrets(fd, max_block, to_keylog, kl, st, err);
    close(fd);
    return r;
}

/* The table a .keys file gives when read directly. */
static struct cs_tls_keylog *direct(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "tests/tls/%s.keys", name);
    size_t n = 0;
    uint8_t *text = read_whole(path, &n);
    CU_ASSERT_FATAL(text != NULL);
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    cs_tls_keylog_add_text(kl, (const char *)text, n);
    free(text);
    return kl;
}

/* Every secret of `want` is in `got` with the same value. */
static void same_secrets(const struct cs_tls_keylog *got, const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "tests/tls/%s.keys", name);
    FILE *f = fopen(path, "r");
    CU_ASSERT_FATAL(f != NULL);
    struct cs_tls_keylog *want = direct(name);
    char line[1100], label[64], hex[80];
    unsigned checked = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %79s", label, hex) != 2 || strlen(hex) != 64)
            continue;
        size_t n;
        uint8_t *random = unhex_alloc(hex, &n);
        cs_tls_keylog_ref a = cs_tls_keylog_find(got, random);
        cs_tls_keylog_ref b = cs_tls_keylog_find(want, random);
        CU_ASSERT_FATAL(a != 0 && b != 0);
        for (int k = 0; k < CS_TLS_SECRET_KINDS; k++) {
            size_t alen, blen;
            const uint8_t *as = cs_tls_keylog_secret(got, a, (enum cs_tls_secret_kind)k, &alen);
            const uint8_t *bs = cs_tls_keylog_secret(want, b, (enum cs_tls_secret_kind)k, &blen);
            CU_ASSERT_EQUAL(as == NULL, bs == NULL);
            CU_ASSERT(alen == blen && (!as || memcmp(as, bs, alen) == 0));
        }
        checked++;
        free(random);
    }
    CU_ASSERT(checked > 0);
    fclose(f);
    cs_tls_keylog_free(want);
}

static void test_editcap_file(void)
{
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    struct cs_pcapng_secrets_stats st;
    char err[CS_PCAPNG_ERRBUF_SIZE];
    CU_ASSERT_EQUAL(scan("tests/tls/dsb_editcap.pcapng", 0, kl, &st, err), 0);
    CU_ASSERT_EQUAL(st.secrets_blocks, 1);
    CU_ASSERT_EQUAL(st.truncated + st.oversized + st.bad_blocks + st.other_secrets, 0);
    struct cs_tls_keylog *want = direct("tls13_aes128gcm");
    struct cs_tls_keylog_stats a, b;
    cs_tls_keylog_get_stats(kl, &a);
    cs_tls_keylog_get_stats(want, &b);
    CU_ASSERT_EQUAL(a.lines_used, b.lines_used);
    CU_ASSERT(a.lines_used >= 4); /* the four 1.3 traffic secrets */
    CU_ASSERT_EQUAL(a.entries, 1);
    same_secrets(kl, "tls13_aes128gcm");
    cs_tls_keylog_free(want);
    cs_tls_keylog_free(kl);
}

static void test_synthetic_file(void)
{
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    struct cs_pcapng_secrets_stats st;
    struct cs_tls_keylog_stats ks;
    char err[CS_PCAPNG_ERRBUF_SIZE];
    CU_ASSERT_EQUAL(scan("tests/tls/dsb_synthetic.pcapng", 0, kl, &st, err), 0);
    CU_ASSERT_EQUAL(st.blocks, 11);
    CU_ASSERT_EQUAL(st.secrets_blocks, 4); /* 3 TLSK (one of comments) + WireGuard */
    CU_ASSERT_EQUAL(st.other_secrets, 1);
    CU_ASSERT_EQUAL(st.truncated, 2); /* inconsistent, cut off */
    CU_ASSERT_EQUAL(st.oversized, 0);
    CU_ASSERT_EQUAL(st.bad_blocks, 0);
    cs_tls_keylog_get_stats(kl, &ks);
    CU_ASSERT_EQUAL(ks.entries, 2);
    CU_ASSERT_EQUAL(ks.ignored_comment, 50 + 2); /* the padding block; each file's header */
    same_secrets(kl, "tls12_aes128gcm");         /* little-endian section, CRLF */
    same_secrets(kl, "tls12_chacha20");          /* big-endian section */
    cs_tls_keylog_free(kl);

    /* With a 4096-byte limit the 5000-byte block is skipped and counted. */
    kl = cs_tls_keylog_new(0);
    CU_ASSERT_EQUAL(scan("tests/tls/dsb_synthetic.pcapng", 4096, kl, &st, err), 0);
    CU_ASSERT_EQUAL(st.oversized, 1);
    CU_ASSERT_EQUAL(st.secrets_blocks, 3);
    cs_tls_keylog_get_stats(kl, &ks);
    CU_ASSERT_EQUAL(ks.ignored_comment, 2);
    CU_ASSERT_EQUAL(ks.entries, 2);
    cs_tls_keylog_free(kl);
}

/* A classic pcap has no blocks; a pipe cannot be walked (said, not done);
 * a file cut at every length never fails or reads past its end. */
static void test_not_pcapng(void)
{
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    struct cs_pcapng_secrets_stats st;
    char err[CS_PCAPNG_ERRBUF_SIZE];
    CU_ASSERT_EQUAL(scan("pcaps/cors-firefox-reasons.pcap", 0, kl, &st, err), 0);
    CU_ASSERT_EQUAL(st.blocks, 0);

    int p[2];
    CU_ASSERT_FATAL(pipe(p) == 0);
    CU_ASSERT(write(p[1], "\x0a\x0d\x0d\x0a", 4) == 4);
    close(p[1]);
    CU_ASSERT_EQUAL(cs_pcapng_read_secrets(p[0], 0, to_keylog, kl, &st, err), -1);
    CU_ASSERT(strstr(err, "not a regular file") != NULL);
    close(p[0]);

    size_t n = 0;
    uint8_t *whole = read_whole("tests/tls/dsb_synthetic.pcapng", &n);
    char tmpl[] = "/tmp/cs_dsb_XXXXXX";
    int fd = mkstemp(tmpl);
    CU_ASSERT_FATAL(fd >= 0);
    unlink(tmpl);
    for (size_t cut = 0; cut <= n; cut += 3) {
        CU_ASSERT_FATAL(ftruncate(fd, 0) == 0);
        CU_ASSERT_FATAL(pwrite(fd, whole, cut, 0) == (ssize_t)cut);
        CU_ASSERT_EQUAL(cs_pcapng_read_secrets(fd, 0, to_keylog, kl, &st, err), 0);
        CU_ASSERT(st.secrets_blocks <= 4);
    }
    close(fd);
    free(whole);
    cs_tls_keylog_free(kl);
}

int main(void)
{
    static const struct cs_test_case tests[] = {
        {"editcap --inject-secrets: the key log lands in the table", test_editcap_file},
        {"synthetic: byte orders, CRLF, other types, limits, truncation", test_synthetic_file},
        {"classic pcap, pipe, every truncation", test_not_pcapng},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("pcapng secrets", tests);
    return cs_test_run();
}
