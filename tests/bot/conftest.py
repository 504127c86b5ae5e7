"""Fixtures of the channel tests: local fakes of the Telegram and Zalo APIs and
the chat gateway in-process, in front of the real stack."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
import requests
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.staff.accounts import Accounts, Role
from bot.web import create_app
from bot.zalo import ACCESS_KEY, REFRESH_KEY
from common.settings import Settings
from scripts.localstack import free_port
from tests.conftest import Stack
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET, FakeZalo

TELEGRAM_TOKEN = "123456:TEST-token-for-the-fake-api"


async def empty_database(redis_url: str, index: int) -> str:
    """The URL of Redis database ``index``, emptied: a test's own, so the stack's gateway
    (database 0) does not take its events."""
    url = redis_url.rsplit("/", 1)[0] + f"/{index}"
    client = aioredis.from_url(url)
    await client.flushdb()
    await client.close()
    return url


async def _serve(app) -> tuple[TestServer, str]:
    server = TestServer(app)
    await server.start_server()
    return server, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def fake_telegram() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram(TELEGRAM_TOKEN)
    server, url = await _serve(fake.app())
    yield fake, url
    await server.close()


@pytest.fixture
async def fake_zalo(redis_url: str) -> AsyncIterator[tuple[FakeZalo, str]]:
    """A fresh fake Zalo; the tokens an earlier test's fake issued are forgotten."""
    redis = aioredis.from_url(redis_url)
    await redis.delete(ACCESS_KEY, REFRESH_KEY)
    await redis.close()
    fake = FakeZalo()
    server, url = await _serve(fake.app())
    yield fake, url
    await server.close()


@pytest.fixture
async def gateway() -> AsyncIterator[Callable[..., Any]]:
    """``await gateway(**settings)`` -> a started gateway client (closed after the test)."""
    clients: list[TestClient] = []

    async def start(**settings: Any) -> TestClient:
        client = TestClient(TestServer(create_app(Settings(_env_file=None, **settings))))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


def zalo_settings(stack: Stack, redis_url: str, api_url: str, **extra: Any) -> dict[str, Any]:
    return {"rasa_url": stack.rasa_url, "redis_url": redis_url, "dossier_api_url": stack.api_url, "zalo_app_id": APP_ID,
            "zalo_oa_secret_key": OA_SECRET, "zalo_app_secret_key": APP_SECRET, "zalo_access_token": "access-1",
            "zalo_refresh_token": "refresh-1", "zalo_api_url": api_url, "zalo_oauth_url": api_url, **extra}


# -- the staff console -----------------------------------------------------------

ADMIN_PASSWORD = "Quan-tri-2026"
ANNOTATOR_PASSWORD = "Gan-nhan-2026"
NOW = dt.datetime(2026, 11, 26, 9, 0)


@pytest.fixture
def accounts(tmp_path) -> Accounts:
    accounts = Accounts(tmp_path / "staff.sqlite3", max_failures=3, lock_minutes=15)
    accounts.create("admin.so", ADMIN_PASSWORD, Role.ADMIN, NOW)
    accounts.create("lan.nguyen", ANNOTATOR_PASSWORD, Role.ANNOTATOR, NOW)
    return accounts


@pytest.fixture
async def console(accounts, redis_url, gateway):
    return await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, dossier_api_url="http://127.0.0.1:9",
                         staff_db_path=accounts.path, staff_max_failures=3)


@pytest.fixture
async def inbox_console(accounts, redis_url, gateway, tmp_path):
    """A console that writes confirmed examples to a fresh directory; the inbox emptied."""
    from common import inbox

    nlu_dir = tmp_path / "nlu"
    nlu_dir.mkdir()
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, dossier_api_url="http://127.0.0.1:9",
                           staff_db_path=accounts.path, nlu_data_dir=str(nlu_dir))
    redis = aioredis.from_url(redis_url)
    await redis.delete(inbox.STREAM)
    await redis.close()
    return client, nlu_dir


async def sign_in(client: TestClient, username: str, password: str):
    page = await (await client.get("/staff/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    return await client.post("/staff/login", data={"username": username, "password": password, "csrf_token": token},
                             allow_redirects=False)


async def csrf(client: TestClient) -> str:
    page = await (await client.get("/staff/")).text()
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


class ThreadedGateway:
    """The gateway served by its own event loop in a thread, for synchronous clients (``requests``,
    hypothesis): a real HTTP server on a free port."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.url = f"http://127.0.0.1:{free_port()}"
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(self.app)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> ThreadedGateway:
        self._thread.start()

        async def serve() -> None:
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", int(self.url.rsplit(":", 1)[1])).start()

        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(30)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def signed_in_session(url: str, username: str, password: str):
    """A ``requests`` session signed in to the console at ``url``, and its CSRF token."""
    http = requests.Session()
    login = http.get(f"{url}/staff/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)[1]
    signed = http.post(f"{url}/staff/login", data={"username": username, "password": password, "csrf_token": token},
                       allow_redirects=False, timeout=10)
    assert signed.status_code == 302, signed.status_code
    page = http.get(f"{url}/staff/", timeout=10).text
    return http, re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
