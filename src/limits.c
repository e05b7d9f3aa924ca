#include "limits.h"

void cs_limits_default(struct cs_limits *l)
{
    l->max_flows = CS_DEFAULT_MAX_FLOWS;
    l->idle_timeout_s = CS_DEFAULT_IDLE_TIMEOUT_S;
    l->max_held_per_flow = CS_DEFAULT_MAX_HELD_PER_FLOW;
    l->max_held_total = CS_DEFAULT_MAX_HELD_TOTAL;
    l->max_held_pieces_per_flow = CS_DEFAULT_MAX_HELD_PIECES_PER_FLOW;
    l->max_held_pieces = CS_DEFAULT_MAX_HELD_PIECES;
    l->max_header_bytes = CS_DEFAULT_MAX_HEADER_BYTES;
    l->max_header_lines = CS_DEFAULT_MAX_HEADER_LINES;
    l->max_pipeline = CS_DEFAULT_MAX_PIPELINE;
    l->max_uri_bytes = CS_DEFAULT_MAX_URI_BYTES;
    l->max_ipfrag_bytes = CS_DEFAULT_MAX_IPFRAG_BYTES;
    l->ipfrag_timeout_s = CS_DEFAULT_IPFRAG_TIMEOUT_S;
    l->max_dpi_flows = CS_DEFAULT_MAX_DPI_FLOWS;
    l->syn_timeout_s = CS_DEFAULT_SYN_TIMEOUT_S;
    l->max_http_clients = CS_DEFAULT_MAX_HTTP_CLIENTS;
    l->h2_max_streams = CS_DEFAULT_H2_MAX_STREAMS;
    l->preflight_window_ms = CS_DEFAULT_PREFLIGHT_WINDOW_MS;
    l->max_memory = CS_DEFAULT_MAX_MEMORY;
    l->max_keylog_bytes = CS_DEFAULT_KEYLOG_MAX_BYTES;
    l->max_tls_held_bytes = CS_DEFAULT_TLS_MAX_HELD_BYTES;
    l->max_protocols = CS_PROTO_TABLE_SIZE;
    l->max_reasons = CS_SUMMARY_MAX_REASONS;
    l->max_endpoints = CS_MAX_ENDPOINTS;
    l->max_pending_preflights = CS_TL_MAX_PENDING;
    l->max_preflight_cache = CS_TL_MAX_CACHE;
    l->max_tunnel_depth = CS_DEFAULT_MAX_TUNNEL_DEPTH;
}
