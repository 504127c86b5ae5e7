"""HMAC signatures of webhook bodies between our own services.

The sender puts ``sha256=<hex hmac of the raw body>`` in ``X-Signature``; the
receiver recomputes it with the shared secret and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, given: str) -> bool:
    return bool(secret) and hmac.compare_digest(sign(secret, body).encode(), given.encode())
