"""Staff sessions in Redis: an opaque cookie token, a CSRF token per session.

A session ends after ``ttl_s`` without a request (each request renews it) and, whatever the
activity, ``max_age_s`` after signing in: a console left open on a desk polls every few
seconds, which alone would keep it signed in for ever.

Each account's sessions are indexed (``staff:sessions-of:<name>``), so disabling an account
or setting its password ends them at once. A session's CSRF token also names its owner for
``OWNER_GRACE_S`` after the session can last at most: a form posted after the session
expired still proves whose it was (``bot/staff/drafts.py`` keeps it for that staff member)."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.staff.accounts import Role, Staff
from common.text import as_str

OWNER_GRACE_S = 24 * 3600


@dataclass(frozen=True)
class Session:
    staff: Staff
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _key(token: str) -> str:
    # Only a digest of the token is stored: a Redis dump does not hand out live sessions.
    return "staff:session:" + _digest(token)


def _index(username: str) -> str:
    return "staff:sessions-of:" + username


def _owner_key(csrf: str) -> str:
    return "staff:csrf-owner:" + _digest(csrf)


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
        index = _index(staff.username)
        live = [as_str(k) for k in await self.redis.smembers(index)]
        gone = [k for k, there in zip(live, [await self.redis.exists(k) for k in live], strict=False) if not there]
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(_key(token), json.dumps(body), ex=min(self.ttl_s, self.max_age_s))
        pipe.set(_owner_key(session.csrf), staff.username, ex=self.max_age_s + OWNER_GRACE_S)
        if gone:
            pipe.srem(index, *gone)  # sessions that expired on their own
        pipe.sadd(index, _key(token))
        pipe.expire(index, self.max_age_s)
        await pipe.execute()
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

    async def owner(self, csrf: str) -> str | None:
        """Whose session issued ``csrf`` (the session may have expired since); None when unknown."""
        if not csrf:
            return None
        name = await self.redis.get(_owner_key(csrf))
        return as_str(name) if name is not None else None

    async def drop(self, token: str | None) -> None:
        if token:
            await self._end([_key(token)])

    async def end_all(self, username: str, keep: str | None = None) -> int:
        """End every session of ``username`` (but the one of the cookie ``keep``); how many ended."""
        index = _index(username)
        kept = _key(keep) if keep else None
        ended = [k for k in (as_str(m) for m in await self.redis.smembers(index)) if k != kept]
        return await self._end(ended, index)

    async def _end(self, keys: list[str], index: str | None = None) -> int:
        """Delete sessions by key, with their CSRF owner records and index entries."""
        if not keys:
            return 0
        bodies = [json.loads(raw) for raw in await self.redis.mget(keys) if raw is not None]
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(*keys)
        for body in bodies:
            pipe.delete(_owner_key(body["csrf"]))
            if index is None:
                pipe.srem(_index(body["username"]), *keys)
        if index is not None:
            pipe.srem(index, *keys)
        await pipe.execute()
        return len(bodies)
