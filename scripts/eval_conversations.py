"""Play the conversation suite (tests/conversations/*.yml) against the real stack and
score whole conversations: the share fully correct, by service and by channel.

Each turn's reply is checked for facts taken from the data at run time (the seeded
dossier API, the procedure catalog, the appointment calendar), never for wording.
The assertion vocabulary is documented in tests/conversations/README.md.

``make eval-conversations`` starts Redis, a freshly seeded dossier API, the action
server, Rasa, the web chat gateway, the node-smpp SMSC simulator and the SMS
gateway, plays every conversation (4 at a time, each as a new citizen), prints the
figures and the failures and writes them to var/eval-conversations.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import math
import os
import re
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import redis
import redis.asyncio as aioredis
import requests
import yaml

from common import subscriptions
from common.codes import find_codes
from common.dates import local_now
from common.phones import normalize_msisdn
from common.privacy import mask_applicant
from common.status import DossierStatus
from common.text import fold_key
from common.workdays import add_working_days
from dossier_api.calendar import Calendar, ClosedDay
from dossier_api.catalog import load_catalog
from dossier_api.models import Procedure
from scripts.localstack import ROOT

SUITE_DIR = ROOT / "tests" / "conversations"
BLIND_DIR = SUITE_DIR / "blind"  # held-out conversations: a measurement, never in make test
OUTPUT = ROOT / "var" / "eval-conversations.json"
WORKERS = 4
SEED_AGE_DAYS = 11
SMS_REPLY_TIMEOUT_S = 20.0
SMS_QUIET_S = 0.8  # a reply is whole when no part came for this long

# Dossiers whose processing clock runs. While a dossier waits for the citizen's supplement (chờ bổ
# sung) the clock stops: the processing time counts again from the day the complete dossier arrives
# (Decree 61/2018/NĐ-CP on the one-stop mechanism), so a past due date does not make it late.
UNFINISHED = {DossierStatus.MOI_TIEP_NHAN, DossierStatus.DANG_XU_LY, DossierStatus.TRE_HAN}
TURN_KEYS = {"say", "press", "expect"}
CODE_STYLES = ("canon", "lower", "spaced", "spaces", "nodots", "upper_spaced")


# --------------------------------------------------------------------------- the suite


@dataclass
class Conversation:
    id: str
    service: str
    channel: str
    turns: list[dict]
    dossiers: dict[str, dict] = field(default_factory=dict)
    source: str = ""


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (it would silently drop a check)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    keys = [loader.construct_object(k) for k, _ in node.value]
    repeated = {k for k in keys if keys.count(k) > 1}
    if repeated:
        raise yaml.constructor.ConstructorError(None, None, f"repeated keys {sorted(repeated)}", node.start_mark)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_suite(directory: Path = SUITE_DIR) -> list[Conversation]:
    """Every conversation of the suite, validated (unknown keys are errors, not silence)."""
    conversations: list[Conversation] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 (a safe loader)
        service = data["service"]
        for raw in data["conversations"]:
            conv = Conversation(id=raw["id"], service=service, channel=raw.get("channel", "web"),
                                turns=raw["turns"], dossiers=raw.get("dossiers") or {}, source=path.name)
            _validate(conv, seen)
            conversations.append(conv)
    return conversations


def _validate(conv: Conversation, seen: set[str]) -> None:
    where = f"{conv.source}:{conv.id}"
    if conv.id in seen:
        raise ValueError(f"{where}: duplicate id")
    seen.add(conv.id)
    if conv.channel not in ("web", "sms"):
        raise ValueError(f"{where}: channel must be web or sms")
    for spec in conv.dossiers.values():
        DossierStatus(spec["status"])
        if spec.get("style", "canon") not in CODE_STYLES:
            raise ValueError(f"{where}: unknown code style {spec.get('style')}")
    if not conv.turns:
        raise ValueError(f"{where}: no turns")
    for i, turn in enumerate(conv.turns, 1):
        if set(turn) - TURN_KEYS or ("say" in turn) == ("press" in turn):
            raise ValueError(f"{where} turn {i}: a turn has say or press (and expect)")
        unknown = set(turn.get("expect") or {}) - CHECKS.keys()
        if unknown:
            raise ValueError(f"{where} turn {i}: unknown checks {sorted(unknown)}")


# --------------------------------------------------------------------------- facts


def today() -> dt.date:
    """The department's date (Asia/Ho_Chi_Minh)."""
    return local_now().date()


def days_late(due: dt.date, status: DossierStatus, on: dt.date) -> int:
    """Calendar days a dossier is late on ``on`` (0 when finished or on time)."""
    return (on - due).days if status in UNFINISHED and due < on else 0


def working_days_between(start: dt.date, end: dt.date) -> int:
    count, day = 0, start
    while day < end:
        day = add_working_days(day, 1)
        if day <= end:
            count += 1
    return count


_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:[.,\s]\d{3})+|\d+)(?:\s*(trieu|tr|nghin|ngan|k)\b)?")
_DECIMAL_MILLION = re.compile(r"(\d+)[.,](\d+)\s*(?:trieu|tr)\b")


