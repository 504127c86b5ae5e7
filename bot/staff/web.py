"""The staff console under ``/staff``: sign-in, sessions, CSRF, roles, and its pages.

Every route but the sign-in page needs a session (pages redirect to the
sign-in page, ``/staff/api/`` answers 401); every state-changing request
needs the session's CSRF token (form field ``csrf_token`` or header
``X-CSRF-Token``), else 403; admin-only routes answer 403 to annotators.
A browser form posted after its session expired is kept for its owner and
offered again after the sign-in (``bot/staff/drafts.py``). Every response
carries the security headers; refusals and errors are a Vietnamese page in
the console's frame, or JSON when the client asks for JSON.
Nothing blocks the event loop: bcrypt and SQLite run in threads (at most
``HASHING`` bcrypt checks at once, so sign-in floods do not take every worker thread).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import html
import logging
import re
import secrets
from collections.abc import Awaitable
from pathlib import Path
from urllib.parse import urlencode

import yaml
from aiohttp import web

from bot.staff import (
    account_pages,
    content_pages,
    conversation_pages,
    dashboard,
    drafts,
    handoff_pages,
    model_pages,
    news_pages,
    ops_pages,
    report_pages,
    ticket_pages,
)
from bot.staff import intents as intent_names
from bot.staff.accounts import Accounts, SignIn
from bot.staff.layout import (
    ACCOUNTS_KEY,
    COOKIE,
    DOSSIERS_KEY,
    HASHING_KEY,
    LOGIN_CSRF_COOKIE,
    PROXIES_KEY,
    PUBLIC,
    REDIS_KEY,
    SESSION_KEY,
    SESSIONS_KEY,
    SETTINGS_KEY,
    Handler,
    client_address,
    csrf_field,
    done,
    error_pages,
    error_response,
    form_or_json,
    hashing,
    in_console,
    page,
    refused,
    security_headers,
    session_of,
)
from bot.staff.refs import REFS_KEY, Refs
from bot.staff.sessions import Sessions
from common import handoff, inbox
from common.dates import local_now
from common.settings import Settings
from dossier_api.client import DossierClient

logger = logging.getLogger(__name__)

HASHING = 2  # concurrent bcrypt checks; the default thread pool has min(32, cores + 4) workers
MAX_USERNAME, MAX_PASSWORD = 64, 1024  # what a sign-in form field may hold (bcrypt reads 72 bytes)
_STREAM_ID = re.compile(r"(\d{1,20})-(\d{1,20})", re.ASCII)


@web.middleware
async def staff_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sessions and CSRF for everything under /staff."""
    if not in_console(request) or (request.method, request.path) in PUBLIC:
        return await handler(request)
    session = await request.app[SESSIONS_KEY].get(request.cookies.get(COOKIE))
    if session is None:
        if request.method == "POST" and request.content_type in FORM_TYPES and request.path != "/staff/logout":
            await _keep_draft(request)  # raises the way to sign in again when the form is kept
        if request.path.startswith("/staff/api/"):
            return error_response(request, 401, "Phiên đăng nhập đã hết hạn; anh/chị vui lòng đăng nhập lại.")
        back = _next_page(request.path_qs) if request.method == "GET" else ""
        raise web.HTTPFound("/staff/login" + (f"?{urlencode({'next': back})}" if back else ""))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        given = request.headers.get("X-CSRF-Token") or (await form_or_json(request)).get("csrf_token", "")
        if not hmac.compare_digest(str(given).encode(), session.csrf.encode()):
            logger.warning("staff request without a valid CSRF token refused: %s %s", request.method, request.path)
            raise web.HTTPForbidden(text="Phiên làm việc không hợp lệ (thiếu mã CSRF). Vui lòng tải lại trang.")
        if request.content_type in FORM_TYPES and (await form_or_json(request)).get(drafts.DRAFT_FIELD):
            await drafts.discard(request.app[REDIS_KEY], request.cookies.get(drafts.DRAFT_COOKIE))  # sent on
    request[SESSION_KEY] = session
    return await handler(request)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _keep_draft(request: web.Request) -> None:
    """A browser form posted after its session expired: when its CSRF token names whose session it was,
    keep what was typed for them (``bot/staff/drafts.py``) and send them to sign in again.

    Raises:
        web.HTTPFound: to the sign-in page, the draft's cookie set (nothing raised when nothing is kept).
    """
    form = await form_or_json(request)
    owner = await request.app[SESSIONS_KEY].owner(str(form.get("csrf_token", "")))
    if owner is None:
        return
    token = await drafts.stash(request.app[REDIS_KEY], owner, request.path_qs, form)
    if token is None:
        return
    logger.info("a form posted after its session expired was kept for staff %s", owner)
    found = web.HTTPFound("/staff/login")
    found.set_cookie(drafts.DRAFT_COOKIE, token, httponly=True, samesite="Strict", path="/staff",
                     secure=request.app[SETTINGS_KEY].staff_cookie_secure, max_age=drafts.TTL_S)
    raise found


