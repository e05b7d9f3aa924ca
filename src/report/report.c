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
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "copy_small.h"
#include "corscope/cors.h"
#include "explain.h"
#include "judge.h"
#include "limits.h"
#include "out_json.h"
#include "out_text.h"
#include "report.h"
#include "sink.h"
#include "timeline.h"

#define CS_TEXT_FLUSH_BYTES (64 * 1024) /* one flow's buffered text */
/* All flows' buffered text, counted as the heap it takes (each buffer's
 * allocation and its GString, not the length of its text: GLib rounds an
 * allocation up to a power of two).  Counted by length, a 2 MB budget held
 * ~3 MB, and -o text on the h2-tls bench capture (7,500 keep-alive
 * connections) peaked at 36.5 MB, 4.5 MB above -o json; now 32.5 MB, 0.7
 * above (1 MiB here: 33.1).  Past the budget a flow's lines print as they
 * come, under "(continued)" headers; a capture of a few dozen connections
 * (a developer's) never gets there: a block prints early at 64 KiB anyway. */
#define CS_TEXT_BUDGET_BYTES (512 * 1024)
/* Files: connections that ended while an earlier-started one is still
 * open, remembered to print the blocks in order of first packet; past
 * this many (or the text budget) they are printed as they are. */
#define CS_TEXT_MAX_WAITING 65536

/* A flow's text block while it is gathered; one per flow with events.
 * buf is NULL while nothing is held: thousands of open connections whose
 * lines were printed (or that have none yet) keep only this struct, 24
 * bytes (a 32-byte chunk: 32 bytes would take 48). */
struct flow_text {
    GString *buf;
    const char *tls_version; /* "1.3" when the flow was decrypted TLS (static), else NULL */
    uint32_t gen;            /* times buf was printed (held events' places refer to one) */
    bool header_printed;     /* a part of this block was already printed */
};
_Static_assert(sizeof(struct flow_text) <= 24, "a flow_text fits a 32-byte malloc chunk");

struct cs_report {
    struct cs_report_options opt;
    FILE *out;
    struct cs_summary counts; /* report-level counts (the rest of the summary is the caller's) */
    struct cs_timeline *timeline;
    struct cs_text_style style;
    GHashTable *flow_text;      /* flow id -> struct flow_text (text output) */
    GHashTable *endpoints;      /* "METHOD host/path" -> its blocked count (size_t) */
    uint64_t last_printed_flow; /* flow whose lines were printed last (0: none) */
    size_t text_buffered;       /* heap held by all flow_text buffers (text_cost) */
    GString *event_text;        /* the event being written (text output) */
    GString *head_text;         /* a block's header line being written */
    /* Files: blocks print in order of flow id (= of first packet).
     * ended: id -> struct ended_flow (a block to print) or NULL (a flow
     * that ended with nothing to print), for ids >= next_release. */
    GHashTable *ended;
    uint64_t next_release; /* the lowest flow id not printed or skipped yet */
    uint64_t not_shown;    /* connections ended with nothing printed */
    unsigned kinds_shown;  /* 1 << corscope_kind of every event printed */
    bool any_blocked;
    GHashTable *fleet_ids;  /* flow id -> struct flow_ids (JSON and sinks only) */
    uint64_t sensor_key;    /* cs_sensor_key of opt.sensor */
    unsigned max_reasons;   /* --max-reasons */
    unsigned max_endpoints; /* --max-endpoints */
    /* copies of counts.transactions and counts.blocked for the progress
     * line, read from the main thread while the report thread writes */
    _Atomic uint64_t progress_txns, progress_blocked;
    /* preflight events held until what follows decides them (timeline.h) */
    struct held *held[CS_MAX_HELD_PREFLIGHTS];
    size_t n_held;
    atomic_size_t held_bytes;   /* read by the pipeline's --max-memory check */
    atomic_size_t cookie_bytes; /* the cookie and stored-response tables (cookies.h, stored.h), read likewise */
    uint64_t held_seq;
    cs_time_ns now; /* the latest request time seen */
};

/* A preflight's transaction, copied whole (no pointer into the parsers' or
 * the report thread's buffers survives the hook call), with the timeline's
 * facts from when it was judged. */
/* What the decision needs of a held preflight's judgement: each browser's
 * outcome in each credentials mode (corscope_outcome values), kept from
 * when it was judged, so that deciding it classifies it only once more, in
 * the mode decided (each classification is most of a preflight's cost). */
struct cs_kept_verdict {
    uint8_t firefox[2], chromium[2]; /* [0]: omit, [1]: include */
};

struct held {
    struct cs_flow_key flow;
    struct cs_txn t;
    struct cs_txn_tls tls;
    struct cs_timeline_facts facts;
    size_t bytes;    /* what this copy costs (counted in held_bytes) */
    bool flow_ended; /* its connection's block was printed already */
    struct cs_kept_verdict kept;
    /* text output: where in its flow's block the event belongs (the block's
     * length when it was held), valid while the block is the same (gen) */
    bool text_placed;
    size_t text_off;
    uint32_t text_gen;
    uint64_t seq; /* order of holding */
    /* then the header arrays (request's, response's) and the strings */
};

