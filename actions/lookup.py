"""Dossier lookup: the form that asks for a code, the lookup itself, and the follow-up questions."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, channel_of, last_bot_text, redis_client
from actions.handoff import ActionGapCanBo, asks_for_a_person, asks_how_to_reach
from actions.notifications import ActionDangKyThongBao, adds_one_more
from actions.procedures import (
    ActionHuongDanThuTuc,
    ActionNgoaiPhamVi,
    asks_documents_only,
    aspects_of,
    names_a_product,
)
from common import stats
from common.codes import canonical_code, find_codes, is_bare_code_attempt, looks_like_code_attempt, without_codes
from common.dates import local_now
from common.dossier_questions import Followup, asks_reason, followup_of, forgot_the_code
from common.stats import Count
from common.text import fold_key
from content import replies, texts
from dossier_api.client import DossierApiUnavailable, DossierNotFound, InvalidDossierCode
from dossier_api.models import Dossier
from vn_nlu.lexicon import is_correction

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


class ValidateTraCuuForm(FormValidationAction):
    """Accepts a code in any shape; after three malformed codes the form stops."""

    def name(self) -> str:
        return "validate_tra_cuu_form"

    async def validate_ma_ho_so(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = canonical_code(str(value or ""))
        if code:
            return {"ma_ho_so": code, "so_lan_nhap_sai": 0}
        if not is_bare_code_attempt(str(value or "")) and not looks_like_code_attempt(str(value or "")):
            # Not a code at all: the citizen moved on; stop waiting for one.
            return {"ma_ho_so": None, "so_lan_nhap_sai": MAX_ATTEMPTS}
        attempts = int(tracker.get_slot("so_lan_nhap_sai") or 0) + 1
        dispatcher.utter_message(text=replies.invalid_code())
        return {"ma_ho_so": None, "so_lan_nhap_sai": attempts}

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        activating = tracker.active_loop_name != "tra_cuu_form"
        if activating and not tracker.get_slot("ma_ho_so") and (
            is_bare_code_attempt(text) or looks_like_code_attempt(text)
        ):
            # "Tra cứu 000.00.12.H17-201301-0001": say what is wrong before the form asks for a code.
            dispatcher.utter_message(text=replies.invalid_code())
        elif not tracker.get_slot("requested_slot") and not tracker.get_slot("ma_ho_so") and not find_codes(text):
            # the form is starting (nothing asked yet)
            guided = await self._procedure_question(dispatcher, tracker, domain, text)
            if guided is None and asks_for_a_person(text):  # "hồ sơ trễ hạn, muốn gặp lãnh đạo sở": a person
                guided = await ActionGapCanBo().run(dispatcher, tracker, domain)
            if guided is None and forgot_the_code(text):  # "em không nhớ mã": where the code is, not "give it"
                dispatcher.utter_message(text=replies.forgot_code())
                guided = []
            if guided is not None:
                return [*guided, SlotSet("requested_slot", None), ActiveLoop(None)]
        events = await super().run(dispatcher, tracker, domain)
        attempts = next(
            (e["value"] for e in reversed(events) if e.get("event") == "slot" and e.get("name") == "so_lan_nhap_sai"),
            0,
        )
        if attempts and attempts >= MAX_ATTEMPTS:
            dispatcher.utter_message(response="utter_dung_tra_cuu")
            events += [SlotSet("so_lan_nhap_sai", 0), SlotSet("requested_slot", None), ActiveLoop(None)]
        return events

    @staticmethod
    async def _procedure_question(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                                  text: str) -> list[EventType] | None:
        """ "hồ sơ gồm những gì và phí ra sao" (a procedure's documents, read as a lookup): the
        procedure it names, or the one just discussed, answers it instead of a request for a code."""
        after_procedure = latest_topic(tracker) == "thu_tuc_gan_nhat"
        if after_procedure and is_correction(text):
            # "sai rồi, tôi hỏi bán lẻ mà" after a procedure answer: the variant it names
            return await ActionHuongDanThuTuc().answer_follow_up(dispatcher, tracker)
        if not (aspects_of(text) or (after_procedure and asks_documents_only(text))):
            return None
        if not (after_procedure or names_a_product(text)) or followup_of(text):
            return None
        read = (tracker.latest_message.get("intent") or {}).get("name")
        intent = "hoi_giay_to" if asks_documents_only(text) else read
        return await ActionHuongDanThuTuc().guide(dispatcher, tracker, intent)


def lookup_buttons() -> list[dict[str, str]]:
    """The buttons under a lookup answer."""
    return [{"title": texts.text("lookup.button.rate"), "payload": "/danh_gia"},
            {"title": texts.text("lookup.button.another"), "payload": "/tra_cuu_ho_so"}]


MAX_CODES = 3  # codes answered from one message
FOLLOWUP_ANSWERS = {Followup.WHEN: replies.dossier_when, Followup.LATE: replies.dossier_late,
                    Followup.WHERE: replies.dossier_where, Followup.WHY: replies.dossier_why}


def codes_in_message(tracker: Tracker) -> list[str]:
    """Every valid code of the latest message, in order, without repeats (at most ``MAX_CODES``)."""
    codes = [m.code.canonical for m in find_codes(tracker.latest_message.get("text") or "")]
    return list(dict.fromkeys(codes))[:MAX_CODES]


def codes_asked(tracker: Tracker) -> list[str]:
    """The codes to look up: those of the latest message, else the one the form collected."""
    slot = tracker.get_slot("ma_ho_so")
    return codes_in_message(tracker) or ([canonical_code(str(slot)) or str(slot)] if slot else [])


# "còn bộ thứ hai thì sao", "hồ sơ thứ 1": one of the codes an earlier message gave, by its rank.
_ORDINAL = re.compile(r"(?<!\w)(?:bo|ho so|ma|cai|hs|so)\s+(?:thu\s+)?(?P<n>nhat|hai|ba|1|2|3|dau|cuoi)(?!\w)")
_RANKS = {"nhat": 0, "1": 0, "dau": 0, "hai": 1, "2": 1, "ba": 2, "3": 2, "cuoi": -1}


def ranked_code(tracker: Tracker) -> str | None:
    """The code a message points to by its rank among those of the last message that gave several
    ("còn bộ thứ hai thì sao" after two codes); None when it points to none."""
    text = tracker.latest_message.get("text") or ""
    match = _ORDINAL.search(fold_key(text))
    if match is None or find_codes(text):
        return None
    for event in reversed(tracker.events[:-1]):
        if event.get("event") == "user":
            codes = list(dict.fromkeys(m.code.canonical for m in find_codes(event.get("text") or "")))
            if len(codes) > 1:
                rank = _RANKS[match["n"]]
                return codes[rank] if rank < len(codes) else None
    return None


SECOND_QUESTIONS = ("hoi_le_phi", "hoi_giay_to")  # a procedure's facts no dossier answers


def asks_a_procedure_too(text: str) -> bool:
    """Whether a message that gives a code also asks a named procedure's fee or documents (a second
    question); "bao giờ xong", "trễ hạn chưa" are about the dossier itself."""
    rest = without_codes(text)
    return (any(a in SECOND_QUESTIONS for a in aspects_of(rest)) and names_a_product(rest)
            and followup_of(rest) is None)


def latest_topic(tracker: Tracker, topics: tuple[str, ...] = ("ho_so_gan_nhat", "thu_tuc_gan_nhat")) -> str | None:
    """What the conversation was last about, of ``topics``: ``ho_so_gan_nhat`` (a dossier) or
    ``thu_tuc_gan_nhat`` (a procedure), and with places' ``khu_vuc_gan_nhat`` when asked."""
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("value") and event.get("name") in topics:
            return event["name"]
    return None


