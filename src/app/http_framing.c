/* HTTP/1.x body framing (RFC 9112 §6.3): a pure function of a complete
 * message's headers, beside the scanner (http_scan.c).  The state machine
 * (http.c) turns its answer into the direction's next state. */
#include "http_int.h"

/* Chooses the body framing of a message from its headers.  Transfer-Encoding
 * wins over Content-Length; chunked must be the last coding, otherwise a
 * response is close-delimited and a request is an error. */
enum framing cs_http_body_framing(const struct cs_http_msg *m, bool is_request, uint64_t *len)
{
    bool te = false, chunked = false, have_cl = false, bad_cl = false;
    uint64_t cl = 0;
    for (uint32_t i = 0; i < m->n_headers; i++) {
        const corscope_header *h = &m->headers[i];
        /* The length first: most names are neither. */
        if (h->name_len == 17 && cs_http_name_eq8(h->name, "transfer-encoding", 17)) {
            te = true;
            chunked = cs_http_te_chunked_last(h->value, h->value_len) == 1;
        } else if (h->name_len == 14 && cs_http_name_eq8(h->name, "content-length", 14)) {
            uint64_t v = 0; /* (bad_cl when it stays unset) */
            if (cs_http_parse_content_length(h->value, h->value_len, &v) < 0 || (have_cl && v != cl))
                bad_cl = true;
            have_cl = true;
            cl = v;
        }
    }
    if (te)
        return chunked ? FR_CHUNKED : (is_request ? FR_ERROR : FR_CLOSE);
    if (bad_cl)
        return FR_ERROR;
    if (have_cl) {
        *len = cl;
        return cl ? FR_LEN : FR_NONE;
    }
    return is_request ? FR_NONE : FR_CLOSE;
}
