-- Queries of the API: device tokens and the orders of a day.

-- name: api_token_insert
-- $7 expiry in seconds since the epoch, 0 = never.
INSERT INTO tokens (restaurant_id, id, role, station_id, table_no, label, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::bigint = 0 THEN 'infinity'::timestamptz
                                     ELSE to_timestamp($7::bigint) END)
ON CONFLICT (id) DO NOTHING;

-- name: api_tokens
-- Tokens of a restaurant, newest first; $2 true: also revoked and expired ones.
SELECT id, role, station_id, table_no, label,
       (extract(epoch FROM created_at) * 1000)::bigint AS created_at,
       CASE WHEN expires_at = 'infinity' THEN 0
            ELSE (extract(epoch FROM expires_at) * 1000)::bigint END AS expires_at,
       (extract(epoch FROM revoked_at) * 1000)::bigint AS revoked_at
FROM tokens
WHERE restaurant_id = $1
  AND ($2 OR (revoked_at IS NULL AND expires_at > now()))
ORDER BY created_at DESC, id
LIMIT 1000;

-- name: api_token_revoke
-- Returns the row when the token is the restaurant's (revoking again keeps the first time).
UPDATE tokens SET revoked_at = coalesce(revoked_at, now())
WHERE restaurant_id = $1 AND id = $2
RETURNING id, role, (extract(epoch FROM revoked_at) * 1000)::bigint AS revoked_at;

-- name: api_table_qr
-- The newest QR token of a table that still works.
SELECT id, label FROM tokens
WHERE restaurant_id = $1 AND role = 'qr' AND table_no = $2 AND revoked_at IS NULL
ORDER BY created_at DESC, id
LIMIT 1;

-- name: api_table_qr_revoke
-- Withdraw every QR token of a table; returns their ids.
UPDATE tokens SET revoked_at = now()
WHERE restaurant_id = $1 AND role = 'qr' AND table_no = $2 AND revoked_at IS NULL
RETURNING id;

-- name: api_table_qr_withdrawn
-- Every QR token of a table ever withdrawn: all are (again) told to Redis after a re-print,
-- so one whose first telling failed is not left working.
SELECT id FROM tokens
WHERE restaurant_id = $1 AND role = 'qr' AND table_no = $2 AND revoked_at IS NOT NULL;

-- name: api_orders_of_day
-- Orders created in [$2, $3) ms with their lines (as written by the persist worker).
SELECT o.id, o.table_no, o.session_id, o.no, o.created_at, o.rush, o.guests, o.total_fen,
       coalesce((SELECT json_agg(json_build_object(
                    'id', l.id, 'dish_id', l.dish_id, 'name_zh', l.name_zh,
                    'name_en', l.name_en, 'qty', l.qty, 'unit_price_fen', l.unit_price_fen,
                    'station_id', l.station_id, 'status', l.status, 'note', l.note,
                    'course', l.course, 'added', l.added, 'set_meal_id', l.set_meal_id,
                    'target_s', l.target_s, 'urges', l.urges,
                    'last_urged_at', l.last_urged_at, 'overdue', l.overdue,
                    'return_requested', l.return_requested, 'times', l.times))
                 FROM order_lines AS l
                 WHERE l.restaurant_id = o.restaurant_id AND l.order_id = o.id), '[]'::json)
           AS lines
FROM orders AS o
WHERE o.restaurant_id = $1 AND o.created_at >= $2 AND o.created_at < $3
ORDER BY o.created_at, o.no
LIMIT 5000;

-- name: api_menu_lock
-- Serialise menu edits of one restaurant (held until the transaction ends).
SELECT pg_advisory_xact_lock(hashtext('menu:' || $1));

-- name: api_ping
SELECT 1;
