-- An order's total can pass what a 32-bit integer holds (30 items of 20 dishes at the
-- highest price the menu takes, 10,000,000 fen, is 6,000,000,000), and 加菜 adds to it: a
-- total the orders table could not take would leave an acknowledged order out of the history.
ALTER TABLE orders ALTER COLUMN total_fen TYPE bigint;
