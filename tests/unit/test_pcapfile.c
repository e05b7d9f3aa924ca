/* Unit tests for the classic pcap reader (pcapfile.c), checked against
 * libpcap's own reader: byte orders, µs and ns, records across and beyond
 * the buffer, truncation at every byte, odd headers, the bundled captures,
 * -w output and stdin pipes. */
#include <fcntl.h>
#include <glob.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture_files.h"
#include "pcapfile.h"

/* ---- The classic pcap reader (pcapfile.c), checked against libpcap ---- */

/* A growing file image, any size, in either byte order. */
struct dimg {
    uint8_t *b;
    size_t n, cap;
    int swap;
};

static void dput(struct dimg *m, const void *p, size_t n)
{
    if (m->n + n > m->cap) {
        m->cap = (m->n + n) * 2;
        m->b = realloc(m->b, m->cap);
        CU_ASSERT_FATAL(m->b != NULL);
    }
    memcpy(m->b + m->n, p, n);
    m->n += n;
}
static void dput32(struct dimg *m, uint32_t v)
{
    if (m->swap)
        v = __builtin_bswap32(v);
    dput(m, &v, 4);
}
static void dput16(struct dimg *m, uint16_t v)
{
    if (m->swap)
        v = __builtin_bswap16(v);
    dput(m, &v, 2);
}

static void dheader(struct dimg *m, uint32_t magic, int swap, uint16_t major, uint16_t minor,
                    uint32_t snaplen, uint32_t linktype)
{
    m->n = 0;
    m->swap = swap;
    dput32(m, magic);
    dput16(m, major);
    dput16(m, minor);
    dput32(m, 0);
    dput32(m, 0);
    dput32(m, snaplen);
    dput32(m, linktype);
}

/* A record whose data is a TCP frame padded to `len` bytes with a pattern
 * that depends on `seed`, so misplaced bytes show. */
static void drecord(struct dimg *m, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t wirelen,
                    uint32_t seed)
{
    dput32(m, sec);
    dput32(m, frac);
    dput32(m, caplen);
    dput32(m, wirelen);
    uint8_t f[64];
    size_t flen = make_frame(f, 0, (uint16_t)seed, 80);
    for (uint32_t i = 0; i < caplen; i++) {
        uint8_t b = i < flen ? f[i] : (uint8_t)(seed * 31 + i * 7);
        dput(m, &b, 1);
    }
}

static const char *dwrite(const char *name, const struct dimg *m, size_t n)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(m->b, 1, n, f) == n);
    fclose(f);
    return p;
}

/* Reads `path` through capture.c and through libpcap (nanosecond
 * timestamps, the filter applied with pcap_offline_filter) side by side:
 * the same frames with the same numbers, lengths, bytes and timestamps, the
 * same end (0, or -1 with libpcap's message), or both refusing to open.
 * Returns 0, or -1 after printing the first difference. */
