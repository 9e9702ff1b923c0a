-- What the workers write from the event streams. Every insert is idempotent: the event id
-- (or the stream position) is part of the key, and a repeated insert changes nothing.

-- name: workers_persist_batch
-- One batch of the log in one statement, one round trip. Each part is a JSON array of rows,
-- each row an array of its columns in the order below (JSON, not PostgreSQL arrays: the
-- driver checks every element of an array parameter in Python, a JSON text is one call):
--   $1 events         restaurant_id, stream_id, event_id, type, ts (ms), payload
--   $2 status changes event_id, restaurant_id, order_id, line_id, station_id, from, to, at
--   $3 orders         one per order, the latest state the batch carries:
--                     restaurant_id, id, table_no, session_id, no, created_at, rush, guests,
--                     total_fen, updated_at, last_event_id, last_pos_ms, last_pos_seq
--   $4 lines          every line of those orders, in the columns of order_lines
-- Events and moves are keyed by their event id, so writing them again changes nothing. An
-- order is written only when the event that carries it stands later in the log than the one
-- already stored, and its lines only with it; a line whose columns are all unchanged is left
-- as it is (no new row version).
WITH new_events AS (
    INSERT INTO events (restaurant_id, stream_id, event_id, type, ts, payload)
    SELECT r->>0, r->>1, r->>2, r->>3, (r->>4)::bigint, r->5
    FROM jsonb_array_elements($1::jsonb) AS r
    ON CONFLICT DO NOTHING
), new_moves AS (
    INSERT INTO dish_status_changes (event_id, restaurant_id, order_id, line_id, station_id,
                                     from_status, to_status, at)
    SELECT r->>0, r->>1, r->>2, r->>3, r->>4, r->>5, r->>6, (r->>7)::bigint
    FROM jsonb_array_elements($2::jsonb) AS r
    ON CONFLICT DO NOTHING
), won AS (
    INSERT INTO orders AS o (restaurant_id, id, table_no, session_id, no, created_at, rush,
                             guests, total_fen, updated_at, last_event_id, last_pos_ms,
                             last_pos_seq)
    SELECT r->>0, r->>1, r->>2, r->>3, (r->>4)::int, (r->>5)::bigint, (r->>6)::boolean,
           (r->>7)::int, (r->>8)::bigint, (r->>9)::bigint, r->>10, (r->>11)::bigint,
           (r->>12)::bigint
    FROM jsonb_array_elements($3::jsonb) AS r
    ON CONFLICT (restaurant_id, id) DO UPDATE
    SET table_no = EXCLUDED.table_no, session_id = EXCLUDED.session_id, no = EXCLUDED.no,
        created_at = EXCLUDED.created_at, rush = EXCLUDED.rush, guests = EXCLUDED.guests,
        total_fen = EXCLUDED.total_fen, updated_at = EXCLUDED.updated_at,
        last_event_id = EXCLUDED.last_event_id, last_pos_ms = EXCLUDED.last_pos_ms,
        last_pos_seq = EXCLUDED.last_pos_seq
    WHERE (o.last_pos_ms, o.last_pos_seq) < (EXCLUDED.last_pos_ms, EXCLUDED.last_pos_seq)
    RETURNING o.restaurant_id, o.id
)
INSERT INTO order_lines AS l (restaurant_id, order_id, id, dish_id, name_zh, name_en, qty,
                              unit_price_fen, station_id, status, note, course, added,
                              set_meal_id, target_s, urges, last_urged_at, overdue,
                              return_requested, times)
SELECT r->>0, r->>1, r->>2, r->>3, r->>4, r->>5, (r->>6)::int, (r->>7)::int, r->>8, r->>9,
       r->>10, (r->>11)::int, (r->>12)::boolean, r->>13, (r->>14)::int, (r->>15)::int,
       (r->>16)::bigint, (r->>17)::boolean, (r->>18)::boolean, r->19
FROM jsonb_array_elements($4::jsonb) AS r
JOIN won ON won.restaurant_id = r->>0 AND won.id = r->>1
ON CONFLICT (restaurant_id, order_id, id) DO UPDATE
SET dish_id = EXCLUDED.dish_id, name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
    qty = EXCLUDED.qty, unit_price_fen = EXCLUDED.unit_price_fen,
    station_id = EXCLUDED.station_id, status = EXCLUDED.status, note = EXCLUDED.note,
    course = EXCLUDED.course, added = EXCLUDED.added, set_meal_id = EXCLUDED.set_meal_id,
    target_s = EXCLUDED.target_s, urges = EXCLUDED.urges,
    last_urged_at = EXCLUDED.last_urged_at, overdue = EXCLUDED.overdue,
    return_requested = EXCLUDED.return_requested, times = EXCLUDED.times
