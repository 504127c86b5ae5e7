"""The SMS gateway's /health: what each process knows (its loops, Redis, a bound link), told truly."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from common import sms_keys
from common.settings import Settings
from common.streams import ConsumerPolicy, StreamConsumer
from sms_gateway.app import GATEWAY_KEY, Gateway, health
from sms_gateway.config import SmsSettings
from tests.conftest import free_port
from tests.sms_gateway.conftest import GatewayProcess, Smsc, wait_until


class BoundLink:
    bound = True


async def _nothing(entry: object) -> None:
    return None


def _gateway(redis: object, roles: tuple[str, ...], loops: tuple[str, ...]) -> Gateway:
    gateway = Gateway(Settings(_env_file=None), SmsSettings(_env_file=None), roles)
    gateway.redis = redis
    policy = ConsumerPolicy(deadline_s=5)
    gateway.loops = {name: StreamConsumer(None, name, "g", "c", _nothing, dead_stream="d", policy=policy)
                     for name in loops}
    return gateway


async def _client(gateway: Gateway) -> TestClient:
    app = web.Application()
    app[GATEWAY_KEY] = gateway
    app.router.add_get("/health", health)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url.rsplit("/", 1)[0] + "/11")
    await client.flushdb()
    yield client
    await client.close()


async def test_health_fails_when_a_loop_has_not_ticked_within_its_deadline(redis: aioredis.Redis) -> None:
    gateway = _gateway(redis, ("link", "worker"), ("mo-worker", "mt-sender"))
    gateway.link = BoundLink()  # type: ignore[assignment]
    client = await _client(gateway)
    try:
        resp = await client.get("/health")
        assert resp.status == 200 and (await resp.json())["loops"] == {"mo-worker": True, "mt-sender": True}
        gateway.loops["mt-sender"].last_tick = time.monotonic() - 6  # silent for longer than its deadline
        resp = await client.get("/health")
        body = await resp.json()
        assert resp.status == 503 and body["status"] == "stalled" and body["loops"]["mt-sender"] is False
    finally:
        await client.close()


async def test_a_workers_health_tells_whether_some_link_is_bound_and_fails_when_it_cannot_work(
    redis: aioredis.Redis,
) -> None:
    worker = _gateway(redis, ("worker",), ("mo-worker",))
    client = await _client(worker)
    try:
        resp = await client.get("/health")
        body = await resp.json()
        # No link bound: said so (the worker has no link of its own); the worker itself is fine.
        assert resp.status == 200 and body["bound"] is False and body["links_bound"] == 0 and body["redis"]

        await redis.sadd(sms_keys.LINKS, "a-link-0", "b-link-0")
        await redis.set(sms_keys.link_bound("a-link-0"), "1", ex=5)  # what a bound link keeps saying
        body = await (await client.get("/health")).json()
        assert body["bound"] is True and body["links_bound"] == 1
        await redis.delete(sms_keys.link_bound("a-link-0"))  # its word expired: the link died or unbound
        assert (await (await client.get("/health")).json())["bound"] is False

        worker.loops["mo-worker"].last_tick = time.monotonic() - 6
        resp = await client.get("/health")
        assert resp.status == 503 and (await resp.json())["status"] == "stalled"
        worker.loops["mo-worker"].last_tick = time.monotonic()

        unreachable = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0")
        worker.redis = unreachable
        resp = await client.get("/health")
        body = await resp.json()
        assert resp.status == 503 and body["status"] == "redis_unreachable" and body["bound"] is None
        await unreachable.close()
    finally:
        await client.close()


@pytest.mark.e2e
def test_a_worker_process_sees_the_link_process_bound_then_gone(
    smsc: Smsc, split: tuple[GatewayProcess, GatewayProcess]
) -> None:
    link, worker = split
    wait_until(lambda: worker.health()["bound"] is True, 10, "the worker sees the link bound")
    link.sigkill()  # no goodbye: its word expires
    wait_until(lambda: worker.health()["bound"] is False, 10, "the worker sees no link bound")
    assert worker.healthy()  # the worker itself is fine; MOs wait for a link
    link.start()
    wait_until(lambda: worker.health()["bound"] is True, 10, "the worker sees the link bound again")
    smsc.kill()  # the link loses its bind and says so at once
    wait_until(lambda: worker.health()["bound"] is False, 5, "the worker sees the link unbound")
    assert not link.healthy() and worker.healthy()
