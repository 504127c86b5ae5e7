"""Telegram through python-telegram-bot against a local fake Bot API, with the real
stack behind it (Rasa, actions, dossier API, Redis)."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
import redis.asyncio as aioredis

from bot.telegram import (
    MAX_MESSAGE,
    SECRET_HEADER,
    UNDELIVERED_STREAM,
    CallbackPayloads,
    TelegramChannel,
)
from bot.web import TELEGRAM_KEY
from clients.rasa import BotMessage, Button
from common import subscriptions
from content.texts import text
from tests.bot.conftest import TELEGRAM_TOKEN
from tests.conftest import Stack, seeded_dossier
from tests.fakes.telegram_api import BOT_USER, FakeTelegram
from tests.rawhttp import raw_status

pytestmark = pytest.mark.e2e


def _chat_id() -> int:
    return random.randint(10**8, 10**9)


def _settings(stack: Stack, redis_url: str, api_url: str, **extra) -> dict:
    return {"rasa_url": stack.rasa_url, "redis_url": redis_url, "dossier_api_url": stack.api_url,
            "telegram_token": TELEGRAM_TOKEN,
            "telegram_api_url": api_url, **extra}


@pytest.fixture
async def bot(stack, redis_url, fake_telegram, gateway) -> FakeTelegram:
    """The gateway long-polling the fake Bot API; returns the fake."""
    fake, url = fake_telegram
    await gateway(**_settings(stack, redis_url, url))
    return fake


async def test_polling_conversation_with_buttons_and_a_real_lookup(stack, bot) -> None:
    fake = bot
    dossier = seeded_dossier(stack, "dang_xu_ly")
    chat = _chat_id()

    fake.push_text(chat, "/start")
    greeting = (await fake.wait_sent(1))[0]
    assert "trợ lý ảo" in greeting["text"]
    keyboard = greeting["reply_markup"]["inline_keyboard"]
    lookup_button = next(row[0] for row in keyboard if row[0]["text"] == "Tra cứu hồ sơ")

    fake.push_callback(chat, lookup_button["callback_data"])  # the citizen presses the button
    asked = (await fake.wait_sent(2))[1]
    assert "nhập mã hồ sơ" in asked["text"]
    assert any(method == "answerCallbackQuery" for method, _ in fake.calls)

    fake.push_text(chat, dossier["code"].lower())
    status = (await fake.wait_sent(3))[2]
    assert dossier["code"] in status["text"] and "ĐANG XỬ LÝ" in status["text"]
    assert dossier["applicant"] in status["text"]  # already masked by the API

    fake.push_text(chat, f"/tracuu {dossier['code']}")
    again = (await fake.wait_sent(4))[3]
    assert dossier["code"] in again["text"] and "ĐANG XỬ LÝ" in again["text"]
    assert all(int(m["chat_id"]) == chat for m in fake.sent)
    assert ("setMyCommands" in [m for m, _ in fake.calls]) and fake.webhook is None


async def test_shared_location_answers_nearby_places(stack, bot) -> None:
    fake = bot
    chat = _chat_id()
    fake.push_text(chat, "tìm cây atm gần đây")
    ask = (await fake.wait_sent(1))[0]
    assert "chia sẻ vị trí" in ask["text"]
    assert ask["reply_markup"]["keyboard"][0][0]["request_location"] is True

    fake.push_location(chat, 16.0712, 108.1519)  # next to Hòa Khánh market
    places = (await fake.wait_sent(2))[1]["text"]
    assert places.splitlines()[1].startswith("1. ATM BIDV Tôn Đức Thắng")
    assert "ATM" in places and " m" in places


async def test_rating_command_offers_the_three_levels(stack, bot) -> None:
    fake = bot
    chat = _chat_id()
    fake.push_text(chat, "/danhgia")
    ask = (await fake.wait_sent(1))[0]
    titles = [row[0]["text"] for row in ask["reply_markup"]["inline_keyboard"]]
    assert titles == ["Hài lòng", "Bình thường", "Không hài lòng"]
    fake.push_callback(chat, ask["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    thanks = (await fake.wait_sent(2))[1]
    assert "cảm ơn" in thanks["text"].lower()


async def test_webhook_needs_the_secret_token(stack, redis_url, fake_telegram, gateway) -> None:
    fake, url = fake_telegram
    client = await gateway(**_settings(stack, redis_url, url, telegram_webhook_url="https://bot.example.vn/webhooks/telegram",
                                       telegram_secret_token="s3cret-token_1"))
    assert fake.webhook["url"] == "https://bot.example.vn/webhooks/telegram"
    assert fake.webhook["secret_token"] == "s3cret-token_1"
    chat = _chat_id()
    update = fake.text_update(chat, "xin chào")

    missing = await client.post("/webhooks/telegram", json=update)
    wrong = await client.post("/webhooks/telegram", json=update, headers={SECRET_HEADER: "guess"})
    assert (missing.status, wrong.status) == (403, 403)

    ok = await client.post("/webhooks/telegram", json=update, headers={SECRET_HEADER: "s3cret-token_1"})
    assert ok.status == 200
    reply = (await fake.wait_sent(1))[0]
    assert int(reply["chat_id"]) == chat and "trợ lý ảo" in reply["text"]
    assert len(fake.sent) == 1  # the refused calls never reached the assistant


async def test_flood_limit_retry_after_is_honoured(stack, bot) -> None:
    fake = bot
    fake.script("sendMessage", 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                     "parameters": {"retry_after": 1}})
    chat = _chat_id()
    fake.push_text(chat, "cảm ơn nhé")
    await fake.wait_sent(1)
    attempts = [p for m, p in fake.calls if m == "sendMessage"]
    assert len(attempts) == 2 and len(fake.sent) == 1  # refused once, sent once after the wait


async def test_long_answers_are_split_and_keep_the_keyboard_last(redis_url, fake_telegram, gateway) -> None:
    fake, url = fake_telegram
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, telegram_token=TELEGRAM_TOKEN,
                           telegram_api_url=url)
    channel: TelegramChannel = client.server.app[TELEGRAM_KEY]
    text = "\n".join(f"Dòng {i}: giấy tờ cần nộp theo quy định hiện hành." for i in range(120))
    assert MAX_MESSAGE < len(text) < 2 * MAX_MESSAGE
    await channel._send(42, [BotMessage(text, (Button("Hỏi lệ phí", "/hoi_le_phi"),))])
    parts = fake.sent_to(42)
    assert len(parts) == 2 and all(len(p["text"]) <= MAX_MESSAGE for p in parts)
    assert "\n".join(p["text"] for p in parts) == text
    assert "reply_markup" not in parts[0] and parts[1]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Hỏi lệ phí"


async def test_long_button_payloads_travel_as_a_digest(redis_url) -> None:
    redis = aioredis.from_url(redis_url)
    try:
        payloads = CallbackPayloads(redis)
        long = '/hoi_giay_to{"thu_tuc": "cap-giay-phep-ban-le-ruou-san-xuat-thu-cong-kinh-doanh"}'
        data = await payloads.encode(long)
        assert len(data.encode()) <= 64 and data != long
        assert await payloads.decode(data) == long
        assert await payloads.encode("/danh_gia") == "/danh_gia"
        assert await payloads.decode("cb#" + "0" * 32) is None  # expired or forged
    finally:
        await redis.close()


async def test_rate_limit_is_shared_per_user(stack, redis_url, fake_telegram, gateway) -> None:
    fake, url = fake_telegram
    await gateway(**_settings(stack, redis_url, url, chat_rate_limit_per_min=2))
    chat = _chat_id()
    for _ in range(4):
        fake.push_text(chat, "cảm ơn")
    sent = await fake.wait_sent(3)
    assert sent[2]["text"] == text("limits.too_many_messages")
    fake.push_text(chat, "/start")  # a marker: the 4th message got no answer
    await fake.wait_sent(3)
    assert len(fake.sent_to(chat)) == 3


async def test_queue_number_by_buttons(stack, bot) -> None:
    fake = bot
    chat = _chat_id()
    fake.push_text(chat, "cho tôi lấy số thứ tự")
    days = (await fake.wait_sent(1))[0]["reply_markup"]["inline_keyboard"]
    fake.push_callback(chat, days[0][0]["callback_data"])
    offered = (await fake.wait_sent(2))[1]
    assert "reply_markup" in offered, offered["text"]
    slots = offered["reply_markup"]["inline_keyboard"]
    fake.push_callback(chat, slots[0][0]["callback_data"])
    booked = (await fake.wait_sent(3))[2]["text"]
    # One of the two presses books (the first, unless another citizen of the shared calendar holds its slot).
    assert booked.startswith("Đã đặt lịch: số thứ tự")
    assert (slots[0][0]["text"] in booked) != (slots[1][0]["text"] in booked)
    fake.push_text(chat, "huỷ lịch hẹn")  # NFD/NFC and "huỷ"/"hủy" spellings alike
    assert (await fake.wait_sent(4))[3]["text"].startswith("Đã hủy lịch hẹn")


async def test_result_delivery_after_a_lookup_asks_only_the_rest(stack, bot) -> None:
    fake = bot
    chat = _chat_id()
    dossier = seeded_dossier(stack, "da_co_ket_qua", offset=9, undelivered=True)
    fake.push_text(chat, f"/tracuu {dossier['code']}")
    await fake.wait_sent(1)
    for i, (say, asked) in enumerate([("gửi kết quả về nhà cho tôi", "Họ tên người nhận"),
                                      ("Phạm Thị Hoa", "Số điện thoại"), ("+84 935 000 111", "Địa chỉ nhận"),
                                      ("08 Bạch Đằng, phường Hải Châu", "Mã vận đơn: BD")], start=2):
        fake.push_text(chat, say)
        assert asked in (await fake.wait_sent(i))[i - 1]["text"]


async def test_malformed_webhook_calls_get_4xx_before_and_after_the_secret(redis_url, fake_telegram, gateway) -> None:
    """Issue 19 item 4: a non-UTF-8 header, or a JSON body that is no update, never gives a 500."""
    fake, url = fake_telegram
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, telegram_token=TELEGRAM_TOKEN,
                           telegram_api_url=url, telegram_webhook_url="https://bot.example.vn/webhooks/telegram",
                           telegram_secret_token="s3cret-token_1")
    chat = _chat_id()
    update = json.dumps(fake.text_update(chat, "xin chào")).encode()
    secret = f"{SECRET_HEADER}: s3cret-token_1\r\n".encode()
    for headers in (f"{SECRET_HEADER}: \xff\xfe".encode("latin-1") + b"\r\n",  # not UTF-8, before the check
                    secret + b"X-Forwarded-For: \xc3(\r\n"):  # after it (right secret)
        assert await raw_status(client.host, client.port, "POST", "/webhooks/telegram", headers, update) == 400
    bodies = [b"[1]", b"null", b"[]", b'"update"', b"{}", b'{"update_id": "1"}', b'{"update_id": 1.5}',
              b'{"update_id": 1, "message": 5}', b'{"update_id": 1, "message": {"chat": []}}',
              b'{"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": "x", "type": "private"}}}',
              b"[" * 5000 + b"]" * 5000, b'{"update_id": 1, "x": "\\udc00"}', b"\xff{}", b""]
    for body in bodies:
        with_secret = await client.post("/webhooks/telegram", data=body, headers={SECRET_HEADER: "s3cret-token_1"})
        without = await client.post("/webhooks/telegram", data=body, headers={SECRET_HEADER: "guess"})
        assert (with_secret.status, without.status) == (400, 403), body[:40]
    assert fake.sent == []
    # The channel still works: a real update is answered (Rasa is down here: the apology).
    ok = await client.post("/webhooks/telegram", data=update, headers={SECRET_HEADER: "s3cret-token_1"})
    assert ok.status == 200
    reply = (await fake.wait_sent(1))[0]
    assert int(reply["chat_id"]) == chat and "tạm gián đoạn" in reply["text"]


# -- issue 19: every action once, every reply arrives, groups and edits ------------------


async def _slot_keyboard(fake: FakeTelegram, chat: int) -> dict:
    """Ask for a queue number and pick the first day: the message offering the slots."""
    fake.push_text(chat, "cho tôi lấy số thứ tự")
    days = (await fake.wait_sent(1))[0]
    fake.push_callback(chat, days["reply_markup"]["inline_keyboard"][0][0]["callback_data"], days["message_id"])
    offered = (await fake.wait_sent(2))[1]
    assert "reply_markup" in offered, offered["text"]
    return offered


def _appointments(stack: Stack, chat: int) -> list[dict]:
    resp = stack.api_session().get(f"{stack.api_url}/api/v1/appointments", params={"owner": f"telegram:{chat}"},
                                   timeout=10)
    return resp.json()


async def _stale_answered(fake: FakeTelegram, timeout: float = 30) -> None:
    """Wait until a button press was answered as stale (the second of two presses is handled after the
    first's turn, so how soon depends on the machine's load)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not any(a.get("text") == text("channel.stale_choice") for a in fake.answers()):
        assert asyncio.get_running_loop().time() < deadline, fake.answers()
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # a message the press should not have caused would show by now


