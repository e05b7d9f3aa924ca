#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "out_json.h"
#include "utf8.h"

/* ,"k": */
#define key(b, k) cs_jbuf_lit((b), ",\"" k "\":")

/* ,"k":"value" for a string that holds wire bytes (null when s is NULL);
 * when some bytes are not valid UTF-8, ,"k_hex":"..." follows with the
 * exact bytes (json.c says why).  The keys are literals, so their lengths
 * are known at compile time. */
#define wire_key(b, k, s, len) wire_str((b), ",\"" k "\":", sizeof(",\"" k "\":") - 1, (s), (len))

static inline void wire_str(struct cs_jbuf *b, const char *key, size_t key_len, const char *s,
                            size_t len)
{
    cs_jbuf_put(b, key, key_len);
    if (!s) {
        cs_jbuf_lit(b, "null");
        return;
    }
    if (cs_jbuf_string(b, s, len)) {
        /* the key again, without its closing '":', then _hex */
        cs_jbuf_put(b, key, key_len - 2);
        cs_jbuf_lit(b, "_hex\":");
        cs_jbuf_hex(b, s, len);
    }
}

#define wire_cstr(b, k, s) wire_key((b), k, (s), (s) ? strlen(s) : 0)

/* Where a message was written escaped in the line being built: the event's
 * message is one of the browsers' messages (the same string), which the
 * browser views write again; they copy these bytes instead of escaping and
 * measuring the text a second time. */
struct escaped {
    const char *src; /* NULL: nothing to copy */
    size_t off, len; /* in b->buf */
    unsigned flushes;
};

/* wire_str for a NUL-terminated message, through e. */
static void wire_msg(struct cs_jbuf *b, const char *key, size_t key_len, const char *s,
                     struct escaped *e)
{
    if (s && s == e->src && e->flushes == b->flushes &&
        key_len + e->len <= sizeof b->buf - b->len) {
        /* room for both: no flush, and the copy's source lies before b->len */
        cs_jbuf_put(b, key, key_len);
        memcpy(b->buf + b->len, b->buf + e->off, e->len);
        b->len += e->len;
        return;
    }
    cs_jbuf_put(b, key, key_len);
    if (!s) {
        cs_jbuf_lit(b, "null");
        return;
    }
    size_t len = strlen(s), off = b->len;
    unsigned flushes = b->flushes;
    if (cs_jbuf_string(b, s, len)) {
        cs_jbuf_put(b, key, key_len - 2);
        cs_jbuf_lit(b, "_hex\":");
        cs_jbuf_hex(b, s, len);
        return; /* not kept: a copy would need its _hex too */
    }
    if (b->flushes == flushes)
        *e = (struct escaped){s, off, b->len - off, flushes};
}

/* The address in quotes (cs_addr_format: IPv4 by hand, IPv6 by inet_ntop). */
static void addr(struct cs_jbuf *b, const struct cs_addr *a)
{
    char buf[64];
    char *d = cs_jbuf_open_quoted(b, sizeof buf);
    if (d)
        cs_jbuf_close_quoted(b, cs_addr_format_len(a, d, sizeof buf));
    else
        cs_jbuf_quoted(b, buf, cs_addr_format_len(a, buf, sizeof buf));
}

const char *cs_txn_end_name(enum cs_txn_end e)
{
    switch (e) {
    case CS_TXN_ANSWERED: return "answered";
    case CS_TXN_CLOSED: return "closed";
    case CS_TXN_RESET: return "reset";
    case CS_TXN_STREAM_RESET: return "stream-reset";
    case CS_TXN_ABORTED: return "aborted";
    case CS_TXN_GAP: return "lost-in-gap";
    case CS_TXN_UNANSWERED: return "unanswered";
    case CS_TXN_CAPTURE_ENDED: return "capture-ended";
    case CS_TXN_MALFORMED: return "malformed-response";
    case CS_TXN_EVICTED: return "evicted";
    }
    return "unknown";
}

/* "name":{"verdict":...}, or in a row (flat) "name_verdict":...,
 * "name_reason":... */
