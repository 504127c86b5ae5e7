"""Handoff to a person: the hotline and the office hours.

In office hours the reply carries ``handoff: true``: the chat gateway (or the SMS
gateway, for an SMS) queues the conversation for staff (``common/handoff.py``).
Rasa is not paused, so "give back" and the timeout need nothing from Rasa. Out of
hours the citizen gets the hotline and a "Gửi phản ánh" button (a written answer).
"""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, channel_of
from common.dates import local_now
from common.handoff import LEAVE_PAYLOAD, TICKET_PAYLOAD, in_office_hours
from common.text import fold_key
from content import texts
from vn_nlu.lexicon import other_agency

HANDOFF_CHANNELS = {"telegram", "zalo", "web", "sms"}  # every channel a staff reply reaches
_WORD = re.compile(r"\w+")
# The intent covers both "how do I reach you" and "let me talk to a person": only the
# second hands the conversation over (asking the opening hours must not pause the bot).
CONTACT_CUES = ("gio lam viec", "may gio", "mo cua", "dong cua", "so dien thoai", "sdt", "so dt", "hotline",
                "duong day nong", "email", "dia chi", "so tong dai", "goi dien", "goi so", "lien he",
                "lam viec", "thu 7", "thu bay", "chu nhat", "cuoi tuan", "ngay le", "nghi trua", "luc nao",
                "buoi trua", "gio trua", "trua co ai", "goi ai", "goi cho ai", "lien lac ai", "lien lac voi ai",
                "goi so nao", "who do i call")
PERSON_CUES = ("gap", "noi chuyen", "chuyen cho", "ket noi", "nguoi that", "ho tro vien", "tu van vien",
               "chuyen vien", "admin")
# "có ai trực", "trực tiếp", "ai phụ trách" are not among them: with an hours or contact cue they ask
# about the office ("cuối tuần có ai trực không" wants the opening hours).


# "bạn có phải người thật không", "mi là người hay máy", "are you a bot": a question about the
# assistant itself, answered by what it is, not by handing the conversation over.
_ABOUT_THE_BOT = re.compile(r"(?:co phai|phai|la) (?:la )?(?:nguoi(?: that)?|robot|may|bot)"
                            r"(?: (?:khong|ko|k|ha|hay|chu|a|vay|the))|are you (?:a )?(?:bot|human|real|robot)")
_ASKS_FOR_ONE = ("gap", "noi chuyen", "ket noi", "chuyen cho", "cho toi", "cho em", "cho minh", "can nguoi")


_PEOPLE = ("nguoi that", "can bo", "nhan vien", "tu van vien", "chuyen vien", "nguoi", "human", "person", "agent",
           "staff", "lanh dao", "giam doc", "truong phong", "pho giam doc", "manager")


# Words of addressing the bot or asking what it does: a message read as "who are you" with three or more
# other words asks something else ("mai Đà Nẵng có mưa không bot").
_ADDRESS_WORDS = frozenset("""bot ad admin em oi ban may mi robot tro ly ao chatbot a ah nhe nha voi cho hoi toi minh
    anh chi la ai gi the nao sao vay ha hi hello hey you are what who nguoi that hay thuc ten real human machine
    person name khong ko k phai co""".split())
_HELP = re.compile(r"(?<!\w)(?:giup|ho tro|lam duoc|lam gi|chuc nang|help|huong dan|biet gi|co the|tinh nang|"
                   r"dich vu gi|can gi|hoi gi|what can)(?!\w)")


def asks_something_else(text: str) -> bool:
    """Whether a message read as asking what the assistant is asks something else: not what the bot is,
    no request for help, and three or more words beyond addressing it."""
    key = fold_key(text)
    other = [w for w in _WORD.findall(key) if w not in _ADDRESS_WORDS]
    return (not text.startswith("/") and not asks_what_the_bot_is(text) and _HELP.search(key) is None
            and len(other) >= 3)


def asks_for_a_person(text: str) -> bool:
    """ "gặp người thật đi", "cho tôi nói chuyện với cán bộ": a person is asked for, whatever else is said."""
    words = f" {' '.join(_WORD.findall(fold_key(text)))} "
    return any(f" {c} " in words for c in _ASKS_FOR_ONE + ("talk to", "speak to")) and any(
        f" {p} " in words for p in _PEOPLE)


def asks_what_the_bot_is(text: str) -> bool:
    """True when the message asks whether the assistant is a person, without asking for one."""
    words = f" {' '.join(_WORD.findall(fold_key(text)))} "
    return _ABOUT_THE_BOT.search(words) is not None and not any(f" {c} " in words for c in _ASKS_FOR_ONE)


# "sở công thương ở đâu", "trụ sở sở ở mô", "văn phòng sở nằm đường chi": where the department is
# (a where-word alone is a procedure's "nộp ở đâu").
DEPARTMENT_WORDS = ("so cong thuong", "tru so", "van phong so",  # not "sở ở": "hồ sơ ở đâu" folds alike
                    "department of industry", "the department", "your office")
WHERE_WORDS = ("o dau", "o mo", "cho nao", "duong nao", "duong chi", "nam o", "nam dau", "cho mo", "where is",
               "where are", "address", "located")


def _words_but_dossier(text: str) -> str:
    """The folded words of ``text``, space-padded, less "hồ sơ" (it folds to "ho so", and "sở" to "so")."""
    return f" {' '.join(_WORD.findall(fold_key(text)))} ".replace(" ho so ", " ")


