/* The seam between the application parsers and the report: one connection's
 * identity (struct cs_flow_key) and one request with what became of it
 * (struct cs_txn), whatever protocol carried them.
 *
 * Producers: each application protocol of the pipeline (app/app_proto.h;
 * HTTP/1, HTTP/2) turns its own messages into a cs_txn.  Consumers: the
 * report stage, its thread, the judge and the writers read only these types
 * and the classifier's (corscope/cors.h), never a parser's.  A new protocol
 * therefore changes nothing downstream. */
#ifndef CS_TXN_H
#define CS_TXN_H

#include <stdbool.h>
#include <stdint.h>
#include "corscope/cors.h"
#include "packet.h"

/* Who talked to whom, and when: the part of a flow the report may read.
 * Embedded in the flow table's struct cs_flow (as `key`); the tuple comes
 * first because the flow lookup compares it. */
struct cs_flow_key {
    struct cs_addr client, server;
    uint16_t client_port, server_port;
    uint64_t id; /* 1-based, in order of creation */
    cs_time_ns first_ts, last_ts;
    uint64_t first_frame, last_frame;
};

/* Why a flow ended. */
enum cs_flow_end {
    CS_FLOW_END_CLOSED, /* both FINs delivered */
    CS_FLOW_END_RESET,
    CS_FLOW_END_IDLE,    /* idle timeout */
    CS_FLOW_END_EVICTED, /* flow-table cap hit: the least recently active flow goes */
    CS_FLOW_END_INPUT,   /* end of input */
};

/* How a request ended. */
enum cs_txn_end {
    CS_TXN_ANSWERED,      /* response headers seen */
    CS_TXN_CLOSED,        /* connection closed (FIN) before a response */
    CS_TXN_RESET,         /* connection reset before a response */
    CS_TXN_GAP,           /* the response was lost in a capture gap */
    CS_TXN_UNANSWERED,    /* idle timeout without a response */
    CS_TXN_EVICTED,       /* dropped by a cap (pipeline depth, flow eviction) */
    CS_TXN_STREAM_RESET,  /* (h2) the server reset the stream (RST_STREAM) before a response */
    CS_TXN_ABORTED,       /* (h2) the client reset the stream before a response: the page
                           * cancelled it (AbortController, navigation), nothing failed */
    CS_TXN_CAPTURE_ENDED, /* the input ended (end of the files, -c, a live capture
                           * stopped) with the connection open and the request
                           * waiting: a response, if any, came after the capture */
    CS_TXN_MALFORMED,     /* a response came, malformed in a way the browsers refuse
                           * (CORSCOPE_FAIL_MALFORMED): no response for them */
};

/* cs_txn.req_flags / resp_flags */
#define CS_TXN_HEADERS_CUT 0x01 /* a header limit cut the header block */
#define CS_TXN_HEADER_GAP 0x02  /* part of the header block was lost in a capture gap */
#define CS_TXN_NO_HEADERS 0x04  /* the protocol has no headers (HTTP/0.9): nothing to judge */
#define CS_TXN_SWITCHES 0x08    /* (response) the connection leaves the protocol (101, CONNECT 2xx) */

#define CS_TRANSPORT_HTTP1 "http/1.1"
#define CS_TRANSPORT_H2 "h2"

/* The TLS connection a request came over (decrypted with a key log).
 * version and cipher are static strings; sni lives as long as the hook
 * call (a consumer that keeps the transaction copies it). */
struct cs_txn_tls {
    const char *version; /* "1.2", "1.3" */
    const char *cipher;  /* IANA name, e.g. "TLS_AES_128_GCM_SHA256" */
    const char *sni;     /* "" when the ClientHello had none */
};

/* One request and what became of it.  Everything it points to is valid
 * only during the hook call. */
struct cs_txn {
    const char *transport; /* CS_TRANSPORT_*: the protocol that carried it */
    corscope_request req;
    corscope_response resp; /* meaningful when has_resp */
    bool has_resp;
    enum cs_txn_end end;
    int interim_status;             /* last 1xx before the response (100, 103), 0 if none */
    uint32_t req_flags, resp_flags; /* CS_TXN_* */
    uint64_t req_frame, resp_frame; /* frame of the first byte of each */
    cs_time_ns req_ts, resp_ts;
    uint64_t end_frame; /* frame of the FIN/RST/gap that ended it, 0 if none */
    cs_time_ns end_ts;
    uint32_t index;               /* 0-based position in the connection */
    const struct cs_txn_tls *tls; /* NULL for plaintext */
    uint32_t stream;              /* h2 stream id; 0 for HTTP/1 */
    /* The CONNECT target ("host:port") of the tunnel the request went
     * through (a forward proxy), NULL when none. */
    const char *via_connect;
    /* Optional, for a consumer that copies the transaction (the report
     * thread): bytes that every string of the request (resp.) lies in, e.g.
     * an HTTP/1 header block; NULL when the strings are scattered. */
    const char *req_block, *resp_block;
    uint32_t req_block_len, resp_block_len;
};

#define CS_APP_NAME_LEN 32
#define CS_APP_SNI_LEN 80

/* A connection that never carried a request (cs_flow_info.failure). */
enum cs_conn_failure {
    CS_CONN_OK,         /* not a failed connection (or not known to be one) */
    CS_CONN_REFUSED,    /* the SYN was answered by a RST */
    CS_CONN_TIMED_OUT,  /* the SYNs were never answered (--syn-timeout, end of input) */
    CS_CONN_TLS_ALERT,  /* the server answered the ClientHello with a fatal alert */
    CS_CONN_TLS_CLOSED, /* the server closed the connection after the ClientHello, silent */
    CS_CONN_TLS_RESET,  /* the server reset the connection after the ClientHello, silent */
};

/* What a flow turned out to be, told at its end. */
struct cs_flow_info {
    bool parsed;   /* an application protocol of the pipeline parsed it */
    bool upgraded; /* it switched away from that protocol (101, CONNECT) */
    bool had_data;
    uint64_t transactions;
    /* when !parsed and had_data: what protocol identification named it */
    char proto[CS_APP_NAME_LEN]; /* "TLS", "SSH", "Unknown", ... */
    char sni[CS_APP_SNI_LEN];    /* TLS/QUIC server name or HTTP host, "" if none */
    enum cs_conn_failure failure;
    uint32_t syns;      /* SYNs the client sent (retransmissions included) */
    int tls_alert;      /* CS_CONN_TLS_ALERT: the alert's description code */
    cs_time_ns fail_ts; /* when it failed: the RST, the alert, the close, or the last SYN */
    uint64_t fail_frame;
};

#endif
