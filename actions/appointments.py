"""Queue numbers (``dat_lich_hen``): pick a day, pick a slot, get a number; list and cancel."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import (
    DossierAction,
    dossier_client,
    idempotency_key,
    last_bot_text,
    last_buttons_ask,
    latest_entity,
    said_last_turn,
)
from actions.feedback import file_if_report
from actions.handoff import ActionGapCanBo, asks_how_to_reach
from actions.lookup import ActionHoiHoSo
from actions.procedures import names_a_product
from actions.smalltalk import ActionPhuDinh
from common.dates import local_now, month_named, parse_day, parse_time, vn_day
from common.dossier_questions import Followup, followup_of
from common.text import fold_key, nfc
from content import replies, texts
from dossier_api.client import BadRequest, DossierApiError, DossierApiUnavailable, DossierNotFound, SlotFull
from dossier_api.models import Appointment, AppointmentIn

logger = logging.getLogger(__name__)

_DUE_WORDS = re.compile(r"(?<!\w)(?:hen tra|han tra|ngay tra|tra ket qua|co ket qua|due)(?!\w)")


def asks_due_date(text: str) -> bool:
    """ "hẹn trả ngày nào vậy": the due date of a dossier, not a booking (both say "hẹn")."""
    return followup_of(text) is not None and _DUE_WORDS.search(fold_key(text)) is not None

MAX_SLOT_BUTTONS = 8
ALREADY_BOOKED = "already_booked"  # the API's 409: this owner holds a place at that time
BOOK_DAYS_AHEAD = 30  # the booking window (dossier_api/data/calendar.yml book_days_ahead), as citizens are told


_APPOINTMENT_WORDS = re.compile(r"(?<!\w)(?:lich hen|lich|so thu tu|cuoc hen|appointments?|booking)(?!\w)")


def names_appointment(text: str) -> bool:
    """Whether ``text`` is about a queue number ("hủy lịch giúp em", "bỏ số thứ tự"), not a subscription."""
    return _APPOINTMENT_WORDS.search(fold_key(text)) is not None


def _payload(**entities: str) -> str:
    return "/dat_lich_hen" + json.dumps(entities, ensure_ascii=False)


def _wants(text: str, *words: str) -> bool:
    key = fold_key(text)
    return any(re.search(rf"(?<!\w){w}(?!\w)", key) for w in words)


# Words of one's own appointment ("lịch hẹn của tôi", "em đã đặt", "my appointment"): asked about, not booked.
OWN_WORDS = ("cua toi", "cua tui", "cua em", "cua minh", "cua anh", "cua chi", "da dat", "my appointments?")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def nearest_times(free: list[str], wanted: str) -> list[str]:
    """The free time just before ``wanted`` and the one just after (``HH:MM``, those there are)."""
    before = [t for t in free if _minutes(t) < _minutes(wanted)]
    after = [t for t in free if _minutes(t) > _minutes(wanted)]
    return [*before[-1:], *after[:1]]


def names_ones_own(text: str) -> bool:
    """Whether ``text`` speaks of the asker's own appointment (see ``OWN_WORDS``)."""
    return _wants(text, *OWN_WORDS)


# While a booking goes on, a message that names a day or a time is about the booking even when
# the classifier read it otherwise ("à thôi, cho em thứ sáu đi" looks like a goodbye); without
# one, the message gets the answer its intent has anyway (rules send these intents here).
NOT_BOOKING = {"tam_biet": "utter_tam_biet", "ngoai_pham_vi": "utter_ngoai_pham_vi",
               "nlu_fallback": "utter_xin_dien_dat_lai", "khang_dinh": "utter_khang_dinh"}


CANCEL_WORDS = ("huy", "bo lich", "khong den duoc")
HOURS_WORDS = ("lam viec", "mo cua", "dong cua", "gio lam", "gio hanh chinh", "co truc", "office hours", "open")
# Moving a booking: "đổi" typed with its marks ("đợi", to wait, folds the same), or a pair that says it.
# A correction ("à nhầm, thứ năm 9h") moves it too: one citizen, one place.
_MOVE_MARKED = re.compile(r"(?<!\w)(?:đổi|dời|chuyển|nhầm|change|reschedule|move|sorry|i meant)(?!\w)")
MOVE_WORDS = ("doi lich", "doi gio", "doi ngay", "doi hen", "doi qua", "doi sang", "doi lai", "doi thanh",
              "chuyen qua", "chuyen sang", "doi thoi gian", "a nham", "nham roi", "nham", "sua lai", "ghi nham",
              "go nham")


