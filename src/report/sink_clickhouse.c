/* The ClickHouse sink (sink.h): rows in JSONEachRow, posted with libcurl to
 * ClickHouse's HTTP interface as `INSERT INTO db.table FORMAT JSONEachRow`.
 *
 * Two threads meet here.  The report stage (one producer) formats each
 * event into a flat row and appends it to `pending` under the lock; the
 * sender thread takes all of `pending` as one batch (`inflight`), posts it
 * without the lock, and on failure keeps it and tries again after a
 * backoff (0.25 s doubling to 8 s) while new rows keep queueing behind it.
 * Both count against max_queue_bytes, so memory stays bounded whatever the
 * store does.  A batch that ClickHouse acknowledged is never sent again; a
 * batch whose answer was lost may be, and the table deduplicates on
 * event_id (contrib/clickhouse/schema.sql). */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "out_json.h"
#include "sink.h"

/* libcurl is loaded when a sink starts, not linked: linking it maps some
 * thirty libraries (TLS, SSH, LDAP, Kerberos, IDN, ...) into every run and
 * costs ~7 MB of resident memory that a run without --sink never uses. */
struct curl_api {
    void *lib;
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_reset)(CURL *curl);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
};

static bool load_curl(struct curl_api *c, char *err, size_t errlen)
{
    c->lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!c->lib) {
        snprintf(err, errlen, "--sink: cannot load libcurl (%.120s): install libcurl4", dlerror());
        return false;
    }
    /* POSIX guarantees that a dlsym result converts to a function pointer;
     * the memcpy keeps ISO C's object/function pointer rule quiet. */
#define SYM(field, name)                                                  \
    do {                                                                  \
        void *sym = dlsym(c->lib, name);                                  \
        if (!sym) {                                                       \
            snprintf(err, errlen, "--sink: libcurl.so.4 lacks %s", name); \
            return false;                                                 \
        }                                                                 \
        memcpy(&c->field, &sym, sizeof sym);                              \
    } while (0)
    SYM(global_init, "curl_global_init");
    SYM(easy_init, "curl_easy_init");
    SYM(easy_setopt, "curl_easy_setopt");
    SYM(easy_perform, "curl_easy_perform");
    SYM(easy_getinfo, "curl_easy_getinfo");
    SYM(easy_reset, "curl_easy_reset");
    SYM(easy_cleanup, "curl_easy_cleanup");
    SYM(easy_strerror, "curl_easy_strerror");
    SYM(slist_append, "curl_slist_append");
    SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
    return true;
}

struct cs_sink {
    struct cs_sink_options opt;
    struct curl_api curl;
    char *insert_url;  /* http://host:port/?query=INSERT... */
    char *summary_url; /* the same into DB.summaries_local */
    char *user, *password;

    pthread_mutex_t lock;
    pthread_cond_t wake; /* the sender: rows waiting, or stop */
    GString *pending;    /* rows not yet taken by the sender */
    uint64_t pending_rows;
    size_t inflight_bytes;    /* the batch the sender holds */
    bool stopping;            /* cs_sink_finish was called */
    struct timespec deadline; /* when exit gives up (valid once stopping) */
    struct cs_sink_stats stats;
    pthread_t sender;
    bool sender_started;

    /* producer side only (the report stage's thread) */
    char *row_buf;
    size_t row_len;
    FILE *row; /* open_memstream over row_buf */
};