static void browser_view(struct cs_jbuf *b, const char *name, const struct cs_browser_view *v,
                         bool row, struct escaped *e)
{
    char k[48];
    size_t n = strlen(name);
    cs_jbuf_lit(b, ",\"");
    cs_jbuf_put(b, name, n);
    if (row)
        cs_jbuf_lit(b, "_verdict\":");
    else
        cs_jbuf_lit(b, "\":{\"verdict\":");
    cs_jbuf_plain(b, v->verdict);
    cs_jbuf_lit(b, ",\"");
    if (row) {
        cs_jbuf_put(b, name, n);
        cs_jbuf_c(b, '_');
    }
    cs_jbuf_lit(b, "reason\":");
    cs_jbuf_plain(b, v->reason);
    /* ,"message": or ,"name_message": (by hand: snprintf was a twentieth
     * of the report thread on CORS-heavy traffic) */
    size_t kl = 0;
    k[kl++] = ',';
    k[kl++] = '"';
    if (row && n + 12 <= sizeof k) {
        memcpy(k + kl, name, n);
        kl += n;
        k[kl++] = '_';
    }
    memcpy(k + kl, "message\":", 9);
    kl += 9;
    wire_msg(b, k, kl, v->message, e);
    if (v->error) {
        cs_jbuf_lit(b, ",\"");
        if (row) {
            cs_jbuf_put(b, name, n);
            cs_jbuf_c(b, '_');
        }
        cs_jbuf_lit(b, "error\":");
        cs_jbuf_plain(b, v->error);
    }
    if (!row)
        cs_jbuf_c(b, '}');
}

/* A boolean: true/false in JSON, 1/0 in a row (ClickHouse's UInt8). */
static void boolean(struct cs_jbuf *b, bool v, bool row)
{
    if (row)
        cs_jbuf_c(b, v ? '1' : '0');
    else if (v)
        cs_jbuf_lit(b, "true");
    else
        cs_jbuf_lit(b, "false");
}

/* The keys of one event, for the JSON line (row false) or for a
 * ClickHouse row (row true: contrib/clickhouse/schema.sql).  One writer for
 * both, so that every key the JSON gains reaches the store too; a row
 * differs only where ClickHouse's types need it: objects are flattened
 * (tls_version, firefox_reason), booleans are 1/0, and ts is a DateTime
 * ("2026-01-01 00:00:00") followed by ts_ns, which keeps the rest. */
