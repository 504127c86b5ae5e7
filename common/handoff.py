"""Conversations handed to a staff member.

In office hours a chat citizen who asks for a person is marked here and Rasa
pauses the conversation (the ``pause`` event): the assistant stays silent,
messages keep landing in the tracker for staff to read, and a staff member
releases it (Rasa's ``resume`` event) when done. SMS has no such path: a
number gets the hotline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from common.dates import parse_spans
from common.text import as_str
from common.workdays import is_working_day

WAITING = "handoff:waiting"  # hash: sender -> ISO time the citizen asked


def in_office_hours(now: dt.datetime, spec: str) -> bool:
    """True on a working day within one of the spans (``always``: staff on call at any time;
    empty: never, every citizen gets the hotline)."""
    if spec.strip() == "always":
        return True
    return is_working_day(now.date()) and any(start <= now.time() < end for start, end in parse_spans(spec))


async def mark_waiting(redis: Any, sender: str, now: dt.datetime) -> None:
    await redis.hset(WAITING, sender, now.isoformat())


async def waiting(redis: Any) -> dict[str, str]:
    """Conversations waiting for a staff member: sender -> since."""
    raw = await redis.hgetall(WAITING)
    return {as_str(k): as_str(v) for k, v in raw.items()}


async def release(redis: Any, sender: str) -> bool:
    """Forget the mark; the caller resumes the Rasa conversation."""
    return bool(await redis.hdel(WAITING, sender))