static void now_plus_ms(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static long ms_until(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (long)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000L;
}

static bool identifier(const char *s, size_t n)
{
    if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* clickhouse://HOST:PORT/DB.TABLE -> the INSERT URL. */
static char *insert_url(const char *url, bool summary, char *err, size_t errlen)
{
    static const char scheme[] = "clickhouse://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0) {
        snprintf(err, errlen, "--sink %s: expected clickhouse://HOST:PORT/DB.TABLE", url);
        return NULL;
    }
    const char *host = url + sizeof scheme - 1;
    const char *slash = strchr(host, '/');
    const char *colon = slash ? memrchr(host, ':', (size_t)(slash - host)) : NULL;
    if (!slash || !colon || colon == host || (host[0] == '[' && colon[-1] != ']')) {
        snprintf(err, errlen, "--sink %s: expected clickhouse://HOST:PORT/DB.TABLE", url);
        return NULL;
    }
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || end != slash || port == 0 || port > 65535) {
        snprintf(err, errlen, "--sink %s: bad port", url);
        return NULL;
    }
    const char *table = slash + 1;
    const char *dot = strchr(table, '.');
    if (!dot || !identifier(table, (size_t)(dot - table)) || !identifier(dot + 1, strlen(dot + 1))) {
        snprintf(err, errlen, "--sink %s: DB.TABLE must be two names of letters, digits and _", url);
        return NULL;
    }
    /* The names were checked above, so the query needs no quoting beyond
     * the URL's: spaces as %20. */
    /* input_format_skip_unknown_fields is a safety net only: a sensor newer
     * than its store's schema still gets its rows in (without the new
     * keys) instead of retrying one batch forever.  Every key has its
     * column (tests/e2e/schema_keys.sh), and check-fleet fails on a key
     * the store did not keep. */
    if (summary) /* the summary row: summaries_local of the same database */
        return g_strdup_printf("http://%.*s:%lu/?query=INSERT%%20INTO%%20%.*s.summaries_local%%20FORMAT%%20JSONEachRow"
                               "&input_format_skip_unknown_fields=1",
                               (int)(colon - host), host, port, (int)(dot - table), table);
    return g_strdup_printf("http://%.*s:%lu/?query=INSERT%%20INTO%%20%s%%20FORMAT%%20JSONEachRow"
                           "&input_format_skip_unknown_fields=1",
                           (int)(colon - host), host, port, table);
}

/* "user:password" on one line, or the user on the first line and the
 * password on the second.  Read before privileges are dropped. */
static bool read_credentials(struct cs_sink *s, const char *path, char *err, size_t errlen)
{
    gchar *text = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    if (!g_file_get_contents(path, &text, &len, &gerr)) {
        snprintf(err, errlen, "--sink-credentials %s: %s", path, gerr->message);
        g_error_free(gerr);
        return false;
    }
    if (len > 4096 || memchr(text, '\0', len)) {
        snprintf(err, errlen, "--sink-credentials %s: not a short text file", path);
        g_free(text);
        return false;
    }
    gchar **lines = g_strsplit(text, "\n", 3);
    g_free(text);
    const char *first = lines[0] ? g_strchomp(lines[0]) : "";
    const char *colon = strchr(first, ':');
    if (colon) {
        s->user = g_strndup(first, (gsize)(colon - first));
        s->password = g_strdup(colon + 1);
    } else {
        s->user = g_strdup(first);
        s->password = g_strdup(lines[0] && lines[1] ? g_strchomp(lines[1]) : "");
    }
    g_strfreev(lines);
    if (!s->user[0]) {
        snprintf(err, errlen, "--sink-credentials %s: no user name on the first line", path);
        return false;
    }
    return true;
}

/* ---- rows (producer side) ---------------------------------------------- */

/* A row is the event's JSON line with ClickHouse's shapes (out_json.c,
 * cs_out_json_event_row): every key the JSON has, so every column of
 * events_local that applies; absent keys take the column's default. */
static void format_row(struct cs_jbuf *b, const struct cs_event *ev)
{
    cs_out_json_event_row(b, ev);
}

void cs_sink_event(struct cs_sink *s, const struct cs_event *ev)
{
    struct cs_jbuf jb;
    fseeko(s->row, 0, SEEK_SET);
    cs_jbuf_init(&jb, s->row);
    format_row(&jb, ev);
    cs_jbuf_flush(&jb);
    fflush(s->row);
    size_t n = s->row_len; /* the position: this row's bytes */

    pthread_mutex_lock(&s->lock);
    if (s->stopping || s->pending->len + s->inflight_bytes + n > s->opt.max_queue_bytes) {
        s->stats.dropped++;
    } else {
        g_string_append_len(s->pending, s->row_buf, (gssize)n);
        s->pending_rows++;
        s->stats.queued++;
        if (s->pending_rows >= s->opt.batch_rows)
            pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->lock);
}

