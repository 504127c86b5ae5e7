"""Policy questions (``hoi_chinh_sach``): the knowledge base entry that answers, or an honest "I don't know".

The answer cites its legal basis and review date, offers the linked catalog
procedure as a button, and is shortened for SMS. Below the retrieval threshold
the bot says it does not know and offers a person or a ticket.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, channel_of
from common.delivery import DELIVERY_FEE_VND, asks_delivery_fee
from common.dossier_questions import asks_legality, forgot_the_code, is_question
from common.text import fold_key
from content import replies, texts
from dossier_api.client import DossierApiError
from dossier_api.models import Procedure
from knowledge import answer
from knowledge.loader import DATA_DIR, Entry, data_dir
from knowledge.retrieval import Retriever, retriever_for
from vn_nlu.lexicon import other_agency, scolds_the_assistant

logger = logging.getLogger(__name__)



async def retriever(directory: Path = DATA_DIR) -> Retriever:
    """The process-wide index, built off the event loop on first use and rebuilt when staff edit the files."""
    return await asyncio.to_thread(retriever_for, directory)


async def _filed_as_report(dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> list[EventType] | None:
    """A complaint told with its substance is filed, and a fee, time or documents question about
    one catalog procedure gets the catalog's facts, not a knowledge base answer."""
    # these modules import this one
    from actions.feedback import file_if_report
    from actions.procedures import catalog_fact_reply

    filed = await file_if_report(dispatcher, tracker, domain)
    return filed if filed is not None else await catalog_fact_reply(dispatcher, tracker, domain)


