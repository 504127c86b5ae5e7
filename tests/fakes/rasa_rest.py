"""A local stand-in for Rasa's REST channel (``POST /webhooks/rest/webhook``) and ``/status``:
it records what it received and echoes the text, with one button, as Rasa would answer."""

from __future__ import annotations

from aiohttp import web


def rasa_rest_app(received: list[dict]) -> web.Application:
    """The stand-in; every message body it gets is appended to ``received``."""

    async def webhook(request: web.Request) -> web.Response:
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
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_get("/status", status)
    return app
