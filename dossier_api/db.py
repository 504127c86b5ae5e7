"""SQLite storage of the reference dossier system (blocking; call from a thread)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from common.feedback import Category, TicketStatus
from common.privacy import mask_applicant
from common.status import DossierStatus
from dossier_api.models import (
    Appointment,
    AppointmentIn,
    ChangeEvent,
    Delivery,
    DeliveryIn,
    Dossier,
    Procedure,
    Rating,
    RatingIn,
    Ticket,
    TicketAnswer,
    TicketAnswerRecord,
    TicketChange,
    TicketChangeRecord,
    TicketHistory,
    TicketIn,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS procedures (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dossiers (
    code TEXT PRIMARY KEY,
    procedure_id TEXT NOT NULL REFERENCES procedures(id),
    applicant_name TEXT NOT NULL,
    status TEXT NOT NULL,
    received_date TEXT NOT NULL,
    due_date TEXT NOT NULL,
    current_step TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    result_date TEXT
);
CREATE INDEX IF NOT EXISTS dossiers_status ON dossiers(status);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL DEFAULT 'dossier',
    code TEXT NOT NULL,
    owner TEXT,
    old_status TEXT NOT NULL,
    new_status TEXT NOT NULL,
    current_step TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS appointments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    day TEXT NOT NULL,
    time TEXT NOT NULL,
    counter INTEGER NOT NULL,
    queue_number INTEGER NOT NULL,
    procedure_id TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    idempotency_key TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS appointments_one_per_counter
    ON appointments(day, time, counter) WHERE status = 'booked';
CREATE INDEX IF NOT EXISTS appointments_owner ON appointments(owner, status);
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT UNIQUE,
    owner TEXT NOT NULL,
    content TEXT NOT NULL,
    dossier_code TEXT,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT,
    due_date TEXT NOT NULL,
    created_at TEXT NOT NULL,
    assignee TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS ticket_answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL REFERENCES tickets(number),
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    event_id INTEGER,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ticket_answers_number ON ticket_answers(number, id);
CREATE TABLE IF NOT EXISTS ticket_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL REFERENCES tickets(number),
    actor TEXT NOT NULL,
    old_status TEXT NOT NULL,
    new_status TEXT NOT NULL,
    assignee TEXT,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tracking_number TEXT UNIQUE,
    owner TEXT NOT NULL,
    dossier_code TEXT NOT NULL REFERENCES dossiers(code),
    recipient_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    address TEXT NOT NULL,
    fee_vnd INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_one_per_dossier ON deliveries(dossier_code);
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    level TEXT NOT NULL,
    channel TEXT NOT NULL,
    dossier_code TEXT,
    comment TEXT,
    created_at TEXT NOT NULL,
    idempotency_key TEXT
);
CREATE TABLE IF NOT EXISTS history_dossiers (
    day TEXT NOT NULL,
    filing TEXT NOT NULL,
    received INTEGER NOT NULL,
    on_time INTEGER NOT NULL,
    late INTEGER NOT NULL,
    PRIMARY KEY (day, filing)
);
CREATE TABLE IF NOT EXISTS history_ratings (
    day TEXT NOT NULL,
    channel TEXT NOT NULL,
    level TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (day, channel, level)
);
"""
UNKNOWN_FILING = "khong_ro"  # the dossiers table does not say how a dossier was filed

# Effects exactly once (issue 19): a request repeated with its idempotency key returns the first
# result, and an owner holds at most one booked appointment per slot. Created after the columns
# are added to a database made before them.
IDEMPOTENCY_COLUMNS = {table: {"idempotency_key": "TEXT"} for table in ("appointments", "ratings", "tickets",
                                                                        "deliveries")}
IDEMPOTENCY_SCHEMA = """
CREATE UNIQUE INDEX IF NOT EXISTS appointments_idempotency ON appointments(owner, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS appointments_one_per_owner_and_slot
    ON appointments(owner, day, time) WHERE status = 'booked';
CREATE UNIQUE INDEX IF NOT EXISTS ratings_idempotency ON ratings(idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS tickets_idempotency ON tickets(owner, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_idempotency ON deliveries(owner, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
"""