SAME_TIME_WORDS = ("cung gio", "gio cu", "nhu cu", "giu gio", "giu nguyen gio", "gio do", "gio nhu vay", "same time")


def asks_to_move(text: str) -> bool:
    """ "à thôi đổi qua 3h30 chiều", "dời lịch sang thứ sáu": the booking held is to move."""
    return _MOVE_MARKED.search(nfc(text).lower()) is not None or _wants(text, *MOVE_WORDS)


_PARTS_OF_DAY = {"sang": ("00:00", "12:00"), "buoi sang": ("00:00", "12:00"), "chieu": ("12:00", "24:00"),
                 "buoi chieu": ("12:00", "24:00"), "morning": ("00:00", "12:00"), "afternoon": ("12:00", "24:00")}


def part_of_day(text: str) -> tuple[str, str] | None:
    """ "sáng", "buổi chiều" typed alone at the time prompt: the hours (from, to) it means."""
    return _PARTS_OF_DAY.get(fold_key(text).strip(" .!?").removesuffix(" a").removesuffix(" nhe"))


def desk_time(typed: dt.time | None, text: str) -> dt.time | None:
    """A time typed for a booking as the desk means it: "3h", "4h30" (1 to 5 o'clock, not said to be in
    the morning) are in the afternoon: the desk opens at half past seven."""
    if typed is not None and 1 <= typed.hour <= 5 and not _MORNING.search(nfc(text).lower()):
        return typed.replace(hour=typed.hour + 12)
    return typed


# "sáng", "3h sang", "am": the morning; not the "sang" of "đổi sang 4h", "dời sang thứ sáu".
_MORNING = re.compile(r"(?<!\w)(?:sáng|am|sang(?!\s+(?:thứ|thu|ngày|ngay|tuần|tuan|mai|hôm|hom|chiều|chieu|\d)))(?!\w)")


def names_day_or_time(tracker: Tracker, today: dt.date) -> bool:
    """True when the latest message picks a day or a time (typed, or a button's entities), or the part
    of the day ("sáng") at the time prompt."""
    text = tracker.latest_message.get("text") or ""
    return bool(latest_entity(tracker, "ngay_hen") or latest_entity(tracker, "gio_hen")
                or parse_day(text, today) or parse_time(text) or part_of_day(text))


_BOOKING_WORDS = re.compile(r"(?<!\w)(?:dat lich|hen len|hen gap|cho hen|lay so|xin so|dat hen|book)(?!\w)")


def asks_to_book(tracker: Tracker) -> bool:
    """A message that asks for a queue number on a day or at a time ("cho mình hẹn lên lúc 9h"),
    whatever else it asks."""
    text = tracker.latest_message.get("text") or ""
    return _BOOKING_WORDS.search(fold_key(text)) is not None and names_day_or_time(tracker, local_now().date())


def cancels_the_booking_just_made(tracker: Tracker) -> bool:
    """ "hủy đi", "thôi bỏ lịch" right after the bot booked a place: that booking is to be cancelled."""
    text = tracker.latest_message.get("text") or ""
    booked = texts.opening("appointment.booked")
    return (not text.startswith("/") and len(fold_key(text).split()) <= 8 and _wants(text, *CANCEL_WORDS)
            and last_bot_text(tracker).startswith(booked))


def booking_offered(tracker: Tracker) -> bool:
    """Whether the bot's last message offered days or slots to book (its buttons book)."""
    return last_buttons_ask(tracker, "dat_lich_hen")


def answers_the_booking(tracker: Tracker) -> bool:
    """A day or a time typed right after the bot offered days or slots ("thứ hai tuần tới", "8h30"),
    whatever the classifier read: the booking's answer."""
    text = tracker.latest_message.get("text") or ""
    return not text.startswith("/") and booking_offered(tracker) and names_day_or_time(tracker, local_now().date())


# "lên đó cần mang theo chi", "what should I bring": what to bring to the appointment just booked.
BRING_WORDS = ("mang theo", "mang gi", "mang chi", "can mang", "dem theo", "can dem", "phai mang", "what to bring",
               "should i bring", "bring")


