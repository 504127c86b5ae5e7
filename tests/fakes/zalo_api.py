"""A local stand-in for the Zalo OA Open API and OAuth server.

Wire format as documented by Zalo for Official Accounts:
``POST /v3.0/oa/message/cs`` with header ``access_token`` and body
``{"recipient": {"user_id": ...}, "message": {...}}`` answers
``{"error": 0, "message": "Success", "data": {"message_id": ..., "user_id": ...}}``
or a negative ``error`` (-216 invalid access token, -32 rate limit, -230 outside
the interaction window...). ``POST /v4/oa/access_token`` (form: refresh_token,
app_id, grant_type=refresh_token; header ``secret_key``) answers a new
``access_token``/``refresh_token`` pair; a refresh token works once.
A send can be scripted to fail: an error code (answered in Zalo's JSON), or a raw
HTTP answer ``(status, text)`` such as the HTML 502 page of a proxy in front of
the API. Also signs webhook events the way Zalo does, in the shapes Zalo posts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from typing import Any

from aiohttp import web

from tests.fakes import Outbox, SendsMessages

APP_ID = "4321098765432109876"
OA_ID = "1122334455667788990"
OA_SECRET = "oa-secret-for-tests"
APP_SECRET = "app-secret-for-tests"


class FakeZalo(SendsMessages):
    def __init__(self) -> None:
        self.access_token = "access-1"
        self.refresh_token = "refresh-1"
        self.refreshes = 0
        self.outbox = Outbox("messages sent by the OA")  # delivered message bodies (with recipient)
        self.attempts = 0
        self.scripted: list[int | tuple[int, str]] = []  # the next sends' answers: error codes or raw pages
        self._tokens = itertools.count(2)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/cs", self._send)
        app.router.add_post("/v4/oa/access_token", self._refresh)
        return app

    def expire_token(self) -> None:
        """The current access token stops working (as after its 25 hours)."""
        self.access_token = f"access-{next(self._tokens)}-unissued"

    async def _send(self, request: web.Request) -> web.Response:
        self.attempts += 1
        body = await request.json()
        if request.headers.get("access_token") != self.access_token:
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        if self.scripted:
            code = self.scripted.pop(0)
            if isinstance(code, tuple):
                status, page = code
                return web.Response(text=page, status=status, content_type="text/html")
            return web.json_response({"error": code, "message": f"scripted error {code}"})
        self.outbox.add(body)
        data = {"message_id": f"m{len(self.sent)}", "user_id": body["recipient"]["user_id"]}
        return web.json_response({"error": 0, "message": "Success", "data": data})

    async def _refresh(self, request: web.Request) -> web.Response:
        form = await request.post()
        if request.headers.get("secret_key") != APP_SECRET or form.get("app_id") != APP_ID:
            return web.json_response({"error": -14001, "error_name": "Invalid app", "error_description": "bad app"})
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token",
                                      "error_description": "refresh token is invalid or already used"})
        n = next(self._tokens)
        self.refreshes += 1
        self.access_token, self.refresh_token = f"access-{n}", f"refresh-{n}"
        return web.json_response({"access_token": self.access_token, "refresh_token": self.refresh_token,
                                  "expires_in": "90000"})

    def sent_to(self, user_id: str) -> list[dict]:
        return [m["message"] for m in self.sent if m["recipient"]["user_id"] == user_id]


_msg_ids = itertools.count(1)


def event(name: str, user_id: str, timestamp_ms: int | None = None, **fields: Any) -> dict:
    """A webhook event as Zalo posts it."""
    ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    body: dict[str, Any] = {"app_id": APP_ID, "user_id_by_app": f"app-{user_id}", "event_name": name,
                            "timestamp": ts, **fields}
    if name == "follow":
        body.update(oa_id=OA_ID, follower={"id": user_id}, source="testing")
    else:
        body.update(sender={"id": user_id}, recipient={"id": OA_ID})
    return body


def text_event(user_id: str, text: str, msg_id: str | None = None, **kw: Any) -> dict:
    return event("user_send_text", user_id, message={"msg_id": msg_id or f"msg{next(_msg_ids)}", "text": text}, **kw)


def location_event(user_id: str, latitude: float, longitude: float, shape: str = "coordinates") -> dict:
    """A shared location. ``shape``: ``coordinates`` (``attachments[].payload.coordinates``, strings,
    as documented), ``payload`` (the numbers right in the attachment's payload) or ``location``
    (``message.location`` with ``lat``/``long``)."""
    message: dict[str, Any] = {"msg_id": f"msg{next(_msg_ids)}"}
    if shape == "coordinates":
        coords = {"latitude": str(latitude), "longitude": str(longitude)}
        message["attachments"] = [{"type": "location", "payload": {"coordinates": coords}}]
    elif shape == "payload":
        message["attachments"] = [{"type": "location", "payload": {"latitude": latitude, "longitude": longitude}}]
    else:
        message["location"] = {"lat": latitude, "long": longitude}
    return event("user_send_location", user_id, message=message)


def signed(body: dict, secret: str = OA_SECRET) -> tuple[bytes, dict[str, str]]:
    """The raw body and the headers Zalo would send with it."""
    raw = json.dumps(body, ensure_ascii=False).encode()
    mac = hashlib.sha256(APP_ID.encode() + raw + body["timestamp"].encode() + secret.encode()).hexdigest()
    return raw, {"X-ZEvent-Signature": f"mac={mac}", "Content-Type": "application/json"}
