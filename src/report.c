/* The report stage (see report.h).  Owns the summary counts and the output
 * stream; the classifier and the timeline do the judging. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "out_json.h"
#include "report.h"

struct cs_report {
    struct cs_report_options opt;
    FILE *out;
    struct cs_summary counts;   /* report-level counts; stage counters come at finish */
    bool any_blocked;
};

struct cs_report *cs_report_new(const struct cs_report_options *opt, FILE *out)
{
    struct cs_report *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->opt = *opt;
    r->out = out;
    return r;
}

void cs_report_free(struct cs_report *r)
{
    free(r);
}

/* The first header named `name` (case-insensitive), or NULL. */
static const corscope_header *find_header(const struct cs_http_msg *m, const char *name)
{
    size_t n = strlen(name);
    for (uint32_t i = 0; i < m->n_headers; i++)
        if (m->headers[i].name_len == n && strncasecmp(m->headers[i].name, name, n) == 0)
            return &m->headers[i];
    return NULL;
}

void cs_report_txn(void *ctx, const struct cs_flow *f, const struct cs_http_txn *t)
{
    struct cs_report *r = ctx;
    struct cs_event ev = { .flow = f, .txn = t };
    const corscope_header *h = find_header(t->req, "Host");
    if (h) {
        ev.host = h->value;
        ev.host_len = h->value_len;
    }
    h = find_header(t->req, "Origin");
    if (h) {
        ev.origin = h->value;
        ev.origin_len = h->value_len;
    }
    r->counts.transactions++;
    if (!r->opt.all && !ev.origin)
        return;
    if (r->opt.format == CS_FORMAT_JSON)
        cs_out_json_event(r->out, &ev);
    if (r->opt.live)
        fflush(r->out);
}

void cs_report_flow_end(void *ctx, const struct cs_flow *f, enum cs_flow_end why,
                        const struct cs_flow_info *info)
{
    (void)ctx; (void)f; (void)why; (void)info;
}

void cs_report_finish(struct cs_report *r, struct cs_summary *s)
{
    const struct cs_pipeline *p = s->pipeline;
    uint64_t failed = s->inputs_failed;
    *s = r->counts;
    s->pipeline = p;
    s->inputs_failed = failed;
    if (r->opt.format == CS_FORMAT_JSON)
        cs_out_json_summary(r->out, s);
}

bool cs_report_any_blocked(const struct cs_report *r)
{
    return r->any_blocked;
}
