/* libFuzzer target: the CORS classifier (cors*.c through
 * include/corscope/cors.h) on request/response header sets built from the
 * input, plus the preflight-cache helpers.
 *
 * Input: byte 0 control (bits 0-1 credentials mode, bits 2-4 failure, bit 5
 * redirect-tainted, bit 6 no response, bit 7 a conditional request of the page's), then text: the request block, an
 * empty line, the response block.  Request block: first line "METHOD TARGET",
 * then "name:value" lines.  Response block: first line the status (decimal),
 * then "name:value" lines.  Lines end at '\n' (a preceding '\r' is kept in
 * the value, the classifier must cope).  Every token is copied to a buffer
 * of exactly its size so ASan sees any over-read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corscope/cors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HDRS 64

struct block {
    char *first;
    size_t first_len;
    char *second;
    size_t second_len;
    corscope_header h[MAX_HDRS];
    size_t n;
    char *owned[2 * MAX_HDRS + 2];
    size_t n_owned;
};

static char *dup_exact(struct block *b, const char *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (!d)
        abort();
    memcpy(d, p, n);
    b->owned[b->n_owned++] = d;
    return d;
}

/* Parses lines of p[0..n) into b; returns bytes consumed (through the empty
 * line that ends the block, or n). */
static size_t parse_block(struct block *b, const char *p, size_t n)
{
    size_t off = 0;
    int line_no = 0;
    while (off < n) {
        const char *nl = memchr(p + off, '\n', n - off);
        size_t len = nl ? (size_t)(nl - (p + off)) : n - off;
        const char *l = p + off;
        off += len + (nl ? 1 : 0);
        if (len == 0 && line_no > 0)
            break;
        if (line_no++ == 0) {
            const char *sp = memchr(l, ' ', len);
            size_t a = sp ? (size_t)(sp - l) : len;
            b->first = dup_exact(b, l, a);
            b->first_len = a;
            b->second = sp ? dup_exact(b, sp + 1, len - a - 1) : dup_exact(b, "", 0);
            b->second_len = sp ? len - a - 1 : 0;
            continue;
        }
        if (b->n == MAX_HDRS)
            continue;
        const char *colon = memchr(l, ':', len);
        size_t nl_len = colon ? (size_t)(colon - l) : len;
        corscope_header *h = &b->h[b->n++];
        h->name = dup_exact(b, l, nl_len);
        h->name_len = nl_len;
        size_t vl = colon ? len - nl_len - 1 : 0;
        h->value = dup_exact(b, colon ? colon + 1 : "", vl);
        h->value_len = vl;
    }
    return off;
}

static void free_block(struct block *b)
{
    for (size_t i = 0; i < b->n_owned; i++)
        free(b->owned[i]);
}

static void check_str(const char *s, size_t max)
{
    if (memchr(s, 0, max) == NULL)
        abort(); /* not NUL-terminated within its array */
}

