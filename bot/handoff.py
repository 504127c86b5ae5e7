"""The gateway's side of a handoff: routing, staff replies on the citizen's channel, timeouts.

The state lives in Redis (``common/handoff.py``); this service acts on it:

- :meth:`Handoffs.intercept` sees every chat message before the bot does: a
  handed-off citizen's message goes to the handoff log (not to Rasa), except one
  holding a dossier code or a button's payload (``/...``), which the bot still
  answers; answers to the
  satisfaction question are stored here.
- :meth:`Handoffs.begin` runs when the assistant's reply says "hand over"
  (``action_gap_can_bo`` in office hours on chat).
- staff replies, the end and the timeout are delivered on the citizen's channel:
  web through the push store, Telegram and Zalo through their adapters, SMS
  through the MT queue.
- a background loop (every replica; one wins each) times out conversations whose
  citizen waited ``HANDOFF_TIMEOUT_MIN`` for a staff reply.

Command line: ``python -m bot.handoff list``, ``python -m bot.handoff release <sender>``
(ends it without telling the citizen) and ``python -m bot.handoff resume <sender>``
(a conversation that the previous version paused in Rasa).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from redis import exceptions as redis_errors

from bot.push import PushStore
from clients.rasa import BotMessage, Button, RasaClient, RasaUnavailable
from common import handoff, sms_options
from common.handoff import Claim, EndRefused, Handoff
from common.privacy import mask_person_name, pseudonym, redact
from common.settings import Settings, get_settings
from common.streams import queue_sms
from common.tasks import stop_loop
from content import texts

logger = logging.getLogger(__name__)

Deliver = Callable[[str, list[BotMessage]], Awaitable[None]]  # (id within the channel, messages)
CHECK_EVERY_S = 2.0
NAME_SLOTS = ("cp_ten",)  # slots holding a person's name: masked wherever the name appears
ADDRESS_SLOTS = ("cp_dia_chi",)


class Undeliverable(Exception):
    """The citizen's channel did not take the message."""


class NotYours(Exception):
    """The conversation is not held by this staff member (or no longer handed off)."""


def one_by_one(send: Callable[[str, BotMessage], Awaitable[None]]) -> Deliver:
    """A channel that sends one message per call (Zalo) as a :data:`Deliver`."""
    async def deliver(user: str, messages: list[BotMessage]) -> None:
        for message in messages:
            await send(user, message)
    return deliver


@dataclass(frozen=True)
class Line:
    """One turn of a transcript: ``by`` is citizen, bot, staff or system."""

    at: float
    by: str
    text: str
    note: str = ""  # the intent and confidence of a citizen's message; the staff member's name
    intent: str = ""  # a citizen's message the assistant parsed: what it understood
    confidence: float = 0.0


