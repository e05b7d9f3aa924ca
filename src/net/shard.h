/* Sharding for --workers: which worker judges a frame.
 *
 * The key is the unordered pair of IP addresses (the outermost IP header of
 * the frame), hashed so that A->B and B->A give the same value: a client
 * and a server (preflight and actual request, retries, keep-alive
 * reconnects, every port) always land in one worker, so the timeline still
 * links them.  Every fragment of an IP datagram carries the addresses, so
 * fragments land in the worker of their datagram, which reassembles them
 * as one worker would.  Frames without an IP header the hash can find
 * (ARP, an unknown link type, a QinQ frame live) go to worker 0.
 *
 * The same hash, as a classic BPF program, is the kernel's fanout program
 * live (PACKET_FANOUT_CBPF): the kernel sends each packet to socket
 * (hash % sockets), which is cs_shard_worker() of the same frame. */
#ifndef CS_SHARD_H
#define CS_SHARD_H

#include <stdint.h>
#include <linux/filter.h>

/* The hash of an unordered address pair.  v4: the two addresses as 32-bit
 * big-endian words; v6: the eight words of both.  The words are summed
 * (order does not matter) and the sum goes through a 32-bit mixer. */
uint32_t cs_shard_hash_v4(const uint8_t src[4], const uint8_t dst[4]);
uint32_t cs_shard_hash_v6(const uint8_t src[16], const uint8_t dst[16]);

/* The hash of a captured frame of DLT linktype, 0 when it has no IP header
 * this finds (Ethernet with any VLAN tags, Linux cooked v1/v2, raw IP,
 * BSD loopback). */
uint32_t cs_shard_hash_frame(int linktype, const uint8_t *data, uint32_t caplen);

/* The worker of a hash among n (as the kernel's fanout picks a socket). */
static inline unsigned cs_shard_worker(uint32_t hash, unsigned n)
{
    return n > 1 ? hash % n : 0;
}

/* The fanout program: writes it into prog[0..cap) and returns its length
 * (0 if cap is too small).  It reads skb->protocol and the network header
 * through the kernel's ancillary offsets (SKF_AD_PROTOCOL, SKF_NET_OFF), so
 * it does not depend on the link layer or the direction of the packet. */
#define CS_SHARD_PROG_MAX 64
unsigned cs_shard_fanout_program(struct sock_filter *prog, unsigned cap);

/* Joins the AF_PACKET socket fd to fanout group `group` sharded by the
 * program above (PACKET_FANOUT with PACKET_FANOUT_CBPF, then the program as
 * PACKET_FANOUT_DATA).  Returns 0, or -1 with a one-line errbuf. */
int cs_shard_join_fanout(int fd, uint16_t group, char *errbuf, unsigned errlen);

#endif
