/* Glue between the stages.  Each flow gets a struct flow_app (owned here,
 * hung on flow->app) that records what the flow is:
 *
 *   undecided -- first payload a row of app_protos[] claims --> that row parses it
 *             -- otherwise (both directions spoke) --> unparsed (nDPI names it)
 *
 * nDPI only sees the packets of flows that no row claims, and only until it
 * decides (or gives up), so parsed traffic never pays for it; its state is
 * freed at that moment, counts in --max-memory while it lives, and at most
 * --max-dpi-flows flows hold it at once (dpi.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_proto.h"
#include "decode.h"
#include "dpi.h"
#include "flow.h"
#include "pipeline.h"
#include "summary.h"
#include "tls_ahead.h"

/* The table of application protocols, probed in this order (app_proto.h). */
static const struct cs_app_proto *const app_protos[] = {
    &cs_app_tls, /* only with a key log; the protocol inside goes to a row below */
    &cs_app_http1,
    &cs_app_h2,
};
#define N_APP_PROTOS (sizeof app_protos / sizeof app_protos[0])

/* While a flow is undecided, the data events that did not look like HTTP
 * from the client are kept (up to these bounds), so that when the server
 * then proves the flow is HTTP (answering "HTTP/1.0 400" to a malformed
 * request line) the HTTP parser still sees them.  Beyond the
 * bounds the flow simply starts later, as it would without the buffer. */
#define CS_UNDECIDED_BYTES 4096u
#define CS_UNDECIDED_EVENTS 8u

struct undecided_event {
    uint32_t off, len; /* in struct undecided.buf */
    int dir;
    uint64_t frame;
    cs_time_ns ts;
};

/* Client bytes kept to probe again while the rows disagree on a prefix too
 * short to tell (the h2 preface cut before its 24th byte looks like the
 * start of an HTTP/1 request line). */
#define CS_AMBIGUOUS_PREFIX 64u

struct undecided {
    uint32_t len, n;
    uint32_t prefix_len;
    uint8_t prefix[CS_AMBIGUOUS_PREFIX];
    struct undecided_event ev[CS_UNDECIDED_EVENTS];
    uint8_t buf[CS_UNDECIDED_BYTES];
};

/* nDPI's name for an unparsed flow, allocated when it concludes (most
 * flows are a row's and never need it). */
struct dpi_verdict {
    char proto[CS_APP_NAME_LEN];
    char sni[CS_APP_SNI_LEN];
};

/* Every live connection has one: its size is peak memory, so what only
 * some flows need is allocated apart (held, dpi, verdict), and what the
 * end reports (struct cs_flow_info) is built at the end from these fields. */
struct flow_app {
    const struct cs_app_proto *proto; /* the row parsing the flow; NULL while undecided
                                        * or when no row claimed it */
    void *conn;                       /* its parser (NULL if it could not be had) */
    struct undecided *held;           /* client data while undecided (allocated on first
                                    * use), replayed if the server proves a row's */
    struct cs_dpi_flow *dpi;          /* while nDPI is still deciding */
    struct dpi_verdict *verdict;      /* nDPI's verdict (NULL: none, or out of memory) */
    struct cs_app_out out;            /* where the parser reports (on_txn, this flow_app) */
    const struct cs_flow *flow;       /* for the transaction callback */
    struct cs_pipeline *pipe;
    uint64_t transactions;     /* cs_flow_info's */
    cs_time_ns server_end_ts;  /* when the server's first FIN / RST came ... */
    uint64_t server_end_frame; /* ... in which frame */
    cs_time_ns alert_ts;
    uint64_t alert_frame;
    /* (flags as bits: one per connection, 136 bytes fit a 144-byte malloc
     * chunk where 144 took 160) */
    bool parsed : 1, upgraded : 1, had_data : 1; /* cs_flow_info's */
    bool unparsed : 1;                           /* no row claimed it: nDPI names it */
    bool dpi_done : 1;                           /* nDPI's verdict is in (verdict) */
    /* rows disagree on a too-short client prefix: both directions are held
     * until more bytes tell */
    bool ambiguous : 1;
    bool client_closed : 1;              /* the client's FIN or RST came first */
    bool server_fin : 1, server_rst : 1; /* the server's first FIN / RST */
    bool spoke[2];                       /* direction delivered data while undecided */
    uint8_t amb_row;                     /* meanwhile, the first row that wants the prefix */
    /* A TLS handshake that failed (cs_flow_info.failure): the first record
     * of each direction, read in the clear whether or not a key log is
     * given, and how the server ended the connection. */
    uint8_t tls_client : 2; /* 0 no data yet, 1 a ClientHello, 2 something else */
    uint8_t tls_server : 2; /* 0 no data yet, 1 an alert, 2 something else */
    uint8_t tls_alert_level, tls_alert_desc;
};
_Static_assert(sizeof(struct flow_app) <= 136, "struct flow_app fits a 144-byte malloc chunk");

