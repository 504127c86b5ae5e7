"""What every console page shares: the app keys, the page frame, CSRF fields,
the signed-in session, the role check, the client's address, and the two
middlewares every console response goes through (security headers; errors as a
Vietnamese page in the console's frame, or JSON for a client that asks for JSON)."""

from __future__ import annotations

import asyncio
import html
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from bot.staff.accounts import Accounts, Role
from bot.staff.sessions import Session, Sessions
from common.settings import Settings
from dossier_api.client import DossierClient

logger = logging.getLogger(__name__)

COOKIE = "sct_staff"
LOGIN_CSRF_COOKIE = "sct_login_csrf"
SESSION_KEY = "staff_session"
ACCOUNTS_KEY = web.AppKey("staff_accounts", Accounts)
SESSIONS_KEY = web.AppKey("staff_sessions", Sessions)
REDIS_KEY = web.AppKey("staff_redis", object)
SETTINGS_KEY = web.AppKey("staff_settings", Settings)
DOSSIERS_KEY = web.AppKey("staff_dossiers", DossierClient)
PROXIES_KEY = web.AppKey("staff_trusted_proxies", frozenset)
HASHING_KEY = web.AppKey("staff_hashing", asyncio.Semaphore)  # bcrypt checks at once (threads, off the loop)
PUBLIC = {("GET", "/staff/login"), ("POST", "/staff/login")}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")

PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – Bảng điều khiển cán bộ</title>
<link rel="stylesheet" href="/static/staff.css"><script src="/static/staff.js" defer></script></head><body>
<header><strong>Sở Công Thương – Trợ lý ảo</strong><nav>{nav}</nav></header>
<main>{body}</main></body></html>"""


def page(title: str, body: str, session: Session | None = None) -> web.Response:
    nav = ""
    if session is not None:
        admin = ('<a href="/staff/ops">Vận hành</a><a href="/staff/users">Tài khoản</a>'
                 if session.staff.role is Role.ADMIN else "")
        content = ('<a href="/staff/news">Tin tức</a><a href="/staff/content">Nội dung</a>'
                   if session.staff.role.may(Role.EDITOR) else "")
        nav = ('<a href="/staff/">Tổng quan</a><a href="/staff/handoffs">Người dân chờ</a>'
               '<a href="/staff/tickets">Phản ánh</a>'
               '<a href="/staff/conversations">Cuộc trò chuyện</a><a href="/staff/inbox">Hộp thư NLU</a>'
               f'<a href="/staff/models">Mô hình</a><a href="/staff/dashboard">Số liệu</a>'
               f'<a href="/staff/reports">Báo cáo</a>{content}{admin}'
               '<span class="who">'
               f"{html.escape(session.staff.username)} ({session.staff.role.value})</span>"
               '<a href="/staff/password">Đổi mật khẩu</a>'
               f'<form method="post" action="/staff/logout" class="inline">{csrf_field(session.csrf)}'
               '<button>Đăng xuất</button></form>')
    return web.Response(text=PAGE.format(title=html.escape(title), nav=nav, body=body), content_type="text/html")


async def hashing(request: web.Request, work: Callable[..., T], *args: Any) -> T:
    """Run a bcrypt-and-SQLite account call in a thread, a few at a time."""
    async with request.app[HASHING_KEY]:
        return await asyncio.to_thread(work, *args)


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf_token" value="{html.escape(token)}">'


def session_of(request: web.Request) -> Session:
    return request[SESSION_KEY]


def requires(role: Role) -> Callable[[Handler], Handler]:
    """Only staff with ``role`` or a higher one (editors do what annotators do, admins everything)."""
    def decorate(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            staff = session_of(request).staff
            if not staff.role.may(role):
                logger.warning("staff %s refused %s %s (role %s)", staff.username, request.method, request.path,
                               staff.role.value)
                raise web.HTTPForbidden(text="Tài khoản của anh/chị không có quyền thực hiện thao tác này.")
            return await handler(request)
        return guarded
    return decorate


async def form_or_json(request: web.Request) -> dict[str, Any]:
    """The request's form fields or JSON object ({} for any other JSON value).

    Raises:
        web.HTTPBadRequest: a body that is not UTF-8, not JSON, nested too deep, or holds a lone surrogate.
    """
    try:
        if request.content_type == "application/json":
            body = await request.json()
            body = body if isinstance(body, dict) else {}
        else:
            body = dict(await request.post())
        json.dumps(body, default=str, ensure_ascii=False).encode()  # lone surrogates cannot go anywhere
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeError are ValueErrors
        raise web.HTTPBadRequest(text="Dữ liệu gửi lên không hợp lệ.") from exc
    return body


def client_address(request: web.Request) -> str:
    """Who is signing in: the TCP peer, or, when the peer is a trusted proxy, the nearest address in
    ``X-Forwarded-For`` that is not one (a client cannot choose its address by sending the header)."""
    trusted = request.app[PROXIES_KEY]
    address = request.remote or ""
    if address not in trusted:
        return address
    for hop in reversed(request.headers.get("X-Forwarded-For", "").split(",")):
        try:
            hop = str(ipaddress.ip_address(hop.strip()))
        except ValueError:
            break  # a proxy that writes garbage is not believed past this point
        if hop not in trusted:
            return hop
    return address


def wants_json(request: web.Request) -> bool:
    """An API caller (JSON body or ``Accept: application/json``) rather than a browser form."""
    return request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")


def done(request: web.Request, data: dict[str, Any], location: str, status: int = 200) -> web.Response:
    """A state change went through: ``data`` for an API caller, back to ``location`` for a form."""
    if wants_json(request):
        return web.json_response(data, status=status)
    raise web.HTTPFound(location)


async def refused(request: web.Request, message: str, status: int,
                  render: Callable[[web.Request, str], Awaitable[web.Response]]) -> web.Response:
    """A state change refused: the message as JSON, or the form's page again with it shown."""
    if wants_json(request):
        return web.json_response({"error": message}, status=status)
    response = await render(request, message)
    response.set_status(status)
    return response


