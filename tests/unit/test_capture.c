/* Unit tests for the capture stage: pcap (µs, ns) and pcapng files written
 * by hand into a temporary directory, then read back through capture.c. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture_files.h"

static void test_numbering_two_files(void)
{
    const char *a = write_pcap("a.pcap", MAGIC_US, 3, 1700000000, 123456);
    char pa[512];
    snprintf(pa, sizeof pa, "%s", a);
    const char *b = write_pcap("b.pcap", MAGIC_NS, 2, 1700000001, 123456789);
    char err[CS_ERRBUF_SIZE];
    struct cs_frame fr;

    struct cs_capture *c = open_ok(pa, NULL, 1);
    CU_ASSERT_EQUAL(cs_capture_linktype(c), LT_ETHERNET);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(cs_capture_next(c, &fr, err), 1);
        CU_ASSERT_EQUAL(fr.number, (uint64_t)i + 1);
        CU_ASSERT_EQUAL(fr.ts, 1700000000LL * 1000000000LL + (123456LL + i) * 1000LL);
        CU_ASSERT_EQUAL(fr.caplen, 54);
        CU_ASSERT_EQUAL(fr.wirelen, 54);
        CU_ASSERT_EQUAL(fr.linktype, LT_ETHERNET);
        CU_ASSERT_EQUAL(fr.data[12], 0x08);
    }
    CU_ASSERT_EQUAL(cs_capture_next(c, &fr, err), 0);
    uint64_t next = cs_capture_next_frame_number(c);
    CU_ASSERT_EQUAL(next, 4);
    cs_capture_close(c);

    c = open_ok(b, NULL, next);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL_FATAL(cs_capture_next(c, &fr, err), 1);
        CU_ASSERT_EQUAL(fr.number, (uint64_t)i + 4);
        CU_ASSERT_EQUAL(fr.ts, 1700000001LL * 1000000000LL + 123456789LL + i);
    }
    CU_ASSERT_EQUAL(cs_capture_next(c, &fr, err), 0);
    CU_ASSERT_EQUAL(cs_capture_next_frame_number(c), 6);
    cs_capture_close(c);
}


static void test_pcapng(void)
{
    const struct {
        int tsresol;
        uint64_t ts0;
        cs_time_ns want0;
    } cases[] = {
        {9, 1700000000123456789ULL, 1700000000123456789LL},
        {-1, 1700000000123456ULL, 1700000000123456000LL}, /* default: µs */
        {3, 1700000000123ULL, 1700000000123000000LL},     /* ms */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = write_pcapng("x.pcapng", cases[i].tsresol, cases[i].ts0);
        struct cs_capture *c = open_ok(p, NULL, 10);
        struct cs_frame fr;
        char err[CS_ERRBUF_SIZE];
        CU_ASSERT_EQUAL_FATAL(cs_capture_next(c, &fr, err), 1);
        CU_ASSERT_EQUAL(fr.number, 10);
        CU_ASSERT_EQUAL(fr.ts, cases[i].want0);
        CU_ASSERT_EQUAL(fr.caplen, 54);
        CU_ASSERT_EQUAL_FATAL(cs_capture_next(c, &fr, err), 1);
        CU_ASSERT_EQUAL(fr.number, 11);
        CU_ASSERT_EQUAL(fr.ts - cases[i].want0, cases[i].want0 % 1000000000LL == 123456789LL ? 1
                                                : cases[i].tsresol == 3                      ? 1000000
                                                                                             : 1000);
        CU_ASSERT_EQUAL(cs_capture_next(c, &fr, err), 0);
        cs_capture_close(c);
    }
}

/* Cuts a 3-frame file inside the third record's header and inside its data. */
static void test_truncated(void)
{
    struct img m;
    uint8_t f[64];
    size_t len = make_frame(f, 0, 1, 80);
    pcap_header(&m, MAGIC_US, LT_ETHERNET);
    for (int i = 0; i < 3; i++)
        pcap_record(&m, 1, (uint32_t)i, f, (uint32_t)len);
    size_t full = m.n;
    const size_t cuts[] = {full - len - 10, full - 5};
    for (size_t k = 0; k < 2; k++) {
        m.n = cuts[k];
        const char *p = write_file("trunc.pcap", &m);
        struct cs_capture *c = open_ok(p, NULL, 5);
        struct cs_frame fr;
        char err[CS_ERRBUF_SIZE] = "";
        CU_ASSERT_EQUAL(cs_capture_next(c, &fr, err), 1);
        CU_ASSERT_EQUAL(cs_capture_next(c, &fr, err), 1);
        CU_ASSERT_EQUAL(fr.number, 6);
        CU_ASSERT_EQUAL(cs_capture_next(c, &fr, err), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "truncated capture (after frame 6)"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "trunc.pcap"));
        cs_capture_close(c);
    }
}

