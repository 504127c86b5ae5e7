"""The one path every chat channel takes to the assistant.

A channel adapter turns what arrives into (sender id, text, metadata) and gives
it here: the per-user limit shared with SMS is applied, the message is logged
without its content, and Rasa's channel-neutral replies come back for the
channel to render. A citizen handed to staff is routed by ``bot/handoff.py``:
their messages go to staff, not to the bot (a dossier code still gets the bot's
answer), and a reply of the bot that hands over starts the handoff.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from clients.rasa import BotMessage, RasaClient, RasaUnavailable
from common import inbox, sms_options, stats
from common.privacy import log_text, pseudonym
from common.ratelimit import UserRateLimit, Verdict
from common.stats import Count
from common.text import fold_key
from content import texts

if TYPE_CHECKING:
    from bot.handoff import Handoffs

logger = logging.getLogger(__name__)

MAX_TEXT = 1000
# A citizen marks the answer to their last message unhelpful (web button, Telegram
# command, or these words on any channel): the message goes to the staff NLU inbox.
UNHELPFUL_COMMAND = "/chuahuuich"
UNHELPFUL_WORDS = {UNHELPFUL_COMMAND, "chua huu ich", "khong huu ich", "tra loi chua huu ich"}


def too_long() -> str:
    """Told when a message is longer than ``MAX_TEXT``."""
    return texts.text("chat.too_long", max=MAX_TEXT)


class Conversations:
    """Rate limit, log, ask Rasa."""

    def __init__(self, rasa: RasaClient, limit: UserRateLimit | None, redis: Any = None,
                 handoffs: Handoffs | None = None) -> None:
        self.rasa = rasa
        self.limit = limit
        self.redis = redis  # the dashboard's figures, when given
        self.handoffs = handoffs  # live handoff to staff, when given

    async def handle(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotMessage]:
        """The replies to one message of ``sender`` (``<channel>:<id>``); empty when silenced.

        Raises:
            RasaUnavailable: the assistant did not answer.
        """
        if self.limit is not None:
            verdict = await self.limit.check(sender)
            if verdict is not Verdict.ALLOW:
                logger.info("rate limit hit by %s", pseudonym(sender))
                return [BotMessage(texts.text("limits.too_many_messages"))] if verdict is Verdict.TELL else []
        if len(text) > MAX_TEXT:
            return [BotMessage(too_long())]
        channel = sender.split(":", 1)[0]
        logger.info("%s message from %s: %s", channel, pseudonym(sender), log_text(text))
        if self.redis is not None and fold_key(text).strip(" .!") in UNHELPFUL_WORDS:
            return [BotMessage(texts.text("chat.unhelpful_noted") if await inbox.mark_unhelpful(self.redis, sender)
                               else texts.text("chat.unhelpful_nothing"))]
        if self.handoffs is not None:
            routed = await self.handoffs.intercept(sender, text)
            if routed is not None:  # written to staff: a message of the day all the same (SMS counts each MO)
                if self.redis is not None:
                    await stats.record(self.redis, Count(stats.MESSAGES, channel),
                                       conversation=(channel, pseudonym(sender)))
                return routed
        if self.redis is not None and channel != "sms":
            # "2" typed instead of tapping the second button shown
            text = await sms_options.chosen_shown(self.redis, sender, text) or text
        started = time.monotonic()
        messages = await self.rasa.send(sender, text, metadata)
        if self.redis is not None and channel != "sms":
            await sms_options.remember_shown(self.redis, sender, messages)
        handed = self.handoffs is not None and any(m.handoff for m in messages)
        if self.redis is not None:
            await stats.record(self.redis, Count(stats.MESSAGES, channel),
                               *([Count(stats.HANDOFFS, channel)] if handed else []),
                               response=(channel, time.monotonic() - started),
                               conversation=(channel, pseudonym(sender)))
        if handed and self.handoffs is not None:
            messages = await self.handoffs.begin(sender, messages)
        return messages

    async def reply(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotMessage]:
        """Like :meth:`handle`, with an apology instead of an error when Rasa is down."""
        try:
            return await self.handle(sender, text, metadata)
        except RasaUnavailable:
            logger.error("Rasa unavailable for a message from %s", pseudonym(sender), exc_info=True)
            return [BotMessage(texts.text("chat.unavailable"))]
