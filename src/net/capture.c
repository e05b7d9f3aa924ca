/* Capture stage: see capture.h.
 *
 * Files: classic pcap files (µs and ns magic, either byte order, version
 * 2.4) are read by pcapfile.c, which hands out records in place instead of
 * copying each one twice through stdio and libpcap; libpcap still parses
 * their file header (so link type mapping, snapshot length and header errors
 * are its own) and its handle still compiles the filter and opens -w.
 * libpcap reads everything else (pcapng, older pcap versions) with
 * nanosecond timestamps.  A BPF filter on a file is applied here, frame by
 * frame, with pcap_offline_filter(), so that frames the filter hides still
 * take their number: numbers stay those Wireshark shows for the unfiltered
 * file.
 * Live: the filter runs in the kernel (pcap_setfilter), so frames are
 * numbered as delivered.  The handle is non-blocking and waits in poll()
 * with our own timeout: on Linux (TPACKET_V3) libpcap's own read timeout
 * never fires while no packet arrives. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "shard.h"
#include "decode.h"
#include "pcapfile.h"

/* Read timeout of a live capture: cs_capture_next returns 2 at most this
 * often when no packet arrives, so the caller can run its timers. */
#define CS_LIVE_TIMEOUT_MS 100
/* Live snaplen when the caller passes <= 0: whole frames (tcpdump's default). */
#define CS_LIVE_DEFAULT_SNAPLEN 262144
/* stdio buffer for a capture file: libpcap reads it with two freads per
 * packet, and the default buffer (st_blksize, 4 KB) costs one read(2) per
 * 4 KB, about a tenth of the run on a large capture; 256 KB makes the
 * system calls negligible for a quarter megabyte of memory. */
#define CS_FILE_READ_BUFFER (256 * 1024)

struct cs_capture {
    pcap_t *pcap;
    char name[256]; /* for messages: the path, or "stdin" */
    uint64_t next_number;
    int linktype;
    int live;
    int nano;      /* timestamps in ns (else µs) */
    int fd;        /* live: selectable descriptor, or -1 */
    int have_prog; /* prog is applied here (files) */
    struct bpf_program prog;
    /* pcap_stats counters are 32 bits: widen them. */
    uint32_t last_recv, last_drop, last_ifdrop;
    uint64_t recv, drop, ifdrop;
    /* -w: every frame delivered is also saved here (shared by all inputs;
     * the first input owns and closes it) */
    pcap_dumper_t *dump;
    int dump_owner;
    char *read_buf; /* the capture file's stdio buffer, or NULL */
    /* Classic pcap files: pcapfile.c reads the records from file_fd (which
     * we close, unless it is stdin); pcap is then a handle on the file
     * header alone, read by libpcap from file_header. */
    struct cs_pcapfile *pf;
    int file_fd;
    uint8_t file_header[CS_PCAPFILE_HEADER_SIZE];
};

int cs_linktype_supported(int linktype)
{
    return cs_decode_linktype_supported(linktype);
}

/* Private-use link types 147..162 (LINKTYPE_USER0..15), which libpcap does
 * not name. */
#define CS_LINKTYPE_USER0 147
#define CS_LINKTYPE_USER_COUNT 16

const char *cs_linktype_name(int linktype)
{
    static const char *const user[CS_LINKTYPE_USER_COUNT] = {
        "USER0",
        "USER1",
        "USER2",
        "USER3",
        "USER4",
        "USER5",
        "USER6",
        "USER7",
        "USER8",
        "USER9",
        "USER10",
        "USER11",
        "USER12",
        "USER13",
        "USER14",
        "USER15",
    };
    if (linktype >= CS_LINKTYPE_USER0 && linktype < CS_LINKTYPE_USER0 + CS_LINKTYPE_USER_COUNT)
        return user[linktype - CS_LINKTYPE_USER0];
    const char *n = pcap_datalink_val_to_name(linktype);
    return n ? n : "unknown";
}

/* Formats a one-line message into the caller's errbuf (cut to fit). */
__attribute__((format(printf, 2, 3))) static void errf(char errbuf[CS_ERRBUF_SIZE], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, CS_ERRBUF_SIZE, fmt, ap);
    va_end(ap);
}

