/* cs_capture_next_batch: the frames of a batch are those cs_capture_next
 * gives one by one, and all of them stay valid together until the next read
 * (the pipeline decodes a batch ahead of feeding it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "capture.h"

#define MAX_FRAMES 6000
#define BATCH 64

struct ref {
    uint8_t data[1600];
    uint32_t caplen;
    uint64_t number;
    cs_time_ns ts;
};
static struct ref refs[MAX_FRAMES];
static int n_refs;
static char path[64];

static void put(FILE *f, const void *p, size_t n)
{
    CU_ASSERT_FATAL(fwrite(p, 1, n, f) == n);
}
static void put32(FILE *f, uint32_t v)
{
    put(f, &v, 4);
}
static void put16(FILE *f, uint16_t v)
{
    put(f, &v, 2);
}

/* An Ethernet/IPv4/TCP frame of `len` bytes (>= 54) whose ports say `i`. */
static uint32_t make_frame(uint8_t *b, uint32_t len, int i)
{
    memset(b, 0, len);
    b[12] = 0x08;
    uint8_t *ip = b + 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((len - 14) >> 8);
    ip[3] = (uint8_t)(len - 14);
    ip[8] = 64;
    ip[9] = 6;
    ip[12] = 10;
    ip[15] = 1;
    ip[16] = 10;
    ip[19] = 2;
    uint8_t *tcp = ip + 20;
    uint16_t sport = (uint16_t)(1024 + i % 7), dport = (i % 3) ? 80 : 443;
    tcp[0] = (uint8_t)(sport >> 8);
    tcp[1] = (uint8_t)sport;
    tcp[2] = (uint8_t)(dport >> 8);
    tcp[3] = (uint8_t)dport;
    tcp[12] = 0x50;
    tcp[13] = 0x18;
    for (uint32_t k = 54; k < len; k++)
        b[k] = (uint8_t)((uint32_t)i * 31 + k);
    return len;
}

/* A classic pcap of n frames of pseudo-random sizes (several times the
 * reader's 128 KB buffer), cut to `cut` bytes when cut > 0. */
static void write_capture(int n, long cut)
{
    snprintf(path, sizeof(path), "/tmp/cs-batch-%d.pcap", (int)getpid());
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    put32(f, 0xa1b2c3d4);
    put16(f, 2);
    put16(f, 4);
    put32(f, 0);
    put32(f, 0);
    put32(f, 65535);
    put32(f, 1);
    uint32_t seed = 12345;
    n_refs = n;
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t len = 54 + (seed >> 8) % 1500;
        struct ref *r = &refs[i];
        r->caplen = make_frame(r->data, len, i);
        r->number = (uint64_t)i + 1;
        r->ts = (cs_time_ns)(1000 + i) * 1000000000LL + (cs_time_ns)i * 1000;
        put32(f, 1000 + (uint32_t)i);
        put32(f, (uint32_t)i);
        put32(f, len);
        put32(f, len);
        put(f, r->data, len);
    }
    CU_ASSERT_FATAL(fclose(f) == 0);
    if (cut > 0)
        CU_ASSERT_FATAL(truncate(path, cut) == 0);
}

/* Reads the capture in batches of `max` and checks every frame against the
 * reference, and every frame of each batch again after the whole batch was
 * read (they must all still be intact).  `every` keeps only frames whose
 * number is a multiple of it (the filter's job, checked through the
 * numbers).  Returns the last return code, with the error in err. */
