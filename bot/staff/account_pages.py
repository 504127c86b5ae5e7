"""The console's account jobs: admins list, add, disable and re-enable accounts and set a new
password for another account (``/staff/users``); every staff member changes their own password,
the current one asked (``/staff/password``).

Disabling an account or setting its password ends its open sessions at once; changing one's
own ends one's other sessions (this one goes on). The last active admin cannot be disabled.
Each change is audited in the accounts file (who, whom, when; never a password) and listed
on the accounts page. bcrypt and SQLite run in threads (``hashing``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging

from aiohttp import web

from bot.staff.accounts import AUDITED, AccountError, NoSuchAccount, Role
from bot.staff.layout import (
    ACCOUNTS_KEY,
    COOKIE,
    SESSIONS_KEY,
    csrf_field,
    done,
    form_or_json,
    hashing,
    page,
    refused,
    requires,
    session_of,
)
from common.dates import local_now

logger = logging.getLogger(__name__)

DONE = {"created": "Đã thêm tài khoản.",
        "disabled": "Đã khóa tài khoản; các phiên đăng nhập của tài khoản đã kết thúc.",
        "enabled": "Đã mở khóa tài khoản.",
        "password": "Đã đặt mật khẩu mới; các phiên đăng nhập của tài khoản đã kết thúc."}
AUDIT_SHOWN = 50


def _when(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%H:%M %d/%m/%Y")


async def _users_page(request: web.Request, error: str = "") -> web.Response:
    session = session_of(request)
    accounts = request.app[ACCOUNTS_KEY]
    listed, audit = await asyncio.gather(asyncio.to_thread(accounts.accounts),
                                         asyncio.to_thread(accounts.audit, AUDIT_SHOWN))
    token = csrf_field(session.csrf)
    rows = []
    for a in listed:
        name = html.escape(a.username)
        state = ("Đang hoạt động" if a.disabled_since is None
                 else f'<span class="error">Đã khóa từ {_when(a.disabled_since)}</span>')
        if a.username == session.staff.username:
            actions = '<a href="/staff/password">Đổi mật khẩu của mình</a>'
        else:
            toggle = (f'<form method="post" action="/staff/api/users/{name}/enable" class="inline">{token}'
                      '<button>Mở khóa</button></form>' if a.disabled_since else
                      f'<form method="post" action="/staff/api/users/{name}/disable" class="inline" '
                      f'data-confirm="Khóa tài khoản {name}? Các phiên đăng nhập của tài khoản kết thúc ngay.">'
                      f'{token}<button>Khóa</button></form>')
            actions = (f'{toggle} <form method="post" action="/staff/api/users/{name}/password" class="inline">'
                       f'{token}<input name="password" type="password" autocomplete="new-password" required '
                       f'placeholder="mật khẩu mới" aria-label="Mật khẩu mới cho {name}"> '
                       '<button>Đặt mật khẩu mới</button></form>')
        rows.append(f'<tr data-user="{name}"><td>{name}</td><td>{a.role.value}</td><td>{state}</td>'
                    f'<td>{actions}</td></tr>')
    log = "".join(f"<tr><td>{_when(e.at)}</td><td>{html.escape(e.actor)}</td>"
                  f"<td>{html.escape(AUDITED.get(e.action, e.action))}</td><td>{html.escape(e.target)}</td></tr>"
                  for e in audit)
    ok = DONE.get(request.query.get("done", ""))
    notice = (f'<div class="card error">{html.escape(error)}</div>' if error
              else f'<div class="card ok">{ok}</div>' if ok else "")
    body = f"""{notice}<div class="card"><h1>Tài khoản cán bộ</h1>
