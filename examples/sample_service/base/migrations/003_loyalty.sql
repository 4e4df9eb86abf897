-- Loyalty points per customer and programme. Runs on SQLite and PostgreSQL alike; re-runnable.

CREATE TABLE IF NOT EXISTS loyalty_points (
    customer_id  TEXT NOT NULL,
    program      TEXT NOT NULL,
    points       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (customer_id, program)
);