static int read_batches(const char *filter, int max, int every, int *seen, char *err)
{
    char errbuf[CS_ERRBUF_SIZE];
    struct cs_capture *c = cs_capture_open_file(path, filter, 1, errbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct cs_frame batch[BATCH];
    int rc, next = 0;
    *seen = 0;
    while ((rc = cs_capture_next_batch(c, batch, max, errbuf)) > 0) {
        CU_ASSERT(rc <= max);
        for (int k = 0; k < rc; k++) {
            while (next < n_refs && (refs[next].number % (uint64_t)every) != 0)
                next++;
            CU_ASSERT_FATAL(next < n_refs);
            const struct ref *r = &refs[next++];
            CU_ASSERT_EQUAL(batch[k].number, r->number);
            CU_ASSERT_EQUAL(batch[k].ts, r->ts);
            CU_ASSERT_EQUAL(batch[k].caplen, r->caplen);
            CU_ASSERT(memcmp(batch[k].data, r->data, r->caplen) == 0);
        }
        (*seen) += rc;
    }
    snprintf(err, CS_ERRBUF_SIZE, "%s", rc < 0 ? errbuf : "");
    cs_capture_close(c);
    return rc;
}

static void test_batches_equal_single_reads(void)
{
    write_capture(MAX_FRAMES, 0);
    char err[CS_ERRBUF_SIZE];
    int seen;
    CU_ASSERT_EQUAL(read_batches(NULL, BATCH, 1, &seen, err), 0);
    CU_ASSERT_EQUAL(seen, MAX_FRAMES);
    CU_ASSERT_EQUAL(read_batches(NULL, 1, 1, &seen, err), 0);
    CU_ASSERT_EQUAL(seen, MAX_FRAMES);
    CU_ASSERT_EQUAL(read_batches(NULL, 7, 1, &seen, err), 0);
    CU_ASSERT_EQUAL(seen, MAX_FRAMES);
    /* max <= 0 reads nothing */
    char errbuf[CS_ERRBUF_SIZE];
    struct cs_capture *c = cs_capture_open_file(path, NULL, 1, errbuf);
    struct cs_frame f;
    CU_ASSERT_EQUAL(cs_capture_next_batch(c, &f, 0, errbuf), 0);
    CU_ASSERT_EQUAL(cs_capture_next(c, &f, errbuf), 1);
    CU_ASSERT_EQUAL(f.number, 1);
    cs_capture_close(c);
    unlink(path);
}

/* Ports 443 are every third frame (i % 3 == 0, numbers 1, 4, 7, ...):
 * the filter skips the others inside a batch, numbers stay the file's. */
static void test_batches_with_filter(void)
{
    write_capture(MAX_FRAMES, 0);
    char errbuf[CS_ERRBUF_SIZE];
    struct cs_capture *c = cs_capture_open_file(path, "tcp dst port 443", 1, errbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct cs_frame batch[BATCH];
    int rc, total = 0;
    uint64_t expect = 1;
    while ((rc = cs_capture_next_batch(c, batch, BATCH, errbuf)) > 0) {
        for (int k = 0; k < rc; k++) {
            CU_ASSERT_EQUAL(batch[k].number, expect);
            CU_ASSERT(memcmp(batch[k].data, refs[expect - 1].data, refs[expect - 1].caplen) == 0);
            expect += 3;
        }
        total += rc;
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(total, MAX_FRAMES / 3);
    cs_capture_close(c);
    unlink(path);
}

/* A file cut inside a record: the batches give every whole frame, then -1
 * with the message cs_capture_next gives. */
static void test_batches_truncated(void)
{
    write_capture(3000, 0);
    long size;
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    for (long cut = size - 1; cut > size - 5000; cut -= 997) {
        CU_ASSERT_FATAL(truncate(path, cut) == 0);
        char err_batch[CS_ERRBUF_SIZE], err_single[CS_ERRBUF_SIZE];
        int seen_batch, seen_single;
        int rb = read_batches(NULL, BATCH, 1, &seen_batch, err_batch);
        int rs = read_batches(NULL, 1, 1, &seen_single, err_single);
        CU_ASSERT_EQUAL(rb, -1);
        CU_ASSERT_EQUAL(rs, -1);
        CU_ASSERT_EQUAL(seen_batch, seen_single);
        CU_ASSERT_STRING_EQUAL(err_batch, err_single);
        CU_ASSERT(seen_batch > 2900);
    }
    unlink(path);
}

int main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("capture_batch", NULL, NULL);
    CU_add_test(s, "batches equal single reads", test_batches_equal_single_reads);
    CU_add_test(s, "batches with a filter", test_batches_with_filter);
    CU_add_test(s, "batches of a truncated file", test_batches_truncated);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
