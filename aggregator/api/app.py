"""The FastAPI application and the one place where errors become status codes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis
import redis.asyncio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from aggregator import logs
from aggregator.api import deps
from aggregator.api.routes import events, feeds, status, stories, subscriptions
from aggregator.api.stream import BLOCK_MS, Hub
from aggregator.dispatch import TaskSender
from aggregator.errors import AggregatorError, InvalidInput, NotFound, StorageError, Unauthorized
from aggregator.settings import Settings, get_settings
from aggregator.store.events import AsyncEventLog
from aggregator.wiring import Wiring

log = logging.getLogger(__name__)

_STATUS = ((NotFound, 404), (InvalidInput, 422), (Unauthorized, 401), (StorageError, 503))


def create_app(settings: Settings, sender: TaskSender | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        wiring = app.state.wiring = Wiring(settings, sender)
        # Subscribers share a few connections and wait for a free one: hundreds of SSE clients
        # replaying at once must neither open hundreds of connections nor fail on a full pool.
        # The hub's read blocks on the stream for BLOCK_MS: a socket timeout shorter than that (the
        # client's default is 5 s) would cut every idle wait short as an error.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.redis_url or "", max_connections=32, timeout=None, decode_responses=True,
            socket_timeout=BLOCK_MS / 1000 + 10,
        )  # fmt: skip
        reader = redis.asyncio.Redis(connection_pool=pool)
        app.state.hub = hub = Hub(AsyncEventLog(reader, wiring.keys), settings.sse_queue)
        await hub.start()
        yield
        await hub.stop()
        await reader.aclose()
        await pool.aclose()
        wiring.close()

    app = FastAPI(
        title="News aggregator",
        version="0.1.0",
        description="Every copy and rewrite of a story under one id, with its canonical article.",
        lifespan=lifespan,
    )
    app.include_router(stories.router)
    app.include_router(feeds.router)
    app.include_router(events.router)
    app.include_router(subscriptions.router)
    app.include_router(status.router)

    @app.exception_handler(AggregatorError)
    async def aggregator_error(request: Request, exc: AggregatorError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(
            {"error": type(exc).__name__, "detail": str(exc)}, status_code=status, headers=headers
        )

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz(client: deps.RedisClient) -> JSONResponse:
        """Redis answers."""
        try:
            client.ping()
        except redis.RedisError as exc:
            log.warning("not ready: %s", exc)
            return JSONResponse({"status": "unavailable", "detail": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok"})

    return app


def from_environment() -> FastAPI:
    """The app as the environment configures it: what each API worker process runs."""
    settings = get_settings()
    logs.configure(settings.log_format, settings.log_level)
    return create_app(settings)