def numbers_in(text: str) -> set[int]:
    """The amounts a reply states, normalised: ``1.500.000``, ``1500000``, ``1,5 triệu`` -> 1500000."""
    key = fold_key(text)
    found: set[int] = set()
    for match in _NUMBER.finditer(key):
        value = int(re.sub(r"\D", "", match[1]))
        unit = match[2]
        if unit in ("trieu", "tr"):
            value *= 1_000_000
        elif unit in ("nghin", "ngan", "k"):
            value *= 1_000
        found.add(value)
    for match in _DECIMAL_MILLION.finditer(key):
        found.add(int(match[1]) * 1_000_000 + int(match[2].ljust(6, "0")[:6]))
    return found


_CONTENT_WORD = re.compile(r"[a-z0-9]{3,}")
_STOP = {"cua", "cac", "theo", "hoac", "the", "cho", "voi", "tai", "trong", "nhung", "tren", "duoc", "ban",
         "sao", "mau", "phu", "luc", "dinh", "nghi", "neu", "giay", "nhan"}


def _words(text: str) -> set[str]:
    return {w for w in _CONTENT_WORD.findall(fold_key(text)) if w not in _STOP}


def covers(reply: str, item: str, share: float = 0.6) -> bool:
    """Most content words of ``item`` are in the reply (facts, not wording)."""
    wanted = _words(item)
    return bool(wanted) and len(wanted & _words(reply)) >= share * len(wanted)


def has(reply: str, phrase: str) -> bool:
    """``phrase`` occurs in the reply, case- and diacritic-insensitive."""
    return fold_key(phrase) in fold_key(reply)


# --------------------------------------------------------------------------- data of the stack


@dataclass
class Picked:
    code: str
    status: DossierStatus
    due: dt.date
    applicant: str  # as stored (in clear)
    late_days: int


class DossierPool:
    """Real dossiers of the API, each given to one conversation only."""

    def __init__(self, api_url: str, db_path: Path, on: dt.date, api: requests.Session) -> None:
        self.api_url, self.db_path, self.on, self.api = api_url, db_path, on, api
        self.by_status: dict[str, list[dict]] = {}
        self.used: set[str] = set()
        self.lock = threading.Lock()

    def _load(self, status: str) -> list[dict]:
        if status not in self.by_status:
            items, offset = [], 0
            while True:
                page = self.api.get(f"{self.api_url}/api/v1/dossiers",
                                    params={"status": status, "limit": 500, "offset": offset}, timeout=10).json()
                items += page["items"]
                offset += len(page["items"])
                if not page["items"] or offset >= page["total"]:
                    break
            self.by_status[status] = items
        return self.by_status[status]

    def pick(self, spec: dict, salt: str) -> Picked:
        status = DossierStatus(spec["status"])
        with self.lock:
            candidates = []
            for item in self._load(status.value):
                due = dt.date.fromisoformat(item["due_date"])
                late = days_late(due, status, self.on) > 0
                if "late" in spec and late != bool(spec["late"]):
                    continue
                if "past_due" in spec and (due < self.on) != bool(spec["past_due"]):
                    continue
                if "due_within" in spec and not 0 <= (due - self.on).days <= int(spec["due_within"]):
                    continue
                if item["code"] not in self.used:
                    candidates.append((item, due))
            if not candidates:
                raise LookupError(f"no unused dossier matches {spec} on {self.on}")
            index = int(hashlib.sha1(salt.encode()).hexdigest(), 16) % len(candidates)
            item, due = candidates[index]
            self.used.add(item["code"])
        with sqlite3.connect(self.db_path) as conn:
            row = conn.execute("SELECT applicant_name FROM dossiers WHERE code = ?", (item["code"],)).fetchone()
        return Picked(item["code"], status, due, row[0] if row else "", days_late(due, status, self.on))


def typed_code(code: str, style: str) -> str:
    """A dossier code the way a citizen might type it."""
    head, day, serial = code.split("-")
    return {
        "canon": code,
        "lower": code.lower(),
        "spaced": f"{head} - {day} - {serial}".lower(),
        "spaces": f"{head} {day} {serial}",
        "nodots": f"{head.replace('.', '')}-{day}-{serial}",
        "upper_spaced": f"{head}-{day}-{serial}".replace(".", ". ").upper(),
    }[style]


@dataclass
class Stack:
    """Where the runner finds the processes it talks to."""

    api_url: str
    chat_url: str
    redis_url: str
    db_path: Path
    smsc_control: str | None = None
    smsc_log: Path | None = None
    api_token: str = ""  # the dossier API's staff token (it opens every route)

    def api_session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.api_token}"
        return session


# --------------------------------------------------------------------------- clients


@dataclass
class Reply:
    text: str
    buttons: list[dict]  # {"title", "payload"}; SMS: numbered lines, payload = the number


class WebClient:
    """One web chat session (``POST /api/chat``)."""

    session_route: bool | None = None  # shared: does the gateway issue sessions?

    def __init__(self, chat_url: str) -> None:
        self.chat_url = chat_url
        self.http = requests.Session()
        self.session = self._start()
        # An issued token is "<id>.<signature>"; Rasa and the dossier system know the citizen as web:<id>.
        self.sender = f"web:{self.session.split('.')[0]}"

    def _start(self) -> str:
        if WebClient.session_route is not False:
            try:
                resp = self.http.post(f"{self.chat_url}/api/session", timeout=10)
                if resp.status_code == 200 and isinstance(resp.json().get("session"), str):
                    WebClient.session_route = True
                    return resp.json()["session"]
            except (requests.RequestException, ValueError):
                pass
            WebClient.session_route = False
        return uuid.uuid4().hex

    def send(self, text: str) -> Reply:
        resp = self.http.post(f"{self.chat_url}/api/chat", json={"session": self.session, "text": text}, timeout=60)
        body = resp.json()
        if resp.status_code != 200:
            return Reply(str(body.get("error", resp.status_code)), [])
        messages = body.get("messages", [])
        text = "\n".join(m.get("text") or "" for m in messages)
        buttons = [b for m in messages for b in m.get("buttons") or []]
        return Reply(text, buttons)


