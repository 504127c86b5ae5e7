"""The conversations screen, as the last staff tester found it: "Gửi vào hộp thư NLU" pressed twice
made two inbox items, and the list's count did not say what it counted (the real stack's Rasa and
tracker store, a real Redis)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import uuid

import pytest
import redis as redis_sync
import redis.asyncio as aioredis

from bot.handoff import HANDOFFS_KEY
from bot.staff.conversation_pages import summarize
from bot.staff.refs import REFS_KEY
from common import handoff, inbox
from tests.bot.conftest import ANNOTATOR_PASSWORD, csrf, sign_in
from tests.conftest import Conversation, Stack


def test_the_count_is_of_messages_both_ways_as_the_transcript_shows_them() -> None:
    events = [
        {"event": "user", "timestamp": 1.0, "text": "xin chào"},
        {"event": "bot", "timestamp": 1.1, "text": "Dạ, chào anh/chị."},
        {"event": "bot", "timestamp": 1.2, "text": "Anh/chị cần tra cứu gì ạ?"},
        {"event": "bot", "timestamp": 1.3, "data": {"custom": {"text": "Đang chuyển cán bộ", "handoff": True}}},
        {"event": "bot", "timestamp": 1.4, "data": {"custom": {"handoff": True}}},  # no text: not a message
        {"event": "user", "timestamp": 2.0, "text": "/danh_gia"},  # a button press is the citizen's turn
        {"event": "action", "timestamp": 2.1, "name": "action_listen"},
    ]
    s = summarize("web:x", events)
    assert (s.said, s.answered, s.turns) == (2, 3, 5)


@pytest.mark.e2e
async def test_sending_the_same_message_to_the_inbox_twice_makes_one_item(
        stack: Stack, redis_url, gateway, accounts) -> None:
    chat = Conversation(stack)
    text = f"cho hỏi thủ tục cấp phép bán rượu cho quán nhỏ mã {uuid.uuid4().hex[:6]}"
    chat.say(text)
    sender = f"web:{chat.session}"
    client = await gateway(rasa_url=stack.rasa_url, rasa_token=stack.rasa_token, redis_url=redis_url,
                           dossier_api_url=stack.api_url, staff_db_path=accounts.path)
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    ref = client.app[REFS_KEY].of(sender)
    view = await (await client.get("/staff/conversations/view", params={"ref": ref})).text()
    at = re.search(r'name="at" value="([^"]+)"', view)[1]
    token = await csrf(client)
    redis = aioredis.from_url(redis_url)

    async def ours() -> int:
        return sum(1 for _, f in await redis.xrange(inbox.STREAM) if f[b"text"].decode() == text)

    try:
        form = {"csrf_token": token, "ref": ref, "at": at}
        # Two presses at once (a double click, or two tabs), then a third later.
        first, second = await asyncio.gather(*(client.post("/staff/api/conversations/inbox", data=form,
                                                           allow_redirects=False) for _ in range(2)))
        assert {first.status, second.status} == {302}
        assert sorted(r.headers["Location"].rsplit("&", 1)[1] for r in (first, second)) == ["sent=1", "sent=again"]
        again = await client.post("/staff/api/conversations/inbox", json={"ref": ref, "at": at},
                                  headers={"X-CSRF-Token": token})
        assert (await again.json()) == {"queued": False, "already": True}
        assert await ours() == 1
        told = await (await client.get("/staff/conversations/view", params={"ref": ref, "sent": "again"})).text()
        assert "đã được đưa vào hộp thư NLU trước đó" in told
        assert not [k async for k in redis.scan_iter(match=f"*{chat.session}*") if b"to-inbox" in k]  # digested
    finally:
        await redis.close()


@pytest.mark.e2e
async def test_the_list_counts_what_the_citizen_said_and_what_they_were_answered(
        stack: Stack, redis_url, gateway, accounts) -> None:
    chat = Conversation(stack)
    marker = f"xin hỏi lệ phí cấp giấy phép kinh doanh rượu số {uuid.uuid4().hex[:6]}"
    chat.say(marker)
    chat.say("cảm ơn")
    sender = f"web:{chat.session}"
    client = await gateway(rasa_url=stack.rasa_url, rasa_token=stack.rasa_token, redis_url=redis_url,
                           dossier_api_url=stack.api_url, staff_db_path=accounts.path)
    redis = aioredis.from_url(redis_url)
    try:
        # A staff member answered too (the handoff log), as the transcript shows it.
        await redis.rpush(handoff.log_key(sender),
                          handoff.Entry(time.time(), "staff", "Dạ, cán bộ xin trả lời anh/chị", "lan.nguyen").json())
        await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
        lines = await client.app[HANDOFFS_KEY].transcript(sender, masked=True)
        said = sum(line.by == "citizen" for line in lines)
        answered = sum(line.by in ("bot", "staff") for line in lines)
        assert said == 2 and answered >= 3  # the bot answered each message, the staff member once
        listed = await (await client.get("/staff/conversations", params={"q": marker})).text()
        assert ">Số tin nhắn</th>" in listed and ">Lượt<" not in listed
        row = listed.split(f'data-ref="{client.app[REFS_KEY].of(sender)}"')[1].split("</tr>")[0]
        assert f'<td class="turns">{said + answered} <span class="muted">({said} hỏi, {answered} đáp)</span>' in row
    finally:
        await redis.delete(handoff.log_key(sender))
        await redis.close()


@pytest.mark.e2e
async def test_a_message_the_pipeline_already_put_in_the_inbox_is_not_added_again(
        stack: Stack, redis_url, gateway, accounts) -> None:
    chat = Conversation(stack)
    text = f"qwzx plokm trrrr {uuid.uuid4().hex[:6]}"  # barely understood: the pipeline records it
    chat.say(text)
    sender = f"web:{chat.session}"
    redis = aioredis.from_url(redis_url)

    async def ours() -> int:
        return sum(1 for _, f in await redis.xrange(inbox.STREAM) if f[b"text"].decode() == text)

    try:
        if await ours() == 0:
            # The model read the gibberish confidently (out of scope): put it in the inbox as the
            # pipeline does for a message it barely understood, so the console meets a recorded item.
            recorder = redis_sync.from_url(redis_url)
            inbox.note_parse(recorder, text, sender, "nlu_fallback", 0.1, 0.6, dt.datetime.now())
            recorder.close()
        assert await ours() == 1
        client = await gateway(rasa_url=stack.rasa_url, rasa_token=stack.rasa_token, redis_url=redis_url,
                               dossier_api_url=stack.api_url, staff_db_path=accounts.path)
        await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
        ref = client.app[REFS_KEY].of(sender)
        view = await (await client.get("/staff/conversations/view", params={"ref": ref})).text()
        at = re.search(r'name="at" value="([^"]+)"', view)[1]
        sent = await client.post("/staff/api/conversations/inbox", json={"ref": ref, "at": at},
                                 headers={"X-CSRF-Token": await csrf(client)})
        assert (await sent.json()) == {"queued": False, "already": True} and await ours() == 1
    finally:
        await redis.close()
