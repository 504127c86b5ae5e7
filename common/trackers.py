"""How a Rasa tracker is sealed in Redis: one Fernet token (AES-128-CBC + HMAC-SHA256, the
``cryptography`` package) under a key derived from ``TRACKER_KEY``.

Rasa writes and reads them through ``rasa_server.tracker_store``; the staff console's
conversations screen reads them here (Rasa's HTTP API has no list of conversations).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "tracker:tracker:"  # endpoints.yml key_prefix "tracker" + Rasa's own "tracker:"


def cipher(secret: str) -> Fernet:
    """The cipher for a secret of any length (a Fernet key is 32 bytes, url-safe base64)."""
    if not secret:
        raise ValueError("TRACKER_KEY is not set: conversations would be stored in clear")
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def unseal(sealed: str | bytes, key: Fernet) -> dict[str, Any] | None:
    """The tracker's JSON dialogue, or None when it was sealed under another key (or is no tracker)."""
    raw = sealed.encode() if isinstance(sealed, str) else sealed
    try:
        data = json.loads(key.decrypt(raw))
    except (InvalidToken, ValueError):
        return None
    return data if isinstance(data, dict) else None
