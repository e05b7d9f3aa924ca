/* The output stage's sentences for the judge's structured answers (see
 * explain.h).  Their wording is part of the output (golden files). */
#include <stdio.h>
#include <string.h>

#include "packet.h"

#include "explain.h"

static void fmt_age(char *buf, size_t size, cs_time_ns d)
{
    snprintf(buf, size, "%.3fs", (double)d / 1e9);
}

/* The timeline's facts as one sentence (at most CS_TL_NOTE_MAX - 1 bytes). */
static void timeline_note(const struct cs_timeline_facts *f, char *note, size_t size)
{
    char age[32];
    note[0] = '\0';
    switch (f->what) {
    case CS_TL_NOTHING:
        break;
    case CS_TL_LINKED:
        fmt_age(age, sizeof(age), f->age);
        snprintf(note, size, "Preflight: frame %llu (flow %llu), %s earlier.",
                 (unsigned long long)f->preflight_frame, (unsigned long long)f->preflight_flow, age);
        break;
    case CS_TL_SENT_AFTER_FAILED:
        snprintf(note, size,
                 "Sent although its preflight (frame %llu) failed: a browser would not have sent it.",
                 (unsigned long long)f->preflight_frame);
        break;
    case CS_TL_CACHED:
        fmt_age(age, sizeof(age), f->age);
        snprintf(note, size,
                 "No preflight: served from the preflight cache of %s (preflight frame %llu, %s earlier).",
                 f->browsers == (CS_TL_FIREFOX | CS_TL_CHROMIUM) ? "both browsers" : (f->browsers & CS_TL_FIREFOX) ? "Firefox only"
                                                                                                                   : "Chromium only",
                 (unsigned long long)f->cache_frame, age);
        break;
    case CS_TL_UNEXPLAINED:
        snprintf(note, size,
                 "Needs a preflight, but none was seen and no cached one covers it: the preflight "
                 "predates the capture, the client is not a browser, or CORS is disabled (Firefox).");
        break;
    case CS_TL_FOLLOWED:
        fmt_age(age, sizeof(age), f->age);
        snprintf(note, size,
                 "Credentials %s inferred: the actual request followed (frame %llu, %s later), "
                 "and the preflight passes only in that mode.",
                 f->credentials == CORSCOPE_CRED_INCLUDE ? "\"include\"" : "\"omit\"",
                 (unsigned long long)f->follow_frame, age);
        break;
    case CS_TL_NOT_FOLLOWED:
        fmt_age(age, sizeof(age), f->age);
        snprintf(note, size,
                 "Credentials %s inferred: the actual request never came (%s%s), and the "
                 "preflight fails only in that mode: the browser did not send it.",
                 f->credentials == CORSCOPE_CRED_INCLUDE ? "\"include\"" : "\"omit\"",
                 f->capture_ended ? "the capture ended first" : "none within ",
                 f->capture_ended ? "" : age);
        break;
    case CS_TL_GAVE_UP:
        fmt_age(age, sizeof(age), f->age);
        snprintf(note, size,
                 "Allowed in every credentials mode, but the actual request never came (%s%s): "
                 "the browser or the page gave up (aborted, navigated away).",
                 f->capture_ended ? "the capture ended first" : "none within ",
                 f->capture_ended ? "" : age);
        break;
    case CS_TL_PREFLIGHT_BLOCKS:
        snprintf(note, size, "%s not send the actual %.*s request.",
                 f->browsers == (CS_TL_FIREFOX | CS_TL_CHROMIUM) ? "The preflight failed: the browser does" : (f->browsers & CS_TL_FIREFOX) ? "Firefox would"
                                                                                                                                            : "Chromium would",
                 f->method ? (int)(f->method_len > 24 ? 24 : f->method_len) : 0,
                 f->method ? f->method : "");
        break;
    }
}

void cs_explain(const struct cs_judgement *j, char *buf, size_t size)
{
    if (j->cut) {
        const char *why = (j->cut & CS_TXN_HEADER_GAP) ? "part of the headers was lost in a capture gap"
                                                       : "the headers were cut at a header limit";
        snprintf(buf, size, "Not judged: %s; on the headers seen, Firefox: %s%s%s, Chromium: %s%s%s.",
                 why, corscope_outcome_name(j->seen_firefox), j->seen_firefox_reason ? " " : "",
                 j->seen_firefox_reason ? j->seen_firefox_reason : "",
                 corscope_outcome_name(j->seen_chromium), j->seen_chromium_error ? " " : "",
                 j->seen_chromium_error ? j->seen_chromium_error : "");
        return;
    }
    /* "<classifier note> <timeline note>", either alone, or nothing: plain
     * copies when both fit (the usual sizes add up), no snprintf */
    char tl[CS_TL_NOTE_MAX];
    timeline_note(&j->facts, tl, sizeof tl);
    size_t vn = strlen(j->v.note), fn = strlen(tl), n = vn;
    if (vn + fn + 2 > size) {
        snprintf(buf, size, "%s%s%s", j->v.note, vn && fn ? " " : "", tl);
        return;
    }
    memcpy(buf, j->v.note, vn);
    if (vn && fn)
        buf[n++] = ' ';
    memcpy(buf + n, tl, fn);
    buf[n + fn] = '\0';
}

void cs_explain_conn(const struct cs_conn_judgement *j, const struct cs_flow_key *f, uint32_t syns,
                     bool browser, char *hint, size_t hint_size, char *note, size_t note_size)
{
    char a[64];
    cs_addr_format(&f->server, a, sizeof a);
    const char *l = f->server.family == 6 ? "[" : "", *r = f->server.family == 6 ? "]" : "";
    unsigned port = f->server_port;
    switch (j->failure ? j->failure[0] : 0) {
    case 'r':
        snprintf(hint, hint_size,
                 "Nothing accepts connections on %s%s%s:%u (the SYN was answered by a RST): is the "
                 "server running on port %u?",
                 l, a, r, port, port);
        break;
    case 't':
        if (j->failure[1] == 'i')
            snprintf(hint, hint_size,
                     "%u SYN%s to %s%s%s:%u got no answer: is the host up, is the address right, "
                     "and does a firewall drop port %u?",
                     syns, syns == 1 ? "" : "s", l, a, r, port, port);
        else if (j->tls_alert)
            snprintf(hint, hint_size,
                     "The server on %s%s%s:%u refused the TLS handshake with a fatal %s alert: check "
                     "its TLS configuration (protocol versions, cipher suites, the certificate for "
                     "this host name, client certificates).",
                     l, a, r, port, j->tls_alert);
        else if (strcmp(j->failure, "tls-alert") == 0)
            snprintf(hint, hint_size,
                     "The server on %s%s%s:%u refused the TLS handshake with a fatal alert: check "
                     "its TLS configuration.",
                     l, a, r, port);
        else
            snprintf(hint, hint_size,
                     "The server on %s%s%s:%u %s the connection instead of answering the TLS "
                     "ClientHello: does it speak TLS on port %u (not plain HTTP), and does it accept "
                     "this host name?",
                     l, a, r, port, strcmp(j->failure, "tls-reset") == 0 ? "reset" : "closed", port);
        break;
    default:
        hint[0] = '\0';
        break;
    }
    snprintf(note, note_size,
             "No request was sent on this connection, so corscope cannot know whether it was "
             "cross-origin (a same-origin request fails alike, with no CORS message)%s",
             browser ? "; reported because the client spoke HTTP to another origin in this capture "
                       "(a browser)."
                     : "; reported because of --all (the client spoke no HTTP to another origin in "
                       "this capture).");
}
