/* corscope: command line, the read loop, signals and the exit status.
 *
 * Exit status (design.md): 0 ran fine, 1 usage error, 2 input or capture
 * error, 3 with --fail-on-blocked when any request was blocked. */
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "keylog_input.h"
#include "limits.h"
#include "output.h"
#include "privs.h"
#include "progress.h"
#include "pipeline.h"
#include "report.h"
#include "report_thread.h"
#include "sink.h"
#include "summary.h"
#include "tls_ahead.h"
#include "tls_keylog.h"
#include "workers.h"
#include "workers_live.h"

#define CS_STR_(x) #x
#define CS_STR(x) CS_STR_(x)

/* Frames read and fed to the pipeline at a time, from a file. */
#define CS_FRAME_BATCH 128

#define EXIT_USAGE 1
#define EXIT_INPUT 2
#define EXIT_BLOCKED 3
#define MAX_INPUTS 256

/* Live: after SIGINT/SIGTERM, packets the kernel already holds are still
 * read and judged for at most this long (a second signal cuts it short). */
#define CS_LIVE_DRAIN_NS (1000LL * 1000 * 1000)
/* Live: how often the key log files are read again for new secrets. */
#define CS_KEYLOG_REREAD_NS (1000LL * 1000 * 1000)

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stop_signals; /* SIGINT/SIGTERM received */
static volatile sig_atomic_t stats_requested;

/* Atomic stores: live --workers threads read the flags (lock-free atomics
 * are safe in a signal handler). */
static void on_stop_signal(int sig)
{
    (void)sig;
    __atomic_store_n(&stop_requested, 1, __ATOMIC_RELAXED);
    sig_atomic_t n = __atomic_load_n(&stop_signals, __ATOMIC_RELAXED);
    if (n < 2)
        __atomic_store_n(&stop_signals, n + 1, __ATOMIC_RELAXED);
}

static void on_stats_signal(int sig)
{
    (void)sig;
    stats_requested = 1;
}

static void usage(FILE *out)
{
    /* the usage text is laid out as it prints */
    // clang-format off
    fputs(
        "Usage: corscope [options] -r FILE [-r FILE ...] [expression]\n"
        "       corscope [options] -i INTERFACE [expression]\n"
        "Judge every cross-origin HTTP request in a capture as Firefox and Chromium would.\n"
        "\n"
        "Input:\n"
        "  -r, --read FILE          read a pcap or pcapng file (\"-\" for stdin); repeatable\n"
        "  -i, --interface IFACE    capture live on IFACE (\"any\" for all)\n"
        "  -D, --list-interfaces    list the interfaces -i accepts\n"
        "  -c, --count N            stop after N packets\n"
        "  -s, --snapshot-length N  live: bytes captured per packet (default 262144)\n"
        "  -p, --no-promiscuous-mode  live: do not put the interface in promiscuous mode\n"
        "  -B, --buffer-size KIB    live: kernel capture buffer, in KiB (default " CS_STR(CS_LIVE_DEFAULT_BUFFER_KIB) ")\n"
        "      --immediate-mode     live: deliver packets at once (default on a terminal)\n"
        "      --workers N|auto     judge on N threads (auto: one per CPU; default 1),\n"
        "                           sharded by IP-address pair; same output as 1 worker\n"
        "  -w, --write FILE         also save the raw packets read to FILE (pcap)\n"
        "  -Z, --relinquish-privileges USER\n"
        "                           drop root to USER once the capture is open\n"
        "                           (default " CS_DEFAULT_USER "; -Z root keeps root)\n"
        "      --keylog FILE        decrypt HTTPS with the TLS secrets in FILE (NSS key\n"
        "                           log, as browsers write to $SSLKEYLOGFILE; live: read\n"
        "                           again as it grows); repeatable.  Default: $SSLKEYLOGFILE\n"
        "  expression               a BPF filter, as in tcpdump (e.g. tcp port 80)\n"
        "\n"
        "Output:\n"
        "  -o, --output FORMAT      text (default) or json (JSON lines)\n"
        "  -q, --quiet              no progress line, no start and end lines on stderr\n"
        "  -a, --all                report every HTTP transaction, not only CORS ones\n"
        "  -b, --browser NAME       judge as firefox, chrome, or both (default both)\n"
        "      --color WHEN         colour the text output: auto (default), always, never\n"
        "      --fail-on-blocked    exit with status 3 when any request was blocked\n"
        "      --sensor NAME        this sensor's name on every event (default: host name)\n"
        "      --sink clickhouse://HOST:PORT/DB.TABLE\n"
        "                           also insert every event into ClickHouse (batched)\n"
        "      --sink-credentials FILE  \"user:password\" for the sink\n"
        "      --sink-batch N, --sink-flush-ms MS, --sink-queue-bytes BYTES,\n"
        "      --sink-exit-timeout-ms MS  batching, queue bound, how long exit tries\n"
        "\n"
        "Limits (each hit is counted in the summary):\n"
        "      --max-flows N        concurrent TCP connections tracked (default 65536)\n"
        "      --idle-timeout SEC   expire a connection idle this long (default 300)\n"
        "      --max-held-per-flow BYTES   out-of-order bytes held per direction (default 262144)\n"
        "      --max-held-total BYTES      out-of-order bytes held in all (default 8388608)\n"
        "      --max-held-pieces-per-flow N  out-of-order pieces held per direction (default 4096)\n"
        "      --max-held-pieces N         out-of-order pieces held in all (default 65536)\n"
        "      --max-header-bytes BYTES    start line and headers of one message (default 32768)\n"
        "      --max-header-lines N        header lines of one message (default 200)\n"
        "      --max-pipeline N     requests waiting for responses per connection (default 32)\n"
        "      --h2-max-streams N   open HTTP/2 streams tracked per connection (default 256)\n"
        "      --preflight-window MS  wait this long for a preflight's actual request before\n"
        "                           deciding its credentials mode from its absence (default 1000)\n"
        "      --max-uri BYTES      longest URI reported (default 8192)\n"
        "      --max-ipfrag-bytes BYTES    IP fragments held for reassembly (default 2097152)\n"
        "      --ipfrag-timeout SEC        drop an incomplete IP datagram after (default 30)\n"
        "      --max-memory BYTES   traffic state held (connections, out-of-order data,\n"
        "                           headers, waiting requests); over it the least recently\n"
        "                           active connections are dropped (default 20971520)\n"
        "      --max-dpi-flows N    connections under protocol identification (nDPI) at\n"
        "                           once; past it one stays unidentified (default 1024)\n"
        "      --max-protocols N    unparsed protocols named in the summary (default 32, at most 128)\n"
        "      --max-reasons N      block/warning reasons counted (default 40, at most 256)\n"
        "      --max-endpoints N    blocked endpoints counted (default 4096)\n"
        "      --max-pending-preflights N  preflights waiting for their actual request\n"
        "                           (default 512, at most 8192)\n"
        "      --max-preflight-cache N     preflight-cache entries per browser\n"
        "                           (default 256, at most 4096)\n"
        "      --max-tunnel-depth N tunnels followed inside one frame (default 4, at most 32)\n"
        "      --syn-timeout SEC    report a connection whose SYNs got no answer this\n"
        "                           long after the first as timed out (default 135)\n"
        "      --max-http-clients N client addresses remembered as HTTP clients, whose\n"
        "                           failed connections are reported (default 1024)\n"
        "      --max-keylog-bytes BYTES  memory for the key log's secrets (default 4194304)\n"
        "      --max-tls-held-bytes BYTES  records one TLS connection holds while its key\n"
        "                           is not in the key log yet (default 65536)\n"
        "\n"
        "  -h, --help               this help\n"
        "  -V, --version            the version\n"
        "\n"
        "Exit status: 0 ok, 1 usage error, 2 input error, 3 blocked (with --fail-on-blocked).\n"
        "Signals: SIGINT/SIGTERM stop and print the summary; SIGUSR1 prints statistics to stderr.\n"
        "See corscope(1).\n",
        out);
    // clang-format on
}

