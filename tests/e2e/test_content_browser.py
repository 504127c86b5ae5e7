"""Content editing in a real browser (Debian's chromium, headless, driven by Playwright)
against the whole stack, with a real SMSC and SMS gateway: an editor changes a procedure's
fee in the console (preview on chat and SMS, save), and the next citizen asking for it on the
web chat and by SMS reads the new fee, without a restart; the audit trail shows the change.

The stack's content is a copy (``CONTENT_DIR``, tests/conftest.py); the test puts the copy
back as it was and waits until the API serves the old fee again, for the tests that follow.
Screenshots under ``test-artifacts/screenshots/``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.staff.accounts import Accounts, Role
from tests.bot.conftest import NOW
from tests.conftest import ROOT, Conversation, Stack
from tests.e2e.test_console_browser import _shot, browser  # noqa: F401 (the browser fixture)
from tests.sms_gateway.conftest import GatewayProcess, Smsc, gateway, gateway_env, redis_db, smsc  # noqa: F401

pytestmark = pytest.mark.e2e

EDITOR_PASSWORD = "Bien-tap-2026"
PROCEDURE = "ban_le_xang_dau"
NEW_FEE = "Phí thẩm định 1.350.000 đồng/điểm kinh doanh/lần thẩm định"
QUESTION = "Lệ phí cấp giấy chứng nhận cửa hàng bán lẻ xăng dầu là bao nhiêu?"


@pytest.fixture
def catalog_copy(stack: Stack) -> Iterator[Path]:
    """The stack's catalog file; put back as it was after the test (and served again)."""
    assert stack.content_dir is not None and stack.content_dir != ROOT
    path = stack.content_dir / "procedures.yml"
    original = path.read_bytes()
    fee_before = _served_fee(stack)
    yield path
    path.write_bytes(original)
    _wait_for_fee(stack, fee_before)


def _served_fee(stack: Stack) -> str:
    response = stack.api_session().get(f"{stack.api_url}/api/v1/procedures/{PROCEDURE}", timeout=10)
    return response.json()["fee"]


def _wait_for_fee(stack: Stack, fee: str, timeout: float = 10.0) -> float:
    """Seconds until the API serves ``fee``."""
    start = time.monotonic()
    while _served_fee(stack) != fee:
        assert time.monotonic() - start < timeout, f"the API does not serve the new fee after {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - start


def test_an_editor_changes_a_fee_and_the_next_citizens_read_it_on_web_and_sms(
        browser, stack: Stack, catalog_copy: Path, smsc: Smsc, gateway: GatewayProcess) -> None:  # noqa: F811
    accounts = Accounts(Path(stack.env()["STAFF_DB_PATH"]), 5, 15)
    accounts.create("mai.tran", EDITOR_PASSWORD, Role.EDITOR, NOW)
    old_fee = _served_fee(stack)
    assert "1.200.000" in old_fee and old_fee in Conversation(stack).say(QUESTION)

    context = browser.new_context(base_url=stack.chat_url, viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto("/staff/login")
    page.fill("input[name=username]", "mai.tran")
    page.fill("input[name=password]", EDITOR_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")

    # The editor finds the procedure (typed without diacritics) and opens it.
    page.get_by_role("link", name="Nội dung").click()
    page.get_by_role("link", name="Danh mục thủ tục").click()
    page.fill("input[name=q]", "ban le xang dau")
    page.get_by_role("button", name="Tìm").click()
    page.get_by_role("link", name="Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu").click()
    page.wait_for_url(f"**/staff/content/procedures/{PROCEDURE}")
    _shot(page, "30-content-procedure")

    # A fee that does not match its amount is refused, with the reason, nothing written.
    before = catalog_copy.read_bytes()
    page.fill("input[name=le_phi]", NEW_FEE)
    page.get_by_role("button", name="Lưu").click()
    page.get_by_text("không có số tiền 1.200.000 đồng").wait_for()
    assert catalog_copy.read_bytes() == before

    # Amount fixed, the preview shows the reply on chat and (folded) on SMS.
    page.fill("input[name=le_phi_vnd]", "1.350.000")
    page.get_by_role("button", name="Xem trước").click()
    page.locator("pre[data-channel=chat]", has_text="1.350.000 đồng").first.wait_for()
    page.locator("pre[data-channel=sms]", has_text="Phi tham dinh 1.350.000 dong").first.wait_for()
    _shot(page, "31-content-preview")
    assert catalog_copy.read_bytes() == before
    page.get_by_role("button", name="Lưu").click()
    page.get_by_text("Đã lưu").wait_for()
    _shot(page, "32-content-saved")
    assert "le_phi_vnd: 1350000" in catalog_copy.read_text(encoding="utf-8")

    # Within seconds, without a restart: the API, then the next citizens on the web and by SMS.
    assert _wait_for_fee(stack, NEW_FEE, timeout=5.0) < 3.0
    assert NEW_FEE in Conversation(stack).say(QUESTION)
    assert smsc.send_text("84901234590", QUESTION, ucs2=True) == 0
    [reply] = smsc.wait_replies(1, timeout=60)["84901234590"]
    assert "Phi tham dinh 1.350.000 dong" in reply and "1.200.000" not in reply

    # The audit trail says who changed what, before and after.
    page.goto("/staff/content/audit")
    row = page.locator("tr", has_text=PROCEDURE)
    row.get_by_text("mai.tran").wait_for()
    assert "1200000" in row.inner_text() and "1350000" in row.inner_text()
    _shot(page, "33-content-audit")
    context.close()
