"""The one typed async client of the dossier system.

Used by the Rasa actions, the SMS gateway and the notifiers alike; it knows
nothing of Rasa. Timeouts and bounded retries on transport errors and 5xx;
hot dossier codes are cached in Redis for a short time when a cache is given.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any
from urllib.parse import quote

import aiohttp
from pydantic import parse_obj_as

from common.codes import canonical_code
from common.settings import Settings
from common.text import cut_at_word
from dossier_api.models import (
    Appointment,
    AppointmentIn,
    ChangeEvent,
    DaySlots,
    Delivery,
    DeliveryIn,
    Dossier,
    DossierPage,
    PlaceHit,
    PlaceResult,
    Procedure,
    ProcedureMatch,
    Rating,
    RatingIn,
    StatusChange,
    Ticket,
    TicketAnswer,
    TicketChange,
    TicketHistory,
    TicketIn,
)

logger = logging.getLogger(__name__)


MAX_QUERY = 300  # characters of a free-text search sent to the API


async def _json_object(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    """An error answer's JSON object; a body that is not one raises DossierApiUnavailable."""
    try:
        body = await resp.json(content_type=None)
    except ValueError as exc:
        raise DossierApiUnavailable(f"HTTP {resp.status}, not JSON") from exc
    if not isinstance(body, dict):
        raise DossierApiUnavailable(f"HTTP {resp.status}, not a JSON object")
    return body


def cache_key(code: str) -> str:
    """Where a dossier (canonical code) is cached; evicted when its status changes."""
    return f"dossier:{code}"


class DossierApiError(Exception):
    """Base of the client's errors."""


class InvalidDossierCode(DossierApiError):
    """The text is not a dossier code in the national format."""


class DossierNotFound(DossierApiError):
    """No dossier (or procedure) with this identifier."""