enum {
    OPT_COLOR = 256,
    OPT_FAIL_ON_BLOCKED,
    OPT_MAX_FLOWS,
    OPT_IDLE_TIMEOUT,
    OPT_MAX_HELD_PER_FLOW,
    OPT_MAX_HELD_TOTAL,
    OPT_MAX_HELD_PIECES_PER_FLOW,
    OPT_MAX_HELD_PIECES,
    OPT_MAX_HEADER_BYTES,
    OPT_MAX_HEADER_LINES,
    OPT_MAX_PIPELINE,
    OPT_MAX_URI,
    OPT_MAX_MEMORY,
    OPT_IMMEDIATE,
    OPT_MAX_DPI_FLOWS,
    OPT_MAX_PROTOCOLS,
    OPT_MAX_REASONS,
    OPT_MAX_ENDPOINTS,
    OPT_MAX_PENDING_PREFLIGHTS,
    OPT_MAX_PREFLIGHT_CACHE,
    OPT_MAX_TUNNEL_DEPTH,
    OPT_SYN_TIMEOUT,
    OPT_MAX_HTTP_CLIENTS,
    OPT_MAX_IPFRAG_BYTES,
    OPT_IPFRAG_TIMEOUT,
    OPT_KEYLOG,
    OPT_MAX_KEYLOG_BYTES,
    OPT_MAX_TLS_HELD_BYTES,
    OPT_H2_MAX_STREAMS,
    OPT_PREFLIGHT_WINDOW,
    OPT_SENSOR,
    OPT_SINK,
    OPT_SINK_CREDENTIALS,
    OPT_SINK_BATCH,
    OPT_SINK_FLUSH_MS,
    OPT_SINK_QUEUE_BYTES,
    OPT_SINK_EXIT_TIMEOUT_MS,
    OPT_WORKERS,
};

