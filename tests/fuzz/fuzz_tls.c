/* libFuzzer target: the TLS layer (tls_conn*.c, tls_hs.c, tls_keys.c,
 * tls_keylog.c) on two byte streams with a fixed key, so that mutations of
 * the handshake reach the parsers and mutations after it reach decryption.
 *
 * The key log always holds the RFC 8448 section 3 secrets for the client
 * random cb34ec..e7 (TLS 1.3) and a fixed TLS 1.2 master secret for the
 * same random, so a stream that keeps the RFC's ClientHello (the seeds do)
 * gets real keys.  Input: records of 4 bytes plus payload:
 *   ctl  bit 0 direction (server->client), bit 1 a gap instead of data,
 *        bit 2 call retry; bits 3-7 unused
 *   len  uint16 LE payload length (the last record takes what is left)
 *   pad  one byte, ignored (keeps records aligned for the mutator)
 * Payloads are copied to buffers of exactly their size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RANDOM "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7"
static const char *const key_lines[] = {
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET " RANDOM " b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET " RANDOM " b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
    "CLIENT_TRAFFIC_SECRET_0 " RANDOM " 9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
    "SERVER_TRAFFIC_SECRET_0 " RANDOM " a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
    "CLIENT_RANDOM " RANDOM " 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f",
};

static void sink(void *ctx, const struct cs_tls_event *ev)
{
    (void)ctx;
    volatile uint8_t x = 0;
    for (size_t i = 0; i < ev->len; i++)
        x ^= ev->data[i];
    (void)x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_tls_keylog *kl = cs_tls_keylog_new(0);
    if (!kl)
        return 0;
    for (size_t i = 0; i < sizeof key_lines / sizeof key_lines[0]; i++)
        cs_tls_keylog_add_line(kl, key_lines[i], strlen(key_lines[i]));
    struct cs_tls_conn *c = cs_tls_conn_new(kl, 4096, sink, NULL);
    uint64_t frame = 0;
    while (c && size >= 4) {
        uint8_t ctl = data[0];
        size_t len = (size_t)data[1] | (size_t)data[2] << 8;
        data += 4;
        size -= 4;
        if (len > size)
            len = size;
        enum cs_tls_dir dir = (ctl & 1) ? CS_TLS_FROM_SERVER : CS_TLS_FROM_CLIENT;
        frame++;
        if (ctl & 2) {
            cs_tls_conn_gap(c, dir, len, frame, 0);
        } else {
            uint8_t *copy = malloc(len ? len : 1);
            if (!copy)
                break;
            memcpy(copy, data, len);
            cs_tls_conn_data(c, dir, copy, len, frame, 0);
            free(copy);
        }
        if (ctl & 4)
            cs_tls_conn_retry(c);
        data += len;
        size -= len;
    }
    struct cs_tls_info info;
    if (c)
        cs_tls_conn_info(c, &info);
    cs_tls_conn_free(c);
    cs_tls_keylog_free(kl);
    return 0;
}
