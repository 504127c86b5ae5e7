"""Staff sessions in Redis: an opaque cookie token, a CSRF token per session."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from bot.staff.accounts import Role, Staff


@dataclass(frozen=True)
class Session:
    staff: Staff
    csrf: str


def _key(token: str) -> str:
    # Only a digest of the token is stored: a Redis dump does not hand out live sessions.
    return "staff:session:" + hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    def __init__(self, redis: Any, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def create(self, staff: Staff) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(staff, secrets.token_urlsafe(32))
        body = {"username": staff.username, "role": staff.role.value, "csrf": session.csrf}
        await self.redis.set(_key(token), json.dumps(body), ex=self.ttl_s)
        return token, session

    async def get(self, token: str | None) -> Session | None:
        """The session of a cookie, its idle timeout renewed; None when unknown or expired."""
        if not token:
            return None
        raw = await self.redis.get(_key(token))
        if raw is None:
            return None
        await self.redis.expire(_key(token), self.ttl_s)
        body = json.loads(raw)
        return Session(Staff(body["username"], Role(body["role"])), body["csrf"])

    async def drop(self, token: str | None) -> None:
        if token:
            await self.redis.delete(_key(token))
