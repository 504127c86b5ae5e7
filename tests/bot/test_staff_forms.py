"""What a staff member typed survives a refusal: a ticket answer refused because the ticket
changed meanwhile and a handoff reply too long for SMS come back in their box, an NLU inbox review
on its row, so the staff member corrects or resends it instead of typing it again (in-process
gateway, the real reference API for tickets, a real Redis). An announcement published twice from
two tabs goes out once; what a citizen writes to staff counts on the dashboard; staff see until when
they can answer."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from bot.handoff import HANDOFFS_KEY
from bot.staff import intents as intent_names
from bot.staff.accounts import Role
from bot.staff.layout import REDIS_KEY
from bot.staff.ticket_pages import STALE_ANSWER
from bot.web import CONVERSATIONS_KEY
from common import handoff, inbox, news, stats
from common.dates import local_now
from dossier_api.server import create_app
from tests.bot.conftest import ADMIN_PASSWORD, ANNOTATOR_PASSWORD, NOW, csrf, empty_database, sign_in

SMS_SENDER = "sms:84905123456"


@pytest.fixture
async def redis_db(redis_url: str) -> str:
    return await empty_database(redis_url, 11)


@pytest.fixture
async def desk(accounts, redis_db, gateway, tmp_path: Path):
    """The reference API and two gateways on it (two staff members' browsers), both signed in."""
    api = TestServer(create_app(str(tmp_path / "tickets.sqlite3")))
    await api.start_server()
    api_url = str(api.make_url("")).rstrip("/")
    settings = {"rasa_url": "http://127.0.0.1:9", "redis_url": redis_db, "dossier_api_url": api_url,
                "staff_db_path": accounts.path, "notify_quiet_hours": ""}
    annotator, admin = await gateway(**settings), await gateway(**settings)
    await sign_in(annotator, "lan.nguyen", ANNOTATOR_PASSWORD)
    await sign_in(admin, "admin.so", ADMIN_PASSWORD)
    yield annotator, admin, TestClient(api)
    await api.close()


async def _file(api: TestClient, owner: str, content: str) -> str:
    return (await (await api.post("/api/v1/tickets", json={"owner": owner, "content": content})).json())["number"]


def _form(page: str, action: str) -> dict[str, str]:
    """The hidden fields and the textarea of the form posting to ``action``, as a browser would send them."""
    form = page[page.index(f'action="{action}"'):]
    form = form[:form.index("</form>")]
    fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))
    fields.update((name, html.unescape(value)) for name, value in re.findall(
        r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', form, re.S))
    return fields


async def test_a_stale_ticket_answer_comes_back_in_its_box_and_sends_from_the_page_shown(desk) -> None:
    annotator, admin, api = desk
    number = await _file(api, "web:staffforms01", "Cửa hàng bán rượu không rõ nguồn gốc")
    action = f"/staff/api/tickets/{number}/answer"
    opened = _form(await (await annotator.get(f"/staff/tickets/{number}")).text(), action)

    # Meanwhile an admin takes the ticket: the annotator's page is now one version behind.
    admin_page = await (await admin.get(f"/staff/tickets/{number}")).text()
    taken = await admin.post(f"/staff/api/tickets/{number}/change", allow_redirects=False,
                             data={**_form(admin_page, f"/staff/api/tickets/{number}/change"), "assignee": "admin.so"})
    assert taken.status == 302

    answer = "Sở đã chuyển Đội quản lý thị trường số 3 kiểm tra cửa hàng; kết quả sẽ báo anh/chị trong tuần."
    stale = await annotator.post(action, data={**opened, "answer": answer, "status": "da_tra_loi"})
    page = await stale.text()
    assert stale.status == 409
    assert STALE_ANSWER in page
    again = _form(page, action)
    assert again["answer"] == answer  # not lost
    assert int(again["version"]) == int(opened["version"]) + 1  # the page shows the ticket as it now is

    sent = await annotator.post(action, allow_redirects=False, data={**again, "status": "da_tra_loi"})
    assert sent.status == 302
    history = await (await api.get(f"/api/v1/tickets/{number}/history")).json()
    assert [a["text"] for a in history["ticket"]["answers"]] == [answer]


async def test_an_empty_ticket_answer_is_refused_in_vietnamese(desk) -> None:
    annotator, _, api = desk
    number = await _file(api, "web:staffforms02", "Góp ý giờ làm việc")
    action = f"/staff/api/tickets/{number}/answer"
    fields = _form(await (await annotator.get(f"/staff/tickets/{number}")).text(), action)
    refused = await annotator.post(action, data={**fields, "answer": "   "})
    assert refused.status == 400 and "Câu trả lời phải có từ 1 đến 2.000 ký tự." in await refused.text()


async def test_a_reply_too_long_for_sms_comes_back_in_the_reply_box(desk) -> None:
    annotator, _, _ = desk
    app = annotator.server.app
    await app[HANDOFFS_KEY].begin(SMS_SENDER, [])
    assert await app[HANDOFFS_KEY].claim(SMS_SENDER, "lan.nguyen") is handoff.Claim.CLAIMED
    long_reply = ("Chào anh/chị, về giấy phép bán lẻ rượu: anh/chị chuẩn bị đơn đề nghị, bản sao giấy chứng nhận "
                  "đăng ký kinh doanh, giấy tờ về địa điểm kinh doanh, rồi nộp tại Bộ phận Một cửa. ") * 5
    refused = await annotator.post("/staff/api/handoffs/reply",
                                   data={"csrf_token": await csrf(annotator), "sender": SMS_SENDER,
                                         "text": long_reply})
    page = await refused.text()
    assert refused.status == 400 and f"câu này {len(long_reply.strip())} ký tự nên sẽ bị cắt" in page  # how much to cut
    assert _form(page, "/staff/api/handoffs/reply")["text"] == long_reply.strip()
    assert [line.by for line in await app[HANDOFFS_KEY].transcript(SMS_SENDER, masked=True)
            if line.by == "staff"] == []  # nothing was sent


async def test_what_a_handed_off_citizen_writes_to_staff_counts_on_the_dashboard(desk, redis_db) -> None:
    annotator, _, _ = desk
    app = annotator.server.app
    sender, today = "web:staffforms03", local_now().date()

    async def web_messages() -> int:
        [day] = await stats.read(app[REDIS_KEY], today, today, ["web"])
        return day.counters.get(stats.MESSAGES, {}).get("web", 0)

    before = await web_messages()
    await app[HANDOFFS_KEY].begin(sender, [])
    for text in ("em cần hỏi về giấy phép bán rượu", "cửa hàng em ở phường Hải Châu", "cảm ơn cán bộ"):
        assert await app[CONVERSATIONS_KEY].handle(sender, text) is not None
    assert [line.text for line in await app[HANDOFFS_KEY].transcript(sender) if line.by == "citizen"][-1] == \
        "cảm ơn cán bộ"  # they went to staff, not to the assistant
    assert await web_messages() == before + 3  # as the SMS gateway counts every MO


async def test_a_refused_inbox_review_keeps_the_item_and_what_was_chosen(inbox_console, redis_url) -> None:
    client, nlu_dir = inbox_console
    redis = aioredis.from_url(redis_url)
    text = "cán bộ Lê Văn Tám ở quầy số 2 bắt chờ cả buổi"
    await redis.xadd(inbox.STREAM, inbox.record_fields(text, "web:staffforms04", "phan_anh_kien_nghi", 0.41, NOW))
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    [item] = re.findall(r'data-item="([^"]+)"', await (await client.get("/staff/inbox")).text())
    token = await csrf(client)

    def row(page: str, entry: str) -> str:
        start = page.index(f'data-item="{entry}"')
        return page[start:page.index("</tr>", start)]

    rewritten = "cán bộ Tám ở quầy số 2 bắt chờ cả buổi"  # the given name left in
    refused = await client.post(f"/staff/api/inbox/{item}", data={
        "csrf_token": token, "action": "confirm", "intent": "phan_anh_kien_nghi", "anonymised": rewritten})
    page = await refused.text()
    assert refused.status == 400 and "vẫn còn tên" in row(page, item)  # same item, same id, told on its row
    assert f">{rewritten}</textarea>" in row(page, item)
    assert '<option value="phan_anh_kien_nghi" selected>' in row(page, item)

    unchosen = await client.post(f"/staff/api/inbox/{item}", data={
        "csrf_token": token, "action": "confirm", "intent": "", "anonymised": "cán bộ ở quầy số 2 bắt chờ"})
    page = await unchosen.text()
    assert unchosen.status == 400 and "vui lòng chọn ý định" in row(page, item)
    assert ">cán bộ ở quầy số 2 bắt chờ</textarea>" in row(page, item)

    wrong_word = await client.post(f"/staff/api/inbox/{item}", data={
        "csrf_token": token, "action": "confirm", "intent": "phan_anh_kien_nghi",
        "anonymised": "cán bộ ở quầy số 2 bắt chờ cả buổi", "entity_value": "quầy số 9", "entity": "thu_tuc"})
    page = await wrong_word.text()
    [(again, _)] = await redis.xrange(inbox.STREAM)  # put back (under a new id) with the row as it was left
    assert wrong_word.status == 400 and 'value="quầy số 9"' in row(page, again.decode())
    assert not list(nlu_dir.glob("inbox_*.yml"))
    await redis.close()


async def test_the_same_announcement_from_a_second_tab_is_not_sent_twice(accounts, redis_db, gateway) -> None:
    accounts.create("mai.tran", ANNOTATOR_PASSWORD, Role.EDITOR, NOW)
    settings = {"rasa_url": "http://127.0.0.1:9", "redis_url": redis_db, "dossier_api_url": "http://127.0.0.1:9",
                "staff_db_path": accounts.path, "notify_quiet_hours": ""}
    first_tab = await gateway(**settings)
    await sign_in(first_tab, "mai.tran", ANNOTATOR_PASSWORD)
    token = await csrf(first_tab)
    title, summary = "Kiểm tra chất lượng xăng dầu tháng 12", "Sở kiểm tra các cửa hàng xăng dầu từ ngày 05/12."
    form = [("csrf_token", token), ("title", title), ("summary", summary), ("topics", "xang_dau")]
    assert (await first_tab.post("/staff/api/news", data=form, allow_redirects=False)).status == 302

    # The same form again (a second tab, a retry): refused, said why, nothing queued twice.
    again = await first_tab.post("/staff/api/news", allow_redirects=False, data=[
        ("csrf_token", token), ("title", f"  {title.upper()} "), ("summary", summary), ("topics", "xang_dau")])
    page = await again.text()
    assert again.status == 409 and "đã được mai.tran đăng lúc" in page and "không nhận hai lần" in page
    redis = aioredis.from_url(redis_db)
    assert [a.title for a in await news.latest(redis)] == [title]
    # Something new is published as ever.
    other = [("csrf_token", token), ("title", title), ("summary", summary + " Kết quả công bố ngày 20/12."),
             ("topics", "xang_dau")]
    assert (await first_tab.post("/staff/api/news", data=other, allow_redirects=False)).status == 302
    assert len(await news.latest(redis)) == 2
    await redis.close()


async def test_the_conversation_page_says_until_when_staff_can_answer(desk) -> None:
    annotator, _, _ = desk
    app = annotator.server.app
    sender = "web:staffforms05"
    redis = app[REDIS_KEY]
    await app[HANDOFFS_KEY].begin(sender, [])
    assert await app[HANDOFFS_KEY].claim(sender, "lan.nguyen") is handoff.Claim.CLAIMED
    due = await handoff.due_at(redis, sender)
    deadline = dt.datetime.fromtimestamp(due, ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m %H:%M")
    page = await (await annotator.get("/staff/handoffs/view", params={"sender": sender})).text()
    assert f"Cần trả lời trước {deadline}" in page and "đường dây nóng 1022" in page

    await app[HANDOFFS_KEY].reply(sender, "lan.nguyen", "Dạ, anh/chị chờ em kiểm tra.")
    polled = await (await annotator.get("/staff/api/handoffs/transcript", params={"sender": sender})).json()
    later = dt.datetime.fromtimestamp(await handoff.due_at(redis, sender), ZoneInfo("Asia/Ho_Chi_Minh"))
    assert polled["due"] == f"Nếu người dân không nhắn thêm, cuộc trò chuyện tự kết thúc lúc {later:%d/%m %H:%M}."


async def test_intents_and_entities_are_offered_by_their_vietnamese_names(inbox_console, redis_url) -> None:
    client, _ = inbox_console
    redis = aioredis.from_url(redis_url)
    await redis.xadd(inbox.STREAM, inbox.record_fields("cho hỏi phí thẩm định bán lẻ xăng", "web:staffforms06",
                                                       "hoi_le_phi", 0.52, NOW))
    await redis.close()
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    page = await (await client.get("/staff/inbox")).text()
    assert '<option value="tra_cuu_ho_so">Tra cứu hồ sơ (tra_cuu_ho_so)</option>' in page  # the code is what is sent
    assert '<option value="hoi_le_phi" selected>Hỏi lệ phí (hoi_le_phi)</option>' in page
    assert '<option value="loai_dia_diem">Loại địa điểm (loai_dia_diem)</option>' in page
    assert "<td>Hỏi lệ phí (0.52)<br>" in page
    assert intent_names.label("y_dinh_moi") == "y_dinh_moi"  # an intent added later without a name: its code