struct cs_pipeline {
    struct cs_limits limits;
    /* the report's table of HTTP clients, reserved in --max-memory
     * (computed once: held_memory runs for every packet) */
    uint64_t clients_reserved;
    struct cs_decoder *decoder;
    struct cs_flow_table *flows;
    struct cs_dpi *dpi;
    struct cs_app_env env[N_APP_PROTOS]; /* per row: limits, its counters */
    /* the rows' counters, inside the pipeline (one allocation fewer) */
    _Alignas(16) unsigned char app_stats[N_APP_PROTOS][CS_APP_STATS_MAX];
    struct cs_pipeline_stats stats;
    struct cs_handover_stats handover; /* app_handover.c's, for every row */
    struct cs_pipeline_hooks hooks;
    void *hook_ctx;
    uint64_t undecided_bytes; /* held client data of undecided flows (--max-memory) */
    /* nDPI's module counts in --max-memory from the moment a flow needs it
     * (dpi_module_charge); it is set up between segments, after eviction has
     * made room for it, so that it takes memory the evicted connections
     * gave back instead of adding to the peak.  The flow that asked waits
     * with its packet (still in its frame) until then. */
    bool dpi_module_counted;
    struct {
        struct cs_flow *flow;
        const uint8_t *l3;
        uint32_t l3_len;
        cs_time_ns ts;
    } dpi_pending;
    unsigned keylog_share;             /* held_memory counts 1/keylog_share of the rows' key log */
    size_t (*extra_memory)(void *ctx); /* cs_pipeline_count_memory */
    void *extra_memory_ctx;
    struct cs_tls_ahead *ahead;  /* cs_pipeline_decrypt_ahead; NULL: none */
    struct ahead_offers *offers; /* with ahead */
};

static void on_txn(void *ctx, const struct cs_txn *t)
{
    struct flow_app *app = ctx;
    app->transactions++;
    if (t->has_resp && (t->resp_flags & CS_TXN_SWITCHES))
        app->upgraded = true;
    if (app->pipe->hooks.on_txn)
        app->pipe->hooks.on_txn(app->pipe->hook_ctx, &app->flow->key, t);
}

/* A flow's flow_app is allocated with its first payload, not at creation:
 * half-open and empty connections (a SYN flood) then cost only their
 * struct cs_flow.  Until then f->app is NULL, which every callback takes as
 * "undecided, nothing seen". */
static void on_new(void *ctx, struct cs_flow *f)
{
    struct cs_pipeline *p = ctx;
    f->app = NULL;
    if (p->hooks.on_flow_new)
        p->hooks.on_flow_new(p->hook_ctx, &f->key);
}

/* f's flow_app, allocated on first use; NULL when out of memory (the flow
 * then goes unanalysed). */
static struct flow_app *app_for(struct cs_pipeline *p, struct cs_flow *f)
{
    struct flow_app *app = f->app;
    if (app)
        return app;
    app = calloc(1, sizeof(*app));
    if (!app)
        return NULL;
    app->pipe = p;
    app->flow = f;
    app->out = (struct cs_app_out){on_txn, app, 0, NULL};
    f->app = app;
    return app;
}

/* Row i of app_protos[] claimed the flow: it parses it from now on. */
static void become(struct flow_app *app, size_t i)
{
    app->proto = app_protos[i];
    app->parsed = true;
    app->out.env = &app->pipe->env[i];
    app->conn = app->proto->open(&app->pipe->env[i], &app->out);
    if (app->dpi) {
        cs_dpi_flow_free(app->pipe->dpi, app->dpi);
        app->dpi = NULL;
    }
}

_Static_assert(CS_DPI_NAME_LEN == CS_APP_NAME_LEN && CS_DPI_SNI_LEN == CS_APP_SNI_LEN,
               "nDPI's verdict and struct cs_flow_info name a protocol alike");
static void dpi_conclude(struct cs_pipeline *p, struct flow_app *app)
{
    if (app->dpi_done)
        return;
    app->dpi_done = true;
    if (app->dpi) {
        struct cs_dpi_result r;
        memset(&r, 0, sizeof r);
        cs_dpi_flow_result(p->dpi, app->dpi, &r);
        if ((app->verdict = malloc(sizeof *app->verdict))) {
            memcpy(app->verdict->proto, r.name, sizeof app->verdict->proto);
            memcpy(app->verdict->sni, r.sni, sizeof app->verdict->sni);
        }
        cs_dpi_flow_free(p->dpi, app->dpi);
        app->dpi = NULL;
    } else if ((app->verdict = calloc(1, sizeof *app->verdict))) {
        snprintf(app->verdict->proto, sizeof(app->verdict->proto), "Unknown");
    }
}

/* Whether some active row of the table claims (or may claim) data starting
 * p[0..n) of direction dir; *row (if not NULL) is set to the first such row. */
static bool row_active(const struct cs_pipeline *pl, size_t i)
{
    return !app_protos[i]->active || app_protos[i]->active(&pl->env[i]);
}

static bool claimed_amb(const struct cs_pipeline *pl, int dir, const uint8_t *p, uint32_t n,
                        size_t *row, bool *ambiguous)
{
    if (ambiguous)
        *ambiguous = false;
    for (size_t i = 0; i < N_APP_PROTOS; i++) {
        if (!row_active(pl, i))
            continue;
        enum cs_app_probe r = app_protos[i]->probe(dir, p, n);
        if (r == CS_PROBE_NO)
            continue;
        if (row)
            *row = i;
        /* Too short to tell, and a later row may want it too: more bytes
         * decide (the caller holds them). */
        if (r == CS_PROBE_NEED_MORE && ambiguous)
            for (size_t j = i + 1; j < N_APP_PROTOS; j++)
                if (row_active(pl, j) && app_protos[j]->probe(dir, p, n) != CS_PROBE_NO)
                    *ambiguous = true;
        return true;
    }
    return false;
}

static bool claimed(const struct cs_pipeline *pl, int dir, const uint8_t *p, uint32_t n, size_t *row)
{
    return claimed_amb(pl, dir, p, n, row, NULL);
}

