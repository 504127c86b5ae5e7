"""Local stand-ins for services that only exist on the internet (Telegram, Zalo)."""

from __future__ import annotations

import asyncio
import time
from typing import Any


class Outbox:
    """What a fake API delivered, in order, with a way to wait for more."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.items: list[dict[str, Any]] = []
        self._added = asyncio.Event()

    def add(self, item: dict[str, Any]) -> None:
        self.items.append(item)
        self._added.set()

    async def wait(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        """Block until ``count`` items were delivered in total."""
        deadline = time.monotonic() + timeout
        while len(self.items) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(self.items)} {self.what} delivered, expected {count}: {self.items}")
            self._added.clear()
            try:
                await asyncio.wait_for(self._added.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return self.items


class SendsMessages:
    """Mixin of the fakes: ``self.outbox`` holds what the bot sent through them."""

    outbox: Outbox

    @property
    def sent(self) -> list[dict[str, Any]]:
        return self.outbox.items

    async def wait_sent(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        """Block until ``count`` messages were sent in total."""
        return await self.outbox.wait(count, timeout)
