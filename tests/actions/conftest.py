"""Actions run against a real reference API on a local port, with real trackers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from rasa_sdk import Tracker

import actions.base
from common.settings import get_settings
from dossier_api.server import create_app


@pytest.fixture
async def api_url(seeded_db: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    server = TestServer(create_app(str(seeded_db)))
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    monkeypatch.setenv("DOSSIER_API_URL", url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE", "1022")
    # nobody on duty unless a test says so: a reply must not depend on the hour the suite runs
    monkeypatch.setenv("HANDOFF_HOURS", "")
    get_settings.cache_clear()
    monkeypatch.setattr(actions.base, "_client", None)
    yield url
    if actions.base._client is not None:
        await actions.base._client.close()
    await server.close()
    get_settings.cache_clear()


def make_tracker(
    text: str,
    intent: str,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
    sender_id: str = "web:test-session",
    extracted: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker whose latest user message is ``text`` classified as ``intent``;
    ``extracted`` slots were set from that message (what a form validates)."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or []}
    events = [{"event": "user", "text": text, "parse_data": latest}]
    events += [{"event": "slot", "name": k, "value": v} for k, v in (extracted or {}).items()]
    return Tracker(
        sender_id=sender_id,
        slots={**(slots or {}), **(extracted or {})},
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )
