"""Sending a request when an earlier answer may have made the server drop the connection."""

from __future__ import annotations

from typing import Any

import httpx


def request(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """`client.request`, sent once more on a fresh connection when the pooled one was reset.

    Servers such as uvicorn close a keep-alive connection after an unhandled 500; the next
    request on it would fail for a reason that has nothing to do with what it asks.
    """
    try:
        return client.request(method, path, **kwargs)
    except httpx.TimeoutException:
        raise
    except httpx.TransportError:
        return client.request(method, path, **kwargs)
