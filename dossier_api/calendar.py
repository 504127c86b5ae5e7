"""When the one-stop desk takes appointments: opening hours cut into slots,
weekends, public holidays and announced closed days excluded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

from common.dates import parse_spans
from common.workdays import is_working_day

CALENDAR_FILE = Path(__file__).parent / "data" / "calendar.yml"


class ClosedDay(ValueError):
    """The desk does not take appointments that day; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Calendar:
    opening_hours: tuple[tuple[dt.time, dt.time], ...]
    slot_minutes: int
    counters: int
    book_days_ahead: int
    closed_days: frozenset[dt.date]

    @classmethod
    def load(cls, path: Path = CALENDAR_FILE) -> Calendar:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        hours = tuple(s for spec in data["opening_hours"] for s in parse_spans(spec))
        return cls(hours, int(data["slot_minutes"]), int(data["counters"]), int(data["book_days_ahead"]),
                   frozenset(data.get("closed_days") or []))

    def slots(self) -> list[dt.time]:
        """Start times of the slots of an open day."""
        times = []
        step = dt.timedelta(minutes=self.slot_minutes)
        for start, end in self.opening_hours:
            t = dt.datetime.combine(dt.date.min, start)
            while (t + step).time() <= end:
                times.append(t.time())
                t += step
        return times

    def check_day(self, day: dt.date, now: dt.datetime) -> None:
        """Raise :class:`ClosedDay` unless appointments can be taken on ``day``."""
        if day < now.date():
            raise ClosedDay("past")
        if day > now.date() + dt.timedelta(days=self.book_days_ahead):
            raise ClosedDay("too_far")
        if not is_working_day(day, self.closed_days):
            raise ClosedDay("weekend" if day.weekday() >= 5 else "holiday")

    def open_days(self, now: dt.datetime, count: int) -> list[dt.date]:
        """The next ``count`` days with appointments (today included while slots remain)."""
        days = []
        day = now.date()
        slots_left_today = any(t > now.time() for t in self.slots())
        while len(days) < count and day <= now.date() + dt.timedelta(days=self.book_days_ahead):
            try:
                self.check_day(day, now)
                if day != now.date() or slots_left_today:
                    days.append(day)
            except ClosedDay:
                pass
            day += dt.timedelta(days=1)
        return days
