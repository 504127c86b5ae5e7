"""Procedure guidance: documents, fees, processing time, where to submit."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, latest_entity
from common import replies
from dossier_api.client import DossierApiUnavailable, DossierNotFound
from dossier_api.models import Procedure
from vn_nlu.lexicon import names_other_agency

logger = logging.getLogger(__name__)

# A search hit below this score is a coincidence of common words, not a match.
MIN_SCORE = 1.5

ANSWERS: dict[str, Callable[[Procedure], str]] = {
    "hoi_le_phi": replies.procedure_fee,
    "hoi_thoi_han": replies.procedure_time,
    "hoi_giay_to": replies.procedure_documents,
    "hoi_nop_ho_so": replies.procedure_submission,
    "hoi_thu_tuc": replies.procedure_summary,
}
FOLLOW_UPS = [
    ("Giấy tờ cần nộp", "hoi_giay_to"),
    ("Lệ phí", "hoi_le_phi"),
    ("Thời hạn", "hoi_thoi_han"),
    ("Nơi nộp", "hoi_nop_ho_so"),
]
POPULAR = [
    ("Bán lẻ xăng dầu", "ban_le_xang_dau"),
    ("Bán buôn rượu", "ban_buon_ruou"),
    ("Bán buôn thuốc lá", "ban_buon_thuoc_la"),
    ("Đăng ký khuyến mại", "dang_ky_khuyen_mai"),
    ("An toàn thực phẩm", "attp_co_so"),
    ("Cửa hàng LPG chai", "ban_le_lpg_chai"),
]


def _payload(intent: str, procedure_id: str) -> str:
    return f'/{intent}{{"thu_tuc": "{procedure_id}"}}'


class ActionHuongDanThuTuc(DossierAction):
    """Finds the procedure the citizen means and answers the asked aspect of it."""

    def name(self) -> str:
        return "action_huong_dan_thu_tuc"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or "hoi_thu_tuc"
        answer = ANSWERS.get(intent, replies.procedure_summary)
        try:
            procedure, related = await self._find(tracker)
            if procedure is None and names_other_agency(tracker.latest_message.get("text") or ""):
                # "nộp hồ sơ làm hộ chiếu ở đâu": not the procedure discussed before, not ours.
                dispatcher.utter_message(response="utter_ngoai_pham_vi")
                return []
            if procedure is None:
                procedure = await self._previous(tracker)
        except DossierApiUnavailable:
            logger.warning("dossier API unavailable during procedure guidance", exc_info=True)
            dispatcher.utter_message(text=replies.service_unavailable(self.settings.hotline))
            return []
        if procedure is None:
            dispatcher.utter_message(
                text="Anh/chị hỏi về thủ tục nào ạ? Hãy nêu tên thủ tục (ví dụ: \"bán lẻ xăng dầu\") hoặc chọn:",
                buttons=[{"title": t, "payload": _payload(intent, pid)} for t, pid in POPULAR],
            )
            return []
        buttons = [{"title": t, "payload": _payload(i, procedure.id)} for t, i in FOLLOW_UPS if i != intent]
        buttons += [{"title": p.name, "payload": _payload(intent, p.id)} for p in related]
        dispatcher.utter_message(text=answer(procedure), buttons=buttons)
        return [SlotSet("thu_tuc_gan_nhat", procedure.id), SlotSet("thu_tuc", None)]

    async def _find(self, tracker: Tracker) -> tuple[Procedure | None, list[Procedure]]:
        """The procedure the latest message means, by its topic or a catalog search."""
        mention = latest_entity(tracker, "thu_tuc")
        text = tracker.latest_message.get("text") or ""
        if mention:  # a button payload names the procedure id, a mention a topic
            try:
                return await self.client.get_procedure(mention), []
            except DossierNotFound:
                pass
        query = " ".join(filter(None, [text if not text.startswith("/") else "", (mention or "").replace("_", " ")]))
        matches = await self.client.search_procedures(query, limit=3) if query.strip() else []
        if matches and matches[0].score >= MIN_SCORE:
            top = matches[0]
            related = [m.procedure for m in matches[1:] if m.score >= max(MIN_SCORE, 0.85 * top.score)]
            return top.procedure, related
        return None, []

    async def _previous(self, tracker: Tracker) -> Procedure | None:
        """The procedure discussed before, for a follow-up ("còn lệ phí thì sao")."""
        previous = tracker.get_slot("thu_tuc_gan_nhat")
        if not previous:
            return None
        try:
            return await self.client.get_procedure(previous)
        except DossierNotFound:
            return None
