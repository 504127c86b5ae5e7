"""Telegram replies go through the outbox (bot/outbox.py, issue 19): the Rasa turn runs once, its
replies are stored, sent, and only the sending is retried, with a bound and a dead letter for staff.
The fake Bot API fails sendMessage (HTML 502 pages, dropped connections); the stack behind is real."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot import outbox
from bot.telegram import UNDELIVERED_STREAM, TelegramChannel
from bot.web import TELEGRAM_KEY
from tests.bot.conftest import TELEGRAM_TOKEN
from tests.conftest import Stack
from tests.fakes.telegram_api import DROP, FakeTelegram

pytestmark = pytest.mark.e2e

HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def _chat_id() -> int:
    return random.randint(10**8, 10**9)


def _settings(stack: Stack, redis_url: str, api_url: str, **extra: Any) -> dict[str, Any]:
    return {"rasa_url": stack.rasa_url, "redis_url": redis_url, "dossier_api_url": stack.api_url,
            "telegram_token": TELEGRAM_TOKEN, "telegram_api_url": api_url, **extra}


def _count_turns(channel: TelegramChannel) -> list[str]:
    """The texts the channel gives the assistant (one Rasa turn each), recorded as they go."""
    turns: list[str] = []
    original = channel.conversations.reply

    async def counted(sender: str, text: str, metadata: dict | None = None):
        turns.append(text)
        return await original(sender, text, metadata)

    channel.conversations.reply = counted  # type: ignore[method-assign]
    return turns


def _send_calls(fake: FakeTelegram, chat: int) -> int:
    return len([p for m, p in fake.calls if m == "sendMessage" and int(p["chat_id"]) == chat])


async def test_a_reply_refused_by_502s_and_dropped_connections_arrives_once_and_the_turn_ran_once(
        stack, redis_url, fake_telegram, gateway) -> None:
    fake, url = fake_telegram
    client = await gateway(**_settings(stack, redis_url, url))
    turns = _count_turns(client.server.app[TELEGRAM_KEY])
    for body in (HTML_502, DROP, DROP, DROP, HTML_502):  # more than one round of quick tries
        fake.script("sendMessage", 502, body)
    chat = _chat_id()
    fake.push_text(chat, "/start")
    reply = (await fake.wait_sent(1, timeout=45))[0]
    assert int(reply["chat_id"]) == chat and "trợ lý ảo" in reply["text"]
    assert "inline_keyboard" in reply["reply_markup"]  # the keyboard was stored with the reply
    await asyncio.sleep(1)
    assert len(fake.sent) == 1 and _send_calls(fake, chat) == 6
    assert turns == ["/chao_hoi"]


async def test_a_reply_still_refused_after_the_limit_is_set_aside_and_staff_can_resend_it(
        stack, redis_url, fake_telegram, gateway) -> None:
    fake, url = fake_telegram
    client = await gateway(**_settings(stack, redis_url, url, stream_max_attempts=2))
    turns = _count_turns(client.server.app[TELEGRAM_KEY])
    redis = aioredis.from_url(redis_url)
    try:
        before = await redis.xlen(UNDELIVERED_STREAM)
        for _ in range(6):  # three quick tries in each of the two attempts
            fake.script("sendMessage", 502, DROP)
        chat = _chat_id()
        fake.push_text(chat, "cảm ơn nhé")
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and await redis.xlen(UNDELIVERED_STREAM) == before:
            await asyncio.sleep(0.2)
        entry_id, record = (await redis.xrevrange(UNDELIVERED_STREAM, count=1))[0]
        fields = {k.decode(): v.decode() for k, v in record.items()}
        assert fields["chat_id"] == str(chat) and fields["error"] == "NetworkError" and fields["text"]
        assert json.loads(fields["context"])["sender"] == f"telegram:{chat}"
        assert _send_calls(fake, chat) == 6 and fake.sent == [] and turns == ["cảm ơn nhé"]
        assert await redis.xlen(outbox.outbox_stream("telegram")) == 0  # nothing left to retry

        assert outbox.resendable(fields)
        await outbox.requeue(redis, "telegram", fields)  # what the console's "gửi lại" does
        resent = (await fake.wait_sent(1, timeout=15))[0]
        assert int(resent["chat_id"]) == chat and resent["text"] == fields["text"]
        assert turns == ["cảm ơn nhé"]  # resent as it was, not asked again
    finally:
        await redis.close()


async def test_a_reply_stored_by_a_gateway_that_stopped_is_sent_by_the_next_one(
        stack, redis_url, fake_telegram, gateway) -> None:
    fake, url = fake_telegram
    first = await gateway(**_settings(stack, redis_url, url))
    first_turns = _count_turns(first.server.app[TELEGRAM_KEY])
    for _ in range(50):
        fake.script("sendMessage", 502, DROP)  # Telegram unreachable while the first gateway runs
    chat = _chat_id()
    fake.push_text(chat, "/start")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _send_calls(fake, chat):
        await asyncio.sleep(0.1)
    assert _send_calls(fake, chat) >= 1 and first_turns == ["/chao_hoi"]
    await first.close()  # the gateway stops (or dies) with the reply not sent
    fake.scripted.clear()

    second = await gateway(**_settings(stack, redis_url, url))  # the same consumer name: a restart
    second_turns = _count_turns(second.server.app[TELEGRAM_KEY])
    reply = (await fake.wait_sent(1, timeout=30))[0]
    assert int(reply["chat_id"]) == chat and "trợ lý ảo" in reply["text"]
    await asyncio.sleep(1)
    assert len(fake.sent) == 1 and second_turns == []  # sent from the store; the turn did not run again
