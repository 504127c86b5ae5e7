"""Industry news on the chat channels: subscribing to topics, leaving them, the latest news.

The subscriptions are the ones SMS makes with ``TIN <chủ đề>`` (``common/news.py``); the
notifier delivers each announcement once per channel sender (web through its push stream).
"""

from __future__ import annotations

import json
import logging
import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import channel_of, latest_entity, redis_client
from actions.notifications import PUSH_CHANNELS
from common import news, subscriptions
from common.codes import find_codes
from common.text import fold_key
from content import news as news_texts
from content import texts

logger = logging.getLogger(__name__)

# "nhận tin", "bản tin", "tin tức", "tin mới" name the news; "tin nhắn" (a text message) does not.
_NEWS_WORDS = re.compile(r"(?<!\w)(?:ban tin|tin tuc|tin moi|nhan tin(?! nhan))(?!\w)")


# A subscription names the news ("tin", "bản tin", "thông báo"...): "muốn mở cửa hàng xăng dầu thì
# đăng ký ở đâu" names a topic but asks how to register a business.
_NEWS_CUE = re.compile(r"(?<!\w)(?:tin|thong bao|tb|news|announcements?|subscribe|sub|theo doi|bao cho|bao tin)(?!\w)")


def topics_asked(tracker: Tracker) -> list[str]:
    """The topics the latest message names: a button's ``chu_de`` entity, else the text."""
    value = latest_entity(tracker, "chu_de")
    if value:
        code = news.topic_code(str(value))
        return [code] if code else []
    return news.find_topics(tracker.latest_message.get("text") or "")


_BARE_NEWS = re.compile(r"(?<!\w)tin(?! nhan)(?!\w)")


def leaves_news(text: str) -> bool:
    """Whether an unsubscription is from the news: it is about them, or says "tin" alone ("hủy hết
    tin của sở", "đừng gửi tin nữa") without naming a dossier ("tin nhắn hồ sơ" are its notices)."""
    key = fold_key(text)
    return asks_about_news(text) or (_BARE_NEWS.search(key) is not None and "ho so" not in key
                                     and not find_codes(text))


def asks_about_news(text: str) -> bool:
    """Whether ``text`` is about the news (a topic, or "nhận tin", "bản tin"...) and names no dossier."""
    if find_codes(text):
        return False
    return bool(news.find_topics(text)) or _NEWS_WORDS.search(fold_key(text)) is not None


def _button(code: str) -> dict[str, str]:
    return {"title": news.BY_CODE[code].label.capitalize(),
            "payload": "/dang_ky_nhan_tin" + json.dumps({"chu_de": code}, ensure_ascii=False)}


class ActionDangKyNhanTin(Action):
    """Subscribes the sender to the topics named, or asks which (one button a topic)."""

    def name(self) -> str:
        return "action_dang_ky_nhan_tin"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        topics = topics_asked(tracker)
        if not topics and find_codes(text):  # "đăng ký nhận tin hồ sơ <mã>": the dossier's notifications
            from actions.notifications import ActionDangKyThongBao

            return await ActionDangKyThongBao().run(dispatcher, tracker, domain)
        if not latest_entity(tracker, "chu_de") and not _NEWS_CUE.search(fold_key(text)):
            from actions.procedures import ActionHuongDanThuTuc

            return await ActionHuongDanThuTuc().guide(dispatcher, tracker, "hoi_thu_tuc")
        return await self.subscribe(dispatcher, tracker, topics)

    async def subscribe(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                        topics: list[str]) -> list[EventType]:
        """Subscribe to ``topics``, or offer them all (but the sender's) as buttons when none."""
        channel = channel_of(tracker)
        if channel not in PUSH_CHANNELS:
            dispatcher.utter_message(text=texts.text("news.no_push"))
            return []
        if not topics:
            mine = await news.topics_of(redis_client(), tracker.sender_id)
            dispatcher.utter_message(text=news_texts.ask_topic(mine),
                                     buttons=[_button(t.code) for t in news.TOPICS if t.code not in mine])
            return []
        added = await news.subscribe(redis_client(), tracker.sender_id, topics)
        logger.info("news subscription on %s: %d topic(s) added", channel, len(added))
        dispatcher.utter_message(text=news_texts.subscribed_text(added, topics, channel))
        return []


class ActionHuyNhanTin(Action):
    """Leaves the topics named, or every topic; with none to leave, the dossier notifications' answer."""

    def name(self) -> str:
        return "action_huy_nhan_tin"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        topics = topics_asked(tracker)
        dropped = await news.unsubscribe(redis_client(), tracker.sender_id, topics or None)
        if not dropped and not topics and await subscriptions.codes_of(redis_client(), tracker.sender_id):
            # "hủy nhận tin" from someone who follows dossiers, not topics: they mean the dossiers
            from actions.notifications import ActionHuyDangKy

            return await ActionHuyDangKy().leave_dossiers(dispatcher, tracker)
        dispatcher.utter_message(text=news_texts.unsubscribed_text(dropped, topics, channel_of(tracker)))
        return []


# "có gì mới thì nhắn em": to be told later (a subscription), not a question about the news
_TELL_ME_LATER = re.compile(r"(?<!\w)thi (?:\w+ )?(?:nhan|bao|gui|ping|alo|thong bao)(?!\w)")


class ActionTinMoi(Action):
    """The latest announcements (titles, short texts, dates)."""

    def name(self) -> str:
        return "action_tin_moi"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        from actions.policy import ActionHoiChinhSach
        from actions.procedures import asks_a_price  # they import the actions that import this module

        policy = ActionHoiChinhSach()
        answered = await policy.reply_from_knowledge(dispatcher, tracker, text) if asks_a_price(text) else None
        if answered is not None:
            return answered  # "giá xăng hôm nay bao nhiêu": the price rules, not the news
        if _TELL_ME_LATER.search(fold_key(text)):
            if find_codes(text) or tracker.get_slot("ho_so_gan_nhat"):  # the dossier talked about
                from actions.notifications import ActionDangKyThongBao

                return await ActionDangKyThongBao().run(dispatcher, tracker, domain)
            return await ActionDangKyNhanTin().subscribe(dispatcher, tracker, topics_asked(tracker))
        channel = channel_of(tracker)
        redis = redis_client()
        text = news_texts.latest_text(await news.latest(redis), channel)
        if channel in PUSH_CHANNELS and not await news.topics_of(redis, tracker.sender_id):
            key = "news.sms.subscribe_hint" if channel == "sms" else "news.subscribe_hint"
            text += texts.text(key) if channel == "sms" else "\n" + texts.text(key)
        dispatcher.utter_message(text=text)
        return []
