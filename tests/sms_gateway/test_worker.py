"""The MO worker without an SMSC: what is a resend, and what happens to an MO nobody can answer."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from common import sms_keys
from common.streams import ConsumerPolicy, ensure_group
from sms_gateway.config import SmsSettings
from sms_gateway.metrics import Metrics
from sms_gateway.worker import MoWorker
from tests.sms_gateway.conftest import CountingRouter, answer_all
from tests.sms_gateway.redis_faults import FaultyRedis

SETTINGS = SmsSettings(_env_file=None, dedup_window_s=120, dedup_resend_s=3)


def _worker() -> MoWorker:
    return MoWorker(None, None, SETTINGS, Metrics(), "test")  # type: ignore[arg-type]


def test_only_the_smscs_resend_evidence_makes_a_duplicate() -> None:
    worker = _worker()
    first = {"entry": "1-0", "bind": "ab.1", "seq": "7", "at": 1000.0}
    same_pdu = {"bind": "ab.1", "seq": "7"}
    assert worker.is_resend(first, same_pdu, 1030.0, answered_at=1000.2)  # the very PDU again
    assert worker.is_resend(first, {"bind": "ab.2", "seq": "1"}, 1010.0, answered_at=1000.2)  # after a link drop
    quick = {"bind": "ab.1", "seq": "8"}
    assert worker.is_resend(first, quick, 1000.5, answered_at=None)  # before ours was even answered
    # The citizen's new message: "1" again to the next menu, after our answer went out.
    assert not worker.is_resend(first, quick, 1001.0, answered_at=1000.2)
    assert not worker.is_resend(first, quick, 1020.0, answered_at=None)
    assert not worker.is_resend(first, same_pdu, 1000.0 + 121, answered_at=1000.2)  # outside the window


class FailingRouter:
    """A router whose dependency breaks in a way nobody planned for."""

    calls = 0

    async def read_ahead(self, messages: list, commands: list | None = None) -> list:
        return [None] * len(messages)

    async def reply(self, msisdn: str, text: str | None, ahead: object = None,
                    message_id: str | None = None) -> str | None:
        self.calls += 1
        raise RuntimeError("dependency broke")


async def test_an_mo_that_always_fails_is_dead_lettered_with_its_reason(redis_url: str) -> None:
    client = aioredis.from_url(redis_url.rsplit("/", 1)[0] + "/14")
    await client.flushdb()
    router = FailingRouter()
    policy = ConsumerPolicy(block_ms=50, backoff_s=0.05, backoff_max_s=0.1, max_attempts=3)
    worker = MoWorker(client, router, SmsSettings(_env_file=None), Metrics(), "host-mo-worker-0", policy)  # type: ignore[arg-type]
    await ensure_group(client, sms_keys.MO_STREAM, worker.group)
    await client.xadd(sms_keys.MO_STREAM, {"source": "84905000111", "dest": "8283", "data_coding": 0, "esm_class": 0,
                                          "payload": b"HD".hex(), "received_at": f"{time.time():.6f}",
                                          "bind": "x.1", "seq": 1})
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(200):
            if await client.xlen(sms_keys.DEAD_STREAM):
                break
            await asyncio.sleep(0.05)
        [(_, dead)] = await client.xrange(sms_keys.DEAD_STREAM)
        assert dead[b"error"] == b"RuntimeError" and dead[b"reason"] == b"dependency broke"
        assert dead[b"attempts"] == b"3" and dead[b"stream"] == b"sms:mo" and dead[b"source"] == b"84905000111"
        assert router.calls == 3
        assert (await client.xpending(sms_keys.MO_STREAM, worker.group))["pending"] == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await client.close()


class EchoRouter:
    """Answers what the worker asks, so the test sees which text it was given."""

    async def reply(self, msisdn: str, text: str | None, ahead: object = None,
                    message_id: str | None = None) -> str | None:
        return "unreadable" if text is None else f"echo {text}"


async def test_a_long_mo_whose_parts_cannot_be_assembled_gets_the_unreadable_reply(redis_url: str) -> None:
    client = aioredis.from_url(redis_url.rsplit("/", 1)[0] + "/14")
    await client.flushdb()
    worker = MoWorker(client, EchoRouter(), SmsSettings(_env_file=None), Metrics(), "host-mo-worker-0")  # type: ignore[arg-type]
    key = sms_keys.parts("84905000112", "9:3")
    await client.hset(key, "1", "{not json")  # a part stored by an older version, or damaged
    await client.zadd(sms_keys.PARTS_DEADLINES, {key: time.time() - 1})
    try:
        await worker._sweep_parts()
        [(_, mt)] = await client.xrange(sms_keys.MT_STREAM)
        assert mt[b"dest"] == b"84905000112" and mt[b"text"] == b"unreadable"
        assert not await client.exists(key) and not await client.zcard(sms_keys.PARTS_DEADLINES)
    finally:
        await client.close()


async def test_a_reply_transaction_whose_answer_is_lost_queues_the_reply_once(redis_url: str) -> None:
    """The reply, the MO's 'answered' mark and its ack are one transaction, never retried blindly: when
    Redis applies it and the answer is lost, the MO is no longer pending and nothing queues it again."""
    client = aioredis.from_url(redis_url.rsplit("/", 1)[0] + "/14")
    await client.flushdb()
    redis = FaultyRedis(client)
    redis.lose_next, redis.lose_when = 1, lambda names: "xadd" in names  # the batch's reply transaction
    await client.xadd(sms_keys.MO_STREAM, {"source": "84905000113", "dest": "8283", "data_coding": 0,
                                          "esm_class": 0, "payload": b"HS 000.00.12.H17-200115-0001".hex(),
                                          "received_at": f"{time.time():.6f}", "bind": "x.1", "seq": 1})
    router = CountingRouter()
    try:
        await answer_all(redis, router, Metrics(), SETTINGS)  # type: ignore[arg-type]
        assert redis.lost == 1 and router.replies == 1
        assert await client.xlen(sms_keys.MT_STREAM) == 1
        assert (await client.xpending(sms_keys.MO_STREAM, "sms-workers"))["pending"] == 0
    finally:
        await client.close()
