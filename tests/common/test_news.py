"""The news store against a real Redis: announcements, topic subscriptions, once-only fan-out
(also when the fan-out is cut short by a crash and taken again after a restart)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from bot.notifier import DEFERRED, Notifier, out_stream
from common import news
from common.settings import Settings
from common.streams import SMS_OUTBOX
from common.text import as_str

NOW = dt.datetime(2026, 12, 1, 9, 30)


@pytest.fixture
async def redis(redis_url: str):
    client = aioredis.from_url(redis_url.rsplit("/", 1)[0] + "/11")
    await client.flushdb()
    yield client
    await client.close()


def test_topics_are_found_with_and_without_diacritics_and_as_sms_codes() -> None:
    assert news.find_topics("đăng ký nhận tin xăng dầu") == ["xang_dau"]
    assert news.find_topics("TIN XANGDAU") == ["xang_dau"]
    assert news.find_topics("tin XANG DAU") == ["xang_dau"]
    assert news.find_topics("nhan tin khuyen mai voi thuong mai dien tu") == ["khuyen_mai", "thuong_mai_dien_tu"]
    assert news.find_topics("tin ATTP") == ["an_toan_thuc_pham"]
    assert news.find_topics("có tin gì mới không") == []
    assert news.topic_code("dien") == "dien" and news.topic_code("Khuyến mãi") == "khuyen_mai"
    assert news.topic_code("bóng đá") is None


def test_an_announcement_is_validated() -> None:
    with pytest.raises(news.NewsError, match="Tiêu đề"):
        news.validate("Ngắn", "Nội dung đủ dài để đăng.", ["dien"])
    with pytest.raises(news.NewsError, match="chủ đề"):
        news.validate("Giá xăng điều chỉnh", "Nội dung đủ dài để đăng.", [])
    with pytest.raises(news.NewsError, match="không hợp lệ"):
        news.validate("Giá xăng điều chỉnh", "Nội dung đủ dài để đăng.", ["bong_da"])
    assert news.validate("  Giá xăng   điều chỉnh ", "Từ 15 giờ hôm nay.", ["xang_dau", "xang_dau"]) == (
        "Giá xăng điều chỉnh", "Từ 15 giờ hôm nay.", ("xang_dau",))


async def test_published_announcements_are_kept_newest_first_and_queued(redis) -> None:
    first = await news.publish(redis, "Giá xăng giảm từ 15 giờ", "Xăng RON95 giảm 300 đồng/lít.", ["xang_dau"],
                               "canbo1", NOW)
    second = await news.publish(redis, "Hội chợ hàng Việt tháng 12", "Từ 10 đến 15/12 tại Công viên 29/3.",
                                ["hoi_cho", "khuyen_mai"], "canbo2", NOW + dt.timedelta(hours=1))
    assert [a.id for a in await news.latest(redis)] == [second.id, first.id]
    assert await news.get(redis, first.id) == first
    assert second.topic_labels == "hội chợ, triển lãm, khuyến mại"
    queued = await redis.xrange(news.PUBLISHED)
    assert [as_str(f[b"news"]) for _, f in queued] == [str(first.id), str(second.id)]


async def test_subscriptions_per_sender_and_counts_per_topic(redis) -> None:
    assert await news.subscribe(redis, "sms:84905000001", ["xang_dau", "dien"]) == ["xang_dau", "dien"]
    assert await news.subscribe(redis, "sms:84905000001", ["xang_dau"]) == []
    assert await news.subscribe(redis, "web:abc", ["dien"]) == ["dien"]
    assert await news.topics_of(redis, "sms:84905000001") == ["xang_dau", "dien"]
    counts = await news.subscriber_counts(redis)
    assert counts["xang_dau"] == 1 and counts["dien"] == 2 and counts["khuyen_mai"] == 0
    assert await news.subscribers(redis, ("xang_dau", "dien")) == {"sms:84905000001", "web:abc"}
    assert await news.unsubscribe(redis, "sms:84905000001", ["dien"]) == ["dien"]
    assert await news.unsubscribe(redis, "sms:84905000001") == ["xang_dau"]
    assert await news.unsubscribe(redis, "sms:84905000001") == []
    assert await news.subscribers(redis, ("xang_dau", "dien")) == {"web:abc"}


async def test_queue_once_never_queues_a_sender_twice(redis) -> None:
    jobs = [(f"telegram:{i}", out_stream("telegram")) for i in range(450)]  # more than one chunk
    assert await news.queue_once(redis, 7, jobs[:100]) == 100
    assert await news.queue_once(redis, 7, jobs) == 350
    assert await news.queue_once(redis, 7, jobs) == 0
    assert await news.queue_once(redis, 8, jobs[:1]) == 1  # another announcement is another marker
    assert await redis.xlen(out_stream("telegram")) == 451


class CrashingRedis:
    """The Redis client of a gateway that dies during its second fan-out call."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.evals = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def eval(self, *args: Any) -> Any:
        self.evals += 1
        if self.evals == 2:
            raise redis_errors.ConnectionError("gateway killed mid fan-out")
        return await self.real.eval(*args)


