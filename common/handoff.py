"""Conversations handed to a staff member: office hours and the handoff state in Redis.

The assistant is never paused. The chat gateway keeps, per sender
(``<channel>:<id>``), a small state machine:

    (none) --start--> waiting --claim--> claimed --end/timeout--> (none)
                         \\-----------timeout/end-------------/

While a sender is in it, their messages are written to the handoff log (and not
sent to the bot); staff replies are written there too. :func:`route` is that
decision, taken the same way by the chat gateway and the SMS gateway (a message
holding a dossier code, or a button's payload, is still the bot's), and
:func:`hand_over` queues a conversation the assistant handed over. A citizen message that no
staff member has answered yet sets a due time: past it, the handoff times out.
Every transition is one Lua script, so two staff members (or two gateway
replicas checking timeouts) never both win.

Keys: ``handoff:state:<sender>`` (hash), ``handoff:active`` (zset: sender ->
since), ``handoff:due`` (zset: sender -> time it times out),
``handoff:log:<sender>`` (list of JSON entries, bounded, kept ``LOG_TTL_S``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any

from common.codes import find_codes
from common.dates import parse_spans
from common.privacy import pseudonym
from common.streams import REDIS_DOWN
from common.text import as_str, fold_key
from common.workdays import is_working_day

logger = logging.getLogger(__name__)

WAITING, CLAIMED = "waiting", "claimed"
ACTIVE = "handoff:active"
DUE = "handoff:due"
CANNED = "handoff:canned"  # list: the staff's canned replies, in order
CSAT = "handoff:csat"  # list of JSON answers, newest first, bounded
LOG_MAX = 300
LOG_TTL_S = 7 * 24 * 3600
CSAT_MAX = 1000
CSAT_TTL_S = 24 * 3600  # how long the question after a human conversation may be answered
DEFAULT_CANNED = (
    "Chào anh/chị, tôi là cán bộ Sở Công Thương. Tôi có thể giúp gì cho anh/chị?",
    "Anh/chị vui lòng cho biết mã hồ sơ (ví dụ 000.00.12.H17-200115-0001) để tôi kiểm tra.",
    "Tôi đang kiểm tra thông tin, anh/chị vui lòng chờ trong giây lát.",
    "Cảm ơn anh/chị. Nếu cần thêm thông tin, anh/chị cứ nhắn lại tại đây.",
)


# -- what the citizen reads (the action server and the gateway both use these) -------

LEAVE_PAYLOAD = "/tro_ly_ao"  # the citizen leaves the queue and goes back to the assistant
# ... or types the button's title or its like instead of tapping it (folded; the whole message).
LEAVE_WORDS = frozenset({"quay lai tro ly ao", "tro ly ao", "ve tro ly ao", "quay ve tro ly ao", "quay lai bot",
                         "gap tro ly ao", "back to the assistant", "back to bot", "back to the bot"})
TICKET_PAYLOAD = "/phan_anh_kien_nghi"  # starts the feedback form: a written answer
CSAT_PAYLOADS = {"/csat_1": 1, "/csat_2": 2, "/csat_3": 3}
CSAT_LABEL_KEYS = {1: "handoff.csat.label.1", 2: "handoff.csat.label.2", 3: "handoff.csat.label.3"}
# What the citizen is told is worded in content/ (content/data/texts.yml): route() answers with these keys.
STILL_WAITING = "handoff.still_waiting"
LEFT = "handoff.left"
CSAT_THANKS = "handoff.csat.thanks"
CSAT_EXPIRED = "handoff.csat.expired"


def in_office_hours(now: dt.datetime, spec: str) -> bool:
    """True on a working day within one of the spans (``always``: staff on call at any time;
    empty: never, every citizen gets the hotline)."""
    if spec.strip() == "always":
        return True
    return is_working_day(now.date()) and any(start <= now.time() < end for start, end in parse_spans(spec))


def state_key(sender: str) -> str:
    return f"handoff:state:{sender}"


def log_key(sender: str) -> str:
    return f"handoff:log:{sender}"


def csat_key(sender: str) -> str:
    return f"handoff:csat:pending:{sender}"


@dataclass(frozen=True)
class Handoff:
    """One conversation in the hands of staff (or waiting for them)."""

    sender: str
    state: str
    since: float
    staff: str = ""
    replied: bool = False  # a staff member has written at least once
    answered: bool = False  # the last word was a staff member's (a timeout then means the citizen went quiet)
    last: str = ""  # the citizen's last message (as typed; mask before showing)
    last_at: float = 0.0

    @property
    def channel(self) -> str:
        return self.sender.partition(":")[0]

    @classmethod
    def of(cls, sender: str, fields: dict[str, str]) -> Handoff:
        return cls(sender=sender, state=fields.get("state", WAITING), since=float(fields.get("since") or 0),
                   staff=fields.get("staff", ""), replied=fields.get("replied") == "1",
                   answered=fields.get("answered") == "1",
                   last=fields.get("last", ""), last_at=float(fields.get("last_at") or 0))


@dataclass(frozen=True)
class Entry:
    """A line of the handoff log: who (``citizen``, ``staff``, ``system``) said what, when."""

    at: float
    by: str
    text: str
    staff: str = ""

    def json(self) -> str:
        return json.dumps({"at": self.at, "by": self.by, "text": self.text, "staff": self.staff},
                          ensure_ascii=False)


class Claim(Enum):
    CLAIMED = "claimed"  # yours now (or already)
    TAKEN = "taken"  # another staff member has it
    GONE = "gone"  # nobody is waiting under that id any more


# KEYS: state, active, due, log. ARGV: sender, now, due at, entry, log max, log ttl.
_START = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'waiting', 'since', ARGV[2], 'staff', '', 'replied', '0', 'answered', '0')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('RPUSH', KEYS[4], ARGV[4])
redis.call('LTRIM', KEYS[4], -tonumber(ARGV[5]), -1)
redis.call('EXPIRE', KEYS[4], ARGV[6])
return 1
"""
# KEYS: state, due, log. ARGV: sender, now, due at, entry, log max, log ttl, text.
_CITIZEN = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return false end
redis.call('HSET', KEYS[1], 'last', ARGV[7], 'last_at', ARGV[2], 'answered', '0')
redis.call('ZADD', KEYS[2], 'LT', ARGV[3], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[5]), -1)
redis.call('EXPIRE', KEYS[3], ARGV[6])
return state
"""
# KEYS: state, log. ARGV: staff, entry, log max, log ttl.
_CLAIM = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'gone' end
if state == 'claimed' then
  if redis.call('HGET', KEYS[1], 'staff') == ARGV[1] then return 'claimed' end
  return 'taken'
end
redis.call('HSET', KEYS[1], 'state', 'claimed', 'staff', ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 'claimed'
"""
# KEYS: state, due, log. ARGV: sender, staff, entry, log max, log ttl, idle due at.
_STAFF = """
if redis.call('HGET', KEYS[1], 'state') ~= 'claimed' or redis.call('HGET', KEYS[1], 'staff') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'replied', '1', 'answered', '1')
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
redis.call('EXPIRE', KEYS[3], ARGV[5])
return 1
"""
# KEYS: state, active, due, log. ARGV: sender, now, entry, log max, log ttl, mode, staff.
# mode 'staff': only its claimer ends it; 'any': anyone; 'timeout': only if still overdue.
_END = """
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return {'gone'} end
if ARGV[6] == 'staff' and redis.call('HGET', KEYS[1], 'staff') ~= ARGV[7] then return {'not_yours'} end
if ARGV[6] == 'timeout' then
  local due = redis.call('ZSCORE', KEYS[3], ARGV[1])
  if not due or tonumber(due) > tonumber(ARGV[2]) then return {'not_due'} end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('RPUSH', KEYS[4], ARGV[3])
redis.call('LTRIM', KEYS[4], -tonumber(ARGV[4]), -1)
redis.call('EXPIRE', KEYS[4], ARGV[5])
table.insert(fields, 1, 'ok')
return fields
"""