static int same_as_libpcap(const char *path, const char *filter)
{
    char perr[PCAP_ERRBUF_SIZE] = "", err[CS_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
    struct cs_capture *c = cs_capture_open_file(path, filter, 1, err);
    int rc = -1;
    if (!p || !c) {
        /* Refused by both, or by corscope alone for its link type. */
        if (!c && (!p || !cs_linktype_supported(pcap_datalink(p))) &&
            strchr(err, '\n') == NULL && (p || strstr(err, perr)))
            rc = 0;
        else
            fprintf(stderr, "%s: libpcap %s, capture.c %s (%s)\n", path,
                    p ? "opens" : perr, c ? "opens" : "refuses", err);
        goto out;
    }
    struct bpf_program prog = {0};
    if (filter && pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        fprintf(stderr, "%s: cannot compile %s\n", path, filter);
        goto out;
    }
    if (cs_capture_linktype(c) != pcap_datalink(p)) {
        fprintf(stderr, "%s: link type %d, libpcap %d\n", path, cs_capture_linktype(c),
                pcap_datalink(p));
        goto out_prog;
    }
    uint64_t number = 0;
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *d;
        int prc;
        do {
            prc = pcap_next_ex(p, &h, &d);
            if (prc == 1)
                number++;
        } while (prc == 1 && filter && !pcap_offline_filter(&prog, h, d));
        struct cs_frame fr;
        int crc = cs_capture_next(c, &fr, err);
        if (prc == 1) {
            cs_time_ns ts = (cs_time_ns)h->ts.tv_sec * 1000000000LL + h->ts.tv_usec;
            if (crc != 1 || fr.number != number || fr.ts != ts || fr.caplen != h->caplen ||
                fr.wirelen != h->len || memcmp(fr.data, d, h->caplen) != 0) {
                fprintf(stderr, "%s: frame %llu differs (rc %d, number %llu, ts %lld/%lld, "
                                "caplen %u/%u, len %u/%u)\n",
                        path, (unsigned long long)number, crc,
                        (unsigned long long)fr.number, (long long)fr.ts, (long long)ts,
                        fr.caplen, h->caplen, fr.wirelen, h->len);
                break;
            }
            continue;
        }
        if (prc == PCAP_ERROR_BREAK) {
            if (crc == 0 && cs_capture_next(c, &fr, err) == 0)
                rc = 0;
            else
                fprintf(stderr, "%s: libpcap ends, capture.c returns %d\n", path, crc);
            break;
        }
        char want[CS_ERRBUF_SIZE + PCAP_ERRBUF_SIZE];
        snprintf(want, sizeof want, "truncated capture (after frame %llu): %s",
                 (unsigned long long)number, pcap_geterr(p));
        if (crc == -1 && strstr(err, want) && !strchr(err, '\n'))
            rc = 0;
        else
            fprintf(stderr, "%s: libpcap fails with '%s', capture.c returns %d '%s'\n", path,
                    want, crc, err);
        break;
    }
out_prog:
    if (filter)
        pcap_freecode(&prog);
out:
    if (c)
        cs_capture_close(c);
    if (p)
        pcap_close(p);
    return rc;
}

/* Reads `path` with cs_pcapfile directly, with a buffer of `bufsize` bytes,
 * and compares with libpcap as above (no filter).  Returns 0 or -1. */
static int pcapfile_same_as_libpcap(const char *path, size_t bufsize)
{
    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
    CU_ASSERT_FATAL(p != NULL);
    int fd = open(path, O_RDONLY);
    uint8_t hdr[CS_PCAPFILE_HEADER_SIZE];
    CU_ASSERT_FATAL(fd >= 0 && read(fd, hdr, sizeof hdr) == (ssize_t)sizeof hdr);
    CU_ASSERT_FATAL(cs_pcapfile_header_ok(hdr));
    /* 262144: libpcap's limit for Ethernet, the only link type used here. */
    struct cs_pcapfile *f = cs_pcapfile_open(fd, hdr, (uint32_t)pcap_snapshot(p), 262144, bufsize);
    int rc = -1;
    for (uint64_t n = 1;; n++) {
        struct pcap_pkthdr *h;
        const u_char *d;
        struct cs_pcapfile_record r;
        int prc = pcap_next_ex(p, &h, &d);
        int frc = cs_pcapfile_next(f, &r);
        if (prc == 1) {
            if (frc != 1 || r.sec != h->ts.tv_sec || r.nsec != h->ts.tv_usec ||
                r.caplen != h->caplen || r.len != h->len || memcmp(r.data, d, h->caplen) != 0) {
                fprintf(stderr, "%s (buffer %zu): record %llu differs\n", path, bufsize,
                        (unsigned long long)n);
                break;
            }
            continue;
        }
        if (prc == PCAP_ERROR_BREAK ? frc == 0
                                    : frc == -1 && strcmp(cs_pcapfile_error(f), pcap_geterr(p)) == 0)
            rc = 0;
        else
            fprintf(stderr, "%s (buffer %zu): libpcap %d '%s', pcapfile %d '%s'\n", path, bufsize,
                    prc, pcap_geterr(p), frc, cs_pcapfile_error(f));
        break;
    }
    cs_pcapfile_close(f);
    close(fd);
    pcap_close(p);
    return rc;
}

