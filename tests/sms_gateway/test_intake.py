"""The intake when Redis fails under it (a real Redis behind injected faults): an MO refused with a
temporary error and delivered again by the SMSC is answered once, whether or not the refused store
was applied (a Redis killed after writing its AOF, before answering, applies it and loses the answer)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
import smpplib.consts as C

from common import sms_keys
from sms_gateway.config import SmsSettings
from sms_gateway.intake import Intake
from sms_gateway.link import DeliverSm, NotStored
from sms_gateway.metrics import Metrics
from tests.sms_gateway.conftest import CountingRouter, answer_all
from tests.sms_gateway.redis_faults import FaultyRedis

SOURCE = b"84905000444"
TEXT = b"HS 000.00.12.H17-200115-0001"


def _mo(sequence: int) -> DeliverSm:
    return DeliverSm(sequence, SOURCE, b"8283", short_message=TEXT)


@pytest.fixture
def client(redis_url: str) -> Iterator[aioredis.Redis]:
    yield aioredis.from_url(redis_url.rsplit("/", 1)[0] + "/12")


@pytest.mark.parametrize("applied", [True, False], ids=["applied-answer-lost", "not-applied"])
async def test_an_mo_refused_then_delivered_again_is_answered_once(client: aioredis.Redis, applied: bool) -> None:
    await client.flushdb()
    redis = FaultyRedis(client)
    metrics = Metrics()
    intake = Intake(redis, metrics, 3600, session=lambda: "ab12.1")
    if applied:  # written, the answer lost, and Redis gone before the intake's retry
        redis.lose_next, redis.then_down = 1, True
    else:
        redis.down = True
    with pytest.raises(NotStored):  # the link answers the deliver_sm with a temporary error
        await intake([_mo(5)])
    assert await client.xlen(sms_keys.MO_STREAM) == (1 if applied else 0)
    redis.down = False
    assert await intake([_mo(9)]) == [C.SMPP_ESME_ROK]  # the SMSC's new delivery, a new sequence number
    stored = [fields for _, fields in await client.xrange(sms_keys.MO_STREAM)]
    assert {(f[b"bind"], f[b"seq"]) for f in stored} == {(b"ab12.1", b"5")}  # stored as the refused one was
    router = CountingRouter()
    # No "a few seconds apart" evidence: as after an outage longer than dedup_resend_s.
    await answer_all(client, router, metrics, SmsSettings(_env_file=None, dedup_resend_s=0))
    assert router.replies == 1 and await client.xlen(sms_keys.MT_STREAM) == 1
    duplicates = metrics.registry.get_sample_value("sms_mo_total", {"outcome": "duplicate"}) or 0
    assert duplicates == (1 if applied else 0)

    # Stored at last: the refusal is forgotten, the number's next identical MO is its own message.
    await intake([_mo(12)])
    [(_, later)] = await client.xrange(sms_keys.MO_STREAM)
    assert later[b"seq"] == b"12"
    await client.close()
