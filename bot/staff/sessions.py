"""Staff sessions in Redis: an opaque cookie token, a CSRF token per session.

A session ends after ``ttl_s`` without a request (each request renews it) and, whatever the
activity, ``max_age_s`` after signing in: a console left open on a desk polls every few
seconds, which alone would keep it signed in for ever."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
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
    def __init__(self, redis: Any, ttl_s: int, max_age_s: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self.max_age_s = max_age_s or ttl_s
        self.clock = clock

    async def create(self, staff: Staff) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(staff, secrets.token_urlsafe(32))
        body = {"username": staff.username, "role": staff.role.value, "csrf": session.csrf,
                "signed_in": self.clock()}
        await self.redis.set(_key(token), json.dumps(body), ex=min(self.ttl_s, self.max_age_s))
        return token, session

    async def get(self, token: str | None) -> Session | None:
        """The session of a cookie, its idle timeout renewed; None when unknown or expired."""
        if not token:
            return None
        raw = await self.redis.get(_key(token))
        if raw is None:
            return None
        body = json.loads(raw)
        left = self.max_age_s - (self.clock() - float(body.get("signed_in", 0)))
        if left <= 0:
            await self.redis.delete(_key(token))
            return None
        await self.redis.expire(_key(token), max(1, int(min(self.ttl_s, left))))
        return Session(Staff(body["username"], Role(body["role"])), body["csrf"])

    async def drop(self, token: str | None) -> None:
        if token:
            await self.redis.delete(_key(token))