<table><tr><th>Tên</th><th>Vai trò</th><th>Trạng thái</th><th>Thao tác</th></tr>{"".join(rows)}</table></div>
<div class="card"><h2>Thêm tài khoản</h2><form method="post" action="/staff/api/users">{token}
<input name="username" placeholder="tên đăng nhập" required> <input name="password" type="password"
placeholder="mật khẩu (≥ 12 ký tự)" autocomplete="new-password" required> <select name="role">
<option value="annotator">annotator</option><option value="editor">editor</option><option value="admin">admin</option>
</select> <button>Thêm</button></form></div>
<div class="card"><h2>Nhật ký tài khoản</h2>{f'''<table id="audit"><tr><th>Lúc</th><th>Người thực hiện</th>
<th>Thao tác</th><th>Tài khoản</th></tr>{log}</table>''' if log else "<p>Chưa có thay đổi nào.</p>"}</div>"""
    return page("Tài khoản", body, session)


users_page = requires(Role.ADMIN)(_users_page)


@requires(Role.ADMIN)
async def create_user(request: web.Request) -> web.Response:
    """Add an account: back to the accounts page (or JSON, 201), a refusal shown on that page."""
    body = await form_or_json(request)
    actor = session_of(request).staff.username
    try:
        role = Role(str(body.get("role", "")))
        staff = await hashing(request, request.app[ACCOUNTS_KEY].create, str(body.get("username", "")).strip().lower(),
                              str(body.get("password", "")), role, local_now(), actor)
    except ValueError as exc:
        message = str(exc) if isinstance(exc, AccountError) else "Vai trò không hợp lệ."
        return await refused(request, message, 400, _users_page)
    logger.info("staff %s created account %s (%s)", actor, staff.username, staff.role.value)
    return done(request, {"username": staff.username, "role": staff.role.value}, "/staff/users?done=created", 201)


async def _set_disabled(request: web.Request, disabled: bool) -> web.Response:
    actor, username = session_of(request).staff.username, request.match_info["username"]
    try:
        changed = await asyncio.to_thread(request.app[ACCOUNTS_KEY].set_disabled, actor, username, disabled,
                                          local_now())
    except AccountError as exc:
        return await refused(request, str(exc), 404 if isinstance(exc, NoSuchAccount) else 409, _users_page)
    ended = await request.app[SESSIONS_KEY].end_all(username) if disabled else 0
    if changed:
        logger.info("staff %s %s account %s (%d sessions ended)", actor, "disabled" if disabled else "enabled",
                    username, ended)
    verb = "disabled" if disabled else "enabled"
    return done(request, {"username": username, "disabled": disabled, "sessions_ended": ended},
                f"/staff/users?done={verb}")


@requires(Role.ADMIN)
async def disable_user(request: web.Request) -> web.Response:
    return await _set_disabled(request, True)


@requires(Role.ADMIN)
async def enable_user(request: web.Request) -> web.Response:
    return await _set_disabled(request, False)


@requires(Role.ADMIN)
async def reset_password(request: web.Request) -> web.Response:
    """An admin sets another account's password; that account's sessions end."""
    actor, username = session_of(request).staff.username, request.match_info["username"]
    if username == actor:
        return await refused(request, "Anh/chị đổi mật khẩu của chính mình ở trang “Đổi mật khẩu” "
                             "(cần mật khẩu hiện tại).", 400, _users_page)
    body = await form_or_json(request)
    try:
        await hashing(request, request.app[ACCOUNTS_KEY].set_password, actor, username,
                      str(body.get("password", "")), local_now())
    except AccountError as exc:
        return await refused(request, str(exc), 404 if isinstance(exc, NoSuchAccount) else 400, _users_page)
    ended = await request.app[SESSIONS_KEY].end_all(username)
    logger.info("staff %s set a new password for account %s (%d sessions ended)", actor, username, ended)
    return done(request, {"username": username, "sessions_ended": ended}, "/staff/users?done=password")


async def password_page(request: web.Request, error: str = "") -> web.Response:
    session = session_of(request)
    notice = (f'<p class="error">{html.escape(error)}</p>' if error else
              '<p class="ok">Đã đổi mật khẩu; các phiên đăng nhập khác của anh/chị đã kết thúc.</p>'
              if request.query.get("done") == "1" else "")
    body = f"""<div class="card"><h1>Đổi mật khẩu</h1>{notice}
<form method="post" action="/staff/api/password">{csrf_field(session.csrf)}
<label>Mật khẩu hiện tại<br><input name="current_password" type="password" autocomplete="current-password"
required></label><br>
<label>Mật khẩu mới (ít nhất 12 ký tự, có chữ hoa, chữ thường và chữ số)<br><input name="new_password"
type="password" autocomplete="new-password" required></label><br>
<label>Nhập lại mật khẩu mới<br><input name="new_password_again" type="password" autocomplete="new-password"
required></label><br><button>Đổi mật khẩu</button></form></div>"""
    return page("Đổi mật khẩu", body, session)


async def change_password(request: web.Request) -> web.Response:
    """Any staff member changes their own password (the current one checked); their other sessions end."""
    body = await form_or_json(request)
    username = session_of(request).staff.username
    new = str(body.get("new_password", ""))
    if new != str(body.get("new_password_again", new)):
        return await refused(request, "Hai lần nhập mật khẩu mới không khớp.", 400, password_page)
    try:
        await hashing(request, request.app[ACCOUNTS_KEY].change_password, username,
                      str(body.get("current_password", "")), new, local_now())
    except AccountError as exc:
        return await refused(request, str(exc), 400, password_page)
    ended = await request.app[SESSIONS_KEY].end_all(username, keep=request.cookies.get(COOKIE))
    logger.info("staff %s changed their password (%d other sessions ended)", username, ended)
    return done(request, {"changed": True, "sessions_ended": ended}, "/staff/password?done=1")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/staff/users", users_page)
    app.router.add_post("/staff/api/users", create_user)
    app.router.add_post("/staff/api/users/{username}/disable", disable_user)
    app.router.add_post("/staff/api/users/{username}/enable", enable_user)
    app.router.add_post("/staff/api/users/{username}/password", reset_password)
    app.router.add_get("/staff/password", password_page)
    app.router.add_post("/staff/api/password", change_password)
