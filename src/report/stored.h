/* Stored responses, for judging a 304 (cors-reasons.md §1.10).
 *
 * A browser revalidates a response it stored (Cache-Control: no-cache, or
 * stale) with a conditional request (If-None-Match, If-Modified-Since);
 * a 304 answer is not CORS-checked on its own: the stored response,
 * updated with the 304's header fields, is what the browser checks.  Both
 * browsers do so, measured with tests/browser (reval-*): a 304 without
 * Access-Control-Allow-Origin is allowed when the stored 200 had a
 * matching one, and a 304 that sends a different one is blocked
 * (CORSAllowOriginNotMatchingOrigin / AllowOriginMismatch), over HTTP/1.1
 * and h2 (Firefox; Chromium stores nothing from the test's self-signed h2
 * server, so it sends no conditional request there).
 *
 * So the report keeps, per client, Origin and URL, the CORS part of the
 * last response to a cross-origin GET or HEAD that the browser could
 * revalidate (it carries ETag or Last-Modified, and not no-store): its
 * status, frame, validators and its Access-Control-* and Vary fields.  A
 * 304 whose request's validators match is judged on that response updated
 * with the 304's fields; any other 304 stays "unknown" (its stored
 * response predates the capture).  The table is bounded (CS_STORED_MAX
 * responses and CS_STORED_BUDGET bytes of them, the oldest replaced
 * first; a response whose kept part passes CS_STORED_MAX_BYTES is not
 * kept), its bytes counted in --max-memory. */
#ifndef CS_STORED_H
#define CS_STORED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "corscope/cors.h"

#define CS_STORED_MAX 4096u         /* responses remembered */
#define CS_STORED_BUDGET (1u << 20) /* their bytes, all together */
#define CS_STORED_FIELDS 12u        /* Access-Control-* and Vary fields kept per response */
#define CS_STORED_MAX_BYTES 1024u   /* a response whose kept part is larger is not kept */

struct cs_stored;

/* A 304 judged as its stored response: what the browser checks. */
struct cs_stored_view {
    corscope_response resp;                   /* the stored status and fields (.headers: fields) */
    uint64_t frame;                           /* the frame of the stored response */
    corscope_header fields[CS_STORED_FIELDS]; /* the 304's Access-Control-* and Vary
                                                 fields, then the stored ones it did not send */
};

/* max: the bound (0: CS_STORED_MAX).  NULL: out of memory. */
struct cs_stored *cs_stored_new(size_t max);
void cs_stored_free(struct cs_stored *s);

/* A cross-origin GET or HEAD answered with rs (not a 304) in frame: kept
 * when the browser could revalidate it, else forgotten (it replaced any
 * earlier one).  key: cs_timeline_request_key of (client, origin, url)
 * (not 0); url: the classifier's "scheme://host[:port]/path". */
void cs_stored_response(struct cs_stored *s, uint64_t key, const char *origin, size_t origin_len,
                        const char *url, const corscope_request *rq, const corscope_response *rs,
                        uint64_t frame);

/* A 304 (rs) to rq: what the browser checks when the response it
 * revalidates is known, else NULL.  The view is the table's own (one; its
 * strings are the table's too): valid until the next call.  The stored
 * response takes the 304's updates, as the browser's does. */
const struct cs_stored_view *cs_stored_revalidate(struct cs_stored *s, uint64_t key, const char *origin,
                                                  size_t origin_len, const char *url,
                                                  const corscope_request *rq, const corscope_response *rs);

/* What the table costs now (counted in --max-memory). */
size_t cs_stored_bytes(const struct cs_stored *s);

#endif
