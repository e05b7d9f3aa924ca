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

/* The address in quotes (cs_addr_format: IPv4 by hand, IPv6 by inet_ntop). */
static void addr(struct cs_jbuf *b, const struct cs_addr *a)
{
    char buf[64];
    cs_addr_format(a, buf, sizeof(buf));
    cs_jbuf_c(b, '"');
    cs_jbuf_put(b, buf, strlen(buf));
    cs_jbuf_c(b, '"');
}

const char *cs_txn_end_name(enum cs_txn_end e)
{
    switch (e) {
    case CS_TXN_ANSWERED: return "answered";
    case CS_TXN_CLOSED: return "closed";
    case CS_TXN_RESET: return "reset";
    case CS_TXN_STREAM_RESET: return "stream-reset";
    case CS_TXN_GAP: return "lost-in-gap";
    case CS_TXN_UNANSWERED: return "unanswered";
    case CS_TXN_EVICTED: return "evicted";
    }
    return "unknown";
}

static void browser_view(struct cs_jbuf *b, const char *name, const struct cs_browser_view *v)
{
    cs_jbuf_lit(b, ",\"");
    cs_jbuf_put(b, name, strlen(name));
    cs_jbuf_lit(b, "\":{\"verdict\":");
    cs_jbuf_plain(b, v->verdict);
    cs_jbuf_lit(b, ",\"reason\":");
    cs_jbuf_plain(b, v->reason);
    wire_cstr(b, "message", v->message);
    if (v->error) {
        cs_jbuf_lit(b, ",\"error\":");
        cs_jbuf_plain(b, v->error);
    }
    cs_jbuf_c(b, '}');
}

/* One event line, built in a stack buffer and written with one fwrite. */
void cs_out_json_event(FILE *out, const struct cs_event *ev)
{
    const struct cs_flow_key *f = ev->flow;
    const struct cs_txn *t = ev->txn;
    const corscope_request *rq = &t->req;
    bool rs = t->has_resp;
    struct cs_jbuf jb, *b = &jb;
    cs_jbuf_init(b, out);

    cs_jbuf_lit(b, "{\"type\":\"http\"");
    wire_cstr(b, "sensor", ev->sensor);
    key(b, "event_id");
    cs_jbuf_plain(b, ev->event_id);
    cs_jbuf_lit(b, ",\"ts\":");
    cs_jbuf_time(b, t->req_ts);
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
    wire_cstr(b, "message", ev->message);
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
    if (t->tls) {
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
        if (ev->browsers_disagree)
            cs_jbuf_lit(b, ",\"browsers_disagree\":true");
        else
            cs_jbuf_lit(b, ",\"browsers_disagree\":false");
        browser_view(b, "firefox", &ev->firefox);
        browser_view(b, "chromium", &ev->chromium);
    }
    if (ev->depends_on_credentials) {
        cs_jbuf_lit(b, ",\"depends_on_credentials\":true");
        key(b, "alt_reason");
        cs_jbuf_plain(b, ev->alt_reason);
    }
    if (ev->preflight_frame) {
        cs_jbuf_lit(b, ",\"preflight_frame\":");
        cs_jbuf_u64(b, ev->preflight_frame);
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
    cs_jbuf_flush(b);
}

static void num(FILE *out, const char *k, uint64_t v)
{
    fprintf(out, ",\"%s\":%" PRIu64, k, v);
}

static void sni_list(FILE *out, const char *k, const char (*snis)[CS_TLS_STATS_SNI_LEN], unsigned n)
{
    fprintf(out, ",\"%s\":[", k);
    for (unsigned i = 0; i < n; i++) {
        if (i)
            putc(',', out);
        cs_json_cstr(out, snis[i]);
    }
    putc(']', out);
}

/* TLS decrypted with a key log (only when one was given: runs without it
 * keep their summary line as it was). */
static void tls_summary(FILE *out, const struct cs_tls_stats *t)
{
    fprintf(out, ",\"tls\":{\"connections\":%" PRIu64, t->connections);
    num(out, "decrypted", t->decrypted);
    num(out, "no_key", t->no_key);
    sni_list(out, "no_key_sni", t->no_key_snis, t->n_no_key_snis);
    num(out, "incomplete", t->incomplete);
    num(out, "failed", t->failed);
    fputs(",\"failed_by\":{", out);
    for (unsigned i = 0; i < CS_TLS_STATS_REASONS && t->failed_by[i].reason; i++)
        fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "", t->failed_by[i].reason, t->failed_by[i].count);
    putc('}', out);
    num(out, "h2_not_parsed", t->h2_unparsed);
    sni_list(out, "h2_sni", t->h2_snis, t->n_h2_snis);
    num(out, "records_decrypted", t->records_decrypted);
    num(out, "auth_failures", t->auth_failures);
    num(out, "held_dropped_records", t->held_dropped_records);
    num(out, "keylog_lines_read", t->keylog_lines_read);
    num(out, "keylog_lines_used", t->keylog_lines_used);
    num(out, "keylog_lines_ignored", t->keylog_lines_ignored);
    putc('}', out);
}

