"""Days and times as citizens type them: ``ngày mai``, ``thứ 3``, ``30/11``, ``9h30``, ``2h chiều``,
``thứ hai tuần tới``.

Folded, "tuần tới" (next week) reads "tuan toi", whose last word is "tối" (evening):
week phrases are taken out before the time of day is read, so "8h sáng thứ hai
tuần tới" is 08:00 on next week's Monday, never 20:00.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from common.settings import get_settings
from common.text import fold_key, nfc

_DATE = re.compile(r"(?<![\w.])(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?(?![\w-])")
_TIME = re.compile(r"(?<![\w.])(\d{1,2})\s*(?:h|g|gio|:)\s*(\d{2})?(?:\s*(?:p|phut))?(?!\w)")
# Half past: "10 rưỡi", "3 giờ rưỡi chiều", "9h rưỡi" ("rưỡi" folds to "ruoi").
_HALF_PAST = re.compile(r"(?<![\w.])(\d{1,2})\s*(?:h|g|gio)?\s*ruoi(?!\w)")
# English: "10am", "3 pm", "10:30 am".
_TIME_EN = re.compile(r"(?<![\w.])(\d{1,2})(?::(\d{2}))?\s*(am|pm)(?!\w)")
_WEEKDAYS = {
    "thu hai": 0, "thu 2": 0, "t2": 0, "thu ba": 1, "thu 3": 1, "t3": 1, "thu tu": 2, "thu 4": 2, "t4": 2,
    "thu nam": 3, "thu 5": 3, "t5": 3, "thu sau": 4, "thu 6": 4, "t6": 4, "thu bay": 5, "thu 7": 5, "t7": 5,
    "chu nhat": 6, "cn": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}
_MONTHS = {"gieng": 1, "mot": 1, "hai": 2, "ba": 3, "tu": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8, "chin": 9,
           "muoi": 10, "muoi mot": 11, "muoi hai": 12, "chap": 12}
_MONTH = re.compile(r"(?<!\w)thang (muoi mot|muoi hai|\d{1,2}|gieng|mot|hai|ba|tu|nam|sau|bay|tam|chin|muoi|chap)"
                    r"(?: (nam sau|nam toi|sang nam|nam nay))?(?!\w)")
_RELATIVE = {"hom nay": 0, "bua nay": 0, "ngay mai": 1, "mai": 1, "ngay kia": 2, "ngay mot": 2, "mai mot": 2,
             "today": 0, "tomorrow": 1}
# "Next week" and "this week", folded; a weekday with one of them is that week's day.
_NEXT_WEEK = ("tuan toi", "tuan sau", "tuan ke tiep", "tuan ke", "tuan sau nua", "next week")
_THIS_WEEK = ("tuan nay", "tuan ni")
WEEKDAY_NAMES = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


Span = tuple[dt.time, dt.time]


def parse_spans(spec: str) -> list[Span]:
    """``"07:30-11:30,13:30-17:00"`` -> the spans of the day it names; empty -> none.

    A span may cross midnight (``"21:00-07:00"``)."""
    spans = []
    for part in spec.split(","):
        if part.strip():
            start, end = part.split("-")
            spans.append((dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())))
    return spans


def local_tz() -> ZoneInfo:
    """The department's time zone (``TIMEZONE``): for turning epoch seconds into the time staff read."""
    return ZoneInfo(get_settings().timezone)


def local_now() -> dt.datetime:
    """Wall-clock time at the department (``TIMEZONE``; naive, like the stored times)."""
    return dt.datetime.now(ZoneInfo(get_settings().timezone)).replace(tzinfo=None, microsecond=0)


