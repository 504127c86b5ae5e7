"""Status-change notifications to every subscriber, on the channel they subscribed from.

Events come from the dossier system two ways: a signed webhook
(``POST /webhooks/dossier-events``) and, as a fallback, polling its event list
(one replica at a time, cursor in Redis). Either way an event enters the Redis
stream ``notify:events`` once (``SET NX`` on its id), so with any number of
gateway replicas:

1. a replica of the ``notifiers`` group takes the event and, in one Redis
   transaction, queues one job per subscriber on ``notify:out:<channel>`` and
   acks it;
2. a replica of the ``notify-senders`` group that serves that channel takes the
   job and delivers it: SMS through the SMS gateway's MT queue (in the same
   transaction as the ack), Telegram and Zalo through their APIs; during quiet
   hours the job waits in a sorted set until the morning. A replica without,
   say, Telegram configured leaves Telegram jobs to the replicas that have it.

An event is expanded once and a job acked once; a chat delivery interrupted
between the API call and the ack is the one window where a message can repeat.

Announcements (``common/news.py``) take the same path: the news stream is
expanded into one job per subscriber of any of the announcement's topics, each
(announcement, sender) queued once ever (a marker set with the job), then
delivered with the same quiet hours and channel senders.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError

from common import news, signing, subscriptions
from common.dates import Span, parse_spans
from common.jsonbody import BadJson, parse_json
from common.privacy import pseudonym
from common.settings import Settings
from common.streams import (
    REDIS_DOWN,
    SMS_OUTBOX,
    Entry,
    StreamConsumer,
    consumer_name,
    ensure_group,
    pause,
    policy_from,
)
from common.tasks import stop_loop
from common.text import as_str
from content import news as news_texts
from content import replies
from dossier_api.client import DossierApiError, DossierClient, cache_key
from dossier_api.models import ChangeEvent

logger = logging.getLogger(__name__)

EVENTS = "notify:events"
EVENTS_GROUP = "notifiers"
OUT_GROUP = "notify-senders"
DEFERRED = "notify:deferred"  # zset: job -> time it may be sent
FAILED = "notify:failed"
CURSOR = "notify:cursor"  # last event id read by polling
POLL_LOCK = "notify:poll:lock"
SEEN_TTL_S = 30 * 24 * 3600

ChatSender = Callable[[str, str], Awaitable[None]]  # (id within the channel, text)
CHANNELS = ("sms", "telegram", "zalo", "web")  # the channels that can reach a citizen later (web: push store)


def out_stream(channel: str) -> str:
    """Jobs waiting to be delivered on one channel."""
    return f"notify:out:{channel}"


def quiet_until(now: dt.datetime, quiet: list[Span]) -> dt.datetime | None:
    """When the quiet span that ``now`` falls in ends; None when not quiet."""
    t = now.timetz().replace(tzinfo=None)
    for start, end in quiet:
        if start <= end:
            inside = start <= t < end
        else:  # across midnight
            inside = t >= start or t < end
        if inside:
            day = now.date() if t < end else now.date() + dt.timedelta(days=1)
            return dt.datetime.combine(day, end, tzinfo=now.tzinfo)
    return None


UNDELIVERED_SCAN = 5000  # dead letters read (newest first) when a ticket page looks for its answers


async def undelivered_ticket_events(redis: Any, number: str, scan: int = UNDELIVERED_SCAN) -> dict[int, str]:
    """The events of ticket ``number`` that never reached its author: event id -> the error class
    (or the reason, e.g. a channel that cannot be notified), from the notifier's dead letters."""
    failed: dict[int, str] = {}
    for _, fields in await redis.xrevrange(FAILED, count=scan):
        data = {as_str(k): as_str(v) for k, v in fields.items()}
        try:
            event = ChangeEvent.parse_raw(data.get("event", ""))
        except ValidationError:
            continue
        if event.kind == "ticket" and event.code == number:
            failed.setdefault(event.id, data.get("error") or data.get("reason", ""))
    return failed