/* A connection's part of its events' ids, computed at its first event:
 * the Community ID's SHA-1, from which each event's ids are made (20
 * bytes, a 32-byte chunk, on each of thousands of live connections). */
struct flow_ids {
    uint8_t digest[CS_FLOW_DIGEST_LEN];
};

_Static_assert(sizeof(gpointer) >= sizeof(uint64_t), "fleet_ids keys are flow ids as pointers");

/* A flow id as a key of r->fleet_ids. */
static gpointer flow_key(uint64_t id)
{
    return (gpointer)(uintptr_t)id;
}

static void held_release(void *ctx, void *payload, enum cs_tl_follow follow);
static bool held_of_flow(const struct cs_report *r, uint64_t id);

static void flow_text_free(gpointer p)
{
    struct flow_text *ft = p;
    if (ft->buf)
        g_string_free(ft->buf, TRUE);
    g_free(ft);
}

/* The heap a block's buffer takes, as text_buffered counts it: the text's
 * allocation and the GString, with an allocator header each. */
static size_t text_cost(const GString *buf)
{
    return buf ? buf->allocated_len + sizeof *buf + 2 * 2 * sizeof(size_t) : 0;
}

static size_t text_len(const struct flow_text *ft)
{
    return ft->buf ? ft->buf->len : 0;
}

/* The block's buffer, created on first use. */
static GString *text_buf(struct flow_text *ft)
{
    if (!ft->buf)
        ft->buf = g_string_sized_new(0);
    return ft->buf;
}

struct ended_flow {
    struct cs_flow_key key;
    struct flow_text *ft;
};

static void ended_flow_free(gpointer p)
{
    struct ended_flow *e = p;
    if (e) {
        flow_text_free(e->ft);
        g_free(e);
    }
}

struct cs_report *cs_report_new(const struct cs_report_options *opt, FILE *out)
{
    struct cs_report *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->opt = *opt;
    r->opt.limits = NULL; /* the caller's; the values are copied here */
    r->out = out;
    r->timeline = cs_timeline_new_sized(opt->max_http_clients);
    if (!r->timeline) {
        free(r);
        return NULL;
    }
    struct cs_limits lim;
    if (opt->limits)
        lim = *opt->limits;
    else
        cs_limits_default(&lim);
    r->max_reasons = lim.max_reasons < CS_SUMMARY_REASONS_CAPACITY ? lim.max_reasons : CS_SUMMARY_REASONS_CAPACITY;
    r->max_endpoints = lim.max_endpoints;
    cs_timeline_set_limits(r->timeline, lim.max_pending_preflights, lim.max_preflight_cache);
    atomic_init(&r->held_bytes, 0);
    atomic_init(&r->cookie_bytes, 0);
    cs_timeline_set_release(r->timeline, held_release, r);
    if (opt->preflight_window)
        cs_timeline_set_window(r->timeline, opt->preflight_window);
    r->style.color = opt->color;
    r->style.show_firefox = opt->browser != CS_BROWSER_CHROME;
    r->style.show_chromium = opt->browser != CS_BROWSER_FIREFOX;
    r->style.width = opt->width;
    r->style.ascii = opt->ascii;
    r->ended = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, ended_flow_free);
    r->next_release = 1;
    r->flow_text = g_hash_table_new_full(NULL, NULL, NULL, flow_text_free); /* keys: flow_key */
    r->endpoints = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    /* keyed by the flow id itself (a 64-bit pointer holds it): a lookup
     * (every JSON event) compares keys in the table, without reading each
     * candidate's struct as g_int64_equal did (a cache miss each) */
    r->fleet_ids = g_hash_table_new_full(NULL, NULL, NULL, g_free);
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
    g_hash_table_destroy(r->ended);
    g_hash_table_destroy(r->endpoints);
    g_hash_table_destroy(r->fleet_ids);
    g_string_free(r->event_text, TRUE);
    g_string_free(r->head_text, TRUE);
    for (size_t i = 0; i < r->n_held; i++)
        free(r->held[i]);
    cs_timeline_free(r->timeline);
    free(r);
}

static struct flow_text *text_for(struct cs_report *r, const struct cs_flow_key *f)
{
    struct flow_text *ft = g_hash_table_lookup(r->flow_text, flow_key(f->id));
    if (!ft) {
        ft = g_new0(struct flow_text, 1);
        g_hash_table_insert(r->flow_text, flow_key(f->id), ft);
    }
    return ft;
}

/* Prints what a flow's block holds so far, then `more` (an event not
 * added to the block, or NULL), under the flow's header line unless the
 * previous lines printed were this flow's (live output). */