async def test_a_double_tap_on_a_slot_books_once_and_the_second_press_is_stale(stack, bot) -> None:
    fake = bot
    chat = _chat_id()
    offered = await _slot_keyboard(fake, chat)
    slots = offered["reply_markup"]["inline_keyboard"]
    fake.push_callback(chat, slots[0][0]["callback_data"], offered["message_id"])  # the tap...
    fake.push_callback(chat, slots[1][0]["callback_data"], offered["message_id"])  # ...and the other counter's
    booked = (await fake.wait_sent(3))[2]["text"]
    # One of the two presses books (the first, unless another citizen of the shared calendar holds its slot).
    assert booked.startswith("Đã đặt lịch: số thứ tự")
    assert (slots[0][0]["text"] in booked) != (slots[1][0]["text"] in booked)
    await _stale_answered(fake)  # the second press got the "hết hiệu lực" answer...
    assert len(fake.sent_to(chat)) == 3  # ...and no message
    assert len(_appointments(stack, chat)) == 1
    assert "reply_markup" not in fake.messages[offered["message_id"]]  # the pressed keyboard is gone
    assert any(m == "editMessageReplyMarkup" for m, _ in fake.calls)


async def test_two_levels_pressed_on_one_rating_keyboard_store_one_rating(stack, bot) -> None:
    fake = bot
    chat = _chat_id()
    summary = f"{stack.api_url}/api/v1/ratings/summary"
    before = sum(stack.api_session().get(summary, timeout=10).json().values())
    fake.push_text(chat, "/danhgia")
    ask = (await fake.wait_sent(1))[0]
    levels = ask["reply_markup"]["inline_keyboard"]
    fake.push_callback(chat, levels[0][0]["callback_data"], ask["message_id"])
    fake.push_callback(chat, levels[2][0]["callback_data"], ask["message_id"])
    thanks = (await fake.wait_sent(2))[1]["text"]
    assert "\"hài lòng\"" in thanks
    await _stale_answered(fake)
    assert len(fake.sent_to(chat)) == 2
    assert sum(stack.api_session().get(summary, timeout=10).json().values()) == before + 1