static void expect_open_error(const char *path, const char *filter, const char *want1,
                              const char *want2)
{
    char err[CS_ERRBUF_SIZE] = "";
    struct cs_capture *c = cs_capture_open_file(path, filter, 1, err);
    CU_ASSERT_PTR_NULL(c);
    if (c)
        cs_capture_close(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want1));
    if (want2)
        CU_ASSERT_PTR_NOT_NULL(strstr(err, want2));
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));
}

static void test_open_errors(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s", path_of("missing.pcap"));
    expect_open_error(p, NULL, p, "No such file");

    struct img m = {.n = 0};
    put(&m, "GET / HTTP/1.1\r\nHost: example\r\n\r\n", 34);
    snprintf(p, sizeof p, "%s", write_file("text.pcap", &m));
    expect_open_error(p, NULL, p, "not a pcap or pcapng capture");

    m.n = 0;
    snprintf(p, sizeof p, "%s", write_file("empty.pcap", &m));
    expect_open_error(p, NULL, p, "not a pcap or pcapng capture");

    expect_open_error(tmpdir, NULL, tmpdir, "directory");

    pcap_header(&m, MAGIC_US, 147);
    snprintf(p, sizeof p, "%s", write_file("user0.pcap", &m));
    char want[600];
    snprintf(want, sizeof want, "unsupported link type 147 (USER0) in %s", p);
    expect_open_error(p, NULL, want, NULL);

    /* Unreadable: only meaningful when not root. */
    if (geteuid() != 0) {
        snprintf(p, sizeof p, "%s", write_pcap("noperm.pcap", MAGIC_US, 1, 1, 1));
        chmod(p, 0);
        expect_open_error(p, NULL, p, "Permission denied");
    }

    snprintf(p, sizeof p, "%s", write_pcap("ok.pcap", MAGIC_US, 1, 1, 1));
    expect_open_error(p, "tcp portt 80", "tcp portt 80", "filter");
}

/* Frames: 1 TCP :80, 2 UDP, 3 TCP :443, 4 TCP :80.  Filtering keeps the
 * numbers of the unfiltered file. */
