"""Status-change notifications: the API's events, the signed webhook, polling,
exactly-once delivery with two gateway replicas, quiet hours, and the whole
path from a Telegram subscription to the message."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.notifier import DEFERRED, FAILED, Notifier, out_stream, quiet_until
from common import signing, subscriptions
from common.dates import parse_spans
from common.settings import Settings
from common.sms_keys import MT_STREAM
from dossier_api.client import DossierClient
from dossier_api.models import ChangeEvent, StatusChange, TicketAnswer
from dossier_api.server import EventHook, create_app
from tests.bot.conftest import TELEGRAM_TOKEN, zalo_settings
from tests.conftest import seeded_dossier
from tests.fakes.zalo_api import signed, text_event

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = "events-secret-for-tests"


def test_quiet_hours_across_midnight() -> None:
    quiet = parse_spans("21:00-07:00")
    at = lambda h, m=0: dt.datetime(2026, 11, 26, h, m, tzinfo=TZ)  # noqa: E731
    assert quiet_until(at(20, 59), quiet) is None
    assert quiet_until(at(21, 0), quiet) == dt.datetime(2026, 11, 27, 7, 0, tzinfo=TZ)
    assert quiet_until(at(3, 15), quiet) == dt.datetime(2026, 11, 26, 7, 0, tzinfo=TZ)
    assert quiet_until(at(7, 0), quiet) is None
    assert quiet_until(at(23, 0), parse_spans("")) is None


@pytest.fixture
async def api(seeded_db: Path):
    """The reference API in-process, pushing events to whatever URL the test sets."""
    hook = EventHook(secret=SECRET)
    server = TestServer(create_app(str(seeded_db), hook=hook))
    await server.start_server()
    yield hook, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def redis(redis_url):
    """A database of its own: the stack's gateway is a notifier replica on database 0 and would
    take these tests' events (then deliver them to a later test's Telegram fake)."""
    client = aioredis.from_url(redis_url.rsplit("/", 1)[0] + "/15")
    await client.flushdb()
    yield client
    await client.close()


def _event(code: str, event_id: int | None = None) -> ChangeEvent:
    return ChangeEvent(id=event_id or random.randint(10**6, 10**9), code=code, old_status="dang_xu_ly",
                        new_status="da_co_ket_qua", current_step="Đã ký duyệt kết quả", at=dt.datetime.now())


async def test_status_change_is_recorded_and_pushed_signed(api, redis_url) -> None:
    hook, url = api
    received: list[tuple[bytes, dict[str, str]]] = []

    async def sink(request: web.Request) -> web.Response:
        received.append((await request.read(), dict(request.headers)))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/events", sink)
    receiver = TestServer(app)
    await receiver.start_server()
    hook.url = str(receiver.make_url("/events"))
    try:
        async with DossierClient(url) as client:
            code = (await client.list_dossiers(status="moi_tiep_nhan", limit=1, offset=41)).items[0].code
            before = await client.events(after=0, limit=500)
            change = StatusChange(status="dang_xu_ly", current_step="Chuyên viên thẩm định")
            dossier = await client.set_status(code, change)
            assert dossier.status.value == "dang_xu_ly" and dossier.current_step == "Chuyên viên thẩm định"
            await client.set_status(code, StatusChange(status="dang_xu_ly"))  # no change: no new event
            after = await client.events(after=before[-1].id if before else 0)
        changes = [(e.code, e.old_status, e.new_status) for e in after]
        assert changes == [(code, "moi_tiep_nhan", "dang_xu_ly")]
        for _ in range(50):
            if received:
                break
            await asyncio.sleep(0.1)
        [(body, headers)] = received
        assert json.loads(body)["code"] == code and signing.verify(SECRET, body, headers)
        assert not signing.verify(SECRET, body, headers, now=int(headers[signing.TIMESTAMP_HEADER]) + 3600)
    finally:
        await receiver.close()


async def test_replicas_deliver_each_change_once_per_subscriber(api, redis) -> None:
    _, url = api
    settings = Settings(_env_file=None, dossier_events_secret=SECRET, notify_quiet_hours="", dossier_api_url=url)
    code = f"000.00.12.H17-261126-{random.randint(1000, 9999)}"
    subscribers = ["sms:84905000001", "telegram:501", "zalo:u-502"]
    for sender in subscribers:
        await subscriptions.subscribe(redis, code, sender)
    delivered: list[tuple[str, str]] = []

    async def chat(channel: str):
        async def send(user: str, text: str) -> None:
            delivered.append((f"{channel}:{user}", text))
        return send

    senders = {"telegram": await chat("telegram"), "zalo": await chat("zalo")}
    async with DossierClient(url) as dossiers:
        # two full replicas and one with SMS only: chat jobs wait for a replica that has the channel
        # (each replica its own consumer index, as CONSUMER_INDEX gives replicas on one host)
        replicas = [Notifier(settings.copy(update={"consumer_index": i}), redis, dossiers, senders) for i in range(2)]
        replicas.append(Notifier(settings.copy(update={"consumer_index": 2}), redis, dossiers, {}))
        await replicas[0].prepare()
        mt_before = await redis.xlen(MT_STREAM)
        events = [_event(code), _event(code)]
        for event in events:  # both replicas hear every event (webhook retried, polling)
            for replica in replicas:
                await replica.ingest(event)
        for _ in range(10):
            await asyncio.gather(*(r.expand_once() for r in replicas))
            await asyncio.gather(*(r.deliver_once() for r in replicas))
    assert len(delivered) == 4  # 2 events x 2 chat subscribers, once each
    assert sorted(s for s, _ in delivered) == ["telegram:501", "telegram:501", "zalo:u-502", "zalo:u-502"]
    sms = await redis.xrange(MT_STREAM, min="-", max="+")
    ours = [f for _, f in sms[mt_before:] if f.get(b"dest") == b"84905000001"]
    assert len(ours) == 2 and all(f[b"origin"] == b"notify" for f in ours)
    assert b"HUY " + code.encode() in ours[0][b"text"]
    assert all(f"hủy đăng ký {code}" in text for _, text in delivered)


async def test_quiet_hours_hold_messages_until_morning(api, redis) -> None:
    _, url = api
    now = [dt.datetime(2026, 11, 26, 22, 30, tzinfo=TZ)]
    settings = Settings(_env_file=None, notify_quiet_hours="21:00-07:00", dossier_api_url=url)
    code = f"000.00.12.H17-261126-{random.randint(1000, 9999)}"
    await subscriptions.subscribe(redis, code, "telegram:777")
    delivered: list[str] = []

    async def send(user: str, text: str) -> None:
        delivered.append(user)

    async with DossierClient(url) as dossiers:
        notifier = Notifier(settings, redis, dossiers, {"telegram": send}, clock=lambda: now[0])
        await notifier.prepare()
        await redis.delete(DEFERRED)
        await notifier.ingest(_event(code))
        await notifier.expand_once()
        await notifier.deliver_once()
        assert delivered == [] and await redis.zcard(DEFERRED) == 1
        now[0] = dt.datetime(2026, 11, 27, 6, 59, tzinfo=TZ)
        assert await notifier.release_due() == 0
        now[0] = dt.datetime(2026, 11, 27, 7, 0, tzinfo=TZ)
        assert await notifier.release_due() == 1
        await notifier.deliver_once()
    assert delivered == ["777"]


@pytest.mark.e2e
async def test_telegram_subscriber_is_told_when_the_status_changes(stack, redis_url, api, fake_telegram,
                                                                   gateway) -> None:
    hook, api_url = api
    fake, tg_url = fake_telegram
    client: TestClient = await gateway(rasa_url=stack.rasa_url, redis_url=redis_url, dossier_api_url=api_url,
                                       telegram_token=TELEGRAM_TOKEN, telegram_api_url=tg_url,
                                       dossier_events_secret=SECRET, notify_quiet_hours="")
    hook.url = str(client.make_url("/webhooks/dossier-events"))
    dossier = seeded_dossier(stack, "cho_bo_sung", offset=42)  # one no other test uses: its status changes
    chat = random.randint(10**8, 10**9)
    fake.push_text(chat, f"đăng ký nhận thông báo hồ sơ {dossier['code']}")
    assert "Đã đăng ký nhận thông báo" in (await fake.wait_sent(1))[0]["text"]

    forged = await client.post("/webhooks/dossier-events", data=b'{"id": 1}', headers={signing.HEADER: "sha256=00"})
    assert forged.status == 401
    async with DossierClient(api_url) as dossiers:
        await dossiers.set_status(dossier["code"], StatusChange(status="dang_xu_ly", current_step="Đã nhận bổ sung"))
    message = (await fake.wait_sent(2))[1]
    assert int(message["chat_id"]) == chat
    assert f"Hồ sơ {dossier['code']} đang xử lý (trước đó: chờ bổ sung). Đã nhận bổ sung." in message["text"]

    fake.push_text(chat, f"hủy đăng ký nhận thông báo {dossier['code']}")
    assert "Đã hủy nhận thông báo" in (await fake.wait_sent(3))[2]["text"]


@pytest.mark.e2e
async def test_ticket_author_is_told_the_answer(stack, redis_url, api, fake_zalo, gateway) -> None:
    hook, api_url = api
    fake, zalo_url = fake_zalo
    client = await gateway(**zalo_settings(stack, redis_url, zalo_url, dossier_api_url=api_url,
                                           dossier_events_secret=SECRET, notify_quiet_hours=""))
    hook.url = str(client.make_url("/webhooks/dossier-events"))
    user = str(random.randint(10**17, 10**18))
    raw, headers = signed(text_event(user, "Phản ánh: cán bộ quầy số 3 có thái độ thiếu tôn trọng người dân"))
    assert (await client.post("/webhooks/zalo", data=raw, headers=headers)).status == 200
    filed = (await fake.wait_sent(1))[0]["message"]["text"]
    number = filed.split("số phiếu ")[1].split(".")[0]
    assert "phản ánh về cán bộ" in filed

    async with DossierClient(api_url) as dossiers:
        ticket = await dossiers.get_ticket(number, owner=f"zalo:{user}")
        assert ticket.category == "can_bo"
        await dossiers.answer_ticket(number, TicketAnswer(version=ticket.version, author="lan",
                                                           answer="Sở đã nhắc nhở cán bộ."))
    told = (await fake.wait_sent(2))[1]
    assert told["recipient"]["user_id"] == user
    assert told["message"]["text"] == f"Phản ánh số {number} của anh/chị: đã trả lời. Trả lời: Sở đã nhắc nhở cán bộ."


async def test_a_chat_notification_that_keeps_failing_is_dead_lettered_with_its_reason(api, redis) -> None:
    _, url = api
    settings = Settings(_env_file=None, notify_quiet_hours="", dossier_api_url=url, stream_max_attempts=2)
    code = f"000.00.12.H17-261126-{random.randint(1000, 9999)}"
    await subscriptions.subscribe(redis, code, "telegram:913")
    calls: list[str] = []

    async def broken(user: str, text: str) -> None:
        calls.append(user)
        raise ConnectionResetError("Telegram unreachable")

    async with DossierClient(url) as dossiers:
        notifier = Notifier(settings, redis, dossiers, {"telegram": broken})
        await notifier.prepare()
        await redis.delete(FAILED)
        await notifier.ingest(_event(code))
        await notifier.expand_once()
        for _ in range(60):  # the first failure is retried after a backoff, the second is the last
            await notifier.deliver_once()
            if await redis.xlen(FAILED):
                break
            await asyncio.sleep(0.1)
    [(_, failed)] = await redis.xrange(FAILED)
    assert calls == ["913", "913"]
    assert failed[b"sender"] == b"telegram:913" and failed[b"error"] == b"ConnectionResetError"
    assert failed[b"attempts"] == b"2" and failed[b"reason"] == b"Telegram unreachable"
    assert (await redis.xpending(out_stream("telegram"), "notify-senders"))["pending"] == 0
