"""The network layer every fetch goes through: which addresses may be reached, checked on the socket
actually opened, and a total deadline on every socket operation of one exchange."""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from aggregator.core.identity import normalise_url
from aggregator.errors import BlockedAddress, FetchError, InvalidInput, TemporaryFetchError
from aggregator.ingest.transport import PoolTransport
from aggregator.settings import Settings

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOW_HINT = "AGGREGATOR_ALLOW_PRIVATE_HOSTS=true allows it (for local use)"

# IPv6 ranges refused whatever follows: IPv4-compatible (::a.b.c.d, deprecated), SIIT
# (::ffff:0:a.b.c.d), local-use NAT64 (its IPv4 side is a private network), site-local (deprecated).
_REFUSED_V6 = tuple(
    ipaddress.IPv6Network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "fec0::/10")
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the IPv4 address is its last 32 bits


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address reaches through: mapped, NAT64, 6to4, Teredo."""
    out = [v4 for v4 in (ip.ipv4_mapped, ip.sixtofour) if v4 is not None]
    if ip in _NAT64:
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.teredo is not None:
        out += list(ip.teredo)
    return out


def is_public(ip: IP) -> bool:
    """Whether the service may connect to `ip`: a global unicast address, and for an IPv6 address
    that embeds IPv4 ones, each of those too."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public(ip.ipv4_mapped)
        if any(ip in net for net in _REFUSED_V6):
            return False
        if not all(is_public(v4) for v4 in _embedded_v4(ip)):
            return False
    return ip.is_global and not ip.is_multicast


def check_address(url: str, allow_private: bool) -> None:
    """Refuse URLs that are not http(s) or whose host resolves to a non-public address. A URL that is
    no valid URL (a port out of range, a host label too long) is a FetchError too: it will never work."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress(f"only http and https URLs are fetched: {url!r}")
    try:
        normalise_url(url)  # the same rules as every URL the service takes in
    except InvalidInput as exc:
        raise FetchError(f"not a valid URL: {exc}") from exc
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TemporaryFetchError(f"cannot resolve {parts.hostname}: {exc}") from exc
    except UnicodeError as exc:  # the resolver's IDNA encoding: an empty or over-long label
        raise FetchError(f"not a valid host name {parts.hostname!r}: {exc}") from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not is_public(ip):
            raise BlockedAddress(f"{parts.hostname} is or resolves to non-public address {ip}; {ALLOW_HINT}")


# The monotonic time by which the current thread's exchange must be over; set by `Fetcher` around each
# request and read by every socket operation, so trickled headers are cut as surely as a trickled body.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("fetch_deadline", default=None)


def _time_left(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout` for one socket operation, shortened to what is left before the deadline."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the total deadline has passed")
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def total_deadline(seconds: float) -> Iterator[None]:
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


class DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose reads and writes never wait past the total deadline (httpx's timeouts are
    per operation: a server sending a byte a second would hold a worker forever)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the rules allow, checked on the address actually connected to.

    The host is resolved once here and the socket opened to that checked IP, so a DNS answer that
    changes between a check and the connection (rebinding) cannot slip a private address through.
    Numeric forms (decimal "2130706433", octal "0177.0.0.1", "::ffff:127.0.0.1") resolve to what they
    mean before the check.
    """

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if not self.allow_private:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise TemporaryFetchError(f"cannot resolve {host}: {exc}") from exc
            ips = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
            if blocked := [ip for ip in ips if not is_public(ip)]:
                raise BlockedAddress(
                    f"{host} is or resolves to non-public address {blocked[0]}; {ALLOW_HINT}"
                )
            hosts = [str(ip) for ip in ips]
        else:
            hosts = [host]
        # Every address the name has, in the resolver's order, until one answers.
        for i, address in enumerate(hosts):
            try:
                left = _time_left(timeout, httpcore.ConnectTimeout)
                stream = super().connect_tcp(address, port, left, local_address, socket_options)
                return DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if i == len(hosts) - 1:
                    raise
        raise httpcore.ConnectError(f"{host} has no address")


def guarded_client(settings: Settings, **options: Any) -> httpx.Client:
    """An httpx client whose every connection goes through `GuardedBackend`."""
    backend = GuardedBackend(settings.allow_private_hosts)
    pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=backend)
    return httpx.Client(transport=PoolTransport(pool), trust_env=False, **options)