static void event_keys(struct cs_jbuf *b, const struct cs_event *ev, bool row)
{
    const struct cs_flow_key *f = ev->flow;
    const struct cs_txn *t = ev->txn;
    const corscope_request *rq = &t->req;
    bool rs = t->has_resp;

    cs_jbuf_lit(b, "{\"type\":\"http\"");
    wire_cstr(b, "sensor", ev->sensor);
    key(b, "event_id");
    cs_jbuf_plain(b, ev->event_id);
    cs_jbuf_lit(b, ",\"ts\":");
    if (row) {
        char when[40];
        cs_format_time(t->req_ts, when, sizeof when); /* 2026-01-01T00:00:00.000000Z */
        when[10] = ' ';
        when[19] = '\0';
        cs_jbuf_plain(b, when);
        cs_jbuf_lit(b, ",\"ts_ns\":");
        cs_jbuf_u64(b, (uint64_t)t->req_ts);
    } else {
        cs_jbuf_time(b, t->req_ts);
    }
    cs_jbuf_lit(b, ",\"flow\":");
    cs_jbuf_u64(b, f->id);
    key(b, "community_id");
    cs_jbuf_plain(b, ev->community_id);
    key(b, "src");
    addr(b, &f->client);
    cs_jbuf_lit(b, ",\"sport\":");
    cs_jbuf_u64(b, f->client_port);
    key(b, "dst");
    addr(b, &f->server);
    cs_jbuf_lit(b, ",\"dport\":");
    cs_jbuf_u64(b, f->server_port);
    cs_jbuf_lit(b, ",\"frame_req\":");
    cs_jbuf_u64(b, t->req_frame);
    key(b, "frame_resp");
    if (rs)
        cs_jbuf_u64(b, t->resp_frame);
    else
        cs_jbuf_lit(b, "null");
    wire_key(b, "method", rq->method, rq->method_len);
    wire_key(b, "host", ev->host, ev->host_len);
    wire_key(b, "uri", rq->target, rq->target_len);
    key(b, "status");
    if (rs)
        cs_jbuf_int(b, t->resp.status);
    else
        cs_jbuf_lit(b, "null");
    wire_key(b, "origin", ev->origin, ev->origin_len);
    if (ev->acr_method) /* a preflight: the method it asks for */
        wire_key(b, "acr_method", ev->acr_method, ev->acr_method_len);
    /* Names of enum values and the fixed warnings are static strings that
     * need no escaping (cs_jbuf_plain); messages, hints and notes quote
     * packet bytes and are escaped. */
    key(b, "kind");
    cs_jbuf_plain(b, ev->kind);
    key(b, "verdict");
    cs_jbuf_plain(b, ev->verdict);
    key(b, "reason");
    cs_jbuf_plain(b, ev->reason);
    struct escaped msg = {0};
    wire_msg(b, ",\"message\":", sizeof(",\"message\":") - 1, ev->message, &msg);
    key(b, "chrome");
    cs_jbuf_plain(b, ev->chrome);
    wire_cstr(b, "hint", ev->hint);
    /* beyond the contract */
    key(b, "end");
    cs_jbuf_plain(b, cs_txn_end_name(t->end));
    key(b, "transport");
    cs_jbuf_plain(b, t->transport);
    if (ev->failure) { /* kind "connection" */
        key(b, "failure");
        cs_jbuf_plain(b, ev->failure);
        cs_jbuf_lit(b, ",\"attempts\":");
        cs_jbuf_u64(b, ev->attempts);
        if (ev->tls_alert) {
            key(b, "tls_alert");
            cs_jbuf_plain(b, ev->tls_alert);
        }
        cs_jbuf_lit(b, ",\"frame_end\":");
        cs_jbuf_u64(b, ev->end_frame);
    }
    if (t->stream) { /* h2 */
        cs_jbuf_lit(b, ",\"stream\":");
        cs_jbuf_u64(b, t->stream);
    }
    if (t->via_connect) /* through a CONNECT tunnel: its target */
        wire_cstr(b, "via_connect", t->via_connect);
    if (t->tls && row) {
        key(b, "tls_version");
        cs_jbuf_plain(b, t->tls->version);
        key(b, "tls_cipher");
        cs_jbuf_plain(b, t->tls->cipher);
        wire_cstr(b, "tls_sni", t->tls->sni);
    } else if (t->tls) {
        key(b, "tls");
        cs_jbuf_lit(b, "{\"version\":");
        cs_jbuf_plain(b, t->tls->version);
        cs_jbuf_lit(b, ",\"cipher\":");
        cs_jbuf_plain(b, t->tls->cipher);
        wire_cstr(b, "sni", t->tls->sni);
        cs_jbuf_c(b, '}');
    }
    if (t->interim_status) {
        cs_jbuf_lit(b, ",\"interim_status\":");
        cs_jbuf_int(b, t->interim_status);
    }
    if (ev->credentials) {
        key(b, "credentials");
        cs_jbuf_plain(b, ev->credentials);
    }
    if (ev->credentials_from) {
        key(b, "credentials_from");
        cs_jbuf_plain(b, ev->credentials_from);
    }
    if (ev->judged_both) {
        key(b, "browsers_disagree");
        boolean(b, ev->browsers_disagree, row);
        browser_view(b, "firefox", &ev->firefox, row, &msg);
        browser_view(b, "chromium", &ev->chromium, row, &msg);
    }
    if (ev->depends_on_credentials) {
        key(b, "depends_on_credentials");
        boolean(b, true, row);
        key(b, "alt_reason");
        cs_jbuf_plain(b, ev->alt_reason);
    }
    if (ev->preflight_frame) {
        cs_jbuf_lit(b, ",\"preflight_frame\":");
        cs_jbuf_u64(b, ev->preflight_frame);
    }
    if (ev->stored_frame) {
        cs_jbuf_lit(b, ",\"stored_frame\":");
        cs_jbuf_u64(b, ev->stored_frame);
    }
    if (ev->note) {
        wire_cstr(b, "note", ev->note);
    }
    if (ev->n_warnings) {
        key(b, "warnings");
        cs_jbuf_c(b, '[');
        for (unsigned i = 0; i < ev->n_warnings; i++) {
            if (i)
                cs_jbuf_c(b, ',');
            cs_jbuf_plain(b, ev->warnings[i]);
        }
        cs_jbuf_c(b, ']');
    }
    cs_jbuf_lit(b, "}\n");
}

/* One event line, built in a stack buffer and written with one fwrite. */
void cs_out_json_event(FILE *out, const struct cs_event *ev)
{
    struct cs_jbuf b;
    cs_jbuf_init(&b, out);
    event_keys(&b, ev, false);
    cs_jbuf_flush(&b);
}