async def _run(redis: Any, script: str, keys: list[str], args: list[Any]) -> Any:
    return await redis.register_script(script)(keys=keys, args=args)


async def start(redis: Any, sender: str, now: float, timeout_s: float) -> bool:
    """Put ``sender`` in the queue; False when already there."""
    entry = Entry(now, "system", "Người dân yêu cầu gặp cán bộ.").json()
    return bool(await _run(redis, _START, [state_key(sender), ACTIVE, DUE, log_key(sender)],
                           [sender, now, now + timeout_s, entry, LOG_MAX, LOG_TTL_S]))


async def citizen_said(redis: Any, sender: str, text: str, now: float, timeout_s: float) -> str | None:
    """Log a message of a handed-off citizen; its state (``waiting``/``claimed``), or None when
    ``sender`` is not handed off (the message is then the bot's)."""
    entry = Entry(now, "citizen", text).json()
    state = await _run(redis, _CITIZEN, [state_key(sender), DUE, log_key(sender)],
                       [sender, now, now + timeout_s, entry, LOG_MAX, LOG_TTL_S, text])
    return as_str(state) if state else None


async def claim(redis: Any, sender: str, staff: str, now: float) -> Claim:
    """Take a waiting conversation; atomic, so of two staff members claiming at once one wins."""
    entry = Entry(now, "system", f"Cán bộ {staff} nhận cuộc trò chuyện.", staff).json()
    result = await _run(redis, _CLAIM, [state_key(sender), log_key(sender)], [staff, entry, LOG_MAX, LOG_TTL_S])
    return Claim(as_str(result))


