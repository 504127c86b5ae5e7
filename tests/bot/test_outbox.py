"""The reply outbox shared by Telegram and Zalo (bot/outbox.py) against a real Redis, with a scripted
part sender: only what was not sent is sent again, a refusal gives up, a fallback takes precedence
over the dead letter, and a blocked recipient drops the rest of the turn."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.outbox import NotDelivered, ReplyOutbox, SendLater, Turn, outbox_stream, undelivered_stream
from common.settings import Settings
from tests.bot.conftest import empty_database

CHANNEL = "testchat"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(await empty_database(redis_url, 11))
    yield client
    await client.close()


class Script:
    """A part sender: records every call, fails the calls named in ``failures`` (call number -> error)."""

    def __init__(self, failures: dict[int, Exception]) -> None:
        self.failures = failures
        self.calls: list[tuple[str, str]] = []
        self.sent: list[str] = []

    async def __call__(self, turn: Turn, message: dict[str, Any], index: int) -> None:
        self.calls.append((turn.to, message["parts"][index]["text"]))
        failure = self.failures.get(len(self.calls))
        if failure is not None:
            raise failure
        self.sent.append(message["parts"][index]["text"])


def _turn(to: str = "42") -> Turn:
    return Turn(to, [{"text": "a b", "parts": [{"text": "a"}, {"text": "b"}]},
                     {"text": "c", "parts": [{"text": "c"}]}], {"sender": f"{CHANNEL}:{to}"})


async def _run(redis: aioredis.Redis, script: Script, until: Any, **kwargs: Any) -> ReplyOutbox:
    box = ReplyOutbox(redis, CHANNEL, Settings(_env_file=None, stream_max_attempts=2), script, "user_id", **kwargs)
    box.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not await until():
            await asyncio.sleep(0.05)
    finally:
        await box.stop()
    return box


async def _empty(redis: aioredis.Redis) -> bool:
    return await redis.xlen(outbox_stream(CHANNEL)) == 0


async def test_a_retry_sends_only_what_was_not_sent(redis: aioredis.Redis) -> None:
    script = Script({2: SendLater("NetworkError", "Bad Gateway")})  # "b" fails once
    box = ReplyOutbox(redis, CHANNEL, Settings(_env_file=None), script, "user_id")
    await box.put(_turn())
    await _run(redis, script, lambda: _empty(redis))
    assert script.sent == ["a", "b", "c"] and [t for _, t in script.calls] == ["a", "b", "b", "c"]
    assert await redis.xlen(undelivered_stream(CHANNEL)) == 0
    assert not [k async for k in redis.scan_iter(f"{CHANNEL}:sent:*")]  # progress forgotten once done


async def test_still_failing_on_the_last_attempt_the_message_is_set_aside_and_the_rest_sent(
        redis: aioredis.Redis) -> None:
    later = SendLater("NetworkError", "Bad Gateway (502)")
    script = Script({1: later, 2: later})  # "a" fails in both attempts
    await redis.xadd(outbox_stream(CHANNEL), {"turn": _turn().dumps()})
    await _run(redis, script, lambda: _empty(redis))
    assert script.sent == ["c"]  # the message given up is not half sent: its parts go together
    [(_, record)] = await redis.xrange(undelivered_stream(CHANNEL))
    fields = {k.decode(): v.decode() for k, v in record.items()}
    assert (fields["user_id"], fields["to"], fields["error"], fields["reason"]) == ("42", "42", "NetworkError",
                                                                                  "Bad Gateway (502)")
    assert json.loads(fields["message"]) == _turn().messages[0]
    assert json.loads(fields["context"]) == {"sender": f"{CHANNEL}:42"}


async def test_a_refusal_goes_to_the_fallback_or_aside_and_a_blocked_recipient_drops_the_rest(
        redis: aioredis.Redis) -> None:
    fallen_back: list[str] = []

    async def fallback(turn: Turn, message: dict[str, Any], exc: Exception) -> bool:
        fallen_back.append(message["text"])
        return turn.to == "sms-ok"  # the first recipient can be reached another way

    script = Script({1: NotDelivered("-230", "outside the window"), 4: NotDelivered("-230", "outside the window"),
                     6: NotDelivered("Forbidden", "blocked", record=False, rest=False)})
    box = ReplyOutbox(redis, CHANNEL, Settings(_env_file=None), script, "user_id")
    for to in ("sms-ok", "no-phone", "blocked"):
        await box.put(_turn(to))
    await _run(redis, script, lambda: _empty(redis), fallback=fallback)
    assert script.calls == [("sms-ok", "a"), ("sms-ok", "c"),  # refused once, no retry; "c" still sent
                            ("no-phone", "a"), ("no-phone", "b"), ("no-phone", "c"),
                            ("blocked", "a")]  # nothing more for somebody who blocked the bot
    assert fallen_back == ["a b", "a b"]
    [(_, record)] = await redis.xrange(undelivered_stream(CHANNEL))
    assert record[b"to"] == b"no-phone" and record[b"error"] == b"-230" and record[b"text"] == b"a b"