/* µs and ns magic, little- and big-endian: the same frames as libpcap,
 * including timestamps with the top bit set (libpcap 1.10 sign-extends them
 * in a file of the host's byte order, not in a swapped one). */
static void test_pcapfile_byte_orders(void)
{
    const uint32_t magics[] = {MAGIC_US, MAGIC_NS};
    for (int swap = 0; swap < 2; swap++)
        for (int k = 0; k < 2; k++) {
            struct dimg m = {0};
            dheader(&m, magics[k], swap, 2, 4, 65535, LT_ETHERNET);
            drecord(&m, 1700000000, 999999, 54, 54, 1);
            drecord(&m, 1700000001, 0, 60, 1514, 2);
            drecord(&m, 0x80000001u, 0x80000000u, 54, 54, 3);
            drecord(&m, 0xffffffffu, 999999999, 54, 54, 4);
            const char *p = dwrite("order.pcap", &m, m.n);
            CU_ASSERT_EQUAL(same_as_libpcap(p, NULL), 0);
            CU_ASSERT_EQUAL(pcapfile_same_as_libpcap(p, 0), 0);
            /* And the values themselves, for the first frame. */
            struct cs_capture *c = open_ok(p, NULL, 1);
            struct cs_frame fr;
            char err[CS_ERRBUF_SIZE];
            CU_ASSERT_EQUAL_FATAL(cs_capture_next(c, &fr, err), 1);
            CU_ASSERT_EQUAL(fr.ts, 1700000000LL * 1000000000LL + (k ? 999999 : 999999000LL));
            CU_ASSERT_EQUAL(fr.caplen, 54);
            CU_ASSERT_EQUAL(fr.data[12], 0x08);
            CU_ASSERT_EQUAL_FATAL(cs_capture_next(c, &fr, err), 1);
            CU_ASSERT_EQUAL(fr.caplen, 60);
            CU_ASSERT_EQUAL(fr.wirelen, 1514);
            cs_capture_close(c);
            free(m.b);
        }
}

/* Records of every size from 0 to 300 bytes: with buffers of 16 to 4096
 * bytes every record straddles a buffer boundary somewhere, and the bigger
 * ones do not fit the smaller buffers at all. */
static void test_pcapfile_buffer_boundaries(void)
{
    struct dimg m = {0};
    dheader(&m, MAGIC_NS, 0, 2, 4, 65535, LT_ETHERNET);
    for (uint32_t i = 0; i <= 300; i++)
        drecord(&m, 1700000000 + i, i * 1000, i, i + 4, i);
    drecord(&m, 1, 2, 5000, 5000, 7); /* bigger than most buffers */
    const char *p = dwrite("sizes.pcap", &m, m.n);
    const size_t bufsizes[] = {16, 17, 100, 301, 1000, 4096, 0};
    for (size_t k = 0; k < sizeof bufsizes / sizeof bufsizes[0]; k++)
        CU_ASSERT_EQUAL(pcapfile_same_as_libpcap(p, bufsizes[k]), 0);
    CU_ASSERT_EQUAL(same_as_libpcap(p, NULL), 0);
    free(m.b);
}

/* Through capture.c, with its real buffer: a file of a few megabytes with
 * uneven record sizes (records straddle every refill), one record of
 * 200000 bytes (bigger than the buffer), then libpcap's largest, 262144. */
static void test_pcapfile_big_file(void)
{
    struct dimg m = {0};
    dheader(&m, MAGIC_US, 0, 2, 4, 262144, LT_ETHERNET);
    uint32_t x = 12345;
    for (uint32_t i = 0; i < 3000; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t len = 54 + (x >> 16) % 1500;
        drecord(&m, 1700000000 + i / 100, (i % 100) * 10000, len, len, i);
        if (i == 1000)
            drecord(&m, 1700000010, 1, 200000, 200000, 77);
    }
    drecord(&m, 1700000099, 2, 262144, 262144, 78);
    const char *p = dwrite("big.pcap", &m, m.n);
    CU_ASSERT_EQUAL(same_as_libpcap(p, NULL), 0);
    CU_ASSERT_EQUAL(same_as_libpcap(p, "tcp port 80 and tcp src port 500"), 0);
    free(m.b);
}

