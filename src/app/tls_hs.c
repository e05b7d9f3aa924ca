/* TLS handshake message parsers: see tls_hs.h. */
#include "tls_hs.h"

#include <string.h>

/* A bounds-checked cursor: every read past the end sets `bad` and returns
 * zeros, so a parser checks once at the end instead of after every field. */
struct rd {
    const uint8_t *p;
    size_t n;
    int bad;
};

static struct rd rd_make(const uint8_t *p, size_t n)
{
    struct rd r = {p, n, 0};
    return r;
}

static const uint8_t *rd_take(struct rd *r, size_t k)
{
    if (r->bad || k > r->n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += k;
    r->n -= k;
    return p;
}

static unsigned rd_u8(struct rd *r)
{
    const uint8_t *p = rd_take(r, 1);
    return p ? p[0] : 0;
}
static unsigned rd_u16(struct rd *r)
{
    const uint8_t *p = rd_take(r, 2);
    return p ? (unsigned)(p[0] << 8 | p[1]) : 0;
}

/* A sub-reader over a vector with a length prefix of `width` bytes. */
static struct rd rd_vec(struct rd *r, int width)
{
    size_t len = width == 1 ? rd_u8(r) : rd_u16(r);
    const uint8_t *p = rd_take(r, len);
    struct rd v = rd_make(p, p ? len : 0);
    v.bad = !p;
    return v;
}

/* Copies a name for display: printable ASCII kept, anything else '?'. */
static void copy_name(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
    dst[n] = 0;
}

/* RFC 7301 3.1: ProtocolNameList, joined with commas into out. */
static int parse_alpn(struct rd ext, char *out, size_t cap)
{
    struct rd list = rd_vec(&ext, 2);
    size_t used = strlen(out);
    while (!list.bad && list.n) {
        struct rd name = rd_vec(&list, 1);
        if (name.bad || name.n == 0)
            return -1;
        if (used + name.n + 2 <= cap) {
            if (used)
                out[used++] = ',';
            copy_name(out + used, cap - used, name.p, name.n);
            used += name.n;
        }
    }
    return list.bad || ext.bad ? -1 : 0;
}

/* RFC 6066 3: ServerNameList; the first host_name (type 0) wins. */
static int parse_sni(struct rd ext, char *out, size_t cap)
{
    struct rd list = rd_vec(&ext, 2);
    while (!list.bad && list.n) {
        unsigned type = rd_u8(&list);
        struct rd name = rd_vec(&list, 2);
        if (!name.bad && type == 0 && !out[0])
            copy_name(out, cap, name.p, name.n);
    }
    return list.bad ? -1 : 0;
}

/* RFC 8446 4.2.1: the ClientHello lists versions. */
static int offers_13(struct rd ext)
{
    struct rd list = rd_vec(&ext, 1);
    int found = 0;
    while (!list.bad && list.n >= 2)
        if (rd_u16(&list) == 0x0304)
            found = 1;
    return found;
}

int cs_tls_parse_client_hello(const uint8_t *body, size_t len, struct cs_tls_client_hello *out)
{
    memset(out, 0, sizeof *out);
    struct rd r = rd_make(body, len);
    out->legacy_version = (uint16_t)rd_u16(&r);
    const uint8_t *random = rd_take(&r, 32);
    if (random)
        memcpy(out->random, random, 32);
    struct rd sid = rd_vec(&r, 1);
    out->session_id_len = (uint8_t)sid.n;
    rd_vec(&r, 2); /* cipher_suites */
    rd_vec(&r, 1); /* compression_methods */
    if (r.bad)
        return -1;
    if (r.n == 0)
        return 0; /* no extensions (RFC 5246 7.4.1.2 allows it) */
    struct rd exts = rd_vec(&r, 2);
    while (!exts.bad && exts.n) {
        unsigned type = rd_u16(&exts);
        struct rd ext = rd_vec(&exts, 2);
        if (ext.bad)
            break;
        switch (type) {
        case 0:
            if (parse_sni(ext, out->sni, sizeof out->sni))
                return -1;
            break;
        case 16:
            if (parse_alpn(ext, out->alpn, sizeof out->alpn))
                return -1;
            break;
        case 35: out->has_session_ticket = ext.n > 0; break;
        case 42: out->offers_early_data = 1; break;
        case 43: out->offers_tls13 = (uint8_t)offers_13(ext); break;
        }
    }
    return exts.bad || r.bad ? -1 : 0;
}

/* RFC 8446 4.1.3: SHA-256("HelloRetryRequest"). */
static const uint8_t hrr_random[32] = {
    0xCF,
    0x21,
    0xAD,
    0x74,
    0xE5,
    0x9A,
    0x61,
    0x11,
    0xBE,
    0x1D,
    0x8C,
    0x02,
    0x1E,
    0x65,
    0xB8,
    0x91,
    0xC2,
    0xA2,
    0x11,
    0x16,
    0x7A,
    0xBB,
    0x8C,
    0x5E,
    0x07,
    0x9E,
    0x09,
    0xE2,
    0xC8,
    0xA8,
    0x33,
    0x9C,
};

int cs_tls_parse_server_hello(const uint8_t *body, size_t len, struct cs_tls_server_hello *out)
{
    memset(out, 0, sizeof *out);
    struct rd r = rd_make(body, len);
    out->legacy_version = (uint16_t)rd_u16(&r);
    out->version = out->legacy_version;
    const uint8_t *random = rd_take(&r, 32);
    if (random)
        memcpy(out->random, random, 32);
    struct rd sid = rd_vec(&r, 1);
    out->session_id_len = (uint8_t)sid.n;
    out->cipher_suite = (uint16_t)rd_u16(&r);
    rd_u8(&r); /* compression_method */
    if (r.bad)
        return -1;
    out->hello_retry_request = memcmp(out->random, hrr_random, 32) == 0;
    if (r.n == 0)
        return 0;
    struct rd exts = rd_vec(&r, 2);
    while (!exts.bad && exts.n) {
        unsigned type = rd_u16(&exts);
        struct rd ext = rd_vec(&exts, 2);
        if (ext.bad)
            break;
        switch (type) {
        case 16:
            if (parse_alpn(ext, out->alpn, sizeof out->alpn))
                return -1;
            break;
        case 22: out->encrypt_then_mac = 1; break;
        case 23: out->extended_master_secret = 1; break;
        case 43: /* RFC 8446 4.2.1: the selected version */
            out->version = (uint16_t)rd_u16(&ext);
            if (ext.bad)
                return -1;
            break;
        }
    }
    return exts.bad || r.bad ? -1 : 0;
}

int cs_tls_parse_encrypted_extensions(const uint8_t *body, size_t len, char *alpn,
                                      uint8_t *early_data_accepted)
{
    struct rd r = rd_make(body, len);
    struct rd exts = rd_vec(&r, 2);
    alpn[0] = 0;
    *early_data_accepted = 0;
    while (!exts.bad && exts.n) {
        unsigned type = rd_u16(&exts);
        struct rd ext = rd_vec(&exts, 2);
        if (ext.bad)
            break;
        if (type == 16 && parse_alpn(ext, alpn, CS_TLS_ALPN_MAX))
            return -1;
        if (type == 42)
            *early_data_accepted = 1;
    }
    return exts.bad || r.bad ? -1 : 0;
}
