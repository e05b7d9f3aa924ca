/* Report thread (report_thread.h): the report stage replayed on its own
 * thread must write byte for byte what cs_report_txn/cs_report_flow_end
 * called directly write, whatever the pipeline does with its buffers once a
 * hook has returned.
 *
 * A seeded generator plays a synthetic capture (flows over IPv4 and IPv6,
 * CORS exchanges with every verdict, preflights and their actual requests,
 * every way a transaction and a flow can end, non-HTTP flows) into a sink:
 * once the report's hooks, once the report thread's.  Every message is a
 * real header block in a malloc'd buffer of exactly its size, with every
 * string pointing into it; the block, the header array, the transaction,
 * the flow and the flow info are scribbled over and freed as soon as the
 * hook returns, so anything the thread failed to copy shows up as a
 * difference (or, under ASan, as a use after free). */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "pipeline.h"
#include "report.h"
#include "report_thread.h"
#include "summary.h"

#define NS 1000000000LL
#define T0 (1767225600LL * NS) /* 2026-01-01 00:00:00Z */
#define POOL 40                /* flows open at once, at most */
#define MAX_MARKS 64

static struct cs_pipeline *g_pipe; /* only for the summary's stage counters */

/* A precondition of the generator: recorded only when it fails, so the
 * assertion count stays the count of real checks. */
#define REQUIRE(c)                  \
    do {                            \
        if (!(c))                   \
            CU_ASSERT_FATAL(!!(c)); \
    } while (0)

/* --- where the events go --------------------------------------------- */

struct sink {
    void (*txn)(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t);
    void (*flow_end)(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                     const struct cs_flow_info *info);
    void *ctx;
    FILE *out;
    char **buf; /* the memstream's buffer and length */
    size_t *len;
    /* output length right after each synchronous fallback */
    size_t marks[MAX_MARKS];
    unsigned n_marks;
};

/* After a synchronous hand-over the report has seen every earlier event
 * and this one: what it has written so far must be what the direct run had
 * written at the same point. */
static void sink_mark(struct sink *s)
{
    fflush(s->out);
    if (s->n_marks < MAX_MARKS)
        s->marks[s->n_marks++] = *s->len;
}

/* --- messages ---------------------------------------------------------- */

struct msg {
    struct cs_http_msg m;
    char *block;
    size_t block_len;
    corscope_header *h;
};

static const char *find_crlf(const char *p, const char *end)
{
    for (; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n')
            return p;
    return end;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* A message whose block is a malloc'd copy of exactly text[0..len) (start
 * line, header lines, empty line) and whose strings all point into it. */
static struct msg *msg_parse(const char *text, size_t len, uint64_t frame, cs_time_ns ts)
{
    struct msg *x = calloc(1, sizeof *x);
    REQUIRE(x);
    x->block = malloc(len ? len : 1);
    REQUIRE(x->block);
    memcpy(x->block, text, len);
    x->block_len = len;
    const char *p = x->block, *end = p + len;
    const char *eol = find_crlf(p, end);
    struct cs_http_msg *m = &x->m;
    if (len >= 12 && memcmp(p, "HTTP/", 5) == 0) {
        m->version = p[7] == '0' ? 10 : 11;
        m->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
        m->reason = eol - p > 12 ? p + 13 : eol;
        m->reason_len = (uint32_t)(eol - m->reason);
    } else {
        const char *sp = memchr(p, ' ', (size_t)(eol - p));
        REQUIRE(sp);
        m->method = p;
        m->method_len = (uint32_t)(sp - p);
        m->uri = sp + 1;
        const char *sp2 = memchr(m->uri, ' ', (size_t)(eol - m->uri));
        if (sp2) {
            m->uri_len = (uint32_t)(sp2 - m->uri);
            m->version = sp2[8] == '0' ? 10 : 11;
        } else {
            m->uri_len = (uint32_t)(eol - m->uri);
            m->version = 9;
        }
    }
    /* header lines up to the empty line (or the end: HTTP/0.9) */
    size_t cap = 8, n = 0;
    x->h = malloc(cap * sizeof *x->h);
    REQUIRE(x->h);
    const char *q = eol + 2;
    while (q < end) {
        const char *le = find_crlf(q, end);
        if (le == q)
            break;
        const char *colon = memchr(q, ':', (size_t)(le - q));
        REQUIRE(colon);
        const char *v = colon + 1, *ve = le;
        while (v < ve && is_ows(*v))
            v++;
        while (ve > v && is_ows(ve[-1]))
            ve--;
        if (n == cap) {
            cap *= 2;
            x->h = realloc(x->h, cap * sizeof *x->h);
            REQUIRE(x->h);
        }
        x->h[n++] = (corscope_header){q, (size_t)(colon - q), v, (size_t)(ve - v)};
        q = le + 2;
    }
    m->headers = x->h;
    m->n_headers = (uint32_t)n;
    m->frame = frame;
    m->frame_end = frame + (len > 1400 ? len / 1400 : 0);
    m->ts = ts;
    m->block = x->block;
    m->block_len = (uint32_t)len;
    return x;
}

static struct msg *msg_from(GString *s, uint64_t frame, cs_time_ns ts)
{
    return s ? msg_parse(s->str, s->len, frame, ts) : NULL;
}

/* Scribbles over everything the message owned and frees it: the hook has
 * returned, so the report (or the thread's copy) must no longer need it. */
static void msg_free(struct msg *x)
{
    if (!x)
        return;
    memset(x->block, 'Z', x->block_len);
    free(x->block);
    memset(x->h, 0xA5, x->m.n_headers * sizeof *x->h);
    free(x->h);
    memset(x, 0xA5, sizeof *x);
    free(x);
}

/* Points the value of header `name` (the first one) at a string outside
 * the block: the thread cannot copy that message. */
static void value_outside(struct msg *x, const char *name, const char *value)
{
    for (uint32_t i = 0; i < x->m.n_headers; i++)
        if (x->h[i].name_len == strlen(name) && memcmp(x->h[i].name, name, x->h[i].name_len) == 0) {
            x->h[i].value = value;
            x->h[i].value_len = strlen(value);
            return;
        }
    CU_FAIL("header to move out of the block not found");
}

/* --- the generator ----------------------------------------------------- */

struct params {
    unsigned txns;           /* transactions to generate, about */
    unsigned big_every;      /* every Nth a huge header block (0: never) */
    unsigned fallback_every; /* every Nth a string outside its block (0: never) */
};

struct fstate {
    struct cs_flow_key f;
    bool open;
    int kind; /* 0 HTTP, 1 other protocol, 2 no data */
    unsigned host;
    uint32_t txns;
};

struct gen {
    uint64_t rng;
    const struct params *pm;
    struct sink *sk;
    cs_time_ns now;
    uint64_t frame, next_id;
    struct fstate pool[POOL];
    unsigned done; /* transactions handed to the sink */
    unsigned fallbacks, bigs, flows_ended;
    uint64_t bytes; /* block and header bytes handed over */
};

static const char *const hosts[] = {"api.example", "api.example:8080", "cdn.example",
                                    "[2001:db8::5]:8443", "static.example", "api.example"};
static const char *const origins[] = {"http://app.example:8080", "https://shop.example",
                                      "http://app.example:8080", "null"};

static uint64_t rnd64(struct gen *g)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return g->rng;
}