class SmsLog:
    """The SMSC simulator's submit log, read as it grows; whole replies per destination."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.parts: dict[str, list[dict]] = defaultdict(list)
        self.lock = threading.Lock()

    def _read(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        for line in chunk[:end].splitlines():
            if line.strip():
                entry = json.loads(line)
                if entry.get("event") == "submit":
                    self.parts[entry["dest"][-9:]].append(entry)

    def submits(self, dest: str) -> list[dict]:
        with self.lock:
            self._read()
            return list(self.parts[dest[-9:]])


class SmsClient:
    """One citizen's handset: MOs into the simulator, MTs read from its log."""

    _numbers = iter(range(10_000_000))
    _numbers_lock = threading.Lock()

    def __init__(self, control_url: str, log: SmsLog) -> None:
        from sms_gateway.simulator.control import SimulatorControl

        with SmsClient._numbers_lock:
            n = next(SmsClient._numbers)
        self.msisdn = f"8490{os.getpid() % 1000:03d}{n:04d}"
        self.sim = SimulatorControl(control_url)
        self.log = log
        self.sender = f"sms:{normalize_msisdn(self.msisdn)}"

    def send(self, text: str) -> Reply:
        from sms_gateway.simulator.control import assemble

        before = len(self.log.submits(self.msisdn))
        self.sim.send_text(self.msisdn, text)
        deadline = time.monotonic() + SMS_REPLY_TIMEOUT_S
        last_count, last_change = before, time.monotonic()
        while time.monotonic() < deadline:
            parts = self.log.submits(self.msisdn)
            if len(parts) != last_count:
                last_count, last_change = len(parts), time.monotonic()
            new = parts[before:]
            replies = assemble(new).get(new[0]["dest"]) if new else None
            if replies and time.monotonic() - last_change >= SMS_QUIET_S:
                text = "\n".join(replies)
                return Reply(text, _numbered(text))
            time.sleep(0.1)
        return Reply("", [])


_OPTION = re.compile(r"^\s*(\d{1,2})[.)]\s+(.+)$", re.MULTILINE)


def _numbered(text: str) -> list[dict]:
    return [{"title": m[2].strip(), "payload": m[1]} for m in _OPTION.finditer(text)]


# --------------------------------------------------------------------------- checks


@dataclass
class Context:
    """What a conversation's checks may read."""

    stack: Stack
    catalog: dict[str, Procedure]
    calendar: Calendar
    sender: str
    channel: str
    dossiers: dict[str, Picked]
    typed: list[str] = field(default_factory=list)  # what the citizen typed so far
    tickets_before: int = 0
    ratings_before: int = 0
    def __post_init__(self) -> None:
        self.api = self.stack.api_session()  # the staff token reads every route (the ticket list too)

    def tickets(self) -> list[dict]:
        items = self.api.get(f"{self.stack.api_url}/api/v1/tickets", params={"status": "all"}, timeout=10).json()
        return [t for t in items if t["owner"] == self.sender]

    def appointments(self) -> list[dict]:
        return self.api.get(f"{self.stack.api_url}/api/v1/appointments", params={"owner": self.sender},
                            timeout=10).json()

    def procedure(self, pid: str) -> Procedure:
        return self.catalog[pid]


Check = Callable[[Context, Reply, Any], str | None]  # None when the fact holds, else what was expected
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


@check("status")
def _status(ctx: Context, reply: Reply, name: str) -> str | None:
    d = ctx.dossiers[name]
    return None if has(reply.text, d.status.label) else f"status '{d.status.label}' of {d.code}"


_NOT_LATE = re.compile(r"\b(?:chua|khong|khong con|khong bi|chua bi) tre han\b")


def says_late(text: str) -> bool:
    """Whether the reply says the dossier is late ("trễ hạn"; "chưa trễ hạn", "không còn trễ hạn" say it is not)."""
    return "tre han" in _NOT_LATE.sub(" ", fold_key(text))


@check("late")
def _late(ctx: Context, reply: Reply, name: str) -> str | None:
    d = ctx.dossiers[name]
    if d.late_days == 0:
        if d.status is DossierStatus.TRE_HAN or not says_late(reply.text):
            return None
        return f"no 'trễ hạn' ({d.code} due {d.due:%d/%m/%Y}, on time)"
    if not says_late(reply.text):
        return f"'trễ hạn' ({d.code} due {d.due:%d/%m/%Y}, {d.late_days} days late)"
    accepted = {d.late_days, working_days_between(d.due, today())}
    if not accepted & {int(n) for n in re.findall(r"(\d+)\s*ngay", fold_key(reply.text))}:
        return f"the days late ({' or '.join(map(str, sorted(accepted)))})"
    return None


