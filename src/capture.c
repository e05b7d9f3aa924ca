/* Capture stage: see capture.h.
 *
 * Files: libpcap reads pcap (µs and ns magic) and pcapng with nanosecond
 * timestamps.  A BPF filter on a file is applied here, frame by frame, with
 * pcap_offline_filter(), so that frames the filter hides still take their
 * number: numbers stay those Wireshark shows for the unfiltered file.
 * Live: the filter runs in the kernel (pcap_setfilter), so frames are
 * numbered as delivered.  The handle is non-blocking and waits in poll()
 * with our own timeout: on Linux (TPACKET_V3) libpcap's own read timeout
 * never fires while no packet arrives. */
#include <errno.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "decode.h"

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
    char name[256];              /* for messages: the path, or "stdin" */
    uint64_t next_number;
    int linktype;
    int live;
    int nano;                    /* timestamps in ns (else µs) */
    int fd;                      /* live: selectable descriptor, or -1 */
    int have_prog;               /* prog is applied here (files) */
    struct bpf_program prog;
    /* pcap_stats counters are 32 bits: widen them. */
    uint32_t last_recv, last_drop, last_ifdrop;
    uint64_t recv, drop, ifdrop;
    /* -w: every frame delivered is also saved here (shared by all inputs;
     * the first input owns and closes it) */
    pcap_dumper_t *dump;
    int dump_owner;
    char *read_buf;              /* the capture file's stdio buffer, or NULL */
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
        "USER0", "USER1", "USER2", "USER3", "USER4", "USER5", "USER6", "USER7",
        "USER8", "USER9", "USER10", "USER11", "USER12", "USER13", "USER14", "USER15",
    };
    if (linktype >= CS_LINKTYPE_USER0 && linktype < CS_LINKTYPE_USER0 + CS_LINKTYPE_USER_COUNT)
        return user[linktype - CS_LINKTYPE_USER0];
    const char *n = pcap_datalink_val_to_name(linktype);
    return n ? n : "unknown";
}

/* Formats a one-line message into the caller's errbuf (cut to fit). */
__attribute__((format(printf, 2, 3)))
static void errf(char errbuf[CS_ERRBUF_SIZE], const char *fmt, ...)
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

    /* Open the file ourselves so that a missing or unreadable file gets the
     * system's own words, not libpcap's. */
    FILE *fp;
    if (strcmp(path, "-") == 0) {
        fp = stdin;
    } else {
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            errf(errbuf, "%s: is a directory, not a capture file", c->name);
            free(c);
            return NULL;
        }
        fp = fopen(path, "rb");
        if (!fp) {
            errf(errbuf, "%s: cannot open: %s", c->name, strerror(errno));
            free(c);
            return NULL;
        }
    }
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
                 "CAP_NET_RAW and CAP_NET_ADMIN", iface, why);
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
        c->fd = -1;     /* fall back to libpcap's blocking read with its timeout */
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

int cs_capture_next(struct cs_capture *c, struct cs_frame *out, char errbuf[CS_ERRBUF_SIZE])
{
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
        if (rc == 0) {                  /* live: nothing within the timeout */
            if (c->dump)
                pcap_dump_flush(c->dump);
            return c->live ? 2 : 0;
        }
        if (rc == PCAP_ERROR_BREAK)     /* end of file, or pcap_breakloop() */
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
    free(c->read_buf);
    free(c);
}

void cs_capture_set_next_frame_number(struct cs_capture *c, uint64_t number)
{
    c->next_number = number;
}

int cs_capture_dump_open(struct cs_capture *first, struct cs_capture **all, int n,
                         const char *path, char errbuf[CS_ERRBUF_SIZE])
{
    for (int i = 0; i < n; i++)
        if (all[i] && all[i]->linktype != first->linktype) {
            errf(errbuf, "-w %s: the inputs have different link types (%s and %s); "
                 "one pcap file holds one", path, cs_linktype_name(first->linktype),
                 cs_linktype_name(all[i]->linktype));
            return -1;
        }
    pcap_dumper_t *d = pcap_dump_open(first->pcap, path);
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
