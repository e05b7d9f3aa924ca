/* The report stage (see report.h): has each transaction judged (judge.c:
 * the classifier and the timeline), turns the judgement into an event with
 * its sentences (explain.c), keeps the summary counts, and writes text
 * blocks or JSON lines.
 *
 * Text output is one block per flow: a flow's lines are gathered in a
 * per-flow buffer and printed when the flow ends (or when the buffer grows
 * past CS_TEXT_FLUSH_BYTES, so memory stays bounded on endless keep-alive
 * connections).  JSON lines are written as transactions complete. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "corscope/cors.h"
#include "explain.h"
#include "judge.h"
#include "out_json.h"
#include "out_text.h"
#include "report.h"
#include "sink.h"
#include "timeline.h"

#define CS_TEXT_FLUSH_BYTES (64 * 1024)        /* one flow's buffered text */
#define CS_TEXT_BUDGET_BYTES (2 * 1024 * 1024) /* all flows' buffered text */

struct flow_text {
    GString *buf;
    bool header_printed;     /* a part of this block was already printed */
    const char *tls_version; /* "1.3" when the flow was decrypted TLS (static), else NULL */
};

struct cs_report {
    struct cs_report_options opt;
    FILE *out;
    struct cs_summary counts; /* report-level counts (the rest of the summary is the caller's) */
    struct cs_timeline *timeline;
    struct cs_text_style style;
    GHashTable *flow_text;      /* flow id -> struct flow_text (text output) */
    GHashTable *endpoints;      /* "METHOD host/path" -> blocked count */
    uint64_t last_printed_flow; /* flow whose lines were printed last (0: none) */
    size_t text_buffered;       /* bytes held in all flow_text buffers */
    GString *event_text;        /* the event being written (text output) */
    GString *head_text;         /* a block's header line being written */
    bool any_blocked;
    GHashTable *fleet_ids; /* flow id -> struct flow_ids (JSON and sinks only) */
    uint64_t sensor_key;   /* cs_sensor_key of opt.sensor */
};

/* A connection's part of its events' ids, computed at its first event. */
struct flow_ids {
    uint64_t flow;
    char community_id[CS_COMMUNITY_ID_LEN];
    uint8_t event_key[16];
};

static void flow_text_free(gpointer p)
{
    struct flow_text *ft = p;
    g_string_free(ft->buf, TRUE);
    g_free(ft);
}

struct cs_report *cs_report_new(const struct cs_report_options *opt, FILE *out)
{
    struct cs_report *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->opt = *opt;
    r->out = out;
    r->timeline = cs_timeline_new_sized(opt->max_http_clients);
    if (!r->timeline) {
        free(r);
        return NULL;
    }
    r->style.color = opt->color;
    r->style.show_firefox = opt->browser != CS_BROWSER_CHROME;
    r->style.show_chromium = opt->browser != CS_BROWSER_FIREFOX;
    r->flow_text = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, flow_text_free);
    r->endpoints = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    r->fleet_ids = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    r->sensor_key = cs_sensor_key(opt->sensor ? opt->sensor : "");
    r->event_text = g_string_sized_new(1024);
    r->head_text = g_string_sized_new(256);
    return r;
}

void cs_report_free(struct cs_report *r)
{
    if (!r)
        return;
    g_hash_table_destroy(r->flow_text);
    g_hash_table_destroy(r->endpoints);
    g_hash_table_destroy(r->fleet_ids);
    g_string_free(r->event_text, TRUE);
    g_string_free(r->head_text, TRUE);
    cs_timeline_free(r->timeline);
    free(r);
}

static struct flow_text *text_for(struct cs_report *r, const struct cs_flow_key *f)
{
    struct flow_text *ft = g_hash_table_lookup(r->flow_text, &f->id);
    if (!ft) {
        ft = g_new0(struct flow_text, 1);
        ft->buf = g_string_new(NULL);
        gint64 *key = g_new(gint64, 1);
        *key = (gint64)f->id;
        g_hash_table_insert(r->flow_text, key, ft);
    }
    return ft;
}

