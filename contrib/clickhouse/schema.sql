-- corscope events in ClickHouse: one MergeTree table per shard
-- (events_local, created on every server) and a Distributed table over
-- them (events, also on every server, queried from any).  Every key of
-- corscope's JSON event contract has a typed column; corscope --sink
-- writes rows into events_local of its own shard.
--
--   clickhouse-client --multiquery < contrib/clickhouse/schema.sql
--
-- The cluster name (corscope_fleet) must be defined in each server's
-- <remote_servers> (see tests/fleet/ for a two-shard example on loopback).
--
-- Deduplication: a batch whose acknowledgement was lost is sent again; the
-- table is a ReplacingMergeTree ordered by event_id, so merges keep one row
-- per event, and the saved queries count uniqExact(event_id), which is
-- exact before the merges too.
--
-- Retention: the TTL line needs ClickHouse 19.6 or later; on older servers
-- (Debian 12 ships 18.16) leave it out and drop old days by partition:
--   ALTER TABLE corscope.events_local DROP PARTITION 20261201

CREATE DATABASE IF NOT EXISTS corscope;

CREATE TABLE IF NOT EXISTS corscope.events_local
(
    event_id String,                  -- stable per input: a re-sent event replaces itself
    sensor String,
    community_id String,              -- Community ID v1: joins Zeek's and Suricata's logs
    ts DateTime('UTC'),               -- the request's first packet
    ts_ns UInt64,                     -- the same, in nanoseconds since the epoch
    flow UInt64,                      -- the sensor's connection number
    src String, sport UInt16,         -- the client
    dst String, dport UInt16,         -- the server
    frame_req UInt64, frame_resp UInt64,
    method String, host String, uri String, status Int16,
    origin String,
    acr_method String,                -- a preflight's Access-Control-Request-Method
    kind String,      -- simple, preflight, actual, no-cors, same-origin
    verdict String,   -- allowed, blocked, warning, unknown
    reason String,    -- Firefox's reason key
    message String,                   -- Firefox's console text
    chrome String,    -- Chromium's CorsError
    hint String,
    end String,
    transport String, -- http/1.1, h2
    stream UInt32,                    -- h2 stream id
    tls_version String, tls_cipher String, tls_sni String,
    interim_status UInt16,
    credentials String,
    browsers_disagree UInt8,
    firefox_verdict String, firefox_reason String,
    chromium_verdict String, chromium_error String,
    depends_on_credentials UInt8,
    alt_reason String,
    preflight_frame UInt64,
    note String,
    warnings Array(String)
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY (event_id)
TTL ts + INTERVAL 30 DAY -- TTL: ClickHouse 19.6 and later
;

CREATE TABLE IF NOT EXISTS corscope.events AS corscope.events_local
ENGINE = Distributed(corscope_fleet, corscope, events_local, cityHash64(event_id));
