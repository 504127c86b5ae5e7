"""Rasa's only input channel: the gateways, authenticated.

Rasa's REST channel takes a message for any sender id from anyone who reaches
the port, so whoever could connect could speak as ``sms:<msisdn>`` (unsubscribe
a citizen, cancel their appointment). This channel answers only a caller that
shows the gateways' token (``Authorization: Bearer <RASA_CHANNEL_TOKEN>``),
and only a gateway sets the sender id, after authenticating the citizen on
its own channel (DESIGN.md, trust boundaries). It also bounds what one call
may carry and never logs a message's text.

credentials.yml names it ``rasa_server.channel.GatewayInput``; its URL is
``/webhooks/gateway/webhook``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from common.privacy import pseudonym

logger = logging.getLogger(__name__)

MAX_TEXT = 5000  # characters; the gateways cut far below (chat 1,000, a long SMS of a few segments)
MAX_SENDER = 128
MAX_METADATA_BYTES = 8 * 1024


def authorised(header: str, token: str) -> bool:
    """True when ``header`` is ``Bearer <token>`` (constant-time), never for an empty token."""
    return bool(token) and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def parse_call(body: Any) -> tuple[str, str, dict[str, Any]] | None:
    """``(sender, text, metadata)`` of a well-formed call, else None."""
    if not isinstance(body, dict):
        return None
    sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata") or {}
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER or ":" not in sender:
        return None
    if not isinstance(text, str) or len(text) > MAX_TEXT or not isinstance(metadata, dict):
        return None
    if len(repr(metadata)) > MAX_METADATA_BYTES:
        return None
    return sender, text, metadata


class GatewayInput(InputChannel):
    """Messages from the chat and SMS gateways, which show a shared token."""

    def __init__(self, token: str) -> None:
        self.token = token

    @classmethod
    def name(cls) -> str:
        return "gateway"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GatewayInput:
        token = str((credentials or {}).get("token") or os.environ.get("RASA_CHANNEL_TOKEN", ""))
        if not token:
            raise ValueError("RASA_CHANNEL_TOKEN is not set: the gateway channel would accept nobody")
        return cls(token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("gateway_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not authorised(request.headers.get("Authorization", ""), self.token):
                return response.json({"error": "unauthorized"}, status=401)
            try:
                call = parse_call(request.json)
            except Exception:  # sanic raises on a body that is not JSON
                call = None
            if call is None:
                return response.json({"error": "bad_request"}, status=400)
            sender, text, metadata = call
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(),
                                                 metadata=metadata))
            except asyncio.CancelledError:
                logger.error("message of %s timed out", pseudonym(sender))
            except Exception:
                logger.exception("message of %s failed", pseudonym(sender))
            return response.json(collector.messages)

        return webhook
