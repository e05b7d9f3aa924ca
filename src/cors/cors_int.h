/* Internals shared by cors.c (the checks), cors_lists.c (header lookup,
 * token lists, safelists, preflight results) and cors_text.c (reason table,
 * console texts, hints).  Not part of the public API. */
#ifndef CS_CORS_INT_H
#define CS_CORS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include "corscope/cors.h"

/* ---- cors_lists.c: header access ---- */

/* ASCII case-insensitive equality of (a, alen) with the C string b. */
bool cs_cors_ieq(const char *a, size_t alen, const char *b);
/* Byte equality of (a, alen) with the C string b. */
bool cs_cors_eq(const char *a, size_t alen, const char *b);
/* Number of header lines whose name equals `name` case-insensitively. */
size_t cs_cors_count(const corscope_header *h, size_t n, const char *name);
/* Number of lines whose name is byte-exactly `name` (Firefox §4.15). */
size_t cs_cors_count_exact(const corscope_header *h, size_t n, const char *name);
/* Does the merged value (all `name` lines joined with ", ") equal (s, slen)
 * byte for byte?  False when the header is absent. */
bool cs_cors_merged_eq(const corscope_header *h, size_t n, const char *name,
                       const char *s, size_t slen);
/* Copies the merged value into buf (truncated, NUL-terminated); returns the
 * full merged length, or -1 when the header is absent. */
long cs_cors_merged_copy(const corscope_header *h, size_t n, const char *name,
                         char *buf, size_t size);
/* Does the merged value contain byte c? */
bool cs_cors_merged_has(const corscope_header *h, size_t n, const char *name, char c);

/* The lines of one header field inside a message: h points at the first
 * line with that name and n reaches up to the last one (n == 0: absent).
 * Passing (span.h, span.n) to the lookups above gives the same answers as
 * the whole message, without re-scanning every other line for each lookup. */
struct cs_span {
    const corscope_header *h;
    size_t n;
};
#define CS_SPAN(s) (s).h, (s).n

/* The CORS-relevant fields of a response, found in one pass. */
struct cs_resp_index {
    struct cs_span acao, acac, acam, acah, max_age, location, vary;
    struct cs_span content_length, content_disposition, transfer_encoding; /* refusal_of (cors.c) */
};
void cs_cors_index_response(const corscope_response *r, struct cs_resp_index *ix);

/* The fields of a request the classifier looks up. */
struct cs_req_index {
    struct cs_span origin, host, cookie, acrm, acrh;
};
void cs_cors_index_request(const corscope_request *q, struct cs_req_index *ix);

/* RFC 9110 token. */
bool cs_cors_is_token(const char *p, size_t len);

/* Walks the elements of a comma list spread over all `name` lines (Firefox
 * and Chromium split, trim SP/HTAB and skip empty elements).  *line and *pos
 * start at 0; returns false at the end. */
bool cs_cors_list_next_len(const corscope_header *h, size_t n, const char *name, size_t nlen,
                           size_t *line, size_t *pos, const char **tok, size_t *toklen);
/* Inline, so that a literal name's length is known at compile time (this
 * runs once per element of every preflight's lists). */
static inline bool cs_cors_list_next(const corscope_header *h, size_t n, const char *name,
                                     size_t *line, size_t *pos, const char **tok, size_t *toklen)
{
    return cs_cors_list_next_len(h, n, name, strlen(name), line, pos, tok, toklen);
}
/* First element of the list that is not a token, or false if all are. */
bool cs_cors_list_bad_token(const corscope_header *h, size_t n, const char *name,
                            const char **tok, size_t *toklen);
/* Is (s, slen) an element of the list?  ci: case-insensitive. */
bool cs_cors_list_has(const corscope_header *h, size_t n, const char *name,
                      const char *s, size_t slen, bool ci);

/* The CORS-unsafe request-header names of a request (§1.6), pointing into
 * the request's headers (not lower-cased, not de-duplicated). */
#define CS_CORS_MAX_UNSAFE 64
struct cs_cors_names {
    size_t n;
    bool overflow;
    const char *name[CS_CORS_MAX_UNSAFE];
    size_t len[CS_CORS_MAX_UNSAFE];
};
void cs_cors_unsafe_names(const corscope_request *req, struct cs_cors_names *out);

