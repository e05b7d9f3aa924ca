#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "out_json.h"

static void key(FILE *out, const char *k)
{
    fprintf(out, ",\"%s\":", k);
}

static void str_or_null(FILE *out, const char *s, size_t len)
{
    if (s)
        cs_json_string(out, s, len);
    else
        fputs("null", out);
}

static void addr(FILE *out, const struct cs_addr *a)
{
    char buf[64];
    fprintf(out, "\"%s\"", cs_addr_format(a, buf, sizeof(buf)));
}

static const char *txn_end_name(enum cs_txn_end e)
{
    switch (e) {
    case CS_TXN_ANSWERED: return "answered";
    case CS_TXN_CLOSED: return "closed";
    case CS_TXN_RESET: return "reset";
    case CS_TXN_GAP: return "lost-in-gap";
    case CS_TXN_UNANSWERED: return "unanswered";
    case CS_TXN_EVICTED: return "evicted";
    }
    return "unknown";
}

static void browser_view(FILE *out, const char *name, const struct cs_browser_view *v)
{
    key(out, name);
    fputs("{\"verdict\":", out);
    cs_json_cstr(out, v->verdict);
    fputs(",\"reason\":", out);
    cs_json_cstr(out, v->reason);
    fputs(",\"message\":", out);
    cs_json_cstr(out, v->message);
    if (v->error) {
        fputs(",\"error\":", out);
        cs_json_cstr(out, v->error);
    }
    putc('}', out);
}

void cs_out_json_event(FILE *out, const struct cs_event *ev)
{
    const struct cs_flow *f = ev->flow;
    const struct cs_http_txn *t = ev->txn;
    const struct cs_http_msg *rq = t->req, *rs = t->resp;

    fputs("{\"type\":\"http\",\"ts\":", out);
    cs_json_time(out, rq->ts);
    fprintf(out, ",\"flow\":%" PRIu64, f->id);
    key(out, "src"); addr(out, &f->client);
    fprintf(out, ",\"sport\":%u", f->client_port);
    key(out, "dst"); addr(out, &f->server);
    fprintf(out, ",\"dport\":%u", f->server_port);
    fprintf(out, ",\"frame_req\":%" PRIu64, rq->frame);
    key(out, "frame_resp");
    if (rs) fprintf(out, "%" PRIu64, rs->frame); else fputs("null", out);
    key(out, "method"); str_or_null(out, rq->method, rq->method_len);
    key(out, "host"); str_or_null(out, ev->host, ev->host_len);
    key(out, "uri"); str_or_null(out, rq->uri, rq->uri_len);
    key(out, "status");
    if (rs) fprintf(out, "%d", rs->status); else fputs("null", out);
    key(out, "origin"); str_or_null(out, ev->origin, ev->origin_len);
    key(out, "kind"); cs_json_cstr(out, ev->kind);
    key(out, "verdict"); cs_json_cstr(out, ev->verdict);
    key(out, "reason"); cs_json_cstr(out, ev->reason);
    key(out, "message"); cs_json_cstr(out, ev->message);
    key(out, "chrome"); cs_json_cstr(out, ev->chrome);
    key(out, "hint"); cs_json_cstr(out, ev->hint);
    /* beyond the contract */
    key(out, "end"); cs_json_cstr(out, txn_end_name(t->end));
    if (t->interim_status)
        fprintf(out, ",\"interim_status\":%d", t->interim_status);
    if (ev->credentials) {
        key(out, "credentials"); cs_json_cstr(out, ev->credentials);
    }
    if (ev->judged_both) {
        fprintf(out, ",\"browsers_disagree\":%s", ev->browsers_disagree ? "true" : "false");
        browser_view(out, "firefox", &ev->firefox);
        browser_view(out, "chromium", &ev->chromium);
    }
    if (ev->depends_on_credentials) {
        fputs(",\"depends_on_credentials\":true", out);
        key(out, "alt_reason"); cs_json_cstr(out, ev->alt_reason);
    }
    if (ev->preflight_frame)
        fprintf(out, ",\"preflight_frame\":%" PRIu64, ev->preflight_frame);
    if (ev->note) {
        key(out, "note"); cs_json_cstr(out, ev->note);
    }
    if (ev->n_warnings) {
        key(out, "warnings");
        putc('[', out);
        for (unsigned i = 0; i < ev->n_warnings; i++) {
            if (i) putc(',', out);
            cs_json_cstr(out, ev->warnings[i]);
        }
        putc(']', out);
    }
    fputs("}\n", out);
}

static void num(FILE *out, const char *k, uint64_t v)
{
    fprintf(out, ",\"%s\":%" PRIu64, k, v);
}

void cs_out_json_summary(FILE *out, const struct cs_summary *s)
{
    const struct cs_decode_stats *d = cs_pipeline_decode_stats(s->pipeline);
    const struct cs_flow_stats *fl = cs_pipeline_flow_stats(s->pipeline);
    const struct cs_reasm_stats *r = cs_pipeline_reasm_stats(s->pipeline);
    const struct cs_http_stats *h = cs_pipeline_http_stats(s->pipeline);
    const struct cs_pipeline_stats *p = cs_pipeline_stats(s->pipeline);

    fputs("{\"type\":\"summary\"", out);
    num(out, "packets", d->frames);
    num(out, "bytes", d->bytes);
    num(out, "tcp_segments", d->tcp);
    num(out, "truncated_packets", d->truncated);
    num(out, "malformed_packets", d->malformed);
    num(out, "ip_fragments", d->fragments);
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
    num(out, "transactions", s->transactions);
    num(out, "requests", h->requests);
    num(out, "responses", h->responses);
    num(out, "unanswered", h->unanswered);
    num(out, "orphan_responses", h->orphan_responses);
    num(out, "gaps", r->gaps);
    num(out, "gap_bytes", r->gap_bytes);
    num(out, "http_resyncs", h->resyncs);
    num(out, "http_garbage_bytes", h->garbage_bytes);
    num(out, "retransmitted_bytes", r->retransmitted_bytes);
    num(out, "overlap_conflicts", r->overlap_conflicts);
    num(out, "upgrades", h->upgrades);

    fputs(",\"caps_hit\":{", out);
    fprintf(out, "\"flows\":%" PRIu64, fl->evicted);
    num(out, "held_per_flow", r->held_cap_per_flow);
    num(out, "held_total", r->held_cap_total);
    num(out, "header_bytes", h->header_cap_hits);
    num(out, "header_lines", h->header_lines_cap_hits);
    num(out, "uri", h->uri_cap_hits);
    num(out, "pipeline", h->pipeline_cap_hits);
    num(out, "ip_fragments", d->frag_dropped);
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
        fprintf(out, "%s{\"endpoint\":", i ? "," : "");
        cs_json_cstr(out, s->endpoints[i].endpoint);
        fprintf(out, ",\"blocked\":%" PRIu64 "}", s->endpoints[i].blocked);
    }
    fputs("]}", out);

    fputs(",\"not_analyzable\":[", out);
    for (unsigned i = 0; i < p->n_protos; i++) {
        const struct cs_proto_count *pc = &p->protos[i];
        fprintf(out, "%s{\"protocol\":", i ? "," : "");
        cs_json_cstr(out, pc->name);
        fprintf(out, ",\"flows\":%" PRIu64 ",\"sni\":[", pc->flows);
        for (unsigned j = 0; j < pc->n_snis; j++) {
            if (j) putc(',', out);
            cs_json_cstr(out, pc->snis[j]);
        }
        fputs("]}", out);
    }
    putc(']', out);
    num(out, "inputs_failed", s->inputs_failed);
    fputs("}\n", out);
}
