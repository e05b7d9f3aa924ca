/* The output stage's sentences for the judge's structured answers (see
 * explain.h).  Their wording is part of the output (golden files). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "digits.h"
#include "packet.h"

#include "explain.h"

/* A note being written: snprintf's result without its format parsing (a
 * note is written for most events).  Like snprintf, the text is cut at
 * size - 1 bytes and always NUL-terminated. */
struct note_buf {
    char *p;
    size_t size, len;
};

static void nb_add(struct note_buf *b, const char *s, size_t n)
{
    size_t room = b->size - 1 - b->len; /* b->len < b->size always */
    if (n > room)
        n = room;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

#define nb_lit(b, s) nb_add((b), (s), sizeof(s) - 1)

static void nb_str(struct note_buf *b, const char *s)
{
    nb_add(b, s, strlen(s));
}

static void nb_u64(struct note_buf *b, uint64_t v)
{
    char tmp[20];
    size_t n = cs_u64_digits(tmp, v);
    nb_add(b, tmp + sizeof tmp - n, n);
}

/* "%.3fs" of d / 1e9 seconds.  From the integer nanoseconds: below 10^6 s
 * the double is within 10^-10 of the exact quotient, and a count of
 * nanoseconds is at least 10^-9 from a rounding boundary unless it lies
 * exactly on one (a remainder of 500000 ns), so rounding the integer goes
 * the way printf rounds the double; ties and the rest go to snprintf. */
static void nb_age(struct note_buf *b, cs_time_ns d)
{
    if (d < 0 || d >= 1000000000000000LL || d % 1000000 == 500000) {
        char age[32];
        snprintf(age, sizeof age, "%.3fs", (double)d / 1e9);
        nb_str(b, age);
        return;
    }
    uint64_t ms = (uint64_t)(d / 1000000) + (d % 1000000 > 500000);
    nb_u64(b, ms / 1000);
    char frac[5] = {'.', (char)('0' + ms / 100 % 10), (char)('0' + ms / 10 % 10),
                    (char)('0' + ms % 10), 's'};
    nb_add(b, frac, sizeof frac);
}

/* The timeline's facts as one sentence (at most CS_TL_NOTE_MAX - 1 bytes). */
static void timeline_note(const struct cs_timeline_facts *f, char *note, size_t size)
{
    struct note_buf nb = {note, size, 0}, *b = &nb;
    note[0] = '\0';
    switch (f->what) {
    case CS_TL_NOTHING:
        break;
    case CS_TL_LINKED:
        nb_lit(b, "Preflight: frame ");
        nb_u64(b, f->preflight_frame);
        nb_lit(b, " (flow ");
        nb_u64(b, f->preflight_flow);
        nb_lit(b, "), ");
        nb_age(b, f->age);
        nb_lit(b, " earlier.");
        break;
    case CS_TL_SENT_AFTER_FAILED:
        nb_lit(b, "Sent although its preflight (frame ");
        nb_u64(b, f->preflight_frame);
        nb_lit(b, ") failed: a browser would not have sent it.");
        break;
    case CS_TL_CACHED:
        nb_lit(b, "No preflight: served from the preflight cache of ");
        nb_str(b, f->browsers == (CS_TL_FIREFOX | CS_TL_CHROMIUM) ? "both browsers"
                  : (f->browsers & CS_TL_FIREFOX)                 ? "Firefox only"
                                                                  : "Chromium only");
        nb_lit(b, " (preflight frame ");
        nb_u64(b, f->cache_frame);
        nb_lit(b, ", ");
        nb_age(b, f->age);
        nb_lit(b, " earlier).");
        break;
    case CS_TL_UNEXPLAINED:
        nb_lit(b, "Needs a preflight, but none was seen and no cached one covers it: the preflight "
                  "predates the capture, the client is not a browser, or CORS is disabled (Firefox).");
        break;
    case CS_TL_FOLLOWED:
        nb_lit(b, "Credentials ");
        nb_str(b, f->credentials == CORSCOPE_CRED_INCLUDE ? "\"include\"" : "\"omit\"");
        nb_lit(b, " inferred: the actual request followed (frame ");
        nb_u64(b, f->follow_frame);
        nb_lit(b, ", ");
        nb_age(b, f->age);
        nb_lit(b, " later), and the preflight passes only in that mode.");
        break;
    case CS_TL_NOT_FOLLOWED:
        nb_lit(b, "Credentials ");
        nb_str(b, f->credentials == CORSCOPE_CRED_INCLUDE ? "\"include\"" : "\"omit\"");
        nb_lit(b, " inferred: the actual request never came (");
        if (f->capture_ended) {
            nb_lit(b, "the capture ended first");
        } else {
            nb_lit(b, "none within ");
            nb_age(b, f->age);
        }
        nb_lit(b, "), and the preflight fails only in that mode: the browser did not send it.");
        break;
    case CS_TL_GAVE_UP:
        nb_lit(b, "Allowed in every credentials mode, but the actual request never came (");
        if (f->capture_ended) {
            nb_lit(b, "the capture ended first");
        } else {
            nb_lit(b, "none within ");
            nb_age(b, f->age);
        }
        nb_lit(b, "): the browser or the page gave up (aborted, navigated away).");
        break;
    case CS_TL_PREFLIGHT_BLOCKS:
        nb_str(b, f->browsers == (CS_TL_FIREFOX | CS_TL_CHROMIUM) ? "The preflight failed: the browser does"
                  : (f->browsers & CS_TL_FIREFOX)                 ? "Firefox would"
                                                                  : "Chromium would");
        nb_lit(b, " not send the actual ");
        /* %.*s: at most 24 bytes, up to a NUL */
        if (f->method)
            nb_add(b, f->method, strnlen(f->method, f->method_len > 24 ? 24 : f->method_len));
        nb_lit(b, " request.");
        break;
    }
}

/* A 304's note: the page's own conditional request, or a revalidation
 * judged as its stored response.  Rare and out of line (cold): the report
 * thread's code does not fit the instruction cache as it is. */
__attribute__((cold, noinline)) static void explain_304(const struct cs_judgement *j, const char *tl,
                                                        char *buf, size_t size)
{
    const char *sep = j->v.note[0] ? " " : "", *tsep = tl[0] ? " " : "";
    if (j->conditional_by_page)
        snprintf(buf, size,
                 "The page made this request conditional (its preflight announced the condition): "
                 "the browser checks this 304 as it is, not a stored response.%s%s%s%s",
                 sep, j->v.note, tsep, tl);
    else
        snprintf(buf, size,
                 "Revalidation: the browser checks the stored response (frame %" PRIu64
                 ", status %d) with this 304's fields applied.%s%s%s%s",
                 j->stored_frame, j->stored_resp->status, sep, j->v.note, tsep, tl);
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
    if (j->conditional_by_page || j->stored_frame) {
        explain_304(j, tl, buf, size);
        return;
    }
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
