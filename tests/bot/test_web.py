"""The web chat gateway against a local stand-in speaking Rasa's REST channel format."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.rasa_client import CHANNEL_PATH
from bot.web import MAX_TEXT, create_app
from common.settings import Settings

CHANNEL_TOKEN = "gateway-channel-token"


@pytest.fixture
async def rasa_stub() -> AsyncIterator[tuple[TestServer, list[dict]]]:
    received: list[dict] = []

    async def webhook(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {CHANNEL_TOKEN}":  # as rasa_server/channel.py
            return web.json_response({"error": "unauthorized"}, status=401)
        body = await request.json()
        received.append(body)
        return web.json_response([
            {"recipient_id": body["sender"], "text": f"echo: {body['message']}"},
            {
                "recipient_id": body["sender"],
                "text": "Chọn:",
                "buttons": [{"title": "Hài lòng", "payload": "/danh_gia"}],
            },
        ])

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"model_file": "x.tar.gz"})

    app = web.Application()
    app.router.add_post(CHANNEL_PATH, webhook)
    app.router.add_get("/status", status)
    server = TestServer(app)
    await server.start_server()
    yield server, received
    await server.close()


async def _chat(rasa_url: str) -> TestClient:
    settings = Settings(rasa_url=rasa_url, rasa_timeout_s=2, rasa_channel_token=CHANNEL_TOKEN)
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


async def test_message_goes_to_rasa_with_a_web_sender_id(rasa_stub) -> None:
    server, received = rasa_stub
    client = await _chat(str(server.make_url("")))
    try:
        nfd = "ho\u0302\u0300 so\u031b"  # "hồ sơ" typed in NFD
        resp = await client.post("/api/chat", json={"session": "abcdef123456", "text": nfd})
        assert resp.status == 200
        body = await resp.json()
        assert received[0]["sender"] == "web:abcdef123456"
        assert received[0]["message"] == "hồ sơ"
        assert body["messages"][0]["text"] == "echo: hồ sơ"
        assert body["messages"][1]["buttons"] == [{"title": "Hài lòng", "payload": "/danh_gia"}]
        assert (await client.get("/health")).status == 200
        page = await client.get("/")
        assert "Trợ lý ảo Sở Công Thương" in await page.text()
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"session": "abcdef123456", "text": "   "}, "nhập nội dung"),
        ({"session": "abcdef123456", "text": "a" * (MAX_TEXT + 1)}, "quá dài"),
        ({"session": "bad id!", "text": "xin chào"}, "Phiên trò chuyện"),
        (["not", "an", "object"], "không hợp lệ"),
    ],
)
async def test_bad_input_gets_a_vietnamese_400(rasa_stub, body, message) -> None:
    server, received = rasa_stub
    client = await _chat(str(server.make_url("")))
    try:
        resp = await client.post("/api/chat", json=body)
        assert resp.status == 400
        assert message in (await resp.json())["error"]
        assert received == []
    finally:
        await client.close()


async def test_rasa_down_gets_a_503_with_an_apology() -> None:
    client = await _chat("http://127.0.0.1:9")
    try:
        resp = await client.post("/api/chat", json={"session": "abcdef123456", "text": "xin chào"})
        assert resp.status == 503
        assert "tạm gián đoạn" in (await resp.json())["error"]
        assert (await client.get("/health")).status == 503
    finally:
        await client.close()