async def test_six_flood_refusals_in_a_row_then_the_reply_is_delivered(stack, bot) -> None:
    fake = bot
    for _ in range(6):
        fake.script("sendMessage", 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry"
                                         " after 1", "parameters": {"retry_after": 1}})
    chat = _chat_id()
    fake.push_text(chat, "cảm ơn nhé")
    reply = (await fake.wait_sent(1, timeout=30))[0]
    assert int(reply["chat_id"]) == chat
    assert len([m for m, _ in fake.calls if m == "sendMessage"]) == 7


async def test_an_html_502_and_a_non_json_answer_are_retried_and_the_turn_runs_once(stack, bot) -> None:
    fake = bot
    chat = _chat_id()
    offered = await _slot_keyboard(fake, chat)
    fake.script("sendMessage", 502, "<html><body><h1>502 Bad Gateway</h1></body></html>")
    fake.script("sendMessage", 200, "<html>maintenance</html>")
    slots = offered["reply_markup"]["inline_keyboard"]
    fake.push_callback(chat, slots[0][0]["callback_data"], offered["message_id"])
    booked = (await fake.wait_sent(3, timeout=30))[2]["text"]
    assert booked.startswith("Đã đặt lịch")
    assert len(_appointments(stack, chat)) == 1


async def test_a_message_sent_directly_that_cannot_be_sent_raises_for_its_sender(
        redis_url, fake_telegram, gateway) -> None:
    """Notifications and staff replies skip the outbox: their senders retry and report (the notifier's
    dead letters, the handoff page); replies to a turn are tested in test_telegram_outbox.py."""
    from telegram.error import NetworkError

    fake, url = fake_telegram
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, telegram_token=TELEGRAM_TOKEN,
                           telegram_api_url=url)
    channel: TelegramChannel = client.server.app[TELEGRAM_KEY]
    redis = aioredis.from_url(redis_url)
    try:
        before = await redis.xlen(UNDELIVERED_STREAM)
        for _ in range(3):
            fake.script("sendMessage", 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
        with pytest.raises(NetworkError):
            await channel.notify("43", "Hồ sơ của anh/chị đã có kết quả.")
        assert await redis.xlen(UNDELIVERED_STREAM) == before
        assert len([m for m, _ in fake.calls if m == "sendMessage"]) == 3 and fake.sent == []
    finally:
        await redis.close()


async def test_a_user_who_blocked_the_bot_is_unsubscribed(redis_url, fake_telegram, gateway) -> None:
    fake, url = fake_telegram
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, telegram_token=TELEGRAM_TOKEN,
                           telegram_api_url=url)
    channel: TelegramChannel = client.server.app[TELEGRAM_KEY]
    redis = aioredis.from_url(redis_url)
    chat = _chat_id()
    try:
        await subscriptions.subscribe(redis, "000.00.12.H17-200115-0001", f"telegram:{chat}")
        fake.script("sendMessage", 403, {"ok": False, "error_code": 403,
                                         "description": "Forbidden: bot was blocked by the user"})
        await channel.notify(str(chat), "Hồ sơ 000.00.12.H17-200115-0001 đã có kết quả.")  # no error: nobody to retry
        assert f"telegram:{chat}" not in await subscriptions.subscribers(redis, "000.00.12.H17-200115-0001")
        assert len([m for m, _ in fake.calls if m == "sendMessage"]) == 1  # tried once, not five times
    finally:
        await redis.close()