class Notifier:
    """Takes events in, expands them per subscriber, delivers the jobs."""

    def __init__(self, settings: Settings, redis: Any, dossiers: DossierClient,
                 chat_senders: dict[str, ChatSender], clock: Callable[[], dt.datetime] | None = None) -> None:
        self.settings = settings
        self.redis = redis
        self.dossiers = dossiers
        self.chat_senders = chat_senders
        self.tz = ZoneInfo(settings.timezone)
        self.quiet = parse_spans(settings.notify_quiet_hours)
        self.clock = clock or (lambda: dt.datetime.now(self.tz))
        self.channels = ["sms", *chat_senders]  # SMS goes through the shared MT queue: any replica
        self.consumer = consumer_name("notifier", settings.consumer_name, settings.consumer_index)
        policy = policy_from(settings, batch=20)
        self.expander = StreamConsumer(redis, EVENTS, EVENTS_GROUP, self.consumer, self._expand,
                                       dead_stream=FAILED, policy=policy)
        self.news_expander = StreamConsumer(redis, news.PUBLISHED, EVENTS_GROUP, self.consumer, self._expand_news,
                                            dead_stream=FAILED, policy=policy)
        self.deliverers = [
            StreamConsumer(redis, out_stream(c), OUT_GROUP, self.consumer, partial(self._deliver_entry, out_stream(c)),
                           dead_stream=FAILED, policy=policy)
            for c in self.channels
        ]
        self._tasks: list[asyncio.Task] = []
        self._stopping = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Start the consumer loops (StreamConsumer: claims, retries, dead letters, trimming) and the
        polling / quiet-hours loop. The tasks are created here, at start-up: aiohttp's graceful
        shutdown waits for tasks created later, which would hold it for its whole timeout."""
        loops = [c.run(self._stopping) for c in (self.expander, self.news_expander, *self.deliverers)]
        self._tasks = [asyncio.create_task(loop, name="notifier") for loop in (*loops, self._timers())]

    async def prepare(self) -> None:
        """Create the consumer groups (idempotent)."""
        await ensure_group(self.redis, EVENTS, EVENTS_GROUP)
        await ensure_group(self.redis, news.PUBLISHED, EVENTS_GROUP)
        for channel in CHANNELS:
            await ensure_group(self.redis, out_stream(channel), OUT_GROUP)

    async def stop(self) -> None:
        for task in self._tasks:
            await stop_loop(task, self._stopping)

    def alive(self) -> bool:
        """Every consumer loop ticks within its deadline."""
        return all(c.alive() for c in (self.expander, self.news_expander, *self.deliverers))

    async def _timers(self) -> None:
        last_poll = 0.0
        ready = False
        while not self._stopping.is_set():
            try:
                if not ready:  # in the loop: a gateway starts even while Redis is down
                    await self.prepare()
                    ready = True
                if time.monotonic() - last_poll >= self.settings.notify_poll_interval_s:
                    await self.poll_once()
                    last_poll = time.monotonic()
                await self.release_due()
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN:
                logger.warning("notifier: Redis unreachable, retrying")
            except Exception:
                logger.exception("notifier: unexpected error, continuing")
            await pause(self._stopping, 1.0)

    # -- events in ----------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        """``POST /webhooks/dossier-events`` from the dossier system, signed."""
        body = await request.read()
        if not signing.verify(self.settings.dossier_events_secret, body, request.headers):
            logger.warning("dossier event with a missing, bad or stale signature refused")
            return web.json_response({"error": "bad signature"}, status=401)
        try:
            data = parse_json(body)
            if not isinstance(data, dict):  # pydantic reads [[k, v]] as a dict and fails on odd keys
                raise BadJson("not an object")
            event = ChangeEvent.parse_obj(data)
        except (BadJson, ValidationError):
            return web.json_response({"error": "bad event"}, status=400)
        return web.json_response({"new": await self.ingest(event)})

    async def ingest(self, event: ChangeEvent) -> bool:
        """Queue an event unless it was seen before (by any replica, by either path)."""
        if not await self.redis.set(f"notify:seen:{event.id}", 1, nx=True, ex=SEEN_TTL_S):
            return False
        pipe = self.redis.pipeline(transaction=True)
        pipe.xadd(EVENTS, {"event": event.json()})
        pipe.delete(cache_key(event.code))  # lookups must not show the old status
        await pipe.execute()
        return True

    async def poll_once(self) -> int:
        """Read new events from the dossier system (one replica at a time)."""
        if not await self.redis.set(POLL_LOCK, self.consumer, nx=True, ex=30):
            return 0
        try:
            cursor = int(as_str(await self.redis.get(CURSOR) or b"0"))
            try:
                events = await self.dossiers.events(after=cursor, limit=200)
            except DossierApiError:
                logger.warning("notifier: event list unavailable", exc_info=True)
                return 0
            for event in events:
                await self.ingest(event)
            if events:
                await self.redis.set(CURSOR, events[-1].id)
            return len(events)
        finally:
            await self.redis.delete(POLL_LOCK)

    # -- expansion ----------------------------------------------------------------

    async def expand_once(self, block_ms: int = 0) -> int:
        """Expand the events waiting (own pending ones first); the number taken."""
        return await self.expander.step(block_ms) + await self.news_expander.step(0)

    async def _expand(self, entry: Entry) -> None:
        """One event -> one job per subscriber, queued and acked atomically."""
        raw = entry.fields["event"]
        event = ChangeEvent.parse_raw(raw)
        if event.kind == "ticket":  # told to its author only
            senders = [event.owner] if event.owner else []
        else:
            senders = sorted(await subscriptions.subscribers(self.redis, event.code))
        pipe = self.redis.pipeline(transaction=True)
        for sender in senders:
            channel = sender.partition(":")[0]
            if channel in CHANNELS:
                pipe.xadd(out_stream(channel), {"sender": sender, "event": raw})
            else:
                pipe.xadd(FAILED, {"sender": sender, "event": raw, "reason": f"{channel} cannot be notified"})
        self.expander.ack(pipe, entry.id)
        pipe.xdel(EVENTS, entry.id)
        await pipe.execute()
        logger.info("%s change queued for %d recipient(s)", event.kind, len(senders))

    async def _expand_news(self, entry: Entry) -> None:
        """One announcement -> one job per subscriber of any of its topics, each sender once ever
        (a fan-out cut short and taken again queues only the senders it had not reached)."""
        announcement = await news.get(self.redis, int(entry.fields["news"]))
        senders = sorted(await news.subscribers(self.redis, announcement.topics)) if announcement else []
        jobs = [(s, out_stream(s.partition(":")[0])) for s in senders if s.partition(":")[0] in CHANNELS]
        queued = await news.queue_once(self.redis, int(entry.fields["news"]), jobs)
        pipe = self.redis.pipeline(transaction=True)
        self.news_expander.ack(pipe, entry.id)
        pipe.xdel(news.PUBLISHED, entry.id)
        await pipe.execute()
        logger.info("announcement queued for %d new recipient(s) of %d", queued, len(senders))

    # -- delivery -----------------------------------------------------------------

    async def deliver_once(self, block_ms: int = 0) -> int:
        """Deliver waiting jobs of the channels this replica serves."""
        done = 0
        for consumer in self.deliverers:
            done += await consumer.step(block_ms if consumer is self.deliverers[-1] else 0)
        return done

    async def _deliver_entry(self, stream: str, entry: Entry) -> None:
        """Deliver one job, or defer it to the morning; a failed chat send raises (retried with
        backoff, then dead-lettered in ``notify:failed`` with the reason)."""
        sender = entry.fields["sender"]
        wait_until = quiet_until(self.clock(), self.quiet)
        pipe = self.redis.pipeline(transaction=True)
        if wait_until is not None:
            pipe.zadd(DEFERRED, {json.dumps(dict(entry.fields)): wait_until.timestamp()})
        elif (text := await self._text(entry.fields)) is not None:
            channel, _, user = sender.partition(":")
            if channel == "sms":
                pipe.xadd(SMS_OUTBOX, {"dest": user, "text": text, "origin": "notify"})
            else:
                try:
                    await self.chat_senders[channel](user, text)
                except Exception as exc:
                    logger.warning("notification to %s failed: %s", pseudonym(user), type(exc).__name__)
                    raise
        pipe.xack(stream, OUT_GROUP, entry.id)
        pipe.xdel(stream, entry.id)
        await pipe.execute()

    async def _text(self, job: dict[str, str]) -> str | None:
        """What a job tells its recipient; None for an announcement withdrawn since."""
        channel = job["sender"].partition(":")[0]
        if "news" in job:
            announcement = await news.get(self.redis, int(job["news"]))
            return news_texts.notice(announcement, channel) if announcement else None
        event = ChangeEvent.parse_raw(job["event"])
        return replies.ticket_answered(event) if event.kind == "ticket" else replies.status_changed(event, channel)

    async def release_due(self) -> int:
        """Jobs whose quiet period is over go back to the queue (one replica wins each)."""
        due = await self.redis.zrangebyscore(DEFERRED, "-inf", self.clock().timestamp())
        released = 0
        for member in due:
            if await self.redis.zrem(DEFERRED, member):
                job = json.loads(member)
                await self.redis.xadd(out_stream(job["sender"].partition(":")[0]), job)
                released += 1
        return released
