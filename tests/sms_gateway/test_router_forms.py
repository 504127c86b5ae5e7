"""A bare code answering the assistant's own question for a code goes to the assistant, not to
the HS keyword (blind-deliv-sms-01, blind-notif-sms-04, blind-lookup-sms-07): real Redis, real API,
a stand-in Rasa that asks for a code as the forms do (a custom message flagged ``awaits_code``)."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer

from clients.rasa import CHANNEL_PATH, RasaClient
from common.settings import Settings
from dossier_api.client import DossierClient
from dossier_api.db import Database
from dossier_api.server import create_app
from sms_gateway.config import SmsSettings
from sms_gateway.keywords import parse_sms
from sms_gateway.router import Router
from tests.fakes.rasa_rest import CHANNEL_TOKEN

ASK = "Anh/chị muốn nhận kết quả của hồ sơ nào qua bưu điện? Vui lòng nhập mã hồ sơ."


def asking_rasa(received: list[str]) -> web.Application:
    """Asks for a code (flagged) after "buu dien", asks a name after a code, else echoes."""

    async def webhook(request: web.Request) -> web.Response:
        assert request.headers.get("Authorization") == f"Bearer {CHANNEL_TOKEN}"
        body = await request.json()
        received.append(body["message"])
        if "buu dien" in body["message"]:
            return web.json_response([{"recipient_id": body["sender"], "custom": {"text": ASK, "awaits_code": True}}])
        if body["message"][:3].isdigit():
            return web.json_response([{"recipient_id": body["sender"], "text": "Họ tên người nhận kết quả là gì ạ?"}])
        return web.json_response([{"recipient_id": body["sender"], "text": f"echo: {body['message']}"}])

    app = web.Application()
    app.router.add_post(CHANNEL_PATH, webhook)
    return app


async def _router_parts(seeded_db: Path, redis_url: str, received: list[str]):  # type: ignore[no-untyped-def]
    rasa_server, api = TestServer(asking_rasa(received)), TestServer(create_app(str(seeded_db)))
    await rasa_server.start_server()
    await api.start_server()
    redis = aioredis.from_url(redis_url)
    rasa = RasaClient(str(rasa_server.make_url("")), channel_token=CHANNEL_TOKEN)
    dossiers = DossierClient(str(api.make_url("")))
    router = Router(redis, dossiers, rasa, Settings(), SmsSettings(rate_limit_per_min=100))
    return router, (rasa, dossiers, redis, rasa_server, api)


async def _close(parts: tuple) -> None:  # type: ignore[type-arg]
    rasa, dossiers, redis, rasa_server, api = parts
    await rasa.close()
    await dossiers.close()
    await redis.close()
    await rasa_server.close()
    await api.close()


async def test_a_bare_code_answers_the_assistants_question_for_a_code(seeded_db: Path, redis_url: str) -> None:
    items, _ = Database(seeded_db).dossiers("da_co_ket_qua", 2, 0)
    received: list[str] = []
    router, parts = await _router_parts(seeded_db, redis_url, received)
    try:
        assert await router.reply("84905550201", "nhan ket qua qua buu dien") == ASK
        reply = await router.reply("84905550201", items[0].code)
        assert reply == "Họ tên người nhận kết quả là gì ạ?"  # the form's next question, not a status
        assert received == ["nhan ket qua qua buu dien", items[0].code]
        # the question was answered: a bare code is a status lookup again
        status = await router.reply("84905550201", items[1].code)
        assert status is not None and items[1].code in status and "ĐÃ CÓ KẾT QUẢ" in status
        assert len(received) == 2
    finally:
        await _close(parts)


async def test_the_hs_keyword_stays_a_lookup_while_a_code_is_asked(seeded_db: Path, redis_url: str) -> None:
    items, _ = Database(seeded_db).dossiers("dang_xu_ly", 1, 0)
    received: list[str] = []
    router, parts = await _router_parts(seeded_db, redis_url, received)
    try:
        await router.reply("84905550202", "nhan ket qua qua buu dien")
        reply = await router.reply("84905550202", f"HS {items[0].code}")
        assert reply is not None and "ĐANG XỬ LÝ" in reply and len(received) == 1
    finally:
        await _close(parts)


async def test_a_batch_reads_whether_a_code_is_asked_with_the_rest(seeded_db: Path, redis_url: str) -> None:
    """The worker's path: read_ahead carries the flag in its one transaction."""
    items, _ = Database(seeded_db).dossiers("da_co_ket_qua", 1, 0)
    received: list[str] = []
    router, parts = await _router_parts(seeded_db, redis_url, received)
    try:
        await router.reply("84905550203", "nhan ket qua qua buu dien")
        messages = [("84905550203", items[0].code), ("84905550204", items[0].code)]
        asked, not_asked = await router.read_ahead(messages, [parse_sms(t) for _, t in messages])
        assert asked.awaits_code and not not_asked.awaits_code
        assert await router.reply("84905550203", items[0].code, asked) == "Họ tên người nhận kết quả là gì ạ?"
        status = await router.reply("84905550204", items[0].code, not_asked)
        assert status is not None and items[0].code in status
    finally:
        await _close(parts)
