"""The HTTP protocol the API serves with: uvicorn's (httptools), with a deadline for a request's headers.

uvicorn bounds how long an idle keep-alive connection stays open, but not how long a client may take to
send its headers: thousands of clients dripping a byte a second (slowloris) would each hold a
connection, and a file, for ever. Here a connection that has not sent a whole request head within
`header_timeout_s` of opening, or of its previous response, is closed. A request under way (its headers
in, its body or an event stream going) is not timed by this.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeaderDeadline(HttpToolsProtocol):
    # Set from the settings by the process before it serves (`cli.cmd_api`, `app.from_environment`).
    header_timeout_s = 10.0

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection: its head in time too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _late(self) -> None:
        self._header_timer = None
        self.transport.close()
