"""Short answers that are not a request: "không", "không cần đâu" (the citizen declines) and
"sai rồi", "không phải ý tôi" (the last answer missed): both are the intent ``phu_dinh``,
told apart by the words of a correction; "ok", "vâng" (``khang_dinh``) get a domain response."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from content import texts
from vn_nlu.lexicon import is_correction


class ActionPhuDinh(Action):
    """A "no": an apology and a way on when it corrects the last answer, else a polite close."""

    def name(self) -> str:
        return "action_phu_dinh"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if is_correction(tracker.latest_message.get("text") or ""):
            dispatcher.utter_message(text=texts.text("smalltalk.corrected"), buttons=[
                {"title": texts.text("smalltalk.button.person"), "payload": "/gap_can_bo"},
                {"title": texts.text("smalltalk.button.procedure"), "payload": "/hoi_thu_tuc"}])
        else:
            dispatcher.utter_message(text=texts.text("smalltalk.declined"))
        return []