static void on_packet(void *ctx, struct cs_flow *f, int dir, const struct cs_segment *s)
{
    struct cs_pipeline *p = ctx;
    struct flow_app *app = f->app;
    if (app && dir == CS_DIR_C2S && (s->flags & (CS_TCP_FIN | CS_TCP_RST)) && !app->server_fin &&
        !app->server_rst)
        app->client_closed = true;
    if (app && dir == CS_DIR_S2C && (s->flags & (CS_TCP_FIN | CS_TCP_RST)) && !app->server_fin &&
        !app->server_rst) {
        app->server_rst = (s->flags & CS_TCP_RST) != 0;
        app->server_fin = !app->server_rst;
        app->server_end_ts = s->ts;
        app->server_end_frame = s->frame;
    }
    if (!app) {
        if (s->payload_len == 0 || !p->dpi || !(app = app_for(p, f)))
            return;
    }
    if (app->proto || app->dpi_done || !p->dpi)
        return;
    if (!app->dpi) {
        if (s->payload_len == 0)
            return;
        /* Flows that open like a protocol of the table never go to nDPI. */
        if (!app->unparsed && claimed(p, dir, s->payload, s->payload_len, NULL))
            return;
        if (!cs_dpi_module_ready(p->dpi) && !cs_dpi_module_failed(p->dpi)) {
            /* the module is set up after this segment (dpi_start_pending) */
            if (!p->dpi_pending.flow) {
                p->dpi_module_counted = true;
                p->dpi_pending.flow = f;
                p->dpi_pending.l3 = s->l3;
                p->dpi_pending.l3_len = s->l3_len;
                p->dpi_pending.ts = s->ts;
            }
            return;
        }
        /* None: --max-dpi-flows are under inspection (counted) or memory
         * ran out.  The flow is then not inspected: "Unknown". */
        app->dpi = cs_dpi_flow_new(p->dpi);
        if (!app->dpi) {
            dpi_conclude(p, app);
            return;
        }
    }
    /* The verdict is taken, and the state freed, the moment nDPI decides or
     * gives up, even while a row may still claim the flow (the verdict then
     * goes unused): the result would be the same later, since nDPI sees no
     * more packets of the flow. */
    if (cs_dpi_flow_packet(p->dpi, app->dpi, s->l3, s->l3_len, s->ts))
        dpi_conclude(p, app);
}

static void held_free(struct flow_app *app)
{
    if (app->held)
        app->pipe->undecided_bytes -= sizeof *app->held;
    free(app->held);
    app->held = NULL;
}

/* Keeps a copy of an undecided data event of direction dir, if it fits the
 * bounds; false when it did not. */
static bool held_add(struct flow_app *app, int dir, const struct cs_stream_event *ev)
{
    if (!app->held) {
        if (!(app->held = calloc(1, sizeof *app->held)))
            return false;
        app->pipe->undecided_bytes += sizeof *app->held;
    }
    struct undecided *u = app->held;
    /* data that continues the last held event of the same direction joins
     * it (it keeps the first frame, where its message starts) */
    bool join = u->n > 0 && u->ev[u->n - 1].dir == dir;
    if ((!join && u->n == CS_UNDECIDED_EVENTS) || ev->len > CS_UNDECIDED_BYTES - u->len)
        return false;
    memcpy(u->buf + u->len, ev->data, ev->len);
    if (join) {
        u->ev[u->n - 1].len += ev->len;
        u->len += ev->len;
        return true;
    }
    u->ev[u->n++] = (struct undecided_event){u->len, ev->len, dir, ev->frame, ev->ts};
    u->len += ev->len;
    return true;
}

/* Feeds the parser every held event of both directions, in arrival order
 * (the rows disagreed on a short client prefix until now). */
static void held_replay_all(struct flow_app *app)
{
    struct undecided *u = app->held;
    for (uint32_t i = 0; app->conn && u && i < u->n; i++) {
        const struct undecided_event *e = &u->ev[i];
        struct cs_stream_event ev = {
            .kind = CS_STREAM_DATA,
            .data = u->buf + e->off,
            .len = e->len,
            .frame = e->frame,
            .ts = e->ts,
        };
        app->proto->event(app->conn, e->dir, &ev);
    }
}

/* An ambiguous flow must be decided now (a FIN, a gap, its end, the held
 * bytes full): the first row that wanted the prefix takes it. */
static void settle(struct flow_app *app)
{
    if (!app->ambiguous)
        return;
    app->ambiguous = false;
    become(app, app->amb_row);
    held_replay_all(app);
    held_free(app);
}

/* The server's first data just proved the flow a row's: feeds the parser the
 * client data held while undecided (a malformed request line the server
 * answered).  Only when that data ends at a line end:
 * otherwise it is the middle of a message (a capture that starts
 * mid-stream), and the scanner skipping its unfinished last line would
 * swallow the next request line.  Server data held before a client request
 * decided is dropped likewise: it can only be the rest of an earlier
 * response. */
static void held_replay_client(struct flow_app *app)
{
    struct undecided *u = app->held;
    if (app->conn && u && u->n > 0 && u->buf[u->len - 1] == '\n') {
        for (uint32_t i = 0; i < u->n; i++) {
            const struct undecided_event *e = &u->ev[i];
            if (e->dir != CS_DIR_C2S)
                continue;
            struct cs_stream_event ev = {
                .kind = CS_STREAM_DATA,
                .data = u->buf + e->off,
                .len = e->len,
                .frame = e->frame,
                .ts = e->ts,
            };
            app->proto->event(app->conn, CS_DIR_C2S, &ev);
        }
    }
}

