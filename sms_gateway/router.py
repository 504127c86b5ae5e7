"""What to answer an SMS: keywords answered here, free text by the assistant.

Abuse limits: a number may look up ``rate_limit_per_min`` times a minute (one
polite reply when over, then silence); lookups of codes that do not exist are
limited harder (``unknown_code_limit_per_hour``), against code enumeration.

Live handoff: free text of a number handed to staff goes to the handoff log, not
to the assistant (:func:`common.handoff.route`, as on chat: a keyword or a message
holding a dossier code is still answered); a reply of the assistant that hands
over queues the conversation for the console. Staff replies, the give-back and
the timeout reach the citizen from the chat gateway through the MT queue.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from clients.rasa import BotMessage, RasaClient, RasaUnavailable
from common import handoff, news, sms_keys, sms_options, stats, subscriptions
from common.codes import find_codes
from common.dates import local_now
from common.privacy import mask_phone
from common.ratelimit import UserRateLimit, Verdict
from common.settings import Settings
from common.stats import Count
from common.text import as_str
from content import news as news_texts
from content import replies, texts
from dossier_api.client import DossierApiError, DossierApiUnavailable, DossierClient, DossierNotFound, cache_key
from dossier_api.models import Dossier, RatingIn
from sms_gateway.config import SmsSettings
from sms_gateway.keywords import SHORT_CODE, Command, Kind, parse_sms

logger = logging.getLogger(__name__)

MAX_CHAT_TEXT = 1000
MAX_CODES = 3  # codes answered from one status SMS


def help_text() -> str:
    """The keyword help of the short code (``HD``, or an empty SMS)."""
    return texts.text("sms.help", short_code=SHORT_CODE)


PARSED_CACHE_SIZE = 1024  # cached dossiers kept parsed (keyed by their JSON)


@dataclass
class Ahead:
    """What answering one MO needs from Redis, read with the rest of its batch (:meth:`Router.read_ahead`)."""

    command: Command
    count: int | None  # the sender's rate-limit count, this message counted
    unknown: int = 0  # unknown codes the sender tried this hour
    dossiers: dict[str, Dossier] = field(default_factory=dict)  # cached dossiers by code
    counts: list[Count] = field(default_factory=list)  # dashboard counts, written with the reply
    looked_up: str | None = None  # the dossier a status lookup answered, remembered with the reply
    awaits_code: bool = False  # the assistant's last reply asked this number for a dossier code


class Router:
    """Turns one MO text into the reply text (or None: stay silent)."""

    def __init__(self, redis: Any, dossiers: DossierClient, rasa: RasaClient,
                 settings: Settings, sms: SmsSettings) -> None:
        self.redis = redis
        self.dossiers = dossiers
        self.rasa = rasa
        self.settings = settings
        self.sms = sms
        self.limit = UserRateLimit(redis, sms.rate_limit_per_min)
        self._parsed_cache: dict[bytes, Dossier] = {}

    async def read_ahead(self, messages: list[tuple[str, str]],
                         commands: list[Command] | None = None) -> list[Ahead]:
        """For a batch of ``(msisdn, text)`` (``commands``: their :func:`parse_sms`, if already
        parsed): count each against its sender's rate limit and read what its answer needs
        (the sender's unknown codes, the cached dossier), in one transaction."""
        commands = commands or [parse_sms(text) for _, text in messages]
        pipe = self.redis.pipeline(transaction=True)
        for msisdn, _ in messages:
            self.limit.queue_count(pipe, f"sms:{msisdn}")
        keys = [sms_keys.unknown_codes(msisdn) for msisdn, _ in messages]
        keys += [sms_keys.awaits_code(msisdn) for msisdn, _ in messages]
        keys += [cache_key(command.code) for command in commands if command.code]
        pipe.mget(keys)
        *counts, values = await pipe.execute()
        n = len(messages)
        unknown, awaiting, cached = values[:n], values[n:2 * n], iter(values[2 * n:])
        aheads = []
        for command, count, tried, awaits in zip(commands, counts[1::2], unknown, awaiting, strict=True):
            ahead = Ahead(command, int(count), int(tried or 0), awaits_code=bool(awaits))
            raw = next(cached) if command.code else None
            if raw:
                try:
                    ahead.dossiers[command.code] = self._parsed(raw)  # type: ignore[index]
                except ValueError:  # looked up again, through the client
                    logger.warning("unreadable cached dossier", exc_info=True)
            aheads.append(ahead)
        return aheads

    def _parsed(self, raw: bytes) -> Dossier:
        """The dossier a cached JSON holds; the same bytes are parsed once (the Redis cache
        still decides what is fresh: only the parsing is saved)."""
        dossier = self._parsed_cache.get(raw)
        if dossier is None:
            if len(self._parsed_cache) >= PARSED_CACHE_SIZE:
                self._parsed_cache.clear()
            dossier = self._parsed_cache[raw] = Dossier.parse_raw(raw)
        return dossier

    async def reply(self, msisdn: str, text: str | None, ahead: Ahead | None = None,
                    message_id: str | None = None) -> str | None:
        """The reply to ``text`` from ``msisdn``; None when the number is silenced (``ahead``: what
        :meth:`read_ahead` read for it, its rate-limit count included).

        ``message_id`` names the MO (its stream entry): an answer re-run after a crash carries the
        same idempotency key, so a ticket or a delivery request it asks for happens once."""
        if text is None:
            return texts.text("sms.unreadable")
        sender = f"sms:{msisdn}"
        verdict = await (self.limit.check(sender) if ahead is None else self.limit.verdict(sender, ahead.count))
        if verdict is not Verdict.ALLOW:
            return texts.text("limits.too_many_messages") if verdict is Verdict.TELL else None
        if not text.strip():
            return help_text()
        command = parse_sms(text) if ahead is None else ahead.command
        if command.kind is Kind.CHAT or (command.bare and await self._awaits_code(msisdn, ahead)):
            return await self._chat(msisdn, text, message_id)
        return await self._keyword(msisdn, command, text, ahead)

    async def _already_told(self, msisdn: str, what: str) -> bool:
        """True if the number was already told it is limited (told once per window)."""
        return not await self.redis.set(sms_keys.told(what, msisdn), 1, nx=True, ex=3600 if what == "unknown" else 60)

    async def _keyword(self, msisdn: str, command: Command, text: str = "", ahead: Ahead | None = None) -> str | None:
        if command.kind is Kind.HELP:
            return help_text()
        if command.error == "missing_code":
            keyword = command.kind.value
            return texts.text("sms.missing_code", keyword=keyword)
        if command.error == "invalid_code":
            return replies.invalid_code()
        if command.kind in (Kind.NEWS, Kind.NEWS_STOP):
            return await self._news(msisdn, command)
        if command.error == "invalid_level":
            return texts.text("sms.invalid_level")
        sender = f"sms:{msisdn}"
        if command.kind is Kind.UNSUBSCRIBE:
            dropped = await subscriptions.unsubscribe(self.redis, sender, command.code)
            if not dropped:
                return texts.text("sms.not_subscribed") if not command.code else (
                    texts.text("sms.not_subscribed_to", code=command.code))
            return texts.text("sms.unsubscribed", count=len(dropped))
        assert command.code is not None
        if await self._enumerating(msisdn, ahead):
            return None if await self._already_told(msisdn, "unknown") else texts.text("sms.enumeration_limited")
        try:
            dossier = await self._dossier(command.code, counted=command.kind is Kind.STATUS, ahead=ahead)
        except DossierNotFound:
            # Counted after the lookup, atomically: lookups handled concurrently cannot
            # all slip under the limit between a check and the count.
            if await self._count_unknown(msisdn) > self.sms.unknown_code_limit_per_hour:
                return None if await self._already_told(msisdn, "unknown") else texts.text("sms.enumeration_limited")
            return replies.dossier_not_found(command.code)
        except DossierApiUnavailable:
            return replies.service_unavailable(self.settings.hotline)
        if command.kind is Kind.STATUS:
            # "HS <mã 1> <mã 2>": every code is answered, one after the other.
            others = [m.code.canonical for m in find_codes(text) if m.code.canonical != dossier.code]
            if ahead is not None:
                ahead.looked_up = dossier.code
            else:
                await self.redis.set(sms_keys.last_lookup(msisdn), dossier.code, ex=sms_keys.LAST_LOOKUP_TTL_S)
            found: list[Dossier | str] = [dossier]
            found += [await self._other_status(msisdn, code, ahead) for code in dict.fromkeys(others[:MAX_CODES - 1])]
            return replies.dossier_statuses_sms(found, local_now().date())
        if command.kind is Kind.SUBSCRIBE:
            await subscriptions.subscribe(self.redis, dossier.code, sender)
            return replies.subscribed(dossier.code, dossier.status_label, "sms")
        assert command.level is not None
        try:
            await self.dossiers.rate(RatingIn(level=command.level, channel="sms", dossier_code=dossier.code))
        except DossierApiError:
            logger.warning("rating by SMS not stored", exc_info=True)
            return replies.service_unavailable(self.settings.hotline)
        return replies.rating_thanks(command.level, self.settings.hotline)

    async def _news(self, msisdn: str, command: Command) -> str:
        """``TIN [<chủ đề>]`` and ``HUY TIN [<chủ đề>]`` (``common/news.py``)."""
        sender = f"sms:{msisdn}"
        if command.error == "unknown_topic":
            return texts.text("news.sms.unknown_topic", topics=news_texts.topic_list("sms"))
        if command.kind is Kind.NEWS_STOP:
            dropped = await news.unsubscribe(self.redis, sender, list(command.topics) or None)
            return news_texts.unsubscribed_text(dropped, list(command.topics), "sms")
        if not command.topics:
            return news_texts.sms_overview(await news.latest(self.redis))
        added = await news.subscribe(self.redis, sender, list(command.topics))
        return news_texts.subscribed_text(added, list(command.topics), "sms")

    async def _dossier(self, code: str, counted: bool, ahead: Ahead | None = None) -> Dossier:
        """The dossier of ``code``; a status lookup's outcome is counted for the dashboard
        (with ``ahead``, in its batch's transaction)."""
        outcome = ""
        try:
            dossier = ahead.dossiers.get(code) if ahead is not None else None
            if dossier is None:
                dossier = await self.dossiers.get_dossier(code)
        except DossierNotFound:
            outcome = "not_found"
            raise
        except DossierApiUnavailable:
            outcome = "unavailable"
            raise
        else:
            outcome = "found"
            return dossier
        finally:
            if counted and outcome and ahead is not None:
                ahead.counts.append(Count(stats.LOOKUPS, outcome))
            elif counted and outcome:
                await stats.record(self.redis, Count(stats.LOOKUPS, outcome))

    async def _other_status(self, msisdn: str, code: str, ahead: Ahead | None = None) -> Dossier | str:
        """One more code of the same message: its dossier, or what to say of it (unknown codes count
        against enumeration)."""
        try:
            return await self._dossier(code, counted=True, ahead=ahead)
        except DossierNotFound:
            await self._count_unknown(msisdn)
            return replies.dossier_not_found(code)
        except DossierApiUnavailable:
            return replies.service_unavailable(self.settings.hotline)

    async def _tell_last_lookup(self, msisdn: str, sender: str) -> None:
        """A keyword lookup is the assistant's "dossier last talked about" too (its follow-ups:
        subscribe, when, where): told once, before the next free text."""
        code = await self.redis.getdel(sms_keys.last_lookup(msisdn))
        if code:
            try:
                await self.rasa.set_slot(sender, "ho_so_gan_nhat", as_str(code))
            except RasaUnavailable:  # the message is still answered, only without that context
                logger.warning("the last SMS lookup of %s could not be told to Rasa", mask_phone(msisdn))

    async def _awaits_code(self, msisdn: str, ahead: Ahead | None = None) -> bool:
        """True when the assistant's last reply asked this number for a dossier code (delivery,
        notifications, the lookup form): a bare code answers that question, as on chat."""
        if ahead is not None:
            return ahead.awaits_code
        return bool(await self.redis.exists(sms_keys.awaits_code(msisdn)))

    async def _enumerating(self, msisdn: str, ahead: Ahead | None = None) -> bool:
        count = ahead.unknown if ahead is not None else await self.redis.get(sms_keys.unknown_codes(msisdn))
        return int(count or 0) >= self.sms.unknown_code_limit_per_hour

    async def _count_unknown(self, msisdn: str) -> int:
        """Count one more unknown code for the number; returns the count this hour."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(sms_keys.unknown_codes(msisdn))
        pipe.expire(sms_keys.unknown_codes(msisdn), 3600)
        count, _ = await pipe.execute()
        return count

    async def _chat(self, msisdn: str, text: str, message_id: str | None = None) -> str | None:
        sender = f"sms:{msisdn}"
        text = (await sms_options.chosen(self.redis, msisdn, text)) or text.strip()[:MAX_CHAT_TEXT]
        timeout_s = self.settings.handoff_timeout_min * 60
        routed = await handoff.route(self.redis, sender, text, time.time(), timeout_s)
        if routed is not None:  # handed to staff (the chat gateway delivers their replies through the MT queue)
            return "\n".join(texts.text(k) for k in routed) or None
        try:
            await self._tell_last_lookup(msisdn, sender)
            metadata = {"channel": "sms", **({"idempotency_key": f"sms:{message_id}"} if message_id else {})}
            messages = await self.rasa.send(sender, text, metadata)
        except RasaUnavailable:
            logger.warning("Rasa unavailable for an SMS from %s", mask_phone(msisdn))
            return texts.text("sms.assistant_unavailable", hotline=self.settings.hotline)
        if any(m.awaits_code for m in messages):
            await self.redis.set(sms_keys.awaits_code(msisdn), 1, ex=sms_keys.AWAITS_CODE_TTL_S)
        else:
            await self.redis.delete(sms_keys.awaits_code(msisdn))
        if any(m.handoff for m in messages):
            await stats.record(self.redis, Count(stats.HANDOFFS, "sms"))
            if not await handoff.hand_over(self.redis, sender, time.time(), timeout_s):  # the hotline instead
                notice = BotMessage(texts.text("handoff.unavailable", hotline=self.settings.hotline))
                messages = [notice if m.handoff else m for m in messages]
        rendered = await sms_options.render(self.redis, msisdn, messages, texts.text("sms.options_hint"))
        return rendered or texts.text("sms.not_understood")
