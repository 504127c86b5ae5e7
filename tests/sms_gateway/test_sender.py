"""The MT sender: what it does when a submit fails in an unexpected way, and when Redis fails as the
SMSC accepts (a real SMSC, a real Redis behind injected faults)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
import smpplib.consts as C

from common import sms_keys
from common.streams import ConsumerPolicy, ensure_group
from common.text import as_str
from sms_gateway.config import SmsSettings
from sms_gateway.intake import Intake
from sms_gateway.link import SmppLink, SubmitResult
from sms_gateway.metrics import Metrics
from sms_gateway.sender import MtSender
from sms_gateway.simulator.control import assemble
from tests.sms_gateway.conftest import Smsc
from tests.sms_gateway.redis_faults import FaultyRedis


class FlakyLink:
    """Bound; the first submit fails with an error nobody planned for, the rest are accepted."""

    bound = True
    on_accepted = None  # set by the sender

    def __init__(self, redis: object) -> None:
        self.redis = redis
        self.calls = 0
        self.accepted: list[dict] = []

    async def wait_bound(self, timeout: float) -> bool:
        return True

    async def submit(self, accepted=None, **params) -> SubmitResult:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("unexpected")
        result = SubmitResult(C.SMPP_ESME_ROK, f"id{self.calls}")
        pipe = self.redis.pipeline(transaction=True)
        self.on_accepted(pipe, [(accepted, result)])
        await pipe.execute()
        self.accepted.append(params)
        return result


async def test_an_entry_that_failed_unexpectedly_is_sent_again_without_a_restart(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        await client.delete(sms_keys.MT_STREAM)
        await ensure_group(client, sms_keys.MT_STREAM, sms_keys.MT_GROUP)
        await client.xadd(sms_keys.MT_STREAM, {"dest": "84905000999", "text": "Ho so da co ket qua"})
        link = FlakyLink(client)
        sender = MtSender(client, link, SmsSettings(_env_file=None), Metrics(), "test-consumer")
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        for _ in range(100):
            if link.accepted:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)
        assert link.calls == 2 and len(link.accepted) == 1  # failed once, then sent once
        pending = await client.xpending(sms_keys.MT_STREAM, sms_keys.MT_GROUP)
        assert pending["pending"] == 0  # and acknowledged
    finally:
        await client.close()


async def _eventually(predicate: Callable[[], bool | Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        assert time.monotonic() < deadline, f"{what} not met after {timeout} s"
        await asyncio.sleep(0.05)


def _submits(metrics: Metrics, result: str) -> float:
    return metrics.registry.get_sample_value("sms_submit_sm_total", {"result": result}) or 0.0


async def test_parts_accepted_while_redis_is_down_are_not_sent_again_and_are_recorded_late(
    redis_url: str, smsc: Smsc
) -> None:
    """Redis fails right as the SMSC accepts both parts of a reply: the link's record of the
    acceptances and the sender's ack both fail. Once Redis is back the entry is resumed: the
    parts this process saw accepted are not submitted again, and their message ids (for the
    receipts) are written with the ack."""
    client = aioredis.from_url(redis_url.rsplit("/", 1)[0] + "/13")
    await client.flushdb()
    redis = FaultyRedis(client)
    settings = SmsSettings(_env_file=None, smsc_port=smsc.port, system_id="sct", password="t3stpwd",
                           enquire_link_s=2, reconnect_max_s=1)
    metrics = Metrics()
    link = SmppLink(settings, Intake(redis, metrics, settings.receipt_ttl_s))
    sender = MtSender(redis, link, settings, metrics, "host-mt-sender-0",
                      ConsumerPolicy(batch=10, concurrency=10, block_ms=50, backoff_max_s=0.3))
    await ensure_group(client, sms_keys.MT_STREAM, sms_keys.MT_GROUP)
    entry = as_str(await client.xadd(sms_keys.MT_STREAM, {"dest": "84905000333",
                                                          "text": "Ho so cua anh/chi da co ket qua. " * 7}))
    submit = link.submit

    async def outage_at_first_submit(**params: object) -> SubmitResult:
        redis.down = True  # from the first part on: Redis takes nothing
        return await submit(**params)

    link.submit = outage_at_first_submit  # type: ignore[method-assign]
    link.start()
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        assert await link.wait_bound(10)
        await _eventually(lambda: asyncio.to_thread(lambda: len(smsc.submits()) == 2), 15, "two parts submitted")
        await _eventually(lambda: _submits(metrics, "recorded_late") == 2, 5, "both acceptances unrecorded")
        await asyncio.sleep(0.5)  # the ack failed too: the entry waits, pending
        assert (await client.xpending(sms_keys.MT_STREAM, sms_keys.MT_GROUP))["pending"] == 1
        link.submit = submit  # type: ignore[method-assign]
        redis.down = False
        await _eventually(lambda: _no_pending(client), 15, "the reply acknowledged")
        await asyncio.sleep(0.3)  # a part sent again would show now
        submits = await asyncio.to_thread(smsc.submits)
        assert len(submits) == 2 and len(assemble(submits)["84905000333"]) == 1
        for sent in submits:  # each receipt will find its reply
            record = await client.hgetall(sms_keys.message_id(sent["id"]))
            assert as_str(record[b"mt"]) == entry, sent
        assert not await client.exists(sms_keys.mt_progress(entry))
        assert sender._accepted == {}  # nothing remembered once acknowledged
        assert _submits(metrics, "in_doubt") == 0 and _submits(metrics, "ok") == 2
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await link.stop()
        await client.close()


async def _no_pending(client: object) -> bool:
    return (await client.xpending(sms_keys.MT_STREAM, sms_keys.MT_GROUP))["pending"] == 0  # type: ignore[attr-defined]