WHERE (l.dish_id, l.name_zh, l.name_en, l.qty, l.unit_price_fen, l.station_id, l.status,
       l.note, l.course, l.added, l.set_meal_id, l.target_s, l.urges, l.last_urged_at,
       l.overdue, l.return_requested, l.times)
      IS DISTINCT FROM
      (EXCLUDED.dish_id, EXCLUDED.name_zh, EXCLUDED.name_en, EXCLUDED.qty,
       EXCLUDED.unit_price_fen, EXCLUDED.station_id, EXCLUDED.status, EXCLUDED.note,
       EXCLUDED.course, EXCLUDED.added, EXCLUDED.set_meal_id, EXCLUDED.target_s,
       EXCLUDED.urges, EXCLUDED.last_urged_at, EXCLUDED.overdue, EXCLUDED.return_requested,
       EXCLUDED.times);

-- name: workers_open_session
-- $1 restaurant_id, $2 session id, $3 table_no, $4 opened_at (ms), $5 guests
INSERT INTO table_sessions (restaurant_id, id, table_no, opened_at, guests)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (restaurant_id, id) DO UPDATE
SET table_no = EXCLUDED.table_no, opened_at = EXCLUDED.opened_at, guests = EXCLUDED.guests;

-- name: workers_close_session
-- $1 restaurant_id, $2 session id, $3 table_no, $4 closed_at (ms). Works in either order with
-- workers_open_session (a close seen first leaves opened_at 0 until the open arrives).
INSERT INTO table_sessions (restaurant_id, id, table_no, opened_at, closed_at)
VALUES ($1, $2, $3, 0, $4)
ON CONFLICT (restaurant_id, id) DO UPDATE SET closed_at = EXCLUDED.closed_at;

-- name: workers_close_table_sessions
-- Sessions of table $2 still open at $3 (ms) end then, except session $4 (which goes on).
UPDATE table_sessions
SET closed_at = $3
WHERE restaurant_id = $1 AND table_no = $2 AND closed_at IS NULL AND opened_at <= $3
  AND id <> $4;

-- name: workers_insert_stock_change
-- $1 event_id, $2 restaurant_id, $3 dish_id, $4 remaining (NULL: unlimited), $5 at (ms)
INSERT INTO stock_changes (event_id, restaurant_id, dish_id, remaining, at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING;

-- name: workers_station_printers
-- Every station of restaurant $1 that has a network printer ("host:port").
SELECT id, name_zh, name_en, is_expo, printer
FROM stations
WHERE restaurant_id = $1 AND printer IS NOT NULL AND printer <> '';

-- name: workers_rebuild_tables
-- The latest state of each table of restaurant $1 carried by a table event since $2 (ms).
SELECT DISTINCT ON (v.state->>'no') v.state->>'no' AS no, v.state AS state, e.ts
FROM events AS e
CROSS JOIN LATERAL (VALUES (e.payload->'table'), (e.payload->'source'), (e.payload->'target'))
    AS v(state)
WHERE e.restaurant_id = $1 AND e.type LIKE 'table.%' AND e.ts >= $2
  AND v.state IS NOT NULL AND jsonb_typeof(v.state) = 'object'
ORDER BY v.state->>'no', e.ts DESC, split_part(e.stream_id, '-', 1)::bigint DESC,
         split_part(e.stream_id, '-', 2)::bigint DESC;

-- name: workers_rebuild_orders
-- Orders of restaurant $1 placed since $2 (ms), or whose session is one of $3, or whose id is
-- one of $4.
SELECT id, table_no, session_id, no, created_at, rush, guests
FROM orders
WHERE restaurant_id = $1
  AND (created_at >= $2 OR session_id = ANY($3::text[]) OR id = ANY($4::text[]))
ORDER BY created_at, no;

-- name: workers_rebuild_lines
SELECT order_id, id, dish_id, name_zh, name_en, qty, unit_price_fen, station_id, status, note,
       course, added, set_meal_id, target_s, urges, last_urged_at, overdue, return_requested,
       times
FROM order_lines
WHERE restaurant_id = $1 AND order_id = ANY($2::text[])
ORDER BY order_id, length(id), id;

-- name: workers_rebuild_stock
-- The last known remaining count of each dish of restaurant $1 (NULL: unlimited), the last
-- in log order when several changes share a millisecond.
SELECT DISTINCT ON (s.dish_id) s.dish_id, s.remaining
FROM stock_changes AS s
LEFT JOIN events AS e ON e.event_id = s.event_id
WHERE s.restaurant_id = $1
ORDER BY s.dish_id, s.at DESC, split_part(e.stream_id, '-', 1)::bigint DESC NULLS LAST,
         split_part(e.stream_id, '-', 2)::bigint DESC NULLS LAST;

-- name: workers_rebuild_revoked
-- Tokens of restaurant $1 revoked and not expired yet.
SELECT id FROM tokens
WHERE restaurant_id = $1 AND revoked_at IS NOT NULL AND expires_at > now();