static const struct option long_options[] = {
    {"read", required_argument, NULL, 'r'},
    {"interface", required_argument, NULL, 'i'},
    {"list-interfaces", no_argument, NULL, 'D'},
    {"snapshot-length", required_argument, NULL, 's'},
    {"no-promiscuous-mode", no_argument, NULL, 'p'},
    {"buffer-size", required_argument, NULL, 'B'},
    {"immediate-mode", no_argument, NULL, OPT_IMMEDIATE},
    {"write", required_argument, NULL, 'w'},
    {"relinquish-privileges", required_argument, NULL, 'Z'},
    {"count", required_argument, NULL, 'c'},
    {"output", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"all", no_argument, NULL, 'a'},
    {"browser", required_argument, NULL, 'b'},
    {"color", required_argument, NULL, OPT_COLOR},
    {"colour", required_argument, NULL, OPT_COLOR},
    {"fail-on-blocked", no_argument, NULL, OPT_FAIL_ON_BLOCKED},
    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"max-held-per-flow", required_argument, NULL, OPT_MAX_HELD_PER_FLOW},
    {"max-held-total", required_argument, NULL, OPT_MAX_HELD_TOTAL},
    {"max-held-pieces-per-flow", required_argument, NULL, OPT_MAX_HELD_PIECES_PER_FLOW},
    {"max-held-pieces", required_argument, NULL, OPT_MAX_HELD_PIECES},
    {"max-header-bytes", required_argument, NULL, OPT_MAX_HEADER_BYTES},
    {"max-header-lines", required_argument, NULL, OPT_MAX_HEADER_LINES},
    {"max-pipeline", required_argument, NULL, OPT_MAX_PIPELINE},
    {"h2-max-streams", required_argument, NULL, OPT_H2_MAX_STREAMS},
    {"preflight-window", required_argument, NULL, OPT_PREFLIGHT_WINDOW},
    {"max-uri", required_argument, NULL, OPT_MAX_URI},
    {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
    {"max-dpi-flows", required_argument, NULL, OPT_MAX_DPI_FLOWS},
    {"max-protocols", required_argument, NULL, OPT_MAX_PROTOCOLS},
    {"max-reasons", required_argument, NULL, OPT_MAX_REASONS},
    {"max-endpoints", required_argument, NULL, OPT_MAX_ENDPOINTS},
    {"max-pending-preflights", required_argument, NULL, OPT_MAX_PENDING_PREFLIGHTS},
    {"max-preflight-cache", required_argument, NULL, OPT_MAX_PREFLIGHT_CACHE},
    {"max-tunnel-depth", required_argument, NULL, OPT_MAX_TUNNEL_DEPTH},
    {"syn-timeout", required_argument, NULL, OPT_SYN_TIMEOUT},
    {"max-http-clients", required_argument, NULL, OPT_MAX_HTTP_CLIENTS},
    {"max-ipfrag-bytes", required_argument, NULL, OPT_MAX_IPFRAG_BYTES},
    {"ipfrag-timeout", required_argument, NULL, OPT_IPFRAG_TIMEOUT},
    {"keylog", required_argument, NULL, OPT_KEYLOG},
    {"max-keylog-bytes", required_argument, NULL, OPT_MAX_KEYLOG_BYTES},
    {"max-tls-held-bytes", required_argument, NULL, OPT_MAX_TLS_HELD_BYTES},
    {"sensor", required_argument, NULL, OPT_SENSOR},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"sink", required_argument, NULL, OPT_SINK},
    {"sink-credentials", required_argument, NULL, OPT_SINK_CREDENTIALS},
    {"sink-batch", required_argument, NULL, OPT_SINK_BATCH},
    {"sink-flush-ms", required_argument, NULL, OPT_SINK_FLUSH_MS},
    {"sink-queue-bytes", required_argument, NULL, OPT_SINK_QUEUE_BYTES},
    {"sink-exit-timeout-ms", required_argument, NULL, OPT_SINK_EXIT_TIMEOUT_MS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Parses a decimal count in [min, max]; false (with a message) otherwise. */
static bool parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "corscope: %s: '%s' is not a number from %u to %u\n", opt, s, min, max);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* Joins the trailing arguments into one BPF expression (as tcpdump does). */
static char *join_args(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = calloc(1, len);
    if (!s)
        return NULL;
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

/* Closes the inputs opened so far (and the -w file with the first). */
static void close_inputs(struct cs_capture **caps, int n)
{
    for (int i = 0; i < n; i++)
        if (caps[i])
            cs_capture_close(caps[i]);
}

struct run {
    const char *inputs[MAX_INPUTS];
    int n_inputs;
    const char *iface;
    const char *write_path;
    const char *user;
    int snaplen, promisc, buffer_kib, immediate; /* immediate: -1 = auto */
    bool list_interfaces;
    uint64_t max_count; /* 0 = no limit */
    bool fail_on_blocked;
    bool quiet; /* -q: no chatter on stderr (progress, start and end lines) */
    char *filter;
    const char *keylogs[CS_TLS_KEYLOG_MAX_FILES]; /* --keylog */
    unsigned n_keylogs;
    const char *sensor;          /* --sensor (default: the host name) */
    struct cs_sink_options sink; /* --sink and its options; url NULL: none */
    unsigned workers;            /* --workers: pipeline threads (1: none, today's run) */
};

/* SIGUSR1: a one-line progress report on stderr, the run goes on; live,
 * the kernel's counters too. */
static void print_counts(const struct cs_live_counts *c, bool live)
{
    fprintf(stderr, "corscope: %llu packets, %llu flows (%llu active), %llu requests, %llu responses",
            (unsigned long long)c->pipe.frames, (unsigned long long)c->pipe.flows,
            (unsigned long long)c->pipe.active_flows, (unsigned long long)c->pipe.requests,
            (unsigned long long)c->pipe.responses);
    if (live)
        fprintf(stderr, ", %llu received, %llu dropped by the kernel, %llu by the interface",
                (unsigned long long)c->received, (unsigned long long)c->dropped,
                (unsigned long long)c->ifdropped);
    fputc('\n', stderr);
}

/* One pipeline (live: its capture), or the --workers of files. */
static void print_stats(struct cs_pipeline *pipe, struct cs_workers *workers, struct cs_capture *live)
{
    struct cs_live_counts c = {0};
    if (workers)
        cs_workers_counts(workers, &c.pipe);
    else
        cs_pipeline_counts(pipe, &c.pipe);
    bool kernel = live && cs_capture_stats(live, &c.received, &c.dropped, &c.ifdropped) == 0;
    print_counts(&c, kernel);
}

/* Live, after a stop signal: judges what the kernel captured before it,
 * reading until no packet comes within the capture timeout, for at most
 * CS_LIVE_DRAIN_NS, or until a second signal or -c's count. */
static void drain_live(struct cs_capture *cap, struct cs_pipeline *pipe, uint64_t max_count,
                       uint64_t *frames)
{
    char errbuf[CS_ERRBUF_SIZE];
    struct cs_frame frame;
    cs_time_ns deadline = cs_wall_clock_ns() + CS_LIVE_DRAIN_NS;
    while (stop_signals < 2 && cs_wall_clock_ns() < deadline) {
        if (cs_capture_next(cap, &frame, errbuf) != 1)
            break;
        cs_pipeline_frame(pipe, &frame);
        if (max_count && ++*frames >= max_count)
            break;
    }
}

/* The TLS secrets: --keylog files, else $SSLKEYLOGFILE (said once on
 * stderr), and the pcapng Decryption Secrets Blocks of -r files.  *out
 * stays NULL when there are none: TLS flows are then only named, as without
 * decryption.  Returns 0, or an exit status after a message. */
/* Live: the key log files' new lines (cs_pipeline_set_keylog's refresh). */
static int refresh_keys(void *ctx)
{
    return cs_keylog_input_refresh(ctx);
}

static int load_keys(const struct run *run, const struct cs_limits *limits,
                     struct cs_keylog_input **out)
{
    char errbuf[CS_ERRBUF_SIZE];
    const char *env = getenv("SSLKEYLOGFILE");
    bool from_env = run->n_keylogs == 0 && env && env[0];
    struct cs_keylog_input *ki = cs_keylog_input_new(limits->max_keylog_bytes, run->iface == NULL);
    if (!ki) {
        fputs("corscope: out of memory\n", stderr);
        return EXIT_INPUT;
    }
    if (from_env) {
        if (!run->quiet)
            fprintf(stderr, "corscope: decrypting TLS with the key log SSLKEYLOGFILE=%s\n", env);
        if (cs_keylog_input_add_file(ki, env, errbuf, sizeof errbuf) != 0) {
            fprintf(stderr, "corscope: SSLKEYLOGFILE: %s\n", errbuf);
            cs_keylog_input_free(ki);
            return EXIT_INPUT;
        }
    }
    for (unsigned i = 0; i < run->n_keylogs; i++)
        if (cs_keylog_input_add_file(ki, run->keylogs[i], errbuf, sizeof errbuf) != 0) {
            fprintf(stderr, "corscope: --keylog: %s\n", errbuf);
            cs_keylog_input_free(ki);
            return EXIT_INPUT;
        }
    for (int i = 0; i < run->n_inputs; i++)
        cs_keylog_input_add_capture(ki, run->inputs[i]);
    struct cs_tls_stats st = {0};
    cs_keylog_input_summarize(ki, &st);
    if (run->n_keylogs == 0 && !from_env && st.keylog_lines_used == 0) {
        cs_keylog_input_free(ki); /* no key anywhere */
        return 0;
    }
    *out = ki;
    return 0;
}

/* A word of the filter expression that is a file (or named like a
 * capture): no BPF primitive is a path or ends in .pcap. */
static bool looks_like_capture_file(const char *arg)
{
    static const char *const ext[] = {".pcap", ".pcapng", ".cap", ".pcap.gz", ".dmp"};
    struct stat st;
    size_t n = strlen(arg);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcmp(arg + n - e, ext[i]) == 0)
            return true;
    }
    return strchr(arg, '/') && stat(arg, &st) == 0 && S_ISREG(st.st_mode);
}

