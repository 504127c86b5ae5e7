"""Feedback tickets in the console: the overview's card, the list, and a ticket's page with its
history (every answer, by whom, whether it reached the citizen; every change of state or assignee).

Every form carries the version of the ticket it was rendered from; the dossier system refuses a
change decided on an older version (409), and the page says so and shows the ticket as it now is.
An answer that never reached the citizen (the notifier's dead letters) is marked on the page.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from typing import Any

from aiohttp import web

from bot.notifier import UNDELIVERED_SCAN, undelivered_ticket_events
from bot.staff.layout import (
    ACCOUNTS_KEY,
    DOSSIERS_KEY,
    REDIS_KEY,
    csrf_field,
    done,
    form_or_json,
    page,
    refused,
    session_of,
)
from bot.staff.sessions import Session
from bot.zalo import UNDELIVERED_STREAM as ZALO_UNDELIVERED
from common.dates import local_now
from common.feedback import AFTER_ANSWER, TicketStatus
from common.privacy import redact
from common.text import as_str
from dossier_api.client import DossierApiError, DossierApiUnavailable, DossierNotFound, StaleTicket
from dossier_api.models import Ticket, TicketAnswer, TicketChange, TicketHistory

logger = logging.getLogger(__name__)

NUMBER = re.compile(r"PA\d{6}-\d{4,12}", re.ASCII)  # dossier_api.db numbers tickets PA<yymmdd>-<id>
MAX_ANSWER = 2000
STALE = ("Phiếu vừa được cán bộ khác cập nhật (xem lịch sử bên dưới): trang này là phiếu như hiện giờ; "
         "anh/chị xem lại rồi thao tác lại.")
STALE_ANSWER = (f"{STALE} Câu trả lời của anh/chị chưa được gửi và vẫn còn trong ô “Trả lời người dân”: "
                "bấm “Gửi trả lời” để gửi.")
NO_ANSWER = "Phiếu chỉ chuyển sang “đã trả lời” khi đã có câu trả lời."
NOT_FOUND = "Không tìm thấy phản ánh này."
UNAVAILABLE = "Không kết nối được hệ thống phản ánh; anh/chị vui lòng thử lại."
DONE = {"answered": "Đã gửi trả lời.", "changed": "Đã cập nhật phiếu."}
LISTS = {"open": "Đang mở", "all": "Tất cả", **{s.value: s.label.capitalize() for s in TicketStatus}}


def _status_options(choices: tuple[TicketStatus, ...] | list[TicketStatus], selected: str) -> str:
    return "".join(f'<option value="{s.value}"{" selected" if s.value == selected else ""}>'
                   f"{html.escape(s.label.capitalize())}</option>" for s in choices)


def _version_fields(session: Session, ticket: Ticket, back: str = "") -> str:
    extra = f'<input type="hidden" name="back" value="{back}">' if back else ""
    return f'{csrf_field(session.csrf)}<input type="hidden" name="version" value="{ticket.version}">{extra}'


def _rows(tickets: list[Ticket], session: Session, inline_answer: bool) -> str:
    today = local_now().date()
    rows = []
    for t in tickets:
        number = html.escape(t.number)
        answer = ""
        if inline_answer:
            answer = (f'<td><form method="post" action="/staff/api/tickets/{number}/answer">'
                      f'{_version_fields(session, t, "home")}<textarea name="answer" rows="2" required '
                      f'maxlength="{MAX_ANSWER}" placeholder="Trả lời người dân"></textarea><br>'
                      '<button>Gửi trả lời</button></form></td>')
        rows.append(
            f'<tr><td><a href="/staff/tickets/{number}">{number}</a></td><td>{html.escape(t.category_label)}</td>'
            f'<td>{html.escape(redact(t.content))}</td><td class="{"worse" if t.due_date < today else ""}">'
            f'{t.due_date:%d/%m/%Y}</td><td>{html.escape(t.status.label.capitalize())}</td>'
            f'<td>{html.escape(t.assignee or "—")}</td>{answer}</tr>')
    head = ("<tr><th>Số</th><th>Loại</th><th>Nội dung</th><th>Hạn trả lời</th><th>Trạng thái</th>"
            f"<th>Người xử lý</th>{'<th></th>' if inline_answer else ''}</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


async def tickets_card(request: web.Request, session: Session) -> str:
    """The overview's card: the open tickets, due first, each answerable in place."""
    try:
        tickets = await request.app[DOSSIERS_KEY].tickets(open_only=True)
    except DossierApiError:
        return '<div class="card"><h2>Phản ánh, kiến nghị</h2><p class="error">Không lấy được danh sách.</p></div>'
    table = (_rows(tickets, session, inline_answer=True) if tickets
             else "<p>Không có phản ánh nào đang chờ trả lời.</p>")
    return (f'<div class="card"><h2>Phản ánh, kiến nghị đang mở ({len(tickets)})</h2>{table}'
            '<p><a href="/staff/tickets">Mọi phản ánh</a></p></div>')


