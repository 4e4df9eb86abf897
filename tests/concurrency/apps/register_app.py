"""A tiny service whose exclusive create is get-then-save over SQLite (one DB round trip wide).

``REGISTER_VARIANT=fixed`` makes it an atomic ``INSERT OR IGNORE`` instead.
"""

import os
import sqlite3
import tempfile

from fastapi import FastAPI, Response

app = FastAPI()
_DB = os.path.join(tempfile.mkdtemp(prefix="register-app-"), "db.sqlite")
_FIXED = os.environ.get("REGISTER_VARIANT") == "fixed"


def _conn() -> sqlite3.Connection:
    conn = sqlite3.connect(_DB, timeout=10, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


with _conn() as c:
    c.execute("CREATE TABLE IF NOT EXISTS sims (id TEXT PRIMARY KEY, n INTEGER)")
    c.execute("CREATE TABLE IF NOT EXISTS effects (id TEXT)")


@app.get("/healthz")
def healthz() -> dict:
    return {"ok": True}


@app.post("/simulations/{sim_id}", status_code=201)
def register(sim_id: str, response: Response) -> dict:
    conn = _conn()
    try:
        if _FIXED:
            cur = conn.execute("INSERT OR IGNORE INTO sims (id, n) VALUES (?, 1)", (sim_id,))
            if cur.rowcount == 0:
                response.status_code = 409
                return {"detail": "exists"}
        else:
            row = conn.execute("SELECT id FROM sims WHERE id = ?", (sim_id,)).fetchone()
            if row is not None:
                response.status_code = 409
                return {"detail": "exists"}
            conn.execute("INSERT OR REPLACE INTO sims (id, n) VALUES (?, 1)", (sim_id,))
        conn.execute("INSERT INTO effects (id) VALUES (?)", (sim_id,))
        return {"id": sim_id}
    finally:
        conn.close()


@app.get("/simulations/{sim_id}/effects")
def effects(sim_id: str) -> dict:
    conn = _conn()
    try:
        (count,) = conn.execute("SELECT count(*) FROM effects WHERE id = ?", (sim_id,)).fetchone()
        return {"count": count}
    finally:
        conn.close()


@app.get("/chunked")
def chunked():
    from fastapi.responses import StreamingResponse

    return StreamingResponse(iter([b"ab", b"cde"]), media_type="text/plain")
