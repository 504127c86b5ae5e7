"""Subscriptions to dossier status changes, per dossier and channel sender.

A sender is ``<channel>:<id>`` (``sms:84901234567``, ``telegram:42``). Two Redis
sets keep both directions: the senders of a dossier and the dossiers of a sender.

Effects once (issue 19): a change asked by a message with an idempotency key (the
channel's update or message id) is done once; a repeat of that message (a channel
delivering it again, a turn run again) changes nothing and answers what the first
did, even after a later message undid it (``subs:once:<key>``, kept ``ONCE_TTL_S``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from common.pairs import Follows
from common.text import as_str

ONCE_TTL_S = 2 * 24 * 3600  # as long as a channel may deliver a message again
T = TypeVar("T")


def _by_code(code: str) -> str:
    return f"subs:code:{code}"


def _by_sender(sender: str) -> str:
    return f"subs:sender:{sender}"


_FOLLOWS = Follows(_by_code, _by_sender)


async def _once(redis: Any, key: str | None, effect: Callable[[], Awaitable[T]]) -> T:
    """``effect()``, unless ``key`` asked for a change before: then what that one answered.

    Two repeats at the very same time may both run the effect; both effects are set operations,
    so the state is the same (only a repeat after a later change must not act, and it does not)."""
    if not key:
        return await effect()
    first = await redis.get(f"subs:once:{key}")
    if first is not None:
        return json.loads(first)
    result = await effect()
    await redis.set(f"subs:once:{key}", json.dumps(result), nx=True, ex=ONCE_TTL_S)
    return result


async def subscribe(redis: Any, code: str, sender: str, key: str | None = None) -> bool:
    """Subscribe ``sender`` to ``code``; False when it already was. ``key``: the idempotency key
    of the message that asked (a repeat of it changes nothing)."""

    async def add() -> bool:
        return bool(await _FOLLOWS.add(redis, sender, [code]))

    return await _once(redis, f"sub:{key}" if key else None, add)


async def unsubscribe(redis: Any, sender: str, code: str | None = None, key: str | None = None) -> list[str]:
    """Unsubscribe ``sender`` from ``code``, or from everything; returns the codes dropped.
    ``key``: the idempotency key of the message that asked (a repeat of it changes nothing)."""
    return await _once(redis, f"unsub:{key}" if key else None, lambda: _unsubscribe(redis, sender, code))


async def _unsubscribe(redis: Any, sender: str, code: str | None) -> list[str]:
    codes = [code] if code else sorted(await _FOLLOWS.of(redis, sender))
    return await _FOLLOWS.remove(redis, sender, codes)


async def subscribers(redis: Any, code: str) -> set[str]:
    """Every sender subscribed to ``code``."""
    return {as_str(s) for s in await redis.smembers(_by_code(code))}


async def codes_of(redis: Any, sender: str) -> set[str]:
    """Every dossier ``sender`` is subscribed to."""
    return await _FOLLOWS.of(redis, sender)
