"""The project's own error tree. Third-party exceptions are converted at the boundary into these.

    AggregatorError
    ├── NotFound             an id that names nothing
    ├── InvalidInput         a value a caller sent is unusable (bad URL, bad cursor)
    ├── Unauthorized         a write without a valid API key
    ├── FetchError           a remote answered badly or not at all
    │   ├── TemporaryFetchError   worth retrying later (timeout, 5xx, 429, connection reset)
    │   │   └── HostBusy           our own politeness limit: not the host's failure, try again soon
    │   └── BlockedAddress        the URL resolves to an address we refuse to fetch
    ├── ParseError           a feed or page could not be understood
    └── StorageError         Redis failed; always temporary from the caller's view

Expected outcomes ("not modified", "extraction fell back to the summary") are values, not errors.
Nothing here knows about HTTP status codes: `api/` maps them.
"""

from __future__ import annotations


class AggregatorError(Exception):
    """Root of every error the project raises on purpose."""


class NotFound(AggregatorError):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} not found")
        self.kind = kind
        self.ident = ident


class InvalidInput(AggregatorError):
    pass


class Unauthorized(AggregatorError):
    pass


class FetchError(AggregatorError):
    pass


class TemporaryFetchError(FetchError):
    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class HostBusy(TemporaryFetchError):
    pass


class BlockedAddress(FetchError):
    pass


class ParseError(AggregatorError):
    pass


class StorageError(AggregatorError):
    pass
