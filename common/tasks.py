"""Background loops that stop cleanly."""

from __future__ import annotations

import asyncio


async def stop_loop(task: asyncio.Task | None, stopping: asyncio.Event, grace_s: float = 5.0) -> None:
    """Ask a loop that watches ``stopping`` to finish its current step and end; cancel it
    only if it does not within ``grace_s`` (cancelling a blocking Redis read mid-way can
    leave the client's connection pool waiting)."""
    stopping.set()
    if task is None:
        return
    try:
        await asyncio.wait_for(asyncio.shield(task), grace_s)
    except asyncio.TimeoutError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    except Exception:  # the loop's own failure: already logged there
        pass