async def staff_said(redis: Any, sender: str, staff: str, text: str, now: float, idle_s: float) -> bool:
    """Log a staff reply. The citizen is answered: the next timeout is ``idle_s`` away (the
    conversation ends if nobody writes again), or the usual one once the citizen writes.
    False when ``staff`` does not hold the conversation."""
    entry = Entry(now, "staff", text, staff).json()
    return bool(await _run(redis, _STAFF, [state_key(sender), DUE, log_key(sender)],
                           [sender, staff, entry, LOG_MAX, LOG_TTL_S, now + idle_s]))


class EndRefused(Exception):
    """The conversation is not the caller's to end (``reason``: gone, not_yours, not_due)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def end(redis: Any, sender: str, now: float, note: str, *, staff: str = "", mode: str = "staff") -> Handoff:
    """Give the conversation back to the assistant; the handoff as it was.

    ``mode``: ``staff`` (only the claimer, ``staff``, may), ``any`` (an admin, the citizen,
    the command line) or ``timeout`` (only while still overdue: one replica wins).

    Raises:
        EndRefused: nothing to end, or not the caller's.
    """
    entry = Entry(now, "system", note, staff).json()
    raw = await _run(redis, _END, [state_key(sender), ACTIVE, DUE, log_key(sender)],
                     [sender, now, entry, LOG_MAX, LOG_TTL_S, mode, staff])
    values = [as_str(v) for v in raw]
    if values[0] != "ok":
        raise EndRefused(values[0])
    return Handoff.of(sender, dict(zip(values[1::2], values[2::2], strict=True)))


async def get(redis: Any, sender: str) -> Handoff | None:
    fields = await redis.hgetall(state_key(sender))
    return Handoff.of(sender, {as_str(k): as_str(v) for k, v in fields.items()}) if fields else None


async def due_at(redis: Any, sender: str) -> float | None:
    """When ``sender``'s handoff times out (epoch seconds), unless someone writes first; None when no timeout is set."""
    due = await redis.zscore(DUE, sender)
    return float(due) if due is not None else None


async def active(redis: Any) -> list[Handoff]:
    """Every conversation waiting for or held by staff, oldest first."""
    found = []
    for sender in await redis.zrange(ACTIVE, 0, -1):
        handoff = await get(redis, as_str(sender))
        if handoff is None:  # ended between the two reads
            continue
        found.append(handoff)
    return found


async def overdue(redis: Any, now: float) -> list[str]:
    """Senders whose citizen has waited longer than the timeout for a staff reply."""
    return [as_str(s) for s in await redis.zrangebyscore(DUE, "-inf", now)]


async def log(redis: Any, sender: str, limit: int = LOG_MAX) -> list[Entry]:
    """The handoff log of ``sender`` (every handoff of the last ``LOG_TTL_S``), oldest first."""
    entries = []
    for raw in await redis.lrange(log_key(sender), -limit, -1):
        data = json.loads(raw)
        entries.append(Entry(float(data["at"]), data["by"], data["text"], data.get("staff", "")))
    return entries


