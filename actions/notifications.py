"""Subscribing to (and leaving) status-change notifications from a chat channel.

SMS subscribes with ``DK <mã>`` at the gateway; this is the same subscription
(``common/subscriptions.py``) for Telegram, Zalo and the web chat (which
receives them through its push stream, ``bot/push.py``).
"""

from __future__ import annotations

import logging
import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, channel_of, idempotency_key, last_bot_text, latest_entity, redis_client
from common import news, subscriptions
from common.codes import canonical_code
from common.dates import local_now
from common.dossier_questions import followup_of
from common.text import fold_key
from content import replies, texts
from dossier_api.client import DossierApiUnavailable, DossierNotFound, InvalidDossierCode

logger = logging.getLogger(__name__)

PUSH_CHANNELS = {"telegram", "zalo", "sms", "web"}


# Folded words of asking to be told later: a message read as a subscription without one is a question
# about the dossier ("hồ sơ <mã> thì nhận kết quả ở mô": "nhận" is not "nhận thông báo").
_TELL_ME = re.compile(r"(?<!\w)(?:thong bao|bao cho|bao toi|bao em|bao minh|bao lai|bao giup|bao nhe|bao nha|bao khi|"
                      r"nhan tin|nhan thong|nhan sms|nhan cho|nhan em|nhan toi|nhan minh|nhan anh|nhan chi|tin nhan|"
                      r"gui tin|theo doi|cap nhat|notify|notification|update|dk|dang ky)(?!\w)")


def _code_of(tracker: Tracker) -> str | None:
    raw = latest_entity(tracker, "ma_ho_so") or tracker.get_slot("ho_so_gan_nhat")
    return canonical_code(raw) if raw else None


class ActionDangKyThongBao(DossierAction):
    """Subscribes the chat user to the dossier named (or last looked up)."""

    def name(self) -> str:
        return "action_dang_ky_thong_bao"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        if not text.startswith("/") and followup_of(text) is not None and not _TELL_ME.search(fold_key(text)):
            from actions.lookup import ActionHoiHoSo  # it imports this module

            return await ActionHoiHoSo().run(dispatcher, tracker, domain)  # a question about the dossier
        channel = channel_of(tracker)
        if channel not in PUSH_CHANNELS:
            dispatcher.utter_message(text=texts.text("notify.no_push_channel"))
            return []
        from actions.lookup import latest_topic  # it imports this module

        ticket = tracker.get_slot("phieu_gan_nhat")
        if ticket and not latest_entity(tracker, "ma_ho_so") and latest_topic(
                tracker, ("ho_so_gan_nhat", "phieu_gan_nhat")) == "phieu_gan_nhat":
            # "có kết quả thì báo cho tôi nha" after filing a complaint: its answer comes by itself
            dispatcher.utter_message(text=texts.text("notify.ticket_answer_comes", number=ticket))
            return []
        code = _code_of(tracker)
        if code is None:
            dispatcher.utter_message(json_message={"text": texts.text("notify.ask_code"), "awaits_code": True})
            return []
        try:
            dossier = await self.client.get_dossier(code)
        except (DossierNotFound, InvalidDossierCode):
            dispatcher.utter_message(text=replies.dossier_not_found(code))
            return []
        except DossierApiUnavailable:
            dispatcher.utter_message(text=replies.service_unavailable(self.settings.hotline))
            return []
        await subscriptions.subscribe(redis_client(), dossier.code, tracker.sender_id, key=idempotency_key(tracker))
        dispatcher.utter_message(text=replies.subscribed(dossier.code, dossier.status_label, channel))
        return [SlotSet("ho_so_gan_nhat", dossier.code)]


_UNSUBSCRIBE_WORDS = re.compile(r"(?<!\w)(?:huy|ngung|ngưng|dung|tat|bo|khong nhan|khong can|thoi nhan|dung gui|"
                                r"stop|unsubscribe|cancel)(?!\w)")


