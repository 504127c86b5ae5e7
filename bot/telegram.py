"""The Telegram channel (python-telegram-bot 22): polling or a verified webhook.

Updates become messages to the assistant with the sender id ``telegram:<chat_id>``
(in a group, ``telegram:<chat_id>:<user_id>``: each member has their own
conversation): text as typed, commands as intents (``/tracuu <mã>`` looks a
dossier up), a pressed inline button as the button's payload, a shared location
as ``/tim_dia_diem`` with the location in the metadata, a photo's caption as its
text. Each message carries an ``idempotency_key`` (chat and message id; for a
button, the keyboard's message) so a booking or a rating it asks for happens once.

- A keyboard is single use: the first press removes it (``editMessageReplyMarkup``);
  a later press on it is answered "Lựa chọn này đã hết hiệu lực." and does nothing.
- In a group the bot answers only a message that mentions it, replies to it, or is a
  command for it; ``/help@other_bot`` is ignored everywhere. Location keyboards are
  sent in private chats only (the Bot API refuses them elsewhere).
- An edited message is answered as new when its original was not acted on (say it
  was not addressed to the bot); otherwise the citizen is told how to correct.
- The turn runs once, its replies are stored, then sent (``bot.outbox``, shared with Zalo):
  the replies, split at 4,096 characters with their keyboards, are queued on
  ``telegram:out`` and a consumer sends them, each call with quick retries
  (:data:`SEND_RETRIES`: ``RetryAfter`` waits the time Telegram gives, network errors,
  5xx and answers that are no JSON back off); still failing, the entry is retried with
  backoff (``STREAM_MAX_ATTEMPTS``), by another replica if this one died, sending only
  what was not sent; then the reply is recorded in ``telegram:undelivered`` for staff,
  who resend it from the console. A user who blocked the bot is unsubscribed from
  notifications instead of being retried. Notifications and staff replies are sent
  directly (their senders retry and report themselves).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType, MessageEntityType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.conversation import UNHELPFUL_COMMAND, Conversations
from bot.outbox import NotDelivered, ReplyOutbox, SendLater, Turn, undelivered_stream
from clients.rasa import BotMessage
from common import subscriptions
from common.codes import find_codes
from common.jsonbody import BadJson, is_text, parse_json
from common.privacy import pseudonym
from common.settings import Settings
from common.text import as_str, split_text
from content import texts

logger = logging.getLogger(__name__)

MAX_MESSAGE = 4096
MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit
CALLBACK_TTL_S = 30 * 24 * 3600
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UNDELIVERED_STREAM = undelivered_stream("telegram")  # replies that could not be sent, for staff
OUTBOX_CONCURRENCY = 8  # turns sent at once (one recipient's in order)
ACTED_TTL_S = 2 * 24 * 3600  # an edit after this long is treated like one of a message never seen
UPDATES = ["message", "edited_message", "callback_query"]
COMMANDS = ["start", "help", "tracuu", "danhgia", "chuahuuich"]  # described by texts telegram.command.<name>


def bot_commands() -> list[BotCommand]:
    """The command menu Telegram shows, with the texts' descriptions."""
    return [BotCommand(name, texts.text(f"telegram.command.{name}")) for name in COMMANDS]


class CallbackPayloads:
    """Button payloads as Telegram callback data (at most 64 bytes).

    Short payloads travel as they are; longer ones are kept in Redis under a
    digest and the digest travels instead.
    """

    PREFIX = "cb#"

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def encode(self, payload: str) -> str:
        if len(payload.encode()) <= MAX_CALLBACK_DATA and not payload.startswith(self.PREFIX):
            return payload
        digest = self.PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:32]
        await self.redis.set(f"tg:callback:{digest}", payload, ex=CALLBACK_TTL_S)
        return digest

    async def decode(self, data: str) -> str | None:
        if not data.startswith(self.PREFIX):
            return data
        stored = await self.redis.get(f"tg:callback:{data}")
        return None if stored is None else as_str(stored)


@dataclass(frozen=True)
class Retry:
    """What to do when one send fails this way: wait (``None``: the ``retry_after`` Telegram
    gave), then try again, at most ``attempts`` times in all."""

    attempts: int
    wait_s: float | None = 0.5  # first wait; doubles per attempt, at most MAX_WAIT_S


