/* cs_pipeline_frames (files: decoded a group ahead, flow state prefetched)
 * must do exactly what cs_pipeline_frame does one frame at a time (live
 * captures): every transaction and flow end, in the same order, with the
 * same content, and the same stage counters.  Checked on every bundled
 * capture (IP fragments included: ugly-tcp.pcap) and the Zeek corpus's
 * HTTP traces, in batches of several sizes. */
#include <dirent.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "capture.h"
#include "pipeline.h"

/* One line per event, with everything the report reads. */
static void log_headers(GString *log, const corscope_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(log, " %.*s=%.*s", (int)h[i].name_len, h[i].name,
                               (int)h[i].value_len, h[i].value);
    g_string_append_c(log, ']');
}

static void on_txn(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t)
{
    GString *log = ctx;
    g_string_append_printf(log, "txn flow=%llu %s idx=%u end=%d int=%d ef=%llu ets=%lld",
                           (unsigned long long)f->id, t->transport, t->index, (int)t->end,
                           t->interim_status, (unsigned long long)t->end_frame, (long long)t->end_ts);
    g_string_append_printf(log, " [%.*s %.*s f%llu t%lld x%x h%zu",
                           (int)t->req.method_len, t->req.method ? t->req.method : "",
                           (int)t->req.target_len, t->req.target ? t->req.target : "",
                           (unsigned long long)t->req_frame, (long long)t->req_ts, t->req_flags,
                           t->req.n_headers);
    log_headers(log, t->req.headers, t->req.n_headers);
    if (t->has_resp) {
        g_string_append_printf(log, " [%d f%llu t%lld x%x h%zu", t->resp.status,
                               (unsigned long long)t->resp_frame, (long long)t->resp_ts,
                               t->resp_flags, t->resp.n_headers);
        log_headers(log, t->resp.headers, t->resp.n_headers);
    } else {
        g_string_append(log, " -");
    }
    g_string_append_c(log, '\n');
}

static void on_flow_end(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                        const struct cs_flow_info *info)
{
    GString *log = ctx;
    g_string_append_printf(log, "end flow=%llu why=%d frames=%llu-%llu first=%lld last=%lld parsed=%d "
                                "up=%d data=%d n=%llu proto=%s sni=%s\n",
                           (unsigned long long)f->id, (int)why,
                           (unsigned long long)f->first_frame, (unsigned long long)f->last_frame,
                           (long long)f->first_ts, (long long)f->last_ts, info->parsed,
                           info->upgraded, info->had_data, (unsigned long long)info->transactions,
                           info->proto, info->sni);
}

static void log_stats(GString *log, struct cs_pipeline *p)
{
    const struct cs_decode_stats *d = cs_pipeline_decode_stats(p);
    const struct cs_flow_stats *f = cs_pipeline_flow_stats(p);
    const struct cs_http_stats *h = cs_pipeline_http_stats(p);
    const struct cs_pipeline_stats *s = cs_pipeline_stats(p);
    g_string_append_printf(log, "stats %llu %llu %llu %llu %llu %llu %llu | %llu %llu %llu %llu %llu "
                                "| %llu %llu %llu %llu %llu | %llu %llu %llu\n",
                           (unsigned long long)d->frames, (unsigned long long)d->tcp,
                           (unsigned long long)d->truncated, (unsigned long long)d->malformed,
                           (unsigned long long)d->fragments, (unsigned long long)d->reassembled,
                           (unsigned long long)d->frag_dropped,
                           (unsigned long long)f->created, (unsigned long long)f->closed,
                           (unsigned long long)f->reset, (unsigned long long)f->idle_expired,
                           (unsigned long long)f->ignored_segments,
                           (unsigned long long)h->requests, (unsigned long long)h->responses,
                           (unsigned long long)h->gaps, (unsigned long long)h->resyncs,
                           (unsigned long long)h->garbage_bytes,
                           (unsigned long long)s->http_flows, (unsigned long long)s->other_flows,
                           (unsigned long long)s->empty_flows);
}

