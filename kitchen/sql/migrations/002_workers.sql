-- What the workers need beyond the history tables of 001_schema.sql.

-- persist: the stream position of the event whose order state a row holds, so that an older
-- event delivered again (or late) never overwrites newer state.
ALTER TABLE orders
    ADD COLUMN last_event_id text NOT NULL DEFAULT '',
    ADD COLUMN last_pos_ms   bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_pos_seq  bigint NOT NULL DEFAULT 0;

-- stats: the events already counted into the roll-ups (counted once, in the same transaction).
CREATE TABLE stats_processed (
    event_id      text PRIMARY KEY,
    restaurant_id text NOT NULL,
    ts            bigint NOT NULL,
    counted_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX stats_processed_by_time ON stats_processed (counted_at);

-- Sales per restaurant and hour (the hour an order was placed, in UTC; days, months and
-- weekdays are derived in the restaurant's time zone by the stats_* queries).
CREATE TABLE stats_hourly (
    restaurant_id text NOT NULL,
    hour          timestamptz NOT NULL,
    revenue_fen   bigint NOT NULL DEFAULT 0,  -- dishes ordered, less returned and voided ones
    orders        int NOT NULL DEFAULT 0,
    covers        int NOT NULL DEFAULT 0,     -- guests seated (tables opened in that hour)
    dishes        int NOT NULL DEFAULT 0,     -- portions ordered, less returned and voided
    PRIMARY KEY (restaurant_id, hour)
);

CREATE TABLE stats_dish_hourly (
    restaurant_id text NOT NULL,
    hour          timestamptz NOT NULL,
    dish_id       text NOT NULL,
    qty           int NOT NULL DEFAULT 0,
    revenue_fen   bigint NOT NULL DEFAULT 0,
    returns       int NOT NULL DEFAULT 0,     -- portions returned (退菜)
    voids         int NOT NULL DEFAULT 0,     -- portions voided by the kitchen or merchant
    urges         int NOT NULL DEFAULT 0,     -- 催菜 by diners or staff
    overdue       int NOT NULL DEFAULT 0,     -- dishes that passed their target time
    PRIMARY KEY (restaurant_id, hour, dish_id)
);

-- One sample per dish line: from entering the queue to its first time ready.
CREATE TABLE stats_kitchen_times (
    restaurant_id text NOT NULL,
    order_id      text NOT NULL,
    line_id       text NOT NULL,
    dish_id       text NOT NULL,
    station_id    text NOT NULL,
    qty           int NOT NULL,
    ready_at      timestamptz NOT NULL,
    seconds       double precision NOT NULL,
    PRIMARY KEY (restaurant_id, order_id, line_id)
);

CREATE INDEX stats_kitchen_times_by_time ON stats_kitchen_times (restaurant_id, ready_at);
