/* Capture files for the capture-stage tests (test_capture.c,
 * test_pcapfile.c): pcap and pcapng images written by hand into a temporary
 * directory.  Each test program is one file, so the helpers are static
 * (inline: a program need not use them all). */
#ifndef CS_CAPTURE_FILES_H
#define CS_CAPTURE_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "capture.h"

#define MAGIC_US 0xa1b2c3d4u
#define MAGIC_NS 0xa1b23c4du
#define LT_ETHERNET 1

static char tmpdir[256];

/* A small in-memory file image. */
struct img {
    uint8_t b[8192];
    size_t n;
};

static inline void put(struct img *m, const void *p, size_t n)
{
    CU_ASSERT_FATAL(m->n + n <= sizeof m->b);
    memcpy(m->b + m->n, p, n);
    m->n += n;
}
static inline void put32(struct img *m, uint32_t v)
{
    put(m, &v, 4);
}
static inline void put16(struct img *m, uint16_t v)
{
    put(m, &v, 2);
}

static inline const char *path_of(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

static inline const char *write_file(const char *name, const struct img *m)
{
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(m->b, 1, m->n, f) == m->n);
    fclose(f);
    return p;
}

/* Ethernet + IPv4 + TCP (sport -> dport) or UDP, 54 or 42 bytes. */
static inline size_t make_frame(uint8_t *f, int udp, uint16_t sport, uint16_t dport)
{
    static const uint8_t eth[14] = {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00};
    size_t l4 = udp ? 8 : 20;
    memcpy(f, eth, 14);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = 0;
    ip[3] = (uint8_t)(20 + l4);
    ip[8] = 64;
    ip[9] = udp ? 17 : 6;
    ip[12] = 10;
    ip[15] = 1;
    ip[16] = 10;
    ip[19] = 2;
    uint8_t *t = ip + 20;
    memset(t, 0, l4);
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8);
    t[3] = (uint8_t)dport;
    if (udp)
        t[5] = 8;
    else {
        t[12] = 0x50;
        t[13] = 0x02;
    }
    return 14 + 20 + l4;
}

static inline void pcap_header(struct img *m, uint32_t magic, uint32_t linktype)
{
    m->n = 0;
    put32(m, magic);
    put16(m, 2);
    put16(m, 4);
    put32(m, 0);
    put32(m, 0);
    put32(m, 65535);
    put32(m, linktype);
}

static inline void pcap_record(struct img *m, uint32_t sec, uint32_t frac, const uint8_t *d, uint32_t len)
{
    put32(m, sec);
    put32(m, frac);
    put32(m, len);
    put32(m, len);
    put(m, d, len);
}

/* pcap (µs or ns) with `n` TCP frames, timestamps sec.frac, frac + i. */
static inline const char *write_pcap(const char *name, uint32_t magic, int n, uint32_t sec, uint32_t frac)
{
    struct img m;
    uint8_t f[64];
    pcap_header(&m, magic, LT_ETHERNET);
    for (int i = 0; i < n; i++) {
        size_t len = make_frame(f, 0, (uint16_t)(1000 + i), 80);
        pcap_record(&m, sec, frac + (uint32_t)i, f, (uint32_t)len);
    }
    return write_file(name, &m);
}

static inline struct cs_capture *open_ok(const char *path, const char *filter, uint64_t first)
{
    char err[CS_ERRBUF_SIZE] = "";
    struct cs_capture *c = cs_capture_open_file(path, filter, first, err);
    if (!c)
        fprintf(stderr, "open %s: %s\n", path, err);
    CU_ASSERT_FATAL(c != NULL);
    return c;
}

static inline void pad4(struct img *m)
{
    static const uint8_t z[4];
    if (m->n % 4)
        put(m, z, 4 - m->n % 4);
}

/* pcapng: SHB, IDB (with if_tsresol when tsresol >= 0), two EPBs. */
static inline const char *write_pcapng(const char *name, int tsresol, uint64_t ts0)
{
    struct img m = {.n = 0};
    put32(&m, 0x0A0D0D0A); /* SHB */
    put32(&m, 28);
    put32(&m, 0x1A2B3C4D);
    put16(&m, 1);
    put16(&m, 0);
    put32(&m, 0xffffffff);
    put32(&m, 0xffffffff);
    put32(&m, 28);
    put32(&m, 1); /* IDB */
    put32(&m, tsresol >= 0 ? 32 : 20);
    put16(&m, LT_ETHERNET);
    put16(&m, 0);
    put32(&m, 65535);
    if (tsresol >= 0) {
        put16(&m, 9); /* if_tsresol */
        put16(&m, 1);
        uint8_t r[4] = {(uint8_t)tsresol, 0, 0, 0};
        put(&m, r, 4);
        put32(&m, 0); /* opt_endofopt */
    }
    put32(&m, tsresol >= 0 ? 32 : 20);
    for (int i = 0; i < 2; i++) {
        uint8_t f[64];
        uint32_t len = (uint32_t)make_frame(f, 0, 2000, 80);
        uint32_t padded = (len + 3) & ~3u;
        uint64_t ts = ts0 + (uint64_t)i;
        put32(&m, 6); /* EPB */
        put32(&m, 32 + padded);
        put32(&m, 0);
        put32(&m, (uint32_t)(ts >> 32));
        put32(&m, (uint32_t)ts);
        put32(&m, len);
        put32(&m, len);
        put(&m, f, len);
        pad4(&m);
        put32(&m, 32 + padded);
    }
    return write_file(name, &m);
}

/* The temporary directory: made before the tests, removed after. */
static inline int tmpdir_make(const char *name)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/%s.XXXXXX", name);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int tmpdir_remove(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
