"""Two staff members at the handoff queue, in a real browser (Debian's chromium, headless) against the
whole stack: the one whose claim lost is told who has the conversation, and their queue keeps
refreshing itself from there (new citizens appear) without posting the lost claim again."""

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