async def test_in_a_supergroup_only_messages_for_the_bot_are_answered(stack, bot) -> None:
    fake = bot
    group, alice, bob = -_chat_id() * 1000, _chat_id(), _chat_id()
    dossier = seeded_dossier(stack, "dang_xu_ly", offset=3)
    fake.group_update(group, alice, "tra cứu hồ sơ giúp em")  # not addressed: silence
    fake.group_update(group, alice, "/help@other_bot")  # another bot's command: silence
    fake.group_update(group, alice, "tra cứu hồ sơ", mention=True)
    asked = (await fake.wait_sent(1))[0]
    assert "nhập mã hồ sơ" in asked["text"] and int(asked["chat_id"]) == group
    fake.group_update(group, bob, "ok anh", reply_to=asked["message_id"])  # another member answers the bot
    fake.group_update(group, alice, dossier["code"], reply_to=asked["message_id"])
    sent = await fake.wait_sent(3)
    assert dossier["code"] in sent[2]["text"]  # Alice's code, answered in her own conversation, in order
    assert dossier["code"] not in sent[1]["text"]  # Bob's "ok anh" was not taken as her answer
    fake.group_update(group, alice, "tìm cây atm gần đây", mention=True)
    places = (await fake.wait_sent(4))[3]
    assert "reply_markup" not in places and "📎" in places["text"]  # no location keyboard outside private chats
    await asyncio.sleep(1)
    assert len(fake.sent) == 4