def _has(key: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", key) is not None


def parse_day(text: str, today: dt.date) -> dt.date | None:
    """The day named in ``text``, if any (a date without a year that has passed means next year)."""
    key = fold_key(text)
    match = _DATE.search(key)
    if match:
        day, month, year = int(match[1]), int(match[2]), match[3]
        try:
            if year:
                return dt.date(int(year) + (2000 if len(year) == 2 else 0), month, day)
            guess = dt.date(today.year, month, day)
            return guess if guess >= today else dt.date(today.year + 1, month, day)
        except ValueError:
            return None
    relative = _without_other_mai(text, key)
    for phrase, offset in sorted(_RELATIVE.items(), key=lambda kv: -len(kv[0])):
        if _has(relative, phrase):
            return today + dt.timedelta(days=offset)
    key = key.replace("so thu tu", "")  # "số thứ tự" (queue number) folds like "thứ tư" (Wednesday)
    if re.search(r"(?<!\w)next (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)(?!\w)", key):
        key += " next week"  # "next Tuesday": the one of next week
    week = (2 if _has(key, "tuan sau nua") else 1 if any(_has(key, p) for p in _NEXT_WEEK)
            else 0 if any(_has(key, p) for p in _THIS_WEEK) else None)
    key = _without_weeks(key)
    for phrase, weekday in sorted(_WEEKDAYS.items(), key=lambda kv: -len(kv[0])):
        if _has(key, phrase):
            if week is not None:  # "thứ năm tuần tới": Thursday of next week, even when today is Tuesday
                return today + dt.timedelta(days=7 * week + weekday - today.weekday())
            ahead = (weekday - today.weekday()) % 7 or 7
            return today + dt.timedelta(days=ahead)
    return None


def _without_other_mai(text: str, key: str) -> str:
    """``key`` without the "mai" that is not tomorrow: of "khuyến mại" / "khuyen mai" (a promotion), or a
    "mãi", "mái" folded alike ("chờ mãi"); "mai" (tomorrow) has no diacritics."""
    key = re.sub(r"(?<!\w)khuyen mai(?!\w)", " ", key)
    plain = re.sub(r"(?<!\w)(?:khuyến|khuyen) mai(?!\w)", " ", nfc(text).lower())
    if not re.search(r"(?<!\w)mai(?!\w)", plain):
        key = re.sub(r"(?<!\w)mai(?!\w)", " ", key)
    return key


def _without_weeks(key: str) -> str:
    """``key`` without its week phrases ("tuần tới" must not read as "tối", "tuần sau" as "sáu")."""
    for phrase in (*_NEXT_WEEK, *_THIS_WEEK):
        key = re.sub(rf"(?<!\w){phrase}(?!\w)", " ", key)
    return key


# "tối" (evening) typed without marks is also "tôi" (I): without diacritics it counts only next to a time
# or a day ("8h toi", "toi nay"); "sáng" (morning) said wins.
_EVENING_PLAIN = re.compile(r"\d\s*(?:h|g|gio)?\s*\d*\s*toi(?!\w)|(?<!\w)toi (?:nay|mai|qua|thu)(?!\w)")


def _in_the_evening(text: str, key: str) -> bool:
    lowered = nfc(text).lower()
    if re.search(r"(?<!\w)sáng(?!\w)", lowered):
        return False
    return (_has(key, "chieu") or re.search(r"(?<!\w)tối(?!\w)", lowered) is not None
            or _EVENING_PLAIN.search(fold_key(lowered.replace("tôi", " "))) is not None)


def parse_time(text: str) -> dt.time | None:
    """The time of day named in ``text`` (``9h``, ``9h30``, ``14:00``, ``2h chiều``), if any."""
    key = _without_weeks(fold_key(text))
    english = _TIME_EN.search(key)
    if english:
        hour, minute = int(english[1]) % 12 + (12 if english[3] == "pm" else 0), int(english[2] or 0)
        return dt.time(hour, minute) if hour < 24 and minute < 60 else None
    half = _HALF_PAST.search(key)
    match = half or _TIME.search(key)
    if not match:
        return None
    hour, minute = (int(match[1]), 30) if half else (int(match[1]), int(match[2] or 0))
    if hour < 12 and hour != 0 and _in_the_evening(text, key):
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def month_named(text: str, today: dt.date) -> dt.date | None:
    """The first day of the month ``text`` names without a day ("tháng sáu năm sau"), if any."""
    match = _MONTH.search(_without_weeks(fold_key(text)))
    if not match:
        return None
    month = int(match[1]) if match[1].isdigit() else _MONTHS[match[1]]
    if not 1 <= month <= 12:
        return None
    year = today.year + (1 if match[2] in ("nam sau", "nam toi", "sang nam") or month < today.month else 0)
    return dt.date(year, month, 1)


def vn_date(day: dt.date) -> str:
    """``15/01/2020``."""
    return day.strftime("%d/%m/%Y")


def vn_day(day: dt.date) -> str:
    """``Thứ Hai 30/11/2026``."""
    return f"{WEEKDAY_NAMES[day.weekday()]} {day:%d/%m/%Y}"
