"""The chat gateway: the web chat (page + JSON endpoint) and the Telegram and
Zalo channels, all in one aiohttp app in front of Rasa."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis.asyncio as aioredis
from aiohttp import web

from bot import push
from bot.conversation import MAX_TEXT, Conversations, too_long
from bot.handoff import HANDOFFS_KEY, Handoffs, one_by_one
from bot.notifier import Notifier
from bot.staff.web import setup_staff
from bot.telegram import TelegramChannel
from bot.web_guard import WebGuard
from bot.zalo import ZaloChannel
from clients.rasa import RasaClient, RasaUnavailable
from common.jsonbody import BadJson, is_text, parse_json
from common.ratelimit import UserRateLimit
from common.settings import Settings
from content import texts
from dossier_api.client import DossierClient

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
RASA_KEY = web.AppKey("rasa", RasaClient)
CONVERSATIONS_KEY = web.AppKey("conversations", Conversations)
TELEGRAM_KEY = web.AppKey("telegram", TelegramChannel)
ZALO_KEY = web.AppKey("zalo", ZaloChannel)
NOTIFIER_KEY = web.AppKey("notifier", Notifier)
REDIS_KEY = web.AppKey("redis", object)
GUARD_KEY = web.AppKey("web_guard", WebGuard)
PUSH_KEY = web.AppKey("push", push.PushStore)
PUSH_HUB_KEY = web.AppKey("push_hub", push.PushHub)
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# The page recognises this error and asks for a fresh session (then sends the message again).
SESSION_REFUSED = "session_refused"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def index(request: web.Request) -> web.FileResponse:
    """The chat page."""
    return web.FileResponse(STATIC_DIR / "chat.html")


async def health(request: web.Request) -> web.Response:
    """Liveness of the gateway and readiness of Rasa behind it."""
    rasa_ready = await request.app[RASA_KEY].is_ready()
    channels = ["web"] + [name for name, key in (("telegram", TELEGRAM_KEY), ("zalo", ZALO_KEY)) if key in request.app]
    # Stream consumer loops (common.streams): a loop silent past its deadline fails the check.
    loops = {name: request.app[key].alive() for name, key in (("telegram", TELEGRAM_KEY), ("zalo", ZALO_KEY),
                                                                ("notifier", NOTIFIER_KEY)) if key in request.app}
    healthy = rasa_ready and all(loops.values())
    return web.json_response({"status": "ok" if healthy else "unhealthy", "rasa": rasa_ready, "channels": channels,
                              "loops": loops}, status=200 if healthy else 503)


@web.middleware
async def refuse_undecodable_headers(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """A header that is not UTF-8 (aiohttp hands it over with surrogate escapes) is refused
    with a 400 before any handler compares it to a secret or logs it."""
    if not all(is_text(value) for value in request.headers.values()):
        return _error(400, texts.text("chat.bad_request"))
    return await handler(request)


async def new_session(request: web.Request) -> web.Response:
    """``POST /api/session`` -> ``{"session": "<id>.<mac>"}``: a web chat session the page keeps."""
    guard = request.app[GUARD_KEY]
    refusal = await guard.admit(request)
    if refusal is not None:
        return _error(429, guard.text(refusal))
    return web.json_response({"session": guard.issue()})


async def chat(request: web.Request) -> web.Response:
    """``POST {"session": "<issued token>", "text": "...", "message_id": "..."}`` -> ``{"messages": [...]}``.

    ``message_id`` (optional, made by the page per message and kept when it sends again) becomes the
    message's idempotency key: a resent message books, rates or files a ticket only once."""
    try:
        body = parse_json(await request.read())
    except BadJson:
        return _error(400, texts.text("chat.bad_request"))
    if not isinstance(body, dict) or not isinstance(body.get("text", ""), str):
        return _error(400, texts.text("chat.bad_request"))
    guard = request.app[GUARD_KEY]
    session = guard.session_of(body["session"]) if isinstance(body.get("session"), str) else None
    text = body.get("text", "").strip()
    if session is None or not _SESSION.match(session):
        return web.json_response({"error": texts.text("chat.bad_session"),
                                  "code": SESSION_REFUSED}, status=401)
    if not text:
        return _error(400, texts.text("chat.empty"))
    if len(text) > MAX_TEXT:
        return _error(400, too_long())
    metadata = {}
    if body.get("message_id") is not None:
        if not isinstance(body["message_id"], str) or not _SESSION.match(body["message_id"]):
            return _error(400, texts.text("chat.bad_request"))
        metadata["idempotency_key"] = f"web:{session}:{body['message_id']}"
    if body.get("location") is not None:
        location = _location(body["location"])
        if location is None:
            return _error(400, texts.text("chat.bad_location"))
        metadata["location"] = location
    refusal = await guard.admit(request) or await guard.check_lookups(request, session, text)
    if refusal is not None:
        return _error(429, guard.text(refusal))
    try:
        messages = await request.app[CONVERSATIONS_KEY].handle(f"web:{session}", text, metadata or None)
    except RasaUnavailable:
        logger.error("Rasa unavailable for a web message", exc_info=True)
        return _error(503, texts.text("chat.unavailable"))
    # No reply because a staff member holds the conversation: the page shows no "…" (their answer is pushed).
    to_staff = not messages and await request.app[HANDOFFS_KEY].is_handed_off(f"web:{session}")
    return web.json_response({"messages": [m.to_json() for m in messages], "to_staff": to_staff})