async def test_an_edited_message_is_a_correction(stack, bot) -> None:
    fake = bot
    chat = _chat_id()
    first = fake.push_text(chat, "cảm ơn")
    await fake.wait_sent(1)
    fake.push_edit(first, "cảm ơn nhiều")  # already answered: told how to correct
    assert (await fake.wait_sent(2))[1]["text"] == text("telegram.edited_too_late")

    group, member = -_chat_id() * 1000, _chat_id()
    dossier = seeded_dossier(stack, "dang_xu_ly", offset=4)
    unaddressed = fake.group_update(group, member, f"mã {dossier['code']}")  # not for the bot: not acted on
    edited = {**unaddressed["message"], "text": f"@{BOT_USER['username']} mã {dossier['code']}",
              "entities": [{"type": "mention", "offset": 0, "length": len(BOT_USER["username"]) + 1}]}
    fake._push({"edited_message": edited})  # corrected to ask the bot: answered as new
    assert dossier["code"] in (await fake.wait_sent(3))[2]["text"]


async def test_a_dossier_code_in_a_photo_caption_is_looked_up(stack, bot) -> None:
    fake = bot
    chat = _chat_id()
    dossier = seeded_dossier(stack, "dang_xu_ly", offset=5)
    fake.push_photo(chat, f"giấy hẹn của em, mã {dossier['code']}")
    status = (await fake.wait_sent(1))[0]["text"]
    assert dossier["code"] in status and "ĐANG XỬ LÝ" in status
    fake.push_photo(chat, "ảnh giấy tờ")
    assert (await fake.wait_sent(2))[1]["text"] == text("channel.media_not_understood")


