/* Text output (-o text): the per-flow CORS timeline for people.
 *
 *   flow 3  10.0.0.1:51234 -> 10.0.0.2:80  started 2026-01-01 00:00:01.250Z
 *     +0.000s  #12/#14  OPTIONS http://api.example/items  204  preflight  allowed
 *     +0.011s  #16/#18  PUT http://api.example/items  200  actual  BLOCKED
 *              Firefox   Cross-Origin Request Blocked: ... (Reason: ...).
 *              Chromium  MissingAllowOriginHeader
 *              Fix       Send `Access-Control-Allow-Origin: ...` on this response.
 *
 * Writers append to a caller-owned growing buffer (the report keeps one per
 * flow and prints it as a block). */
#ifndef CS_OUT_TEXT_H
#define CS_OUT_TEXT_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include "event.h"
#include "summary.h"

struct cs_text_style {
    bool color;
    bool show_firefox, show_chromium;
    unsigned width; /* wrap message lines at this many columns (0: never) */
    bool ascii;     /* the locale is not UTF-8: curly quotes as ASCII ones */
};

/* The short human phrase for a Firefox reason key ("CORSMissingAllowOrigin",
 * also with its numbered variants' digits), or NULL for other names. */
const char *cs_reason_phrase(const char *key);

/* Appends the legend of the kinds whose bits (1 << corscope_kind) are set
 * in `kinds`: one line each. */
void cs_out_text_legend(FILE *out, unsigned kinds, const struct cs_text_style *st);

/* Appends s[0..len) with every byte from the wire that could drive a
 * terminal or break UTF-8 escaped (\xNN, \uNNNN; out_text.c). */
void cs_out_text_escape(GString *buf, const char *s, size_t len);

/* The block's first line for flow f; tls_version ("1.3") for a flow
 * decrypted with a key log, NULL for plaintext. */
void cs_out_text_flow_header(GString *buf, const struct cs_flow_key *f, const struct cs_text_style *st,
                             bool continued, const char *tls_version);
/* One event (several lines when it carries messages). */
void cs_out_text_event(GString *buf, const struct cs_event *ev, const struct cs_text_style *st);
/* A line for a flow-level fact (e.g. "connection reset", "TLS, not analyzable"). */
void cs_out_text_flow_note(GString *buf, const struct cs_flow_key *f, cs_time_ns ts, const char *text,
                           const struct cs_text_style *st);
void cs_out_text_summary(FILE *out, const struct cs_summary *s, const struct cs_text_style *st);

#endif
