"""Result delivery by post (``chuyen_phat_ket_qua``): dossier, recipient, phone, address.

The dossier is checked first (it must exist and have, or soon have, its
result); the form then asks for what is missing, and the request gets a
tracking number and the postal fee. "tình trạng chuyển phát BD…" answers later.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, dossier_client, idempotency_key, latest_entity
from common.codes import canonical_code, find_codes
from common.dates import local_now
from common.delivery import DELIVERY_FEE_VND, asks_fee, delivery_state, recipient_name
from common.dossier_questions import Followup, followup_of, wants_to_stop
from common.phones import find_msisdn
from common.privacy import mask_person_name, mask_phone
from common.status import DossierStatus
from common.text import fold_key, nfc
from content import replies, texts
from dossier_api.client import Conflict, DossierApiError, DossierApiUnavailable, DossierNotFound
from dossier_api.models import DeliveryIn

logger = logging.getLogger(__name__)

SLOTS = ("cp_ma_ho_so", "cp_ten", "cp_sdt", "cp_dia_chi")
TRACKING = re.compile(r"\bBD\d{11}\b", re.I)
LAST_DELIVERY = "van_don_gan_nhat"  # the tracking number this conversation was given
_STATE_WORDS = re.compile(r"(?<!\w)(?:tinh trang|trang thai|den dau|toi dau|giao chua|gui chua|khi nao giao"
                          r"|bao gio giao|bao gio toi|khi nao toi|o dau roi|giao toi chua|toi chua|den chua"
                          r"|nhan duoc chua|status|where is)(?!\w)")


def asks_delivery_state(text: str) -> bool:
    """ "tình trạng chuyển phát", "giao chưa": how a delivery asked for is going."""
    return _STATE_WORDS.search(fold_key(text)) is not None


def asks_about_the_delivery(tracker: Tracker) -> bool:
    """A question on the delivery this conversation asked for: how it is going, or its fee."""
    text = tracker.latest_message.get("text") or ""
    return bool(tracker.get_slot(LAST_DELIVERY)) and not latest_entity(tracker, "ma_ho_so") and (
        asks_delivery_state(text) or asks_fee(text))
STATES = ("cho_ket_qua", "cho_giao", "dang_giao", "da_giao")  # a delivery's states (texts delivery.state.*)
NOT_DELIVERABLE = (DossierStatus.DA_TRA_KET_QUA, DossierStatus.TU_CHOI, DossierStatus.CHO_BO_SUNG)


async def check_dossier(code: str, text: str = "") -> tuple[str | None, str | None]:
    """Whether ``code``'s result can be posted: (what to say first, None) when it can, the first
    being its status when the message asks that too ("có kết quả chưa, có rồi thì gửi bưu điện");
    (None, what to tell the citizen) when it cannot."""
    try:
        dossier = await dossier_client().get_dossier(code)
    except DossierNotFound:
        return None, replies.dossier_not_found(code)
    if dossier.status in NOT_DELIVERABLE:
        return None, texts.text(f"delivery.not_deliverable.{dossier.status.value}", code=dossier.code)
    if dossier.delivery_requested:  # told before the name, phone and address are asked, not after
        return None, texts.text("delivery.already_requested", code=dossier.code)
    today = local_now().date()
    if delivery_state(dossier.status, dossier.due_date, today) is None:
        # in progress and far from its due date (the API, which has the last word, would refuse at the end)
        return None, texts.text("delivery.not_yet", code=dossier.code, due=replies.vn_date(dossier.due_date))
    return (replies.dossier_when(dossier, today) if followup_of(text) in (Followup.WHEN, Followup.LATE) else None,
            None)


# "..., địa chỉ 7 Bạch Đằng, phường Hải Châu": an address given after its label, to the end of the message.
_ADDRESS_GIVEN = re.compile(r"(?:địa chỉ|dia chi|đ/c|address)\s*(?:là|la|:|-)?\s*(?P<address>\S.*?)[\s.]*$",
                            re.IGNORECASE | re.S)


def _labelled_address(text: str) -> str | None:
    """An address given after its label in a message that gives something else too; None without one."""
    found = _ADDRESS_GIVEN.search(nfc(text))
    address = " ".join(found["address"].split()) if found is not None else ""
    return address if 10 <= len(address) <= 300 else None


def _fee_asked(text: str, dispatcher: CollectingDispatcher) -> bool:
    """ "phí bao nhiêu" typed at one of the form's questions: the postal fee told, the question asked again."""
    if not asks_fee(text) or find_codes(text):
        return False
    dispatcher.utter_message(text=replies.delivery_fee(DELIVERY_FEE_VND))
    return True


