#include <inttypes.h>
#include <string.h>

#include "digits.h"
#include "corscope/cors.h"

#include "json.h"
#include "out_text.h"
#include "utf8.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[1;31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_MAGENTA "\033[35m"
#define C_CYAN "\033[36m"

static const char *paint(const struct cs_text_style *st, const char *code)
{
    return st->color ? code : "";
}

/* The text writers append known-length pieces and format numbers by hand:
 * g_string_append_printf (a vasprintf and a copy per call) was a third of
 * the instructions of a text run.  The bytes are those printf wrote.
 * put() copies straight into the GString while it has room (its fields
 * are public); only growing goes through glib, whose append of a few
 * bytes costs a call into g_string_insert_len each time. */
static inline void put(GString *buf, const char *s, size_t n)
{
    if (buf->len + n < buf->allocated_len) {
        memcpy(buf->str + buf->len, s, n);
        buf->len += n;
        buf->str[buf->len] = '\0';
    } else {
        g_string_append_len(buf, s, (gssize)n);
    }
}

static inline void put_c(GString *buf, char c)
{
    put(buf, &c, 1);
}

static inline void put_str(GString *buf, const char *s)
{
    put(buf, s, strlen(s));
}

#define put_lit(buf, s) put((buf), (s), sizeof(s) - 1)

static void put_u64(GString *buf, uint64_t v)
{
    char tmp[20];
    size_t n = cs_u64_digits(tmp, v);
    put(buf, tmp + sizeof tmp - n, n);
}

/* As printf's %d. */
static void put_int(GString *buf, int v)
{
    if (v < 0) {
        put_c(buf, '-');
        put_u64(buf, (uint64_t)0 - (uint64_t)(int64_t)v);
    } else {
        put_u64(buf, (uint64_t)v);
    }
}

/* Appends len bytes of s for a terminal: what the wire sent must not drive
 * it (escape sequences, including the 8-bit CSI 0x9B), reorder the line
 * (bidi controls) or make it invalid UTF-8, whatever the colour setting.
 *  - printable ASCII and valid UTF-8 of other code points: as they are;
 *  - C0 controls, DEL and every byte that is not part of a valid UTF-8
 *    sequence (raw C1 bytes, overlongs, surrogates, > U+10FFFF, cut
 *    sequences): \xNN, one per byte;
 *  - valid UTF-8 of a C1, bidi or separator control (utf8.h): \uNNNN.
 * Plain ASCII is skipped 8 bytes at a time and appended in runs. */
void cs_out_text_escape(GString *buf, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;
    for (size_t i = 0; i < len;) {
        uint64_t w;
        while (len - i >= sizeof w && (memcpy(&w, p + i, sizeof w), !cs_word_not_printable(w)))
            i += sizeof w;
        if (i == len)
            break;
        unsigned c = p[i];
        if (c >= 0x20 && c < 0x7f) {
            i++;
            continue;
        }
        size_t n = 0;
        unsigned cp = 0;
        if (c >= 0x80) {
            n = cs_utf8_seq(p + i, len - i, &cp);
            if (n && !cs_utf8_is_wire_control(cp)) {
                i += n;
                continue;
            }
        }
        put(buf, s + run, i - run);
        if (n) {
            char esc[6] = {'\\', 'u', hex[cp >> 12], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15],
                           hex[cp & 15]};
            put(buf, esc, 6);
            i += n;
        } else {
            char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            put(buf, esc, 4);
            i++;
        }
        run = i;
    }
    put(buf, s + run, len - run);
}

static void append_safe_cstr(GString *buf, const char *s)
{
    cs_out_text_escape(buf, s, strlen(s));
}

static const char *verdict_color(const char *v)
{
    if (!v)
        return C_DIM;
    if (strcmp(v, "blocked") == 0)
        return C_RED;
    if (strcmp(v, "allowed") == 0)
        return C_GREEN;
    if (strcmp(v, "warning") == 0)
        return C_YELLOW;
    if (strcmp(v, "unknown") == 0)
        return C_MAGENTA;
    return C_DIM;
}

/* "addr:port", IPv6 in brackets; text is the formatted address. */
static void end_point(GString *buf, const struct cs_addr *a, const char *text, unsigned port)
{
    if (a->family == 6)
        put_c(buf, '[');
    put_str(buf, text);
    if (a->family == 6)
        put_c(buf, ']');
    put_c(buf, ':');
    put_u64(buf, port);
}