@check("due_of")
def _due_of(ctx: Context, reply: Reply, name: str) -> str | None:
    due = ctx.dossiers[name].due
    forms = (f"{due:%d/%m/%Y}", f"{due.day}/{due.month}/{due.year}", f"{due:%d/%m}")
    return None if any(f in reply.text for f in forms) else f"the due date {due:%d/%m/%Y}"


@check("mentions")
def _mentions(ctx: Context, reply: Reply, name: str) -> str | None:
    code = ctx.dossiers[name].code
    return None if code in {m.code.canonical for m in find_codes(reply.text)} else f"the code {code}"


@check("masked")
def _masked(ctx: Context, reply: Reply, name: str) -> str | None:
    d = ctx.dossiers[name]
    masked = mask_applicant(d.applicant)
    if fold_key(masked) != fold_key(d.applicant) and has(reply.text, d.applicant):
        return "the applicant's name masked only"
    return None


def _decided_elsewhere(reply: Reply, p: Procedure) -> str | None:
    """For a procedure another body decides (the catalog's ``authority``), the fact to state is who
    decides it, not a fee or a time of the department's."""
    assert p.authority is not None
    return None if covers(reply.text, p.authority.name, 0.6) else f"{p.id} is decided by {p.authority.name}"


@check("fee_of")
def _fee_of(ctx: Context, reply: Reply, pid: str) -> str | None:
    p = ctx.procedure(pid)
    if p.authority is not None:
        return _decided_elsewhere(reply, p)
    if p.fee_vnd == 0:
        ok = any(has(reply.text, w) for w in ("không thu phí", "miễn phí", "không mất phí", "không phải nộp phí",
                                                "không thu lệ phí", "không có phí", "không tốn phí"))
        return None if ok else f"fee of {pid}: free"
    return None if p.fee_vnd in numbers_in(reply.text) else f"fee of {pid}: {p.fee_vnd:,} đ".replace(",", ".")


@check("not_fee_of")
def _not_fee_of(ctx: Context, reply: Reply, pid: str) -> str | None:
    p = ctx.procedure(pid)
    return f"not the fee of {pid} ({p.fee_vnd})" if p.fee_vnd and p.fee_vnd in numbers_in(reply.text) else None


@check("time_of")
def _time_of(ctx: Context, reply: Reply, pid: str) -> str | None:
    p = ctx.procedure(pid)
    if p.authority is not None:
        return _decided_elsewhere(reply, p)
    days = {int(n) for n in re.findall(r"(\d+)\s*ngay", fold_key(reply.text))}
    return None if p.processing_days in days else f"processing time of {pid}: {p.processing_days} days"


@check("docs_of")
def _docs_of(ctx: Context, reply: Reply, pid: str) -> str | None:
    p = ctx.procedure(pid)
    if p.authority is not None:
        return _decided_elsewhere(reply, p)
    present = sum(covers(reply.text, doc) for doc in p.documents)
    needed = math.ceil(len(p.documents) / 2)
    return None if present >= needed else f"documents of {pid} (at least {needed} of {len(p.documents)})"


@check("procedure")
def _procedure(ctx: Context, reply: Reply, pid: str) -> str | None:
    p = ctx.procedure(pid)
    return None if covers(reply.text, p.name, 0.8) else f"about '{p.name}'"


@check("submit_of")
def _submit_of(ctx: Context, reply: Reply, pid: str) -> str | None:
    p = ctx.procedure(pid)
    if p.authority is not None:
        return _decided_elsewhere(reply, p)
    ok = covers(reply.text, p.submission, 0.5) or has(reply.text, "một cửa")
    return None if ok else f"where to submit {pid}"


@check("contains_any")
def _contains_any(ctx: Context, reply: Reply, phrases: list[str]) -> str | None:
    return None if any(has(reply.text, p) for p in phrases) else f"any of {phrases}"


@check("contains_all")
def _contains_all(ctx: Context, reply: Reply, phrases: list[str]) -> str | None:
    missing = [p for p in phrases if not has(reply.text, p)]
    return f"all of {missing}" if missing else None


@check("not_contains")
def _not_contains(ctx: Context, reply: Reply, phrases: list[str]) -> str | None:
    found = [p for p in phrases if has(reply.text, p)]
    return f"none of {found}" if found else None


def _button_names(reply: Reply) -> str:
    return " | ".join(f"{b['title']} {b['payload']}" for b in reply.buttons)


@check("asks_which")
def _asks_which(ctx: Context, reply: Reply, pids: list[str]) -> str | None:
    if len(reply.buttons) < 2:
        return f"a choice between {pids} (buttons)"
    missing = [pid for pid in pids if not any(pid in b["payload"] or covers(b["title"], ctx.procedure(pid).name, 0.5)
                                              or covers(ctx.procedure(pid).name, b["title"], 0.8)
                                              for b in reply.buttons)]
    return f"buttons for {missing}" if missing else None


def expected_day(spec: dict, on: dt.date) -> dt.date:
    """The day a citizen asked for: ``weekday`` (0 = Monday) this or ``next_week``, or ``in_days``."""
    if "open_day" in spec:  # the n-th day the calendar offers (0 = the first)
        return Calendar.load().open_days(local_now(), int(spec["open_day"]) + 1)[int(spec["open_day"])]
    if "in_days" in spec:
        return on + dt.timedelta(days=int(spec["in_days"]))
    weekday = int(spec["weekday"])
    if spec.get("next_week"):
        monday = on - dt.timedelta(days=on.weekday()) + dt.timedelta(days=7)
        return monday + dt.timedelta(days=weekday)
    return on + dt.timedelta(days=(weekday - on.weekday()) % 7 or 7)


