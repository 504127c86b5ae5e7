"""Redis Streams read through consumer groups: one consumer loop for every service.

Every stream of the assistant (``sms:mo``, ``sms:mt``, ``zalo:in``, the
notifier's ``notify:*``) is read by :class:`StreamConsumer`:

- batched reads (``XREADGROUP COUNT n``), up to ``concurrency`` entries handled at once;
- a stable consumer name (:func:`consumer_name`: host + role + index), so a
  restarted process resumes its own pending entries first;
- entries a dead consumer left pending longer than ``claim_idle_ms`` are taken
  over (``XAUTOCLAIM``), and consumers idle for long with nothing pending are
  removed (``XGROUP DELCONSUMER``);
- an attempt limit: the attempt number is the entry's delivery count in Redis
  (so a crash while handling counts too); a failing entry is retried with
  backoff, then moved to the dead-letter stream with its reason (the entry,
  the error class, the attempt count) and acknowledged, in one transaction;
- Redis errors back off and the loop recovers (a restarted Redis that lost the
  group gets it again); the loop never ends silently;
- liveness: :meth:`StreamConsumer.alive` is False when the loop has not ticked
  within ``deadline_s`` (a ``/health`` route reports it);
- retention: acknowledged entries older than ``retention_s`` are trimmed
  (``XTRIM MINID ~``), never an entry still unread or pending in any group of
  the stream; dead letters are trimmed by age alone (``dead_retention_s``).

A handler acknowledges its entry itself, in the same Redis transaction as its
effects (:meth:`StreamConsumer.ack`); raising leaves the entry pending for a retry.
A batch handler (``handle_batch``) takes every entry of one read at once (one
pipeline for their reads, one transaction for their effects and acks) and hands
back those it leaves to the one-entry handler, which keeps the attempt limit;
:class:`GroupCommit` merges the writes of concurrent handlers into one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from redis import exceptions as redis_errors

from common.text import as_str

logger = logging.getLogger(__name__)

SMS_OUTBOX = "sms:mt"  # replies and notifications to send by SMS (the SMS gateway's sender reads it)

# Redis unreachable (redis-py wraps socket errors in its own classes): not an entry's fault, never an attempt.
# A handler's own network errors (OSError: a chat API down) are failures of the entry and count.
REDIS_DOWN = (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.BusyLoadingError)


def consumer_name(role: str, prefix: str = "", index: int = 0) -> str:
    """A consumer name that survives a restart: ``<host>-<role>-<index>``.

    Two replicas on one host need different ``index`` values (e.g. a systemd
    instance number); the same name on two live processes would share pending entries.
    """
    return f"{prefix or socket.gethostname()}-{role}-{index}"


async def ensure_group(redis: Any, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) if missing."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except redis_errors.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def queue_sms(redis: Any, dest: str, text: str, origin: str) -> str:
    """Queue an SMS for the SMS gateway's sender (other services reach citizens by SMS this way)."""
    entry = await redis.xadd(SMS_OUTBOX, {"dest": dest, "text": text, "origin": origin})
    return as_str(entry)


