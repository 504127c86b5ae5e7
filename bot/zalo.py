"""The Zalo Official Account channel: verified webhook in, OA API v3 out.

In: ``POST /webhooks/zalo``. The ``X-ZEvent-Signature`` header must be
``mac=<sha256(app_id + raw body + timestamp + OA secret key)>`` and the event's
timestamp recent, else 401 before anything else happens. A known event is
stored in a Redis Stream and answered 200 at once (Zalo retries slow webhooks);
a worker (common.streams.StreamConsumer) answers it and only then acknowledges
it, so a crash loses nothing; an event failing ``STREAM_MAX_ATTEMPTS`` times is
set aside in ``zalo:undelivered`` with the reason.
Events seen before (same ``msg_id``) are dropped. The Rasa turn of an event runs
once: its replies are queued on the outbox (``bot.outbox``, shared with Telegram)
in the same transaction that acknowledges the event, and the outbox retries only
the sending (an HTML 502, a timeout, a 5xx or an answer that is no JSON from the
OA API), sending what was not sent yet, then sets the reply aside in
``zalo:undelivered`` for staff (who resend it from the console). Each message carries an
``idempotency_key`` (``zalo:<msg_id>``) so a booking or a rating happens once.
Buttons are single use, as on Telegram: the payloads of the last message with
buttons are the citizen's offer (``zalo:offer:<user>``); the first press takes it
(its key is the offer's, so a booking or a rating happens once), a press of a
choice with values (a slot, a level) no longer offered is answered "Lựa chọn này
đã hết hiệu lực." and does nothing; a bare intent button (a menu entry) still works.

Out: ``POST /v3.0/oa/message/cs`` with the ``access_token`` header; buttons
become ``oa.query.hide`` buttons whose payload comes back as a text event. The
access token is refreshed (``/v4/oa/access_token``; a refresh token is single
use, so one replica refreshes under a Redis lock and stores the new pair) when
it nears expiry or Zalo answers -216/-220. Rate-limited sends (-32) are
retried; a reply Zalo will not deliver (-230/-232: outside the interaction
window) goes by SMS when the user's phone is known, otherwise it is recorded
in ``zalo:undelivered`` for staff.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import socket
import time
from typing import Any

import aiohttp
from aiohttp import web
from redis import exceptions as redis_errors

from bot.conversation import Conversations
from bot.outbox import NotDelivered, ReplyOutbox, SendLater, Turn, record, undelivered_stream
from clients.rasa import BotMessage
from common.codes import find_codes
from common.jsonbody import parse_json
from common.phones import normalize_msisdn
from common.privacy import pseudonym
from common.settings import Settings
from common.streams import Entry, StreamConsumer, consumer_name, ensure_group, policy_from, queue_sms
from common.tasks import stop_loop
from common.text import as_str, split_text
from content import texts

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"
IN_STREAM = "zalo:in"
IN_GROUP = "zalo-workers"
UNDELIVERED_STREAM = undelivered_stream("zalo")
ACCESS_KEY = "zalo:access_token"
REFRESH_KEY = "zalo:refresh_token"
REFRESH_LOCK = "zalo:refresh:lock"
SEEN_TTL_S = 24 * 3600
MAX_TIMESTAMP_DIGITS = 16  # milliseconds since 1970 have 13 digits until the year 2286
MAX_TEXT = 2000  # characters per Zalo text message
MAX_BUTTONS = 5
EXPIRY_MARGIN_S = 300  # refresh this long before the token expires
TOKEN_ERRORS = {-216, -220}  # invalid / expired access token
OUTSIDE_WINDOW = {-230, -232}
RATE_LIMITED = -32
MEDIA_EVENTS = {"user_send_image", "user_send_gif", "user_send_sticker", "user_send_file",
                "user_send_audio", "user_send_video", "user_send_link", "user_send_business_card"}
HANDLED_EVENTS = {"user_send_text", "user_send_location", "follow", "user_submit_info"} | MEDIA_EVENTS
OFFER_TTL_S = 30 * 24 * 3600
SEND_TRIES = 3  # per body, within one attempt of the outbox (then the outbox retries the turn)


class ZaloUnavailable(Exception):
    """The OA API did not answer usefully (unreachable, timed out, 5xx, no JSON): worth a retry."""


class ZaloApiError(Exception):
    """Zalo answered with a non-zero error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Zalo error {code}: {message}")
        self.code = code


