"""Reference implementation of the dossier API (aiohttp + SQLite).

The department's real one-stop system is external; this server implements the
same contract (``openapi.yaml``) so the assistant runs on an embedded default.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from pydantic import BaseModel, ValidationError

from common import signing
from common.codes import canonical_code
from common.dates import local_now
from common.delivery import DELIVERY_FEE_VND, delivery_state
from common.feedback import ANSWER_WORKING_DAYS, OPEN_TICKETS, TicketStatus, classify
from common.jsonbody import BadJson, parse_json
from common.phones import normalize_msisdn
from common.status import DossierStatus
from common.workdays import add_working_days
from dossier_api.calendar import Calendar, ClosedDay
from dossier_api.catalog import CatalogIndex, CatalogSource
from dossier_api.db import AlreadyBooked, Database, TicketStale
from dossier_api.models import (
    AppointmentIn,
    ChangeEvent,
    DaySlots,
    DeliveryIn,
    DossierPage,
    PlaceHit,
    PlaceResult,
    RatingIn,
    SlotInfo,
    StatusChange,
    TicketAnswer,
    TicketChange,
    TicketIn,
)
from dossier_api.places import PLACE_TYPES, PlaceIndex

logger = logging.getLogger(__name__)

OPENAPI_FILE = Path(__file__).parent / "openapi.yaml"
DB_KEY = web.AppKey("db", Database)
CATALOG_KEY = web.AppKey("catalog", CatalogSource)
PLACES_KEY = web.AppKey("places", PlaceIndex)


@dataclass
class EventHook:
    """Where status changes are pushed (the gateway), signed with a shared secret.

    Pushes are best effort (a few tries); receivers also poll ``/api/v1/events``."""

    url: str = ""
    secret: str = ""
    tries: int = 3
    tasks: set[asyncio.Task] | None = None

    def push(self, event: ChangeEvent) -> None:
        if not self.url:
            return
        if self.tasks is None:
            self.tasks = set()
        task = asyncio.create_task(self._push(event.json().encode()))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _push(self, body: bytes) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            for attempt in range(self.tries):
                # Signed at each attempt: the receiver refuses old timestamps (replays).
                headers = {"Content-Type": "application/json", **signing.signed_headers(self.secret, body)}
                try:
                    async with http.post(self.url, data=body, headers=headers) as resp:
                        if resp.status < 300:
                            return
                        logger.warning("event webhook answered %d (attempt %d)", resp.status, attempt + 1)
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    logger.warning("event webhook failed (attempt %d): %r", attempt + 1, exc)
                await asyncio.sleep(0.5 * 2**attempt)


HOOK_KEY = web.AppKey("event_hook", EventHook)
CALENDAR_KEY = web.AppKey("calendar", Calendar)
CLOCK_KEY = web.AppKey("clock", Callable)

MAX_PAGE = 500


class HttpError(Exception):
    """An error with an HTTP status and a machine-readable code."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def masked_target(request: web.BaseRequest) -> str:
    """The request's path with its query values hidden (``owner=sms:<phone>`` is personal data)."""
    if not request.query:
        return request.path
    return request.path + "?" + "&".join(f"{key}=***" for key in request.query)


class MaskedAccessLogger(AbstractAccessLogger):
    """The access log of ``python -m dossier_api``: method, path, status and time; no query values."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %d %.1f ms', request.remote, request.method, masked_target(request),
                         response.status, time * 1000)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map errors to JSON bodies: ours keep their status, the rest become 500."""
    try:
        return await handler(request)
    except HttpError as exc:
        return web.json_response({"error": exc.error, "message": exc.message}, status=exc.status)
    except web.HTTPException:
        raise
    except Exception:
        logger.error("unhandled error on %s %s", request.method, request.path, exc_info=True)
        return web.json_response({"error": "internal", "message": "Internal error"}, status=500)


# Routes only staff tools call: they change what citizens are told or read every ticket's owner.
STAFF_ROUTES = frozenset({
    ("POST", "/api/v1/dossiers/{code}/status"),
    ("GET", "/api/v1/tickets"),
    ("POST", "/api/v1/tickets/{number}/answer"),
    ("GET", "/api/v1/reports/summary"),
    ("POST", "/api/v1/tickets/{number}/change"),
    ("GET", "/api/v1/tickets/{number}/history"),
})