class ActionChuyenPhat(DossierAction):
    """Starts the form (with what is already known), files the request, or tells a delivery's status."""

    def name(self) -> str:
        return "action_chuyen_phat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            return await self._run(dispatcher, tracker)
        except DossierApiUnavailable:
            dispatcher.utter_message(text=replies.service_unavailable(self.settings.hotline))
            return [SlotSet(s, None) for s in SLOTS]

    async def _run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        tracking = TRACKING.search(text)
        if tracking:
            return await self._status(dispatcher, tracker, tracking.group(0).upper())
        last = tracker.get_slot(LAST_DELIVERY)
        if last and asks_delivery_state(text) and not latest_entity(tracker, "ma_ho_so"):
            return await self._status(dispatcher, tracker, str(last))  # "tình trạng chuyển phát" after asking one
        if last and asks_fee(text) and not latest_entity(tracker, "ma_ho_so"):
            dispatcher.utter_message(text=replies.delivery_fee(DELIVERY_FEE_VND))  # "phí ship bao nhiêu"
            return []
        values = {s: tracker.get_slot(s) for s in SLOTS}
        if all(values.values()):
            return await self._file(dispatcher, tracker, values)
        if tracker.active_loop_name == "chuyen_phat_form" or tracker.latest_action_name == "chuyen_phat_form":
            return [SlotSet(s, None) for s in SLOTS]  # the form stopped without everything
        given = latest_entity(tracker, "ma_ho_so")
        if not given and asks_fee(text):
            dispatcher.utter_message(text=replies.delivery_fee(DELIVERY_FEE_VND))
            return []
        if not given and wants_to_stop(text):
            dispatcher.utter_message(text=replies.delivery_stopped())
            return [SlotSet(s, None) for s in SLOTS]
        known = given or tracker.get_slot("ho_so_gan_nhat")
        code = canonical_code(known) if known else None
        if code:
            first, problem = await check_dossier(code, text)
            if problem or first:
                dispatcher.utter_message(text=problem or first)
            if problem:
                return []
            if asks_fee(text):  # "gửi kết quả hồ sơ <mã> qua bưu chính thì mất phí bao nhiêu": the fee, then the form
                dispatcher.utter_message(text=replies.delivery_fee(DELIVERY_FEE_VND))
        return [*([SlotSet("cp_ma_ho_so", code)] if code else []), FollowupAction("chuyen_phat_form")]

    async def _file(self, dispatcher: CollectingDispatcher, tracker: Tracker, v: dict[str, Any]) -> list[EventType]:
        wanted = DeliveryIn(owner=tracker.sender_id, dossier_code=v["cp_ma_ho_so"], recipient_name=v["cp_ten"],
                            phone=v["cp_sdt"], address=v["cp_dia_chi"], idempotency_key=idempotency_key(tracker))
        clear = [SlotSet(s, None) for s in SLOTS]
        try:
            delivery = await self.client.request_delivery(wanted)
        except Conflict as exc:
            if exc.error == "already_requested":
                dispatcher.utter_message(text=texts.text("delivery.already_requested", code=wanted.dossier_code))
            else:
                dispatcher.utter_message(text=texts.text("delivery.not_now", code=wanted.dossier_code))
            return clear
        except DossierApiError as exc:
            logger.info("delivery refused: %s", type(exc).__name__)
            dispatcher.utter_message(text=texts.text("delivery.invalid"))
            return clear
        fee = f"{delivery.fee_vnd:,}".replace(",", ".")
        when = texts.text("delivery.when_result" if delivery.status == "cho_ket_qua" else "delivery.when_ready")
        dispatcher.utter_message(text=texts.text(
            "delivery.filed", code=delivery.dossier_code, recipient=mask_person_name(delivery.recipient_name),
            phone=mask_phone(delivery.phone), tracking=delivery.tracking_number, fee=fee, when=when))
        return [*clear, SlotSet(LAST_DELIVERY, delivery.tracking_number)]

    async def _status(self, dispatcher: CollectingDispatcher, tracker: Tracker, tracking: str) -> list[EventType]:
        try:
            delivery = await self.client.get_delivery(tracking, tracker.sender_id)
        except DossierNotFound:
            dispatcher.utter_message(text=texts.text("delivery.not_found", tracking=tracking))
            return []
        state = texts.text(f"delivery.state.{delivery.status}") if delivery.status in STATES else delivery.status
        dispatcher.utter_message(text=texts.text("delivery.status", tracking=tracking, code=delivery.dossier_code,
                                                 state=state))
        return []


