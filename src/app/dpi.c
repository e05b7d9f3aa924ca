/* nDPI 4.2 wrapper.  The 4.2 API differs from newer nDPI: the module comes
 * from ndpi_init_detection_module(ndpi_no_prefs), the flow struct is sized by
 * ndpi_detection_get_sizeof_ndpi_flow_struct() and zeroed by the caller, and
 * ndpi_detection_process_packet takes five arguments. */
#include <glib.h>
#include <ndpi_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpi.h"

/* The detection module is built on first use: nDPI's tables cost ~6 MB of
 * resident memory and ~60 M instructions to set up, which a capture of
 * nothing but HTTP (or a SYN flood) never needs. */
struct cs_dpi {
    struct ndpi_detection_module_struct *mod;
    uint32_t flow_size;
    bool failed;        /* initialisation was tried and failed */
    uint32_t max_flows; /* flows under inspection at once (--max-dpi-flows) */
    int64_t memory;     /* sum of the live flows' cost */
    struct cs_dpi_stats stats;
};

/* What nDPI holds: nDPI allocates through hooks (set_ndpi_malloc/
 * set_ndpi_free, process-wide), which here count each block at the size
 * malloc nominally reserves for the request (the request plus malloc's
 * chunk header, rounded up to 16 bytes, at least 32) in a per-thread running
 * total.  The wrapper reads the total before and after each call it makes
 * into nDPI for a flow and charges the difference to that flow, so a flow's
 * cost is its struct plus whatever nDPI allocated inside it (TLS message
 * buffers, server names, ...).  The total is per thread because nDPI runs
 * on the pipeline's thread only; a lazily built table of the module (a
 * protocol's LRU cache, allocated once, bounded) is charged to the flow that
 * triggered it and forgotten with that flow.
 *
 * The count must be a function of the input alone: --max-memory evicts by
 * it, and the output must not change from one run to the next.  So each
 * block's size is remembered in a table (pointer -> counted size) rather
 * than read back with malloc_usable_size(): what malloc really hands out
 * depends on its free lists, which the report thread changes at moments
 * that vary between runs (a block it frees returns to the pipeline's arena),
 * and with it which connections --max-memory evicted.  A block nDPI frees
 * that did not come through the hook is not in the table: harmless. */
#define CS_MALLOC_CHUNK_OVERHEAD 8u
static _Thread_local int64_t ndpi_live_bytes;
static _Thread_local GHashTable *ndpi_blocks; /* block -> counted size */
/* Only blocks allocated inside a call made for a flow are counted (and
 * remembered): those are the only ones a flow is charged for, and the
 * module's own tables (~100k blocks at start-up) would make the table cost
 * more than the counting is worth. */
static _Thread_local bool ndpi_counting;

