"""The SMS gateway's /health: a consumer loop that stopped ticking fails it."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from common.settings import Settings
from common.streams import ConsumerPolicy, StreamConsumer
from sms_gateway.app import GATEWAY_KEY, Gateway, health
from sms_gateway.config import SmsSettings


class BoundLink:
    bound = True


async def _nothing(entry: object) -> None:
    return None


async def test_health_fails_when_a_loop_has_not_ticked_within_its_deadline() -> None:
    gateway = Gateway(Settings(_env_file=None), SmsSettings(_env_file=None))
    gateway.link = BoundLink()  # type: ignore[assignment]
    policy = ConsumerPolicy(deadline_s=5)
    loops = {name: StreamConsumer(None, name, "g", "c", _nothing, dead_stream="d", policy=policy)
             for name in ("mo-worker", "mt-sender")}
    gateway.loops = loops
    app = web.Application()
    app[GATEWAY_KEY] = gateway
    app.router.add_get("/health", health)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        resp = await client.get("/health")
        assert resp.status == 200 and (await resp.json())["loops"] == {"mo-worker": True, "mt-sender": True}
        loops["mt-sender"].last_tick = time.monotonic() - 6  # silent for longer than its deadline
        resp = await client.get("/health")
        body = await resp.json()
        assert resp.status == 503 and body["status"] == "stalled" and body["loops"]["mt-sender"] is False
    finally:
        await client.close()
