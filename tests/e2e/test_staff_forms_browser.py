"""Two staff members at the handoff queue, in a real browser (Debian's chromium, headless) against the
whole stack: the one whose claim lost is told who has the conversation, and their queue keeps
refreshing itself from there (new citizens appear) without posting the lost claim again. A reply
typed while the session ended is kept across the sign-in and sent on; an account an admin disables
is signed out at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.staff.accounts import Accounts, Role
from tests.bot.conftest import ANNOTATOR_PASSWORD, NOW
from tests.conftest import Conversation, Stack
from tests.e2e.test_console_browser import _page, _shot, _sign_in, browser  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e


def _asks_for_a_person(stack: Stack) -> Conversation:
    citizen = Conversation(stack)
    assert "cán bộ" in citizen.say("cho tôi gặp cán bộ")
    return citizen


def test_a_lost_claim_is_told_and_the_queue_keeps_refreshing(browser, stack: Stack) -> None:  # noqa: F811
    accounts = Accounts(Path(stack.env()["STAFF_DB_PATH"]), 5, 15)
    for name in ("minh.vo", "thu.pham"):
        accounts.create(name, ANNOTATOR_PASSWORD, Role.ANNOTATOR, NOW)
    first = _asks_for_a_person(stack)
    first.say(f"em hỏi về đăng ký khuyến mại {first.session[:6]}")  # words no other test searches for

    winner, loser = _page(browser, stack), _page(browser, stack)
    claims: list[str] = []
    loser.on("request", lambda r: claims.append(r.url) if r.method == "POST" and "/claim" in r.url else None)
    for staff, name in ((winner, "minh.vo"), (loser, "thu.pham")):
        _sign_in(staff, name, ANNOTATOR_PASSWORD)
        staff.goto("/staff/handoffs")
    row = f"tr:has-text('{first.session[:6]}')"
    winner.locator(row).locator("button", has_text="Nhận").click()
    winner.wait_for_url("**/staff/handoffs/view**")
    loser.locator(row).locator("button", has_text="Nhận").click()  # the page still shows it waiting
    loser.locator("text=Cán bộ minh.vo đã nhận cuộc trò chuyện này.").wait_for()
    _shot(loser, "40-claim-lost")

    # A second citizen asks for a person: the loser's queue shows them without anyone touching it.
    second = _asks_for_a_person(stack)
    second.say(f"cho hỏi lệ phí {second.session[:6]}")
    loser.locator(f"tr:has-text('{second.session[:6]}')", has_text="Chờ cán bộ").wait_for(timeout=40_000)
    assert loser.url.endswith("/staff/handoffs")
    assert len(claims) == 1  # the lost claim was never posted again
    _shot(loser, "41-queue-refreshed")


def _end_session(page, stack: Stack) -> None:
    """The staff member's session ends in Redis as after its idle time; the browser keeps its cookie."""
    import redis

    from bot.staff.layout import COOKIE
    from bot.staff.sessions import _key

    [token] = [c["value"] for c in page.context.cookies() if c["name"] == COOKIE]
    client = redis.Redis.from_url(stack.redis_url)
    try:
        assert client.delete(_key(token)) == 1
    finally:
        client.close()


def test_a_reply_typed_while_the_session_expired_is_sent_after_signing_in_again(
        browser, stack: Stack) -> None:  # noqa: F811
    accounts = Accounts(Path(stack.env()["STAFF_DB_PATH"]), 5, 15)
    accounts.create("hoa.tran", ANNOTATOR_PASSWORD, Role.ANNOTATOR, NOW)
    citizen = _asks_for_a_person(stack)
    citizen.say(f"em hỏi về giấy phép sản xuất rượu thủ công {citizen.session[:6]}")
    staff = _page(browser, stack)
    _sign_in(staff, "hoa.tran", ANNOTATOR_PASSWORD)
    staff.goto("/staff/handoffs")
    staff.locator(f"tr:has-text('{citizen.session[:6]}')").locator("button", has_text="Nhận").click()
    staff.wait_for_url("**/staff/handoffs/view**")
    view = staff.url
    answer = ("Chào anh/chị, sản xuất rượu thủ công để bán cần giấy phép của Phòng Kinh tế cấp huyện; "
              "hồ sơ gồm đơn đề nghị, bản sao đăng ký kinh doanh và bản công bố chất lượng sản phẩm.")
    staff.fill("textarea[name=text]", answer)

    _end_session(staff, stack)  # a long answer: the session ended while it was being written
    staff.locator("#signed-out").wait_for()  # the page's poll saw it and stayed, the answer still there
    assert staff.url == view and staff.locator("textarea[name=text]").input_value() == answer
    _shot(staff, "42-session-ended-while-typing")
    staff.get_by_role("button", name="Gửi", exact=True).click()
    staff.wait_for_url("**/staff/login")
    staff.get_by_text("nội dung anh/chị vừa gửi được giữ lại").wait_for()
    staff.fill("input[name=username]", "hoa.tran")
    staff.fill("input[name=password]", ANNOTATOR_PASSWORD)
    staff.click("button[type=submit]")
    staff.wait_for_url("**/staff/draft")
    assert staff.locator("#draft-form textarea").input_value() == answer
    _shot(staff, "43-kept-form")
    staff.get_by_role("button", name="Gửi tiếp").click()
    staff.wait_for_url("**/staff/handoffs/view?ref=*")
    staff.locator("#transcript li.staff", has_text=answer[:60]).wait_for()  # sent, once
    assert staff.locator("#transcript li.staff", has_text=answer[:60]).count() == 1


def test_an_admin_disables_an_account_and_its_open_page_is_signed_out(browser, stack: Stack) -> None:  # noqa: F811
    from tests.bot.conftest import ADMIN_PASSWORD

    accounts = Accounts(Path(stack.env()["STAFF_DB_PATH"]), 5, 15)
    accounts.create("quan.tri2", ADMIN_PASSWORD, Role.ADMIN, NOW)
    accounts.create("tam.ngo", ANNOTATOR_PASSWORD, Role.ANNOTATOR, NOW)
    admin, annotator = _page(browser, stack), _page(browser, stack)
    _sign_in(admin, "quan.tri2", ADMIN_PASSWORD)
    _sign_in(annotator, "tam.ngo", ANNOTATOR_PASSWORD)
    admin.goto("/staff/users")
    admin.locator("tr[data-user='tam.ngo']").get_by_role("button", name="Khóa").click()  # confirmed (dialog)
    admin.get_by_text("Đã khóa tài khoản; các phiên đăng nhập của tài khoản đã kết thúc.").wait_for()
    assert "Đã khóa từ" in admin.locator("tr[data-user='tam.ngo']").inner_text()
    _shot(admin, "44-account-disabled")
    annotator.goto("/staff/inbox")
    annotator.wait_for_url("**/staff/login**")
    annotator.fill("input[name=username]", "tam.ngo")
    annotator.fill("input[name=password]", ANNOTATOR_PASSWORD)
    annotator.click("button[type=submit]")
    annotator.get_by_text("Tài khoản này đã bị khóa").wait_for()
