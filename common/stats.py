"""Service figures for the staff dashboard, counted in Redis per local day.

Each figure is a hash ``stats:<yyyy-mm-dd>:<figure>`` of counters (messages by
channel, lookups by outcome, parsed messages by intent, SMS receipts by final
state) or, for response times, a list of milliseconds per channel (the last
``MAX_SAMPLES`` of the day). Keys live ``KEEP_DAYS``. No message text, phone
number or sender id is ever stored here. Counting never costs a citizen their
answer: a Redis error is logged and forgotten.

Satisfaction is not counted here: ratings are the dossier system's records
(``GET /api/v1/ratings/daily``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from common.dates import local_now
from common.text import as_str

logger = logging.getLogger(__name__)

KEEP_DAYS = 400
MAX_SAMPLES = 5000

MESSAGES = "messages"  # field: channel
LOOKUPS = "lookups"  # field: found, not_found, other_agency, invalid
INTENTS = "intents"  # field: intent name (nlu_fallback included)
DLR = "dlr"  # field: final state of an SMS part (DELIVRD, UNDELIV, ...)
HANDOFFS = "handoffs"  # field: channel (a conversation handed to a staff member)
RESPONSE_MS = "response_ms"  # list per channel
CONVERSATIONS = "conversations"  # HyperLogLog per channel of the day's senders (pseudonyms; nothing readable back)
COUNTERS = (MESSAGES, LOOKUPS, INTENTS, DLR, HANDOFFS)


@dataclass(frozen=True)
class Count:
    figure: str
    field: str
    n: int = 1


def key(day: dt.date, figure: str, channel: str = "") -> str:
    return f"stats:{day.isoformat()}:{figure}" + (f":{channel}" if channel else "")


def queue(pipe: Any, counts: Iterable[Count], day: dt.date | None) -> Any:
    day = day or local_now().date()
    ttl = KEEP_DAYS * 86400
    for count in counts:
        pipe.hincrby(key(day, count.figure), count.field, count.n)
        pipe.expire(key(day, count.figure), ttl)
    return pipe


def queue_response(pipe: Any, channel: str, seconds: float | Iterable[float], day: dt.date | None = None) -> Any:
    """Add "a message of ``channel`` answered in ``seconds``" (or several) to a pipeline (to share its round trip)."""
    name = key(day or local_now().date(), RESPONSE_MS, channel)
    pipe.rpush(name, *(int(s * 1000) for s in ([seconds] if isinstance(seconds, int | float) else seconds)))
    pipe.ltrim(name, -MAX_SAMPLES, -1)
    pipe.expire(name, KEEP_DAYS * 86400)
    return pipe


def queue_conversation(pipe: Any, channel: str, who: str | Iterable[str], day: dt.date | None = None) -> Any:
    """Add "``who`` (a pseudonym, or several) wrote on ``channel``" to the day's conversations
    (one per sender a day)."""
    name = key(day or local_now().date(), CONVERSATIONS, channel)
    pipe.pfadd(name, *([who] if isinstance(who, str) else who))
    pipe.expire(name, KEEP_DAYS * 86400)
    return pipe


async def record(client: Any, *counts: Count, response: tuple[str, float] | None = None,
                 day: dt.date | None = None, conversation: tuple[str, str] | None = None) -> None:
    """Add ``counts`` (a ``(channel, seconds)`` response time, a ``(channel, pseudonym)`` conversation)
    to today's figures, in one round trip."""
    try:
        pipe = queue(client.pipeline(transaction=False), counts, day)
        if response is not None:
            queue_response(pipe, *response, day)
        if conversation is not None:
            queue_conversation(pipe, *conversation, day)
        await pipe.execute()
    except (redis.RedisError, OSError):
        logger.warning("service figures not recorded: Redis unreachable")


@dataclass
class DayFigures:
    day: dt.date
    counters: dict[str, dict[str, int]]
    response_ms: dict[str, list[int]]


async def read(client: Any, first: dt.date, last: dt.date, channels: Iterable[str]) -> list[DayFigures]:
    """Every figure of each day from ``first`` to ``last``."""
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    channels = list(channels)
    pipe = client.pipeline(transaction=False)
    for day in days:
        for figure in COUNTERS:
            pipe.hgetall(key(day, figure))
        for channel in channels:
            pipe.lrange(key(day, RESPONSE_MS, channel), 0, -1)
    replies = iter(await pipe.execute())
    out = []
    for day in days:
        counters = {figure: {as_str(k): int(v) for k, v in next(replies).items()} for figure in COUNTERS}
        response = {channel: [int(v) for v in next(replies)] for channel in channels}
        out.append(DayFigures(day, counters, response))
    return out




async def conversations(client: Any, first: dt.date, last: dt.date, channels: Iterable[str]) -> dict[str, int]:
    """Conversations per channel from ``first`` to ``last``: each day's distinct senders, added up
    (HyperLogLog estimates, exact for small counts)."""
    channels = list(channels)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    pipe = client.pipeline(transaction=False)
    for day in days:
        for channel in channels:
            pipe.pfcount(key(day, CONVERSATIONS, channel))
    replies = iter(await pipe.execute())
    out = dict.fromkeys(channels, 0)
    for _ in days:
        for channel in channels:
            out[channel] += int(next(replies))
    return out
