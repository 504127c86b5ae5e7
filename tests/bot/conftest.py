"""Fixtures of the channel tests: local fakes of the Telegram and Zalo APIs and
the chat gateway in-process, in front of the real stack."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from bot.staff.accounts import Accounts, Role
from bot.web import create_app
from bot.zalo import ACCESS_KEY, REFRESH_KEY
from common.settings import Settings
from tests.conftest import Stack
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET, FakeZalo

TELEGRAM_TOKEN = "123456:TEST-token-for-the-fake-api"


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