async def execute_idempotent(redis: Any, build: Callable[[Any], None], transaction: bool = True) -> list[Any]:
    """Run the commands ``build`` adds in one pipeline; once more on a connection error (after a
    Redis restart each pooled connection fails once). Only for writes that may apply twice
    harmlessly: the first attempt may have been applied with its answer lost."""
    for attempt in (1, 2):
        pipe = redis.pipeline(transaction=transaction)
        build(pipe)
        try:
            return await pipe.execute()
        except redis_errors.ConnectionError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until ``stop`` is set, creating no task (aiohttp's graceful
    shutdown waits for every task created after start-up, and a loop that makes a new
    ``wait_for`` task each second would hold it for its whole timeout)."""
    deadline = time.monotonic() + seconds
    while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(left, 0.1))


def _id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class Entry:
    """One stream entry, fields decoded."""

    id: str
    fields: dict[str, str]
    first: bool = False  # read as a new entry: no earlier attempt can have left anything behind


@dataclass(frozen=True)
class ConsumerPolicy:
    """How a consumer reads, retries, gives up and keeps entries."""

    batch: int = 50
    concurrency: int = 1
    block_ms: int = 500
    max_attempts: int = 5
    backoff_s: float = 1.0  # first retry delay; doubles per attempt
    backoff_max_s: float = 20.0  # must stay well below claim_idle_ms, or a retrying entry is claimed away
    claim_idle_ms: int = 60_000
    housekeeping_s: float = 10.0  # claim, stale consumers, trim
    stale_consumer_idle_ms: int = 3_600_000
    retention_s: float = 48 * 3600.0
    dead_retention_s: float = 30 * 24 * 3600.0
    deadline_s: float = 60.0


Handler = Callable[[Entry], Awaitable[None]]
BatchHandler = Callable[[list[Entry]], Awaitable[list[Entry]]]  # returns the entries left to ``Handler``
Gate = Callable[[], Awaitable[bool]]
T = TypeVar("T")


class GroupCommit(Generic[T]):
    """Writes of concurrent handlers merged into one: each :meth:`add` waits until ``flush``
    wrote its item with the others added in the same turn of the event loop (one
    transaction for all), and gets the outcome: raised, nothing of the group was written."""

    def __init__(self, flush: Callable[[list[T]], Awaitable[None]]) -> None:
        self._flush = flush
        self._items: list[T] = []
        self._done: asyncio.Future | None = None

    async def add(self, item: T) -> None:
        """Write ``item`` with the others of this turn."""
        self._items.append(item)
        if self._done is not None:  # a leader is collecting: it writes ours too
            await asyncio.shield(self._done)
            return
        done = self._done = asyncio.get_running_loop().create_future()
        try:
            await asyncio.sleep(0)  # the other handlers woken in this turn add theirs
        finally:
            items, self._items, self._done = self._items, [], None
        try:
            await self._flush(items)
        except BaseException as exc:
            done.set_exception(exc if isinstance(exc, Exception) else RuntimeError("group commit cancelled"))
            done.exception()  # retrieved: followers re-raise it, none is required
            raise
        done.set_result(None)


@dataclass
class ConsumerStats:
    """Counters of one consumer (exported by the services' metrics)."""

    handled: int = 0
    failures: int = 0
    dead_lettered: int = 0
    claimed: int = 0
    redis_errors: int = 0
    stale_removed: int = 0
    trimmed: int = 0


@dataclass
class StreamConsumer:
    """The consumer loop of one stream and group (see the module docstring)."""

    redis: Any
    stream: str
    group: str
    consumer: str
    handle: Handler
    dead_stream: str
    policy: ConsumerPolicy = field(default_factory=ConsumerPolicy)
    gate: Gate | None = None  # False: do not read now (e.g. the SMPP link is down)
    stats: ConsumerStats = field(default_factory=ConsumerStats)
    handle_batch: BatchHandler | None = None  # every entry of one read at once (see the module docstring)

    def __post_init__(self) -> None:
        self.last_tick = time.monotonic()
        self._cursor = "0"  # "0": paging through our own pending entries; ">": new entries
        self._ready = False
        self._in_flight: dict[str, asyncio.Task | None] = {}
        self._retries: dict[str, float] = {}  # entry id -> when to try it again (monotonic)
        self._next_housekeeping = 0.0
        self._claim_cursor = "0-0"
        self._outage = False
        self._reread = False  # Redis failed on an entry in flight: read our pending ones once it is done

    # -- the loop ---------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop``; Redis errors back off and recover, never end the loop."""
        failures = 0
        while not stop.is_set():
            try:
                await self.prepare()
                if time.monotonic() >= self._next_housekeeping:
                    await self.housekeeping()
                await self.step(self.policy.block_ms)
                if self._outage:
                    logger.info("%s: Redis reachable again", self.consumer)
                    self._outage = False
                failures = 0
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN:
                failures += 1
                await self._backoff(failures, stop, "Redis unreachable")
            except redis_errors.ResponseError as exc:
                failures += 1
                if "NOGROUP" in str(exc):  # Redis restarted without its data: create the group again
                    self._ready = False
                await self._backoff(failures, stop, "Redis refused a command")
            except Exception:
                failures += 1
                logger.exception("%s: unexpected error in the consumer loop; continuing", self.consumer)
                await self._backoff(failures, stop, None)
        await self.drain(10.0)

    async def prepare(self) -> None:
        """Create the group once (again after Redis lost it)."""
        if not self._ready:
            await ensure_group(self.redis, self.stream, self.group)
            self._ready = True
            self._cursor = "0"

    async def _backoff(self, failures: int, stop: asyncio.Event, what: str | None) -> None:
        self.stats.redis_errors += what is not None
        if what is not None and not self._outage:
            logger.warning("%s: %s; retrying with backoff", self.consumer, what, exc_info=True)
            self._outage = True
        self._cursor = "0"  # in-doubt entries are ours and pending: resume them after recovery
        delay = min(self.policy.backoff_max_s, 0.2 * 2 ** min(failures, 8)) * (0.5 + random.random() / 2)
        await pause(stop, delay)

    def _tick(self) -> None:
        self.last_tick = time.monotonic()

    def alive(self) -> bool:
        """False when the loop has not ticked within its deadline (stuck, or Redis gone for long)."""
        return time.monotonic() - self.last_tick <= self.policy.deadline_s

    async def step(self, block_ms: int = 0) -> int:
        """One read (own pending entries first, then new ones) and its handling; the number of
        entries taken. With ``concurrency`` 1 the entries are handled before it returns."""
        if self.gate is not None and not await self.gate():
            self._tick()
            return 0
        await self._retry_due()
        room = self.policy.concurrency - len(self._in_flight)
        if room <= 0:
            tasks = [t for t in self._in_flight.values() if t is not None]
            done, _ = await asyncio.wait(tasks, timeout=max(block_ms, 50) / 1000,
                                         return_when=asyncio.FIRST_COMPLETED)
            if done:
                self._tick()
            return 0
        count = self.policy.batch if self.policy.concurrency == 1 else min(room, self.policy.batch)
        entries: list[Any] = []
        if self._cursor != ">":
            entries = await self._read(self._cursor, count, None)
            if entries:
                self._cursor = as_str(entries[-1][0])
            else:
                self._cursor = ">"
        first = False
        if self._cursor == ">" and not entries:
            entries = await self._read(">", count, block_ms or None)
            first = True
        self._tick()
        await self._start(entries, first)
        return len(entries)

    async def _read(self, cursor: str, count: int, block: int | None) -> list[Any]:
        batch = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: cursor}, count=count,
                                            block=block)
        return batch[0][1] if batch else []

    async def _start(self, entries: list[Any], first: bool = False) -> None:
        batch: list[Entry] = []
        for raw_id, raw_fields in entries:
            entry_id = as_str(raw_id)
            if entry_id in self._in_flight:
                continue
            if not raw_fields:  # deleted (handled elsewhere, or trimmed): nothing left to do
                await self.redis.xack(self.stream, self.group, entry_id)
                continue
            self._retries.pop(entry_id, None)
            batch.append(Entry(entry_id, {as_str(k): as_str(v) for k, v in raw_fields.items()}, first))
        if not batch:
            return
        if self.handle_batch is not None:
            await self._run(batch[0].id, [e.id for e in batch], self._handle_many(batch))
            return
        for entry in batch:
            await self._run(entry.id, [entry.id], self._handle(entry))

    async def _run(self, key: str, ids: list[str], work: Awaitable[None]) -> None:
        """Handle now (concurrency 1) or in a task; ``ids`` are in flight meanwhile."""
        if self.policy.concurrency == 1:
            self._in_flight.update(dict.fromkeys(ids))
            try:
                await work
            finally:
                self._done(ids)
            return
        task = asyncio.create_task(work)  # type: ignore[arg-type]
        for entry_id in ids:
            self._in_flight[entry_id] = task
        task.add_done_callback(lambda _t: self._done(ids))

    def _done(self, ids: list[str]) -> None:
        """No longer in flight; entries Redis failed on are read again from our pending ones (not
        before: a pending read skips what is in flight, which would then wait for ``claim_idle_ms``)."""
        for entry_id in ids:
            self._in_flight.pop(entry_id, None)
        if self._reread:
            self._reread = False
            self._cursor = "0"

    async def _handle_many(self, batch: list[Entry]) -> None:
        """The batch handler, then the one-entry handler for what it left (or for all, if it failed)."""
        assert self.handle_batch is not None
        try:
            left = await self.handle_batch(batch)
            self.stats.handled += len(batch) - len(left)
        except asyncio.CancelledError:
            raise
        except REDIS_DOWN:  # not the entries' fault: they stay pending, resumed after recovery
            self.stats.redis_errors += 1
            logger.warning("%s: Redis failed while handling %d entries; left pending", self.consumer, len(batch))
            self._reread = True
            return
        except Exception:
            logger.warning("%s: a batch of %d failed; handling its entries one by one", self.consumer,
                           len(batch), exc_info=True)
            left = batch
        await asyncio.gather(*(self._handle(entry) for entry in left))

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the entries being handled (at stop)."""
        tasks = [t for t in self._in_flight.values() if t is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    # -- one entry --------------------------------------------------------------

    async def _handle(self, entry: Entry) -> None:
        try:
            await self.handle(entry)
            self.stats.handled += 1
        except asyncio.CancelledError:
            raise
        except REDIS_DOWN:  # not the entry's fault: it stays pending, resumed after recovery
            self.stats.redis_errors += 1
            logger.warning("%s: Redis failed while handling %s; left pending", self.consumer, entry.id)
            self._reread = True
        except Exception as exc:
            await self.failed(entry, exc)

    async def failed(self, entry: Entry, exc: Exception) -> None:
        """Handling ``entry`` raised ``exc``: retried with backoff, or dead-lettered at the attempt limit
        (a batch handler calls it for an entry of its batch that failed)."""
        self.stats.failures += 1
        try:
            attempts = await self.attempts(entry.id)
            if attempts >= self.policy.max_attempts:
                logger.error("%s: %s failed %d times (%s); dead-lettered", self.consumer, entry.id, attempts,
                             type(exc).__name__, exc_info=exc)
                await self.dead_letter(entry, type(exc).__name__, str(exc)[:300] or repr(exc), attempts)
                return
            delay = min(self.policy.backoff_max_s, self.policy.backoff_s * 2 ** (attempts - 1))
            logger.warning("%s: %s failed (attempt %d of %d, %s); retried in %.1f s", self.consumer, entry.id,
                           attempts, self.policy.max_attempts, type(exc).__name__, delay,
                           exc_info=exc if attempts == 1 else None)
            self._retries[entry.id] = time.monotonic() + delay
        except REDIS_DOWN:
            self._reread = True

    async def attempts(self, entry_id: str) -> int:
        """How many times the entry was delivered to a consumer (Redis keeps the count)."""
        rows = await self.redis.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
        return int(rows[0]["times_delivered"]) if rows else 1

    async def _retry_due(self) -> None:
        """Entries whose retry time came: claimed again by us (which counts a delivery), then handled."""
        now = time.monotonic()
        due = [i for i, at in self._retries.items() if at <= now and i not in self._in_flight]
        if not due:
            return
        for entry_id in due:
            self._retries.pop(entry_id, None)
        claimed = await self.redis.xclaim(self.stream, self.group, self.consumer, 0, due)
        await self._start([(i, f) for i, f in claimed if i is not None])

    def ack(self, pipe: Any, entry_id: str) -> None:
        """Add the acknowledgement of ``entry_id`` to the handler's transaction."""
        pipe.xack(self.stream, self.group, entry_id)

    async def dead_letter(self, entry: Entry, error: str, reason: str, attempts: int,
                          extra: Callable[[Any], None] | None = None) -> None:
        """Move the entry to the dead-letter stream with its reason and acknowledge it, atomically
        (``extra`` adds the handler's own clean-up to the same transaction)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.xadd(self.dead_stream, {**entry.fields, "entry": entry.id, "stream": self.stream, "error": error,
                                     "reason": reason, "attempts": str(attempts), "at": f"{time.time():.0f}"})
        self.ack(pipe, entry.id)
        if extra is not None:
            extra(pipe)
        await pipe.execute()
        self.stats.dead_lettered += 1

    # -- housekeeping -----------------------------------------------------------

    async def housekeeping(self) -> None:
        """Claim what dead consumers left, remove stale consumers, trim."""
        self._next_housekeeping = time.monotonic() + self.policy.housekeeping_s
        await self.claim_abandoned()
        await self.remove_stale_consumers()
        await self.trim()

    async def claim_abandoned(self) -> int:
        """Take over entries pending on another consumer for longer than ``claim_idle_ms``."""
        result = await self.redis.xautoclaim(self.stream, self.group, self.consumer,
                                             min_idle_time=self.policy.claim_idle_ms,
                                             start_id=self._claim_cursor, count=self.policy.batch)
        self._claim_cursor = as_str(result[0]) if result else "0-0"
        entries = [(i, f) for i, f in (result[1] if result else []) if as_str(i) not in self._in_flight]
        for entry_id in (result[2] if result and len(result) > 2 else []):  # deleted while pending
            await self.redis.xack(self.stream, self.group, entry_id)
        if entries:
            self.stats.claimed += len(entries)
            logger.info("%s: took over %d entries of a stopped consumer", self.consumer, len(entries))
            await self._start(entries)
        return len(entries)

    async def remove_stale_consumers(self) -> int:
        """Drop consumers with nothing pending that have not read for ``stale_consumer_idle_ms``."""
        removed = 0
        for info in await self.redis.xinfo_consumers(self.stream, self.group):
            name = as_str(info["name"])
            if name != self.consumer and not info["pending"] and info["idle"] > self.policy.stale_consumer_idle_ms:
                removed += await self.redis.xgroup_delconsumer(self.stream, self.group, name) == 0
        self.stats.stale_removed += removed
        return removed

    async def trim(self) -> int:
        """Trim entries older than the retention, but never one still unread or pending.

        What the bound guarantees: an entry is removed only once it is older than
        ``retention_s`` AND older than every group's oldest pending entry and last
        delivered entry, so nothing is trimmed before every group handled it; an
        acknowledged entry is gone at most ``retention_s`` + one macro node (``~``) later.
        """
        cut = _id(f"{int((time.time() - self.policy.retention_s) * 1000)}-0")
        for info in await self.redis.xinfo_groups(self.stream):
            cut = min(cut, _id(as_str(info["last-delivered-id"])))
            if info["pending"]:
                summary = await self.redis.xpending(self.stream, as_str(info["name"]))
                if summary.get("min"):
                    cut = min(cut, _id(as_str(summary["min"])))
        trimmed = 0
        if cut > (0, 0):
            trimmed = await self.redis.xtrim(self.stream, minid=f"{cut[0]}-{cut[1]}", approximate=True)
        dead_cut = int((time.time() - self.policy.dead_retention_s) * 1000)
        await self.redis.xtrim(self.dead_stream, minid=f"{dead_cut}-0", approximate=True)
        self.stats.trimmed += trimmed
        return trimmed

    async def backlog(self) -> tuple[int, int]:
        """(pending, lag) of the group: entries taken but not acknowledged, entries not read yet."""
        for info in await self.redis.xinfo_groups(self.stream):
            if as_str(info["name"]) == self.group:
                return int(info.get("pending") or 0), int(info.get("lag") or 0)
        return 0, 0


def policy_from(settings: Any, **overrides: Any) -> ConsumerPolicy:
    """The policy the settings (:class:`common.settings.Settings`) ask for, with a role's overrides."""
    values: dict[str, Any] = {
        "max_attempts": settings.stream_max_attempts,
        "retention_s": settings.stream_retention_hours * 3600,
        "dead_retention_s": settings.dead_letter_retention_hours * 3600,
        "deadline_s": settings.stream_loop_deadline_s,
    }
    values.update(overrides)
    return ConsumerPolicy(**values)
