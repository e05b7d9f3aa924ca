/* Classic pcap file reader: the record loop of a pcap savefile (magic
 * a1b2c3d4 for microseconds, a1b23c4d for nanoseconds, either byte order,
 * version 2.4), read from a file descriptor into one large buffer and handed
 * out in place, without the per-packet copies libpcap's stdio reader makes.
 * Works on any descriptor, pipes included.
 *
 * The capture stage (capture.c) lets libpcap parse the 24-byte file header
 * and uses this reader only for the records that follow; pcapng, other pcap
 * variants and live captures stay on libpcap.  Records are checked exactly as
 * libpcap 1.10 checks them (same limits, same truncation, same messages), so
 * that a file reads the same through either.
 *
 * Errors are one line, no trailing newline, in libpcap's own words. */
#ifndef CS_PCAPFILE_H
#define CS_PCAPFILE_H

#include <stddef.h>
#include <stdint.h>

#define CS_PCAPFILE_HEADER_SIZE 24
#define CS_PCAPFILE_RECORD_HEADER_SIZE 16
/* Default read buffer.  Small on purpose: the kernel's copy leaves it in
 * the CPU cache, where the decoder then reads each packet.  On a 300 MB
 * capture 64 KB and 128 KB buffers ran corscope ~5% faster than 1 MB (whose
 * copy evicts what the decoder reads next) and as fast as a sliding mmap
 * window, which instead pays page-table work and dies of SIGBUS if the file
 * is truncated under it. */
#define CS_PCAPFILE_DEFAULT_BUFFER (128 * 1024)
#define CS_PCAPFILE_ERRBUF_SIZE 256

struct cs_pcapfile;

/* One record, valid until the next call on the reader. */
struct cs_pcapfile_record {
    int64_t sec;     /* seconds, widened from 32 bits as libpcap does */
    int64_t nsec;    /* fraction, already scaled to nanoseconds */
    uint32_t caplen; /* bytes at data (cut to the snapshot length) */
    uint32_t len;    /* length on the wire */
    const uint8_t *data;
};

/* True when `header` (the file's first 24 bytes) is a classic pcap header
 * this reader handles: the µs or ns magic in either byte order, version 2.4,
 * nothing in the link type's upper 16 bits (FCS length, reserved bits).
 * Everything else (older versions with swapped length fields, Kuznetzov's
 * modified records, pcapng) is left to libpcap. */
int cs_pcapfile_header_ok(const uint8_t header[CS_PCAPFILE_HEADER_SIZE]);

/* Starts reading records from `fd`, positioned just after the 24-byte
 * `header` (which must pass cs_pcapfile_header_ok).  snapshot: the file's
 * snapshot length as libpcap adjusted it (pcap_snapshot); max_caplen:
 * libpcap's sanity limit for the link type (a record's caplen above it is an
 * error, between snapshot and it the record is cut to the snapshot).
 * bufsize: the read buffer (0: CS_PCAPFILE_DEFAULT_BUFFER); it grows for a
 * record that does not fit.  The reader does not own fd: the caller closes
 * it after cs_pcapfile_close.  Returns NULL when out of memory. */
struct cs_pcapfile *cs_pcapfile_open(int fd, const uint8_t header[CS_PCAPFILE_HEADER_SIZE],
                                     uint32_t snapshot, uint32_t max_caplen, size_t bufsize);

/* Reads the next record into *rec.  Returns 1 for a record, 0 at the end of
 * the file, -1 on a read error or a damaged record (cs_pcapfile_error says
 * what); after -1 or 0 every further call returns the same. */
int cs_pcapfile_next(struct cs_pcapfile *f, struct cs_pcapfile_record *rec);

/* cs_pcapfile_next's fast path: reads the next record only if it is whole
 * in the buffer and needs no cutting to the snapshot length (returns 1);
 * otherwise returns 0 and reads nothing (cs_pcapfile_next then reads it, or
 * says what is wrong with it).  A batch of these moves nothing, so every
 * record of the batch stays valid. */
int cs_pcapfile_next_buffered(struct cs_pcapfile *f, struct cs_pcapfile_record *rec);

/* The message of the last -1, in libpcap's words ("truncated dump file;
 * ..."), or "". */
const char *cs_pcapfile_error(const struct cs_pcapfile *f);

/* Frees the reader and its buffer (not the descriptor). */
void cs_pcapfile_close(struct cs_pcapfile *f);

#endif