/* A small file cut at every byte offset, in both byte orders: the frames
 * before the cut, then end of file or -1 with libpcap's message (a header
 * shorter than 24 bytes is refused at open); never a crash.  Also with a
 * 17-byte pcapfile buffer. */
static void test_pcapfile_truncation(void)
{
    for (int swap = 0; swap < 2; swap++) {
        struct dimg m = {0};
        dheader(&m, swap ? MAGIC_NS : MAGIC_US, swap, 2, 4, 65535, LT_ETHERNET);
        drecord(&m, 10, 1, 54, 54, 1);
        drecord(&m, 11, 2, 0, 0, 2);
        drecord(&m, 12, 3, 70, 1000, 3);
        size_t full = m.n;
        int bad = 0;
        for (size_t n = 0; n <= full; n++) {
            const char *p = dwrite("cut.pcap", &m, n);
            if (same_as_libpcap(p, NULL) != 0 ||
                (n >= CS_PCAPFILE_HEADER_SIZE && pcapfile_same_as_libpcap(p, 17) != 0)) {
                fprintf(stderr, "cut at %zu of %zu\n", n, full);
                bad++;
            }
        }
        CU_ASSERT_EQUAL(bad, 0);
        free(m.b);
    }
}

/* The odd headers and lying records tests/e2e/hostile.sh feeds the binary,
 * plus pcap variants pcapfile.c leaves to libpcap: each read as libpcap
 * reads it. */
static void test_pcapfile_odd_files(void)
{
    const struct {
        const char *name;
        uint32_t magic, snaplen, linktype, caplen, wirelen;
        uint16_t major, minor;
    } cases[] = {
        {"snaplen 0", MAGIC_US, 0, LT_ETHERNET, 54, 54, 2, 4},
        {"snaplen 2^32-1", MAGIC_US, 0xffffffffu, LT_ETHERNET, 54, 54, 2, 4},
        {"snaplen 2^31", MAGIC_NS, 0x80000000u, LT_ETHERNET, 54, 54, 2, 4},
        {"caplen over snaplen", MAGIC_US, 40, LT_ETHERNET, 1500, 1500, 2, 4},
        {"caplen over max", MAGIC_US, 262144, LT_ETHERNET, 300 * 1024, 300 * 1024, 2, 4},
        {"caplen over max and snaplen", MAGIC_US, 1000000, LT_ETHERNET, 300 * 1024, 1, 2, 4},
        {"caplen past eof", MAGIC_US, 262144, LT_ETHERNET, 0x7fffffffu, 0x7fffffffu, 2, 4},
        {"caplen 2^32-1", MAGIC_US, 262144, LT_ETHERNET, 0xffffffffu, 54, 2, 4},
        {"caplen > len", MAGIC_US, 65535, LT_ETHERNET, 54, 20, 2, 4},
        {"LINKTYPE_RAW 101", MAGIC_US, 65535, 101, 54, 54, 2, 4},
        {"LINKTYPE_NULL", MAGIC_US, 65535, 0, 54, 54, 2, 4},
        {"LINKTYPE_LINUX_SLL", MAGIC_US, 65535, 113, 54, 54, 2, 4},
        {"unsupported link type", MAGIC_US, 65535, 147, 54, 54, 2, 4},
        {"FCS bits in link type", MAGIC_US, 65535, 0x14000001u, 54, 54, 2, 4},
        {"version 2.2 (lengths swapped)", MAGIC_US, 65535, LT_ETHERNET, 54, 60, 2, 2},
        {"version 2.3", MAGIC_US, 65535, LT_ETHERNET, 60, 54, 2, 3},
        {"version 1.0", MAGIC_US, 65535, LT_ETHERNET, 54, 54, 1, 0},
        {"version 3.0", MAGIC_US, 65535, LT_ETHERNET, 54, 54, 3, 0},
        {"Kuznetzov magic", 0xa1b2cd34u, 65535, LT_ETHERNET, 54, 54, 2, 4},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (int swap = 0; swap < 2; swap++) {
            struct dimg m = {0};
            dheader(&m, cases[k].magic, swap, cases[k].major, cases[k].minor,
                    cases[k].snaplen, cases[k].linktype);
            drecord(&m, 1, 1, 54, 54, 1);
            uint32_t data = cases[k].caplen > 400000 ? 100 : cases[k].caplen;
            size_t at = m.n;
            drecord(&m, 2, 2, data, cases[k].wirelen, 2);
            /* the claimed caplen, whatever was written */
            uint32_t claimed = swap ? __builtin_bswap32(cases[k].caplen) : cases[k].caplen;
            memcpy(m.b + at + 8, &claimed, 4);
            drecord(&m, 3, 3, 54, 54, 3);
            const char *p = dwrite("odd.pcap", &m, m.n);
            int rc = same_as_libpcap(p, NULL);
            if (rc != 0)
                fprintf(stderr, "case: %s%s\n", cases[k].name, swap ? " (big-endian)" : "");
            CU_ASSERT_EQUAL(rc, 0);
            free(m.b);
        }
    }
}

