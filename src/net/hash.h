/* The 64-bit mixer every hash table here uses (flows, IP fragments). */
#ifndef CS_HASH_H
#define CS_HASH_H

#include <stdint.h>

/* MurmurHash3's 64-bit finaliser: spreads every input bit over the hash,
 * so keys that differ in a few address bits do not share buckets. */
static inline uint64_t cs_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

#endif
