"""The console's conversations screen: what the assistant said to whom.

The list reads Rasa's Redis tracker store directly (``tracker:tracker:<sender>``, the
JSON dialogue Rasa 3.6's ``RedisTrackerStore`` writes, sealed with ``TRACKER_KEY``:
``common/trackers.py``; Rasa's HTTP API has no list of conversations) and filters by
channel, day, intent, fell back, handed off, rated, marked unhelpful, tag, and free
text on the masked messages (with or without diacritics). A conversation opens as a
transcript with each message's intent and confidence (``bot/handoff.Handoffs.transcript``,
masked for annotators); staff tag it and send any citizen message to the NLU inbox, so a
confidently wrong answer can be corrected there. Button presses (``/intent`` payloads)
are never offered for the inbox.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.handoff import HANDOFFS_KEY
from bot.staff import intents as intent_names
from bot.staff.handoff_pages import WHO
from bot.staff.layout import REDIS_KEY, SETTINGS_KEY, csrf_field, done, form_or_json, page, refused, session_of
from bot.staff.refs import ref_of, sender_of
from bot.staff.sessions import Session
from common import handoff, inbox, trackers
from common.codes import CODE_PATTERN
from common.privacy import redact
from common.text import as_str, fold_key

logger = logging.getLogger(__name__)

TRACKER_PREFIX = trackers.PREFIX
MAX_SCANNED = 2000  # conversations read per listing (the most recent are shown)
SHOWN = 100
TAGS_KEY = "conv:tags:{}"  # set of a conversation's tags
SENT_KEY = "conv:to-inbox:{}"  # a citizen message already sent to the NLU inbox
PIPELINE_WINDOW_S = 120  # how far from a message's time the pipeline's inbox entry for it may be
MAX_TAG = 40
MAX_QUERY = 200  # a search longer than a URL can carry would meet the HTTP server's raw English 400
FALLBACK = "nlu_fallback"
CHANNELS = ("web", "telegram", "zalo", "sms")


@dataclass
class Summary:
    """One conversation as the list shows it."""

    sender: str
    first: float = 0.0
    last: float = 0.0
    said: int = 0  # messages from the citizen (button presses included)
    answered: int = 0  # messages to the citizen: the assistant's and staff members'
    intents: set[str] = field(default_factory=set)
    fell_back: bool = False
    handed_off: bool = False
    rated: bool = False
    unhelpful: bool = False
    masked: list[str] = field(default_factory=list)  # the citizen's messages, masked
    tags: set[str] = field(default_factory=set)

    @property
    def turns(self) -> int:
        """Messages both ways."""
        return self.said + self.answered

    @property
    def channel(self) -> str:
        return self.sender.partition(":")[0]


def mask(text: str) -> str:
    """What the list shows of a citizen's message: phone, ID numbers and dossier codes hidden."""
    return CODE_PATTERN.sub("<MÃ HỒ SƠ>", redact(text))


def summarize(sender: str, events: list[dict[str, Any]]) -> Summary:
    """The list's view of one tracker's events (pure)."""
    s = Summary(sender)
    for event in events:
        at = float(event.get("timestamp") or 0)
        if at:
            s.first = s.first or at
            s.last = max(s.last, at)
        kind = event.get("event")
        if kind == "user":
            text = str(event.get("text") or "")
            intent = str(((event.get("parse_data") or {}).get("intent") or {}).get("name") or "")
            s.said += bool(text)  # what the transcript shows: messages with a text
            s.intents.add(intent)
            s.fell_back |= intent == FALLBACK
            s.rated |= intent == "danh_gia"
            s.unhelpful |= fold_key(text).strip(" .!") in {"/chuahuuich", "chua huu ich", "khong huu ich"}
            if text and not text.startswith("/"):
                s.masked.append(mask(text))
        elif kind == "bot":
            custom = (event.get("data") or {}).get("custom")
            s.answered += bool(event.get("text") or (isinstance(custom, dict) and custom.get("text")))
            s.handed_off |= isinstance(custom, dict) and bool(custom.get("handoff"))
        elif kind == "action" and event.get("name") == "utter_xin_dien_dat_lai":
            s.fell_back = True
    s.intents.discard("")
    return s


