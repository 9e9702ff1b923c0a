-- Statistics of the merchant dashboard: written by the stats worker, read by the API.
-- Read queries take ($1 restaurant_id text, $2 from timestamptz, $3 to timestamptz) — the range
-- is [from, to) — and, where days or hours are shown, $4 tz text (an IANA zone such as
-- 'Asia/Shanghai'). Money is in fen; seconds are double precision. See docs/workers.md.

-- name: stats_mark_processed
-- Arrays of equal length; returns the event ids not counted before (count those only).
INSERT INTO stats_processed (event_id, restaurant_id, ts)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
ON CONFLICT DO NOTHING
RETURNING event_id;

-- name: stats_add_batch
-- A batch's roll-ups in one statement. Each part is a JSON array of rows, each row an array:
--   $1 hours         restaurant_id, hour start (ms), revenue_fen, orders, covers, dishes
--   $2 dishes        restaurant_id, hour start (ms), dish_id, qty, revenue_fen, returns, voids,
--                    urges, overdue
--   $3 kitchen times restaurant_id, order_id, line_id, dish_id, station_id, qty, ready_at (ms),
--                    seconds
-- Hours and dishes add to what is there; the first time a dish is ready counts for the
-- kitchen's times, later ones are ignored.
WITH hours AS (
    INSERT INTO stats_hourly AS s (restaurant_id, hour, revenue_fen, orders, covers, dishes)
    SELECT r->>0, to_timestamp((r->>1)::bigint / 1000.0), (r->>2)::bigint, (r->>3)::int,
           (r->>4)::int, (r->>5)::int
    FROM jsonb_array_elements($1::jsonb) AS r
    ON CONFLICT (restaurant_id, hour) DO UPDATE
    SET revenue_fen = s.revenue_fen + EXCLUDED.revenue_fen, orders = s.orders + EXCLUDED.orders,
        covers = s.covers + EXCLUDED.covers, dishes = s.dishes + EXCLUDED.dishes
), dishes AS (
    INSERT INTO stats_dish_hourly AS s (restaurant_id, hour, dish_id, qty, revenue_fen,
                                        returns, voids, urges, overdue)
    SELECT r->>0, to_timestamp((r->>1)::bigint / 1000.0), r->>2, (r->>3)::int,
           (r->>4)::bigint, (r->>5)::int, (r->>6)::int, (r->>7)::int, (r->>8)::int
    FROM jsonb_array_elements($2::jsonb) AS r
    ON CONFLICT (restaurant_id, hour, dish_id) DO UPDATE
    SET qty = s.qty + EXCLUDED.qty, revenue_fen = s.revenue_fen + EXCLUDED.revenue_fen,
        returns = s.returns + EXCLUDED.returns, voids = s.voids + EXCLUDED.voids,
        urges = s.urges + EXCLUDED.urges, overdue = s.overdue + EXCLUDED.overdue
)
INSERT INTO stats_kitchen_times (restaurant_id, order_id, line_id, dish_id, station_id, qty,
                                 ready_at, seconds)
SELECT r->>0, r->>1, r->>2, r->>3, r->>4, (r->>5)::int, to_timestamp((r->>6)::bigint / 1000.0),
       (r->>7)::double precision
FROM jsonb_array_elements($3::jsonb) AS r
ON CONFLICT DO NOTHING;

-- name: stats_prune_processed
-- Forget event ids counted more than $1 days ago: they can no longer be delivered again.
DELETE FROM stats_processed WHERE counted_at < now() - make_interval(days => $1);

-- name: stats_summary
-- One row: revenue_fen, orders, covers, dishes, avg_order_fen over [from, to).
SELECT coalesce(sum(revenue_fen), 0)::bigint AS revenue_fen,
       coalesce(sum(orders), 0)::int AS orders,
       coalesce(sum(covers), 0)::int AS covers,
       coalesce(sum(dishes), 0)::int AS dishes,
       CASE WHEN sum(orders) > 0 THEN (sum(revenue_fen) / sum(orders))::bigint ELSE 0 END
           AS avg_order_fen
FROM stats_hourly
WHERE restaurant_id = $1 AND hour >= $2 AND hour < $3;

-- name: stats_revenue_hourly
-- Rows (hour timestamp in tz $4, revenue_fen, orders, covers, dishes), hours with activity.
SELECT (hour AT TIME ZONE $4) AS hour, revenue_fen, orders, covers, dishes
FROM stats_hourly
WHERE restaurant_id = $1 AND hour >= $2 AND hour < $3
ORDER BY 1;

-- name: stats_revenue_daily
-- Rows (day date in tz $4, revenue_fen, orders, covers, dishes), days with activity.
SELECT (hour AT TIME ZONE $4)::date AS day,
       sum(revenue_fen)::bigint AS revenue_fen, sum(orders)::int AS orders,
       sum(covers)::int AS covers, sum(dishes)::int AS dishes
FROM stats_hourly
WHERE restaurant_id = $1 AND hour >= $2 AND hour < $3
GROUP BY 1
ORDER BY 1;

-- name: stats_revenue_monthly
-- Rows (month date = first day of the month in tz $4, revenue_fen, orders, covers, dishes).
SELECT date_trunc('month', hour AT TIME ZONE $4)::date AS month,
       sum(revenue_fen)::bigint AS revenue_fen, sum(orders)::int AS orders,
       sum(covers)::int AS covers, sum(dishes)::int AS dishes
