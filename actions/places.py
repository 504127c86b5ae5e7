"""Nearby places: the nearest of a type to a shared location or a named ward."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, channel_of, dossier_client, last_bot_text, latest_entity
from actions.handoff import ActionGapCanBo, asks_where_the_department_is
from content import replies, texts
from dossier_api.client import DossierApiError, DossierApiUnavailable
from dossier_api.models import PlaceResult
from dossier_api.places import PLACE_TYPES

logger = logging.getLogger(__name__)

LAST_AREA = "khu_vuc_gan_nhat"  # where the last places answer was: {"ward": ...} or {"lat": ..., "lon": ...}


def asked_where(tracker: Tracker) -> bool:
    """Whether the bot's last message asked where (a location or a ward) for a place type."""
    said = last_bot_text(tracker)
    return bool(tracker.get_slot("loai_dia_diem")) and any(
        said.startswith(texts.opening(ask)) for ask in ("places.ask_where", "places.ask_where_sms"))


def type_payload(place_type: str) -> str:
    """The button payload that asks for places of one type."""
    return f'/tim_dia_diem{{"loai_dia_diem": "{place_type}"}}'


def location_of(tracker: Tracker) -> tuple[float, float] | None:
    """The location a chat channel attached to the latest message (metadata ``location``)."""
    location = (tracker.latest_message.get("metadata") or {}).get("location") or {}
    try:
        return float(location["latitude"]), float(location["longitude"])
    except (KeyError, TypeError, ValueError):
        return None


def format_distance(metres: int) -> str:
    """``320 m`` or ``6,2 km`` (Vietnamese decimal comma)."""
    return f"{metres} m" if metres < 1000 else f"{metres / 1000:.1f} km".replace(".", ",")


def format_places(place_type: str, result: PlaceResult) -> str:
    """The nearest places as numbered lines."""
    label = PLACE_TYPES[place_type]
    where = texts.text("places.near_ward", ward=result.ward) if result.ward else texts.text("places.near_you")
    if not result.items:
        return texts.text("places.none", label=label, where=where)
    lines = [texts.text("places.nearest", label=label, where=where)]
    for i, hit in enumerate(result.items, 1):
        hours = texts.text("places.hours", hours=hit.hours) if hit.hours else ""
        distance = format_distance(hit.distance_m)
        lines.append(texts.text("places.item", number=i, name=hit.name, address=hit.address, ward=hit.ward,
                                distance=distance, hours=hours))
    return "\n".join(lines)


async def named_place_reply(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """A place of the dataset named ("chợ Hàn mở cửa mấy giờ", "Co.opmart Hòa Xuân ở đâu"): its address and
    opening hours; None when the message names none (or the API cannot say)."""
    text = tracker.latest_message.get("text") or ""
    if not text.strip() or text.startswith("/"):
        return None
    try:
        place = await dossier_client().named_place(text)
    except DossierApiError:
        logger.warning("named place not looked up", exc_info=True)
        return None
    if place is None:
        return None
    hours = texts.text("places.hours", hours=place.hours) if place.hours else ""
    dispatcher.utter_message(text=texts.text("places.named", name=place.name, address=place.address, ward=place.ward,
                                             hours=hours))
    return []


class ActionTimDiaDiem(DossierAction):
    """Answers ``tim_dia_diem``; the place type is remembered until a location or ward arrives."""

    def name(self) -> str:
        return "action_tim_dia_diem"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if (named := await named_place_reply(dispatcher, tracker)) is not None:
            return named
        place_type = tracker.get_slot("loai_dia_diem")
        if asks_where_the_department_is(tracker.latest_message.get("text") or "") and not latest_entity(
                tracker, "loai_dia_diem"):
            return await ActionGapCanBo().run(dispatcher, tracker, domain)  # "sở công thương ở mô": its office
        if place_type not in PLACE_TYPES:
            buttons = [{"title": label[:1].upper() + label[1:], "payload": type_payload(value)}
                       for value, label in PLACE_TYPES.items()]
            dispatcher.utter_message(text=texts.text("places.ask_type"), buttons=buttons)
            return []
        point = location_of(tracker)
        text = tracker.latest_message.get("text") or ""
        try:
            if point is not None:
                result = await self.client.places(place_type, lat=point[0], lon=point[1])
            else:
                result = await self._near_named_or_last(place_type, text, tracker.get_slot(LAST_AREA))
        except DossierApiUnavailable:
            logger.warning("places search unavailable", exc_info=True)
            dispatcher.utter_message(text=replies.service_unavailable(self.settings.hotline))
            return []
        except DossierApiError:  # neither a location nor a ward of the city, now or before
            self._ask_where(dispatcher, tracker, place_type)
            return []
        dispatcher.utter_message(text=format_places(place_type, result))
        area = {"ward": result.ward} if result.ward else {"lat": point[0], "lon": point[1]} if point else None
        return [SlotSet(LAST_AREA, area)] if area else []

    async def _near_named_or_last(self, place_type: str, text: str, last: Any) -> PlaceResult:
        """Near the ward ``text`` names, else near the area of the last places answer ("còn siêu
        thị thì sao" after ATMs of a ward).

        Raises:
            DossierApiError: no ward named, and no area before.
        """
        try:
            return await self.client.places(place_type, area_text=text)
        except DossierApiUnavailable:
            raise
        except DossierApiError:
            if not isinstance(last, dict):
                raise
            if last.get("ward"):
                return await self.client.places(place_type, area_text=str(last["ward"]))
            try:
                return await self.client.places(place_type, lat=float(last["lat"]), lon=float(last["lon"]))
            except (KeyError, TypeError, ValueError):
                raise DossierApiError("no area before") from None

    @staticmethod
    def _ask_where(dispatcher: CollectingDispatcher, tracker: Tracker, place_type: str) -> None:
        example = PLACE_TYPES[place_type]
        if channel_of(tracker) == "sms":
            dispatcher.utter_message(text=texts.text("places.ask_where_sms", example=example))
            return
        message: dict[str, Any] = {"text": texts.text("places.ask_where", example=example), "request_location": True}
        dispatcher.utter_message(json_message=message)