static unsigned rnd(struct gen *g, unsigned n)
{
    return (unsigned)(rnd64(g) % n);
}

static void tick(struct gen *g)
{
    g->now += 1000 + (cs_time_ns)rnd(g, 40000000); /* up to 40 ms */
    g->frame += 1 + rnd(g, 4);
}

static struct fstate *flow_open(struct gen *g)
{
    struct fstate *fs = NULL;
    for (int i = 0; i < POOL; i++)
        if (!g->pool[i].open) {
            fs = &g->pool[i];
            break;
        }
    if (!fs)
        return NULL;
    tick(g);
    memset(fs, 0, sizeof *fs);
    fs->open = true;
    unsigned k = rnd(g, 20);
    fs->kind = k == 0 ? 1 : k == 1 ? 2
                                   : 0;
    fs->host = rnd(g, sizeof hosts / sizeof hosts[0]);
    struct cs_flow_key *f = &fs->f;
    f->id = ++g->next_id;
    (void)rnd64(g); /* kept draw (see below) */
    if (rnd(g, 3) == 0) {
        f->client = (struct cs_addr){.family = 6, .bytes = {0x20, 0x01, 0x0d, 0xb8, [14] = 0xc, [15] = (uint8_t)rnd(g, 30)}};
        f->server = (struct cs_addr){.family = 6, .bytes = {0x20, 0x01, 0x0d, 0xb8, [15] = (uint8_t)(5 + fs->host)}};
    } else {
        f->client = (struct cs_addr){.family = 4, .bytes = {192, 0, 2, (uint8_t)(1 + rnd(g, 30))}};
        f->server = (struct cs_addr){.family = 4, .bytes = {198, 51, 100, (uint8_t)(20 + fs->host)}};
    }
    f->client_port = (uint16_t)(40000 + rnd(g, 20000));
    f->server_port = fs->kind == 1 ? 443 : fs->host == 1 ? 8080
                                       : fs->host == 3   ? 8443
                                                         : 80;
    /* draws that once set flow fields the report no longer sees, kept so
     * the generated capture stays the one the counts below were tuned on */
    if (rnd(g, 5) != 0)
        (void)rnd(g, 10);
    f->first_ts = f->last_ts = g->now;
    f->first_frame = f->last_frame = g->frame;
    return fs;
}

/* A copy of the flow as the hook sees it, freed (scribbled) after. */
static struct cs_flow_key *flow_copy(struct gen *g, struct fstate *fs)
{
    struct cs_flow_key *f = &fs->f;
    f->last_ts = g->now;
    f->last_frame = g->frame;
    (void)rnd(g, 3); /* kept draws, as in flow_open */
    (void)rnd(g, 5);
    struct cs_flow_key *c = malloc(sizeof *c);
    REQUIRE(c);
    *c = *f;
    return c;
}

static void flow_scrub(struct cs_flow_key *c)
{
    memset(c, 0xEE, sizeof *c);
    free(c);
}

static uint32_t txn_flags(const struct cs_http_msg *m)
{
    return ((m->flags & CS_MSG_HEADERS_CUT) ? CS_TXN_HEADERS_CUT : 0) |
           ((m->flags & CS_MSG_HEADER_GAP) ? CS_TXN_HEADER_GAP : 0);
}

