"""Read responses encoded straight to JSON bytes.

The views build plain dicts and lists that already have the shape `schemas.py` declares (the
contract tests hold them to it), so the busiest routes hand them to orjson as they are instead of
validating each one into a model first. The routes keep `response_model` for the OpenAPI document.
Times become ISO 8601 strings here, as the models' `Time` fields do for the other routes.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from aggregator.core.timestamps import with_iso_times


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(with_iso_times(content))