/* Host part of the request target (absolute-form) or Host header; false if
 * neither exists. */
bool cs_cors_request_host(const corscope_request *req, const char **host, size_t *len,
                          bool *absolute);
/* The same, with the Host line already looked up (NULL: none). */
bool cs_cors_request_host_at(const corscope_request *req, const corscope_header *host_line,
                             const char **host, size_t *len, bool *absolute);

/* ---- cors_text.c ---- */

/* Indexes into the reason table (MDN order), then the warning. */
enum cs_reason {
    CS_R_NONE = -1,
    CS_R_DISABLED = 0,
    CS_R_DID_NOT_SUCCEED,
    CS_R_ORIGIN_NOT_ADDED,
    CS_R_EXTERNAL_REDIRECT,
    CS_R_NOT_HTTP,
    CS_R_MISSING_ACAO,
    CS_R_ACAO_MISMATCH,
    CS_R_NOT_SUPPORTING_CRED,
    CS_R_METHOD_NOT_FOUND,
    CS_R_MISSING_ACAC,
    CS_R_PREFLIGHT_FAILED,
    CS_R_INVALID_METHOD,
    CS_R_INVALID_HEADER,
    CS_R_MISSING_HEADER,
    CS_R_MULTIPLE_ACAO,
    CS_R_AUTH_WILDCARD_WARNING, /* the warning, not one of the 15 */
    CS_R_COUNT
};

/* Chromium outcomes (CorsError names and the net errors we use). */
enum cs_chrome {
    CS_C_NONE = 0,
    CS_C_WILDCARD,
    CS_C_MISSING_ACAO,
    CS_C_MULTIPLE,
    CS_C_INVALID_ACAO,
    CS_C_MISMATCH,
    CS_C_INVALID_ACAC,
    CS_C_PF_WILDCARD,
    CS_C_PF_MISSING_ACAO,
    CS_C_PF_MULTIPLE,
    CS_C_PF_INVALID_ACAO,
    CS_C_PF_MISMATCH,
    CS_C_PF_INVALID_ACAC,
    CS_C_PF_STATUS,
    CS_C_PF_REDIRECT,
    CS_C_INVALID_ACAM,
    CS_C_INVALID_ACAH,
    CS_C_METHOD,
    CS_C_HEADER,
    CS_C_REDIRECT_CREDENTIALS,
    CS_C_CORS_DISABLED_SCHEME, /* redirect to a scheme outside Chromium's CORS list */
    CS_C_NET_RESET,
    CS_C_NET_EMPTY,
    CS_C_NET_TIMED_OUT,
    CS_C_NET_UNSAFE_REDIRECT,
    CS_C_NET_H2_PROTOCOL,             /* h2 RST_STREAM before the response, or a response refused */
    CS_C_NET_INVALID_RESPONSE,        /* HTTP/1.x: a response header block Chromium cannot parse */
    CS_C_NET_MULTIPLE_CONTENT_LENGTH, /* two different Content-Length values (HTTP/1.x) */
    CS_C_NET_MULTIPLE_LOCATION,       /* two different Location values */
    CS_C_NET_MULTIPLE_DISPOSITION,    /* two different Content-Disposition values */
    CS_C_COUNT
};

/* One browser's outcome before it is turned into text. */
struct cs_outcome {
    corscope_outcome verdict;
    enum cs_reason reason; /* Firefox key (or the closest, for Chromium) */
    enum cs_chrome chrome; /* Chromium only */
    bool warn_auth;        /* Firefox: Authorization covered by `*` */
    const char *param;     /* %2$S / Chromium hint: token, method, header */
    size_t param_len;
    bool param_is_acao; /* param is the merged ACAO value */
    bool param_is_acac; /* param is the merged ACAC value */
};

/* A response a browser refuses before any CORS check (cors.c refusal_of):
 * that browser reports CORSDidNotSucceed (Firefox) or its own network error
 * (Chromium), the other judges the response as usual. */