/* Hands one transaction to the sink and frees everything it pointed to. */
static void txn_out(struct gen *g, struct fstate *fs, struct msg *rq, struct msg *rs, int interim,
                    enum cs_txn_end end)
{
    g->bytes += rq->block_len + rq->m.n_headers * sizeof(corscope_header);
    if (rs)
        g->bytes += rs->block_len + rs->m.n_headers * sizeof(corscope_header);
    struct cs_flow_key *f = flow_copy(g, fs);
    struct cs_txn *t = calloc(1, sizeof *t);
    REQUIRE(t);
    /* as the HTTP/1 row (app_http1.c) builds it */
    const struct cs_http_msg *qm = &rq->m;
    t->transport = CS_TRANSPORT_HTTP1;
    t->req = (corscope_request){.method = qm->method, .method_len = qm->method_len, .target = qm->uri, .target_len = qm->uri_len, .headers = qm->headers, .n_headers = qm->n_headers};
    t->req_flags = txn_flags(qm) | (qm->version == 9 ? CS_TXN_NO_HEADERS : 0);
    t->req_frame = qm->frame;
    t->req_ts = qm->ts;
    t->req_block = qm->block;
    t->req_block_len = qm->block_len;
    if (rs) {
        const struct cs_http_msg *sm = &rs->m;
        t->has_resp = true;
        t->resp = (corscope_response){.status = sm->status,
                                      .headers = sm->headers,
                                      .n_headers = sm->n_headers,
                                      .status_form = sm->status_form,
                                      .n_chromium_only = sm->n_chromium_only,
                                      .lines = sm->n_chromium_only ? CORSCOPE_LINES_WS_BEFORE_COLON
                                                                   : CORSCOPE_LINES_SAME,
                                      .firefox_http09 = sm->firefox_http09,
                                      .chromium_http09 = sm->chromium_http09};
        t->resp_flags = txn_flags(sm);
        t->resp_frame = sm->frame;
        t->resp_ts = sm->ts;
        t->resp_block = sm->block;
        t->resp_block_len = sm->block_len;
    }
    t->interim_status = interim;
    t->end = end;
    t->index = fs->txns++;
    if (end != CS_TXN_ANSWERED) {
        t->end_frame = g->frame + 1;
        t->end_ts = g->now + 5000;
    }
    g->sk->txn(g->sk->ctx, f, t);
    memset(t, 0xEE, sizeof *t);
    free(t);
    flow_scrub(f);
    msg_free(rq);
    msg_free(rs);
    g->done++;
}

/* A request and its response built from text, each on its own frame. */
static void exchange(struct gen *g, struct fstate *fs, GString *q, GString *s, int interim,
                     enum cs_txn_end end, uint32_t qflags, uint32_t sflags)
{
    tick(g);
    struct msg *rq = msg_from(q, g->frame, g->now);
    rq->m.flags = qflags;
    struct msg *rs = NULL;
    if (s) {
        tick(g);
        rs = msg_from(s, g->frame, g->now);
        rs->m.flags = sflags;
    }
    txn_out(g, fs, rq, rs, interim, end);
}

static void flow_close(struct gen *g, struct fstate *fs, enum cs_flow_end why)
{
    tick(g);
    struct cs_flow_key *f = flow_copy(g, fs);
    struct cs_flow_info *info = calloc(1, sizeof *info);
    REQUIRE(info);
    if (fs->kind == 0) {
        info->parsed = true;
        info->had_data = true;
        info->upgraded = rnd(g, 50) == 0;
        info->transactions = fs->txns;
    } else if (fs->kind == 1) {
        info->had_data = true;
        unsigned p = rnd(g, 3);
        snprintf(info->proto, sizeof info->proto, "%s", p == 2 ? "SSH" : "TLS");
        if (p == 0)
            snprintf(info->sni, sizeof info->sni, "api.example.com");
    }
    g->sk->flow_end(g->sk->ctx, f, why, info);
    memset(info, 0xEE, sizeof *info);
    free(info);
    flow_scrub(f);
    fs->open = false;
    g->flows_ended++;
}

/* A response with thousands of header lines: about 300 KB of block plus its
 * header array, far more than a batch.  The CORS header comes last, so the
 * verdict depends on the whole array having been copied. */
static void big_exchange(struct gen *g, struct fstate *fs, int variant)
{
    const char *host = hosts[fs->host];
    const char *origin = origins[0];
    GString *q = g_string_new(NULL), *s = g_string_new(NULL);
    g_string_printf(q, "GET /big/%u HTTP/1.1\r\nHost: %s\r\n", g->bigs, host);
    if (variant != 0)
        for (unsigned i = 0; i < 5000; i++)
            g_string_append_printf(q, "X-Req-Filler-%05u: %08x-0123456789abcdef-0123456789abcdef\r\n", i,
                                   (unsigned)rnd64(g));
    g_string_append_printf(q, "Origin: %s\r\n\r\n", origin);
    g_string_assign(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
    if (variant != 1)
        for (unsigned i = 0; i < 5000; i++)
            g_string_append_printf(s, "X-Filler-%05u: %08x-0123456789abcdef-0123456789abcdef\r\n", i,
                                   (unsigned)rnd64(g));
    if (g->bigs % 2)
        g_string_append_printf(s, "Access-Control-Allow-Origin: %s\r\n", origin);
    g_string_append(s, "\r\n");
    CU_ASSERT(variant == 1 ? q->len > 300000 : s->len > 300000);
    exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, 0, 0);
    g_string_free(q, TRUE);
    g_string_free(s, TRUE);
    g->bigs++;
}

/* An exchange with one string outside its header block: the hook must hand
 * it over synchronously, after everything before it. */