static size_t nominal_size(size_t n)
{
    size_t c = (n + CS_MALLOC_CHUNK_OVERHEAD + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

/* The thread's table is destroyed when the thread ends (a key's
 * destructor): a --workers pipeline thread ends before its pipeline is
 * freed on the main thread, where cs_dpi_free sees the main thread's table
 * only (valgrind: one table lost per worker that ran nDPI). */
static pthread_key_t blocks_key;
static pthread_once_t blocks_once = PTHREAD_ONCE_INIT;
static bool blocks_key_ok;

static void blocks_destroy(void *table)
{
    g_hash_table_destroy(table);
    ndpi_blocks = NULL;
}

static void blocks_key_init(void)
{
    blocks_key_ok = pthread_key_create(&blocks_key, blocks_destroy) == 0;
}

static GHashTable *blocks_table(void)
{
    if (!ndpi_blocks && (ndpi_blocks = g_hash_table_new(g_direct_hash, g_direct_equal))) {
        pthread_once(&blocks_once, blocks_key_init);
        if (blocks_key_ok)
            pthread_setspecific(blocks_key, ndpi_blocks);
    }
    return ndpi_blocks;
}

static void *counted_malloc(size_t n)
{
    if (ndpi_counting && !blocks_table())
        return NULL;
    void *p = malloc(n);
    if (p && ndpi_counting) {
        size_t c = nominal_size(n);
        g_hash_table_insert(ndpi_blocks, p, GSIZE_TO_POINTER(c));
        ndpi_live_bytes += (int64_t)c;
    }
    return p;
}

static void counted_free(void *p)
{
    if (!p)
        return;
    gpointer c;
    if (ndpi_blocks && g_hash_table_lookup_extended(ndpi_blocks, p, NULL, &c)) {
        ndpi_live_bytes -= (int64_t)GPOINTER_TO_SIZE(c);
        g_hash_table_remove(ndpi_blocks, p);
    }
    free(p);
}

/* Building a module is not thread-safe in nDPI 4.2, and --workers builds
 * one per pipeline thread, each on its first flow (so several at once):
 * ndpi_init_detection_module initialises libgcrypt (for QUIC) when no one
 * has yet, and libgcrypt's initialisation run on two threads at once
 * aborts the process (--workers 3 on pcaps/conn-failures.pcap: about one
 * run in 400, SIGABRT in libgcrypt's fips_noreturn under one worker's
 * ndpi_init_detection_module while another's was in its own).  So modules
 * are built one at a time, and the allocation hooks (process-wide
 * pointers that nDPI reads on every allocation, from every thread) are
 * set once, before the first. */
static pthread_mutex_t module_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void set_hooks(void)
{
    set_ndpi_malloc(counted_malloc);
    set_ndpi_free(counted_free);
    set_ndpi_flow_malloc(counted_malloc);
    set_ndpi_flow_free(counted_free);
}

static bool dpi_ready(struct cs_dpi *d)
{
    if (d->mod)
        return true;
    if (d->failed)
        return false;
    pthread_once(&hooks_once, set_hooks);
    pthread_mutex_lock(&module_mu);
    /* Without nDPI's list of Tor relay addresses (1.1 MB resident, 1 ms
     * to load): a flow to a relay is then named by what it carries (TLS,
     * with its server name), which is all the summary needs. */
    d->mod = ndpi_init_detection_module(ndpi_dont_load_tor_hosts);
    if (d->mod) {
        NDPI_PROTOCOL_BITMASK all;
        NDPI_BITMASK_SET_ALL(all);
        ndpi_set_protocol_detection_bitmask2(d->mod, &all);
        ndpi_finalize_initialization(d->mod);
    }
    pthread_mutex_unlock(&module_mu);
    if (!d->mod) {
        d->failed = true;
        return false;
    }
    d->flow_size = ndpi_detection_get_sizeof_ndpi_flow_struct();
    return true;
}

struct cs_dpi_flow {
    unsigned packets;
    bool done;
    ndpi_protocol proto;
    struct ndpi_flow_struct *nf;
    int64_t cost; /* bytes charged to this flow (see counted_malloc) */
    int64_t mark; /* ndpi_live_bytes when the current call began */
};

/* Brackets every call into nDPI for f: what the call allocated (or freed)
 * is charged to f and to the run's total. */
static void charge_begin(struct cs_dpi_flow *f)
{
    f->mark = ndpi_live_bytes;
    ndpi_counting = true;
}

static void charge_end(struct cs_dpi *d, struct cs_dpi_flow *f)
{
    ndpi_counting = false;
    int64_t delta = ndpi_live_bytes - f->mark;
    f->cost += delta;
    d->memory += delta;
    d->stats.memory = d->memory > 0 ? (uint64_t)d->memory : 0;
    if (d->stats.memory > d->stats.max_memory)
        d->stats.max_memory = d->stats.memory;
}

struct cs_dpi *cs_dpi_new(uint32_t max_flows, char *errbuf, unsigned errlen)
{
    struct cs_dpi *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    d->max_flows = max_flows;
    return d;
}

void cs_dpi_free(struct cs_dpi *d)
{
    if (!d)
        return;
    if (d->mod)
        ndpi_exit_detection_module(d->mod);
    if (ndpi_blocks && g_hash_table_size(ndpi_blocks) == 0) {
        if (blocks_key_ok)
            pthread_setspecific(blocks_key, NULL);
        g_hash_table_destroy(ndpi_blocks);
        ndpi_blocks = NULL;
    }
    free(d);
}

struct cs_dpi_flow *cs_dpi_flow_new(struct cs_dpi *d)
{
    if (d->stats.inspecting >= d->max_flows) {
        d->stats.limit_hits++;
        return NULL;
    }
    if (!dpi_ready(d))
        return NULL;
    int64_t mark = ndpi_live_bytes;
    ndpi_counting = true;
    struct cs_dpi_flow *f = counted_malloc(sizeof(*f));
    if (!f) {
        ndpi_counting = false;
        return NULL;
    }
    memset(f, 0, sizeof(*f));
    f->nf = counted_malloc(d->flow_size);
    if (!f->nf) {
        ndpi_counting = false;
        counted_free(f);
        return NULL;
    }
    memset(f->nf, 0, d->flow_size);
    f->mark = mark;
    charge_end(d, f);
    if (++d->stats.inspecting > d->stats.max_inspecting)
        d->stats.max_inspecting = d->stats.inspecting;
    return f;
}

bool cs_dpi_flow_packet(struct cs_dpi *d, struct cs_dpi_flow *f,
                        const uint8_t *l3, uint32_t l3_len, cs_time_ns ts)
{
    if (f->done)
        return true;
    if (l3 && l3_len > 0) {
        if (l3_len > 0xffff)
            l3_len = 0xffff;
        charge_begin(f);
        f->proto = ndpi_detection_process_packet(d->mod, f->nf, l3, (unsigned short)l3_len,
                                                 (uint64_t)(ts / 1000000));
        charge_end(d, f);
        f->packets++;
    }
    if (f->proto.app_protocol != NDPI_PROTOCOL_UNKNOWN ||
        f->proto.master_protocol != NDPI_PROTOCOL_UNKNOWN ||
        f->packets >= CS_DPI_MAX_PACKETS)
        f->done = true;
    return f->done;
}

void cs_dpi_flow_result(struct cs_dpi *d, struct cs_dpi_flow *f, struct cs_dpi_result *out)
{
    memset(out, 0, sizeof(*out));
    ndpi_protocol p = f->proto;
    if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN && p.master_protocol == NDPI_PROTOCOL_UNKNOWN) {
        uint8_t guessed = 0;
        charge_begin(f);
        p = ndpi_detection_giveup(d->mod, f->nf, 1, &guessed);
        charge_end(d, f);
        out->guessed = guessed != 0;
    }
    /* The master protocol is the wire protocol (TLS for "TLS.Google"). */
    uint16_t id = p.master_protocol != NDPI_PROTOCOL_UNKNOWN ? p.master_protocol : p.app_protocol;
    const char *name = id != NDPI_PROTOCOL_UNKNOWN ? ndpi_get_proto_name(d->mod, id) : "Unknown";
    snprintf(out->name, sizeof(out->name), "%s", name ? name : "Unknown");
    size_t n = strnlen(f->nf->host_server_name, sizeof(f->nf->host_server_name));
    if (n >= sizeof(out->sni))
        n = sizeof(out->sni) - 1;
    memcpy(out->sni, f->nf->host_server_name, n);
    out->sni[n] = '\0';
}

/* The flow's whole charge is returned, whatever the frees below measure:
 * what nDPI keeps past the flow (a module cache) is fixed overhead. */
void cs_dpi_flow_free(struct cs_dpi *d, struct cs_dpi_flow *f)
{
    if (!f)
        return;
    d->memory -= f->cost;
    d->stats.memory = d->memory > 0 ? (uint64_t)d->memory : 0;
    d->stats.inspecting--;
    ndpi_free_flow_data(f->nf);
    counted_free(f->nf);
    counted_free(f);
}

const struct cs_dpi_stats *cs_dpi_stats(const struct cs_dpi *d)
{
    return &d->stats;
}

bool cs_dpi_module_ready(const struct cs_dpi *d)
{
    return d->mod != NULL;
}

bool cs_dpi_module_failed(const struct cs_dpi *d)
{
    return d->failed;
}