static void test_filter(void)
{
    struct img m;
    uint8_t f[64];
    pcap_header(&m, MAGIC_NS, LT_ETHERNET);
    const struct {
        int udp;
        uint16_t dport;
    } fr_in[] = {{0, 80}, {1, 53}, {0, 443}, {0, 80}};
    for (uint32_t i = 0; i < 4; i++) {
        size_t len = make_frame(f, fr_in[i].udp, 1234, fr_in[i].dport);
        pcap_record(&m, 1, i, f, (uint32_t)len);
    }
    const char *p = write_file("filter.pcap", &m);
    const struct {
        const char *filter;
        uint64_t want[4];
        int n;
    } cases[] = {
        {"tcp port 80", {1, 4}, 2},
        {"udp", {2}, 1},
        {"tcp and not port 80", {3}, 1},
        {"", {1, 2, 3, 4}, 4},
        {"icmp", {0}, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct cs_capture *c = open_ok(p, cases[k].filter, 1);
        struct cs_frame fr;
        char err[CS_ERRBUF_SIZE];
        for (int i = 0; i < cases[k].n; i++) {
            CU_ASSERT_EQUAL_FATAL(cs_capture_next(c, &fr, err), 1);
            CU_ASSERT_EQUAL(fr.number, cases[k].want[i]);
            CU_ASSERT_EQUAL(fr.ts, 1000000000LL + (cs_time_ns)cases[k].want[i] - 1);
        }
        CU_ASSERT_EQUAL(cs_capture_next(c, &fr, err), 0);
        CU_ASSERT_EQUAL(cs_capture_next_frame_number(c), 5);
        cs_capture_close(c);
    }
}

static void test_stdin_and_stats(void)
{
    const char *p = write_pcap("stdin.pcap", MAGIC_US, 2, 5, 0);
    int saved = dup(0);
    int fd = open(p, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0 && saved >= 0);
    dup2(fd, 0);
    close(fd);
    char err[CS_ERRBUF_SIZE] = "";
    struct cs_capture *c = cs_capture_open_file("-", NULL, 1, err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct cs_frame fr;
    CU_ASSERT_EQUAL(cs_capture_next(c, &fr, err), 1);
    CU_ASSERT_EQUAL(cs_capture_next(c, &fr, err), 1);
    CU_ASSERT_EQUAL(fr.number, 2);
    CU_ASSERT_EQUAL(cs_capture_next(c, &fr, err), 0);
    uint64_t r, d, i;
    CU_ASSERT_EQUAL(cs_capture_stats(c, &r, &d, &i), -1);
    cs_capture_close(c); /* closes stdin */
    dup2(saved, 0);
    close(saved);
}

static void test_linktype_table(void)
{
    const struct {
        int lt;
        int ok;
    } cases[] = {
        {0, 1},
        {1, 1},
        {12, 1},
        {101, 1},
        {108, 1},
        {113, 1},
        {228, 1},
        {229, 1},
        {276, 1},
        {9, 1},
        {50, 1},
        {104, 1},
        {147, 0},
        {105, 0},
        {127, 0},
        {10, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        CU_ASSERT_EQUAL(cs_linktype_supported(cases[k].lt), cases[k].ok);
    CU_ASSERT_STRING_EQUAL(cs_linktype_name(1), "EN10MB");
    CU_ASSERT_STRING_EQUAL(cs_linktype_name(147), "USER0");
}

/* Live: a missing interface fails with a message; on loopback (as root) a
 * filter matching nothing yields the timeout result 2. */
static void test_live(void)
{
    char err[CS_ERRBUF_SIZE] = "";
    struct cs_capture *c = cs_capture_open_live("nosuchif0", NULL, 0, 0, 0, 1, err);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "nosuchif0"));
    if (c)
        cs_capture_close(c);

    err[0] = '\0';
    c = cs_capture_open_live("lo", "udp port 9", 0, 0, 1 << 20, 1, err);
    if (!c) {
        fprintf(stderr, "(live capture on lo not available: %s)\n", err);
        return;
    }
    struct cs_frame fr;
    CU_ASSERT_EQUAL(cs_capture_next(c, &fr, err), 2);

    /* One datagram to 127.0.0.1:9 must come back as frame 1. */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT(sendto(s, "corscope", 8, 0, (struct sockaddr *)&sin, sizeof sin) == 8);
    close(s);
    int rc = 2;
    for (int tries = 0; tries < 20 && rc == 2; tries++)
        rc = cs_capture_next(c, &fr, err);
    CU_ASSERT_EQUAL(rc, 1);
    if (rc == 1) {
        CU_ASSERT_EQUAL(fr.number, 1);
        CU_ASSERT_EQUAL(fr.caplen, 14 + 20 + 8 + 8);
        CU_ASSERT(fr.ts > 1600000000LL * 1000000000LL);
    }
    uint64_t r = 99, d = 99, i = 99;
    CU_ASSERT_EQUAL(cs_capture_stats(c, &r, &d, &i), 0);
    CU_ASSERT(r >= 1);
    CU_ASSERT_EQUAL(d, 0);
    cs_capture_close(c);
}

int main(void)
{
    if (tmpdir_make("cs_test_capture") != 0)
        return 2;
    static const struct cs_test_case cases[] = {
        {"numbering across two files, us and ns", test_numbering_two_files},
        {"pcapng timestamps", test_pcapng},
        {"truncated file", test_truncated},
        {"open errors", test_open_errors},
        {"bpf filter keeps true numbering", test_filter},
        {"stdin and stats", test_stdin_and_stats},
        {"link type table", test_linktype_table},
        {"live", test_live},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("capture", cases);
    int rc = cs_test_run();
    if (tmpdir_remove() != 0)
        rc = rc ? rc : 2;
    return rc;
}
