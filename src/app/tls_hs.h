/* TLS handshake message parsers: ClientHello, ServerHello (and
 * HelloRetryRequest), EncryptedExtensions.
 *
 * Pure functions over one complete handshake message body (the bytes after
 * the 4-byte type/length header); every read goes through a bounds-checked
 * reader, so truncated or hostile input yields -1, never an over-read.  The
 * caller (tls_conn.c) reassembles messages split across records. */
#ifndef CS_TLS_HS_H
#define CS_TLS_HS_H

#include <stddef.h>
#include <stdint.h>

/* RFC 8446 4 / RFC 5246 7.4: HandshakeType values used here. */
enum cs_tls_hs_type {
    CS_TLS_HS_CLIENT_HELLO = 1,
    CS_TLS_HS_SERVER_HELLO = 2,
    CS_TLS_HS_NEW_SESSION_TICKET = 4,
    CS_TLS_HS_END_OF_EARLY_DATA = 5,
    CS_TLS_HS_ENCRYPTED_EXTENSIONS = 8,
    CS_TLS_HS_FINISHED = 20,
    CS_TLS_HS_KEY_UPDATE = 24,
};

#define CS_TLS_NAME_MAX 256 /* SNI host names are at most 255 bytes (RFC 6066 3) */
#define CS_TLS_ALPN_MAX 128 /* offered ALPN list, comma-joined, cut if longer */

struct cs_tls_client_hello {
    uint16_t legacy_version;
    uint8_t random[32];
    uint8_t session_id_len;
    char sni[CS_TLS_NAME_MAX];  /* "" when absent; non-printable bytes become '?' */
    char alpn[CS_TLS_ALPN_MAX]; /* offered protocols, "h2,http/1.1" */
    uint8_t offers_tls13;       /* supported_versions lists 0x0304 */
    uint8_t offers_early_data;  /* early_data extension present (RFC 8446 4.2.10) */
    uint8_t has_session_ticket; /* non-empty session_ticket (RFC 5077): resumption */
};

struct cs_tls_server_hello {
    uint16_t legacy_version;
    uint16_t version; /* supported_versions if present, else legacy_version */
    uint8_t random[32];
    uint16_t cipher_suite;
    uint8_t session_id_len;
    uint8_t hello_retry_request;    /* the RFC 8446 4.1.3 special random */
    uint8_t encrypt_then_mac;       /* RFC 7366 extension echoed */
    uint8_t extended_master_secret; /* RFC 7627 extension echoed */
    char alpn[CS_TLS_ALPN_MAX];     /* the protocol chosen (TLS 1.2 puts it here) */
};

/* RFC 8446 4.1.2 / RFC 5246 7.4.1.2.  0 or -1 (malformed). */
int cs_tls_parse_client_hello(const uint8_t *body, size_t len, struct cs_tls_client_hello *out);

/* RFC 8446 4.1.3 / RFC 5246 7.4.1.3.  0 or -1 (malformed). */
int cs_tls_parse_server_hello(const uint8_t *body, size_t len, struct cs_tls_server_hello *out);

/* RFC 8446 4.3.1: the ALPN chosen (into alpn, size CS_TLS_ALPN_MAX) and
 * whether early data was accepted.  0 or -1. */
int cs_tls_parse_encrypted_extensions(const uint8_t *body, size_t len, char *alpn,
                                      uint8_t *early_data_accepted);

#endif
