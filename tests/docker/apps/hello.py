"""A tiny ASGI app the docker tests mount into the container at /src and serve with uvicorn."""

import os
import sys

print("hello-app: imported", flush=True)
print("hello-app: a line on stderr", file=sys.stderr, flush=True)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = f"{os.getpid()} {os.environ.get('GREETING', '')}".encode()
    if scope["path"] == "/healthz":
        body = b"ok"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