def asks_where_the_department_is(text: str) -> bool:
    """True when the message asks where the department's office is ("sở ở đường chi" too; a where-word
    alone is a procedure's "nộp ở đâu", and "hồ sơ ở đâu" folds to "ho so o dau")."""
    words = _words_but_dossier(text)
    named = any(f" {d} " in words for d in DEPARTMENT_WORDS) or " so o " in words or " so nam " in words
    return named and any(f" {w} " in words for w in WHERE_WORDS + ("o duong",))


def names_the_department(text: str) -> bool:
    """Whether the message names the department or its desk ("sở", "trụ sở", "một cửa"; "hồ sơ" is not it)."""
    words = _words_but_dossier(text)
    return any(f" {d} " in words for d in (*DEPARTMENT_WORDS, "so", "mot cua", "bo phan mot cua"))


# A day or a time of day in a short hours question with no subject ("thu 7 co lam khong", "trưa có ai trực
# không"): the department's own days, whoever else opens on Saturdays.
_DAY_WORDS = re.compile(r"(?<!\w)(?:thu (?:2|3|4|5|6|7|hai|ba|tu|nam|sau|bay)|t7|cn|chu nhat|cuoi tuan|ngay le|le|tet|"
                        r"trua|buoi trua|gio trua|saturday|sunday|weekend)(?!\w)")


def asks_the_departments_days(text: str) -> bool:
    """A short question whether it works on a day or at noon, naming no subject of its own."""
    key = fold_key(text)
    return (len(key.split()) <= 8 and asks_how_to_reach(text) and _DAY_WORDS.search(key) is not None
            and other_agency(text) is None)


def asks_how_to_reach(text: str) -> bool:
    """True when the message asks how to reach the department (hours, phone, address), not for a person."""
    words = f" {' '.join(_WORD.findall(fold_key(text)))} "
    return (any(f" {c} " in words for c in CONTACT_CUES) or asks_where_the_department_is(text)) and (
        not wants_a_person(text))


def wants_a_person(text: str) -> bool:
    """False when the message only asks how to reach the department (hours, phone, address)."""
    words = f" {' '.join(_WORD.findall(fold_key(text)))} "  # punctuation never hides a cue ("mấy giờ,")
    if not any(f" {c} " in words for c in CONTACT_CUES) and not asks_where_the_department_is(text):
        return True
    return any(f" {c} " in words for c in PERSON_CUES)


class ActionHoiBot(DossierAction):
    """What the assistant is; a person asked for in the same breath ("gặp người thật đi, bot trả lời
    không đúng gì hết") is a handoff."""

    def name(self) -> str:
        return "action_hoi_bot"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if asks_for_a_person(tracker.latest_message.get("text") or ""):
            return await ActionGapCanBo().run(dispatcher, tracker, domain)
        from actions.feedback import ticket_followup  # it imports the actions that import this module
        from actions.smalltalk import dossier_followup

        if (told := await ticket_followup(dispatcher, tracker)) is not None:
            return told  # "số phiếu của tui là gì vậy" read as asking what the bot is
        if (followed := await dossier_followup(dispatcher, tracker, domain)) is not None:
            return followed  # "tại sao chậm vậy em" after a lookup
        text = tracker.latest_message.get("text") or ""
        if asks_something_else(text):
            from actions.procedures import ActionNgoaiPhamVi  # it imports this module

            return await ActionNgoaiPhamVi().run(dispatcher, tracker, domain)  # "mai Đà Nẵng có mưa không bot"
        dispatcher.utter_message(response="utter_hoi_bot")
        return []


class ActionGapCanBo(DossierAction):
    """Tells how to reach a staff member; in office hours, hands the conversation over."""

    def name(self) -> str:
        return "action_gap_can_bo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        s = self.settings
        now = local_now()
        text = tracker.latest_message.get("text") or ""
        if asks_what_the_bot_is(text):
            dispatcher.utter_message(response="utter_hoi_bot")
            return []
        from actions.appointments import ActionDatLichHen, asks_to_book  # it imports this module

        if asks_to_book(tracker):
            # "chủ nhật này sở có làm việc không, cho mình hẹn lên lúc 9h": the booking tells the day's hours
            return await ActionDatLichHen().run(dispatcher, tracker, domain)
        from actions.places import named_place_reply  # it imports this module

        if (named := await named_place_reply(dispatcher, tracker)) is not None:
            return named  # "chợ Hàn mở cửa mấy giờ": that place's hours, not the department's
        person, staffed = wants_a_person(text), in_office_hours(now, s.handoff_hours)
        if channel_of(tracker) in HANDOFF_CHANNELS and staffed and person:
            dispatcher.utter_message(json_message={
                "text": texts.text("handoff.handed_over", department=s.department_name, hotline=s.hotline),
                "handoff": True,
                "buttons": [{"title": texts.text("handoff.button.back_to_bot"), "payload": LEAVE_PAYLOAD}]})
            return []
        reach = texts.text("handoff.how_to_reach", department=s.department_name, hotline=s.hotline,
                           address=s.office_address, hours=s.office_hours)
        if person and not staffed:  # nobody on duty: the hotline and a written answer at once
            dispatcher.utter_message(text=f"{reach}\n{texts.text('handoff.out_of_hours')}",
                                     buttons=[{"title": texts.text("handoff.button.ticket"),
                                               "payload": TICKET_PAYLOAD}])
        else:
            dispatcher.utter_message(text=reach)
        return []
