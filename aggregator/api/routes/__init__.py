"""Route modules, one per resource."""

from __future__ import annotations

from fastapi import Request

from aggregator.services import Services


def services_of(request: Request) -> Services:
    """The Services the app was started with (see `create_app`)."""
    services: Services = request.app.state.services
    return services
