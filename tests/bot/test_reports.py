"""Reports in the console against the real reference API (its seeded 2019) and real Redis: the page,
the XLSX read back with openpyxl, the CSV, periods, and the assistant's counters."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

from bot.staff.report_pages import HEADERS, BadRange, parse_range
from common import handoff, stats
from common.dates import local_now
from common.stats import Count
from dossier_api.server import create_app
from tests.bot.conftest import ANNOTATOR_PASSWORD, sign_in
from tests.conftest import Conversation, Stack

STAFF_TOKEN = "staff-report-token"


@pytest.fixture
async def api(seeded_db: Path) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(create_app(str(seeded_db), "citizen-token", staff_token=STAFF_TOKEN)))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def reports(accounts, redis_url, gateway, api: TestClient) -> TestClient:
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url,
                           dossier_api_url=str(api.make_url("")).rstrip("/"), dossier_api_token="citizen-token",
                           dossier_api_staff_token=STAFF_TOKEN, staff_db_path=accounts.path)
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    return client


async def _summary(api: TestClient, first: str, last: str) -> dict:
    resp = await api.get(f"/api/v1/reports/summary?from={first}&to={last}",
                         headers={"Authorization": f"Bearer {STAFF_TOKEN}"})
    return await resp.json()


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.2f} %".replace(".", ",")


async def test_the_year_page_shows_the_shares_the_api_gives(reports: TestClient, api: TestClient) -> None:
    summary = await _summary(api, "2019-01-01", "2019-12-31")
    received = sum(summary["received"].values())
    levels = {lv: sum(r["n"] for r in summary["ratings"] if r["level"] == lv)
              for lv in ("hai_long", "binh_thuong", "khong_hai_long")}
    rated = sum(levels.values())
    resp = await reports.get("/staff/reports?period=year&year=2019")
    page = await resp.text()
    assert resp.status == 200 and "Từ ngày 01/01/2019 đến ngày 31/12/2019" in page
    assert f"{received:,}".replace(",", ".") in page and f"{rated:,}".replace(",", ".") in page
    assert _pct(summary["received"]["truc_tuyen"], received) == "90,44 %" and "90,44 %" in page
    for level in levels.values():
        assert _pct(level, rated) in page
    assert "98,06 %" in page and "1,94 %" in page
    assert "Máy đánh giá tại quầy" in page and "Cổng dịch vụ công" in page  # ratings by channel
    printable = await (await reports.get("/staff/reports?period=year&year=2019&print=1")).text()
    assert "90,44 %" in printable and "<form" not in printable and "<nav></nav>" in printable


async def test_xlsx_and_csv_carry_vietnamese_headers_and_the_same_figures(reports: TestClient,
                                                                        api: TestClient) -> None:
    summary = await _summary(api, "2019-04-01", "2019-06-30")
    received = sum(summary["received"].values())
    resp = await reports.get("/staff/reports.xlsx?period=quarter&year=2019&quarter=2")
    assert resp.status == 200 and "bao-cao-20190401-20190630.xlsx" in resp.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][0] == "Báo cáo từ ngày 01/04/2019 đến ngày 30/06/2019"
    assert tuple(values[2]) == HEADERS
    by_label = {(r[0], r[1]): r for r in values[3:]}
    assert by_label[("Hồ sơ tiếp nhận", "Tổng số hồ sơ tiếp nhận")][2] == received
    online = by_label[("Hồ sơ tiếp nhận", "Nộp trực tuyến")]
    assert online[2] == summary["received"]["truc_tuyen"]
    assert online[3] == round(100 * summary["received"]["truc_tuyen"] / received, 2)
    resp = await reports.get("/staff/reports.csv?period=quarter&year=2019&quarter=2")
    rows = list(csv.reader(io.StringIO((await resp.text()).lstrip("\ufeff"))))
    assert tuple(rows[0]) == HEADERS
    assert ["Hồ sơ tiếp nhận", "Tổng số hồ sơ tiếp nhận", str(received), ""] in rows


async def test_the_assistant_counters_of_the_range_are_reported(reports: TestClient, redis_url: str) -> None:
    today = local_now().date()
    redis = aioredis.from_url(redis_url)
    before = await stats.conversations(redis, today, today, ["zalo"])
    await stats.record(redis, Count(stats.HANDOFFS, "zalo", 2), Count(stats.MESSAGES, "zalo", 3),
                       conversation=("zalo", "p-report-1"))
    await stats.record(redis, conversation=("zalo", "p-report-1"))  # the same sender, the same day: one
    await stats.record(redis, conversation=("zalo", "p-report-2"))
    after = await stats.conversations(redis, today, today, ["zalo"])
    handoffs = sum((await stats.read(redis, today, today, ["zalo"]))[0].counters[stats.HANDOFFS].values())
    await redis.close()
    assert after["zalo"] - before["zalo"] == 2
    page = await (await reports.get(f"/staff/reports?period=custom&from={today}&to={today}")).text()
    assert "Cuộc trò chuyện (người dùng mỗi ngày)" in page and "Chuyển cho cán bộ" in page
    assert f'<td>Chuyển cho cán bộ</td><td class="num">{handoffs}</td>' in page
    old = await (await reports.get("/staff/reports?period=year&year=2019")).text()
    assert "Trợ lý ảo không có số liệu trong kỳ này" in old


async def test_a_bad_range_is_refused_in_vietnamese(reports: TestClient) -> None:
    for query in ("period=custom&from=2019-12-31&to=2019-01-01", "period=quarter&year=2019&quarter=5",
                  "period=month&year=2019&month=13", "period=custom&from=2000-01-01&to=2019-12-31"):
        resp = await reports.get(f"/staff/reports?{query}")
        assert resp.status == 400 and 'class="error"' in await resp.text()
        assert (await reports.get(f"/staff/reports.xlsx?{query}")).status == 400


def test_periods() -> None:
    today = dt.date(2026, 11, 26)
    assert parse_range({}, today)[1:] == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert parse_range({"period": "quarter", "year": "2024", "quarter": "1"}, today)[1:] == (
        dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    assert parse_range({"period": "month", "year": "2024", "month": "2"}, today)[2] == dt.date(2024, 2, 29)
    with pytest.raises(BadRange):
        parse_range({"period": "week"}, today)


async def test_the_dashboard_is_not_capped_at_90_days_and_its_csv_speaks_vietnamese(reports: TestClient) -> None:
    today = local_now().date()
    page = await reports.get("/staff/dashboard?days=365")
    assert page.status == 200 and f"Từ {today - dt.timedelta(days=364):%d/%m/%Y}" in await page.text()
    first = today - dt.timedelta(days=199)
    resp = await reports.get(f"/staff/dashboard.csv?from={first}&to={today}")
    rows = list(csv.DictReader(io.StringIO((await resp.text()).lstrip("\ufeff"))))
    assert len(rows) == 200 and rows[0]["Ngày"] == first.isoformat()
    assert {"Tin nhắn – zalo", "Tra cứu – Tìm thấy", "Đánh giá sms – Hài lòng"} <= set(rows[0])
    assert not any(re.fullmatch(r"[a-z0-9_]+", key) for key in rows[0])  # no code identifiers
    for query in ("days=400", "days=0", "from=2026-01-01&to=2025-01-01", "from=2020-01-01&to=2022-01-01"):
        assert (await reports.get(f"/staff/dashboard?{query}")).status == 400


def test_the_web_chat_counts_its_conversations_and_handoffs(stack: Stack) -> None:
    """Through the real stack (gateway, Rasa): two messages of one citizen are one conversation, and asking
    for a staff member is one handoff."""
    r = redis.Redis.from_url(stack.redis_url)
    today = local_now().date()

    def figures() -> tuple[int, int]:
        return (int(r.pfcount(stats.key(today, stats.CONVERSATIONS, "web"))),
                int(r.hget(stats.key(today, stats.HANDOFFS), "web") or 0))

    conversations, handoffs = figures()
    chat = Conversation(stack)
    chat.say("xin chào")
    assert "cán bộ" in chat.say("cho tôi gặp cán bộ")
    try:
        assert figures() == (conversations + 1, handoffs + 1)
    finally:
        asyncio.run(_give_back(stack.redis_url, f"web:{chat.session}"))


async def _give_back(redis_url: str, sender: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        await handoff.end(client, sender, time.time(), "test over", mode="any")
    finally:
        await client.close()
