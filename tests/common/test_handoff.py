import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from common import handoff
from common.handoff import Claim, EndRefused, in_office_hours

HOURS = "07:30-11:30,13:30-17:00"
T0 = 1_800_000_000.0
TIMEOUT = 300.0
IDLE = 1800.0


def test_office_hours() -> None:
    thursday = dt.date(2026, 11, 26)
    at = lambda day, h, m=0: dt.datetime.combine(day, dt.time(h, m))  # noqa: E731
    assert in_office_hours(at(thursday, 7, 30), HOURS) and in_office_hours(at(thursday, 16, 59), HOURS)
    assert not in_office_hours(at(thursday, 12, 0), HOURS)  # lunch
    assert not in_office_hours(at(thursday, 17, 0), HOURS)
    assert not in_office_hours(at(dt.date(2026, 11, 28), 9, 0), HOURS)  # Saturday
    assert not in_office_hours(at(dt.date(2027, 9, 2), 9, 0), HOURS)  # National Day
    assert in_office_hours(at(dt.date(2026, 11, 29), 3, 0), "always")
    assert not in_office_hours(at(thursday, 9, 0), "")


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A Redis database of these tests' own (the queue and the due times are global), emptied."""
    client = aioredis.from_url(redis_url.rsplit("/", 1)[0] + "/6")
    await client.flushdb()
    yield client
    await client.close()


async def test_a_citizen_waits_then_a_staff_member_claims_and_replies(redis) -> None:
    assert await handoff.citizen_said(redis, "web:abc12345", "alo", T0, TIMEOUT) is None  # not handed off: the bot's
    assert await handoff.start(redis, "web:abc12345", T0, TIMEOUT)
    assert not await handoff.start(redis, "web:abc12345", T0 + 1, TIMEOUT)  # once
    assert await handoff.citizen_said(redis, "web:abc12345", "alo, có ai không?", T0 + 5, TIMEOUT) == "waiting"
    [queued] = await handoff.active(redis)
    assert (queued.sender, queued.state, queued.channel, queued.last) == ("web:abc12345", "waiting", "web",
                                                                          "alo, có ai không?")
    assert not await handoff.staff_said(redis, "web:abc12345", "lan", "chào", T0 + 6, IDLE)  # not claimed: refused

    assert await handoff.claim(redis, "web:abc12345", "lan", T0 + 10) is Claim.CLAIMED
    assert await handoff.claim(redis, "web:abc12345", "lan", T0 + 11) is Claim.CLAIMED  # again: still hers
    assert await handoff.claim(redis, "web:abc12345", "minh", T0 + 12) is Claim.TAKEN
    assert not await handoff.staff_said(redis, "web:abc12345", "minh", "chào", T0 + 13, IDLE)
    assert await handoff.staff_said(redis, "web:abc12345", "lan", "Chào anh/chị", T0 + 20, IDLE)
    assert await handoff.citizen_said(redis, "web:abc12345", "cảm ơn", T0 + 30, TIMEOUT) == "claimed"
    log = await handoff.log(redis, "web:abc12345")
    assert [(e.by, e.text) for e in log if e.by != "system"] == [
        ("citizen", "alo, có ai không?"), ("staff", "Chào anh/chị"), ("citizen", "cảm ơn")]
    assert log[-2].staff == "lan"
    assert await redis.ttl(handoff.log_key("web:abc12345")) > 0  # the log is kept for a bounded time

    with pytest.raises(EndRefused) as refused:
        await handoff.end(redis, "web:abc12345", T0 + 40, "x", staff="minh")
    assert refused.value.reason == "not_yours"
    ended = await handoff.end(redis, "web:abc12345", T0 + 41, "Trả lại", staff="lan")
    assert ended.replied and ended.staff == "lan"
    assert await handoff.active(redis) == [] and await handoff.overdue(redis, T0 + 10**6) == []
    assert await handoff.citizen_said(redis, "web:abc12345", "tra cứu", T0 + 50, TIMEOUT) is None  # the bot's again
    with pytest.raises(EndRefused):
        await handoff.end(redis, "web:abc12345", T0 + 51, "x", mode="any")


async def test_two_staff_claiming_at_once_one_wins(redis) -> None:
    for i in range(20):
        sender = f"telegram:{i}"
        await handoff.start(redis, sender, T0, TIMEOUT)
        results = await asyncio.gather(*(handoff.claim(redis, sender, staff, T0 + 1) for staff in ("lan", "minh")))
        assert sorted(r.value for r in results) == ["claimed", "taken"]
        winner = "lan" if results[0] is Claim.CLAIMED else "minh"
        assert (await handoff.get(redis, sender)).staff == winner
    assert await handoff.claim(redis, "telegram:none", "lan", T0) is Claim.GONE


