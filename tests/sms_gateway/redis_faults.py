"""Faults injected in front of a real Redis: an outage, or a transaction applied whose answer is lost
(what a Redis killed between writing its AOF and answering does to a client)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError


class _Pipeline:
    """A real pipeline that notes the names of the commands queued and fails as its owner says."""

    def __init__(self, owner: FaultyRedis, pipe: Any) -> None:
        self._owner = owner
        self._pipe = pipe
        self.names: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._pipe, name)
        if not callable(attr):
            return attr

        def queue(*args: Any, **kwargs: Any) -> Any:
            self.names.append(name)
            attr(*args, **kwargs)
            return self

        return queue

    async def execute(self, *args: Any, **kwargs: Any) -> list[Any]:
        owner = self._owner
        if owner.down:
            await self._pipe.reset()
            raise RedisConnectionError("injected: Redis unreachable")
        result = await self._pipe.execute(*args, **kwargs)
        if owner.lose_next > 0 and (owner.lose_when is None or owner.lose_when(self.names)):
            owner.lose_next -= 1
            owner.lost += 1
            owner.down = owner.then_down
            raise RedisConnectionError("injected: connection lost before the answer")
        return result


class FaultyRedis:
    """A redis.asyncio client whose commands fail while ``down``, and whose next ``lose_next``
    pipelines (those ``lose_when`` picks by their command names) are applied, then raise; with
    ``then_down`` Redis is down right after such a lost answer."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.down = False
        self.lose_next = 0
        self.lose_when: Callable[[list[str]], bool] | None = None
        self.then_down = False
        self.lost = 0

    def pipeline(self, *args: Any, **kwargs: Any) -> _Pipeline:
        return _Pipeline(self, self._client.pipeline(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr) or name in ("close", "aclose"):
            return attr

        async def command(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise RedisConnectionError("injected: Redis unreachable")
            return await attr(*args, **kwargs)

        return command
