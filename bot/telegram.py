"""The Telegram channel (python-telegram-bot 22): polling or a verified webhook.

Updates become messages to the assistant with the sender id ``telegram:<chat_id>``:
text as typed, commands as intents (``/tracuu <mã>`` looks a dossier up), a
pressed inline button as the button's payload, a shared location as
``/tim_dia_diem`` with the location in the metadata. Replies are rendered with
inline keyboards and split at Telegram's 4,096-character limit; the
``AIORateLimiter`` keeps within flood limits and honours ``RetryAfter``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import weakref
from typing import Any

from aiohttp import web
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
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
from bot.rasa_client import BotMessage
from common.jsonbody import BadJson, is_text, parse_json
from common.privacy import pseudonym
from common.settings import Settings
from common.text import as_str, split_text

logger = logging.getLogger(__name__)

MAX_MESSAGE = 4096
MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit
CALLBACK_TTL_S = 30 * 24 * 3600
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SHARE_LOCATION = "📍 Gửi vị trí của tôi"
NOT_UNDERSTOOD_MEDIA = "Hiện tôi đọc được tin nhắn chữ và vị trí; anh/chị vui lòng gõ câu hỏi hoặc gửi mã hồ sơ."
EXPIRED_CHOICE = "Lựa chọn này đã hết hạn, anh/chị vui lòng hỏi lại."
COMMANDS = [
    BotCommand("start", "Bắt đầu trò chuyện"),
    BotCommand("help", "Tôi có thể giúp gì"),
    BotCommand("tracuu", "Tra cứu hồ sơ: /tracuu <mã hồ sơ>"),
    BotCommand("danhgia", "Đánh giá mức độ hài lòng"),
    BotCommand("chuahuuich", "Báo câu trả lời vừa rồi chưa hữu ích"),
]


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


class TelegramChannel:
    """One bot: its PTB application, handlers and (in webhook mode) the aiohttp route."""

    def __init__(self, settings: Settings, conversations: Conversations, redis: Any) -> None:
        self.settings = settings
        self.conversations = conversations
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
            .rate_limiter(AIORateLimiter(max_retries=5))
            .concurrent_updates(32)  # ordering per chat is kept by _chat_locks
        )
        if self.webhook_mode:
            builder = builder.updater(None)
        self.app = builder.build()
        self._chat_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.app.add_handler(CommandHandler("start", self._start))
        self.app.add_handler(CommandHandler("help", self._help))
        self.app.add_handler(CommandHandler("tracuu", self._lookup))
        self.app.add_handler(CommandHandler("danhgia", self._rate))
        self.app.add_handler(CommandHandler("chuahuuich", self._unhelpful))
        self.app.add_handler(MessageHandler(filters.COMMAND, self._help))
        self.app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self._text))
        self.app.add_handler(MessageHandler(filters.LOCATION, self._location))
        self.app.add_handler(CallbackQueryHandler(self._button))
        self.app.add_handler(MessageHandler(filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, self._media))
        self.app.add_error_handler(self._error)

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Connect (getMe), register commands, then poll or set the webhook."""
        await self.app.initialize()
        await self.app.bot.set_my_commands(COMMANDS)
        await self.app.start()
        if self.webhook_mode:
            await self.app.bot.set_webhook(
                url=self.settings.telegram_webhook_url,
                secret_token=self.settings.telegram_secret_token,
                allowed_updates=["message", "callback_query"],
            )
            logger.info("Telegram webhook registered")
        else:
            await self.app.updater.start_polling(allowed_updates=["message", "callback_query"], timeout=10)
            logger.info("Telegram long polling started")

    async def stop(self) -> None:
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

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
        """A message the citizen did not ask for just now (a status change)."""
        await self._send(int(chat_id), [BotMessage(text)])

    async def send(self, chat_id: str, messages: list[BotMessage]) -> None:
        """Messages the citizen did not ask for just now, with their buttons (a staff reply)."""
        await self._send(int(chat_id), messages)

    # -- handlers ----------------------------------------------------------------

    async def _start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._converse(update, "/chao_hoi")

    async def _help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
        await self._converse(update, update.effective_message.text or "")

    async def _location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        loc = update.effective_message.location
        metadata = {"location": {"latitude": loc.latitude, "longitude": loc.longitude}}
        await self._converse(update, "/tim_dia_diem", metadata, remove_keyboard=True)

    async def _button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        payload = await self.callbacks.decode(query.data or "")
        if payload is None:  # expired digest
            await self._send(update.effective_chat.id, [BotMessage(EXPIRED_CHOICE)])
            return
        await self._converse(update, payload)

    async def _media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._send(update.effective_chat.id, [BotMessage(NOT_UNDERSTOOD_MEDIA)])

    async def _error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
        logger.error("Telegram update for %s failed: %r", pseudonym(str(chat)), context.error)

    # -- the conversation ----------------------------------------------------------

    async def _converse(self, update: Update, text: str, metadata: dict | None = None,
                        remove_keyboard: bool = False) -> None:
        chat_id = update.effective_chat.id
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        async with lock:  # one chat's messages are answered in order
            messages = await self.conversations.reply(f"telegram:{chat_id}", text, metadata)
            await self._send(chat_id, messages, remove_keyboard)

    async def _send(self, chat_id: int, messages: list[BotMessage], remove_keyboard: bool = False) -> None:
        for message in messages:
            chunks = split_text(message.text, MAX_MESSAGE) or [""]
            markup = await self._markup(message)
            if markup is None and remove_keyboard:
                markup = ReplyKeyboardRemove()
            for i, chunk in enumerate(chunks):
                last = i == len(chunks) - 1
                await self.app.bot.send_message(chat_id, chunk or "…", reply_markup=markup if last else None)

    async def _markup(self, message: BotMessage) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
        if message.buttons:
            rows = [[InlineKeyboardButton(b.title, callback_data=await self.callbacks.encode(b.payload))]
                    for b in message.buttons]
            return InlineKeyboardMarkup(rows)
        if message.request_location:
            return ReplyKeyboardMarkup([[KeyboardButton(SHARE_LOCATION, request_location=True)]],
                                       resize_keyboard=True, one_time_keyboard=True)
        return None
