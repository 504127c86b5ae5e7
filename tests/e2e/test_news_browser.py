"""Industry news in a real browser (Debian's chromium through Playwright) against the whole stack:
a citizen subscribes to xăng dầu in the web chat page, another on Telegram (fake API), a third by
SMS (``TIN XANGDAU`` through the SMSC simulator and the SMS gateway process); an annotator
publishes an announcement in the console's form; each of the three gets it exactly once (the web
one in the open page, through Server-Sent Events). Two notifier replicas share the fan-out: the
stack's gateway and a second one serving Telegram."""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from pathlib import Path

import pytest
from aiohttp import web

from bot.staff.accounts import AccountError, Accounts, Role
from bot.web import create_app
from common.settings import Settings
from common.text import fold
from scripts.localstack import free_port
from tests.bot.conftest import ANNOTATOR_PASSWORD, NOW, TELEGRAM_TOKEN
from tests.conftest import Stack
from tests.e2e.test_console_browser import _page, _shot, _sign_in, browser  # noqa: F401 (the browser fixture)
from tests.e2e.test_web_chat_browser import _say
from tests.fakes.telegram_api import FakeTelegram
from tests.sms_gateway.conftest import GatewayProcess, Smsc, wait_until

pytestmark = pytest.mark.e2e
EDITOR = "tin.bientap"
MSISDN = "84905558284"


class TelegramSide:
    """The fake Telegram API and a chat gateway polling it, served by their own event loop in a
    thread (the browser test is synchronous)."""

    def __init__(self, stack: Stack, workdir: Path) -> None:
        self.stack = stack
        self.workdir = workdir
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runners: list[web.AppRunner] = []
        self.fake: FakeTelegram | None = None

    async def _serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.runners.append(runner)
        return f"http://127.0.0.1:{port}"

    async def _start(self) -> None:
        self.fake = FakeTelegram(TELEGRAM_TOKEN)
        api = await self._serve(self.fake.app())
        await self._serve(create_app(Settings(
            _env_file=None, rasa_url=self.stack.rasa_url, redis_url=self.stack.redis_url,
            dossier_api_url=self.stack.api_url, telegram_token=TELEGRAM_TOKEN, telegram_api_url=api,
            staff_db_path=str(self.workdir / "staff.sqlite3"), notify_quiet_hours="")))

    def start(self) -> TelegramSide:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(60)
        return self

    def say(self, chat: int, text: str) -> None:
        assert self.fake is not None
        self.loop.call_soon_threadsafe(self.fake.push_text, chat, text)

    def told(self, chat: int) -> list[str]:
        assert self.fake is not None
        return [m["text"] for m in self.fake.sent_to(chat)]

    def stop(self) -> None:
        async def cleanup() -> None:
            for runner in reversed(self.runners):
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def telegram(stack: Stack, tmp_path: Path):
    side = TelegramSide(stack, tmp_path).start()
    yield side
    side.stop()


@pytest.fixture
def smsc(stack: Stack, tmp_path: Path):
    """The SMSC simulator and an SMS gateway process on the stack's Redis database."""
    server = Smsc(tmp_path)
    server.start()
    process = GatewayProcess({
        **os.environ, "REDIS_URL": stack.redis_url, "DOSSIER_API_URL": stack.api_url, "RASA_URL": stack.rasa_url,
        "HOTLINE": "1022", "SMS_SMSC_PORT": str(server.port), "SMS_SYSTEM_ID": "sct", "SMS_PASSWORD": "t3stpwd",
        "SMS_ENQUIRE_LINK_S": "2", "SMS_RECONNECT_MAX_S": "1", "SMS_CONSUMER": "gw-news-browser",
        "SMS_RATE_LIMIT_PER_MIN": "100"}, tmp_path)
    process.start()
    yield server
    process.stop()
    if server.proc is not None and server.proc.poll() is None:
        server.kill()


def test_an_announcement_published_in_the_console_reaches_web_telegram_and_sms_once(
        browser, stack: Stack, telegram: TelegramSide, smsc: Smsc) -> None:  # noqa: F811
    try:
        Accounts(Path(stack.env()["STAFF_DB_PATH"]), 5, 15).create(EDITOR, ANNOTATOR_PASSWORD, Role.EDITOR, NOW)
    except AccountError:
        pass  # a rerun on the same stack
    citizen = _page(browser, stack)
    citizen.goto("/")
    assert "Đã đăng ký nhận tin xăng dầu" in _say(citizen, "đăng ký nhận tin xăng dầu", 1)
    chat = random.randint(10**8, 10**9)
    telegram.say(chat, "cho em nhận tin về xăng dầu nha")
    [subscribed] = wait_until(lambda: telegram.told(chat), 60, "Telegram subscription")
    assert "Đã đăng ký nhận tin xăng dầu" in subscribed
    assert smsc.send_text(MSISDN, "TIN XANGDAU") == 0
    [by_sms] = smsc.wait_replies(1)[MSISDN]
    assert "Da dang ky nhan tin xang dau" in by_sms

    staff = _page(browser, stack)
    _sign_in(staff, EDITOR, ANNOTATOR_PASSWORD)
    staff.goto("/staff/news")
    title = f"Giá xăng E5 RON92 giảm 250 đồng (đợt {chat})"
    staff.fill("input[name=title]", title)
    staff.fill("textarea[name=summary]", "Áp dụng từ 15 giờ hôm nay tại mọi cửa hàng xăng dầu trên địa bàn thành phố.")
    staff.check("input[name=topics][value=xang_dau]")
    staff.get_by_role("button", name="Đăng và gửi").click()
    staff.wait_for_url("**/staff/news?done=1")
    staff.get_by_text("Đã đăng thông báo").wait_for()
    assert staff.locator("tr[data-news]", has_text=title).count() == 1
    _shot(staff, "20-news-published")

    citizen.locator("#log li.bot", has_text=title).wait_for(timeout=60_000)
    wait_until(lambda: telegram.told(chat)[1:], 60, "the announcement on Telegram")
    wait_until(lambda: smsc.replies()[MSISDN][1:], 60, "the announcement by SMS")
    time.sleep(3)  # a second copy, from either notifier replica, would be here now
    assert citizen.locator("#log li.bot", has_text=title).count() == 1
    _shot(citizen, "21-news-in-web-chat")
    [on_telegram] = telegram.told(chat)[1:]
    [on_sms] = smsc.replies()[MSISDN][1:]
    assert title in on_telegram and fold(title) in on_sms and "HUY TIN" in on_sms
    citizen.context.close()
    staff.context.close()
