-- The origins (the pages' sites) whose requests are blocked most over the
-- last day, with the servers they call and the reasons.
SELECT
    origin,
    uniqExact(event_id) AS blocked,
    uniqExact(host) AS servers,
    groupUniqArray(reason) AS reasons,
    groupUniqArray(sensor) AS sensors
FROM corscope.events
WHERE verdict = 'blocked' AND ts >= now() - INTERVAL 1 DAY
GROUP BY origin
ORDER BY blocked DESC
LIMIT 20
