-- What the workers write from the event streams. Every insert is idempotent: the event id
-- (or the stream position) is part of the key, and a repeated insert changes nothing.

-- name: workers_insert_events
-- $1 restaurant_id, $2 stream_id, $3 event_id, $4 type, $5 ts (ms), $6 payload
INSERT INTO events (restaurant_id, stream_id, event_id, type, ts, payload)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING;

-- name: workers_upsert_orders
-- Arrays of equal length, one element per order; a row is written only when the event that
-- carries it stands later in the log than the one already stored. Returns the ids written.
INSERT INTO orders AS o (restaurant_id, id, table_no, session_id, no, created_at, rush, guests,
                         total_fen, updated_at, last_event_id, last_pos_ms, last_pos_seq)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[],
                     $7::boolean[], $8::int[], $9::int[], $10::bigint[], $11::text[],
                     $12::bigint[], $13::bigint[])
ON CONFLICT (restaurant_id, id) DO UPDATE
SET table_no = EXCLUDED.table_no, session_id = EXCLUDED.session_id, no = EXCLUDED.no,
    created_at = EXCLUDED.created_at, rush = EXCLUDED.rush, guests = EXCLUDED.guests,
    total_fen = EXCLUDED.total_fen, updated_at = EXCLUDED.updated_at,
    last_event_id = EXCLUDED.last_event_id, last_pos_ms = EXCLUDED.last_pos_ms,
    last_pos_seq = EXCLUDED.last_pos_seq
WHERE (o.last_pos_ms, o.last_pos_seq) < (EXCLUDED.last_pos_ms, EXCLUDED.last_pos_seq)
RETURNING o.restaurant_id, o.id;

-- name: workers_upsert_line
INSERT INTO order_lines (restaurant_id, order_id, id, dish_id, name_zh, name_en, qty,
                         unit_price_fen, station_id, status, note, course, added, set_meal_id,
                         target_s, urges, last_urged_at, overdue, return_requested, times)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20)
ON CONFLICT (restaurant_id, order_id, id) DO UPDATE
SET dish_id = EXCLUDED.dish_id, name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
    qty = EXCLUDED.qty, unit_price_fen = EXCLUDED.unit_price_fen,
    station_id = EXCLUDED.station_id, status = EXCLUDED.status, note = EXCLUDED.note,
    course = EXCLUDED.course, added = EXCLUDED.added, set_meal_id = EXCLUDED.set_meal_id,
    target_s = EXCLUDED.target_s, urges = EXCLUDED.urges,
    last_urged_at = EXCLUDED.last_urged_at, overdue = EXCLUDED.overdue,
    return_requested = EXCLUDED.return_requested, times = EXCLUDED.times;

-- name: workers_insert_status_change
-- $1 event_id, $2 restaurant_id, $3 order_id, $4 line_id, $5 station_id, $6 from, $7 to, $8 at
INSERT INTO dish_status_changes (event_id, restaurant_id, order_id, line_id, station_id,
                                 from_status, to_status, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING;

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
