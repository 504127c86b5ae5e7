"""Messages pushed to the web chat: staff replies, status changes, ticket answers.

Each web session has a Redis stream ``push:web:<session>`` holding its last
``KEEP`` messages for ``TTL_S`` (a page closed when a message came shows it when
it opens again). The page listens with Server-Sent Events
(``GET /api/push``): the stream ids are the event ids, so a page that
reconnects (``Last-Event-ID``) or reopens (``?after=``, kept by the page) gets
exactly what it has not shown.

A gateway holds one Redis pub/sub subscription (``push:new``, the session as the
message) for all its open pages, not one blocking read per page; a page also
re-reads its stream every ``HEARTBEAT_S`` whatever pub/sub says, so a lost
notification delays a message, never loses it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import defaultdict
from typing import Any

from aiohttp import web
from redis import exceptions as redis_errors

from clients.rasa import BotMessage
from common.privacy import pseudonym
from common.text import as_str
from content import texts

logger = logging.getLogger(__name__)

KEEP = 50
TTL_S = 7 * 24 * 3600
CHANNEL = "push:new"
HEARTBEAT_S = 15.0
MAX_STREAMS = 5  # open pages per session and gateway (tabs of one citizen); more is refused
_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def stream_key(session: str) -> str:
    return f"push:web:{session}"


class PushStore:
    """Writes messages for a web session and reads them back."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def push(self, session: str, messages: list[BotMessage], kind: str = "bot") -> str:
        """Keep ``messages`` for the session and wake its pages; the last stream id.

        ``kind``: ``staff`` (a staff member wrote it), ``notice`` (a notification) or ``bot``.
        """
        key = stream_key(session)
        pipe = self.redis.pipeline(transaction=True)
        for message in messages:
            pipe.xadd(key, {"kind": kind, "message": json.dumps(message.to_json(), ensure_ascii=False)},
                      maxlen=KEEP, approximate=False)
        pipe.expire(key, TTL_S)
        pipe.publish(CHANNEL, session)
        results = await pipe.execute()
        return as_str(results[len(messages) - 1]) if messages else ""

    async def notify(self, session: str, text: str) -> None:
        """The notifier's sender for the ``web`` channel (status changes, ticket answers)."""
        await self.push(session, [BotMessage(text)], kind="notice")

    async def after(self, session: str, last_id: str) -> list[tuple[str, dict[str, Any]]]:
        """Messages kept after ``last_id`` (``0``: all kept), oldest first: (id, {kind, message})."""
        start = f"({last_id}" if _ID.match(last_id) else "-"
        entries = await self.redis.xrange(stream_key(session), min=start, max="+")
        out = []
        for entry_id, fields in entries:
            data = {as_str(k): as_str(v) for k, v in fields.items()}
            out.append((as_str(entry_id), {"kind": data.get("kind", "bot"), **json.loads(data["message"])}))
        return out


class PushHub:
    """One pub/sub subscription per gateway, waking the pages of a session when it has news."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task | None = None
        self.closing = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="push-hub")

    def close_streams(self) -> None:
        """The gateway shuts down: open pages' streams end now (they reconnect to another replica)."""
        self.closing = True
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    async def stop(self) -> None:
        self.close_streams()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def watching(self, session: str) -> int:
        return len(self._waiters.get(session, ()))

    def watch(self, session: str) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters[session].add(event)
        return event

    def unwatch(self, session: str, event: asyncio.Event) -> None:
        waiters = self._waiters.get(session)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[session]

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        for event in self._waiters.get(as_str(message["data"]), ()):
                            event.set()
            except asyncio.CancelledError:
                raise
            except (redis_errors.ConnectionError, OSError):
                logger.warning("push hub: Redis unreachable, retrying (pages re-read every %s s)", HEARTBEAT_S)
                await asyncio.sleep(1)
            finally:
                await pubsub.reset()


def _event(entry_id: str, data: dict[str, Any]) -> bytes:
    return f"id: {entry_id}\nevent: message\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def serve(request: web.Request, store: PushStore, hub: PushHub, session: str) -> web.StreamResponse:
    """Stream a session's messages as Server-Sent Events, from after the last one the page saw
    (``Last-Event-ID`` on a reconnect, else ``?after=``), until the page goes away."""
    last = request.headers.get("Last-Event-ID") or request.query.get("after", "0")
    if hub.watching(session) >= MAX_STREAMS:
        return web.json_response({"error": texts.text("chat.too_many_windows")},
                                 status=429)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    woken = hub.watch(session)
    logger.info("push stream opened for %s", pseudonym(session))
    try:
        await response.write(b"retry: 2000\n\n")
        while not hub.closing:
            woken.clear()  # before reading: a message that comes during the read wakes the next wait
            for entry_id, data in await store.after(session, last):
                await response.write(_event(entry_id, data))
                last = entry_id
            try:
                await asyncio.wait_for(woken.wait(), HEARTBEAT_S)
            except asyncio.TimeoutError:
                await response.write(b": ping\n\n")
    except ConnectionResetError:  # the page went away
        pass
    finally:
        hub.unwatch(session, woken)
    return response