static void set_name(struct cs_capture *c, const char *path)
{
    snprintf(c->name, sizeof c->name, "%s", strcmp(path, "-") == 0 ? "stdin" : path);
}

/* Compiles `filter` for c->pcap; on failure fills errbuf naming the
 * expression.  Returns 0 or -1. */
static int compile_filter(struct cs_capture *c, const char *filter, char errbuf[CS_ERRBUF_SIZE])
{
    if (pcap_compile(c->pcap, &c->prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        errf(errbuf, "bad filter expression '%s': %s", filter,
             pcap_geterr(c->pcap));
        return -1;
    }
    return 0;
}

/* Set by the caller's SIGINT/SIGTERM handler (cs_capture_stop_flag): a
 * blocking open or first read of a file (a FIFO waiting for its writer)
 * interrupted once it is set gives up with EINTR instead of waiting on. */
static volatile sig_atomic_t *stop_flag;

void cs_capture_stop_flag(volatile sig_atomic_t *flag)
{
    stop_flag = flag;
}

static bool stopping(void)
{
    return stop_flag && __atomic_load_n(stop_flag, __ATOMIC_RELAXED); /* read by --workers threads */
}

/* Reads up to n bytes, stopping only at the end of the input.  Returns the
 * count, or -1 on a read error (EINTR once the stop flag is set). */
static ssize_t read_full(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR && !stopping())
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* A pipe on stdin cannot be rewound after we looked at its first bytes:
 * libpcap gets a stream that replays them, then reads the pipe. */
struct replay {
    int fd;
    size_t n, pos;
    uint8_t prefix[CS_PCAPFILE_HEADER_SIZE];
};

static ssize_t replay_read(void *cookie, char *buf, size_t size)
{
    struct replay *r = cookie;
    if (r->pos < r->n) {
        size_t k = r->n - r->pos < size ? r->n - r->pos : size;
        memcpy(buf, r->prefix + r->pos, k);
        r->pos += k;
        return (ssize_t)k;
    }
    ssize_t k;
    do
        k = read(r->fd, buf, size);
    while (k < 0 && errno == EINTR);
    return k;
}

/* Frees the cookie; the descriptor (stdin) stays open, as libpcap leaves
 * stdin open. */
static int replay_close(void *cookie)
{
    free(cookie);
    return 0;
}

/* The stream libpcap reads when pcapfile.c does not take the file: fd from
 * its start, given that `got` bytes (kept in `seen`) were already read.
 * Returns NULL with errno set on failure. */
static FILE *stream_from_start(int fd, const uint8_t *seen, ssize_t got)
{
    if (got <= 0 || lseek(fd, -(off_t)got, SEEK_CUR) >= 0) {
        if (fd == STDIN_FILENO)
            return stdin;
        return fdopen(fd, "rb");
    }
    struct replay *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->fd = fd;
    r->n = (size_t)got;
    memcpy(r->prefix, seen, r->n);
    cookie_io_functions_t io = {.read = replay_read, .close = replay_close};
    FILE *fp = fopencookie(r, "rb", io);
    if (!fp)
        free(r);
    return fp;
}

/* libpcap's reading of a 24-byte file header alone (from memory), with
 * nanosecond timestamps.  Returns the handle or NULL with pcap_err filled. */
static pcap_t *parse_header(const uint8_t *header, char *pcap_err)
{
    FILE *fp = fmemopen((void *)header, CS_PCAPFILE_HEADER_SIZE, "rb");
    if (!fp) {
        snprintf(pcap_err, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
        return NULL;
    }
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO,
                                                         pcap_err);
    if (!p)
        fclose(fp);
    return p;
}

/* Classic pcap file whose header is c->file_header and whose records follow
 * on c->file_fd: libpcap parses the header (c->pcap), pcapfile.c reads the
 * records.  libpcap's sanity limit on a record's caplen is the snapshot
 * length it gives a header whose snapshot length is 0 (a bogus one), so a
 * second header, with that field zeroed, asks it.  Returns 0, or -1 to leave
 * the file to libpcap. */
static int open_classic(struct cs_capture *c)
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    uint8_t probe_header[CS_PCAPFILE_HEADER_SIZE];
    memcpy(probe_header, c->file_header, sizeof probe_header);
    memset(probe_header + 16, 0, 4); /* snaplen, either byte order */
    pcap_t *probe = parse_header(probe_header, pcap_err);
    if (!probe)
        return -1;
    int max_caplen = pcap_snapshot(probe);
    pcap_close(probe);
    c->pcap = parse_header(c->file_header, pcap_err);
    if (!c->pcap)
        return -1;
    int snapshot = pcap_snapshot(c->pcap);
    if (snapshot <= 0 || max_caplen <= 0)
        goto fail;
    c->pf = cs_pcapfile_open(c->file_fd, c->file_header, (uint32_t)snapshot,
                             (uint32_t)max_caplen, 0);
    if (!c->pf)
        goto fail;
    return 0;
fail:
    pcap_close(c->pcap);
    c->pcap = NULL;
    return -1;
}

