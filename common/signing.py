"""HMAC signatures between our own services, and signed identifiers we hand out.

Webhook bodies: the sender puts the Unix time in ``X-Signature-Timestamp`` and
``sha256=<hex hmac of "<timestamp>." + raw body>`` in ``X-Signature``; the
receiver recomputes it with the shared secret, compares in constant time and
refuses a timestamp more than ``MAX_AGE_S`` away from its clock, so a captured
call cannot be replayed later (the receiver's de-duplication covers the window).

Identifiers (web chat sessions): ``<value>.<mac>``, where the mac is a truncated
HMAC of the value; only the holder of the secret can make one that verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
MAX_AGE_S = 300
_TIMESTAMP_DIGITS = 12  # Unix seconds have 10 digits until the year 2286


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Signature`` value of ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers a sender adds to ``body``: the timestamp and the signature over both."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), HEADER: sign(secret, body, timestamp)}


def verify(secret: str, body: bytes, headers: Mapping[str, str], max_age_s: int = MAX_AGE_S,
           now: float | None = None) -> bool:
    """True when ``headers`` carry a fresh, valid signature of ``body`` under ``secret``.

    False without a secret, with a missing, malformed or non-ASCII header, or with a
    timestamp more than ``max_age_s`` from ``now``.
    """
    given, raw_time = headers.get(HEADER, ""), headers.get(TIMESTAMP_HEADER, "")
    if not secret or not given.isascii() or not (raw_time.isascii() and raw_time.isdigit()):
        return False
    if len(raw_time) > _TIMESTAMP_DIGITS:
        return False
    timestamp = int(raw_time)
    if abs((time.time() if now is None else now) - timestamp) > max_age_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp).encode(), given.encode())


def _mac(secret: str, value: str) -> str:
    digest = hmac.new(secret.encode(), b"id:" + value.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_id(secret: str, value: str) -> str:
    """``value`` with its mac appended: ``<value>.<mac>`` (value without a dot)."""
    return f"{value}.{_mac(secret, value)}"


def unsign_id(secret: str, token: str) -> str | None:
    """The value of a token made by :func:`sign_id` with ``secret``; None when forged or malformed."""
    value, dot, mac = token.rpartition(".")
    if not secret or not dot or not value or not token.isascii():
        return None
    return value if hmac.compare_digest(_mac(secret, value).encode(), mac.encode()) else None
