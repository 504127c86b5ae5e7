"""Handoff to a person: the hotline and the office hours."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import DossierAction


class ActionGapCanBo(DossierAction):
    """Tells how to reach a staff member."""

    def name(self) -> str:
        return "action_gap_can_bo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        s = self.settings
        dispatcher.utter_message(
            text=(
                f"Anh/chị có thể gặp cán bộ {s.department_name} qua đường dây nóng {s.hotline} "
                f"hoặc trực tiếp tại {s.office_address}.\nGiờ làm việc: {s.office_hours}."
            )
        )
        return []
