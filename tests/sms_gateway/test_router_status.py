"""The SMS keyword path tells a late dossier late (the same rule as chat): real Redis, real API, frozen clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

import sms_gateway.router
from clients.rasa import RasaClient
from common.settings import Settings
from common.text import fold
from dossier_api.client import DossierClient
from dossier_api.db import Database
from dossier_api.server import create_app
from sms_gateway.config import SmsSettings
from sms_gateway.router import Router

TODAY = dt.date(2026, 12, 1)


async def test_hs_keyword_tells_an_overdue_dossier_late(
        seeded_db: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sms_gateway.router, "local_now", lambda: dt.datetime.combine(TODAY, dt.time(10)))
    items, _ = Database(seeded_db).dossiers("dang_xu_ly", 500, 0)
    late = next(d for d in items if d.due_date < TODAY)
    on_time = next(d for d in items if d.due_date >= TODAY)
    server = TestServer(create_app(str(seeded_db)))
    await server.start_server()
    redis = aioredis.from_url(redis_url)
    dossiers = DossierClient(str(server.make_url("")))
    rasa = RasaClient("http://127.0.0.1:9")  # never called on the keyword path
    settings = Settings(hotline="1022")
    try:
        router = Router(redis, dossiers, rasa, settings, SmsSettings(rate_limit_per_min=100))
        reply = await router.reply("84905550101", f"HS {late.code.replace('-', ' ')}")
        assert reply is not None
        assert f"TRỄ HẠN {(TODAY - late.due_date).days} NGÀY" in reply
        assert "xin lỗi" in reply and "1022" in reply
        reply = await router.reply("84905550101", f"hs {late.code.replace('.', '')}")
        assert reply is not None and late.code in reply
        fresh = await router.reply("84905550101", f"HS {on_time.code}")
        assert fresh is not None and on_time.code in fresh
        assert "TRE HAN" not in fold(fresh).upper() and "xin lỗi" not in fresh
    finally:
        await dossiers.close()
        await redis.close()
        await server.close()


async def test_two_codes_in_one_status_sms_are_both_answered(seeded_db: Path, redis_url: str) -> None:
    first, _ = Database(seeded_db).dossiers("da_tra_ket_qua", 1, 0)
    second, _ = Database(seeded_db).dossiers("tu_choi", 1, 0)
    server = TestServer(create_app(str(seeded_db)))
    await server.start_server()
    redis = aioredis.from_url(redis_url)
    dossiers = DossierClient(str(server.make_url("")))
    try:
        router = Router(redis, dossiers, RasaClient("http://127.0.0.1:9"), Settings(), SmsSettings())
        reply = await router.reply("84905550102", f"HS {first[0].code} {second[0].code.replace('-', ' ')}")
        assert reply is not None
        one, two = reply.split("\n")
        assert first[0].code in one and "ĐÃ TRẢ KẾT QUẢ" in one
        assert second[0].code in two and "TỪ CHỐI" in two
        # Three late ones still fit the SMS, each with its status, and the apology once.
        late = [d for d in Database(seeded_db).dossiers("dang_xu_ly", 500, 0)[0] if d.due_date < dt.date(2026, 11, 25)]
        reply = await router.reply("84905550102", "HS " + " ".join(d.code for d in late[:3]))
        assert reply is not None and all(d.code in reply for d in late[:3]) and reply.count("xin lỗi") == 1
        assert SmsSettings().fits(reply)
    finally:
        await dossiers.close()
        await redis.close()
        await server.close()


async def test_free_text_carries_the_mo_as_idempotency_key(redis_url: str) -> None:
    """An SMS answered again after a worker crash asks Rasa with the same key: its effects happen once."""
    from tests.fakes.rasa_rest import CHANNEL_TOKEN, rasa_rest_app

    received: list[dict] = []
    rasa_server = TestServer(rasa_rest_app(received))
    await rasa_server.start_server()
    redis = aioredis.from_url(redis_url)
    try:
        rasa = RasaClient(str(rasa_server.make_url("")), channel_token=CHANNEL_TOKEN)
        dossiers = DossierClient("http://127.0.0.1:9")  # never called: free text goes to Rasa
        router = Router(redis, dossiers, rasa, Settings(), SmsSettings(rate_limit_per_min=100))
        for _ in range(2):
            assert await router.reply("84905550103", "toi muon gui phan anh", message_id="1733040000000-0") is not None
        await router.reply("84905550103", "cam on")
        assert [r["metadata"].get("idempotency_key") for r in received] == ["sms:1733040000000-0"] * 2 + [None]
    finally:
        await rasa.close()
        await redis.close()
        await rasa_server.close()


async def test_a_keyword_lookup_is_the_dossier_the_next_free_text_is_about(
        seeded_db: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """"HS <mã>" then "co gi moi thi nhan em": the assistant learns the dossier before the free text (once)."""
    from aiohttp import web

    from tests.fakes.rasa_rest import CHANNEL_TOKEN, rasa_rest_app

    monkeypatch.setattr(sms_gateway.router, "local_now", lambda: dt.datetime.combine(TODAY, dt.time(10)))
    items, _ = Database(seeded_db).dossiers("dang_xu_ly", 5, 0)
    received: list[dict] = []
    events: list[tuple[str, dict]] = []
    app = rasa_rest_app(received)

    async def tracker_events(request: web.Request) -> web.Response:
        if request.query.get("token") != "api-token":
            return web.json_response({"error": "unauthorized"}, status=401)
        events.append((request.match_info["sender"], await request.json()))
        return web.json_response({})

    app.router.add_post("/conversations/{sender}/tracker/events", tracker_events)
    rasa_server, api = TestServer(app), TestServer(create_app(str(seeded_db)))
    await rasa_server.start_server()
    await api.start_server()
    redis = aioredis.from_url(redis_url)
    rasa = RasaClient(str(rasa_server.make_url("")), token="api-token", channel_token=CHANNEL_TOKEN)
    dossiers = DossierClient(str(api.make_url("")))
    try:
        router = Router(redis, dossiers, rasa, Settings(), SmsSettings(rate_limit_per_min=100))
        assert items[0].code in await router.reply("84905550104", f"HS {items[0].code}")
        await router.reply("84905550104", "co gi moi thi nhan em")
        await router.reply("84905550104", "cam on")
        assert events == [("sms:84905550104", {"event": "slot", "name": "ho_so_gan_nhat", "value": items[0].code})]
        assert [r["message"] for r in received] == ["co gi moi thi nhan em", "cam on"]
    finally:
        await rasa.close()
        await dossiers.close()
        await redis.close()
        await rasa_server.close()
        await api.close()