async def test_timeout_counts_from_the_oldest_unanswered_citizen_message(redis) -> None:
    await handoff.start(redis, "zalo:1", T0, TIMEOUT)
    assert await handoff.overdue(redis, T0 + TIMEOUT - 1) == []
    assert await handoff.overdue(redis, T0 + TIMEOUT) == ["zalo:1"]  # nobody answered the request itself

    await handoff.claim(redis, "zalo:1", "lan", T0 + 10)
    await handoff.staff_said(redis, "zalo:1", "lan", "Tôi nghe", T0 + 20, IDLE)  # answered: only the idle limit
    assert await handoff.overdue(redis, T0 + 20 + IDLE - 1) == []
    assert await handoff.overdue(redis, T0 + 20 + IDLE) == ["zalo:1"]
    assert (await handoff.get(redis, "zalo:1")).answered
    await handoff.citizen_said(redis, "zalo:1", "hồ sơ của tôi đâu", T0 + 100, TIMEOUT)  # the usual timeout again
    assert not (await handoff.get(redis, "zalo:1")).answered
    await handoff.citizen_said(redis, "zalo:1", "alo?", T0 + 200, TIMEOUT)  # does not push the due time later
    assert await handoff.overdue(redis, T0 + 100 + TIMEOUT - 1) == []
    assert await handoff.overdue(redis, T0 + 100 + TIMEOUT) == ["zalo:1"]

    with pytest.raises(EndRefused) as early:
        await handoff.end(redis, "zalo:1", T0 + 150, "timeout", mode="timeout")
    assert early.value.reason == "not_due"
    # Two replicas see it due at once: one ends it.
    outcomes = await asyncio.gather(*(handoff.end(redis, "zalo:1", T0 + 1000, "timeout", mode="timeout")
                                      for _ in range(2)), return_exceptions=True)
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all(o.reason == "gone" for o in outcomes if isinstance(o, EndRefused))


async def test_log_is_bounded(redis) -> None:
    await handoff.start(redis, "web:bounded1", T0, TIMEOUT)
    for i in range(handoff.LOG_MAX + 20):
        await handoff.citizen_said(redis, "web:bounded1", f"tin {i}", T0 + i, TIMEOUT)
    log = await handoff.log(redis, "web:bounded1")
    assert len(log) == handoff.LOG_MAX and log[-1].text == f"tin {handoff.LOG_MAX + 19}"


async def test_canned_replies_are_editable(redis) -> None:
    assert await handoff.canned(redis) == list(handoff.DEFAULT_CANNED)
    assert await handoff.set_canned(redis, ["  Xin chào anh/chị ", "", "Vui lòng chờ"]) == ["Xin chào anh/chị",
                                                                                         "Vui lòng chờ"]
    assert await handoff.canned(redis) == ["Xin chào anh/chị", "Vui lòng chờ"]
    assert await handoff.set_canned(redis, [" "]) == list(handoff.DEFAULT_CANNED)


async def test_satisfaction_is_stored_once_and_only_when_asked(redis) -> None:
    assert not await handoff.answer_csat(redis, "web:csat0001", 1, T0)
    await handoff.ask_csat(redis, "web:csat0001", "lan")
    assert 0 < await redis.ttl(handoff.csat_key("web:csat0001")) <= handoff.CSAT_TTL_S
    assert await handoff.answer_csat(redis, "web:csat0001", 3, T0)
    assert not await handoff.answer_csat(redis, "web:csat0001", 1, T0)  # a second press
    assert await handoff.csat_answers(redis) == [{"at": T0, "channel": "web", "staff": "lan", "score": 3}]


async def test_route_is_one_decision_for_every_channel(redis) -> None:
    sender = "sms:84905550199"
    assert await handoff.route(redis, sender, "alo", T0, TIMEOUT) is None  # not handed off: the bot's
    assert await handoff.hand_over(redis, sender, T0, TIMEOUT)
    assert await handoff.route(redis, sender, "cho hỏi giấy phép rượu", T0 + 1, TIMEOUT) == [handoff.STILL_WAITING]
    assert await handoff.route(redis, sender, "hs 000.00.12.H17-200115-0001 sao roi", T0 + 2, TIMEOUT) is None
    assert await handoff.route(redis, sender, "/danh_gia", T0 + 3, TIMEOUT) is None  # a button of the bot's
    assert await handoff.claim(redis, sender, "lan", T0 + 4) is Claim.CLAIMED
    assert await handoff.route(redis, sender, "vâng", T0 + 5, TIMEOUT) == []  # to the staff member, silently
    assert [e.text for e in await handoff.log(redis, sender) if e.by == "citizen"] == ["cho hỏi giấy phép rượu", "vâng"]
    assert await handoff.route(redis, sender, f" {handoff.LEAVE_PAYLOAD} ", T0 + 6, TIMEOUT) == [handoff.LEFT]
    assert await handoff.get(redis, sender) is None
    assert await handoff.route(redis, sender, "vâng", T0 + 7, TIMEOUT) is None  # the bot's again
    assert await handoff.route(redis, sender, "/csat_1", T0 + 8, TIMEOUT) == [handoff.CSAT_EXPIRED]  # never asked


async def test_route_leaves_the_citizen_to_the_bot_when_redis_is_down() -> None:
    down = aioredis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)
    try:
        assert await handoff.route(down, "zalo:1", "alo", T0, TIMEOUT) is None
        assert not await handoff.hand_over(down, "zalo:1", T0, TIMEOUT)
    finally:
        await down.close()


async def test_the_leave_buttons_title_typed_leaves_only_a_handoff(redis) -> None:
    sender = "web:typed-leave"
    assert await handoff.route(redis, sender, "quay lại trợ lý ảo", T0, TIMEOUT) is None  # nothing to leave: the bot's
    assert await handoff.hand_over(redis, sender, T0, TIMEOUT)
    assert await handoff.claim(redis, sender, "lan", T0 + 1) is Claim.CLAIMED
    assert await handoff.route(redis, sender, "Quay lai tro ly ao!", T0 + 2, TIMEOUT) == [handoff.LEFT]
    assert await handoff.get(redis, sender) is None
    assert await handoff.route(redis, sender, "lệ phí bán buôn rượu", T0 + 3, TIMEOUT) is None  # the bot answers it
