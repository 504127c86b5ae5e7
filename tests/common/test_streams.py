"""The one stream-consumer helper, against a real redis-server."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from common.streams import ConsumerPolicy, Entry, StreamConsumer, consumer_name
from scripts.localstack import start_redis, stop

FAST = ConsumerPolicy(block_ms=50, backoff_s=0.05, backoff_max_s=0.2, housekeeping_s=0.1, claim_idle_ms=200,
                      stale_consumer_idle_ms=200, max_attempts=3)
_names = itertools.count()


@pytest.fixture
async def client(redis_url: str):
    r = aioredis.from_url(redis_url)
    yield r
    await r.close()


@pytest.fixture
def stream() -> str:
    return f"test:streams:{next(_names)}:{time.time_ns()}"


def acking(redis, handled: list[str], fail: Callable[[Entry], bool] = lambda e: False) -> Callable:
    """A handler that records the entry's text and acknowledges it in a transaction (like the services)."""
    consumer: list[StreamConsumer] = []

    async def handle(entry: Entry) -> None:
        if fail(entry):
            raise ValueError("cannot read this entry")
        pipe = redis.pipeline(transaction=True)
        consumer[0].ack(pipe, entry.id)
        await pipe.execute()
        handled.append(entry.fields["text"])

    handle.bind = consumer.append  # type: ignore[attr-defined]
    return handle


def make(redis, stream: str, name: str, handle, policy: ConsumerPolicy = FAST) -> StreamConsumer:
    consumer = StreamConsumer(redis, stream, "g", name, handle, dead_stream=f"{stream}:dead", policy=policy)
    if hasattr(handle, "bind"):
        handle.bind(consumer)
    return consumer


