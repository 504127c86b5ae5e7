"""Replies stored before they are sent: the Rasa turn runs once, only the sending is retried.

One mechanism for the chat channels that answer through an outside API (Telegram, Zalo):

1. a channel renders a turn's replies into *parts* (what one API call sends: a Telegram
   message with its keyboard, a Zalo message body) and queues them, as one :class:`Turn`,
   on its outbox stream ``<channel>:out`` (Zalo in the same transaction that acknowledges
   the event it answers);
2. a :class:`ReplyOutbox` consumer (:class:`common.streams.StreamConsumer`: attempt limit,
   backoff, entries of a dead replica taken over) sends the parts in order and counts the
   ones sent (``<channel>:sent:<entry>``), so a retry, or another replica after a crash,
   sends only what was not sent yet and never runs the turn again;
3. the channel's part sender says how a send failed: :class:`SendLater` (unreachable, 5xx,
   an answer that is no JSON, still rate limited after its own quick tries) leaves the
   entry for a retry, and on its last attempt the message is given up; :class:`NotDelivered`
   (the API refused it: a retry changes nothing) gives it up at once;
4. a message given up goes to the channel's fallback (Zalo: an SMS outside the interaction
   window) or is set aside in ``<channel>:undelivered`` (:func:`record`) with the reason and
   the message itself, which staff resend from the console (:func:`requeue`).

Within one replica, the turns of one recipient are sent in order (a lock per recipient);
a turn waiting for its retry does not hold back the next one's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from common.privacy import pseudonym
from common.settings import Settings
from common.streams import Entry, StreamConsumer, consumer_name, policy_from
from common.tasks import stop_loop
from common.text import as_str

logger = logging.getLogger(__name__)

PROGRESS_TTL_S = 2 * 24 * 3600  # parts sent of a turn, while its sending is retried


def outbox_stream(channel: str) -> str:
    """Turns waiting to be sent on one channel."""
    return f"{channel}:out"


def undelivered_stream(channel: str) -> str:
    """Messages one channel gave up on, for staff."""
    return f"{channel}:undelivered"


class SendLater(Exception):
    """The API did not answer usefully (unreachable, 5xx, no JSON, still rate limited): retry the turn later."""

    def __init__(self, error: str, reason: str) -> None:
        super().__init__(reason)
        self.error, self.reason = error, reason[:300]


class NotDelivered(Exception):
    """The API refused the message: a retry changes nothing. ``record``: set it aside for staff;
    ``rest``: still send the turn's other messages (False when nobody will read them: a blocked bot)."""

    def __init__(self, error: str, reason: str, record: bool = True, rest: bool = True) -> None:
        super().__init__(reason)
        self.error, self.reason, self.record, self.rest = error, reason[:300], record, rest


@dataclass
class Turn:
    """A turn's replies for one recipient: each message ``{"text": ..., "parts": [...], ...}``, the
    parts as the channel will send them; ``context`` is the channel's own (who asked, in which chat)."""

    to: str  # the recipient within the channel (a Telegram chat, a Zalo user)
    messages: list[dict[str, Any]]
    context: dict[str, Any] = field(default_factory=dict)
    id: str = ""  # the outbox entry, once queued

    def dumps(self) -> str:
        return json.dumps({"to": self.to, "messages": self.messages, "context": self.context}, ensure_ascii=False)

    @classmethod
    def loads(cls, raw: str, entry_id: str = "") -> Turn:
        data = json.loads(raw)
        return cls(str(data["to"]), list(data["messages"]), dict(data.get("context") or {}), entry_id)


SendPart = Callable[[Turn, dict[str, Any], int], Awaitable[None]]  # (turn, message, index of the part)
Fallback = Callable[[Turn, dict[str, Any], Exception], Awaitable[bool]]  # True: the message went another way


async def record(redis: Any, channel: str, recipient_field: str, to: str, message: dict[str, Any], error: str,
                 reason: str, context: dict[str, Any] | None = None) -> None:
    """Set a message aside in ``<channel>:undelivered``: for whom, when, why, and the message itself."""
    fields = {recipient_field: to, "to": to, "text": message.get("text", ""),
              "message": json.dumps(message, ensure_ascii=False),
              "context": json.dumps(context or {}, ensure_ascii=False),
              "error": error, "reason": reason[:300], "at": f"{time.time():.0f}"}
    await redis.xadd(undelivered_stream(channel), fields)
    logger.warning("%s reply to %s not delivered (%s); recorded", channel, pseudonym(to), error)


