"""The web chat gateway against a local stand-in speaking Rasa's REST channel format,
with a real Redis and, for the lookup limits, the real reference dossier API in-process."""

from __future__ import annotations

import json
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from bot.web import MAX_TEXT, SESSION_REFUSED, create_app
from bot.web_guard import Refusal, refusal_text
from common import signing
from common.privacy import pseudonym
from common.settings import Settings
from dossier_api.client import DossierClient
from dossier_api.server import create_app as create_api
from tests.fakes.rasa_rest import CHANNEL_TOKEN, rasa_rest_app
from tests.rawhttp import raw_status

HOTLINE = Settings(_env_file=None).hotline


@pytest.fixture
async def rasa_stub() -> AsyncIterator[tuple[TestServer, list[dict]]]:
    received: list[dict] = []
    server = TestServer(rasa_rest_app(received))
    await server.start_server()
    yield server, received
    await server.close()


@pytest.fixture
async def dossier_api(seeded_db: Path) -> AsyncIterator[str]:
    """The reference dossier API on the seeded database."""
    server = TestServer(create_api(str(seeded_db)))
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def chat_gateway(rasa_stub, redis_url):
    clients: list[TestClient] = []

    async def start(**settings: Any) -> TestClient:
        base = {"rasa_url": str(rasa_stub[0].make_url("")), "rasa_timeout_s": 2, "redis_url": redis_url,
                "dossier_api_url": "http://127.0.0.1:9", "web_session_secret": "test-session-key",
                "chat_trusted_proxies": "127.0.0.1", "rasa_channel_token": CHANNEL_TOKEN}
        client = TestClient(TestServer(create_app(Settings(_env_file=None, **{**base, **settings}))))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


def _address() -> str:
    """A client address of its own per test (the limits are per address, in a shared Redis)."""
    return f"198.51.{random.randint(0, 255)}.{random.randint(1, 254)}"


async def _session(client: TestClient, address: str) -> str:
    resp = await client.post("/api/session", headers={"X-Forwarded-For": address})
    assert resp.status == 200
    return (await resp.json())["session"]


async def test_message_goes_to_rasa_with_the_issued_session_id(rasa_stub, chat_gateway) -> None:
    _, received = rasa_stub
    client = await chat_gateway()
    address = _address()
    token = await _session(client, address)
    session_id = token.split(".")[0]
    nfd = "ho\u0302\u0300 so\u031b"  # "hồ sơ" typed in NFD
    resp = await client.post("/api/chat", json={"session": token, "text": nfd}, headers={"X-Forwarded-For": address})
    assert resp.status == 200
    body = await resp.json()
    assert received[0]["sender"] == f"web:{session_id}"
    assert received[0]["message"] == "hồ sơ"
    assert body["messages"][0]["text"] == "echo: hồ sơ"
    assert body["messages"][1]["buttons"] == [{"title": "Hài lòng", "payload": "/danh_gia"}]
    # The same token again (a reload keeps it): the same conversation.
    await client.post("/api/chat", json={"session": token, "text": "nữa"}, headers={"X-Forwarded-For": address})
    assert received[1]["sender"] == f"web:{session_id}"
    assert (await client.get("/health")).status == 200
    page = await client.get("/")
    assert "Trợ lý ảo Sở Công Thương" in await page.text()


