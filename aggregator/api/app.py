"""The FastAPI application and the one place where errors become status codes."""

from __future__ import annotations

import gc
import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis
import redis.asyncio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aggregator import logs
from aggregator.api import deps
from aggregator.api.openapi import document
from aggregator.api.protocol import HeaderDeadline
from aggregator.api.routes import events, feeds, status, stories, subscriptions
from aggregator.api.stream import BLOCK_MS, Hub
from aggregator.dispatch import TaskSender
from aggregator.errors import AggregatorError, InvalidInput, NotFound, StorageError, Unauthorized
from aggregator.settings import Settings, get_settings
from aggregator.store.connection import shared_async_client
from aggregator.store.events import AsyncEventLog
from aggregator.web import pages
from aggregator.web.policy import ContentPolicy
from aggregator.wiring import Wiring

log = logging.getLogger(__name__)

_STATUS = ((NotFound, 404), (InvalidInput, 422), (Unauthorized, 401), (StorageError, 503))


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Request bodies over `max_bytes` get a 413 in the API's error shape: a declared length at once,
    a body sent without one as soon as it passes the limit, before any of it is used."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen, exceeded, answered = 0, False, False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                exceeded = True
                raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            # Whatever the app answers to a body cut short (FastAPI: a 400) gives way to the 413.
            nonlocal answered
            if not exceeded:
                await send(message)
            elif not answered:
                answered = True
                await self._refuse(scope, receive, send)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not answered:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is over {self.max_bytes} bytes (AGGREGATOR_MAX_REQUEST_BYTES)"
        await JSONResponse({"error": "TooLarge", "detail": detail}, status_code=413)(scope, receive, send)


def create_app(settings: Settings, sender: TaskSender | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        wiring = app.state.wiring = Wiring(settings, sender)
        # Subscribers share a few connections and wait for a free one: hundreds of SSE clients
        # replaying at once must neither open hundreds of connections nor fail on a full pool.
        # The hub's read blocks on the stream for BLOCK_MS: a socket timeout shorter than that (the
        # client's default is 5 s) would cut every idle wait short as an error.
        reader = shared_async_client(
            settings.redis_url or "",
            settings.redis_cluster,
            max_connections=32,
            socket_timeout=BLOCK_MS / 1000 + 10,
        )
        app.state.hub = hub = Hub(AsyncEventLog(reader, wiring.keys), settings.sse_queue)
        await hub.start()
        yield
        await hub.stop()
        await reader.aclose()
        wiring.close()

    # Swagger UI and ReDoc with their scripts served by the app itself: an offline install has docs too.
    app = FastAPIOffline(
        title="News aggregator",
        version="0.1.0",
        description="Every copy and rewrite of a story under one id, with its canonical article.",
        lifespan=lifespan,
    )
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(ContentPolicy)
    app.include_router(stories.router)
    app.include_router(feeds.listing)
    app.include_router(feeds.router)
    app.include_router(events.router)
    app.include_router(subscriptions.router)
    app.include_router(status.router)
    app.include_router(pages.router)
    app.mount("/static", pages.static, name="static")

    @app.exception_handler(AggregatorError)
    async def aggregator_error(request: Request, exc: AggregatorError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(
            {"error": type(exc).__name__, "detail": str(exc)}, status_code=status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and what, never the value sent: it may be huge, or a secret that was too short.
        detail = "; ".join(
            f"{'.'.join(str(part) for part in err.get('loc', ())) or 'request'}: {err.get('msg', 'invalid')}"
            for err in exc.errors()
        )
        return JSONResponse({"error": "InvalidInput", "detail": detail[:2000]}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "NotFound", 405: "MethodNotAllowed", 413: "TooLarge"}
        return JSONResponse(
            {"error": codes.get(exc.status_code, "HTTPError"), "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=exc.headers,
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


def exposure_problem(settings: Settings) -> str | None:
    """Why the API must not start as configured: reachable beyond this machine with no API keys, so
    anyone who reaches it could add feeds and webhooks. None when it may."""
    address = (settings.api_published_on or settings.host).strip("[]")
    try:
        local = address == "localhost" or ipaddress.ip_address(address).is_loopback
    except ValueError:
        local = False
    if local or settings.api_keys:
        return None
    return (
        f"the API would be reachable on {address} with no API keys: set AGGREGATOR_API_KEYS (comma-separated "
        "keys that writes must present as Authorization: Bearer <key>), or serve on 127.0.0.1"
    )


def settled(app: FastAPI) -> FastAPI:
    """`app` with what its process built so far (modules, the app) kept out of the garbage collector's
    sight: it lives as long as the process, and a full collection that scanned it all would hold up the
    requests of that moment for tens of milliseconds."""
    gc.collect()
    gc.freeze()
    return app


def from_environment() -> FastAPI:
    """The app as the environment configures it: what each API worker process runs."""
    settings = get_settings()
    if problem := exposure_problem(settings):
        raise AggregatorError(problem)
    logs.configure(settings.log_format, settings.log_level)
    HeaderDeadline.header_timeout_s = settings.api_header_timeout_s
    return settled(create_app(settings))
