"""The operations view (admins): what failed and what is waiting.

- SMS dead letters (``sms:dead``), failed notifications (``notify:failed``) and the
  chat replies Telegram and Zalo gave up on (``telegram:undelivered``,
  ``zalo:undelivered``: bot/outbox.py) with their reason; an admin resends one (an
  MT goes back on the SMS outbox, a notification job back on its stream, a chat
  reply back on its channel's outbox, as it was) or discards it. The entry is taken
  off the dead-letter stream first (``XDEL`` answers 1 to one admin only), so two
  clicks never send twice. Recipients are pseudonyms (phones masked), texts redacted.
- Delivery-receipt outcomes counted honestly: every MT part the SMSC accepted is
  delivered, failed (undelivered, expired, rejected...), still waiting for its
  receipt, or never acknowledged (no receipt after ``RECEIPT_WAIT_S``); MTs given
  up before the SMSC took them are counted too.
- Queue depths and stream lag of every stream, and the live model.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot import notifier, outbox
from bot.staff import models
from bot.staff.accounts import Role
from bot.staff.layout import (
    REDIS_KEY,
    SETTINGS_KEY,
    csrf_field,
    done,
    form_or_json,
    page,
    refused,
    requires,
    session_of,
)
from common import sms_keys, stats
from common.dates import local_now, local_tz
from common.privacy import mask_phone, pseudonym, redact
from common.streams import SMS_OUTBOX, queue_sms
from common.text import as_str

logger = logging.getLogger(__name__)

CHAT_CHANNELS = {"telegram": "Telegram", "zalo": "Zalo"}  # replies sent through bot/outbox.py
DEAD_STREAMS = {"sms": sms_keys.DEAD_STREAM, "notify": notifier.FAILED,
                **{c: outbox.undelivered_stream(c) for c in CHAT_CHANNELS}}
META = {"entry", "stream", "error", "reason", "attempts", "at"}  # what StreamConsumer.dead_letter adds
LIST_LIMIT = 100
RECEIPT_WAIT_S = 3600  # an accepted part with no receipt after this is "never acknowledged"
SCAN_LIMIT = 20000  # message ids looked at for missing receipts
RECEIPT_DAYS = 7
DELIVERED = "DELIVRD"
RECEIPT_LABELS = {"DELIVRD": "Đã đến máy", "UNDELIV": "Không đến được máy", "EXPIRED": "Hết hạn chờ",
                  "REJECTD": "Bị nhà mạng từ chối", "DELETED": "Bị xóa", "UNKNOWN": "Không rõ",
                  "ACCEPTD": "Nhà mạng nhận, không báo kết quả"}
WAITING, NEVER, GIVEN_UP = "waiting", "never", "given_up"
OUTCOME_LABELS = {WAITING: "Đang chờ báo nhận", NEVER: f"Không có báo nhận sau {RECEIPT_WAIT_S // 3600} giờ",
                  GIVEN_UP: "Bỏ sau nhiều lần gửi lỗi (dead letter)"}


@dataclass(frozen=True)
class DeadLetter:
    kind: str  # a key of DEAD_STREAMS
    id: str
    fields: dict[str, str]

    @property
    def source(self) -> str:
        return self.fields.get("stream", "") or CHAT_CHANNELS.get(self.kind, "")

    @property
    def resendable(self) -> bool:
        """An MT goes back on the SMS outbox; a notification job back on its own stream; a chat reply
        back on its channel's outbox (when it was recorded with the message to send)."""
        if self.kind in CHAT_CHANNELS:
            return outbox.resendable(self.fields)
        if self.kind == "sms":
            return self.source == SMS_OUTBOX and bool(self.fields.get("dest")) and "text" in self.fields
        return self.source.startswith("notify:out:") or self.source == notifier.EVENTS

    @property
    def at(self) -> dt.datetime:
        seconds = self.fields.get("at") or self.id.split("-")[0][:-3]
        return dt.datetime.fromtimestamp(int(seconds), local_tz())

    def who(self) -> str:
        dest = next((self.fields[k] for k in ("dest", "sender", "user", "to", "chat_id", "user_id")
                     if self.fields.get(k)), "")
        return mask_phone(dest) if self.kind == "sms" and dest else (pseudonym(dest) if dest else "–")


async def dead_letters(redis: Any, kind: str, limit: int = LIST_LIMIT) -> list[DeadLetter]:
    """The newest dead letters of one stream."""
    entries = await redis.xrevrange(DEAD_STREAMS[kind], count=limit)
    return [DeadLetter(kind, as_str(i), {as_str(k): as_str(v) for k, v in f.items()}) for i, f in entries]


async def take(redis: Any, kind: str, entry_id: str) -> DeadLetter | None:
    """Remove a dead letter and return it; None when it is gone (another admin took it)."""
    found = await redis.xrange(DEAD_STREAMS[kind], min=entry_id, max=entry_id)
    if not found or not await redis.xdel(DEAD_STREAMS[kind], entry_id):
        return None
    _, fields = found[0]
    return DeadLetter(kind, entry_id, {as_str(k): as_str(v) for k, v in fields.items()})