async def test_sessions_the_gateway_did_not_issue_are_refused(rasa_stub, chat_gateway) -> None:
    _, received = rasa_stub
    client = await chat_gateway()
    issued = await _session(client, _address())
    victim = issued.split(".")[0]
    elsewhere = signing.sign_id("another-gateways-key", victim)
    for forged in [victim, "abcdef123456", elsewhere, issued[:-1] + ("A" if issued[-1] != "A" else "B"),
                   f"{victim}.", ".", "", 12345, None, "ảnh.ảnh"]:
        resp = await client.post("/api/chat", json={"session": forged, "text": "xin chào"})
        assert resp.status == 401, forged
        body = await resp.json()
        assert body["code"] == SESSION_REFUSED and "Phiên trò chuyện" in body["error"]
    assert received == []
    # Another gateway replica with the same key accepts the session (signed, not stored).
    replica = await chat_gateway()
    ok = await replica.post("/api/chat", json={"session": issued, "text": "xin chào"},
                            headers={"X-Forwarded-For": _address()})
    assert ok.status == 200
    assert received[0]["sender"] == f"web:{victim}"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"session": "%s", "text": "   "}', "nhập nội dung"),
        (b'{"session": "%s", "text": "' + b"a" * (MAX_TEXT + 1) + b'"}', "quá dài"),
        (b'["not", "an", "object"]', "không hợp lệ"),
        (b'{"session": "%s", "text": "\\ud800 lone surrogate"}', "không hợp lệ"),
        (b'{"session": "%s", "text": "ok", "\\udfff": 1}', "không hợp lệ"),
        (b'{"session": "%s", "text": "ok", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "không hợp lệ"),
        (b'{"session": "%s", "text": "ok", "x": ' + b"[" * 40 + b"]" * 40 + b"}", "không hợp lệ"),
        (b'{"session": "%s", "text": "\xff\xfe"}', "không hợp lệ"),
        (b'{"session": "%s", "text": ["xin", "chao"]}', "không hợp lệ"),
        (b'{"session": "%s", "text": "ok", "location": {"latitude": 1' + b"0" * 400 + b', "longitude": 1}}',
         "Vị trí"),
        (b"null", "không hợp lệ"),
    ],
)
async def test_bad_input_gets_a_vietnamese_400(rasa_stub, chat_gateway, raw: bytes, message: str) -> None:
    _, received = rasa_stub
    client = await chat_gateway()
    address = _address()
    token = await _session(client, address)
    body = raw.replace(b"%s", token.encode()) if b"%s" in raw else raw
    resp = await client.post("/api/chat", data=body, headers={"X-Forwarded-For": address,
                                                              "Content-Type": "application/json"})
    assert resp.status == 400
    assert message in (await resp.json())["error"]
    assert received == []


async def test_a_header_that_is_not_utf8_gets_a_400(rasa_stub, chat_gateway) -> None:
    client = await chat_gateway()
    token = await _session(client, _address())
    body = b'{"session": "' + token.encode() + b'", "text": "xin chao"}'
    for path in ("/api/chat", "/webhooks/dossier-events", "/api/session", "/staff/login"):
        status = await raw_status(client.host, client.port, "POST", path,
                                  b"X-Signature: \xff\xfe\xc3(\r\nContent-Type: application/json\r\n", body)
        assert status == 400, path
    assert rasa_stub[1] == []


async def test_rasa_down_gets_a_503_with_an_apology(chat_gateway) -> None:
    client = await chat_gateway(rasa_url="http://127.0.0.1:9")
    address = _address()
    token = await _session(client, address)
    resp = await client.post("/api/chat", json={"session": token, "text": "xin chào"},
                             headers={"X-Forwarded-For": address})
    assert resp.status == 503
    assert "tạm gián đoạn" in (await resp.json())["error"]
    assert (await client.get("/health")).status == 503


# -- enumeration through the chat (issue 15, M6) -----------------------------------------


async def _codes(api_url: str, count: int) -> tuple[list[str], list[str]]:
    """Codes an attacker would try: real ones (small daily serials) and guesses that miss."""
    async with DossierClient(api_url) as api:
        real = [d.code for d in (await api.list_dossiers(limit=count)).items]
    agency, day, _ = real[0].rsplit("-", 2)
    unknown = [f"{agency}-{day[:4]}{int(day[4:]) % 28 + 1:02d}-{9000 + i:04d}" for i in range(count)]
    return real, unknown


async def _forget(redis_url: str, *addresses: str) -> None:
    """Drop a test address's counters, so nothing else sharing this Redis is limited by them."""
    redis = aioredis.from_url(redis_url)
    for address in addresses:
        keys = await redis.keys(f"web:*:addr*{pseudonym(address)}")
        if keys:
            await redis.delete(*keys)
    await redis.close()


