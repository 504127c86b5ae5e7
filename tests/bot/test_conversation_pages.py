"""The conversations screen: Rasa's real tracker store (the stack's), filters, transcript with
intents, tags, and a citizen message sent to the NLU inbox."""

from __future__ import annotations

import re
import uuid
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

from bot.staff.conversation_pages import Filters, summarize
from bot.staff.refs import REFS_KEY
from common import inbox
from tests.bot.conftest import ANNOTATOR_PASSWORD, csrf, sign_in
from tests.conftest import Conversation, Stack

UTC = ZoneInfo("UTC")


def test_summary_of_a_tracker() -> None:
    events = [
        {"event": "user", "timestamp": 10.0, "text": "cho tôi gặp cán bộ, sđt 0905123456",
         "parse_data": {"intent": {"name": "gap_can_bo", "confidence": 0.97}}},
        {"event": "bot", "timestamp": 10.5, "data": {"custom": {"text": "đã chuyển", "handoff": True}}},
        {"event": "user", "timestamp": 20.0, "text": "/danh_gia", "parse_data": {"intent": {"name": "danh_gia"}}},
        {"event": "user", "timestamp": 30.0, "text": "asdfgh", "parse_data": {"intent": {"name": "nlu_fallback"}}},
    ]
    s = summarize("web:abc", events)
    assert (s.first, s.last, s.said, s.answered) == (10.0, 30.0, 3, 1)
    assert s.intents == {"gap_can_bo", "danh_gia", "nlu_fallback"}
    assert s.handed_off and s.rated and s.fell_back and not s.unhelpful
    assert s.masked == ["cho tôi gặp cán bộ, sđt <SĐT>", "asdfgh"]  # button payloads are not messages
    assert Filters(text="gap can bo").keep(s, UTC)  # without diacritics
    assert not Filters(channel="sms").keep(s, UTC)
    assert not Filters(text="0905123456").keep(s, UTC)  # masked text only


@pytest.mark.e2e
async def test_find_a_conversation_read_it_tag_it_and_send_a_message_to_the_inbox(
        stack: Stack, redis_url, gateway, accounts) -> None:
    chat = Conversation(stack)
    marker = f"xin hỏi thủ tục nuôi chim yến số {uuid.uuid4().hex[:6]}"
    chat.say(marker)
    chat.say("lệ phí cấp giấy chứng nhận cửa hàng bán lẻ xăng dầu là bao nhiêu")
    sender = f"web:{chat.session}"
    client = await gateway(rasa_url=stack.rasa_url, rasa_token=stack.rasa_token, redis_url=redis_url,
                           dossier_api_url=stack.api_url, staff_db_path=accounts.path)
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    listed = await (await client.get("/staff/conversations", params={"channel": "web", "q": marker})).text()
    ref = client.app[REFS_KEY].of(sender)
    assert f'data-ref="{ref}"' in listed and listed.count("data-ref=") == 1
    assert chat.session not in listed  # links and rows carry an opaque reference, not the sender id
    none = await (await client.get("/staff/conversations", params={"channel": "telegram", "q": marker})).text()
    assert f'data-ref="{ref}"' not in none

    view = await (await client.get("/staff/conversations/view", params={"ref": ref})).text()
    assert chat.session not in view
    forged = await client.get("/staff/conversations/view", params={"ref": ref[:-2] + "AA"}, allow_redirects=False)
    assert forged.status == 302 and forged.headers["Location"] == "/staff/conversations"
    assert marker in view and "hoi_le_phi (" in view and "Gửi vào hộp thư NLU" in view
    token = await csrf(client)
    tagged = await client.post("/staff/api/conversations/tags", json={"sender": sender, "add": "cần xem lại"},
                               headers={"X-CSRF-Token": token})
    assert tagged.status == 200 and (await tagged.json())["tags"] == ["cần xem lại"]
    by_tag = await (await client.get("/staff/conversations", params={"tag": "cần xem lại"})).text()
    assert f'data-ref="{ref}"' in by_tag

    at = re.search(r'name="at" value="([^"]+)"', view.split("lệ phí cấp giấy chứng nhận")[0].rsplit("<li", 1)[1])[1]
    redis = aioredis.from_url(redis_url)
    try:
        before = await redis.xlen(inbox.STREAM)
        sent = await client.post("/staff/api/conversations/inbox", json={"sender": sender, "at": at},
                                 headers={"X-CSRF-Token": token})
        assert sent.status == 200 and await redis.xlen(inbox.STREAM) == before + 1
        [(_, fields)] = await redis.xrevrange(inbox.STREAM, count=1)
        item = {k.decode(): v.decode() for k, v in fields.items()}
        assert item["text"] == "lệ phí cấp giấy chứng nhận cửa hàng bán lẻ xăng dầu là bao nhiêu"
        assert item["intent"] == "hoi_le_phi" and item["reason"] == "staff" and item["channel"] == "web"
    finally:
        await redis.close()
    wrong = await client.post("/staff/api/conversations/inbox", json={"sender": sender, "at": "1.0"},
                              headers={"X-CSRF-Token": token})
    assert wrong.status == 404


async def test_an_inbox_item_that_fell_back_starts_with_no_intent_chosen(inbox_console, redis_url) -> None:
    import datetime as dt

    client, _ = inbox_console
    redis = aioredis.from_url(redis_url)
    try:
        fell_back = await redis.xadd(inbox.STREAM, inbox.record_fields(
            "tôi muốn khiếu nại cán bộ một cửa", "web:x1", "nlu_fallback", 0.3, dt.datetime(2026, 12, 1, 9)))
        unsure = await redis.xadd(inbox.STREAM, inbox.record_fields(
            "phí làm giấy phép rượu", "web:x2", "hoi_le_phi", 0.41, dt.datetime(2026, 12, 1, 9)))
    finally:
        await redis.close()
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    page = await (await client.get("/staff/inbox")).text()
    row = lambda entry: page.split(f'data-item="{entry.decode()}"')[1].split("</tr>")[0]  # noqa: E731
    assert " selected" not in row(fell_back) and "(chọn ý định)" in row(fell_back)
    assert '<option value="hoi_le_phi" selected>' in row(unsure)  # a guess that may be right stays offered
    blank = await client.post(f"/staff/api/inbox/{fell_back.decode()}", json={"action": "confirm", "intent": ""},
                              headers={"X-CSRF-Token": await csrf(client)})
    assert blank.status == 400


async def test_a_backwards_date_range_is_told_and_searches_fit_in_a_url(accounts, redis_url, gateway) -> None:
    console = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, dossier_api_url="http://127.0.0.1:9",
                            staff_db_path=accounts.path, tracker_key="conversation-pages-test-key")
    await sign_in(console, "lan.nguyen", ANNOTATOR_PASSWORD)
    backwards = await (await console.get("/staff/conversations",
                                         params={"since": "2026-12-05", "until": "2026-11-01"})).text()
    assert "“Từ ngày” phải trước hoặc bằng “đến”" in backwards
    assert "phải trước" not in await (await console.get("/staff/conversations", params={"since": "2026-11-01"})).text()
    # A pasted text longer than a URL can carry would meet aiohttp's raw English "400: Status line is too long".
    assert re.search(r'<input name="q" [^>]*maxlength="200"', backwards)