static void text_flush_with(struct cs_report *r, const struct cs_flow_key *f, struct flow_text *ft,
                            const GString *more)
{
    if (text_len(ft) == 0 && (!more || more->len == 0))
        return;
    if (r->last_printed_flow != f->id) {
        GString *head = r->head_text;
        g_string_truncate(head, 0);
        if (r->last_printed_flow)
            g_string_append_c(head, '\n');
        cs_out_text_flow_header(head, f, &r->style, ft->header_printed, ft->tls_version);
        fwrite(head->str, 1, head->len, r->out);
    }
    if (ft->buf) {
        fwrite(ft->buf->str, 1, ft->buf->len, r->out);
        r->text_buffered -= text_cost(ft->buf);
        /* no buffer until the next line: truncating would keep the grown
         * allocation on a connection that may stay open and quiet */
        g_string_free(ft->buf, TRUE);
        ft->buf = NULL;
    }
    if (more && more->len)
        fwrite(more->str, 1, more->len, r->out);
    ft->gen++;
    ft->header_printed = true;
    r->last_printed_flow = f->id;
    if (r->opt.live)
        fflush(r->out);
}

static void text_flush(struct cs_report *r, const struct cs_flow_key *f, struct flow_text *ft)
{
    text_flush_with(r, f, ft, NULL);
}

static void count_reason(struct cs_summary *s, const char *reason, unsigned max)
{
    if (!reason)
        return;
    for (unsigned i = 0; i < s->n_reasons; i++)
        if (strcmp(s->reasons[i].reason, reason) == 0) {
            s->reasons[i].count++;
            return;
        }
    if (s->n_reasons < max)
        s->reasons[s->n_reasons++] = (struct cs_reason_count){reason, 1};
    else
        s->reasons_dropped++;
}

/* What "%.*s" writes of s[0..len) with precision max: at most max bytes,
 * up to a NUL; nothing for NULL.  Returns the bytes written to d. */
static size_t put_cut(char *d, const char *s, size_t len, size_t max)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, len > max ? max : len);
    memcpy(d, s, n);
    return n;
}

static void count_endpoint(struct cs_report *r, const corscope_request *rq, const struct cs_event *ev)
{
    size_t ulen = rq->target_len;
    const char *q = memchr(rq->target, '?', ulen);
    if (q)
        ulen = (size_t)(q - rq->target);
    /* "%.*s %.*s%.*s" of method, host and path, on the stack: a copy is
     * made only for a new endpoint (every blocked request gets here) */
    char key[16 + 1 + 64 + 96 + 1];
    size_t n = put_cut(key, rq->method, rq->method_len, 16);
    key[n++] = ' ';
    n += put_cut(key + n, ev->host, ev->host_len, 64);
    n += put_cut(key + n, rq->target, ulen, 96);
    key[n] = '\0';
    size_t *count = g_hash_table_lookup(r->endpoints, key);
    if (count) {
        (*count)++;
    } else if (g_hash_table_size(r->endpoints) < r->max_endpoints) {
        count = g_new(size_t, 1);
        *count = 1;
        g_hash_table_insert(r->endpoints, g_strndup(key, n), count);
    } else {
        r->counts.endpoints_dropped++;
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
        atomic_store_explicit(&r->progress_blocked, s->blocked, memory_order_relaxed);
        count_reason(s, ev->reason ? ev->reason : ev->chrome, r->max_reasons);
        count_endpoint(r, rq, ev);
        r->any_blocked = true;
        break;
    case CORSCOPE_WARNING:
        s->warnings++;
        count_reason(s, r->opt.browser == CS_BROWSER_CHROME ? NULL : v->firefox.console_key, r->max_reasons);
        break;
    case CORSCOPE_UNKNOWN:
        s->unknown++;
        break;
    case CORSCOPE_NA: /* the page aborted it: the browsers report nothing */
        s->aborted++;
        break;
    default:
        s->allowed++;
        break;
    }
}

/* The ids that let a store merge many sensors' events.  The hash runs
 * once per connection (kept until its end); each event adds only its
 * base64 and cheap mixes of its start, stream and position (fleet_ids.h). */
static void fill_fleet_ids(struct cs_report *r, const struct cs_flow_key *f, struct cs_event *ev)
{
    ev->sensor = r->opt.sensor ? r->opt.sensor : "";
    struct flow_ids *ids = g_hash_table_lookup(r->fleet_ids, flow_key(f->id));
    if (!ids) {
        ids = g_new(struct flow_ids, 1);
        cs_flow_digest(f, ids->digest);
        g_hash_table_insert(r->fleet_ids, flow_key(f->id), ids);
    }
    uint8_t event_key[16];
    cs_flow_ids_of(f, ids->digest, r->sensor_key, ev->community_id, event_key);
    cs_event_id(event_key, ev->txn->stream, ev->txn->index, ev->event_id);
}

struct held;
static void place_held_text(struct cs_report *r, struct flow_text *ft, const struct held *at,
                            const GString *text);

/* Writes one event; `at`: the held preflight it is (its text goes back to
 * where it belongs in its flow's block), or NULL. */
