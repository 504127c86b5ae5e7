"""Handoff to a person: the hotline and the office hours."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, channel_of, redis_client
from common.dates import local_now
from common.handoff import in_office_hours, mark_waiting

CHAT_CHANNELS = {"telegram", "zalo", "web"}


class ActionGapCanBo(DossierAction):
    """Tells how to reach a staff member; in office hours on chat, hands the conversation over."""

    def name(self) -> str:
        return "action_gap_can_bo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        s = self.settings
        now = local_now()
        if channel_of(tracker) in CHAT_CHANNELS and in_office_hours(now, s.handoff_hours):
            await mark_waiting(redis_client(), tracker.sender_id, now)
            dispatcher.utter_message(text=(
                f"Tôi đã chuyển cuộc trò chuyện cho cán bộ {s.department_name}. Cán bộ sẽ trả lời anh/chị "
                "ngay tại đây trong giờ làm việc; trong lúc chờ, trợ lý ảo tạm dừng. "
                f"Cần gấp, vui lòng gọi {s.hotline}."))
            return [ConversationPaused()]
        dispatcher.utter_message(
            text=(
                f"Anh/chị có thể gặp cán bộ {s.department_name} qua đường dây nóng {s.hotline} "
                f"hoặc trực tiếp tại {s.office_address}.\nGiờ làm việc: {s.office_hours}."
            )
        )
        return []
