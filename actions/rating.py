"""Satisfaction rating (hài lòng / bình thường / không hài lòng)."""

from __future__ import annotations

import logging
import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, channel_of, idempotency_key, last_buttons_ask, latest_entity
from common.codes import canonical_code
from common.dossier_questions import is_report
from common.status import RatingLevel
from common.text import fold_key
from content import replies
from dossier_api.client import DossierApiError, DossierNotFound
from dossier_api.models import RatingIn

logger = logging.getLogger(__name__)

# "hài lòng" as the name of the scale ("đánh giá mức độ hài lòng", "khảo sát sự hài lòng"), not a level.
_SCALE = re.compile(r"(?<!\w)(?:muc do|do|su|khao sat|phieu) hai long(?!\w)")


def names_scale_only(text: str) -> bool:
    """True when the only "hài lòng" a typed message has names the rating scale: the citizen
    wants to rate, and has not said how (a button's payload is never read this way)."""
    key = fold_key(text)
    if key.startswith("/") or not _SCALE.search(key):
        return False
    return re.search(r"(?<!\w)hai long(?!\w)", _SCALE.sub(" ", key)) is None


# A score typed for the rating ("5", "4 sao", "2/5", "8 điểm"): out of 5 unless said out of 10.
_SCORE = re.compile(r"^\s*(?P<n>\d{1,2})\s*(?:/\s*(?P<of>5|10)|sao|diem|stars?|points?)?\s*[.!]*\s*$")


def score_level(text: str) -> str | None:
    """The rating level a typed score means (4-5 of 5 pleased, 3 neutral, 1-2 displeased); None if none."""
    match = _SCORE.match(fold_key(text))
    if match is None:
        return None
    n, of = int(match["n"]), int(match["of"] or (10 if int(match["n"]) > 5 else 5))
    if not 1 <= n <= of:
        return None
    share = n / of
    level = RatingLevel.HAI_LONG if share >= 0.8 else RatingLevel.BINH_THUONG if share >= 0.6 else (
        RatingLevel.KHONG_HAI_LONG)
    return level.value


def rating_asked(tracker: Tracker) -> bool:
    """Whether the bot's last message asked for a rating (its buttons rate)."""
    return last_buttons_ask(tracker, "danh_gia")


class ActionDanhGia(DossierAction):
    """Stores the rating given in the message, or asks for one with buttons."""

    def name(self) -> str:
        return "action_danh_gia"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        from actions.appointments import booking_answer  # it imports the lookup actions

        if (booked := await booking_answer(dispatcher, tracker, domain)) is not None:
            return booked  # "13:30" typed after the free times were offered
        if is_report(text):
            # "cán bộ một cửa thái độ rất tệ, em muốn khiếu nại": a complaint, filed as one, not a rating
            from actions.feedback import ActionPhanAnh  # it imports the lookup actions

            return await ActionPhanAnh().file(dispatcher, tracker, text)
        value = latest_entity(tracker, "muc_do") or (score_level(text) if rating_asked(tracker) else None)
        if value == RatingLevel.HAI_LONG.value and names_scale_only(tracker.latest_message.get("text") or ""):
            value = None  # "tôi muốn đánh giá mức độ hài lòng": asked which level, not stored as pleased
        if value not in {level.value for level in RatingLevel}:
            dispatcher.utter_message(response="utter_hoi_muc_do")
            named = latest_entity(tracker, "ma_ho_so")  # "đánh giá hồ sơ <mã>": the level comes next, for it
            return [SlotSet("ho_so_gan_nhat", canonical_code(named) or named)] if named else []
        level = RatingLevel(value)
        code = latest_entity(tracker, "ma_ho_so") or tracker.get_slot("ho_so_gan_nhat")
        key = idempotency_key(tracker)
        rating = RatingIn(level=level, channel=channel_of(tracker), dossier_code=code, idempotency_key=key)
        try:
            stored = await self.client.rate(rating)
        except DossierNotFound:  # a rating of the service still counts without the dossier
            stored = await self.client.rate(RatingIn(level=level, channel=rating.channel, idempotency_key=key))
        except DossierApiError:
            logger.warning("could not store a rating", exc_info=True)
            dispatcher.utter_message(text=replies.service_unavailable(self.settings.hotline))
            return [SlotSet("muc_do", None)]
        dispatcher.utter_message(text=replies.rating_thanks(stored.level, self.settings.hotline))
        return [SlotSet("muc_do", None), SlotSet("ma_ho_so", None)]