def _asks_to_book_too(tracker: Tracker) -> bool:
    from actions.appointments import asks_to_book  # it imports this module

    return asks_to_book(tracker)


class ActionTraCuuHoSo(DossierAction):
    """Looks the dossiers up (every code the message gave) and tells their status; remembers the last."""

    def name(self) -> str:
        return "action_tra_cuu_ho_so"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        codes = codes_asked(tracker)
        if not codes:  # the form gave up after malformed codes
            return []
        if len(codes) == 1 and (last_bot_text(tracker).startswith(texts.text("notify.ask_code"))
                                or adds_one_more(tracker) == "dossier"):
            # the answer to "which dossier do you want notifications for?"; "thêm hồ sơ <mã> nữa" after one
            return [SlotSet("ma_ho_so", None), *await ActionDangKyThongBao().run(dispatcher, tracker, domain)]
        events: list[EventType] = [SlotSet("ma_ho_so", None)]
        if len(codes) > 1 and channel_of(tracker) != "sms":
            dispatcher.utter_message(text=replies.several_codes(len(codes)))
        found = [d for d in [await self.lookup(dispatcher, code) for code in codes] if d is not None]
        events += self.tell(dispatcher, tracker, found)
        text = tracker.latest_message.get("text") or ""
        if asks_a_procedure_too(text):
            # "mã hồ sơ ..., với lại cho hỏi lệ phí bán buôn rượu": the second question is answered too.
            events += await ActionHuongDanThuTuc().guide(dispatcher, tracker, None)
        elif found and _asks_to_book_too(tracker):
            # "<mã>, cho em đặt lịch thứ sáu lên lấy kết quả": the booking too
            from actions.appointments import ActionDatLichHen  # it imports this module

            events += await ActionDatLichHen().run(dispatcher, tracker, domain)
        elif found and asks_how_to_reach(without_codes(text)):
            # "<mã> và cho em hỏi sở làm việc thứ 7 không": the hours too
            await ActionGapCanBo().run(dispatcher, tracker, domain)
        return events

    async def tell_one(self, dispatcher: CollectingDispatcher, tracker: Tracker, code: str) -> list[EventType]:
        """The status of one dossier (a code pointed to, not typed), remembered as the latest."""
        dossier = await self.lookup(dispatcher, code)
        return self.tell(dispatcher, tracker, [dossier]) if dossier is not None else []

    @staticmethod
    def tell(dispatcher: CollectingDispatcher, tracker: Tracker, found: list[Dossier]) -> list[EventType]:
        """The status of each dossier found, each remembered: its procedure is the one discussed now
        ("còn lệ phí thì sao"), the last dossier the latest topic. On SMS one message for all (the
        keyword's compact form, a line each when several, so nothing is cut off), or for one asked why
        ("sao ho so <mã> bi tu choi") its step and what to do, which the compact form leaves out."""
        today, text = local_now().date(), tracker.latest_message.get("text") or ""
        if channel_of(tracker) != "sms":
            for dossier in found:
                dispatcher.utter_message(text=replies.dossier_status(dossier, today), buttons=lookup_buttons())
        elif len(found) == 1 and followup_of(without_codes(text)) is Followup.WHY:
            dispatcher.utter_message(text=replies.dossier_why(found[0], today), buttons=lookup_buttons())
        elif found:
            dispatcher.utter_message(text=replies.dossier_statuses_sms(found, today), buttons=lookup_buttons())
        return [event for d in found
                for event in (SlotSet("thu_tuc_gan_nhat", d.procedure_id), SlotSet("ho_so_gan_nhat", d.code))]

    async def lookup(self, dispatcher: CollectingDispatcher, code: str) -> Dossier | None:
        """The dossier of ``code``; when there is none, the citizen is told why and None returned."""
        dossier, outcome, text = None, "found", ""
        try:
            dossier = await self.client.get_dossier(code)
        except InvalidDossierCode:
            outcome, text = "invalid", replies.invalid_code()
        except DossierNotFound:
            outcome, text = "not_found", replies.dossier_not_found(code)
        except DossierApiUnavailable:
            logger.warning("dossier API unavailable during a lookup", exc_info=True)
            outcome, text = "unavailable", replies.service_unavailable(self.settings.hotline)
        await stats.record(redis_client(), Count(stats.LOOKUPS, outcome))
        if dossier is None:
            dispatcher.utter_message(text=text)
        return dossier


