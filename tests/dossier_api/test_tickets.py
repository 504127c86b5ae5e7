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
                                     json={"status": "da_tra_loi", "answer": "Đội QLTT số 1 đã kiểm tra, xử phạt."})
        assert answered.status == 200 and (await answered.json())["status"] == "da_tra_loi"
        [event] = await (await client.get("/api/v1/events")).json()
        assert (event["kind"], event["code"], event["owner"], event["new_status"]) == (
            "ticket", ticket["number"], "zalo:123", "da_tra_loi")

        for bad in ({"owner": "web:x", "content": "ngắn"}, {"owner": "web:x", "content": "a" * 5000},
                    {"owner": "web:x", "content": "hồ sơ bị chậm quá", "dossier_code": "12345"}):
            resp = await client.post("/api/v1/tickets", json=bad)
            assert resp.status == 400
        wrong = await client.post(f"/api/v1/tickets/{ticket['number']}/answer", json={"status": "xong"})
        assert wrong.status == 400
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
        await client.post(f"/api/v1/tickets/{numbers[0]}/answer", json={"status": "da_tra_loi", "answer": "Đã mở"})
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