# "thêm tin điện nữa", "cả hồ sơ <mã> nữa": one more, right after a subscription.
_ONE_MORE = re.compile(r"(?<!\w)(?:them|ca|luon|voi)(?!\w)")


def adds_one_more(tracker: Tracker) -> str | None:
    """Right after the bot confirmed a subscription, a message asking for one more ("thêm tin điện nữa",
    "them ho so <mã> nua": "nữa" is no leaving here): which kind, ``news`` or ``dossier``; None otherwise."""
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/") or not _ONE_MORE.search(fold_key(text)) or asks_to_unsubscribe(text):
        return None
    said = last_bot_text(tracker)
    for kind, keys in (("news", ("news.subscribed", "news.already_subscribed")), ("dossier", ("notify.subscribed",))):
        if any(said.startswith(texts.opening(key)) for key in keys):
            return kind
    # "them tin dien nua" after a subscription by SMS keyword (which the assistant did not see): a topic added
    return "news" if re.search(r"(?<!\w)them(?!\w)", fold_key(text)) and news.find_topics(text) else None


def asks_to_unsubscribe(text: str) -> bool:
    """Whether ``text`` has a word of leaving the notifications (hủy, ngừng, dừng, tắt, stop...)."""
    return _UNSUBSCRIBE_WORDS.search(fold_key(text)) is not None


class ActionHuyDangKy(DossierAction):
    """Unsubscribes from the dossier named, or from every dossier."""

    def name(self) -> str:
        return "action_huy_dang_ky"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if (more := adds_one_more(tracker)) == "dossier":
            return await ActionDangKyThongBao().run(dispatcher, tracker, domain)  # "cả hồ sơ <mã> nữa"
        if more == "news":
            from actions.news import ActionDangKyNhanTin  # it imports this module

            return await ActionDangKyNhanTin().run(dispatcher, tracker, domain)  # "thêm tin điện nữa"
        raw = latest_entity(tracker, "ma_ho_so")
        code = canonical_code(raw) if raw else None
        if code and not asks_to_unsubscribe(tracker.latest_message.get("text") or ""):
            # "còn cái này nữa <mã>": a code with no word of leaving is a lookup of it
            from actions.lookup import ActionTraCuuHoSo  # it imports the actions that import this one

            return await ActionTraCuuHoSo().run(dispatcher, tracker, domain)
        from actions.news import ActionHuyNhanTin, leaves_news  # it imports this module

        if latest_entity(tracker, "chu_de") or leaves_news(tracker.latest_message.get("text") or ""):
            return await ActionHuyNhanTin().run(dispatcher, tracker, domain)  # "hủy nhận tin xăng dầu"
        from actions.appointments import (
            ActionDatLichHen,
            asks_to_move,
            cancels_the_booking_just_made,
            names_appointment,
            names_day_or_time,
        )

        text = tracker.latest_message.get("text") or ""
        if names_appointment(text) or cancels_the_booking_just_made(tracker) or (
                asks_to_move(text) and names_day_or_time(tracker, local_now().date())):
            # "thôi khỏi, hủy lịch giúp em"; "thôi em bận rồi, hủy giúp em" right after booking;
            # "à thôi đổi qua 10h30 cùng ngày đó nha"
            return await ActionDatLichHen().run(dispatcher, tracker, domain)
        return await self.leave_dossiers(dispatcher, tracker)

    async def leave_dossiers(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """Unsubscribe from the dossier named, or from every dossier."""
        raw = latest_entity(tracker, "ma_ho_so")
        code = canonical_code(raw) if raw else None
        dropped = await subscriptions.unsubscribe(redis_client(), tracker.sender_id, code, key=idempotency_key(tracker))
        if dropped:
            listed = ", ".join(dropped)
            dispatcher.utter_message(text=texts.text("notify.unsubscribed", codes=listed))
        elif code:
            dispatcher.utter_message(text=texts.text("notify.not_subscribed_to", code=code))
        else:
            dispatcher.utter_message(text=texts.text("notify.not_subscribed"))
        return []