/* Prints what a flow's block holds so far, then `more` (an event not
 * added to the block, or NULL), under the flow's header line unless the
 * previous lines printed were this flow's (live output). */
static void text_flush_with(struct cs_report *r, const struct cs_flow_key *f, struct flow_text *ft,
                            const GString *more)
{
    if (ft->buf->len == 0 && (!more || more->len == 0))
        return;
    if (r->last_printed_flow != f->id) {
        GString *head = r->head_text;
        g_string_truncate(head, 0);
        if (r->last_printed_flow)
            g_string_append_c(head, '\n');
        cs_out_text_flow_header(head, f, &r->style, ft->header_printed, ft->tls_version);
        fwrite(head->str, 1, head->len, r->out);
    }
    if (ft->buf->len) {
        fwrite(ft->buf->str, 1, ft->buf->len, r->out);
        r->text_buffered -= ft->buf->len;
        /* a new small buffer: truncating would keep the grown allocation */
        g_string_free(ft->buf, TRUE);
        ft->buf = g_string_sized_new(0);
    }
    if (more && more->len)
        fwrite(more->str, 1, more->len, r->out);
    ft->header_printed = true;
    r->last_printed_flow = f->id;
    if (r->opt.live)
        fflush(r->out);
}

static void text_flush(struct cs_report *r, const struct cs_flow_key *f, struct flow_text *ft)
{
    text_flush_with(r, f, ft, NULL);
}

static void count_reason(struct cs_summary *s, const char *reason)
{
    if (!reason)
        return;
    for (unsigned i = 0; i < s->n_reasons; i++)
        if (strcmp(s->reasons[i].reason, reason) == 0) {
            s->reasons[i].count++;
            return;
        }
    if (s->n_reasons < CS_SUMMARY_MAX_REASONS)
        s->reasons[s->n_reasons++] = (struct cs_reason_count){reason, 1};
    else
        s->reasons_dropped++;
}

static void count_endpoint(struct cs_report *r, const corscope_request *rq, const struct cs_event *ev)
{
    size_t ulen = rq->target_len;
    const char *q = memchr(rq->target, '?', ulen);
    if (q)
        ulen = (size_t)(q - rq->target);
    char *key = g_strdup_printf("%.*s %.*s%.*s", (int)(rq->method_len > 16 ? 16 : rq->method_len),
                                rq->method, (int)(ev->host_len > 64 ? 64 : ev->host_len),
                                ev->host ? ev->host : "", (int)(ulen > 96 ? 96 : ulen), rq->target);
    gpointer old = g_hash_table_lookup(r->endpoints, key);
    if (old) {
        g_hash_table_insert(r->endpoints, key, GSIZE_TO_POINTER(GPOINTER_TO_SIZE(old) + 1));
    } else if (g_hash_table_size(r->endpoints) < CS_MAX_ENDPOINTS) {
        g_hash_table_insert(r->endpoints, key, GSIZE_TO_POINTER(1));
    } else {
        r->counts.endpoints_dropped++;
        g_free(key);
    }
}

static const char *cred_name(corscope_cred c)
{
    return c == CORSCOPE_CRED_INCLUDE ? "include" : c == CORSCOPE_CRED_OMIT ? "omit"
                                                                            : "unknown";
}

static void fill_view(struct cs_browser_view *v, const corscope_browser_verdict *b, bool chrome)
{
    v->verdict = corscope_outcome_name(b->verdict);
    v->reason = b->reason;
    v->message = b->message[0] ? b->message : NULL;
    v->error = chrome ? b->chrome : NULL;
}

/* The outcome --browser asks for: one browser's, or the combined one. */
static corscope_outcome selected_outcome(const struct cs_report *r, const corscope_verdict *v)
{
    return r->opt.browser == CS_BROWSER_FIREFOX  ? v->firefox.verdict
           : r->opt.browser == CS_BROWSER_CHROME ? v->chromium.verdict
                                                 : v->verdict;
}

