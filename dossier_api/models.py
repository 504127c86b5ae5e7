"""Typed resources of the dossier API, shared by the client and the reference server."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from common.status import DossierStatus, RatingLevel


class Procedure(BaseModel):
    """An administrative procedure of the department's catalog."""

    id: str
    name: str
    field: str
    keywords: list[str]
    documents: list[str]
    copies: int
    fee: str
    fee_vnd: int
    processing_time: str
    processing_days: int
    submission: str
    online_level: str
    legal_basis: str


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


class DossierEvent(BaseModel):
    """A dossier changed status (what subscribers are told about)."""

    id: int
    code: str
    old_status: DossierStatus
    new_status: DossierStatus
    current_step: str
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


class RatingIn(BaseModel):
    """A satisfaction rating sent by a citizen."""

    level: RatingLevel
    channel: str
    dossier_code: str | None = None
    comment: str | None = None


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
    owner: str  # the citizen's sender id (<channel>:<id>)
    date: dt.date
    time: str
    procedure_id: str | None = None


class Appointment(AppointmentIn):
    id: int
    queue_number: int
    counter: int
    status: str  # booked, cancelled
    created_at: dt.datetime


class ApiError(BaseModel):
    """The body of every error response."""

    error: str
    message: str
