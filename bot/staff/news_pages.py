"""Industry news in the console: write and publish an announcement, the ones published (with how
many subscribers each was queued for), and the subscribers per topic (``common/news.py``).

Publishing keeps the announcement and queues it for the notifier in one transaction; the notifier
then tells every subscriber of any of its topics once, on their channel, outside quiet hours.
"""

from __future__ import annotations

import datetime as dt
import html
import logging

from aiohttp import web

from bot.staff.accounts import Role
from bot.staff.layout import REDIS_KEY, csrf_field, done, form_or_json, page, refused, requires, session_of
from common import news
from common.dates import local_now
from common.text import fold_key

logger = logging.getLogger(__name__)

LISTED = 20
PUBLISHED = "Đã đăng thông báo; hệ thống đang gửi cho người đăng ký."
REPEAT_WINDOW = dt.timedelta(hours=24)  # the same announcement again within this is a second click, a second tab
ALREADY = ("Thông báo này (cùng tiêu đề và nội dung) đã được {author} đăng lúc {at:%H:%M %d/%m/%Y} và đang được gửi; "
           "hệ thống không đăng lại để người đăng ký không nhận hai lần. Muốn đăng thêm, anh/chị sửa tiêu đề "
           "hoặc nội dung.")


def _topic_boxes(chosen: set[str]) -> str:
    return "".join(
        f'<label class="inline"><input type="checkbox" name="topics" value="{t.code}"'
        f'{" checked" if t.code in chosen else ""}> {html.escape(t.label)}</label> ' for t in news.TOPICS)


async def news_page(request: web.Request, error: str = "") -> web.Response:
    """The form to publish, the latest announcements, and the subscribers per topic."""
    session = session_of(request)
    redis = request.app[REDIS_KEY]
    notice = (f'<div class="card error">{html.escape(error)}</div>' if error
              else f'<div class="card ok">{PUBLISHED}</div>' if request.query.get("done") == "1" else "")
    body = await form_or_json(request) if error else {}
    title, summary = html.escape(str(body.get("title", ""))), html.escape(str(body.get("summary", "")))
    chosen = set(await _topics(request)) if error else set()
    counts = await news.subscriber_counts(redis)
    count_rows = "".join(f"<tr><td>{html.escape(t.label)}</td><td>{t.sms}</td><td>{counts[t.code]}</td></tr>"
                         for t in news.TOPICS)
    published = await news.latest(redis, LISTED)
    reached = [await redis.scard(news.sent_key(a.id)) for a in published]
    rows = "".join(
        f'<tr data-news="{a.id}"><td>{a.published_at:%d/%m/%Y %H:%M}</td><td><strong>{html.escape(a.title)}</strong>'
        f"<br>{html.escape(a.summary)}</td><td>{html.escape(a.topic_labels)}</td><td>{html.escape(a.author)}</td>"
        f"<td>{n}</td></tr>" for a, n in zip(published, reached, strict=True))
    listing = (f"<table><tr><th>Thời gian</th><th>Thông báo</th><th>Chủ đề</th><th>Người đăng</th>"
               f"<th>Số người nhận</th></tr>{rows}</table>" if published else "<p>Chưa có thông báo nào.</p>")
    html_body = f"""{notice}<div class="card"><h1>Đăng thông báo mới</h1>
<form method="post" action="/staff/api/news">{csrf_field(session.csrf)}
<p><label>Tiêu đề<br><input name="title" required minlength="5" maxlength="{news.MAX_TITLE}" size="80"
value="{title}"></label></p>
<p><label>Nội dung tóm tắt<br><textarea name="summary" rows="4" cols="80" required minlength="10"
maxlength="{news.MAX_SUMMARY}">{summary}</textarea></label></p>
<fieldset><legend>Chủ đề</legend>{_topic_boxes(chosen)}</fieldset>
<p class="muted">Thông báo được gửi một lần cho mỗi người đăng ký một trong các chủ đề đã chọn, trên kênh họ
đăng ký (web, Telegram, Zalo, SMS); ngoài giờ yên lặng. Tin SMS được rút gọn.</p>
<button>Đăng và gửi</button></form></div>
<div class="card"><h2>Người đăng ký theo chủ đề</h2><table><tr><th>Chủ đề</th><th>Mã SMS</th>
<th>Số người đăng ký</th></tr>{count_rows}</table></div>
<div class="card"><h2>Thông báo đã đăng</h2>{listing}</div>"""
    return page("Tin tức, thông báo", html_body, session)


async def _topics(request: web.Request) -> list[str]:
    """The topics ticked (form checkboxes repeat the field) or listed (JSON)."""
    if request.content_type == "application/json":
        raw = (await form_or_json(request)).get("topics", [])
        return [str(t) for t in raw] if isinstance(raw, list) else []
    return [str(t) for t in (await request.post()).getall("topics", [])]


async def publish(request: web.Request) -> web.StreamResponse:
    """Publish an announcement and queue it for its topics' subscribers."""
    body = await form_or_json(request)
    author, now = session_of(request).staff.username, local_now()
    title, summary = fold_key(str(body.get("title", ""))), fold_key(str(body.get("summary", "")))
    for earlier in await news.latest(request.app[REDIS_KEY], LISTED):
        if (now - earlier.published_at < REPEAT_WINDOW and fold_key(earlier.title) == title
                and fold_key(earlier.summary) == summary):
            return await refused(request, ALREADY.format(author=earlier.author, at=earlier.published_at), 409,
                                 news_page)
    try:
        announcement = await news.publish(request.app[REDIS_KEY], str(body.get("title", "")),
                                          str(body.get("summary", "")), await _topics(request), author,
                                          now)
    except news.NewsError as exc:
        return await refused(request, str(exc), 400, news_page)
    logger.info("staff %s published announcement %d (%s)", author, announcement.id, ",".join(announcement.topics))
    return done(request, {"id": announcement.id}, "/staff/news?done=1", status=201)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/staff/news", requires(Role.EDITOR)(news_page))
    app.router.add_post("/staff/api/news", requires(Role.EDITOR)(publish))
