"""Short answers that are not a request: "không", "không cần đâu" (the citizen declines) and
"sai rồi", "không phải ý tôi" (the last answer missed): both are the intent ``phu_dinh``,
told apart by the words of a correction; "ok", "vâng" (``khang_dinh``) get a domain response.
Either, when it asks about the dossier just looked up, gets the lookup's follow-up."""

from __future__ import annotations

import abc
import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff import ActionGapCanBo, asks_how_to_reach
from common.dossier_questions import followup_of, is_question
from common.text import fold_key
from content import texts
from vn_nlu.lexicon import is_correction, scolds_the_assistant

# A message without a single word: thumbs up, "❤️", "???", "...".
_APPROVING = re.compile("[\U0001F44D\U0001F44C\U0001F44F\U0001F64F\u2764\u2665\U0001F60A\U0001F642\U0001F600"
                        "\U0001F601\U0001F604\u2705\U0001F4AF\U0001F970\U0001F60D]")


def wordless_answer(text: str) -> str | None:
    """The response to a message with no word at all ("👍" is a yes; "???" asks to say it again); None
    when the message has words."""
    if re.search(r"\w", text or ""):
        return None
    return "utter_khang_dinh" if _APPROVING.search(text or "") else "utter_xin_dien_dat_lai"


async def procedure_question(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """A short question about the procedure just discussed that reads as a yes or a no ("lam online duoc
    ko", "phí nhiêu rứa"), or a correction naming its variant ("sai rồi, tôi hỏi bán lẻ mà"): that
    procedure's (or variant's) answer. None when it is neither."""
    text = tracker.latest_message.get("text") or ""
    if not (is_question(text) or is_correction(text)):
        return None
    from actions.procedures import ActionHuongDanThuTuc  # it imports this module

    return await ActionHuongDanThuTuc().answer_follow_up(dispatcher, tracker)


async def dossier_followup(dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> list[EventType] | None:
    """A short answer that asks about the dossier just looked up ("trễ rứa là răng", "chưa xong à":
    a Central "rứa" or a "chưa" read as a yes or a no): the lookup's follow-up answers it."""
    from actions.lookup import ActionHoiHoSo, latest_topic  # it imports the actions that import this one

    text = tracker.latest_message.get("text") or ""
    if (tracker.get_slot("ho_so_gan_nhat") and latest_topic(tracker) == "ho_so_gan_nhat"
            and followup_of(text) is not None and not is_correction(text)):
        return await ActionHoiHoSo().run(dispatcher, tracker, domain)
    return None


class _Acknowledgement(Action, abc.ABC):
    """A greeting or a "yes" (``response``), unless it asks about the dossier just looked up
    ("chừng nào có kết quả rứa hỉ": the Central "hỉ" reads as a greeting; "trễ rứa là răng" as a
    yes) or scolds the assistant ("bot ngu quá", "vô dụng thật" is no "yes"). Abstract: not registered."""

    response = ""

    @abc.abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if (followed := await dossier_followup(dispatcher, tracker, domain)) is not None:
            return followed
        if (guided := await procedure_question(dispatcher, tracker)) is not None:
            return guided
        from actions.appointments import booking_answer  # it imports this module

        if (booked := await booking_answer(dispatcher, tracker, domain)) is not None:
            return booked  # "13:30" typed after the free times were offered
        text = tracker.latest_message.get("text") or ""
        if scolds_the_assistant(text):
            return apologise(dispatcher)
        if asks_how_to_reach(text) and len(fold_key(text).split()) > 1:  # "chào em, số điện thoại sở là gì"
            return await ActionGapCanBo().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response=self.response)
        return []


class ActionChaoHoi(_Acknowledgement):
    response = "utter_chao_hoi"

    def name(self) -> str:
        return "action_chao_hoi"


class ActionKhangDinh(_Acknowledgement):
    response = "utter_khang_dinh"

    def name(self) -> str:
        return "action_khang_dinh"


# Folded words of leaving (the goodbye cue group, vn_nlu/data/cues.yml ``tam_biet``, and the short forms):
# a "goodbye" without one is not a goodbye.
_LEAVING = re.compile(r"(?<!\w)(?:tam biet|bye|bai bai|hen gap lai|di day|ket thuc|out|hen hom khac|see you|see u|"
                      r"ngu ngon|chuc mot ngay|chuc buoi|offline|tat may|xin phep|good night|goodbye|thoi|vay nhe|"
                      r"vay nha|the nhe|the nha|chao|cam on|thanks|thank|tks|ok|oke|okie|dc roi|duoc roi|xong roi|"
                      r"het roi|vay thoi|nhieu do)(?!\w)")


class ActionTamBiet(Action):
    """A goodbye, unless it answers the bot's own "which procedure?" ("à không, bán lẻ thôi")."""

    def name(self) -> str:
        return "action_tam_biet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        from actions.policy import answers_which_procedure  # it imports the actions that import this one

        if (guided := await answers_which_procedure(dispatcher, tracker, domain)) is not None:
            return guided
        if (followed := await dossier_followup(dispatcher, tracker, domain)) is not None:
            return followed  # "tại sao chậm vậy em" after a lookup
        if (guided := await procedure_question(dispatcher, tracker)) is not None:
            return guided  # "à không, ý em là bán lẻ" after a procedure answer
        text = tracker.latest_message.get("text") or ""
        if not text.startswith("/") and not _LEAVING.search(fold_key(text)):
            # "ko hiểu j hết, chỉ e với" read as a goodbye: no word of leaving, so what the bot can do
            dispatcher.utter_message(response="utter_hoi_bot")
            return []
        dispatcher.utter_message(response="utter_tam_biet")
        return []


class ActionPhuDinh(Action):
    """A "no": an apology and a way on when it corrects the last answer, else a polite close."""

    def name(self) -> str:
        return "action_phu_dinh"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        from actions.policy import answers_which_procedure  # it imports the actions that import this one

        if (followed := await dossier_followup(dispatcher, tracker, domain)) is not None:
            return followed
        if (guided := await answers_which_procedure(dispatcher, tracker, domain)) is not None:
            return guided  # "à không, bán lẻ thôi" to "which of the tobacco procedures?"
        if (guided := await procedure_question(dispatcher, tracker)) is not None:
            return guided  # "lam online duoc ko" after a procedure answer
        text = tracker.latest_message.get("text") or ""
        if is_correction(text) or scolds_the_assistant(text):
            return apologise(dispatcher)
        dispatcher.utter_message(text=texts.text("smalltalk.declined"))
        return []


def apologise(dispatcher: CollectingDispatcher) -> list[EventType]:
    """The last answer was wrong or did not help: sorry, say it again or see a person."""
    dispatcher.utter_message(text=texts.text("smalltalk.corrected"), buttons=[
        {"title": texts.text("smalltalk.button.person"), "payload": "/gap_can_bo"},
        {"title": texts.text("smalltalk.button.procedure"), "payload": "/hoi_thu_tuc"}])
    return []