void cs_out_text_flow_header(GString *buf, const struct cs_flow_key *f, const struct cs_text_style *st,
                             bool continued, const char *tls_version)
{
    char c[64], s[64], t[40];
    cs_addr_format(&f->client, c, sizeof(c));
    cs_addr_format(&f->server, s, sizeof(s));
    put_str(buf, paint(st, C_BOLD));
    put_lit(buf, "flow ");
    put_u64(buf, f->id);
    put_str(buf, paint(st, C_RESET));
    put_lit(buf, "  ");
    end_point(buf, &f->client, c, f->client_port);
    put_lit(buf, " -> ");
    end_point(buf, &f->server, s, f->server_port);
    if (tls_version) {
        put_lit(buf, "  TLS ");
        put_str(buf, tls_version);
    }
    cs_format_time_text(f->first_ts, t, sizeof(t));
    put_lit(buf, "  ");
    put_str(buf, continued ? "(continued) " : "started ");
    put_str(buf, t);
    put_c(buf, '\n');
}

static void rel_time(GString *buf, const struct cs_flow_key *f, cs_time_ns ts)
{
    int64_t d = ts - f->first_ts;
    if (d < 0)
        d = 0;
    unsigned ms = (unsigned)((d / 1000000) % 1000);
    char frac[5] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 's'};
    put_lit(buf, "  +");
    put_u64(buf, (uint64_t)(d / 1000000000));
    put(buf, frac, 5);
}

/* Curly quotes (U+2018, U+2019, U+201C, U+201D: Firefox's messages) as
 * ASCII ones, for a terminal whose locale is not UTF-8. */
static void ascii_quotes(GString *buf, size_t from)
{
    size_t w = from;
    for (size_t i = from; i < buf->len;) {
        const unsigned char *p = (const unsigned char *)buf->str + i;
        if (i + 2 < buf->len && p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0x98 && p[2] <= 0x9d &&
            p[2] != 0x9a && p[2] != 0x9b) {
            buf->str[w++] = p[2] <= 0x99 ? '\'' : '"';
            i += 3;
        } else {
            buf->str[w++] = buf->str[i++];
        }
    }
    g_string_truncate(buf, w);
}

/* Columns a run of UTF-8 takes (one per code point: the messages and the
 * escaped wire text hold no wide characters that matter here). */
static size_t columns(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* The detail text from `from` to the end of buf, wrapped at spaces to
 * st->width columns; continuation lines start at column `indent`.  A word
 * longer than a line (a URL) stays whole. */
static void wrap(GString *buf, size_t from, size_t indent, const struct cs_text_style *st)
{
    size_t avail = st->width > indent + 20 ? st->width - indent : 0;
    if (!avail || columns(buf->str + from, buf->len - from) <= avail)
        return;
    GString *text = g_string_new_len(buf->str + from, (gssize)(buf->len - from));
    g_string_truncate(buf, from);
    size_t col = 0;
    const char *p = text->str, *end = text->str + text->len;
    while (p < end) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *we = sp ? sp : end;
        size_t wc = columns(p, (size_t)(we - p));
        if (col && col + 1 + wc > avail) {
            put_c(buf, '\n');
            for (size_t i = 0; i < indent; i++)
                put_c(buf, ' ');
            col = 0;
        } else if (col) {
            put_c(buf, ' ');
            col++;
        }
        put(buf, p, (size_t)(we - p));
        col += wc;
        p = sp ? sp + 1 : end;
    }
    g_string_free(text, TRUE);
}

#define DETAIL_INDENT 23 /* 13 spaces, the label's 9 columns, a space */

static void detail(GString *buf, const struct cs_text_style *st, const char *label, const char *text)
{
    if (!text)
        return;
    static const char pad[] = "         "; /* the label column: printf's %-9s */
    size_t n = strlen(label);
    put_lit(buf, "             ");
    put_str(buf, paint(st, C_CYAN));
    put(buf, label, n);
    if (n < sizeof pad - 1)
        put(buf, pad, sizeof pad - 1 - n);
    put_str(buf, paint(st, C_RESET));
    put_c(buf, ' ');
    size_t from = buf->len;
    append_safe_cstr(buf, text);
    if (st->ascii)
        ascii_quotes(buf, from);
    if (st->width)
        wrap(buf, from, DETAIL_INDENT, st);
    put_c(buf, '\n');
}

struct reason_phrase {
    const char *key, *phrase;
};

