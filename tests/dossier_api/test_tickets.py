"""Feedback tickets: classification, numbering, owner-only access, staff answers as events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from common.feedback import Category, classify
from dossier_api.server import create_app

NOW = dt.datetime(2026, 11, 26, 10, 0)  # Thursday


@pytest.mark.parametrize(("text", "category"), [
    ("Cán bộ tiếp nhận có thái độ hách dịch, gợi ý bồi dưỡng", Category.CAN_BO),
    ("can bo o quay so 2 nhung nhieu nguoi dan", Category.CAN_BO),
    ("Cửa hàng trên đường Hùng Vương bán rượu không rõ nguồn gốc", Category.VI_PHAM_THI_TRUONG),
    ("cay xang o lien chieu ban xang kem chat luong, can dieu", Category.VI_PHAM_THI_TRUONG),
    ("Hồ sơ của tôi đã quá hạn hai tuần mà chưa có kết quả", Category.CHAM_TRE),
    ("Đề xuất Sở mở thêm quầy tiếp dân sáng thứ Bảy", Category.GOP_Y),
    ("Tôi muốn hỏi về việc này một chút", Category.KHAC),
])
def test_classification(text: str, category: Category) -> None:
    assert classify(text) is category


async def test_ticket_lifecycle(tmp_path: Path) -> None:
    client = TestClient(TestServer(create_app(str(tmp_path / "t.sqlite3"), clock=lambda: NOW)))
    await client.start_server()
    try:
        body = {"owner": "zalo:123", "content": "Cửa hàng X ở chợ Cồn bán rượu giả, đề nghị kiểm tra",
                "dossier_code": "000.00.12.h17 - 261120 - 0001"}
        created = await client.post("/api/v1/tickets", json=body)
        ticket = await created.json()
        assert created.status == 201 and ticket["number"] == "PA261126-0001"
        assert ticket["category"] == "vi_pham_thi_truong" and ticket["status"] == "moi"
        assert ticket["dossier_code"] == "000.00.12.H17-261120-0001"
        assert ticket["due_date"] == "2026-12-10"  # 10 working days

        mine = await client.get(f"/api/v1/tickets/{ticket['number']}", params={"owner": "zalo:123"})
        other = await client.get(f"/api/v1/tickets/{ticket['number']}", params={"owner": "zalo:999"})
        anonymous = await client.get(f"/api/v1/tickets/{ticket['number']}")
        assert (mine.status, other.status, anonymous.status) == (200, 404, 404)

        answered = await client.post(f"/api/v1/tickets/{ticket['number']}/answer",
                                     json={"version": 1, "author": "lan",
                                           "answer": "Đội QLTT số 1 đã kiểm tra, xử phạt."})
        assert answered.status == 200 and (await answered.json())["status"] == "da_tra_loi"
        [event] = await (await client.get("/api/v1/events")).json()
        assert (event["kind"], event["code"], event["owner"], event["new_status"]) == (
            "ticket", ticket["number"], "zalo:123", "da_tra_loi")

        for bad in ({"owner": "web:x", "content": "ngắn"}, {"owner": "web:x", "content": "a" * 5000},
                    {"owner": "web:x", "content": "hồ sơ bị chậm quá", "dossier_code": "12345"}):
            resp = await client.post("/api/v1/tickets", json=bad)
            assert resp.status == 400
        for wrong in ({"version": 2, "author": "lan", "answer": "x", "status": "xong"},
                      {"version": 2, "author": "lan", "answer": "x", "status": "moi"},
                      {"version": 2, "author": "lan", "answer": "   "}, {"version": 2, "answer": "x"},
                      {"author": "lan", "answer": "x"}):
            resp = await client.post(f"/api/v1/tickets/{ticket['number']}/answer", json=wrong)
            assert resp.status == 400, wrong
        assert len(await (await client.get("/api/v1/events")).json()) == 1  # nothing half-stored
    finally:
        await client.close()


async def test_staff_list_open_tickets_due_first_and_ratings_per_day(tmp_path: Path) -> None:
    clock = [NOW]
    client = TestClient(TestServer(create_app(str(tmp_path / "t.sqlite3"), clock=lambda: clock[0])))
    await client.start_server()
    try:
        numbers = []
        for day, owner in [(0, "zalo:1"), (1, "web:2")]:
            clock[0] = NOW + dt.timedelta(days=day)
            created = await client.post("/api/v1/tickets", json={"owner": owner, "content": "Đề xuất mở thêm quầy"})
            numbers.append((await created.json())["number"])
        await client.post(f"/api/v1/tickets/{numbers[0]}/answer", json={"version": 1, "author": "lan",
                                                                          "answer": "Đã mở"})
        open_now = await (await client.get("/api/v1/tickets")).json()
        every = await (await client.get("/api/v1/tickets", params={"status": "all"})).json()
        assert [t["number"] for t in open_now] == [numbers[1]] and [t["number"] for t in every] == numbers
        assert (await client.get("/api/v1/tickets", params={"status": "x"})).status == 400

        for level, channel in [("hai_long", "sms"), ("hai_long", "sms"), ("binh_thuong", "zalo")]:
            await client.post("/api/v1/ratings", json={"level": level, "channel": channel})
        today = clock[0].date().isoformat()
        rows = await (await client.get("/api/v1/ratings/daily", params={"from": today, "to": today})).json()
        assert rows == [{"day": today, "channel": "sms", "level": "hai_long", "n": 2},
                        {"day": today, "channel": "zalo", "level": "binh_thuong", "n": 1}]
        assert await (await client.get("/api/v1/ratings/daily", params={"to": "2026-11-01"})).json() == []
        assert (await client.get("/api/v1/ratings/daily", params={"from": "2026-12-01", "to": "2026-11-01"})
                ).status == 400
        assert (await client.get("/api/v1/ratings/daily", params={"from": "hôm qua"})).status == 400
    finally:
        await client.close()


async def _api(tmp_path: Path) -> TestClient:
    client = TestClient(TestServer(create_app(str(tmp_path / "t.sqlite3"), clock=lambda: NOW)))
    await client.start_server()
    return client


async def _file(client: TestClient, owner: str = "web:abc") -> dict:
    content = "Cán bộ Trần Văn B ở quầy 2 hách dịch"
    resp = await client.post("/api/v1/tickets", json={"owner": owner, "content": content})
    return await resp.json()


async def test_two_answers_are_both_kept_and_each_tells_the_citizen(tmp_path: Path) -> None:
    client = await _api(tmp_path)
    try:
        number = (await _file(client))["number"]
        first = await client.post(f"/api/v1/tickets/{number}/answer",
                                  json={"version": 1, "author": "lan", "answer": "Sở đang xác minh.",
                                        "status": "dang_xu_ly"})
        ticket = await first.json()
        assert first.status == 200 and (ticket["status"], ticket["status_label"], ticket["version"]) == (
            "dang_xu_ly", "đang xử lý", 2)
        second = await client.post(f"/api/v1/tickets/{number}/answer",
                                   json={"version": 2, "author": "minh", "answer": "Sở đã nhắc nhở cán bộ."})
        ticket = await second.json()
        assert [(a["text"], a["author"]) for a in ticket["answers"]] == [
            ("Sở đang xác minh.", "lan"), ("Sở đã nhắc nhở cán bộ.", "minh")]
        assert ticket["answer"] == "Sở đã nhắc nhở cán bộ." and ticket["status"] == "da_tra_loi"
        events = await (await client.get("/api/v1/events")).json()
        assert [(e["new_status"], e["current_step"]) for e in events] == [
            ("dang_xu_ly", "Sở đang xác minh."), ("da_tra_loi", "Sở đã nhắc nhở cán bộ.")]
        assert [a["event_id"] for a in ticket["answers"]] == [e["id"] for e in events]
        owner_view = await (await client.get(f"/api/v1/tickets/{number}", params={"owner": "web:abc"})).json()
        assert len(owner_view["answers"]) == 2
    finally:
        await client.close()


async def test_a_change_from_a_stale_version_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    client = await _api(tmp_path)
    try:
        number = (await _file(client))["number"]
        mine = await client.post(f"/api/v1/tickets/{number}/change", json={"version": 1, "actor": "lan",
                                                                          "assignee": "lan"})
        assert mine.status == 200 and (await mine.json())["assignee"] == "lan"
        for path, body in (("answer", {"version": 1, "author": "minh", "answer": "Trả lời từ trang cũ"}),
                           ("change", {"version": 1, "actor": "minh", "status": "da_dong"}),
                           ("change", {"version": 1, "actor": "minh", "assignee": "minh"})):
            stale = await client.post(f"/api/v1/tickets/{number}/{path}", json=body)
            assert stale.status == 409 and (await stale.json())["error"] == "stale_version", body
        history = await (await client.get(f"/api/v1/tickets/{number}/history")).json()
        assert history["ticket"]["version"] == 2 and history["ticket"]["answers"] == []
        assert history["ticket"]["assignee"] == "lan" and history["ticket"]["status"] == "moi"
        assert await (await client.get("/api/v1/events")).json() == []  # the citizen was told nothing
        assert (await client.post("/api/v1/tickets/PA000000-9999/change",
                                  json={"version": 1, "actor": "x", "status": "da_dong"})).status == 404
        assert (await client.get("/api/v1/tickets/PA000000-9999/history")).status == 404
    finally:
        await client.close()


async def test_state_changes_are_recorded_told_and_listed(tmp_path: Path) -> None:
    client = await _api(tmp_path)
    try:
        number = (await _file(client))["number"]
        other = (await _file(client, "zalo:9"))["number"]
        unanswered = await client.post(f"/api/v1/tickets/{number}/change",
                                       json={"version": 1, "actor": "lan", "status": "da_tra_loi"})
        assert unanswered.status == 409 and (await unanswered.json())["error"] == "no_answer"
        same = await (await client.post(f"/api/v1/tickets/{number}/change",
                                        json={"version": 1, "actor": "lan", "status": "moi"})).json()
        assert same["version"] == 1  # nothing to change: no new version
        steps = [{"status": "dang_xu_ly", "assignee": "lan"}, {"status": "khong_phai_phan_anh"},
                 {"status": "moi", "assignee": ""}, {"status": "da_dong"}]
        for version, step in enumerate(steps, start=1):
            resp = await client.post(f"/api/v1/tickets/{number}/change", json={"version": version, "actor": "lan",
                                                                              **step})
            assert resp.status == 200, await resp.text()
        history = await (await client.get(f"/api/v1/tickets/{number}/history")).json()
        assert [(c["old_status"], c["new_status"], c["assignee"]) for c in history["changes"]] == [
            ("moi", "dang_xu_ly", "lan"), ("dang_xu_ly", "khong_phai_phan_anh", "lan"),
            ("khong_phai_phan_anh", "moi", None), ("moi", "da_dong", None)]
        assert history["ticket"]["status_label"] == "đã đóng" and history["ticket"]["version"] == 5
        told = [e["new_status"] for e in await (await client.get("/api/v1/events")).json()]
        assert told == ["dang_xu_ly", "khong_phai_phan_anh", "da_dong"]  # a return to "mới" is not told

        def numbers(tickets: list[dict]) -> list[str]:
            return [t["number"] for t in tickets]

        assert numbers(await (await client.get("/api/v1/tickets")).json()) == [other]
        assert numbers(await (await client.get("/api/v1/tickets", params={"status": "da_dong"})).json()) == [number]
        assert numbers(await (await client.get("/api/v1/tickets", params={"status": "all", "assignee": ""})
                              ).json()) == [number, other]
        assert (await client.get("/api/v1/tickets", params={"status": "xong"})).status == 400
    finally:
        await client.close()


def test_a_database_from_before_keeps_its_answer_as_the_first_of_the_history(tmp_path: Path) -> None:
    import sqlite3

    from dossier_api.db import Database

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT UNIQUE, owner TEXT NOT"
                     " NULL, content TEXT NOT NULL, dossier_code TEXT, category TEXT NOT NULL, status TEXT NOT NULL,"
                     " answer TEXT, due_date TEXT NOT NULL, created_at TEXT NOT NULL)")
        conn.execute("INSERT INTO tickets (number, owner, content, category, status, answer, due_date, created_at)"
                     " VALUES ('PA261120-0001', 'web:x', 'Đề xuất mở thêm quầy', 'gop_y', 'da_tra_loi', 'Đã mở',"
                     " '2026-12-04', '2026-11-20T09:00:00')")
    db = Database(path)
    db.create_schema()
    db.create_schema()  # twice: nothing copied twice
    ticket = db.ticket("PA261120-0001")
    assert ticket is not None and [a.text for a in ticket.answers] == ["Đã mở"] and ticket.version == 1


def test_every_ticket_route_is_in_the_contract(tmp_path: Path) -> None:
    import yaml

    from dossier_api.server import OPENAPI_FILE

    spec = yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))["paths"]
    app = create_app(str(tmp_path / "t.sqlite3"))
    routes = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and "/tickets" in r.resource.canonical and r.method != "HEAD"}
    assert len(routes) == 6
    assert all(method in spec.get(path, {}) for method, path in routes), routes


def test_of_two_answers_from_the_same_version_at_once_one_wins(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from dossier_api.db import Database, TicketStale
    from dossier_api.models import TicketAnswer, TicketIn

    db = Database(tmp_path / "t.sqlite3")
    db.create_schema()
    number = db.add_ticket(TicketIn(owner="web:x", content="Đề xuất mở thêm quầy"), Category.GOP_Y,
                           NOW.date(), NOW)[0].number
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: db.answer_ticket(number, TicketAnswer(version=1, author=f"s{i}",
                                                                                answer=f"trả lời {i}"), NOW),
                                range(8)))
    assert sum(not isinstance(r, TicketStale) for r in results) == 1
    ticket = db.ticket(number)
    assert ticket is not None and len(ticket.answers) == 1 and ticket.version == 2
