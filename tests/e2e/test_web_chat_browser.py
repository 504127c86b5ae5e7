"""The web chat page in a real browser (Debian's chromium through Playwright) against the
whole stack: the session the gateway issues is kept across a reload (the conversation goes
on), and a session it did not issue is replaced without the citizen noticing."""

from __future__ import annotations

import pytest

from tests.conftest import Stack, seeded_dossier
from tests.e2e.test_console_browser import _page, browser  # noqa: F401 (the browser fixture)

pytestmark = pytest.mark.e2e


def _say(page, text: str, replies_before: int) -> str:
    page.fill("#text", text)
    page.click("#composer button[type=submit]")
    page.wait_for_function(f"document.querySelectorAll('#log li.bot').length > {replies_before}")
    return page.locator("#log li.bot .bubble").last.inner_text()


def test_the_issued_session_survives_a_reload_and_a_forged_one_is_replaced(browser, stack: Stack) -> None:  # noqa: F811
    dossier = seeded_dossier(stack, "dang_xu_ly", offset=7)
    page = _page(browser, stack)
    page.goto("/")
    assert "nhập mã hồ sơ" in _say(page, "tôi muốn tra cứu hồ sơ", 1)  # the form asks for the code
    token = page.evaluate("localStorage.getItem('sct-session')")
    value, _, mac = token.partition(".")
    assert value and mac  # issued and signed by the gateway, not made up by the page

    page.reload()  # the citizen reloads: same session, the form is still waiting for the code
    assert page.evaluate("localStorage.getItem('sct-session')") == token
    reply = _say(page, dossier["code"], 1)
    assert dossier["code"] in reply and "ĐANG XỬ LÝ" in reply

    # Someone puts another citizen's id (or an old, unsigned one) in the page's storage.
    page.evaluate(f"localStorage.setItem('sct-session', '{value}')")
    page.reload()
    reply = _say(page, "xin chào", 1)
    assert "trợ lý ảo" in reply  # answered, with no error shown
    assert page.locator("#log li.error").count() == 0
    renewed = page.evaluate("localStorage.getItem('sct-session')")
    assert renewed != token and renewed.partition(".")[0] != value and renewed.partition(".")[2]
    page.context.close()
