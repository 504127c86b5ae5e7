"""Working days of the one-stop desk: weekends and fixed public holidays closed."""

from __future__ import annotations

import datetime as dt

# Solar-calendar public holidays (Labour Code 2019, art. 112). Lunar New Year
# and Hung Kings' day move every year; they belong to the appointment
# calendar, which takes an explicit list of closed days.
FIXED_HOLIDAYS = {(1, 1), (4, 30), (5, 1), (9, 2), (9, 1)}


def is_working_day(day: dt.date, closed: frozenset[dt.date] = frozenset()) -> bool:
    """True when the desk is open on ``day``."""
    return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS and day not in closed


def add_working_days(start: dt.date, days: int, closed: frozenset[dt.date] = frozenset()) -> dt.date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current, closed):
            remaining -= 1
    return current
