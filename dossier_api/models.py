"""Typed resources of the dossier API, shared by the client and the reference server."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, constr, validator

from common.deadlines import deadline
from common.feedback import AFTER_ANSWER, TicketStatus
from common.status import DossierStatus, RatingLevel


class Authority(BaseModel):
    """Who decides a procedure the department does not: where to file, on what legal
    basis, and what the department can still help with (``review``: staff to confirm)."""

    name: str
    where: str
    legal_basis: str
    department_help: str = ""
    review: bool = False


class Procedure(BaseModel):
    """An administrative procedure of the department's catalog (or of the sector,
    decided by another body: ``authority`` says which, and the documents, fee and time
    fields may then be empty). ``product``, ``activities`` and ``acts`` tell variants
    apart (rượu / bán lẻ / gia hạn); ``review``: staff must confirm the entry."""

    id: str
    name: str
    field: str
    keywords: list[str]
    documents: list[str] = []
    copies: int = 0
    fee: str = ""
    fee_vnd: int | None = None
    processing_time: str = ""
    processing_days: int = 0
    validity: str = ""  # how long what it issues stays valid ("05 năm kể từ ngày cấp"); "" not stated
    submission: str = ""
    online_level: str = ""
    legal_basis: str = ""
    product: str = ""
    activities: list[str] = []
    acts: list[str] = []
    authority: Authority | None = None
    review: bool = False


class ProcedureMatch(BaseModel):
    """A search hit: a procedure and how well it matched the query."""

    procedure: Procedure
    score: float


class Dossier(BaseModel):
    """A dossier as the public may see it (the applicant's name is masked)."""

    code: str
    procedure_id: str
    procedure_name: str
    status: DossierStatus
    status_label: str
    received_date: dt.date
    due_date: dt.date
    current_step: str
    applicant: str
    updated_at: dt.datetime
    result_date: dt.date | None = None
    delivery_requested: bool = False  # its result is already to be posted (one delivery per dossier)
    # Computed when the dossier is served (common.deadlines), never stored.
    late: bool = False
    days_late: int = 0

    def as_of(self, today: dt.date) -> Dossier:
        """This dossier with ``late``/``days_late`` computed for ``today`` (the department's date)."""
        facts = deadline(self.status, self.due_date, today)
        return self.copy(update={"late": facts.late, "days_late": facts.days_late})


class ChangeEvent(BaseModel):
    """A change a citizen is told about: a dossier's status (``kind`` dossier, told
    to its subscribers) or the answer to their ticket (``kind`` ticket, told to
    its ``owner``). For a ticket ``code`` is its number and ``current_step`` the answer."""

    id: int
    kind: str = "dossier"
    code: str
    old_status: str
    new_status: str
    current_step: str
    owner: str | None = None
    at: dt.datetime


class StatusChange(BaseModel):
    """The one-stop system moves a dossier to a new status."""

    status: DossierStatus
    current_step: str = ""


class DossierPage(BaseModel):
    """One page of the dossier listing."""

    items: list[Dossier]
    total: int
    limit: int
    offset: int


IdempotencyKey = constr(min_length=1, max_length=200)  # from a channel's update or callback id


class RatingIn(BaseModel):
    """A satisfaction rating sent by a citizen; a repeat with the same ``idempotency_key``
    returns the first rating instead of storing another."""

    level: RatingLevel
    channel: str
    dossier_code: str | None = None
    comment: str | None = None
    idempotency_key: IdempotencyKey | None = None


class Rating(RatingIn):
    """A stored rating."""

    id: int
    created_at: dt.datetime


class Place(BaseModel):
    """A place of the nearby-places dataset."""

    type: str
    name: str
    address: str
    ward: str
    lat: float
    lon: float
    hours: str = ""


class PlaceHit(Place):
    """A place and how far it is from where the citizen is (or from the ward's centre)."""

    distance_m: int


class PlaceResult(BaseModel):
    """Places nearest first; ``ward`` is the ward found in the query text, if any."""

    city: str
    ward: str | None = None
    items: list[PlaceHit]


class SlotInfo(BaseModel):
    time: str  # "08:30"
    free: int


class DaySlots(BaseModel):
    """Free places per slot on one day; ``closed`` says why a day has none."""

    date: dt.date
    closed: str | None = None  # past, too_far, weekend, holiday
    slots: list[SlotInfo] = []


class AppointmentIn(BaseModel):
    """A booking request; a repeat with the same owner and ``idempotency_key`` returns the first booking."""

    owner: str  # the citizen's sender id (<channel>:<id>)
    date: dt.date
    time: str
    procedure_id: str | None = None
    idempotency_key: IdempotencyKey | None = None


class Appointment(AppointmentIn):
    id: int
    queue_number: int
    counter: int
    status: str  # booked, cancelled
    created_at: dt.datetime


class TicketIn(BaseModel):
    """Feedback or a complaint; a repeat with the same owner and ``idempotency_key`` returns the first ticket."""

    owner: str  # the citizen's sender id: only they (and staff) may read the ticket
    content: str = Field(..., min_length=10, max_length=4000)
    dossier_code: str | None = None
    idempotency_key: IdempotencyKey | None = None


class TicketAnswerRecord(BaseModel):
    """One answer of a ticket: kept for ever, never overwritten by a later one. ``event_id`` is
    the change event that tells the citizen (the notifier's dead letters name it when it failed)."""

    id: int
    text: str
    author: str
    at: dt.datetime
    event_id: int | None = None


class Ticket(TicketIn):
    number: str
    category: str
    category_label: str
    status: TicketStatus
    status_label: str
    answer: str | None = None  # the latest answer (all of them: ``answers``, oldest first)
    answers: list[TicketAnswerRecord] = []
    assignee: str | None = None  # a staff username
    version: int = 1  # bumped by every change: a change must name the version it was decided on
    due_date: dt.date
    created_at: dt.datetime
    updated_at: dt.datetime | None = None


class TicketAnswer(BaseModel):
    """Staff answer a ticket (another answer, never a replacement), seen at ``version``."""

    version: int = Field(..., ge=1)
    answer: str = Field(..., min_length=1, max_length=2000)
    author: str = Field(..., min_length=1, max_length=64)
    status: TicketStatus = TicketStatus.DA_TRA_LOI

    @validator("answer")
    def _not_blank(cls, value: str) -> str:  # noqa: N805 (pydantic validators are class methods)
        if not value.strip():
            raise ValueError("the answer is blank")
        return value.strip()

    @validator("status")
    def _after_answer(cls, value: TicketStatus) -> TicketStatus:  # noqa: N805
        if value not in AFTER_ANSWER:
            raise ValueError(f"an answer leaves a ticket in {', '.join(s.value for s in AFTER_ANSWER)}")
        return value


class TicketChange(BaseModel):
    """Staff move a ticket to another state and/or (un)assign it (``assignee`` "": nobody;
    None: unchanged), seen at ``version``."""

    version: int = Field(..., ge=1)
    actor: str = Field(..., min_length=1, max_length=64)
    status: TicketStatus | None = None
    assignee: str | None = Field(None, max_length=64)


class TicketChangeRecord(BaseModel):
    """One change of a ticket's state or assignee, by whom."""

    at: dt.datetime
    actor: str
    old_status: TicketStatus
    new_status: TicketStatus
    assignee: str | None = None


class TicketHistory(BaseModel):
    """A ticket for staff: its answers and every change."""

    ticket: Ticket
    changes: list[TicketChangeRecord]


class DeliveryIn(BaseModel):
    """A request to post a dossier's result to an address (public postal service); a repeat with the
    same owner and ``idempotency_key`` returns the first request."""

    owner: str
    dossier_code: str
    recipient_name: str = Field(..., min_length=2, max_length=100)
    phone: str
    address: str = Field(..., min_length=10, max_length=300)
    idempotency_key: IdempotencyKey | None = None


class Delivery(DeliveryIn):
    tracking_number: str
    fee_vnd: int
    status: str  # cho_ket_qua (waiting for the result), cho_giao (ready to post), dang_giao, da_giao
    created_at: dt.datetime


class ApiError(BaseModel):
    """The body of every error response."""

    error: str
    message: str