/* Decides from the first data of each direction which row parses the flow
 * (for HTTP/1: a request line from the client, or a status line from the
 * server, mid-stream pickup).  Client data that does not decide is held and
 * replayed once a row claims the flow, so a malformed request line answered
 * by a status line is still parsed. */
static void decide(struct flow_app *app, int dir, const struct cs_stream_event *ev)
{
    size_t row;
    bool amb = false, yes;
    if (app->ambiguous) {
        /* Server bytes never decide it; client bytes probe again with the
         * prefix held so far. */
        yes = true;
        row = app->amb_row;
        amb = true;
        if (dir == CS_DIR_C2S) {
            struct undecided *u = app->held;
            uint8_t b[CS_AMBIGUOUS_PREFIX];
            uint32_t n = u->prefix_len;
            uint32_t k = ev->len < CS_AMBIGUOUS_PREFIX - n ? ev->len : CS_AMBIGUOUS_PREFIX - n;
            memcpy(b, u->prefix, n);
            memcpy(b + n, ev->data, k);
            n += k;
            yes = claimed_amb(app->pipe, dir, b, n, &row, &amb);
            if (yes && amb && n < CS_AMBIGUOUS_PREFIX && held_add(app, dir, ev)) {
                memcpy(u->prefix, b, n);
                u->prefix_len = n;
                app->amb_row = (uint8_t)row;
                return;
            }
        } else if (held_add(app, dir, ev)) {
            return;
        }
        app->ambiguous = false;
        if (!yes) { /* the longer prefix is no row's after all */
            held_free(app);
            app->unparsed = true;
            return;
        }
        become(app, row);
        held_replay_all(app);
        held_free(app);
        return;
    }
    if (claimed_amb(app->pipe, dir, ev->data, ev->len, &row, &amb)) { /* yes, or too short to tell */
        if (amb && dir == CS_DIR_C2S && !app->held && ev->len < CS_AMBIGUOUS_PREFIX &&
            held_add(app, dir, ev)) {
            app->ambiguous = true;
            app->amb_row = (uint8_t)row;
            memcpy(app->held->prefix, ev->data, ev->len);
            app->held->prefix_len = ev->len;
            return;
        }
        become(app, row);
        if (dir == CS_DIR_S2C)
            held_replay_client(app);
        held_free(app);
        return;
    }
    app->spoke[dir] = true;
    if (dir == CS_DIR_C2S)
        held_add(app, dir, ev);
    if (app->spoke[CS_DIR_C2S] && app->spoke[CS_DIR_S2C]) {
        app->unparsed = true; /* nDPI keeps looking at packets until it decides */
        held_free(app);
    }
}

/* The first TLS record of each direction: a ClientHello from the client
 * (content type 22, handshake type 1), an alert (21: level, description)
 * from the server.  Records before the server's first are in the clear. */
static void tls_first_record(struct flow_app *app, int dir, const struct cs_stream_event *ev)
{
    const uint8_t *d = ev->data;
    if (dir == CS_DIR_C2S) {
        if (!app->tls_client)
            app->tls_client = ev->len >= 6 && d[0] == 22 && d[1] == 3 && d[5] == 1 ? 1 : 2;
        return;
    }
    if (app->tls_server || app->tls_client != 1)
        return;
    app->tls_server = 2;
    if (ev->len >= 7 && d[0] == 21 && d[1] == 3 && d[3] == 0 && d[4] >= 2) {
        app->tls_server = 1;
        app->tls_alert_level = d[5];
        app->tls_alert_desc = d[6];
        app->alert_ts = ev->ts;
        app->alert_frame = ev->frame;
    }
}

/* Whether f never carried a request because it failed (txn.h): at the TCP
 * handshake (refused, never answered) or at the TLS one. */
static void conn_failure(const struct cs_flow *f, const struct flow_app *app, enum cs_flow_end why,
                         struct cs_flow_info *info)
{
    info->syns = f->syns;
    if (!app || !app->had_data) {
        if (!f->handshake_seen || f->syn_acked || why == CS_FLOW_END_EVICTED ||
            why == CS_FLOW_END_CLOSED)
            return;
        info->failure = why == CS_FLOW_END_RESET ? CS_CONN_REFUSED : CS_CONN_TIMED_OUT;
        info->fail_ts = f->key.last_ts;
        info->fail_frame = f->key.last_frame;
        return;
    }
    if (app->tls_client != 1 || app->transactions)
        return;
    if (app->tls_server == 1 && app->tls_alert_level == 2) {
        info->failure = CS_CONN_TLS_ALERT;
        info->tls_alert = app->tls_alert_desc;
        info->fail_ts = app->alert_ts;
        info->fail_frame = app->alert_frame;
    } else if (app->tls_server == 0 && !app->client_closed && (app->server_rst || app->server_fin)) {
        info->failure = app->server_rst ? CS_CONN_TLS_RESET : CS_CONN_TLS_CLOSED;
        info->fail_ts = app->server_end_ts;
        info->fail_frame = app->server_end_frame;
    }
}

static void on_stream(void *ctx, struct cs_flow *f, int dir, const struct cs_stream_event *ev)
{
    struct flow_app *app = f->app;
    if (!app) {
        if (ev->kind != CS_STREAM_DATA || ev->len == 0 || !(app = app_for(ctx, f)))
            return;
    }
    if (ev->kind == CS_STREAM_DATA && ev->len > 0) {
        app->had_data = true;
        tls_first_record(app, dir, ev);
    } else if (app->ambiguous)
        settle(app);
    if (!app->proto && !app->unparsed && ev->kind == CS_STREAM_DATA && ev->len > 0)
        decide(app, dir, ev);
    if (app->conn)
        app->proto->event(app->conn, dir, ev);
}

