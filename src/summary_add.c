/* --workers: the stages' counters of several pipelines added into one
 * summary (summary_add.h). */
#include <string.h>

#include "summary_add.h"

/* Structs made of uint64_t counters only, added field by field. */
#define ADD_COUNTERS(into, from)                                                 \
    do {                                                                         \
        _Static_assert(sizeof *(into) % sizeof(uint64_t) == 0, "counters only"); \
        uint64_t *a_ = (uint64_t *)(void *)(into);                               \
        const uint64_t *b_ = (const uint64_t *)(const void *)(from);             \
        for (size_t i_ = 0; i_ < sizeof *(into) / sizeof(uint64_t); i_++)        \
            a_[i_] += b_[i_];                                                    \
    } while (0)

static void add_tls_sni(char (*snis)[CS_TLS_STATS_SNI_LEN], unsigned *n, const char *sni)
{
    for (unsigned i = 0; i < *n; i++)
        if (strcmp(snis[i], sni) == 0)
            return;
    if (*n < CS_TLS_STATS_SNIS)
        memcpy(snis[(*n)++], sni, CS_TLS_STATS_SNI_LEN);
}

static void add_tls(struct cs_tls_stats *a, const struct cs_tls_stats *b)
{
    a->connections += b->connections;
    a->decrypted += b->decrypted;
    a->no_key += b->no_key;
    a->incomplete += b->incomplete;
    a->failed += b->failed;
    for (unsigned i = 0; i < CS_TLS_STATS_REASONS && b->failed_by[i].reason; i++) {
        unsigned j = 0;
        while (j < CS_TLS_STATS_REASONS && a->failed_by[j].reason &&
               strcmp(a->failed_by[j].reason, b->failed_by[i].reason) != 0)
            j++;
        if (j == CS_TLS_STATS_REASONS)
            continue;
        a->failed_by[j].reason = b->failed_by[i].reason;
        a->failed_by[j].count += b->failed_by[i].count;
    }
    for (unsigned i = 0; i < b->n_no_key_snis; i++)
        add_tls_sni(a->no_key_snis, &a->n_no_key_snis, b->no_key_snis[i]);
    a->h2_unparsed += b->h2_unparsed;
    for (unsigned i = 0; i < b->n_h2_snis; i++)
        add_tls_sni(a->h2_snis, &a->n_h2_snis, b->h2_snis[i]);
    a->records_decrypted += b->records_decrypted;
    a->auth_failures += b->auth_failures;
    a->held_dropped_records += b->held_dropped_records;
    a->held_bytes += b->held_bytes;
}

static void add_protos(struct cs_pipeline_stats *a, const struct cs_pipeline_stats *b, unsigned max)
{
    for (unsigned i = 0; i < b->n_protos; i++) {
        const struct cs_proto_count *pb = &b->protos[i];
        struct cs_proto_count *pa = NULL;
        for (unsigned j = 0; j < a->n_protos && !pa; j++)
            if (strcmp(a->protos[j].name, pb->name) == 0)
                pa = &a->protos[j];
        if (!pa) {
            if (a->n_protos >= max) {
                a->protos_overflow += pb->flows;
                continue;
            }
            pa = &a->protos[a->n_protos++];
            memcpy(pa->name, pb->name, sizeof pa->name);
        }
        pa->flows += pb->flows;
        for (unsigned k = 0; k < pb->n_snis && pa->n_snis < CS_PROTO_SAMPLE_SNIS; k++) {
            bool seen = false;
            for (unsigned m = 0; m < pa->n_snis && !seen; m++)
                seen = strcmp(pa->snis[m], pb->snis[k]) == 0;
            if (!seen)
                memcpy(pa->snis[pa->n_snis++], pb->snis[k], CS_PROTO_SNI_LEN);
        }
    }
}

void cs_summary_add_stages(struct cs_summary *into, const struct cs_summary *from, unsigned max_protocols)
{
    ADD_COUNTERS(&into->decode, &from->decode);
    ADD_COUNTERS(&into->flows, &from->flows);
    ADD_COUNTERS(&into->reasm, &from->reasm);
    ADD_COUNTERS(&into->http, &from->http);
    ADD_COUNTERS(&into->h2, &from->h2);
    ADD_COUNTERS(&into->handover, &from->handover);
    ADD_COUNTERS(&into->dpi, &from->dpi);
    add_tls(&into->tls, &from->tls);
    struct cs_pipeline_stats *a = &into->pipeline;
    const struct cs_pipeline_stats *b = &from->pipeline;
    a->http_flows += b->http_flows;
    a->other_flows += b->other_flows;
    a->empty_flows += b->empty_flows;
    a->connections_refused += b->connections_refused;
    a->connections_unanswered += b->connections_unanswered;
    a->connections_tls_failed += b->connections_tls_failed;
    a->protos_overflow += b->protos_overflow;
    add_protos(a, b, max_protocols);
}
