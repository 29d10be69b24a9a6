"""Webhook subscriptions."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Response

from aggregator.api import deps
from aggregator.api.deps import WRITE
from aggregator.api.schemas import SubscriptionIn, SubscriptionOut, SubscriptionPage
from aggregator.store.subscriptions import Subscription

# Subscriptions are write-side data (a receiver's URL may carry its token): with API keys set, reading
# them needs a key too.
router = APIRouter(prefix="/v1/subscriptions", tags=["webhooks"])


def _out(sub: Subscription) -> dict[str, Any]:
    d = dataclasses.asdict(sub)
    del d["secret"]  # written once, never read back
    return d


@router.post("", dependencies=WRITE, response_model=SubscriptionOut, status_code=201)
def add_subscription(body: SubscriptionIn, subscriptions: deps.Subscribing) -> dict[str, Any]:
    """Deliver story events to `url`, signed with `secret`: `X-Signature: sha256=<hex HMAC of the body>`."""
    return _out(subscriptions.add(body.url, body.secret, body.types or []))


@router.get("", dependencies=WRITE, response_model=SubscriptionPage)
def list_subscriptions(store: deps.SubscriptionRecords) -> dict[str, Any]:
    return {"items": [_out(s) for s in store.all()], "next_cursor": None}


@router.get("/{subscription_id}", dependencies=WRITE, response_model=SubscriptionOut)
def get_subscription(subscription_id: str, store: deps.SubscriptionRecords) -> dict[str, Any]:
    return _out(store.get(subscription_id))


@router.delete("/{subscription_id}", dependencies=WRITE, status_code=204)
def delete_subscription(subscription_id: str, store: deps.SubscriptionRecords) -> Response:
    store.delete(subscription_id)
    return Response(status_code=204)


@router.post("/{subscription_id}/resume", dependencies=WRITE, response_model=SubscriptionOut)
def resume_subscription(subscription_id: str, store: deps.SubscriptionRecords) -> dict[str, Any]:
    """Make a paused subscription active again, its failure count reset. Events from while it was paused
    are not re-sent: read them from `/v1/events?after=`."""
    return _out(store.resume(subscription_id))
