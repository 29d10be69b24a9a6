"""What each route is handed (FastAPI dependencies): one part of the app's `Wiring` each, so a route
names exactly what it uses.

The dependencies do no I/O, so they are coroutines: FastAPI runs a plain function through the thread
pool, a trip that would cost every request more than the dependency itself.
"""

from __future__ import annotations

import hmac
from typing import Annotated

import redis
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aggregator.api.stream import Hub
from aggregator.errors import Unauthorized
from aggregator.settings import Settings
from aggregator.store.feeds import FeedStore
from aggregator.store.metrics import Metrics
from aggregator.store.status import Status
from aggregator.store.subscriptions import SubscriptionStore
from aggregator.store.views import StoryViews
from aggregator.usecases.feeds import FeedCatalogue
from aggregator.usecases.webhooks import Subscriptions
from aggregator.wiring import Wiring


def _wiring(request: Request) -> Wiring:
    wiring: Wiring = request.app.state.wiring
    return wiring


async def redis_client(request: Request) -> redis.Redis:
    return _wiring(request).redis


def app_settings(request: Request) -> Settings:
    return _wiring(request).settings


async def settings(request: Request) -> Settings:
    return app_settings(request)


async def views(request: Request) -> StoryViews:
    return _wiring(request).views


async def feed_store(request: Request) -> FeedStore:
    return _wiring(request).feed_store


async def feed_catalogue(request: Request) -> FeedCatalogue:
    return _wiring(request).feeds


async def subscription_store(request: Request) -> SubscriptionStore:
    return _wiring(request).subscription_store


async def subscriptions(request: Request) -> Subscriptions:
    return _wiring(request).subscriptions


async def status_reader(request: Request) -> Status:
    return _wiring(request).status


async def metrics_store(request: Request) -> Metrics:
    return _wiring(request).metrics


async def hub(request: Request) -> Hub:
    found: Hub = request.app.state.hub
    return found


# Declares the scheme in the OpenAPI document; the header is read below, bytes and all.
_BEARER = HTTPBearer(auto_error=False, scheme_name="Bearer", description="An API key of AGGREGATOR_API_KEYS")


async def require_key(
    request: Request, _declared: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]
) -> None:
    """Writes need `Authorization: Bearer <key>` with a configured key; with none configured, all pass."""
    keys = app_settings(request).api_keys
    if not keys:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # Bytes, not str: compare_digest refuses str with non-ASCII characters, and a header may have any.
    token = given.strip().encode()
    if scheme.lower() != "bearer" or not any(hmac.compare_digest(token, k.encode()) for k in keys):
        raise Unauthorized("this request needs Authorization: Bearer <key> with a valid API key")


WRITE = [Depends(require_key)]  # the dependencies of every route that changes something or reads secrets

# What routes declare: `views: deps.Views` hands the route the app's StoryViews.
RedisClient = Annotated[redis.Redis, Depends(redis_client)]
AppSettings = Annotated[Settings, Depends(settings)]
Views = Annotated[StoryViews, Depends(views)]
Feeds = Annotated[FeedStore, Depends(feed_store)]
Catalogue = Annotated[FeedCatalogue, Depends(feed_catalogue)]
SubscriptionRecords = Annotated[SubscriptionStore, Depends(subscription_store)]
Subscribing = Annotated[Subscriptions, Depends(subscriptions)]
EventHub = Annotated[Hub, Depends(hub)]
StatusReader = Annotated[Status, Depends(status_reader)]
MetricsStore = Annotated[Metrics, Depends(metrics_store)]
