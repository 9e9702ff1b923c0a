-- The durable history and the menu.
--
-- Every table is keyed by restaurant_id first, so it can be partitioned by restaurant.
-- Ids are text (chosen by the application). Times that come from events are bigint
-- milliseconds since the epoch; times set by the database are timestamptz.
-- Tables written by workers from the event streams (events, orders, order_lines,
-- dish_status_changes, table_sessions, stock_changes) carry no foreign keys: workers insert
-- idempotently and in batches, in whatever order the events arrive.

CREATE TABLE restaurants (
    id           text PRIMARY KEY,
    name_zh      text NOT NULL DEFAULT '',
    name_en      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    menu_version int NOT NULL DEFAULT 1
);

CREATE TABLE stations (
    restaurant_id text NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            text NOT NULL,
    name_zh       text NOT NULL DEFAULT '',
    name_en       text NOT NULL DEFAULT '',
    is_expo       boolean NOT NULL DEFAULT false,
    warn_after_s  int NOT NULL DEFAULT 300 CHECK (warn_after_s > 0),
    late_after_s  int NOT NULL DEFAULT 480 CHECK (late_after_s > 0),
    printer       text NULL,  -- "host:port" of an ESC/POS network printer
    PRIMARY KEY (restaurant_id, id)
);

CREATE TABLE dining_tables (
    restaurant_id text NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    no            text NOT NULL,
    seats         int NOT NULL DEFAULT 4 CHECK (seats >= 0),
    sort          int NOT NULL DEFAULT 0,
    PRIMARY KEY (restaurant_id, no)
);

CREATE TABLE categories (
    restaurant_id text NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            text NOT NULL,
    name_zh       text NOT NULL DEFAULT '',
    name_en       text NOT NULL DEFAULT '',
    sort          int NOT NULL DEFAULT 0,
    PRIMARY KEY (restaurant_id, id)
);

CREATE TABLE dishes (
    restaurant_id  text NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id             text NOT NULL,
    category_id    text NOT NULL,
    name_zh        text NOT NULL DEFAULT '',
    name_en        text NOT NULL DEFAULT '',
    price_fen      int NOT NULL CHECK (price_fen >= 0),
    station_id     text NOT NULL,
    photo          text NOT NULL DEFAULT '',
    tags           text[] NOT NULL DEFAULT '{}',
    calories       int NOT NULL DEFAULT 0 CHECK (calories >= 0),
    allergens      text[] NOT NULL DEFAULT '{}',
    target_s       int NOT NULL DEFAULT 600 CHECK (target_s > 0),
    active         boolean NOT NULL DEFAULT true,
    description_zh text NOT NULL DEFAULT '',
    description_en text NOT NULL DEFAULT '',
    stock          int NULL CHECK (stock >= 0),  -- NULL: unlimited
    PRIMARY KEY (restaurant_id, id)
);

CREATE INDEX dishes_by_category ON dishes (restaurant_id, category_id);

CREATE TABLE set_meals (
    restaurant_id text NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            text NOT NULL,
    name_zh       text NOT NULL DEFAULT '',
    name_en       text NOT NULL DEFAULT '',
    price_fen     int NOT NULL CHECK (price_fen >= 0),
    items         jsonb NOT NULL DEFAULT '[]',  -- [[dish_id, quantity], ...]
    photo         text NOT NULL DEFAULT '',
    active        boolean NOT NULL DEFAULT true,
    PRIMARY KEY (restaurant_id, id)
);

CREATE TABLE offers (
    restaurant_id text NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            text NOT NULL,
    dish_id       text NOT NULL,
    price_fen     int NOT NULL CHECK (price_fen >= 0),
    starts_at     bigint NOT NULL,  -- ms, inclusive
    ends_at       bigint NOT NULL,  -- ms, exclusive
    label_zh      text NOT NULL DEFAULT '限时特价',
    label_en      text NOT NULL DEFAULT 'Limited offer',
    PRIMARY KEY (restaurant_id, id),
    CHECK (ends_at > starts_at)
);

CREATE INDEX offers_by_dish ON offers (restaurant_id, dish_id, ends_at);

-- Issued tokens, by their jti, so that they can be listed and revoked.
CREATE TABLE tokens (
    restaurant_id text NOT NULL,
    id            text PRIMARY KEY,
    role          text NOT NULL,
    station_id    text NULL,
    table_no      text NULL,
    label         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz NULL
);