/* One short phrase per Firefox reason (cors-reasons.md). */
static const struct reason_phrase reason_phrases[] = {
    {"CORSDisabled", "CORS is disabled in the browser"},
    {"CORSDidNotSucceed", "no HTTP response: the connection failed, was reset or closed"},
    {"CORSOriginHeaderNotAdded", "the browser could not add the Origin header"},
    {"CORSExternalRedirectNotAllowed", "the preflight was answered with a redirect"},
    {"CORSRequestNotHttp", "redirected to a URL that is not http or https"},
    {"CORSMissingAllowOrigin", "no Access-Control-Allow-Origin header"},
    {"CORSAllowOriginNotMatchingOrigin", "Access-Control-Allow-Origin is not the request's Origin"},
    {"CORSNotSupportingCredentials", "Access-Control-Allow-Origin is `*` on a request with credentials"},
    {"CORSMethodNotFound", "the method is not in Access-Control-Allow-Methods"},
    {"CORSMissingAllowCredentials", "no `Access-Control-Allow-Credentials: true` on a request with credentials"},
    {"CORSPreflightDidNotSucceed", "the preflight was answered with a status that is not 2xx"},
    {"CORSInvalidAllowMethod", "Access-Control-Allow-Methods holds something that is not a method"},
    {"CORSInvalidAllowHeader", "Access-Control-Allow-Headers holds something that is not a header name"},
    {"CORSMissingAllowHeaderFromPreflight", "a request header is not in Access-Control-Allow-Headers"},
    {"CORSMultipleAllowOriginNotAllowed", "more than one Access-Control-Allow-Origin header"},
    {"CORSAllowHeaderFromPreflightDeprecation", "Authorization allowed only through `*` (deprecated; a warning)"},
};

const char *cs_reason_phrase(const char *key)
{
    if (!key)
        return NULL;
    size_t n = strlen(key);
    while (n && key[n - 1] >= '0' && key[n - 1] <= '9') /* CORSMissingAllowOrigin2 */
        n--;
    for (size_t i = 0; i < sizeof reason_phrases / sizeof reason_phrases[0]; i++)
        if (strlen(reason_phrases[i].key) == n && memcmp(reason_phrases[i].key, key, n) == 0)
            return reason_phrases[i].phrase;
    return NULL;
}

/* After the verdict, when it depends on the credentials mode: what the
 * other mode (credentials: "include") would give, in words. */
static void credentials_words(GString *buf, const struct cs_event *ev)
{
    const char *alt = ev->alt_reason;
    if (!alt) {
        put_lit(buf, "; would be allowed if sent with credentials");
        return;
    }
    const char *why = strncmp(alt, "CORSNotSupportingCredentials", 28) == 0  ? "Access-Control-Allow-Origin is `*`"
                      : strncmp(alt, "CORSMissingAllowCredentials", 27) == 0 ? "no `Access-Control-Allow-Credentials: true`"
                                                                             : cs_reason_phrase(alt);
    bool allowed = !ev->verdict || strcmp(ev->verdict, "blocked") != 0; /* allowed, warning */
    put_str(buf, allowed ? "; would be blocked if sent with credentials (" : "; if sent with credentials: ");
    put_str(buf, why ? why : alt);
    if (allowed)
        put_c(buf, ')');
}

/* A connection that never carried a request, on one line:
 *   +0.000s  #1/#2  connection refused (RST), 1 SYN, to 127.0.0.1:3000  BLOCKED
 *   CORSDidNotSucceed / net::ERR_CONNECTION_REFUSED  -- Nothing accepts ... */
