"""Talks to the Rasa servers' gateway channel; returns channel-neutral messages.

Rasa scales by replicas: ``RASA_URL`` may list several (comma-separated), all on the same
tracker and lock stores (Redis, endpoints.yml), so any replica can take any conversation
and the lock store keeps each conversation's turns in order. A conversation goes to the
replica its sender id hashes to (the same one every time, while it answers); one that
refuses connections is skipped. A model promotion is loaded into every replica.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from common.settings import Settings
from common.text import nfc

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Button:
    """An option the citizen can pick: shown ``title``, sent back ``payload``."""

    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    """One reply of the assistant, before a channel renders it."""

    text: str = ""
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    request_location: bool = False  # the channel should offer a "share my location" control
    handoff: bool = False  # the assistant hands the conversation to staff (the gateway acts; not shown)
    awaits_code: bool = False  # the assistant asks for a dossier code: the next bare code answers it (SMS)

    def to_json(self) -> dict[str, Any]:
        """The web chat's JSON form."""
        return {"text": self.text, "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
                "request_location": self.request_location}


CHANNEL_PATH = "/webhooks/gateway/webhook"


class RasaUnavailable(Exception):
    """Rasa did not answer."""


class RasaClient:
    """Sends a citizen's message to Rasa as ``<channel>:<id>`` and parses the replies."""

    def __init__(self, base_url: str, timeout_s: float = 30.0, session: aiohttp.ClientSession | None = None,
                 token: str = "", channel_token: str = ""):
        self.base_urls = [u.strip().rstrip("/") for u in base_url.split(",") if u.strip()] or [base_url]
        self.base_url = self.base_urls[0]
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session = session
        # Rasa's HTTP API wants ?token= (its auth token: staff tools); the gateway channel, which
        # takes citizens' messages, wants the gateways' own token (rasa_server/channel.py).
        self.api_params = {"token": token}
        self._channel_headers = {"Authorization": f"Bearer {channel_token}"}

    @classmethod
    def from_settings(cls, settings: Settings) -> RasaClient:
        return cls(settings.rasa_url, settings.rasa_timeout_s, token=settings.rasa_token,
                   channel_token=settings.rasa_channel_token)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()

    async def send(self, sender_id: str, text: str, metadata: dict | None = None) -> list[BotMessage]:
        """Deliver one message and return the assistant's replies.

        Raises:
            RasaUnavailable: Rasa could not be reached or failed.
        """
        # The sender travels in the metadata too: the NLU inbox records who (which channel) asked.
        body = {"sender": sender_id, "message": nfc(text), "metadata": {**(metadata or {}), "sender": sender_id}}
        for url in self.replicas_for(sender_id):
            try:
                async with self._http().post(f"{url}{CHANNEL_PATH}", json=body, headers=self._channel_headers) as resp:
                    if resp.status != 200:
                        raise RasaUnavailable(f"HTTP {resp.status}")
                    data = await resp.json(content_type=None)
                break
            except aiohttp.ClientConnectorError as exc:  # never reached: the next replica may take the turn
                failure: Exception = exc
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # it may have run the turn: no second try
                raise RasaUnavailable(repr(exc)) from exc
        else:
            raise RasaUnavailable(repr(failure)) from failure
        messages = [parse_message(m) for m in data or []]
        return [m for m in messages if m.text or m.buttons]

    def replicas_for(self, sender_id: str) -> list[str]:
        """The replicas in the order ``sender_id``'s turns try them: its own first."""
        first = zlib.crc32(sender_id.encode()) % len(self.base_urls)
        return self.base_urls[first:] + self.base_urls[:first]

    async def resume(self, sender_id: str) -> None:
        """Give a conversation paused for a staff member back to the assistant.

        Raises:
            RasaUnavailable: Rasa could not be reached or refused.
        """
        await self._api("POST", f"/conversations/{quote(sender_id, safe='')}/tracker/events", 200,
                        json={"event": "resume"})

    async def set_slot(self, sender_id: str, name: str, value: str) -> None:
        """Record ``name = value`` in the conversation (a fact learnt outside Rasa, e.g. a keyword lookup).

        Raises:
            RasaUnavailable: Rasa could not be reached or refused.
        """
        await self._api("POST", f"/conversations/{quote(sender_id, safe='')}/tracker/events", 200,
                        json={"event": "slot", "name": name, "value": value})

    async def tracker(self, sender_id: str) -> dict[str, Any]:
        """The conversation's tracker (``GET /conversations/{id}/tracker``: events, slots).

        Raises:
            RasaUnavailable: Rasa could not be reached or refused.
        """
        body = await self._api("GET", f"/conversations/{quote(sender_id, safe='')}/tracker", 200)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise RasaUnavailable(repr(exc)) from exc

    async def model_file(self) -> str:
        """The model file the server has loaded (its ``/status``).

        Raises:
            RasaUnavailable: Rasa could not be reached or refused.
        """
        try:
            return str(json.loads(await self._api("GET", "/status", 200)).get("model_file", ""))
        except ValueError as exc:
            raise RasaUnavailable(repr(exc)) from exc

    async def load_model(self, path: str, timeout_s: float = 300, restore: str = "") -> None:
        """``PUT /model`` on every replica, one after the other (the others keep answering meanwhile):
        each loads ``path`` while its current model answers, then swaps.

        When a replica refuses, the replicas already switched load ``restore`` (the model live
        before) again, so the replicas never answer with two models; a replica that cannot take
        ``restore`` back either is logged.

        Raises:
            RasaUnavailable: a replica could not be reached or refused the model.
        """
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        switched: list[str] = []
        for url in self.base_urls:
            try:
                await self._api("PUT", "/model", 204, base_url=url, json={"model_file": path}, timeout=timeout)
            except RasaUnavailable:
                for done in switched if restore else ():
                    try:
                        await self._api("PUT", "/model", 204, base_url=done, json={"model_file": restore},
                                        timeout=timeout)
                    except RasaUnavailable as exc:
                        logger.error("Rasa replica %d kept the new model: restoring failed (%s)",
                                     self.base_urls.index(done), exc)
                raise
            switched.append(url)

    async def _api(self, method: str, path: str, expected: int, base_url: str = "", **kwargs: Any) -> bytes:
        """One call to a replica's HTTP API (with the token; the first replica by default): the body,
        or RasaUnavailable."""
        try:
            async with self._http().request(method, f"{base_url or self.base_url}{path}", params=self.api_params,
                                            **kwargs) as resp:
                body = await resp.read()
                if resp.status != expected:
                    raise RasaUnavailable(f"HTTP {resp.status}: {body[:300]!r}")
                return body
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RasaUnavailable(repr(exc)) from exc

    async def is_ready(self) -> bool:
        """True when a replica answers and has a model loaded."""
        for url in self.base_urls:
            try:
                async with self._http().get(f"{url}/status", params=self.api_params) as resp:
                    if resp.status == 200:
                        return True
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
        return False


def parse_message(raw: dict[str, Any]) -> BotMessage:
    """A Rasa REST reply as a :class:`BotMessage` (custom messages carry ``text`` and flags)."""
    custom = raw.get("custom") if isinstance(raw.get("custom"), dict) else {}
    if custom:
        raw = {**custom, "buttons": custom.get("buttons") or raw.get("buttons")}
    buttons = tuple(
        Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
        for b in raw.get("buttons") or []
    )
    return BotMessage(text=str(raw.get("text") or ""), buttons=buttons,
                      request_location=bool(raw.get("request_location")), handoff=bool(raw.get("handoff")),
                      awaits_code=bool(raw.get("awaits_code")))
