"""A Content-Security-Policy on every HTML page the service sends (the reading pages and the API docs):
the browser loads scripts, styles, images and connections from this service only. An offline install
works the same as an online one, and a vendored asset that links elsewhere (ReDoc's logo) is not
fetched at all."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Swagger UI and ReDoc start from inline scripts and style their elements inline; ReDoc searches in a
# worker made from a blob.
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


class ContentPolicy:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html"):
                    message["headers"] = [*headers, (b"content-security-policy", POLICY.encode())]
            await send(message)

        await self.app(scope, receive, with_policy)
