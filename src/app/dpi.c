/* nDPI 4.2 wrapper.  The 4.2 API differs from newer nDPI: the module comes
 * from ndpi_init_detection_module(ndpi_no_prefs), the flow struct is sized by
 * ndpi_detection_get_sizeof_ndpi_flow_struct() and zeroed by the caller, and
 * ndpi_detection_process_packet takes five arguments. */
#include <ndpi_api.h>
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
    bool failed;                  /* initialisation was tried and failed */
};

static bool dpi_ready(struct cs_dpi *d)
{
    if (d->mod)
        return true;
    if (d->failed)
        return false;
    /* Without nDPI's list of Tor relay addresses (1.1 MB resident, 1 ms
     * to load): a flow to a relay is then named by what it carries (TLS,
     * with its server name), which is all the summary needs. */
    d->mod = ndpi_init_detection_module(ndpi_dont_load_tor_hosts);
    if (!d->mod) {
        d->failed = true;
        return false;
    }
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(d->mod, &all);
    ndpi_finalize_initialization(d->mod);
    d->flow_size = ndpi_detection_get_sizeof_ndpi_flow_struct();
    return true;
}

struct cs_dpi_flow {
    unsigned packets;
    bool done;
    ndpi_protocol proto;
    struct ndpi_flow_struct *nf;
};

struct cs_dpi *cs_dpi_new(char *errbuf, unsigned errlen)
{
    struct cs_dpi *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    return d;
}

void cs_dpi_free(struct cs_dpi *d)
{
    if (!d)
        return;
    if (d->mod)
        ndpi_exit_detection_module(d->mod);
    free(d);
}

struct cs_dpi_flow *cs_dpi_flow_new(struct cs_dpi *d)
{
    if (!dpi_ready(d))
        return NULL;
    struct cs_dpi_flow *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->nf = calloc(1, d->flow_size);
    if (!f->nf) {
        free(f);
        return NULL;
    }
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
        f->proto = ndpi_detection_process_packet(d->mod, f->nf, l3, (unsigned short)l3_len,
                                                 (uint64_t)(ts / 1000000));
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
        p = ndpi_detection_giveup(d->mod, f->nf, 1, &guessed);
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

void cs_dpi_flow_free(struct cs_dpi_flow *f)
{
    if (!f)
        return;
    if (f->nf)
        ndpi_free_flow_data(f->nf);
    free(f->nf);
    free(f);
}
