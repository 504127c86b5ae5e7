"""The web chat channel: a chat page and a JSON endpoint in front of Rasa."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from aiohttp import web

from bot.rasa_client import RasaClient, RasaUnavailable
from common.privacy import log_text, pseudonym
from common.settings import Settings

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
RASA_KEY = web.AppKey("rasa", RasaClient)
MAX_TEXT = 1000
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def index(request: web.Request) -> web.FileResponse:
    """The chat page."""
    return web.FileResponse(STATIC_DIR / "chat.html")


async def health(request: web.Request) -> web.Response:
    """Liveness of the gateway and readiness of Rasa behind it."""
    rasa_ready = await request.app[RASA_KEY].is_ready()
    return web.json_response({"status": "ok", "rasa": rasa_ready}, status=200 if rasa_ready else 503)


async def chat(request: web.Request) -> web.Response:
    """``POST {"session": "...", "text": "..."}`` -> ``{"messages": [...]}``."""
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "Yêu cầu không hợp lệ.")
    if not isinstance(body, dict):
        return _error(400, "Yêu cầu không hợp lệ.")
    session = str(body.get("session", ""))
    text = str(body.get("text", "")).strip()
    if not _SESSION.match(session):
        return _error(400, "Phiên trò chuyện không hợp lệ, vui lòng tải lại trang.")
    if not text:
        return _error(400, "Anh/chị vui lòng nhập nội dung tin nhắn.")
    if len(text) > MAX_TEXT:
        return _error(400, f"Tin nhắn quá dài (tối đa {MAX_TEXT} ký tự), anh/chị vui lòng rút gọn.")
    sender = f"web:{session}"
    logger.info("web message from %s: %s", pseudonym(sender), log_text(text))
    try:
        messages = await request.app[RASA_KEY].send(sender, text)
    except RasaUnavailable:
        logger.error("Rasa unavailable for a web message", exc_info=True)
        return _error(503, "Trợ lý ảo đang tạm gián đoạn, anh/chị vui lòng thử lại sau ít phút.")
    return web.json_response({"messages": [m.to_json() for m in messages]})


def create_app(settings: Settings) -> web.Application:
    """Build the chat gateway."""
    app = web.Application(client_max_size=16 * 1024)

    async def rasa_client(app: web.Application):
        client = RasaClient(settings.rasa_url, settings.rasa_timeout_s)
        app[RASA_KEY] = client
        yield
        await client.close()

    app.cleanup_ctx.append(rasa_client)
    app.router.add_get("/", index)
    app.router.add_get("/health", health)
    app.router.add_post("/api/chat", chat)
    app.router.add_static("/static", STATIC_DIR)
    return app
