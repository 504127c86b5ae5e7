"""Shared plumbing of the actions: the dossier client and the settings."""

from __future__ import annotations

import abc
import asyncio
import logging
from typing import Any

import redis.asyncio as aioredis
from rasa_sdk import Action, Tracker

from common.settings import Settings, get_settings
from dossier_api.client import DossierClient

logger = logging.getLogger(__name__)

_client: DossierClient | None = None
_client_loop: asyncio.AbstractEventLoop | None = None
_redis: Any = None
_redis_loop: asyncio.AbstractEventLoop | None = None


def redis_client() -> Any:
    """The action server's Redis client (cache, subscriptions), one per running loop."""
    global _redis, _redis_loop
    loop = asyncio.get_running_loop()
    if _redis is None or _redis_loop is not loop:
        _redis = aioredis.from_url(get_settings().redis_url)
        _redis_loop = loop
    return _redis


def dossier_client() -> DossierClient:
    """The action server's dossier client, created on first use in the running loop."""
    global _client, _client_loop
    loop = asyncio.get_running_loop()
    if _client is None or _client_loop is not loop:
        settings = get_settings()
        cache = redis_client() if settings.redis_url else None
        _client = DossierClient.from_settings(settings, cache)
        _client_loop = loop
    return _client


def channel_of(tracker: Tracker) -> str:
    """The channel name from a sender id of the form ``<channel>:<id>``."""
    sender = tracker.sender_id or ""
    return sender.split(":", 1)[0] if ":" in sender else "khac"


IDEMPOTENCY_KEY = "idempotency_key"  # metadata a channel sets from its update or callback id


def idempotency_key(tracker: Tracker) -> str | None:
    """The key a channel gave the latest message (so an effect it asks for happens once), if any."""
    key = (tracker.latest_message.get("metadata") or {}).get(IDEMPOTENCY_KEY)
    return str(key)[:200] if key else None


def latest_entity(tracker: Tracker, entity: str) -> str | None:
    """The value of ``entity`` in the latest user message, if any."""
    return next(tracker.get_latest_entity_values(entity), None)


def last_buttons_ask(tracker: Tracker, intent: str) -> bool:
    """Whether the bot's last message had a button for ``intent`` (its payload ``/<intent>...``): it offered
    days to book, asked for a rating..."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return any(str(b.get("payload") or "").startswith(f"/{intent}")
                       for b in (event.get("data") or {}).get("buttons") or [])
    return False


def said_last_turn(tracker: Tracker, prefix: str) -> bool:
    """Whether one of the bot's messages since the citizen's previous message starts with ``prefix``
    (a turn may say several things: a rule, then who decides it)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return False
            seen_user = True
        elif seen_user and event.get("event") == "bot" and str(event.get("text") or "").startswith(prefix):
            return True
    return False


def last_bot_text(tracker: Tracker) -> str:
    """What the bot said last before the latest user message ("" when nothing)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return ""
            seen_user = True
        elif seen_user and event.get("event") == "bot":
            custom = (event.get("data") or {}).get("custom") or {}
            return event.get("text") or (custom.get("text") if isinstance(custom, dict) else "") or ""
    return ""


class DossierAction(Action, abc.ABC):
    """Base of actions that talk to the dossier system (abstract: not registered)."""

    @abc.abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""

    @property
    def settings(self) -> Settings:
        """The process-wide settings."""
        return get_settings()

    @property
    def client(self) -> DossierClient:
        """The shared dossier client."""
        return dossier_client()