struct cs_capture *cs_capture_open_file(const char *path, const char *filter,
                                        uint64_t first_frame_number,
                                        char errbuf[CS_ERRBUF_SIZE])
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    struct cs_capture *c = calloc(1, sizeof *c);
    if (!c) {
        errf(errbuf, "%s: out of memory", path);
        return NULL;
    }
    set_name(c, path);
    c->next_number = first_frame_number;
    c->nano = 1;
    c->file_fd = -1;

    /* Open the file ourselves so that a missing or unreadable file gets the
     * system's own words, not libpcap's. */
    int fd;
    if (strcmp(path, "-") == 0) {
        fd = STDIN_FILENO;
    } else {
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            errf(errbuf, "%s: is a directory, not a capture file", c->name);
            free(c);
            return NULL;
        }
        do
            fd = open(path, O_RDONLY | O_CLOEXEC);
        while (fd < 0 && errno == EINTR && !stopping());
        if (fd < 0) {
            errf(errbuf, "%s: cannot open: %s", c->name, strerror(errno));
            free(c);
            return NULL;
        }
    }
    c->file_fd = fd;
    ssize_t got = read_full(fd, c->file_header, sizeof c->file_header);
    if (got < 0) {
        errf(errbuf, "%s: cannot read: %s", c->name, strerror(errno));
        cs_capture_close(c);
        return NULL;
    }
    if (got == (ssize_t)sizeof c->file_header && cs_pcapfile_header_ok(c->file_header) &&
        open_classic(c) == 0)
        goto opened;

    /* libpcap reads the file itself, from its first byte. */
    FILE *fp = stream_from_start(fd, c->file_header, got);
    if (!fp) {
        errf(errbuf, "%s: cannot read: %s", c->name, strerror(errno));
        cs_capture_close(c);
        return NULL;
    }
    c->file_fd = -1; /* the stream owns it now */
    /* Before the first read, as setvbuf requires.  glibc ignores the size
     * unless it is given the buffer, so we own it (freed after pcap_close has
     * closed the file; stdin, which pcap_close leaves open, keeps its own).
     * Without it stdio simply keeps its default buffer. */
    if (fp != stdin) {
        c->read_buf = malloc(CS_FILE_READ_BUFFER);
        if (c->read_buf && setvbuf(fp, c->read_buf, _IOFBF, CS_FILE_READ_BUFFER) != 0) {
            free(c->read_buf);
            c->read_buf = NULL;
        }
    }
    c->pcap = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, pcap_err);
    if (!c->pcap) {
        /* libpcap says "unknown file format" or "truncated dump file" for an
         * empty or short file. */
        errf(errbuf, "%s: not a pcap or pcapng capture file (%s)",
             c->name, pcap_err);
        if (fp != stdin)
            fclose(fp);
        free(c->read_buf);
        free(c);
        return NULL;
    }
opened:
    c->linktype = pcap_datalink(c->pcap);
    if (!cs_linktype_supported(c->linktype)) {
        errf(errbuf, "unsupported link type %d (%s) in %s", c->linktype,
             cs_linktype_name(c->linktype), c->name);
        cs_capture_close(c);
        return NULL;
    }
    if (filter && *filter) {
        if (compile_filter(c, filter, errbuf) < 0) {
            cs_capture_close(c);
            return NULL;
        }
        c->have_prog = 1;
    }
    return c;
}

