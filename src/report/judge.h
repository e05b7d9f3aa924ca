/* The judge: where the classifier (corscope/cors.h) and the timeline meet.
 * For one transaction it classifies, asks the timeline what other
 * transactions tell (the preflight that announced it, the preflight cache,
 * retries), classifies again with what the timeline supplies (credentials
 * evidence), and downgrades to "unknown" what was judged on incomplete
 * headers.  Its answer is structured; sentences for people are made by the
 * output stage (explain.h). */
#ifndef CS_JUDGE_H
#define CS_JUDGE_H

#include <stdbool.h>
#include <stdint.h>
#include "corscope/cors.h"
#include "timeline.h"
#include "txn.h"

struct cs_judgement {
    corscope_verdict v;
    bool cors;    /* a preflight, actual or simple request */
    bool retry;   /* an automatic retry of the failure just judged: not reported */
    uint32_t cut; /* CS_TXN_HEADER_GAP / CS_TXN_HEADERS_CUT: judged "unknown" */
    /* when cut: what the visible headers said before the downgrade */
    corscope_outcome seen_firefox, seen_chromium;
    const char *seen_firefox_reason, *seen_chromium_error;
    struct cs_timeline_facts facts;
    /* A 304 judged as the stored response it revalidates (stored.h): the
     * frame of that response (0 when not: any other 304 is "unknown") and
     * what the browser checks (the stored table's view: valid until the
     * next transaction is judged). */
    uint64_t stored_frame;
    const corscope_response *stored_resp;
    /* A 304 to a request the page made conditional (its preflight announced
     * the condition): checked as it is (corscope_context). */
    bool conditional_by_page;
};

/* Judges t (of the flow f; Origin header origin[0..origin_len) or NULL).
 * t must carry headers (not CS_TXN_NO_HEADERS). */
void cs_judge(struct cs_timeline *tl, const struct cs_flow_key *f, const struct cs_txn *t,
              const char *origin, size_t origin_len, struct cs_judgement *j);

/* Judges t again in the credentials mode `mode` (a held preflight decided
 * by what followed it, and that actual request; the timeline is not
 * asked).  j: t's judgement when it has one (a 304 is then judged as its
 * stored response again), else NULL. */
void cs_judge_in_mode(const struct cs_txn *t, const struct cs_judgement *j, corscope_cred mode,
                      corscope_verdict *v);
/* A connection that never carried a request (txn.h): what each browser
 * reports for a request it was meant to carry.  Measured with the real
 * browsers (tests/browser: conn-refused, conn-timeout, conn-tls-alert). */
struct cs_conn_judgement {
    const char *failure;   /* "refused", "timed-out", "tls-alert", "tls-closed", "tls-reset" */
    const char *transport; /* "tcp" or "tls" */
    const char *firefox;   /* Firefox's reason key: CORSDidNotSucceed */
    const char *chromium;  /* Chromium's net error, "net::ERR_..." */
    const char *tls_alert; /* the alert's name, or NULL */
};

void cs_judge_conn(enum cs_conn_failure failure, int tls_alert, struct cs_conn_judgement *j);

/* The name of a TLS alert description (RFC 8446 §6, RFC 5246 §7.2), or
 * NULL for a code no RFC names. */
const char *cs_tls_alert_name(int code);

#endif