static void emit_at(struct cs_report *r, const struct cs_flow_key *f, struct cs_event *ev,
                    const struct held *at)
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
    if (ev->kind)
        for (unsigned k = CORSCOPE_KIND_NO_CORS; k <= CORSCOPE_KIND_SIMPLE; k++)
            if (strcmp(ev->kind, corscope_kind_name((corscope_kind)k)) == 0)
                r->kinds_shown |= 1u << k;
    /* A block is printed whole when its flow ends, unless holding it would
     * cost too much memory: then what it has so far goes out now, this
     * event with it, and the rest follows under a "(continued)" header. */
    if (r->opt.live || text_len(ft) + text->len > CS_TEXT_FLUSH_BYTES ||
        r->text_buffered + text->len > CS_TEXT_BUDGET_BYTES) {
        text_flush_with(r, f, ft, text);
        return;
    }
    size_t cost = text_cost(ft->buf);
    if (at)
        place_held_text(r, ft, at, text);
    else
        g_string_append_len(text_buf(ft), text->str, (gssize)text->len);
    r->text_buffered += text_cost(ft->buf) - cost;
}

static void emit(struct cs_report *r, const struct cs_flow_key *f, struct cs_event *ev)
{
    emit_at(r, f, ev, NULL);
}

/* --- preflights decided by what follows ----------------------------------- */

static size_t str_bytes(const char *p, size_t n)
{
    return p ? n : 0;
}

/* Copies (p, n) to *cur (no NUL needed: every string has its length). */
static const char *put_bytes(char **cur, const char *p, size_t n)
{
    if (!p)
        return NULL;
    char *d = *cur;
    cs_copy_small(d, p, n);
    *cur += n;
    return d;
}

static void copy_headers(corscope_header *dst, const corscope_header *src, size_t n, char **cur)
{
    for (size_t i = 0; i < n; i++) {
        dst[i].name = put_bytes(cur, src[i].name, src[i].name_len);
        dst[i].name_len = src[i].name_len;
        dst[i].value = put_bytes(cur, src[i].value, src[i].value_len);
        dst[i].value_len = src[i].value_len;
    }
}

static size_t headers_bytes(const corscope_header *h, size_t n)
{
    size_t b = n * sizeof(corscope_header);
    for (size_t i = 0; i < n; i++)
        b += str_bytes(h[i].name, h[i].name_len) + str_bytes(h[i].value, h[i].value_len);
    return b;
}

/* The outcomes of each credentials mode.  A verdict judged with the mode
 * unknown (every preflight's: it never carries a Cookie) has them already:
 * its outcomes are the "omit" ones and cred_alt_verdict the "include" ones
 * (corscope_classify judges both); another is judged in both modes. */
static void keep_verdict(const struct cs_txn *t, const corscope_verdict *v, struct cs_kept_verdict *k)
{
    if (v->credentials == CORSCOPE_CRED_UNKNOWN) {
        k->firefox[0] = (uint8_t)v->firefox.verdict;
        k->chromium[0] = (uint8_t)v->chromium.verdict;
        k->firefox[1] = (uint8_t)v->firefox.cred_alt_verdict;
        k->chromium[1] = (uint8_t)v->chromium.cred_alt_verdict;
        return;
    }
    corscope_verdict m;
    for (int i = 0; i < 2; i++) {
        cs_judge_in_mode(t, NULL, i ? CORSCOPE_CRED_INCLUDE : CORSCOPE_CRED_OMIT, &m);
        k->firefox[i] = (uint8_t)m.firefox.verdict;
        k->chromium[i] = (uint8_t)m.chromium.verdict;
    }
}

/* The kept outcomes of mode i as the verdict cs_timeline_decide reads (the
 * combined verdict as corscope_classify makes it: the worse of the two).
 * Only the scalars are set, the text buffers are left as they are: the
 * decision reads the three outcomes, and clearing the 4 KB twice per held
 * preflight cost more than the decision. */
static void kept_mode(const struct cs_kept_verdict *k, int i, corscope_verdict *v)
{
    v->kind = CORSCOPE_KIND_PREFLIGHT;
    v->browsers_disagree = v->depends_on_credentials = false;
    v->credentials = CORSCOPE_CRED_UNKNOWN;
    v->lints = 0;
    corscope_browser_verdict *b[2] = {&v->firefox, &v->chromium};
    for (int n = 0; n < 2; n++) {
        b[n]->reason = b[n]->console_key = b[n]->chrome = NULL;
        b[n]->message[0] = b[n]->hint[0] = '\0';
        b[n]->depends_on_credentials = false;
        b[n]->cred_alt_verdict = CORSCOPE_NA;
        b[n]->cred_alt_reason = b[n]->cred_alt_chrome = NULL;
    }
    v->url[0] = v->note[0] = '\0';
    v->firefox.verdict = (corscope_outcome)k->firefox[i];
    v->chromium.verdict = (corscope_outcome)k->chromium[i];
    v->verdict = v->firefox.verdict > v->chromium.verdict ? v->firefox.verdict : v->chromium.verdict;
}