@dataclass(frozen=True)
class Filters:
    channel: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    intent: str = ""
    fell_back: bool = False
    handed_off: bool = False
    rated: bool = False
    unhelpful: bool = False
    tag: str = ""
    text: str = ""

    @classmethod
    def of(cls, query: Any) -> Filters:
        def day(name: str) -> dt.date | None:
            try:
                return dt.date.fromisoformat(query.get(name, ""))
            except ValueError:
                return None
        return cls(channel=query.get("channel", "") if query.get("channel", "") in CHANNELS else "",
                   since=day("since"), until=day("until"), intent=query.get("intent", "")[:60],
                   fell_back=query.get("fell_back") == "1", handed_off=query.get("handed_off") == "1",
                   rated=query.get("rated") == "1", unhelpful=query.get("unhelpful") == "1",
                   tag=query.get("tag", "").strip()[:MAX_TAG], text=query.get("q", "").strip()[:MAX_QUERY])

    def keep(self, s: Summary, tz: ZoneInfo) -> bool:
        day = dt.datetime.fromtimestamp(s.last or 0, tz).date()
        return ((not self.channel or s.channel == self.channel)
                and (self.since is None or day >= self.since) and (self.until is None or day <= self.until)
                and (not self.intent or self.intent in s.intents)
                and (not self.fell_back or s.fell_back) and (not self.handed_off or s.handed_off)
                and (not self.rated or s.rated) and (not self.unhelpful or s.unhelpful)
                and (not self.tag or self.tag in s.tags)
                and (not self.text or fold_key(self.text) in fold_key(" ".join(s.masked))))


async def conversations(redis: Any, tracker_key: str) -> list[Summary]:
    """Every conversation in Rasa's tracker store (up to ``MAX_SCANNED``), latest first."""
    key_cipher = trackers.cipher(tracker_key)
    found: list[Summary] = []
    async for key in redis.scan_iter(match=f"{TRACKER_PREFIX}*", count=500):
        raw = await redis.get(key)
        if raw is None:
            continue
        sender = as_str(key)[len(TRACKER_PREFIX):]
        dialogue = trackers.unseal(raw, key_cipher)
        if dialogue is None:
            continue
        events = dialogue.get("events") or []
        summary = summarize(sender, events)
        said_to_staff = await handoff.log(redis, sender)  # what the citizen said to staff is not in the tracker
        summary.handed_off |= bool(said_to_staff)
        summary.masked += [mask(e.text) for e in said_to_staff if e.by == "citizen"]
        summary.said += sum(e.by == "citizen" for e in said_to_staff)
        summary.answered += sum(e.by == "staff" for e in said_to_staff)
        summary.last = max([summary.last, *(e.at for e in said_to_staff)])
        summary.tags = {as_str(t) for t in await redis.smembers(TAGS_KEY.format(sender))}
        found.append(summary)
        if len(found) >= MAX_SCANNED:
            break
    return sorted(found, key=lambda s: s.last, reverse=True)


def _view_url(request: web.Request, sender: str) -> str:
    return f"/staff/conversations/view?ref={ref_of(request, sender)}"


def _checkbox(name: str, label: str, on: bool) -> str:
    return f'<label><input type="checkbox" name="{name}" value="1"{" checked" if on else ""}> {label}</label>'


