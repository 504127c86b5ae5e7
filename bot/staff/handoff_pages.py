"""The console's handoff pages: the queue, one conversation (transcript, reply box, canned
replies, "end and give back"), and the canned replies' editor.

Claiming is atomic (``common/handoff.py``): of two staff members who claim the same
conversation, one gets it and the other is told who has it. Annotators read the
transcript with names, addresses, phone and ID numbers masked; admins read it as
written. The conversation page polls ``/staff/api/handoffs/transcript`` (``handoff.js``).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections import Counter
from collections.abc import Awaitable
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.handoff import HANDOFFS_KEY, Handoffs, Line, NotYours, Undeliverable
from bot.staff.accounts import Role
from bot.staff.layout import REDIS_KEY, SETTINGS_KEY, csrf_field, done, form_or_json, page, refused, session_of
from bot.staff.refs import ref_of, sender_of
from bot.staff.sessions import Session
from common import handoff
from common.handoff import Claim, EndRefused
from common.privacy import redact
from common.sms_text import limits, sms_text_settings
from content import texts

logger = logging.getLogger(__name__)

MAX_REPLY = 2000
CHANNELS = {"web": "Web", "telegram": "Telegram", "zalo": "Zalo", "sms": "SMS"}
WHO = {"citizen": "Người dân", "bot": "Trợ lý ảo", "staff": "Cán bộ", "system": "Hệ thống"}
END_REFUSED = {"gone": "Cuộc trò chuyện này đã kết thúc.",
               "not_yours": "Cuộc trò chuyện này do cán bộ khác phụ trách."}


def _handoffs(request: web.Request) -> Handoffs:
    return request.app[HANDOFFS_KEY]


def _clock(request: web.Request, at: float) -> str:
    return dt.datetime.fromtimestamp(at, ZoneInfo(request.app[SETTINGS_KEY].timezone)).strftime("%d/%m %H:%M")


def _view_url(request: web.Request, sender: str) -> str:
    return f"/staff/handoffs/view?ref={ref_of(request, sender)}"


def _masked_for(session: Session) -> bool:
    return session.staff.role is not Role.ADMIN


async def queue_page(request: web.Request, error: str = "") -> web.Response:
    """Conversations waiting for staff or held by them, oldest first."""
    session = session_of(request)
    redis = request.app[REDIS_KEY]
    rows = []
    for h in await handoff.active(redis):
        mine = h.staff == session.staff.username
        state = "Chờ cán bộ" if h.state == handoff.WAITING else f"Đang xử lý: {html.escape(h.staff)}"
        if h.state == handoff.WAITING:
            action = (f'<form method="post" action="/staff/api/handoffs/claim" class="inline">'
                      f'{csrf_field(session.csrf)}<input type="hidden" name="ref" value="{ref_of(request, h.sender)}">'
                      f'<button>Nhận</button></form> <a href="{html.escape(_view_url(request, h.sender))}">Xem</a>')
        else:
            action = f'<a href="{html.escape(_view_url(request, h.sender))}">{"Mở" if mine else "Xem"}</a>'
        rows.append(f'<tr data-ref="{ref_of(request, h.sender)}" data-channel="{html.escape(h.channel)}">'
                    f'<td>{CHANNELS.get(h.channel, h.channel)}</td>'
                    f"<td>{_clock(request, h.since)}</td><td>{state}</td>"
                    f"<td>{html.escape(redact(h.last)) or '<span class=muted>(chưa nhắn thêm)</span>'}</td>"
                    f"<td>{action}</td></tr>")
    table = ("<table><tr><th>Kênh</th><th>Từ lúc</th><th>Trạng thái</th><th>Tin nhắn cuối</th><th></th></tr>"
             + "".join(rows) + "</table>") if rows else "<p>Không có cuộc trò chuyện nào đang chờ.</p>"
    notice = f'<p class="error">{html.escape(error)}</p>' if error else ""
    answers = await handoff.csat_answers(redis)
    counts = Counter(a["score"] for a in answers)
    csat = (f"{len(answers)} lượt gần nhất: " + " · ".join(
        f"{texts.text(key)}: {counts.get(score, 0)}" for score, key in handoff.CSAT_LABEL_KEYS.items())
            if answers else "Chưa có đánh giá.")
    body = (f'<div class="card" id="handoff-queue"><h1>Người dân chờ cán bộ ({len(rows)})</h1>{notice}{table}'
            f'<p class="muted">Hết {request.app[SETTINGS_KEY].handoff_timeout_min:g} phút không có cán bộ trả lời, '
            'người dân được hướng dẫn gọi đường dây nóng và trợ lý ảo tiếp tục.</p></div>'
            f'<div class="card"><h2>Mức hài lòng sau khi gặp cán bộ</h2><p>{csat}</p>'
            '<p><a href="/staff/handoffs/canned">Sửa câu trả lời mẫu</a></p></div>'
            '<script src="/static/handoff.js" defer></script>')
    return page("Người dân chờ cán bộ", body, session)


async def claim(request: web.Request) -> web.StreamResponse:
    """Take a waiting conversation (one staff member wins)."""
    sender = sender_of(request, await form_or_json(request))
    if not sender:
        return web.json_response({"error": "Thiếu mã cuộc trò chuyện."}, status=400)
    staff = session_of(request).staff.username
    result = await _handoffs(request).claim(sender, staff)
    if result is Claim.TAKEN:
        holder = await handoff.get(request.app[REDIS_KEY], sender)
        who = holder.staff if holder else "khác"
        return await refused(request, f"Cán bộ {who} đã nhận cuộc trò chuyện này.", 409, queue_page)
    if result is Claim.GONE:
        return await refused(request, "Cuộc trò chuyện này đã kết thúc.", 404, queue_page)
    logger.info("staff %s claimed a %s conversation", staff, sender.partition(":")[0])
    return done(request, {"claimed": True, "ref": ref_of(request, sender)}, _view_url(request, sender))


def _due_text(request: web.Request, current: handoff.Handoff | None, due: float | None) -> str:
    """When the conversation goes back to the assistant if nobody writes, as staff read it."""
    if current is None or due is None:
        return ""
    if current.answered:
        return f"Nếu người dân không nhắn thêm, cuộc trò chuyện tự kết thúc lúc {_clock(request, due)}."
    hotline = request.app[SETTINGS_KEY].hotline
    return (f"Cần trả lời trước {_clock(request, due)}: quá giờ đó người dân được hướng dẫn gọi đường dây nóng "
            f"{hotline} và trợ lý ảo trả lời tiếp.")


def _line_html(request: web.Request, line: Line) -> str:
    note = f' <span class="muted">{html.escape(line.note)}</span>' if line.note else ""
    return (f'<li class="{line.by}"><strong>{WHO.get(line.by, line.by)}</strong> '
            f'<span class="muted">{_clock(request, line.at)}</span>{note}<br>{html.escape(line.text)}</li>')


async def view_page(request: web.Request, error: str = "", typed: str = "") -> web.Response:
    """One conversation: its transcript and, for the staff member who holds it, the reply box (with
    ``typed`` in it: a reply that was refused, to shorten or send again)."""
    session = session_of(request)
    sender = sender_of(request, request.query) or sender_of(request, await form_or_json(request))
    current = await handoff.get(request.app[REDIS_KEY], sender) if sender else None
    due = _due_text(request, current, await handoff.due_at(request.app[REDIS_KEY], sender) if current else None)
    lines = await _handoffs(request).transcript(sender, masked=_masked_for(session)) if sender else []
    transcript = "".join(_line_html(request, x) for x in lines)
    hidden = f'{csrf_field(session.csrf)}<input type="hidden" name="ref" value="{ref_of(request, sender)}">'
    if current is None:
        status, controls = "Đã kết thúc (trợ lý ảo đang trả lời người dân).", ""
    elif current.state == handoff.WAITING:
        status = "Chờ cán bộ."
        controls = (f'<form method="post" action="/staff/api/handoffs/claim">{hidden}'
                    "<button>Nhận cuộc trò chuyện</button></form>")
    elif current.staff == session.staff.username or session.staff.role is Role.ADMIN:
        status = f"Đang xử lý: {html.escape(current.staff)}."
        options = "".join(f'<option value="{html.escape(c)}">{html.escape(c[:80])}</option>'
                          for c in await handoff.canned(request.app[REDIS_KEY]))
        reply = (f'<form method="post" action="/staff/api/handoffs/reply" id="reply-form">{hidden}'
                 f'<label>Câu trả lời mẫu <select id="canned"><option value="">(chọn)</option>{options}</select>'
                 f'</label><br><textarea name="text" rows="3" cols="70" required maxlength="{MAX_REPLY}" '
                 f'placeholder="Trả lời người dân" aria-label="Trả lời người dân">{html.escape(typed)}</textarea><br>'
                 "<button>Gửi</button></form>") if current.staff == session.staff.username else ""
        controls = (f'{reply}<form method="post" action="/staff/api/handoffs/end" '
                    'data-confirm="Kết thúc và trả cuộc trò chuyện lại cho trợ lý ảo?">'
                    f"{hidden}<button>Kết thúc và trả lại cho trợ lý ảo</button></form>")
    else:
        status, controls = f"Đang xử lý: {html.escape(current.staff)}.", ""
    notice = f'<p class="error">{html.escape(error)}</p>' if error else ""
    masked = ' <span class="muted">(tên, địa chỉ, số điện thoại, số giấy tờ đã được che)</span>' \
        if _masked_for(session) else ""
    channel = CHANNELS.get(sender.partition(":")[0], sender.partition(":")[0])
    body = (f'<div class="card"><h1>Cuộc trò chuyện ({html.escape(channel)})</h1><p id="handoff-status">{status}</p>'
            f'<p id="handoff-due" class="muted">{html.escape(due)}</p>'
            f'{notice}<h2>Nội dung{masked}</h2><ol id="transcript" class="transcript" '
            f'data-ref="{ref_of(request, sender)}">{transcript}</ol>{controls}'
            '<p><a href="/staff/handoffs">« Hàng chờ</a></p></div><script src="/static/handoff.js" defer></script>')
    return page("Cuộc trò chuyện", body, session)


async def transcript_api(request: web.Request) -> web.Response:
    """``GET /staff/api/handoffs/transcript?ref=``: the lines and the state, for polling."""
    session = session_of(request)
    sender = sender_of(request, request.query)
    if not sender:
        return web.json_response({"error": "Thiếu mã cuộc trò chuyện."}, status=400)
    current = await handoff.get(request.app[REDIS_KEY], sender)
    lines = await _handoffs(request).transcript(sender, masked=_masked_for(session))
    due = _due_text(request, current, await handoff.due_at(request.app[REDIS_KEY], sender) if current else None)
    return web.json_response({
        "state": current.state if current else "ended", "staff": current.staff if current else "", "due": due,
        "lines": [{"at": x.at, "time": _clock(request, x.at), "by": x.by, "who": WHO.get(x.by, x.by),
                   "text": x.text, "note": x.note} for x in lines]})


async def reply(request: web.Request) -> web.StreamResponse:
    """Send a reply to the citizen on their channel (only the staff member who holds it)."""
    body = await form_or_json(request)
    sender, text = sender_of(request, body), str(body.get("text", "")).strip()

    def again(request: web.Request, message: str) -> Awaitable[web.Response]:
        return view_page(request, message, text[:MAX_REPLY * 4])  # what was typed, back in the box

    if not sender or not text or len(text) > MAX_REPLY:
        return await refused(request, f"Câu trả lời phải có từ 1 đến {MAX_REPLY:,} ký tự.".replace(",", "."),
                             400, again)
    sms, msisdn = sms_text_settings(), sender.removeprefix("sms:")
    if sender.startswith("sms:") and not sms.fits(text, msisdn):
        room = limits(sms.wants_ucs2(msisdn))[1] * sms.max_segments
        return await refused(request, f"Một câu trả lời qua SMS tối đa {sms.max_segments} tin ghép (khoảng {room} "
                                      f"ký tự); câu này {len(text)} ký tự nên sẽ bị cắt. Anh/chị vui lòng rút gọn "
                                      "hoặc chia thành nhiều lần trả lời.", 400, again)
    try:
        await _handoffs(request).reply(sender, session_of(request).staff.username, text)
    except NotYours:
        return await refused(request, "Anh/chị cần nhận cuộc trò chuyện trước khi trả lời (hoặc nó đã kết thúc).",
                             409, again)
    except Undeliverable:
        return await refused(request, "Chưa gửi được tin nhắn tới người dân; anh/chị vui lòng thử lại.", 502,
                             again)
    return done(request, {"sent": True}, _view_url(request, sender))


async def end(request: web.Request) -> web.StreamResponse:
    """"Kết thúc và trả lại cho trợ lý ảo" (the holder, or an admin for anyone's)."""
    sender = sender_of(request, await form_or_json(request))
    if not sender:
        return web.json_response({"error": "Thiếu mã cuộc trò chuyện."}, status=400)
    staff = session_of(request).staff
    try:
        await _handoffs(request).end(sender, staff.username, any_staff=staff.role is Role.ADMIN)
    except EndRefused as exc:
        return await refused(request, END_REFUSED.get(exc.reason, "Không kết thúc được."), 409, queue_page)
    return done(request, {"ended": True}, "/staff/handoffs")


async def canned_page(request: web.Request, error: str = "") -> web.Response:
    session = session_of(request)
    replies = await handoff.canned(request.app[REDIS_KEY])
    notice = f'<p class="error">{html.escape(error)}</p>' if error else ""
    body = (f'<div class="card"><h1>Câu trả lời mẫu</h1>{notice}<p>Mỗi dòng là một câu; để trống cả ô để dùng lại '
            f'các câu mặc định.</p><form method="post" action="/staff/api/handoffs/canned">{csrf_field(session.csrf)}'
            f'<textarea name="replies" rows="10" cols="90" aria-label="Câu trả lời mẫu">'
            f'{html.escape(chr(10).join(replies))}</textarea><br><button>Lưu</button></form>'
            '<p><a href="/staff/handoffs">« Hàng chờ</a></p></div>')
    return page("Câu trả lời mẫu", body, session)


async def save_canned(request: web.Request) -> web.StreamResponse:
    body = await form_or_json(request)
    raw = body.get("replies", "")
    lines = [str(x) for x in raw] if isinstance(raw, list) else str(raw).splitlines()
    if any(len(x.strip()) > MAX_REPLY for x in lines) or len(lines) > 50:
        return await refused(request, f"Tối đa 50 câu, mỗi câu tối đa {MAX_REPLY:,} ký tự.".replace(",", "."),
                             400, canned_page)
    kept = await handoff.set_canned(request.app[REDIS_KEY], lines)
    logger.info("staff %s saved %d canned replies", session_of(request).staff.username, len(kept))
    return done(request, {"replies": kept}, "/staff/handoffs/canned")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/staff/handoffs", queue_page)
    app.router.add_get("/staff/handoffs/view", view_page)
    app.router.add_get("/staff/handoffs/canned", canned_page)
    app.router.add_get("/staff/api/handoffs/transcript", transcript_api)
    app.router.add_post("/staff/api/handoffs/claim", claim)
    app.router.add_post("/staff/api/handoffs/reply", reply)
    app.router.add_post("/staff/api/handoffs/end", end)
    app.router.add_post("/staff/api/handoffs/release", end)  # the overview's button of the previous version
    app.router.add_post("/staff/api/handoffs/canned", save_canned)
