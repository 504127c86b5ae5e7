"""Rasa's Redis tracker store, each conversation encrypted at rest.

A tracker holds everything a citizen typed (names, phone and ID numbers in
free text) for ``TRACKER_RETENTION_DAYS``. Stored in clear, a Redis dump, an
AOF file or a replica would hand all of it out. Here each tracker is one
Fernet token (AES-128-CBC with HMAC-SHA256, from the ``cryptography`` package
Rasa already depends on) under a key derived from ``TRACKER_KEY``; Rasa and
the staff tools read conversations through Rasa's API as before.

endpoints.yml: ``type: rasa_server.tracker_store.EncryptedRedisTrackerStore``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from common.privacy import pseudonym

logger = logging.getLogger(__name__)


def fernet(secret: str) -> Fernet:
    """The cipher for a secret of any length (a Fernet key is 32 bytes, url-safe base64)."""
    if not secret:
        raise ValueError("TRACKER_KEY is not set: conversations would be stored in clear")
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


class EncryptedRedisTrackerStore(RedisTrackerStore):
    """Like Rasa's Redis store; what reaches Redis is ciphertext."""

    def __init__(self, domain: Domain, key: str | None = None, **kwargs: Any) -> None:
        super().__init__(domain, **kwargs)
        self._cipher = fernet(key or os.environ.get("TRACKER_KEY", ""))

    def serialise_tracker(self, tracker: DialogueStateTracker) -> str:  # type: ignore[override]
        return self._cipher.encrypt(super().serialise_tracker(tracker).encode()).decode()

    def deserialise_tracker(self, sender_id: str, serialised_tracker: str | bytes) -> DialogueStateTracker | None:
        raw = serialised_tracker.encode() if isinstance(serialised_tracker, str) else serialised_tracker
        try:
            plain = self._cipher.decrypt(raw)
        except InvalidToken:
            # Another key, or a tracker written in clear before encryption: start the conversation anew.
            logger.warning("tracker of %s unreadable with this TRACKER_KEY: starting anew", pseudonym(sender_id))
            return self.init_tracker(sender_id)
        return super().deserialise_tracker(sender_id, plain)