static void count_protocol(struct cs_pipeline *p, const struct cs_flow_info *r)
{
    cs_pipeline_count_protocol(&p->stats, p->limits.max_protocols, r);
}

void cs_pipeline_count_protocol(struct cs_pipeline_stats *st, unsigned max_protocols,
                                const struct cs_flow_info *r)
{
    if (r->parsed || !r->had_data)
        return;
    struct cs_proto_count *pc = NULL;
    for (unsigned i = 0; i < st->n_protos; i++)
        if (strcmp(st->protos[i].name, r->proto) == 0)
            pc = &st->protos[i];
    if (!pc) {
        if (st->n_protos == max_protocols) {
            st->protos_overflow++;
            return;
        }
        pc = &st->protos[st->n_protos++];
        snprintf(pc->name, sizeof(pc->name), "%s", r->proto);
    }
    pc->flows++;
    if (r->sni[0] && pc->n_snis < CS_PROTO_SAMPLE_SNIS) {
        for (unsigned i = 0; i < pc->n_snis; i++)
            if (strcmp(pc->snis[i], r->sni) == 0)
                return;
        snprintf(pc->snis[pc->n_snis++], CS_DPI_SNI_LEN, "%s", r->sni);
    }
}

static enum cs_txn_end txn_end_for(enum cs_flow_end why)
{
    switch (why) {
    case CS_FLOW_END_CLOSED: return CS_TXN_CLOSED;
    case CS_FLOW_END_RESET: return CS_TXN_RESET;
    case CS_FLOW_END_EVICTED: return CS_TXN_EVICTED;
    case CS_FLOW_END_INPUT: return CS_TXN_CAPTURE_ENDED;
    case CS_FLOW_END_IDLE:
    default: return CS_TXN_UNANSWERED;
    }
}

static void dpi_start_pending(struct cs_pipeline *p);

static void on_end(void *ctx, struct cs_flow *f, enum cs_flow_end why)
{
    struct cs_pipeline *p = ctx;
    struct flow_app *app = f->app;
    if (p->dpi_pending.flow == f)
        dpi_start_pending(p); /* it ends in the segment that asked: named now */
    if (app)
        settle(app);
    if (app && app->conn) {
        app->proto->finish(app->conn, txn_end_for(why), f->key.last_frame, f->key.last_ts);
        app->conn = NULL;
    }
    /* A TLS flow counts as HTTP once HTTP came out of it; otherwise (no
     * key, failed, h2 not parsed yet) as other: the TLS summary says why. */
    if (app && app->proto && (app->proto != &cs_app_tls || app->transactions)) {
        p->stats.http_flows++;
    } else if (app && app->proto) {
        p->stats.other_flows++;
    } else if (app && app->had_data) {
        dpi_conclude(p, app);
        p->stats.other_flows++;
    } else {
        p->stats.empty_flows++;
        if (f->handshake_seen && !f->syn_acked) {
            if (why == CS_FLOW_END_RESET)
                p->stats.connections_refused++;
            else
                p->stats.connections_unanswered++;
        }
    }
    struct cs_flow_info info;
    memset(&info, 0, sizeof info);
    if (app) {
        info.parsed = app->parsed;
        info.upgraded = app->upgraded;
        info.had_data = app->had_data;
        info.transactions = app->transactions;
        if (app->verdict) {
            memcpy(info.proto, app->verdict->proto, sizeof info.proto);
            memcpy(info.sni, app->verdict->sni, sizeof info.sni);
        }
        if (!app->proto && app->had_data)
            count_protocol(p, &info);
    }
    conn_failure(f, app, why, &info);
    if (info.failure >= CS_CONN_TLS_ALERT)
        p->stats.connections_tls_failed++;
    if (p->hooks.on_flow_end)
        p->hooks.on_flow_end(p->hook_ctx, &f->key, why, &info);
    if (!app)
        return;
    cs_dpi_flow_free(p->dpi, app->dpi);
    held_free(app);
    free(app->verdict);
    free(app);
    f->app = NULL;
}

/* struct cs_app_env.row: a row of the table by name, for rows that carry
 * other protocols inside (TLS). */
static const struct cs_app_proto *row_by_name(const struct cs_app_env *self, const char *name,
                                              struct cs_app_env **env)
{
    struct cs_pipeline *p = self->pipe;
    for (size_t i = 0; i < N_APP_PROTOS; i++)
        if (strcmp(app_protos[i]->name, name) == 0) {
            *env = &p->env[i];
            return app_protos[i];
        }
    return NULL;
}

/* struct cs_app_env.claim: the row that would take a new flow starting
 * with these bytes (a CONNECT tunnel's inner stream). */
static const struct cs_app_proto *claim_row(const struct cs_app_env *self, int dir, const uint8_t *p,
                                            uint32_t n, struct cs_app_env **env, bool *ambiguous)
{
    struct cs_pipeline *pl = self->pipe;
    size_t row;
    if (!claimed_amb(pl, dir, p, n, &row, ambiguous))
        return NULL;
    *env = &pl->env[row];
    return app_protos[row];
}

