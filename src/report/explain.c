/* The output stage's sentences for the judge's structured answers (see
 * explain.h).  Their wording is part of the output (golden files). */
#include <stdio.h>
#include <string.h>

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
