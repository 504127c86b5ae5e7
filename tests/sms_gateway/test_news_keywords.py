"""SMS news keywords: ``TIN <chủ đề>``, ``TIN``, ``HUY TIN [<chủ đề>]`` parsed (pure) and answered
by the router against a real Redis; the replies fit the segment cap once folded."""

from __future__ import annotations

import datetime as dt

import pytest
import redis.asyncio as aioredis

from clients.rasa import RasaClient
from common import news
from common.settings import Settings
from common.sms_text import prepare
from dossier_api.client import DossierClient
from sms_gateway.config import SmsSettings
from sms_gateway.keywords import Kind, parse_sms
from sms_gateway.router import Router

MSISDN = "84905550177"


@pytest.mark.parametrize(("text", "kind", "topics", "error"), [
    ("TIN XANGDAU", Kind.NEWS, ("xang_dau",), None),
    ("tin xang dau", Kind.NEWS, ("xang_dau",), None),
    ("Tin khuyến mại", Kind.NEWS, ("khuyen_mai",), None),
    ("TIN ATTP DIEN", Kind.NEWS, ("an_toan_thuc_pham", "dien"), None),
    ("TIN", Kind.NEWS, (), None),
    ("tin moi", Kind.NEWS, (), None),
    ("TIN BONGDA", Kind.NEWS, (), "unknown_topic"),
    ("HUY TIN", Kind.NEWS_STOP, (), None),
    ("huy tin xangdau", Kind.NEWS_STOP, ("xang_dau",), None),
    ("HỦY TIN KHUYEN MAI", Kind.NEWS_STOP, ("khuyen_mai",), None),
    ("HUY", Kind.UNSUBSCRIBE, (), None),
    ("tin gi moi khong ban", Kind.CHAT, (), None),
    ("tinh trang ho so", Kind.CHAT, (), None),
])
def test_news_keywords_are_parsed(text: str, kind: Kind, topics: tuple[str, ...], error: str | None) -> None:
    command = parse_sms(text)
    assert (command.kind, command.topics, command.error) == (kind, topics, error)


@pytest.fixture
async def router(redis_url: str):
    redis = aioredis.from_url(redis_url.rsplit("/", 1)[0] + "/10")
    await redis.flushdb()
    dossiers = DossierClient("http://127.0.0.1:9")  # never called on the news keywords
    yield Router(redis, dossiers, RasaClient("http://127.0.0.1:9"), Settings(), SmsSettings(rate_limit_per_min=100))
    await dossiers.close()
    await redis.close()


def _fits(text: str | None) -> str:
    assert text is not None
    assert len(prepare(text, False, SmsSettings().max_segments)) <= SmsSettings().max_segments
    return text


async def test_subscribing_and_leaving_topics_by_sms(router: Router) -> None:
    sender = f"sms:{MSISDN}"
    reply = _fits(await router.reply(MSISDN, "TIN XANG DAU"))
    assert "Đã đăng ký nhận tin xăng dầu" in reply and "HUY TIN XANGDAU" in reply
    assert "từ trước" in _fits(await router.reply(MSISDN, "tin xangdau"))
    await router.reply(MSISDN, "TIN KHUYENMAI")
    assert await news.topics_of(router.redis, sender) == ["xang_dau", "khuyen_mai"]
    assert "Đã hủy nhận tin xăng dầu" in _fits(await router.reply(MSISDN, "HUY TIN XANGDAU"))
    assert await news.topics_of(router.redis, sender) == ["khuyen_mai"]
    assert "Đã hủy nhận tin khuyến mại" in _fits(await router.reply(MSISDN, "HUY TIN"))
    assert "chưa đăng ký" in _fits(await router.reply(MSISDN, "HUY TIN"))
    assert await news.topics_of(router.redis, sender) == []
    assert "XANGDAU" in _fits(await router.reply(MSISDN, "TIN BONGDA"))


async def test_tin_alone_lists_the_topic_codes_and_the_latest_news(router: Router) -> None:
    nothing_yet = _fits(await router.reply(MSISDN, "TIN MOI"))
    assert "chưa có thông báo mới" in nothing_yet and "Soạn TIN <chủ đề>" in nothing_yet
    long = "Các cửa hàng xăng dầu niêm yết giá mới và bán đúng giá. " * 8
    for day in (1, 2, 3):
        await news.publish(router.redis, f"Thông báo số {day} về giá xăng dầu trong tháng", long[:500],
                           ["xang_dau"], "canbo1", dt.datetime(2026, 12, day, 9))
    reply = _fits(await router.reply(MSISDN, "TIN"))
    assert "XANGDAU" in reply and "ATTP" in reply and "KHUYENMAI" in reply
    assert "03/12/2026 Thông báo số 3" in reply and "Thông báo số 2" in reply