async def list_page(request: web.Request) -> web.Response:
    session = session_of(request)
    tz = ZoneInfo(request.app[SETTINGS_KEY].timezone)
    f = Filters.of(request.query)
    every = await conversations(request.app[REDIS_KEY], request.app[SETTINGS_KEY].tracker_key)
    kept = [s for s in every if f.keep(s, tz)]
    channels = '<option value="">(tất cả)</option>' + "".join(
        f'<option value="{c}"{" selected" if c == f.channel else ""}>{c}</option>' for c in CHANNELS)
    intents = '<option value="">(tất cả)</option>' + "".join(
        f'<option value="{i}"{" selected" if i == f.intent else ""}>{html.escape(intent_names.option(i))}</option>'
        for i in sorted(set().union(*(s.intents for s in every))))
    form = (f'<form method="get" action="/staff/conversations" class="filters">'
            f'<label>Kênh <select name="channel">{channels}</select></label> '
            f'<label>Từ ngày <input type="date" name="since" value="{f.since or ""}"></label> '
            f'<label>đến <input type="date" name="until" value="{f.until or ""}"></label> '
            f'<label>Ý định <select name="intent">{intents}</select></label><br>'
            f'{_checkbox("fell_back", "không hiểu", f.fell_back)} '
            f'{_checkbox("handed_off", "gặp cán bộ", f.handed_off)} '
            f'{_checkbox("rated", "có đánh giá", f.rated)} {_checkbox("unhelpful", "báo chưa hữu ích", f.unhelpful)} '
            f'<label>Nhãn <input name="tag" value="{html.escape(f.tag)}" size="12" maxlength="{MAX_TAG}"></label> '
            f'<input name="q" value="{html.escape(f.text)}" maxlength="{MAX_QUERY}" placeholder="tìm trong tin nhắn" '
            'aria-label="Tìm"> '
            "<button>Lọc</button></form>")
    rows = "".join(
        f'<tr data-ref="{ref_of(request, s.sender)}" data-channel="{html.escape(s.channel)}"><td>{s.channel}</td>'
        f"<td>{dt.datetime.fromtimestamp(s.last, tz):%d/%m/%Y %H:%M}</td>"
        f'<td class="turns">{s.turns} <span class="muted">({s.said} hỏi, {s.answered} đáp)</span></td>'
        f"<td>{html.escape(', '.join(sorted(s.intents))[:120])}</td>"
        f"<td>{html.escape(s.masked[0][:100]) if s.masked else ''}</td>"
        f"<td>{' '.join(m for m, on in (('không hiểu', s.fell_back), ('gặp cán bộ', s.handed_off), ('đánh giá', s.rated), ('chưa hữu ích', s.unhelpful)) if on)}"  # noqa: E501
        f"{''.join(f' <code>{html.escape(t)}</code>' for t in sorted(s.tags))}</td>"
        f'<td><a href="{html.escape(_view_url(request, s.sender))}">Xem</a></td></tr>'
        for s in kept[:SHOWN])
    table = ("<table><tr><th>Kênh</th><th>Lần cuối</th>"
             '<th title="Tin nhắn cả hai chiều: người dân hỏi; trợ lý hoặc cán bộ đáp">Số tin nhắn</th>'
             "<th>Ý định</th><th>Tin nhắn đầu</th>"
             f"<th>Dấu hiệu</th><th></th></tr>{rows}</table>") if rows else "<p>Không có cuộc trò chuyện nào khớp.</p>"
    more = f'<p class="muted">Hiển thị {SHOWN} trong {len(kept)}.</p>' if len(kept) > SHOWN else ""
    backwards = ('<p class="error">“Từ ngày” phải trước hoặc bằng “đến”; anh/chị chọn lại khoảng ngày.</p>'
                 if f.since and f.until and f.since > f.until else "")
    body = f'<div class="card"><h1>Cuộc trò chuyện ({len(kept)})</h1>{form}{backwards}{table}{more}</div>'
    return page("Cuộc trò chuyện", body, session)


async def view_page(request: web.Request, error: str = "") -> web.Response:
    """One conversation's transcript with intents and confidences, its tags, and "to the inbox"."""
    session: Session = session_of(request)
    sender = sender_of(request, request.query) or sender_of(request, await form_or_json(request))
    if not sender:
        raise web.HTTPFound("/staff/conversations")
    tz = ZoneInfo(request.app[SETTINGS_KEY].timezone)
    hidden = f'{csrf_field(session.csrf)}<input type="hidden" name="ref" value="{ref_of(request, sender)}">'
    lines = await request.app[HANDOFFS_KEY].transcript(sender, masked=True, limit=500)
    items = []
    for line in lines:
        to_inbox = ""
        if line.by == "citizen" and line.intent and not line.text.startswith("/"):
            to_inbox = (f'<form method="post" action="/staff/api/conversations/inbox" class="inline">{hidden}'
                        f'<input type="hidden" name="at" value="{line.at!r}">'
                        "<button>Gửi vào hộp thư NLU</button></form>")
        note = f' <span class="muted">{html.escape(line.note)}</span>' if line.note else ""
        items.append(f'<li class="{line.by}"><strong>{WHO.get(line.by, line.by)}</strong> <span class="muted">'
                     f"{dt.datetime.fromtimestamp(line.at, tz):%d/%m %H:%M:%S}</span>{note} {to_inbox}<br>"
                     f"{html.escape(line.text)}</li>")
    tags = sorted(as_str(t) for t in await request.app[REDIS_KEY].smembers(TAGS_KEY.format(sender)))
    tag_list = "".join(f'<form method="post" action="/staff/api/conversations/tags" class="inline">{hidden}'
                       f'<input type="hidden" name="remove" value="{html.escape(t)}"><code>{html.escape(t)}</code>'
                       f'<button aria-label="Bỏ nhãn {html.escape(t)}">×</button></form> ' for t in tags)
    notice = f'<p class="error">{html.escape(error)}</p>' if error else (
        '<p class="ok">Đã gửi vào hộp thư NLU.</p>' if request.query.get("sent") == "1" else
        '<p class="ok">Tin nhắn này đã được đưa vào hộp thư NLU trước đó; không thêm lần nữa.</p>'
        if request.query.get("sent") == "again" else "")
    body = (f'<div class="card"><h1>Cuộc trò chuyện ({html.escape(sender.partition(":")[0])})</h1>{notice}'
            f'<p>Nhãn: {tag_list or "<span class=muted>(chưa có)</span>"}</p>'
            f'<form method="post" action="/staff/api/conversations/tags">{hidden}'
            f'<input name="add" maxlength="{MAX_TAG}" placeholder="nhãn mới" aria-label="Nhãn mới" required> '
            '<button>Thêm nhãn</button></form>'
            f'<ol class="transcript">{"".join(items)}</ol>'
            '<p><a href="/staff/conversations">« Danh sách</a></p></div>')
    return page("Cuộc trò chuyện", body, session)


