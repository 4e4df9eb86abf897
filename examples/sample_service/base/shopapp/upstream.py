"""The shared HTTP client for the upstream catalogue service, opened at startup."""

from __future__ import annotations

import httpx


class UpstreamClient:
    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport | None = None):
        self.base_url = base_url
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("upstream client used before startup()")
        return self._http

    async def startup(self) -> None:
        self._http = httpx.AsyncClient(base_url=self.base_url, transport=self._transport,
                                       timeout=10.0)

    async def shutdown(self) -> None:
        self._http = None