/* Every capture in pcaps/ and pcaps/browser/ (run from the repository
 * root, as make check does), plain and filtered. */
static void test_pcapfile_corpus(void)
{
    glob_t g;
    int n = 0;
    if (glob("pcaps/*.pcap", 0, NULL, &g) == 0) {
        glob("pcaps/browser/*.pcap", GLOB_APPEND, NULL, &g);
        for (size_t i = 0; i < g.gl_pathc; i++, n++) {
            CU_ASSERT_EQUAL(same_as_libpcap(g.gl_pathv[i], NULL), 0);
            CU_ASSERT_EQUAL(same_as_libpcap(g.gl_pathv[i], "tcp port 80 or udp"), 0);
            char err[CS_ERRBUF_SIZE];
            struct cs_capture *c = cs_capture_open_file(g.gl_pathv[i], NULL, 1, err);
            if (c)
                cs_capture_close(c);
        }
        globfree(&g);
    }
    if (n == 0)
        fprintf(stderr, "(no pcaps/*.pcap here: run from the repository root)\n");
    CU_ASSERT(n >= 10);
}

/* -w through a classic file: byte for byte what libpcap's dumper writes for
 * the frames libpcap reads and the filter keeps. */
static void test_pcapfile_dump(void)
{
    struct dimg m = {0};
    dheader(&m, MAGIC_US, 1, 2, 4, 65535, LT_ETHERNET);
    for (uint32_t i = 0; i < 20; i++)
        drecord(&m, 1700000000 + i, i * 37, 54 + i, 60 + i, (uint16_t)(i % 3 ? 80 : 81));
    char in[512], out_new[512], out_ref[512];
    snprintf(in, sizeof in, "%s", dwrite("dumpin.pcap", &m, m.n));
    snprintf(out_new, sizeof out_new, "%s", path_of("dump-new.pcap"));
    snprintf(out_ref, sizeof out_ref, "%s", path_of("dump-ref.pcap"));
    const char *filter = "tcp src port 81";

    struct cs_capture *c = open_ok(in, filter, 1);
    char err[CS_ERRBUF_SIZE];
    CU_ASSERT_EQUAL_FATAL(cs_capture_dump_open(c, &c, 1, out_new, err), 0);
    struct cs_frame fr;
    int n = 0;
    while (cs_capture_next(c, &fr, err) == 1)
        n++;
    cs_capture_close(c);

    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, perr);
    CU_ASSERT_FATAL(p != NULL);
    struct bpf_program prog;
    CU_ASSERT_FATAL(pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) == 0);
    pcap_dumper_t *d = pcap_dump_open(p, out_ref);
    CU_ASSERT_FATAL(d != NULL);
    struct pcap_pkthdr *h;
    const u_char *data;
    int want = 0;
    while (pcap_next_ex(p, &h, &data) == 1)
        if (pcap_offline_filter(&prog, h, data)) {
            pcap_dump((u_char *)d, h, data);
            want++;
        }
    pcap_dump_close(d);
    pcap_freecode(&prog);
    pcap_close(p);
    CU_ASSERT_EQUAL(n, want);
    CU_ASSERT(n > 0 && n < 20);

    struct dimg a = {0}, b = {0};
    const char *paths[2] = {out_new, out_ref};
    struct dimg *imgs[2] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(paths[k], "rb");
        CU_ASSERT_FATAL(f != NULL);
        uint8_t buf[4096];
        size_t r;
        while ((r = fread(buf, 1, sizeof buf, f)) > 0)
            dput(imgs[k], buf, r);
        fclose(f);
    }
    CU_ASSERT_EQUAL(a.n, b.n);
    CU_ASSERT(a.n == b.n && memcmp(a.b, b.b, a.n) == 0);
    free(a.b);
    free(b.b);
    free(m.b);
}

