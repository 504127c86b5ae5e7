"""Who follows what, kept both ways in Redis: a set of senders per subject (a dossier code, a news
topic) and a set of subjects per sender, changed together so the two never disagree."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from common.text import as_str


@dataclass(frozen=True)
class Follows:
    """The two sets' key names: ``by_subject(subject)`` holds senders, ``by_sender(sender)`` subjects."""

    by_subject: Callable[[str], str]
    by_sender: Callable[[str], str]

    async def add(self, redis: Any, sender: str, subjects: Iterable[str]) -> list[str]:
        """``sender`` follows ``subjects``; the ones it did not follow yet."""
        return await self._change(redis, "sadd", sender, subjects)

    async def remove(self, redis: Any, sender: str, subjects: Iterable[str]) -> list[str]:
        """``sender`` stops following ``subjects``; the ones it followed."""
        return await self._change(redis, "srem", sender, subjects)

    async def of(self, redis: Any, sender: str) -> set[str]:
        """Every subject ``sender`` follows."""
        return {as_str(s) for s in await redis.smembers(self.by_sender(sender))}

    async def _change(self, redis: Any, command: str, sender: str, subjects: Iterable[str]) -> list[str]:
        subjects = list(dict.fromkeys(subjects))
        if not subjects:
            return []
        pipe = redis.pipeline(transaction=True)  # both directions of every subject, or nothing
        for subject in subjects:
            getattr(pipe, command)(self.by_subject(subject), sender)
            getattr(pipe, command)(self.by_sender(sender), subject)
        changed = (await pipe.execute())[::2]
        return [s for s, n in zip(subjects, changed, strict=True) if n]