SECURITY_HEADERS = {
    # Scripts and styles only from the gateway's own /static (no inline script or style anywhere).
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # pages hold citizens' (masked) messages: not for shared caches or history
}
ERRORS = {400: "Yêu cầu không hợp lệ.", 401: "Anh/chị cần đăng nhập.",
          403: "Tài khoản của anh/chị không có quyền thực hiện thao tác này.", 404: "Không tìm thấy trang này.",
          405: "Thao tác này không được hỗ trợ.", 413: "Dữ liệu gửi lên quá lớn.",
          429: "Anh/chị thao tác quá nhiều lần; vui lòng thử lại sau ít phút.",
          500: "Hệ thống gặp lỗi; anh/chị vui lòng thử lại sau."}


def in_console(request: web.Request) -> bool:
    return request.path == "/staff" or request.path.startswith("/staff/")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """CSP, no framing, no sniffing, no referrer, no caching, on every console response (errors too)."""
    if not in_console(request):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    return response


def error_response(request: web.Request, status: int, message: str) -> web.Response:
    """``message`` as JSON for an API client, else as a page in the console's frame."""
    if wants_json(request):
        return web.json_response({"error": message}, status=status)
    session = request.get(SESSION_KEY)
    link = '<a href="/staff/">Về trang tổng quan</a>' if session else '<a href="/staff/login">Đăng nhập</a>'
    body = f'<div class="card"><h1>{status}</h1><p class="error">{html.escape(message)}</p><p>{link}</p></div>'
    response = page("Lỗi", body, session)
    response.set_status(status)
    return response


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals and errors never reach a browser as raw text or JSON; a bug is logged and answered 500."""
    if not in_console(request):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        text = exc.text or ""
        own = text and not text.startswith(f"{exc.status}:")  # aiohttp's default text is "404: Not Found"
        fallback = ERRORS.get(exc.status, ERRORS[500] if exc.status >= 500 else ERRORS[400])
        response = error_response(request, exc.status, text if own else fallback)
        response.headers.extend((k, v) for k, v in exc.headers.items() if k in ("Allow", "Retry-After"))
        return response
    except Exception:
        logger.error("console request failed: %s %s", request.method, request.path, exc_info=True)
        return error_response(request, 500, ERRORS[500])
