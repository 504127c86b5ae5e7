"""Zalo OA webhook and OA API client against a local fake of the Zalo servers,
with the real stack behind (Rasa, actions, dossier API, Redis)."""

from __future__ import annotations

import asyncio
import json
import random
import time

import pytest
import redis.asyncio as aioredis

from bot.zalo import IN_STREAM, REFRESH_KEY, UNDELIVERED_STREAM
from common.sms_keys import MT_STREAM
from content.texts import text
from tests.bot.conftest import zalo_settings
from tests.conftest import seeded_dossier
from tests.fakes.zalo_api import event, location_event, signed, text_event
from tests.rawhttp import raw_status

pytestmark = pytest.mark.e2e


def _user() -> str:
    return str(random.randint(10**17, 10**18))


async def _post(client, body: dict, **kw):
    raw, headers = signed(body, **kw)
    return await client.post("/webhooks/zalo", data=raw, headers=headers)


@pytest.fixture
async def redis(redis_url):
    client = aioredis.from_url(redis_url)
    yield client
    await client.close()


async def test_conversation_lookup_and_buttons(stack, redis_url, fake_zalo, gateway) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    dossier = seeded_dossier(stack, "da_co_ket_qua")
    user = _user()

    started = time.monotonic()
    resp = await _post(client, event("follow", user))
    assert resp.status == 200 and time.monotonic() - started < 2  # answered before the assistant replies
    greeting = (await fake.wait_sent(1))[0]["message"]
    buttons = greeting["attachment"]["payload"]["buttons"]
    assert "trợ lý ảo" in greeting["text"] and all(b["type"] == "oa.query.hide" for b in buttons)
    lookup = next(b for b in buttons if b["title"] == "Tra cứu hồ sơ")

    await _post(client, text_event(user, lookup["payload"]))  # a pressed button comes back as its payload
    assert "nhập mã hồ sơ" in (await fake.wait_sent(2))[1]["message"]["text"]

    await _post(client, text_event(user, f"mã của tôi là {dossier['code']}"))
    status = (await fake.wait_sent(3))[2]["message"]["text"]
    assert dossier["code"] in status and "ĐÃ CÓ KẾT QUẢ" in status
    assert {m["recipient"]["user_id"] for m in fake.sent} == {user}


async def test_shared_location_answers_nearby_places(stack, redis_url, fake_zalo, gateway) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    user = _user()
    await _post(client, text_event(user, "tim sieu thi gan nhat"))
    assert "Vị trí" in (await fake.wait_sent(1))[0]["message"]["text"]
    await _post(client, location_event(user, 16.0348, 108.2240))  # at Lotte Mart
    places = (await fake.wait_sent(2))[1]["message"]["text"]
    assert places.splitlines()[1].startswith("1. Lotte Mart Đà Nẵng")


async def test_bad_or_replayed_signatures_are_refused(stack, redis_url, fake_zalo, gateway, redis) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    user = _user()
    before = await redis.xlen(IN_STREAM)

    forged = await _post(client, text_event(user, "xin chào"), secret="not-the-oa-secret")
    raw, headers = signed(text_event(user, "xin chào"))
    tampered = await client.post("/webhooks/zalo", data=raw.replace(b"ch\xc3\xa0o", b"chao"), headers=headers)
    unsigned = await client.post("/webhooks/zalo", data=raw)
    old = text_event(user, "xin chào", timestamp_ms=int((time.time() - 3600) * 1000))  # captured an hour ago
    replayed = await _post(client, old)

    assert [r.status for r in (forged, tampered, unsigned, replayed)] == [401, 401, 401, 401]
    await asyncio.sleep(1)
    assert await redis.xlen(IN_STREAM) == before and fake.attempts == 0  # nothing reached the assistant