CREATE INDEX tokens_by_restaurant ON tokens (restaurant_id, role, created_at);

-- Merchant staff accounts.
CREATE TABLE staff (
    restaurant_id text NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            text NOT NULL,
    name          text NOT NULL DEFAULT '',
    role          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, id)
);

-- The durable event log: one row per stream entry (stream_id is the Redis entry id).
CREATE TABLE events (
    restaurant_id text NOT NULL,
    stream_id     text NOT NULL,
    event_id      text NOT NULL UNIQUE,
    type          text NOT NULL,
    ts            bigint NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (restaurant_id, stream_id)
);

CREATE INDEX events_by_time ON events (restaurant_id, ts);

CREATE TABLE orders (
    restaurant_id text NOT NULL,
    id            text NOT NULL,
    table_no      text NOT NULL,
    session_id    text NOT NULL DEFAULT '',
    no            int NOT NULL,
    created_at    bigint NOT NULL,
    rush          boolean NOT NULL DEFAULT false,
    guests        int NOT NULL DEFAULT 0,
    total_fen     int NOT NULL DEFAULT 0,
    updated_at    bigint NOT NULL,
    PRIMARY KEY (restaurant_id, id)
);

CREATE INDEX orders_by_time ON orders (restaurant_id, created_at);
CREATE INDEX orders_by_session ON orders (restaurant_id, session_id);

CREATE TABLE order_lines (
    restaurant_id    text NOT NULL,
    order_id         text NOT NULL,
    id               text NOT NULL,
    dish_id          text NOT NULL,
    name_zh          text NOT NULL DEFAULT '',
    name_en          text NOT NULL DEFAULT '',
    qty              int NOT NULL CHECK (qty > 0),
    unit_price_fen   int NOT NULL CHECK (unit_price_fen >= 0),
    station_id       text NOT NULL,
    status           text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('held', 'queued', 'cooking', 'ready', 'served', 'returned', 'voided')),
    note             text NOT NULL DEFAULT '',
    course           int NOT NULL DEFAULT 1,
    added            boolean NOT NULL DEFAULT false,
    set_meal_id      text NOT NULL DEFAULT '',
    target_s         int NOT NULL DEFAULT 600,
    urges            int NOT NULL DEFAULT 0,
    last_urged_at    bigint NOT NULL DEFAULT 0,
    overdue          boolean NOT NULL DEFAULT false,
    return_requested boolean NOT NULL DEFAULT false,
    times            jsonb NOT NULL DEFAULT '{}',  -- status -> ms when entered
    PRIMARY KEY (restaurant_id, order_id, id)
);

CREATE INDEX order_lines_by_dish ON order_lines (restaurant_id, dish_id);

-- One row per dish status move, for kitchen speed statistics.
CREATE TABLE dish_status_changes (
    event_id      text NOT NULL,
    restaurant_id text NOT NULL,
    order_id      text NOT NULL,
    line_id       text NOT NULL,
    station_id    text NOT NULL,
    from_status   text NOT NULL,
    to_status     text NOT NULL,
    at            bigint NOT NULL,
    PRIMARY KEY (event_id, line_id)
);

CREATE INDEX dish_status_changes_by_time ON dish_status_changes (restaurant_id, at);
CREATE INDEX dish_status_changes_by_line ON dish_status_changes (restaurant_id, order_id, line_id);

CREATE TABLE table_sessions (
    restaurant_id text NOT NULL,
    id            text NOT NULL,
    table_no      text NOT NULL,
    opened_at     bigint NOT NULL,
    closed_at     bigint NULL,
    guests        int NOT NULL DEFAULT 0,
    PRIMARY KEY (restaurant_id, id)
);

CREATE INDEX table_sessions_by_time ON table_sessions (restaurant_id, opened_at);

-- One event may change the stock of several dishes (an order), hence (event_id, dish_id).
CREATE TABLE stock_changes (
    event_id      text NOT NULL,
    restaurant_id text NOT NULL,
    dish_id       text NOT NULL,
    remaining     int NULL,  -- NULL: back to unlimited
    at            bigint NOT NULL,
    PRIMARY KEY (event_id, dish_id)
);

CREATE INDEX stock_changes_by_dish ON stock_changes (restaurant_id, dish_id, at);