/* Maps the classifier's verdict onto the event per --browser (design.md:
 * `verdict` must never hide a block by either browser under "both"). */
static void fill_event(struct cs_report *r, struct cs_event *ev, const corscope_verdict *v)
{
    const corscope_browser_verdict *ff = &v->firefox, *cr = &v->chromium, *main;
    ev->kind = corscope_kind_name(v->kind);
    ev->credentials = cred_name(v->credentials);
    ev->verdict = corscope_outcome_name(selected_outcome(r, v));
    switch (r->opt.browser) {
    case CS_BROWSER_FIREFOX:
        main = ff;
        ev->chrome = NULL;
        break;
    case CS_BROWSER_CHROME:
        main = cr;
        ev->chrome = cr->chrome;
        break;
    default:
        /* the browser whose outcome is the combined one speaks first */
        main = (ff->verdict == v->verdict || cr->verdict != v->verdict) ? ff : cr;
        ev->chrome = cr->chrome;
        ev->judged_both = v->kind != CORSCOPE_KIND_NO_CORS && v->kind != CORSCOPE_KIND_SAME_ORIGIN;
        ev->browsers_disagree = v->browsers_disagree;
        fill_view(&ev->firefox, ff, false);
        fill_view(&ev->chromium, cr, true);
        break;
    }
    ev->reason = main->reason;
    ev->message = main->message[0] ? main->message : NULL;
    ev->hint = main->hint[0] ? main->hint : NULL;
    if (r->opt.browser == CS_BROWSER_CHROME)
        ev->message = cr->message[0] ? cr->message : NULL;
    ev->depends_on_credentials = r->opt.browser == CS_BROWSER_FIREFOX  ? ff->depends_on_credentials
                                 : r->opt.browser == CS_BROWSER_CHROME ? cr->depends_on_credentials
                                                                       : v->depends_on_credentials;
    if (ev->depends_on_credentials)
        ev->alt_reason = main->depends_on_credentials ? main->cred_alt_reason
                         : ff->depends_on_credentials ? ff->cred_alt_reason
                                                      : cr->cred_alt_reason;
    if (v->lints & CORSCOPE_LINT_REFLECTED_CREDENTIALS)
        ev->warnings[ev->n_warnings++] = "Access-Control-Allow-Origin reflects the Origin together with "
                                         "Access-Control-Allow-Credentials: true: safe only if the server "
                                         "checks Origin against an allow-list";
    if (v->lints & CORSCOPE_LINT_NULL_ORIGIN_ALLOWED)
        ev->warnings[ev->n_warnings++] = "Access-Control-Allow-Origin: null lets any sandboxed iframe or "
                                         "data: page read this response";
    if (v->lints & CORSCOPE_LINT_NO_VARY_ORIGIN)
        ev->warnings[ev->n_warnings++] = "Access-Control-Allow-Origin echoes the Origin without "
                                         "Vary: Origin: a shared cache may serve it to another origin";
}

static void count_verdict(struct cs_report *r, const corscope_verdict *v, struct cs_event *ev,
                          const corscope_request *rq)
{
    struct cs_summary *s = &r->counts;
    switch (v->kind) {
    case CORSCOPE_KIND_NO_CORS: s->no_cors++; return;
    case CORSCOPE_KIND_SAME_ORIGIN: s->same_origin++; return;
    default: break;
    }
    s->cors_relevant++;
    if (v->browsers_disagree && r->opt.browser == CS_BROWSER_BOTH)
        s->disagreements++;
    if (ev->depends_on_credentials)
        s->depends_on_credentials++;
    switch (selected_outcome(r, v)) {
    case CORSCOPE_BLOCKED:
        s->blocked++;
        count_reason(s, ev->reason ? ev->reason : ev->chrome);
        count_endpoint(r, rq, ev);
        r->any_blocked = true;
        break;
    case CORSCOPE_WARNING:
        s->warnings++;
        count_reason(s, r->opt.browser == CS_BROWSER_CHROME ? NULL : v->firefox.console_key);
        break;
    case CORSCOPE_UNKNOWN:
        s->unknown++;
        break;
    default:
        s->allowed++;
        break;
    }
}

