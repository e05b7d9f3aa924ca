-- Cross-sensor preflight link: behind a load balancer the preflight
-- (OPTIONS) and the actual request of one fetch can reach different
-- backends, so each sensor sees half.  This pairs them across sensors by
-- client, origin, host, URL and method (the preflight's
-- Access-Control-Request-Method), the actual request following within
-- 10 seconds, and lists every preflight with its actual request, or with
-- none when no sensor saw one (the browser blocked it, or the page gave
-- up): `linked` is 0 then.  Last day; change the interval to taste.
SELECT
    src AS client, origin, host, uri, req_method AS method,
    tupleElement(p, 1) AS preflight_ts_ns,
    tupleElement(p, 2) AS preflight_sensor,
    arrayFirst(a -> tupleElement(a, 1) >= tupleElement(p, 1)
                    AND tupleElement(a, 1) <= tupleElement(p, 1) + 10000000000, actuals) AS actual,
    tupleElement(actual, 1) != 0 AS linked,
    tupleElement(actual, 2) AS actual_sensor
FROM
(
    SELECT src, origin, host, uri, req_method,
           groupUniqArrayIf((ts_ns, sensor), is_preflight) AS preflights,
           arraySort(groupUniqArrayIf((ts_ns, sensor), NOT is_preflight)) AS actuals
    FROM
    (
        SELECT src, origin, host, uri, ts_ns, sensor,
               ifNull(kind = 'preflight', 0) AS is_preflight, -- kind is Nullable
               if(is_preflight, acr_method, method) AS req_method
        FROM corscope.events
        WHERE kind IN ('preflight', 'actual') AND ts >= now() - INTERVAL 1 DAY
    )
    GROUP BY src, origin, host, uri, req_method
    HAVING length(preflights) > 0
)
ARRAY JOIN preflights AS p
ORDER BY preflight_ts_ns