async def until(predicate: Callable[[], Awaitable[bool] | bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if await value if asyncio.iscoroutine(value) else value:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("condition not met")


async def running(consumer: StreamConsumer) -> tuple[asyncio.Event, asyncio.Task]:
    stopping = asyncio.Event()
    return stopping, asyncio.create_task(consumer.run(stopping))


def test_consumer_names_are_stable_and_distinct_per_role_and_index() -> None:
    assert consumer_name("mo-worker", "gw1", 0) == consumer_name("mo-worker", "gw1", 0) == "gw1-mo-worker-0"
    assert len({consumer_name("mo-worker", "gw1", 0), consumer_name("mt-sender", "gw1", 0),
                consumer_name("mo-worker", "gw1", 1)}) == 3


async def test_a_restarted_consumer_resumes_its_own_pending_entries_first(client, stream) -> None:
    blocked = asyncio.Event()

    async def crash_midway(entry: Entry) -> None:  # the process dies while handling: never acknowledged
        blocked.set()
        await asyncio.sleep(3600)

    first = make(client, stream, "host-role-0", crash_midway)
    await first.prepare()
    for text in ("a", "b", "c"):
        await client.xadd(stream, {"text": text})
    stopping, task = await running(first)
    await asyncio.wait_for(blocked.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert (await client.xpending(stream, "g"))["pending"] >= 1

    await client.xadd(stream, {"text": "d"})  # new work arrived meanwhile
    handled: list[str] = []
    again = make(client, stream, "host-role-0", acking(client, handled), ConsumerPolicy(block_ms=50))
    stopping, task = await running(again)
    await until(lambda: len(handled) == 4)
    stopping.set()
    await task
    assert handled[0] == "a" and sorted(handled) == ["a", "b", "c", "d"]  # its own pending entry first
    assert (await client.xpending(stream, "g"))["pending"] == 0


async def test_a_dead_consumers_entries_are_claimed_and_the_stale_consumer_removed(client, stream) -> None:
    handled: list[str] = []
    alive = make(client, stream, "host-b-0", acking(client, handled))
    await alive.prepare()
    for text in ("x", "y"):
        await client.xadd(stream, {"text": text})
    await client.xreadgroup("g", "host-a-0", {stream: ">"}, count=10)  # read, then the process died
    stopping, task = await running(alive)
    await until(lambda: sorted(handled) == ["x", "y"])
    names = lambda: client.xinfo_consumers(stream, "g")  # noqa: E731
    await until(lambda: _names_of(names()), 5)
    stopping.set()
    await task
    assert alive.stats.claimed == 2 and alive.stats.stale_removed == 1
    assert [c["name"] for c in await client.xinfo_consumers(stream, "g")] == [b"host-b-0"]


async def _names_of(rows: Awaitable[list[dict]]) -> bool:
    return [c["name"] for c in await rows] == [b"host-b-0"]


async def test_a_poison_entry_is_dead_lettered_with_its_reason_after_the_attempt_limit(client, stream) -> None:
    handled: list[str] = []
    consumer = make(client, stream, "host-w-0", acking(client, handled, fail=lambda e: e.fields["text"] == "poison"))
    await consumer.prepare()
    for text in ("ok1", "poison", "ok2"):
        await client.xadd(stream, {"text": text})
    stopping, task = await running(consumer)
    await until(lambda: client.xlen(f"{stream}:dead"))
    await until(lambda: len(handled) == 2)
    stopping.set()
    await task
    [(_, dead)] = await client.xrange(f"{stream}:dead")
    assert dead[b"text"] == b"poison" and dead[b"error"] == b"ValueError"
    assert dead[b"attempts"] == b"3" and dead[b"reason"] == b"cannot read this entry"
    assert dead[b"stream"] == stream.encode() and dead[b"entry"]
    assert consumer.stats.failures == 3 and consumer.stats.dead_lettered == 1
    assert (await client.xpending(stream, "g"))["pending"] == 0  # acknowledged with the dead letter
    assert sorted(handled) == ["ok1", "ok2"]  # the others were not held up


async def test_a_stuck_loop_is_reported_not_alive(client, stream) -> None:
    async def hang(entry: Entry) -> None:
        await asyncio.sleep(3600)

    consumer = make(client, stream, "host-h-0", hang, ConsumerPolicy(block_ms=50, deadline_s=0.3))
    stopping, task = await running(consumer)
    await asyncio.sleep(0.4)
    assert consumer.alive()  # idle is fine: the loop ticks while it waits for work
    await client.xadd(stream, {"text": "t"})
    await until(lambda: not consumer.alive(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_trimming_drops_handled_entries_and_keeps_pending_and_unread_ones(client, stream) -> None:
    handled: list[str] = []
    consumer = make(client, stream, "host-t-0", acking(client, handled), ConsumerPolicy(retention_s=0, batch=500))
    await consumer.prepare()
    pipe = client.pipeline()
    for i in range(300):
        pipe.xadd(stream, {"text": str(i)})
    await pipe.execute()
    ids = [i for i, _ in await client.xrange(stream)]
    await client.xreadgroup("g", "host-t-1", {stream: ">"}, count=250)
    await client.xack(stream, "g", *ids[:240])  # 240 handled, 10 pending on another consumer, 50 unread
    assert await consumer.trim() > 0
    left = {i for i, _ in await client.xrange(stream)}
    assert set(ids[240:]) <= left and len(left) < 300
    await consumer.step()
    assert len(handled) == 50  # the unread ones are still there to be handled


async def test_a_redis_restart_mid_loop_is_survived(tmp_path: Path) -> None:
    proc, url = start_redis(tmp_path)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    client = aioredis.from_url(url)
    handled: list[str] = []
    consumer = make(client, "s", "host-r-0", acking(client, handled))
    stopping, task = await running(consumer)
    try:
        await until(lambda: consumer._ready)
        await client.xadd("s", {"text": "before"})
        await until(lambda: handled == ["before"])
        stop([proc])  # no persistence: the stream and its group are gone too
        await asyncio.sleep(0.5)
        assert not task.done()
        proc, _ = start_redis(tmp_path, port)
        await until(lambda: consumer.stats.redis_errors >= 1, 15)
        for _ in range(3):  # the test's own pooled connection may be the dead one
            try:
                await client.xadd("s", {"text": "after"})
                break
            except redis_errors.ConnectionError:
                await asyncio.sleep(0.1)
        await until(lambda: handled == ["before", "after"], 15)
        assert consumer.stats.redis_errors >= 1 and consumer.alive() and not task.done()
    finally:
        stopping.set()
        await asyncio.wait_for(task, 10)
        await client.close()
        stop([proc])