async def test_duplicate_msg_id_gets_one_reply(stack, redis_url, fake_zalo, gateway) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    user = _user()
    body = text_event(user, "cảm ơn", msg_id=f"dup-{user}")
    first = await _post(client, body)
    retry = await _post(client, {**body, "timestamp": str(int(time.time() * 1000))})  # Zalo's retry, re-signed
    assert (first.status, retry.status) == (200, 200)
    await fake.wait_sent(1)
    await asyncio.sleep(1.5)
    assert len(fake.sent_to(user)) == 1


async def test_expired_token_is_refreshed_then_the_reply_sent(stack, redis_url, fake_zalo, gateway, redis) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    fake.expire_token()
    user = _user()
    await _post(client, text_event(user, "xin chào"))
    await fake.wait_sent(1)
    assert fake.refreshes == 1
    assert (await redis.get(REFRESH_KEY)).decode() == fake.refresh_token  # the single-use token was replaced
    assert (await redis.get("zalo:access_token")).decode() == fake.access_token

    fake.expire_token()  # and again: the stored refresh token (not the configured one) is used
    await _post(client, text_event(user, "cảm ơn"))
    await fake.wait_sent(2)
    assert fake.refreshes == 2


async def test_rate_limit_error_is_retried(stack, redis_url, fake_zalo, gateway) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    fake.scripted = [-32, -32]
    user = _user()
    await _post(client, text_event(user, "xin chào"))
    await fake.wait_sent(1)
    assert fake.attempts >= 3 and len(fake.sent_to(user)) == 1