/* A fresh pipeline that logs its events to `log`. */
static struct cs_pipeline *logged_pipeline(GString *log)
{
    char errbuf[CS_ERRBUF_SIZE];
    struct cs_limits lim;
    cs_limits_default(&lim);
    struct cs_pipeline_hooks hooks = {.on_txn = on_txn, .on_flow_end = on_flow_end};
    struct cs_pipeline *p = cs_pipeline_new(&lim, &hooks, log, errbuf, sizeof errbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return p;
}

/* Feeds frames[0..n) through cs_pipeline_frames (batched) or one by one
 * through cs_pipeline_frame. */
static void feed(struct cs_pipeline *p, const struct cs_frame *frames, int n, bool batched)
{
    if (batched) {
        cs_pipeline_frames(p, frames, (unsigned)n);
    } else {
        for (int k = 0; k < n; k++)
            cs_pipeline_frame(p, &frames[k]);
    }
}

/* Ends the pipeline's flows, logs its counters and frees it. */
static void finish(struct cs_pipeline *p, GString *log)
{
    cs_pipeline_finish(p);
    log_stats(log, p);
    cs_pipeline_free(p);
}

/* Runs a capture through a fresh pipeline: frames fed `batch` at a time
 * through cs_pipeline_frames (0: one by one through cs_pipeline_frame).
 * Returns the event log, or NULL when the file cannot be opened. */
static GString *run(const char *path, int batch)
{
    char errbuf[CS_ERRBUF_SIZE];
    struct cs_capture *c = cs_capture_open_file(path, NULL, 1, errbuf);
    if (!c)
        return NULL;
    GString *log = g_string_new(NULL);
    struct cs_pipeline *p = logged_pipeline(log);
    struct cs_frame frames[64];
    int rc;
    while ((rc = cs_capture_next_batch(c, frames, batch ? batch : 1, errbuf)) > 0)
        feed(p, frames, rc, batch != 0);
    g_string_append_printf(log, "rc %d\n", rc);
    finish(p, log);
    cs_capture_close(c);
    return log;
}

static int files_checked, events_checked;

static void check_file(const char *path)
{
    GString *one = run(path, 0);
    if (!one)
        return; /* pcapng or unreadable: not this test's concern */
    static const int batches[] = {1, 3, 32, 64};
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        GString *many = run(path, batches[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(many);
        if (strcmp(one->str, many->str) != 0) {
            fprintf(stderr, "%s: batch %d differs from one by one\n", path, batches[i]);
            CU_FAIL("cs_pipeline_frames differs from cs_pipeline_frame");
        }
        g_string_free(many, TRUE);
    }
    for (const char *q = one->str; (q = strchr(q, '\n')); q++)
        events_checked++;
    files_checked++;
    g_string_free(one, TRUE);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every .pcap below dir (recursively), in name order. */
static void check_dir(const char *dir, bool recurse)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            g_ptr_array_add(names, g_build_filename(dir, e->d_name, NULL));
    closedir(d);
    g_ptr_array_sort(names, by_name);
    for (guint i = 0; i < names->len; i++) {
        const char *path = g_ptr_array_index(names, i);
        if (g_str_has_suffix(path, ".pcap"))
            check_file(path);
        else if (recurse && g_file_test(path, G_FILE_TEST_IS_DIR))
            check_dir(path, true);
    }
    g_ptr_array_free(names, TRUE);
}

static void test_bundled_captures(void)
{
    files_checked = events_checked = 0;
    check_dir("pcaps", true);
    CU_ASSERT(files_checked >= 10);
    CU_ASSERT(events_checked > 200);
    /* the fragment path ends a group early: ugly-tcp.pcap has fragments */
    GString *log = run("pcaps/ugly-tcp.pcap", 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    CU_ASSERT(strstr(log->str, "stats") != NULL);
    g_string_free(log, TRUE);
}

/* --- IP fragments: the segment rebuilt from fragments lives in the
 * decoder's buffer, which the next datagram rebuilt reuses; a batch must
 * feed the first before decoding the second. --- */

struct frame_buf {
    uint8_t b[1600];
    uint32_t n;
};

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

/* TCP segment client (192.0.2.1:40000) <-> server (198.51.100.7:80) in
 * IPv4, whole or as two fragments (the first with 8*k bytes of it). */
static int segment(struct frame_buf *out, bool from_client, uint32_t seq, uint32_t ack,
                   uint8_t flags, const char *payload, bool fragment, uint16_t ip_id)
{
    uint8_t l4[1500];
    size_t plen = payload ? strlen(payload) : 0;
    memset(l4, 0, 20);
    put_be16(l4, from_client ? 40000 : 80);
    put_be16(l4 + 2, from_client ? 80 : 40000);
    put_be32(l4 + 4, seq);
    put_be32(l4 + 8, ack);
    l4[12] = 0x50;
    l4[13] = flags;
    put_be16(l4 + 14, 65535);
    memcpy(l4 + 20, payload ? payload : "", plen);
    size_t l4n = 20 + plen;
    size_t cut[3] = {0, fragment ? 40 : l4n, l4n};
    int nf = fragment ? 2 : 1;
    static const uint8_t client[4] = {192, 0, 2, 1}, server[4] = {198, 51, 100, 7};
    for (int k = 0; k < nf; k++) {
        struct frame_buf *f = &out[k];
        size_t len = cut[k + 1] - cut[k];
        memset(f->b, 0, 34);
        f->b[12] = 0x08;
        uint8_t *ip = f->b + 14;
        ip[0] = 0x45;
        put_be16(ip + 2, (uint16_t)(20 + len));
        put_be16(ip + 4, ip_id);
        put_be16(ip + 6, (uint16_t)((k + 1 < nf ? 0x2000 : 0) | cut[k] / 8));
        ip[8] = 64;
        ip[9] = 6;
        memcpy(ip + 12, from_client ? client : server, 4);
        memcpy(ip + 16, from_client ? server : client, 4);
        memcpy(ip + 20, l4 + cut[k], len);
        f->n = (uint32_t)(34 + len);
    }
    return nf;
}

static GString *run_frames(const struct frame_buf *fb, int n, bool batched)
{
    GString *log = g_string_new(NULL);
    struct cs_pipeline *p = logged_pipeline(log);
    struct cs_frame fr[64];
    for (int i = 0; i < n; i++)
        fr[i] = (struct cs_frame){.number = (uint64_t)i + 1, .ts = 1000000000LL * (i + 1), .linktype = 1, .data = fb[i].b, .caplen = fb[i].n, .wirelen = fb[i].n};
    feed(p, fr, n, batched);
    finish(p, log);
    return log;
}

static void test_fragments_in_one_batch(void)
{
    static const char req_a[] = "GET /first/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    static const char req_b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb HTTP/1.1\r\n"
                                "Host: api.example\r\nOrigin: http://app.example\r\n\r\n";
    static const char resp[] = "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: http://app.example\r\n"
                               "Content-Length: 0\r\n\r\n";
    uint32_t c = 1000, s = 5000;
    uint32_t qlen = (uint32_t)(strlen(req_a) + strlen(req_b));
    struct frame_buf fb[16];
    int n = 0;
    n += segment(&fb[n], true, c, 0, 0x02, NULL, false, 1);
    n += segment(&fb[n], false, s, c + 1, 0x12, NULL, false, 2);
    n += segment(&fb[n], true, c + 1, s + 1, 0x10, NULL, false, 3);
    n += segment(&fb[n], true, c + 1, s + 1, 0x18, req_a, true, 4);
    n += segment(&fb[n], true, c + 1 + (uint32_t)strlen(req_a), s + 1, 0x18, req_b, true, 5);
    n += segment(&fb[n], false, s + 1, c + 1 + qlen, 0x18, resp, false, 6);
    n += segment(&fb[n], true, c + 1 + qlen, s + 1 + (uint32_t)strlen(resp), 0x11, NULL, false, 7);
    n += segment(&fb[n], false, s + 1 + (uint32_t)strlen(resp), c + 2 + qlen, 0x11, NULL, false, 8);
    GString *one = run_frames(fb, n, false), *many = run_frames(fb, n, true);
    /* the request arrived whole, in two rebuilt datagrams */
    CU_ASSERT(strstr(one->str, "GET /first/aaaa") != NULL);
    CU_ASSERT(strstr(one->str, "aaaabbbb") != NULL);
    CU_ASSERT(strstr(one->str, " [200 ") != NULL);
    CU_ASSERT_STRING_EQUAL(one->str, many->str);
    g_string_free(one, TRUE);
    g_string_free(many, TRUE);
}

static void test_zeek_traces(void)
{
    files_checked = events_checked = 0;
    check_dir("tests/zeek/traces", true); /* vendored with the tests */
    CU_ASSERT(files_checked >= 50);
    printf("\n    zeek traces: %d files, %d events\n", files_checked, events_checked);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("pipeline_batch", NULL, NULL);
    CU_add_test(s, "bundled captures: batches equal frame by frame", test_bundled_captures);
    CU_add_test(s, "Zeek corpus traces: batches equal frame by frame", test_zeek_traces);
    CU_add_test(s, "two rebuilt datagrams in one batch", test_fragments_in_one_batch);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
