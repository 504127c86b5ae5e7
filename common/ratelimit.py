"""The per-user message limit every channel shares (SMS, Telegram, Zalo, web).

A sender (``<channel>:<id>``) may send ``per_min`` messages in the minute that
starts with its first one. The first refusal in a window says so politely; later
ones stay silent, so a flood is not answered with a flood.

The same fixed-window counter, with another key prefix and window, limits other
things per key: web chat messages per client address, dossier codes looked up
and unknown codes tried per hour (``exhausted`` before an action, ``count`` after it).
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from redis import exceptions as redis_errors

logger = logging.getLogger(__name__)


class Verdict(enum.Enum):
    ALLOW = "allow"
    TELL = "tell"  # refuse, and say so once
    SILENT = "silent"  # refuse without a word: already told in this window


class UserRateLimit:
    """Fixed windows (one minute unless told otherwise) counted in Redis (atomic, shared
    by replicas): at most ``per_min`` events of a key per window."""

    def __init__(self, redis: Any, per_min: int, window_s: int = 60, prefix: str = "rate") -> None:
        self.redis = redis
        self.per_min = per_min
        self.window_s = window_s
        self.prefix = prefix

    @property
    def limit(self) -> int:
        """Events allowed per window (``per_min`` is the one-minute name of it)."""
        return self.per_min

    async def check(self, sender: str) -> Verdict:
        """Count one message of ``sender`` and say whether to handle it."""
        return await self.verdict(sender, await self.count(sender))

    async def verdict(self, sender: str, count: int | None) -> Verdict:
        """Whether to handle a message of ``sender``, now counted ``count`` in this window."""
        if count is None or count <= self.per_min:
            return Verdict.ALLOW
        first_refusal = await self.redis.set(f"{self.prefix}:told:{sender}", 1, nx=True, ex=self.window_s)
        return Verdict.TELL if first_refusal else Verdict.SILENT

    async def count(self, key: str) -> int | None:
        """Count one event of ``key``; the count in this window (None: Redis unreachable)."""
        pipe = self.redis.pipeline(transaction=True)
        self.queue_count(pipe, key)
        try:
            _, count = await pipe.execute()
        except redis_errors.ConnectionError:  # fail open: an outage must not silence citizens
            logger.warning("rate limit not checked: Redis unreachable")
            return None
        return int(count)

    def queue_count(self, pipe: Any, key: str) -> None:
        """Add "count one event of ``key``" to a transaction (two results: the SET, then the count)."""
        name = f"{self.prefix}:{key}"
        pipe.set(name, 0, ex=self.window_s, nx=True)
        pipe.incr(name)

    async def exhausted(self, key: str) -> bool:
        """True when ``key`` used up this window's events (nothing is counted)."""
        try:
            count = await self.redis.get(f"{self.prefix}:{key}")
        except redis_errors.ConnectionError:
            logger.warning("rate limit not checked: Redis unreachable")
            return False
        return int(count or 0) >= self.per_min
