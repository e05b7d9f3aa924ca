/* The judge (see judge.h): classify, ask the timeline, classify again,
 * downgrade what was judged on incomplete headers. */
#include <stdio.h>
#include <string.h>

#include "judge.h"

static corscope_failure failure_for(enum cs_txn_end e)
{
    switch (e) {
    case CS_TXN_RESET: return CORSCOPE_FAIL_RESET;
    case CS_TXN_STREAM_RESET: return CORSCOPE_FAIL_STREAM_RESET;
    case CS_TXN_CLOSED: return CORSCOPE_FAIL_CLOSED;
    case CS_TXN_UNANSWERED: return CORSCOPE_FAIL_UNANSWERED;
    case CS_TXN_GAP:
    case CS_TXN_EVICTED: return CORSCOPE_FAIL_LOST;
    case CS_TXN_ANSWERED: break;
    }
    return CORSCOPE_FAIL_NONE;
}

/* Headers partly lost (capture gap) or cut (--max-header-bytes/-lines):
 * the judgement on what was seen may be wrong, so it becomes "unknown";
 * what the visible headers said is kept in j->seen_* for the note. */
static void downgrade_incomplete(struct cs_judgement *j)
{
    corscope_verdict *v = &j->v;
    j->seen_firefox = v->firefox.verdict;
    j->seen_firefox_reason = v->firefox.reason;
    j->seen_chromium = v->chromium.verdict;
    j->seen_chromium_error = v->chromium.chrome;
    corscope_browser_verdict *b[2] = {&v->firefox, &v->chromium};
    for (int i = 0; i < 2; i++) {
        b[i]->verdict = CORSCOPE_UNKNOWN;
        b[i]->reason = NULL;
        b[i]->console_key = NULL;
        b[i]->chrome = NULL;
        b[i]->message[0] = '\0';
        b[i]->depends_on_credentials = false;
        snprintf(b[i]->hint, sizeof(b[i]->hint), "%s",
                 (j->cut & CS_TXN_HEADER_GAP) ? "Capture again without packet loss to judge this exchange."
                                              : "Raise --max-header-bytes / --max-header-lines to judge this exchange.");
    }
    v->verdict = CORSCOPE_UNKNOWN;
    v->browsers_disagree = false;
    v->depends_on_credentials = false;
    v->note[0] = '\0';
}

void cs_judge(struct cs_timeline *tl, const struct cs_flow_key *f, const struct cs_txn *t,
              const char *origin, size_t origin_len, struct cs_judgement *j)
{
    const corscope_request *rq = &t->req;
    const corscope_response *rs = t->has_resp ? &t->resp : NULL;
    corscope_context cctx = {.credentials = CORSCOPE_CRED_UNKNOWN, .failure = failure_for(t->end)};
    corscope_verdict *v = &j->v;
    j->retry = false;
    j->cut = 0;
    memset(&j->facts, 0, sizeof j->facts);

    /* The first pass settles the kind; actual requests are then judged
     * again with what the timeline knows (credentials from the preflight). */
    corscope_classify(rq, rs, &cctx, v);
    j->cors = v->kind == CORSCOPE_KIND_ACTUAL || v->kind == CORSCOPE_KIND_SIMPLE ||
              v->kind == CORSCOPE_KIND_PREFLIGHT;
    if (j->cors && !rs && cs_timeline_is_retry(tl, &f->client, rq->method, rq->method_len, v->url, origin, origin_len, t->req_ts)) {
        j->retry = true; /* an automatic retry of the failure just reported */
        return;
    }
    if (v->kind == CORSCOPE_KIND_ACTUAL || v->kind == CORSCOPE_KIND_SIMPLE) {
        cs_timeline_before_actual(tl, &f->client, rq, v->url, origin, origin_len,
                                  v->kind == CORSCOPE_KIND_ACTUAL, t->req_ts, &j->facts);
        if (j->facts.credentials != CORSCOPE_CRED_UNKNOWN && j->facts.credentials != v->credentials) {
            cctx.credentials = j->facts.credentials;
            corscope_classify(rq, rs, &cctx, v);
        }
    } else if (v->kind == CORSCOPE_KIND_PREFLIGHT) {
        cs_timeline_after_preflight(tl, &f->client, rq, rs, v, t->req_frame, f->id, origin,
                                    origin_len, t->req_ts, &j->facts);
    }
    uint32_t cut = (t->req_flags | (rs ? t->resp_flags : 0)) & (CS_TXN_HEADER_GAP | CS_TXN_HEADERS_CUT);
    if (cut && j->cors) {
        j->cut = cut;
        downgrade_incomplete(j);
    }
}

void cs_judge_in_mode(const struct cs_txn *t, corscope_cred mode, corscope_verdict *v)
{
    corscope_context cctx = {.credentials = mode, .failure = failure_for(t->end)};
    corscope_classify(&t->req, t->has_resp ? &t->resp : NULL, &cctx, v);
}