struct cs_capture *cs_capture_open_live(const char *iface, const char *filter, int snaplen,
                                        int promisc, int buffer_bytes, int immediate,
                                        char errbuf[CS_ERRBUF_SIZE])
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    struct cs_capture *c = calloc(1, sizeof *c);
    if (!c) {
        errf(errbuf, "%s: out of memory", iface);
        return NULL;
    }
    snprintf(c->name, sizeof c->name, "%s", iface);
    c->live = 1;
    c->file_fd = -1;
    c->next_number = 1;
    c->pcap = pcap_create(iface, pcap_err);
    if (!c->pcap) {
        errf(errbuf, "%s: %s", iface, pcap_err);
        free(c);
        return NULL;
    }
    pcap_set_snaplen(c->pcap, snaplen > 0 ? snaplen : CS_LIVE_DEFAULT_SNAPLEN);
    pcap_set_promisc(c->pcap, promisc ? 1 : 0);
    pcap_set_timeout(c->pcap, CS_LIVE_TIMEOUT_MS);
    if (buffer_bytes > 0)
        pcap_set_buffer_size(c->pcap, buffer_bytes);
    if (immediate)
        pcap_set_immediate_mode(c->pcap, 1);
    /* Nanoseconds where the platform offers them, else microseconds. */
    pcap_set_tstamp_precision(c->pcap, PCAP_TSTAMP_PRECISION_NANO);
    int rc = pcap_activate(c->pcap);
    if (rc < 0) {
        const char *why = *pcap_geterr(c->pcap) ? pcap_geterr(c->pcap) : pcap_statustostr(rc);
        switch (rc) {
        case PCAP_ERROR_NO_SUCH_DEVICE:
            errf(errbuf, "%s: no such interface (corscope -D lists them)", iface);
            break;
        case PCAP_ERROR_PERM_DENIED:
            errf(errbuf, "%s: no permission to capture (%s): run as root or give corscope "
                         "CAP_NET_RAW and CAP_NET_ADMIN",
                 iface, why);
            break;
        case PCAP_ERROR_IFACE_NOT_UP:
            errf(errbuf, "%s: the interface is down", iface);
            break;
        default:
            errf(errbuf, "%s: cannot capture: %s", iface, why);
            break;
        }
        cs_capture_close(c);
        return NULL;
    }
    c->nano = pcap_get_tstamp_precision(c->pcap) == PCAP_TSTAMP_PRECISION_NANO;
    c->fd = pcap_get_selectable_fd(c->pcap);
    if (c->fd >= 0 && pcap_setnonblock(c->pcap, 1, pcap_err) != 0)
        c->fd = -1; /* fall back to libpcap's blocking read with its timeout */
    c->linktype = pcap_datalink(c->pcap);
    if (!cs_linktype_supported(c->linktype)) {
        /* Some interfaces offer several link types: take a supported one. */
        int *list = NULL;
        int n = pcap_list_datalinks(c->pcap, &list);
        for (int i = 0; i < n; i++) {
            if (cs_linktype_supported(list[i]) && pcap_set_datalink(c->pcap, list[i]) == 0) {
                c->linktype = list[i];
                break;
            }
        }
        if (n > 0)
            pcap_free_datalinks(list);
        if (!cs_linktype_supported(c->linktype)) {
            errf(errbuf, "unsupported link type %d (%s) on %s",
                 c->linktype, cs_linktype_name(c->linktype), iface);
            cs_capture_close(c);
            return NULL;
        }
    }
    if (filter && *filter) {
        if (compile_filter(c, filter, errbuf) < 0) {
            cs_capture_close(c);
            return NULL;
        }
        if (pcap_setfilter(c->pcap, &c->prog) != 0) {
            errf(errbuf, "%s: cannot set filter '%s': %s", iface, filter,
                 pcap_geterr(c->pcap));
            cs_capture_close(c);
            return NULL;
        }
    }
    return c;
}

/* Live, non-blocking: waits up to CS_LIVE_TIMEOUT_MS for the descriptor.
 * Returns 1 when it is readable, 0 on timeout or a signal. */
static int wait_readable(const struct cs_capture *c)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    return poll(&pfd, 1, CS_LIVE_TIMEOUT_MS) > 0;
}

/* cs_capture_next for a classic pcap file read by pcapfile.c.  With
 * `in_place`, reads only records already whole in the buffer and returns 3
 * at one that is not (reading it would move the frames handed out before);
 * the next call without in_place reads it, or says what is wrong with it. */