/* stdin as a pipe: a classic file is read by pcapfile.c from the pipe; a
 * pcapng one goes to libpcap, which must still see the bytes we looked at. */
static void test_pcapfile_stdin_pipe(void)
{
    struct dimg m = {0};
    dheader(&m, MAGIC_NS, 1, 2, 4, 65535, LT_ETHERNET);
    for (uint32_t i = 0; i < 50; i++)
        drecord(&m, 1700000000, i, 54 + i * 10, 54 + i * 10, i);
    char classic[512];
    snprintf(classic, sizeof classic, "%s", dwrite("pipe.pcap", &m, m.n));
    const char *ng = write_pcapng("pipe.pcapng", 9, 1700000000123456789ULL);
    const struct {
        const char *path;
        int frames;
        cs_time_ns ts0;
    } cases[] = {
        {classic, 50, 1700000000LL * 1000000000LL},
        {ng, 2, 1700000000123456789LL},
    };
    for (size_t k = 0; k < 2; k++) {
        int fds[2];
        CU_ASSERT_FATAL(pipe(fds) == 0);
        pid_t pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0) { /* writer: the file, in small pieces */
            close(fds[0]);
            int in = open(cases[k].path, O_RDONLY);
            char buf[7];
            ssize_t r;
            while ((r = read(in, buf, sizeof buf)) > 0)
                if (write(fds[1], buf, (size_t)r) != r)
                    _exit(1);
            _exit(0);
        }
        close(fds[1]);
        int saved = dup(0);
        dup2(fds[0], 0);
        close(fds[0]);
        char err[CS_ERRBUF_SIZE] = "";
        struct cs_capture *c = cs_capture_open_file("-", NULL, 1, err);
        CU_ASSERT_PTR_NOT_NULL(c);
        if (c) {
            struct cs_frame fr;
            int n = 0;
            cs_time_ns first = 0;
            while (cs_capture_next(c, &fr, err) == 1)
                if (n++ == 0)
                    first = fr.ts;
            CU_ASSERT_EQUAL(n, cases[k].frames);
            CU_ASSERT_EQUAL(first, cases[k].ts0);
            cs_capture_close(c);
        }
        dup2(saved, 0);
        close(saved);
        int status;
        waitpid(pid, &status, 0);
    }
    free(m.b);
}

int main(void)
{
    if (tmpdir_make("cs_test_pcapfile") != 0)
        return 2;
    static const struct cs_test_case cases[] = {
        {"pcapfile: both byte orders, us and ns", test_pcapfile_byte_orders},
        {"pcapfile: records straddling and bigger than the buffer",
         test_pcapfile_buffer_boundaries},
        {"pcapfile: a file of several buffers", test_pcapfile_big_file},
        {"pcapfile: truncation at every byte", test_pcapfile_truncation},
        {"pcapfile: odd headers and records, as libpcap", test_pcapfile_odd_files},
        {"pcapfile: pcaps/ as libpcap reads them", test_pcapfile_corpus},
        {"pcapfile: -w as libpcap writes it", test_pcapfile_dump},
        {"pcapfile: stdin pipe, pcap and pcapng", test_pcapfile_stdin_pipe},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("pcapfile", cases);
    int rc = cs_test_run();
    if (tmpdir_remove() != 0)
        rc = rc ? rc : 2;
    return rc;
}