void cs_pipeline_set_keylog(struct cs_pipeline *p, const struct cs_tls_keylog *kl,
                            int (*refresh)(void *ctx), void *refresh_ctx, unsigned share)
{
    p->keylog_share = share ? share : 1;
    for (size_t i = 0; i < N_APP_PROTOS; i++) {
        p->env[i].keylog = kl;
        p->env[i].refresh_keys = refresh;
        p->env[i].refresh_ctx = refresh_ctx;
    }
}

void cs_pipeline_keys_changed(struct cs_pipeline *p)
{
    for (size_t i = 0; i < N_APP_PROTOS; i++)
        if (app_protos[i]->keys_changed)
            app_protos[i]->keys_changed(&p->env[i]);
}

struct cs_pipeline *cs_pipeline_new(const struct cs_limits *limits,
                                    const struct cs_pipeline_hooks *hooks, void *ctx,
                                    char *errbuf, unsigned errlen)
{
    struct cs_pipeline *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    p->limits = *limits;
    p->clients_reserved = cs_http_clients_memory(p->limits.max_http_clients);
    if (hooks)
        p->hooks = *hooks;
    p->hook_ctx = ctx;
    for (size_t i = 0; i < N_APP_PROTOS; i++) {
        p->env[i].limits = &p->limits;
        p->env[i].stats = p->app_stats[i];
        p->env[i].row = row_by_name;
        p->env[i].claim = claim_row;
        p->env[i].handover = &p->handover;
        p->env[i].pipe = p;
        if (app_protos[i]->stats_size > CS_APP_STATS_MAX) {
            snprintf(errbuf, errlen, "%s: counters larger than CS_APP_STATS_MAX",
                     app_protos[i]->name);
            cs_pipeline_free(p);
            return NULL;
        }
    }
    static const struct cs_flow_callbacks cb = {
        .on_new = on_new,
        .on_packet = on_packet,
        .on_stream = on_stream,
        .on_end = on_end,
    };
    p->decoder = cs_decoder_new(limits);
    p->flows = cs_flow_table_new(limits, &cb, p);
    p->dpi = cs_dpi_new(limits->max_dpi_flows, errbuf, errlen); /* optional: without it flows are "Unknown" */
    if (!p->decoder || !p->flows) {
        snprintf(errbuf, errlen, "out of memory");
        cs_pipeline_free(p);
        return NULL;
    }
    return p;
}

/* nDPI's module, once a flow asked for it, at most a quarter of the budget
 * (a small --max-memory keeps room for connections). */
static uint64_t dpi_module_charge(const struct cs_pipeline *p)
{
    if (!p->dpi_module_counted)
        return 0;
    uint64_t quarter = p->limits.max_memory / 4;
    return CS_DPI_MODULE_COST < quarter ? CS_DPI_MODULE_COST : quarter;
}

/* The traffic state held now, as --max-memory counts it (limits.h). */
static uint64_t held_memory(const struct cs_pipeline *p)
{
    /* the report's table of HTTP clients is allocated whole: reserved */
    uint64_t held = p->clients_reserved +
                    cs_flow_table_stats(p->flows)->active * CS_FLOW_MEMORY_COST +
                    cs_flow_table_held_memory(p->flows) + p->undecided_bytes + p->handover.held_bytes +
                    (p->dpi ? cs_dpi_stats(p->dpi)->memory : 0) + dpi_module_charge(p);
    for (size_t i = 0; i < N_APP_PROTOS; i++)
        held += app_protos[i]->held_bytes(p->env[i].stats);
    if (p->extra_memory)
        held += p->extra_memory(p->extra_memory_ctx);
    if (p->env[0].keylog) /* every row has the same */
        held += cs_tls_keylog_memory(p->env[0].keylog) / p->keylog_share;
    return held;
}

void cs_pipeline_count_memory(struct cs_pipeline *p, size_t (*fn)(void *ctx), void *ctx)
{
    p->extra_memory = fn;
    p->extra_memory_ctx = ctx;
}

/* Frames fed together: decoded, hashed and prefetched a group at a time
 * (see cs_pipeline_frames). */
#define CS_PIPELINE_GROUP 128

/* Decrypting ahead: a segment that continues its direction exactly where
 * reassembly stands, or where the group's previous segment of that
 * direction ended, goes to its row's ahead hook a few segments before it is
 * fed (AHEAD_LEAD: the assistant's head start; by then the prefetches of
 * the group have brought the flow and connection in).  Out of order, cut by the
 * snapshot length, held back by the flow table or after anything
 * reassembly holds: not offered (the guess would most likely be wrong, and
 * a wrong one only costs work). */
#define AHEAD_LEAD 32

/* Where each direction seen in the group stands: open addressing on the
 * flow's address, emptied by moving to the next generation. */
#define AHEAD_STREAMS 256u /* a power of two, at least twice CS_PIPELINE_GROUP */

struct ahead_offers {
    uint32_t gen; /* entries of another generation are free (starts at 1) */
    struct stream_pos {
        const struct cs_flow *f;
        uint32_t next; /* the sequence number that continues it */
        uint32_t gen;
        uint8_t dir;
        bool lost;
    } slot[AHEAD_STREAMS];
};
_Static_assert(AHEAD_STREAMS >= 2 * CS_PIPELINE_GROUP, "the table never fills up");