class BadRequest(DossierApiError):
    """The API refused the request; ``error`` is its machine-readable code."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


class Conflict(BadRequest):
    """The request conflicts with the current state (HTTP 409); ``error`` says how."""


class StaleTicket(Conflict):
    """The ticket changed since the version the change was decided on (or would be answered
    without an answer: ``error`` ``no_answer``); reload it."""


class SlotFull(Conflict):
    """Every counter of the appointment slot is taken."""


class DossierApiUnavailable(DossierApiError):
    """The dossier system did not answer usefully after the retries."""


class DossierClient:
    """Client of the dossier API.

    Args:
        base_url: root URL of the API, e.g. ``http://127.0.0.1:8081``.
        token: bearer token of the citizen-service routes, empty when the API needs none.
        staff_token: bearer token of the staff routes (status changes, the ticket list, answers).
        timeout_s: total timeout of one HTTP attempt.
        retries: extra attempts after a transport error or a 5xx answer.
        cache: an optional ``redis.asyncio.Redis`` for hot dossier codes.
        cache_ttl_s: how long a cached dossier stays fresh.
        session: an optional shared ``aiohttp.ClientSession`` (not closed by :meth:`close`).
    """

    def __init__(
        self,
        base_url: str,
        token: str = "",
        timeout_s: float = 5.0,
        retries: int = 2,
        cache: Any = None,
        cache_ttl_s: int = 60,
        session: aiohttp.ClientSession | None = None,
        staff_token: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._staff_headers = {"Authorization": f"Bearer {staff_token}"} if staff_token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._retries = retries
        self._cache = cache
        self._cache_ttl_s = cache_ttl_s
        self._session = session
        self._owns_session = session is None

    @classmethod
    def from_settings(cls, settings: Settings, cache: Any = None) -> DossierClient:
        """The client every service builds from ``DOSSIER_API_*`` (``cache``: a Redis client, optional)."""
        return cls(settings.dossier_api_url, token=settings.dossier_api_token, timeout_s=settings.dossier_api_timeout_s,
                   retries=settings.dossier_api_retries, cache=cache, cache_ttl_s=settings.dossier_cache_ttl_s,
                   staff_token=settings.dossier_api_staff_token)

    async def __aenter__(self) -> DossierClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._session is not None and self._owns_session:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
            self._owns_session = True
        return self._session

    async def _request(self, method: str, path: str, retry: bool = True, staff: bool = False, **kwargs: Any) -> Any:
        """One API call; ``retry=False`` for calls that must not be repeated (POST), ``staff=True`` for
        the staff routes (their own token)."""
        url = f"{self.base_url}{path}"
        if staff:
            kwargs["headers"] = {**kwargs.get("headers", {}), **self._staff_headers}
        last_error: Exception | None = None
        for attempt in range((self._retries if retry else 0) + 1):
            if attempt:
                await asyncio.sleep(0.2 * 2 ** (attempt - 1))
            try:
                async with self._http().request(method, url, timeout=self._timeout, **kwargs) as resp:
                    if resp.status == 404:
                        raise DossierNotFound(path)
                    if resp.status in (400, 409):
                        body = await _json_object(resp)
                        if resp.status == 400 and body.get("error") == "invalid_code":
                            raise InvalidDossierCode(path)
                        error = (Conflict if resp.status == 409 else BadRequest)
                        raise error(str(body.get("error", "")), str(body.get("message", "bad request")))
                    if resp.status >= 500:
                        last_error = DossierApiUnavailable(f"HTTP {resp.status}")
                        continue
                    if resp.status >= 400:
                        raise DossierApiError(f"HTTP {resp.status}")
                    try:
                        return await resp.json(content_type=None)
                    except ValueError as exc:  # a proxy's HTML page: the system did not answer usefully
                        raise DossierApiUnavailable(f"HTTP {resp.status}, not JSON") from exc
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                last_error = exc
                logger.warning("dossier API %s %s failed (attempt %d): %r", method, path, attempt + 1, exc)
        raise DossierApiUnavailable(str(last_error)) from last_error

    async def get_dossier(self, code: str) -> Dossier:
        """A dossier by code in any case or spacing.

        Raises:
            InvalidDossierCode: the text is not a code in the national format.
            DossierNotFound: no dossier has this code.
            DossierApiUnavailable: the system did not answer.
        """
        canonical = canonical_code(code)
        if canonical is None:
            raise InvalidDossierCode(code)
        key = cache_key(canonical)
        if self._cache is not None:
            try:
                cached = await self._cache.get(key)
                if cached:
                    return Dossier.parse_raw(cached)
            except Exception:  # a cache outage must not stop lookups
                logger.warning("dossier cache read failed", exc_info=True)
        dossier = Dossier.parse_obj(await self._request("GET", f"/api/v1/dossiers/{quote(canonical)}"))
        if self._cache is not None:
            try:
                await self._cache.set(key, dossier.json(), ex=self._cache_ttl_s)
            except Exception:
                logger.warning("dossier cache write failed", exc_info=True)
        return dossier

    async def list_dossiers(self, status: str | None = None, limit: int = 50, offset: int = 0) -> DossierPage:
        """A page of dossiers, optionally of one status."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        return DossierPage.parse_obj(await self._request("GET", "/api/v1/dossiers", params=params))

    async def events(self, after: int = 0, limit: int = 100) -> list[ChangeEvent]:
        """Status changes with an id above ``after``, oldest first."""
        data = await self._request("GET", "/api/v1/events", params={"after": after, "limit": limit})
        return parse_obj_as(list[ChangeEvent], data)

    async def set_status(self, code: str, change: StatusChange) -> Dossier:
        """Move a dossier to a new status (what the one-stop system does)."""
        data = await self._request("POST", f"/api/v1/dossiers/{quote(code)}/status", retry=False, staff=True,
                                   data=change.json(), headers={"Content-Type": "application/json"})
        return Dossier.parse_obj(data)

    async def appointment_days(self, count: int = 5) -> list[dt.date]:
        """The next days that take appointments."""
        return [dt.date.fromisoformat(d) for d in await self._request("GET", "/api/v1/appointments/days",
                                                                       params={"count": count})]

    async def appointment_slots(self, day: dt.date) -> DaySlots:
        """Free places per slot on ``day`` (``closed`` says why there are none)."""
        data = await self._request("GET", "/api/v1/appointments/slots", params={"date": day.isoformat()})
        return DaySlots.parse_obj(data)

    async def book(self, wanted: AppointmentIn) -> Appointment:
        """Take a queue number.

        Raises:
            SlotFull: every counter of the slot is taken.
            DossierApiError: closed day or not a slot (the message says which).
        """
        try:
            data = await self._request("POST", "/api/v1/appointments", retry=False, data=wanted.json(),
                                       headers={"Content-Type": "application/json"})
        except Conflict as exc:
            raise SlotFull(exc.error, exc.message) from exc
        return Appointment.parse_obj(data)

    async def appointments(self, owner: str) -> list[Appointment]:
        """An owner's coming appointments."""
        return parse_obj_as(list[Appointment], await self._request("GET", "/api/v1/appointments",
                                                                   params={"owner": owner}))

    async def cancel_appointment(self, appointment_id: int, owner: str) -> Appointment:
        data = await self._request("POST", f"/api/v1/appointments/{appointment_id}/cancel", retry=False,
                                   json={"owner": owner})
        return Appointment.parse_obj(data)

    async def request_delivery(self, wanted: DeliveryIn) -> Delivery:
        """Ask for a result to be posted.

        Raises:
            BadRequest: invalid phone, malformed code or body (``error`` says which).
            DossierNotFound: no dossier with this code.
            Conflict: the dossier is not deliverable yet or already requested (the message says which).
        """
        data = await self._request("POST", "/api/v1/deliveries", retry=False, data=wanted.json(),
                                   headers={"Content-Type": "application/json"})
        if self._cache is not None and (canonical := canonical_code(wanted.dossier_code)) is not None:
            try:  # the cached dossier would still say no delivery was asked for
                await self._cache.delete(cache_key(canonical))
            except Exception:
                logger.warning("dossier cache eviction failed", exc_info=True)
        return Delivery.parse_obj(data)

    async def get_delivery(self, tracking: str, owner: str) -> Delivery:
        return Delivery.parse_obj(await self._request("GET", f"/api/v1/deliveries/{quote(tracking)}",
                                                      params={"owner": owner}))

    async def create_ticket(self, ticket: TicketIn) -> Ticket:
        data = await self._request("POST", "/api/v1/tickets", retry=False, data=ticket.json(),
                                   headers={"Content-Type": "application/json"})
        return Ticket.parse_obj(data)

    async def get_ticket(self, number: str, owner: str) -> Ticket:
        return Ticket.parse_obj(await self._request("GET", f"/api/v1/tickets/{quote(number)}", params={"owner": owner}))

    async def answer_ticket(self, number: str, answer: TicketAnswer) -> Ticket:
        """Add an answer to a ticket (the earlier ones are kept); its author is told.

        Raises:
            StaleTicket: the ticket is no longer at ``answer.version``.
            DossierNotFound: no ticket with this number.
        """
        return await self._ticket_change(f"/api/v1/tickets/{quote(number)}/answer", answer)

    async def change_ticket(self, number: str, change: TicketChange) -> Ticket:
        """Move a ticket to another state and/or (un)assign it (raises as :meth:`answer_ticket`)."""
        return await self._ticket_change(f"/api/v1/tickets/{quote(number)}/change", change)

    async def _ticket_change(self, path: str, body: TicketAnswer | TicketChange) -> Ticket:
        try:
            data = await self._request("POST", path, retry=False, staff=True, data=body.json(),
                                       headers={"Content-Type": "application/json"})
        except Conflict as exc:
            raise StaleTicket(exc.error, exc.message) from exc
        return Ticket.parse_obj(data)

    async def ticket_history(self, number: str) -> TicketHistory:
        """A ticket for staff, with its answers and every change of state or assignee."""
        return TicketHistory.parse_obj(await self._request("GET", f"/api/v1/tickets/{quote(number)}/history",
                                                           staff=True))

    async def tickets(self, open_only: bool = True, status: str | None = None,
                      assignee: str | None = None) -> list[Ticket]:
        """Tickets for staff, due first: open ones (mới, đang xử lý), all, or of one ``status``;
        of one ``assignee`` ("": nobody's) when given."""
        params = {"status": status or ("open" if open_only else "all")}
        if assignee is not None:
            params["assignee"] = assignee
        data = await self._request("GET", "/api/v1/tickets", staff=True, params=params)
        return [Ticket.parse_obj(t) for t in data]

    async def ratings_by_day(self, first: dt.date, last: dt.date) -> list[dict]:
        """Ratings per day, channel and level."""
        return await self._request("GET", "/api/v1/ratings/daily",
                                   params={"from": first.isoformat(), "to": last.isoformat()})

    async def report(self, first: dt.date, last: dt.date) -> dict[str, Any]:
        """The department's indicators over ``first``..``last``: received by filing channel, results on
        time / late, ratings by channel and level (``GET /api/v1/reports/summary``, staff token)."""
        return await self._request("GET", "/api/v1/reports/summary", staff=True,
                                   params={"from": first.isoformat(), "to": last.isoformat()})

    async def search_procedures(self, query: str, limit: int = 5) -> list[ProcedureMatch]:
        """Procedures matching a free-text query, best first."""
        # A long question cut at a word boundary: the search needs its words, not an 8 KB query string.
        params = {"q": cut_at_word(query, MAX_QUERY), "limit": limit}
        data = await self._request("GET", "/api/v1/procedures", params=params)
        return parse_obj_as(list[ProcedureMatch], data)

    async def get_procedure(self, procedure_id: str) -> Procedure:
        """One procedure by id."""
        return Procedure.parse_obj(await self._request("GET", f"/api/v1/procedures/{quote(procedure_id)}"))

    async def places(self, place_type: str, *, lat: float | None = None, lon: float | None = None,
                     area_text: str | None = None, limit: int = 3) -> PlaceResult:
        """Places of a type nearest to a point, or to the ward named in ``area_text``.

        Raises:
            DossierApiError: no point given and no ward of the city found in the text.
        """
        params: dict[str, Any] = {"type": place_type, "limit": limit}
        if lat is not None and lon is not None:
            params.update(lat=lat, lon=lon)
        else:
            params["q"] = area_text or ""
        return PlaceResult.parse_obj(await self._request("GET", "/api/v1/places", params=params))

    async def named_place(self, text: str) -> PlaceHit | None:
        """The place of the dataset ``text`` names ("chợ Hàn mở cửa mấy giờ"), if any."""
        found = PlaceResult.parse_obj(await self._request("GET", "/api/v1/places", params={"named": text}))
        return found.items[0] if found.items else None

    async def rate(self, rating: RatingIn) -> Rating:
        """Store a satisfaction rating."""
        data = await self._request("POST", "/api/v1/ratings", retry=False, data=rating.json(),
                                   headers={"Content-Type": "application/json"})
        return Rating.parse_obj(data)
