/* Hand-overs: an HTTP/1 connection that stops being HTTP/1 and goes on as
 * another protocol of the table (app_proto.h).
 *
 *   CONNECT host:port answered 2xx (a forward proxy): the tunnel's bytes,
 *   both directions, are a new stream for the table, probed again as the
 *   pipeline probes a new flow (TLS with a key log, HTTP/1, h2 with prior
 *   knowledge), with the same rule for a prefix two rows may want (held
 *   until more bytes tell).  Its transactions name the tunnel
 *   (cs_txn.via_connect); a request over a plain tunnel keeps scheme http
 *   even when the proxy connection itself is TLS, and over a tunnelled TLS
 *   connection the TLS info is the tunnel's, not the proxy's.  Tunnels
 *   nest (a CONNECT inside a tunnel) up to CS_MAX_CONNECT_DEPTH.
 *
 *   Upgrade: h2c answered 101 (RFC 7540 §3.2): the connection goes on as
 *   h2; the upgrading request becomes stream 1 of the h2 row.
 *
 * The HTTP/1 row creates a hand-over from the transaction callback of the
 * switching exchange and gives it to its parser (cs_http_conn_set_tunnel),
 * which then passes on every later stream event.  The state here (and the
 * inner parser, at CS_FLOW_MEMORY_COST, as a flow's) counts in
 * --max-memory through stats->held_bytes. */
#include <stdlib.h>
#include <string.h>

#include "app_proto.h"
#include "flow.h"
#include "h2_frame.h"

/* Bytes held while the tunnel's protocol is not decided (as the
 * pipeline's undecided flows). */
#define HO_HOLD_BYTES 4096u
#define HO_HOLD_EVENTS 8u
#define HO_PREFIX 64u
#define HO_VIA_LEN 256u

struct ho_event {
    uint32_t off, len;
    int dir;
    uint64_t frame;
    cs_time_ns ts;
};

struct ho_hold {
    uint32_t len, n, prefix_len;
    struct ho_event ev[HO_HOLD_EVENTS];
    uint8_t prefix[HO_PREFIX]; /* the client's first bytes, for probing */
    uint8_t buf[HO_HOLD_BYTES];
};

struct cs_handover {
    struct cs_app_env *env; /* the HTTP/1 row's */
    struct cs_handover_stats *st;
    const struct cs_app_out *out; /* the connection's */
    struct cs_app_out inner_out;  /* ho_txn, this */
    bool h2c;
    bool decided; /* a row parses the inner stream (or none will) */
    bool client_spoke;
    const struct cs_app_proto *proto;
    void *conn;
    struct ho_hold *hold;
    uint64_t counted; /* bytes added to st->held_bytes */
    char via[HO_VIA_LEN];
};

static void recount(struct cs_handover *h)
{
    uint64_t now = sizeof *h + (h->hold ? sizeof *h->hold : 0) + (h->conn ? CS_FLOW_MEMORY_COST : 0);
    h->st->held_bytes += now - h->counted;
    h->counted = now;
}

/* A transaction of the inner stream: it names the tunnel. */
static void ho_txn(void *ctx, const struct cs_txn *t)
{
    struct cs_handover *h = ctx;
    struct cs_txn copy = *t;
    if (h->via[0] && !copy.via_connect) {
        copy.via_connect = h->via;
        if (!copy.req.scheme || !copy.req.scheme_len) {
            copy.req.scheme = "http"; /* not the proxy connection's https */
            copy.req.scheme_len = 4;
        }
    }
    h->out->txn(h->out->ctx, &copy);
}

static struct cs_handover *ho_new(struct cs_app_env *env, const struct cs_app_out *out, unsigned depth)
{
    struct cs_handover *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->env = env;
    h->st = env->handover;
    h->out = out;
    h->inner_out = (struct cs_app_out){ho_txn, h, depth, NULL};
    recount(h);
    return h;
}

struct cs_handover *cs_handover_connect(struct cs_app_env *env, const struct cs_app_out *out,
                                        const char *target, size_t target_len)
{
    if (!env->handover || !env->claim)
        return NULL;
    if (out->depth >= CS_MAX_CONNECT_DEPTH) {
        env->handover->tunnels_too_deep++;
        return NULL;
    }
    struct cs_handover *h = ho_new(env, out, out->depth + 1);
    if (!h)
        return NULL;
    size_t n = target_len < HO_VIA_LEN - 1 ? target_len : HO_VIA_LEN - 1;
    memcpy(h->via, target, n);
    h->via[n] = '\0';
    if (!h->via[0])
        memcpy(h->via, "?", 2); /* a tunnel is named even without a target */
    h->st->connect_tunnels++;
    return h;
}

/* base64url (RFC 4648 §5, padding optional) -> out[0..cap); the bytes
 * written, or 0 on a bad character. */
static size_t b64url_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int v = ch >= 'A' && ch <= 'Z'   ? ch - 'A'
                : ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
                : ch >= '0' && ch <= '9' ? ch - '0' + 52
                : ch == '-' || ch == '+' ? 62
                : ch == '_' || ch == '/' ? 63
                                         : -1;
        if (ch == '=')
            break;
        if (v < 0)
            return 0;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k == cap)
                return k;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    return k;
}