async def resend(redis: Any, letter: DeadLetter) -> str:
    """Queue the dead letter again where it came from; returns the new entry id."""
    if letter.kind == "sms":
        return await queue_sms(redis, letter.fields["dest"], letter.fields["text"],
                               letter.fields.get("origin") or "resend")
    if letter.kind in CHAT_CHANNELS:
        return await outbox.requeue(redis, letter.kind, letter.fields)
    job = {k: v for k, v in letter.fields.items() if k not in META}
    return as_str(await redis.xadd(letter.source, job))


async def sms_outcomes(redis: Any, first: dt.date, last: dt.date, now: float | None = None) -> Counter:
    """Final states of MT parts by receipt (``first``..``last``), plus the parts still waiting, the ones never
    acknowledged (message ids still in Redis: ``SMS_RECEIPT_TTL_S``) and the MTs dead-lettered."""
    now = time.time() if now is None else now
    days = await stats.read(redis, first, last, ())
    out: Counter = Counter()
    for day in days:
        out.update(day.counters[stats.DLR])
    cut = (dt.datetime.combine(first, dt.time(), local_tz()).timestamp(),
           dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), local_tz()).timestamp())
    keys = []
    async for name in redis.scan_iter(match=sms_keys.message_id("*"), count=500):
        keys.append(name)
        if len(keys) >= SCAN_LIMIT:
            break
    pipe = redis.pipeline(transaction=False)
    for name in keys:
        pipe.hgetall(name)
    parts = [(as_str(f.get(b"mt", b"")), as_str(f.get(b"part", b""))) for f in await pipe.execute() if f]
    pipe = redis.pipeline(transaction=False)
    for mt, part in parts:
        pipe.hexists(sms_keys.mt_state(mt), part)
    for (mt, _), has_state in zip(parts, await pipe.execute(), strict=True):
        sent = int(mt.split("-")[0]) / 1000 if mt.split("-")[0].isdigit() else now
        if has_state or not cut[0] <= sent < cut[1]:
            continue
        out[WAITING if now - sent < RECEIPT_WAIT_S else NEVER] += 1
    start, end = int(cut[0] * 1000), int(cut[1] * 1000) - 1
    for _, fields in await redis.xrange(sms_keys.DEAD_STREAM, min=f"{start}-0", max=f"{end}-18446744073709551615"):
        if as_str(fields.get(b"stream", b"")) == SMS_OUTBOX:
            out[GIVEN_UP] += 1
    return out


def delivered_share(outcomes: Counter) -> float | None:
    """Delivered parts over every part that should have reached a handset (waiting ones left out)."""
    total = sum(n for state, n in outcomes.items() if state != WAITING)
    return outcomes[DELIVERED] / total if total else None


async def streams_backlog(redis: Any) -> list[tuple[str, int, list[tuple[str, int, int]]]]:
    """Every stream: its length and, per consumer group, (group, pending, lag)."""
    names = sorted({as_str(n) async for n in redis.scan_iter(_type="stream", count=500)})
    out = []
    for name in names:
        length = await redis.xlen(name)
        groups = [(as_str(g["name"]), int(g.get("pending") or 0), int(g.get("lag") or 0))
                  for g in await redis.xinfo_groups(name)]
        out.append((name, length, groups))
    return out


def outcome_label(state: str) -> str:
    return RECEIPT_LABELS.get(state) or OUTCOME_LABELS.get(state, state)


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.1f} %".replace(".", ",")


def _letters_table(letters: list[DeadLetter], csrf: str) -> str:
    if not letters:
        return "<p>Không có.</p>"
    rows = []
    for x in letters:
        actions = (f'<form method="post" action="/staff/api/ops/{x.kind}/{html.escape(x.id)}" class="inline">'
                   f'{csrf_field(csrf)}' + ('<button name="action" value="resend">Gửi lại</button> '
                                            if x.resendable else "")
                   + '<button name="action" value="discard">Bỏ</button></form>')
        text = x.fields.get("text") or x.fields.get("event") or ""
        rows.append(
            f'<tr data-dead="{html.escape(x.id)}"><td>{x.at:%d/%m/%Y %H:%M}</td><td>{html.escape(x.source or "–")}</td>'
            f'<td>{html.escape(x.who())}</td><td class="wrap">{html.escape(redact(text)[:160])}</td>'
            f'<td class="wrap">{html.escape(x.fields.get("reason", ""))}<br><span class="muted">'
            f'{html.escape(x.fields.get("error", ""))}'
            + (f' · {html.escape(x.fields["attempts"])} lần' if x.fields.get("attempts") else "") + '</span></td>'
            f'<td>{actions}</td></tr>')
    return ('<div class="scroll"><table class="stack"><tr><th>Lúc</th><th>Luồng</th><th>Người nhận</th>'
            f'<th>Nội dung</th><th>Lý do</th><th></th></tr>{"".join(rows)}</table></div>')


