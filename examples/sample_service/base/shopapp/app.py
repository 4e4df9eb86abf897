"""The FastAPI application: wires settings, stores and routers. `uvicorn shopapp.app:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse

from . import (
    avatars,
    backups,
    exports,
    health,
    inventory,
    ledger,
    loyalty,
    order_sync,
    orders,
    pricing,
    publisher,
    redemption,
    reports,
    search,
    simulations,
    stats,
    threads,
    tickets,
    uploads,
    usage,
    webhooks,
)
from .cache import LRUCache
from .config import Settings
from .db import Database
from .hotfolder import HotFolder
from .lifecycle import PollingService
from .notifier import Notifier
from .upstream import UpstreamClient


@dataclass
class Shop:
    """Everything a request handler may reach through `request.app.state.shop`."""

    settings: Settings
    db: Database
    tickets: tickets.TicketStore
    redeemer: redemption.TicketRedeemer
    simulations: simulations.SimulationStore
    backups: backups.BackupService
    replay_guard: webhooks.ReplayGuard
    threads: threads.ThreadService
    ledger: ledger.Ledger
    usage: usage.UsageCounter
    upstream: UpstreamClient
    inventory: inventory.InventorySync
    cache: LRUCache
    notifier: Notifier
    poller: PollingService
    hot_folder: HotFolder
    publisher: publisher.Publisher
    avatars: avatars.AvatarStore
    orders: orders.OrderBook
    order_sync: order_sync.OrderSync
    search_limiter: search.RateLimiter
    loyalty: loyalty.LoyaltyBook
    imported: list[str] = field(default_factory=list)
    requests_served: int = 0


def build_shop(settings: Settings) -> Shop:
    db = Database(settings.db_url)
    db.migrate()
    upstream = UpstreamClient(settings.upstream_url)
    imported: list[str] = []
    shop = Shop(
        settings=settings,
        db=db,
        tickets=tickets.TicketStore(db, settings.max_pending_tickets),
        redeemer=redemption.TicketRedeemer(db),
        simulations=simulations.SimulationStore(db),
        backups=backups.BackupService(db),
        replay_guard=webhooks.ReplayGuard(),
        threads=threads.ThreadService(db),
        ledger=ledger.Ledger(db),
        usage=usage.UsageCounter(db),
        upstream=upstream,
        inventory=inventory.InventorySync(upstream),
        cache=LRUCache(),
        notifier=Notifier(),
        poller=PollingService(interval=5.0),
        hot_folder=HotFolder(settings.hot_folder, lambda name, data: imported.append(name)),
        publisher=publisher.Publisher(settings.upstream_url),
        avatars=avatars.AvatarStore(),
        orders=orders.OrderBook(db),
        order_sync=order_sync.OrderSync(settings.upstream_url),
        search_limiter=search.RateLimiter(),
        loyalty=loyalty.LoyaltyBook(db),
        imported=imported,
    )
    shop.poller._work = _scan_hot_folder(shop)
    return shop


def _scan_hot_folder(shop: Shop) -> Any:
    async def work() -> None:
        shop.hot_folder.scan()

    return work


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    shop: Shop = app.state.shop
    await shop.upstream.startup()
    await shop.poller.start()
    try:
        yield
    finally:
        await shop.poller.stop()
        await shop.notifier.aclose()
        await shop.upstream.shutdown()
        shop.order_sync.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="shopapp", lifespan=lifespan)
    app.state.shop = build_shop(settings or Settings.from_env())
    for module in (tickets, redemption, simulations, backups, webhooks, exports, threads,
                   health, pricing, inventory, ledger, stats, reports, uploads, usage, publisher,
                   avatars, orders, order_sync, search, loyalty):
        app.include_router(module.router)

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Any:
        app.state.shop.requests_served += 1
        return await call_next(request)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> str:
        shop: Shop = app.state.shop
        return (
            f"shopapp_requests_total {shop.requests_served}\n"
            f"shopapp_cache_hits_total {shop.cache.hits}\n"
            f"shopapp_cache_misses_total {shop.cache.misses}\n"
            f"shopapp_hotfolder_imported_total {len(shop.imported)}\n"
        )

    @app.get("/catalogue/{sku}")
    async def catalogue_item(sku: str) -> dict[str, Any]:
        shop: Shop = app.state.shop
        cached = shop.cache.get(sku)
        if cached is not None:
            return cached
        response = await shop.upstream.http.get(f"/items/{sku}")
        if response.status_code == 404:
            raise HTTPException(404, "no such item")
        if response.is_error:
            raise HTTPException(502, "catalogue unavailable")
        item = response.json()
        shop.cache.put(sku, item)
        shop.notifier.notify({"event": "catalogue_miss", "sku": sku})
        return item

    return app


app = create_app()