async def what_to_bring(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """What to bring, asked right after a booking: identity papers, and the documents of the procedure
    discussed when there is one; None when it is not that question."""
    text = tracker.latest_message.get("text") or ""
    booked = texts.opening("appointment.booked")
    if text.startswith("/") or not _wants(text, *BRING_WORDS) or names_a_product(text) or not said_last_turn(
            tracker, booked):
        return None  # ("thế hồ sơ hóa chất phải mang những gì": that procedure's documents)
    lines = [texts.text("appointment.bring")]
    if procedure_id := tracker.get_slot("thu_tuc_gan_nhat"):
        try:
            lines.append(replies.procedure_documents(await dossier_client().get_procedure(procedure_id)))
        except DossierApiError:
            logger.warning("procedure %s not read for what to bring", procedure_id, exc_info=True)
    dispatcher.utter_message(text="\n".join(lines))
    return []


async def booking_answer(dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: DomainDict) -> list[EventType] | None:
    """The booking's turn when the message answers its offer (:func:`answers_the_booking`), whatever
    action the classifier's reading led to; None otherwise."""
    if not answers_the_booking(tracker):
        return None
    return await ActionDatLichHen().run(dispatcher, tracker, domain)


def offered_day(tracker: Tracker) -> dt.date | None:
    """The day whose free slots the bot's last message offered ("9h" typed then means that day)."""
    for event in reversed(tracker.events):
        if event.get("event") != "bot":
            continue
        for button in (event.get("data") or {}).get("buttons") or []:
            payload = str(button.get("payload") or "")
            if payload.startswith("/dat_lich_hen{") and "gio_hen" in payload:
                try:
                    return dt.date.fromisoformat(json.loads(payload[len("/dat_lich_hen"):])["ngay_hen"])
                except (ValueError, KeyError):
                    return None
        return None
    return None


def offered_move(tracker: Tracker) -> str | None:
    """The appointment the bot's last offer of days or times was moving (its buttons carry it)."""
    for event in reversed(tracker.events):
        if event.get("event") != "bot":
            continue
        for button in (event.get("data") or {}).get("buttons") or []:
            payload = str(button.get("payload") or "")
            if payload.startswith("/dat_lich_hen{") and "huy_lich" in payload:
                try:
                    return str(json.loads(payload[len("/dat_lich_hen"):])["huy_lich"])
                except (ValueError, KeyError):
                    return None
        return None
    return None


def describe(a: Appointment) -> str:
    return texts.text("appointment.describe", number=f"{a.queue_number:03d}", counter=a.counter, time=a.time,
                      day=vn_day(a.date))


# Another business's booking ("đặt lịch rửa xe chiều nay", "book a haircut"), folded: not the desk's queue.
_OTHER_BOOKINGS = re.compile(
    r"(?<!\w)(?:rua xe|sua xe|bao duong|cat toc|lam toc|goi dau|spa|nail|massage|kham benh|lich kham|bac si|nha khoa|"
    r"kham rang|nho rang|tiem|xet nghiem|dat ban|dat phong|khach san|homestay|nha hang|quan an|taxi|grab|ve may bay|"
    r"ve xe|ve tau|gia su|lop hoc|hoc thu|phong van|cong chung|ngan hang|chup anh|studio|san bong|san cau long|tennis|"
    r"haircut|doctor|dentist|table|hotel|flight|car wash)(?!\w)")
# Words of the department's desk: with them, a booking is ours whatever else it names.
_DESK_WORDS = re.compile(r"(?<!\w)(?:so|mot cua|ho so|thu tuc|nop|lay ket qua|nhan ket qua|giay phep|can bo|"
                         r"so thu tu|lay so|quay)(?!\w)")


def books_elsewhere(text: str) -> bool:
    """Whether a booking request names another business's service and nothing of the desk's."""
    key = fold_key(text)
    return _OTHER_BOOKINGS.search(key) is not None and _DESK_WORDS.search(key) is None


class ActionDatLichHen(DossierAction):
    """Books, lists or cancels queue numbers for the one-stop desk."""

    def name(self) -> str:
        return "action_dat_lich_hen"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        owner = tracker.sender_id
        if not text.startswith("/") and books_elsewhere(text) and not booking_offered(tracker):
            dispatcher.utter_message(response="utter_ngoai_pham_vi")  # "đặt lịch rửa xe chiều nay"
            return []
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if (asks_how_to_reach(text) and _wants(text, *HOURS_WORDS) and not booking_offered(tracker)
                and _BOOKING_WORDS.search(fold_key(text)) is None and not _wants(text, *CANCEL_WORDS)):
            # "sở làm việc thứ 7 không" read as a booking: the office hours
            return await ActionGapCanBo().run(dispatcher, tracker, domain)
        if not names_day_or_time(tracker, local_now().date()):
            if (filed := await file_if_report(dispatcher, tracker, domain)) is not None:
                return filed  # "chờ 2 tiếng không ai tiếp, rứa là răng": a complaint, not a booking
            if tracker.get_slot("ho_so_gan_nhat") and (asks_due_date(text) or followup_of(text) is Followup.WHERE):
                return await ActionHoiHoSo().run(dispatcher, tracker, domain)  # "hẹn trả ngày nào", "lên lấy được chưa"
        if (intent == "phu_dinh" and not names_day_or_time(tracker, local_now().date())
                and not _wants(text, *CANCEL_WORDS)):
            return await ActionPhuDinh().run(dispatcher, tracker, domain)  # "không cần đâu", "sai rồi"
        if (intent in NOT_BOOKING and not names_day_or_time(tracker, local_now().date())
                and not cancels_the_booking_just_made(tracker)
                and not names_ones_own(text)):  # "lịch hẹn của tôi"
            dispatcher.utter_message(response=NOT_BOOKING[intent])
            return []
        try:
            cancel_id = latest_entity(tracker, "huy_lich")
            moving = asks_to_move(text) or (cancel_id and latest_entity(tracker, "ngay_hen"))
            if not moving and (cancel_id or _wants(text, *CANCEL_WORDS)):
                await self._cancel(dispatcher, owner, cancel_id)
            elif (_wants(text, "xem", "kiem tra", "lich hen nao", "co lich hen", "co hen nao") or (
                    names_ones_own(text) and not names_day_or_time(tracker, local_now().date()))
                  ) and not _wants(text, "trong", "con cho", "free"):  # not "đặt lịch thứ 5 cho hồ sơ của em"
                await self._list(dispatcher, owner)
            else:
                await self._book(dispatcher, tracker, text, owner)
        except DossierApiUnavailable:
            logger.warning("appointments unavailable", exc_info=True)
            dispatcher.utter_message(text=replies.service_unavailable(self.settings.hotline))
        return []

    async def _moved(self, tracker: Tracker, text: str, owner: str) -> Appointment | None:
        """The appointment this booking replaces: the one its buttons carry (pressed, or answered by
        typing "9h" after them), else, when the message asks to move ("đổi qua 3h30", "à thôi, cho em
        thứ sáu đi"), the one booked last."""
        carried = latest_entity(tracker, "huy_lich") or offered_move(tracker)
        changes_mind = _wants(text, "thoi", "a thoi", "thoi thi") and names_day_or_time(tracker, local_now().date())
        if not (carried or asks_to_move(text) or changes_mind):
            return None
        held = await self.client.appointments(owner)
        if carried:
            return next((a for a in held if str(a.id) == carried), None)
        return max(held, key=lambda a: a.id, default=None)

    async def _book(self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str, owner: str) -> None:
        now = local_now()
        raw_day, raw_time = latest_entity(tracker, "ngay_hen"), latest_entity(tracker, "gio_hen")
        old = await self._moved(tracker, text, owner)
        moving = {"huy_lich": str(old.id)} if old is not None else {}  # the buttons carry what is moved
        day = dt.date.fromisoformat(raw_day) if raw_day else parse_day(text, now.date())
        if day is None and (parse_time(text) or part_of_day(text)):
            day = offered_day(tracker) or (old.date if old is not None else None)
        month = month_named(text, now.date()) if day is None else None
        if month is not None and (month - now.date()).days > BOOK_DAYS_AHEAD:  # "tháng sáu năm sau"
            why = texts.text("appointment.month_too_far", month=f"{month:%m/%Y}", ahead=BOOK_DAYS_AHEAD)
            await self._offer_days(dispatcher, texts.text("appointment.pick_other_day", why=why), moving)
            return
        if day is None:
            await self._offer_days(dispatcher, texts.text("appointment.which_day"), moving)
            return
        slots = await self.client.appointment_slots(day)
        if slots.closed:
            why = texts.text(f"appointment.closed.{slots.closed}", day=vn_day(day), ahead=BOOK_DAYS_AHEAD)
            await self._offer_days(dispatcher, texts.text("appointment.pick_other_day", why=why), moving)
            return
        free = [s.time for s in slots.slots if s.free > 0]
        if not free:
            await self._offer_days(dispatcher, texts.text("appointment.day_full", day=vn_day(day)), moving)
            return
        typed = desk_time(parse_time(text), text)
        wanted = raw_time or (typed.strftime("%H:%M") if typed else None)
        if wanted is None and old is not None and _wants(text, *SAME_TIME_WORDS):
            wanted = old.time  # "chuyển sang thứ năm, cùng giờ đó"
        if wanted is None and (half := part_of_day(text)) is not None:
            free = [t for t in free if half[0] <= t < half[1]] or free  # "sáng": the morning's free times
        if wanted not in free:
            if not wanted:
                intro = texts.text("appointment.which_time", day=vn_day(day))
            elif wanted in {s.time for s in slots.slots}:
                intro = texts.text("appointment.slot_full", time=wanted, day=vn_day(day))
            else:  # "12h", "17h30": not a time the desk receives citizens
                intro = texts.text("appointment.outside_hours", time=wanted, hours=self.settings.office_hours)
            if wanted and (near := nearest_times(free, wanted)):
                # "12h trưa": the free times closest to it, the one before and the one after named
                intro += texts.text("appointment.nearest", times=", ".join(near))
                free = sorted(sorted(free, key=lambda t: abs(_minutes(t) - _minutes(wanted)))[:MAX_SLOT_BUTTONS])
            buttons = [{"title": t, "payload": _payload(ngay_hen=day.isoformat(), gio_hen=t, **moving)}
                       for t in free[:MAX_SLOT_BUTTONS]]
            later = texts.text("appointment.other_time_hint") if len(free) > MAX_SLOT_BUTTONS else ""
            dispatcher.utter_message(text=texts.text("appointment.free_times", intro=intro, later=later),
                                     buttons=buttons)
            return
        procedure = tracker.get_slot("thu_tuc_gan_nhat")
        try:
            booked = await self.client.book(AppointmentIn(owner=owner, date=day, time=wanted, procedure_id=procedure,
                                                          idempotency_key=idempotency_key(tracker)))
        except SlotFull as exc:
            if exc.error == ALREADY_BOOKED:
                dispatcher.utter_message(text=texts.text("appointment.already_booked", time=wanted, day=vn_day(day)))
                return
            taken = texts.text("appointment.slot_taken", time=wanted, day=vn_day(day))
            dispatcher.utter_message(text=taken)
            return
        except BadRequest as exc:
            logger.info("booking refused: %s", exc.error)
            await self._offer_days(dispatcher, texts.text("appointment.refused"), moving)
            return
        dispatcher.utter_message(text=texts.text("appointment.booked", appointment=describe(booked),
                                                 address=self.settings.office_address))
        if old is not None and old.id != booked.id:
            try:
                await self.client.cancel_appointment(old.id, owner)
            except (DossierNotFound, DossierApiError):
                return  # cancelled meanwhile
            dispatcher.utter_message(text=texts.text("appointment.moved_from", appointment=describe(old)))

    async def _offer_days(self, dispatcher: CollectingDispatcher, intro: str,
                          moving: dict[str, str] | None = None) -> None:
        days = await self.client.appointment_days(5)
        buttons = [{"title": vn_day(d), "payload": _payload(ngay_hen=d.isoformat(), **(moving or {}))} for d in days]
        dispatcher.utter_message(text=intro, buttons=buttons)

    async def _list(self, dispatcher: CollectingDispatcher, owner: str) -> None:
        items = await self.client.appointments(owner)
        if not items:
            dispatcher.utter_message(text=texts.text("appointment.none"))
            return
        lines = [f"{i}. {describe(a).capitalize()}" for i, a in enumerate(items, 1)]
        dispatcher.utter_message(text=texts.text("appointment.list", items="\n".join(lines)))

    async def _cancel(self, dispatcher: CollectingDispatcher, owner: str, cancel_id: str | None) -> None:
        items = await self.client.appointments(owner)
        chosen = [a for a in items if str(a.id) == cancel_id] if cancel_id else items
        if not chosen:
            dispatcher.utter_message(text=texts.text("appointment.nothing_to_cancel"))
            return
        if len(chosen) > 1:
            buttons = [{"title": describe(a), "payload": _payload(huy_lich=str(a.id))} for a in chosen]
            dispatcher.utter_message(text=texts.text("appointment.which_to_cancel"), buttons=buttons)
            return
        try:
            cancelled = await self.client.cancel_appointment(chosen[0].id, owner)
        except (DossierNotFound, DossierApiError):
            dispatcher.utter_message(text=texts.text("appointment.already_cancelled"))
            return
        dispatcher.utter_message(text=texts.text("appointment.cancelled", appointment=describe(cancelled)))