def push_session(request: web.Request) -> str | None:
    """The web chat session a push stream is opened for: only with the token the gateway issued
    for it (staff replies and notifications are for that citizen alone)."""
    session = request.app[GUARD_KEY].session_of(request.query.get("session", ""))
    return session if session is not None and _SESSION.match(session) else None


async def push_events(request: web.Request) -> web.StreamResponse:
    """``GET /api/push?session=...``: the session's pushed messages as Server-Sent Events."""
    session = push_session(request)
    if session is None:
        return _error(400, texts.text("chat.bad_session"))
    return await push.serve(request, request.app[PUSH_KEY], request.app[PUSH_HUB_KEY], session)


def _location(raw: object) -> dict[str, float] | None:
    """A browser's shared position, if it is one."""
    try:
        lat, lon = float(raw["latitude"]), float(raw["longitude"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError, OverflowError):
        return None
    return {"latitude": lat, "longitude": lon} if -90 <= lat <= 90 and -180 <= lon <= 180 else None


async def telegram_webhook(request: web.Request) -> web.Response:
    """Telegram updates (webhook mode only)."""
    channel = request.app.get(TELEGRAM_KEY)
    if channel is None or not channel.webhook_mode:
        raise web.HTTPNotFound()
    return await channel.webhook(request)


async def zalo_webhook(request: web.Request) -> web.Response:
    """Zalo OA events."""
    channel = request.app.get(ZALO_KEY)
    if channel is None:
        raise web.HTTPNotFound()
    return await channel.webhook(request)


async def dossier_events(request: web.Request) -> web.Response:
    """Signed status-change events from the dossier system."""
    return await request.app[NOTIFIER_KEY].webhook(request)


def create_app(settings: Settings) -> web.Application:
    """Build the chat gateway; Telegram and Zalo join when their secrets are set; the staff
    console is under /staff."""
    app = web.Application(client_max_size=settings.webhook_max_bytes, middlewares=[refuse_undecodable_headers])

    async def channels(app: web.Application):
        redis = aioredis.from_url(settings.redis_url)
        app[REDIS_KEY] = redis
        rasa = RasaClient.from_settings(settings)
        app[PUSH_KEY] = push.PushStore(redis)
        app[PUSH_HUB_KEY] = push.PushHub(redis)
        app[HANDOFFS_KEY] = handoffs = Handoffs(settings, redis, app[PUSH_KEY], rasa)
        conversations = Conversations(rasa, UserRateLimit(redis, settings.chat_rate_limit_per_min), redis, handoffs)
        app[RASA_KEY] = rasa
        app[CONVERSATIONS_KEY] = conversations
        dossiers = DossierClient.from_settings(settings, cache=redis)
        app[GUARD_KEY] = WebGuard(settings, redis, dossiers)
        started: list[TelegramChannel | ZaloChannel | Notifier | Handoffs | push.PushHub] = []
        try:
            await app[PUSH_HUB_KEY].start()
            started.append(app[PUSH_HUB_KEY])
            if settings.telegram_token:
                app[TELEGRAM_KEY] = TelegramChannel(settings, conversations, redis)
                await app[TELEGRAM_KEY].start()
                started.append(app[TELEGRAM_KEY])
            if settings.zalo_app_id and settings.zalo_oa_secret_key:
                app[ZALO_KEY] = ZaloChannel(settings, conversations, redis)
                await app[ZALO_KEY].start()
                started.append(app[ZALO_KEY])
            chat_senders = {name: app[key].notify for name, key in (("telegram", TELEGRAM_KEY), ("zalo", ZALO_KEY))
                            if key in app}
            chat_senders["web"] = app[PUSH_KEY].notify
            app[NOTIFIER_KEY] = Notifier(settings, redis, dossiers, chat_senders)
            await app[NOTIFIER_KEY].start()
            started.append(app[NOTIFIER_KEY])
            if TELEGRAM_KEY in app:
                handoffs.senders["telegram"] = app[TELEGRAM_KEY].send
            if ZALO_KEY in app:
                handoffs.senders["zalo"] = one_by_one(app[ZALO_KEY].send)
            await handoffs.start()
            started.append(handoffs)
            yield
        finally:
            for channel in reversed(started):
                await channel.stop()
            await rasa.close()
            await dossiers.close()
            await redis.close()

    async def close_push_streams(app: web.Application) -> None:
        if PUSH_HUB_KEY in app:
            app[PUSH_HUB_KEY].close_streams()

    app.cleanup_ctx.append(channels)
    app.on_shutdown.append(close_push_streams)  # before aiohttp waits for open requests to finish
    setup_staff(app, settings, REDIS_KEY)
    app.router.add_get("/", index)
    app.router.add_get("/health", health)
    app.router.add_post("/api/session", new_session)
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/push", push_events)
    app.router.add_post("/webhooks/telegram", telegram_webhook)
    app.router.add_post("/webhooks/zalo", zalo_webhook)
    app.router.add_post("/webhooks/dossier-events", dossier_events)
    app.router.add_static("/static", STATIC_DIR)
    return app