static void fallback_exchange(struct gen *g, struct fstate *fs)
{
    static const char acao[] = "http://app.example:8080"; /* outside any block */
    static const char get[] = "GET";
    static const char origin[] = "https://shop.example";
    unsigned variant = g->fallbacks % 4;
    const char *host = hosts[fs->host];
    GString *q = g_string_new(NULL), *s = g_string_new(NULL);
    g_string_printf(q, "GET /fallback/%u HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n\r\n", g->fallbacks, host,
                    variant == 3 ? "http://placeholder.example" : variant == 2 ? origin
                                                                               : acao);
    g_string_printf(s, "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: %s\r\nVary: Origin\r\n\r\n",
                    variant == 0 ? "http://placeholder.example:8080" : variant == 3 ? origin
                                                                                    : acao);
    tick(g);
    struct msg *rq = msg_from(q, g->frame, g->now);
    tick(g);
    struct msg *rs = msg_from(s, g->frame, g->now);
    switch (variant) {
    case 0: value_outside(rs, "Access-Control-Allow-Origin", acao); break; /* allowed */
    case 1: rq->m.method = get; break;                                     /* allowed */
    case 2: value_outside(rq, "Origin", origin); break;                    /* blocked */
    default:
        value_outside(rq, "Origin", origin); /* allowed */
        value_outside(rs, "Access-Control-Allow-Origin", origin);
        break;
    }
    txn_out(g, fs, rq, rs, 0, CS_TXN_ANSWERED);
    g_string_free(q, TRUE);
    g_string_free(s, TRUE);
    g->fallbacks++;
    sink_mark(g->sk);
}

/* One transaction (two for a preflight followed by its actual request) of
 * a randomly chosen kind on flow fs. */
static void random_exchange(struct gen *g, struct fstate *fs)
{
    const char *host = hosts[fs->host];
    const char *origin = origins[rnd(g, 4)];
    unsigned path = rnd(g, 40);
    GString *q = g_string_new(NULL), *s = g_string_new(NULL);
    switch (rnd(g, 16)) {
    case 0:
    case 1: { /* simple GET, allowed; credentials, reflection and Vary vary */
        bool cookie = rnd(g, 2), acac = rnd(g, 2);
        g_string_printf(q, "GET /v1/items/%u?page=%u HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nAccept: */*\r\n%s\r\n",
                        path, rnd(g, 9), host, origin, cookie ? "Cookie: sid=42\r\n" : "");
        g_string_printf(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: %s\r\n%s%s\r\n",
                        origin, acac ? "Access-Control-Allow-Credentials: true\r\n" : "",
                        rnd(g, 2) ? "Vary: Origin\r\n" : "");
        exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, 0, 0);
        break;
    }
    case 2: /* simple GET, no Access-Control-Allow-Origin: blocked */
        g_string_printf(q, "GET /v1/recommendations/%u HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n\r\n", path, host, origin);
        g_string_printf(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
        exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, 0, 0);
        break;
    case 3: /* * with credentials */
        g_string_printf(q, "GET /v1/notifications HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nCookie: a=b\r\n\r\n", host, origin);
        g_string_printf(s, "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Credentials: true\r\n\r\n");
        exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, 0, 0);
        break;
    case 4:
    case 5: { /* preflight, then (mostly) the actual request */
        unsigned v = rnd(g, 5);
        g_string_printf(q, "OPTIONS /v1/orders/%u HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n"
                           "Access-Control-Request-Method: %s\r\nAccess-Control-Request-Headers: content-type,x-token\r\n\r\n",
                        path, host, origin, v == 4 ? "DELETE" : "PUT");
        if (v == 0 || v == 4)
            g_string_printf(s, "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: %s\r\n"
                               "Access-Control-Allow-Methods: PUT, POST, DELETE\r\nAccess-Control-Allow-Headers: Content-Type, X-Token\r\n"
                               "Access-Control-Max-Age: %s\r\n%s\r\n",
                            origin, rnd(g, 2) ? "600" : "0", rnd(g, 2) ? "Access-Control-Allow-Credentials: true\r\n" : "");
        else if (v == 1)
            g_string_printf(s, "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Methods: PUT\r\n\r\n", origin);
        else if (v == 2)
            g_string_printf(s, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        else
            g_string_printf(s, "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: GET\r\n\r\n");
        exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, 0, 0);
        if (v != 2 || rnd(g, 2)) {
            g_string_printf(q, "%s /v1/orders/%u HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nContent-Type: application/json\r\n"
                               "X-Token: t%u\r\nContent-Length: 2\r\n\r\n",
                            v == 4 ? "DELETE" : "PUT", path, host, origin, rnd(g, 100));
            g_string_printf(s, "HTTP/1.1 %s\r\nAccess-Control-Allow-Origin: %s\r\n\r\n",
                            rnd(g, 4) ? "200 OK" : "500 Internal Server Error", rnd(g, 5) ? origin : "*");
            exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, 0, 0);
        }
        break;
    }
    case 6: { /* no response: every way a transaction ends without one; retried at times */
        enum cs_txn_end end = (enum cs_txn_end)(1 + rnd(g, 5));
        unsigned times = 1 + (rnd(g, 3) == 0);
        for (unsigned i = 0; i < times; i++) {
            g_string_printf(q, "POST /v1/cart/%u HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nContent-Type: text/plain\r\n\r\n",
                            path, host, origin);
            exchange(g, fs, q, NULL, 0, end, 0, 0);
        }
        break;
    }
    case 7: /* no-cors, 304 or 200 after an interim 103 */
        g_string_printf(q, "GET /static/app.%u.js HTTP/1.1\r\nHost: %s\r\nAccept-Encoding: gzip\r\n\r\n", path, host);
        if (rnd(g, 2))
            g_string_printf(s, "HTTP/1.1 304 Not Modified\r\nETag: \"x%u\"\r\n\r\n", path);
        else
            g_string_printf(s, "HTTP/1.1 200 OK\r\nLink: </style.css>; rel=preload\r\n\r\n");
        exchange(g, fs, q, s, rnd(g, 2) ? 103 : 0, CS_TXN_ANSWERED, 0, 0);
        break;
    case 8: /* same origin, after 100 Continue */
        g_string_printf(q, "POST /form HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
                        host, host);
        g_string_printf(s, "HTTP/1.1 201 Created\r\nLocation: /form/%u\r\n\r\n", path);
        exchange(g, fs, q, s, 100, CS_TXN_ANSWERED, 0, 0);
        break;
    case 9: { /* headers cut or partly lost */
        uint32_t fl[] = {CS_MSG_HEADERS_CUT, CS_MSG_HEADER_GAP, CS_MSG_AFTER_RESYNC | CS_MSG_INCOMPLETE, CS_MSG_URI_CUT};
        g_string_printf(q, "GET /v1/long/%u HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n\r\n", path, host, origin);
        g_string_printf(s, "HTTP/1.1 200 OK\r\nX-Served-By: edge\r\n\r\n");
        unsigned side = rnd(g, 2);
        uint32_t flags = fl[rnd(g, 4)];
        exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, side ? flags : 0, side ? 0 : flags | CS_MSG_CHUNKED);
        break;
    }
    case 10: /* HTTP/1.0 without a single header line */
        g_string_printf(q, "GET /%u HTTP/1.0\r\n\r\n", path);
        g_string_printf(s, "HTTP/1.0 200 OK\r\n\r\n");
        exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, 0, 0);
        break;
    case 11: /* HTTP/0.9: a request line only */
        g_string_printf(q, "GET /old/%u\r\n", path);
        exchange(g, fs, q, NULL, 0, rnd(g, 2) ? CS_TXN_CLOSED : CS_TXN_UNANSWERED, 0, 0);
        break;
    case 12: /* Origin null allowed by ACAO null */
        g_string_printf(q, "GET /sandbox HTTP/1.1\r\nHost: %s\r\nOrigin: null\r\n\r\n", host);
        g_string_printf(s, "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: null\r\n\r\n");
        exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, 0, 0);
        break;
    case 13: /* lower-case names, an empty value, odd spacing */
        g_string_printf(q, "GET /v2/x?q=%u HTTP/1.1\r\nhost: %s\r\norigin:%s\r\nX-Empty:\r\n\r\n", path, host, origin);
        g_string_printf(s, "HTTP/1.1 200 \r\naccess-control-allow-origin: \t%s \r\nx-empty:  \r\n\r\n", origin);
        exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, 0, 0);
        break;
    case 14: /* an actual request no preflight was seen for */
        g_string_printf(q, "DELETE /v1/profile/%u HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nAuthorization: Bearer x\r\n\r\n",
                        path, host, origin);
        g_string_printf(s, "HTTP/1.1 403 Forbidden\r\nAccess-Control-Allow-Origin: %s\r\n\r\n", origin);
        exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, 0, 0);
        break;
    default: /* simple, ACAO * */
        g_string_printf(q, "GET /v1/products?page=%u HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nUser-Agent: test\r\n\r\n",
                        path, host, origin);
        g_string_printf(s, "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nCache-Control: no-store\r\n\r\n");
        exchange(g, fs, q, s, 0, CS_TXN_ANSWERED, 0, 0);
        break;
    }
    g_string_free(q, TRUE);
    g_string_free(s, TRUE);
}

