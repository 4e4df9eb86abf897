"""A newsletter sign-up form on Starlette: POST /subscribe reads the form with python-multipart.

The service under test for python-multipart's Content-Type parsing: Starlette hands the
request's Content-Type header to `multipart.multipart.parse_options_header` on the event loop
thread before it reads the body, so whatever that parser costs, every other request waits for.

    python multipart_form.py --port 8000
"""

from __future__ import annotations

from app_cli import arguments, serve_asgi
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

subscribers: list[str] = []


async def subscribe(request: Request) -> JSONResponse:
    form = await request.form()
    email = str(form.get("email", "")).strip()
    if "@" not in email:
        return JSONResponse({"error": "an email address is required"}, status_code=422)
    subscribers.append(email)
    return JSONResponse({"subscribed": email}, status_code=201)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True, "subscribers": len(subscribers)})


app = Starlette(routes=[Route("/subscribe", subscribe, methods=["POST"]), Route("/health", health)])


def main() -> None:
    serve_asgi(app, arguments(__doc__.splitlines()[0]).port)


if __name__ == "__main__":
    main()