static struct stream_pos *stream_pos(struct ahead_offers *o, const struct cs_flow *f, int dir,
                                     bool *fresh)
{
    uint64_t h = ((uint64_t)(uintptr_t)f >> 6) * 2 + (unsigned)dir;
    size_t i = (size_t)((h * 0x9E3779B97F4A7C15u) >> 40) & (AHEAD_STREAMS - 1);
    for (;; i = (i + 1) & (AHEAD_STREAMS - 1)) {
        struct stream_pos *sp = &o->slot[i];
        if (sp->gen != o->gen) {
            *sp = (struct stream_pos){.f = f, .gen = o->gen, .dir = (uint8_t)dir};
            *fresh = true;
            return sp;
        }
        if (sp->f == f && sp->dir == dir) {
            *fresh = false;
            return sp;
        }
    }
}

struct cs_tls_ahead *cs_pipeline_decrypt_ahead(struct cs_pipeline *p)
{
    if (!p->ahead && (p->offers = calloc(1, sizeof *p->offers))) {
        p->offers->gen = 1;
        if (!(p->ahead = cs_tls_ahead_new())) {
            free(p->offers);
            p->offers = NULL;
        }
    }
    return p->ahead;
}

static void offer_ahead(const struct cs_pipeline *p, const struct cs_segment *s, uint64_t hash)
{
    struct ahead_offers *o = p->offers;
    int dir;
    const struct cs_flow *f = s->payload_len ? cs_flow_table_find_hashed(p->flows, s, hash, &dir) : NULL;
    const struct flow_app *app = f ? f->app : NULL;
    if (!app || !app->conn || !app->proto->ahead)
        return;
    bool fresh;
    struct stream_pos *sp = stream_pos(o, f, dir, &fresh);
    if (fresh) {
        const struct cs_reasm *r = &f->dir[dir];
        sp->next = r->next_seq;
        sp->lost = !r->started || r->held || f->deferred || f->ended;
    }
    if (sp->lost || s->seq != sp->next || s->payload_len != s->wire_payload_len ||
        (s->flags & (CS_TCP_SYN | CS_TCP_RST))) {
        sp->lost = true;
        return;
    }
    sp->next += s->payload_len;
    app->proto->ahead(app->conn, dir, s->payload, s->payload_len);
}

/* Sets up nDPI's module for the flow waiting with its first packet, and
 * gives it that packet (on_packet would have). */
static void dpi_start_pending(struct cs_pipeline *p)
{
    struct cs_flow *f = p->dpi_pending.flow;
    p->dpi_pending.flow = NULL;
    struct flow_app *app = f->app;
    if (!app || app->proto || app->dpi || app->dpi_done)
        return;
    app->dpi = cs_dpi_flow_new(p->dpi);
    if (!cs_dpi_module_ready(p->dpi))
        p->dpi_module_counted = false; /* its set-up failed: it holds nothing */
    if (!app->dpi)
        dpi_conclude(p, app);
    else if (cs_dpi_flow_packet(p->dpi, app->dpi, p->dpi_pending.l3, p->dpi_pending.l3_len,
                                p->dpi_pending.ts))
        dpi_conclude(p, app);
}

static void feed_segment(struct cs_pipeline *p, const struct cs_segment *seg, uint64_t hash)
{
    cs_flow_table_segment_hashed(p->flows, seg, hash);
    /* Oldest first, reported as evicted, until the budget holds again
     * (nDPI's module counted once a flow asked for it, before it is set up:
     * dpi_pending). */
    while (held_memory(p) > p->limits.max_memory && cs_flow_table_evict_oldest(p->flows))
        ;
    if (p->dpi_pending.flow)
        dpi_start_pending(p);
}

/* True when the segment lies inside its frame, not in the decoder's
 * fragment-reassembly buffer (which the next decode call may reuse). */
static bool in_frame(const struct cs_segment *seg, const struct cs_frame *fr)
{
    uintptr_t l3 = (uintptr_t)seg->l3, lo = (uintptr_t)fr->data;
    return l3 >= lo && l3 <= lo + fr->caplen;
}

void cs_pipeline_frames(struct cs_pipeline *p, const struct cs_frame *frames, unsigned n)
{
    struct cs_segment seg[CS_PIPELINE_GROUP];
    uint64_t hash[CS_PIPELINE_GROUP];
    struct cs_flow *flow[CS_PIPELINE_GROUP];
    bool is_seg[CS_PIPELINE_GROUP];
    unsigned i = 0;
    cs_tls_ahead_begin(p->ahead);
    while (i < n) {
        /* Decode a group ahead; the decoder keeps no per-flow state, so
         * decoding before the flows see the earlier frames changes nothing.
         * A segment rebuilt from fragments ends the group. */
        unsigned m = 0;
        while (m < CS_PIPELINE_GROUP && i + m < n) {
            const struct cs_frame *fr = &frames[i + m];
            is_seg[m] = cs_decode_frame(p->decoder, fr, &seg[m]) == CS_DECODE_SEGMENT;
            m++;
            if (is_seg[m - 1] && !in_frame(&seg[m - 1], fr))
                break;
        }
        /* Start the memory loads each segment's processing will need, one
         * level of pointers per pass, so the cache misses overlap. */
        for (unsigned k = 0; k < m; k++)
            hash[k] = is_seg[k] ? cs_flow_table_hash(p->flows, &seg[k]) : 0;
        for (unsigned k = 0; k < m; k++)
            flow[k] = is_seg[k] ? cs_flow_table_prefetch(p->flows, hash[k]) : NULL;
        for (unsigned k = 0; k < m; k++) {
            flow[k] = cs_flow_table_prefetch_chain(flow[k], hash[k]);
            if (flow[k]) {
                cs_flow_table_prefetch_neighbours(flow[k]);
                if (flow[k]->app)
                    __builtin_prefetch(flow[k]->app);
            }
        }
        for (unsigned k = 0; k < m; k++) {
            const struct flow_app *app = flow[k] ? flow[k]->app : NULL;
            if (app && app->conn && app->proto->prefetch)
                app->proto->prefetch(app->conn);
        }
        unsigned offered = m; /* segments [0, offered) went to offer_ahead */
        if (p->ahead) {
            p->offers->gen++;
            cs_tls_ahead_group();
            /* the group's first data of new flows (a TLS ClientHello: its key
             * log entry) as early as possible: the answer follows soon */
            for (size_t r = 0; r < N_APP_PROTOS; r++)
                if (app_protos[r]->ahead_first && row_active(p, r))
                    for (unsigned k = 0; k < m; k++)
                        if (is_seg[k] && seg[k].payload_len)
                            app_protos[r]->ahead_first(&p->env[r], seg[k].payload, seg[k].payload_len);
            for (offered = 0; offered < m && offered < AHEAD_LEAD; offered++)
                if (is_seg[offered])
                    offer_ahead(p, &seg[offered], hash[offered]);
        }
        for (unsigned k = 0; k < m; k++) {
            if (offered < m) {
                if (is_seg[offered])
                    offer_ahead(p, &seg[offered], hash[offered]);
                offered++;
            }
            if (is_seg[k])
                feed_segment(p, &seg[k], hash[k]);
            else
                cs_flow_table_tick(p->flows, frames[i + k].ts);
        }
        i += m;
    }
    cs_tls_ahead_end(); /* the jobs point into these frames */
}