async def _ops_page(request: web.Request, error: str = "") -> web.Response:
    session = session_of(request)
    redis = request.app[REDIS_KEY]
    sms, notes = await dead_letters(redis, "sms"), await dead_letters(redis, "notify")
    chats = ""
    for kind, label in CHAT_CHANNELS.items():
        letters = await dead_letters(redis, kind)
        chats += (f'<div class="card" id="{kind}-undelivered"><h2>Tin trả lời qua {label} không gửi được'
                  f' ({len(letters)})</h2>{_letters_table(letters, session.csrf)}</div>')
    last = local_now().date()
    outcomes = await sms_outcomes(redis, last - dt.timedelta(days=RECEIPT_DAYS - 1), last)
    backlog = await streams_backlog(redis)
    registry = models.Registry.from_settings(request.app[SETTINGS_KEY])
    live, record = await asyncio.to_thread(lambda: (registry.live(), registry.promotion()))
    total = sum(outcomes.values())
    receipt_rows = "".join(
        f'<tr data-outcome="{html.escape(state)}"><td>{html.escape(outcome_label(state))}</td>'
        f'<td class="num">{n}</td><td class="num">{_pct(n / total if total else None)}</td></tr>'
        for state, n in outcomes.most_common())
    stream_rows = "".join(
        f'<tr><td>{html.escape(name)}</td><td class="num">{length}</td><td>'
        + ("<br>".join(f"{html.escape(g)}: {p} đang xử lý, {lag} chưa đọc" for g, p, lag in groups) or "–")
        + "</td></tr>" for name, length, groups in backlog)
    promoted = (dt.datetime.fromtimestamp(float(record["promoted_at"]), local_tz())
                if record.get("promoted_at") and str(record.get("live")) == str(live) else None)
    model = (f'<p>Mô hình đang dùng: <code>{html.escape(live.name)}</code>'
             + (f", đưa vào dùng lúc {promoted:%d/%m/%Y %H:%M} bởi {html.escape(str(record.get('by', '')))}"
                if promoted else " (mô hình mặc định, chưa có lần đưa vào dùng nào)") + "</p>")
    notice = f'<div class="card error">{html.escape(error)}</div>' if error else ""
    body = f"""{notice}<div class="card"><h1>Vận hành</h1>{model}</div>
<div class="card" id="sms-dead"><h2>SMS không gửi được ({len(sms)})</h2>{_letters_table(sms, session.csrf)}</div>
<div class="card" id="notify-failed"><h2>Thông báo không gửi được ({len(notes)})</h2>
{_letters_table(notes, session.csrf)}</div>
{chats}
<div class="card" id="receipts"><h2>Báo nhận SMS {RECEIPT_DAYS} ngày qua</h2>
<p>Tỷ lệ đến máy: <strong id="delivered-share">{_pct(delivered_share(outcomes))}</strong>
<span class="muted">(trên mọi phần tin phải đến máy, kể cả tin không có báo nhận và tin bị bỏ)</span></p>
<table><tr><th>Kết quả</th><th class="num">Số phần tin</th><th class="num">Tỷ lệ</th></tr>{receipt_rows}</table></div>
<div class="card"><h2>Hàng đợi</h2><div class="scroll"><table><tr><th>Luồng</th><th class="num">Độ dài</th>
<th>Nhóm xử lý</th></tr>{stream_rows}</table></div></div>"""
    return page("Vận hành", body, session)


ops_page = requires(Role.ADMIN)(_ops_page)


@requires(Role.ADMIN)
async def act_on_dead_letter(request: web.Request) -> web.StreamResponse:
    """Resend or discard one dead letter."""
    kind, entry_id = request.match_info["kind"], request.match_info["entry_id"]
    action = str((await form_or_json(request)).get("action", ""))
    parts = entry_id.split("-")
    if kind not in DEAD_STREAMS or len(parts) != 2 or not all(p.isdigit() and int(p) < 2**64 for p in parts):
        return await refused(request, "Không có mục này.", 404, _ops_page)
    if action not in ("resend", "discard"):
        return await refused(request, "Thao tác không hợp lệ.", 400, _ops_page)
    redis = request.app[REDIS_KEY]
    letter = await take(redis, kind, entry_id)
    if letter is None:
        return await refused(request, "Mục này đã được người khác xử lý.", 404, _ops_page)
    queued = None
    if action == "resend":
        if not letter.resendable:
            await redis.xadd(DEAD_STREAMS[kind], letter.fields)  # back where it was (with a new id)
            return await refused(request, "Mục này không gửi lại được; anh/chị chỉ có thể bỏ.", 409, _ops_page)
        queued = await resend(redis, letter)
    logger.info("staff %s %s a %s dead letter", session_of(request).staff.username, action, kind)
    return done(request, {"action": action, "queued": queued}, "/staff/ops")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/staff/ops", ops_page)
    app.router.add_post("/staff/api/ops/{kind}/{entry_id}", act_on_dead_letter)