static struct fstate *random_http_flow(struct gen *g)
{
    struct fstate *open[POOL];
    unsigned n = 0;
    for (int i = 0; i < POOL; i++)
        if (g->pool[i].open && g->pool[i].kind == 0)
            open[n++] = &g->pool[i];
    return n ? open[rnd(g, n)] : NULL;
}

/* Plays the whole synthetic capture into sk.  Deterministic: two sinks see
 * the same events. */
static void generate(const struct params *pm, struct sink *sk, struct gen *g)
{
    memset(g, 0, sizeof *g);
    g->rng = 0x9E3779B97F4A7C15ull;
    g->pm = pm;
    g->sk = sk;
    g->now = T0;
    g->frame = 1;
    if (pm->fallback_every) { /* the very first event: nothing queued yet */
        struct fstate *fs = flow_open(g);
        fs->kind = 0;
        fallback_exchange(g, fs);
    }
    while (g->done < pm->txns) {
        unsigned r = rnd(g, 100);
        struct fstate *fs = random_http_flow(g);
        if (r < 6 || !fs) {
            struct fstate *n = flow_open(g);
            if (n && n->kind != 0)
                flow_close(g, n, (enum cs_flow_end)rnd(g, 5)); /* not HTTP: ends at once */
            if (n || fs)
                continue;
            /* the pool is full of flows without HTTP: impossible, they end at once */
            CU_FAIL_FATAL("no flow to use");
        }
        if (r < 10) {
            flow_close(g, fs, (enum cs_flow_end)rnd(g, 4));
            continue;
        }
        if (pm->big_every && g->done % pm->big_every == pm->big_every - 1) {
            big_exchange(g, fs, (int)(g->bigs % 3));
            if (g->bigs % 3 == 1) /* two in a row: the next slot grows too */
                big_exchange(g, fs, (int)(g->bigs % 3));
            continue;
        }
        if (pm->fallback_every && g->done % pm->fallback_every == pm->fallback_every / 2) {
            fallback_exchange(g, fs);
            continue;
        }
        random_exchange(g, fs);
    }
    if (pm->fallback_every) { /* the very last transaction, right before the ends */
        struct fstate *fs = random_http_flow(g);
        if (!fs) {
            fs = flow_open(g);
            REQUIRE(fs);
            fs->kind = 0;
        }
        fallback_exchange(g, fs);
    }
    for (int i = 0; i < POOL; i++)
        if (g->pool[i].open)
            flow_close(g, &g->pool[i], CS_FLOW_END_INPUT);
}

/* --- running both ways ------------------------------------------------- */

struct run {
    char *buf;
    size_t len;
    struct sink sk;
    struct gen g;
    bool any_blocked;
};

/* Plays pm into a report with options opt, directly or through the report
 * thread, then writes the summary.  pm NULL: no events at all. */