async def list_page(request: web.Request) -> web.Response:
    """Tickets of one list (open, all, one state), optionally the signed-in staff member's only."""
    session = session_of(request)
    which = request.query.get("status", "open")
    which = which if which in LISTS else "open"
    mine = request.query.get("mine") == "1"
    links = " · ".join(
        f'<a href="/staff/tickets?status={key}{"&mine=1" if mine else ""}">'
        f'{"<strong>" + html.escape(label) + "</strong>" if key == which else html.escape(label)}</a>'
        for key, label in LISTS.items())
    toggle = (f'<a href="/staff/tickets?status={which}">Của mọi người</a>' if mine
              else f'<a href="/staff/tickets?status={which}&mine=1">Chỉ phiếu tôi xử lý</a>')
    try:
        tickets = await request.app[DOSSIERS_KEY].tickets(status=which,
                                                           assignee=session.staff.username if mine else None)
        table = _rows(tickets, session, inline_answer=False) if tickets else "<p>Không có phiếu nào.</p>"
    except DossierApiError:
        table = f'<p class="error">{UNAVAILABLE}</p>'
    body = f'<div class="card"><h1>Phản ánh, kiến nghị</h1><p>{links}</p><p>{toggle}</p>{table}</div>'
    return page("Phản ánh, kiến nghị", body, session)


def _number(request: web.Request) -> str:
    number = request.match_info["number"]
    if not NUMBER.fullmatch(number):
        raise web.HTTPNotFound(text=NOT_FOUND)
    return number


async def _deliveries(request: web.Request, ticket: Ticket) -> dict[int, str]:
    """The answers that never reached the citizen: event id -> why (the notifier's dead letters, and
    the Zalo adapter's record of messages outside the interaction window with no SMS fallback)."""
    redis = request.app[REDIS_KEY]
    try:
        failed = await undelivered_ticket_events(redis, ticket.number)
        channel, _, user = ticket.owner.partition(":")
        if channel == "zalo":
            for _, fields in await redis.xrevrange(ZALO_UNDELIVERED, count=UNDELIVERED_SCAN):
                data = {as_str(k): as_str(v) for k, v in fields.items()}
                if data.get("user_id") != user or ticket.number not in data.get("text", ""):
                    continue
                for answer in ticket.answers:
                    if answer.event_id is not None and answer.text in data["text"]:
                        failed.setdefault(answer.event_id, f"Zalo {data.get('error', '')}".strip())
        return failed
    except Exception:  # the page still shows the ticket when Redis does not answer
        logger.warning("ticket page: dead letters unreadable", exc_info=True)
        return {}


