"""An ASGI app that leaks one open file per GET /leak; GET /ok leaks nothing."""

_kept: list[object] = []


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/leak":
        _kept.append(open("/dev/null"))
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(_kept)).encode()})
