"""Small apps that stand in where the sample has no such code: their sources, served with
`support.serve_app` by the pack self-tests and by the stability benchmarks."""

from __future__ import annotations

import textwrap

#: leaks.target_process: /leak holds one fd per request, /boom fails holding nothing,
#: /boom-leak fails and leaks; /reset closes what is held (between benchmark runs).
LEAKY_APP = """
import os

HELD = []


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/leak":
        HELD.append(open(os.devnull))  # one fd per request, never closed
    elif scope["path"] == "/reset":
        while HELD:
            HELD.pop().close()
    status = 200
    if scope["path"] == "/boom":  # a failing route that holds nothing
        status = 500
    if scope["path"] == "/boom-leak":  # fails and leaks
        HELD.append(open(os.devnull))
        status = 500
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""

#: path_traversal.write_stays_inside_base: PUT /lenient/files/{name} writes wherever the name
#: leads (under LENIENT_DIR); PUT /strict/files/{name} resolves and contains it (STRICT_DIR).
WRITE_APP = textwrap.dedent("""
    import os, re
    from pathlib import Path
    from fastapi import FastAPI, HTTPException, Request

    app = FastAPI()
    DIRS = {"lenient": Path(os.environ["LENIENT_DIR"]), "strict": Path(os.environ["STRICT_DIR"])}
    NAME = re.compile(r"[\\w.-]+(/[\\w.-]+)*")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.put("/{variant}/files/{name:path}")
    async def put(variant: str, name: str, request: Request):
        data = await request.body()
        BASE = DIRS[variant]
        if variant == "strict":
            if not NAME.fullmatch(name):
                raise HTTPException(400, "bad file name")
            path = (BASE / name).resolve()
            if not path.is_relative_to(BASE.resolve()):
                raise HTTPException(400, "outside the base")
        else:
            path = Path(f"{BASE}/{name}")
        try:
            path.write_bytes(data)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise HTTPException(404, "no such directory") from None
        return {"written": len(data)}
""")

#: authz.query_tokens_rejected: GET /lenient/me also takes ?token=, GET /strict/me refuses
#: credentials in the query string; both want the bearer token "s3cret-token".
TOKEN_APP = textwrap.dedent("""
    from fastapi import FastAPI, HTTPException, Request

    app = FastAPI()
    TOKEN = "s3cret-token"

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/{variant}/me")
    def me(variant: str, request: Request):
        header = request.headers.get("authorization", "")
        sent = header.removeprefix("Bearer ")
        if variant == "lenient":
            sent = sent or request.query_params.get("token", "")
        elif any(k in request.query_params for k in ("token", "access_token", "jwt")):
            raise HTTPException(400, "credentials in the query string are not accepted")
        if sent != TOKEN:
            raise HTTPException(401, "unauthenticated")
        return {"user": "alice"}
""")