async def test_enumeration_with_rotating_sessions_is_refused_after_the_limits(
        rasa_stub, chat_gateway, dossier_api, redis_url) -> None:
    """The attack of the finding: 200 lookups from one address, a new session for each."""
    _, received = rasa_stub
    client = await chat_gateway(dossier_api_url=dossier_api)
    real, unknown = await _codes(dossier_api, 150)
    attempts = [code for pair in zip(real, unknown[:50] + [None] * 100, strict=True) for code in pair if code][:200]
    address = _address()
    statuses: list[int] = []
    try:
        for code in attempts:
            session = await client.post("/api/session", headers={"X-Forwarded-For": address})
            if session.status != 200:
                statuses.append(session.status)
                continue
            token = (await session.json())["session"]
            resp = await client.post("/api/chat", json={"session": token, "text": f"tra cứu hồ sơ {code}"},
                                     headers={"X-Forwarded-For": address})
            statuses.append(resp.status)
            if resp.status == 429:
                assert (await resp.json())["error"] in {refusal_text(r, HOTLINE) for r in Refusal}
        answered = statuses.count(200)
        settings = Settings(_env_file=None)
        assert len(statuses) == 200 and set(statuses) <= {200, 429}
        # Two requests per lookup (a session, a message) count against the address's minute.
        assert answered <= settings.chat_rate_limit_per_address_per_min // 2
        assert statuses.count(429) >= 200 - answered and len(received) == answered
        assert statuses[-50:] == [429] * 50  # refused after the limits, not only now and then
        # Another client address is not affected.
        other = _address()
        token = await _session(client, other)
        ok = await client.post("/api/chat", json={"session": token, "text": f"tra cứu hồ sơ {real[0]}"},
                               headers={"X-Forwarded-For": other})
        assert ok.status == 200
    finally:
        await _forget(redis_url, address)


async def test_lookup_and_unknown_code_limits_per_address_and_per_session(
        rasa_stub, chat_gateway, dossier_api, redis_url) -> None:
    """With the message limit out of the way, the lookup limits themselves hold."""
    _, received = rasa_stub
    settings = Settings(_env_file=None)
    client = await chat_gateway(dossier_api_url=dossier_api, chat_rate_limit_per_address_per_min=10_000)
    real, unknown = await _codes(dossier_api, 100)
    one_session, rotating, mixed = _address(), _address(), _address()
    try:
        # One session: unknown codes are limited as SMS limits them per number (5 an hour).
        token = await _session(client, one_session)
        outcomes = []
        for code in unknown[:8]:
            resp = await client.post("/api/chat", json={"session": token, "text": code},
                                     headers={"X-Forwarded-For": one_session})
            outcomes.append(resp.status)
        limit = settings.chat_unknown_code_limit_per_hour
        assert outcomes == [200] * limit + [429] * (8 - limit)
        refused = await client.post("/api/chat", json={"session": token, "text": real[0]},
                                    headers={"X-Forwarded-For": one_session})
        assert refused.status == 429 and (await refused.json())["error"] == refusal_text(Refusal.UNKNOWN_CODES, HOTLINE)
        chat = await client.post("/api/chat", json={"session": token, "text": "xin chào"},
                                 headers={"X-Forwarded-For": one_session})
        assert chat.status == 200  # messages without a code still go through

        # Rotating sessions from one address: unknown codes are limited per address.
        outcomes = []
        for code in unknown[10:40]:
            token = await _session(client, rotating)
            resp = await client.post("/api/chat", json={"session": token, "text": code},
                                     headers={"X-Forwarded-For": rotating})
            outcomes.append(resp.status)
        limit = settings.chat_unknown_code_limit_per_address_per_hour
        assert outcomes == [200] * limit + [429] * (30 - limit)

        # Real codes only, rotating sessions: lookups are limited per address.
        outcomes = []
        for code in real[:80]:
            token = await _session(client, mixed)
            resp = await client.post("/api/chat", json={"session": token, "text": f"hồ sơ {code} sao rồi"},
                                     headers={"X-Forwarded-For": mixed})
            outcomes.append(resp.status)
        limit = settings.chat_lookup_limit_per_address_per_hour
        assert outcomes == [200] * limit + [429] * (80 - limit)
        assert len(received) == 5 + 1 + 20 + limit
    finally:
        await _forget(redis_url, one_session, rotating, mixed)


