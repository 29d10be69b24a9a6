"""Route modules, one per resource."""

from __future__ import annotations

import hmac

from fastapi import Depends, Request

from aggregator.errors import Unauthorized
from aggregator.services import Services


def services_of(request: Request) -> Services:
    """The Services the app was started with (see `create_app`)."""
    services: Services = request.app.state.services
    return services


def require_key(request: Request) -> None:
    """Writes need `Authorization: Bearer <key>` with a configured key; with none configured, all pass."""
    keys = services_of(request).settings.api_keys
    if not keys:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not any(hmac.compare_digest(given.strip(), k) for k in keys):
        raise Unauthorized("this request needs Authorization: Bearer <key> with a valid API key")


WRITE = [Depends(require_key)]  # the dependencies of every route that changes something