# -- canned replies and satisfaction ------------------------------------------------

async def canned(redis: Any) -> list[str]:
    """The staff's canned replies (the defaults until someone edits the list)."""
    stored = [as_str(r) for r in await redis.lrange(CANNED, 0, -1)]
    return stored or list(DEFAULT_CANNED)


async def set_canned(redis: Any, replies: list[str]) -> list[str]:
    """Replace the list (blank lines dropped); an empty list brings the defaults back."""
    kept = [r.strip() for r in replies if r.strip()]
    pipe = redis.pipeline(transaction=True)
    pipe.delete(CANNED)
    if kept:
        pipe.rpush(CANNED, *kept)
    await pipe.execute()
    return kept or list(DEFAULT_CANNED)


async def ask_csat(redis: Any, sender: str, staff: str) -> None:
    """Remember that ``sender`` was asked to rate ``staff`` (answerable for ``CSAT_TTL_S``)."""
    await redis.set(csat_key(sender), staff, ex=CSAT_TTL_S)


async def answer_csat(redis: Any, sender: str, score: int, now: float) -> bool:
    """Store the citizen's answer (1 = satisfied .. 3 = not); False when nothing was asked
    (or it was answered already)."""
    staff = await redis.getdel(csat_key(sender))
    if staff is None:
        return False
    record = json.dumps({"at": now, "channel": sender.partition(":")[0], "staff": as_str(staff), "score": score})
    pipe = redis.pipeline(transaction=True)
    pipe.lpush(CSAT, record)
    pipe.ltrim(CSAT, 0, CSAT_MAX - 1)
    await pipe.execute()
    return True


async def csat_answers(redis: Any, limit: int = 100) -> list[dict[str, Any]]:
    """The latest answers, newest first: ``{at, channel, staff, score}``."""
    return [json.loads(r) for r in await redis.lrange(CSAT, 0, limit - 1)]


# -- routing: the same decision on every channel -------------------------------------

async def route(redis: Any, sender: str, text: str, now: float, timeout_s: float) -> list[str] | None:
    """What a message of ``sender`` gets when it is not the assistant's, before the assistant sees it.

    The keys of the texts to reply (content.texts; empty: stay silent, the message went to the
    staff member who holds the conversation): an answer to the satisfaction question, leaving the queue, or a handed-off
    citizen's message (written to the handoff log; while nobody has claimed it the citizen is
    told it was passed on). None when the assistant answers it: not handed off, a message
    holding a dossier code or a button's payload (``/...``), or Redis unreachable (an outage
    must not silence citizens).
    """
    try:
        return await _route(redis, sender, text, now, timeout_s)
    except REDIS_DOWN:
        logger.warning("handoff state unreachable; %s answered by the bot", pseudonym(sender))
        return None


async def _route(redis: Any, sender: str, text: str, now: float, timeout_s: float) -> list[str] | None:
    """The text keys of the answer (content.texts), or None: the assistant answers."""
    key = text.strip()
    if key in CSAT_PAYLOADS:
        return [CSAT_THANKS if await answer_csat(redis, sender, CSAT_PAYLOADS[key], now) else CSAT_EXPIRED]
    if key == LEAVE_PAYLOAD or (fold_key(key).strip(" .!") in LEAVE_WORDS and await get(redis, sender) is not None):
        try:
            await end(redis, sender, now, "Người dân quay lại trợ lý ảo.", mode="any")
        except EndRefused:
            pass
        return [LEFT]
    if find_codes(text) or key.startswith("/"):  # a lookup, a button of the bot's: the bot answers
        return None
    state = await citizen_said(redis, sender, text, now, timeout_s)
    if state is None:
        return None
    return [STILL_WAITING] if state == WAITING else []


async def hand_over(redis: Any, sender: str, now: float, timeout_s: float) -> bool:
    """The assistant handed the conversation over: queue it (once). False when Redis is
    unreachable: the caller then gives the hotline (:func:`unavailable`) instead of the promise."""
    try:
        if await start(redis, sender, now, timeout_s):
            logger.info("%s conversation %s handed to staff", sender.partition(":")[0], pseudonym(sender))
        return True
    except REDIS_DOWN:
        logger.warning("handoff state unreachable; %s not queued", pseudonym(sender))
        return False
