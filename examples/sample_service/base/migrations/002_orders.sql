-- Orders, listed by GET /orders. Runs on SQLite and PostgreSQL alike; re-runnable.

CREATE TABLE IF NOT EXISTS orders (
    id          TEXT PRIMARY KEY,
    customer    TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);
