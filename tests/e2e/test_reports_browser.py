"""Reports, the operations view and phone widths in a real browser (Debian's chromium, headless, driven by
Playwright) against the whole stack: the report of 2019 at 1366 px and 390 px shows the shares the dossier
API gives, its XLSX downloads and reads back (openpyxl), a dead-lettered MT shows in the operations view,
and no console page scrolls sideways at either width. Screenshots go to ``test-artifacts/screenshots/``."""

from __future__ import annotations

import asyncio
import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from openpyxl import load_workbook

from bot.staff.accounts import Accounts, Role
from common import handoff, inbox
from common.dates import local_now
from tests.bot.conftest import ADMIN_PASSWORD, NOW
from tests.conftest import Stack
from tests.e2e.test_console_browser import CHROMIUM, CSP_REFUSALS, SHOTS, browser  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e

ADMIN = "admin.baocao"
WIDTHS = (1366, 390)


LONG_TEXT = ("Cho hỏi hồ sơ 000.00.12.H17-261120-0001 của Công-ty-TNHH-Thương-mại-Dịch-vụ-Xuất-nhập-khẩu-Hoàng-Phát "
             "nộp từ tháng trước sao vẫn chưa có kết quả, mong cán bộ kiểm tra giúp")


async def _handoff(redis_url: str, start: bool) -> None:
    client = aioredis.from_url(redis_url)
    try:
        if start:
            await handoff.start(client, "web:phone-width", time.time(), 600)
        else:
            await handoff.end(client, "web:phone-width", time.time(), "test over", mode="any")
    finally:
        await client.close()