/* The ids that let a store merge many sensors' events.  The hashes run
 * once per connection (kept until its end); each event adds only a cheap
 * mix of its stream and position (fleet_ids.h). */
static void fill_fleet_ids(struct cs_report *r, const struct cs_flow_key *f, struct cs_event *ev)
{
    ev->sensor = r->opt.sensor ? r->opt.sensor : "";
    struct flow_ids *ids = g_hash_table_lookup(r->fleet_ids, &f->id);
    if (!ids) {
        ids = g_new(struct flow_ids, 1);
        ids->flow = f->id;
        cs_flow_ids(f, r->sensor_key, ids->community_id, ids->event_key);
        g_hash_table_insert(r->fleet_ids, &ids->flow, ids);
    }
    memcpy(ev->community_id, ids->community_id, sizeof ids->community_id);
    cs_event_id(ids->event_key, ev->txn->stream, ev->txn->index, ev->event_id);
}

static void emit(struct cs_report *r, const struct cs_flow_key *f, struct cs_event *ev)
{
    if (r->opt.format == CS_FORMAT_JSON || r->opt.sink)
        fill_fleet_ids(r, f, ev);
    if (r->opt.sink)
        cs_sink_event(r->opt.sink, ev);
    if (r->opt.format == CS_FORMAT_JSON) {
        cs_out_json_event(r->out, ev);
        if (r->opt.live)
            fflush(r->out);
        return;
    }
    struct flow_text *ft = text_for(r, f);
    if (ev->txn->tls)
        ft->tls_version = ev->txn->tls->version;
    GString *text = r->event_text;
    g_string_truncate(text, 0);
    cs_out_text_event(text, ev, &r->style);
    /* A block is printed whole when its flow ends, unless holding it would
     * cost too much memory: then what it has so far goes out now, this
     * event with it, and the rest follows under a "(continued)" header. */
    if (r->opt.live || ft->buf->len + text->len > CS_TEXT_FLUSH_BYTES ||
        r->text_buffered + text->len > CS_TEXT_BUDGET_BYTES) {
        text_flush_with(r, f, ft, text);
        return;
    }
    g_string_append_len(ft->buf, text->str, (gssize)text->len);
    r->text_buffered += text->len;
}

void cs_report_txn(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t)
{
    struct cs_report *r = ctx;
    const corscope_request *rq = &t->req;
    struct cs_event ev = {.flow = f, .txn = t};
    const corscope_header *h = corscope_header_find(rq->headers, rq->n_headers, "Host");
    if (h) {
        ev.host = h->value;
        ev.host_len = h->value_len;
    }
    h = corscope_header_find(rq->headers, rq->n_headers, "Origin");
    if (h) {
        ev.origin = h->value;
        ev.origin_len = h->value_len;
    }
    h = corscope_header_find(rq->headers, rq->n_headers, "Access-Control-Request-Method");
    if (h) {
        ev.acr_method = h->value;
        ev.acr_method_len = h->value_len;
    }
    r->counts.transactions++;
    if (rq->method)
        cs_timeline_http_client(r->timeline, f);
    if (!rq->method || (t->req_flags & CS_TXN_NO_HEADERS)) { /* HTTP/0.9: nothing to judge */
        if (r->opt.all)
            emit(r, f, &ev);
        return;
    }

    struct cs_judgement j;
    cs_judge(r->timeline, f, t, ev.origin, ev.origin_len, &j);
    if (j.retry)
        return; /* an automatic retry of the failure just reported */
    bool cors = j.cors;
    const corscope_verdict *vp = &j.v;
    char note[CS_TL_NOTE_MAX + CORSCOPE_NOTE_MAX + 4];
    fill_event(r, &ev, vp);
    ev.preflight_frame = j.facts.preflight_frame;
    cs_explain(&j, note, sizeof note);
    ev.note = note[0] ? note : NULL;
    count_verdict(r, vp, &ev, rq);

    if (!r->opt.all && !cors)
        return;
    emit(r, f, &ev);
}

