"""Webhook signatures: what a receiver recomputes to trust a delivery."""

from __future__ import annotations

import hashlib
import hmac


def signature(body: bytes, secret: str) -> str:
    """`sha256=<hex HMAC-SHA256 of the body keyed with the secret>`, the X-Signature header value."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