/* Whether a preflight waits for what follows: it passes for some browser in
 * some credentials mode (one that fails in every mode is blocked whatever
 * follows).  Returns true when it was held (its event comes later). */
static bool hold_preflight(struct cs_report *r, const struct cs_flow_key *f, const struct cs_txn *t,
                           const struct cs_judgement *j)
{
    const corscope_verdict *v = &j->v;
    bool any_pass = v->firefox.verdict == CORSCOPE_ALLOWED || v->firefox.verdict == CORSCOPE_WARNING ||
                    v->chromium.verdict == CORSCOPE_ALLOWED || v->chromium.verdict == CORSCOPE_WARNING ||
                    (v->depends_on_credentials &&
                     (v->firefox.cred_alt_verdict == CORSCOPE_ALLOWED || v->firefox.cred_alt_verdict == CORSCOPE_WARNING ||
                      v->chromium.cred_alt_verdict == CORSCOPE_ALLOWED || v->chromium.cred_alt_verdict == CORSCOPE_WARNING));
    if (!any_pass)
        return false;
    const corscope_request *q = &t->req;
    const char *sni = t->tls && t->tls->sni ? t->tls->sni : NULL;
    size_t sni_len = sni ? strlen(sni) + 1 : 0;
    size_t bytes = sizeof(struct held) + headers_bytes(q->headers, q->n_headers) +
                   headers_bytes(t->resp.headers, t->resp.n_headers) +
                   str_bytes(q->method, q->method_len) + str_bytes(q->target, q->target_len) +
                   str_bytes(q->scheme, q->scheme_len) + sni_len;
    size_t now_held = atomic_load_explicit(&r->held_bytes, memory_order_relaxed);
    if (r->n_held >= CS_MAX_HELD_PREFLIGHTS ||
        (r->opt.max_held_bytes && now_held + bytes > r->opt.max_held_bytes)) {
        cs_timeline_hold_refused(r->timeline); /* reported undecided, counted */
        return false;
    }
    struct held *h = malloc(bytes);
    if (!h)
        return false;
    if (!cs_timeline_hold(r->timeline, h)) {
        free(h);
        return false;
    }
    memset(h, 0, sizeof *h);
    h->flow = *f;
    h->t = *t;
    h->bytes = bytes;
    corscope_header *hq = (corscope_header *)(h + 1), *hs = hq + q->n_headers;
    char *cur = (char *)(hs + t->resp.n_headers);
    copy_headers(hq, q->headers, q->n_headers, &cur);
    copy_headers(hs, t->resp.headers, t->resp.n_headers, &cur);
    h->t.req.headers = hq;
    h->t.resp.headers = hs;
    h->t.req.method = put_bytes(&cur, q->method, q->method_len);
    h->t.req.target = put_bytes(&cur, q->target, q->target_len);
    h->t.req.scheme = put_bytes(&cur, q->scheme, q->scheme_len);
    h->t.req_block = h->t.resp_block = NULL;
    h->t.req_block_len = h->t.resp_block_len = 0;
    if (t->tls) {
        h->tls = *t->tls; /* version and cipher are static strings */
        h->tls.sni = "";
        if (sni) {
            h->tls.sni = cur;
            memcpy(cur, sni, sni_len);
            cur += sni_len;
        }
        h->t.tls = &h->tls;
    }
    h->facts = j->facts;
    keep_verdict(t, v, &h->kept);
    /* facts.method pointed into the request: the copy's ACRM value */
    const corscope_header *acrm = corscope_header_find(hq, q->n_headers, "Access-Control-Request-Method");
    h->facts.method = acrm ? acrm->value : NULL;
    h->facts.method_len = acrm ? acrm->value_len : 0;
    h->facts.held = NULL;
    h->seq = ++r->held_seq;
    if (r->opt.format == CS_FORMAT_TEXT && !r->opt.live) {
        struct flow_text *ft = text_for(r, f);
        h->text_placed = true;
        h->text_off = text_len(ft);
        h->text_gen = ft->gen;
    }
    r->held[r->n_held++] = h;
    atomic_fetch_add_explicit(&r->held_bytes, bytes, memory_order_relaxed);
    return true;
}

/* Writes the held preflight h, decided by what followed (follow; for
 * CS_TL_FOLLOW_SEEN the actual request's frame and delay), and frees it. */