async def test_a_fan_out_cut_short_by_a_restart_reaches_everyone_once(redis, monkeypatch) -> None:
    monkeypatch.setattr(news, "_CHUNK", 3)
    senders = [f"telegram:{i}" for i in range(5)] + [f"sms:8490500000{i}" for i in range(4)] + ["web:s1"]
    for sender in senders:
        await news.subscribe(redis, sender, ["khuyen_mai"])
    await news.subscribe(redis, "web:s2", ["dien"])  # another topic: not told
    await news.subscribe(redis, "web:s1", ["hoi_cho"])  # two topics of the announcement: told once
    announcement = await news.publish(redis, "Khuyến mại tập trung cuối năm",
                                      "Từ 01/12 đến 31/12 doanh nghiệp được giảm giá tối đa 100%.",
                                      ["khuyen_mai", "hoi_cho"], "canbo1", NOW)
    settings = Settings(redis_url="redis://unused", notify_quiet_hours="")

    crashing = CrashingRedis(redis)
    first = Notifier(settings, crashing, None, {})  # type: ignore[arg-type]
    await first.prepare()
    await first.expand_once()  # dies after the first chunk: the entry stays pending
    assert (await redis.xpending(news.PUBLISHED, "notifiers"))["pending"] == 1
    assert await redis.scard(news.sent_key(announcement.id)) == 3

    restarted = Notifier(settings, redis, None, {})  # type: ignore[arg-type]  # same consumer name
    await restarted.expand_once()
    await restarted.expand_once()  # nothing more to take
    assert (await redis.xpending(news.PUBLISHED, "notifiers"))["pending"] == 0

    told: list[str] = []
    for channel in ("telegram", "sms", "web"):
        for _, fields in await redis.xrange(out_stream(channel)):
            assert as_str(fields[b"news"]) == str(announcement.id)
            told.append(as_str(fields[b"sender"]))
    assert sorted(told) == sorted(senders)


async def test_an_announcement_published_at_night_waits_for_the_morning(redis) -> None:
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    now = [dt.datetime(2026, 12, 1, 22, 15, tzinfo=tz)]
    await news.subscribe(redis, "telegram:9001", ["dien"])
    await news.subscribe(redis, "sms:84905009001", ["dien"])
    announcement = await news.publish(redis, "Lịch cắt điện ngày 02/12", "Khu vực phường Hải Châu, 8 giờ đến 11 giờ.",
                                      ["dien"], "canbo1", now[0].replace(tzinfo=None))
    told: list[tuple[str, str]] = []

    async def send(user: str, text: str) -> None:
        told.append((user, text))

    settings = Settings(_env_file=None, notify_quiet_hours="21:00-07:00")
    notifier = Notifier(settings, redis, None, {"telegram": send}, clock=lambda: now[0])  # type: ignore[arg-type]
    await notifier.prepare()
    await notifier.expand_once()
    await notifier.deliver_once()
    assert told == [] and await redis.zcard(DEFERRED) == 2 and await redis.xlen(SMS_OUTBOX) == 0
    now[0] = dt.datetime(2026, 12, 2, 7, 0, tzinfo=tz)
    assert await notifier.release_due() == 2
    await notifier.deliver_once()
    assert [user for user, _ in told] == ["9001"] and announcement.title in told[0][1]
    [(_, sms)] = await redis.xrange(SMS_OUTBOX)
    assert as_str(sms[b"dest"]) == "84905009001" and "HUY TIN" in as_str(sms[b"text"])
