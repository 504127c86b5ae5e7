"""Tickets in the console (in-process gateway, the real reference API, a real Redis): a ticket
page with its history, two answers kept, a stale page refused, state and assignee changes, an
answer pushed to the web citizen, an undelivered answer shown as such."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from bot.notifier import FAILED
from bot.push import PushStore
from bot.staff.ticket_pages import STALE
from dossier_api.server import EventHook, create_app
from tests.bot.conftest import ANNOTATOR_PASSWORD, empty_database, sign_in

SECRET = "ticket-events-secret-for-tests"
SESSION = "ticketweb0001"


@pytest.fixture
async def redis_db(redis_url: str) -> str:
    return await empty_database(redis_url, 9)


@pytest.fixture
async def desk(accounts, redis_db, gateway, tmp_path: Path):
    """The reference API (its events pushed to the gateway's webhook) and a gateway with its console."""
    hook = EventHook(secret=SECRET)
    api = TestServer(create_app(str(tmp_path / "tickets.sqlite3"), hook=hook))
    await api.start_server()
    api_url = str(api.make_url("")).rstrip("/")
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_db, dossier_api_url=api_url,
                           staff_db_path=accounts.path, dossier_events_secret=SECRET, notify_quiet_hours="")
    hook.url = str(client.make_url("/webhooks/dossier-events"))
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    yield client, TestClient(api)
    await api.close()


async def _file(api: TestClient, owner: str) -> str:
    content = "Cán bộ quầy 2 hẹn mãi không trả kết quả, gọi 0905123456 không ai nghe"
    resp = await api.post("/api/v1/tickets", json={"owner": owner, "content": content})
    return (await resp.json())["number"]


def _form(page: str, action: str) -> dict[str, str]:
    """The hidden fields (CSRF token, version) of the form posting to ``action``."""
    form = page[page.index(f'action="{action}"'):]
    form = form[:form.index("</form>")]
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))


