"""Pages and feeds served from memory by asyncio on a thread of the benchmark: a throughput benchmark's
site shares the cores with the service, and should take as little of them as a far server would
(`tests.fixtures.site`, a thread per connection with the fixture's faults and delays, takes several
times more CPU a request).

Only what the benchmarks ask: GET of a path set before, HTTP/1.1 with keep-alive; anything else is a
404, or a 405 that closes the connection.
"""

from __future__ import annotations

import asyncio
import threading

_HEAD_END = b"\r\n\r\n"
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
_NOT_ALLOWED = b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class StaticSite:
    def __init__(self) -> None:
        self._responses: dict[bytes, bytes] = {}
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._server: asyncio.Server | None = None
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        started.wait(10)
        assert self._server is not None, "the site did not start"
        port = self._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"

    def set(self, path: str, body: str, ctype: str = "text/html; charset=utf-8") -> None:
        data = body.encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(data)}\r\n\r\n"
        self._responses[path.encode()] = head.encode() + data

    def shutdown(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            self._loop.create_server(lambda: _Connection(self._responses), "127.0.0.1", 0)
        )
        started.set()
        self._loop.run_forever()


class _Connection(asyncio.Protocol):
    def __init__(self, responses: dict[bytes, bytes]) -> None:
        self.responses = responses
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(_HEAD_END)) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + len(_HEAD_END) :]
            method, _, rest = head.partition(b" ")
            path = rest.partition(b" ")[0]
            if method != b"GET":  # a body may follow, which this site does not read: the connection ends
                self.transport.write(_NOT_ALLOWED)
                self.transport.close()
                return
            self.transport.write(self.responses.get(path, _NOT_FOUND))
