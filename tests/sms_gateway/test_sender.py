"""The MT sender without an SMSC: what it does when a submit fails in an unexpected way."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
import smpplib.consts as C

from common import sms_keys
from common.streams import ensure_group
from sms_gateway.config import SmsSettings
from sms_gateway.link import SubmitResult
from sms_gateway.metrics import Metrics
from sms_gateway.sender import MtSender


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
