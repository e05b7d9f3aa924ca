/* Community ID v1 and event ids (see fleet_ids.h).
 *
 * The one hash here is the spec's SHA-1, from libcrypto (never written by
 * hand), through its plain SHA1_* functions: OpenSSL 3 marks them
 * deprecated in favour of EVP, but EVP's first use initialises the
 * provider machinery (~2 MB resident, more than this whole stage) and
 * costs a fetch per call, for forty bytes per connection; the plain
 * functions run the same assembly directly.  GLib's GChecksum was measured
 * too: several times slower per connection. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fleet_ids.h"

static void sha1(const void *data, size_t len, unsigned char md[SHA_DIGEST_LENGTH])
{
    SHA_CTX c;
    SHA1_Init(&c);
    SHA1_Update(&c, data, len);
    SHA1_Final(md, &c);
}

/* The spec's hash input and its SHA-1. */
static void community_digest(const struct cs_addr *a, uint16_t aport, const struct cs_addr *b,
                             uint16_t bport, uint8_t proto, uint16_t seed,
                             unsigned char md[SHA_DIGEST_LENGTH])
{
    /* The endpoints in the spec's order, so that both directions hash
     * alike: the smaller address first, the smaller port on a tie. */
    size_t alen = a->family == 6 ? 16 : 4;
    int cmp = memcmp(a->bytes, b->bytes, alen);
    if (cmp > 0 || (cmp == 0 && aport > bport)) {
        const struct cs_addr *t = a;
        a = b;
        b = t;
        uint16_t tp = aport;
        aport = bport;
        bport = tp;
    }
    /* seed (2, network order) | src addr | dst addr | proto | 0 | sport | dport */
    unsigned char buf[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    buf[n++] = (unsigned char)(seed >> 8);
    buf[n++] = (unsigned char)seed;
    memcpy(buf + n, a->bytes, alen);
    n += alen;
    memcpy(buf + n, b->bytes, alen);
    n += alen;
    buf[n++] = proto;
    buf[n++] = 0;
    buf[n++] = (unsigned char)(aport >> 8);
    buf[n++] = (unsigned char)aport;
    buf[n++] = (unsigned char)(bport >> 8);
    buf[n++] = (unsigned char)bport;
    sha1(buf, n, md);
}

/* "1:" and the standard base64 (RFC 4648 §4) of the digest: 28 characters,
 * the last a pad.  Written out here rather than with GLib's streaming
 * encoder: it runs for every event (the report keeps only the digest). */
static void community_text(const unsigned char md[SHA_DIGEST_LENGTH], char out[CS_COMMUNITY_ID_LEN])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = out;
    *o++ = '1';
    *o++ = ':';
    int i = 0;
    for (; i + 3 <= SHA_DIGEST_LENGTH; i += 3) {
        uint32_t v = (uint32_t)md[i] << 16 | (uint32_t)md[i + 1] << 8 | md[i + 2];
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = b64[v & 63];
    }
    _Static_assert(SHA_DIGEST_LENGTH % 3 == 2, "two bytes left: three characters and a pad");
    uint32_t v = (uint32_t)md[i] << 16 | (uint32_t)md[i + 1] << 8;
    *o++ = b64[v >> 18];
    *o++ = b64[(v >> 12) & 63];
    *o++ = b64[(v >> 6) & 63];
    *o++ = '=';
    *o = '\0';
}

void cs_community_id_v1(const struct cs_addr *a, uint16_t aport, const struct cs_addr *b,
                        uint16_t bport, uint8_t proto, uint16_t seed,
                        char out[CS_COMMUNITY_ID_LEN])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    community_digest(a, aport, b, bport, proto, seed, md);
    community_text(md, out);
}

/* splitmix64's finalizer: a bijection on 64 bits that spreads every input
 * bit over the output. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Big-endian 64-bit loads and stores (one move and a byte swap where the
 * machine is little-endian: three per event). */
static uint64_t load64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
#else
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
#endif
}

static void store64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
#else
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
#endif
}

uint64_t cs_sensor_key(const char *sensor)
{
    unsigned char md[SHA_DIGEST_LENGTH];
    sha1(sensor, strlen(sensor), md);
    return load64(md);
}

_Static_assert(CS_FLOW_DIGEST_LEN == SHA_DIGEST_LENGTH, "a flow's digest is a SHA-1");

void cs_flow_digest(const struct cs_flow_key *f, uint8_t md[CS_FLOW_DIGEST_LEN])
{
    community_digest(&f->client, f->client_port, &f->server, f->server_port, 6, 0, md);
}

void cs_flow_ids(const struct cs_flow_key *f, uint64_t sensor_key, char community_id[CS_COMMUNITY_ID_LEN],
                 uint8_t event_key[16])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    cs_flow_digest(f, md);
    cs_flow_ids_of(f, md, sensor_key, community_id, event_key);
}

void cs_flow_ids_of(const struct cs_flow_key *f, const uint8_t md[CS_FLOW_DIGEST_LEN],
                    uint64_t sensor_key, char community_id[CS_COMMUNITY_ID_LEN],
                    uint8_t event_key[16])
{
    community_text(md, community_id);
    uint64_t first = (uint64_t)f->first_ts;
    store64(event_key, load64(md) ^ mix64(first ^ sensor_key));
    store64(event_key + 8, load64(md + 8) ^ mix64(first + 0x9e3779b97f4a7c15ULL) ^ sensor_key);
}

void cs_event_id(const uint8_t event_key[16], uint32_t stream, uint32_t index, char out[CS_EVENT_ID_LEN])
{
    uint8_t id[16];
    memcpy(id, event_key, 8);
    store64(id + 8, load64(event_key + 8) ^ mix64(((uint64_t)stream << 32) | index));
#ifdef __SSE2__
    /* the 32 nibbles in order, then '0' + n, and 'a' - 10 + n above 9 */
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)id);
    const __m128i low = _mm_set1_epi8(0x0f);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low), lo = _mm_and_si128(v, low);
    __m128i n[2] = {_mm_unpacklo_epi8(hi, lo), _mm_unpackhi_epi8(hi, lo)};
    for (int k = 0; k < 2; k++) {
        __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(n[k], _mm_set1_epi8(9)), _mm_set1_epi8('a' - '0' - 10));
        __m128i text = _mm_add_epi8(_mm_add_epi8(n[k], _mm_set1_epi8('0')), letters);
        _mm_storeu_si128((__m128i *)(void *)(out + 16 * k), text);
    }
#else
    for (int i = 0; i < 16; i++) {
        out[2 * i] = "0123456789abcdef"[id[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[id[i] & 15];
    }
#endif
    out[32] = '\0';
}
