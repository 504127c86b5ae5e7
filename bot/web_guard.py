"""Who may talk on the web chat, and how much (against dossier-code enumeration).

- **Sessions are issued by the gateway** (``POST /api/session``): a random id signed
  with ``WEB_SESSION_SECRET``. The page keeps it in ``localStorage`` (so the
  conversation survives a reload) and sends it with every message; an id the gateway
  did not sign is refused, and the page asks for a fresh one. A client therefore
  cannot speak as another citizen's session.
- **Limits per client address**, not only per session (a script can ask for any
  number of sessions): messages a minute, dossier codes looked up an hour, and
  unknown codes an hour. Unknown codes are also limited per session, as SMS limits
  them per number (``SMS_UNKNOWN_CODE_LIMIT_PER_HOUR``).

The gateway checks whether a code in a message exists (through the dossier client
and its Redis cache, which the action's lookup then reuses) before the message goes
to the assistant, so a refused lookup never reaches Rasa.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import secrets
from typing import Any

from aiohttp import web

from common import signing
from common.codes import find_codes
from common.privacy import pseudonym
from common.ratelimit import UserRateLimit, Verdict
from common.settings import Settings
from content import texts
from dossier_api.client import DossierApiError, DossierClient, DossierNotFound

logger = logging.getLogger(__name__)

HOUR_S = 3600
MAX_CODES_CHECKED = 3  # codes of one message checked (and counted); the assistant answers the first


class Refusal(enum.Enum):
    """Why a web chat request is not handled."""

    TOO_FAST = "too_fast"
    TOO_MANY_LOOKUPS = "too_many_lookups"
    UNKNOWN_CODES = "unknown_codes"


def refusal_text(refusal: Refusal, hotline: str) -> str:
    """What the citizen reads when a request is refused."""
    return texts.text(f"chat.refused.{refusal.value}", hotline=hotline)


def client_address(request: web.Request, trusted_proxies: set[str]) -> str:
    """The client's address: the peer's, or the last one a trusted proxy added to
    ``X-Forwarded-For`` (entries a client wrote itself come first and are ignored)."""
    peer = request.remote or "unknown"
    if peer not in trusted_proxies:
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            return _normalised(hop) or peer
    return peer


def _normalised(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class WebGuard:
    """Issues and checks web sessions; applies the per-address and unknown-code limits."""

    def __init__(self, settings: Settings, redis: Any, dossiers: DossierClient) -> None:
        self.secret = settings.web_session_secret
        if not self.secret:
            # Sessions then end with the process and differ between replicas: set the variable.
            logger.warning("WEB_SESSION_SECRET is not set: web sessions are signed with a random key")
            self.secret = secrets.token_urlsafe(32)
        self.trusted_proxies = {p.strip() for p in settings.chat_trusted_proxies.split(",") if p.strip()}
        self.agencies = settings.agencies
        self.hotline = settings.hotline
        self.dossiers = dossiers
        self.messages = UserRateLimit(redis, settings.chat_rate_limit_per_address_per_min, prefix="web:rate:addr")
        self.lookups = UserRateLimit(redis, settings.chat_lookup_limit_per_address_per_hour, HOUR_S,
                                     prefix="web:lookups:addr")
        self.unknown_by_address = UserRateLimit(redis, settings.chat_unknown_code_limit_per_address_per_hour,
                                                HOUR_S, prefix="web:unknown:addr")
        self.unknown_by_session = UserRateLimit(redis, settings.chat_unknown_code_limit_per_hour, HOUR_S,
                                                prefix="web:unknown:session")

    # -- sessions ------------------------------------------------------------------

    def issue(self) -> str:
        """A new session token for a page."""
        return signing.sign_id(self.secret, secrets.token_urlsafe(18))

    def session_of(self, token: str) -> str | None:
        """The session id of a token this gateway issued; None for anything else."""
        return signing.unsign_id(self.secret, token)

    # -- limits ----------------------------------------------------------------------

    def text(self, refusal: Refusal) -> str:
        """The citizen-facing text of a refusal."""
        return refusal_text(refusal, self.hotline)

    def address_key(self, request: web.Request) -> str:
        """The client address as a Redis key: a pseudonym, never the address itself."""
        return pseudonym(client_address(request, self.trusted_proxies))

    async def admit(self, request: web.Request) -> Refusal | None:
        """Count one request of the client's address (a message or a new session)."""
        verdict = await self.messages.check(self.address_key(request))
        return None if verdict is Verdict.ALLOW else Refusal.TOO_FAST

    async def check_lookups(self, request: web.Request, session: str, text: str) -> Refusal | None:
        """Apply the lookup limits to the dossier codes (of this department) in ``text``."""
        codes = list(dict.fromkeys(
            m.code.canonical for m in find_codes(text) if m.code.agency in self.agencies))[:MAX_CODES_CHECKED]
        if not codes:
            return None
        address = self.address_key(request)
        if await self.unknown_by_address.exhausted(address) or await self.unknown_by_session.exhausted(session):
            return self._refused(Refusal.UNKNOWN_CODES, session)
        for code in codes:
            if (await self.lookups.check(address)) is not Verdict.ALLOW:
                return self._refused(Refusal.TOO_MANY_LOOKUPS, session)
            if await self._exists(code):
                continue
            # Counted after the lookup: concurrent lookups cannot all slip under the limit.
            by_address = await self.unknown_by_address.count(address) or 0
            by_session = await self.unknown_by_session.count(session) or 0
            if by_address > self.unknown_by_address.limit or by_session > self.unknown_by_session.limit:
                return self._refused(Refusal.UNKNOWN_CODES, session)
        return None

    async def _exists(self, code: str) -> bool:
        try:
            await self.dossiers.get_dossier(code)
        except DossierNotFound:
            return False
        except DossierApiError:  # unavailable or refused: the assistant says so; not the citizen's fault
            return True
        return True

    @staticmethod
    def _refused(refusal: Refusal, session: str) -> Refusal:
        logger.info("web lookup limit (%s) hit by %s", refusal.name, pseudonym(f"web:{session}"))
        return refusal