void cs_out_json_summary(FILE *out, const struct cs_summary *s)
{
    const struct cs_decode_stats *d = &s->decode;
    const struct cs_flow_stats *fl = &s->flows;
    const struct cs_reasm_stats *r = &s->reasm;
    const struct cs_http_stats *h = &s->http;
    const struct cs_pipeline_stats *p = &s->pipeline;

    fputs("{\"type\":\"summary\"", out);
    if (s->sensor) {
        fputs(",\"sensor\":", out);
        cs_json_cstr(out, s->sensor);
    }
    num(out, "packets", d->frames);
    num(out, "bytes", d->bytes);
    num(out, "tcp_segments", d->tcp);
    num(out, "truncated_packets", d->truncated);
    num(out, "malformed_packets", d->malformed);
    num(out, "ip_fragments", d->fragments);
    num(out, "non_ip_packets", d->non_ip);
    num(out, "non_tcp_packets", d->non_tcp);
    num(out, "unknown_linktype_packets", d->unknown_linktype);
    /* frames not decoded by kind, only the kinds seen, only when any was:
     * summaries of captures without such frames stay as they were */
    if (cs_decode_skipped_total(d)) {
        fputs(",\"not_decoded\":{", out);
        bool first = true;
        for (int k = 0; k < CS_DECODE_SKIP_KINDS; k++)
            if (d->skipped[k]) {
                fprintf(out, "%s\"%s\":%" PRIu64, first ? "" : ",",
                        cs_decode_skip_key((enum cs_decode_skip)k), d->skipped[k]);
                first = false;
            }
        putc('}', out);
    }
    if (s->live) {
        num(out, "received", s->received);
        num(out, "dropped", s->dropped);
        num(out, "ifdropped", s->ifdropped);
    }
    num(out, "flows", fl->created);
    num(out, "http_flows", p->http_flows);
    num(out, "other_flows", p->other_flows);
    num(out, "empty_flows", p->empty_flows);
    num(out, "connections_refused", p->connections_refused);
    num(out, "connections_unanswered", p->connections_unanswered);
    num(out, "connections_tls_failed", p->connections_tls_failed);
    num(out, "connection_events", s->conn_reported);
    num(out, "connection_events_not_reported", s->conn_not_reported);
    num(out, "reconnects_folded", s->timeline.reconnects_folded);
    num(out, "transactions", s->transactions);
    num(out, "requests", h->requests);
    num(out, "responses", h->responses);
    num(out, "unanswered", h->unanswered);
    num(out, "orphan_responses", h->orphan_responses);
    num(out, "gaps", r->gaps);
    num(out, "gap_bytes", r->gap_bytes);
    num(out, "http_resyncs", h->resyncs);
    num(out, "http_garbage_bytes", h->garbage_bytes);
    num(out, "http_framing_errors", h->framing_errors);
    num(out, "http_bad_header_lines", h->bad_header_lines);
    num(out, "retransmitted_bytes", r->retransmitted_bytes);
    num(out, "overlap_conflicts", r->overlap_conflicts);
    num(out, "upgrades", h->upgrades);
    const struct cs_handover_stats *ho = &s->handover;
    if (ho->connect_tunnels || ho->tunnels_too_deep) { /* only with tunnels */
        num(out, "connect_tunnels", ho->connect_tunnels);
        num(out, "connect_tunnels_parsed", ho->tunnels_parsed);
        num(out, "connect_tunnels_unparsed", ho->tunnels_unparsed);
        num(out, "connect_tunnels_too_deep", ho->tunnels_too_deep);
    }
    if (ho->h2c_upgrades) {
        num(out, "h2c_upgrades", ho->h2c_upgrades);
        num(out, "h2c_upgrades_not_h2", ho->h2c_not_h2);
    }
    if (s->h2.connections) { /* only with h2: HTTP/1 summaries stay as they were */
        num(out, "h2_connections", s->h2.connections);
        num(out, "h2_streams", s->h2.streams);
        num(out, "h2_resets", s->h2.resets);
        num(out, "h2_hpack_failures", s->h2.hpack_failures);
    }

    fputs(",\"caps_hit\":{", out);
    fprintf(out, "\"flows\":%" PRIu64, fl->evicted - fl->evicted_memory);
    num(out, "memory", fl->evicted_memory);
    num(out, "held_per_flow", r->held_cap_per_flow);
    num(out, "held_total", r->held_cap_total);
    num(out, "held_pieces_per_flow", r->held_pieces_cap_per_flow);
    num(out, "held_pieces_total", r->held_pieces_cap_total);
    num(out, "header_bytes", h->header_cap_hits);
    num(out, "header_lines", h->header_lines_cap_hits);
    num(out, "uri", h->uri_cap_hits);
    num(out, "pipeline", h->pipeline_cap_hits);
    num(out, "ip_fragments", d->frag_dropped);
    num(out, "dpi_flows", s->dpi.limit_hits);
    num(out, "protocol_table", p->protos_overflow);
    num(out, "reason_table", s->reasons_dropped);
    num(out, "endpoint_table", s->endpoints_dropped);
    num(out, "pending_preflights", s->timeline.pending_evicted);
    num(out, "preflight_cache", s->timeline.cache_evicted);
    if (s->timeline.held_not_held) /* preflights left undecided: held table or budget full */
        num(out, "held_preflights", s->timeline.held_not_held);
    num(out, "http_clients", s->timeline.http_clients_reset);
    if (s->h2.connections)
        num(out, "h2_streams", s->h2.stream_cap_hits); /* --h2-max-streams */
    putc('}', out);

    fputs(",\"cors\":{", out);
    fprintf(out, "\"relevant\":%" PRIu64, s->cors_relevant);
    num(out, "allowed", s->allowed);
    num(out, "blocked", s->blocked);
    num(out, "warning", s->warnings);
    num(out, "unknown", s->unknown);
    num(out, "same_origin", s->same_origin);
    num(out, "no_cors", s->no_cors);
    num(out, "browsers_disagree", s->disagreements);
    num(out, "depends_on_credentials", s->depends_on_credentials);
    fputs(",\"reasons\":{", out);
    for (unsigned i = 0; i < s->n_reasons; i++)
        fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "", s->reasons[i].reason, s->reasons[i].count);
    fputs("},\"top_blocked_endpoints\":[", out);
    for (unsigned i = 0; i < s->n_endpoints; i++) {
        const char *e = s->endpoints[i].endpoint;
        fprintf(out, "%s{\"endpoint\":", i ? "," : "");
        if (cs_json_cstr(out, e)) {
            fputs(",\"endpoint_hex\":", out);
            cs_json_hex(out, e, strlen(e));
        }
        fprintf(out, ",\"blocked\":%" PRIu64 "}", s->endpoints[i].blocked);
    }
    fputs("]}", out);

    fputs(",\"not_analyzable\":[", out);
    for (unsigned i = 0; i < p->n_protos; i++) {
        const struct cs_proto_count *pc = &p->protos[i];
        fprintf(out, "%s{\"protocol\":", i ? "," : "");
        cs_json_cstr(out, pc->name);
        fprintf(out, ",\"flows\":%" PRIu64 ",\"sni\":[", pc->flows);
        bool invalid = false;
        for (unsigned j = 0; j < pc->n_snis; j++) {
            if (j)
                putc(',', out);
            invalid |= cs_json_cstr(out, pc->snis[j]);
        }
        putc(']', out);
        if (invalid) {
            /* the exact bytes, as for "<key>_hex": null where valid */
            fputs(",\"sni_hex\":[", out);
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
        putc('}', out);
    }
    putc(']', out);
    if (s->tls_keylog)
        tls_summary(out, &s->tls);
    if (s->has_sink) {
        const struct cs_sink_stats *k = &s->sink;
        fprintf(out, ",\"sink\":{\"queued\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"batches\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"unsent\":%" PRIu64 ",\"last_error\":",
                k->queued, k->sent, k->batches, k->retries, k->dropped, k->unsent);
        if (k->last_error[0])
            cs_json_cstr(out, k->last_error);
        else
            fputs("null", out);
        putc('}', out);
    }
    num(out, "inputs_failed", s->inputs_failed);
    fputs("}\n", out);
}
