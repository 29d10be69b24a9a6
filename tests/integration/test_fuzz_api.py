"""Every endpoint fuzzed from the OpenAPI document (Schemathesis): valid and invalid requests alike get
an answer under 500 of bounded size, against the real API with a real Redis. The event stream, which
never ends by design, is left out; its parameters have their own tests."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings

from aggregator.settings import Settings
from tests.conftest import serve_api
from tests.fixtures.sender import Recorder

EXAMPLES = 25  # per operation: the suite stays fast; run with more by hand when changing the API


def test_no_request_gets_a_server_error(settings: Settings) -> None:
    with serve_api(settings, Recorder()) as api:
        schema = schemathesis.openapi.from_url(f"{api.base}/openapi.json").exclude(path="/v1/events")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        for operation in operations:

            @given(case=operation.as_strategy())
            @fuzz_settings(
                max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
            )
            def call(case: Any) -> None:
                response = case.call(timeout=10)
                where = f"{case.method} {case.formatted_path}"
                assert response.status_code < 500, (where, response.text[:300])
                assert len(response.content) < 1_000_000, where

            call()