static void check_browser(const corscope_browser_verdict *v)
{
    check_str(v->message, sizeof v->message);
    check_str(v->hint, sizeof v->hint);
    if ((v->verdict == CORSCOPE_BLOCKED || v->verdict == CORSCOPE_WARNING ||
         v->verdict == CORSCOPE_UNKNOWN) &&
        v->hint[0] == 0)
        abort(); /* cors.h: the hint is non-empty for these */
    volatile size_t sink = 0;
    if (v->reason)
        sink += strlen(v->reason);
    if (v->console_key)
        sink += strlen(v->console_key);
    if (v->chrome)
        sink += strlen(v->chrome);
    if (v->cred_alt_reason)
        sink += strlen(v->cred_alt_reason);
    if (v->cred_alt_chrome)
        sink += strlen(v->cred_alt_chrome);
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    struct block *rq = calloc(1, sizeof *rq), *rs = calloc(1, sizeof *rs);
    corscope_verdict *v = malloc(sizeof *v);
    corscope_preflight_result *pf = malloc(sizeof *pf);
    if (!rq || !rs || !v || !pf)
        abort();
    size_t used = parse_block(rq, text, n);
    parse_block(rs, text + used, n - used);

    corscope_request req = {
        .method = rq->first,
        .method_len = rq->first_len,
        .target = rq->second,
        .target_len = rq->second_len,
        .headers = rq->h,
        .n_headers = rq->n,
    };
    int status = 0;
    for (size_t i = 0; rs->first && i < rs->first_len && i < 4; i++)
        if (rs->first[i] >= '0' && rs->first[i] <= '9')
            status = status * 10 + (rs->first[i] - '0');
    if (rs->first_len && rs->first[0] == '-')
        status = -status;
    corscope_response resp = {.status = status, .headers = rs->h, .n_headers = rs->n};
    /* letters in the status token set what the parsers tell the classifier
     * beside the lines (so that the corpus keeps its meaning): the form of
     * the code, the lines one browser alone reads (w Chromium, b Firefox),
     * the transport */
    bool h2 = false;
    for (size_t i = 0; rs->first && i < rs->first_len; i++) {
        switch (rs->first[i]) {
        case 'x': resp.status_form = CORSCOPE_STATUS_NOT_DIGITS; break;
        case 'l': resp.status_form = CORSCOPE_STATUS_LONG; break;
        case 'r': resp.status_form = CORSCOPE_STATUS_REPEATED; break;
        case 'f': resp.firefox_http09 = true; break;
        case 'c': resp.chromium_http09 = true; break;
        case 'w': /* whitespace before a colon: each 'w' one more line Chromium alone reads */
            resp.lines = CORSCOPE_LINES_WS_BEFORE_COLON;
            resp.n_chromium_only++;
            break;
        case 'b': /* a bare CR: each 'b' one more line Firefox alone reads */
            resp.lines = CORSCOPE_LINES_BARE_CR;
            resp.n_firefox_only++;
            break;
        case 'h': h2 = true; break;
        default: break;
        }
    }
    corscope_context cx = {
        .over_h2 = h2,
        .credentials = (corscope_cred)(ctl & 3 ? (ctl & 3) - 1 : 0),
        .failure = (corscope_failure)(((ctl >> 2) & 7) % 5),
        .redirect_tainted = (ctl >> 5) & 1,
        .conditional_by_page = (ctl >> 7) & 1,
    };
    const corscope_response *rp = (ctl & 0x40) ? NULL : &resp;

    if (req.method) {
        if (corscope_classify(&req, rp, &cx, v) == 0) {
            check_browser(&v->firefox);
            check_browser(&v->chromium);
            check_str(v->url, sizeof v->url);
            check_str(v->note, sizeof v->note);
            (void)corscope_kind_name(v->kind);
            (void)corscope_outcome_name(v->verdict);
        }
        (void)corscope_classify(&req, rp, NULL, v);
        (void)corscope_is_preflight(&req);
        (void)corscope_needs_preflight(&req);
        (void)corscope_infer_credentials(&req, &req);
        (void)corscope_infer_credentials(&req, NULL);
    }
    for (int cred = 0; cred < 3; cred++) {
        if (corscope_preflight_parse(&resp, (corscope_cred)cred, pf) == 0 && req.method) {
            if (pf->n_methods > CORSCOPE_PF_MAX_METHODS || pf->n_headers > CORSCOPE_PF_MAX_HEADERS)
                abort();
            for (size_t i = 0; i < pf->n_methods; i++)
                check_str(pf->methods[i], CORSCOPE_PF_TOKEN_MAX);
            for (size_t i = 0; i < pf->n_headers; i++)
                check_str(pf->headers[i], CORSCOPE_PF_TOKEN_MAX);
            for (int b = 0; b < 2; b++)
                for (int c2 = 0; c2 < 3; c2++)
                    (void)corscope_preflight_allows(pf, (corscope_browser)b, &req, (corscope_cred)c2);
        }
    }
    for (size_t i = 0; i < rs->n; i++) {
        long a = corscope_max_age_firefox(rs->h[i].value, rs->h[i].value_len);
        long b = corscope_max_age_chromium(rs->h[i].value, rs->h[i].value_len);
        if (a < -1 || a > 86400 || b < 0 || b > 7200)
            abort();
    }
    (void)corscope_max_age_firefox(NULL, 0);
    (void)corscope_max_age_chromium(NULL, 0);
    if (rq->first_len) {
        char key[64];
        size_t k = rq->first_len < sizeof key - 1 ? rq->first_len : sizeof key - 1;
        memcpy(key, rq->first, k);
        key[k] = 0;
        (void)corscope_reason_info_get(key);
    }
    free_block(rq);
    free_block(rs);
    free(rq);
    free(rs);
    free(v);
    free(pf);
    return 0;
}
