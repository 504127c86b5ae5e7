"""The handoff in the gateway and the console, and the web push store, against a real Redis
(a database of these tests' own; Rasa is not needed: the transcript falls back to the handoff
log, and the handoff is started the way the gateway starts it when the assistant hands over)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot import push
from bot.handoff import HANDOFFS_KEY, Handoffs, mask_known
from bot.notifier import Notifier
from bot.push import PushStore
from bot.web import CONVERSATIONS_KEY, GUARD_KEY
from clients.rasa import BotMessage, RasaClient
from common import handoff, signing
from common.settings import Settings
from content.texts import text
from content.texts import text as citizen_text
from dossier_api.client import DossierClient
from dossier_api.models import ChangeEvent
from tests.bot.conftest import ADMIN_PASSWORD, ANNOTATOR_PASSWORD, csrf, empty_database, sign_in

SESSION = "handoffweb0001"
SENDER = f"web:{SESSION}"


@pytest.fixture
async def redis_db(redis_url: str) -> str:
    return await empty_database(redis_url, 6)


@pytest.fixture
async def redis(redis_db: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_db)
    yield client
    await client.close()


@pytest.fixture
async def desk(accounts, redis_db, gateway):
    """A gateway (Rasa unreachable) with its console; returns (client, app)."""
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_db, dossier_api_url="http://127.0.0.1:9",
                           staff_db_path=accounts.path)
    return client, client.server.app


async def _texts(redis, session: str = SESSION) -> list[tuple[str, str]]:
    return [(m["kind"], m["text"]) for _, m in await PushStore(redis).after(session, "0")]


# -- the push store --------------------------------------------------------------------

async def test_push_store_keeps_the_last_messages_for_a_bounded_time(redis) -> None:
    store = PushStore(redis)
    ids = [await store.push("keep0001", [BotMessage(f"tin {i}")]) for i in range(push.KEEP + 10)]
    kept = await store.after("keep0001", "0")
    assert len(kept) == push.KEEP and kept[-1][1]["text"] == f"tin {push.KEEP + 9}"
    assert [i for i, _ in await store.after("keep0001", ids[-3])] == ids[-2:]  # strictly after
    assert 0 < await redis.ttl(push.stream_key("keep0001")) <= push.TTL_S
    await store.push("keep0001", [BotMessage("chọn", buttons=())], kind="staff")
    assert (await store.after("keep0001", ids[-1]))[0][1]["kind"] == "staff"


async def _read_events(resp, count: int, timeout: float = 10) -> list[dict]:
    """The first ``count`` SSE events of a streaming response (id + data)."""
    events, current = [], {}
    async def read() -> None:
        while len(events) < count:
            line = (await resp.content.readline()).decode().rstrip("\n")
            if line.startswith("id: "):
                current["id"] = line[4:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and "data" in current:
                events.append(dict(current))
                current.clear()
    await asyncio.wait_for(read(), timeout)
    return events


async def test_the_page_receives_pushes_live_and_what_it_missed_when_it_reconnects(desk, redis) -> None:
    client, app = desk
    store = PushStore(redis)
    before = await store.push(SESSION, [BotMessage("đã gửi trước khi mở trang")], kind="notice")
    assert (await client.get(f"/api/push?session={SESSION}&after=0")).status == 400  # only with the issued token
    token = signing.sign_id(app[GUARD_KEY].secret, SESSION)  # what /api/session gave the page for it
    resp = await client.get(f"/api/push?session={token}&after=0")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    [first] = await _read_events(resp, 1)
    assert first["id"] == before and first["data"]["text"] == "đã gửi trước khi mở trang"

    await asyncio.sleep(0.2)
    live = await store.push(SESSION, [BotMessage("Cán bộ trả lời ngay")], kind="staff")
    [second] = await _read_events(resp, 1)  # woken by pub/sub, long before the heartbeat
    assert second["id"] == live and second["data"] == {"kind": "staff", "text": "Cán bộ trả lời ngay",
                                                       "buttons": [], "request_location": False}
    resp.close()

    missed = await store.push(SESSION, [BotMessage("trong lúc mất kết nối")])
    again = await client.get(f"/api/push?session={token}&after=0", headers={"Last-Event-ID": live})
    [third] = await _read_events(again, 1)
    assert third["id"] == missed  # only what it has not shown
    again.close()
    assert (await client.get("/api/push?session=bad")).status == 400

    pages = [await client.get(f"/api/push?session={token}&after={missed}") for _ in range(push.MAX_STREAMS)]
    await asyncio.sleep(0.2)
    assert all(p.status == 200 for p in pages)
    assert (await client.get(f"/api/push?session={token}")).status == 429  # one citizen, not a thousand tabs
    for p in pages:
        p.close()


async def test_notifier_delivers_web_notifications_through_the_push_store(redis) -> None:
    settings = Settings(_env_file=None, notify_quiet_hours="")
    store = PushStore(redis)
    notifier = Notifier(settings, redis, DossierClient("http://127.0.0.1:9"), {"web": store.notify})
    await notifier.prepare()
    event = ChangeEvent(id=4242, kind="ticket", code="PA261201-0001", old_status="moi", new_status="da_tra_loi",
                        current_step="Sở đã kiểm tra cửa hàng.", owner=SENDER, at=dt.datetime.now())
    assert await notifier.ingest(event)
    await notifier.expand_once()
    await notifier.deliver_once()
    [(kind, text)] = await _texts(redis)
    assert kind == "notice" and "PA261201-0001" in text and "Sở đã kiểm tra cửa hàng." in text
    assert await redis.xlen("notify:failed") == 0
    await notifier.dossiers.close()


# -- routing in the gateway --------------------------------------------------------------

def _handoffs(redis, clock: list[float], timeout_min: float = 5) -> Handoffs:
    settings = Settings(_env_file=None, handoff_timeout_min=timeout_min, hotline="1022")
    return Handoffs(settings, redis, PushStore(redis), RasaClient("http://127.0.0.1:9"), clock=lambda: clock[0])


async def test_a_handed_off_citizen_writes_to_staff_but_a_code_still_gets_the_bot(redis) -> None:
    clock = [1_800_000_000.0]
    service = _handoffs(redis, clock)
    assert await service.intercept(SENDER, "alo") is None  # not handed off: the bot answers
    promise = [BotMessage("đã chuyển", handoff=True)]
    assert await service.begin(SENDER, promise) == promise
    waiting = await service.intercept(SENDER, "alo, có ai không?")
    assert [m.text for m in waiting] == [citizen_text("handoff.still_waiting")]
    assert await service.intercept(SENDER, "tra cứu 000.00.12.H17-200115-0001") is None  # the bot answers lookups
    assert await service.intercept(SENDER, "/danh_gia") is None  # and the buttons of its earlier replies
    await service.claim(SENDER, "lan")
    assert await service.intercept(SENDER, "tôi cần hỏi về hồ sơ") == []  # the staff member answers
    assert [m.text for m in await service.intercept(SENDER, handoff.LEAVE_PAYLOAD)] == [citizen_text("handoff.left")]
    assert not await service.is_handed_off(SENDER)
    assert await service.intercept(SENDER, "alo") is None
    await service.rasa.close()


async def test_timeout_tells_the_citizen_offers_the_hotline_and_a_ticket_and_gives_back(redis) -> None:
    clock = [1_800_000_000.0]
    service = _handoffs(redis, clock, timeout_min=2)
    await service.begin(SENDER, [])
    clock[0] += 119
    assert await service.check_timeouts() == 0
    clock[0] += 1
    assert await service.check_timeouts() == 1
    [(_, text)] = await _texts(redis)
    assert text == citizen_text("handoff.timed_out", hotline="1022")
    [(_, message)] = await PushStore(redis).after(SESSION, "0")
    assert message["buttons"] == [{"title": "Gửi phản ánh", "payload": handoff.TICKET_PAYLOAD}]
    assert not await service.is_handed_off(SENDER) and await service.check_timeouts() == 0
    assert not await handoff.answer_csat(redis, SENDER, 1, clock[0])  # no staff member spoke: nothing to rate
    await service.rasa.close()


async def test_with_redis_down_the_bot_answers_and_the_hotline_replaces_the_promise() -> None:
    down = aioredis.from_url("redis://127.0.0.1:9/0")
    service = _handoffs(down, [1_800_000_000.0])
    assert await service.intercept(SENDER, "alo") is None
    replies = await service.begin(SENDER, [BotMessage("đã chuyển cho cán bộ", handoff=True), BotMessage("khác")])
    assert [m.text for m in replies] == ["khác", citizen_text("handoff.unavailable", hotline="1022")]
    await service.rasa.close()
    await down.close()


async def test_a_citizen_who_goes_quiet_after_the_staff_answer_is_given_back_after_the_idle_limit(redis) -> None:
    clock = [1_800_000_000.0]
    service = _handoffs(redis, clock, timeout_min=2)
    service.settings.handoff_idle_min = 30
    await service.begin(SENDER, [])
    await service.claim(SENDER, "lan")
    await service.reply(SENDER, "lan", "Hồ sơ của anh/chị đang được xử lý.")
    clock[0] += 29 * 60
    assert await service.check_timeouts() == 0  # answered: the 2-minute timeout does not apply
    clock[0] += 60
    assert await service.check_timeouts() == 1 and not await service.is_handed_off(SENDER)
    texts = [t for _, t in await _texts(redis)]
    # a staff member spoke: rate them
    assert texts[-2:] == [citizen_text("handoff.idle_ended"), citizen_text("handoff.csat.question")]
    await service.rasa.close()


def test_transcript_masking_uses_what_the_conversation_gave() -> None:
    text = "Tôi là Phạm Thị Hoa, số 0935 000 111, CCCD 001200012345, nhà ở 08 Bạch Đằng, phường Hải Châu"
    masked = mask_known(text, {"Phạm Thị Hoa"}, {"08 Bạch Đằng, phường Hải Châu"})
    assert masked == "Tôi là PHẠM T*** H, số <SĐT>, CCCD <SỐ GIẤY TỜ>, nhà ở <ĐỊA CHỈ>"


# -- the console -----------------------------------------------------------------------------

async def test_claim_reply_and_give_back_in_the_console(desk, redis, gateway, accounts, redis_db) -> None:
    client, app = desk
    service: Handoffs = app[HANDOFFS_KEY]
    await service.begin(SENDER, [])
    await service.intercept(SENDER, "số của tôi 0935 000 111, gọi lại giúp")
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    queue = await (await client.get("/staff/handoffs")).text()
    assert "Chờ cán bộ" in queue and "số của tôi &lt;SĐT&gt;, gọi lại giúp" in queue and "0935" not in queue
    assert "1 chờ nhận" in await (await client.get("/staff/")).text()

    other = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_db, dossier_api_url="http://127.0.0.1:9",
                          staff_db_path=accounts.path)  # a second replica, another staff member
    await sign_in(other, "admin.so", ADMIN_PASSWORD)
    claims = await asyncio.gather(
        client.post("/staff/api/handoffs/claim", json={"sender": SENDER}, headers={"X-CSRF-Token": await csrf(client)}),
        other.post("/staff/api/handoffs/claim", json={"sender": SENDER}, headers={"X-CSRF-Token": await csrf(other)}))
    assert sorted(r.status for r in claims) == [200, 409]
    holder = (await handoff.get(redis, SENDER)).staff
    lan_won = holder == "lan.nguyen"
    winner, loser = (client, other) if lan_won else (other, client)
    refused = claims[1 if lan_won else 0]
    assert f"Cán bộ {holder} đã nhận" in (await refused.json())["error"]
    assert (await _texts(redis))[-1] == ("notice", citizen_text("handoff.claimed"))

    page = await (await winner.get(f"/staff/handoffs/view?sender={SENDER}")).text()
    assert "Kết thúc và trả lại cho trợ lý ảo" in page and 'id="canned"' in page and "Người dân yêu cầu" in page
    token = await csrf(winner)
    not_yours = await loser.post("/staff/api/handoffs/reply", json={"sender": SENDER, "text": "xen ngang"},
                                 headers={"X-CSRF-Token": await csrf(loser)})
    assert not_yours.status == 409
    sent = await winner.post("/staff/api/handoffs/reply", data={"csrf_token": token, "sender": SENDER,
                                                               "text": "Chào anh/chị, tôi gọi lại ngay."},
                             allow_redirects=False)
    assert sent.status == 302
    assert (await _texts(redis))[-1] == ("staff", "Chào anh/chị, tôi gọi lại ngay.")

    lines = (await (await client.get(f"/staff/api/handoffs/transcript?sender={SENDER}")).json())["lines"]
    said = [(x["by"], x["text"]) for x in lines if x["by"] != "system"]
    assert said == [("citizen", "số của tôi <SĐT>, gọi lại giúp"), ("staff", "Chào anh/chị, tôi gọi lại ngay.")]
    admin_view = (await (await other.get(f"/staff/api/handoffs/transcript?sender={SENDER}")).json())["lines"]
    assert any("0935 000 111" in x["text"] for x in admin_view)  # admins read it as written

    ended = await winner.post("/staff/api/handoffs/end", data={"csrf_token": token, "sender": SENDER},
                              allow_redirects=False)
    assert ended.status == 302 and not await service.is_handed_off(SENDER)
    pushed = await PushStore(redis).after(SESSION, "0")
    assert pushed[-2][1]["text"] == citizen_text("handoff.ended")
    assert [b["payload"] for b in pushed[-1][1]["buttons"]] == list(handoff.CSAT_PAYLOADS)
    # The next message is the bot's (Rasa is down here: the apology proves it went to the bot) ...
    assert [m.text for m in await app[CONVERSATIONS_KEY].reply(SENDER, "xin chào")] == [text("chat.unavailable")]
    assert not await service.is_handed_off(SENDER)
    # ... and the satisfaction answer is stored once.
    thanks = await app[CONVERSATIONS_KEY].handle(SENDER, "/csat_1")
    assert [m.text for m in thanks] == [citizen_text("handoff.csat.thanks")]
    [answer] = await handoff.csat_answers(redis)
    assert (answer["score"], answer["staff"], answer["channel"]) == (1, holder, "web")
    assert "Hài lòng: 1" in await (await client.get("/staff/handoffs")).text()


async def test_ending_someone_elses_conversation_is_refused_and_canned_replies_are_edited(desk, redis) -> None:
    client, app = desk
    await app[HANDOFFS_KEY].begin(SENDER, [])
    await handoff.claim(redis, SENDER, "minh.tran", 1.0)
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    token = await csrf(client)
    refused = await client.post("/staff/api/handoffs/end", json={"sender": SENDER}, headers={"X-CSRF-Token": token})
    assert refused.status == 409 and "cán bộ khác" in (await refused.json())["error"]
    page = await (await client.get(f"/staff/handoffs/view?sender={SENDER}")).text()
    assert "Đang xử lý: minh.tran" in page and "reply-form" not in page

    saved = await client.post("/staff/api/handoffs/canned", data={"csrf_token": token,
                                                                 "replies": "Xin chào anh/chị\n\nVui lòng chờ"},
                              allow_redirects=False)
    assert saved.status == 302 and await handoff.canned(redis) == ["Xin chào anh/chị", "Vui lòng chờ"]
    assert "Vui lòng chờ" in await (await client.get("/staff/handoffs/canned")).text()