static corscope_cred held_decide(struct cs_report *r, void *payload, enum cs_tl_follow follow,
                                 uint64_t follow_frame, cs_time_ns age)
{
    struct held *h = payload;
    for (size_t i = 0; i < r->n_held; i++)
        if (r->held[i] == h) {
            r->held[i] = r->held[--r->n_held];
            break;
        }
    atomic_fetch_sub_explicit(&r->held_bytes, h->bytes, memory_order_relaxed);

    const struct cs_txn *t = &h->t;
    /* j.v is written whole by cs_judge_in_mode below (a held preflight
     * has its method and headers: the classifier cannot refuse it), so it
     * is not cleared first: 4 KB per held preflight */
    struct cs_judgement j;
    j.cors = true;
    j.retry = false;
    j.cut = 0;
    j.stored_frame = 0; /* a preflight: never a 304 judged as stored */
    j.conditional_by_page = false;
    j.seen_firefox = j.seen_chromium = CORSCOPE_NA;
    j.seen_firefox_reason = j.seen_chromium_error = NULL;
    j.facts = h->facts;
    corscope_verdict vo, vi;
    kept_mode(&h->kept, 0, &vo);
    kept_mode(&h->kept, 1, &vi);
    struct cs_tl_decision d;
    cs_timeline_decide(&vo, &vi, follow, &d);
    const char *from = NULL;
    if (d.credentials != CORSCOPE_CRED_UNKNOWN) {
        cs_judge_in_mode(t, NULL, d.credentials, &j.v);
        j.facts.credentials = d.credentials;
        if (follow == CS_TL_FOLLOW_SEEN) {
            j.facts.what = CS_TL_FOLLOWED;
            j.facts.follow_frame = follow_frame;
            j.facts.age = age;
            from = "actual-request-followed";
        } else {
            j.facts.what = CS_TL_NOT_FOLLOWED;
            from = "no-actual-request";
        }
    } else {
        cs_judge_in_mode(t, NULL, CORSCOPE_CRED_UNKNOWN, &j.v);
        if (d.gave_up)
            j.facts.what = CS_TL_GAVE_UP;
    }
    if (follow == CS_TL_FOLLOW_WINDOW || follow == CS_TL_FOLLOW_END) {
        j.facts.age = cs_timeline_window(r->timeline);
        j.facts.capture_ended = follow == CS_TL_FOLLOW_END;
    }

    struct cs_event ev = {.flow = &h->flow, .txn = t};
    const corscope_request *rq = &t->req;
    const corscope_header *hh = corscope_header_find(rq->headers, rq->n_headers, "Host");
    if (hh) {
        ev.host = hh->value;
        ev.host_len = hh->value_len;
    }
    hh = corscope_header_find(rq->headers, rq->n_headers, "Origin");
    if (hh) {
        ev.origin = hh->value;
        ev.origin_len = hh->value_len;
    }
    hh = corscope_header_find(rq->headers, rq->n_headers, "Access-Control-Request-Method");
    if (hh) {
        ev.acr_method = hh->value;
        ev.acr_method_len = hh->value_len;
    }
    char note[CS_TL_NOTE_MAX + CORSCOPE_NOTE_MAX + 4];
    fill_event(r, &ev, &j.v);
    ev.credentials_from = from;
    ev.preflight_frame = j.facts.preflight_frame;
    ev.stored_frame = j.stored_frame;
    cs_explain(&j, note, sizeof note);
    ev.note = note[0] ? note : NULL;
    count_verdict(r, &j.v, &ev, rq);
    emit_at(r, &h->flow, &ev, h);
    if (h->flow_ended) {
        /* its connection's block was printed: this event on its own */
        if (r->opt.format == CS_FORMAT_TEXT) {
            struct flow_text *ft = g_hash_table_lookup(r->flow_text, flow_key(h->flow.id));
            if (ft) {
                text_flush(r, &h->flow, ft);
                g_hash_table_remove(r->flow_text, flow_key(h->flow.id));
            }
        }
        if (!held_of_flow(r, h->flow.id))
            g_hash_table_remove(r->fleet_ids, flow_key(h->flow.id));
    }
    free(h);
    return d.credentials;
}

/* Puts a held event's text where it belongs in its flow's block (where
 * the block ended when it was held), if that block was not printed since;
 * the places of the other events held in the block move with it. */
static void place_held_text(struct cs_report *r, struct flow_text *ft, const struct held *at,
                            const GString *text)
{
    if (!at->text_placed || at->text_gen != ft->gen || at->text_off > text_len(ft)) {
        g_string_append_len(text_buf(ft), text->str, (gssize)text->len);
        return;
    }
    g_string_insert_len(text_buf(ft), (gssize)at->text_off, text->str, (gssize)text->len);
    for (size_t i = 0; i < r->n_held; i++) {
        struct held *g = r->held[i];
        if (g != at && g->text_placed && g->flow.id == at->flow.id && g->text_gen == at->text_gen &&
            (g->text_off > at->text_off || (g->text_off == at->text_off && g->seq > at->seq)))
            g->text_off += text->len;
    }
}

static void held_release(void *ctx, void *payload, enum cs_tl_follow follow)
{
    (void)held_decide(ctx, payload, follow, 0, 0);
}

/* Whether a preflight of flow `id` is still held. */
static bool held_of_flow(const struct cs_report *r, uint64_t id)
{
    for (size_t i = 0; i < r->n_held; i++)
        if (r->held[i]->flow.id == id)
            return true;
    return false;
}