static int next_classic(struct cs_capture *c, struct cs_frame *out, char errbuf[CS_ERRBUF_SIZE],
                        int in_place)
{
    for (;;) {
        struct cs_pcapfile_record r = {0}; /* (set when rc > 0; LTO cannot see it) */
        int rc = in_place ? cs_pcapfile_next_buffered(c->pf, &r) : cs_pcapfile_next(c->pf, &r);
        if (in_place && rc == 0)
            return 3;
        if (rc == 0)
            return 0;
        if (rc < 0) {
            errf(errbuf, "%s: truncated capture (after frame %llu): %s",
                 c->name, (unsigned long long)(c->next_number - 1),
                 cs_pcapfile_error(c->pf));
            return -1;
        }
        uint64_t number = c->next_number++;
        if (c->have_prog || c->dump) {
            /* The header libpcap would have given: tv_usec holds ns. */
            struct pcap_pkthdr h = {.caplen = r.caplen, .len = r.len};
            h.ts.tv_sec = (time_t)r.sec;
            h.ts.tv_usec = (suseconds_t)r.nsec;
            if (c->have_prog && !pcap_offline_filter(&c->prog, &h, r.data))
                continue;
            if (c->dump)
                pcap_dump((u_char *)c->dump, &h, r.data);
        }
        out->number = number;
        out->ts = (cs_time_ns)r.sec * 1000000000LL + (cs_time_ns)r.nsec;
        out->linktype = c->linktype;
        out->data = r.data;
        out->caplen = r.caplen;
        out->wirelen = r.len;
        return 1;
    }
}

int cs_capture_next_batch(struct cs_capture *c, struct cs_frame *out, int max,
                          char errbuf[CS_ERRBUF_SIZE])
{
    if (max <= 0)
        return 0;
    int n = 0;
    while (n < max) {
        int rc = c->pf ? next_classic(c, &out[n], errbuf, n > 0) : cs_capture_next(c, &out[n], errbuf);
        if (rc != 1)
            /* the end, an error, a timeout or a record to read first: give
             * what we have (the reader repeats its end or error next call) */
            return n > 0 ? n : rc;
        n++;
        if (!c->pf)
            break; /* libpcap's frame lives until its next read */
    }
    return n;
}

int cs_capture_next(struct cs_capture *c, struct cs_frame *out, char errbuf[CS_ERRBUF_SIZE])
{
    if (c->pf)
        return next_classic(c, out, errbuf, 0);
    int waited = 0;
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int rc = pcap_next_ex(c->pcap, &h, &data);
        if (rc == 0 && c->live && c->fd >= 0 && !waited) {
            waited = 1;
            if (wait_readable(c))
                continue;
        }
        if (rc == 0) { /* live: nothing within the timeout */
            if (c->dump)
                pcap_dump_flush(c->dump);
            return c->live ? 2 : 0;
        }
        if (rc == PCAP_ERROR_BREAK) /* end of file, or pcap_breakloop() */
            return 0;
        if (rc < 0) {
            if (c->live)
                errf(errbuf, "%s: capture error: %s", c->name,
                     pcap_geterr(c->pcap));
            else
                errf(errbuf, "%s: truncated capture (after frame %llu): %s",
                     c->name, (unsigned long long)(c->next_number - 1),
                     pcap_geterr(c->pcap));
            return -1;
        }
        uint64_t number = c->next_number++;
        if (c->have_prog && !pcap_offline_filter(&c->prog, h, data))
            continue;
        if (c->dump)
            pcap_dump((u_char *)c->dump, h, data);
        out->number = number;
        out->ts = (cs_time_ns)h->ts.tv_sec * 1000000000LL +
                  (cs_time_ns)h->ts.tv_usec * (c->nano ? 1 : 1000);
        out->linktype = c->linktype;
        out->data = data;
        out->caplen = h->caplen;
        out->wirelen = h->len;
        return 1;
    }
}

uint64_t cs_capture_next_frame_number(const struct cs_capture *c)
{
    return c->next_number;
}

int cs_capture_linktype(const struct cs_capture *c)
{
    return c->linktype;
}

