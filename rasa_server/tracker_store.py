"""Rasa's Redis tracker store, each conversation encrypted at rest.

A tracker holds everything a citizen typed (names, phone and ID numbers in
free text) for ``TRACKER_RETENTION_DAYS``. Stored in clear, a Redis dump, an
AOF file or a replica would hand all of it out. Here each tracker is one
Fernet token under a key derived from ``TRACKER_KEY`` (``common/trackers.py``);
Rasa and the staff tools read conversations through Rasa's API as before, and
the console's conversations screen unseals them with the same key.

endpoints.yml: ``type: rasa_server.tracker_store.EncryptedRedisTrackerStore``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from cryptography.fernet import InvalidToken
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from common import trackers
from common.privacy import pseudonym

logger = logging.getLogger(__name__)


class EncryptedRedisTrackerStore(RedisTrackerStore):
    """Like Rasa's Redis store; what reaches Redis is ciphertext."""

    def __init__(self, domain: Domain, key: str | None = None, **kwargs: Any) -> None:
        super().__init__(domain, **kwargs)
        self._cipher = trackers.cipher(key or os.environ.get("TRACKER_KEY", ""))

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