def _day_open(ctx: Context, day: dt.date) -> bool:
    try:
        ctx.calendar.check_day(day, local_now())
        return True
    except ClosedDay:
        return False


@check("booked")
def _booked(ctx: Context, reply: Reply, spec: dict) -> str | None:
    day = expected_day(spec, today())
    wanted = spec["time"]
    booked = [a for a in ctx.appointments() if a["status"] == "booked"]
    if not _day_open(ctx, day):  # the desk is closed that day: nothing may be booked on it
        return f"no booking on closed {day:%d/%m/%Y}" if any(a["date"] == day.isoformat() for a in booked) else None
    hour, minute = (int(x) for x in wanted.split(":"))
    said_day = f"{day:%d/%m}" in reply.text or f"{day.day}/{day.month}" in reply.text
    said_time = re.search(rf"(?<!\d)0?{hour}\s*(?::|h|g|giờ)\s*{minute:02d}" if minute else
                          rf"(?<!\d)0?{hour}\s*(?::00|h|g|giờ)", reply.text) is not None
    in_api = any(a["date"] == day.isoformat() and a["time"] == wanted for a in booked)
    if said_day and said_time and in_api:
        return None
    return f"booked {wanted} {day:%d/%m/%Y} (said day={said_day}, time={said_time}, in API={in_api})"


@check("not_booked")
def _not_booked(ctx: Context, reply: Reply, flag: bool) -> str | None:
    booked = [a for a in ctx.appointments() if a["status"] == "booked"]
    return f"no appointment (found {len(booked)})" if booked else None


@check("ticket_created")
def _ticket_created(ctx: Context, reply: Reply, wanted: bool) -> str | None:
    count = len(ctx.tickets())
    created = count > ctx.tickets_before
    ctx.tickets_before = count
    if created != bool(wanted):
        return "a ticket created" if wanted else "no ticket created"
    if wanted:
        numbers = [t["number"] for t in ctx.tickets()]
        if not any(n in reply.text for n in numbers):
            return f"the ticket number ({numbers[-1]}) in the reply"
    return None


@check("delivery_of")
def _delivery_of(ctx: Context, reply: Reply, name: str) -> str | None:
    d = ctx.dossiers[name]
    match = re.search(r"\bBD\d{6,}\b", reply.text)
    if not match:
        return f"a tracking number for {d.code}"
    resp = ctx.api.get(f"{ctx.stack.api_url}/api/v1/deliveries/{match[0]}", params={"owner": ctx.sender}, timeout=10)
    if resp.status_code != 200 or resp.json()["dossier_code"] != d.code:
        return f"delivery {match[0]} of {d.code} in the API"
    return None


def _subscribers(ctx: Context, code: str) -> set[str]:
    async def read() -> set[str]:
        client = aioredis.from_url(ctx.stack.redis_url)
        try:
            return {s.decode() if isinstance(s, bytes) else s for s in await subscriptions.subscribers(client, code)}
        finally:
            await client.close()
    return asyncio.run(read())


@check("no_delivery")
def _no_delivery(ctx: Context, reply: Reply, flag: bool) -> str | None:
    match = re.search(r"\bBD\d{6,}\b", reply.text)
    return f"no delivery (got {match[0]})" if match else None


RATING_LOCK = threading.Lock()  # conversations that rate run one at a time: the rating table has no owner


def ratings_after(db_path: Path, after_id: int) -> list[tuple[int, str, str, str | None]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT id, level, channel, dossier_code FROM ratings WHERE id > ?",
                            (after_id,)).fetchall()


@check("rated")
def _rated(ctx: Context, reply: Reply, spec: dict | str) -> str | None:
    spec = {"level": spec} if isinstance(spec, str) else spec
    code = ctx.dossiers[spec["dossier"]].code if "dossier" in spec else None
    rows = [r for r in ratings_after(ctx.stack.db_path, ctx.ratings_before) if r[1] == spec["level"]
            and r[2] == ctx.channel and (code is None or r[3] == code)]
    return None if len(rows) == 1 else f"one rating {spec['level']} on {ctx.channel} (found {len(rows)})"


@check("subscribed")
def _subscribed(ctx: Context, reply: Reply, name: str) -> str | None:
    d = ctx.dossiers[name]
    return None if ctx.sender in _subscribers(ctx, d.code) else f"subscribed to {d.code}"


@check("not_subscribed")
@check("unsubscribed")
def _unsubscribed(ctx: Context, reply: Reply, name: str) -> str | None:
    d = ctx.dossiers[name]
    return f"unsubscribed from {d.code}" if ctx.sender in _subscribers(ctx, d.code) else None


_DECLINE = ("không thuộc", "ngoài phạm vi", "không phải thẩm quyền", "không giải quyết", "không tiếp nhận",
            "không phải lĩnh vực", "không xử lý", "thuộc thẩm quyền của", "không phải của sở", "cơ quan khác",
            "không do sở")
_POINTER = ("liên hệ", "ủy ban", "ubnd", "công an", "cơ quan", "dịch vụ công", "sở ", "bộ ", "phòng ", "ngân hàng",
            "bảo hiểm xã hội", "tòa án", "cấp xã", "phường")


