"""HTTP fetching with limits. Outcomes are values (`Fetched`, `NotModified`); failures are our errors.

Every hop of a redirect chain is checked against the address rules before it is requested, the body is
counted as it is decoded and cut at a cap, and a total deadline bounds the whole exchange (httpx's own
timeouts are per read, so a server dribbling one byte a second would never trip them).
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from aggregator.errors import FetchError, TemporaryFetchError
from aggregator.ingest.network import check_address, guarded_client, total_deadline
from aggregator.settings import Settings


@dataclass(frozen=True)
class Fetched:
    url: str
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class NotModified:
    url: str


FetchOutcome = Fetched | NotModified

_REDIRECTS = (301, 302, 303, 307, 308)


Gate = Callable[[str], AbstractContextManager[None]]


def _no_gate(host: str) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


class Fetcher:
    """`gate(origin)` is held around each request: the service passes the cross-worker politeness
    gate (store/hosts.py); the fetcher itself knows nothing of where that state lives."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None, gate: Gate = _no_gate) -> None:
        self.settings = settings
        self.gate = gate
        self.client = client or guarded_client(
            settings,
            timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            # Only encodings `_read_capped` decodes itself, with its bounds.
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def get(
        self, url: str, max_bytes: int, etag: str | None = None, last_modified: str | None = None
    ) -> FetchOutcome:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _ in range(self.settings.max_redirects + 1):
            check_address(url, self.settings.allow_private_hosts)
            try:
                with (
                    self.gate(origin(url)),
                    # Counted from when the host's gate lets this request go, for each hop.
                    total_deadline(self.settings.total_timeout_s),
                    self.client.stream("GET", url, headers=headers) as resp,
                ):
                    if resp.status_code in _REDIRECTS and "location" in resp.headers:
                        url = urljoin(url, resp.headers["location"])
                        continue
                    if resp.status_code == 304:
                        return NotModified(url)
                    _raise_for_status(resp)
                    body = _read_capped(resp, max_bytes)
                    return Fetched(
                        url=str(resp.url),
                        body=body,
                        content_type=resp.headers.get("content-type", ""),
                        etag=resp.headers.get("etag"),
                        last_modified=resp.headers.get("last-modified"),
                    )
            except httpx.TimeoutException as exc:
                raise TemporaryFetchError(f"timed out fetching {url}") from exc
            except httpx.TransportError as exc:
                raise TemporaryFetchError(f"network error fetching {url}: {exc}") from exc
            except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, ValueError) as exc:
                raise FetchError(f"cannot fetch {url}: {exc}") from exc
        raise FetchError(f"more than {self.settings.max_redirects} redirects from {url}")

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST `body` (a webhook delivery); returns the status code. Redirects are not followed: a
        receiver answers where it was registered, and a redirect could point anywhere."""
        check_address(url, self.settings.allow_private_hosts)
        try:
            with (
                self.gate(origin(url)),
                total_deadline(self.settings.total_timeout_s),
                self.client.stream("POST", url, content=body, headers=headers) as resp,
            ):
                # The receiver's answer is not needed past its status: a little of it is read, so the
                # connection can be reused, and the rest is never read (a 1 GB answer costs nothing).
                for _ in resp.iter_raw(RESPONSE_PEEK_BYTES):
                    break
        except httpx.TimeoutException as exc:
            raise TemporaryFetchError(f"timed out posting to {url}") from exc
        except httpx.HTTPError as exc:
            raise TemporaryFetchError(f"network error posting to {url}: {exc}") from exc
        except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
            raise FetchError(f"cannot post to {url}: {exc}") from exc
        return resp.status_code


RESPONSE_PEEK_BYTES = 4096


def origin(url: str) -> str:
    """scheme://host:port: what politeness counts requests by (two sites on one host are two origins)."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{parts.hostname or ''}:{port}"


def _raise_for_status(resp: httpx.Response) -> None:
    code = resp.status_code
    if code < 400:
        return
    if code == 429 or code >= 500:
        retry_after = resp.headers.get("retry-after")
        delay = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise TemporaryFetchError(f"HTTP {code} from {resp.url}", retry_after_s=delay)
    raise FetchError(f"HTTP {code} from {resp.url}")


def _decoder(resp: httpx.Response) -> Any:
    """A zlib decompressor for the body's one content encoding, or None for none."""
    codings = [c.strip().lower() for c in resp.headers.get("content-encoding", "").split(",") if c.strip()]
    # A chain such as "gzip, gzip" multiplies a compression bomb (1.8 KB on the wire, 1 GiB decoded);
    # no honest server needs two.
    if len(codings) > 1:
        raise FetchError(f"{resp.url} uses {len(codings)} content encodings; at most one is accepted")
    coding = codings[0] if codings else "identity"
    if coding == "identity":
        return None
    if coding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return zlib.decompressobj()
    raise FetchError(f"{resp.url} uses unsupported content encoding {coding!r}")


def _read_capped(resp: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body, cut at `max_bytes` decoded bytes (the total deadline is the socket's: see
    `ingest/network.py`).

    Decoding is done here, not by httpx, with a bound on each step's output: httpx inflates a whole
    network chunk at once, and 64 KB of a gzip bomb is 64 MB.
    """
    decoder = _decoder(resp)
    out = bytearray()
    try:
        for raw in resp.iter_raw():
            data = raw
            while data:
                if decoder is None:
                    piece, data = data, b""
                else:
                    piece = decoder.decompress(data, max_bytes + 1 - len(out))
                    data = decoder.unconsumed_tail
                out += piece
                if len(out) > max_bytes:
                    raise FetchError(f"body of {resp.url} exceeds {max_bytes} bytes")
    except zlib.error as exc:
        raise FetchError(f"corrupt compressed body from {resp.url}: {exc}") from exc
    return bytes(out)
