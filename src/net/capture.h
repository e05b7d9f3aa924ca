/* Capture stage: reads frames from pcap/pcapng files (or stdin) and, later,
 * live interfaces, through libpcap.  Numbers frames from 1 across every input
 * of the run.
 *
 * Errors are written to the caller's errbuf (CS_ERRBUF_SIZE bytes, one line,
 * no trailing newline), never printed. */
#ifndef CS_CAPTURE_H
#define CS_CAPTURE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include "packet.h"

#define CS_ERRBUF_SIZE 512

/* Live: the kernel ring (-B) when none is given, in KiB.  Measured (man
 * page, -B): 16 MiB lost nothing at 330k pps on 2 loaded cores wherever
 * tcpdump's 2 MiB lost nothing; 8 MiB did lose. */
#define CS_LIVE_DEFAULT_BUFFER_KIB 16384

struct cs_capture;

/* Opens a capture file ("-" for stdin), pcap (µs or ns) or pcapng, with
 * nanosecond timestamps.  `filter` is a BPF expression or NULL.  Rejects link
 * types the decoder does not support, with a message naming the link type.
 * first_frame_number: the number the first frame of this file gets (so that
 * numbering continues across several -r files).
 * Returns NULL and fills errbuf on failure. */
struct cs_capture *cs_capture_open_file(const char *path, const char *filter,
                                        uint64_t first_frame_number,
                                        char errbuf[CS_ERRBUF_SIZE]);

/* Opens a live capture on `iface` (pcap_create + pcap_activate), with
 * nanosecond timestamps where the platform has them (else microseconds), a
 * 100 ms read timeout, `snaplen` (<= 0: 262144), promiscuous mode when
 * `promisc`, a kernel buffer of `buffer_bytes` (<= 0: libpcap's default;
 * main passes CS_LIVE_DEFAULT_BUFFER_KIB without -B),
 * immediate mode when `immediate`.  `filter` (or NULL) runs in the kernel, so
 * frames are numbered as delivered, from 1.  If the interface's link type is
 * unsupported, another one it offers is chosen, else it fails.
 * Returns NULL and fills errbuf on failure (no such device, permission). */
struct cs_capture *cs_capture_open_live(const char *iface, const char *filter, int snaplen,
                                        int promisc, int buffer_bytes, int immediate,
                                        char errbuf[CS_ERRBUF_SIZE]);

/* Reads the next frame into *out (valid until the next call).
 * Returns 1 for a frame, 0 at end of input, -1 on an input error (truncated or
 * damaged file; errbuf says what); frames read before the error stay valid.
 * Live captures also return 2: no packet arrived within the 100 ms timeout
 * (call again); 0 there means pcap_breakloop() was called.
 * With a filter on a file, frames the filter rejects are skipped but still
 * counted, so frame numbers are those of the unfiltered file (as Wireshark). */
int cs_capture_next(struct cs_capture *c, struct cs_frame *out,
                    char errbuf[CS_ERRBUF_SIZE]);

/* Reads up to `max` frames into out[], all valid until the next read.
 * Returns how many (at least 1), or what cs_capture_next returns when there
 * is no frame (0 at the end, -1 on an error, 2 for a live timeout).  An
 * end or error met after some frames is returned by the next call.
 * Classic pcap files give many frames at a time (as many as are whole in
 * the read buffer); other inputs one. */
int cs_capture_next_batch(struct cs_capture *c, struct cs_frame *out, int max,
                          char errbuf[CS_ERRBUF_SIZE]);

/* Files: how far reading has got.  *pos is the offset read up to (ahead
 * of the frames delivered by at most the read buffer), *size the file's
 * size.  Returns 0, or -1 when the input has no known size (a pipe, a
 * FIFO, a live capture). */
int cs_capture_position(const struct cs_capture *c, uint64_t *pos, uint64_t *size);

/* Live: what tcpdump says when it starts, "listening on lo, link-type
 * EN10MB (Ethernet), snapshot length 262144 bytes" (no newline). */
void cs_capture_describe(const struct cs_capture *c, char *buf, size_t len);

/* Live: 1 when the interface is a loopback one (Linux counts each packet
 * there twice in the kernel's received count: sent and received). */
int cs_capture_is_loopback(const struct cs_capture *c);

/* The number the next frame would get. */
uint64_t cs_capture_next_frame_number(const struct cs_capture *c);

int cs_capture_linktype(const struct cs_capture *c);

/* Live captures: packets received and dropped by the kernel and by the
 * interface since the open (pcap_stats, widened to 64 bits; call at least
 * once per 2^32 packets).  NULL pointers are skipped.  Returns 0, or -1 for a
 * file (or when pcap_stats fails). */
int cs_capture_stats(struct cs_capture *c, uint64_t *received, uint64_t *dropped,
                     uint64_t *ifdropped);
void cs_capture_close(struct cs_capture *c);

/* Frame numbering continues across inputs: the next frame gets `number`. */
void cs_capture_set_next_frame_number(struct cs_capture *c, uint64_t number);

/* -w: saves every frame the inputs deliver (after the filter) to `path`, a
 * pcap file with first's link type ("-": standard output); all inputs must
 * share it.  The file is closed with `first`.  A symlink as its last
 * component is not followed when another user planted it in a sticky
 * world-writable directory (see open_dump_file).  Returns 0, -1 with errbuf
 * filled, or CS_DUMP_IS_INPUT (nothing truncated) when `path` is one of the
 * files being read, by whatever name (same device and inode). */
#define CS_DUMP_IS_INPUT (-2)
int cs_capture_dump_open(struct cs_capture *first, struct cs_capture **all, int n,
                         const char *path, char errbuf[CS_ERRBUF_SIZE]);

/* Files: a blocking open or first read (a FIFO waiting for its writer)
 * that a signal interrupts gives up, with EINTR, once *flag is non-zero;
 * other signals (SIGUSR1) let it wait on. */
void cs_capture_stop_flag(volatile sig_atomic_t *flag);

/* -D: one line per interface, tcpdump style.  Returns 0, or -1 with errbuf. */
int cs_capture_list_interfaces(FILE *out, char errbuf[CS_ERRBUF_SIZE]);

/* True when the decoder understands this DLT_* value. */
int cs_linktype_supported(int linktype);
const char *cs_linktype_name(int linktype);

/* Live, --workers: joins the capture's AF_PACKET socket to fanout group
 * `group`, sharded by the IP-pair hash (shard.h), so that the captures of
 * one group each get the packets of their share of address pairs.
 * Returns 0, or -1 with errbuf filled. */
int cs_capture_join_fanout(struct cs_capture *c, uint16_t group, char errbuf[CS_ERRBUF_SIZE]);

#endif