SIGN_IN_REFUSED = ("Tên đăng nhập hoặc mật khẩu không đúng. Đăng nhập sai {failures} lần trong {minutes} phút thì "
                   "tài khoản bị tạm khóa {minutes} phút trên máy này.")
DISABLED = "Tài khoản này đã bị khóa. Anh/chị liên hệ quản trị viên để được mở lại."
THROTTLED = "Máy này đã đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút."


def _next_page(path: str) -> str:
    """A console page to return to after signing in: ``path`` when it is one of ours (never another site,
    the sign-in page or the overview, which is where a sign-in goes anyway), else ""."""
    if (not path.startswith("/staff/") or path.startswith(("/staff/login", "/staff/api/")) or path == "/staff/"
            or "//" in path or "\\" in path or len(path) > 1000 or not path.isprintable()):
        return ""
    return path


async def login_page(request: web.Request, error: str = "", back: str | None = None) -> web.Response:
    token = secrets.token_urlsafe(24)
    message = f'<p class="error">{html.escape(error)}</p>' if error else ""
    if await drafts.load(request.app[REDIS_KEY], request.cookies.get(drafts.DRAFT_COOKIE)):
        message += ('<p class="ok">Phiên đăng nhập đã hết hạn; nội dung anh/chị vừa gửi được giữ lại '
                    f'{drafts.TTL_S // 60} phút. Anh/chị đăng nhập lại để xem và gửi tiếp.</p>')
    back = _next_page(request.query.get("next", "") if back is None else back)
    hidden = f'<input type="hidden" name="next" value="{html.escape(back)}">' if back else ""
    body = f"""<div class="card"><h1>Đăng nhập</h1>{message}
<form method="post" action="/staff/login">{csrf_field(token)}{hidden}
<label>Tên đăng nhập<br><input name="username" autocomplete="username" required></label><br>
<label>Mật khẩu<br><input name="password" type="password" autocomplete="current-password" required></label><br>
<button type="submit">Đăng nhập</button></form></div>"""
    response = page("Đăng nhập", body)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/staff",
                        secure=request.app[SETTINGS_KEY].staff_cookie_secure)
    return response