@check("declined")
def _declined(ctx: Context, reply: Reply, who: bool | list[str]) -> str | None:
    """Not ours, and who handles it: any pointer (``true``) or one of the agencies listed."""
    pointers = who if isinstance(who, list) else _POINTER
    if any(has(reply.text, w) for w in _DECLINE) and any(has(reply.text, w) for w in pointers):
        return None
    return f"declined, pointing to {who if isinstance(who, list) else 'who handles it'}"


_HANDOFF = re.compile(r"can bo.{0,60}(tra loi|phan hoi|ho tro|lien he|tiep nhan|ket noi)"
                      r"|(chuyen|ket noi).{0,40}can bo")


@check("handoff_or_hotline")
def _handoff(ctx: Context, reply: Reply, flag: bool) -> str | None:
    """A staff member will answer or the hotline is given (``true``); neither (``false``: "sở làm việc
    mấy giờ" gives the hours, not a handoff)."""
    hotline = os.environ.get("HOTLINE", "1022")
    handed = _HANDOFF.search(fold_key(reply.text)) is not None
    if flag:
        ok = hotline in reply.text or handed
        return None if ok else f"a staff member will answer, or the hotline {hotline}"
    return None if not handed else "no handoff to a staff member"


@check("places")
def _places(ctx: Context, reply: Reply, spec: dict) -> str | None:
    resp = ctx.api.get(f"{ctx.stack.api_url}/api/v1/places",
                       params={"type": spec["type"], "q": spec["ward"], "limit": 3}, timeout=10)
    names = [p["name"] for p in resp.json().get("items", [])] if resp.status_code == 200 else []
    if not names:
        return f"(no {spec['type']} in {spec['ward']} in the API)"
    return None if any(has(reply.text, n) for n in names) else f"one of {names}"


@check("replied")
def _replied(ctx: Context, reply: Reply, flag: bool) -> str | None:
    return None if bool(reply.text.strip()) == bool(flag) else ("a reply" if flag else "silence")


_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")
_ID = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)")


def always(ctx: Context, reply: Reply) -> list[str]:
    """Facts every reply must respect: no number the citizen typed echoed, ASCII SMS."""
    problems = []
    digits = re.sub(r"[\s.\-]", "", reply.text)
    typed_numbers = {re.sub(r"\D", "", m[0])[-9:] for t in ctx.typed for m in _PHONE.finditer(t)}
    typed_numbers |= {m[0] for t in ctx.typed for m in _ID.finditer(t)}
    codes = "".join(re.sub(r"\D", "", c.code.canonical) for c in find_codes(reply.text))
    echoed = [n for n in typed_numbers if n and n in digits and n not in codes]
    if echoed:
        problems.append("no phone or ID number echoed in clear")
    if ctx.channel == "sms" and any(ord(c) > 127 for c in reply.text):
        problems.append("an ASCII SMS")
    return problems


# --------------------------------------------------------------------------- playing


@dataclass
class Failure:
    conversation: str
    service: str
    channel: str
    turn: int
    said: str
    expected: str
    got: str
    check: str = ""  # which assertion failed (a failure class)


@dataclass
class Result:
    id: str
    service: str
    channel: str
    ok: bool
    failures: list[Failure]
    seconds: float
    transcript: list[tuple[str, str]] = field(default_factory=list)


def render(text: str, ctx: Context, specs: dict[str, dict], replies: list[str]) -> str:
    """The citizen's text with its placeholders filled: dossier codes as typed, the last ticket or
    tracking number the bot gave."""
    for name, d in ctx.dossiers.items():
        text = text.replace("{" + name + "}", typed_code(d.code, specs[name].get("style", "canon")))
    for key, pattern in (("{ticket}", r"\bPA\d{6}-\d+\b"), ("{tracking}", r"\bBD\d{6,}\b")):
        if key in text:
            found = [m for r in replies for m in re.findall(pattern, r)]
            text = text.replace(key, found[-1] if found else "(none)")
    return text


def _press(reply: Reply | None, wanted: str) -> str:
    """The payload of the previous reply's button whose title contains ``wanted``, or of its n-th
    button for ``#n`` (else the words typed)."""
    buttons = reply.buttons if reply else []
    if re.fullmatch(r"#\d+", wanted):
        index = int(wanted[1:]) - 1
        return buttons[index]["payload"] if index < len(buttons) else wanted
    for b in (reply.buttons if reply else []):
        if fold_key(wanted) in fold_key(b["title"]):
            return b["payload"]
    return wanted


def play(conv: Conversation, stack: Stack, pool: DossierPool, catalog: dict[str, Procedure],
         calendar: Calendar, sms_log: SmsLog | None) -> Result:
    """One conversation as a new citizen; every turn's facts checked."""
    if any("rated" in (t.get("expect") or {}) for t in conv.turns):
        with RATING_LOCK:
            return _play(conv, stack, pool, catalog, calendar, sms_log)
    return _play(conv, stack, pool, catalog, calendar, sms_log)