async def answers_which_procedure(dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> list[EventType] | None:
    """The answer to the bot's own "which procedure?" ("an toàn thực phẩm cho xưởng bánh") that the
    classifier read as a policy question or barely understood: that procedure's guidance, not a
    rule of the knowledge base. None when the message is not such an answer (a real question is one)."""
    from actions.procedures import ActionHuongDanThuTuc, names_a_variant, pending_question  # they import this

    text = tracker.latest_message.get("text") or ""
    if text.startswith("/") or pending_question(tracker.events) is None:
        return None
    if not names_a_variant(text) or is_question(text):
        return None
    return await ActionHuongDanThuTuc().run(dispatcher, tracker, domain)


class ActionHoiChinhSach(DossierAction):
    """Answers a policy question from the knowledge base."""

    def name(self) -> str:
        return "action_hoi_chinh_sach"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        settings = self.settings
        text = tracker.latest_message.get("text") or ""
        from actions.appointments import booking_answer  # it imports this module's importers

        if (booked := await booking_answer(dispatcher, tracker, domain)) is not None:  # "8h30" after the slots
            return booked
        if (filed := await _filed_as_report(dispatcher, tracker, domain)) is not None:
            return filed
        if not text.strip() or text.startswith("/"):  # a button: the question is still to come
            dispatcher.utter_message(text=answer.ask_question())
            return []
        if (guided := await answers_which_procedure(dispatcher, tracker, domain)) is not None:
            return guided
        from actions.smalltalk import dossier_followup  # it imports this module's importers

        if (followed := await dossier_followup(dispatcher, tracker, domain)) is not None:
            return followed  # "răng lại trễ rứa, ai chịu trách nhiệm" after a lookup: about that dossier
        from actions.procedures import catalog_first_reply  # it imports this module

        # What the law allows or limits ("bắt em nộp tiền mua hàng, có đúng luật không") is the rules' first.
        answered = await self.reply_from_knowledge(dispatcher, tracker, text) if asks_legality(text) else None
        if answered is not None:
            return answered
        from actions.lookup import latest_topic  # it imports this module's importers
        from actions.procedures import ActionHuongDanThuTuc, names_a_product

        if (_NEXT_ONE.search(fold_key(text)) and names_a_product(text)
                and latest_topic(tracker) == "thu_tuc_gan_nhat"):
            # "còn cửa hàng bán gas bình thì sao" after a procedure answer: that product's procedure
            return await ActionHuongDanThuTuc().run(dispatcher, tracker, domain)
        if (guided := await catalog_first_reply(dispatcher, tracker, domain)) is not None:
            return guided  # a pasted procedure name; several licensed goods' licences
        if (answered := await self.reply_from_knowledge(dispatcher, tracker, text)) is None:
            from actions.procedures import catalog_fact_reply

            guided = await catalog_fact_reply(dispatcher, tracker, domain, any_question=True)
            if guided is not None:  # the base does not know it, the catalog names one procedure
                return guided
            if other_agency(text) is not None:  # "làm hộ chiếu ở đâu": who handles it, not "I don't know"
                from actions.procedures import ActionNgoaiPhamVi  # it imports this module

                return await ActionNgoaiPhamVi().run(dispatcher, tracker, domain)
            logger.info("policy question not answered (%d chars)", len(text))
            dispatcher.utter_message(text=answer.not_known(settings.hotline), buttons=answer.not_known_buttons())
            return []
        return answered

    async def reply_from_knowledge(self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str,
                                   threshold: float | None = None) -> list[EventType] | None:
        """Answer ``text`` from the knowledge base when an entry matches well enough (``threshold``
        when it must match better than the base's own): the events to return (after an answer that
        links one catalog procedure, "mất mấy ngày" is about that procedure); None when none matches.
        (Rasa SDK runs one instance of each action for every conversation: nothing is kept on it.)"""
        hit = (await retriever(data_dir(self.settings.content_dir))).answer(text, threshold)
        if hit is None:
            return None
        entry = hit.entry
        logger.info("policy question answered by %s (score %.2f)", entry.id, hit.score)
        linked: dict[str, Procedure | None] = {}  # read once, for the buttons and the facts (chat only)
        if channel_of(tracker) == "sms":
            dispatcher.utter_message(text=answer.sms_reply(entry, self.settings.hotline, score=hit.score))
        else:
            linked = {procedure_id: await self._procedure(procedure_id) for procedure_id in entry.procedures}
            dispatcher.utter_message(text=answer.chat_reply(entry, self.settings.hotline, hit.score),
                                     buttons=_procedure_buttons(linked))
        only = entry.procedures[0] if len(entry.procedures) == 1 else None
        elsewhere = await self._who_decides_too(dispatcher, entry, text)
        procedure = linked.get(only or "")
        if procedure is not None and procedure.authority is None and _HOW_TO_DO.search(fold_key(text)):
            # "làm lại kiểu chi": after the rule, the fee and the time of the one procedure it links
            dispatcher.utter_message(text=f"{replies.procedure_fee(procedure)}\n{replies.procedure_time(procedure)}")
        follow = only or elsewhere
        return [SlotSet("thu_tuc_gan_nhat", follow)] if follow else []

    async def _procedure(self, procedure_id: str) -> Procedure | None:
        """A procedure a policy answer links (None, logged, when it cannot be read)."""
        try:
            return await self.client.get_procedure(procedure_id)
        except DossierApiError:
            logger.warning("procedure %s not read for a policy answer", procedure_id, exc_info=True)
            return None

    async def _who_decides_too(self, dispatcher: CollectingDispatcher, entry: Entry, text: str) -> str | None:
        """A question that clearly names a procedure another body decides ("hộ kinh doanh bán rượu có
        phải xin giấy ở sở không") is told who decides it too, unless the answer already says so: that
        procedure's id when told."""
        from actions.procedures import decided_elsewhere  # it imports this module

        procedure = await decided_elsewhere(text)
        if procedure is None or procedure.authority is None or fold_key(procedure.authority.name) in fold_key(
                entry.answer):
            return None
        dispatcher.utter_message(text=replies.procedure_elsewhere(procedure, self.settings.hotline))
        return procedure.id


def _procedure_buttons(linked: dict[str, Procedure | None]) -> list[dict[str, str]]:
    """One button per linked catalog procedure, named as the catalog names it."""
    return [{"title": procedure.name if procedure else texts.text("policy.button.related_procedure"),
             "payload": f'/hoi_thu_tuc{{"thu_tuc": "{procedure_id}"}}'} for procedure_id, procedure in linked.items()]


# "còn cửa hàng bán gas thì sao", "vậy còn rượu": the next one of a list of procedures being asked about.
_LEAD, _TAIL = r"^(?:(?:vay|the|a|oh|ok) )?con", r"(?: (?:a|ak|vay|z|nhi|ha))?\W*$"
_THEN = r" thi (?:sao|the nao|ra sao)"
_NEXT_ONE = re.compile(rf"{_LEAD}(?: \w+){{1,4}}(?:{_THEN})?{_TAIL}|{_LEAD}(?: \w+){{1,8}}{_THEN}{_TAIL}")

# "làm lại kiểu chi", "thủ tục thế nào": how to do it, so the linked procedure's fee and time follow the rule.
_HOW_TO_DO = re.compile(r"(?<!\w)(?:lam sao|the nao|kieu chi|ra sao|lam gi|lam the nao|lam lai|xin lai|cap lai|"
                        r"thu tuc|how do|how to)(?!\w)")

LOOKUP_KEYWORDS = frozenset({"tra cuu", "tra cuu ho so", "tracuu", "kiem tra ho so", "tra ho so", "tra"})


async def answers_the_last_question(dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> list[EventType] | None:
    """A message the classifier could not place that answers what the conversation was about (a ward
    after "which ward?", a follow-up on the dossier just looked up: "sao lâu rứa"), asks for a booking
    on a day or at a time, or has no words ("👍")."""
    from actions.appointments import (  # importers
        ActionDatLichHen,
        asks_to_book,
        cancels_the_booking_just_made,
        names_appointment,
        names_ones_own,
        what_to_bring,
    )
    from actions.delivery import ActionChuyenPhat, asks_about_the_delivery
    from actions.feedback import ticket_followup
    from actions.handoff import (
        ActionGapCanBo,
        asks_for_a_person,
        asks_how_to_reach,
        asks_the_departments_days,
        names_the_department,
    )
    from actions.places import ActionTimDiaDiem, asked_where
    from actions.smalltalk import apologise, dossier_followup, wordless_answer

    text = tracker.latest_message.get("text") or ""
    if fold_key(text).strip(" .!?") in LOOKUP_KEYWORDS:  # "tra cứu" alone: the lookup asks for the code
        return [FollowupAction("tra_cuu_form")]
    if asked_where(tracker):
        return await ActionTimDiaDiem().run(dispatcher, tracker, domain)
    if asks_to_book(tracker) or cancels_the_booking_just_made(tracker):  # "hủy đi" right after booking
        return await ActionDatLichHen().run(dispatcher, tracker, domain)
    if (bring := await what_to_bring(dispatcher, tracker)) is not None:  # "cần mang theo gì" right after it
        return bring
    if asks_about_the_delivery(tracker):  # "giao tới chưa", "phí ship bao nhiêu" after asking for one
        return await ActionChuyenPhat().run(dispatcher, tracker, domain)
    if asks_how_to_reach(text) and (names_the_department(text) or asks_the_departments_days(text)):
        # "sở công thương ở đâu", "sở thứ 7 có làm không", "thu 7 co lam khong"
        return await ActionGapCanBo().run(dispatcher, tracker, domain)  # (not "sđt của trường")
    if (response := wordless_answer(text)) is not None:
        dispatcher.utter_message(response=response)
        return []
    from actions.rating import ActionDanhGia, rating_asked, score_level

    if rating_asked(tracker) and score_level(text) is not None:  # "5" typed to the rating's buttons
        return await ActionDanhGia().run(dispatcher, tracker, domain)
    if names_appointment(text) and names_ones_own(text):  # "lịch hẹn của tôi là hôm nào nhỉ"
        return await ActionDatLichHen().run(dispatcher, tracker, domain)
    if asks_for_a_person(text):  # "gặp người thật đi, bot trả lời không đúng gì hết" the classifier could not place
        return await ActionGapCanBo().run(dispatcher, tracker, domain)
    if scolds_the_assistant(text):  # "bot ngu quá"
        return apologise(dispatcher)
    if asks_delivery_fee(text) and not text.startswith("/"):  # "phí ship kết quả về nhà bao nhiêu"
        dispatcher.utter_message(text=replies.delivery_fee(DELIVERY_FEE_VND))
        return []
    if (told := await ticket_followup(dispatcher, tracker)) is not None:  # "khi nào có trả lời" after filing
        return told
    if forgot_the_code(text):  # "em không nhớ mã, chỉ nhớ tên công ty"
        dispatcher.utter_message(text=replies.forgot_code())
        return []
    return await dossier_followup(dispatcher, tracker, domain)


class ActionChuaHieu(ActionHoiChinhSach):
    """The NLU barely understood the message: a policy question the classifier did not
    recognise is still answered when the knowledge base matches it well; otherwise the
    bot asks to rephrase (with the main services as buttons)."""

    def name(self) -> str:
        return "action_chua_hieu"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        from actions.appointments import booking_answer  # it imports this module's importers

        if (booked := await booking_answer(dispatcher, tracker, domain)) is not None:  # "8h30" after the slots
            return booked
        if (filed := await _filed_as_report(dispatcher, tracker, domain)) is not None:
            return filed
        if (guided := await answers_which_procedure(dispatcher, tracker, domain)) is not None:
            return guided
        if (followed := await answers_the_last_question(dispatcher, tracker, domain)) is not None:
            return followed
        # it imports this module
        from actions.procedures import ActionHuongDanThuTuc, catalog_first_reply, validity_followup

        if (guided := await catalog_first_reply(dispatcher, tracker, domain)) is not None:
            return guided  # a procedure's name pasted, several goods' licences
        if (validity := await validity_followup(dispatcher, tracker)) is not None:
            return validity
        if (followed := await ActionHuongDanThuTuc().answer_follow_up(dispatcher, tracker)) is not None:
            return followed  # "còn nếu em bán sỉ cho mấy tiệm khác thì phí nhiêu" after bán lẻ thuốc lá
        if text.strip() and not text.startswith("/") and (
                answered := await self.reply_from_knowledge(dispatcher, tracker, text)) is not None:
            return answered
        if text.strip() and not text.startswith("/") and other_agency(text) is not None:
            from actions.procedures import ActionNgoaiPhamVi  # it imports this module

            return await ActionNgoaiPhamVi().run(dispatcher, tracker, domain)  # "sổ đỏ … nộp đâu": who does it
        dispatcher.utter_message(response="utter_xin_dien_dat_lai")
        return []