class ActionHoiHoSo(ActionTraCuuHoSo):
    """A question after a lookup ("khi nào có kết quả", "trễ hạn rồi phải không", "nhận kết quả ở đâu")
    is answered about the dossier just looked up, from the dossier system at this moment.

    A message that gives a code is a lookup of that code; a question that is not such a
    follow-up, or that comes after the conversation moved on to a procedure, is procedure
    guidance; a lookup without a code asks for one."""

    def name(self) -> str:
        return "action_hoi_ho_so"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if codes_in_message(tracker):
            return await super().run(dispatcher, tracker, domain)
        if (ranked := ranked_code(tracker)) is not None:  # "còn bộ thứ hai thì sao" after two codes
            return await self.tell_one(dispatcher, tracker, ranked)
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        kind = followup_of(text)
        code = tracker.get_slot("ho_so_gan_nhat")
        about_procedure = latest_topic(tracker) == "thu_tuc_gan_nhat" and kind is not Followup.LATE
        if kind is None or not code or about_procedure:
            if intent == "tra_cuu_ho_so":
                return [FollowupAction("tra_cuu_form")]
            if intent in ("hoi_thoi_han", "hoi_nop_ho_so"):
                return await ActionHuongDanThuTuc().run(dispatcher, tracker, domain)
            # Not about the dossier: what the message gets anywhere else (a time for the slots just offered,
            # a procedure follow-up, a policy answer, another body's matter...).
            from actions.policy import ActionChuaHieu  # it imports this module's importers

            unplaced = ActionNgoaiPhamVi() if intent == "ngoai_pham_vi" else ActionChuaHieu()
            return await unplaced.run(dispatcher, tracker, domain)
        dossier = await self.lookup(dispatcher, code)
        if dossier is None:
            return []
        today = local_now().date()
        answer = (replies.dossier_late(dossier, today, reason=asks_reason(text)) if kind is Followup.LATE
                  else FOLLOWUP_ANSWERS[kind](dossier, today))
        dispatcher.utter_message(text=answer, buttons=lookup_buttons())
        return [SlotSet("ho_so_gan_nhat", dossier.code)]
