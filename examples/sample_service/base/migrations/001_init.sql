-- shopapp schema. Written to run on SQLite and PostgreSQL alike; re-runnable.

CREATE TABLE IF NOT EXISTS tickets (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    used        INTEGER NOT NULL DEFAULT 0,
    created_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS simulations (
    simulation_id  TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS backups (
    id          TEXT PRIMARY KEY,
    target      TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS idempotency_keys (
    key          TEXT PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    owner        TEXT NOT NULL,
    state        TEXT NOT NULL,
    status_code  INTEGER,
    body         TEXT,
    created_at   DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS messages (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    thread_id  TEXT NOT NULL,
    body       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ledger_entries (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    amount      NUMERIC NOT NULL,
    currency    TEXT NOT NULL,
    booked_at   DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS daily_usage (
    account_id  TEXT NOT NULL,
    day         TEXT NOT NULL,
    requests    INTEGER NOT NULL DEFAULT 0
);