def _play(conv: Conversation, stack: Stack, pool: DossierPool, catalog: dict[str, Procedure],
          calendar: Calendar, sms_log: SmsLog | None) -> Result:
    started = time.monotonic()
    failures: list[Failure] = []

    def fail(turn: int, said: str, expected: str, got: str, check: str) -> None:
        failures.append(Failure(conv.id, conv.service, conv.channel, turn, said, expected, got, check))

    try:
        picked = {name: pool.pick(spec, conv.id + name) for name, spec in conv.dossiers.items()}
    except LookupError as exc:
        fail(0, "", f"(suite data) {exc}", "", "suite_data")
        return Result(conv.id, conv.service, conv.channel, False, failures, 0.0)
    if conv.channel == "sms":
        assert stack.smsc_control and sms_log, "SMS conversations need the SMSC simulator"
        client: WebClient | SmsClient = SmsClient(stack.smsc_control, sms_log)
    else:
        client = WebClient(stack.chat_url)
    ctx = Context(stack, catalog, calendar, client.sender, conv.channel, picked)
    ctx.ratings_before = max([r[0] for r in ratings_after(stack.db_path, 0)], default=0)
    replies: list[str] = []
    expects_ticket = expects_booking = False
    previous: Reply | None = None
    transcript: list[tuple[str, str]] = []
    for i, turn in enumerate(conv.turns, 1):
        said = render(turn["say"], ctx, conv.dossiers, replies) if "say" in turn else _press(previous, turn["press"])
        ctx.typed.append(said)
        try:
            reply = client.send(said)
        except requests.RequestException as exc:
            fail(i, said, "a reply", f"error {exc!r}", "replied")
            break
        replies.append(reply.text)
        transcript.append((said, reply.text + "".join(f" [{b['title']}]" for b in reply.buttons)))
        expect = turn.get("expect") or {}
        if not reply.text.strip() and "replied" not in expect:
            fail(i, said, "a reply", "(silence)", "replied")
        for problem in always(ctx, reply):
            fail(i, said, problem, reply.text, "privacy_or_ascii")
        for name, arg in expect.items():
            if name in ("contains_any", "contains_all", "not_contains"):
                arg = [render(phrase, ctx, conv.dossiers, replies[:-1]) for phrase in arg]
            expects_ticket |= name == "ticket_created" and bool(arg)
            expects_booking |= name == "booked"
            try:
                outcome = CHECKS[name](ctx, reply, arg)
            except Exception as exc:  # a check that cannot run is a failed conversation, not a stopped suite
                outcome = f"check {name} could not run: {exc!r}"
            if outcome is not None:
                fail(i, said, outcome, reply.text, name)
        previous = reply
    if not expects_ticket and ctx.tickets():  # nothing but a complaint may create a ticket
        fail(len(conv.turns), "(end)", "no ticket created", f"{len(ctx.tickets())} ticket(s)", "ticket_created")
    if not expects_booking and [a for a in ctx.appointments() if a["status"] == "booked"]:
        fail(len(conv.turns), "(end)", "no appointment booked", "an appointment", "not_booked")
    return Result(conv.id, conv.service, conv.channel, not failures, failures, time.monotonic() - started,
                  transcript)


def run_suite(stack: Stack, conversations: list[Conversation], workers: int = WORKERS) -> list[Result]:
    """Play every conversation, ``workers`` at a time."""
    pool = DossierPool(stack.api_url, stack.db_path, today(), stack.api_session())
    catalog = {p.id: p for p in load_catalog()}
    calendar = Calendar.load()
    sms_log = SmsLog(stack.smsc_log) if stack.smsc_log else None
    for conv in conversations:  # ids the suite names must exist
        for turn in conv.turns:
            for key in ("fee_of", "not_fee_of", "time_of", "docs_of", "submit_of", "procedure"):
                pid = (turn.get("expect") or {}).get(key)
                if pid is not None and pid not in catalog:
                    raise ValueError(f"{conv.id}: unknown procedure {pid}")
    with ThreadPoolExecutor(workers) as executor:
        return list(executor.map(lambda c: play(c, stack, pool, catalog, calendar, sms_log), conversations))


def summary(results: list[Result]) -> dict[str, Any]:
    """Shares fully correct: overall, by service, by channel; and the failures."""
    def share(rs: list[Result]) -> dict[str, Any]:
        ok = sum(r.ok for r in rs)
        return {"ok": ok, "total": len(rs), "share": round(ok / len(rs), 4) if rs else 0.0}

    groups: dict[str, dict[str, list[Result]]] = {"service": defaultdict(list), "channel": defaultdict(list)}
    for r in results:
        groups["service"][r.service].append(r)
        groups["channel"][r.channel].append(r)
    return {
        "overall": share(results),
        "by_service": {k: share(v) for k, v in sorted(groups["service"].items())},
        "by_channel": {k: share(v) for k, v in sorted(groups["channel"].items())},
        "failures": [f.__dict__ for r in results for f in r.failures],
        "failure_classes": _classes(results),
        "failed_conversations": [r.id for r in results if not r.ok],
    }


def _classes(results: list[Result]) -> dict[str, int]:
    """How many conversations failed each kind of check, most frequent first."""
    counts: dict[str, set[str]] = defaultdict(set)
    for r in results:
        for f in r.failures:
            counts[f.check].add(r.id)
    return dict(sorted(((k, len(v)) for k, v in counts.items()), key=lambda kv: -kv[1]))