class Handoffs:
    """Acts on the handoff state for one gateway; ``senders`` are the chat channels it can reach."""

    def __init__(self, settings: Settings, redis: Any, push: PushStore, rasa: RasaClient,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.redis = redis
        self.push = push
        self.rasa = rasa
        self.clock = clock
        self.senders: dict[str, Deliver] = {"sms": self._sms}
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    @property
    def timeout_s(self) -> float:
        return self.settings.handoff_timeout_min * 60

    # -- the citizen's messages ---------------------------------------------------------

    async def intercept(self, sender: str, text: str) -> list[BotMessage] | None:
        """The replies when the message is not the bot's (handed off, a satisfaction answer,
        leaving the queue); None when the bot should answer it (:func:`common.handoff.route`)."""
        said = await handoff.route(self.redis, sender, text, self.clock(), self.timeout_s)
        return None if said is None else [BotMessage(texts.text(k)) for k in said]

    async def begin(self, sender: str, replies: list[BotMessage]) -> list[BotMessage]:
        """The assistant handed the conversation over (``replies`` say so): queue it, once. The
        replies to send: these, or the hotline instead of the promise when Redis is down."""
        if await handoff.hand_over(self.redis, sender, self.clock(), self.timeout_s):
            return replies
        notice = BotMessage(texts.text("handoff.unavailable", hotline=self.settings.hotline))
        return [*(m for m in replies if not m.handoff), notice]

    async def is_handed_off(self, sender: str) -> bool:
        try:
            return await self.redis.exists(handoff.state_key(sender)) == 1
        except (redis_errors.ConnectionError, redis_errors.TimeoutError):
            return False

    # -- staff ------------------------------------------------------------------------

    async def claim(self, sender: str, staff: str) -> Claim:
        before = await handoff.get(self.redis, sender)
        result = await handoff.claim(self.redis, sender, staff, self.clock())
        if result is Claim.CLAIMED and before is not None and before.state == handoff.WAITING:
            await self._tell(sender, [BotMessage(texts.text("handoff.claimed"))])
        return result

    async def reply(self, sender: str, staff: str, text: str) -> None:
        """Deliver a staff reply on the citizen's channel, then log it.

        Raises:
            NotYours: ``staff`` does not hold the conversation.
            Undeliverable: the channel refused it (nothing logged; the staff member may retry).
        """
        current = await handoff.get(self.redis, sender)
        if current is None or current.state != handoff.CLAIMED or current.staff != staff:
            raise NotYours(sender)
        await self.deliver(sender, [BotMessage(text)], "staff")
        if not await handoff.staff_said(self.redis, sender, staff, text, self.clock(),
                                        self.settings.handoff_idle_min * 60):
            raise NotYours(sender)  # ended in between: delivered, but not logged as part of it
        logger.info("staff %s replied to %s", staff, pseudonym(sender))

    async def end(self, sender: str, staff: str, any_staff: bool = False) -> Handoff:
        """"Kết thúc và trả lại cho trợ lý ảo": the next citizen message is the bot's.

        Raises:
            EndRefused: not handed off, or held by someone else (unless ``any_staff``).
        """
        ended = await handoff.end(self.redis, sender, self.clock(), f"Cán bộ {staff} trả lại cho trợ lý ảo.",
                                  staff=staff, mode="any" if any_staff else "staff")
        await self._after(ended, [BotMessage(texts.text("handoff.ended"))])
        logger.info("staff %s gave %s back to the assistant", staff, pseudonym(sender))
        return ended

    async def check_timeouts(self) -> int:
        """End every conversation whose citizen has waited too long for staff; how many."""
        done = 0
        now = self.clock()
        for sender in await handoff.overdue(self.redis, now):
            try:
                ended = await handoff.end(self.redis, sender, now, "Hết thời gian chờ cán bộ trả lời.",
                                          mode="timeout")
            except EndRefused:  # answered meanwhile, or another replica took it
                continue
            if ended.answered:  # the citizen went quiet after the staff's answer
                await self._after(ended, [BotMessage(texts.text("handoff.idle_ended"))])
            else:
                text = texts.text("handoff.timed_out", hotline=self.settings.hotline)
                ticket = Button(texts.text("handoff.button.ticket"), handoff.TICKET_PAYLOAD)
                await self._after(ended, [BotMessage(text, (ticket,))])
            logger.info("handoff of %s timed out (%s)", pseudonym(sender), "idle" if ended.answered else "no reply")
            done += 1
        return done

    async def _after(self, ended: Handoff, messages: list[BotMessage]) -> None:
        """Tell the citizen the assistant is back; ask how the staff member did if one wrote."""
        if ended.replied:
            await handoff.ask_csat(self.redis, ended.sender, ended.staff)
            buttons = tuple(Button(label, payload) for payload, label in
                            ((p, texts.text(handoff.CSAT_LABEL_KEYS[s])) for p, s in handoff.CSAT_PAYLOADS.items()))
            messages = [*messages, BotMessage(texts.text("handoff.csat.question"), buttons)]
        await self._tell(ended.sender, messages)

    # -- delivery ---------------------------------------------------------------------

    async def deliver(self, sender: str, messages: list[BotMessage], kind: str = "staff") -> None:
        """Send ``messages`` to ``sender`` on their channel.

        Raises:
            Undeliverable: no way to reach that channel from here, or it refused.
        """
        channel, _, user = sender.partition(":")
        try:
            if channel == "web":
                await self.push.push(user, messages, kind)
            elif channel in self.senders:
                await self.senders[channel](user, messages)
            else:
                raise Undeliverable(f"{channel} is not served by this gateway")
        except Undeliverable:
            raise
        except Exception as exc:
            logger.warning("message to %s not delivered: %r", pseudonym(sender), exc)
            raise Undeliverable(repr(exc)) from exc

    async def _tell(self, sender: str, messages: list[BotMessage]) -> None:
        """Like :meth:`deliver` for what the citizen is told about the handoff itself (logged, not raised)."""
        try:
            await self.deliver(sender, messages, "notice")
        except Undeliverable:
            pass

    async def _sms(self, msisdn: str, messages: list[BotMessage]) -> None:
        """One SMS for what is said at once (the buttons numbered, as the SMS gateway renders the
        assistant's replies, so "1" answers the satisfaction question); folded and capped by its sender."""
        text = await sms_options.render(self.redis, msisdn, messages, texts.text("sms.options_hint"))
        if text:
            await queue_sms(self.redis, msisdn, text, origin="handoff")

    # -- the transcript ------------------------------------------------------------------

    async def transcript(self, sender: str, masked: bool = True, limit: int = 200) -> list[Line]:
        """Rasa's tracker (what the citizen and the bot said) merged with the handoff log (what
        the citizen said to staff and staff answered), oldest first; names, addresses, phone and
        ID numbers masked unless ``masked`` is False. A Rasa outage leaves the handoff log."""
        lines: list[Line] = []
        names: set[str] = set()
        addresses: set[str] = set()
        try:
            tracker = await self.rasa.tracker(sender)
        except RasaUnavailable:
            logger.warning("tracker of %s unavailable", pseudonym(sender))
            tracker = {}
        for event in tracker.get("events") or []:
            kind = event.get("event")
            if kind == "user" and event.get("text"):
                intent = (event.get("parse_data") or {}).get("intent") or {}
                name, confidence = str(intent.get("name") or ""), float(intent.get("confidence") or 0)
                note = f"{name} ({confidence:.2f})" if name else ""
                lines.append(Line(float(event.get("timestamp") or 0), "citizen", event["text"], note, name,
                                  confidence))
            elif kind == "bot":
                custom = (event.get("data") or {}).get("custom") or {}
                text = event.get("text") or (custom.get("text") if isinstance(custom, dict) else "")
                if text:
                    lines.append(Line(float(event.get("timestamp") or 0), "bot", str(text)))
            elif kind == "slot" and isinstance(event.get("value"), str):
                if event.get("name") in NAME_SLOTS:
                    names.add(event["value"])
                elif event.get("name") in ADDRESS_SLOTS:
                    addresses.add(event["value"])
        for entry in await handoff.log(self.redis, sender):
            lines.append(Line(entry.at, entry.by, entry.text, entry.staff if entry.by == "staff" else ""))
        lines.sort(key=lambda line: line.at)
        lines = lines[-limit:]
        if masked:
            lines = [dataclasses.replace(x, text=mask_known(x.text, names, addresses)) for x in lines]
        return lines

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="handoff-timeouts")

    async def stop(self) -> None:
        await stop_loop(self._task, self._stopping)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.check_timeouts()
            except redis_errors.ConnectionError:
                logger.warning("handoff timeouts: Redis unreachable, retrying")
            except Exception:
                logger.exception("handoff timeouts: unexpected error, continuing")
            try:
                await asyncio.wait_for(self._stopping.wait(), CHECK_EVERY_S)
            except asyncio.TimeoutError:
                pass