def resendable(fields: dict[str, str]) -> bool:
    """A record made by :func:`record` (it holds the message as it was to be sent)."""
    return bool(fields.get("to")) and fields.get("message", "").startswith("{")


async def requeue(redis: Any, channel: str, fields: dict[str, str]) -> str:
    """Queue a recorded message again on its channel's outbox; the new entry id."""
    turn = Turn(fields["to"], [json.loads(fields["message"])], json.loads(fields.get("context") or "{}"))
    return as_str(await redis.xadd(outbox_stream(channel), {"turn": turn.dumps()}))


class ReplyOutbox:
    """The outbox of one channel: queue turns, and the consumer that sends them (see the module)."""

    def __init__(self, redis: Any, channel: str, settings: Settings, send: SendPart, recipient_field: str,
                 fallback: Fallback | None = None, concurrency: int = 1) -> None:
        self.redis = redis
        self.channel = channel
        self.stream = outbox_stream(channel)
        self.send = send
        self.recipient_field = recipient_field
        self.fallback = fallback
        self.consumer = StreamConsumer(
            redis, self.stream, f"{channel}-senders",
            consumer_name(f"{channel}-out", settings.consumer_name, settings.consumer_index), self._handle,
            dead_stream=undelivered_stream(channel), policy=policy_from(settings, batch=20, concurrency=concurrency),
        )
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the consumer loop (it creates its group itself: a gateway starts while Redis is down)."""
        self._task = asyncio.create_task(self.consumer.run(self._stopping), name=f"{self.channel}-outbox")

    async def stop(self) -> None:
        await stop_loop(self._task, self._stopping)

    def alive(self) -> bool:
        """The sending loop ticks within its deadline."""
        return self.consumer.alive()

    # -- in --------------------------------------------------------------------------

    def queue(self, pipe: Any, turn: Turn) -> None:
        """Add the turn to the caller's transaction (sent once that transaction is executed)."""
        pipe.xadd(self.stream, {"turn": turn.dumps()})

    async def put(self, turn: Turn) -> str:
        """Queue a turn; its entry id."""
        return as_str(await self.redis.xadd(self.stream, {"turn": turn.dumps()}))

    # -- out -------------------------------------------------------------------------

    def _lock(self, to: str) -> asyncio.Lock:
        lock = self._locks.get(to)
        if lock is None:
            lock = self._locks[to] = asyncio.Lock()
        return lock

    async def _handle(self, entry: Entry) -> None:
        """Send what was not sent of one turn, then acknowledge it (a :class:`SendLater` before the
        last attempt leaves it pending: the consumer retries it with backoff)."""
        turn = Turn.loads(entry.fields["turn"], entry.id)
        progress = f"{self.channel}:sent:{entry.id}"
        async with self._lock(turn.to):
            done = int(as_str(await self.redis.get(progress) or b"0"))
            position = 0
            for message in turn.messages:
                parts = message["parts"]
                if position + len(parts) <= done:
                    position += len(parts)
                    continue
                try:
                    for index in range(max(done - position, 0), len(parts)):
                        await self.send(turn, message, index)
                        done = await self.redis.incr(progress)
                        await self.redis.expire(progress, PROGRESS_TTL_S)
                except SendLater as exc:
                    if await self.consumer.attempts(entry.id) < self.consumer.policy.max_attempts:
                        raise
                    await self._give_up(turn, message, exc)
                except NotDelivered as exc:
                    if not exc.rest:
                        break
                    await self._give_up(turn, message, exc)
                position += len(parts)
                done = max(done, position)
                await self.redis.set(progress, done, ex=PROGRESS_TTL_S)
            pipe = self.redis.pipeline(transaction=True)
            self.consumer.ack(pipe, entry.id)
            pipe.xdel(self.stream, entry.id)
            pipe.delete(progress)
            await pipe.execute()

    async def _give_up(self, turn: Turn, message: dict[str, Any], exc: SendLater | NotDelivered) -> None:
        if self.fallback is not None and await self.fallback(turn, message, exc):
            return
        if isinstance(exc, NotDelivered) and not exc.record:
            return
        await record(self.redis, self.channel, self.recipient_field, turn.to, message, exc.error, exc.reason,
                     turn.context)
