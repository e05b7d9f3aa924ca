/* TLS decrypted with a key log, as a row of the table of application
 * protocols (app_proto.h).  The row claims a flow that opens with a
 * ClientHello, but only when a key log was given (without one, TLS flows go
 * to nDPI as before).  Each flow's stream events feed a cs_tls_conn
 * (tls_conn.h); the decrypted application data it releases becomes stream
 * events again, for an inner row chosen by ALPN: "http/1.1" or none -> the
 * HTTP/1 row, "h2" -> the row named "h2" when the table has one (until
 * then the flow is counted as "h2, decrypted, not yet parsed").  The inner
 * row's transactions leave with scheme "https" and the connection's TLS
 * info (struct cs_txn_tls).
 *
 * The row's shared state (env->stats) holds its counters for the summary
 * and the list of open connections, which keys_changed() walks when the key
 * log grows.  What each connection holds (cs_tls_conn_memory) is summed into
 * held_bytes for --max-memory. */
#include <stdlib.h>
#include <string.h>

#include "app_proto.h"
#include "flow.h"
#include "tls_conn.h"

struct tls_flow;

/* env->stats: the summary's counters first, then the row's own. */
struct tls_row {
    struct cs_tls_stats st;
    struct tls_flow *open; /* every open connection (doubly linked) */
};

/* A connection's own state, in the cs_tls_conn's allocation
 * (cs_tls_conn_new_ctx): thousands of connections are open at once. */
struct tls_flow {
    const struct cs_app_env *env; /* env->stats is the row's struct tls_row */
    const struct cs_app_out *out; /* the pipeline's, for the flow */
    size_t counted;               /* memory last added to the row's held_bytes */
    const struct cs_app_proto *inner;
    void *inner_conn;
    struct cs_app_out inner_out; /* inner_txn, this flow */
    struct tls_flow *prev, *next;
    /* the protocol inside, decided with the first decrypted data */
    bool inner_decided, h2_unparsed;
    bool closing; /* tls_finish: counts nothing more */
};

static struct tls_row *row_of(const struct tls_flow *tf)
{
    return tf->env->stats;
}

/* The connection tf is part of. */
static struct cs_tls_conn *tls_of(struct tls_flow *tf)
{
    return cs_tls_conn_of_ctx(tf);
}

/* A connection that opens with a ClientHello, or one picked up in the
 * middle (its first bytes an application data record, from either side):
 * the latter cannot be decrypted and is counted as such ("no-handshake"),
 * rather than sent to nDPI, which could only name it TLS. */
static enum cs_app_probe tls_probe(int dir, const uint8_t *p, uint32_t n)
{
    int r = dir == CS_DIR_C2S ? cs_tls_probe(p, n) : 0;
    if (r == 0)
        r = cs_tls_probe_mid_stream(p, n);
    return r > 0 ? CS_PROBE_YES : r < 0 ? CS_PROBE_NEED_MORE
                                        : CS_PROBE_NO;
}

static bool tls_active(const struct cs_app_env *env)
{
    return env->keylog != NULL;
}

/* Keeps the row's held_bytes equal to the sum of its connections' memory. */
static void recount(struct tls_flow *tf)
{
    size_t now = tf->closing ? 0 : cs_tls_conn_memory(tls_of(tf));
    row_of(tf)->st.held_bytes += (uint64_t)now - tf->counted;
    tf->counted = now;
}

static const char *version_name(uint16_t v)
{
    return v == 0x0304 ? "1.3" : v == 0x0303 ? "1.2"
                                             : "";
}

/* The connection's TLS as a transaction carries it: its strings are the
 * connection's or constants, which outlive every transaction. */
static struct cs_txn_tls txn_tls_of(struct tls_flow *tf)
{
    struct cs_tls_info info;
    cs_tls_conn_info(tls_of(tf), &info);
    return (struct cs_txn_tls){version_name(info.version), info.cipher ? info.cipher : "",
                               info.sni ? info.sni : ""};
}

/* An inner transaction: over TLS, scheme https, with the connection's info. */
static void inner_txn(void *ctx, const struct cs_txn *t)
{
    struct tls_flow *tf = ctx;
    struct cs_txn copy = *t;
    struct cs_txn_tls txn_tls;
    if (!copy.req.scheme || !copy.req.scheme_len) {
        copy.req.scheme = "https";
        copy.req.scheme_len = 5;
    }
    /* a request from a tunnel inside (CONNECT over an HTTPS proxy) keeps
     * its own transport: the tunnel's TLS, or none */
    if (!copy.tls && !copy.via_connect) {
        txn_tls = txn_tls_of(tf);
        copy.tls = &txn_tls;
    }
    tf->out->txn(tf->out->ctx, &copy);
}

