"""A person answers, in a real browser (Debian's chromium, headless, Playwright) against the
whole stack: a web citizen asks for a staff member, one claims the conversation, reads the
transcript and replies, and the citizen's open page shows the reply without a reload; "end and
give back" returns the citizen to the assistant; a ticket answer reaches a closed page when it
opens again; and with nobody answering, the citizen is told the hotline in time and the assistant
answers again. Screenshots under ``test-artifacts/screenshots/``; with ``SAVE_SCREENSHOTS=1`` also the
README's pictures in ``docs/img/`` (``handoff-*``, ``conversations-*``)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.staff.accounts import Accounts, Role
from common import handoff
from content.texts import text as citizen_text
from dossier_api.catalog import load_catalog
from scripts.localstack import free_port
from tests.bot.conftest import ANNOTATOR_PASSWORD, NOW
from tests.conftest import ROOT, Stack, stop
from tests.e2e.test_console_browser import _page, _shot, _sign_in, browser  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e

STAFF = "ha.le"
FEE_QUESTION = "lệ phí cấp giấy chứng nhận cửa hàng bán lẻ xăng dầu là bao nhiêu"
TIMEOUT_MIN = 0.1  # the second gateway's: six seconds


def _say(page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def _bot_text(page, text: str):
    return page.locator("#log li.bot .bubble", has_text=text)


@pytest.fixture(scope="module")
def impatient_gateway(stack: Stack) -> Iterator[str]:
    """A second gateway replica on the same stack whose handoffs time out after six seconds."""
    port = free_port()
    env = {**stack.env(), "CHAT_PORT": str(port), "HANDOFF_TIMEOUT_MIN": str(TIMEOUT_MIN)}
    log = open(stack.logs / "chat-impatient.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        stack._wait_http(f"http://127.0.0.1:{port}/health", 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop([proc])
        log.close()


def test_a_person_answers_in_the_web_chat(browser, stack: Stack) -> None:  # noqa: F811
    Accounts(Path(stack.env()["STAFF_DB_PATH"]), 5, 15).create(STAFF, ANNOTATOR_PASSWORD, Role.ANNOTATOR, NOW)
    fee = {p.id: p.fee for p in load_catalog()}["ban_le_xang_dau"]

    # The citizen asks for a person, then writes to them.
    citizen = _page(browser, stack)
    citizen.goto("/")
    _say(citizen, "cho tôi gặp cán bộ")
    _bot_text(citizen, "chuyển cuộc trò chuyện cho cán bộ").wait_for()
    question = "tôi hỏi về giấy phép bán lẻ rượu, số tôi là 0905 123 456"
    _say(citizen, question)
    _bot_text(citizen, "đã được chuyển cho cán bộ").wait_for()
    _shot(citizen, "20-citizen-waits-for-staff", doc="handoff-20-citizen-waits")

    # A staff member finds it in the queue (number masked) and claims it.
    staff = _page(browser, stack)
    _sign_in(staff, STAFF, ANNOTATOR_PASSWORD)
    staff.goto("/staff/handoffs")
    row = staff.locator("tr", has_text="số tôi là <SĐT>")
    row.wait_for()
    assert staff.locator("text=0905 123 456").count() == 0
    _shot(staff, "21-handoff-queue", doc="handoff-21-queue")
    row.get_by_role("button", name="Nhận").click()
    staff.wait_for_url("**/staff/handoffs/view?ref=*")
    transcript = staff.locator("#transcript")
    transcript.get_by_text("cho tôi gặp cán bộ").wait_for()  # Rasa's tracker
    transcript.get_by_text("số tôi là <SĐT>").wait_for()  # the handoff log, masked for an annotator
    assert "0905 123 456" not in transcript.inner_text()
    _bot_text(citizen, citizen_text("handoff.claimed")).wait_for()  # pushed to the open page

    # A canned reply fills the box; the staff member sends their own words; the page shows them.
    staff.locator("#canned").select_option(index=1)
    assert staff.locator("textarea[name=text]").input_value() == handoff.DEFAULT_CANNED[0]
    answer = "Chào anh/chị, hồ sơ xin giấy phép bán lẻ rượu cần bản sao giấy chứng nhận đăng ký kinh doanh."
    staff.fill("textarea[name=text]", answer)
    staff.get_by_role("button", name="Gửi", exact=True).click()
    staff.wait_for_url("**/staff/handoffs/view?ref=*")
    staff_reply = citizen.locator("#log li.staff .bubble", has_text=answer)
    staff_reply.wait_for()  # no reload
    assert citizen.locator("#log li.staff .from").first.inner_text() == "Cán bộ Sở Công Thương"
    _shot(staff, "22-handoff-conversation", doc="handoff-22-conversation")
    _shot(citizen, "23-citizen-reads-the-staff-reply", doc="handoff-23-citizen-reply")

    # The citizen answers; the transcript follows without a reload.
    _say(citizen, "cảm ơn cán bộ, tôi sẽ bổ sung")
    transcript.get_by_text("cảm ơn cán bộ, tôi sẽ bổ sung").wait_for()

    # End and give back: the citizen is told, rates the staff member, and the bot answers again.
    staff.get_by_role("button", name="Kết thúc và trả lại cho trợ lý ảo").click()
    staff.wait_for_url("**/staff/handoffs")
    _bot_text(citizen, citizen_text("handoff.ended")).wait_for()
    _bot_text(citizen, citizen_text("handoff.csat.question")).wait_for()
    citizen.locator("#log li .buttons button", has_text="Hài lòng").first.click()
    _bot_text(citizen, citizen_text("handoff.csat.thanks")).wait_for()
    _say(citizen, FEE_QUESTION)
    _bot_text(citizen, fee).wait_for()
    assert _bot_text(citizen, "chưa hiểu").count() == 0
    _shot(citizen, "24-citizen-back-with-the-assistant", doc="handoff-24-back-with-the-assistant")
    staff.goto("/staff/handoffs")
    assert "Hài lòng: 1" in staff.locator("body").inner_text()

    # The conversations screen finds it (handed off, masked text without diacritics) with its intents.
    staff.goto("/staff/conversations?handed_off=1&q=giay+phep+ban+le+ruou")
    found = staff.locator("tr[data-channel='web']")
    assert found.count() == 1 and "gap_can_bo" in found.inner_text() and "gặp cán bộ" in found.inner_text()
    assert "0905" not in staff.locator("body").inner_text()
    _shot(staff, "27-conversations", doc="conversations-27-list")
    found.get_by_role("link", name="Xem").click()
    staff.get_by_text("hoi_le_phi (").first.wait_for()  # the fee question after the give-back, with its intent
    _shot(staff, "28-conversation-transcript", doc="conversations-28-transcript")

    # A reload does not repeat what the page showed; a ticket answered while the page is closed is
    # shown when it opens again.
    citizen.reload()
    citizen.locator("#log li.bot").first.wait_for()
    _say(citizen, "Tôi muốn phản ánh cửa hàng tạp hóa gần chợ Cồn bán rượu không rõ nguồn gốc")
    number = re.search(r"PA\d{6}-\d+", _bot_text(citizen, "số phiếu PA").inner_text())[0]
    citizen.wait_for_timeout(500)
    assert citizen.locator("#log li.staff .bubble", has_text=answer).count() == 0
    url = citizen.url
    citizen.close()
    staff.goto("/staff/")
    ticket = staff.locator("tr", has_text=number)
    ticket.locator("textarea[name=answer]").fill("Đoàn kiểm tra đã xử lý cửa hàng anh/chị phản ánh.")
    ticket.get_by_role("button", name="Gửi trả lời").click()
    staff.wait_for_url("**/staff/?done=answered")
    staff.get_by_text("Đã gửi trả lời.").wait_for()
    reopened = citizen.context.new_page()
    reopened.goto(url)
    # The gateway polls the dossier system's events every 30 s: the answer arrives within that.
    reopened.locator("#log li.bot .bubble", has_text="Đoàn kiểm tra đã xử lý").wait_for(timeout=60_000)
    assert number in reopened.locator("#log li.bot .bubble", has_text="Đoàn kiểm tra").inner_text()
    _shot(reopened, "25-ticket-answer-pushed", doc="handoff-25-ticket-answer-pushed")


def test_nobody_answers_the_citizen_is_told_in_time_and_the_bot_answers_again(
        browser, stack: Stack, impatient_gateway: str) -> None:  # noqa: F811
    context = browser.new_context(base_url=impatient_gateway, viewport={"width": 1280, "height": 900}, locale="vi-VN")
    citizen = context.new_page()
    citizen.set_default_timeout(30_000)
    citizen.goto("/")
    _say(citizen, "cho tôi gặp cán bộ")
    _bot_text(citizen, "chuyển cuộc trò chuyện cho cán bộ").wait_for()
    _say(citizen, "alo, có ai không?")
    _bot_text(citizen, "đã được chuyển cho cán bộ").wait_for()
    told = _bot_text(citizen, "chưa có cán bộ trả lời được")
    told.wait_for(timeout=20_000)  # six seconds, checked every two
    assert "1022" in told.inner_text()
    assert citizen.locator("#log li .buttons button", has_text="Gửi phản ánh").count() == 1
    _shot(citizen, "26-handoff-timed-out", doc="handoff-26-timed-out")
    _say(citizen, FEE_QUESTION)
    _bot_text(citizen, {p.id: p.fee for p in load_catalog()}["ban_le_xang_dau"]).wait_for()
    assert requests.get(f"{impatient_gateway}/health", timeout=10).status_code == 200
    context.close()
