/* Sharding for --workers (see shard.h): the IP-pair hash in C and as the
 * kernel's classic BPF fanout program.  Both must give the same number for
 * the same packet: tests/unit/test_shard.c runs the program on crafted
 * packets and compares. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <pcap/dlt.h>

#include "shard.h"

/* lowbias32 (Chris Wellons' hash prospector): three xor-shifts and two
 * multiplications, each of which one classic BPF instruction does. */
#define MIX_K1 0x7feb352du
#define MIX_K2 0x846ca68bu

static uint32_t mix(uint32_t h)
{
    h ^= h >> 16;
    h *= MIX_K1;
    h ^= h >> 15;
    h *= MIX_K2;
    h ^= h >> 16;
    return h;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint32_t cs_shard_hash_v4(const uint8_t src[4], const uint8_t dst[4])
{
    return mix(be32(src) + be32(dst));
}

uint32_t cs_shard_hash_v6(const uint8_t src[16], const uint8_t dst[16])
{
    uint32_t sum = 0;
    for (int i = 0; i < 16; i += 4)
        sum += be32(src + i) + be32(dst + i);
    return mix(sum);
}

/* The IP header at p (n bytes captured), by its version nibble. */
static uint32_t hash_ip(const uint8_t *p, uint32_t n)
{
    if (n >= 20 && p[0] >> 4 == 4)
        return cs_shard_hash_v4(p + 12, p + 16);
    if (n >= 40 && p[0] >> 4 == 6)
        return cs_shard_hash_v6(p + 8, p + 24);
    return 0;
}

/* The IP header after an ethertype at p[off], VLAN tags skipped. */
static uint32_t hash_ethertype(const uint8_t *p, uint32_t n, uint32_t off)
{
    while (off + 2 <= n) {
        unsigned type = (unsigned)p[off] << 8 | p[off + 1];
        if (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
            off += 4; /* the tag's TCI, then the next ethertype */
            continue;
        }
        if (type != 0x0800 && type != 0x86dd)
            return 0;
        return hash_ip(p + off + 2, n - off - 2);
    }
    return 0;
}

uint32_t cs_shard_hash_frame(int linktype, const uint8_t *data, uint32_t caplen)
{
    switch (linktype) {
    case DLT_EN10MB: return hash_ethertype(data, caplen, 12);
    case DLT_LINUX_SLL: return hash_ethertype(data, caplen, 14);
    case DLT_LINUX_SLL2:
        /* the protocol type comes first; the header is 20 bytes */
        if (caplen < 20 || (!(data[0] == 0x08 && data[1] == 0x00) && !(data[0] == 0x86 && data[1] == 0xdd)))
            return 0;
        return hash_ip(data + 20, caplen - 20);
    case DLT_NULL:
    case DLT_LOOP: return caplen > 4 ? hash_ip(data + 4, caplen - 4) : 0;
    case DLT_RAW:
    case 14:  /* DLT_RAW on OpenBSD */
    case 101: /* LINKTYPE_RAW */
    case DLT_IPV4:
    case DLT_IPV6: return hash_ip(data, caplen);
    default: return 0;
    }
}

#define LD_W(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_NET_OFF + (off)))
#define TAX BPF_STMT(BPF_MISC | BPF_TAX, 0)
#define ADD_X BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0)
#define XOR_X BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0)
#define RSH(k) BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, k)
#define MUL(k) BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, k)

unsigned cs_shard_fanout_program(struct sock_filter *prog, unsigned cap)
{
    /* Jump offsets count instructions after the jump: keep them in step
     * with the layout below (v4 at 4, v6 at 9, mix at 31). */
    const struct sock_filter p[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, 2, 0),
        /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, 6, 0),
        /* 3 */ BPF_STMT(BPF_RET | BPF_K, 0),
        /* 4: IPv4, source + destination */
        LD_W(12),
        TAX,
        LD_W(16),
        ADD_X,
        /* 8 */ BPF_JUMP(BPF_JMP | BPF_JA, 22, 0, 0),
        /* 9: IPv6, the eight words of both addresses */
        LD_W(8),
        TAX,
        LD_W(12),
        ADD_X,
        TAX,
        LD_W(16),
        ADD_X,
        TAX,
        LD_W(20),
        ADD_X,
        TAX,
        LD_W(24),
        ADD_X,
        TAX,
        LD_W(28),
        ADD_X,
        TAX,
        LD_W(32),
        ADD_X,
        TAX,
        LD_W(36),
        ADD_X,
        /* 31: mix (see mix()) */
        TAX,
        RSH(16),
        XOR_X,
        MUL(MIX_K1),
        TAX,
        RSH(15),
        XOR_X,
        MUL(MIX_K2),
        TAX,
        RSH(16),
        XOR_X,
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    unsigned n = sizeof p / sizeof p[0];
    if (n > cap)
        return 0;
    memcpy(prog, p, sizeof p);
    return n;
}

int cs_shard_join_fanout(int fd, uint16_t group, char *errbuf, unsigned errlen)
{
    struct sock_filter prog[CS_SHARD_PROG_MAX];
    struct sock_fprog fprog = {(unsigned short)cs_shard_fanout_program(prog, CS_SHARD_PROG_MAX), prog};
    int arg = group | PACKET_FANOUT_CBPF << 16;
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
        snprintf(errbuf, errlen, "--workers: joining the capture fanout group: %s", strerror(errno));
        return -1;
    }
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &fprog, sizeof fprog) != 0) {
        snprintf(errbuf, errlen, "--workers: setting the fanout program: %s", strerror(errno));
        return -1;
    }
    return 0;
}