def _history(history: TicketHistory, undelivered: dict[int, str]) -> str:
    items: list[tuple[Any, str]] = []
    for answer in history.ticket.answers:
        if answer.event_id is not None and answer.event_id in undelivered:
            state = (f'<span class="error">Chưa đến được người dân ({html.escape(undelivered[answer.event_id])})'
                     "; anh/chị vui lòng liên hệ qua kênh khác.</span>")
        else:
            state = '<span class="muted">Đã chuyển đến kênh của người dân.</span>'
        items.append((answer.at, f'<li data-answer="{answer.id}"><strong>{answer.at:%d/%m/%Y %H:%M}</strong> '
                                 f'{html.escape(answer.author or "—")} trả lời: <q>{html.escape(answer.text)}</q> '
                                 f"{state}</li>"))
    for change in history.changes:
        who = f" (người xử lý: {html.escape(change.assignee)})" if change.assignee else ""
        moved = (f"chuyển từ “{change.old_status.label}” sang “{change.new_status.label}”"
                 if change.old_status is not change.new_status else "đổi người xử lý")
        items.append((change.at, f"<li><strong>{change.at:%d/%m/%Y %H:%M}</strong> "
                                 f"{html.escape(change.actor)} {html.escape(moved)}{who}</li>"))
    items.sort(key=lambda item: item[0])
    return "<ul>" + "".join(text for _, text in items) + "</ul>" if items else "<p>Chưa có trả lời nào.</p>"


async def ticket_page(request: web.Request, error: str = "", typed: str = "") -> web.Response:
    """One ticket: what the citizen wrote (phones and ID numbers masked), its state, assignee and
    history, and the forms to answer, change its state and assign it. ``typed``: an answer that was
    refused, put back in the answer box (its forms carry the ticket's current version)."""
    session = session_of(request)
    number = _number(request)
    notice = (f'<div class="card error">{html.escape(error)}</div>' if error
              else f'<div class="card ok">{DONE[request.query["done"]]}</div>'
              if request.query.get("done") in DONE else "")
    try:
        history = await request.app[DOSSIERS_KEY].ticket_history(number)
    except DossierNotFound:
        raise web.HTTPNotFound(text=NOT_FOUND) from None
    except DossierApiError:
        body = f'{notice}<div class="card"><h1>Phiếu {html.escape(number)}</h1><p class="error">{UNAVAILABLE}</p></div>'
        return page(f"Phiếu {number}", body, session)
    ticket = history.ticket
    staff = await asyncio.to_thread(request.app[ACCOUNTS_KEY].list)
    people = '<option value="">(chưa giao)</option>' + "".join(
        f'<option value="{html.escape(s.username)}"{" selected" if s.username == ticket.assignee else ""}>'
        f"{html.escape(s.username)}</option>" for s in staff)
    action = f"/staff/api/tickets/{html.escape(number)}"
    fields = _version_fields(session, ticket)
    body = f"""{notice}<div class="card"><h1>Phiếu {html.escape(number)}</h1>
<p><strong>{html.escape(ticket.status.label.capitalize())}</strong> · {html.escape(ticket.category_label)}
· hạn trả lời {ticket.due_date:%d/%m/%Y} · kênh {html.escape(ticket.owner.partition(":")[0])}
· người xử lý: {html.escape(ticket.assignee or "chưa giao")} · phiên bản {ticket.version}</p>
<blockquote>{html.escape(redact(ticket.content))}</blockquote></div>
<div class="card"><h2>Lịch sử</h2>{_history(history, await _deliveries(request, ticket))}</div>
<div class="card"><h2>Trả lời người dân</h2><form method="post" action="{action}/answer">{fields}
<textarea name="answer" rows="4" required maxlength="{MAX_ANSWER}" placeholder="Trả lời người dân"
aria-label="Câu trả lời">{html.escape(typed)}</textarea><br><label>Sau khi trả lời: <select name="status">
{_status_options(AFTER_ANSWER, TicketStatus.DA_TRA_LOI.value)}</select></label>
<button>Gửi trả lời</button></form></div>
<div class="card"><h2>Trạng thái, người xử lý</h2><form method="post" action="{action}/change">{fields}
<select name="status" aria-label="Trạng thái">{_status_options(list(TicketStatus), ticket.status.value)}</select>
<button>Đổi trạng thái</button></form>
<form method="post" action="{action}/change">{fields}<select name="assignee" aria-label="Người xử lý">{people}</select>
<button>Giao phiếu</button></form>
<form method="post" action="{action}/change">{fields}<input type="hidden" name="assignee"
value="{html.escape(session.staff.username)}"><button>Tôi nhận xử lý</button></form></div>"""
    return page(f"Phiếu {number}", body, session)


