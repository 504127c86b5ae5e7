"""News actions with real trackers and a real Redis: subscribing by name or button, topic buttons
when none is named, leaving news (and dossiers when that is what the citizen follows), latest news."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import redis.asyncio as aioredis
from rasa_sdk.executor import CollectingDispatcher

import actions.base
from actions.news import ActionDangKyNhanTin, ActionTinMoi, asks_about_news, leaves_news
from actions.notifications import ActionHuyDangKy
from common import news, subscriptions
from common.settings import get_settings
from content import texts
from tests.actions.conftest import make_tracker

SENDER = "telegram:news-7001"


@pytest.fixture
async def redis(redis_url: str, monkeypatch: pytest.MonkeyPatch):
    url = redis_url.rsplit("/", 1)[0] + "/7"
    monkeypatch.setenv("REDIS_URL", url)
    get_settings.cache_clear()
    monkeypatch.setattr(actions.base, "_redis", None)
    client = aioredis.from_url(url)
    await client.flushdb()
    yield client
    await client.close()
    get_settings.cache_clear()


async def _run(action, text: str, intent: str, entities: list | None = None, sender: str = SENDER) -> list[dict]:
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, make_tracker(text, intent, entities, sender_id=sender), {})
    return dispatcher.messages


def test_news_is_told_from_text_messages() -> None:
    assert asks_about_news("hủy nhận tin") and asks_about_news("thoi ko nhan ban tin nua")
    assert asks_about_news("huy tin khuyen mai")
    assert not asks_about_news("hủy đăng ký 000.00.12.H17-200115-0001")
    assert not asks_about_news("không nhận tin nhắn hồ sơ nữa")
    # Leaving: "tin" alone is the news, unless a dossier is named.
    assert leaves_news("hủy hết tin của sở đi") and leaves_news("dung gui tin nua")
    assert not leaves_news("không nhận tin nhắn hồ sơ nữa") and not leaves_news("hủy tin hồ sơ của em")
    assert not leaves_news("hủy đăng ký 000.00.12.H17-200115-0001")


async def test_subscribing_by_name_then_by_button(redis) -> None:
    said = await _run(ActionDangKyNhanTin(), "đăng ký nhận tin xăng dầu", "dang_ky_nhan_tin")
    assert "Đã đăng ký nhận tin xăng dầu" in said[0]["text"] and "hủy nhận tin xăng dầu" in said[0]["text"]
    asked = await _run(ActionDangKyNhanTin(), "cho mình đăng ký nhận tin", "dang_ky_nhan_tin")
    assert asked[0]["text"].startswith(texts.text("news.ask_topic")) and "đang nhận tin: xăng dầu" in asked[0]["text"]
    payloads = [b["payload"] for b in asked[0]["buttons"]]
    assert len(payloads) == len(news.TOPICS) - 1 and not any("xang_dau" in p for p in payloads)
    chosen = next(p for p in payloads if "khuyen_mai" in p)
    entity = json.loads(chosen.removeprefix("/dang_ky_nhan_tin"))
    await _run(ActionDangKyNhanTin(), chosen, "dang_ky_nhan_tin",
               [{"entity": "chu_de", "value": entity["chu_de"]}])
    assert await news.topics_of(redis, SENDER) == ["xang_dau", "khuyen_mai"]


async def test_leaving_news_and_dossiers(redis) -> None:
    await news.subscribe(redis, SENDER, ["xang_dau", "dien"])
    said = await _run(ActionHuyDangKy(), "hủy nhận tin điện", "huy_dang_ky")
    assert said[0]["text"].startswith("Đã hủy nhận tin điện")
    assert await news.topics_of(redis, SENDER) == ["xang_dau"]
    said = await _run(ActionHuyDangKy(), "thôi không nhận tin nữa", "huy_dang_ky")
    assert said[0]["text"].startswith("Đã hủy nhận tin xăng dầu")
    code = "000.00.12.H17-200115-0001"
    await subscriptions.subscribe(redis, code, SENDER)
    said = await _run(ActionHuyDangKy(), "thôi không nhận tin nữa", "huy_dang_ky")  # no topic left: the dossier
    assert said[0]["text"] == f"Đã hủy nhận thông báo cho hồ sơ {code}."
    said = await _run(ActionHuyDangKy(), "hủy nhận tin", "huy_dang_ky")
    assert said[0]["text"] == "Anh/chị chưa đăng ký nhận tin chủ đề nào."


async def test_latest_news_three_newest_with_dates(redis) -> None:
    said = await _run(ActionTinMoi(), "có tin gì mới không", "hoi_tin_moi")
    assert said[0]["text"].startswith("Hiện Sở Công Thương chưa có thông báo mới nào.")
    for day in range(1, 5):
        await news.publish(redis, f"Thông báo thứ {day} của tháng", f"Nội dung tóm tắt số {day}.", ["dien"],
                           "canbo1", dt.datetime(2026, 11, day, 8))
    text = (await _run(ActionTinMoi(), "có tin gì mới không", "hoi_tin_moi"))[0]["text"]
    assert "04/11/2026 · Thông báo thứ 4 của tháng: Nội dung tóm tắt số 4." in text
    assert "thứ 2" in text and "thứ 1" not in text and "đăng ký nhận tin" in text
    await news.subscribe(redis, SENDER, ["dien"])
    assert "đăng ký nhận tin" not in (await _run(ActionTinMoi(), "tin mới", "hoi_tin_moi"))[0]["text"]


async def test_registering_a_business_is_not_a_news_subscription(api_url, redis) -> None:
    """Taken for a subscription (a sector named, "đăng ký"), a question with no word of news is
    answered as the procedure question it is."""
    said = await _run(ActionDangKyNhanTin(), "muốn mở cửa hàng bán lẻ xăng dầu thì đăng ký ở đâu",
                      "dang_ky_nhan_tin")
    assert await news.topics_of(redis, SENDER) == []
    text = " ".join(m.get("text") or "" for m in said)
    assert texts.text("news.ask_topic") not in text and "Đã đăng ký nhận tin" not in text
    assert "xăng dầu" in text.lower()


async def test_the_price_of_petrol_read_as_news_gets_the_price_rules(api_url: str) -> None:
    from actions.news import ActionTinMoi

    dispatcher = CollectingDispatcher()
    await ActionTinMoi().run(dispatcher, make_tracker("giá xăng hôm nay bao nhiêu", "hoi_tin_moi"), {})
    assert "kỳ điều hành" in dispatcher.messages[0]["text"]


async def test_one_more_asked_right_after_subscribing_is_subscribed_not_left(api_url: str, seeded_db, redis) -> None:
    from actions.lookup import ActionTraCuuHoSo
    from actions.notifications import ActionDangKyThongBao
    from dossier_api.db import Database

    first = await _run(ActionDangKyNhanTin(), "đăng ký nhận tin xăng dầu", "dang_ky_nhan_tin")
    more = make_tracker("them tin dien nua", "huy_dang_ky", sender_id=SENDER)
    more.events.insert(0, {"event": "bot", "text": first[0]["text"]})
    await ActionHuyDangKy().run(CollectingDispatcher(), more, {})
    assert await news.topics_of(redis, SENDER) == ["xang_dau", "dien"]
    # after a subscription by SMS keyword, which the assistant did not see: "thêm" and a topic add it
    await ActionHuyDangKy().run(CollectingDispatcher(), make_tracker("them tin khuyen mai nua", "huy_dang_ky",
                                                                     sender_id=SENDER), {})
    assert set(await news.topics_of(redis, SENDER)) == {"xang_dau", "dien", "khuyen_mai"}
    codes = [d.code for d in Database(seeded_db).dossiers("dang_xu_ly", 2, 0)[0]]
    subscribed = CollectingDispatcher()
    await ActionDangKyThongBao().run(subscribed, make_tracker(f"báo tôi khi hồ sơ {codes[0]} thay đổi",
                                                              "dang_ky_thong_bao",
                                                              [{"entity": "ma_ho_so", "value": codes[0]}],
                                                              sender_id=SENDER), {})
    also = make_tracker(f"cả hồ sơ {codes[1]} nữa", "tra_cuu_ho_so", [{"entity": "ma_ho_so", "value": codes[1]}],
                        slots={"ma_ho_so": codes[1]}, sender_id=SENDER)
    also.events.insert(0, {"event": "bot", "text": subscribed.messages[0]["text"]})
    await ActionTraCuuHoSo().run(CollectingDispatcher(), also, {})
    assert await subscriptions.codes_of(redis, SENDER) == set(codes)