def signature(app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    """The value Zalo puts in ``X-ZEvent-Signature`` for this body."""
    data = app_id.encode() + body + timestamp.encode() + secret.encode()
    return "mac=" + hashlib.sha256(data).hexdigest()


def user_of(event: dict[str, Any]) -> str | None:
    """The Zalo user an event is about (``follower`` for follow events)."""
    for key in ("sender", "follower", "user"):
        who = event.get(key)
        if isinstance(who, dict) and who.get("id"):
            return str(who["id"])
    return None


class ZaloTokens:
    """The OA access token, kept in Redis and refreshed by one replica at a time."""

    def __init__(self, settings: Settings, redis: Any, http: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.redis = redis
        self.http = http

    async def get(self) -> str:
        token = await self.redis.get(ACCESS_KEY)
        if token:
            return as_str(token)
        if self.settings.zalo_access_token and not await self.redis.exists(REFRESH_KEY):
            return self.settings.zalo_access_token  # first start: the configured token, until it fails
        return await self.refresh(stale=None)

    async def refresh(self, stale: str | None) -> str:
        """A fresh access token; ``stale`` is the one that failed (another replica may
        already have replaced it, then that one is used)."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            current = await self.redis.get(ACCESS_KEY)
            if current and as_str(current) != stale:
                return as_str(current)
            if await self.redis.set(REFRESH_LOCK, socket.gethostname(), nx=True, ex=15):
                try:
                    return await self._refresh_now()
                finally:
                    await self.redis.delete(REFRESH_LOCK)
            await asyncio.sleep(0.1)
        raise ZaloApiError(-216, "token refresh by another replica did not finish")

    async def _refresh_now(self) -> str:
        stored = await self.redis.get(REFRESH_KEY)
        candidates = [as_str(stored)] if stored else []
        if self.settings.zalo_refresh_token and self.settings.zalo_refresh_token not in candidates:
            candidates.append(self.settings.zalo_refresh_token)  # an operator may have set a new one
        if not candidates:
            raise ZaloApiError(-216, "no refresh token configured (ZALO_REFRESH_TOKEN)")
        for refresh_token in candidates:
            body = await self._exchange(refresh_token)
            if body.get("access_token"):
                ttl = max(int(body.get("expires_in", 3600)) - EXPIRY_MARGIN_S, 60)
                pipe = self.redis.pipeline(transaction=True)
                pipe.set(ACCESS_KEY, body["access_token"], ex=ttl)
                pipe.set(REFRESH_KEY, body["refresh_token"])
                await pipe.execute()
                logger.info("Zalo access token refreshed (valid %d s)", ttl)
                return str(body["access_token"])
        logger.error("Zalo refused the refresh token (%s): set a new ZALO_REFRESH_TOKEN from the OA admin page",
                     body.get("error_name") or body.get("error"))
        raise ZaloApiError(int(body.get("error", -1)), str(body.get("error_description", "refresh failed")))

    async def _exchange(self, refresh_token: str) -> dict[str, Any]:
        url = f"{self.settings.zalo_oauth_url.rstrip('/')}/v4/oa/access_token"
        form = {"refresh_token": refresh_token, "app_id": self.settings.zalo_app_id, "grant_type": "refresh_token"}
        async with self.http.post(url, data=form, headers={"secret_key": self.settings.zalo_app_secret_key}) as resp:
            return await resp.json(content_type=None)


def render(message: BotMessage) -> list[dict[str, Any]]:
    """One assistant reply as Zalo ``message`` objects: text chunks, the buttons on the last."""
    chunks = split_text(message.text, MAX_TEXT) or [texts.text("zalo.choose")]
    bodies: list[dict[str, Any]] = [{"text": c} for c in chunks]
    buttons = [{"title": b.title[:100], "type": "oa.query.hide", "payload": b.payload[:1000]} for b in message.buttons]
    for start in range(0, len(buttons), MAX_BUTTONS):
        if start:
            bodies.append({"text": texts.text("zalo.more_choices")})
        bodies[-1]["attachment"] = {"type": "template", "payload": {"buttons": buttons[start:start + MAX_BUTTONS]}}
    if message.request_location and not message.buttons:
        bodies[-1]["text"] += texts.text("zalo.how_to_share_location")
    return bodies


class ZaloChannel:
    """The OA webhook, the worker that answers events, and the OA API client."""

    def __init__(self, settings: Settings, conversations: Conversations, redis: Any) -> None:
        self.settings = settings
        self.conversations = conversations
        self.redis = redis
        self.consumer = StreamConsumer(
            redis, IN_STREAM, IN_GROUP, consumer_name("zalo", settings.consumer_name, settings.consumer_index),
            self._process, dead_stream=UNDELIVERED_STREAM, policy=policy_from(settings, batch=20),
        )
        # One turn at a time, as the events are answered: one reply's failure never reorders the others.
        self.outbox = ReplyOutbox(redis, "zalo", settings, self._send_part, "user_id", fallback=self._fallback)
        self._http: aiohttp.ClientSession | None = None
        self.tokens: ZaloTokens | None = None
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self.tokens = ZaloTokens(self.settings, self.redis, self._http)
        await ensure_group(self.redis, IN_STREAM, IN_GROUP)
        self._task = asyncio.create_task(self.consumer.run(self._stopping), name="zalo-worker")
        self.outbox.start()

    async def stop(self) -> None:
        await stop_loop(self._task, self._stopping)
        await self.outbox.stop()
        if self._http is not None:
            await self._http.close()

    # -- in ----------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        """``POST /webhooks/zalo``: verify, deduplicate, store, answer 200."""
        body = await request.read()
        given = request.headers.get(SIGNATURE_HEADER, "")
        try:
            event = parse_json(body)
            timestamp = str(event["timestamp"])  # milliseconds, as digits
            if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
                raise ValueError("timestamp")
            age_s = abs(time.time() - int(timestamp) / 1000)
            if not given.isascii():  # not even a hex digest: malformed, before any comparison
                raise ValueError("signature header")
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "bad event"}, status=400)
        expected = signature(self.settings.zalo_app_id, body, timestamp, self.settings.zalo_oa_secret_key)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            logger.warning("Zalo webhook call with a bad signature refused")
            return web.json_response({"error": "bad signature"}, status=401)
        if age_s > self.settings.zalo_signature_max_age_s or str(event.get("app_id", "")) != self.settings.zalo_app_id:
            logger.warning("Zalo webhook call with a stale timestamp or another app id refused")
            return web.json_response({"error": "stale or foreign event"}, status=401)
        name = str(event.get("event_name", ""))
        if name not in HANDLED_EVENTS:  # the OA's own oa_* echoes and events we do not use
            return web.json_response({"ignored": name})
        if not _well_formed(event):  # signed, but not a shape the worker can answer: say so now
            logger.warning("Zalo %s event of an unexpected shape refused", name)
            return web.json_response({"error": "bad event"}, status=400)
        message = event.get("message") or {}
        event_id = message.get("msg_id") or f"{name}:{user_of(event)}:{timestamp}"
        seen = f"zalo:seen:{event_id}"
        if not await self.redis.set(seen, 1, nx=True, ex=SEEN_TTL_S):
            return web.json_response({"duplicate": True})
        try:
            await self.redis.xadd(IN_STREAM, {"event": body})
        except redis_errors.RedisError:
            await self.redis.delete(seen)  # let Zalo's retry through
            raise
        return web.json_response({"queued": True})

    async def _process(self, entry: Entry) -> None:
        """Answer one stored event: its replies are queued on the outbox and the event acknowledged
        in one transaction, so the turn runs once and only the sending is retried (by the outbox)."""
        raw = entry.fields.get("event")
        event = json.loads(raw) if raw else {}
        messages = await self._answer(event) if raw else []
        pipe = self.redis.pipeline(transaction=True)
        if messages:
            self.outbox.queue(pipe, Turn(user_of(event) or "", [{"text": m.text, "parts": render(m)}
                                                                 for m in messages]))
        self.consumer.ack(pipe, entry.id)
        pipe.xdel(IN_STREAM, entry.id)
        await pipe.execute()

    async def _send_part(self, turn: Turn, message: dict[str, Any], index: int) -> None:
        """One body of a stored reply (the outbox's sender); the first one's buttons become the offer.

        Raises:
            SendLater: the OA API is still unavailable after :data:`SEND_TRIES`.
            NotDelivered: Zalo refused it (``error`` is its error code).
        """
        if index == 0:
            await self._offer(turn.to, message["parts"], turn.id)
        try:
            await self._send_one(turn.to, message["parts"][index])
        except ZaloApiError as exc:
            raise NotDelivered(str(exc.code), str(exc)) from exc
        except ZaloUnavailable as exc:
            raise SendLater("0", str(exc)) from exc

    async def _fallback(self, turn: Turn, message: dict[str, Any], exc: Exception) -> bool:
        """A reply Zalo will not deliver outside the interaction window goes by SMS when the phone is known."""
        code = int(exc.error) if isinstance(exc, NotDelivered) and exc.error.lstrip("-").isdigit() else 0
        return await self._by_sms(turn.to, message["text"], code)

    def alive(self) -> bool:
        """The event worker and the reply sender tick within their deadlines."""
        return self.consumer.alive() and self.outbox.alive()

    async def _answer(self, event: dict[str, Any]) -> list[BotMessage]:
        """The replies to one event (the Rasa turn, when it has one)."""
        name = event.get("event_name")
        user = user_of(event)
        if user is None:
            return []
        sender = f"zalo:{user}"
        message = event.get("message") or {}
        metadata = {"idempotency_key": f"zalo:{message['msg_id']}"} if message.get("msg_id") else {}
        if name == "user_submit_info":
            phone = normalize_msisdn(str((event.get("info") or {}).get("phone", "")))
            if phone:
                await self.redis.set(f"zalo:phone:{user}", phone)
            return []
        if name == "user_send_text":
            text = str(message.get("text", ""))
            if text.startswith("/"):  # a button's payload (an intent), pressed or copied
                offer = await self.redis.getdel(f"zalo:offer:{user}")
                offered = json.loads(offer) if offer else {}
                if text in offered.get("payloads", []):
                    metadata = {"idempotency_key": f"zalo:{user}:offer:{offered['id']}"}
                else:
                    if offer:
                        await self.redis.set(f"zalo:offer:{user}", offer, ex=OFFER_TTL_S)  # still on offer
                    if "{" in text:  # a choice with values (a slot, a level): only from the current offer
                        return [BotMessage(texts.text("channel.stale_choice"))]
            return await self.conversations.reply(sender, text, metadata)
        if name == "user_send_location":
            coordinates = _coordinates(message)
            if coordinates is None:
                return [BotMessage(texts.text("zalo.unreadable_location"))]
            return await self.conversations.reply(sender, "/tim_dia_diem", {**metadata, "location": coordinates})
        if name == "follow":
            return await self.conversations.reply(sender, "/chao_hoi")
        if name == "user_send_image" and find_codes(str(message.get("text") or "")):
            return await self.conversations.reply(sender, str(message["text"]), metadata)  # a code in the caption
        return [BotMessage(texts.text("channel.media_not_understood"))]

    # -- out -----------------------------------------------------------------------

    async def notify(self, user: str, text: str) -> None:
        """A message the citizen did not ask for just now (a status change)."""
        await self.send(user, BotMessage(text))

    async def send(self, user: str, message: BotMessage) -> None:
        """Deliver one reply (a staff reply, a notification), or its SMS fallback, or record it
        as undelivered."""
        bodies = render(message)
        await self._offer(user, bodies, f"{time.time():.6f}")
        for body in bodies:
            try:
                await self._send_one(user, body)
            except ZaloApiError as exc:
                await self._undeliverable(user, message, exc.code)
                return
            except ZaloUnavailable as exc:
                await self._undeliverable(user, message, 0, reason=str(exc))
                return

    async def _offer(self, user: str, bodies: list[dict[str, Any]], offer_id: str) -> None:
        """The buttons of a message about to be sent become the citizen's offer (replacing the last)."""
        payloads = [b["payload"] for body in bodies for b in (body.get("attachment") or {}).get("payload", {})
                    .get("buttons", [])]
        if payloads:
            await self.redis.set(f"zalo:offer:{user}", json.dumps({"id": offer_id, "payloads": payloads},
                                                                  ensure_ascii=False), ex=OFFER_TTL_S)

    async def _send_one(self, user: str, body: dict[str, Any]) -> None:
        """One body, with a few quick tries when the OA API is unavailable.

        Raises:
            ZaloApiError: Zalo refused it (an error code that a retry does not change).
            ZaloUnavailable: still unreachable, 5xx or no JSON after :data:`SEND_TRIES`.
        """
        for attempt in range(1, SEND_TRIES + 1):
            try:
                return await self._post_message(user, body)
            except ZaloUnavailable as exc:
                logger.warning("Zalo API unavailable for %s (try %d of %d): %s", pseudonym(user), attempt,
                               SEND_TRIES, exc)
                if attempt == SEND_TRIES:
                    raise
                await asyncio.sleep(0.5 * 2 ** (attempt - 1))

    async def _post_message(self, user: str, body: dict[str, Any]) -> None:
        assert self.tokens is not None and self._http is not None
        url = f"{self.settings.zalo_api_url.rstrip('/')}/v3.0/oa/message/cs"
        payload = {"recipient": {"user_id": user}, "message": body}
        refreshed = False
        for attempt in range(self.settings.zalo_rate_limit_retries + 1):
            token = await self.tokens.get()
            try:
                async with self._http.post(url, json=payload, headers={"access_token": token}) as resp:
                    status = resp.status
                    answer = await resp.json(content_type=None)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise ZaloUnavailable(f"unreachable: {type(exc).__name__}") from exc
            except ValueError as exc:  # an HTML page from a proxy
                raise ZaloUnavailable(f"HTTP {status}, not JSON") from exc
            if status >= 500 or not isinstance(answer, dict):
                raise ZaloUnavailable(f"HTTP {status}")
            code = int(answer.get("error", 0))
            if code == 0:
                return
            if code in TOKEN_ERRORS and not refreshed:
                await self.tokens.refresh(stale=token)
                refreshed = True
                continue
            if code == RATE_LIMITED and attempt < self.settings.zalo_rate_limit_retries:
                await asyncio.sleep(min(0.5 * 2**attempt, 8))
                continue
            raise ZaloApiError(code, str(answer.get("message", "")))
        raise ZaloApiError(RATE_LIMITED, "still rate limited")

    async def _by_sms(self, user: str, text: str, code: int) -> bool:
        """Send by SMS what Zalo refused outside the interaction window, if the user's phone is known."""
        phone = await self.redis.get(f"zalo:phone:{user}")
        if code not in OUTSIDE_WINDOW or not phone:
            return False
        await queue_sms(self.redis, as_str(phone), text, origin="zalo")
        logger.info("Zalo reply to %s outside the interaction window sent by SMS", pseudonym(user))
        return True

    async def _undeliverable(self, user: str, message: BotMessage, code: int, reason: str = "") -> None:
        if not await self._by_sms(user, message.text, code):
            await record(self.redis, "zalo", "user_id", user, {"text": message.text, "parts": render(message)},
                         str(code), reason or f"Zalo error {code}")


def _well_formed(event: dict[str, Any]) -> bool:
    """An event the worker can read: a user, and a message (or info) that is an object, with a
    list of attachment objects if any."""
    message, info = event.get("message", {}), event.get("info", {})
    if user_of(event) is None or not isinstance(message, dict) or not isinstance(info, dict):
        return False
    attachments = message.get("attachments", [])
    return isinstance(attachments, list) and all(
        isinstance(a, dict) and isinstance(a.get("payload", {}), dict) for a in attachments)


def _coordinates(message: dict[str, Any]) -> dict[str, float] | None:
    """The shared location, in the shapes Zalo sends: ``attachments[].payload.coordinates``,
    ``attachments[].payload`` itself, or ``message.location``; numbers or strings, ``latitude``/
    ``longitude`` or ``lat``/``long``/``lng``."""
    places = [(a.get("payload") or {}) for a in message.get("attachments") or [] if isinstance(a, dict)]
    candidates = [p.get("coordinates") for p in places if isinstance(p, dict)] + places + [message.get("location")]
    for coords in candidates:
        if not isinstance(coords, dict):
            continue
        latitude = coords.get("latitude", coords.get("lat"))
        longitude = coords.get("longitude", coords.get("long", coords.get("lng")))
        try:
            point = {"latitude": float(latitude), "longitude": float(longitude)}
        except (TypeError, ValueError, OverflowError):
            continue
        if -90 <= point["latitude"] <= 90 and -180 <= point["longitude"] <= 180:
            return point
    return None