void cs_pipeline_frame(struct cs_pipeline *p, const struct cs_frame *frame)
{
    cs_pipeline_frames(p, frame, 1);
}

void cs_pipeline_tick(struct cs_pipeline *p, cs_time_ns now)
{
    cs_flow_table_tick(p->flows, now);
}

enum cs_flow_phase cs_pipeline_phase(const struct cs_pipeline *p)
{
    return cs_flow_table_phase(p->flows);
}

void cs_pipeline_ids_by_frame(struct cs_pipeline *p)
{
    cs_flow_table_ids_by_frame(p->flows);
}

void cs_pipeline_finish(struct cs_pipeline *p)
{
    cs_flow_table_finish(p->flows);
}

void cs_pipeline_free(struct cs_pipeline *p)
{
    if (!p)
        return;
    cs_tls_ahead_free(p->ahead);
    free(p->offers);
    if (p->flows)
        cs_flow_table_free(p->flows);
    for (size_t i = 0; i < N_APP_PROTOS; i++)
        if (app_protos[i]->release)
            app_protos[i]->release(p->env[i].stats);
    if (p->decoder)
        cs_decoder_free(p->decoder);
    /* nDPI last: its teardown leaves thousands of small free blocks, and a
     * large free after it makes glibc sweep them all (5 M instructions) */
    struct cs_dpi *dpi = p->dpi;
    free(p);
    cs_dpi_free(dpi);
}

const struct cs_pipeline_stats *cs_pipeline_stats(const struct cs_pipeline *p)
{
    return &p->stats;
}

void cs_pipeline_summary(const struct cs_pipeline *p, struct cs_summary *s)
{
    s->decode = *cs_decoder_stats(p->decoder);
    s->flows = *cs_flow_table_stats(p->flows);
    s->reasm = *cs_flow_table_reasm_stats(p->flows);
    for (size_t i = 0; i < N_APP_PROTOS; i++)
        app_protos[i]->summarize(p->env[i].stats, s);
    s->pipeline = p->stats;
    s->handover = p->handover;
    s->dpi = *cs_pipeline_dpi_stats(p);
}
const struct cs_decode_stats *cs_pipeline_decode_stats(const struct cs_pipeline *p)
{
    return cs_decoder_stats(p->decoder);
}
const struct cs_flow_stats *cs_pipeline_flow_stats(const struct cs_pipeline *p)
{
    return cs_flow_table_stats(p->flows);
}
const struct cs_reasm_stats *cs_pipeline_reasm_stats(const struct cs_pipeline *p)
{
    return cs_flow_table_reasm_stats(p->flows);
}
const struct cs_http_stats *cs_pipeline_http_stats(const struct cs_pipeline *p)
{
    struct cs_app_env *env = NULL;
    return row_by_name(&p->env[0], "HTTP/1", &env) ? env->stats : NULL;
}

void cs_pipeline_counts(const struct cs_pipeline *p, struct cs_pipeline_counts *c)
{
    const struct cs_flow_stats *f = cs_pipeline_flow_stats(p);
    const struct cs_http_stats *h = cs_pipeline_http_stats(p);
    *c = (struct cs_pipeline_counts){
        .frames = cs_pipeline_decode_stats(p)->frames,
        .flows = f->created,
        .active_flows = f->active,
        .requests = h ? h->requests : 0,
        .responses = h ? h->responses : 0,
    };
}

void cs_pipeline_counts_add(struct cs_pipeline_counts *sum, const struct cs_pipeline_counts *c)
{
    sum->frames += c->frames;
    sum->flows += c->flows;
    sum->active_flows += c->active_flows;
    sum->requests += c->requests;
    sum->responses += c->responses;
}
const struct cs_dpi_stats *cs_pipeline_dpi_stats(const struct cs_pipeline *p)
{
    static const struct cs_dpi_stats none; /* no detection module */
    return p->dpi ? cs_dpi_stats(p->dpi) : &none;
}