async def test_in_a_group_a_keyboard_answers_only_the_member_it_was_for(stack, bot) -> None:
    fake = bot
    group, alice, bob = -_chat_id() * 1000, _chat_id(), _chat_id()
    fake.group_update(group, alice, "/danhgia")  # a bare command in a group is for every bot
    ask = (await fake.wait_sent(1))[0]
    levels = ask["reply_markup"]["inline_keyboard"]
    fake.push_callback(group, levels[2][0]["callback_data"], ask["message_id"], user_id=bob)
    fake.push_callback(group, levels[0][0]["callback_data"], ask["message_id"], user_id=alice)
    thanks = (await fake.wait_sent(2))[1]["text"]
    assert "\"hài lòng\"" in thanks  # Alice's choice, not Bob's "không hài lòng"
    assert text("telegram.not_your_choice") in [a.get("text") for a in fake.answers()]


def test_the_retry_table_and_group_ids() -> None:
    from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

    from bot.telegram import blocked, chat_of, retry_for

    assert retry_for(RetryAfter(3)).wait_s is None  # wait as told
    assert retry_for(TimedOut()).attempts == retry_for(NetworkError("Bad Gateway (502)")).attempts == 3
    assert retry_for(TelegramError("Invalid server response")) is not None  # a 2xx that is no JSON
    assert retry_for(BadRequest("Bad Request: message text is empty")) is None
    assert retry_for(Forbidden("Forbidden: bot was blocked by the user")) is None
    assert blocked(Forbidden("Forbidden: bot was blocked by the user"))
    assert not blocked(Forbidden("Forbidden: bot is not a member of the supergroup chat"))
    assert (chat_of("42"), chat_of("-1001234:77")) == (42, -1001234)
