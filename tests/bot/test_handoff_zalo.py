"""A Zalo citizen handed to staff: the reply goes out through the OA API, and outside Zalo's
interaction window through the documented fallback (SMS to the number the citizen shared)."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
import redis.asyncio as aioredis

from bot.handoff import HANDOFFS_KEY
from common.sms_keys import MT_STREAM
from content.texts import text as citizen_text
from tests.bot.conftest import ANNOTATOR_PASSWORD, csrf, sign_in, zalo_settings
from tests.fakes.zalo_api import event, signed, text_event

pytestmark = pytest.mark.e2e


async def _post(client, body: dict):
    raw, headers = signed(body)
    return await client.post("/webhooks/zalo", data=raw, headers=headers)


async def test_staff_reply_reaches_zalo_and_falls_back_to_sms_outside_the_window(
        stack, redis_url, fake_zalo, gateway, accounts) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url, rasa_token=stack.rasa_token,
                                           staff_db_path=accounts.path))
    user = str(random.randint(10**17, 10**18))
    sender = f"zalo:{user}"
    await _post(client, event("user_submit_info", user, info={"name": "Dân", "phone": "0905123999"}))
    await _post(client, text_event(user, "tôi muốn gặp cán bộ"))
    handed = (await fake.wait_sent(1))[0]["message"]
    assert "chuyển cuộc trò chuyện cho cán bộ" in handed["text"]
    await _post(client, text_event(user, "tôi cần hỏi về giấy phép bán rượu"))
    assert (await fake.wait_sent(2))[1]["message"]["text"] == citizen_text("handoff.still_waiting")

    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    headers = {"X-CSRF-Token": await csrf(client)}
    assert (await client.post("/staff/api/handoffs/claim", json={"sender": sender}, headers=headers)).status == 200
    assert (await fake.wait_sent(3))[2]["message"]["text"] == citizen_text("handoff.claimed")
    sent = await client.post("/staff/api/handoffs/reply", json={"sender": sender, "text": "Chào anh/chị, tôi nghe."},
                             headers=headers)
    assert sent.status == 200
    assert (await fake.wait_sent(4))[3]["message"]["text"] == "Chào anh/chị, tôi nghe."

    redis = aioredis.from_url(redis_url)
    try:
        before = await redis.xlen(MT_STREAM)
        fake.scripted = [-230]  # the citizen has not written for too long: Zalo refuses
        later = await client.post("/staff/api/handoffs/reply", json={"sender": sender, "text": "Hồ sơ đã có kết quả."},
                                  headers=headers)
        assert later.status == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and await redis.xlen(MT_STREAM) == before:
            await asyncio.sleep(0.2)
        sms = (await redis.xrevrange(MT_STREAM, count=1))[0][1]
        assert sms[b"dest"] == b"84905123999" and sms[b"text"].decode() == "Hồ sơ đã có kết quả."
    finally:
        await redis.close()
    ended = await client.post("/staff/api/handoffs/end", json={"sender": sender}, headers=headers)
    assert ended.status == 200 and not await client.server.app[HANDOFFS_KEY].is_handed_off(sender)
