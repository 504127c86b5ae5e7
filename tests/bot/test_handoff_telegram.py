"""A Telegram citizen asks for a person and gets one: the gateway long-polls the fake Bot API,
the real stack answers (Rasa, actions, dossier API, Redis), a staff member works in the console."""

from __future__ import annotations

import random

import pytest

from bot.staff.refs import REFS_KEY
from content.texts import text as citizen_text
from dossier_api.catalog import load_catalog
from tests.bot.conftest import ANNOTATOR_PASSWORD, TELEGRAM_TOKEN, csrf, sign_in
from tests.conftest import Stack, seeded_dossier

pytestmark = pytest.mark.e2e


async def test_staff_reply_reaches_the_telegram_chat_and_give_back_returns_it_to_the_bot(
        stack: Stack, redis_url, fake_telegram, gateway, accounts) -> None:
    fake, url = fake_telegram
    client = await gateway(rasa_url=stack.rasa_url, rasa_token=stack.rasa_token, redis_url=redis_url,
                           dossier_api_url=stack.api_url, telegram_token=TELEGRAM_TOKEN, telegram_api_url=url,
                           staff_db_path=accounts.path)
    chat = random.randint(10**8, 10**9)
    sender = f"telegram:{chat}"

    fake.push_text(chat, "cho tôi nói chuyện với cán bộ")
    handed = (await fake.wait_sent(1))[0]
    assert "chuyển cuộc trò chuyện cho cán bộ" in handed["text"]
    assert handed["reply_markup"]["inline_keyboard"][0][0]["text"] == "Quay lại trợ lý ảo"
    fake.push_text(chat, "alo? tôi cần hỏi về giấy phép")
    assert (await fake.wait_sent(2))[1]["text"] == citizen_text("handoff.still_waiting")  # to staff, not to the bot

    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    token = await csrf(client)
    queue = await (await client.get("/staff/handoffs")).text()
    assert f'data-ref="{client.app[REFS_KEY].of(sender)}"' in queue and "alo? tôi cần hỏi về giấy phép" in queue
    claimed = await client.post("/staff/api/handoffs/claim", json={"sender": sender}, headers={"X-CSRF-Token": token})
    assert claimed.status == 200
    assert (await fake.wait_sent(3))[2]["text"] == citizen_text("handoff.claimed")

    lines = (await (await client.get(f"/staff/api/handoffs/transcript?sender={sender}")).json())["lines"]
    said = [(x["by"], x["text"]) for x in lines]
    assert ("citizen", "cho tôi nói chuyện với cán bộ") in said  # from Rasa's tracker
    assert any(by == "bot" and "chuyển cuộc trò chuyện" in text for by, text in said)
    assert said.index(("citizen", "alo? tôi cần hỏi về giấy phép")) > said.index(
        ("citizen", "cho tôi nói chuyện với cán bộ"))  # the handoff log merged in time order
    assert next(x for x in lines if x["text"] == "cho tôi nói chuyện với cán bộ")["note"].startswith("gap_can_bo")

    reply = await client.post("/staff/api/handoffs/reply", json={"sender": sender, "text": "Chào anh/chị, tôi là "
                              "cán bộ Sở. Anh/chị cần hỏi giấy phép nào?"}, headers={"X-CSRF-Token": token})
    assert reply.status == 200
    assert (await fake.wait_sent(4))[3]["text"] == "Chào anh/chị, tôi là cán bộ Sở. Anh/chị cần hỏi giấy phép nào?"

    dossier = seeded_dossier(stack, "dang_xu_ly", offset=3)
    fake.push_text(chat, f"à, tra giúp hồ sơ {dossier['code']}")  # a lookup still gets the bot's answer
    status = (await fake.wait_sent(5))[4]["text"]
    assert dossier["code"] in status and "ĐANG XỬ LÝ" in status

    ended = await client.post("/staff/api/handoffs/end", json={"sender": sender}, headers={"X-CSRF-Token": token})
    assert ended.status == 200
    sent = await fake.wait_sent(7)
    assert sent[5]["text"] == citizen_text("handoff.ended")
    assert sent[6]["text"] == citizen_text("handoff.csat.question")
    buttons = [row[0] for row in sent[6]["reply_markup"]["inline_keyboard"]]
    assert [b["text"] for b in buttons] == ["Hài lòng", "Bình thường", "Không hài lòng"]
    fake.push_callback(chat, buttons[2]["callback_data"])
    assert (await fake.wait_sent(8))[7]["text"] == citizen_text("handoff.csat.thanks")

    fee = {p.id: p.fee for p in load_catalog()}["ban_le_xang_dau"]
    fake.push_text(chat, "lệ phí cấp giấy chứng nhận cửa hàng bán lẻ xăng dầu là bao nhiêu")
    answer = (await fake.wait_sent(9))[8]["text"]
    assert fee in answer  # the assistant answers again, no new handoff, no "chưa hiểu"
    assert all(int(m["chat_id"]) == chat for m in fake.sent)
