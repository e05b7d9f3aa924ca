/* Community ID v1 and event ids (see fleet_ids.h).  The hashes come from
 * GLib's GChecksum, never written by hand: GLib is loaded anyway, while
 * libcrypto's digests would initialise OpenSSL's providers in every run
 * (~2 MB) for forty bytes per event. */
#include <glib.h>
#include <string.h>

#include "fleet_ids.h"

/* One-shot digest into md (big enough for SHA-256); returns its length. */
static gsize digest(GChecksumType type, const void *data, size_t len, unsigned char *md)
{
    GChecksum *c = g_checksum_new(type);
    gsize md_len = 32;
    g_checksum_update(c, data, (gssize)len);
    g_checksum_get_digest(c, md, &md_len);
    g_checksum_free(c);
    return md_len;
}

void cs_community_id_v1(const struct cs_addr *a, uint16_t aport, const struct cs_addr *b,
                        uint16_t bport, uint8_t proto, uint16_t seed,
                        char out[CS_COMMUNITY_ID_LEN])
{
    /* The spec orders the endpoints so that both directions hash alike:
     * the smaller address first, the smaller port on a tie. */
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

    unsigned char md[32];
    out[0] = '\0';
    if (digest(G_CHECKSUM_SHA1, buf, n, md) != 20)
        return;
    gchar *b64 = g_base64_encode(md, 20); /* 28 characters */
    memcpy(out, "1:", 2);
    g_strlcpy(out + 2, b64, CS_COMMUNITY_ID_LEN - 2);
    g_free(b64);
}

void cs_event_id(const char *sensor, const char *community_id, const struct cs_flow_key *f,
                 uint32_t stream, uint32_t index, char out[CS_EVENT_ID_LEN])
{
    /* Fields separated by NUL so that no two inputs concatenate alike. */
    unsigned char buf[256 + CS_COMMUNITY_ID_LEN + 8 + 4 + 4 + 2];
    size_t n = 0;
    size_t slen = strnlen(sensor, 256);
    memcpy(buf, sensor, slen);
    n += slen;
    buf[n++] = 0;
    size_t clen = strnlen(community_id, CS_COMMUNITY_ID_LEN - 1);
    memcpy(buf + n, community_id, clen);
    n += clen;
    buf[n++] = 0;
    uint64_t first = (uint64_t)f->first_ts;
    for (int i = 7; i >= 0; i--)
        buf[n++] = (unsigned char)(first >> (8 * i));
    for (int i = 3; i >= 0; i--)
        buf[n++] = (unsigned char)(stream >> (8 * i));
    for (int i = 3; i >= 0; i--)
        buf[n++] = (unsigned char)(index >> (8 * i));

    unsigned char md[32];
    static const char hex[] = "0123456789abcdef";
    out[0] = '\0';
    if (digest(G_CHECKSUM_SHA256, buf, n, md) < 16)
        return;
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[32] = '\0';
}