/* ---- the sender thread --------------------------------------------------- */

struct reply {
    char text[160];
    size_t len;
};

static size_t keep_reply(char *p, size_t size, size_t n, void *ctx)
{
    struct reply *r = ctx;
    size_t len = size * n;
    size_t room = sizeof r->text - 1 - r->len;
    size_t take = len < room ? len : room;
    memcpy(r->text + r->len, p, take);
    r->len += take;
    r->text[r->len] = '\0';
    return len;
}

/* Posts one batch; true when ClickHouse answered 200.  On failure the
 * reason goes to err (ClickHouse's own first line when it sent one). */
static bool post(struct cs_sink *s, CURL *curl, const char *url, const GString *batch, long timeout_ms,
                 char *err, size_t errlen)
{
    struct reply reply = {.len = 0};
    reply.text[0] = '\0';
    char curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = s->curl.slist_append(NULL, "Content-Type: application/x-ndjson");
    s->curl.easy_reset(curl);
    s->curl.easy_setopt(curl, CURLOPT_URL, url);
    s->curl.easy_setopt(curl, CURLOPT_POST, 1L);
    s->curl.easy_setopt(curl, CURLOPT_POSTFIELDS, batch->str);
    s->curl.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)batch->len);
    s->curl.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    s->curl.easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_reply);
    s->curl.easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    s->curl.easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    s->curl.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    s->curl.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 2000 ? timeout_ms : 2000L);
    s->curl.easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    s->curl.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
    if (s->user) {
        s->curl.easy_setopt(curl, CURLOPT_USERNAME, s->user);
        s->curl.easy_setopt(curl, CURLOPT_PASSWORD, s->password);
    }
    CURLcode rc = s->curl.easy_perform(curl);
    long code = 0;
    s->curl.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    s->curl.slist_free_all(headers);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%.150s", curl_err[0] ? curl_err : s->curl.easy_strerror(rc));
        return false;
    }
    if (code != 200) {
        char *nl = strchr(reply.text, '\n');
        if (nl)
            *nl = '\0';
        snprintf(err, errlen, "HTTP %ld: %.120s", code, reply.text);
        return false;
    }
    return true;
}

static void *sender_main(void *arg)
{
    struct cs_sink *s = arg;
    CURL *curl = s->curl.easy_init();
    GString *batch = g_string_sized_new(64 * 1024);
    uint64_t batch_rows = 0;
    unsigned backoff_ms = 250;
    struct timespec next_flush;
    now_plus_ms(&next_flush, s->opt.flush_ms);

    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (batch_rows == 0) {
            /* wait for a full batch, the flush interval, or the stop */
            while (!s->stopping && s->pending_rows < s->opt.batch_rows &&
                   !(s->pending_rows > 0 && ms_until(&next_flush) <= 0)) {
                if (pthread_cond_timedwait(&s->wake, &s->lock, &next_flush) == ETIMEDOUT &&
                    s->pending_rows == 0)
                    now_plus_ms(&next_flush, s->opt.flush_ms);
            }
            if (s->pending_rows == 0)
                break; /* stopping, nothing left */
            GString *t = batch;
            batch = s->pending;
            s->pending = t;
            batch_rows = s->pending_rows;
            s->pending_rows = 0;
            s->inflight_bytes = batch->len;
            now_plus_ms(&next_flush, s->opt.flush_ms);
        }
        long timeout = (long)s->opt.request_timeout_ms;
        if (s->stopping) {
            long left = ms_until(&s->deadline);
            if (left <= 0)
                break;
            if (left < timeout)
                timeout = left;
        }
        pthread_mutex_unlock(&s->lock);
        char err[sizeof s->stats.last_error];
        bool ok = curl && post(s, curl, s->insert_url, batch, timeout, err, sizeof err);
        if (!curl)
            snprintf(err, sizeof err, "libcurl could not start");
        pthread_mutex_lock(&s->lock);
        if (ok) {
            s->stats.sent += batch_rows;
            s->stats.batches++;
            g_string_truncate(batch, 0);
            batch_rows = 0;
            s->inflight_bytes = 0;
            backoff_ms = 250;
            continue;
        }
        s->stats.retries++;
        memcpy(s->stats.last_error, err, sizeof err);
        /* back off; cs_sink_finish wakes us early so exit does not wait */
        struct timespec until;
        now_plus_ms(&until, backoff_ms);
        if (s->stopping && ms_until(&s->deadline) < ms_until(&until))
            until = s->deadline;
        bool was_stopping = s->stopping;
        while (ms_until(&until) > 0 && s->stopping == was_stopping)
            pthread_cond_timedwait(&s->wake, &s->lock, &until);
        if (backoff_ms < 8000)
            backoff_ms *= 2;
    }
    s->stats.unsent = s->pending_rows + batch_rows;
    pthread_mutex_unlock(&s->lock);
    g_string_free(batch, TRUE);
    if (curl)
        s->curl.easy_cleanup(curl);
    return NULL;
}

