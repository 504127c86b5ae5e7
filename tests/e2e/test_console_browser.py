"""The staff loop in a real browser (Debian's chromium, headless, driven by
Playwright) against the whole stack: a citizen marks an answer unhelpful in the
web chat, an annotator confirms it in the NLU inbox, trains a candidate and reads
the comparison, an admin promotes it into the running Rasa server while a
citizen's form is half filled (and the form goes on), rolls back, and the
dashboard draws its charts. A screenshot of each page is saved under
``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.staff.accounts import Accounts, Role
from tests.bot.conftest import ADMIN_PASSWORD, ANNOTATOR_PASSWORD, NOW
from tests.conftest import ROOT, Conversation, Stack, seeded_dossier

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "test-artifacts" / "screenshots"
DOC_SHOTS = ROOT / "docs" / "img"  # the README's pictures, rewritten only with SAVE_SCREENSHOTS=1
# Rasa loads the candidate before the page says so: half a minute on a quiet machine, more on a busy one.
PROMOTION_TIMEOUT_MS = 120_000
TRAINING_TIMEOUT_MS = 600_000
CSP_REFUSALS: list[str] = []  # what Chromium refused to run or apply on a console page


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert shutil.which("chromium") == CHROMIUM, "Debian's chromium is needed: make system-deps"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        yield browser
        browser.close()


def _page(browser, stack: Stack):
    context = browser.new_context(base_url=stack.chat_url, viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "promote this model?" and the like
    page.on("console", lambda message: CSP_REFUSALS.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.set_default_timeout(30_000)
    return page


def _shot(page, name: str, doc: str = "") -> None:
    """A full-page screenshot under ``test-artifacts/screenshots/``; also ``docs/img/<doc>.png``, the
    README's picture, when ``SAVE_SCREENSHOTS=1`` (so that `make test` leaves the repo's files alone)."""
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if doc and os.environ.get("SAVE_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOC_SHOTS / f"{doc}.png"), full_page=True)


def _sign_in(page, username: str, password: str, shot: str = "") -> None:
    page.goto("/staff/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    if shot:
        _shot(page, shot)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")


def _rasa_model(stack: Stack) -> str:
    return requests.get(f"{stack.rasa_url}/status", params={"token": stack.rasa_token}, timeout=10).json()["model_file"]


def test_the_whole_staff_loop_in_a_browser(browser, stack: Stack) -> None:
    accounts = Accounts(Path(stack.env()["STAFF_DB_PATH"]), 5, 15)
    accounts.create("admin.trinh", ADMIN_PASSWORD, Role.ADMIN, NOW)
    accounts.create("lan.nguyen", ANNOTATOR_PASSWORD, Role.ANNOTATOR, NOW)
    live_before = _rasa_model(stack)

    # A citizen asks in the web chat and says the answer did not help.
    citizen = _page(browser, stack)
    citizen.goto("/")
    question = "cho hỏi thủ tục xin cấp phép bắn pháo hoa ngày tết"
    citizen.fill("#text", question)
    citizen.press("#text", "Enter")
    citizen.locator("button.unhelpful").click()
    citizen.get_by_text("Cảm ơn anh/chị đã cho biết").wait_for()
    _shot(citizen, "01-web-chat-unhelpful", doc="console-01-web-chat-unhelpful")

    # An annotator confirms it in the NLU inbox, the reason shown, the text as written.
    staff = _page(browser, stack)
    _sign_in(staff, "lan.nguyen", ANNOTATOR_PASSWORD, shot="00-sign-in")
    _shot(staff, "02-overview")
    staff.goto("/staff/inbox")
    row = staff.locator("tr", has_text=question)
    row.get_by_text("người dân báo chưa hữu ích").wait_for()
    _shot(staff, "03-nlu-inbox", doc="console-03-nlu-inbox")
    row.locator("select[name=intent]").select_option("ngoai_pham_vi")  # fireworks: not this department
    row.get_by_role("button", name="Xác nhận").click()
    staff.wait_for_url("**/staff/inbox")
    assert staff.locator("tr", has_text=question).count() == 0
    batch = list(Path(stack.env()["NLU_DATA_DIR"]).glob("inbox_*.yml"))
    assert batch and question in batch[0].read_text(encoding="utf-8")

    # ... trains a candidate (progress bar), then reads the comparison; promoting is not theirs.
    staff.goto("/staff/models")
    _shot(staff, "04-models")
    staff.get_by_role("button", name="Huấn luyện").click()
    staff.locator("#training-progress").wait_for()
    # A function, not a string: the console's CSP allows no eval.
    staff.wait_for_function("() => document.getElementById('training-progress').value > 0.04")
    _shot(staff, "05-training-progress", doc="console-05-training-progress")
    staff.wait_for_url("**/staff/models/2*", timeout=TRAINING_TIMEOUT_MS)
    assert staff.locator("#comparison").get_by_text("Độ chính xác (ý định)").count() == 1
    assert staff.get_by_text("F1 theo ý định").count() == 1
    assert staff.get_by_role("button", name="Đưa vào sử dụng").count() == 0
    _shot(staff, "06-comparison", doc="console-06-comparison")
    comparison_url = staff.url
    staff.goto("/staff/models")  # the finished job, told once, with its link
    assert staff.locator("#training").inner_text().count("xem bảng so sánh") == 1

    # An admin promotes it while a citizen's form is half filled; the form goes on.
    dossier = seeded_dossier(stack, "da_co_ket_qua", offset=11, undelivered=True)
    chat = Conversation(stack)
    assert "nhập mã hồ sơ" in chat.say("tôi muốn nhận kết quả qua bưu điện")
    assert "Họ tên người nhận" in chat.say(dossier["code"])
    admin = _page(browser, stack)
    _sign_in(admin, "admin.trinh", ADMIN_PASSWORD)
    admin.goto(comparison_url)
    admin.get_by_role("button", name="Đưa vào sử dụng").click()
    admin.get_by_text("Đã đưa mô hình mới vào sử dụng").wait_for(timeout=PROMOTION_TIMEOUT_MS)
    _shot(admin, "07-promoted", doc="console-07-promoted")
    promoted = _rasa_model(stack)
    assert promoted != live_before and comparison_url.rsplit("/", 1)[1] in promoted
    assert "Số điện thoại" in chat.say("Lê Văn Tám")  # the conversation survived the swap

    # One click puts the previous model back.
    admin.get_by_role("button", name="Quay lại mô hình trước").click()
    admin.get_by_text("Đã quay lại mô hình trước đó").wait_for()
    assert _rasa_model(stack) == live_before
    assert "Địa chỉ nhận" in chat.say("0905 123 456")

    # The dashboard draws its charts from what just happened.
    admin.goto("/staff/users")
    assert admin.locator("td", has_text="lan.nguyen").count() == 1
    _shot(admin, "09-accounts")
    admin.goto("/staff/dashboard")
    for chart in ("messages", "lookups", "intents", "fallback", "satisfaction-channel", "satisfaction-week",
                  "response", "dlr"):
        assert admin.locator(f"#chart-{chart} > svg").count() == 1  # the chart (its legend's swatches are SVG too)
    assert admin.locator("#chart-messages svg rect title", has_text="web").count() >= 1
    assert admin.locator("#chart-response svg circle").count() >= 1
    _shot(admin, "08-dashboard")
    with admin.expect_download() as download:
        admin.get_by_text("Tải CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    assert CSP_REFUSALS == []  # every page worked under its CSP (no inline script or style refused)
