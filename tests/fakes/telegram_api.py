"""A local stand-in for the Telegram Bot API (https://core.telegram.org/bots/api).

It speaks the documented wire format: ``POST /bot<token>/<method>`` with form,
JSON or multipart parameters, answered ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ..., "parameters": ...}``.
Tests push updates (served by ``getUpdates`` long polling): private and group
messages (``bot_command`` and ``mention`` entities, replies), edited messages,
photos with captions, presses on the inline keyboard of a message the bot sent;
and read what the bot sent. ``editMessageReplyMarkup`` changes a sent message's
keyboard as Telegram does. Errors are scripted per method: a JSON error body, any
raw answer (an HTML 502 page from a proxy), or :data:`DROP`: the connection closed
before any answer.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from aiohttp import web

from tests.fakes import Outbox, SendsMessages

BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "Trợ lý SCT", "username": "sct_tro_ly_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "entities"}
DROP = "<connection dropped>"  # a scripted "answer": the connection is closed, nothing is sent back


class FakeTelegram(SendsMessages):
    def __init__(self, token: str) -> None:
        self.token = token
        self.updates: list[dict] = []
        self.outbox = Outbox("messages sent by the bot")  # sendMessage parameters, in order
        self.calls: list[tuple[str, dict]] = []
        self.scripted: dict[str, list[tuple[int, dict | str]]] = {}  # method -> errors to answer first
        self.messages: dict[int, dict] = {}  # message_id -> what the bot sent, as Telegram keeps it
        self.webhook: dict | None = None
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._confirmed = 0  # getUpdates' highest offset so far

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        return app

    # -- what tests do ---------------------------------------------------------

    def _push(self, update: dict) -> dict:
        update = {"update_id": next(self._ids), **update}
        self.updates.append(update)
        self._new_update.set()
        return update

    def _message(self, chat_id: int, user_id: int | None = None, **content: Any) -> dict:
        chat = ({"id": chat_id, "type": "private", "first_name": "Dân"} if chat_id > 0
                else {"id": chat_id, "type": "supergroup", "title": "Hộ kinh doanh chợ Hàn"})
        who = user_id or chat_id
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                "from": {"id": who, "is_bot": False, "first_name": f"Dân {who}"}, **content}

    def group_update(self, chat_id: int, user_id: int, text: str, mention: bool = False,
                     reply_to: int | None = None) -> dict:
        """A supergroup message (``chat_id`` < 0) of one member: with ``mention`` it starts with the
        bot's @username (a ``mention`` entity); ``reply_to`` answers one of the bot's messages."""
        content: dict[str, Any] = {"text": text}
        entities = []
        if mention:
            tag = "@" + BOT_USER["username"]
            content["text"] = f"{tag} {text}"
            entities.append({"type": "mention", "offset": 0, "length": len(tag)})
        elif text.startswith("/"):
            entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
        if entities:
            content["entities"] = entities
        if reply_to is not None:
            content["reply_to_message"] = self.messages[reply_to]
        return self._push({"message": self._message(chat_id, user_id, **content)})

    def push_edit(self, original: dict, text: str) -> dict:
        """The citizen edited ``original`` (an update pushed before): ``edited_message``."""
        message = {**original["message"], "text": text, "edit_date": int(time.time())}
        return self._push({"edited_message": message})

    def push_photo(self, chat_id: int, caption: str) -> dict:
        photo = [{"file_id": "AgAD-photo", "file_unique_id": "u1", "width": 90, "height": 60}]
        return self._push({"message": self._message(chat_id, photo=photo, caption=caption)})

    def text_update(self, chat_id: int, text: str) -> dict:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": next(self._ids), "message": self._message(chat_id, **content)}

    def push_text(self, chat_id: int, text: str) -> dict:
        update = self.text_update(chat_id, text)
        update.pop("update_id")
        return self._push(update)

    def push_location(self, chat_id: int, latitude: float, longitude: float) -> dict:
        return self._push({"message": self._message(chat_id, location={"latitude": latitude, "longitude": longitude})})

    def push_callback(self, chat_id: int, data: str, message_id: int | None = None,
                      user_id: int | None = None) -> dict:
        """A press of a button whose ``callback_data`` is ``data``, on the message ``message_id``
        the bot sent (as it now is, keyboard or not); without one, on some older message.
        ``user_id``: who pressed (in a group), by default the private chat's user."""
        if message_id is not None:
            message = self.messages[message_id]
        else:
            message = self._message(chat_id, text="(tin nhắn có nút)")
            message["from"] = BOT_USER
        who = user_id or chat_id
        query = {"id": str(next(self._ids)), "from": {"id": who, "is_bot": False, "first_name": f"Dân {who}"},
                 "message": message, "chat_instance": "ci", "data": data}
        return self._push({"callback_query": query})

    def script(self, method: str, status: int, body: dict | str) -> None:
        """Answer the next call of ``method`` with this error: a JSON body, a raw text body, or
        :data:`DROP` (``status`` unused: the connection is closed before any answer)."""
        self.scripted.setdefault(method, []).append((status, body))

    def answers(self) -> list[dict]:
        """The bot's answerCallbackQuery calls, in order."""
        return [p for m, p in self.calls if m == "answerCallbackQuery"]

    def sent_to(self, chat_id: int) -> list[dict]:
        return [m for m in self.sent if int(m["chat_id"]) == chat_id]

    # -- the API -----------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for key in JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                params[key] = json.loads(params[key])
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        if self.scripted.get(method):
            status, body = self.scripted[method].pop(0)
            if body == DROP:
                assert request.transport is not None
                request.transport.abort()
                raise ConnectionResetError("dropped as scripted")
            if isinstance(body, str):
                return web.Response(text=body, status=status, content_type="text/html")
            return web.json_response(body, status=status)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.json_response({"ok": True, "result": await handler(params)})

    async def _getMe(self, params: dict) -> dict:  # noqa: N802 (Bot API method names)
        return BOT_USER

    async def _getUpdates(self, params: dict) -> list[dict]:  # noqa: N802
        # An update is confirmed once getUpdates is called with a higher offset: never served again.
        self._confirmed = max(self._confirmed, int(params.get("offset") or 0))
        offset = self._confirmed
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 1.0)
        while True:
            pending = [u for u in self.updates if u["update_id"] >= offset]
            if pending or time.monotonic() >= deadline:
                return pending[: int(params.get("limit") or 100)]
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), max(deadline - time.monotonic(), 0.01))
            except asyncio.TimeoutError:
                pass

    async def _sendMessage(self, params: dict) -> dict:  # noqa: N802
        if not str(params.get("text", "")).strip() or len(params["text"]) > 4096:
            raise web.HTTPBadRequest(text=json.dumps({"ok": False, "error_code": 400,
                                                      "description": "Bad Request: message text is invalid"}),
                                     content_type="application/json")
        if int(params["chat_id"]) < 0 and (params.get("reply_markup") or {}).get("keyboard"):
            if any(b.get("request_location") for row in params["reply_markup"]["keyboard"] for b in row):
                raise web.HTTPBadRequest(text=json.dumps({
                    "ok": False, "error_code": 400,
                    "description": "Bad Request: KeyboardButton request_location is allowed in private chats only"}),
                    content_type="application/json")
        sent = self._message(int(params["chat_id"]), text=params["text"]) | {"from": BOT_USER}
        sent["chat"]["id"] = int(params["chat_id"])
        if "inline_keyboard" in (params.get("reply_markup") or {}):
            sent["reply_markup"] = params["reply_markup"]
        self.messages[sent["message_id"]] = sent
        self.outbox.add({**params, "message_id": sent["message_id"]})
        return sent

    async def _editMessageReplyMarkup(self, params: dict) -> dict:  # noqa: N802
        message = self.messages.get(int(params.get("message_id") or 0))
        if message is None or message["chat"]["id"] != int(params["chat_id"]):
            raise web.HTTPBadRequest(text=json.dumps({"ok": False, "error_code": 400,
                                                      "description": "Bad Request: message to edit not found"}),
                                     content_type="application/json")
        markup = params.get("reply_markup") or {}
        if markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    async def _answerCallbackQuery(self, params: dict) -> bool:  # noqa: N802
        return True

    async def _setMyCommands(self, params: dict) -> bool:  # noqa: N802
        return True

    async def _deleteWebhook(self, params: dict) -> bool:  # noqa: N802
        self.webhook = None
        return True

    async def _setWebhook(self, params: dict) -> bool:  # noqa: N802
        self.webhook = params
        return True

    async def _getWebhookInfo(self, params: dict) -> dict:  # noqa: N802
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}

    async def _close(self, params: dict) -> bool:
        return True