/* ---- life ---------------------------------------------------------------- */

struct cs_sink *cs_sink_new(const struct cs_sink_options *opt, char *err, size_t errlen)
{
    struct cs_sink *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->opt = *opt;
    s->insert_url = insert_url(opt->url, false, err, errlen);
    s->summary_url = s->insert_url ? insert_url(opt->url, true, err, errlen) : NULL;
    if (!s->insert_url || (opt->credentials_file && !read_credentials(s, opt->credentials_file, err, errlen))) {
        cs_sink_free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    s->pending = g_string_sized_new(64 * 1024);
    s->row = open_memstream(&s->row_buf, &s->row_len);
    if (!s->row) {
        snprintf(err, errlen, "out of memory");
        cs_sink_free(s);
        return NULL;
    }
    return s;
}

int cs_sink_start(struct cs_sink *s, char *err, size_t errlen)
{
    if (!load_curl(&s->curl, err, errlen))
        return -1;
    if (s->curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "--sink: libcurl could not start");
        return -1;
    }
    if (pthread_create(&s->sender, NULL, sender_main, s) != 0) {
        snprintf(err, errlen, "--sink: cannot start the sender thread");
        return -1;
    }
    s->sender_started = true;
    return 0;
}

void cs_sink_finish(struct cs_sink *s, struct cs_sink_stats *out)
{
    if (s->sender_started) {
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        now_plus_ms(&s->deadline, s->opt.exit_timeout_ms);
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->sender, NULL);
        s->sender_started = false;
    }
    if (out) {
        pthread_mutex_lock(&s->lock);
        *out = s->stats;
        pthread_mutex_unlock(&s->lock);
    }
}

bool cs_sink_summary(struct cs_sink *s, const struct cs_summary *sum, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *row = open_memstream(&buf, &len);
    if (!row) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    cs_out_json_summary_row(row, sum);
    fclose(row);
    GString *batch = g_string_new_len(buf, (gssize)len);
    free(buf);
    CURL *curl = s->curl.lib ? s->curl.easy_init() : NULL;
    long timeout = (long)(s->opt.request_timeout_ms < s->opt.exit_timeout_ms ? s->opt.request_timeout_ms
                                                                             : s->opt.exit_timeout_ms);
    bool ok = curl && post(s, curl, s->summary_url, batch, timeout, err, errlen);
    if (!curl)
        snprintf(err, errlen, "libcurl could not start");
    if (curl)
        s->curl.easy_cleanup(curl);
    g_string_free(batch, TRUE);
    return ok;
}

void cs_sink_free(struct cs_sink *s)
{
    if (!s)
        return;
    if (s->sender_started)
        cs_sink_finish(s, NULL);
    if (s->pending) {
        g_string_free(s->pending, TRUE);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->wake);
    }
    if (s->row)
        fclose(s->row);
    free(s->row_buf);
    g_free(s->insert_url);
    g_free(s->summary_url);
    if (s->curl.lib)
        dlclose(s->curl.lib);
    if (s->password)
        memset(s->password, 0, strlen(s->password));
    g_free(s->user);
    g_free(s->password);
    free(s);
}