int cs_capture_stats(struct cs_capture *c, uint64_t *received, uint64_t *dropped,
                     uint64_t *ifdropped)
{
    struct pcap_stat ps;
    if (!c->live || pcap_stats(c->pcap, &ps) != 0)
        return -1;
    /* Unsigned subtraction handles one wrap of a 32-bit counter per call. */
    c->recv += (uint32_t)(ps.ps_recv - c->last_recv);
    c->drop += (uint32_t)(ps.ps_drop - c->last_drop);
    c->ifdrop += (uint32_t)(ps.ps_ifdrop - c->last_ifdrop);
    c->last_recv = ps.ps_recv;
    c->last_drop = ps.ps_drop;
    c->last_ifdrop = ps.ps_ifdrop;
    if (received)
        *received = c->recv;
    if (dropped)
        *dropped = c->drop;
    if (ifdropped)
        *ifdropped = c->ifdrop;
    return 0;
}

void cs_capture_close(struct cs_capture *c)
{
    if (!c)
        return;
    if (c->dump && c->dump_owner)
        pcap_dump_close(c->dump);
    if (c->prog.bf_insns)
        pcap_freecode(&c->prog);
    if (c->pcap)
        pcap_close(c->pcap);
    cs_pcapfile_close(c->pf);
    if (c->file_fd > STDIN_FILENO)
        close(c->file_fd);
    free(c->read_buf);
    free(c);
}

void cs_capture_set_next_frame_number(struct cs_capture *c, uint64_t number)
{
    c->next_number = number;
}

/* The open file an input reads from (its descriptor, or the stream libpcap
 * reads), or -1 for a live capture or a stream without one. */
static int input_fd(const struct cs_capture *c)
{
    if (c->live)
        return -1;
    if (c->file_fd >= 0)
        return c->file_fd;
    FILE *fp = c->pcap ? pcap_file(c->pcap) : NULL;
    return fp ? fileno(fp) : -1;
}

/* Like the kernel's protected_symlinks: a symlink in a sticky
 * world-writable directory (/tmp) is followed only when its owner is the
 * directory's owner or us, so another user cannot plant one there to make
 * -w overwrite a file of ours.  dfd is the directory, link the symlink's
 * lstat. */
static bool symlink_is_trusted(int dfd, const struct stat *link)
{
    struct stat dir;
    if (fstat(dfd, &dir) != 0)
        return false;
    if ((dir.st_mode & (S_ISVTX | S_IWOTH)) != (S_ISVTX | S_IWOTH))
        return true;
    return link->st_uid == dir.st_uid || link->st_uid == geteuid();
}

/* Opens (creating, mode 0666 less the umask, as fopen's "w" does) the -w
 * file for writing without truncating it yet.  A symlink as the last
 * component is followed only when symlink_is_trusted.  Returns the
 * descriptor, or -1 with errbuf filled. */
static int open_dump_file(const char *path, char errbuf[CS_ERRBUF_SIZE])
{
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY;
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    int dfd = dir && *name ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    free(dir);
    if (dfd < 0) { /* no such directory, or a name ending in '/' */
        int fd = open(path, flags, 0666);
        if (fd < 0)
            errf(errbuf, "-w %s: %s", path, strerror(errno));
        return fd;
    }
    int fd = openat(dfd, name, flags | O_NOFOLLOW, 0666);
    int open_errno = errno;
    struct stat st;
    /* The last component is a symlink: Linux says ELOOP, or EACCES when
     * O_CREAT meets one. */
    if (fd < 0 && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        if (!symlink_is_trusted(dfd, &st)) {
            errf(errbuf, "-w %s: refusing to follow a symlink owned by another user in a "
                         "sticky world-writable directory",
                 path);
            close(dfd);
            return -1;
        }
        fd = openat(dfd, name, flags, 0666);
    } else if (fd < 0) {
        errno = open_errno;
    }
    if (fd < 0)
        errf(errbuf, "-w %s: %s", path, strerror(errno));
    close(dfd);
    return fd;
}

