/* libFuzzer target: the classic pcap record reader (pcapfile.c) on a whole
 * capture file, read from a memfd through a small buffer so that records
 * straddle refills and grow it.
 *
 * Input: a pcap file (24-byte file header, then records).  Records are read
 * in batches the way capture.c reads them: cs_pcapfile_next for the first,
 * then cs_pcapfile_next_buffered while it gives records; after each batch,
 * every record of it is checked again against the checksum taken when it
 * was handed out, so a batch whose early records were moved or freed by a
 * later read is caught (ASan for a free, the checksum for a move). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pcapfile.h"

#define BATCH 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t sum(const uint8_t *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < CS_PCAPFILE_HEADER_SIZE || !cs_pcapfile_header_ok(data))
        return 0;
    int fd = memfd_create("pcap", 0);
    if (fd < 0)
        return 0;
    size_t body = size - CS_PCAPFILE_HEADER_SIZE;
    if (write(fd, data + CS_PCAPFILE_HEADER_SIZE, body) != (ssize_t)body ||
        lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return 0;
    }
    /* the snapshot length as libpcap adjusts it (0 or too big: 262144) */
    uint32_t snap;
    memcpy(&snap, data + 16, 4);
    if (data[0] == 0xa1)
        snap = __builtin_bswap32(snap);
    if (snap == 0 || snap > 262144)
        snap = 262144;
    size_t bufsize = 32 + size % 512;
    struct cs_pcapfile *f = cs_pcapfile_open(fd, data, snap, 262144, bufsize);
    if (!f) {
        close(fd);
        return 0;
    }
    struct cs_pcapfile_record rec[BATCH];
    uint32_t sums[BATCH];
    for (;;) {
        int n = 0;
        int rc = cs_pcapfile_next(f, &rec[0]);
        if (rc != 1)
            break;
        sums[n++] = sum(rec[0].data, rec[0].caplen);
        while (n < BATCH && cs_pcapfile_next_buffered(f, &rec[n]) == 1) {
            sums[n] = sum(rec[n].data, rec[n].caplen);
            n++;
        }
        for (int k = 0; k < n; k++)
            if (sum(rec[k].data, rec[k].caplen) != sums[k] || rec[k].caplen > snap)
                abort();
    }
    /* after the end or an error, reads keep saying so */
    struct cs_pcapfile_record r;
    int again = cs_pcapfile_next(f, &r);
    if (again == 1 || cs_pcapfile_next_buffered(f, &r) != 0)
        abort();
    cs_pcapfile_close(f);
    close(fd);
    return 0;
}
