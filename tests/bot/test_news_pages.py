"""News in the console (in-process gateway with its notifier, a real Redis): an annotator publishes
an announcement with two topics; a wrong form is refused with the page and what was typed; the
page lists it with the subscribers per topic; its web subscriber gets it once."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import redis.asyncio as aioredis

from bot.push import stream_key
from bot.staff.accounts import Role
from common import news
from tests.bot.conftest import ANNOTATOR_PASSWORD, NOW, csrf, empty_database, sign_in

SESSION = "newsweb0001"


@pytest.fixture
async def redis_db(redis_url: str) -> str:
    return await empty_database(redis_url, 8)


@pytest.fixture
async def desk(accounts, redis_db, gateway):
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_db, dossier_api_url="http://127.0.0.1:9",
                           staff_db_path=accounts.path, notify_quiet_hours="")
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    assert (await client.get("/staff/news")).status == 403  # announcements are content: editors publish them
    accounts.create("mai.tran", ANNOTATOR_PASSWORD, Role.EDITOR, NOW)
    await client.post("/staff/logout", headers={"X-CSRF-Token": await csrf(client)})
    await sign_in(client, "mai.tran", ANNOTATOR_PASSWORD)
    redis = aioredis.from_url(redis_db)
    yield client, redis
    await redis.close()


async def _pushed(redis, session: str) -> list[str]:
    return [json.loads(f[b"message"])["text"] for _, f in await redis.xrange(stream_key(session))]


async def test_an_editor_publishes_and_the_web_subscriber_is_told_once(desk) -> None:
    client, redis = desk
    await news.subscribe(redis, f"web:{SESSION}", ["xang_dau", "dien"])
    await news.subscribe(redis, "web:other-topic", ["hoi_cho"])
    page = await (await client.get("/staff/news")).text()
    assert "Đăng thông báo mới" in page and "Chưa có thông báo nào." in page
    assert '<a href="/staff/news">Tin tức</a>' in await (await client.get("/staff/")).text()  # in the menu
    assert re.search(r"<td>xăng dầu</td><td>XANGDAU</td><td>1</td>", page)
    token = await csrf(client)

    no_topic = await client.post("/staff/api/news", allow_redirects=False,
                                 data={"csrf_token": token, "title": "Giá xăng giảm", "summary": "Giảm 300 đồng/lít."})
    assert no_topic.status == 400
    refused = await no_topic.text()
    assert "Anh/chị chọn ít nhất một chủ đề." in refused and 'value="Giá xăng giảm"' in refused
    forged = await client.post("/staff/api/news", allow_redirects=False,
                               data=[("title", "Giá xăng giảm"), ("summary", "Giảm 300 đồng/lít."),
                                     ("topics", "xang_dau")])
    assert forged.status == 403

    title = "Giá xăng RON95 giảm 300 đồng từ 15 giờ"
    published = await client.post("/staff/api/news", allow_redirects=False,
                                  data=[("csrf_token", token), ("title", title),
                                        ("summary", "Theo điều hành giá của liên Bộ Công Thương - Tài chính."),
                                        ("topics", "xang_dau"), ("topics", "dien")])
    assert published.status == 302 and published.headers["Location"] == "/staff/news?done=1"
    for _ in range(100):
        told = await _pushed(redis, SESSION)
        if told:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # time for a second copy, if the fan-out sent one
    told = await _pushed(redis, SESSION)
    assert len(told) == 1 and title in told[0] and "xăng dầu, điện" in told[0]
    assert await _pushed(redis, "other-topic") == []

    page = await (await client.get("/staff/news?done=1")).text()
    assert "Đã đăng thông báo" in page
    row = re.search(r'<tr data-news="\d+">(.*?)</tr>', page, re.S)
    assert row and title in row[1] and "mai.tran" in row[1] and row[1].endswith("<td>1</td>")