void cs_out_json_event_row(struct cs_jbuf *b, const struct cs_event *ev)
{
    event_keys(b, ev, true);
}

/* The summary's writer: the JSON object (row false), or a flat ClickHouse
 * row (row true): an object's keys get its name as a prefix (caps_hit_flows),
 * an object of counts by name becomes a Nested pair of arrays
 * ("cors_reasons.reason":[...],"cors_reasons.count":[...]), an array of
 * objects a Nested column per key, always all of them (ClickHouse wants
 * the arrays of one Nested equally long). */
struct sw {
    FILE *out;
    bool row;
    bool first;         /* no comma before the next key (first in a JSON object) */
    const char *prefix; /* the open object's name, in a row */
};

static void sw_key(struct sw *w, const char *k)
{
    fputs(w->first ? "\"" : ",\"", w->out);
    w->first = false;
    if (w->prefix)
        fprintf(w->out, "%s_", w->prefix);
    fprintf(w->out, "%s\":", k);
}

static void num(struct sw *w, const char *k, uint64_t v)
{
    sw_key(w, k);
    fprintf(w->out, "%" PRIu64, v);
}

static void sw_open(struct sw *w, const char *k)
{
    if (w->row) {
        w->prefix = k;
        return;
    }
    sw_key(w, k);
    putc('{', w->out);
    w->first = true;
}

static void sw_close(struct sw *w)
{
    if (w->row)
        w->prefix = NULL;
    else
        putc('}', w->out);
    w->first = false;
}

/* Counts by name: {"a":1,"b":2}, or in a row the Nested k.<name_col>,
 * k.<count_col>. */
static void sw_counts(struct sw *w, const char *k, const char *name_col, const char *count_col,
                      const char *const *names, const uint64_t *counts, unsigned n)
{
    if (!w->row) {
        sw_key(w, k);
        putc('{', w->out);
        for (unsigned i = 0; i < n; i++)
            fprintf(w->out, "%s\"%s\":%" PRIu64, i ? "," : "", names[i], counts[i]);
        putc('}', w->out);
        return;
    }
    fprintf(w->out, ",\"%s%s%s.%s\":[", w->prefix ? w->prefix : "", w->prefix ? "_" : "", k, name_col);
    for (unsigned i = 0; i < n; i++)
        fprintf(w->out, "%s\"%s\"", i ? "," : "", names[i]);
    fprintf(w->out, "],\"%s%s%s.%s\":[", w->prefix ? w->prefix : "", w->prefix ? "_" : "", k, count_col);
    for (unsigned i = 0; i < n; i++)
        fprintf(w->out, "%s%" PRIu64, i ? "," : "", counts[i]);
    putc(']', w->out);
}

static void sni_list(struct sw *w, const char *k, const char (*snis)[CS_TLS_STATS_SNI_LEN], unsigned n)
{
    sw_key(w, k);
    putc('[', w->out);
    for (unsigned i = 0; i < n; i++) {
        if (i)
            putc(',', w->out);
        cs_json_cstr(w->out, snis[i]);
    }
    putc(']', w->out);
}

/* TLS decrypted with a key log (only when one was given: runs without it
 * keep their summary line as it was). */
static void tls_summary(struct sw *w, const struct cs_tls_stats *t)
{
    sw_open(w, "tls");
    num(w, "connections", t->connections);
    num(w, "decrypted", t->decrypted);
    num(w, "no_key", t->no_key);
    sni_list(w, "no_key_sni", t->no_key_snis, t->n_no_key_snis);
    num(w, "incomplete", t->incomplete);
    num(w, "failed", t->failed);
    const char *names[CS_TLS_STATS_REASONS];
    uint64_t counts[CS_TLS_STATS_REASONS];
    unsigned n = 0;
    for (; n < CS_TLS_STATS_REASONS && t->failed_by[n].reason; n++) {
        names[n] = t->failed_by[n].reason;
        counts[n] = t->failed_by[n].count;
    }
    sw_counts(w, "failed_by", "reason", "count", names, counts, n);
    num(w, "h2_not_parsed", t->h2_unparsed);
    sni_list(w, "h2_sni", t->h2_snis, t->n_h2_snis);
    num(w, "records_decrypted", t->records_decrypted);
    num(w, "auth_failures", t->auth_failures);
    num(w, "held_dropped_records", t->held_dropped_records);
    num(w, "keylog_lines_read", t->keylog_lines_read);
    num(w, "keylog_lines_used", t->keylog_lines_used);
    num(w, "keylog_lines_ignored", t->keylog_lines_ignored);
    sw_close(w);
}