def format_summary(data: dict[str, Any], failures: bool = True) -> str:
    def line(name: str, s: dict) -> str:
        return f"  {name:<22} {s['share'] * 100:5.1f} %  ({s['ok']}/{s['total']})"

    out = ["Conversations fully correct:", line("overall", data["overall"]), "By service:"]
    out += [line(k, v) for k, v in data["by_service"].items()]
    out += ["By channel:"] + [line(k, v) for k, v in data["by_channel"].items()]
    if data["failure_classes"]:
        classes = ", ".join(f"{k} {n}" for k, n in data["failure_classes"].items())
        out.append(f"Conversations failing each check: {classes}")
    if failures and data["failures"]:
        out.append(f"Failures ({len(data['failed_conversations'])} conversations):")
        for f in data["failures"]:
            got = " ".join(f["got"].split())[:220]
            out.append(f"  {f['conversation']} [{f['channel']}] turn {f['turn']}: said {f['said']!r}\n"
                       f"      expected {f['expected']}\n      got {got!r}")
    return "\n".join(out)


def write_json(data: dict[str, Any], path: Path = OUTPUT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


# --------------------------------------------------------------------------- the stack


def sms_gateway_env(redis_url: str, api_url: str, rasa_url: str, smsc_port: int,
                    credentials: dict[str, str]) -> dict[str, str]:
    """The SMS gateway's environment against the simulator (as tests/sms_gateway/conftest.py sets it)."""
    return {**os.environ, **credentials, "REDIS_URL": redis_url, "DOSSIER_API_URL": api_url, "RASA_URL": rasa_url,
            "HOTLINE": "1022", "SMS_SMSC_PORT": str(smsc_port), "SMS_SYSTEM_ID": "sct", "SMS_PASSWORD": "t3stpwd",
            "SMS_ENQUIRE_LINK_S": "2", "SMS_RECONNECT_MAX_S": "1", "SMS_CONSUMER": "gw-eval",
            "SMS_RATE_LIMIT_PER_MIN": "100"}


@contextmanager
def sms_side(redis_url: str, api_url: str, rasa_url: str, workdir: Path,
             credentials: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """The node-smpp SMSC simulator and the SMS gateway bound to it: (control URL, submit log)."""
    from tests.sms_gateway.conftest import GatewayProcess, Smsc

    smsc = Smsc(workdir)
    smsc.start()
    gateway = GatewayProcess(sms_gateway_env(redis_url, api_url, rasa_url, smsc.port, credentials), workdir)
    try:
        gateway.start()
        yield smsc.url(""), smsc.log
    finally:
        gateway.stop()
        if smsc.proc is not None and smsc.proc.poll() is None:
            smsc.kill()


@contextmanager
def whole_stack(workdir: Path) -> Iterator[Stack]:
    """Redis, a dossier database seeded for today, the assistant's processes, the SMS side."""
    from dossier_api import seed as seeding
    from dossier_api.db import Database
    from scripts.localstack import LocalStack, start_redis, stop

    db_path = workdir / "dossiers.sqlite3"
    # The reference data is seeded as of 11 days before the day it is played (as the shipped seed,
    # 2026-11-20, is for 2026-12-01): dossiers of every status exist on time and overdue whatever the date.
    with mock.patch.object(seeding, "REFERENCE_DATE", today() - dt.timedelta(days=SEED_AGE_DAYS)):
        seeding.seed(Database(db_path))
    (workdir / "redis").mkdir()
    redis_proc, redis_url = start_redis(workdir / "redis")
    local = LocalStack(redis_url=redis_url, db_path=db_path, logs=workdir)
    try:
        local.start()
        with sms_side(redis_url, local.api_url, local.rasa_url, workdir, local.credentials()) as (control, log):
            yield Stack(local.api_url, local.chat_url, redis_url, db_path, control, log, local.staff_token)
    finally:
        local.stop()
        stop([redis_proc])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="play only conversations whose id starts with this")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--dir", type=Path, default=SUITE_DIR,
                        help="the directory of conversation files to play (default: the main suite)")
    parser.add_argument("--out", type=Path, help="where to write the figures (default: var/eval-<dir name>.json, "
                                                 "var/eval-conversations.json for the main suite)")
    parser.add_argument("--trace", action="store_true", help="print every turn of every conversation")
    parser.add_argument("--trace-failures", action="store_true", help="print every turn of the failed conversations")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = OUTPUT if args.dir.resolve() == SUITE_DIR else ROOT / "var" / f"eval-{args.dir.name}.json"
    conversations = [c for c in load_suite(args.dir) if not args.only or c.id.startswith(args.only)]
    print(f"{len(conversations)} conversations; starting the stack…", flush=True)
    with tempfile.TemporaryDirectory(prefix="eval-conv-") as tmp, whole_stack(Path(tmp)) as stack:
        redis.Redis.from_url(stack.redis_url).ping()
        started = time.monotonic()
        results = run_suite(stack, conversations, args.workers)
        elapsed = time.monotonic() - started
    if args.trace or args.trace_failures:
        for r in results:
            if r.ok and not args.trace:
                continue
            print(f"== {r.id} [{r.channel}] {'OK' if r.ok else 'FAIL'}")
            for said, got in r.transcript:
                print(f"  > {said}\n  < {' '.join(got.split())[:400]}")
    data = summary(results)
    data["seconds"] = round(elapsed, 1)
    data["date"] = today().isoformat()
    print(format_summary(data))
    print(f"Played in {elapsed:.0f} s; written to {args.out}")
    write_json(data, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