static void add_sni(char (*snis)[CS_TLS_STATS_SNI_LEN], unsigned *n, const char *sni)
{
    if (!sni || !sni[0] || *n == CS_TLS_STATS_SNIS)
        return;
    for (unsigned i = 0; i < *n; i++)
        if (strcmp(snis[i], sni) == 0)
            return;
    size_t len = strnlen(sni, CS_TLS_STATS_SNI_LEN - 1);
    memcpy(snis[*n], sni, len);
    snis[*n][len] = '\0';
    (*n)++;
}

/* The first decrypted data: which row parses what is inside. */
static void decide_inner(struct tls_flow *tf)
{
    tf->inner_decided = true;
    struct cs_tls_info info;
    cs_tls_conn_info(tls_of(tf), &info);
    const char *name = info.alpn && strcmp(info.alpn, "h2") == 0 ? "h2" : "HTTP/1";
    struct cs_app_env *inner_env = NULL;
    const struct cs_app_proto *inner = tf->env->row ? tf->env->row(tf->env, name, &inner_env) : NULL;
    if (!inner) {
        if (strcmp(name, "h2") == 0) {
            tf->h2_unparsed = true;
            row_of(tf)->st.h2_unparsed++;
            add_sni(row_of(tf)->st.h2_snis, &row_of(tf)->st.n_h2_snis, info.sni ? info.sni : "");
        }
        return;
    }
    tf->inner = inner;
    tf->inner_out = (struct cs_app_out){inner_txn, tf, tf->out->depth, inner_env};
    tf->inner_conn = inner->open(inner_env, &tf->inner_out);
}

/* Decrypted events of the connection, as the inner row's stream events. */
static void tls_sink(void *ctx, const struct cs_tls_event *ev)
{
    struct tls_flow *tf = ctx;
    if (!tf->inner_decided) {
        if (ev->kind != CS_TLS_EV_DATA)
            return;
        decide_inner(tf);
    }
    if (!tf->inner_conn)
        return;
    /* Decrypted bytes are known once their record's last byte (its tag)
     * arrived: they are dated by that frame, as reassembly dates bytes by
     * the frame that brought them (and tshark a message by the frame that
     * completed it). */
    struct cs_stream_event se = {.frame = ev->frame_last, .ts = ev->ts};
    switch (ev->kind) {
    case CS_TLS_EV_DATA:
        /* whole records: under 2^14 + a little, fits the event's length */
        se.kind = CS_STREAM_DATA;
        se.data = ev->data;
        se.len = (uint32_t)ev->len;
        break;
    case CS_TLS_EV_GAP:
        se.kind = CS_STREAM_GAP;
        se.len = CS_STREAM_GAP_UNKNOWN; /* lost records: their plaintext length is unknown */
        se.frame = ev->frame_last;
        break;
    case CS_TLS_EV_CLOSE:
        se.kind = CS_STREAM_FIN;
        se.frame = ev->frame_last;
        break;
    }
    tf->inner->event(tf->inner_conn, (int)ev->dir, &se);
}

static void *tls_open(struct cs_app_env *env, const struct cs_app_out *out)
{
    struct cs_tls_conn *tls = cs_tls_conn_new_ctx(env->keylog, env->limits->max_tls_held_bytes,
                                                  tls_sink, sizeof(struct tls_flow));
    if (!tls)
        return NULL;
    struct tls_flow *tf = cs_tls_conn_ctx(tls);
    tf->env = env;
    tf->out = out;
    if (env->refresh_keys) { /* live: the key log is still being written */
        cs_tls_conn_set_live(tls);
        cs_tls_conn_wait_all_secrets(tls);
    }
    struct tls_row *row = row_of(tf);
    row->st.connections++;
    tf->next = row->open;
    if (tf->next)
        tf->next->prev = tf;
    row->open = tf;
    recount(tf);
    return tf;
}