HANDOFFS_KEY = web.AppKey("handoffs", Handoffs)


def mask_known(text: str, names: set[str], addresses: set[str]) -> str:
    """Mask the names and addresses the conversation gave (form answers) wherever they appear,
    then phone and ID numbers."""
    for name in sorted(names, key=len, reverse=True):
        if name.strip():
            text = re.sub(re.escape(name.strip()), mask_person_name(name), text, flags=re.IGNORECASE)
    for address in sorted(addresses, key=len, reverse=True):
        if address.strip():
            text = re.sub(re.escape(address.strip()), "<ĐỊA CHỈ>", text, flags=re.IGNORECASE)
    return redact(text)


# -- command line ------------------------------------------------------------------------

async def _main(args: argparse.Namespace) -> None:
    settings = get_settings()
    redis = aioredis.from_url(settings.redis_url)
    rasa = RasaClient.from_settings(settings)
    try:
        if args.command == "list":
            active = await handoff.active(redis)
            for h in active:
                print(f"{h.since:.0f}  {h.state:8}  {h.staff or '-':16}  {h.sender}")
            print(f"{len(active)} conversation(s) with staff or waiting for them")
        elif args.command == "release":
            try:
                await handoff.end(redis, args.sender, time.time(), "Trả lại cho trợ lý ảo (dòng lệnh).", mode="any")
                print(f"{args.sender}: back with the assistant (the citizen was not told)")
            except EndRefused:
                print(f"{args.sender}: not handed off")
        else:
            await rasa.resume(args.sender)
            print(f"{args.sender}: resumed in Rasa")
    finally:
        await rasa.close()
        await redis.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="conversations with staff or waiting for them")
    for name, text in (("release", "give a conversation back to the assistant"),
                       ("resume", "resume a conversation paused in Rasa by the previous version")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("sender", help="sender id, e.g. telegram:123456 or web:<session>")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