static void conn_line(GString *buf, const struct cs_event *ev, const struct cs_text_style *st)
{
    const struct cs_txn *t = ev->txn;
    const struct cs_flow_key *f = ev->flow;
    rel_time(buf, f, t->req_ts);
    put_lit(buf, "  ");
    put_str(buf, paint(st, C_DIM));
    put_c(buf, '#');
    put_u64(buf, t->req_frame);
    if (ev->end_frame && ev->end_frame != t->req_frame) {
        put_lit(buf, "/#");
        put_u64(buf, ev->end_frame);
    }
    put_str(buf, paint(st, C_RESET));
    put_lit(buf, "  connection ");
    const char *what = strcmp(ev->failure, "refused") == 0      ? "refused (RST)"
                       : strcmp(ev->failure, "timed-out") == 0  ? "timed out (no answer)"
                       : strcmp(ev->failure, "tls-alert") == 0  ? "TLS handshake refused: alert "
                       : strcmp(ev->failure, "tls-closed") == 0 ? "TLS handshake cut: closed by the server"
                                                                : "TLS handshake cut: reset by the server";
    put_str(buf, what);
    if (strcmp(ev->failure, "tls-alert") == 0)
        put_str(buf, ev->tls_alert ? ev->tls_alert : "(unnamed)");
    put_lit(buf, ", ");
    put_u64(buf, ev->attempts);
    put_str(buf, ev->attempts == 1 ? " SYN" : " SYNs");
    put_lit(buf, "  ");
    put_str(buf, paint(st, verdict_color(ev->verdict)));
    put_lit(buf, "BLOCKED");
    put_str(buf, paint(st, C_RESET));
    put_lit(buf, "  ");
    bool ff = st->show_firefox && ev->reason, cr = st->show_chromium && ev->chrome;
    if (ff)
        put_str(buf, ev->reason);
    if (ff && cr)
        put_lit(buf, " / ");
    if (cr)
        put_str(buf, ev->chrome);
    if (ev->hint) {
        put_lit(buf, "  ");
        put_str(buf, paint(st, C_DIM));
        append_safe_cstr(buf, ev->hint);
        put_str(buf, paint(st, C_RESET));
    }
    put_c(buf, '\n');
}

void cs_out_text_event(GString *buf, const struct cs_event *ev, const struct cs_text_style *st)
{
    if (ev->failure) {
        conn_line(buf, ev, st);
        return;
    }
    const struct cs_txn *t = ev->txn;
    const corscope_request *rq = &t->req;
    bool rs = t->has_resp;
    rel_time(buf, ev->flow, t->req_ts);
    put_lit(buf, "  ");
    put_str(buf, paint(st, C_DIM));
    put_c(buf, '#');
    put_u64(buf, t->req_frame);
    if (rs) {
        put_lit(buf, "/#");
        put_u64(buf, t->resp_frame);
    }
    if (t->stream) { /* h2: the stream id */
        put_lit(buf, " s");
        put_u64(buf, t->stream);
    }
    put_str(buf, paint(st, C_RESET));
    put_lit(buf, "  ");
    cs_out_text_escape(buf, rq->method ? rq->method : "", rq->method ? rq->method_len : 0);
    put_c(buf, ' ');
    if (ev->host && rq->target_len && rq->target[0] == '/') {
        /* the request's scheme: "https" over TLS (or an h2 :scheme) */
        if (rq->scheme && rq->scheme_len)
            cs_out_text_escape(buf, rq->scheme, rq->scheme_len);
        else
            put_lit(buf, "http");
        put_lit(buf, "://");
        cs_out_text_escape(buf, ev->host, ev->host_len);
    }
    cs_out_text_escape(buf, rq->target ? rq->target : "", rq->target ? rq->target_len : 0);
    if (t->via_connect) {
        put_lit(buf, " (via CONNECT ");
        cs_out_text_escape(buf, t->via_connect, strlen(t->via_connect));
        put_c(buf, ')');
    }
    if (rs) {
        put_lit(buf, "  ");
        put_int(buf, t->resp.status);
    } else {
        put_lit(buf, "  ");
        put_str(buf, paint(st, C_DIM));
        put_lit(buf, "(no response: ");
        put_str(buf, t->end == CS_TXN_RESET ? "reset" : t->end == CS_TXN_STREAM_RESET ? "stream reset"
                                                    : t->end == CS_TXN_ABORTED        ? "cancelled by the client"
                                                    : t->end == CS_TXN_CLOSED         ? "closed"
                                                    : t->end == CS_TXN_GAP            ? "lost in a capture gap"
                                                    : t->end == CS_TXN_EVICTED        ? "evicted by a limit"
                                                    : t->end == CS_TXN_CAPTURE_ENDED  ? "the capture ended first"
                                                    : t->end == CS_TXN_MALFORMED      ? "malformed, refused"
                                                                                      : "never answered");
        put_c(buf, ')');
        put_str(buf, paint(st, C_RESET));
    }
    if (ev->kind) {
        put_lit(buf, "  ");
        put_str(buf, ev->kind);
        if (ev->verdict && strcmp(ev->verdict, "n/a") != 0) {
            const char *v = ev->verdict;
            put_lit(buf, "  ");
            put_str(buf, paint(st, verdict_color(v)));
            put_str(buf, strcmp(v, "blocked") == 0 ? "BLOCKED" : v);
            put_str(buf, paint(st, C_RESET));
        }
        if (ev->browsers_disagree)
            put_str(buf, " (browsers disagree)");
        if (ev->depends_on_credentials) {
            put_str(buf, paint(st, C_DIM));
            credentials_words(buf, ev);
            put_str(buf, paint(st, C_RESET));
        }
    }
    if (ev->origin) {
        put_lit(buf, "  ");
        put_str(buf, paint(st, C_DIM));
        put_lit(buf, "from ");
        cs_out_text_escape(buf, ev->origin, ev->origin_len);
        put_str(buf, paint(st, C_RESET));
    }
    put_c(buf, '\n');

    if (ev->judged_both && ev->browsers_disagree) {
        if (st->show_firefox) {
            detail(buf, st, "Firefox", ev->firefox.message ? ev->firefox.message : ev->firefox.verdict);
        }
        if (st->show_chromium) {
            char line[512];
            snprintf(line, sizeof(line), "%s%s%s", ev->chromium.verdict ? ev->chromium.verdict : "",
                     ev->chromium.error ? ": " : "", ev->chromium.error ? ev->chromium.error : "");
            detail(buf, st, "Chromium", line);
        }
    } else {
        if (st->show_firefox)
            detail(buf, st, "Firefox", ev->message);
        if (st->show_chromium)
            detail(buf, st, "Chromium", ev->chrome);
    }
    detail(buf, st, "Fix", ev->hint);
    detail(buf, st, "Note", ev->note);
    for (unsigned i = 0; i < ev->n_warnings; i++)
        detail(buf, st, "Warning", ev->warnings[i]);
}

