-- The menu of a restaurant: written whole by save_menu, read whole by load_menu.

-- name: catalog_upsert_restaurant
INSERT INTO restaurants (id, name_zh, name_en, menu_version)
VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE
SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, menu_version = EXCLUDED.menu_version;

-- name: catalog_clear
WITH s AS (DELETE FROM stations WHERE restaurant_id = $1),
     t AS (DELETE FROM dining_tables WHERE restaurant_id = $1),
     c AS (DELETE FROM categories WHERE restaurant_id = $1),
     d AS (DELETE FROM dishes WHERE restaurant_id = $1),
     m AS (DELETE FROM set_meals WHERE restaurant_id = $1)
DELETE FROM offers WHERE restaurant_id = $1;

-- name: catalog_insert_station
INSERT INTO stations (restaurant_id, id, name_zh, name_en, is_expo, warn_after_s, late_after_s,
                      printer)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: catalog_insert_table
INSERT INTO dining_tables (restaurant_id, no, seats, sort) VALUES ($1, $2, $3, $4);

-- name: catalog_insert_category
INSERT INTO categories (restaurant_id, id, name_zh, name_en, sort) VALUES ($1, $2, $3, $4, $5);

-- name: catalog_insert_dish
INSERT INTO dishes (restaurant_id, id, category_id, name_zh, name_en, price_fen, station_id,
                    photo, tags, calories, allergens, target_s, active, description_zh,
                    description_en, stock)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16);

-- name: catalog_insert_set_meal
INSERT INTO set_meals (restaurant_id, id, name_zh, name_en, price_fen, items, photo, active)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: catalog_insert_offer
INSERT INTO offers (restaurant_id, id, dish_id, price_fen, starts_at, ends_at, label_zh, label_en)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: catalog_restaurant
SELECT id, name_zh, name_en, menu_version FROM restaurants WHERE id = $1;

-- name: catalog_restaurant_ids
SELECT id FROM restaurants ORDER BY id;

-- name: catalog_stations
SELECT id, name_zh, name_en, is_expo, warn_after_s, late_after_s, printer
FROM stations WHERE restaurant_id = $1 ORDER BY is_expo, id;

-- name: catalog_tables
SELECT no FROM dining_tables WHERE restaurant_id = $1 ORDER BY sort, no;

-- name: catalog_categories
SELECT id, name_zh, name_en, sort FROM categories WHERE restaurant_id = $1 ORDER BY sort, id;

-- name: catalog_dishes
SELECT id, category_id, name_zh, name_en, price_fen, station_id, photo, tags, calories,
       allergens, target_s, active, description_zh, description_en, stock
FROM dishes WHERE restaurant_id = $1 ORDER BY id;

-- name: catalog_set_meals
SELECT id, name_zh, name_en, price_fen, items, photo, active
FROM set_meals WHERE restaurant_id = $1 ORDER BY id;

-- name: catalog_offers
SELECT id, dish_id, price_fen, starts_at, ends_at, label_zh, label_en
FROM offers WHERE restaurant_id = $1 ORDER BY id;

-- name: catalog_set_stock
UPDATE dishes SET stock = $3 WHERE restaurant_id = $1 AND id = $2;

-- name: demo_insert_token
INSERT INTO tokens (restaurant_id, id, role, station_id, table_no, label, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::bigint = 0 THEN 'infinity'::timestamptz
                                     ELSE to_timestamp($7::bigint) END)
ON CONFLICT (id) DO NOTHING;
