"""The one path every chat channel takes to the assistant.

A channel adapter turns what arrives into (sender id, text, metadata) and gives
it here: the per-user limit shared with SMS is applied, the message is logged
without its content, and Rasa's channel-neutral replies come back for the
channel to render.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.rasa_client import BotMessage, RasaClient, RasaUnavailable
from common.privacy import log_text, pseudonym
from common.ratelimit import RATE_LIMITED, UserRateLimit, Verdict

logger = logging.getLogger(__name__)

UNAVAILABLE = "Trợ lý ảo đang tạm gián đoạn, anh/chị vui lòng thử lại sau ít phút."
MAX_TEXT = 1000
TOO_LONG = f"Tin nhắn quá dài (tối đa {MAX_TEXT} ký tự), anh/chị vui lòng rút gọn."


class Conversations:
    """Rate limit, log, ask Rasa."""

    def __init__(self, rasa: RasaClient, limit: UserRateLimit | None) -> None:
        self.rasa = rasa
        self.limit = limit

    async def handle(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotMessage]:
        """The replies to one message of ``sender`` (``<channel>:<id>``); empty when silenced.

        Raises:
            RasaUnavailable: the assistant did not answer.
        """
        if self.limit is not None:
            verdict = await self.limit.check(sender)
            if verdict is not Verdict.ALLOW:
                logger.info("rate limit hit by %s", pseudonym(sender))
                return [BotMessage(RATE_LIMITED)] if verdict is Verdict.TELL else []
        if len(text) > MAX_TEXT:
            return [BotMessage(TOO_LONG)]
        logger.info("%s message from %s: %s", sender.split(":", 1)[0], pseudonym(sender), log_text(text))
        return await self.rasa.send(sender, text, metadata)

    async def reply(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotMessage]:
        """Like :meth:`handle`, with an apology instead of an error when Rasa is down."""
        try:
            return await self.handle(sender, text, metadata)
        except RasaUnavailable:
            logger.error("Rasa unavailable for a message from %s", pseudonym(sender), exc_info=True)
            return [BotMessage(UNAVAILABLE)]