void cs_out_text_flow_note(GString *buf, const struct cs_flow_key *f, cs_time_ns ts, const char *text,
                           const struct cs_text_style *st)
{
    rel_time(buf, f, ts);
    put_lit(buf, "  ");
    put_str(buf, paint(st, C_DIM));
    append_safe_cstr(buf, text);
    put_str(buf, paint(st, C_RESET));
    put_c(buf, '\n');
}

/* ", SNI a, b" of a sample of server names, escaped. */
static void sni_sample(GString *line, const char (*snis)[CS_TLS_STATS_SNI_LEN], unsigned n)
{
    for (unsigned j = 0; j < n; j++) {
        put_str(line, j ? ", " : " (SNI ");
        append_safe_cstr(line, snis[j]);
    }
    if (n)
        put_c(line, ')');
}

/* TLS decrypted with a key log: lines only for what is not zero. */
static void tls_lines(FILE *out, const struct cs_tls_stats *t)
{
    if (t->connections) {
        GString *line = g_string_new(NULL);
        g_string_append_printf(line, "  TLS: %" PRIu64 " connections, %" PRIu64 " decrypted",
                               t->connections, t->decrypted);
        if (t->no_key) {
            g_string_append_printf(line, ", %" PRIu64 " without a key", t->no_key);
            sni_sample(line, t->no_key_snis, t->n_no_key_snis);
        }
        /* "no-handshake" is said apart: nothing failed, the capture began
         * after those connections did. */
        uint64_t mid = 0;
        for (unsigned i = 0; i < CS_TLS_STATS_REASONS && t->failed_by[i].reason; i++)
            if (strcmp(t->failed_by[i].reason, "no-handshake") == 0)
                mid = t->failed_by[i].count;
        if (t->failed > mid) {
            g_string_append_printf(line, ", %" PRIu64 " failed (", t->failed - mid);
            const char *sep = "";
            for (unsigned i = 0; i < CS_TLS_STATS_REASONS && t->failed_by[i].reason; i++) {
                if (strcmp(t->failed_by[i].reason, "no-handshake") == 0)
                    continue;
                g_string_append_printf(line, "%s%s %" PRIu64, sep, t->failed_by[i].reason,
                                       t->failed_by[i].count);
                sep = ", ";
            }
            put_c(line, ')');
        }
        if (mid)
            g_string_append_printf(line, ", %" PRIu64 " picked up mid-stream (their handshake was not "
                                         "captured: no key can be found for them)",
                                   mid);
        if (t->incomplete)
            g_string_append_printf(line, ", %" PRIu64 " without a complete handshake", t->incomplete);
        if (t->held_dropped_records)
            g_string_append_printf(line, ", %" PRIu64 " records dropped waiting for a key "
                                         "(--max-tls-held-bytes)",
                                   t->held_dropped_records);
        fprintf(out, "%s\n", line->str);
        g_string_free(line, TRUE);
    }
    if (t->h2_unparsed) {
        GString *line = g_string_new(NULL);
        sni_sample(line, t->h2_snis, t->n_h2_snis);
        fprintf(out, "  h2, decrypted, not yet parsed: %" PRIu64 " connection%s%s\n", t->h2_unparsed,
                t->h2_unparsed == 1 ? "" : "s", line->str);
        g_string_free(line, TRUE);
    }
    if (t->keylog_lines_read)
        fprintf(out, "  Key log: %" PRIu64 " lines read, %" PRIu64 " used, %" PRIu64 " ignored\n",
                t->keylog_lines_read, t->keylog_lines_used, t->keylog_lines_ignored);
}

