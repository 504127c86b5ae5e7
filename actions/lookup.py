"""Dossier lookup: the form that asks for a code, and the lookup itself."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, redis_client
from common import replies, stats
from common.codes import canonical_code, is_bare_code_attempt, looks_like_code_attempt
from common.stats import Count
from dossier_api.client import DossierApiUnavailable, DossierNotFound, InvalidDossierCode

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


class ValidateTraCuuForm(FormValidationAction):
    """Accepts a code in any shape; after three malformed codes the form stops."""

    def name(self) -> str:
        return "validate_tra_cuu_form"

    async def validate_ma_ho_so(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = canonical_code(str(value or ""))
        if code:
            return {"ma_ho_so": code, "so_lan_nhap_sai": 0}
        if not is_bare_code_attempt(str(value or "")) and not looks_like_code_attempt(str(value or "")):
            # Not a code at all: the citizen moved on; stop waiting for one.
            return {"ma_ho_so": None, "so_lan_nhap_sai": MAX_ATTEMPTS}
        attempts = int(tracker.get_slot("so_lan_nhap_sai") or 0) + 1
        dispatcher.utter_message(text=replies.invalid_code())
        return {"ma_ho_so": None, "so_lan_nhap_sai": attempts}

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        activating = tracker.active_loop_name != "tra_cuu_form"
        if activating and not tracker.get_slot("ma_ho_so") and (
            is_bare_code_attempt(text) or looks_like_code_attempt(text)
        ):
            # "Tra cứu 000.00.12.H17-201301-0001": say what is wrong before the form asks for a code.
            dispatcher.utter_message(text=replies.invalid_code())
        events = await super().run(dispatcher, tracker, domain)
        attempts = next(
            (e["value"] for e in reversed(events) if e.get("event") == "slot" and e.get("name") == "so_lan_nhap_sai"),
            0,
        )
        if attempts and attempts >= MAX_ATTEMPTS:
            dispatcher.utter_message(response="utter_dung_tra_cuu")
            events += [SlotSet("so_lan_nhap_sai", 0), SlotSet("requested_slot", None), ActiveLoop(None)]
        return events


class ActionTraCuuHoSo(DossierAction):
    """Looks the dossier up and tells its status; remembers it for a rating."""

    def name(self) -> str:
        return "action_tra_cuu_ho_so"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code = tracker.get_slot("ma_ho_so")
        if not code:  # the form gave up after malformed codes
            return []
        events: list[EventType] = [SlotSet("ma_ho_so", None)]
        dossier, outcome, text = None, "found", ""
        try:
            dossier = await self.client.get_dossier(code)
        except InvalidDossierCode:
            outcome, text = "invalid", replies.invalid_code()
        except DossierNotFound:
            outcome, text = "not_found", replies.dossier_not_found(code)
        except DossierApiUnavailable:
            logger.warning("dossier API unavailable during a lookup", exc_info=True)
            outcome, text = "unavailable", replies.service_unavailable(self.settings.hotline)
        await stats.record(redis_client(), Count(stats.LOOKUPS, outcome))
        if dossier is None:
            dispatcher.utter_message(text=text)
            return events
        dispatcher.utter_message(
            text=replies.dossier_status(dossier),
            buttons=[
                {"title": "Đánh giá dịch vụ", "payload": "/danh_gia"},
                {"title": "Tra cứu hồ sơ khác", "payload": "/tra_cuu_ho_so"},
            ],
        )
        return events + [SlotSet("ho_so_gan_nhat", dossier.code)]
