"""What a staff member typed into a form posted after their session expired, kept for them.

The console's guard (``bot/staff/web.py``) meets a browser form posted without a live session.
When the form's CSRF token names the staff member whose session it was (``Sessions.owner``: a
form from one of our pages, not another site's), its fields (passwords left out) are kept in
Redis for ``TTL_S``, at most ``MAX_CHARS`` characters in ``MAX_FIELDS`` fields, under a random
token held in the browser's ``DRAFT_COOKIE``. After that staff member signs in again, the draft
page shows what they typed, editable, and "Gửi tiếp" posts it to the form's own address with
the new session's CSRF token; nothing is replayed without them seeing it, and the form's own
handler checks it again (a ticket changed meanwhile is refused there, with the text kept).
A draft is never logged; it ends when sent, dropped, or after ``TTL_S``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.staff.layout import REDIS_KEY, SETTINGS_KEY, csrf_field, page, session_of, wants_json

DRAFT_COOKIE = "sct_draft"
DRAFT_FIELD = "_draft"  # posted by the draft page's form: the draft is used up
TTL_S = 30 * 60
MAX_CHARS = 32_000  # a form body is at most webhook_max_bytes (64 KiB) anyway
MAX_FIELDS = 60
SECRET_FIELDS = ("password", "current")  # never kept, whatever the form
NOT_KEPT = frozenset({"csrf_token", DRAFT_FIELD})


@dataclass(frozen=True)
class Draft:
    owner: str
    action: str
    fields: dict[str, str]
    at: float
    dropped: int  # fields not kept (files, passwords)


def _key(token: str) -> str:
    return "staff:draft:" + hashlib.sha256(token.encode()).hexdigest()


def keepable(form: dict[str, Any]) -> tuple[dict[str, str], int] | None:
    """The fields worth keeping and how many were left out; None when the form is too large to keep."""
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k not in NOT_KEPT
              and not any(s in k.lower() for s in SECRET_FIELDS)}
    dropped = len([k for k in form if k not in NOT_KEPT]) - len(fields)
    if len(fields) > MAX_FIELDS or sum(len(k) + len(v) for k, v in fields.items()) > MAX_CHARS:
        return None
    return fields, dropped


async def stash(redis: Any, owner: str, action: str, form: dict[str, Any]) -> str | None:
    """Keep a form posted to ``action`` for ``owner``; its token (None when nothing typed is worth keeping)."""
    kept = keepable(form)
    if kept is None or not any(_typed(v) for v in kept[0].values()):
        return None  # too large, or nothing typed (a button's hidden fields: pressing it again costs nothing)
    token = secrets.token_urlsafe(24)
    body = {"owner": owner, "action": action, "fields": kept[0], "at": time.time(), "dropped": kept[1]}
    await redis.set(_key(token), json.dumps(body, ensure_ascii=False), ex=TTL_S)
    return token


async def load(redis: Any, token: str | None) -> Draft | None:
    if not token:
        return None
    raw = await redis.get(_key(token))
    if raw is None:
        return None
    body = json.loads(raw)
    return Draft(body["owner"], body["action"], body["fields"], float(body["at"]), int(body.get("dropped", 0)))


async def discard(redis: Any, token: str | None) -> None:
    if token:
        await redis.delete(_key(token))


_REFERENCE = re.compile(r"[A-Za-z0-9_.:+=-]*", re.ASCII)  # what forms carry in hidden fields: refs, ids, times


def _typed(value: str) -> bool:
    """A value the staff member typed (words, accents, lines...), not a hidden reference or number."""
    return _REFERENCE.fullmatch(value) is None


async def draft_page(request: web.Request) -> web.Response:
    """The form kept when the session expired, to look over and send on (or drop)."""
    session = session_of(request)
    draft = await load(request.app[REDIS_KEY], request.cookies.get(DRAFT_COOKIE))
    if draft is None or draft.owner != session.staff.username:
        body = ('<div class="card"><h1>Nội dung chưa gửi</h1><p>Không còn nội dung nào được giữ lại '
                f'(nội dung chỉ được giữ {TTL_S // 60} phút). <a href="/staff/">Về trang tổng quan</a></p></div>')
        return page("Nội dung chưa gửi", body, session)
    when = dt.datetime.fromtimestamp(draft.at, ZoneInfo(request.app[SETTINGS_KEY].timezone))
    controls = []
    typed = [name for name, value in draft.fields.items() if _typed(value)]
    for name, value in draft.fields.items():
        if name in typed:
            number = f" ({typed.index(name) + 1})" if len(typed) > 1 else ""
            controls.append(f'<label>Nội dung đã nhập{number}<br><textarea name="{html.escape(name)}" rows="'
                            f'{min(12, 2 + value.count(chr(10)) + len(value) // 90)}" cols="90">'
                            f'{html.escape(value)}</textarea></label><br>')
        else:
            controls.append(f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">')
    lost = (f'<p class="error">{draft.dropped} ô (mật khẩu, tệp đính kèm) không được giữ lại; '
            'anh/chị nhập lại trên trang của biểu mẫu.</p>' if draft.dropped else "")
    body = (f'<div class="card"><h1>Nội dung chưa gửi</h1><p>Phiên đăng nhập đã hết hạn khi anh/chị gửi biểu mẫu '
            f'lúc {when:%H:%M %d/%m/%Y}. Nội dung anh/chị đã nhập vẫn còn dưới đây: anh/chị xem lại rồi bấm '
            f'“Gửi tiếp”.</p>{lost}'
            f'<form method="post" action="{html.escape(draft.action)}" id="draft-form">{csrf_field(session.csrf)}'
            f'<input type="hidden" name="{DRAFT_FIELD}" value="1">{"".join(controls)}'
            '<button>Gửi tiếp</button></form>'
            f'<form method="post" action="/staff/api/draft/discard">{csrf_field(session.csrf)}'
            '<button>Bỏ nội dung này</button></form></div>')
    return page("Nội dung chưa gửi", body, session)


async def discard_draft(request: web.Request) -> web.StreamResponse:
    await discard(request.app[REDIS_KEY], request.cookies.get(DRAFT_COOKIE))
    if wants_json(request):
        return web.json_response({"discarded": True})
    found = web.HTTPFound("/staff/")
    found.del_cookie(DRAFT_COOKIE, path="/staff")
    raise found


def add_routes(app: web.Application) -> None:
    app.router.add_get("/staff/draft", draft_page)
    app.router.add_post("/staff/api/draft/discard", discard_draft)