void cs_report_tick(struct cs_report *r, cs_time_ns now)
{
    if (now > r->now) {
        r->now = now;
        cs_timeline_advance(r->timeline, now);
    }
}

bool cs_report_output_failed(struct cs_report *r)
{
    return r->out && ferror(r->out);
}

size_t cs_report_held_bytes(void *ctx)
{
    struct cs_report *r = ctx;
    return atomic_load_explicit(&r->held_bytes, memory_order_relaxed) +
           atomic_load_explicit(&r->cookie_bytes, memory_order_relaxed);
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
    atomic_store_explicit(&r->progress_txns, r->counts.transactions, memory_order_relaxed);
    if (rq->method)
        cs_timeline_http_client(r->timeline, f);
    if (!rq->method || (t->req_flags & CS_TXN_NO_HEADERS)) { /* HTTP/0.9: nothing to judge */
        if (r->opt.all)
            emit(r, f, &ev);
        return;
    }

    /* the clock, by request times: preflights whose window closed first */
    if (t->req_ts > r->now) {
        r->now = t->req_ts;
        cs_timeline_advance(r->timeline, r->now);
    }
    struct cs_judgement j;
    cs_judge(r->timeline, f, t, ev.origin, ev.origin_len, &j);
    atomic_store_explicit(&r->cookie_bytes,
                          cs_cookies_bytes(cs_timeline_cookies(r->timeline)) +
                              cs_stored_bytes(cs_timeline_stored(r->timeline)),
                          memory_order_relaxed);
    if (j.retry)
        return;         /* an automatic retry of the failure just reported */
    if (j.facts.held) { /* this request follows a held preflight: that one first */
        corscope_cred mode = held_decide(r, j.facts.held, CS_TL_FOLLOW_SEEN, t->req_frame, j.facts.held_age);
        /* the mode that let the preflight pass is this request's too */
        if (mode != CORSCOPE_CRED_UNKNOWN && j.v.credentials != CORSCOPE_CRED_INCLUDE && !j.cut &&
            j.v.credentials != mode) {
            cs_judge_in_mode(t, &j, mode, &j.v);
            j.facts.credentials = mode;
            j.facts.cred_from = CS_TL_CRED_FROM_NONE; /* the preflight's decision, not cookies */
        }
    }
    if (j.v.kind == CORSCOPE_KIND_PREFLIGHT && !j.cut && t->has_resp && hold_preflight(r, f, t, &j))
        return; /* reported once what follows decides it */
    bool cors = j.cors;
    const corscope_verdict *vp = &j.v;
    char note[CS_TL_NOTE_MAX + CORSCOPE_NOTE_MAX + 4];
    fill_event(r, &ev, vp);
    ev.preflight_frame = j.facts.preflight_frame;
    ev.stored_frame = j.stored_frame;
    ev.credentials_from = j.facts.cred_from == CS_TL_CRED_FROM_COOKIE      ? "cookie"
                          : j.facts.cred_from == CS_TL_CRED_FROM_NO_COOKIE ? "no-cookie"
                                                                           : NULL;
    cs_explain(&j, note, sizeof note);
    ev.note = note[0] ? note : NULL;
    count_verdict(r, vp, &ev, rq);

    if (!r->opt.all && !cors)
        return;
    emit(r, f, &ev);
}

static void flow_end_text(struct cs_report *r, const struct cs_flow_key *f, enum cs_flow_end why,
                          const struct cs_flow_info *info);
static void release_ended(struct cs_report *r, bool all);

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
    /* the end of input decides this connection's held preflights now (the
     * clock stops); other ends keep them waiting (the actual request may
     * come on another connection), written on their own when decided */
    if (why == CS_FLOW_END_INPUT)
        cs_timeline_release_end(r->timeline, f->id);
    bool still_held = false;
    for (size_t i = 0; i < r->n_held; i++)
        if (r->held[i]->flow.id == f->id) {
            r->held[i]->flow = *f;
            r->held[i]->flow_ended = true;
            r->held[i]->text_placed = false; /* the block is printed now */
            still_held = true;
        }
    flow_end_text(r, f, why, info);
    /* after anything this flow's end may still emit */
    if (!still_held)
        g_hash_table_remove(r->fleet_ids, flow_key(f->id));
}

