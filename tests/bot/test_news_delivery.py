"""An announcement published in the console reaches a web, a Telegram (fake API) and an SMS
(real SMSC simulator, the SMS gateway as a process) subscriber of its topic exactly once each.

The whole stack runs (Rasa, actions, its chat gateway on Redis database 0) and a second gateway
in-process (Telegram, the console) on the same database: two notifier replicas share the fan-out.
Each citizen subscribes the way they would: by chat (web, Telegram) or ``TIN XANGDAU`` by SMS."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.push import stream_key
from bot.staff.accounts import Role
from common import news
from common.text import fold
from tests.bot.conftest import ANNOTATOR_PASSWORD, NOW, TELEGRAM_TOKEN, csrf, sign_in
from tests.conftest import Conversation, Stack
from tests.sms_gateway.conftest import GatewayProcess, Smsc

pytestmark = pytest.mark.e2e
MSISDN = "84905558283"


async def _until(check, seconds: float = 60.0):
    for _ in range(int(seconds * 5)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


@pytest.fixture
async def sms(stack: Stack, tmp_path: Path):
    """The SMSC simulator and an SMS gateway process on the stack's Redis database."""
    smsc = Smsc(tmp_path)
    await asyncio.to_thread(smsc.start)
    env = {**os.environ, "REDIS_URL": stack.redis_url, "DOSSIER_API_URL": stack.api_url, "RASA_URL": stack.rasa_url,
           "HOTLINE": "1022", "SMS_SMSC_PORT": str(smsc.port), "SMS_SYSTEM_ID": "sct", "SMS_PASSWORD": "t3stpwd",
           "SMS_ENQUIRE_LINK_S": "2", "SMS_RECONNECT_MAX_S": "1", "SMS_CONSUMER": "gw-news",
           "SMS_RATE_LIMIT_PER_MIN": "100"}
    process = GatewayProcess(env, tmp_path)
    await asyncio.to_thread(process.start)
    yield smsc
    await asyncio.to_thread(process.stop)
    if smsc.proc is not None and smsc.proc.poll() is None:
        await asyncio.to_thread(smsc.kill)


async def test_an_announcement_reaches_each_channel_subscriber_once(stack, accounts, fake_telegram, gateway,
                                                                    sms) -> None:
    fake, tg_url = fake_telegram
    client = await gateway(rasa_url=stack.rasa_url, redis_url=stack.redis_url, dossier_api_url=stack.api_url,
                           telegram_token=TELEGRAM_TOKEN, telegram_api_url=tg_url, staff_db_path=accounts.path,
                           notify_quiet_hours="")
    redis = aioredis.from_url(stack.redis_url)
    try:
        web = await asyncio.to_thread(Conversation, stack)
        said = await asyncio.to_thread(web.say, "đăng ký nhận tin xăng dầu")
        assert "Đã đăng ký nhận tin xăng dầu" in said
        chat = random.randint(10**8, 10**9)
        fake.push_text(chat, "cho mình nhận tin tức về xăng dầu với")
        assert "Đã đăng ký nhận tin xăng dầu" in (await fake.wait_sent(1))[0]["text"]
        assert await asyncio.to_thread(sms.send_text, MSISDN, "TIN XANG DAU") == 0
        subscribed = await _until(lambda: asyncio.to_thread(lambda: sms.replies().get(MSISDN)))
        assert "Da dang ky nhan tin xang dau" in subscribed[0]
        everyone = await news.subscribers(redis, ["xang_dau"])  # other tests' citizens too
        assert {f"web:{web.session}", f"telegram:{chat}", f"sms:{MSISDN}"} <= everyone

        accounts.create("mai.tran", ANNOTATOR_PASSWORD, Role.EDITOR, NOW)
        await sign_in(client, "mai.tran", ANNOTATOR_PASSWORD)
        title = f"Giá xăng RON95 giảm 300 đồng từ 15 giờ (đợt {chat})"
        published = await client.post("/staff/api/news", allow_redirects=False, data=[
            ("csrf_token", await csrf(client)), ("title", title),
            ("summary", "Theo điều hành giá của liên Bộ Công Thương - Tài chính, áp dụng tại mọi cửa hàng."),
            ("topics", "xang_dau")])
        assert published.status == 302

        async def web_notices() -> list[str]:
            entries = await redis.xrange(stream_key(web.session))
            return [json.loads(f[b"message"])["text"] for _, f in entries if f[b"kind"] == b"notice"]

        async def sms_texts() -> list[str]:
            return await asyncio.to_thread(lambda: sms.replies().get(MSISDN, [])[1:])

        async def telegram_texts() -> list[str]:
            return [m["text"] for m in fake.sent_to(chat)[1:]]

        for told in (web_notices, telegram_texts, sms_texts):
            await _until(told)
        await asyncio.sleep(3)  # a second copy, from either notifier replica, would be here now
        [on_web] = await web_notices()
        [on_telegram] = await telegram_texts()
        [on_sms] = await sms_texts()
        assert title in on_web and title in on_telegram and "hủy nhận tin" in on_web
        assert fold(title) in on_sms and "HUY TIN" in on_sms and on_sms.isascii()

        page = await (await client.get("/staff/news")).text()
        row = re.search(rf'<tr data-news="\d+">(?:(?!</tr>).)*{re.escape(title)}(?:(?!</tr>).)*</tr>', page, re.S)
        assert row and row[0].endswith(f"<td>{len(everyone)}</td></tr>")  # queued once for each subscriber
    finally:
        await redis.close()
