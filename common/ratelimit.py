"""The per-user message limit every channel shares (SMS, Telegram, Zalo, web).

A sender (``<channel>:<id>``) may send ``per_min`` messages in the minute that
starts with its first one. The first refusal in a window says so politely; later
ones stay silent, so a flood is not answered with a flood.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from redis import exceptions as redis_errors

logger = logging.getLogger(__name__)

RATE_LIMITED = "Bạn đã gửi quá nhiều tin nhắn. Vui lòng thử lại sau ít phút."


class Verdict(enum.Enum):
    ALLOW = "allow"
    TELL = "tell"  # refuse, and say so once
    SILENT = "silent"  # refuse without a word: already told in this window


class UserRateLimit:
    """Fixed one-minute windows counted in Redis (atomic, shared by replicas)."""

    def __init__(self, redis: Any, per_min: int) -> None:
        self.redis = redis
        self.per_min = per_min

    async def check(self, sender: str) -> Verdict:
        """Count one message of ``sender`` and say whether to handle it."""
        key = f"rate:{sender}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(key, 0, ex=60, nx=True)
        pipe.incr(key)
        try:
            _, count = await pipe.execute()
        except redis_errors.ConnectionError:  # fail open: an outage must not silence citizens
            logger.warning("rate limit not checked: Redis unreachable")
            return Verdict.ALLOW
        if count <= self.per_min:
            return Verdict.ALLOW
        first_refusal = await self.redis.set(f"rate:told:{sender}", 1, nx=True, ex=60)
        return Verdict.TELL if first_refusal else Verdict.SILENT