def _bearer_is(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
    return bool(token) and hmac.compare_digest(header, f"Bearer {token}".encode())


def _token_middleware(token: str, staff_token: str) -> Callable:
    """Every ``/api/`` route wants a token: the staff routes the staff token, the others either."""

    @web.middleware
    async def check_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            route = (request.method, request.match_info.route.resource.canonical
                     if request.match_info.route.resource is not None else request.path)
            staff = _bearer_is(request, staff_token)
            if not staff and (route in STAFF_ROUTES or not _bearer_is(request, token)):
                raise HttpError(401, "unauthorized", "Missing or wrong bearer token")
        return await handler(request)

    return check_token


M = TypeVar("M", bound=BaseModel)


async def _body(request: web.Request, model: type[M]) -> M:
    """The request body as ``model``, or a 400."""
    data = await _json(request)
    if not isinstance(data, dict):  # pydantic turns [[k, v]] into a dict, and a None key into a TypeError
        raise HttpError(400, "invalid_body", "The body must be a JSON object")
    try:
        return model.parse_obj(data)
    except ValidationError as exc:
        raise HttpError(400, "invalid_body", str(exc)) from exc


async def _json(request: web.Request) -> Any:
    """The request body as JSON of ordinary depth and text, or a 400."""
    try:
        return parse_json(await request.read())
    except BadJson as exc:
        raise HttpError(400, "invalid_body", "The body is not UTF-8 JSON of reasonable depth") from exc


def _code(code: str | None) -> str | None:
    """A dossier code given with a request (path or body), canonical; a 400 when malformed."""
    if code is None:
        return None
    canonical = canonical_code(code)
    if canonical is None:
        raise HttpError(400, "invalid_code", "Not a dossier code in the national format")
    return canonical


MAX_INT_DIGITS = 18  # below 2**63: what SQLite's INTEGER holds


def _non_negative_int(raw: str, name: str) -> int:
    """ASCII digits only (``str.isdigit`` also takes ``²`` and other scripts' digits), at most 18."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_INT_DIGITS:
        raise HttpError(400, "invalid_parameter", f"{name} must be a non-negative integer below 10^18")
    return int(raw)


def _int_param(request: web.Request, name: str, default: int, maximum: int) -> int:
    return min(_non_negative_int(request.query.get(name, str(default)), name), maximum)


async def health(request: web.Request) -> web.Response:
    """Liveness: the database answers."""
    _, total = await asyncio.to_thread(request.app[DB_KEY].dossiers, None, 1, 0)
    return web.json_response({"status": "ok", "dossiers": total})


async def openapi(request: web.Request) -> web.FileResponse:
    """The API contract."""
    return web.FileResponse(OPENAPI_FILE, headers={"Content-Type": "application/yaml"})


async def get_dossier(request: web.Request) -> web.Response:
    """A dossier by code, in any case or spacing."""
    code = _code(request.match_info["code"])
    dossier = await asyncio.to_thread(request.app[DB_KEY].dossier, code)
    if dossier is None:
        raise HttpError(404, "not_found", "No dossier with this code")
    return web.json_response(text=dossier.as_of(request.app[CLOCK_KEY]().date()).json())


async def list_dossiers(request: web.Request) -> web.Response:
    """A page of dossiers, optionally filtered by status, so testers can find real codes."""
    status = request.query.get("status")
    if status is not None and status not in {s.value for s in DossierStatus}:
        raise HttpError(400, "invalid_parameter", "Unknown status")
    limit = _int_param(request, "limit", 50, MAX_PAGE)
    offset = _int_param(request, "offset", 0, 10**9)
    items, total = await asyncio.to_thread(request.app[DB_KEY].dossiers, status, limit, offset)
    today = request.app[CLOCK_KEY]().date()
    page = DossierPage(items=[d.as_of(today) for d in items], total=total, limit=limit, offset=offset)
    return web.json_response(text=page.json())


async def set_status(request: web.Request) -> web.Response:
    """The one-stop system moves a dossier to a new status; subscribers are told."""
    code = _code(request.match_info["code"])
    change = await _body(request, StatusChange)
    step = change.current_step or change.status.label
    dossier, event = await asyncio.to_thread(request.app[DB_KEY].set_status, code, change.status, step,
                                             request.app[CLOCK_KEY]())
    if dossier is None:
        raise HttpError(404, "not_found", "No dossier with this code")
    if event is not None:
        request.app[HOOK_KEY].push(event)
    return web.json_response(text=dossier.as_of(request.app[CLOCK_KEY]().date()).json())


async def list_events(request: web.Request) -> web.Response:
    """Status changes after an event id, oldest first (the polling fallback of the webhook)."""
    after = _int_param(request, "after", 0, 2**62)
    limit = _int_param(request, "limit", 100, MAX_PAGE)
    return web.json_response(text=_json_list(await asyncio.to_thread(request.app[DB_KEY].events, after, limit)))


def _date_param(request: web.Request, name: str = "date", default: dt.date | None = None) -> dt.date:
    """A date of the query string (required unless a default is given)."""
    if default is not None and name not in request.query:
        return default
    try:
        return dt.date.fromisoformat(request.query.get(name, ""))
    except ValueError as exc:
        raise HttpError(400, "invalid_parameter", f"{name} must be YYYY-MM-DD") from exc


def _day_slots(request: web.Request, day: dt.date, booked: dict[str, int]) -> DaySlots:
    calendar, now = request.app[CALENDAR_KEY], request.app[CLOCK_KEY]()
    try:
        calendar.check_day(day, now)
    except ClosedDay as closed:
        return DaySlots(date=day, closed=closed.reason)
    slots = [SlotInfo(time=t.strftime("%H:%M"), free=calendar.counters - booked.get(t.strftime("%H:%M"), 0))
             for t in calendar.slots() if day > now.date() or t > now.time()]
    return DaySlots(date=day, slots=slots)


async def appointment_slots(request: web.Request) -> web.Response:
    """Free places per slot on one day (or why the desk is closed)."""
    day = _date_param(request)
    booked = await asyncio.to_thread(request.app[DB_KEY].booked_counts, day)
    return web.json_response(text=_day_slots(request, day, booked).json())


async def appointment_days(request: web.Request) -> web.Response:
    """The next days that take appointments."""
    count = _int_param(request, "count", 5, 30)
    days = request.app[CALENDAR_KEY].open_days(request.app[CLOCK_KEY](), count)
    return web.json_response([d.isoformat() for d in days])


async def book_appointment(request: web.Request) -> web.Response:
    """Take a queue number for a slot; two requests can never get the same place, an owner never
    holds two places at one time (409 ``already_booked``), and a repeat with the same
    ``idempotency_key`` answers 200 with the first booking."""
    wanted = await _body(request, AppointmentIn)
    day_slots = _day_slots(request, wanted.date, {})
    if day_slots.closed:
        raise HttpError(400, "closed_day", day_slots.closed)
    if wanted.time not in {s.time for s in day_slots.slots}:
        raise HttpError(400, "invalid_time", "Not a slot of that day (or already past)")
    db, calendar = request.app[DB_KEY], request.app[CALENDAR_KEY]
    try:
        booked, created = await asyncio.to_thread(db.book, wanted, calendar.counters, request.app[CLOCK_KEY]())
    except AlreadyBooked as exc:
        raise HttpError(409, "already_booked",
                        f"This owner already has appointment {exc.existing.id} at that time") from exc
    if booked is None:
        raise HttpError(409, "slot_full", "Every counter of this slot is taken")
    return web.json_response(text=booked.json(), status=201 if created else 200)


async def list_appointments(request: web.Request) -> web.Response:
    """An owner's coming appointments."""
    owner = request.query.get("owner", "")
    if not owner:
        raise HttpError(400, "invalid_parameter", "owner is required")
    items = await asyncio.to_thread(request.app[DB_KEY].appointments, owner, request.app[CLOCK_KEY]().date())
    return web.json_response(text=_json_list(items))


async def cancel_appointment(request: web.Request) -> web.Response:
    """Cancel one of an owner's appointments."""
    appointment_id = _non_negative_int(request.match_info["appointment_id"], "appointment_id")
    body = await _json(request)
    if not isinstance(body, dict) or not isinstance(body.get("owner"), str) or not body["owner"]:
        raise HttpError(400, "invalid_body", "owner is required")
    owner = body["owner"]
    cancelled = await asyncio.to_thread(request.app[DB_KEY].cancel_appointment, appointment_id, owner)
    if cancelled is None:
        raise HttpError(404, "not_found", "No booked appointment with this id for this owner")
    return web.json_response(text=cancelled.json())


async def create_ticket(request: web.Request) -> web.Response:
    """File feedback or a complaint; the answer is due within the legal time frame. A repeat with
    the same owner and ``idempotency_key`` answers 200 with the first ticket."""
    ticket = await _body(request, TicketIn)
    ticket.dossier_code = _code(ticket.dossier_code)
    now = request.app[CLOCK_KEY]()
    due = add_working_days(now.date(), ANSWER_WORKING_DAYS, request.app[CALENDAR_KEY].closed_days)
    stored, created = await asyncio.to_thread(request.app[DB_KEY].add_ticket, ticket, classify(ticket.content),
                                              due, now)
    return web.json_response(text=stored.json(), status=201 if created else 200)


async def _owned(request: web.Request, load: Callable[[str], Any], key: str, what: str) -> web.Response:
    """A record read by its number, shown only to the ``owner`` who created it (a 404 to anybody else)."""
    record = await asyncio.to_thread(load, request.match_info[key])
    if record is None or record.owner != request.query.get("owner"):
        raise HttpError(404, "not_found", f"No {what} with this number for this owner")
    return web.json_response(text=record.json())


async def get_ticket(request: web.Request) -> web.Response:
    """A ticket, for its owner only (complaints are never shown to anybody else)."""
    return await _owned(request, request.app[DB_KEY].ticket, "number", "ticket")


STALE = {"stale_version": "The ticket changed since this version (reload it)",
         "no_answer": "A ticket is answered only once it has an answer"}


def _ticket_result(request: web.Request, result: Any) -> web.Response:
    """A ticket change's outcome: the ticket (its event pushed), a 409 when stale, a 404 when unknown."""
    if result is None:
        raise HttpError(404, "not_found", "No ticket with this number")
    if isinstance(result, TicketStale):
        raise HttpError(409, result.error, f"{STALE[result.error]}; current version {result.version}")
    ticket, event = result
    if event is not None:
        request.app[HOOK_KEY].push(event)
    return web.json_response(text=ticket.json())


async def answer_ticket(request: web.Request) -> web.Response:
    """Staff add an answer (the earlier ones are kept); its author is told on the channel they wrote from."""
    answer = await _body(request, TicketAnswer)
    result = await asyncio.to_thread(request.app[DB_KEY].answer_ticket, request.match_info["number"], answer,
                                     request.app[CLOCK_KEY]())
    return _ticket_result(request, result)


async def change_ticket(request: web.Request) -> web.Response:
    """Staff move a ticket to another state or (un)assign it, from the version they saw."""
    change = await _body(request, TicketChange)
    result = await asyncio.to_thread(request.app[DB_KEY].change_ticket, request.match_info["number"], change,
                                     request.app[CLOCK_KEY]())
    return _ticket_result(request, result)


async def ticket_history(request: web.Request) -> web.Response:
    """A ticket for staff: its answers and every change of state or assignee."""
    history = await asyncio.to_thread(request.app[DB_KEY].ticket_history, request.match_info["number"])
    if history is None:
        raise HttpError(404, "not_found", "No ticket with this number")
    return web.json_response(text=history.json())


async def create_delivery(request: web.Request) -> web.Response:
    """Ask for a dossier's result to be posted; only for results that exist or are due soon. A repeat
    with the same owner and ``idempotency_key`` answers 200 with the first request, whatever changed since."""
    wanted = await _body(request, DeliveryIn)
    db = request.app[DB_KEY]
    if wanted.idempotency_key:
        first = await asyncio.to_thread(db.delivery_by_key, wanted.owner, wanted.idempotency_key)
        if first is not None:
            return web.json_response(text=first.json(), status=200)
    wanted.dossier_code = _code(wanted.dossier_code)
    phone = normalize_msisdn(wanted.phone)
    if phone is None:
        raise HttpError(400, "invalid_phone", "Not a Vietnamese phone number")
    wanted.phone = phone
    dossier = await asyncio.to_thread(request.app[DB_KEY].dossier, wanted.dossier_code)
    if dossier is None:
        raise HttpError(404, "not_found", "No dossier with this code")
    now = request.app[CLOCK_KEY]()
    status = delivery_state(dossier.status, dossier.due_date, now.date())
    if status is None:
        raise HttpError(409, "not_deliverable", dossier.status.value)
    stored, created = await asyncio.to_thread(db.add_delivery, wanted, DELIVERY_FEE_VND, status, now)
    if stored is None:
        raise HttpError(409, "already_requested", "This dossier's result is already to be delivered")
    return web.json_response(text=stored.json(), status=201 if created else 200)


async def get_delivery(request: web.Request) -> web.Response:
    """A delivery by tracking number, for its owner."""
    return await _owned(request, request.app[DB_KEY].delivery, "tracking", "delivery")


async def search_procedures(request: web.Request) -> web.Response:
    """Search the catalog by keywords (with or without diacritics), or list it all."""
    catalog = await request.app[CATALOG_KEY].current()
    query = request.query.get("q", "").strip()
    limit = _int_param(request, "limit", 5, 50)
    if not query:
        return web.json_response(text=_json_list(catalog.procedures))
    return web.json_response(text=_json_list(catalog.search(query, limit)))


async def get_procedure(request: web.Request) -> web.Response:
    """One procedure by id."""
    procedure = (await request.app[CATALOG_KEY].current()).get(request.match_info["procedure_id"])
    if procedure is None:
        raise HttpError(404, "not_found", "No procedure with this id")
    return web.json_response(text=procedure.json())


async def post_rating(request: web.Request) -> web.Response:
    """Store a satisfaction rating (a repeat with the same ``idempotency_key``: 200, the first one)."""
    rating = await _body(request, RatingIn)
    rating.dossier_code = _code(rating.dossier_code)
    if rating.dossier_code and await asyncio.to_thread(request.app[DB_KEY].dossier, rating.dossier_code) is None:
        raise HttpError(404, "not_found", "No dossier with this code")
    now = request.app[CLOCK_KEY]().replace(microsecond=0)
    stored, created = await asyncio.to_thread(request.app[DB_KEY].add_rating, rating, now)
    return web.json_response(text=stored.json(), status=201 if created else 200)


async def rating_summary(request: web.Request) -> web.Response:
    """How many ratings of each level."""
    return web.json_response(await asyncio.to_thread(request.app[DB_KEY].rating_counts))


async def ratings_by_day(request: web.Request) -> web.Response:
    """Ratings per day, channel and level over ``from``..``to`` (ISO dates, default the last 30 days)."""
    last = _date_param(request, "to", request.app[CLOCK_KEY]().date())
    first = _date_param(request, "from", last - dt.timedelta(days=29))
    if first > last or (last - first).days > 366:
        raise HttpError(400, "invalid_parameter", "from must be before to, at most 366 days apart")
    rows = await asyncio.to_thread(request.app[DB_KEY].ratings_by_day, first, last)
    return web.json_response(rows)


MAX_REPORT_DAYS = 3700  # ten years and a bit


async def report_summary(request: web.Request) -> web.Response:
    """The department's indicators over ``from``..``to`` (ISO dates, both required, at most ten years)."""
    first, last = _date_param(request, "from"), _date_param(request, "to")
    if first > last or (last - first).days > MAX_REPORT_DAYS:
        raise HttpError(400, "invalid_parameter", f"from must be before to, at most {MAX_REPORT_DAYS} days apart")
    return web.json_response(await asyncio.to_thread(request.app[DB_KEY].report, first, last))


async def list_tickets(request: web.Request) -> web.Response:
    """Tickets for staff, due first: ``status`` open (default: mới, đang xử lý), all, or one state;
    ``assignee`` one staff member's ("" : nobody's)."""
    status = request.query.get("status", "open")
    states = {"open": list(OPEN_TICKETS), "all": None, **{s.value: [s] for s in TicketStatus}}
    if status not in states:
        raise HttpError(400, "invalid_parameter", "status must be open, all or a ticket state")
    tickets = await asyncio.to_thread(request.app[DB_KEY].tickets, states[status], 200,
                                      request.query.get("assignee"))
    return web.json_response(text=_json_list(tickets))


def _float_param(request: web.Request, name: str, low: float, high: float) -> float:
    raw = request.query.get(name)
    if raw is None:
        raise HttpError(400, "invalid_parameter", "lat and lon go together")
    try:
        value = float(raw) if raw.isascii() else float("nan")
    except ValueError as exc:
        raise HttpError(400, "invalid_parameter", f"{name} must be a number") from exc
    if not low <= value <= high:
        raise HttpError(400, "invalid_parameter", f"{name} must be between {low} and {high}")
    return value


async def search_places(request: web.Request) -> web.Response:
    """Places of a type nearest to a point (``lat``/``lon``) or to a ward named in ``q``; or, with
    ``named`` and no type, the place ``named`` names (no items when none)."""
    index = request.app[PLACES_KEY]
    if "named" in request.query and "type" not in request.query:
        place = index.named(request.query["named"])
        items = [PlaceHit(**place.dict(), distance_m=0)] if place is not None else []
        return web.json_response(text=PlaceResult(city=index.city, items=items).json())
    place_type = request.query.get("type", "")
    if place_type not in PLACE_TYPES:
        raise HttpError(400, "invalid_parameter", f"type must be one of {', '.join(PLACE_TYPES)}")
    limit = _int_param(request, "limit", 3, 20)
    ward = None
    if "lat" in request.query or "lon" in request.query:
        lat = _float_param(request, "lat", -90, 90)
        lon = _float_param(request, "lon", -180, 180)
        hits = index.nearest(place_type, lat, lon, limit)
    else:
        ward = index.find_ward(request.query.get("q", ""))
        if ward is None:
            raise HttpError(400, "unknown_area", "Give lat/lon or name a ward of the city in q")
        hits = index.in_ward(place_type, ward, limit)
    items = [PlaceHit(**h.place.dict(), distance_m=h.distance_m) for h in hits]
    return web.json_response(text=PlaceResult(city=index.city, ward=ward, items=items).json())


def _json_list(models: Sequence[BaseModel]) -> str:
    return "[" + ",".join(m.json() for m in models) + "]"


def create_app(db_path: str, token: str = "", hook: EventHook | None = None,
               calendar: Calendar | None = None, clock: Callable[[], dt.datetime] = local_now,
               staff_token: str = "", catalog_path: Path | None = None) -> web.Application:
    """Build the API application on an existing (seeded) database.

    The catalog is served from ``catalog_path`` (reloaded when staff edit it) when given, else
    from the database's copy made at seed time.

    Without tokens the API is open (unit tests build it so); ``python -m dossier_api`` refuses to
    start without both.
    """
    middlewares = [error_middleware] + ([_token_middleware(token, staff_token)] if token or staff_token else [])
    app = web.Application(middlewares=middlewares, client_max_size=64 * 1024)
    db = Database(db_path)
    db.create_schema()  # tables added since the database was seeded
    app[DB_KEY] = db
    app[HOOK_KEY] = hook or EventHook()
    app[CALENDAR_KEY] = calendar or Calendar.load()
    app[CLOCK_KEY] = clock

    async def load_catalog(app: web.Application):
        if catalog_path is not None:
            app[CATALOG_KEY] = CatalogSource(catalog_path)
            await app[CATALOG_KEY].current()  # a broken file stops the start, not the first request
        else:  # reads the facet file too
            app[CATALOG_KEY] = CatalogSource(index=await asyncio.to_thread(lambda: CatalogIndex(db.procedures())))
        app[PLACES_KEY] = await asyncio.to_thread(PlaceIndex.load)
        yield

    app.cleanup_ctx.append(load_catalog)
    app.router.add_get("/health", health)
    app.router.add_get("/openapi.yaml", openapi)
    app.router.add_get("/api/v1/dossiers", list_dossiers)
    app.router.add_get("/api/v1/dossiers/{code}", get_dossier)
    app.router.add_post("/api/v1/dossiers/{code}/status", set_status)
    app.router.add_get("/api/v1/events", list_events)
    app.router.add_get("/api/v1/appointments/slots", appointment_slots)
    app.router.add_get("/api/v1/appointments/days", appointment_days)
    app.router.add_get("/api/v1/appointments", list_appointments)
    app.router.add_post("/api/v1/appointments", book_appointment)
    app.router.add_post("/api/v1/appointments/{appointment_id}/cancel", cancel_appointment)
    app.router.add_post("/api/v1/deliveries", create_delivery)
    app.router.add_get("/api/v1/deliveries/{tracking}", get_delivery)
    app.router.add_get("/api/v1/tickets", list_tickets)
    app.router.add_post("/api/v1/tickets", create_ticket)
    app.router.add_get("/api/v1/tickets/{number}", get_ticket)
    app.router.add_post("/api/v1/tickets/{number}/answer", answer_ticket)
    app.router.add_post("/api/v1/tickets/{number}/change", change_ticket)
    app.router.add_get("/api/v1/tickets/{number}/history", ticket_history)
    app.router.add_get("/api/v1/procedures", search_procedures)
    app.router.add_get("/api/v1/procedures/{procedure_id}", get_procedure)
    app.router.add_post("/api/v1/ratings", post_rating)
    app.router.add_get("/api/v1/ratings/summary", rating_summary)
    app.router.add_get("/api/v1/ratings/daily", ratings_by_day)
    app.router.add_get("/api/v1/reports/summary", report_summary)
    app.router.add_get("/api/v1/places", search_places)
    return app