async def tags(request: web.Request) -> web.StreamResponse:
    body = await form_or_json(request)
    sender = sender_of(request, body)
    add, remove = str(body.get("add", "")).strip(), str(body.get("remove", "")).strip()
    if not sender or (not add and not remove) or len(add) > MAX_TAG:
        return await refused(request, f"Nhãn phải có từ 1 đến {MAX_TAG} ký tự.", 400, view_page)
    key = TAGS_KEY.format(sender)
    if add:
        await request.app[REDIS_KEY].sadd(key, add)
    if remove:
        await request.app[REDIS_KEY].srem(key, remove)
    return done(request, {"tags": sorted(as_str(t) for t in await request.app[REDIS_KEY].smembers(key))},
                _view_url(request, sender))


async def to_inbox(request: web.Request) -> web.StreamResponse:
    """Put one citizen message of the conversation in the NLU inbox (as written: staff label it there)."""
    body = await form_or_json(request)
    sender = sender_of(request, body)
    try:
        at = float(body.get("at", ""))
    except ValueError:
        at = -1.0
    lines = await request.app[HANDOFFS_KEY].transcript(sender, masked=False, limit=500) if sender else []
    line = next((x for x in lines if x.by == "citizen" and abs(x.at - at) < 1e-6 and x.intent), None)
    if line is None or line.text.startswith("/"):
        return await refused(request, "Không tìm thấy tin nhắn này của người dân.", 404, view_page)
    redis = request.app[REDIS_KEY]
    # One item per conversation turn, however often (or from however many tabs) the button is pressed.
    if not await redis.set(_sent_key(sender, line.at), "1", nx=True, ex=inbox.RETENTION_DAYS * 86400):
        return done(request, {"queued": False, "already": True},
                    _view_url(request, sender) + "&" + urlencode({"sent": "again"}))
    tz = ZoneInfo(request.app[SETTINGS_KEY].timezone)
    fields = inbox.record_fields(line.text, sender, line.intent, line.confidence,
                                 dt.datetime.fromtimestamp(line.at, tz),
                                 reason="staff")
    if await _recorded_by_the_pipeline(redis, fields, line.at):
        return done(request, {"queued": False, "already": True},
                    _view_url(request, sender) + "&" + urlencode({"sent": "again"}))
    try:
        await redis.xadd(inbox.STREAM, fields, maxlen=inbox.MAX_ITEMS, approximate=True)
    except Exception:
        await redis.delete(_sent_key(sender, line.at))  # not sent: the button works again
        raise
    logger.info("staff %s sent a %s message to the NLU inbox", session_of(request).staff.username,
                sender.partition(":")[0])
    return done(request, {"queued": True}, _view_url(request, sender) + "&" + urlencode({"sent": "1"}))


async def _recorded_by_the_pipeline(redis: Any, fields: dict[str, str], at: float) -> bool:
    """Whether the NLU pipeline already put this message in the inbox, unreviewed (it was barely
    understood): an entry of the same channel and text added within ``PIPELINE_WINDOW_S`` of it
    (stream ids are the times entries were added)."""
    low, high = (int((at + d) * 1000) for d in (-PIPELINE_WINDOW_S, PIPELINE_WINDOW_S))
    for _, entry in await redis.xrange(inbox.STREAM, min=str(max(low, 0)), max=str(high), count=500):
        entry = {as_str(k): as_str(v) for k, v in entry.items()}
        if entry.get("text") == fields["text"] and entry.get("channel") == fields["channel"]:
            return True
    return False


def _sent_key(sender: str, at: float) -> str:
    """Marks one citizen message (sender and timestamp, digested: no sender id in clear) as sent to the inbox."""
    return SENT_KEY.format(hashlib.sha256(f"{sender}\n{at!r}".encode()).hexdigest())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/staff/conversations", list_page)
    app.router.add_get("/staff/conversations/view", view_page)
    app.router.add_post("/staff/api/conversations/tags", tags)
    app.router.add_post("/staff/api/conversations/inbox", to_inbox)
