"""Feedback and complaints (``phan_anh_kien_nghi``): collect the content, file a ticket.

A message with substance is filed at once ("phản ánh cửa hàng X bán rượu giả");
"tôi muốn phản ánh" starts ``phan_anh_form``, which asks for the content. The
content is never logged; a ticket is shown only to its author.

Never a ticket for what is not a complaint: a message that names a ticket number
("phiếu PA261201-0003 thế nào rồi") gets that ticket's state (for its author
only), and a question that names a dossier code without a complaint verb
("hồ sơ ... sao lâu vậy, bao giờ có kết quả") is a lookup of that dossier.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, idempotency_key
from actions.lookup import ActionHoiHoSo
from common.codes import find_codes
from common.dossier_questions import (
    asks_about_ticket,
    find_ticket_numbers,
    followup_of,
    is_explicit_complaint,
    is_question,
    is_report,
    wants_to_stop,
)
from content import replies, texts
from dossier_api.client import DossierApiError, DossierNotFound
from dossier_api.models import TicketIn

logger = logging.getLogger(__name__)

MIN_WORDS = 8  # fewer words than this is a wish to complain, not the complaint
MIN_LED_WORDS = 4  # ... unless it follows "góp ý:", "phản ánh:"
_LED_CONTENT = re.compile(r"^\s*(?:góp ý|gop y|phản ánh|phan anh|kiến nghị|kien nghi|khiếu nại|khieu nai)"
                          r"\s*[:\-–]\s*(.+)$", re.IGNORECASE | re.S)
MIN_CHARS, MAX_CHARS = 10, 4000


class ActionPhanAnh(DossierAction):
    """Files the ticket, or asks for the content first."""

    def name(self) -> str:
        return "action_phan_anh"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        content = tracker.get_slot("noi_dung_phan_anh")
        text = (tracker.latest_message.get("text") or "").strip()
        if not content and tracker.latest_action_name == "phan_anh_form":
            return []  # the citizen left the form ("thôi để sau"); it said so
        if asks_about_ticket(content or text):
            numbers = find_ticket_numbers(content or text) or [tracker.get_slot("phieu_gan_nhat")]
            if numbers[0]:
                await self.tell_ticket(dispatcher, numbers[0], tracker.sender_id)
            else:
                dispatcher.utter_message(text=replies.ticket_number_needed())
            return [SlotSet("noi_dung_phan_anh", None)]
        if not content and not is_explicit_complaint(text) and (
                find_codes(text) or (tracker.get_slot("ho_so_gan_nhat") and followup_of(text))):
            # "hồ sơ X sao lâu vậy, bao giờ có kết quả", or "sao trễ hạn vậy" after a lookup: a question.
            return await ActionHoiHoSo().run(dispatcher, tracker, domain)
        if not content:
            intent = (tracker.latest_message.get("intent") or {}).get("name")
            if is_question(text) and not is_report(text):
                # "phí giấy phép ... bao nhiêu", "xin giấy gì": a question, never a ticket
                from actions.procedures import catalog_fact_reply  # it imports this module's importers

                answered = await catalog_fact_reply(dispatcher, tracker, domain)
                if answered is not None:
                    return answered
                from actions.handoff import ActionGapCanBo, asks_how_to_reach
                from actions.procedures import ActionHuongDanThuTuc, names_a_product

                if names_a_product(text):  # a question about one of the sector's products: guidance, never a form
                    return await ActionHuongDanThuTuc().run(dispatcher, tracker, domain)
                if asks_how_to_reach(text):  # "thứ bảy sở có mở cửa không, mấy giờ đóng cửa": the hours
                    return await ActionGapCanBo().run(dispatcher, tracker, domain)
                return [FollowupAction("phan_anh_form")]
            led = _LED_CONTENT.match(text)  # "góp ý: nên làm thêm thứ 7": short, but said
            if not (led and len(led.group(1).split()) >= MIN_LED_WORDS) and (
                    intent != "phan_anh_kien_nghi" or len(text.split()) < MIN_WORDS or text.startswith("/")):
                return [FollowupAction("phan_anh_form")]
            if not is_report(text) and not is_explicit_complaint(text):
                # "bán rượu vang nhập khẩu, bán sỉ cho nhà hàng": a trade told, no complaint in it: the
                # procedure it names, if it names one, rather than a ticket
                from actions.procedures import catalog_fact_reply  # it imports this module's importers

                answered = await catalog_fact_reply(dispatcher, tracker, domain, any_question=True)
                if answered is not None:
                    return answered
            content = text[:MAX_CHARS]
        return await self.file(dispatcher, tracker, content)

    async def file(self, dispatcher: CollectingDispatcher, tracker: Tracker, content: str) -> list[EventType]:
        """Files ``content`` as this sender's ticket and tells its number."""
        codes = find_codes(content)
        ticket = TicketIn(owner=tracker.sender_id, content=content,
                          dossier_code=codes[0].code.canonical if codes else None,
                          idempotency_key=idempotency_key(tracker))
        try:
            stored = await self.client.create_ticket(ticket)
        except DossierApiError:
            logger.warning("ticket not stored", exc_info=True)
            dispatcher.utter_message(text=replies.service_unavailable(self.settings.hotline))
            return [SlotSet("noi_dung_phan_anh", None)]
        logger.info("ticket %s filed (%s)", stored.number, stored.category)
        dispatcher.utter_message(
            text=replies.ticket_created(stored.number, stored.category_label, stored.due_date, self.settings.hotline))
        return [SlotSet("noi_dung_phan_anh", None), SlotSet("phieu_gan_nhat", stored.number)]

    async def tell_ticket(self, dispatcher: CollectingDispatcher, number: str, owner: str) -> None:
        """The state of ticket ``number``, if ``owner`` filed it (nobody else learns it exists)."""
        try:
            ticket = await self.client.get_ticket(number, owner)
        except DossierNotFound:
            dispatcher.utter_message(text=replies.ticket_not_found(number))
            return
        except DossierApiError:
            logger.warning("ticket not read", exc_info=True)
            dispatcher.utter_message(text=replies.service_unavailable(self.settings.hotline))
            return
        dispatcher.utter_message(text=replies.ticket_status(ticket))


