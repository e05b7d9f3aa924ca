/* Helpers for the TLS unit tests: hex decoding, a sink that collects each
 * direction's plaintext and events, key logs built from strings. */
#ifndef CS_TLS_TESTUTIL_H
#define CS_TLS_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "tls_conn.h"
#include "tls_keys.h"

/* Decodes hex, skipping spaces; returns a malloc'd buffer and its length. */
static inline uint8_t *unhex_alloc(const char *hex, size_t *len)
{
    uint8_t *out = malloc(strlen(hex) / 2 + 1);
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            continue;
        if (hi < 0)
            hi = v;
        else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    *len = n;
    return out;
}

static inline int hex_equals(const uint8_t *got, size_t len, const char *hex)
{
    size_t n;
    uint8_t *want = unhex_alloc(hex, &n);
    int eq = n == len && memcmp(got, want, n) == 0;
    free(want);
    return eq;
}

/* Everything the sink saw. */
struct collected {
    uint8_t data[2][65536];
    size_t len[2];
    unsigned data_events[2], gaps[2], closes[2], early_bytes;
    uint64_t last_frame[2];
};

static inline void collect_sink(void *ctx, const struct cs_tls_event *ev)
{
    struct collected *c = ctx;
    switch (ev->kind) {
    case CS_TLS_EV_DATA:
        if (c->len[ev->dir] + ev->len <= sizeof c->data[0]) {
            memcpy(c->data[ev->dir] + c->len[ev->dir], ev->data, ev->len);
            c->len[ev->dir] += ev->len;
        }
        c->data_events[ev->dir]++;
        c->last_frame[ev->dir] = ev->frame_last;
        if (ev->early)
            c->early_bytes += (unsigned)ev->len;
        break;
    case CS_TLS_EV_GAP: c->gaps[ev->dir]++; break;
    case CS_TLS_EV_CLOSE: c->closes[ev->dir]++; break;
    }
}

/* A key log from lines in one string separated by '\n'. */
static inline struct cs_tls_keylog *keylog_from(const char *text)
{
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        cs_tls_keylog_add_line(kl, p, n);
        p += n + (nl != NULL);
    }
    return kl;
}

static inline uint8_t *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n + 1 : 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

/* Seals one TLS 1.3 record (RFC 8446 5.2) of c at seq with libcrypto
 * directly: header || ciphertext of (content || type 23) || tag, into rec;
 * its length (content up to 2047 bytes). */
static inline size_t seal13(const struct cs_tls_cipher *c, uint64_t seq, const uint8_t *content, size_t n,
                            uint8_t *rec)
{
    const char *name = c->suite->bulk == CS_TLS_BULK_CHACHA20_POLY1305 ? "ChaCha20-Poly1305"
                       : c->suite->key_len == 16                       ? "AES-128-GCM"
                                                                       : "AES-256-GCM";
    size_t frag = n + 1 + 16;
    uint8_t nonce[12], inner[2048];
    memcpy(nonce, c->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
    memcpy(inner, content, n);
    inner[n] = 23;
    rec[0] = 23, rec[1] = 3, rec[2] = 3, rec[3] = (uint8_t)(frag >> 8), rec[4] = (uint8_t)frag;
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    CU_ASSERT_FATAL(cipher && ctx && EVP_EncryptInit_ex2(ctx, cipher, c->key, nonce, NULL) &&
                    EVP_EncryptUpdate(ctx, NULL, &len, rec, 5) &&
                    EVP_EncryptUpdate(ctx, rec + 5, &len, inner, (int)n + 1) &&
                    EVP_EncryptFinal_ex(ctx, rec + 5 + len, &fin) &&
                    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, rec + 5 + n + 1));
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    return 5 + frag;
}

#endif