class ValidateChuyenPhatForm(FormValidationAction):
    """Checks each answer; "thôi", or a dossier whose result cannot be posted, ends the form.

    Answers are read out of what people type around them ("mã ...", "số em là 0987 654 321",
    "Lê Văn Tám, CCCD ..."); a phone number typed again later corrects the one given.
    """

    def name(self) -> str:
        return "validate_chuyen_phat_form"

    async def validate_cp_ma_ho_so(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        text = str(value or "")
        if not text.strip():
            return {"cp_ma_ho_so": None}  # nothing typed yet: the form asks
        if _fee_asked(text, dispatcher):
            return {"cp_ma_ho_so": None}
        found = find_codes(text)
        code = found[0].code.canonical if found else canonical_code(text)
        if code is None:
            if wants_to_stop(text):
                return _stop(dispatcher)
            dispatcher.utter_message(text=replies.invalid_code())
            return {"cp_ma_ho_so": None}
        first, problem = await check_dossier(code, text)
        if problem or first:
            dispatcher.utter_message(text=problem or first)
        if problem:
            return {"cp_ma_ho_so": None, "cp_dung": True}
        return {"cp_ma_ho_so": code}

    async def validate_cp_ten(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> dict[str, Any]:
        text = str(value or "")
        if not text.strip():
            return {"cp_ten": None}
        if wants_to_stop(text):
            return _stop(dispatcher)
        if _fee_asked(text, dispatcher):
            return {"cp_ten": None}
        name = recipient_name(text)
        if name is None:
            dispatcher.utter_message(text=replies.delivery_bad_name())
            return {"cp_ten": None}
        # "tên Võ Minh Tuấn, sđt 0914 …, địa chỉ 7 Bạch Đằng": the phone and the address given with it
        given: dict[str, Any] = {"cp_ten": name}
        if (phone := find_msisdn(text)) is not None:
            given["cp_sdt"] = phone
        if (address := _labelled_address(text)) is not None:
            given["cp_dia_chi"] = address
        return given

    async def validate_cp_sdt(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> dict[str, Any]:
        text = str(value or "")
        if not text.strip():
            return {"cp_sdt": None}
        phone = find_msisdn(text)
        if phone is None:
            if wants_to_stop(text):
                return _stop(dispatcher)
            dispatcher.utter_message(text=replies.delivery_bad_phone())
            return {"cp_sdt": None}
        return {"cp_sdt": phone}

    async def validate_cp_dia_chi(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        text = str(value or "")
        if not text.strip():
            return {"cp_dia_chi": None}
        if wants_to_stop(text):
            return _stop(dispatcher)
        phone = find_msisdn(text)
        if phone is not None:  # "xin lỗi gõ sai, 0916 345 679 mới đúng": a correction, not an address
            dispatcher.utter_message(text=replies.delivery_phone_corrected())
            return {"cp_sdt": phone, "cp_dia_chi": _labelled_address(text)}  # "..., địa chỉ 45 Nguyễn Văn Linh"
        address = " ".join(text.split())
        if len(address) < 10:
            dispatcher.utter_message(text=replies.delivery_short_address())
            return {"cp_dia_chi": None}
        if len(address) > 300:
            dispatcher.utter_message(text=replies.delivery_long_address())
            return {"cp_dia_chi": None}
        return {"cp_dia_chi": address}

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if any(e.get("event") == "slot" and e.get("name") == "cp_dung" and e.get("value") for e in events):
            events += [SlotSet("cp_dung", None), SlotSet("requested_slot", None), ActiveLoop(None)]
        return events


def _stop(dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """The citizen leaves the form: say so, and end it (``cp_dung``)."""
    dispatcher.utter_message(text=replies.delivery_stopped())
    return {s: None for s in SLOTS} | {"cp_dung": True}