def _in_thread(coroutine) -> None:
    """Run ``coroutine`` on a loop of its own (Playwright's sync API holds this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result(30)


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.2f} %".replace(".", ",")


def _cell(page, section: str, label: str, column: int) -> str:
    card = page.locator(".card", has=page.locator("h2", has_text=section)).first
    row = card.locator("tr", has=page.get_by_text(label, exact=True)).first
    return row.locator("td").nth(column).inner_text().strip()


def _fits(page, width: int, path: str) -> None:
    page.goto(path)
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"{path} is {scroll} px wide at {width} px"


def test_yearly_report_operations_and_phone_widths(browser, stack: Stack) -> None:  # noqa: F811
    accounts = Accounts(Path(stack.env()["STAFF_DB_PATH"]), 5, 15)
    if ADMIN not in {s.username for s in accounts.list()}:
        accounts.create(ADMIN, ADMIN_PASSWORD, Role.ADMIN, NOW)
    summary = stack.api_session().get(f"{stack.api_url}/api/v1/reports/summary",
                                      params={"from": "2019-01-01", "to": "2019-12-31"}, timeout=10).json()
    received = sum(summary["received"].values())
    levels = {lv: sum(r["n"] for r in summary["ratings"] if r["level"] == lv)
              for lv in ("hai_long", "binh_thuong", "khong_hai_long")}
    rated = sum(levels.values())
    r = redis.Redis.from_url(stack.redis_url)
    dead = r.xadd("sms:dead", {"dest": "84905550001", "text": "Ho so da co ket qua", "origin": "reply",
                               "entry": "1-0", "stream": "sms:mt", "error": "SubmitRefused",
                               "reason": "submit_sm error 0x45 after 3 attempts", "attempts": "3",
                               "at": f"{time.time():.0f}"}).decode()
    # Something on every page, long words included, so widths are tried on real content.
    inbox.note_parse(r, LONG_TEXT, "web:phone-width", "nlu_fallback", 0.2, 0.6, local_now())
    stack.api_session().post(f"{stack.api_url}/api/v1/tickets", json={"owner": "web:phone-width",
                                                                     "content": LONG_TEXT}, timeout=10)
    _in_thread(_handoff(stack.redis_url, start=True))
    try:
        for width in WIDTHS:
            context = browser.new_context(base_url=stack.chat_url, viewport={"width": width, "height": 900},
                                          locale="vi-VN", accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.on("console", lambda message: CSP_REFUSALS.append(message.text)
                    if "Content Security Policy" in message.text else None)
            _fits(page, width, "/staff/login")
            page.fill("input[name=username]", ADMIN)
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/staff/")

            # The report of a year, chosen in the form as a staff member would.
            page.goto("/staff/reports")
            page.select_option("select[name=period]", "year")
            page.fill("input[name=year]", "2019")
            page.get_by_role("button", name="Xem báo cáo").click()
            page.wait_for_url("**/staff/reports?*")
            assert page.locator("#report-period").inner_text() == "Từ ngày 01/01/2019 đến ngày 31/12/2019"
            assert _cell(page, "Hồ sơ tiếp nhận", "Tổng số hồ sơ tiếp nhận", 1) == f"{received:,}".replace(",", ".")
            online = _pct(summary["received"]["truc_tuyen"], received)
            assert _cell(page, "Hồ sơ tiếp nhận", "Nộp trực tuyến", 2) == online == "90,44 %"
            assert _cell(page, "Đánh giá mức độ hài lòng", "Tổng số lượt đánh giá", 1) == f"{rated:,}".replace(",", ".")
            for label, level in (("Hài lòng", "hai_long"), ("Bình thường", "binh_thuong"),
                                 ("Không hài lòng", "khong_hai_long")):
                assert _cell(page, "Đánh giá mức độ hài lòng", label, 2) == _pct(levels[level], rated)
            page.screenshot(path=str(SHOTS / f"20-report-2019-{width}.png"), full_page=True)
            with page.expect_download() as download:
                page.click("#report-xlsx")
            sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active  # no .xlsx suffix
            rows = {(row[0], row[1]): row for row in sheet.iter_rows(min_row=4, values_only=True)}
            assert download.value.suggested_filename == "bao-cao-20190101-20191231.xlsx"
            assert rows[("Hồ sơ tiếp nhận", "Tổng số hồ sơ tiếp nhận")][2] == received
            assert rows[("Hồ sơ tiếp nhận", "Nộp trực tuyến")][3] == 90.44
            assert rows[("Đánh giá mức độ hài lòng", "Hài lòng")][3] == round(100 * levels["hai_long"] / rated, 2)

            # The operations view lists the dead-lettered MT with its reason, the number masked.
            page.goto("/staff/ops")
            row = page.locator(f'tr[data-dead="{dead}"]')
            assert "0x45 after 3 attempts" in row.inner_text() and "84905550001" not in page.content()
            assert row.get_by_role("button", name="Gửi lại").count() == 1
            page.screenshot(path=str(SHOTS / f"21-operations-{width}.png"), full_page=True)

            # No console page scrolls sideways.
            links = page.eval_on_selector_all("header nav a", "els => els.map(e => e.getAttribute('href'))")
            assert {"/staff/reports", "/staff/ops", "/staff/dashboard", "/staff/handoffs"} <= set(links)
            page.goto("/staff/handoffs")
            links.append(page.get_by_role("link", name="Xem").first.get_attribute("href"))  # one conversation
            for path in [*links, "/staff/reports?period=year&year=2019&print=1", "/staff/dashboard?days=365"]:
                _fits(page, width, path)
                if width < 1000:
                    slug = path.strip("/").replace("/", "-").split("?")[0] or "overview"
                    page.screenshot(path=str(SHOTS / f"23-phone-{slug}.png"), full_page=True)
            if width < 1000:
                page.goto("/staff/dashboard")
                page.screenshot(path=str(SHOTS / f"22-dashboard-{width}.png"), full_page=True)
            context.close()
    finally:
        r.xdel("sms:dead", dead)
        _in_thread(_handoff(stack.redis_url, start=False))
    assert CSP_REFUSALS == []