async def login(request: web.Request) -> web.Response:
    """Sign in. An unknown name, a wrong password and a locked account get the same page, status and
    (one bcrypt check each) time; an address with too many failures waits (429), checked no further."""
    form = await form_or_json(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(str(form.get("csrf_token", "")).encode(), expected.encode()):
        raise web.HTTPForbidden(text="Phiên đăng nhập không hợp lệ (thiếu mã CSRF). Vui lòng tải lại trang.")
    username = str(form.get("username", "")).strip().lower()[:MAX_USERNAME]
    back = _next_page(str(form.get("next", "")))
    accounts, settings = request.app[ACCOUNTS_KEY], request.app[SETTINGS_KEY]
    result, staff = await hashing(request, accounts.sign_in, username, str(form.get("password", ""))[:MAX_PASSWORD],
                                   local_now(), client_address(request))
    if result is SignIn.THROTTLED:
        logger.warning("staff sign-in refused: too many failures from this client address")
        response = await login_page(request, THROTTLED.format(minutes=settings.staff_lock_minutes), back)
        response.set_status(429)
        response.headers["Retry-After"] = str(settings.staff_lock_minutes * 60)
        return response
    if result is SignIn.DISABLED:
        logger.info("staff sign-in refused (disabled)")
        response = await login_page(request, DISABLED, back)
        response.set_status(403)
        return response
    if staff is None:
        logger.info("staff sign-in refused (%s)", result.value)
        return await login_page(request, SIGN_IN_REFUSED.format(failures=settings.staff_max_failures,
                                                                minutes=settings.staff_lock_minutes), back)
    token, _ = await request.app[SESSIONS_KEY].create(staff)
    logger.info("staff %s signed in", staff.username)
    draft = await drafts.load(request.app[REDIS_KEY], request.cookies.get(drafts.DRAFT_COOKIE))
    response = web.HTTPFound("/staff/draft" if draft and draft.owner == staff.username else back or "/staff/")
    settings = request.app[SETTINGS_KEY]
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/staff",
                        secure=settings.staff_cookie_secure, max_age=int(settings.staff_session_hours * 3600))
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/staff")
    raise response


async def logout(request: web.Request) -> web.Response:
    await request.app[SESSIONS_KEY].drop(request.cookies.get(COOKIE))
    response = web.HTTPFound("/staff/login")
    response.del_cookie(COOKIE, path="/staff")
    raise response


async def home(request: web.Request, error: str = "") -> web.Response:
    """Overview: conversations waiting for a staff member, and open feedback tickets."""
    session = session_of(request)
    active = await handoff.active(request.app[REDIS_KEY])
    waiting = sum(h.state == handoff.WAITING for h in active)
    notice = (f'<div class="card error">{html.escape(error)}</div>' if error
              else f'<div class="card ok">{ticket_pages.DONE[request.query["done"]]}</div>'
              if request.query.get("done") in ticket_pages.DONE else "")
    body = (f'{notice}<div class="card"><h1>Cuộc trò chuyện chờ cán bộ ({waiting})</h1>'
            f'<p>{waiting} chờ nhận, {len(active) - waiting} đang xử lý. '
            '<a href="/staff/handoffs">Mở hàng chờ</a></p></div>'
            f'{await ticket_pages.tickets_card(request, session)}')
    return page("Tổng quan", body, session)


DOMAIN_FILE = Path(__file__).resolve().parents[2] / "domain.yml"
INTENTS_KEY = web.AppKey("staff_intents", list)
ENTITIES_KEY = web.AppKey("staff_entities", list)
NOT_MARKED = {"ma_ho_so", "ngay_hen", "gio_hen", "huy_lich", "chu_de"}  # found by pattern, or sent by buttons only


