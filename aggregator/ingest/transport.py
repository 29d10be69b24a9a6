"""An httpx transport over an httpcore connection pool of our choosing, built from public APIs only.

httpx has no parameter for the network backend its default transport connects through, and the
service needs one (`network.GuardedBackend`: every address checked, every read under one deadline).
This transport hands httpx's requests to a pool with that backend and maps httpcore's errors to
httpx's, as httpx's own transport does, so callers see httpx's exceptions only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpcore
import httpx

# Most specific first: a ConnectTimeout is also a TimeoutException.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, ours in _ERRORS:
            if isinstance(exc, core):
                raise ours(str(exc), request=request) from exc
        raise


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: httpcore.Response, request: httpx.Request) -> None:
        self.response = stream
        self.request = request

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx(self.request):
            yield from self.response.iter_stream()

    def close(self) -> None:
        self.response.close()


class PoolTransport(httpx.BaseTransport):
    """httpx requests through `pool`, which this transport owns and closes."""

    def __init__(self, pool: httpcore.ConnectionPool) -> None:
        self.pool = pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )  # fmt: skip
        with _as_httpx(request):
            response = self.pool.handle_request(core)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response, request),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.pool.close()