enum cs_refusal_kind {
    CS_REFUSE_NONE,
    CS_REFUSE_TWO_VALUES, /* two different values of `field` */
    CS_REFUSE_H2_FIELD,   /* a connection-specific `field` over h2 */
    CS_REFUSE_H2_VALUE,   /* a control character in the value of `line`, over h2 */
    CS_REFUSE_STATUS,     /* the status code (corscope_response.status_form, or 0 over h2) */
    CS_REFUSE_HTTP09,     /* Chromium: HTTP/0.9 over TLS (an ICY status line) */
};
struct cs_refusal {
    enum cs_refusal_kind kind;
    const char *field;           /* TWO_VALUES, H2_FIELD: the field the note and hint name */
    const corscope_header *line; /* H2_VALUE: the field line */
    bool firefox;
    enum cs_chrome chrome; /* CS_C_NONE: Chromium reads the response */
};

/* How much of h's name the texts quote: up to a CR inside it (a line
 * with a bare CR, corscope_response.lines). */
static inline int cs_cors_name_shown(const corscope_header *h)
{
    const char *cr = memchr(h->name, '\r', h->name_len);
    return (int)(cr ? (size_t)(cr - h->name) : h->name_len);
}

/* Everything the texts need about one exchange. */
struct cs_text_in {
    const char *url;
    const char *origin;
    size_t origin_len;
    const corscope_request *req;
    const corscope_response *resp; /* may be NULL */
    corscope_failure failure;
    bool over_h2; /* corscope_context.over_h2 */
    bool preflight;
    const char *acrm;
    size_t acrm_len; /* preflight: requested method */
    const char *location;
    size_t location_len;       /* a redirect's Location, or NULL */
    struct cs_refusal refused; /* why a browser refused the response (cors.c refusal_of) */
    /* (Firefox's texts) the lines it dropped: corscope_response.n_chromium_only */
    const corscope_header *dropped;
    size_t n_dropped;
    /* CORSCOPE_LINES_BARE_CR: the first line Firefox read with a bare CR
     * inside (NULL: the status line has it) */
    bool bare_cr;
    const corscope_header *cr_line;
    bool firefox_http09;  /* (Firefox's texts) it dropped them all: corscope_response.firefox_http09 */
    bool chromium_http09; /* (Chromium's texts) it read no line: corscope_response.chromium_http09 */
};

const char *cs_cors_reason_key(enum cs_reason r);
const char *cs_cors_reason_console_key(enum cs_reason r);
const char *cs_cors_chrome_name(enum cs_chrome c);

/* Writes the Firefox console text for o into buf (empty when o has no
 * reason and no warning). */
void cs_cors_firefox_message(const struct cs_text_in *in, const struct cs_outcome *o,
                             char *buf, size_t size);
/* Writes Chromium's console text (empty when allowed). */
void cs_cors_chrome_message(const struct cs_text_in *in, const struct cs_outcome *o,
                            char *buf, size_t size);
/* Writes the fix hint for o (empty when allowed without warning). */
void cs_cors_hint(const struct cs_text_in *in, const struct cs_outcome *o,
                  char *buf, size_t size);

/* Safe appending into a fixed buffer: never overflows, always terminated
 * (cors_sb.c). */
struct cs_sbuf {
    char *p;
    size_t size, len;
};
void cs_sb_init(struct cs_sbuf *b, char *p, size_t size);
/* cs_sb_add when s does not fit whole: the part that fits, not cutting a
 * UTF-8 sequence. */
void cs_sb_add_cut(struct cs_sbuf *b, const char *s, size_t len);
/* Inline: a piece that fits (nearly all) is one copy, of a length that is
 * often known at compile time. */
static inline void cs_sb_add(struct cs_sbuf *b, const char *s, size_t len)
{
    if (b->len + len < b->size) {
        if (len)
            memcpy(b->p + b->len, s, len);
        b->len += len;
        b->p[b->len] = '\0';
        return;
    }
    cs_sb_add_cut(b, s, len);
}
/* Inline, so that the length of a literal (most of the texts' pieces) is
 * known at compile time instead of measured for every piece. */
static inline void cs_sb_str(struct cs_sbuf *b, const char *s)
{
    cs_sb_add(b, s, strlen(s));
}
void cs_sb_fmt(struct cs_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* cs_sb_fmt(b, "%s%s...", parts[0], parts[1], ...) for n strings (NULL
 * as printf writes it), without the format machinery: the same bytes,
 * cut the same way. */
void cs_sb_cat(struct cs_sbuf *b, const char *const *parts, size_t n);

#endif
