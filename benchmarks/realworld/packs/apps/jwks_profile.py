"""A profile API that checks bearer tokens against an identity provider's JWKS with PyJWT.

GET /me verifies the `Authorization: Bearer` token: PyJWKClient fetches the signing keys from
$JWKS_URL (cached after the first answer), then the token is decoded with the key its `kid`
names. An unreachable identity provider is answered 503, a bad token 401. Served by the
standard library's threading HTTP server, so the only third-party code is PyJWT.

    JWKS_URL=http://127.0.0.1:9000/.well-known/jwks.json python jwks_profile.py --port 8000
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from app_cli import arguments

JWKS_URL = os.environ.get("JWKS_URL", "http://127.0.0.1:9000/.well-known/jwks.json")
jwks = jwt.PyJWKClient(JWKS_URL)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            self.answer(200, {"ok": True})
        elif self.path == "/me":
            self.me()
        else:
            self.answer(404, {"error": "not found"})

    def me(self) -> None:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            self.answer(401, {"error": "a bearer token is required"})
            return
        try:
            key = jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256"])
        except jwt.PyJWKClientError as exc:
            self.log_message("identity provider unavailable: %s", exc)
            self.answer(503, {"error": "identity provider unavailable"})
            return
        except jwt.InvalidTokenError as exc:
            self.answer(401, {"error": f"invalid token: {exc}"})
            return
        self.answer(200, {"sub": claims.get("sub")})

    def answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
