"""A sign-up API on FastAPI with pydantic v1: POST /signup takes {"email": ...} as an EmailStr.

FastAPI validates the JSON body against the model on the event loop thread, before the handler
runs, so whatever pydantic's email validator costs, every other request waits for.

    python fastapi_signup.py --port 8000
"""

from __future__ import annotations

from app_cli import arguments, serve_asgi
from fastapi import FastAPI
from pydantic import BaseModel, EmailStr

app = FastAPI()
accounts: set[str] = set()


class SignUp(BaseModel):
    email: EmailStr


@app.post("/signup", status_code=201)
async def signup(body: SignUp) -> dict[str, str]:
    accounts.add(body.email.lower())
    return {"email": body.email}


@app.get("/health")
async def health() -> dict[str, object]:
    return {"ok": True, "accounts": len(accounts)}


def main() -> None:
    serve_asgi(app, arguments(__doc__.splitlines()[0]).port)


if __name__ == "__main__":
    main()