async def test_outside_interaction_window_falls_back_to_sms_or_is_recorded(
        stack, redis_url, fake_zalo, gateway, redis) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    with_phone, without_phone = _user(), _user()
    await _post(client, event("user_submit_info", with_phone, info={"name": "Dân", "phone": "0905123456"}))
    await asyncio.sleep(0.5)
    sms_before = await redis.xlen(MT_STREAM)
    undelivered_before = await redis.xlen(UNDELIVERED_STREAM)

    fake.scripted = [-230, -232]  # the worker answers in order: first the one with a phone
    await _post(client, text_event(with_phone, "cảm ơn"))
    await _post(client, text_event(without_phone, "cảm ơn"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (await redis.xlen(MT_STREAM) == sms_before
                                           or await redis.xlen(UNDELIVERED_STREAM) == undelivered_before):
        await asyncio.sleep(0.2)

    sms = (await redis.xrevrange(MT_STREAM, count=1))[0][1]
    assert sms[b"dest"] == b"84905123456" and sms[b"origin"] == b"zalo" and sms[b"text"]
    record = (await redis.xrevrange(UNDELIVERED_STREAM, count=1))[0][1]
    assert record[b"user_id"].decode() == without_phone and record[b"error"] == b"-232" and record[b"text"]


async def test_unknown_events_and_oa_echoes_are_ignored_with_200(stack, redis_url, fake_zalo, gateway, redis) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    before = await redis.xlen(IN_STREAM)
    for name in ("oa_send_text", "user_reacted_message", "shop_has_order"):
        resp = await _post(client, event(name, _user()))
        assert resp.status == 200
    await asyncio.sleep(0.5)
    assert await redis.xlen(IN_STREAM) == before and fake.attempts == 0


async def test_oversized_body_is_refused(stack, redis_url, fake_zalo, gateway) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    resp = await _post(client, text_event(_user(), "a" * 70_000))
    assert resp.status == 413


async def test_malformed_webhook_calls_get_4xx_before_the_signature_check(redis_url, fake_zalo, gateway, redis) -> None:
    """Issue 15 'Low' and issue 19 item 4: a 400-digit timestamp (500 before, ahead of the
    signature check), other timestamps that are no number, non-UTF-8 headers, bodies that are no event."""
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(_NoStack(), redis_url, url))
    user = _user()
    before = await redis.xlen(IN_STREAM)
    for timestamp in ["9" * 400, "1" + "0" * 30, "١٧٠٠٠٠٠٠٠٠٠٠٠", "²", "-1", "1e12", "", "0x10"]:
        body = text_event(user, "xin chào", timestamp_ms=0)
        body["timestamp"] = timestamp
        for headers in (signed(body)[1], {}):  # rightly signed or not signed at all
            resp = await client.post("/webhooks/zalo", data=signed(body)[0], headers=headers)
            assert resp.status == 400, timestamp[:20]
    for timestamp in [10**400, 1e300, None, [1], {"ms": 1}]:
        raw = json.dumps({**text_event(user, "xin chào"), "timestamp": timestamp}).encode()
        assert (await client.post("/webhooks/zalo", data=raw)).status == 400
    for raw in [b"[1]", b"null", b"\"x\"", b"[" * 5000 + b"]" * 5000, b"\xff", b'{"timestamp": "\\ud800"}']:
        assert (await client.post("/webhooks/zalo", data=raw)).status == 400
    raw, headers = signed(text_event(user, "xin chào"))
    for bad in (b"X-ZEvent-Signature: \xff\xfe\r\n", b"X-ZEvent-Signature: " + headers["X-ZEvent-Signature"].encode()
                + b"\r\nUser-Agent: \xc3(\r\n"):
        assert await raw_status(client.host, client.port, "POST", "/webhooks/zalo", bad, raw) == 400
    wrong = await _post(client, text_event(user, "xin chào"), secret="not-the-oa-secret")
    assert wrong.status == 401
    await asyncio.sleep(0.5)
    assert await redis.xlen(IN_STREAM) == before and fake.attempts == 0
    # A good event is still taken (and answered: the apology, Rasa being down here).
    assert (await _post(client, text_event(user, "xin chào"))).status == 200
    assert "tạm gián đoạn" in (await fake.wait_sent(1))[0]["message"]["text"]


class _NoStack:
    """Settings for a gateway whose assistant is down: only the webhook itself is under test."""

    rasa_url = "http://127.0.0.1:9"
    api_url = "http://127.0.0.1:9"


# -- issue 19: the turn runs once, the sending is retried, location shapes -----------------

async def _slot_buttons(client, fake, user: str) -> list[dict]:
    """Ask for a queue number, pick the first day: the slot buttons offered (five per Zalo message)."""
    await _post(client, text_event(user, "cho tôi lấy số thứ tự"))
    days = (await fake.wait_sent(1))[0]["message"]["attachment"]["payload"]["buttons"]
    await _post(client, text_event(user, days[0]["payload"]))
    await fake.wait_sent(2)
    await asyncio.sleep(1)  # the rest of the slots ("Lựa chọn khác:")
    offered = fake.sent_to(user)[1:]
    return [b for m in offered for b in (m.get("attachment") or {}).get("payload", {}).get("buttons", [])]


HTML_502 = (502, "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>")


async def test_an_html_502_from_the_oa_api_books_once_and_the_reply_arrives_after_the_retry(
        stack, redis_url, fake_zalo, gateway, redis) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    user = _user()
    slots = await _slot_buttons(client, fake, user)
    before = len(fake.sent)
    fake.scripted = [HTML_502] * 4  # more than one worker attempt's quick tries
    await _post(client, text_event(user, slots[0]["payload"]))
    await fake.wait_sent(before + 1, timeout=45)
    assert fake.sent[-1]["message"]["text"].startswith("Đã đặt lịch: số thứ tự")
    mine = stack.api_session().get(f"{stack.api_url}/api/v1/appointments", params={"owner": f"zalo:{user}"},
                                   timeout=10).json()
    assert len(mine) == 1  # the turn ran once: one queue number
    assert len(fake.sent) == before + 1 and fake.attempts >= before + 1 + 4


async def test_a_repeated_tap_on_a_zalo_button_books_once_and_is_told_it_is_stale(
        stack, redis_url, fake_zalo, gateway) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    user = _user()
    slots = await _slot_buttons(client, fake, user)
    before = len(fake.sent)
    await _post(client, text_event(user, slots[0]["payload"]))
    await _post(client, text_event(user, slots[0]["payload"]))  # the same button again (a new msg_id)
    await _post(client, text_event(user, slots[-1]["payload"]))  # and another of that offer
    await fake.wait_sent(before + 3)
    texts = [m["message"]["text"] for m in fake.sent[before:]]
    assert texts[0].startswith("Đã đặt lịch") and texts[1:] == [text("channel.stale_choice")] * 2
    mine = stack.api_session().get(f"{stack.api_url}/api/v1/appointments", params={"owner": f"zalo:{user}"},
                                   timeout=10).json()
    assert len(mine) == 1


async def test_an_oa_api_down_for_long_sets_the_reply_aside_for_staff(redis_url, fake_zalo, gateway, redis) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(_NoStack(), redis_url, url, stream_max_attempts=2))
    user = _user()
    before = await redis.xlen(UNDELIVERED_STREAM)
    fake.scripted = [HTML_502] * 6  # every try of both attempts
    await _post(client, text_event(user, "xin chào"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and await redis.xlen(UNDELIVERED_STREAM) == before:
        await asyncio.sleep(0.2)
    record = (await redis.xrevrange(UNDELIVERED_STREAM, count=1))[0][1]
    assert record[b"user_id"].decode() == user and b"502" in record[b"reason"]
    assert "tạm gián đoạn" in record[b"text"].decode()  # the reply itself, for staff to pass on
    assert fake.attempts == 6 and fake.sent == []


@pytest.mark.parametrize("shape", ["coordinates", "payload", "location"])
async def test_every_location_shape_is_answered(stack, redis_url, fake_zalo, gateway, shape) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    user = _user()
    await _post(client, text_event(user, "tim sieu thi gan nhat"))
    await fake.wait_sent(1)
    await _post(client, location_event(user, 16.0348, 108.2240, shape=shape))  # at Lotte Mart
    places = (await fake.wait_sent(2))[1]["message"]["text"]
    assert places.splitlines()[1].startswith("1. Lotte Mart Đà Nẵng")


async def test_a_location_without_coordinates_gets_a_reply(redis_url, fake_zalo, gateway) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(_NoStack(), redis_url, url))
    user = _user()
    await _post(client, event("user_send_location", user, message={"msg_id": f"loc-{user}", "attachments": [
        {"type": "location", "payload": {"coordinates": {"latitude": "", "longitude": "x"}}}]}))
    assert (await fake.wait_sent(1))[0]["message"]["text"] == text("zalo.unreadable_location")


async def test_a_dossier_code_in_an_image_caption_is_looked_up(stack, redis_url, fake_zalo, gateway) -> None:
    fake, url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, url))
    user = _user()
    dossier = seeded_dossier(stack, "da_co_ket_qua", offset=6)
    image = {"type": "image", "payload": {"thumbnail": "https://photo.example/t.jpg", "url": "https://photo.example/a.jpg"}}
    await _post(client, event("user_send_image", user, message={
        "msg_id": f"img-{user}", "text": f"tra cứu giúp em hồ sơ {dossier['code']}", "attachments": [image]}))
    status = (await fake.wait_sent(1))[0]["message"]["text"]
    assert dossier["code"] in status and "ĐÃ CÓ KẾT QUẢ" in status


def test_location_shapes_are_read_and_nonsense_is_not() -> None:
    from bot.zalo import _coordinates

    point = {"latitude": 16.0348, "longitude": 108.224}
    assert _coordinates({"attachments": [{"payload": {"coordinates": {"latitude": "16.0348",
                                                                      "longitude": "108.224"}}}]}) == point
    assert _coordinates({"attachments": [{"type": "location", "payload": point}]}) == point
    assert _coordinates({"location": {"lat": 16.0348, "lng": 108.224}}) == point
    for bad in ({}, {"location": {"lat": 200, "long": 1}}, {"location": "16,108"},
                {"attachments": [{"payload": {"coordinates": {"latitude": "nan?", "longitude": None}}}]}):
        assert _coordinates(bad) is None, bad
