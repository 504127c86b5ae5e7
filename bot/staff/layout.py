"""What every console page shares: the app keys, the page frame, CSRF fields,
the signed-in session and the role check."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any

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
PUBLIC = {("GET", "/staff/login"), ("POST", "/staff/login")}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – Bảng điều khiển cán bộ</title>
<link rel="stylesheet" href="/static/staff.css"><script src="/static/staff.js" defer></script></head><body>
<header><strong>Sở Công Thương – Trợ lý ảo</strong><nav>{nav}</nav></header>
<main>{body}</main></body></html>"""


def page(title: str, body: str, session: Session | None = None) -> web.Response:
    nav = ""
    if session is not None:
        admin = '<a href="/staff/users">Tài khoản</a>' if session.staff.role is Role.ADMIN else ""
        nav = ('<a href="/staff/">Tổng quan</a><a href="/staff/handoffs">Người dân chờ</a>'
               '<a href="/staff/conversations">Cuộc trò chuyện</a><a href="/staff/inbox">Hộp thư NLU</a>'
               f'<a href="/staff/models">Mô hình</a><a href="/staff/dashboard">Số liệu</a>{admin}'
               '<span style="margin-left:auto">'
               f"{html.escape(session.staff.username)} ({session.staff.role.value})</span>"
               f'<form method="post" action="/staff/logout" style="margin:0">{csrf_field(session.csrf)}'
               '<button>Đăng xuất</button></form>')
    return web.Response(text=PAGE.format(title=html.escape(title), nav=nav, body=body), content_type="text/html")


def csrf_field(token: str) -> str:
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


async def form_or_json(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        return body if isinstance(body, dict) else {}
    return dict(await request.post())




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