/* The kinds of frames not decoded, most frequent first ("118 ARP, 2 other
 * ethertype"), appended to `line`; returns how many frames they cover. */
static uint64_t skip_list(GString *line, const struct cs_decode_stats *d)
{
    bool done[CS_DECODE_SKIP_KINDS] = {false};
    uint64_t total = 0;
    for (;;) {
        int best = -1;
        for (int k = 0; k < CS_DECODE_SKIP_KINDS; k++)
            if (!done[k] && d->skipped[k] && (best < 0 || d->skipped[k] > d->skipped[best]))
                best = k;
        if (best < 0)
            return total;
        done[best] = true;
        g_string_append_printf(line, "%s%" PRIu64 " %s", total ? ", " : "", d->skipped[best],
                               cs_decode_skip_name((enum cs_decode_skip)best));
        total += d->skipped[best];
    }
}

/* "N packets not decoded (M PPPoE discovery, ...)" when any frame was
 * skipped, and when no TCP segment came out of the capture at all, one line
 * saying why (or "0 TCP connections" would read as "no HTTP here"). */
static void not_decoded_lines(FILE *out, const struct cs_decode_stats *d)
{
    uint64_t skipped = cs_decode_skipped_total(d);
    if (skipped) {
        GString *line = g_string_new(NULL);
        skip_list(line, d);
        fprintf(out, "  %" PRIu64 " packet%s not decoded (%s)\n", skipped, skipped == 1 ? "" : "s",
                line->str);
        g_string_free(line, TRUE);
    }
    if (d->tcp || !d->frames)
        return;
    if (d->skipped[CS_DECODE_SKIP_LINKTYPE] == d->frames) {
        if (d->frames == 1)
            fprintf(out, "  Nothing decoded: the only packet's link type is not supported\n");
        else
            fprintf(out, "  Nothing decoded: the link type of all %" PRIu64 " packets is not supported\n",
                    d->frames);
        return;
    }
    GString *line = g_string_new(NULL);
    uint64_t listed = skip_list(line, d);
    const struct {
        uint64_t n;
        const char *what;
    } errors[] = {{d->truncated, "truncated"}, {d->malformed, "malformed"}};
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].n) {
            g_string_append_printf(line, "%s%" PRIu64 " %s", listed ? ", " : "", errors[i].n,
                                   errors[i].what);
            listed += errors[i].n;
        }
    /* the rest were IP fragments whose datagram never completed */
    if (listed < d->frames)
        g_string_append_printf(line, "%s%" PRIu64 " IP fragment%s never reassembled", listed ? ", " : "",
                               d->frames - listed, d->frames - listed == 1 ? "" : "s");
    const char *what = d->non_ip + d->skipped[CS_DECODE_SKIP_LINKTYPE] == d->frames ? "IP" : "TCP";
    if (d->frames == 1)
        fprintf(out, "  Nothing decoded: the only packet was not %s (%s)\n", what, line->str);
    else
        fprintf(out, "  Nothing decoded: none of the %" PRIu64 " packets was %s (%s)\n", d->frames, what,
                line->str);
    g_string_free(line, TRUE);
}

