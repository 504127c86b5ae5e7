"""Channel pieces without a network: Zalo signatures and rendering, the shared limit."""

from __future__ import annotations

import hashlib

import redis.asyncio as aioredis

from bot.conversation import Conversations
from bot.zalo import MAX_BUTTONS, MAX_TEXT, render, signature, user_of
from clients.rasa import BotMessage, Button, RasaUnavailable, parse_message
from common.ratelimit import UserRateLimit, Verdict
from content.texts import text


def test_zalo_signature_is_sha256_of_app_body_timestamp_secret() -> None:
    body = b'{"event_name":"user_send_text"}'
    expected = hashlib.sha256(b"app" + body + b"1700000000000" + b"secret").hexdigest()
    assert signature("app", body, "1700000000000", "secret") == f"mac={expected}"
    assert signature("app", body, "1700000000001", "secret") != f"mac={expected}"


def test_zalo_render_splits_text_and_groups_buttons() -> None:
    buttons = tuple(Button(f"Lựa chọn {i}", f"/hoi_le_phi{{\"thu_tuc\": \"{i}\"}}") for i in range(7))
    bodies = render(BotMessage("x " * 1500, buttons))
    assert all(len(b["text"]) <= MAX_TEXT for b in bodies)
    groups = [b["attachment"]["payload"]["buttons"] for b in bodies if "attachment" in b]
    assert [len(g) for g in groups] == [MAX_BUTTONS, 2]
    assert groups[0][0] == {"title": "Lựa chọn 0", "type": "oa.query.hide", "payload": '/hoi_le_phi{"thu_tuc": "0"}'}
    assert "Vị trí" in render(BotMessage("Gửi vị trí", request_location=True))[0]["text"]


def test_zalo_user_of_each_event_shape() -> None:
    assert user_of({"sender": {"id": "1"}}) == "1"
    assert user_of({"follower": {"id": "2"}}) == "2"
    assert user_of({"event_name": "x"}) is None


def test_rasa_custom_messages_carry_the_location_request() -> None:
    message = parse_message({"recipient_id": "x", "custom": {"text": "Gửi vị trí", "request_location": True}})
    assert message == BotMessage("Gửi vị trí", (), True)


class _Rasa:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[str] = []

    async def send(self, sender, text, metadata=None):
        if self.fail:
            raise RasaUnavailable("down")
        self.calls.append(text)
        return [BotMessage(f"đã nhận: {text}")]


async def test_one_limit_for_every_channel_tells_once_then_stays_silent(redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    try:
        rasa = _Rasa()
        chat = Conversations(rasa, UserRateLimit(redis, 2))
        answers = [await chat.reply("zalo:limit-test", "chào") for _ in range(4)]
        assert [len(a) for a in answers] == [1, 1, 1, 0] and answers[2][0].text == text("limits.too_many_messages")
        assert len(rasa.calls) == 2
        assert await UserRateLimit(redis, 2).check("sms:84900000001") is Verdict.ALLOW  # per sender
    finally:
        await redis.close()


async def test_rasa_down_is_an_apology_not_an_error(redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    try:
        [message] = await Conversations(_Rasa(fail=True), UserRateLimit(redis, 5)).reply("telegram:1", "chào")
        assert "tạm gián đoạn" in message.text
    finally:
        await redis.close()


async def test_limit_fails_open_when_redis_is_down() -> None:
    redis = aioredis.from_url("redis://127.0.0.1:9/0")
    try:
        assert await UserRateLimit(redis, 1).check("web:x") is Verdict.ALLOW
    finally:
        await redis.close()


async def test_a_number_typed_instead_of_a_tap_sends_that_buttons_payload(redis_url: str) -> None:
    from clients.rasa import BotMessage, Button

    class _Menu:
        def __init__(self) -> None:
            self.received: list[str] = []

        async def send(self, sender, text, metadata=None):
            self.received.append(text)
            return [BotMessage("Chọn thủ tục:", (Button("Bán buôn rượu", "/a"), Button("Bán lẻ rượu", "/b")))]

    redis = aioredis.from_url(redis_url)
    try:
        rasa = _Menu()
        chat = Conversations(rasa, None, redis)
        await chat.handle("telegram:typed-two", "giấy phép rượu")
        await chat.handle("telegram:typed-two", "2")
        await chat.handle("telegram:typed-two", "7")  # no seventh button: the text itself
        assert rasa.received == ["giấy phép rượu", "/b", "7"]
    finally:
        await redis.close()
