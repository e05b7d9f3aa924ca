-- corscope in ClickHouse: one MergeTree table per shard (events_local,
-- summaries_local, created on every server) and a Distributed table over
-- each (events, summaries, also on every server, queried from any).
-- corscope --sink writes every event into events_local of its own shard,
-- and at exit its summary into summaries_local of the same database.
--
--   clickhouse-client --multiquery < contrib/clickhouse/schema.sql
--
-- The cluster name (corscope_fleet) must be defined in each server's
-- <remote_servers> (see tests/fleet/ for a two-shard example on loopback).
--
-- Columns: one per key of corscope's JSON lines (man corscope, JSON lines),
-- in the order the JSON writes them, named as the key; a key inside an
-- object is named object_key (tls_version, firefox_reason, caps_hit_flows,
-- cors_blocked).  The sink sends a row with exactly the keys the JSON line
-- has, so a key the JSON leaves out (a key written "only when ...") is the
-- column's default: NULL for the Nullable ones.  Types:
--   - Nullable where the key can be null or be absent, so "no value" is
--     never confused with 0 or "" (status, frame_resp, stream, method ...);
--     a boolean written only when true (depends_on_credentials) is UInt8 0/1.
--   - LowCardinality(String) for names from a fixed set (kind, verdict,
--     reason, chrome, transport, tls_cipher ...): dictionary-encoded.
--     ClickHouse before 19.x needs the SET below to create such columns;
--     later versions accept the SET and ignore it.
--   - String for packet bytes (method, host, uri, origin, message, hint,
--     note).  Bytes that are not valid UTF-8 are U+FFFD in the JSON and
--     here; the exact bytes are in the <key>_hex column beside it (lowercase
--     hex, NULL when the value is valid): unhex(origin_hex).
--   - Arrays: warnings Array(String); an object of counts by name (cors
--     reasons, frames not decoded, TLS failures) and an array of objects
--     (top blocked endpoints, protocols not analysable) are Nested columns,
--     one array per key: ARRAY JOIN cors_reasons gives one row per reason.
--     Their names are plain String: ClickHouse 18.16 fails to read
--     Array(LowCardinality(String)) from another shard ("Syntax error (data
--     type)"), which tests/fleet/run.py showed.
--     No key needs a JSON-string column.
-- Two columns are not keys: ts_ns (ts is a DateTime, whole seconds; ts_ns
-- keeps the nanoseconds, as the JSON's microseconds can't be in a DateTime
-- before ClickHouse 20.1) and summaries_local.inserted_at (the summary has
-- no time of its own: when the row arrived, for the partition and TTL).
-- tests/e2e/schema_keys.sh fails when a key corscope writes has no column.
--
-- Deduplication: a batch whose acknowledgement was lost is sent again; the
-- table is a ReplacingMergeTree ordered by event_id, so merges keep one row
-- per event, and the saved queries count uniqExact(event_id), which is
-- exact before the merges too.
--
-- Retention: the TTL lines need ClickHouse 19.6 or later; on older servers
-- (Debian 12 ships 18.16) leave them out and drop old days by partition:
--   ALTER TABLE corscope.events_local DROP PARTITION 20261201

SET allow_experimental_low_cardinality_type = 1;

CREATE DATABASE IF NOT EXISTS corscope;