async def test_addresses_behind_an_untrusted_peer_are_not_believed(rasa_stub, chat_gateway, redis_url) -> None:
    """X-Forwarded-For counts only from a trusted proxy: a client cannot pick a new address per request."""
    client = await chat_gateway(chat_trusted_proxies="", chat_rate_limit_per_address_per_min=3)
    statuses = []
    try:
        for i in range(5):
            resp = await client.post("/api/session", headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
            statuses.append(resp.status)
        assert statuses == [200, 200, 200, 429, 429]
        assert (await resp.json())["error"] == refusal_text(Refusal.TOO_FAST, HOTLINE)
    finally:
        await _forget(redis_url, "127.0.0.1")


async def test_dossier_events_with_an_old_signature_are_refused(chat_gateway) -> None:
    """A captured event replayed later (after the de-duplication window) is not taken."""
    client = await chat_gateway(dossier_events_secret="events-secret", notify_quiet_hours="")
    event = {"id": random.randint(10**9, 10**10), "code": "000.00.12.H17-261126-0042", "old_status": "dang_xu_ly",
             "new_status": "da_co_ket_qua", "current_step": "Đã ký", "at": "2026-11-26T09:00:00"}
    body = json.dumps(event).encode()
    stale = signing.signed_headers("events-secret", body, now=time.time() - signing.MAX_AGE_S - 60)
    assert (await client.post("/webhooks/dossier-events", data=body, headers=stale)).status == 401
    future = signing.signed_headers("events-secret", body, now=time.time() + signing.MAX_AGE_S + 60)
    assert (await client.post("/webhooks/dossier-events", data=body, headers=future)).status == 401
    moved = {**signing.signed_headers("events-secret", body), signing.TIMESTAMP_HEADER: str(int(time.time()) - 1)}
    assert (await client.post("/webhooks/dossier-events", data=body, headers=moved)).status == 401
    fresh = signing.signed_headers("events-secret", body)
    accepted = await client.post("/webhooks/dossier-events", data=body, headers=fresh)
    assert accepted.status == 200 and (await accepted.json()) == {"new": True}
    for bad in (b"[" * 5000 + b"]" * 5000, b"[[null, null]]", b'{"id": "x"}'):  # rightly signed, no event
        assert (await client.post("/webhooks/dossier-events", data=bad,
                                  headers=signing.signed_headers("events-secret", bad))).status == 400


async def test_a_message_id_becomes_the_idempotency_key_of_the_message(rasa_stub, chat_gateway) -> None:
    _, received = rasa_stub
    client = await chat_gateway()
    address = _address()
    token = await _session(client, address)
    session_id = token.split(".")[0]
    for _ in range(2):  # the page sends a message again, with its id, after a dropped connection
        message = {"session": token, "text": "gửi phản ánh", "message_id": "m1a2b3c4d5"}
        resp = await client.post("/api/chat", json=message, headers={"X-Forwarded-For": address})
        assert resp.status == 200
    keys = [r["metadata"]["idempotency_key"] for r in received]
    assert keys == [f"web:{session_id}:m1a2b3c4d5"] * 2
    await client.post("/api/chat", json={"session": token, "text": "không id"}, headers={"X-Forwarded-For": address})
    assert "idempotency_key" not in (received[-1].get("metadata") or {})
    for bad in ("ngắn", "x" * 65, 42, "a b c d e f g h", ["m1a2b3c4d5"]):
        refused = await client.post("/api/chat", json={"session": token, "text": "ok", "message_id": bad},
                                    headers={"X-Forwarded-For": address})
        assert refused.status == 400, bad
    assert len(received) == 3