struct cs_handover *cs_handover_h2c(struct cs_app_env *env, const struct cs_app_out *out,
                                    const struct cs_txn *t, const char *settings,
                                    size_t settings_len)
{
    struct cs_app_env *h2env = NULL;
    const struct cs_app_proto *h2 = env->row ? env->row(env, "h2", &h2env) : NULL;
    if (!h2 || !h2->upgrade || !env->handover)
        return NULL;
    struct cs_handover *h = ho_new(env, out, out->depth);
    if (!h)
        return NULL;
    h->h2c = true;
    h->decided = true;
    h->proto = h2;
    h->inner_out.env = h2env;
    h->conn = h2->open(h2env, &h->inner_out);
    uint8_t set[6 * 16];
    size_t n = settings ? b64url_decode(settings, settings_len, set, sizeof set) : 0;
    if (h->conn && h2->upgrade(h->conn, t, set, n) < 0) {
        h2->finish(h->conn, CS_TXN_EVICTED, 0, 0);
        h->conn = NULL;
    }
    h->st->h2c_upgrades++;
    recount(h);
    return h;
}

static bool hold_add(struct cs_handover *h, int dir, const struct cs_stream_event *ev)
{
    if (!h->hold && !(h->hold = calloc(1, sizeof *h->hold)))
        return false;
    recount(h);
    struct ho_hold *u = h->hold;
    bool join = u->n > 0 && u->ev[u->n - 1].dir == dir;
    if ((!join && u->n == HO_HOLD_EVENTS) || ev->len > HO_HOLD_BYTES - u->len)
        return false;
    memcpy(u->buf + u->len, ev->data, ev->len);
    if (join)
        u->ev[u->n - 1].len += ev->len;
    else
        u->ev[u->n++] = (struct ho_event){u->len, ev->len, dir, ev->frame, ev->ts};
    u->len += ev->len;
    return true;
}

static void hold_free(struct cs_handover *h)
{
    free(h->hold);
    h->hold = NULL;
    recount(h);
}

/* The inner stream is row proto's (NULL: no row's): opens it and replays
 * what was held. */
static void become(struct cs_handover *h, const struct cs_app_proto *proto, struct cs_app_env *penv)
{
    h->decided = true;
    if (!proto) {
        h->st->tunnels_unparsed++;
        hold_free(h);
        return;
    }
    h->st->tunnels_parsed++;
    h->proto = proto;
    h->inner_out.env = penv;
    h->conn = proto->open(penv, &h->inner_out);
    struct ho_hold *u = h->hold;
    for (uint32_t i = 0; h->conn && u && i < u->n; i++) {
        struct cs_stream_event ev = {
            .kind = CS_STREAM_DATA,
            .data = u->buf + u->ev[i].off,
            .len = u->ev[i].len,
            .frame = u->ev[i].frame,
            .ts = u->ev[i].ts,
        };
        proto->event(h->conn, u->ev[i].dir, &ev);
    }
    hold_free(h);
}

/* The client prefix held so far plus p[0..n), into b; its length. */
static uint32_t probe_bytes(const struct cs_handover *h, const uint8_t *p, uint32_t n, uint8_t *b)
{
    uint32_t have = h->hold ? h->hold->prefix_len : 0;
    if (have)
        memcpy(b, h->hold->prefix, have);
    uint32_t k = n < HO_PREFIX - have ? n : HO_PREFIX - have;
    memcpy(b + have, p, k);
    return have + k;
}

/* First data of the tunnel (or more, while undecided): which row? True
 * when the event was held (the caller then does not pass it on). */
static bool decide(struct cs_handover *h, int dir, const struct cs_stream_event *ev)
{
    if (dir != CS_DIR_C2S) {
        /* the client speaks first in every protocol of the table */
        if (hold_add(h, dir, ev))
            return true;
        become(h, NULL, NULL);
        return true;
    }
    h->client_spoke = true;
    uint8_t b[HO_PREFIX];
    uint32_t n = probe_bytes(h, ev->data, ev->len, b);
    struct cs_app_env *penv = NULL;
    bool amb = false;
    const struct cs_app_proto *row = h->env->claim(h->env, dir, b, n, &penv, &amb);
    if (row && amb && n < HO_PREFIX && hold_add(h, dir, ev)) {
        memcpy(h->hold->prefix, b, n);
        h->hold->prefix_len = n;
        return true;
    }
    become(h, row, penv);
    return false;
}

void cs_handover_event(void *ctx, int dir, const struct cs_stream_event *ev)
{
    struct cs_handover *h = ctx;
    if (h->h2c && dir == CS_DIR_C2S && !h->client_spoke && ev->kind == CS_STREAM_DATA && ev->len) {
        h->client_spoke = true;
        if (cs_h2_probe(ev->data, ev->len) == 0)
            h->st->h2c_not_h2++;
    }
    if (!h->decided) {
        if (ev->kind != CS_STREAM_DATA || !ev->len)
            return; /* nothing to pass on before the protocol is known */
        if (decide(h, dir, ev))
            return;
    }
    if (h->conn)
        h->proto->event(h->conn, dir, ev);
}

void cs_handover_finish(void *ctx, enum cs_txn_end why, uint64_t frame, cs_time_ns ts)
{
    struct cs_handover *h = ctx;
    if (!h->decided) {
        /* the bytes held are all there is: the first row that wants them */
        struct cs_app_env *penv = NULL;
        const struct cs_app_proto *row = NULL;
        if (h->hold && h->hold->prefix_len) {
            bool amb;
            row = h->env->claim(h->env, CS_DIR_C2S, h->hold->prefix, h->hold->prefix_len, &penv,
                                &amb);
        }
        become(h, row, penv);
    }
    if (h->h2c && !h->client_spoke)
        h->st->h2c_not_h2++;
    if (h->conn)
        h->proto->finish(h->conn, why, frame, ts);
    h->conn = NULL;
    hold_free(h);
    h->st->held_bytes -= h->counted;
    free(h);
}