CREATE TABLE IF NOT EXISTS corscope.events_local
(
    type LowCardinality(String),      -- "http"
    sensor String,
    sensor_hex Nullable(String),
    event_id String,                  -- stable per input: a re-sent event replaces itself
    ts DateTime('UTC'),               -- the request's first packet
    ts_ns UInt64,                     -- the same, in nanoseconds since the epoch (not a key)
    flow UInt64,                      -- the sensor's connection number
    community_id String,              -- Community ID v1: joins Zeek's and Suricata's logs
    src String, sport UInt16,         -- the client
    dst String, dport UInt16,         -- the server
    frame_req UInt64,
    frame_resp Nullable(UInt64),      -- null: no response seen
    method Nullable(String), method_hex Nullable(String),
    host Nullable(String), host_hex Nullable(String),
    uri Nullable(String), uri_hex Nullable(String),
    status Nullable(UInt16),          -- null: no response seen
    origin Nullable(String), origin_hex Nullable(String),
    acr_method Nullable(String), acr_method_hex Nullable(String), -- a preflight's Access-Control-Request-Method
    kind LowCardinality(Nullable(String)),    -- simple, preflight, actual, no-cors, same-origin, connection
    verdict LowCardinality(Nullable(String)), -- allowed, blocked, warning, unknown, n/a
    reason LowCardinality(Nullable(String)),  -- Firefox's reason key
    message Nullable(String), message_hex Nullable(String), -- Firefox's console text
    chrome LowCardinality(Nullable(String)),  -- Chromium's CorsError
    hint Nullable(String), hint_hex Nullable(String),
    end LowCardinality(String),               -- answered, closed, reset, ...
    transport LowCardinality(String),         -- http/1.1, h2, tcp, tls
    failure LowCardinality(Nullable(String)), -- kind connection: refused, timed-out, tls-alert, ...
    attempts Nullable(UInt64),
    tls_alert LowCardinality(Nullable(String)),
    frame_end Nullable(UInt64),
    stream Nullable(UInt32),                  -- h2 stream id
    via_connect Nullable(String), via_connect_hex Nullable(String), -- the CONNECT tunnel's target
    tls_version LowCardinality(Nullable(String)),
    tls_cipher LowCardinality(Nullable(String)),
    tls_sni Nullable(String), tls_sni_hex Nullable(String),
    interim_status Nullable(UInt16),
    credentials LowCardinality(Nullable(String)),      -- include, omit, unknown
    credentials_from LowCardinality(Nullable(String)), -- cookie, no-cookie, actual-request-followed, no-actual-request
    browsers_disagree Nullable(UInt8),                 -- with -b both only
    firefox_verdict LowCardinality(Nullable(String)),
    firefox_reason LowCardinality(Nullable(String)),
    firefox_message Nullable(String), firefox_message_hex Nullable(String),
    chromium_verdict LowCardinality(Nullable(String)),
    chromium_reason LowCardinality(Nullable(String)),
    chromium_message Nullable(String), chromium_message_hex Nullable(String),
    chromium_error LowCardinality(Nullable(String)),
    depends_on_credentials UInt8,
    alt_reason LowCardinality(Nullable(String)),
    preflight_frame Nullable(UInt64),
    stored_frame Nullable(UInt64),
    note Nullable(String), note_hex Nullable(String),
    warnings Array(String)
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY (event_id)
TTL ts + INTERVAL 30 DAY -- TTL: ClickHouse 19.6 and later
;

CREATE TABLE IF NOT EXISTS corscope.events AS corscope.events_local
ENGINE = Distributed(corscope_fleet, corscope, events_local, cityHash64(event_id));

-- One row per corscope run (per sensor and input), its JSON summary.
CREATE TABLE IF NOT EXISTS corscope.summaries_local
(
    type LowCardinality(String),      -- "summary"
    sensor String,
    inserted_at DateTime('UTC') DEFAULT now(), -- when the row arrived (not a key)
    packets UInt64, bytes UInt64, tcp_segments UInt64,
    truncated_packets UInt64, malformed_packets UInt64, ip_fragments UInt64,
    non_ip_packets UInt64, non_tcp_packets UInt64, unknown_linktype_packets UInt64,
    not_decoded Nested(kind String, frames UInt64),
    received Nullable(UInt64), dropped Nullable(UInt64), ifdropped Nullable(UInt64), -- live only
    flows UInt64, http_flows UInt64, other_flows UInt64, empty_flows UInt64,
    connections_refused UInt64, connections_unanswered UInt64, connections_tls_failed UInt64,
    connection_events UInt64, connection_events_not_reported UInt64, reconnects_folded UInt64,
    transactions UInt64, requests UInt64, responses UInt64, unanswered UInt64, orphan_responses UInt64,
    gaps UInt64, gap_bytes UInt64,
    http_resyncs UInt64, http_garbage_bytes UInt64, http_framing_errors UInt64, http_bad_header_lines UInt64,
    retransmitted_bytes UInt64, overlap_conflicts UInt64, upgrades UInt64,
    connect_tunnels Nullable(UInt64), connect_tunnels_parsed Nullable(UInt64), -- only with tunnels
    connect_tunnels_unparsed Nullable(UInt64), connect_tunnels_too_deep Nullable(UInt64),
    h2c_upgrades Nullable(UInt64), h2c_upgrades_not_h2 Nullable(UInt64),
    h2_connections Nullable(UInt64), h2_streams Nullable(UInt64),        -- only with h2
    h2_resets Nullable(UInt64), h2_hpack_failures Nullable(UInt64),
    caps_hit_flows UInt64, caps_hit_memory UInt64,
    caps_hit_held_per_flow UInt64, caps_hit_held_total UInt64,
    caps_hit_held_pieces_per_flow UInt64, caps_hit_held_pieces_total UInt64,
    caps_hit_header_bytes UInt64, caps_hit_header_lines UInt64, caps_hit_uri UInt64,
    caps_hit_pipeline UInt64, caps_hit_ip_fragments UInt64, caps_hit_dpi_flows UInt64,
    caps_hit_protocol_table UInt64, caps_hit_reason_table UInt64, caps_hit_endpoint_table UInt64,
    caps_hit_pending_preflights UInt64, caps_hit_preflight_cache UInt64,
    caps_hit_held_preflights Nullable(UInt64),        -- only when hit
    caps_hit_http_clients UInt64,
    caps_hit_cookie_hosts Nullable(UInt64),           -- only when hit
    caps_hit_h2_streams Nullable(UInt64),             -- only with h2
    cors_relevant UInt64, cors_allowed UInt64, cors_blocked UInt64, cors_warning UInt64,
    cors_unknown UInt64, cors_aborted Nullable(UInt64),  -- only when seen
    cors_same_origin UInt64, cors_no_cors UInt64,
    cors_browsers_disagree UInt64, cors_depends_on_credentials UInt64,
    cors_reasons Nested(reason String, count UInt64),
    cors_top_blocked_endpoints Nested(endpoint String, endpoint_hex Nullable(String), blocked UInt64),
    not_analyzable Nested(protocol String, flows UInt64,
                          sni Array(String), sni_hex Array(Nullable(String))),
    tls_connections Nullable(UInt64), tls_decrypted Nullable(UInt64),  -- only with a key log
    tls_no_key Nullable(UInt64), tls_no_key_sni Array(String),
    tls_incomplete Nullable(UInt64), tls_failed Nullable(UInt64),
    tls_failed_by Nested(reason String, count UInt64),
    tls_h2_not_parsed Nullable(UInt64), tls_h2_sni Array(String),
    tls_records_decrypted Nullable(UInt64), tls_auth_failures Nullable(UInt64),
    tls_held_dropped_records Nullable(UInt64),
    tls_keylog_lines_read Nullable(UInt64), tls_keylog_lines_used Nullable(UInt64),
    tls_keylog_lines_ignored Nullable(UInt64),
    sink_queued Nullable(UInt64), sink_sent Nullable(UInt64), sink_batches Nullable(UInt64),
    sink_retries Nullable(UInt64), sink_dropped Nullable(UInt64), sink_unsent Nullable(UInt64),
    sink_last_error Nullable(String),
    inputs_failed UInt64
)
ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(inserted_at)
ORDER BY (sensor, inserted_at)
TTL inserted_at + INTERVAL 30 DAY -- TTL: ClickHouse 19.6 and later
;

CREATE TABLE IF NOT EXISTS corscope.summaries AS corscope.summaries_local
ENGINE = Distributed(corscope_fleet, corscope, summaries_local, cityHash64(sensor));
