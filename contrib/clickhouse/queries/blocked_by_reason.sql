-- Blocked requests by reason and endpoint over the last hour, across all
-- sensors: what to fix first.  Counts distinct events (a batch sent twice
-- counts once).
SELECT
    reason,
    chrome AS chromium_error,
    method,
    host,
    splitByChar('?', ifNull(uri, ''))[1] AS path, -- uri is null only on failed connections
    uniqExact(event_id) AS blocked,
    uniqExact(src) AS clients,
    groupUniqArray(sensor) AS sensors,
    any(hint) AS hint
FROM corscope.events
WHERE verdict = 'blocked' AND ts >= now() - INTERVAL 1 HOUR
GROUP BY reason, chromium_error, method, host, path
ORDER BY blocked DESC
LIMIT 100