async def _wait(check, seconds: float = 15.0):
    for _ in range(int(seconds * 10)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_two_answers_are_kept_pushed_to_the_web_citizen_and_a_stale_page_is_refused(desk, redis_db) -> None:
    client, api = desk
    number = await _file(api, f"web:{SESSION}")
    url = f"/staff/tickets/{number}"
    page = await (await client.get(url)).text()
    assert "Mới tiếp nhận" in page and "&lt;SĐT&gt;" in page and "0905123456" not in page
    rendered = _form(page, f"/staff/api/tickets/{number}/answer")
    assert rendered["version"] == "1"

    first = await client.post(f"/staff/api/tickets/{number}/answer", allow_redirects=False,
                              data={**rendered, "answer": "Sở đang xác minh với bộ phận một cửa.",
                                    "status": "dang_xu_ly"})
    assert first.status == 302 and first.headers["Location"] == f"{url}?done=answered"
    stale = await client.post(f"/staff/api/tickets/{number}/answer",
                              data={**rendered, "answer": "Trả lời viết trên trang cũ."})
    stale_page = await stale.text()
    assert stale.status == 409 and STALE in stale_page and "Đang xử lý" in stale_page
    fresh = _form(await (await client.get(url)).text(), f"/staff/api/tickets/{number}/answer")
    assert fresh["version"] == "2"
    second = await client.post(f"/staff/api/tickets/{number}/answer", allow_redirects=False,
                               data={**fresh, "answer": "Sở đã trả kết quả và nhắc nhở cán bộ."})
    assert second.status == 302

    redis = aioredis.from_url(redis_db)
    try:
        async def pushed() -> list[str]:
            texts = [m["text"] for _, m in await PushStore(redis).after(SESSION, "0")]
            return texts if len(texts) >= 2 else []

        texts = await _wait(pushed)
        assert len(texts) == 2 and all(number in t for t in texts)
        assert "Sở đang xác minh" in texts[0] and "đang xử lý" in texts[0]
        assert "Sở đã trả kết quả" in texts[1] and "đã trả lời" in texts[1]
        assert "trang cũ" not in " ".join(texts)
    finally:
        await redis.close()

    page = await (await client.get(url)).text()
    assert page.count("lan.nguyen trả lời") == 2 and "trang cũ" not in page
    assert page.count("Đã chuyển đến kênh của người dân") == 2
    assert "Đã trả lời" in page


async def test_state_and_assignee_changes_are_recorded_and_listed(desk) -> None:
    client, api = desk
    number = await _file(api, f"web:{SESSION}")
    url, action = f"/staff/tickets/{number}", f"/staff/api/tickets/{number}/change"
    fields = _form(await (await client.get(url)).text(), action)
    mine = await client.post(action, data={**fields, "assignee": "lan.nguyen"}, allow_redirects=False)
    assert mine.status == 302
    fields = _form(await (await client.get(url)).text(), action)
    unanswered = await client.post(action, data={**fields, "status": "da_tra_loi"})
    assert unanswered.status == 409 and "đã có câu trả lời" in await unanswered.text()
    nobody = await client.post(action, data={**fields, "assignee": "khong.co.ai"})
    assert nobody.status == 400 and "Không có cán bộ này" in await nobody.text()
    closed = await client.post(action, data={**fields, "status": "khong_phai_phan_anh"}, allow_redirects=False)
    assert closed.status == 302
    page = await (await client.get(url)).text()
    assert "người xử lý: lan.nguyen" in page and "Không phải phản ánh, kiến nghị" in page
    assert "chuyển từ “mới tiếp nhận” sang “không phải phản ánh, kiến nghị”" in page
    assert "đổi người xử lý" in page and "phiên bản 3" in page

    listed = await (await client.get("/staff/tickets?status=khong_phai_phan_anh&mine=1")).text()
    assert number in listed
    assert number not in await (await client.get("/staff/tickets")).text()  # not open any more
    assert number not in await (await client.get("/staff/")).text()
    api_call = await client.post(action, json={"version": 1, "status": "da_dong"},
                                 headers={"X-CSRF-Token": fields["csrf_token"]})
    assert api_call.status == 409 and (await api_call.json())["error"] == STALE
    assert (await client.get("/staff/tickets/PA000000-0000")).status == 404


async def test_an_answer_that_cannot_reach_the_citizen_is_shown_undelivered(desk, redis_db) -> None:
    client, api = desk
    number = await _file(api, "facebook:77")  # a channel nothing can notify
    url = f"/staff/tickets/{number}"
    fields = _form(await (await client.get(url)).text(), f"/staff/api/tickets/{number}/answer")
    await client.post(f"/staff/api/tickets/{number}/answer", data={**fields, "answer": "Sở đã xử lý."})
    redis = aioredis.from_url(redis_db)
    try:
        await _wait(lambda: redis.xlen(FAILED))
    finally:
        await redis.close()
    page = await (await client.get(url)).text()
    assert "Chưa đến được người dân" in page and "Đã chuyển đến kênh" not in page


async def test_a_zalo_answer_outside_the_interaction_window_is_shown_undelivered(desk, redis_db) -> None:
    from bot.zalo import UNDELIVERED_STREAM
    from content import replies
    from dossier_api.models import ChangeEvent

    client, api = desk
    number = await _file(api, "zalo:4242")
    url = f"/staff/tickets/{number}"
    fields = _form(await (await client.get(url)).text(), f"/staff/api/tickets/{number}/answer")
    await client.post(f"/staff/api/tickets/{number}/answer", data={**fields, "answer": "Sở đã kiểm tra quầy 2."})
    redis = aioredis.from_url(redis_db)
    try:  # what the Zalo adapter records for a message outside the window to a citizen with no phone
        event = ChangeEvent(id=1, kind="ticket", code=number, old_status="moi", new_status="da_tra_loi",
                            current_step="Sở đã kiểm tra quầy 2.", owner="zalo:4242", at=dt.datetime(2026, 12, 1, 9, 0))
        await redis.xadd(UNDELIVERED_STREAM, {"user_id": "4242", "error": "-230",
                                              "text": replies.ticket_answered(event)})
        await redis.xadd(UNDELIVERED_STREAM, {"user_id": "9999", "error": "-230", "text": "khác"})
    finally:
        await redis.close()
    page = await (await client.get(url)).text()
    assert "Chưa đến được người dân (Zalo -230)" in page
