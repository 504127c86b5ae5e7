"""The operations view against a real Redis: dead letters listed with their reason, resent (back on the
SMS outbox, once) or discarded by an admin only; receipt outcomes that count the missing receipts and
the given-up MTs; streams and the live model."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from bot import notifier, outbox
from bot.staff import ops_pages
from common import sms_keys, stats
from common.dates import local_now
from common.streams import SMS_OUTBOX
from common.text import as_str
from tests.bot.conftest import ADMIN_PASSWORD, ANNOTATOR_PASSWORD, csrf, sign_in

PHONE = "84905551234"


@pytest.fixture
async def redis_ops(redis_url: str) -> AsyncIterator[tuple[str, aioredis.Redis]]:
    """A Redis database of its own, emptied."""
    url = redis_url.rsplit("/", 1)[0] + "/13"
    client = aioredis.from_url(url)
    await client.flushdb()
    yield url, client
    await client.close()


@pytest.fixture
async def ops(accounts, redis_ops, gateway) -> TestClient:
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_ops[0], dossier_api_url="http://127.0.0.1:9",
                           staff_db_path=accounts.path)
    await sign_in(client, "admin.so", ADMIN_PASSWORD)
    return client


async def _dead_mt(redis: aioredis.Redis, text: str = "Ho so da co ket qua") -> str:
    return as_str(await redis.xadd(sms_keys.DEAD_STREAM, {
        "dest": PHONE, "text": text, "origin": "reply", "entry": "1-0", "stream": SMS_OUTBOX,
        "error": "SubmitRefused", "reason": "submit_sm error 0x45 after 3 attempts", "attempts": "3",
        "at": f"{time.time():.0f}"}))


async def test_a_dead_mt_is_listed_masked_and_resent_once(ops: TestClient, redis_ops) -> None:
    _, redis = redis_ops
    entry = await _dead_mt(redis)
    page = await (await ops.get("/staff/ops")).text()
    assert f'data-dead="{entry}"' in page and "submit_sm error 0x45 after 3 attempts" in page
    assert PHONE not in page and "Gửi lại" in page
    token = await csrf(ops)
    resp = await ops.post(f"/staff/api/ops/sms/{entry}", data={"action": "resend", "csrf_token": token},
                          allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/staff/ops"
    [(_, fields)] = await redis.xrange(SMS_OUTBOX)
    assert {as_str(k): as_str(v) for k, v in fields.items()} == {"dest": PHONE, "text": "Ho so da co ket qua",
                                                                 "origin": "reply"}
    assert await redis.xlen(sms_keys.DEAD_STREAM) == 0
    again = await ops.post(f"/staff/api/ops/sms/{entry}", json={"action": "resend"}, headers={"X-CSRF-Token": token})
    assert again.status == 404 and await redis.xlen(SMS_OUTBOX) == 1


async def test_discard_and_what_cannot_be_resent(ops: TestClient, redis_ops) -> None:
    _, redis = redis_ops
    token = await csrf(ops)
    entry = await _dead_mt(redis)
    resp = await ops.post(f"/staff/api/ops/sms/{entry}", json={"action": "discard"}, headers={"X-CSRF-Token": token})
    assert resp.status == 200 and await redis.xlen(sms_keys.DEAD_STREAM) == 0 and await redis.xlen(SMS_OUTBOX) == 0
    mo = as_str(await redis.xadd(sms_keys.DEAD_STREAM, {"source": PHONE, "entry": "2-0", "stream": "sms:mo",
                                                           "error": "ValueError", "reason": "bad", "attempts": "4"}))
    resp = await ops.post(f"/staff/api/ops/sms/{mo}", json={"action": "resend"}, headers={"X-CSRF-Token": token})
    assert resp.status == 409 and await redis.xlen(sms_keys.DEAD_STREAM) == 1 and await redis.xlen(SMS_OUTBOX) == 0
    for path, status in (("/staff/api/ops/sms/abc", 404), ("/staff/api/ops/other/1-0", 404)):
        assert (await ops.post(path, json={"action": "discard"}, headers={"X-CSRF-Token": token})).status == status
    assert (await ops.post(f"/staff/api/ops/sms/{mo}", json={"action": "x"},
                           headers={"X-CSRF-Token": token})).status == 400


async def test_a_failed_notification_goes_back_on_its_stream(ops: TestClient, redis_ops) -> None:
    _, redis = redis_ops
    stream = notifier.out_stream("telegram")
    job = {"sender": "telegram:42", "event": '{"id": 7, "code": "000.00.12.H17-261120-0001"}'}
    entry = as_str(await redis.xadd(notifier.FAILED, {**job,
                                                      "entry": "3-0", "stream": stream, "error": "TimeoutError",
                                                      "reason": "telegram timed out", "attempts": "4",
                                                      "at": f"{time.time():.0f}"}))
    page = await (await ops.get("/staff/ops")).text()
    assert "telegram timed out" in page and 'id="notify-failed"' in page and "telegram:42" not in page
    token = await csrf(ops)
    resp = await ops.post(f"/staff/api/ops/notify/{entry}", json={"action": "resend"}, headers={"X-CSRF-Token": token})
    assert resp.status == 200
    [(_, fields)] = await redis.xrange(stream)
    assert {as_str(k): as_str(v) for k, v in fields.items()} == job


async def test_annotators_cannot_open_or_act(accounts, redis_ops, gateway) -> None:
    _, redis = redis_ops
    entry = await _dead_mt(redis)
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_ops[0],
                           dossier_api_url="http://127.0.0.1:9", staff_db_path=accounts.path)
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    assert (await client.get("/staff/ops")).status == 403
    resp = await client.post(f"/staff/api/ops/sms/{entry}", json={"action": "discard"},
                             headers={"X-CSRF-Token": await csrf(client)})
    assert resp.status == 403 and await redis.xlen(sms_keys.DEAD_STREAM) == 1


async def test_receipt_outcomes_count_missing_receipts_and_given_up_mts(ops: TestClient, redis_ops) -> None:
    _, redis = redis_ops
    now = time.time()
    today = local_now().date()
    await stats.record(redis, stats.Count(stats.DLR, "DELIVRD", 6), stats.Count(stats.DLR, "UNDELIV", 1))
    old, recent, answered = f"{int((now - 2 * 3600) * 1000)}-0", f"{int(now * 1000)}-0", f"{int(now * 1000)}-1"
    for smsc_id, mt in (("a1", old), ("a2", recent), ("a3", answered)):
        await redis.hset(sms_keys.message_id(smsc_id), mapping={"mt": mt, "part": "0"})
    await redis.hset(sms_keys.mt_state(answered), "0", "DELIVRD")
    await _dead_mt(redis)
    # Since yesterday, as the page reads several days: "two hours ago" is yesterday in the first two hours of a day.
    outcomes = await ops_pages.sms_outcomes(redis, today - dt.timedelta(days=1), today, now)
    assert outcomes == {"DELIVRD": 6, "UNDELIV": 1, ops_pages.NEVER: 1, ops_pages.WAITING: 1, ops_pages.GIVEN_UP: 1}
    assert ops_pages.delivered_share(outcomes) == 6 / 9
    page = await (await ops.get("/staff/ops")).text()
    assert "66,7 %" in page and 'data-outcome="never"' in page and "sms:dead" in page  # the streams table
    dashboard = await (await ops.get("/staff/dashboard?days=7")).text()
    assert "66.7 %" in dashboard  # the dashboard no longer says 100 % with failures around


@pytest.mark.parametrize("channel", ["telegram", "zalo"])
async def test_a_chat_reply_given_up_is_listed_masked_and_resent_once_as_it_was(
        ops: TestClient, redis_ops, channel: str) -> None:
    _, redis = redis_ops
    recipient = "731905884" if channel == "telegram" else "5218420019384470112"
    message = {"text": f"Hồ sơ đã có kết quả; cán bộ sẽ gọi số {PHONE[2:].rjust(10, '0')} của anh/chị.",
               "parts": [{"text": "phần 1"}, {"text": "phần 2"}]}
    await outbox.record(redis, channel, "chat_id" if channel == "telegram" else "user_id", recipient, message,
                        "NetworkError", "Bad Gateway (502) after 5 attempts", {"sender": f"{channel}:{recipient}"})
    [(raw_id, _)] = await redis.xrange(outbox.undelivered_stream(channel))
    entry = as_str(raw_id)
    page = await (await ops.get("/staff/ops")).text()
    section = page[page.index(f'id="{channel}-undelivered"'):]
    assert f'data-dead="{entry}"' in section and "Bad Gateway (502) after 5 attempts" in section
    assert "Tin trả lời qua" in section and "Gửi lại" in section
    assert recipient not in page and PHONE[2:] not in page and "&lt;SĐT&gt;" in section  # recipient and phone masked
    token = await csrf(ops)
    resp = await ops.post(f"/staff/api/ops/{channel}/{entry}", json={"action": "resend"},
                          headers={"X-CSRF-Token": token})
    assert resp.status == 200
    [(_, fields)] = await redis.xrange(outbox.outbox_stream(channel))
    turn = outbox.Turn.loads(as_str(fields[b"turn"]))
    assert (turn.to, turn.messages, turn.context) == (recipient, [message], {"sender": f"{channel}:{recipient}"})
    assert await redis.xlen(outbox.undelivered_stream(channel)) == 0
    again = await ops.post(f"/staff/api/ops/{channel}/{entry}", json={"action": "resend"},
                           headers={"X-CSRF-Token": token})
    assert again.status == 404 and await redis.xlen(outbox.outbox_stream(channel)) == 1


async def test_a_chat_reply_recorded_without_its_message_can_only_be_discarded(ops: TestClient, redis_ops) -> None:
    _, redis = redis_ops
    old = as_str(await redis.xadd(outbox.undelivered_stream("zalo"), {"user_id": "12345", "error": "-232",
                                                                      "text": "Cảm ơn anh/chị", "at": "1764547200"}))
    token = await csrf(ops)
    resp = await ops.post(f"/staff/api/ops/zalo/{old}", json={"action": "resend"}, headers={"X-CSRF-Token": token})
    assert resp.status == 409 and await redis.xlen(outbox.outbox_stream("zalo")) == 0
    [(new_id, _)] = await redis.xrange(outbox.undelivered_stream("zalo"))  # put back, to be discarded
    resp = await ops.post(f"/staff/api/ops/zalo/{as_str(new_id)}", json={"action": "discard"},
                          headers={"X-CSRF-Token": token})
    assert resp.status == 200 and await redis.xlen(outbox.undelivered_stream("zalo")) == 0
