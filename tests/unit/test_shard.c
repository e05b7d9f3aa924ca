/* Sharding (shard.h): the IP-pair hash is symmetric, spreads clients over
 * workers, finds the IP header under every link type the decoder knows, and
 * the classic BPF fanout program the kernel runs live computes exactly the
 * C hash.  The program is run by a small interpreter of the instructions
 * the kernel's classic BPF has (with its ancillary loads: SKF_AD_PROTOCOL,
 * SKF_NET_OFF), on crafted IPv4 and IPv6 packets. */
#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "shard.h"

/* The packet as the kernel's fanout sees it: skb->protocol and the bytes
 * from the network header on. */
struct skb {
    uint16_t protocol;
    const uint8_t *net;
    uint32_t len;
};

/* Returns the program's result, or 0 where the kernel aborts (a load out
 * of bounds, a division by zero, an unknown instruction). */
static uint32_t run_cbpf(const struct sock_filter *p, unsigned n, const struct skb *skb)
{
    uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
    for (unsigned pc = 0; pc < n; pc++) {
        const struct sock_filter *i = &p[pc];
        switch (i->code) {
        case BPF_LD | BPF_H | BPF_ABS:
        case BPF_LD | BPF_W | BPF_ABS: {
            uint32_t size = BPF_SIZE(i->code) == BPF_H ? 2 : 4;
            if (i->k == (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL)) {
                a = skb->protocol;
                break;
            }
            if ((int32_t)i->k < SKF_NET_OFF || (int32_t)i->k >= SKF_NET_OFF + 0x10000)
                return 0; /* only network-relative loads are used */
            uint32_t off = i->k - (uint32_t)SKF_NET_OFF;
            if (off + size > skb->len)
                return 0;
            a = 0;
            for (uint32_t b = 0; b < size; b++)
                a = a << 8 | skb->net[off + b];
            break;
        }
        case BPF_MISC | BPF_TAX: x = a; break;
        case BPF_MISC | BPF_TXA: a = x; break;
        case BPF_ST: mem[i->k % BPF_MEMWORDS] = a; break;
        case BPF_LDX | BPF_MEM: x = mem[i->k % BPF_MEMWORDS]; break;
        case BPF_ALU | BPF_ADD | BPF_X: a += x; break;
        case BPF_ALU | BPF_XOR | BPF_X: a ^= x; break;
        case BPF_ALU | BPF_RSH | BPF_K: a >>= i->k; break;
        case BPF_ALU | BPF_MUL | BPF_K: a *= i->k; break;
        case BPF_JMP | BPF_JA: pc += i->k; break;
        case BPF_JMP | BPF_JEQ | BPF_K: pc += a == i->k ? i->jt : i->jf; break;
        case BPF_RET | BPF_K: return i->k;
        case BPF_RET | BPF_A: return a;
        default: CU_FAIL("instruction the test interpreter does not know"); return 0;
        }
    }
    CU_FAIL("program ran off its end");
    return 0;
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void fill(uint8_t *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

static void test_symmetric(void)
{
    for (int i = 0; i < 10000; i++) {
        uint8_t a[16], b[16];
        fill(a, 16);
        fill(b, 16);
        CU_ASSERT_EQUAL(cs_shard_hash_v4(a, b), cs_shard_hash_v4(b, a));
        CU_ASSERT_EQUAL(cs_shard_hash_v6(a, b), cs_shard_hash_v6(b, a));
    }
}

/* One server, many clients numbered in sequence (the worst case for a weak
 * hash): each of 2..16 workers gets its share within 10%. */
static void test_distribution(void)
{
    for (unsigned n = 2; n <= 16; n++) {
        unsigned count[16] = {0};
        const unsigned total = 64000;
        uint8_t server[4] = {10, 0, 0, 1}, client[4] = {192, 168, 0, 0};
        for (unsigned i = 0; i < total; i++) {
            client[2] = (uint8_t)(i >> 8);
            client[3] = (uint8_t)i;
            count[cs_shard_worker(cs_shard_hash_v4(client, server), n)]++;
        }
        for (unsigned w = 0; w < n; w++) {
            CU_ASSERT(count[w] > total / n * 9 / 10);
            CU_ASSERT(count[w] < total / n * 11 / 10);
        }
        unsigned count6[16] = {0};
        uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8}, c6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
        for (unsigned i = 0; i < total; i++) {
            c6[14] = (uint8_t)(i >> 8);
            c6[15] = (uint8_t)i;
            count6[cs_shard_worker(cs_shard_hash_v6(c6, s6), n)]++;
        }
        for (unsigned w = 0; w < n; w++) {
            CU_ASSERT(count6[w] > total / n * 9 / 10);
            CU_ASSERT(count6[w] < total / n * 11 / 10);
        }
    }
}

/* An IPv4 or IPv6 header (and a little more) with random addresses. */
static unsigned craft_ip(uint8_t *ip, int v6)
{
    unsigned n = v6 ? 60 : 40;
    fill(ip, n);
    ip[0] = v6 ? 0x60 : 0x45;
    return n;
}

static void test_bpf_equals_c(void)
{
    struct sock_filter prog[CS_SHARD_PROG_MAX];
    unsigned n = cs_shard_fanout_program(prog, CS_SHARD_PROG_MAX);
    CU_ASSERT_FATAL(n > 0 && n <= CS_SHARD_PROG_MAX);
    CU_ASSERT_EQUAL(cs_shard_fanout_program(prog, n - 1), 0);
    for (int i = 0; i < 20000; i++) {
        int v6 = i & 1;
        uint8_t ip[64];
        unsigned len = craft_ip(ip, v6);
        struct skb skb = {v6 ? 0x86dd : 0x0800, ip, len};
        uint32_t want = v6 ? cs_shard_hash_v6(ip + 8, ip + 24) : cs_shard_hash_v4(ip + 12, ip + 16);
        CU_ASSERT_EQUAL(run_cbpf(prog, n, &skb), want);
        CU_ASSERT_EQUAL(cs_shard_hash_frame(DLT_RAW, ip, len), want);
        /* the other direction: the kernel sends it to the same socket */
        uint8_t rev[64];
        memcpy(rev, ip, len);
        if (v6) {
            memcpy(rev + 8, ip + 24, 16);
            memcpy(rev + 24, ip + 8, 16);
        } else {
            memcpy(rev + 12, ip + 16, 4);
            memcpy(rev + 16, ip + 12, 4);
        }
        skb.net = rev;
        CU_ASSERT_EQUAL(run_cbpf(prog, n, &skb), want);
    }
    /* not IP: socket 0, as worker 0 in files */
    uint8_t arp[28] = {0};
    struct skb skb = {0x0806, arp, sizeof arp};
    CU_ASSERT_EQUAL(run_cbpf(prog, n, &skb), 0);
}

/* The C hash finds the IP header under each link type. */
static void test_link_types(void)
{
    uint8_t ip[64], frame[128];
    unsigned len = craft_ip(ip, 0);
    uint32_t want = cs_shard_hash_v4(ip + 12, ip + 16);
    /* Ethernet, with two VLAN tags */
    memset(frame, 0, sizeof frame);
    frame[12] = 0x88, frame[13] = 0xa8, frame[16] = 0x81, frame[17] = 0x00;
    frame[20] = 0x08, frame[21] = 0x00;
    memcpy(frame + 22, ip, len);
    CU_ASSERT_EQUAL(cs_shard_hash_frame(DLT_EN10MB, frame, 22 + len), want);
    CU_ASSERT_EQUAL(cs_shard_hash_frame(DLT_EN10MB, frame, 22 + 19), 0); /* cut IP header */
    /* Linux cooked v1 and v2 */
    memset(frame, 0, sizeof frame);
    frame[14] = 0x08;
    memcpy(frame + 16, ip, len);
    CU_ASSERT_EQUAL(cs_shard_hash_frame(DLT_LINUX_SLL, frame, 16 + len), want);
    memset(frame, 0, sizeof frame);
    frame[0] = 0x08;
    memcpy(frame + 20, ip, len);
    CU_ASSERT_EQUAL(cs_shard_hash_frame(DLT_LINUX_SLL2, frame, 20 + len), want);
    /* BSD loopback */
    memset(frame, 0, sizeof frame);
    frame[0] = 2;
    memcpy(frame + 4, ip, len);
    CU_ASSERT_EQUAL(cs_shard_hash_frame(DLT_NULL, frame, 4 + len), want);
    /* unknown link type, empty frame */
    CU_ASSERT_EQUAL(cs_shard_hash_frame(9999, frame, 4 + len), 0);
    CU_ASSERT_EQUAL(cs_shard_hash_frame(DLT_EN10MB, frame, 0), 0);
    CU_ASSERT_EQUAL(cs_shard_worker(12345, 1), 0);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"IP-pair hash: the same both ways", test_symmetric},
        {"IP-pair hash: sequential clients spread evenly over 2..16 workers", test_distribution},
        {"fanout cBPF program == C hash (20k packets, both directions)", test_bpf_equals_c},
        {"frame hash under each link type", test_link_types},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("shard", cases);
    return cs_test_run();
}