static void flow_end_text(struct cs_report *r, const struct cs_flow_key *f, enum cs_flow_end why,
                          const struct cs_flow_info *info);

/* A connection that never carried a request (refused, SYNs unanswered, TLS
 * handshake failed): one event of kind "connection", when its client is a
 * browser's (it spoke HTTP to another origin) or with --all; the browser's
 * automatic reconnects fold into the first. */
static void conn_event(struct cs_report *r, const struct cs_flow_key *f, const struct cs_flow_info *info)
{
    struct cs_summary *c = &r->counts;
    struct cs_tl_conn_facts facts;
    cs_time_ns window = info->failure == CS_CONN_TIMED_OUT
                            ? (cs_time_ns)(r->opt.syn_timeout_s ? r->opt.syn_timeout_s : CS_DEFAULT_SYN_TIMEOUT_S) * 1000000000
                            : 0;
    cs_timeline_conn_failed(r->timeline, f, info->failure, window, &facts);
    if (facts.retry)
        return;
    if (!facts.browser && !r->opt.all) {
        c->conn_not_reported++;
        return;
    }
    c->conn_reported++;
    struct cs_conn_judgement j;
    cs_judge_conn(info->failure, info->tls_alert, &j);
    char hint[320], note[320];
    cs_explain_conn(&j, f, info->syns, facts.browser, hint, sizeof hint, note, sizeof note);
    struct cs_txn t = {
        .transport = j.transport,
        .end = info->failure == CS_CONN_TIMED_OUT                                       ? CS_TXN_UNANSWERED
               : info->failure == CS_CONN_REFUSED || info->failure == CS_CONN_TLS_RESET ? CS_TXN_RESET
                                                                                        : CS_TXN_CLOSED,
        .req_frame = f->first_frame,
        .req_ts = f->first_ts,
        .end_frame = info->fail_frame,
        .end_ts = info->fail_ts,
    };
    struct cs_event ev = {
        .flow = f,
        .txn = &t,
        .kind = "connection",
        .verdict = "blocked",
        .reason = j.firefox,
        .chrome = j.chromium,
        .hint = hint,
        .note = note,
        .failure = j.failure,
        .attempts = info->syns,
        .tls_alert = j.tls_alert,
        .end_frame = info->fail_frame,
    };
    switch (r->opt.browser) {
    case CS_BROWSER_FIREFOX: ev.chrome = NULL; break;
    case CS_BROWSER_CHROME: ev.reason = NULL; break;
    default:
        ev.judged_both = true;
        ev.firefox = (struct cs_browser_view){.verdict = "blocked", .reason = j.firefox};
        ev.chromium = (struct cs_browser_view){.verdict = "blocked", .error = j.chromium};
        break;
    }
    emit(r, f, &ev);
}

void cs_report_flow_end(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                        const struct cs_flow_info *info)
{
    struct cs_report *r = ctx;
    if (info->failure != CS_CONN_OK)
        conn_event(r, f, info);
    flow_end_text(r, f, why, info);
    /* after anything this flow's end may still emit */
    g_hash_table_remove(r->fleet_ids, &f->id);
}