/* The top blocked endpoints: an array of objects, or in a row the Nested
 * cors_top_blocked_endpoints (endpoint_hex null where the name is valid
 * UTF-8, as JSON leaves the key out there). */
static void endpoints(struct sw *w, const struct cs_summary *s)
{
    FILE *out = w->out;
    if (!w->row) {
        fputs(",\"top_blocked_endpoints\":[", out);
        for (unsigned i = 0; i < s->n_endpoints; i++) {
            const char *e = s->endpoints[i].endpoint;
            fprintf(out, "%s{\"endpoint\":", i ? "," : "");
            if (cs_json_cstr(out, e)) {
                fputs(",\"endpoint_hex\":", out);
                cs_json_hex(out, e, strlen(e));
            }
            fprintf(out, ",\"blocked\":%" PRIu64 "}", s->endpoints[i].blocked);
        }
        putc(']', out);
        return;
    }
    fputs(",\"cors_top_blocked_endpoints.endpoint\":[", out);
    for (unsigned i = 0; i < s->n_endpoints; i++) {
        if (i)
            putc(',', out);
        cs_json_cstr(out, s->endpoints[i].endpoint);
    }
    fputs("],\"cors_top_blocked_endpoints.endpoint_hex\":[", out);
    for (unsigned i = 0; i < s->n_endpoints; i++) {
        const char *e = s->endpoints[i].endpoint;
        if (i)
            putc(',', out);
        if (cs_utf8_valid(e, strlen(e)))
            fputs("null", out);
        else
            cs_json_hex(out, e, strlen(e));
    }
    fputs("],\"cors_top_blocked_endpoints.blocked\":[", out);
    for (unsigned i = 0; i < s->n_endpoints; i++)
        fprintf(out, "%s%" PRIu64, i ? "," : "", s->endpoints[i].blocked);
    putc(']', out);
}

/* The sni array of one protocol; sni_hex goes beside it when any name is
 * not valid UTF-8 (always in a row: [] when none is). */
static void proto_snis(FILE *out, const struct cs_proto_count *pc)
{
    putc('[', out);
    for (unsigned j = 0; j < pc->n_snis; j++) {
        if (j)
            putc(',', out);
        cs_json_cstr(out, pc->snis[j]);
    }
    putc(']', out);
}

static void proto_sni_hex(FILE *out, const struct cs_proto_count *pc)
{
    /* the exact bytes, as for "<key>_hex": null where valid */
    putc('[', out);
    for (unsigned j = 0; j < pc->n_snis; j++) {
        const char *sni = pc->snis[j];
        if (j)
            putc(',', out);
        if (cs_utf8_valid(sni, strlen(sni)))
            fputs("null", out);
        else
            cs_json_hex(out, sni, strlen(sni));
    }
    putc(']', out);
}

static bool proto_snis_valid(const struct cs_proto_count *pc)
{
    for (unsigned j = 0; j < pc->n_snis; j++)
        if (!cs_utf8_valid(pc->snis[j], strlen(pc->snis[j])))
            return false;
    return true;
}

static void not_analyzable(struct sw *w, const struct cs_pipeline_stats *p)
{
    FILE *out = w->out;
    if (!w->row) {
        fputs(",\"not_analyzable\":[", out);
        for (unsigned i = 0; i < p->n_protos; i++) {
            const struct cs_proto_count *pc = &p->protos[i];
            fprintf(out, "%s{\"protocol\":", i ? "," : "");
            cs_json_cstr(out, pc->name);
            fprintf(out, ",\"flows\":%" PRIu64 ",\"sni\":", pc->flows);
            proto_snis(out, pc);
            if (!proto_snis_valid(pc)) {
                fputs(",\"sni_hex\":", out);
                proto_sni_hex(out, pc);
            }
            putc('}', out);
        }
        putc(']', out);
        return;
    }
    fputs(",\"not_analyzable.protocol\":[", out);
    for (unsigned i = 0; i < p->n_protos; i++) {
        if (i)
            putc(',', out);
        cs_json_cstr(out, p->protos[i].name);
    }
    fputs("],\"not_analyzable.flows\":[", out);
    for (unsigned i = 0; i < p->n_protos; i++)
        fprintf(out, "%s%" PRIu64, i ? "," : "", p->protos[i].flows);
    fputs("],\"not_analyzable.sni\":[", out);
    for (unsigned i = 0; i < p->n_protos; i++) {
        if (i)
            putc(',', out);
        proto_snis(out, &p->protos[i]);
    }
    fputs("],\"not_analyzable.sni_hex\":[", out);
    for (unsigned i = 0; i < p->n_protos; i++) {
        if (i)
            putc(',', out);
        if (proto_snis_valid(&p->protos[i]))
            fputs("[]", out);
        else
            proto_sni_hex(out, &p->protos[i]);
    }
    putc(']', out);
}