int cs_capture_dump_open(struct cs_capture *first, struct cs_capture **all, int n,
                         const char *path, char errbuf[CS_ERRBUF_SIZE])
{
    for (int i = 0; i < n; i++)
        if (all[i] && all[i]->linktype != first->linktype) {
            errf(errbuf, "-w %s: the inputs have different link types (%s and %s); "
                         "one pcap file holds one",
                 path, cs_linktype_name(first->linktype),
                 cs_linktype_name(all[i]->linktype));
            return -1;
        }
    pcap_dumper_t *d;
    if (strcmp(path, "-") == 0) {
        d = pcap_dump_open(first->pcap, path); /* standard output */
    } else {
        int fd = open_dump_file(path, errbuf);
        if (fd < 0)
            return -1;
        /* Is it a file being read (by any name: a symlink, a hard link)?
         * Checked on what was opened, before anything is truncated. */
        struct stat out, in;
        if (fstat(fd, &out) != 0) {
            errf(errbuf, "-w %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        for (int i = 0; i < n; i++) {
            int ifd = all[i] ? input_fd(all[i]) : -1;
            if (ifd >= 0 && fstat(ifd, &in) == 0 && in.st_dev == out.st_dev &&
                in.st_ino == out.st_ino) {
                errf(errbuf, "-w %s: that is the input %s; refusing to overwrite it", path,
                     all[i]->name);
                close(fd);
                return CS_DUMP_IS_INPUT;
            }
        }
        if (S_ISREG(out.st_mode) && ftruncate(fd, 0) != 0) {
            errf(errbuf, "-w %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        FILE *fp = fdopen(fd, "wb");
        if (!fp) {
            errf(errbuf, "-w %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        d = pcap_dump_fopen(first->pcap, fp);
        if (!d)
            fclose(fp);
    }
    if (!d) {
        errf(errbuf, "-w %s: %s", path, pcap_geterr(first->pcap));
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (all[i])
            all[i]->dump = d;
    first->dump_owner = 1;
    return 0;
}

int cs_capture_list_interfaces(FILE *out, char errbuf[CS_ERRBUF_SIZE])
{
    pcap_if_t *devs = NULL;
    char pcap_err[PCAP_ERRBUF_SIZE];
    if (pcap_findalldevs(&devs, pcap_err) != 0) {
        errf(errbuf, "cannot list interfaces: %s", pcap_err);
        return -1;
    }
    int i = 1;
    for (pcap_if_t *d = devs; d; d = d->next, i++) {
        fprintf(out, "%d.%s", i, d->name);
        if (d->description)
            fprintf(out, " (%s)", d->description);
        fprintf(out, " [%s%s%s]\n", (d->flags & PCAP_IF_UP) ? "Up" : "Down",
                (d->flags & PCAP_IF_RUNNING) ? ", Running" : "",
                (d->flags & PCAP_IF_LOOPBACK) ? ", Loopback" : "");
    }
    pcap_freealldevs(devs);
    return 0;
}

int cs_capture_position(const struct cs_capture *c, uint64_t *pos, uint64_t *size)
{
    int fd = input_fd(c);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    off_t at = lseek(fd, 0, SEEK_CUR);
    if (at < 0)
        return -1;
    *pos = (uint64_t)at;
    *size = (uint64_t)st.st_size;
    return 0;
}

void cs_capture_describe(const struct cs_capture *c, char *buf, size_t len)
{
    const char *desc = pcap_datalink_val_to_description(c->linktype);
    snprintf(buf, len, "listening on %s, link-type %s (%s), snapshot length %d bytes", c->name,
             cs_linktype_name(c->linktype), desc ? desc : "unknown", pcap_snapshot(c->pcap));
}

int cs_capture_is_loopback(const struct cs_capture *c)
{
    pcap_if_t *all = NULL;
    char err[PCAP_ERRBUF_SIZE];
    int loop = 0;
    if (!c->live || pcap_findalldevs(&all, err) != 0)
        return 0;
    for (pcap_if_t *d = all; d; d = d->next)
        if (strcmp(d->name, c->name) == 0)
            loop = (d->flags & PCAP_IF_LOOPBACK) != 0;
    pcap_freealldevs(all);
    return loop;
}

int cs_capture_join_fanout(struct cs_capture *c, uint16_t group, char errbuf[CS_ERRBUF_SIZE])
{
    int fd = c->live ? pcap_get_selectable_fd(c->pcap) : -1;
    if (fd < 0) {
        errf(errbuf, "%s: --workers: no capture socket to share", c->name);
        return -1;
    }
    return cs_shard_join_fanout(fd, group, errbuf, CS_ERRBUF_SIZE);
}
