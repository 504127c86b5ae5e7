"""The staff console under ``/staff``: sign-in, sessions, CSRF, roles, and its pages.

Every route but the sign-in page needs a session (pages redirect to the
sign-in page, ``/staff/api/`` answers 401); every state-changing request
needs the session's CSRF token (form field ``csrf_token`` or header
``X-CSRF-Token``), else 403; admin-only routes answer 403 to annotators.
"""

from __future__ import annotations

import hmac
import html
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from bot.staff.accounts import AccountError, Accounts, Role, SignIn
from bot.staff.sessions import Session, Sessions
from common import handoff, inbox
from common.dates import local_now
from common.settings import Settings

logger = logging.getLogger(__name__)

COOKIE = "sct_staff"
LOGIN_CSRF_COOKIE = "sct_login_csrf"
SESSION_KEY = "staff_session"
ACCOUNTS_KEY = web.AppKey("staff_accounts", Accounts)
SESSIONS_KEY = web.AppKey("staff_sessions", Sessions)
REDIS_KEY = web.AppKey("staff_redis", object)
SETTINGS_KEY = web.AppKey("staff_settings", Settings)
PUBLIC = {("GET", "/staff/login"), ("POST", "/staff/login")}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – Bảng điều khiển cán bộ</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1b2a38}}
header{{background:#0b4f8a;color:#fff;padding:.8rem 1.2rem;display:flex;gap:1rem;align-items:center}}
header a{{color:#fff}} main{{max-width:960px;margin:1.5rem auto;padding:0 1rem}}
.card{{background:#fff;border-radius:8px;padding:1rem 1.2rem;margin-bottom:1rem;box-shadow:0 1px 3px #0002}}
.error{{color:#b00020}} table{{border-collapse:collapse;width:100%}}
td,th{{padding:.4rem;border-bottom:1px solid #ddd;text-align:left}}
input,select,button{{font:inherit;padding:.4rem;margin:.2rem 0}} button{{cursor:pointer}}
</style></head><body>
<header><strong>Sở Công Thương – Trợ lý ảo</strong>{nav}</header>
<main>{body}</main></body></html>"""


def _page(title: str, body: str, session: Session | None = None) -> web.Response:
    nav = ""
    if session is not None:
        admin = '<a href="/staff/users">Tài khoản</a>' if session.staff.role is Role.ADMIN else ""
        nav = (f'<a href="/staff/">Tổng quan</a><a href="/staff/inbox">Hộp thư NLU</a>{admin}'
               '<span style="margin-left:auto">'
               f"{html.escape(session.staff.username)} ({session.staff.role.value})</span>"
               f'<form method="post" action="/staff/logout" style="margin:0">{_csrf_field(session.csrf)}'
               '<button>Đăng xuất</button></form>')
    return web.Response(text=PAGE.format(title=html.escape(title), nav=nav, body=body), content_type="text/html")


def _csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf_token" value="{html.escape(token)}">'


def session_of(request: web.Request) -> Session:
    return request[SESSION_KEY]


def requires(role: Role) -> Callable[[Handler], Handler]:
    """Only staff with ``role`` (admins may do everything)."""
    def decorate(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            staff = session_of(request).staff
            if staff.role is not Role.ADMIN and staff.role is not role:
                logger.warning("staff %s refused %s %s (role %s)", staff.username, request.method, request.path,
                               staff.role.value)
                raise web.HTTPForbidden(text="Tài khoản của anh/chị không có quyền thực hiện thao tác này.")
            return await handler(request)
        return guarded
    return decorate


async def _form_or_json(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        return body if isinstance(body, dict) else {}
    return dict(await request.post())


@web.middleware
async def staff_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sessions and CSRF for everything under /staff."""
    if not request.path.startswith("/staff") or (request.method, request.path) in PUBLIC:
        return await handler(request)
    session = await request.app[SESSIONS_KEY].get(request.cookies.get(COOKIE))
    if session is None:
        if request.path.startswith("/staff/api/"):
            return web.json_response({"error": "Anh/chị cần đăng nhập."}, status=401)
        raise web.HTTPFound("/staff/login")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        given = request.headers.get("X-CSRF-Token") or (await _form_or_json(request)).get("csrf_token", "")
        if not hmac.compare_digest(str(given).encode(), session.csrf.encode()):
            logger.warning("staff request without a valid CSRF token refused: %s %s", request.method, request.path)
            raise web.HTTPForbidden(text="Phiên làm việc không hợp lệ (thiếu mã CSRF). Vui lòng tải lại trang.")
    request[SESSION_KEY] = session
    return await handler(request)


async def login_page(request: web.Request, error: str = "") -> web.Response:
    token = secrets.token_urlsafe(24)
    message = f'<p class="error">{html.escape(error)}</p>' if error else ""
    body = f"""<div class="card"><h1>Đăng nhập</h1>{message}
<form method="post" action="/staff/login">{_csrf_field(token)}
<label>Tên đăng nhập<br><input name="username" autocomplete="username" required></label><br>
<label>Mật khẩu<br><input name="password" type="password" autocomplete="current-password" required></label><br>
<button type="submit">Đăng nhập</button></form></div>"""
    response = _page("Đăng nhập", body)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/staff",
                        secure=request.app[SETTINGS_KEY].staff_cookie_secure)
    return response


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(str(form.get("csrf_token", "")).encode(), expected.encode()):
        raise web.HTTPForbidden(text="Phiên đăng nhập không hợp lệ (thiếu mã CSRF). Vui lòng tải lại trang.")
    username = str(form.get("username", "")).strip().lower()
    result, staff = request.app[ACCOUNTS_KEY].sign_in(username, str(form.get("password", "")), local_now())
    if result is SignIn.LOCKED:
        logger.warning("staff sign-in refused: account locked")
        return await login_page(request, "Tài khoản tạm khóa do đăng nhập sai nhiều lần. Vui lòng thử lại sau.")
    if staff is None:
        logger.info("staff sign-in failed")
        return await login_page(request, "Tên đăng nhập hoặc mật khẩu không đúng.")
    token, _ = await request.app[SESSIONS_KEY].create(staff)
    logger.info("staff %s signed in", staff.username)
    response = web.HTTPFound("/staff/")
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


async def home(request: web.Request) -> web.Response:
    """Overview: conversations waiting for a staff member."""
    session = session_of(request)
    waiting = await handoff.waiting(request.app[REDIS_KEY])
    rows = "".join(f"<tr><td>{html.escape(sender)}</td><td>{html.escape(since)}</td></tr>"
                   for sender, since in sorted(waiting.items(), key=lambda kv: kv[1]))
    table = (f"<table><tr><th>Người dân (kênh:mã)</th><th>Từ lúc</th></tr>{rows}</table>" if rows
             else "<p>Không có cuộc trò chuyện nào đang chờ.</p>")
    body = f'<div class="card"><h1>Cuộc trò chuyện chờ cán bộ ({len(waiting)})</h1>{table}</div>'
    return _page("Tổng quan", body, session)


DOMAIN_FILE = Path(__file__).resolve().parents[2] / "domain.yml"
INTENTS_KEY = web.AppKey("staff_intents", list)


async def inbox_page(request: web.Request) -> web.Response:
    """What the assistant did not understand well, text masked, to confirm or discard."""
    session = session_of(request)
    entries = await inbox.items(request.app[REDIS_KEY], 50)
    intents = request.app[INTENTS_KEY]
    rows = []
    for item in entries:
        guess = item.intent if item.intent in intents else "ngoai_pham_vi"
        options = "".join(f'<option value="{i}"{" selected" if i == guess else ""}>{i}</option>' for i in intents)
        rows.append(
            f'<tr><td>{html.escape(item.masked)}</td><td>{html.escape(item.channel)}</td>'
            f'<td>{html.escape(item.at)}</td><td>{html.escape(item.intent)} ({item.confidence:.2f})</td>'
            f'<td><form method="post" action="/staff/api/inbox/{html.escape(item.id)}">{_csrf_field(session.csrf)}'
            f'<select name="intent">{options}</select> <button name="action" value="confirm">Xác nhận</button> '
            '<button name="action" value="discard">Bỏ qua</button></form></td></tr>')
    table = ("<table><tr><th>Tin nhắn</th><th>Kênh</th><th>Lúc</th><th>Dự đoán</th><th></th></tr>"
             + "".join(rows) + "</table>") if rows else "<p>Hộp thư trống.</p>"
    return _page("Hộp thư NLU", f'<div class="card"><h1>Hộp thư NLU</h1>{table}</div>', session)


async def review_inbox_item(request: web.Request) -> web.StreamResponse:
    """Confirm an item with an intent (written to the day's batch file) or discard it."""
    body = await _form_or_json(request)
    action, intent = str(body.get("action", "")), str(body.get("intent", ""))
    if action not in ("confirm", "discard") or (action == "confirm" and intent not in request.app[INTENTS_KEY]):
        return web.json_response({"error": "Thao tác hoặc ý định không hợp lệ."}, status=400)
    item = await inbox.take(request.app[REDIS_KEY], request.match_info["item_id"])
    if item is None:
        return web.json_response({"error": "Tin nhắn này đã được người khác xử lý."}, status=404)
    written = None
    if action == "confirm":
        written = inbox.add_example(Path(request.app[SETTINGS_KEY].nlu_data_dir), intent, item.text,
                                    local_now().date())
    logger.info("staff %s %s an inbox item%s", session_of(request).staff.username, action,
                f" as {intent}" if action == "confirm" else "")
    if request.content_type == "application/json":
        return web.json_response({"action": action, "file": written.name if written else None})
    raise web.HTTPFound("/staff/inbox")


@requires(Role.ADMIN)
async def users_page(request: web.Request) -> web.Response:
    session = session_of(request)
    rows = "".join(f"<tr><td>{html.escape(s.username)}</td><td>{s.role.value}</td></tr>"
                   for s in request.app[ACCOUNTS_KEY].list())
    body = f"""<div class="card"><h1>Tài khoản cán bộ</h1>
<table><tr><th>Tên</th><th>Vai trò</th></tr>{rows}</table></div>
<div class="card"><h2>Thêm tài khoản</h2><form method="post" action="/staff/api/users">{_csrf_field(session.csrf)}
<input name="username" placeholder="tên đăng nhập" required> <input name="password" type="password"
placeholder="mật khẩu (≥ 12 ký tự)" required> <select name="role"><option value="annotator">annotator</option>
<option value="admin">admin</option></select> <button>Thêm</button></form></div>"""
    return _page("Tài khoản", body, session)


@requires(Role.ADMIN)
async def create_user(request: web.Request) -> web.Response:
    body = await _form_or_json(request)
    try:
        role = Role(str(body.get("role", "")))
        staff = request.app[ACCOUNTS_KEY].create(str(body.get("username", "")).strip().lower(),
                                                 str(body.get("password", "")), role, local_now())
    except ValueError as exc:
        message = str(exc) if isinstance(exc, AccountError) else "Vai trò không hợp lệ."
        return web.json_response({"error": message}, status=400)
    logger.info("staff %s created account %s (%s)", session_of(request).staff.username, staff.username,
                staff.role.value)
    return web.json_response({"username": staff.username, "role": staff.role.value}, status=201)


def setup_staff(app: web.Application, settings: Settings, redis_key: web.AppKey) -> None:
    """Mount the console on the gateway (its Redis client is ``app[redis_key]``, set at start)."""
    app[SETTINGS_KEY] = settings
    app[INTENTS_KEY] = list(yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))["intents"])
    app[ACCOUNTS_KEY] = Accounts(settings.staff_db_path, settings.staff_max_failures, settings.staff_lock_minutes)

    async def sessions(app: web.Application):
        app[REDIS_KEY] = app[redis_key]
        app[SESSIONS_KEY] = Sessions(app[redis_key], int(settings.staff_session_hours * 3600))
        yield

    app.cleanup_ctx.append(sessions)
    app.middlewares.append(staff_guard)
    app.router.add_get("/staff/login", login_page)
    app.router.add_post("/staff/login", login)
    app.router.add_post("/staff/logout", logout)
    app.router.add_get("/staff/", home)
    app.router.add_get("/staff/users", users_page)
    app.router.add_get("/staff/inbox", inbox_page)
    app.router.add_post("/staff/api/inbox/{item_id}", review_inbox_item)
    app.router.add_post("/staff/api/users", create_user)