FROM stats_hourly
WHERE restaurant_id = $1 AND hour >= $2 AND hour < $3
GROUP BY 1
ORDER BY 1;

-- name: stats_peak_hours
-- Busiest hours by weekday: rows (weekday 1 = Monday … 7 = Sunday, hour 0–23 in tz $4,
-- orders, revenue_fen, covers, days = how many such weekdays the restaurant sold anything,
-- at any hour). Average orders in that hour of such a day = orders / days: one banquet at
-- 15:00 on one of four Mondays averages a quarter of it, not all of it.
WITH h AS (
    SELECT hour AT TIME ZONE $4 AS local, orders, revenue_fen, covers
    FROM stats_hourly
    WHERE restaurant_id = $1 AND hour >= $2 AND hour < $3
), open_days AS (
    SELECT extract(isodow FROM local)::int AS weekday, count(DISTINCT local::date)::int AS days
    FROM h
    GROUP BY 1
)
SELECT extract(isodow FROM h.local)::int AS weekday, extract(hour FROM h.local)::int AS hour,
       sum(h.orders)::int AS orders, sum(h.revenue_fen)::bigint AS revenue_fen,
       sum(h.covers)::int AS covers, o.days
FROM h JOIN open_days AS o ON o.weekday = extract(isodow FROM h.local)::int
GROUP BY 1, 2, o.days
ORDER BY 1, 2;

-- name: stats_dish_ranking
-- Dishes by portions sold over [from, to), at most $4 rows: (dish_id, name_zh, name_en, qty,
-- revenue_fen, returns, voids, urges, overdue). Names come from the current menu.
SELECT s.dish_id, coalesce(d.name_zh, s.dish_id) AS name_zh,
       coalesce(d.name_en, s.dish_id) AS name_en,
       sum(s.qty)::int AS qty, sum(s.revenue_fen)::bigint AS revenue_fen,
       sum(s.returns)::int AS returns, sum(s.voids)::int AS voids,
       sum(s.urges)::int AS urges, sum(s.overdue)::int AS overdue
FROM stats_dish_hourly AS s
LEFT JOIN dishes AS d ON d.restaurant_id = s.restaurant_id AND d.id = s.dish_id
WHERE s.restaurant_id = $1 AND s.hour >= $2 AND s.hour < $3
GROUP BY s.dish_id, d.name_zh, d.name_en
ORDER BY qty DESC, revenue_fen DESC, s.dish_id
LIMIT $4;

-- name: stats_returns_urges
-- Dishes returned, voided, urged or overdue over [from, to): (dish_id, name_zh, name_en,
-- qty, returns, voids, urges, overdue), the most troubled first.
SELECT s.dish_id, coalesce(d.name_zh, s.dish_id) AS name_zh,
       coalesce(d.name_en, s.dish_id) AS name_en, sum(s.qty)::int AS qty,
       sum(s.returns)::int AS returns, sum(s.voids)::int AS voids,
       sum(s.urges)::int AS urges, sum(s.overdue)::int AS overdue
FROM stats_dish_hourly AS s
LEFT JOIN dishes AS d ON d.restaurant_id = s.restaurant_id AND d.id = s.dish_id
WHERE s.restaurant_id = $1 AND s.hour >= $2 AND s.hour < $3
GROUP BY s.dish_id, d.name_zh, d.name_en
HAVING sum(s.returns) + sum(s.voids) + sum(s.urges) + sum(s.overdue) > 0
ORDER BY sum(s.returns) + sum(s.urges) + sum(s.overdue) DESC, s.dish_id;

-- name: stats_kitchen_times
-- Kitchen time (queued → first ready) per dish and station over [from, to) by ready time:
-- (dish_id, name_zh, name_en, station_id, samples, p50_s, p90_s, avg_s), slowest p90 first.
SELECT k.dish_id, coalesce(d.name_zh, k.dish_id) AS name_zh,
       coalesce(d.name_en, k.dish_id) AS name_en, k.station_id,
       count(*)::int AS samples,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY k.seconds) AS p50_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY k.seconds) AS p90_s,
       avg(k.seconds) AS avg_s
FROM stats_kitchen_times AS k
LEFT JOIN dishes AS d ON d.restaurant_id = k.restaurant_id AND d.id = k.dish_id
WHERE k.restaurant_id = $1 AND k.ready_at >= $2 AND k.ready_at < $3
GROUP BY k.dish_id, d.name_zh, d.name_en, k.station_id
ORDER BY p90_s DESC, k.dish_id;

-- name: stats_station_times
-- Kitchen time per station over [from, to): (station_id, name_zh, name_en, samples, p50_s,
-- p90_s, avg_s), slowest p90 first.
SELECT k.station_id, coalesce(st.name_zh, k.station_id) AS name_zh,
       coalesce(st.name_en, k.station_id) AS name_en,
       count(*)::int AS samples,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY k.seconds) AS p50_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY k.seconds) AS p90_s,
       avg(k.seconds) AS avg_s
FROM stats_kitchen_times AS k
LEFT JOIN stations AS st ON st.restaurant_id = k.restaurant_id AND st.id = k.station_id
WHERE k.restaurant_id = $1 AND k.ready_at >= $2 AND k.ready_at < $3
GROUP BY k.station_id, st.name_zh, st.name_en
ORDER BY p90_s DESC, k.station_id;