async def inbox_page(request: web.Request, error: str = "", typed: dict[str, str] | None = None) -> web.Response:
    """What the assistant did not understand well, text masked, to confirm (with entities) or discard.
    ``typed``: a refused review (its ``item``, intent, entity and rewritten text), shown again as chosen."""
    session = session_of(request)
    entries = await inbox.items(request.app[REDIS_KEY], 50)
    intents, entities = request.app[INTENTS_KEY], request.app[ENTITIES_KEY]
    rows = []
    for item in entries:
        again = typed if typed is not None and typed.get("item") == item.id else {}
        guess = item.intent if item.intent in intents else ""  # fell back: staff choose, nothing preselected
        guess = again.get("intent", guess)
        options = '<option value="">(chọn ý định)</option>' + "".join(
            f'<option value="{i}"{" selected" if i == guess else ""}>{html.escape(intent_names.option(i))}</option>'
            for i in intents)
        entity_options = '<option value="">(không có)</option>' + "".join(
            f'<option value="{e}"{" selected" if e == again.get("entity") else ""}>'
            f'{html.escape(intent_names.option(e, intent_names.ENTITY_LABELS))}</option>' for e in entities)
        rows.append(
            f'<tr data-item="{html.escape(item.id)}"{" class=refused" if again else ""}>'
            f'<td>{html.escape(item.masked)}</td>'
            f'<td>{html.escape(item.channel)}</td><td>{html.escape(_when(item.at))}</td>'
            f'<td>{html.escape(intent_names.label(item.intent))} ({item.confidence:.2f})<br><span class="muted">'
            f'{html.escape(inbox.REASONS.get(item.reason, item.reason))}</span></td>'
            f'<td><form method="post" action="/staff/api/inbox/{html.escape(item.id)}">{csrf_field(session.csrf)}'
            f'{f"""<p class="error">{html.escape(error)}</p>""" if again and error else ""}'
            f'<select name="intent" aria-label="Ý định">{options}</select><br>'
            f'<input name="entity_value" value="{html.escape(again.get("entity_value", ""))}" '
            'placeholder="từ trong câu (thực thể)" aria-label="Giá trị thực thể"> '
            f'<select name="entity" aria-label="Loại thực thể">{entity_options}</select><br>'
            f'{_anonymised_field(item, again.get("anonymised", ""))}'
            '<button name="action" value="confirm">Xác nhận</button> '
            '<button name="action" value="discard">Bỏ qua</button></form></td></tr>')
    table = ("<table><tr><th>Tin nhắn</th><th>Kênh</th><th>Lúc</th><th>Dự đoán</th><th></th></tr>"
             + "".join(rows) + "</table>") if rows else "<p>Hộp thư trống.</p>"
    notice = f'<p class="error">{html.escape(error)}</p>' if error else ""
    return page("Hộp thư NLU", f'<div class="card"><h1>Hộp thư NLU</h1>{notice}{table}</div>', session)


def _anonymised_field(item: inbox.InboxItem, typed: str = "") -> str:
    """A complaint (or anything about officials) is confirmed only rewritten without names: the box for it,
    open on a row that looks like one (or whose rewriting was refused), folded away on the others (needed
    if staff label it a complaint)."""
    box = ('<textarea name="anonymised" rows="2" maxlength="4000" aria-label="Câu đã ẩn danh" '
           'placeholder="Câu đã ẩn danh: viết lại, bỏ tên người, chức vụ, nơi làm việc cụ thể">'
           f'{html.escape(typed)}</textarea><br>')
    if inbox.is_complaint("", item.text, item.intent) or typed:
        return f'<p class="error">Phản ánh: chỉ đưa vào dữ liệu huấn luyện khi đã ẩn danh.</p>{box}'
    return f"<details><summary>Câu đã ẩn danh (bắt buộc với phản ánh)</summary>{box}</details>"