MAX_WAIT_S = 8.0
# Retries are data (most specific first). Anything else (BadRequest: the message itself is
# wrong) is not retried; Forbidden (blocked by the user) unsubscribes instead.
SEND_RETRIES: list[tuple[type[TelegramError], Retry | None]] = [
    (BadRequest, None),  # the message itself is wrong (PTB makes it a NetworkError: first here)
    (RetryAfter, Retry(attempts=10, wait_s=None)),  # flood control: wait as told
    (NetworkError, Retry(attempts=3)),  # unreachable, timed out, 5xx (then the outbox retries the turn)
]
NOT_JSON = "Invalid server response"  # PTB's TelegramError for a 2xx answer that is no JSON


def retry_for(exc: TelegramError) -> Retry | None:
    """The retry rule of a failed send, or None: give up at once."""
    for kind, rule in SEND_RETRIES:
        if isinstance(exc, kind):
            return rule
    if type(exc) is TelegramError and NOT_JSON in exc.message:
        return retry_for(NetworkError(NOT_JSON))
    return None


def blocked(exc: TelegramError) -> bool:
    """The user blocked the bot (or deleted their account): nobody will read it, ever."""
    return isinstance(exc, Forbidden) and ("blocked" in exc.message or "deactivated" in exc.message)


def _seconds(value: Any) -> float:
    """``RetryAfter.retry_after``: seconds, or a timedelta (PTB_TIMEDELTA)."""
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


def chat_of(target: str) -> int:
    """The chat of an id within the channel: ``<chat_id>`` or, in a group, ``<chat_id>:<user_id>``."""
    return int(target.split(":", 1)[0])


