/* Writes the seed inputs of fuzz_h2 (tests/fuzz/corpus-min/h2/) in its
 * record format: real HTTP/2 conversations whose header blocks come from
 * libnghttp2's deflater, built with the unit tests' frame builders.
 *
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude -iquote src -iquote tests/unit \
 *      -o /tmp/make_h2_seeds tests/fuzz/make_h2_seeds.c -lnghttp2 -lcunit
 *   /tmp/make_h2_seeds tests/fuzz/corpus-min/h2
 *
 * Not run by `make check`: the committed seeds are its output. */
#include "h2_testutil.h"

static struct hb out;

static void rec(int kind, int dir, const uint8_t *p, size_t n)
{
    uint8_t h[3] = {(uint8_t)(kind | dir << 2), (uint8_t)n, (uint8_t)(n >> 8)};
    hb_put(&out, h, 3);
    if (kind == 0)
        hb_put(&out, p, n);
}

static void send_dir(int dir, struct hb *b)
{
    for (size_t off = 0; off < b->len; off += 60000)
        rec(0, dir, b->p + off, b->len - off < 60000 ? b->len - off : 60000);
    b->len = 0;
}

static void save(const char *dir, const char *name, uint8_t flags)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fwrite(&flags, 1, 1, f);
    fwrite(out.p, 1, out.len, f);
    fclose(f);
    out.len = 0;
}

static const char *const REQ[] = {
    ":method", "GET", ":scheme", "https", ":authority", "api.example.com", ":path", "/data",
    "origin", "https://app.example.com", "cookie", "a=1", "cookie", "b=2", NULL};
static const char *const PRE[] = {
    ":method", "OPTIONS", ":scheme", "https", ":authority", "api.example.com", ":path", "/data",
    "origin", "https://app.example.com", "access-control-request-method", "PUT",
    "access-control-request-headers", "x-token", NULL};
static const char *const RESP[] = {
    ":status", "200", "access-control-allow-origin", "https://app.example.com",
    "access-control-allow-credentials", "true", "vary", "Origin", NULL};
static const char *const EARLY[] = {":status", "103", "link", "</a.css>", NULL};
static const char *const TRAIL[] = {"grpc-status", "0", NULL};

int main(int argc, char **argv)
{
    if (argc != 2)
        return 1;
    const char *dir = argv[1];
    nghttp2_hd_deflater *cd, *sd;
    struct hb c = {0}, s = {0};
    static const struct hdr_opts plain = {.pad = -1, .end_stream = true};
    static const struct hdr_opts open_ = {.pad = -1};

    /* 1: one request, one response. */
    nghttp2_hd_deflate_new(&cd, 4096);
    nghttp2_hd_deflate_new(&sd, 4096);
    put_settings(&c, false, NULL, 0);
    send_dir(0, &c);
    put_settings(&s, false, NULL, 0);
    put_settings(&s, true, NULL, 0);
    send_dir(1, &s);
    put_settings(&c, true, NULL, 0);
    put_headers(&c, cd, 1, REQ, &plain);
    send_dir(0, &c);
    put_headers(&s, sd, 1, RESP, &open_);
    put_data(&s, 1, 40, -1, true);
    send_dir(1, &s);
    rec(2, 1, NULL, 0);
    save(dir, "simple", 0);
    nghttp2_hd_deflate_del(cd);
    nghttp2_hd_deflate_del(sd);

    /* 2: preflight + actual, CONTINUATION, padding, priority, 1xx,
     * trailers, push, table size change, RST, GOAWAY. */
    nghttp2_hd_deflate_new(&cd, 4096);
    nghttp2_hd_deflate_new(&sd, 65536);
    uint32_t ts[] = {CS_H2_SETTINGS_HEADER_TABLE_SIZE, 8192, CS_H2_SETTINGS_MAX_FRAME_SIZE, 32768};
    put_settings(&c, false, ts, 2);
    send_dir(0, &c);
    put_settings(&s, false, NULL, 0);
    put_settings(&s, true, NULL, 0);
    send_dir(1, &s);
    nghttp2_hd_deflate_change_table_size(sd, 8192);
    put_settings(&c, true, NULL, 0);
    struct hdr_opts split = {.pad = 5, .priority = true, .split = 11, .end_stream = true};
    put_headers(&c, cd, 1, PRE, &split);
    put_headers(&c, cd, 3, REQ, &open_);
    put_data(&c, 3, 30, 4, true);
    put_headers(&c, cd, 5, REQ, &plain);
    send_dir(0, &c);
    put_headers(&s, sd, 1, EARLY, &open_);
    struct hdr_opts sp = {.pad = 0, .split = 7, .end_stream = true};
    put_headers(&s, sd, 1, RESP, &sp);
    struct hdr_opts push = {.pad = 2, .type = CS_H2_PUSH_PROMISE, .promised = 2};
    put_headers(&s, sd, 3, REQ, &push);
    put_headers(&s, sd, 3, RESP, &open_);
    put_data(&s, 3, 20000, -1, false);
    put_headers(&s, sd, 3, TRAIL, &plain);
    put_rst(&s, 5, 7);
    put_goaway(&s, 3, 0, "done");
    send_dir(1, &s);
    save(dir, "features", 0);
    nghttp2_hd_deflate_del(cd);
    nghttp2_hd_deflate_del(sd);

    /* 3: gaps: one inside DATA, one inside a header block. */
    nghttp2_hd_deflate_new(&cd, 4096);
    nghttp2_hd_deflate_new(&sd, 4096);
    put_settings(&c, false, NULL, 0);
    put_headers(&c, cd, 1, REQ, &open_);
    put_data(&c, 1, 100, -1, true);
    c.len -= 60;
    send_dir(0, &c);
    rec(1, 0, NULL, 60);
    put_settings(&s, false, NULL, 0);
    put_headers(&s, sd, 1, RESP, &plain);
    s.len -= 5;
    send_dir(1, &s);
    rec(1, 1, NULL, 5);
    put_headers(&c, cd, 3, REQ, &plain);
    send_dir(0, &c);
    rec(3, 0, NULL, 0);
    save(dir, "gaps", 1);
    nghttp2_hd_deflate_del(cd);
    nghttp2_hd_deflate_del(sd);

    /* 4: the raw preface spelled by the input itself, then garbage. */
    put_preface(&c);
    static const char broken[] = "\0\0\4\4\0\0\0\0\0garbage after a broken SETTINGS";
    hb_put(&c, broken, sizeof broken - 1);
    send_dir(0, &c);
    save(dir, "own-preface", 2);

    hb_free(&c);
    hb_free(&s);
    hb_free(&out);
    return 0;
}