def _when(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return iso


async def review_inbox_item(request: web.Request) -> web.StreamResponse:
    """Confirm an item with an intent and entities (written to the day's batch file) or discard it."""
    body = await form_or_json(request)
    action, intent = str(body.get("action", "")), str(body.get("intent", ""))
    entities = body.get("entities") if isinstance(body.get("entities"), list) else []
    marked = [(str(body.get("entity_value", "")), str(body.get("entity", "")))] if body.get("entity") else []
    marked += [(str(e.get("value", "")), str(e.get("entity", ""))) for e in entities if isinstance(e, dict)]
    item_id = request.match_info["item_id"]
    typed = {"item": item_id, "intent": intent, "anonymised": str(body.get("anonymised", "")),
             "entity_value": str(body.get("entity_value", "")), "entity": str(body.get("entity", ""))}

    def again(request: web.Request, message: str) -> Awaitable[web.Response]:
        return inbox_page(request, message, typed)  # the row as the staff member left it

    if not _is_stream_id(item_id):
        return await refused(request, "Không có tin nhắn này trong hộp thư.", 404, inbox_page)
    if (action not in ("confirm", "discard") or (action == "confirm" and intent not in request.app[INTENTS_KEY])
            or any(entity not in request.app[ENTITIES_KEY] for _, entity in marked)):
        message = ("Anh/chị vui lòng chọn ý định trước khi xác nhận." if action == "confirm" and not intent
                   else "Thao tác, ý định hoặc thực thể không hợp lệ.")
        return await refused(request, message, 400, again)
    redis = request.app[REDIS_KEY]
    item = await inbox.peek(redis, item_id)
    if item is None:
        return await refused(request, "Tin nhắn này đã được người khác xử lý.", 404, inbox_page)
    text, anonymised = item.text, False
    if action == "confirm":
        try:  # checked before the item leaves the inbox: a refusal keeps it where it was, under its id
            text, anonymised = inbox.training_text(item, intent, str(body.get("anonymised", "")))
        except ValueError as exc:
            return await refused(request, str(exc), 400, again)
    item = await inbox.take(redis, item_id)
    if item is None:
        return await refused(request, "Tin nhắn này đã được người khác xử lý.", 404, inbox_page)
    written = None
    if action == "confirm":
        try:
            written = await asyncio.to_thread(inbox.add_example, Path(request.app[SETTINGS_KEY].nlu_data_dir),
                                              intent, text, local_now().date(), marked, anonymised)
        except ValueError as exc:
            typed["item"] = await inbox.restore(redis, item)  # back as a new entry, the row as it was left
            return await refused(request, str(exc), 400, again)
    logger.info("staff %s %s an inbox item%s", session_of(request).staff.username, action,
                f" as {intent}" if action == "confirm" else "")
    return done(request, {"action": action, "file": written.name if written else None}, "/staff/inbox")


def _is_stream_id(entry_id: str) -> bool:
    """A Redis stream entry id (``<ms>-<seq>``, each below 2^64), so a malformed one is a 404, not a Redis error."""
    match = _STREAM_ID.fullmatch(entry_id)
    return match is not None and all(int(part) < 2**64 for part in match.groups())


def _domain() -> tuple[list[str], list[str]]:
    domain = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
    return list(domain["intents"]), [e for e in domain.get("entities", []) if e not in NOT_MARKED]


def setup_staff(app: web.Application, settings: Settings, redis_key: web.AppKey) -> None:
    """Mount the console on the gateway (its Redis client is ``app[redis_key]``, set at start).

    Its routes and middlewares are the gateway app's, limited to ``/staff``, not an aiohttp
    sub-application: aiohttp 3.9 resolves a sub-application through ``request.url``, which the
    installed yarl refuses to build from a ``Host`` header with a port (every request would be a 500).
    """
    app[SETTINGS_KEY] = settings
    app[REFS_KEY] = Refs(settings.web_session_secret)
    app[PROXIES_KEY] = frozenset(a.strip() for a in settings.staff_trusted_proxies.split(",") if a.strip())
    app[ACCOUNTS_KEY] = Accounts(settings.staff_db_path, settings.staff_max_failures, settings.staff_lock_minutes,
                                 settings.staff_address_max_failures)

    async def resources(app: web.Application):
        app[INTENTS_KEY], app[ENTITIES_KEY] = await asyncio.to_thread(_domain)
        app[HASHING_KEY] = asyncio.Semaphore(HASHING)
        app[REDIS_KEY] = app[redis_key]
        app[SESSIONS_KEY] = Sessions(app[redis_key], int(settings.staff_session_hours * 3600),
                                     int(settings.staff_session_max_hours * 3600))
        app[DOSSIERS_KEY] = DossierClient.from_settings(settings)
        yield
        await app[DOSSIERS_KEY].close()

    app.cleanup_ctx.append(resources)
    app.middlewares.extend([security_headers, error_pages, staff_guard])
    app.router.add_get("/staff/login", login_page)
    app.router.add_post("/staff/login", login)
    app.router.add_post("/staff/logout", logout)
    app.router.add_get("/staff/", home)
    app.router.add_get("/staff/inbox", inbox_page)
    app.router.add_post("/staff/api/inbox/{item_id}", review_inbox_item)
    account_pages.add_routes(app)
    drafts.add_routes(app)
    handoff_pages.add_routes(app)
    ticket_pages.add_routes(app)
    conversation_pages.add_routes(app)
    model_pages.add_routes(app)
    dashboard.add_routes(app)
    report_pages.add_routes(app)
    ops_pages.add_routes(app)
    content_pages.add_routes(app)
    news_pages.add_routes(app)