static void tls_event(void *conn, int dir, const struct cs_stream_event *ev)
{
    struct tls_flow *tf = conn;
    enum cs_tls_dir d = dir == CS_DIR_C2S ? CS_TLS_FROM_CLIENT : CS_TLS_FROM_SERVER;
    switch (ev->kind) {
    case CS_STREAM_DATA:
        cs_tls_conn_data(tls_of(tf), d, ev->data, ev->len, ev->frame, ev->ts);
        break;
    case CS_STREAM_GAP:
        cs_tls_conn_gap(tls_of(tf), d, ev->len, ev->frame, ev->ts);
        break;
    case CS_STREAM_FIN:
    case CS_STREAM_RST:
        /* the TCP end reaches the inner parser as is */
        if (tf->inner_conn)
            tf->inner->event(tf->inner_conn, dir, ev);
        break;
    }
    recount(tf);
}

static void tls_prefetch(const void *conn)
{
    cs_tls_conn_prefetch(cs_tls_conn_of_ctx((void *)conn), sizeof(struct tls_flow));
}

static void tls_ahead(void *conn, int dir, const uint8_t *p, uint32_t n)
{
    cs_tls_conn_ahead(tls_of(conn), dir == CS_DIR_C2S ? CS_TLS_FROM_CLIENT : CS_TLS_FROM_SERVER,
                      p, n);
}

static void tls_ahead_first(const struct cs_app_env *env, const uint8_t *p, uint32_t n)
{
    if (env->keylog)
        cs_tls_hello_ahead(env->keylog, p, n);
}

static void count_end(struct tls_flow *tf)
{
    struct cs_tls_stats *st = &row_of(tf)->st;
    struct cs_tls_info info;
    cs_tls_conn_info(tls_of(tf), &info);
    st->records_decrypted += info.n.records_decrypted;
    st->auth_failures += info.n.auth_failures;
    st->held_dropped_records += info.n.held_dropped_records;
    switch (info.state) {
    case CS_TLS_STATE_DECRYPTING:
        st->decrypted++;
        break;
    case CS_TLS_STATE_NO_KEY:
        st->no_key++;
        add_sni(st->no_key_snis, &st->n_no_key_snis, info.sni);
        break;
    case CS_TLS_STATE_HANDSHAKE:
        st->incomplete++;
        break;
    case CS_TLS_STATE_FAILED: {
        st->failed++;
        const char *why = cs_tls_reason_name(info.reason);
        for (unsigned i = 0; i < CS_TLS_STATS_REASONS; i++) {
            if (!st->failed_by[i].reason)
                st->failed_by[i].reason = why;
            if (st->failed_by[i].reason == why) {
                st->failed_by[i].count++;
                break;
            }
        }
        break;
    }
    }
}

static void tls_finish(void *conn, enum cs_txn_end why, uint64_t frame, cs_time_ns ts)
{
    struct tls_flow *tf = conn;
    struct cs_tls_conn *tls = tls_of(tf);
    struct cs_tls_info info;
    cs_tls_conn_info(tls, &info);
    /* live: the key may have been written since the last re-read */
    if (tf->env->refresh_keys && (info.state == CS_TLS_STATE_NO_KEY || info.state == CS_TLS_STATE_DECRYPTING)) {
        tf->env->refresh_keys(tf->env->refresh_ctx);
        cs_tls_conn_retry(tls);
    }
    cs_tls_conn_stop_waiting(tls);
    if (tf->inner_conn)
        tf->inner->finish(tf->inner_conn, why, frame, ts);
    count_end(tf);
    if (tf->prev)
        tf->prev->next = tf->next;
    else
        row_of(tf)->open = tf->next;
    if (tf->next)
        tf->next->prev = tf->prev;
    tf->closing = true;
    recount(tf);           /* (to 0: the connection is going) */
    cs_tls_conn_free(tls); /* tf with it */
}

static void tls_keys_changed(struct cs_app_env *env)
{
    struct tls_row *row = env->stats;
    for (struct tls_flow *tf = row->open; tf; tf = tf->next) {
        cs_tls_conn_retry(tls_of(tf));
        recount(tf);
    }
}

static uint64_t tls_held_bytes(const void *stats)
{
    return ((const struct tls_row *)stats)->st.held_bytes;
}

static void tls_summarize(const void *stats, struct cs_summary *s)
{
    s->tls = ((const struct tls_row *)stats)->st;
}

const struct cs_app_proto cs_app_tls = {
    .name = "TLS",
    .stats_size = sizeof(struct tls_row),
    .probe = tls_probe,
    .open = tls_open,
    .event = tls_event,
    .prefetch = tls_prefetch,
    .ahead = tls_ahead,
    .ahead_first = tls_ahead_first,
    .finish = tls_finish,
    .held_bytes = tls_held_bytes,
    .summarize = tls_summarize,
    .active = tls_active,
    .keys_changed = tls_keys_changed,
};
