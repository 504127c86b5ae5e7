"""Subscriptions to dossier status changes, per dossier and channel sender.

A sender is ``<channel>:<id>`` (``sms:84901234567``, ``telegram:42``). Two Redis
sets keep both directions: the senders of a dossier and the dossiers of a sender.
"""

from __future__ import annotations

from typing import Any

from common.text import as_str


def _by_code(code: str) -> str:
    return f"subs:code:{code}"


def _by_sender(sender: str) -> str:
    return f"subs:sender:{sender}"


async def subscribe(redis: Any, code: str, sender: str) -> bool:
    """Subscribe ``sender`` to ``code``; False when it already was."""
    pipe = redis.pipeline(transaction=True)
    pipe.sadd(_by_code(code), sender)
    pipe.sadd(_by_sender(sender), code)
    added, _ = await pipe.execute()
    return bool(added)


async def unsubscribe(redis: Any, sender: str, code: str | None = None) -> list[str]:
    """Unsubscribe ``sender`` from ``code``, or from everything; returns the codes dropped."""
    codes = [code] if code else [as_str(c) for c in await redis.smembers(_by_sender(sender))]
    dropped = []
    for c in codes:
        pipe = redis.pipeline(transaction=True)
        pipe.srem(_by_code(c), sender)
        pipe.srem(_by_sender(sender), c)
        removed, _ = await pipe.execute()
        if removed:
            dropped.append(c)
    return dropped


async def subscribers(redis: Any, code: str) -> set[str]:
    """Every sender subscribed to ``code``."""
    return {as_str(s) for s in await redis.smembers(_by_code(code))}


async def codes_of(redis: Any, sender: str) -> set[str]:
    """Every dossier ``sender`` is subscribed to."""
    return {as_str(c) for c in await redis.smembers(_by_sender(sender))}