class AlreadyBooked(Exception):
    """The owner already holds a booked appointment at that day and time."""

    def __init__(self, existing: Appointment) -> None:
        super().__init__(f"appointment {existing.id} already booked")
        self.existing = existing


class Database:
    """The reference system's tables; each call opens its own connection."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def connect(self) -> sqlite3.Connection:
        """A new connection with row access by name and a busy timeout."""
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def create_schema(self) -> None:
        """Create the tables when missing."""
        with closing(self.connect()) as conn, conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            _migrate_tickets(conn)
            for table, columns in IDEMPOTENCY_COLUMNS.items():
                _add_missing_columns(conn, table, columns)
            conn.executescript(IDEMPOTENCY_SCHEMA)

    def procedures(self) -> list[Procedure]:
        """Every procedure of the catalog."""
        with closing(self.connect()) as conn:
            rows = conn.execute("SELECT data FROM procedures ORDER BY id").fetchall()
        return [Procedure(**json.loads(r["data"])) for r in rows]

    def dossier(self, code: str) -> Dossier | None:
        """A dossier by canonical code, or None."""
        with closing(self.connect()) as conn:
            row = conn.execute(
                _DOSSIER_SELECT + " WHERE d.code = ?", (code,)
            ).fetchone()
        return _to_dossier(row) if row else None

    def dossiers(
        self, status: str | None, limit: int, offset: int
    ) -> tuple[list[Dossier], int]:
        """One page of dossiers (optionally of one status) and the total count."""
        where, args = ("WHERE d.status = ?", [status]) if status else ("", [])
        with closing(self.connect()) as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM dossiers d {where}", args).fetchone()[0]
            rows = conn.execute(
                f"{_DOSSIER_SELECT} {where} ORDER BY d.code LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [_to_dossier(r) for r in rows], total

    def add_rating(self, rating: RatingIn, now: dt.datetime) -> tuple[Rating, bool]:
        """Store a rating; ``(rating, True)``, or ``(the first one, False)`` when its
        idempotency key was used before (the unique index decides, whatever the race)."""
        with closing(self.connect()) as conn, conn:
            cur = conn.execute(
                "INSERT INTO ratings (level, channel, dossier_code, comment, created_at, idempotency_key)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (rating.level.value, rating.channel, rating.dossier_code, rating.comment, now.isoformat(),
                 rating.idempotency_key),
            )
            if cur.rowcount == 0:
                row = conn.execute("SELECT * FROM ratings WHERE idempotency_key = ?",
                                   (rating.idempotency_key,)).fetchone()
                return Rating(**{k: row[k] for k in row.keys()}), False
            rating_id = cur.lastrowid
        return Rating(id=rating_id, created_at=now, **rating.dict()), True

    def set_status(self, code: str, status: DossierStatus, step: str,
                   now: dt.datetime) -> tuple[Dossier | None, ChangeEvent | None]:
        """Change a dossier's status and record the change as an event, in one transaction.

        Returns the dossier as it now is (None when it does not exist) and the event
        (None when it already had that status: nothing changes, nothing is recorded)."""
        with closing(self.connect()) as conn, conn:
            row = conn.execute("SELECT status FROM dossiers WHERE code = ?", (code,)).fetchone()
            if row is None:
                return None, None
            if row["status"] == status.value:
                return _to_dossier(conn.execute(_DOSSIER_SELECT + " WHERE d.code = ?", (code,)).fetchone()), None
            result_date = now.date().isoformat() if status is DossierStatus.DA_CO_KET_QUA else None
            conn.execute(
                "UPDATE dossiers SET status = ?, current_step = ?, updated_at = ?,"
                " result_date = COALESCE(?, result_date) WHERE code = ?",
                (status.value, step, now.isoformat(), result_date, code),
            )
            cur = conn.execute(
                "INSERT INTO events (code, old_status, new_status, current_step, at) VALUES (?, ?, ?, ?, ?)",
                (code, row["status"], status.value, step, now.isoformat()),
            )
            event = ChangeEvent(id=cur.lastrowid, code=code, old_status=row["status"], new_status=status.value,
                                current_step=step, at=now)
            dossier = _to_dossier(conn.execute(_DOSSIER_SELECT + " WHERE d.code = ?", (code,)).fetchone())
        return dossier, event

    def events(self, after: int, limit: int) -> list[ChangeEvent]:
        """Status changes with an id above ``after``, oldest first."""
        with closing(self.connect()) as conn:
            rows = conn.execute("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?",
                                (after, limit)).fetchall()
        return [ChangeEvent(**dict(r)) for r in rows]

    def booked_counts(self, day: dt.date) -> dict[str, int]:
        """Booked places per slot time on ``day``."""
        with closing(self.connect()) as conn:
            rows = conn.execute("SELECT time, COUNT(*) AS n FROM appointments WHERE day = ? AND status = 'booked'"
                                " GROUP BY time", (day.isoformat(),)).fetchall()
        return {r["time"]: r["n"] for r in rows}

    def book(self, request: AppointmentIn, counters: int, now: dt.datetime) -> tuple[Appointment | None, bool]:
        """Take the first free counter of a slot and the day's next queue number,
        atomically (``BEGIN IMMEDIATE`` holds the write lock): ``(appointment, True)``;
        ``(None, False)`` when full; ``(the first booking, False)`` when the owner's
        idempotency key was used before.

        Raises:
            AlreadyBooked: the owner already has a booked appointment at that day and time.
        """
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            day = request.date.isoformat()
            if request.idempotency_key:
                first = conn.execute("SELECT * FROM appointments WHERE owner = ? AND idempotency_key = ?",
                                     (request.owner, request.idempotency_key)).fetchone()
                if first is not None:
                    conn.rollback()
                    return _to_appointment(first), False
            mine = conn.execute("SELECT * FROM appointments WHERE owner = ? AND day = ? AND time = ?"
                                " AND status = 'booked'", (request.owner, day, request.time)).fetchone()
            if mine is not None:
                conn.rollback()
                raise AlreadyBooked(_to_appointment(mine))
            taken = {r[0] for r in conn.execute(
                "SELECT counter FROM appointments WHERE day = ? AND time = ? AND status = 'booked'",
                (day, request.time))}
            free = [c for c in range(1, counters + 1) if c not in taken]
            if not free:
                conn.rollback()
                return None, False
            queue = conn.execute("SELECT COALESCE(MAX(queue_number), 0) + 1 FROM appointments WHERE day = ?",
                                 (day,)).fetchone()[0]
            cur = conn.execute(
                "INSERT INTO appointments (owner, day, time, counter, queue_number, procedure_id, status, created_at,"
                " idempotency_key) VALUES (?, ?, ?, ?, ?, ?, 'booked', ?, ?)",
                (request.owner, day, request.time, free[0], queue, request.procedure_id, now.isoformat(),
                 request.idempotency_key),
            )
            conn.commit()
            return Appointment(id=cur.lastrowid, queue_number=queue, counter=free[0], status="booked",
                               created_at=now, **request.dict()), True
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def appointments(self, owner: str, from_day: dt.date) -> list[Appointment]:
        """An owner's booked appointments from ``from_day`` on, soonest first."""
        with closing(self.connect()) as conn:
            rows = conn.execute("SELECT * FROM appointments WHERE owner = ? AND status = 'booked' AND day >= ?"
                                " ORDER BY day, time", (owner, from_day.isoformat())).fetchall()
        return [_to_appointment(r) for r in rows]

    def cancel_appointment(self, appointment_id: int, owner: str) -> Appointment | None:
        """Cancel an owner's booking; None when it is not theirs or not booked."""
        with closing(self.connect()) as conn, conn:
            cur = conn.execute("UPDATE appointments SET status = 'cancelled' WHERE id = ? AND owner = ?"
                               " AND status = 'booked'", (appointment_id, owner))
            if cur.rowcount == 0:
                return None
            row = conn.execute("SELECT * FROM appointments WHERE id = ?", (appointment_id,)).fetchone()
        return _to_appointment(row)

    def add_ticket(self, ticket: TicketIn, category: Category, due: dt.date,
                   now: dt.datetime) -> tuple[Ticket, bool]:
        """Store a ticket and give it its number (``PA<yymmdd>-<id>``), in one transaction:
        ``(ticket, True)``, or ``(the first one, False)`` when the owner's idempotency key was used
        before (the unique index decides, whatever the race)."""
        with closing(self.connect()) as conn, conn:
            cur = conn.execute(
                "INSERT INTO tickets (owner, content, dossier_code, category, status, due_date, created_at,"
                " idempotency_key) VALUES (?, ?, ?, ?, 'moi', ?, ?, ?) ON CONFLICT DO NOTHING",
                (ticket.owner, ticket.content, ticket.dossier_code, category.value, due.isoformat(), now.isoformat(),
                 ticket.idempotency_key),
            )
            if cur.rowcount == 0:
                number = _by_key(conn, "tickets", ticket.owner, ticket.idempotency_key)["number"]
                first = _load_ticket(conn, number)
                assert first is not None
                return first, False
            number = f"PA{now:%y%m%d}-{cur.lastrowid:04d}"
            conn.execute("UPDATE tickets SET number = ? WHERE id = ?", (number, cur.lastrowid))
            row = conn.execute("SELECT * FROM tickets WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _to_ticket(row, None), True

    def ticket(self, number: str) -> Ticket | None:
        """A ticket with its answers, or None."""
        with closing(self.connect()) as conn:
            return _load_ticket(conn, number)

    def ticket_history(self, number: str) -> TicketHistory | None:
        """A ticket with its answers and every change of state or assignee, for staff."""
        with closing(self.connect()) as conn:
            ticket = _load_ticket(conn, number)
            if ticket is None:
                return None
            rows = conn.execute("SELECT at, actor, old_status, new_status, assignee FROM ticket_changes"
                                " WHERE number = ? ORDER BY id", (number,)).fetchall()
        return TicketHistory(ticket=ticket, changes=[TicketChangeRecord(**dict(r)) for r in rows])

    def answer_ticket(self, number: str, answer: TicketAnswer,
                      now: dt.datetime) -> tuple[Ticket, ChangeEvent] | TicketStale | None:
        """Add an answer (kept beside the earlier ones) and tell the citizen (an event), if the
        ticket is still at ``answer.version``; a ``TicketStale`` when it moved on, None when unknown."""
        with closing(self.connect()) as conn, conn:
            conn.execute("BEGIN IMMEDIATE")  # what is read below is what the change applies to
            row = _bump(conn, number, answer.version, now, status=answer.status.value)
            if not isinstance(row, sqlite3.Row):
                return row
            cur = conn.execute(
                "INSERT INTO events (kind, code, owner, old_status, new_status, current_step, at)"
                " VALUES ('ticket', ?, ?, ?, ?, ?, ?)",
                (number, row["owner"], row["status"], answer.status.value, answer.answer, now.isoformat()),
            )
            event = ChangeEvent(id=cur.lastrowid, kind="ticket", code=number, owner=row["owner"],
                                old_status=row["status"], new_status=answer.status.value,
                                current_step=answer.answer, at=now)
            conn.execute("INSERT INTO ticket_answers (number, text, author, event_id, at) VALUES (?, ?, ?, ?, ?)",
                         (number, answer.answer, answer.author, event.id, now.isoformat()))
            if row["status"] != answer.status.value:
                _record_change(conn, number, answer.author, row["status"], answer.status.value, row["assignee"], now)
            ticket = _load_ticket(conn, number)
        assert ticket is not None
        return ticket, event

    def change_ticket(self, number: str, change: TicketChange,
                      now: dt.datetime) -> tuple[Ticket, ChangeEvent | None] | TicketStale | None:
        """Move a ticket to another state and/or (un)assign it, if still at ``change.version``.

        A new state is told to the citizen (an event), except a return to "mới"; an assignment is not.
        Nothing to change: the ticket as it is, no new version. "Đã trả lời" needs an answer first."""
        with closing(self.connect()) as conn, conn:
            conn.execute("BEGIN IMMEDIATE")
            current = conn.execute("SELECT * FROM tickets WHERE number = ?", (number,)).fetchone()
            if current is None:
                return None
            status = change.status.value if change.status is not None else current["status"]
            assignee = current["assignee"] if change.assignee is None else (change.assignee.strip() or None)
            if current["version"] != change.version:
                return TicketStale(current["version"])
            if (status, assignee) == (current["status"], current["assignee"]):
                return _load_ticket(conn, number), None  # type: ignore[return-value]
            if status == TicketStatus.DA_TRA_LOI.value and not conn.execute(
                    "SELECT 1 FROM ticket_answers WHERE number = ?", (number,)).fetchone():
                return TicketStale(current["version"], "no_answer")
            row = _bump(conn, number, change.version, now, status=status, assignee=assignee)
            if not isinstance(row, sqlite3.Row):
                return row
            _record_change(conn, number, change.actor, row["status"], status, assignee, now)
            event = None
            if status != row["status"] and status != TicketStatus.MOI.value:
                cur = conn.execute(
                    "INSERT INTO events (kind, code, owner, old_status, new_status, current_step, at)"
                    " VALUES ('ticket', ?, ?, ?, ?, '', ?)", (number, row["owner"], row["status"], status,
                                                              now.isoformat()))
                event = ChangeEvent(id=cur.lastrowid, kind="ticket", code=number, owner=row["owner"],
                                    old_status=row["status"], new_status=status, current_step="", at=now)
            ticket = _load_ticket(conn, number)
        assert ticket is not None
        return ticket, event

    def add_delivery(self, request: DeliveryIn, fee_vnd: int, status: str,
                     now: dt.datetime) -> tuple[Delivery | None, bool]:
        """Store a delivery request with its tracking number: ``(delivery, True)``; ``(the first one,
        False)`` when the owner's idempotency key was used before; ``(None, False)`` when the dossier
        already has a request."""
        with closing(self.connect()) as conn, conn:
            try:
                cur = conn.execute(
                    "INSERT INTO deliveries (owner, dossier_code, recipient_name, phone, address, fee_vnd, status,"
                    " created_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (request.owner, request.dossier_code, request.recipient_name, request.phone, request.address,
                     fee_vnd, status, now.isoformat(), request.idempotency_key),
                )
            except sqlite3.IntegrityError:
                first = _by_key(conn, "deliveries", request.owner, request.idempotency_key)
                return (_to_delivery(first), False) if first is not None else (None, False)
            tracking = f"BD{now:%y%m%d}{cur.lastrowid:05d}"
            conn.execute("UPDATE deliveries SET tracking_number = ? WHERE id = ?", (tracking, cur.lastrowid))
        return Delivery(tracking_number=tracking, fee_vnd=fee_vnd, status=status, created_at=now,
                        **request.dict()), True

    def delivery_by_key(self, owner: str, key: str) -> Delivery | None:
        """The owner's delivery request made with this idempotency key, if any."""
        with closing(self.connect()) as conn:
            row = _by_key(conn, "deliveries", owner, key)
        return _to_delivery(row) if row is not None else None

    def delivery(self, tracking_number: str) -> Delivery | None:
        with closing(self.connect()) as conn:
            row = conn.execute("SELECT * FROM deliveries WHERE tracking_number = ?", (tracking_number,)).fetchone()
        return _to_delivery(row) if row is not None else None

    def tickets(self, statuses: Sequence[TicketStatus] | None, limit: int, assignee: str | None = None) -> list[Ticket]:
        """Tickets for staff, the ones due first: of some states only (None: all), of one assignee
        ("" : nobody's). Without their answers' history (``answer`` is the latest)."""
        where, args = [], []
        if statuses is not None:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args += [s.value for s in statuses]
        if assignee is not None:
            where.append("COALESCE(assignee, '') = ?")
            args.append(assignee)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with closing(self.connect()) as conn:
            rows = conn.execute(f"SELECT t.*, {_LATEST} AS latest FROM tickets t {clause} ORDER BY due_date, id"
                                " LIMIT ?", (*args, limit)).fetchall()
        return [_to_ticket(r, latest=r["latest"]) for r in rows]

    def ratings_by_day(self, first: dt.date, last: dt.date) -> list[dict]:
        """Ratings counted per day, channel and level, ``first`` to ``last`` included."""
        with closing(self.connect()) as conn:
            rows = conn.execute(
                "SELECT substr(created_at, 1, 10) AS day, channel, level, COUNT(*) AS n FROM ratings"
                " WHERE substr(created_at, 1, 10) BETWEEN ? AND ?"
                " GROUP BY day, channel, level ORDER BY day, channel, level",
                (first.isoformat(), last.isoformat()),
            ).fetchall()
        return [dict(r) for r in rows]

    def rating_counts(self) -> dict[str, int]:
        """How many ratings of each level are stored."""
        with closing(self.connect()) as conn:
            rows = conn.execute("SELECT level, COUNT(*) AS n FROM ratings GROUP BY level").fetchall()
        return {r["level"]: r["n"] for r in rows}

    def report(self, first: dt.date, last: dt.date) -> dict[str, Any]:
        """The department's indicators over ``first``..``last`` (included): dossiers received by channel of
        filing, results on time and late (a result is late when given after its due date), and ratings by
        channel and level; live records and the yearly history (``history_*`` tables) added up."""
        span = (first.isoformat(), last.isoformat())
        with closing(self.connect()) as conn:
            received = {r["filing"]: r["n"] for r in conn.execute(
                "SELECT filing, SUM(received) AS n FROM history_dossiers WHERE day BETWEEN ? AND ? GROUP BY filing",
                span)}
            live = conn.execute("SELECT COUNT(*) FROM dossiers WHERE received_date BETWEEN ? AND ?", span).fetchone()[0]
            if live:
                received[UNKNOWN_FILING] = received.get(UNKNOWN_FILING, 0) + live
            history = conn.execute("SELECT COALESCE(SUM(on_time), 0), COALESCE(SUM(late), 0) FROM history_dossiers"
                                   " WHERE day BETWEEN ? AND ?", span).fetchone()
            results = conn.execute(
                "SELECT COALESCE(SUM(result_date <= due_date), 0), COALESCE(SUM(result_date > due_date), 0)"
                " FROM dossiers WHERE result_date BETWEEN ? AND ?", span).fetchone()
            ratings = conn.execute(
                "SELECT channel, level, SUM(n) AS n FROM ("
                " SELECT channel, level, COUNT(*) AS n FROM ratings WHERE substr(created_at, 1, 10) BETWEEN ? AND ?"
                " GROUP BY channel, level UNION ALL"
                " SELECT channel, level, SUM(n) FROM history_ratings WHERE day BETWEEN ? AND ? GROUP BY channel, level"
                ") GROUP BY channel, level ORDER BY channel, level", span + span).fetchall()
        return {"from": first.isoformat(), "to": last.isoformat(), "received": received,
                "results": {"on_time": history[0] + results[0], "late": history[1] + results[1]},
                "ratings": [dict(r) for r in ratings]}


