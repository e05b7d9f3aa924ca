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
    case CS_TXN_MALFORMED: return CORSCOPE_FAIL_MALFORMED;
    case CS_TXN_ABORTED: return CORSCOPE_FAIL_ABORTED;
    case CS_TXN_CLOSED: return CORSCOPE_FAIL_CLOSED;
    case CS_TXN_UNANSWERED: return CORSCOPE_FAIL_UNANSWERED;
    case CS_TXN_CAPTURE_ENDED: return CORSCOPE_FAIL_CAPTURE_ENDED;
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

static bool over_h2(const struct cs_txn *t)
{
    return t->stream != 0; /* an h2 stream id (HTTP/1.x: 0) */
}

void cs_judge(struct cs_timeline *tl, const struct cs_flow_key *f, const struct cs_txn *t,
              const char *origin, size_t origin_len, struct cs_judgement *j)
{
    const corscope_request *rq = &t->req;
    const corscope_response *rs = t->has_resp ? &t->resp : NULL;
    corscope_context cctx = {.credentials = CORSCOPE_CRED_UNKNOWN,
                             .failure = failure_for(t->end),
                             .over_h2 = over_h2(t)};
    corscope_verdict *v = &j->v;
    j->retry = false;
    j->cut = 0;
    j->stored_frame = 0;
    j->stored_resp = NULL;
    j->conditional_by_page = false;
    memset(&j->facts, 0, sizeof j->facts);

    /* The first pass settles the kind; actual requests are then judged
     * again with what the timeline knows (credentials from the preflight). */
    corscope_classify(rq, rs, &cctx, v);
    j->cors = v->kind == CORSCOPE_KIND_ACTUAL || v->kind == CORSCOPE_KIND_SIMPLE ||
              v->kind == CORSCOPE_KIND_PREFLIGHT;
    if (j->cors && !rs && t->end == CS_TXN_ABORTED)
        return; /* cancelled by the page: nothing follows, nothing to link */
    if (j->cors && !rs && cs_timeline_is_retry(tl, &f->client, rq->method, rq->method_len, v->url, origin, origin_len, t->req_ts)) {
        j->retry = true; /* an automatic retry of the failure just reported */
        return;
    }
    /* every request: a Cookie to a host is remembered for the same-site rule */
    enum cs_cookie_evidence cookie = cs_cookies_request(cs_timeline_cookies(tl), cs_timeline_site(tl),
                                                        &f->client, rq, origin, origin_len, v->url);
    if (v->kind == CORSCOPE_KIND_ACTUAL || v->kind == CORSCOPE_KIND_SIMPLE) {
        cs_timeline_before_actual(tl, &f->client, rq, v->url, origin, origin_len,
                                  v->kind == CORSCOPE_KIND_ACTUAL, t->req_ts, &j->facts);
        if (cookie == CS_COOKIE_SENT && j->facts.credentials == CORSCOPE_CRED_INCLUDE) {
            j->facts.cred_from = CS_TL_CRED_FROM_COOKIE;
        } else if (cookie == CS_COOKIE_WITHHELD && j->facts.credentials == CORSCOPE_CRED_UNKNOWN) {
            j->facts.credentials = CORSCOPE_CRED_OMIT;
            j->facts.cred_from = CS_TL_CRED_FROM_NO_COOKIE;
        }
        bool again = false;
        if (rs) {
            /* A 304 is checked as the stored response it refreshes, unless
             * the page made the request conditional itself; a response the
             * browser may revalidate later is kept for that (stored.h). */
            struct cs_stored *st = cs_timeline_stored(tl);
            if (rs->status != 304) {
                cs_stored_response(st, j->facts.request_key, origin, origin_len, v->url, rq, rs,
                                   t->resp_frame);
            } else if (j->facts.conditional_by_page) {
                cctx.conditional_by_page = j->conditional_by_page = again = true;
            } else {
                const struct cs_stored_view *sv =
                    cs_stored_revalidate(st, j->facts.request_key, origin, origin_len, v->url, rq, rs);
                if (sv) {
                    rs = j->stored_resp = &sv->resp;
                    j->stored_frame = sv->frame;
                    again = true;
                }
            }
        }
        if (j->facts.credentials != CORSCOPE_CRED_UNKNOWN) {
            again |= j->facts.credentials != v->credentials;
            cctx.credentials = j->facts.credentials;
        }
        if (again)
            corscope_classify(rq, rs, &cctx, v);
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

void cs_judge_in_mode(const struct cs_txn *t, const struct cs_judgement *j, corscope_cred mode,
                      corscope_verdict *v)
{
    corscope_context cctx = {.credentials = mode,
                             .failure = failure_for(t->end),
                             .conditional_by_page = j && j->conditional_by_page,
                             .over_h2 = over_h2(t)};
    const corscope_response *rs = j && j->stored_frame ? j->stored_resp : t->has_resp ? &t->resp
                                                                                      : NULL;
    corscope_classify(&t->req, rs, &cctx, v);
}

const char *cs_tls_alert_name(int code)
{
    switch (code) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 21: return "decryption_failed";
    case 22: return "record_overflow";
    case 30: return "decompression_failure";
    case 40: return "handshake_failure";
    case 41: return "no_certificate";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 60: return "export_restriction";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 100: return "no_renegotiation";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 111: return "certificate_unobtainable";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 114: return "bad_certificate_hash_value";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    }
    return NULL;
}

/* Chromium's net error for a fatal alert received during the handshake
 * (BoringSSL's error for the alert, mapped by net/ssl/openssl_ssl_util.cc);
 * handshake_failure is measured (tests/browser conn-tls-alert: Chromium 156
 * says net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH), the others follow that
 * mapping; an alert it does not list is net::ERR_SSL_PROTOCOL_ERROR. */
static const char *chromium_alert_error(int code)
{
    switch (code) {
    case 40: /* measured: Chromium 156 */
    case 70:
    case 71: return "net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH";
    case 42:
    case 43:
    case 44:
    case 45:
    case 46:
    case 48:
    case 49:
    case 116: return "net::ERR_BAD_SSL_CLIENT_AUTH_CERT";
    case 30: return "net::ERR_SSL_DECOMPRESSION_FAILURE_ALERT";
    case 20: return "net::ERR_SSL_BAD_RECORD_MAC_ALERT";
    case 51: return "net::ERR_SSL_DECRYPT_ERROR_ALERT";
    case 112: return "net::ERR_SSL_UNRECOGNIZED_NAME_ALERT";
    }
    return "net::ERR_SSL_PROTOCOL_ERROR";
}

void cs_judge_conn(enum cs_conn_failure failure, int tls_alert, struct cs_conn_judgement *j)
{
    memset(j, 0, sizeof *j);
    /* a cross-origin fetch that fails on the network: Firefox's console
     * says CORSDidNotSucceed whatever the cause (measured for each) */
    j->firefox = "CORSDidNotSucceed";
    j->transport = "tls";
    switch (failure) {
    case CS_CONN_REFUSED:
        j->failure = "refused";
        j->transport = "tcp";
        j->chromium = "net::ERR_CONNECTION_REFUSED";
        break;
    case CS_CONN_TIMED_OUT:
        j->failure = "timed-out";
        j->transport = "tcp";
        j->chromium = "net::ERR_CONNECTION_TIMED_OUT";
        break;
    case CS_CONN_TLS_ALERT:
        j->failure = "tls-alert";
        j->tls_alert = cs_tls_alert_name(tls_alert);
        j->chromium = chromium_alert_error(tls_alert);
        break;
    case CS_CONN_TLS_CLOSED:
        j->failure = "tls-closed";
        j->chromium = "net::ERR_CONNECTION_CLOSED";
        break;
    case CS_CONN_TLS_RESET:
        j->failure = "tls-reset";
        j->chromium = "net::ERR_CONNECTION_RESET";
        break;
    case CS_CONN_OK:
    default:
        j->firefox = NULL;
        j->transport = "tcp";
        break;
    }
}
