"""A local stand-in for Rasa's gateway channel (``POST /webhooks/gateway/webhook``, the REST
channel's wire format behind the gateways' bearer token: rasa_server/channel.py) and ``/status``:
it records what it received and echoes the text, with one button, as Rasa would answer."""

from __future__ import annotations

from aiohttp import web

from clients.rasa import CHANNEL_PATH

CHANNEL_TOKEN = "gateway-channel-token"  # what the tests' gateways are given as RASA_CHANNEL_TOKEN


def rasa_rest_app(received: list[dict]) -> web.Application:
    """The stand-in; every message body it gets is appended to ``received``."""

    async def webhook(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {CHANNEL_TOKEN}":
            return web.json_response({"error": "unauthorized"}, status=401)
        body = await request.json()
        received.append(body)
        return web.json_response([
            {"recipient_id": body["sender"], "text": f"echo: {body['message']}"},
            {
                "recipient_id": body["sender"],
                "text": "Chọn:",
                "buttons": [{"title": "Hài lòng", "payload": "/danh_gia"}],
            },
        ])

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"model_file": "x.tar.gz"})

    app = web.Application()
    app.router.add_post(CHANNEL_PATH, webhook)
    app.router.add_get("/status", status)
    return app