def _version(body: dict[str, Any]) -> int | None:
    raw = str(body.get("version", ""))
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18 else None


async def _apply(request: web.Request, number: str, call: Any, what: str, back: str,
                 typed: str = "") -> web.StreamResponse:
    """Send a change to the dossier system; a stale version, an unknown ticket or an outage is a refusal
    (the ticket's page again, with an answer that was not sent, ``typed``, back in its box)."""
    def render(request: web.Request, message: str) -> Any:
        return ticket_page(request, message, typed)

    try:
        await call
    except StaleTicket as exc:
        stale = STALE_ANSWER if typed else STALE
        return await refused(request, NO_ANSWER if exc.error == "no_answer" else stale, 409, render)
    except DossierNotFound:
        raise web.HTTPNotFound(text=NOT_FOUND) from None
    except DossierApiError as exc:
        logger.warning("ticket %s not stored: %s", what, type(exc).__name__)
        status = 502 if isinstance(exc, DossierApiUnavailable) else 400
        return await refused(request, UNAVAILABLE, status, render)
    logger.info("staff %s %s ticket %s", session_of(request).staff.username, what, number)
    done_key = "answered" if what == "answered" else "changed"
    return done(request, {"number": number, "done": done_key},
                f"/staff/?done={done_key}" if back == "home" else f"/staff/tickets/{number}?done={done_key}")


async def answer(request: web.Request) -> web.StreamResponse:
    """Add an answer (the earlier ones are kept); its author is told on their channel."""
    number = _number(request)
    body = await form_or_json(request)
    text = str(body.get("answer", "")).strip()
    version = _version(body)
    status = str(body.get("status") or TicketStatus.DA_TRA_LOI.value)
    if not text or len(text) > MAX_ANSWER:
        return await refused(request, "Câu trả lời phải có từ 1 đến 2.000 ký tự.", 400,
                             lambda request, message: ticket_page(request, message, text[:MAX_ANSWER * 4]))
    if version is None or status not in {s.value for s in AFTER_ANSWER}:
        return await refused(request, "Biểu mẫu không hợp lệ; anh/chị vui lòng tải lại trang.", 400,
                             lambda request, message: ticket_page(request, message, text))
    change = TicketAnswer(version=version, answer=text, author=session_of(request).staff.username, status=status)
    return await _apply(request, number, request.app[DOSSIERS_KEY].answer_ticket(number, change), "answered",
                        str(body.get("back", "")), text)


async def change(request: web.Request) -> web.StreamResponse:
    """Move a ticket to another state, or (un)assign it to a staff member."""
    number = _number(request)
    body = await form_or_json(request)
    version = _version(body)
    status, assignee = body.get("status"), body.get("assignee")
    known = {s.value for s in TicketStatus}
    if (version is None or (status is None and assignee is None)
            or (status is not None and (not isinstance(status, str) or status not in known))
            or (assignee is not None and not isinstance(assignee, str))):
        return await refused(request, "Biểu mẫu không hợp lệ; anh/chị vui lòng tải lại trang.", 400, ticket_page)
    if assignee:
        staff = {s.username for s in await asyncio.to_thread(request.app[ACCOUNTS_KEY].list)}
        if assignee not in staff:
            return await refused(request, "Không có cán bộ này.", 400, ticket_page)
    update = TicketChange(version=version, actor=session_of(request).staff.username, status=status,
                          assignee=assignee)
    return await _apply(request, number, request.app[DOSSIERS_KEY].change_ticket(number, update), "changed",
                        str(body.get("back", "")))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/staff/tickets", list_page)
    app.router.add_get("/staff/tickets/{number}", ticket_page)
    app.router.add_post("/staff/api/tickets/{number}/answer", answer)
    app.router.add_post("/staff/api/tickets/{number}/change", change)