static int parse_args(int argc, char **argv, struct run *run, struct cs_limits *limits,
                      struct cs_report_options *ropt, int *color_mode)
{
    uint32_t v32;
    int c;
    opterr = 0; /* our own one-line messages */
    while ((c = getopt_long(argc, argv, "r:i:Dc:s:pB:w:Z:o:qab:hV", long_options, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (run->n_inputs == MAX_INPUTS) {
                fprintf(stderr, "corscope: too many -r files (at most %d)\n", MAX_INPUTS);
                return EXIT_USAGE;
            }
            run->inputs[run->n_inputs++] = optarg;
            break;
        case 'i': run->iface = optarg; break;
        case 'D': run->list_interfaces = true; break;
        case 'c':
            if (!parse_u32("-c", optarg, 1, UINT32_MAX, &v32))
                return EXIT_USAGE;
            run->max_count = v32;
            break;
        case 's':
            if (!parse_u32("-s", optarg, 0, 262144, &v32))
                return EXIT_USAGE;
            run->snaplen = (int)v32;
            break;
        case 'p': run->promisc = 0; break;
        case 'B':
            /* KiB; the byte count must fit libpcap's int */
            if (!parse_u32("-B", optarg, 1, INT_MAX / 1024, &v32))
                return EXIT_USAGE;
            run->buffer_kib = (int)v32;
            break;
        case OPT_IMMEDIATE: run->immediate = 1; break;
        case 'w': run->write_path = optarg; break;
        case 'Z': run->user = optarg; break;
        case 'o':
            if (strcmp(optarg, "json") == 0)
                ropt->format = CS_FORMAT_JSON;
            else if (strcmp(optarg, "text") == 0)
                ropt->format = CS_FORMAT_TEXT;
            else {
                fprintf(stderr, "corscope: -o: unknown format '%s' (text or json)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'q': run->quiet = true; break;
        case 'a': ropt->all = true; break;
        case 'b':
            if (strcmp(optarg, "both") == 0)
                ropt->browser = CS_BROWSER_BOTH;
            else if (strcmp(optarg, "firefox") == 0)
                ropt->browser = CS_BROWSER_FIREFOX;
            else if (strcmp(optarg, "chrome") == 0 || strcmp(optarg, "chromium") == 0)
                ropt->browser = CS_BROWSER_CHROME;
            else {
                fprintf(stderr, "corscope: --browser: unknown browser '%s' (firefox, chrome or both)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_COLOR:
            if (strcmp(optarg, "auto") == 0)
                *color_mode = -1;
            else if (strcmp(optarg, "always") == 0)
                *color_mode = 1;
            else if (strcmp(optarg, "never") == 0)
                *color_mode = 0;
            else {
                fprintf(stderr, "corscope: --color: '%s' is not auto, always or never\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_FAIL_ON_BLOCKED: run->fail_on_blocked = true; break;
        case OPT_MAX_FLOWS:
            if (!parse_u32("--max-flows", optarg, 1, 1u << 26, &limits->max_flows))
                return EXIT_USAGE;
            break;
        case OPT_IDLE_TIMEOUT:
            if (!parse_u32("--idle-timeout", optarg, 1, 86400 * 7, &limits->idle_timeout_s))
                return EXIT_USAGE;
            break;
        case OPT_MAX_HELD_PER_FLOW:
            if (!parse_u32("--max-held-per-flow", optarg, 0, 1u << 30, &limits->max_held_per_flow))
                return EXIT_USAGE;
            break;
        case OPT_MAX_HELD_TOTAL:
            if (!parse_u32("--max-held-total", optarg, 0, 1u << 31, &limits->max_held_total))
                return EXIT_USAGE;
            break;
        case OPT_MAX_HELD_PIECES_PER_FLOW:
            if (!parse_u32("--max-held-pieces-per-flow", optarg, 0, 1u << 24, &limits->max_held_pieces_per_flow))
                return EXIT_USAGE;
            break;
        case OPT_MAX_HELD_PIECES:
            if (!parse_u32("--max-held-pieces", optarg, 0, 1u << 26, &limits->max_held_pieces))
                return EXIT_USAGE;
            break;
        case OPT_MAX_HEADER_BYTES:
            if (!parse_u32("--max-header-bytes", optarg, 256, 1u << 24, &limits->max_header_bytes))
                return EXIT_USAGE;
            break;
        case OPT_MAX_HEADER_LINES:
            if (!parse_u32("--max-header-lines", optarg, 8, 100000, &limits->max_header_lines))
                return EXIT_USAGE;
            break;
        case OPT_MAX_PIPELINE:
            if (!parse_u32("--max-pipeline", optarg, 1, 100000, &limits->max_pipeline))
                return EXIT_USAGE;
            break;
        case OPT_PREFLIGHT_WINDOW:
            if (!parse_u32("--preflight-window", optarg, 1, 3600000, &limits->preflight_window_ms))
                return EXIT_USAGE;
            break;
        case OPT_H2_MAX_STREAMS:
            if (!parse_u32("--h2-max-streams", optarg, 1, 100000, &limits->h2_max_streams))
                return EXIT_USAGE;
            break;
        case OPT_MAX_MEMORY:
            if (!parse_u32("--max-memory", optarg, 1u << 20, UINT32_MAX, &v32))
                return EXIT_USAGE;
            limits->max_memory = v32;
            break;
        case OPT_MAX_DPI_FLOWS:
            if (!parse_u32("--max-dpi-flows", optarg, 1, 1u << 26, &limits->max_dpi_flows))
                return EXIT_USAGE;
            break;
        case OPT_MAX_PROTOCOLS:
            if (!parse_u32("--max-protocols", optarg, 0, CS_PROTO_TABLE_CAPACITY, &limits->max_protocols))
                return EXIT_USAGE;
            break;
        case OPT_MAX_REASONS:
            if (!parse_u32("--max-reasons", optarg, 0, CS_SUMMARY_REASONS_CAPACITY, &limits->max_reasons))
                return EXIT_USAGE;
            break;
        case OPT_MAX_ENDPOINTS:
            if (!parse_u32("--max-endpoints", optarg, 0, CS_ENDPOINTS_CAPACITY, &limits->max_endpoints))
                return EXIT_USAGE;
            break;
        case OPT_MAX_PENDING_PREFLIGHTS:
            if (!parse_u32("--max-pending-preflights", optarg, 1, CS_TL_PENDING_CAPACITY, &limits->max_pending_preflights))
                return EXIT_USAGE;
            break;
        case OPT_MAX_PREFLIGHT_CACHE:
            if (!parse_u32("--max-preflight-cache", optarg, 1, CS_TL_CACHE_CAPACITY, &limits->max_preflight_cache))
                return EXIT_USAGE;
            break;
        case OPT_MAX_TUNNEL_DEPTH:
            if (!parse_u32("--max-tunnel-depth", optarg, 0, CS_TUNNEL_DEPTH_CAPACITY, &limits->max_tunnel_depth))
                return EXIT_USAGE;
            break;
        case OPT_SYN_TIMEOUT:
            if (!parse_u32("--syn-timeout", optarg, 1, 86400, &limits->syn_timeout_s))
                return EXIT_USAGE;
            break;
        case OPT_MAX_HTTP_CLIENTS:
            if (!parse_u32("--max-http-clients", optarg, 1, 1u << 22, &limits->max_http_clients))
                return EXIT_USAGE;
            break;
        case OPT_MAX_IPFRAG_BYTES:
            if (!parse_u32("--max-ipfrag-bytes", optarg, 0, 1u << 30, &limits->max_ipfrag_bytes))
                return EXIT_USAGE;
            break;
        case OPT_IPFRAG_TIMEOUT:
            if (!parse_u32("--ipfrag-timeout", optarg, 1, 3600, &limits->ipfrag_timeout_s))
                return EXIT_USAGE;
            break;
        case OPT_SENSOR:
            if (!optarg[0] || strlen(optarg) > 255) {
                fprintf(stderr, "corscope: --sensor: a name of 1 to 255 bytes\n");
                return EXIT_USAGE;
            }
            run->sensor = optarg;
            break;
        case OPT_WORKERS:
            if (strcmp(optarg, "auto") == 0) {
                long cpus = sysconf(_SC_NPROCESSORS_ONLN);
                run->workers = cpus < 1 ? 1 : cpus > CS_WORKERS_MAX ? CS_WORKERS_MAX
                                                                    : (unsigned)cpus;
            } else {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(optarg, &end, 10);
                if (errno || end == optarg || *end || optarg[0] == '-' || v < 1 || v > CS_WORKERS_MAX) {
                    fprintf(stderr, "corscope: --workers: '%s' is not auto or a number from 1 to %d\n",
                            optarg, CS_WORKERS_MAX);
                    return EXIT_USAGE;
                }
                run->workers = (unsigned)v;
            }
            break;
        case OPT_SINK: run->sink.url = optarg; break;
        case OPT_SINK_CREDENTIALS: run->sink.credentials_file = optarg; break;
        case OPT_SINK_BATCH:
            if (!parse_u32("--sink-batch", optarg, 1, 1000000, &run->sink.batch_rows))
                return EXIT_USAGE;
            break;
        case OPT_SINK_FLUSH_MS:
            if (!parse_u32("--sink-flush-ms", optarg, 10, 3600000, &run->sink.flush_ms))
                return EXIT_USAGE;
            break;
        case OPT_SINK_QUEUE_BYTES:
            if (!parse_u32("--sink-queue-bytes", optarg, 4096, 1u << 30, &v32))
                return EXIT_USAGE;
            run->sink.max_queue_bytes = v32;
            break;
        case OPT_SINK_EXIT_TIMEOUT_MS:
            if (!parse_u32("--sink-exit-timeout-ms", optarg, 0, 3600000, &run->sink.exit_timeout_ms))
                return EXIT_USAGE;
            break;
        case OPT_KEYLOG:
            if (run->n_keylogs == CS_TLS_KEYLOG_MAX_FILES) {
                fprintf(stderr, "corscope: too many --keylog files (at most %u)\n", CS_TLS_KEYLOG_MAX_FILES);
                return EXIT_USAGE;
            }
            run->keylogs[run->n_keylogs++] = optarg;
            break;
        case OPT_MAX_KEYLOG_BYTES:
            if (!parse_u32("--max-keylog-bytes", optarg, 4096, 1u << 30, &limits->max_keylog_bytes))
                return EXIT_USAGE;
            break;
        case OPT_MAX_TLS_HELD_BYTES:
            if (!parse_u32("--max-tls-held-bytes", optarg, 0, 1u << 30, &limits->max_tls_held_bytes))
                return EXIT_USAGE;
            break;
        case OPT_MAX_URI:
            if (!parse_u32("--max-uri", optarg, 16, 1u << 24, &limits->max_uri_bytes))
                return EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case 'V':
            printf("corscope %s\n", CORSCOPE_VERSION);
            return -1;
        default:
            if (optopt && optopt < 256 && strchr("ricsBwZob", optopt))
                fprintf(stderr, "corscope: option -%c needs a value (see corscope --help)\n", optopt);
            else if (optopt)
                fprintf(stderr, "corscope: unknown option -%c (see corscope --help)\n", optopt);
            else
                fprintf(stderr, "corscope: unknown or incomplete option '%s' (see corscope --help)\n",
                        argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (run->list_interfaces)
        return 0;
    /* `corscope file.pcap`: a file name where the filter goes */
    for (int i = optind; i < argc; i++)
        if (looks_like_capture_file(argv[i])) {
            fprintf(stderr, "corscope: did you mean -r %s?\n", argv[i]);
            return EXIT_USAGE;
        }
    if (run->n_inputs == 0 && !run->iface) {
        fputs("corscope: no input: give -r FILE or -i INTERFACE (see corscope --help)\n", stderr);
        return EXIT_USAGE;
    }
    if (run->n_inputs && run->iface) {
        fputs("corscope: -r and -i cannot be used together\n", stderr);
        return EXIT_USAGE;
    }
    /* live --workers: N capture sockets, N pipelines (corscope(1), ALL CORES) */
    const char *env_keylog = getenv("SSLKEYLOGFILE");
    if (run->iface && run->workers > 1 && run->write_path) {
        fputs("corscope: --workers with -i cannot write -w: its packets come from several capture "
              "sockets, in no one order (use --workers 1, or tcpdump -w beside)\n",
              stderr);
        return EXIT_USAGE;
    }
    if (run->iface && run->workers > 1 && (run->n_keylogs || (env_keylog && env_keylog[0]))) {
        fputs("corscope: --workers with -i cannot decrypt TLS (--keylog, SSLKEYLOGFILE): the key "
              "log is read again while it runs, which one pipeline does alone (use --workers 1)\n",
              stderr);
        return EXIT_USAGE;
    }
    if (optind < argc) {
        run->filter = join_args(argc - optind, argv + optind);
        if (!run->filter) {
            fputs("corscope: out of memory\n", stderr);
            return EXIT_INPUT;
        }
    }
    return 0;
}

/* --workers N live: captures 1..N-1 of the interface beside caps[0], and
 * all of them in one PACKET_FANOUT group of this process. */
static int open_fanout(const struct run *run, int immediate, struct cs_capture **caps,
                       char errbuf[CS_ERRBUF_SIZE])
{
    for (unsigned i = 1; i < run->workers; i++)
        caps[i] = NULL;
    for (unsigned i = 1; i < run->workers; i++) {
        caps[i] = cs_capture_open_live(run->iface, run->filter, run->snaplen, run->promisc,
                                       run->buffer_kib * 1024, immediate, errbuf);
        if (!caps[i])
            return -1;
    }
    uint16_t group = (uint16_t)getpid();
    for (unsigned i = 0; i < run->workers; i++)
        if (cs_capture_join_fanout(caps[i], group, errbuf) != 0)
            return -1;
    return 0;
}

/* --workers: the report's held events, counted by each worker as its 1/N
 * share (as the limits are split), so that the workers' budgets add up to
 * --max-memory. */
static unsigned share_n = 1;

/* --workers live: the report's calls, made under the workers' lock; the
 * tick says false once the reader of the output is gone. */
struct live_report {
    struct cs_report *report;
    FILE *out;
};

static bool live_report_tick(void *ctx, cs_time_ns now)
{
    struct live_report *lr = ctx;
    cs_report_tick(lr->report, now);
    return !ferror(lr->out);
}

static void live_report_txn(void *ctx, const struct cs_flow_key *f, const struct cs_txn *t)
{
    cs_report_txn(((struct live_report *)ctx)->report, f, t);
}

static void live_report_flow_end(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                                 const struct cs_flow_info *info)
{
    cs_report_flow_end(((struct live_report *)ctx)->report, f, why, info);
}

static size_t live_report_memory(void *ctx)
{
    return cs_report_held_bytes(((struct live_report *)ctx)->report) / share_n;
}

static void live_report_stats(void *ctx, const struct cs_live_counts *c)
{
    (void)ctx;
    print_counts(c, true);
}

/* --workers: the table of unparsed protocols, rebuilt from the merged flow
 * ends (cs_pipeline_count_protocol), so it lists them in the order one
 * pipeline would; written by the report thread, read after it ends. */
static struct cs_pipeline_stats merged_protos;
static unsigned merged_protos_max;

static void count_merged_protocol(void *ctx, const struct cs_flow_key *f, enum cs_flow_end why,
                                  const struct cs_flow_info *info)
{
    (void)ctx, (void)f, (void)why;
    cs_pipeline_count_protocol(&merged_protos, merged_protos_max, info);
}

/* --workers N: each worker's share of the limits that bound what the
 * traffic holds (a worker holds a 1/N share of the connections; a global
 * limit would need the workers to agree on every eviction). */
static struct cs_limits split_limits(const struct cs_limits *global, unsigned n)
{
    struct cs_limits l = *global;
    l.max_flows = l.max_flows / n ? l.max_flows / n : 1;
    l.max_memory /= n;
    l.max_held_total /= n;
    l.max_held_pieces /= n;
    l.max_dpi_flows = l.max_dpi_flows / n ? l.max_dpi_flows / n : 1;
    l.max_ipfrag_bytes /= n;
    return l;
}

static size_t report_held_share(void *ctx)
{
    return cs_report_thread_held_bytes(ctx) / share_n; /* ctx: the worker's producer */
}

/* --workers N (files): the workers, each with its share of the limits and
 * its events through its own producer of the report thread. */
static struct cs_workers *start_workers(unsigned n, const struct cs_limits *global,
                                        struct cs_report_thread *rt, struct cs_keylog_input *keys,
                                        char errbuf[CS_ERRBUF_SIZE])
{
    struct cs_limits l = split_limits(global, n);
    struct cs_workers_out out = {
        .hooks = {.on_txn = cs_report_thread_txn,
                  .on_flow_end = cs_report_thread_flow_end,
                  .on_flow_new = cs_report_thread_flow_new},
        .key = cs_report_thread_key,
        .mark = cs_report_thread_mark,
        .done = cs_report_thread_done,
    };
    for (unsigned i = 0; i < n; i++)
        out.ctx[i] = cs_report_thread_producer(rt, i);
    merged_protos_max = global->max_protocols;
    cs_report_thread_observe(rt, count_merged_protocol, NULL);
    share_n = n;
    return cs_workers_start(n, &l, &out, keys ? cs_keylog_input_table(keys) : NULL, report_held_share,
                            NULL, errbuf, CS_ERRBUF_SIZE);
}

int main(int argc, char **argv)
{
    struct cs_limits limits;
    cs_limits_default(&limits);
    struct cs_report_options ropt = {.format = CS_FORMAT_TEXT, .browser = CS_BROWSER_BOTH};
    struct run run = {.promisc = 1, .immediate = -1, .buffer_kib = CS_LIVE_DEFAULT_BUFFER_KIB, .user = CS_DEFAULT_USER, .workers = 1, .sink = {.batch_rows = CS_DEFAULT_SINK_BATCH_ROWS, .flush_ms = CS_DEFAULT_SINK_FLUSH_MS, .max_queue_bytes = CS_DEFAULT_SINK_QUEUE_BYTES, .exit_timeout_ms = CS_DEFAULT_SINK_EXIT_TIMEOUT_MS, .request_timeout_ms = CS_SINK_REQUEST_TIMEOUT_MS}};
    int color_mode = -1; /* -1 auto, 0 never, 1 always */
    char errbuf[CS_ERRBUF_SIZE];

    int rc = parse_args(argc, argv, &run, &limits, &ropt, &color_mode);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    /* Every event names its sensor, so a store can merge many. */
    char hostname[256] = "";
    if (!run.sensor) {
        if (gethostname(hostname, sizeof hostname - 1) != 0 || !hostname[0])
            snprintf(hostname, sizeof hostname, "unknown");
        run.sensor = hostname;
    }
    ropt.sensor = run.sensor;
    ropt.limits = &limits;
    ropt.max_http_clients = limits.max_http_clients;
    ropt.syn_timeout_s = limits.syn_timeout_s;
    if (run.sink.credentials_file && !run.sink.url) {
        fputs("corscope: --sink-credentials needs --sink\n", stderr);
        return EXIT_USAGE;
    }
    if (run.list_interfaces) {
        if (cs_capture_list_interfaces(stdout, errbuf) != 0) {
            fprintf(stderr, "corscope: %s\n", errbuf);
            return EXIT_INPUT;
        }
        return 0;
    }

    /* Text wherever stdout goes (a terminal, `| less`, `> report.txt`), as
     * tcpdump and tshark; JSON lines only with -o json.  Colour only on a
     * terminal. */
    /* On a terminal, message lines wrap at its width (a pipe or a file
     * gets them whole, as less and grep want them). */
    struct winsize ws;
    if (ropt.format == CS_FORMAT_TEXT && isatty(STDOUT_FILENO) &&
        ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        ropt.width = ws.ws_col;
    /* The user's character set: Firefox's curly quotes only in UTF-8.  The
     * locale is set back to "C" at once: nothing else may depend on it. */
    if (setlocale(LC_CTYPE, "")) {
        ropt.ascii = strcmp(nl_langinfo(CODESET), "UTF-8") != 0;
        setlocale(LC_CTYPE, "C");
    } else {
        ropt.ascii = true;
    }
    const char *no_color = getenv("NO_COLOR");
    if (color_mode == -1)
        ropt.color = isatty(STDOUT_FILENO) && !(no_color && no_color[0]);
    else
        ropt.color = color_mode == 1;

    struct sigaction sa = {0};
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* SIGUSR1 must not cut short a wait to open a FIFO or read it;
     * SIGINT/SIGTERM do (cs_capture_stop_flag). */
    sa.sa_handler = on_stats_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Over a file size limit (ulimit -f), a write fails with EFBIG and is
     * reported like a full disk, instead of killing the run. */
    signal(SIGXFSZ, SIG_IGN);
    cs_capture_stop_flag(&stop_requested);

    int status = 0;
    struct cs_capture *caps[MAX_INPUTS];
    int n_caps = 0, opened = 0, loopback = 0;
    if (run.iface) {
        int immediate = run.immediate >= 0 ? run.immediate : isatty(STDOUT_FILENO);
        caps[0] = cs_capture_open_live(run.iface, run.filter, run.snaplen, run.promisc,
                                       run.buffer_kib * 1024, immediate, errbuf);
        n_caps = 1;
        ropt.live = true;
        if (!caps[0]) {
            fprintf(stderr, "corscope: %s\n", errbuf);
            free(run.filter);
            return EXIT_INPUT;
        }
        opened = 1;
        loopback = cs_capture_is_loopback(caps[0]);
        /* --workers: more captures of the interface, all in one fanout
         * group sharded by the IP-pair hash (the kernel's), before -Z */
        if (run.workers > 1 && open_fanout(&run, immediate, caps, errbuf) != 0) {
            fprintf(stderr, "corscope: %s\n", errbuf);
            close_inputs(caps, (int)run.workers);
            free(run.filter);
            return EXIT_INPUT;
        }
        n_caps = (int)run.workers;
    } else {
        /* Open every input first: a typo in the second file name should not
         * cost the user a long run over the first. */
        for (int i = 0; i < run.n_inputs && !stop_requested; i++) {
            caps[n_caps] = cs_capture_open_file(run.inputs[i], run.filter, 1, errbuf);
            if (!caps[n_caps] && stop_requested) {
                /* SIGINT/SIGTERM while waiting (for a FIFO's writer): stop
                 * as during the run, with the summary of what was read. */
                break;
            } else if (!caps[n_caps]) {
                fprintf(stderr, "corscope: %s\n", errbuf);
                status = EXIT_INPUT;
            } else {
                opened++;
            }
            n_caps++;
        }
    }
    if (opened == 0 && !stop_requested) {
        close_inputs(caps, n_caps);
        free(run.filter);
        return EXIT_INPUT;
    }
    if (run.write_path && opened) {
        struct cs_capture *first = NULL;
        for (int i = 0; i < n_caps && !first; i++)
            first = caps[i];
        rc = cs_capture_dump_open(first, caps, n_caps, run.write_path, errbuf);
        if (rc != 0) {
            fprintf(stderr, "corscope: %s\n", errbuf);
            close_inputs(caps, n_caps);
            free(run.filter);
            return rc == CS_DUMP_IS_INPUT ? EXIT_USAGE : EXIT_INPUT;
        }
    }
    /* The sink's credentials, read while the file is readable (before -Z). */
    struct cs_sink *event_sink = NULL;
    if (run.sink.url) {
        event_sink = cs_sink_new(&run.sink, errbuf, sizeof errbuf);
        if (!event_sink) {
            fprintf(stderr, "corscope: %s\n", errbuf);
            close_inputs(caps, n_caps);
            free(run.filter);
            return EXIT_USAGE;
        }
    }
    /* TLS secrets, read while the files are still readable (before -Z). */
    struct cs_keylog_input *keys = NULL;
    rc = load_keys(&run, &limits, &keys);
    if (rc != 0) {
        cs_sink_free(event_sink);
        close_inputs(caps, n_caps);
        free(run.filter);
        return rc;
    }
    /* Everything privileged is open: give up root (tcpdump's -Z) and every
     * capability, before any thread starts. */
    if (cs_drop_privileges(run.user, errbuf, sizeof(errbuf)) != 0) {
        fprintf(stderr, "corscope: %s\n", errbuf);
        cs_sink_free(event_sink);
        cs_keylog_input_free(keys);
        close_inputs(caps, n_caps);
        free(run.filter);
        return EXIT_INPUT;
    }
    if (event_sink && cs_sink_start(event_sink, errbuf, sizeof errbuf) != 0) {
        fprintf(stderr, "corscope: %s\n", errbuf);
        cs_sink_free(event_sink);
        cs_keylog_input_free(keys);
        close_inputs(caps, n_caps);
        free(run.filter);
        return EXIT_INPUT;
    }
    ropt.sink = event_sink;
    /* As tcpdump, whatever -o is, once nothing can fail before the capture
     * starts (a bad -Z user is said alone). */
    if (ropt.live && !run.quiet) {
        char line[300];
        cs_capture_describe(caps[0], line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }

    /* Standard output, reached in whole lines only (output.h). */
    struct cs_output *sink = cs_output_open(STDOUT_FILENO);
    if (!sink) {
        fputs("corscope: out of memory\n", stderr);
        cs_keylog_input_free(keys);
        close_inputs(caps, n_caps);
        free(run.filter);
        return EXIT_INPUT;
    }
    FILE *out = cs_output_stream(sink);
    static char outbuf[1 << 16];
    if (ropt.live)
        setvbuf(out, NULL, _IOLBF, 0);
    else
        setvbuf(out, outbuf, _IOFBF, sizeof(outbuf));

    ropt.preflight_window = (cs_time_ns)limits.preflight_window_ms * 1000000LL;
    ropt.max_held_bytes = limits.max_memory / 4; /* held preflight events: a quarter at most */

    /* Files of known size, read with stderr on a terminal: a progress line. */
    struct cs_progress *progress = NULL;
    uint64_t total_bytes = 0;
    if (!ropt.live && !run.quiet && isatty(STDERR_FILENO)) {
        bool known = true;
        for (int i = 0; i < n_caps && known; i++) {
            uint64_t pos, size;
            if (caps[i] && cs_capture_position(caps[i], &pos, &size) == 0)
                total_bytes += size;
            else if (caps[i])
                known = false;
        }
        if (known && total_bytes)
            progress = cs_progress_new(stderr, total_bytes);
        if (progress)
            cs_output_around_write(sink, cs_progress_hold, cs_progress_release, progress);
    }

    struct cs_report *report = cs_report_new(&ropt, out);
    struct cs_pipeline_hooks hooks = {.on_txn = cs_report_txn, .on_flow_end = cs_report_flow_end};
    void *hook_ctx = report;
    /* Files: the report runs beside the pipeline on the second core (see
     * report_thread.h); live, each event is printed as it happens. */
    unsigned n_workers = ropt.live ? 1 : run.workers;
    struct cs_report_thread *report_thread =
        report && !ropt.live ? cs_report_thread_start_n(report, n_workers) : NULL;
    if (report_thread) {
        hooks = (struct cs_pipeline_hooks){.on_txn = cs_report_thread_txn,
                                           .on_flow_end = cs_report_thread_flow_end};
        hook_ctx = report_thread;
    } else {
        n_workers = 1; /* no thread to merge theirs: one pipeline */
    }
    struct cs_pipeline *pipe = NULL;
    struct cs_workers *workers = NULL;
    bool live_workers = ropt.live && run.workers > 1; /* their pipelines are the run's */
    if (report && n_workers > 1)
        workers = start_workers(n_workers, &limits, report_thread, keys, errbuf);
    else if (report && !live_workers)
        pipe = cs_pipeline_new(&limits, &hooks, hook_ctx, errbuf, sizeof(errbuf));
    if (!pipe && !workers && !(report && live_workers)) {
        fprintf(stderr, "corscope: %s\n", report ? errbuf : "out of memory");
        cs_keylog_input_free(keys);
        cs_report_thread_stop(report_thread);
        cs_report_free(report);
        cs_output_free(sink);
        close_inputs(caps, n_caps);
        free(run.filter);
        return EXIT_INPUT;
    }

    if (pipe) {
        if (report_thread) /* the report as of a point fixed by the input */
            cs_pipeline_count_memory(pipe, cs_report_thread_held_bytes, report_thread);
        else
            cs_pipeline_count_memory(pipe, cs_report_held_bytes, report);
        if (keys)
            cs_pipeline_set_keylog(pipe, cs_keylog_input_table(keys),
                                   ropt.live ? refresh_keys : NULL, keys, 1);
        /* Files with a key log, one pipeline: the report thread opens TLS
         * records ahead of the pipeline (it changes no output).  Not live:
         * frames come one at a time there, with nothing to open ahead of.
         * Not on one core, where it would only take turns with the
         * pipeline. */
        struct cs_tls_ahead *ahead = keys && report_thread && sysconf(_SC_NPROCESSORS_ONLN) > 1
                                         ? cs_pipeline_decrypt_ahead(pipe)
                                         : NULL;
        if (ahead)
            cs_report_thread_assist(report_thread, cs_tls_ahead_assist, ahead);
    }
    cs_time_ns next_keylog_read = 0;
    /* Live, a TLS connection's requests can reach the report up to a key
     * log re-read late (its records wait for their secrets): the preflight
     * window is judged on a clock that lags by two re-reads then. */
    cs_time_ns report_lag = keys ? 2 * CS_KEYLOG_REREAD_NS : 0;

    static struct cs_summary summary; /* ~5 KB: not on the stack */
    summary.live = ropt.live;
    uint64_t frames = 0, next_number = 1, bytes_before = 0; /* of the files done */
    if (live_workers) {
        static struct live_report lr;
        lr = (struct live_report){report, out};
        const struct cs_live_out lo = {
            .hooks = {.on_txn = live_report_txn, .on_flow_end = live_report_flow_end},
            .ctx = &lr,
            .tick = live_report_tick,
            .memory = live_report_memory,
            .print_stats = live_report_stats,
        };
        const struct cs_live_stop ls = {&stop_requested, &stop_signals, &stats_requested, CS_LIVE_DRAIN_NS,
                                        run.max_count};
        struct cs_limits share = split_limits(&limits, run.workers);
        share_n = run.workers;
        if (cs_workers_live_run(run.workers, caps, &share, &lo, &ls, &summary, &frames, errbuf) != 0) {
            fprintf(stderr, "corscope: %s\n", errbuf);
            status = EXIT_INPUT;
        }
    }
    for (int i = 0; i < n_caps && !stop_requested && !live_workers; i++) {
        struct cs_capture *cap = caps[i];
        if (!cap)
            continue;
        /* Frame numbers continue across files, as if they were one. */
        cs_capture_set_next_frame_number(cap, next_number);
        struct cs_frame batch[CS_FRAME_BATCH];
        while (!stop_requested) {
            /* Files: a batch of frames at a time, which the pipeline decodes
             * ahead and prefetches for; live: each frame as it comes. */
            int want = ropt.live ? 1 : CS_FRAME_BATCH;
            if (run.max_count && run.max_count - frames < (uint64_t)want)
                want = (int)(run.max_count - frames);
            rc = cs_capture_next_batch(cap, batch, want, errbuf);
            if (stats_requested) {
                stats_requested = 0;
                if (progress) /* the statistics line on a line of its own */
                    cs_progress_clear(progress);
                print_stats(pipe, workers, ropt.live ? cap : NULL);
            }
            if (keys && ropt.live && cs_wall_clock_ns() >= next_keylog_read) {
                /* browsers append a line per connection: once a second */
                next_keylog_read = cs_wall_clock_ns() + CS_KEYLOG_REREAD_NS;
                if (cs_keylog_input_refresh(keys) > 0)
                    cs_pipeline_keys_changed(pipe);
            }
            if (rc == 0)
                break;
            if (rc < 0) {
                if (progress)
                    cs_progress_clear(progress);
                fprintf(stderr, "corscope: %s\n", errbuf);
                status = EXIT_INPUT;
                summary.inputs_failed++;
                break;
            }
            if (ropt.live && rc == 2) { /* live: no packet within the timeout */
                /* the clock moves on without packets: expire idle flows */
                cs_pipeline_tick(pipe, cs_wall_clock_ns());
                /* held preflight events whose window closed */
                cs_report_tick(report, cs_wall_clock_ns() - report_lag);
                if (ferror(out))
                    stop_requested = 1;
                continue;
            }
            if (workers)
                cs_workers_frames(workers, batch, (unsigned)rc);
            else
                cs_pipeline_frames(pipe, batch, (unsigned)rc); /* rc frames */
            frames += (uint64_t)rc;
            if (ropt.live) /* packets arrive but none decides a held preflight */
                cs_report_tick(report, cs_wall_clock_ns() - report_lag);
            if (run.max_count && frames >= run.max_count)
                stop_requested = 1;
            if (cs_progress_due(progress, frames)) {
                uint64_t pos = 0, size = 0, txns, blocked;
                cs_capture_position(cap, &pos, &size);
                cs_report_progress(report, &txns, &blocked);
                cs_progress_update(progress, bytes_before + pos, frames, txns, blocked);
            }
            /* Once the reader of the output is gone (SIGPIPE is ignored,
             * so writes fail with EPIPE; `corscope -r big.pcap | head`),
             * reading on would be for nobody: a live capture would run
             * forever, a file to its end.  Stop as SIGINT does.  (Files:
             * the report thread writes and notes the error, so that this
             * thread does not contend for the stream's lock.) */
            if (report_thread ? cs_report_thread_output_failed(report_thread) : ferror(out))
                stop_requested = 1;
        }
        next_number = cs_capture_next_frame_number(cap);
        uint64_t pos, size;
        if (progress && cs_capture_position(cap, &pos, &size) == 0)
            bytes_before += size;
    }
    if (pipe && ropt.live && stop_signals == 1 && status == 0 && !ferror(out) &&
        !(run.max_count && frames >= run.max_count))
        drain_live(caps[0], pipe, run.max_count, &frames);
    for (int i = 0; ropt.live && i < n_caps; i++) {
        uint64_t rx = 0, drop = 0, ifdrop = 0;
        cs_capture_stats(caps[i], &rx, &drop, &ifdrop);
        summary.received += rx;
        summary.dropped += drop;
        summary.ifdropped += ifdrop;
    }
    summary.loopback = loopback;

    if (workers)
        cs_workers_finish(workers); /* each worker ends its flows */
    else if (pipe)
        cs_pipeline_finish(pipe);
    cs_report_thread_stop(report_thread);
    /* erased before the summary is written */
    cs_output_around_write(sink, NULL, NULL, NULL);
    cs_progress_free(progress);
    if (workers) {
        cs_workers_summary(workers, &summary);
        summary.pipeline.n_protos = merged_protos.n_protos;
        memcpy(summary.pipeline.protos, merged_protos.protos, sizeof summary.pipeline.protos);
        summary.pipeline.protos_overflow = merged_protos.protos_overflow;
    } else if (pipe) {
        cs_pipeline_summary(pipe, &summary);
    } /* live --workers: the run added the stages' counters */
    if (keys) {
        summary.tls_keylog = true;
        cs_keylog_input_summarize(keys, &summary.tls);
    }
    cs_report_finish(report, &summary);
    bool blocked = cs_report_any_blocked(report);
    close_inputs(caps, n_caps);
    /* The report before the pipeline: nDPI's teardown leaves thousands of
     * small free blocks, and a large free after it makes glibc sweep them
     * all (5 M instructions).  No flow is left to call the report. */
    cs_report_free(report);
    cs_pipeline_free(pipe);
    cs_workers_free(workers);
    cs_sink_free(event_sink);   /* finished by cs_report_finish */
    cs_keylog_input_free(keys); /* after the pipeline, whose TLS connections read it */
    free(run.filter);
    int out_error = cs_output_finish(sink);
    unsigned long long out_lines = cs_output_lines(sink), out_bytes = cs_output_bytes(sink);
    cs_output_free(sink);
    /* The reader going away (EPIPE) is not an error: see SIGPIPE. */
    if (out_error && out_error != EPIPE) {
        fprintf(stderr, "corscope: writing output: %s after %llu %s (%llu bytes)\n",
                strerror(out_error), out_lines,
                ropt.format == CS_FORMAT_JSON ? "events" : "lines", out_bytes);
        return EXIT_INPUT;
    }
    if (summary.live && !run.quiet) {
        /* tcpdump's closing lines, on stderr whatever -o is */
        fprintf(stderr, "%llu packet%s captured\n", (unsigned long long)frames, frames == 1 ? "" : "s");
        fprintf(stderr, "%llu packet%s received by filter\n", (unsigned long long)summary.received,
                summary.received == 1 ? "" : "s");
        fprintf(stderr, "%llu packet%s dropped by kernel\n", (unsigned long long)summary.dropped,
                summary.dropped == 1 ? "" : "s");
        fprintf(stderr, "%llu packet%s dropped by interface\n", (unsigned long long)summary.ifdropped,
                summary.ifdropped == 1 ? "" : "s");
        if (loopback && summary.received > frames)
            fputs("(on a loopback interface the kernel counts each packet twice, as sent and as "
                  "received; it is captured once)\n",
                  stderr);
    }
    if (summary.live && summary.dropped + summary.ifdropped > 0)
        fprintf(stderr, "corscope: warning: %llu packets dropped by the kernel, %llu by the interface: "
                        "verdicts near the losses may be unknown (a larger -B or a narrower filter helps)\n",
                (unsigned long long)summary.dropped, (unsigned long long)summary.ifdropped);
    if (summary.has_sink && (summary.sink.unsent || summary.sink.dropped))
        fprintf(stderr, "corscope: warning: --sink: %llu events not sent (%llu dropped with the queue full, %llu "
                        "still queued at exit)%s%s\n",
                (unsigned long long)(summary.sink.unsent + summary.sink.dropped),
                (unsigned long long)summary.sink.dropped, (unsigned long long)summary.sink.unsent,
                summary.sink.last_error[0] ? "; last error: " : "", summary.sink.last_error);
    if (status == 0 && run.fail_on_blocked && blocked)
        status = EXIT_BLOCKED;
    return status;
}