static void flow_end_text(struct cs_report *r, const struct cs_flow_key *f, enum cs_flow_end why,
                          const struct cs_flow_info *info)
{
    if (r->opt.format != CS_FORMAT_TEXT) {
        g_hash_table_remove(r->flow_text, &f->id);
        return;
    }
    struct flow_text *ft = g_hash_table_lookup(r->flow_text, &f->id);
    size_t held = ft ? ft->buf->len : 0; /* already counted in text_buffered */
    if (r->opt.all && !info->parsed && info->had_data) {
        ft = text_for(r, f);
        char line[200];
        snprintf(line, sizeof(line), "%s%s%s%s, not analyzable", info->proto,
                 info->sni[0] ? " (SNI " : "", info->sni, info->sni[0] ? ")" : "");
        cs_out_text_flow_note(ft->buf, f, f->first_ts, line, &r->style);
    }
    if (ft) {
        if (ft->buf->len && info->failure == CS_CONN_OK && (why == CS_FLOW_END_RESET || why == CS_FLOW_END_IDLE || why == CS_FLOW_END_EVICTED))
            cs_out_text_flow_note(ft->buf, f, f->last_ts,
                                  why == CS_FLOW_END_RESET ? "connection reset" : why == CS_FLOW_END_IDLE ? "connection idle: expired"
                                                                                                          : "connection dropped: flow limit reached",
                                  &r->style);
        r->text_buffered += ft->buf->len - held;
        text_flush(r, f, ft);
        g_hash_table_remove(r->flow_text, &f->id);
    }
}

static gint by_count_desc(gconstpointer a, gconstpointer b)
{
    const struct cs_endpoint_count *x = a, *y = b;
    if (x->blocked != y->blocked)
        return x->blocked < y->blocked ? 1 : -1;
    return strcmp(x->endpoint, y->endpoint);
}

void cs_report_finish(struct cs_report *r, struct cs_summary *s)
{
    /* the report's part of the summary; the stages' and main's are the caller's */
    const struct cs_summary *c = &r->counts;
    s->timeline = *cs_timeline_stats(r->timeline);
    s->transactions = c->transactions;
    s->cors_relevant = c->cors_relevant;
    s->allowed = c->allowed;
    s->blocked = c->blocked;
    s->warnings = c->warnings;
    s->unknown = c->unknown;
    s->same_origin = c->same_origin;
    s->no_cors = c->no_cors;
    s->disagreements = c->disagreements;
    s->depends_on_credentials = c->depends_on_credentials;
    s->n_reasons = c->n_reasons;
    memcpy(s->reasons, c->reasons, sizeof s->reasons);
    s->reasons_dropped = c->reasons_dropped;
    s->n_endpoints = 0;
    s->endpoints_dropped = c->endpoints_dropped;
    s->conn_reported = c->conn_reported;
    s->conn_not_reported = c->conn_not_reported;

    /* top blocked endpoints */
    GArray *all = g_array_new(FALSE, FALSE, sizeof(struct cs_endpoint_count));
    GHashTableIter it;
    gpointer k, val;
    g_hash_table_iter_init(&it, r->endpoints);
    while (g_hash_table_iter_next(&it, &k, &val)) {
        struct cs_endpoint_count e = {.blocked = GPOINTER_TO_SIZE(val)};
        snprintf(e.endpoint, sizeof(e.endpoint), "%s", (const char *)k);
        g_array_append_val(all, e);
    }
    g_array_sort(all, by_count_desc);
    for (guint i = 0; i < all->len && i < CS_SUMMARY_TOP_ENDPOINTS; i++)
        s->endpoints[s->n_endpoints++] = g_array_index(all, struct cs_endpoint_count, i);
    g_array_free(all, TRUE);

    /* Every event is queued by now: the sink sends the rest (within its
     * exit timeout) before the summary says how many arrived. */
    s->sensor = r->opt.sensor;
    if (r->opt.sink) {
        cs_sink_finish(r->opt.sink, &s->sink);
        s->has_sink = true;
    }

    if (r->opt.format == CS_FORMAT_JSON) {
        cs_out_json_summary(r->out, s);
    } else {
        if (r->last_printed_flow)
            fputc('\n', r->out);
        cs_out_text_summary(r->out, s, &r->style);
    }
}

bool cs_report_any_blocked(const struct cs_report *r)
{
    return r->any_blocked;
}