_DOSSIER_SELECT = (
    "SELECT d.*, json_extract(p.data, '$.name') AS procedure_name,"
    " EXISTS (SELECT 1 FROM deliveries v WHERE v.dossier_code = d.code) AS delivery_requested"
    " FROM dossiers d JOIN procedures p ON p.id = d.procedure_id"
)


class TicketStale:
    """A ticket change refused: it is no longer at the version it was decided on (``error``
    ``stale_version``), or it would be "đã trả lời" without an answer (``no_answer``)."""

    def __init__(self, version: int, error: str = "stale_version") -> None:
        self.version, self.error = version, error


_LATEST = "(SELECT a.text FROM ticket_answers a WHERE a.number = t.number ORDER BY a.id DESC LIMIT 1)"
_TICKET_COLUMNS = {"assignee": "TEXT", "version": "INTEGER NOT NULL DEFAULT 1", "updated_at": "TEXT"}


def _add_missing_columns(conn: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """Columns added since a database was made (name -> SQL type), added to it."""
    have = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
    for name, kind in columns.items():
        if name not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _migrate_tickets(conn: sqlite3.Connection) -> None:
    """A database made before answers had a history: the new columns, and its one answer as the first."""
    _add_missing_columns(conn, "tickets", _TICKET_COLUMNS)
    conn.execute("INSERT INTO ticket_answers (number, text, author, at) SELECT number, answer, '', created_at"
                 " FROM tickets t WHERE answer IS NOT NULL AND answer != ''"
                 " AND NOT EXISTS (SELECT 1 FROM ticket_answers a WHERE a.number = t.number)")


def _bump(conn: sqlite3.Connection, number: str, version: int, now: dt.datetime,
          **columns: str | None) -> sqlite3.Row | TicketStale | None:
    """Set ``columns`` and the next version if the ticket is at ``version`` (one conditional UPDATE:
    of two concurrent changes from the same version, one wins). The row as it was before."""
    row = conn.execute("SELECT * FROM tickets WHERE number = ?", (number,)).fetchone()
    if row is None:
        return None
    sets = ", ".join(f"{name} = ?" for name in columns)
    cur = conn.execute(f"UPDATE tickets SET {sets}, version = version + 1, updated_at = ?"
                       " WHERE number = ? AND version = ?", (*columns.values(), now.isoformat(), number, version))
    if cur.rowcount == 0:
        return TicketStale(row["version"])
    return row


def _record_change(conn: sqlite3.Connection, number: str, actor: str, old: str, new: str, assignee: str | None,
                   now: dt.datetime) -> None:
    conn.execute("INSERT INTO ticket_changes (number, actor, old_status, new_status, assignee, at)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (number, actor, old, new, assignee, now.isoformat()))


def _load_ticket(conn: sqlite3.Connection, number: str) -> Ticket | None:
    row = conn.execute("SELECT * FROM tickets WHERE number = ?", (number,)).fetchone()
    if row is None:
        return None
    answers = [TicketAnswerRecord(**dict(r)) for r in conn.execute(
        "SELECT id, text, author, at, event_id FROM ticket_answers WHERE number = ? ORDER BY id", (number,))]
    return _to_ticket(row, answers[-1].text if answers else None, answers)


def _to_ticket(row: sqlite3.Row, latest: str | None, answers: list[TicketAnswerRecord] | None = None) -> Ticket:
    category = Category(row["category"])
    status = TicketStatus(row["status"])
    return Ticket(number=row["number"], owner=row["owner"], content=row["content"], dossier_code=row["dossier_code"],
                  category=category.value, category_label=category.label, status=status, status_label=status.label,
                  answer=latest, answers=answers or [], assignee=row["assignee"], version=row["version"],
                  due_date=row["due_date"], created_at=row["created_at"], updated_at=row["updated_at"],
                  idempotency_key=row["idempotency_key"])


def _by_key(conn: sqlite3.Connection, table: str, owner: str, key: str | None) -> sqlite3.Row | None:
    """The row an owner made with an idempotency key (``table`` is one of ours, never user input)."""
    if not key:
        return None
    return conn.execute(f"SELECT * FROM {table} WHERE owner = ? AND idempotency_key = ?", (owner, key)).fetchone()


def _to_delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(**{k: row[k] for k in row.keys() if k != "id"})


def _to_appointment(row: sqlite3.Row) -> Appointment:
    return Appointment(id=row["id"], owner=row["owner"], date=row["day"], time=row["time"], counter=row["counter"],
                       queue_number=row["queue_number"], procedure_id=row["procedure_id"], status=row["status"],
                       created_at=row["created_at"], idempotency_key=row["idempotency_key"])


def _to_dossier(row: sqlite3.Row) -> Dossier:
    status = DossierStatus(row["status"])
    fields: dict[str, Any] = {
        "code": row["code"],
        "procedure_id": row["procedure_id"],
        "procedure_name": row["procedure_name"],
        "status": status,
        "status_label": status.label,
        "received_date": row["received_date"],
        "due_date": row["due_date"],
        "current_step": row["current_step"],
        "applicant": mask_applicant(row["applicant_name"]),
        "updated_at": row["updated_at"],
        "result_date": row["result_date"],
        "delivery_requested": bool(row["delivery_requested"]),
    }
    return Dossier(**fields)