static void flow_end_text(struct cs_report *r, const struct cs_flow_key *f, enum cs_flow_end why,
                          const struct cs_flow_info *info)
{
    if (r->opt.format != CS_FORMAT_TEXT) {
        g_hash_table_remove(r->flow_text, flow_key(f->id));
        return;
    }
    struct flow_text *ft = g_hash_table_lookup(r->flow_text, flow_key(f->id));
    size_t held = ft ? text_cost(ft->buf) : 0; /* already counted in text_buffered */
    if (r->opt.all && !info->parsed && info->had_data) {
        ft = text_for(r, f);
        char line[200];
        snprintf(line, sizeof(line), "%s%s%s%s, not analyzable", info->proto,
                 info->sni[0] ? " (SNI " : "", info->sni, info->sni[0] ? ")" : "");
        cs_out_text_flow_note(text_buf(ft), f, f->first_ts, line, &r->style);
    }
    if (ft) {
        if (text_len(ft) && info->failure == CS_CONN_OK && (why == CS_FLOW_END_RESET || why == CS_FLOW_END_IDLE || why == CS_FLOW_END_EVICTED))
            cs_out_text_flow_note(ft->buf, f, f->last_ts,
                                  why == CS_FLOW_END_RESET ? "connection reset" : why == CS_FLOW_END_IDLE ? "connection idle: expired"
                                                                                                          : "connection dropped: flow limit reached",
                                  &r->style);
        r->text_buffered += text_cost(ft->buf) - held;
    }
    bool shown = ft && (text_len(ft) || ft->header_printed);
    if (!shown && !r->opt.all)
        r->not_shown++;
    if (r->opt.live || f->id < r->next_release) {
        /* live: as it happens; files: a flow whose turn has passed (the
         * waiting list was full) prints at once */
        if (ft) {
            text_flush(r, f, ft);
            g_hash_table_remove(r->flow_text, flow_key(f->id));
        }
        return;
    }
    /* Files: the block waits for every connection that started before it. */
    struct ended_flow *e = NULL;
    if (ft && text_len(ft)) {
        e = g_new(struct ended_flow, 1);
        e->key = *f;
        e->ft = ft;
        g_hash_table_steal(r->flow_text, flow_key(f->id));
    } else if (ft) {
        g_hash_table_remove(r->flow_text, flow_key(f->id));
    }
    g_hash_table_insert(r->ended, GSIZE_TO_POINTER(f->id), e);
    release_ended(r, r->text_buffered > CS_TEXT_BUDGET_BYTES ||
                         g_hash_table_size(r->ended) > CS_TEXT_MAX_WAITING);
}

static gint by_id(gconstpointer a, gconstpointer b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Prints the waiting blocks whose turn came: those after next_release with
 * no gap before them; with `all`, every waiting block in order, and the
 * turn moves past them. */
static void release_ended(struct cs_report *r, bool all)
{
    if (all) {
        GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, r->ended);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            uint64_t id = GPOINTER_TO_SIZE(k);
            g_array_append_val(ids, id);
        }
        g_array_sort(ids, by_id);
        for (guint i = 0; i < ids->len; i++) {
            uint64_t id = g_array_index(ids, uint64_t, i);
            struct ended_flow *e = g_hash_table_lookup(r->ended, GSIZE_TO_POINTER(id));
            if (e)
                text_flush(r, &e->key, e->ft);
            g_hash_table_remove(r->ended, GSIZE_TO_POINTER(id));
            r->next_release = id + 1;
        }
        g_array_free(ids, TRUE);
        return;
    }
    gpointer v;
    while (g_hash_table_lookup_extended(r->ended, GSIZE_TO_POINTER(r->next_release), NULL, &v)) {
        struct ended_flow *e = v;
        if (e)
            text_flush(r, &e->key, e->ft);
        g_hash_table_remove(r->ended, GSIZE_TO_POINTER(r->next_release));
        r->next_release++;
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
    /* the capture ended: what is still held is decided now */
    cs_timeline_release_end(r->timeline, 0);
    /* the report's part of the summary; the stages' and main's are the caller's */
    const struct cs_summary *c = &r->counts;
    s->timeline = *cs_timeline_stats(r->timeline);
    s->timeline.cookie_hosts_refused = cs_cookies_refused(cs_timeline_cookies(r->timeline));
    s->transactions = c->transactions;
    s->cors_relevant = c->cors_relevant;
    s->allowed = c->allowed;
    s->blocked = c->blocked;
    s->warnings = c->warnings;
    s->unknown = c->unknown;
    s->aborted = c->aborted;
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
        struct cs_endpoint_count e = {.blocked = *(const size_t *)val};
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
        release_ended(r, true); /* every flow has ended by now */
        s->not_shown = r->not_shown;
        if (r->last_printed_flow)
            fputc('\n', r->out);
        cs_out_text_summary(r->out, s, &r->style);
        cs_out_text_legend(r->out, r->kinds_shown, &r->style);
    }
    /* The summary goes to the store too (summaries_local), unless events
     * are still unsent: the store did not answer, and trying again would
     * only make exit wait longer. */
    if (r->opt.sink && s->sink.unsent == 0) {
        char err[200];
        if (!cs_sink_summary(r->opt.sink, s, err, sizeof err))
            fprintf(stderr, "corscope: warning: --sink: the summary was not stored: %s\n", err);
    }
}

void cs_report_progress(struct cs_report *r, uint64_t *transactions, uint64_t *blocked)
{
    *transactions = atomic_load_explicit(&r->progress_txns, memory_order_relaxed);
    *blocked = atomic_load_explicit(&r->progress_blocked, memory_order_relaxed);
}

bool cs_report_any_blocked(const struct cs_report *r)
{
    return r->any_blocked;
}