static void play(const struct cs_report_options *opt, const struct params *pm, bool threaded, struct run *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = open_memstream(&out->buf, &out->len);
    REQUIRE(f);
    struct cs_report *r = cs_report_new(opt, f);
    REQUIRE(r);
    struct cs_report_thread *rt = NULL;
    out->sk = (struct sink){.out = f, .buf = &out->buf, .len = &out->len};
    if (threaded) {
        rt = cs_report_thread_start(r);
        REQUIRE(rt);
        out->sk.txn = cs_report_thread_txn;
        out->sk.flow_end = cs_report_thread_flow_end;
        out->sk.ctx = rt;
    } else {
        out->sk.txn = cs_report_txn;
        out->sk.flow_end = cs_report_flow_end;
        out->sk.ctx = r;
    }
    if (pm)
        generate(pm, &out->sk, &out->g);
    if (threaded)
        cs_report_thread_stop(rt);
    static struct cs_summary sum;
    memset(&sum, 0, sizeof sum);
    cs_pipeline_summary(g_pipe, &sum);
    cs_report_finish(r, &sum);
    out->any_blocked = cs_report_any_blocked(r);
    cs_report_free(r);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

/* --- several producers (--workers) ------------------------------------- */

/* Deals the generator's events to n producers as --workers does: by flow
 * (id % n), each event keyed by its place in the sequence, each flow's
 * creation (a key of its own) announced with a producer-side id (its id + 1000000) before its
 * first event, every producer marked every MERGE_MARK_EVERY events.  The
 * report must see them as the direct run does: in order, ids 1, 2, ... */
#define MERGE_MARK_EVERY 50
struct merged {
    struct cs_report_thread *rt;
    unsigned n;
    uint64_t seq;       /* events dealt */
    uint64_t announced; /* flows announced: ids 1..announced */
    uint64_t marked;    /* seq of the last mark */
};

static void *merge_route(struct merged *m, const struct cs_flow_key *f, struct cs_flow_key *k)
{
    while (m->announced < f->id) { /* flows opened up to this one, in order */
        m->announced++;
        void *pr = cs_report_thread_producer(m->rt, (unsigned)(m->announced % m->n));
        struct cs_flow_key nf = *f;
        nf.id = m->announced + 1000000;
        cs_report_thread_key(pr, ++m->seq, 0); /* as a frame creates one flow */
        cs_report_thread_flow_new(pr, &nf);
    }
    *k = *f;
    k->id = f->id + 1000000;
    void *pr = cs_report_thread_producer(m->rt, (unsigned)(f->id % m->n));
    cs_report_thread_key(pr, ++m->seq, 0);
    return pr;
}

static void merge_marks(struct merged *m)
{
    if (m->seq - m->marked < MERGE_MARK_EVERY)
        return;
    m->marked = m->seq;
    for (unsigned i = 0; i < m->n; i++)
        cs_report_thread_mark(cs_report_thread_producer(m->rt, i), m->seq);
}

static void merge_txn(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t)
{
    struct merged *m = ctx;
    struct cs_flow_key k;
    cs_report_thread_txn(merge_route(m, f, &k), &k, t);
    merge_marks(m);
}

static void merge_flow_end(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                           const struct cs_flow_info *info)
{
    struct merged *m = ctx;
    struct cs_flow_key k;
    cs_report_thread_flow_end(merge_route(m, f, &k), &k, why, info);
    merge_marks(m);
}

static void play_merged(const struct cs_report_options *opt, const struct params *pm, unsigned n,
                        struct run *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = open_memstream(&out->buf, &out->len);
    REQUIRE(f);
    struct cs_report *r = cs_report_new(opt, f);
    REQUIRE(r);
    static struct merged m;
    m = (struct merged){.rt = cs_report_thread_start_n(r, n), .n = n};
    REQUIRE(m.rt);
    out->sk = (struct sink){.out = f, .buf = &out->buf, .len = &out->len, .txn = merge_txn, .flow_end = merge_flow_end, .ctx = &m};
    generate(pm, &out->sk, &out->g);
    cs_report_thread_stop(m.rt); /* each producer done, everything replayed */
    static struct cs_summary sum;
    memset(&sum, 0, sizeof sum);
    cs_pipeline_summary(g_pipe, &sum);
    cs_report_finish(r, &sum);
    out->any_blocked = cs_report_any_blocked(r);
    cs_report_free(r);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

/* Both runs must have written the same bytes; on a difference, says where. */
static void assert_same(const struct run *a, const struct run *b, const char *what)
{
    CU_ASSERT_EQUAL(a->len, b->len);
    size_t n = a->len < b->len ? a->len : b->len, i = 0;
    while (i < n && a->buf[i] == b->buf[i])
        i++;
    if (i < n || a->len != b->len) {
        size_t from = i > 200 ? i - 200 : 0;
        fprintf(stderr, "\n%s: outputs differ at byte %zu (lengths %zu and %zu)\n--- direct:\n%.*s\n--- thread:\n%.*s\n",
                what, i, a->len, b->len, (int)((a->len - from) > 400 ? 400 : a->len - from), a->buf + from,
                (int)((b->len - from) > 400 ? 400 : b->len - from), b->buf + from);
        CU_FAIL("thread output differs from the direct output");
    }
    CU_ASSERT_EQUAL(a->any_blocked, b->any_blocked);
    CU_ASSERT_EQUAL(a->sk.n_marks, b->sk.n_marks);
    for (unsigned k = 0; k < a->sk.n_marks && k < b->sk.n_marks; k++)
        CU_ASSERT_EQUAL(a->sk.marks[k], b->sk.marks[k]);
}

static size_t count(const struct run *r, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = r->buf; (p = memmem(p, r->len - (size_t)(p - r->buf), needle, len)); p += len)
        n++;
    return n;
}

/* True when the first line holding `which` also holds `what`. */
static bool line_has(const struct run *r, const char *which, const char *what)
{
    const char *p = memmem(r->buf, r->len, which, strlen(which));
    if (!p)
        return false;
    const char *start = p, *end = memchr(p, '\n', r->len - (size_t)(p - r->buf));
    while (start > r->buf && start[-1] != '\n')
        start--;
    if (!end)
        end = r->buf + r->len;
    return memmem(start, (size_t)(end - start), what, strlen(what)) != NULL;
}

struct config {
    const char *name;
    struct cs_report_options opt;
};

static const struct config configs[] = {
    {"json", {.format = CS_FORMAT_JSON}},
    {"json --all", {.format = CS_FORMAT_JSON, .all = true}},
    {"json firefox", {.format = CS_FORMAT_JSON, .browser = CS_BROWSER_FIREFOX}},
    {"json chrome --all", {.format = CS_FORMAT_JSON, .browser = CS_BROWSER_CHROME, .all = true}},
    {"text", {.format = CS_FORMAT_TEXT}},
    {"text --all", {.format = CS_FORMAT_TEXT, .all = true}},
    {"text firefox --all", {.format = CS_FORMAT_TEXT, .browser = CS_BROWSER_FIREFOX, .all = true}},
    {"text chrome", {.format = CS_FORMAT_TEXT, .browser = CS_BROWSER_CHROME}},
};
#define N_CONFIGS (sizeof configs / sizeof configs[0])

static void compare(const struct config *c, const struct params *pm, struct run *direct, struct run *thread)
{
    play(&c->opt, pm, false, direct);
    play(&c->opt, pm, true, thread);
    assert_same(direct, thread, c->name);
}

static void run_free(struct run *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Every format and browser choice, with and without --all. */
static void test_same_output_every_format(void)
{
    const struct params pm = {.txns = 4000};
    for (size_t i = 0; i < N_CONFIGS; i++) {
        struct run d, t;
        compare(&configs[i], &pm, &d, &t);
        /* the capture has what it claims: every verdict, preflights, ends */
        CU_ASSERT(d.g.done >= pm.txns);
        CU_ASSERT(d.g.flows_ended > 100);
        CU_ASSERT(d.any_blocked);
        if (configs[i].opt.format == CS_FORMAT_JSON) {
            CU_ASSERT(count(&d, "\"verdict\":\"blocked\"") > 100);
            CU_ASSERT(count(&d, "\"verdict\":\"allowed\"") > 100);
            CU_ASSERT(count(&d, "\"kind\":\"preflight\"") > 100);
            CU_ASSERT(count(&d, "\"kind\":\"actual\"") > 100);
            CU_ASSERT(count(&d, "\"src\":\"2001:db8::") > 100);
            CU_ASSERT(count(&d, "\"src\":\"192.0.2.") > 100);
            CU_ASSERT(count(&d, "\"end\":\"reset\"") > 10);
            CU_ASSERT(count(&d, "\"end\":\"evicted\"") > 10);
            CU_ASSERT(count(&d, "\"interim_status\":100") > 10 || !configs[i].opt.all);
            CU_ASSERT(count(&d, "\"preflight_frame\":") > 10);
        } else {
            CU_ASSERT(count(&d, "BLOCKED") > 100);
            CU_ASSERT(count(&d, "allowed") > 100);
            CU_ASSERT(count(&d, "  preflight  ") > 100);
            CU_ASSERT(count(&d, "connection reset") > 5);
            CU_ASSERT(count(&d, "connection idle: expired") > 5);
            CU_ASSERT(count(&d, "connection dropped: flow limit reached") > 5);
            if (configs[i].opt.all) {
                CU_ASSERT(count(&d, "TLS (SNI api.example.com), not analyzable") > 3);
                CU_ASSERT(count(&d, "SSH, not analyzable") > 3);
                CU_ASSERT(count(&d, "(no response: lost in a capture gap)") > 3);
            }
        }
        run_free(&d);
        run_free(&t);
    }
}

/* 20,000 transactions: the four batches go round several times. */
static void test_many_batches(void)
{
    const struct params pm = {.txns = 20000};
    for (size_t i = 0; i < N_CONFIGS; i++) {
        if (!configs[i].opt.all || i > 5)
            continue; /* json --all and text --all */
        struct run d, t;
        compare(&configs[i], &pm, &d, &t);
        CU_ASSERT(d.g.bytes > 5u * CS_REPORT_BATCHES * CS_REPORT_BATCH_BYTES); /* the ring cycles */
        if (configs[i].opt.format == CS_FORMAT_JSON)
            CU_ASSERT(count(&d, "{\"type\":\"http\"") > 19000);
        run_free(&d);
        run_free(&t);
    }
}

/* Records of 300 KB and more (a huge response, a huge request, both; two
 * in a row), more than a batch holds: the slot grows, and shrinks back. */
static void test_record_bigger_than_batch(void)
{
    const struct params pm = {.txns = 3000, .big_every = 97};
    for (size_t i = 0; i < N_CONFIGS; i++) {
        if (!configs[i].opt.all || i > 5)
            continue;
        struct run d, t;
        compare(&configs[i], &pm, &d, &t);
        CU_ASSERT(d.g.bigs > 30);
        if (configs[i].opt.format == CS_FORMAT_JSON) {
            CU_ASSERT_EQUAL(count(&d, "\"uri\":\"/big/"), d.g.bigs);
            /* the odd ones are allowed by an Access-Control-Allow-Origin (after
             * 5000 lines in /big/3) for an Origin (after 5000 lines in /big/1) */
            CU_ASSERT_PTR_NOT_NULL(strstr(d.buf, "\"uri\":\"/big/3\",\"status\":200,\"origin\":\"http://app.example:8080\","
                                                 "\"kind\":\"simple\",\"verdict\":\"allowed\""));
            /* (custom request headers make it an actual request) */
            CU_ASSERT_PTR_NOT_NULL(strstr(d.buf, "\"uri\":\"/big/1\",\"status\":200,\"origin\":\"http://app.example:8080\","
                                                 "\"kind\":\"actual\",\"verdict\":\"allowed\""));
            CU_ASSERT_PTR_NOT_NULL(strstr(d.buf, "\"uri\":\"/big/0\",\"status\":200,\"origin\":\"http://app.example:8080\","
                                                 "\"kind\":\"simple\",\"verdict\":\"blocked\""));
        }
        run_free(&d);
        run_free(&t);
    }
}

/* Messages with a string outside their block go over synchronously: first,
 * in the middle (also right after huge records), last; each is written in
 * order, and by the time the hook returns everything before it is out. */
static void test_synchronous_fallback(void)
{
    const struct params pm = {.txns = 3000, .fallback_every = 150, .big_every = 149};
    for (size_t i = 0; i < N_CONFIGS; i++) {
        struct run d, t;
        compare(&configs[i], &pm, &d, &t);
        CU_ASSERT(d.g.fallbacks >= 20);
        CU_ASSERT_EQUAL(d.sk.n_marks, d.g.fallbacks);
        if (configs[i].opt.format == CS_FORMAT_JSON) {
            CU_ASSERT_EQUAL(count(&d, "\"uri\":\"/fallback/"), d.g.fallbacks);
            /* the thread's output, at each fallback, ends with that very line */
            for (unsigned k = 0; k < t.sk.n_marks; k++) {
                size_t end = t.sk.marks[k];
                CU_ASSERT_FATAL(end > 0 && end <= t.len && t.buf[end - 1] == '\n');
                size_t start = end - 1;
                while (start > 0 && t.buf[start - 1] != '\n')
                    start--;
                char want[64];
                snprintf(want, sizeof want, "\"uri\":\"/fallback/%u\"", k);
                CU_ASSERT_PTR_NOT_NULL(memmem(t.buf + start, end - start, want, strlen(want)));
            }
            /* the strings outside the block were read: /fallback/0 is allowed
             * by its outside ACAO, /fallback/1 has its outside method, the
             * outside Origin of /fallback/2 is blocked, of /fallback/3 allowed */
            CU_ASSERT(line_has(&t, "\"uri\":\"/fallback/0\"", "\"origin\":\"http://app.example:8080\",\"kind\":\"simple\",\"verdict\":\"allowed\""));
            CU_ASSERT(line_has(&t, "\"uri\":\"/fallback/1\"", "\"method\":\"GET\""));
            CU_ASSERT(line_has(&t, "\"uri\":\"/fallback/2\"", "\"origin\":\"https://shop.example\",\"kind\":\"simple\",\"verdict\":\"blocked\""));
            CU_ASSERT(line_has(&t, "\"uri\":\"/fallback/3\"", "\"origin\":\"https://shop.example\",\"kind\":\"simple\",\"verdict\":\"allowed\""));
        }
        run_free(&d);
        run_free(&t);
    }
}

/* Started and stopped with nothing in between: only the summary. */
static void test_zero_events(void)
{
    for (size_t i = 0; i < N_CONFIGS; i++) {
        struct run d, t;
        play(&configs[i].opt, NULL, false, &d);
        play(&configs[i].opt, NULL, true, &t);
        assert_same(&d, &t, configs[i].name);
        CU_ASSERT(d.len > 0);
        CU_ASSERT_FALSE(t.any_blocked);
        run_free(&d);
        run_free(&t);
    }
    cs_report_thread_stop(NULL); /* the "could not start" value */
}

/* 2 and 3 producers merged: byte for byte the direct run, every format. */
static void test_merged_producers(void)
{
    const struct params pm = {.txns = 3000};
    for (size_t i = 0; i < N_CONFIGS; i++)
        for (unsigned n = 2; n <= 3; n++) {
            struct run d, t;
            play(&configs[i].opt, &pm, false, &d);
            play_merged(&configs[i].opt, &pm, n, &t);
            assert_same(&d, &t, configs[i].name);
            CU_ASSERT(d.g.flows_ended > 100);
            run_free(&d);
            run_free(&t);
        }
}

static void noop_txn(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t)
{
    (void)ctx, (void)f, (void)t;
}

static void noop_flow_end(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                          const struct cs_flow_info *info)
{
    (void)ctx, (void)f, (void)why, (void)info;
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"same output as the direct hooks, every format", test_same_output_every_format},
        {"20,000 transactions: batches cycle", test_many_batches},
        {"records bigger than a batch", test_record_bigger_than_batch},
        {"strings outside the block: synchronous, in order", test_synchronous_fallback},
        {"zero events", test_zero_events},
        {"2 and 3 producers merged in key order, flows renumbered", test_merged_producers},
        {NULL, NULL},
    };
    struct cs_limits limits;
    cs_limits_default(&limits);
    struct cs_pipeline_hooks hooks = {.on_txn = noop_txn, .on_flow_end = noop_flow_end};
    char errbuf[256];
    g_pipe = cs_pipeline_new(&limits, &hooks, NULL, errbuf, sizeof errbuf);
    if (!g_pipe) {
        fprintf(stderr, "cs_pipeline_new: %s\n", errbuf);
        return 2;
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("report_thread", cases);
    int rc = cs_test_run();
    cs_pipeline_free(g_pipe);
    return rc;
}