class TelegramChannel:
    """One bot: its PTB application, handlers and (in webhook mode) the aiohttp route."""

    def __init__(self, settings: Settings, conversations: Conversations, redis: Any) -> None:
        self.settings = settings
        self.conversations = conversations
        self.redis = redis
        self.callbacks = CallbackPayloads(redis)
        self.webhook_mode = bool(settings.telegram_webhook_url)
        if self.webhook_mode and not settings.telegram_secret_token:
            raise ValueError("TELEGRAM_SECRET_TOKEN is required with TELEGRAM_WEBHOOK_URL")
        api = settings.telegram_api_url.rstrip("/")
        builder = (
            Application.builder()
            .token(settings.telegram_token)
            .base_url(f"{api}/bot")
            .base_file_url(f"{api}/file/bot")
            .rate_limiter(AIORateLimiter(max_retries=0))  # flood limits; RetryAfter: SEND_RETRIES
            .concurrent_updates(32)  # ordering per chat is kept by _chat_locks
        )
        if self.webhook_mode:
            builder = builder.updater(None)
        self.app = builder.build()
        self._chat_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, self._edited))
        self.app.add_handler(CommandHandler("start", self._start))
        self.app.add_handler(CommandHandler("help", self._help))
        self.app.add_handler(CommandHandler("tracuu", self._lookup))
        self.app.add_handler(CommandHandler("danhgia", self._rate))
        self.app.add_handler(CommandHandler("chuahuuich", self._unhelpful))
        self.app.add_handler(MessageHandler(filters.COMMAND, self._help))
        self.app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self._text))
        self.app.add_handler(MessageHandler(filters.LOCATION, self._location))
        self.app.add_handler(CallbackQueryHandler(self._button))
        self.app.add_handler(MessageHandler(~filters.StatusUpdate.ALL, self._media))
        self.app.add_error_handler(self._error)
        self.outbox = ReplyOutbox(redis, "telegram", settings, self._send_part, "chat_id",
                                  concurrency=OUTBOX_CONCURRENCY)

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Connect (getMe), register commands, then poll or set the webhook."""
        await self.app.initialize()
        await self.app.bot.set_my_commands(bot_commands())
        await self.app.start()
        self.outbox.start()
        if self.webhook_mode:
            await self.app.bot.set_webhook(
                url=self.settings.telegram_webhook_url,
                secret_token=self.settings.telegram_secret_token,
                allowed_updates=UPDATES,
            )
            logger.info("Telegram webhook registered")
        else:
            await self.app.updater.start_polling(allowed_updates=UPDATES, timeout=10)
            logger.info("Telegram long polling started")

    async def stop(self) -> None:
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.outbox.stop()  # after the handlers: the replies they queued are sent
        await self.app.shutdown()

    def alive(self) -> bool:
        """The reply sending loop ticks within its deadline."""
        return self.outbox.alive()

    async def webhook(self, request: web.Request) -> web.Response:
        """``POST /webhooks/telegram``: only with the secret token Telegram was given."""
        given = request.headers.get(SECRET_HEADER, "")
        if not is_text(given):  # not UTF-8 (surrogate escapes): malformed, before any comparison
            return web.json_response({"error": "bad header"}, status=400)
        if not hmac.compare_digest(given.encode(), self.settings.telegram_secret_token.encode()):
            logger.warning("Telegram webhook call with a missing or wrong secret token refused")
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            data = parse_json(await request.read())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise BadJson("not an update")
            update = Update.de_json(data, self.app.bot)
        except Exception:  # any shape PTB cannot read is the sender's error, not ours
            logger.warning("Telegram webhook call with a malformed update refused")
            return web.json_response({"error": "bad update"}, status=400)
        chat = update.effective_chat if update is not None else None
        if update is None or (chat is not None and not isinstance(chat.id, int)):  # ids are integers
            return web.json_response({"error": "bad update"}, status=400)
        await self.app.update_queue.put(update)
        return web.json_response({"ok": True})

    async def notify(self, chat_id: str, text: str) -> None:
        """A message the citizen did not ask for just now (a status change). A user who
        blocked the bot is unsubscribed; other failures raise (the notifier retries)."""
        await self._send(chat_of(chat_id), [BotMessage(text)], sender=f"telegram:{chat_id}")

    async def send(self, chat_id: str, messages: list[BotMessage]) -> None:
        """Messages the citizen did not ask for just now, with their buttons (a staff reply)."""
        await self._send(chat_of(chat_id), messages, sender=f"telegram:{chat_id}")

    # -- handlers ----------------------------------------------------------------

    async def _start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._converse(update, "/chao_hoi")

    async def _help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self._addressed(update.effective_message) is None:  # /help@other_bot
            return
        await self._converse(update, "/hoi_bot")

    async def _unhelpful(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._converse(update, UNHELPFUL_COMMAND)

    async def _lookup(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        code = " ".join(context.args or []).strip()
        payload = "/tra_cuu_ho_so" + (json.dumps({"ma_ho_so": code}, ensure_ascii=False) if code else "")
        await self._converse(update, payload)

    async def _rate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._converse(update, "/danh_gia")

    async def _text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        text = self._addressed(update.effective_message)
        if text is not None:
            await self._converse(update, text)

    async def _location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if self._addressed(message) is None:  # a member's location shared in a group, not for us
            return
        loc = message.location
        metadata = {"location": {"latitude": loc.latitude, "longitude": loc.longitude}}
        await self._converse(update, "/tim_dia_diem", metadata, remove_keyboard=True)

    async def _button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button: the first press of a keyboard acts and removes the keyboard;
        any later press (a double tap, another button of it) is stale."""
        query = update.callback_query
        keyboard = query.message if isinstance(query.message, Message) else None  # else older than 48 h
        pressed = f"tg:pressed:{update.effective_chat.id}:{query.message.message_id if query.message else query.id}"
        payload = await self.callbacks.decode(query.data or "")
        owner = await self.redis.get(f"tg:kbowner:{pressed.removeprefix('tg:pressed:')}")
        if owner is not None and as_str(owner) != self._sender(update):  # a group member's own keyboard
            await query.answer(texts.text("telegram.not_your_choice"))
            return
        if payload is None or not await self.redis.set(pressed, query.from_user.id, nx=True, ex=CALLBACK_TTL_S):
            await query.answer(texts.text("channel.stale_choice"))
            return
        await query.answer()
        if keyboard is not None:
            try:
                await keyboard.edit_reply_markup(reply_markup=None)
            except TelegramError as exc:  # too old to edit, or already without buttons: still stale
                logger.info("keyboard not removed: %s", type(exc).__name__)
        key = pressed.removeprefix("tg:pressed:")
        await self._converse(update, payload, key=f"telegram:{key}:kb")

    async def _media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        caption = self._addressed(message)
        if caption is None:
            return  # in a group, a photo not addressed to the bot
        if caption and find_codes(caption):  # a dossier code in a photo's caption is honoured
            await self._converse(update, caption)
            return
        await self._reply(update, [BotMessage(texts.text("channel.media_not_understood"))])

    async def _edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A corrected message: answered as new when the original was not acted on, else the
        citizen is told how to correct (the answer to the original stands)."""
        message = update.edited_message
        text = self._addressed(message)
        if text is None or not (message.text or message.caption):
            return
        async with self._lock(message.chat_id):  # after the original, if it is still being answered
            acted = await self.redis.exists(self._acted_key(message))
        if acted:
            await self._reply(update, [BotMessage(texts.text("telegram.edited_too_late"))])
        elif message.text or find_codes(text):  # a caption counts for its dossier code
            await self._converse(update, text)

    # -- who is addressed ----------------------------------------------------------

    def _addressed(self, message: Message | None) -> str | None:
        """The text of a message meant for the bot (its mention taken out), or None.

        Private chat: every message. Group: a command for this bot (``/x`` or ``/x@this_bot``),
        a mention of it, or a reply to it. ``/x@other_bot``: never."""
        if message is None:
            return None
        text = message.text or message.caption or ""
        if message.text:
            parts = message.parse_entities([MessageEntityType.BOT_COMMAND, MessageEntityType.MENTION])
        else:
            parts = message.parse_caption_entities([MessageEntityType.BOT_COMMAND, MessageEntityType.MENTION])
        username = (self.app.bot.username or "").lower()
        mentioned = command = False
        for entity, part in parts.items():
            if entity.type == MessageEntityType.BOT_COMMAND and entity.offset == 0:
                command = True
                if "@" in part:
                    if part.split("@", 1)[1].lower() != username:
                        return None  # /help@other_bot
                    mentioned = True
            elif entity.type == MessageEntityType.MENTION and part.lstrip("@").lower() == username:
                text = " ".join(text.replace(part, " ", 1).split())
                mentioned = True
        if message.chat.type == ChatType.PRIVATE:
            return text
        replied = message.reply_to_message
        if mentioned or (replied is not None and replied.from_user is not None
                         and replied.from_user.id == self.app.bot.id):
            return text
        if command:
            return text  # a bare command in a group is for every bot
        return None

    @staticmethod
    def _sender(update: Update) -> str:
        chat = update.effective_chat
        if chat.type == ChatType.PRIVATE or update.effective_user is None:
            return f"telegram:{chat.id}"
        return f"telegram:{chat.id}:{update.effective_user.id}"  # one conversation per group member

    @staticmethod
    def _acted_key(message: Message) -> str:
        return f"tg:acted:{message.chat_id}:{message.message_id}"

    async def _location_asked(self, update: Update) -> bool:
        """True (once) when the bot's last reply to this citizen offered the location keyboard."""
        return bool(await self.redis.delete(f"tg:lockb:{self._sender(update)}"))

    async def _error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
        logger.error("Telegram update for %s failed: %r", pseudonym(str(chat)), context.error)

    # -- the conversation ----------------------------------------------------------

    def _lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        return lock

    async def _converse(self, update: Update, text: str, metadata: dict | None = None,
                        remove_keyboard: bool = False, key: str | None = None) -> None:
        chat = update.effective_chat
        message = update.effective_message
        sender = self._sender(update)
        if key is None:
            key = f"telegram:{chat.id}:{message.message_id}"
        async with self._lock(chat.id):  # one chat's messages are answered in order
            if message is not None and update.callback_query is None:
                await self.redis.set(self._acted_key(message), 1, ex=ACTED_TTL_S)
                remove_keyboard = await self._location_asked(update) or remove_keyboard
            messages = await self.conversations.reply(sender, text, {**(metadata or {}), "idempotency_key": key})
            await self._reply(update, messages, remove_keyboard)

    async def _reply(self, update: Update, messages: list[BotMessage], remove_keyboard: bool = False) -> None:
        """Store the replies to an update (its chat, its sender) on the outbox; they are sent from there."""
        if not messages:  # e.g. a conversation handed over to staff: nothing to send
            return
        chat = update.effective_chat
        turn = await self._turn(chat.id, messages, remove_keyboard, self._sender(update), chat.type == ChatType.PRIVATE)
        await self.outbox.put(turn)

    async def _turn(self, chat_id: int, messages: list[BotMessage], remove_keyboard: bool, sender: str,
                    private: bool) -> Turn:
        """The replies as the outbox keeps them: each split at 4,096 characters, its keyboard on the last part."""
        out = []
        for message in messages:
            chunks = split_text(message.text, MAX_MESSAGE) or [""]
            markup = await self._markup(message, private)
            if message.request_location and not private:
                chunks[-1] = f"{chunks[-1]}\n{texts.text('telegram.location_in_group')}"
            if markup is None and remove_keyboard:
                markup = ReplyKeyboardRemove()
            parts: list[dict[str, Any]] = [{"text": chunk or "…"} for chunk in chunks]
            if markup is not None:
                parts[-1]["markup"] = {"kind": type(markup).__name__, "data": markup.to_dict()}
            out.append({"text": message.text, "parts": parts, "location": message.request_location and private})
        return Turn(str(chat_id), out, {"sender": sender, "private": private})

    async def _send(self, chat_id: int, messages: list[BotMessage], sender: str | None = None,
                    private: bool = True) -> None:
        """Send at once, not through the outbox (a notification, a staff reply: their senders retry).
        A user who blocked the bot is unsubscribed and nothing raised; another failure raises."""
        turn = await self._turn(chat_id, messages, False, sender or f"telegram:{chat_id}", private)
        for message in turn.messages:
            for index in range(len(message["parts"])):
                try:
                    await self._send_part(turn, message, index)
                except NotDelivered as exc:
                    if not exc.rest:
                        return
                    raise (exc.__cause__ or exc) from None  # the TelegramError: its class names the failure
                except SendLater as exc:
                    raise (exc.__cause__ or exc) from None

    async def _send_part(self, turn: Turn, message: dict[str, Any], index: int) -> None:
        """One part of a stored reply (the outbox's sender).

        Raises:
            SendLater: still unreachable, 5xx, no JSON or rate limited after the quick retries.
            NotDelivered: Telegram refused it (``rest`` False: the user blocked the bot, now unsubscribed).
        """
        chat_id, sender = chat_of(turn.to), str(turn.context.get("sender") or f"telegram:{turn.to}")
        part = message["parts"][index]
        markup = _markup_of(part.get("markup"))
        try:
            sent = await self._deliver(chat_id, part["text"], markup)
        except TelegramError as exc:
            if blocked(exc):
                dropped = await subscriptions.unsubscribe(self.redis, sender)
                logger.info("%s blocked the bot: unsubscribed from %d dossier(s)", pseudonym(sender), len(dropped))
                raise NotDelivered(type(exc).__name__, exc.message, record=False, rest=False) from exc
            if retry_for(exc) is None:
                raise NotDelivered(type(exc).__name__, exc.message) from exc
            raise SendLater(type(exc).__name__, exc.message) from exc
        if index < len(message["parts"]) - 1:
            return
        if isinstance(markup, InlineKeyboardMarkup) and not turn.context.get("private", True):
            await self.redis.set(f"tg:kbowner:{chat_id}:{sent.message_id}", sender, ex=CALLBACK_TTL_S)
        if message.get("location"):
            await self.redis.set(f"tg:lockb:{sender}", 1, ex=CALLBACK_TTL_S)

    async def _deliver(self, chat_id: int, text: str, markup: Any) -> Message:
        """One ``sendMessage``, retried as :data:`SEND_RETRIES` says."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self.app.bot.send_message(chat_id, text, reply_markup=markup)
            except TelegramError as exc:
                rule = retry_for(exc)
                if rule is None or attempt >= rule.attempts:
                    raise
                wait = (_seconds(exc.retry_after) if isinstance(exc, RetryAfter) and rule.wait_s is None
                        else min(MAX_WAIT_S, (rule.wait_s or 0.5) * 2 ** (attempt - 1)))
                logger.warning("Telegram send failed (%s, attempt %d of %d); retried in %.1f s",
                               type(exc).__name__, attempt, rule.attempts, wait)
                await asyncio.sleep(wait)

    async def _markup(self, message: BotMessage,
                      private: bool = True) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
        if message.buttons:
            rows = [[InlineKeyboardButton(b.title, callback_data=await self.callbacks.encode(b.payload))]
                    for b in message.buttons]
            return InlineKeyboardMarkup(rows)
        if message.request_location and private:  # the Bot API allows it in private chats only
            return ReplyKeyboardMarkup([[KeyboardButton(texts.text("telegram.share_location"), request_location=True)]],
                                       resize_keyboard=True, one_time_keyboard=True)
        return None


MARKUPS = {cls.__name__: cls for cls in (InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove)}


def _markup_of(stored: dict[str, Any] | None) -> Any:
    """A keyboard as the outbox keeps it (``{"kind": class name, "data": Bot API dict}``), rebuilt."""
    if not stored or stored.get("kind") not in MARKUPS:
        return None
    return MARKUPS[stored["kind"]].de_json(stored["data"], None)