static void summary_keys(FILE *out, const struct cs_summary *s, bool row)
{
    const struct cs_decode_stats *d = &s->decode;
    const struct cs_flow_stats *fl = &s->flows;
    const struct cs_reasm_stats *r = &s->reasm;
    const struct cs_http_stats *h = &s->http;
    const struct cs_pipeline_stats *p = &s->pipeline;
    struct sw sw = {.out = out, .row = row}, *w = &sw;

    fputs("{\"type\":\"summary\"", out);
    if (s->sensor) {
        fputs(",\"sensor\":", out);
        cs_json_cstr(out, s->sensor);
    }
    num(w, "packets", d->frames);
    num(w, "bytes", d->bytes);
    num(w, "tcp_segments", d->tcp);
    num(w, "truncated_packets", d->truncated);
    num(w, "malformed_packets", d->malformed);
    num(w, "ip_fragments", d->fragments);
    num(w, "non_ip_packets", d->non_ip);
    num(w, "non_tcp_packets", d->non_tcp);
    num(w, "unknown_linktype_packets", d->unknown_linktype);
    /* frames not decoded by kind, only the kinds seen, only when any was:
     * summaries of captures without such frames stay as they were */
    if (cs_decode_skipped_total(d)) {
        const char *names[CS_DECODE_SKIP_KINDS];
        uint64_t counts[CS_DECODE_SKIP_KINDS];
        unsigned n = 0;
        for (int k = 0; k < CS_DECODE_SKIP_KINDS; k++)
            if (d->skipped[k]) {
                names[n] = cs_decode_skip_key((enum cs_decode_skip)k);
                counts[n++] = d->skipped[k];
            }
        sw_counts(w, "not_decoded", "kind", "frames", names, counts, n);
    }
    if (s->live) {
        num(w, "received", s->received);
        num(w, "dropped", s->dropped);
        num(w, "ifdropped", s->ifdropped);
    }
    num(w, "flows", fl->created);
    num(w, "http_flows", p->http_flows);
    num(w, "other_flows", p->other_flows);
    num(w, "empty_flows", p->empty_flows);
    num(w, "connections_refused", p->connections_refused);
    num(w, "connections_unanswered", p->connections_unanswered);
    num(w, "connections_tls_failed", p->connections_tls_failed);
    num(w, "connection_events", s->conn_reported);
    num(w, "connection_events_not_reported", s->conn_not_reported);
    num(w, "reconnects_folded", s->timeline.reconnects_folded);
    num(w, "transactions", s->transactions);
    num(w, "requests", h->requests);
    num(w, "responses", h->responses);
    num(w, "unanswered", h->unanswered);
    num(w, "orphan_responses", h->orphan_responses);
    num(w, "gaps", r->gaps);
    num(w, "gap_bytes", r->gap_bytes);
    num(w, "http_resyncs", h->resyncs);
    num(w, "http_garbage_bytes", h->garbage_bytes);
    num(w, "http_framing_errors", h->framing_errors);
    num(w, "http_bad_header_lines", h->bad_header_lines);
    num(w, "retransmitted_bytes", r->retransmitted_bytes);
    num(w, "overlap_conflicts", r->overlap_conflicts);
    num(w, "upgrades", h->upgrades);
    const struct cs_handover_stats *ho = &s->handover;
    if (ho->connect_tunnels || ho->tunnels_too_deep) { /* only with tunnels */
        num(w, "connect_tunnels", ho->connect_tunnels);
        num(w, "connect_tunnels_parsed", ho->tunnels_parsed);
        num(w, "connect_tunnels_unparsed", ho->tunnels_unparsed);
        num(w, "connect_tunnels_too_deep", ho->tunnels_too_deep);
    }
    if (ho->h2c_upgrades) {
        num(w, "h2c_upgrades", ho->h2c_upgrades);
        num(w, "h2c_upgrades_not_h2", ho->h2c_not_h2);
    }
    if (s->h2.connections) { /* only with h2: HTTP/1 summaries stay as they were */
        num(w, "h2_connections", s->h2.connections);
        num(w, "h2_streams", s->h2.streams);
        num(w, "h2_resets", s->h2.resets);
        num(w, "h2_hpack_failures", s->h2.hpack_failures);
    }

    sw_open(w, "caps_hit");
    num(w, "flows", fl->evicted - fl->evicted_memory);
    num(w, "memory", fl->evicted_memory);
    num(w, "held_per_flow", r->held_cap_per_flow);
    num(w, "held_total", r->held_cap_total);
    num(w, "held_pieces_per_flow", r->held_pieces_cap_per_flow);
    num(w, "held_pieces_total", r->held_pieces_cap_total);
    num(w, "header_bytes", h->header_cap_hits);
    num(w, "header_lines", h->header_lines_cap_hits);
    num(w, "uri", h->uri_cap_hits);
    num(w, "pipeline", h->pipeline_cap_hits);
    num(w, "ip_fragments", d->frag_dropped);
    num(w, "dpi_flows", s->dpi.limit_hits);
    num(w, "protocol_table", p->protos_overflow);
    num(w, "reason_table", s->reasons_dropped);
    num(w, "endpoint_table", s->endpoints_dropped);
    num(w, "pending_preflights", s->timeline.pending_evicted);
    num(w, "preflight_cache", s->timeline.cache_evicted);
    if (s->timeline.held_not_held) /* preflights left undecided: held table or budget full */
        num(w, "held_preflights", s->timeline.held_not_held);
    num(w, "http_clients", s->timeline.http_clients_reset);
    if (s->timeline.cookie_hosts_refused) /* only when hit */
        num(w, "cookie_hosts", s->timeline.cookie_hosts_refused);
    if (s->h2.connections)
        num(w, "h2_streams", s->h2.stream_cap_hits); /* --h2-max-streams */
    sw_close(w);

    sw_open(w, "cors");
    num(w, "relevant", s->cors_relevant);
    num(w, "allowed", s->allowed);
    num(w, "blocked", s->blocked);
    num(w, "warning", s->warnings);
    num(w, "unknown", s->unknown);
    if (s->aborted) /* only when seen */
        num(w, "aborted", s->aborted);
    num(w, "same_origin", s->same_origin);
    num(w, "no_cors", s->no_cors);
    num(w, "browsers_disagree", s->disagreements);
    num(w, "depends_on_credentials", s->depends_on_credentials);
    {
        const char *names[CS_SUMMARY_REASONS_CAPACITY];
        uint64_t counts[CS_SUMMARY_REASONS_CAPACITY];
        unsigned n = 0;
        for (; n < s->n_reasons && n < CS_SUMMARY_REASONS_CAPACITY; n++) {
            names[n] = s->reasons[n].reason;
            counts[n] = s->reasons[n].count;
        }
        sw_counts(w, "reasons", "reason", "count", names, counts, n);
    }
    endpoints(w, s);
    sw_close(w);

    not_analyzable(w, p);
    if (s->tls_keylog)
        tls_summary(w, &s->tls);
    if (s->has_sink) {
        const struct cs_sink_stats *k = &s->sink;
        sw_open(w, "sink");
        num(w, "queued", k->queued);
        num(w, "sent", k->sent);
        num(w, "batches", k->batches);
        num(w, "retries", k->retries);
        num(w, "dropped", k->dropped);
        num(w, "unsent", k->unsent);
        sw_key(w, "last_error");
        if (k->last_error[0])
            cs_json_cstr(out, k->last_error);
        else
            fputs("null", out);
        sw_close(w);
    }
    num(w, "inputs_failed", s->inputs_failed);
    fputs("}\n", out);
}

void cs_out_json_summary(FILE *out, const struct cs_summary *s)
{
    summary_keys(out, s, false);
}

void cs_out_json_summary_row(FILE *out, const struct cs_summary *s)
{
    summary_keys(out, s, true);
}
