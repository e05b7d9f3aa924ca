/* Protocol identification (nDPI 4.2) for the flows that are not HTTP/1.x, so
 * the summary can say "2 TLS flows (SNI api.example.com) not analyzable"
 * instead of staying silent.
 *
 * One detection module per run; one detection state per flow, kept only
 * until nDPI decides (or CS_DPI_MAX_PACKETS packets have been offered), then
 * freed: nDPI costs ~0.8 µs a packet, so it never sees an HTTP flow's bulk.
 * A flow's state is its nDPI flow struct plus what nDPI allocates inside
 * it, measured through nDPI's allocation hooks (cs_dpi_stats().memory: the
 * pipeline counts it in --max-memory).  At most --max-dpi-flows flows are
 * under inspection at once; past that a flow is not inspected (it stays
 * "Unknown") and the refusal is counted in limit_hits. */
#ifndef CS_DPI_H
#define CS_DPI_H

#include <stdbool.h>
#include <stdint.h>
#include "packet.h"
#include "stats.h"

#define CS_DPI_MAX_PACKETS 24 /* packets offered to nDPI before giving up */
/* What nDPI's detection module holds once set up (protocol tables, host
 * automata, address trees): 5.5 MiB resident measured with nDPI 4.2, a
 * capture that sets it up against one that does not.  A constant, so that
 * --max-memory's evictions stay a function of the input. */
#define CS_DPI_MODULE_COST (6u * 1024u * 1024u)
#define CS_DPI_NAME_LEN 32
#define CS_DPI_SNI_LEN 80

struct cs_dpi;
struct cs_dpi_flow;

/* struct cs_dpi_stats (this stage's counters) is in stats.h. */

struct cs_dpi_result {
    char name[CS_DPI_NAME_LEN]; /* "TLS", "SSH", "HTTP", "Unknown", ... */
    char sni[CS_DPI_SNI_LEN];   /* TLS/QUIC server name or HTTP host, "" if none */
    bool guessed;               /* nDPI gave up and guessed (from the port) */
};

/* NULL only when out of memory (errbuf says why).  nDPI itself is set up on
 * the first cs_dpi_flow_new(), which returns NULL if that fails.  max_flows:
 * flows under inspection at once (--max-dpi-flows). */
struct cs_dpi *cs_dpi_new(uint32_t max_flows, char *errbuf, unsigned errlen);
void cs_dpi_free(struct cs_dpi *d);

/* Per-flow state; NULL when max_flows flows are under inspection already
 * (counted in limit_hits) or on allocation failure: the flow then stays
 * unidentified. */
struct cs_dpi_flow *cs_dpi_flow_new(struct cs_dpi *d);

/* Offers one packet (from its IP header on).  Returns true once the protocol
 * is known or the packet budget is spent: the caller then reads the result
 * and frees the state. */
bool cs_dpi_flow_packet(struct cs_dpi *d, struct cs_dpi_flow *f,
                        const uint8_t *l3, uint32_t l3_len, cs_time_ns ts);

/* The verdict so far (giving up and guessing if nDPI has not decided). */
void cs_dpi_flow_result(struct cs_dpi *d, struct cs_dpi_flow *f,
                        struct cs_dpi_result *out);

/* Frees f's state (NULL is fine) and takes its cost off the total. */
void cs_dpi_flow_free(struct cs_dpi *d, struct cs_dpi_flow *f);

const struct cs_dpi_stats *cs_dpi_stats(const struct cs_dpi *d);

/* Whether nDPI's module is set up (the next cs_dpi_flow_new costs no
 * set-up), or its set-up was tried and failed. */
bool cs_dpi_module_ready(const struct cs_dpi *d);
bool cs_dpi_module_failed(const struct cs_dpi *d);

#endif