async def ticket_followup(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """ "khi nào có trả lời", "tới đâu rồi" right after filing a ticket (the latest topic), or "số phiếu của
    tui là gì" any time after: that ticket's state and due date, whatever the classifier read (a
    procedure's time, a greeting); None otherwise."""
    from actions.lookup import latest_topic  # it imports the actions that import this module

    text = tracker.latest_message.get("text") or ""
    ticket = tracker.get_slot("phieu_gan_nhat")
    if not ticket or text.startswith("/") or find_codes(text):
        return None
    if not asks_about_ticket(text) and (followup_of(text) is None or latest_topic(
            tracker, ("ho_so_gan_nhat", "phieu_gan_nhat", "thu_tuc_gan_nhat")) != "phieu_gan_nhat"):
        return None
    await ActionPhanAnh().tell_ticket(dispatcher, str(ticket), tracker.sender_id)
    return []


async def file_if_report(dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: DomainDict) -> list[EventType] | None:
    """Files the latest message when it is a complaint with its substance that the classifier
    read as something else (a policy question, "not understood", a booking...); None otherwise.

    A message with a dossier code or a ticket number is left to the action it reached: those
    are questions about the dossier or the ticket unless a complaint verb says otherwise.
    """
    text = (tracker.latest_message.get("text") or "").strip()
    if not text.startswith("/") and asks_about_ticket(text):  # "đã gửi phản ánh rồi, có kết quả chưa"
        return await ActionPhanAnh().run(dispatcher, tracker, domain)
    if text.startswith("/") or not is_report(text) or find_ticket_numbers(text) or (
            find_codes(text) and not is_explicit_complaint(text)):
        return None
    return await ActionPhanAnh().file(dispatcher, tracker, text[:MAX_CHARS])


class ValidatePhanAnhForm(FormValidationAction):
    """The content must say something and fit in a ticket."""

    def name(self) -> str:
        return "validate_phan_anh_form"

    async def validate_noi_dung_phan_anh(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if not text:
            return {"noi_dung_phan_anh": None}
        if len(text) < MIN_CHARS:
            dispatcher.utter_message(text=texts.text("feedback.too_short"))
            return {"noi_dung_phan_anh": None}
        if len(text) > MAX_CHARS:
            dispatcher.utter_message(text=texts.text("feedback.too_long", max=f"{MAX_CHARS:,}".replace(",", ".")))
            return {"noi_dung_phan_anh": None}
        return {"noi_dung_phan_anh": text}

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        value = tracker.get_slot("noi_dung_phan_anh")
        leave = [SlotSet("noi_dung_phan_anh", None), SlotSet("requested_slot", None), ActiveLoop(None)]
        if tracker.get_slot("requested_slot") == "noi_dung_phan_anh" and value and wants_to_stop(str(value)):
            dispatcher.utter_message(text=replies.feedback_stopped())  # "thôi để sau": no ticket
            return leave
        if tracker.get_slot("requested_slot") == "noi_dung_phan_anh" and value and (
                answered := await _answered_instead(dispatcher, tracker, domain, str(value))) is not None:
            return [*leave, *answered]  # asked the content, the citizen asked a question: answered, no ticket
        return await super().run(dispatcher, tracker, domain)


QUESTION_INTENTS = {"hoi_chinh_sach", "hoi_thu_tuc", "hoi_giay_to", "hoi_le_phi", "hoi_thoi_han", "hoi_nop_ho_so"}


async def _answered_instead(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                            text: str) -> list[EventType] | None:
    """A question read as one (policy, procedure) typed where the form waits for the complaint
    ("xin hỏi điện mặt trời mái nhà bán lại cho EVN được không"): its answer from the policy
    questions or the catalog, as outside the form; None when it tells a complaint or nothing
    answers it (then it is the complaint's content)."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent not in QUESTION_INTENTS or not is_question(text) or is_report(text):
        return None
    from actions.policy import ActionHoiChinhSach  # they import this module
    from actions.procedures import catalog_fact_reply

    if (facts := await catalog_fact_reply(dispatcher, tracker, domain)) is not None:
        return facts
    policy = ActionHoiChinhSach()
    if (answered := await policy.reply_from_knowledge(dispatcher, tracker, text)) is not None:
        return answered
    return None