void cs_out_text_summary(FILE *out, const struct cs_summary *s, const struct cs_text_style *st)
{
    const struct cs_decode_stats *d = &s->decode;
    const struct cs_flow_stats *fl = &s->flows;
    const struct cs_reasm_stats *r = &s->reasm;
    const struct cs_http_stats *h = &s->http;
    const struct cs_pipeline_stats *p = &s->pipeline;

    fprintf(out, "%sSummary%s\n", paint(st, C_BOLD), paint(st, C_RESET));
    fprintf(out, "  %" PRIu64 " packets, %" PRIu64 " TCP connections (%" PRIu64 " HTTP, %" PRIu64 " other, %" PRIu64 " without data), %" PRIu64 " HTTP transactions\n",
            d->frames, fl->created, p->http_flows, p->other_flows, p->empty_flows, s->transactions);
    not_decoded_lines(out, d);
    fprintf(out, "  CORS: %" PRIu64 " cross-origin requests: %s%" PRIu64 " allowed%s, %s%" PRIu64 " blocked%s, %" PRIu64 " warning, %" PRIu64 " unknown",
            s->cors_relevant, paint(st, C_GREEN), s->allowed, paint(st, C_RESET), paint(st, C_RED),
            s->blocked, paint(st, C_RESET), s->warnings, s->unknown);
    if (s->aborted)
        fprintf(out, ", %" PRIu64 " cancelled by the page", s->aborted);
    fprintf(out, "; %" PRIu64 " same-origin, %" PRIu64 " no-cors\n", s->same_origin, s->no_cors);
    const struct cs_handover_stats *ho = &s->handover;
    if (ho->connect_tunnels || ho->tunnels_too_deep)
        fprintf(out, "  CONNECT tunnels: %" PRIu64 " (%" PRIu64 " parsed inside, %" PRIu64 " not HTTP/TLS, %" PRIu64 " nested too deep, not followed)\n",
                ho->connect_tunnels, ho->tunnels_parsed, ho->tunnels_unparsed, ho->tunnels_too_deep);
    if (ho->h2c_upgrades)
        fprintf(out, "  h2c upgrades: %" PRIu64 " (%" PRIu64 " not followed by the h2 preface)\n",
                ho->h2c_upgrades, ho->h2c_not_h2);
    if (s->h2.connections)
        fprintf(out, "  HTTP/2: %" PRIu64 " connections, %" PRIu64 " streams, %" PRIu64 " RST_STREAM, %" PRIu64 " HPACK failures (headers undecodable from there on)\n",
                s->h2.connections, s->h2.streams, s->h2.resets, s->h2.hpack_failures);
    if (s->not_shown)
        fprintf(out, "  Not shown: %" PRIu64 " connection%s without cross-origin requests; --all shows them\n",
                s->not_shown, s->not_shown == 1 ? "" : "s");
    if (p->connections_refused || p->connections_unanswered || p->connections_tls_failed)
        fprintf(out, "  Connection attempts: %" PRIu64 " refused (RST), %" PRIu64 " unanswered, %" PRIu64 " TLS handshakes failed: a request meant for them fails (Firefox CORSDidNotSucceed); %" PRIu64 " reported, %" PRIu64 " not (client spoke no HTTP to another origin; --all shows them), %" PRIu64 " reconnects folded\n",
                p->connections_refused, p->connections_unanswered, p->connections_tls_failed,
                s->conn_reported, s->conn_not_reported, s->timeline.reconnects_folded);
    if (s->disagreements || s->depends_on_credentials)
        fprintf(out, "  Firefox and Chromium disagree on %" PRIu64 "; %" PRIu64 " verdicts depend on the credentials mode\n", s->disagreements, s->depends_on_credentials);
    if (s->n_reasons) {
        fprintf(out, "  Blocked or warned, by reason:\n");
        for (unsigned i = 0; i < s->n_reasons; i++) {
            const char *phrase = cs_reason_phrase(s->reasons[i].reason);
            fprintf(out, "    %6" PRIu64 "  %s%s%s\n", s->reasons[i].count, s->reasons[i].reason,
                    phrase ? ": " : "", phrase ? phrase : "");
        }
    }
    if (s->n_endpoints) {
        fprintf(out, "  Top blocked endpoints:\n");
        for (unsigned i = 0; i < s->n_endpoints; i++) {
            GString *line = g_string_new(NULL);
            append_safe_cstr(line, s->endpoints[i].endpoint);
            fprintf(out, "    %6" PRIu64 "  %s\n", s->endpoints[i].blocked, line->str);
            g_string_free(line, TRUE);
        }
    }
    if (p->n_protos) {
        fprintf(out, "  Not analyzable (not plaintext HTTP/1.x):");
        for (unsigned i = 0; i < p->n_protos; i++) {
            const struct cs_proto_count *pc = &p->protos[i];
            GString *line = g_string_new(NULL);
            for (unsigned j = 0; j < pc->n_snis; j++) {
                put_str(line, j ? ", " : " (SNI ");
                append_safe_cstr(line, pc->snis[j]);
            }
            if (pc->n_snis)
                put_c(line, ')');
            fprintf(out, "%s %" PRIu64 " %s flow%s%s", i ? "," : "", pc->flows, pc->name,
                    pc->flows == 1 ? "" : "s", line->str);
            g_string_free(line, TRUE);
        }
        fputc('\n', out);
    }
    tls_lines(out, &s->tls);
    fprintf(out, "  Capture: %" PRIu64 " gaps (%" PRIu64 " bytes never seen), %" PRIu64 " truncated packets, %" PRIu64 " malformed, %" PRIu64 " HTTP resyncs",
            r->gaps, r->gap_bytes, d->truncated, d->malformed, h->resyncs);
    if (s->live)
        fprintf(out, ", %" PRIu64 " received%s, %" PRIu64 " dropped by the kernel, %" PRIu64 " by the interface", s->received,
                s->loopback ? " (loopback: the kernel counts each packet twice, sent and received)" : "",
                s->dropped, s->ifdropped);
    fputc('\n', out);
    uint64_t dpi_hits = s->dpi.limit_hits;
    uint64_t caps = fl->evicted + r->held_cap_per_flow + r->held_cap_total + h->header_cap_hits +
                    h->header_lines_cap_hits + h->uri_cap_hits + h->pipeline_cap_hits + d->frag_dropped +
                    r->held_pieces_cap_per_flow + r->held_pieces_cap_total + dpi_hits +
                    s->h2.stream_cap_hits;
    if (caps) {
        fprintf(out, "  Limits hit: flows %" PRIu64 ", memory %" PRIu64 ", held bytes %" PRIu64 "/%" PRIu64 ", held pieces %" PRIu64 "/%" PRIu64 ", header bytes %" PRIu64 ", header lines %" PRIu64 ", URI %" PRIu64 ", pipeline %" PRIu64 ", IP fragments %" PRIu64,
                fl->evicted - fl->evicted_memory, fl->evicted_memory, r->held_cap_per_flow,
                r->held_cap_total, r->held_pieces_cap_per_flow, r->held_pieces_cap_total,
                h->header_cap_hits,
                h->header_lines_cap_hits, h->uri_cap_hits, h->pipeline_cap_hits, d->frag_dropped);
        /* only when hit, so the line of runs that never reach it is unchanged */
        if (dpi_hits)
            fprintf(out, ", nDPI inspection %" PRIu64, dpi_hits);
        if (s->h2.stream_cap_hits)
            fprintf(out, ", HTTP/2 streams %" PRIu64, s->h2.stream_cap_hits);
        fputc('\n', out);
    }
    const struct cs_timeline_stats *tl = &s->timeline;
    if (p->protos_overflow || s->reasons_dropped || s->endpoints_dropped || tl->pending_evicted ||
        tl->cache_evicted)
        fprintf(out, "  Tables full (left out above): %" PRIu64 " flows of unlisted protocols, %" PRIu64 " reason counts, %" PRIu64 " blocked endpoints; the timeline forgot %" PRIu64 " waiting preflights, %" PRIu64 " preflight-cache entries\n",
                p->protos_overflow, s->reasons_dropped, s->endpoints_dropped, tl->pending_evicted,
                tl->cache_evicted);
    if (tl->held_not_held)
        fprintf(out, "  %" PRIu64 " preflights reported undecided: the held-preflight table (%u) or its "
                     "share of --max-memory was full, or the URL too long to track\n",
                tl->held_not_held, CS_MAX_HELD_PREFLIGHTS);
}

void cs_out_text_legend(FILE *out, unsigned kinds, const struct cs_text_style *st)
{
    static const struct {
        corscope_kind kind;
        const char *text;
    } legend[] = {
        {CORSCOPE_KIND_SIMPLE, "a cross-origin request sent without a preflight (GET, HEAD or POST with only safelisted headers)"},
        {CORSCOPE_KIND_PREFLIGHT, "the OPTIONS request a browser sends first, asking whether the actual request may follow"},
        {CORSCOPE_KIND_ACTUAL, "a cross-origin request that needed a preflight, sent after the preflight passed"},
        {CORSCOPE_KIND_NO_CORS, "a request without an Origin header: the browser runs no CORS check"},
        {CORSCOPE_KIND_SAME_ORIGIN, "the Origin is the request's own origin: no CORS check"},
    };
    if (!kinds)
        return;
    fprintf(out, "\n%sKinds%s\n", paint(st, C_BOLD), paint(st, C_RESET));
    for (size_t i = 0; i < sizeof legend / sizeof legend[0]; i++)
        if (kinds & (1u << legend[i].kind))
            fprintf(out, "  %-11s  %s\n", corscope_kind_name(legend[i].kind), legend[i].text);
}
