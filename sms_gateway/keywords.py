"""The SMS keyword syntax of 8283 (pure functions, no I/O).

``HS <mã>`` status, ``DG <mã> <1|2|3>`` rating, ``DK <mã>`` subscribe,
``HUY [<mã>]`` unsubscribe, ``HD`` help; a bare code counts as ``HS``.
News: ``TIN <chủ đề>`` subscribes to a topic (``TIN XANGDAU``, ``TIN XANG DAU``),
``TIN`` alone lists the topics and the latest news, ``HUY TIN [<chủ đề>]`` leaves
one topic or all of them (``common/news.py``).
Case-, diacritic- and spacing-insensitive; dots, dashes and colons after the
keyword are tolerated (``hs.000.00.12.H17-200115-0001``, ``Đ G: ...``).
Anything else is free text for the assistant.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from common import news
from common.codes import canonical_code, find_codes, is_bare_code_attempt, looks_like_code_attempt
from common.phones import normalize_msisdn  # noqa: F401 (part of this module's interface)
from common.status import RatingLevel
from common.text import fold, nfc

SHORT_CODE = "8283"
LEVELS = {"1": RatingLevel.HAI_LONG, "2": RatingLevel.BINH_THUONG, "3": RatingLevel.KHONG_HAI_LONG}


class Kind(str, enum.Enum):
    """What an SMS asks for."""

    STATUS = "HS"
    RATE = "DG"
    SUBSCRIBE = "DK"
    UNSUBSCRIBE = "HUY"
    HELP = "HD"
    NEWS = "TIN"
    NEWS_STOP = "HUY TIN"
    CHAT = "CHAT"


@dataclass(frozen=True)
class Command:
    """A parsed SMS. ``error`` is set when a keyword was used with bad arguments."""

    kind: Kind
    code: str | None = None
    level: RatingLevel | None = None
    error: str | None = None
    topics: tuple[str, ...] = ()
    bare: bool = False  # a status lookup asked by a code alone, no keyword (it may answer the assistant instead)


# Keyword letters may be separated by nothing, a space or a dot ("H.S", "D G").
_KEYWORD = re.compile(r"^\W*(H\W?S|D\W?G|D\W?K|H\W?U\W?Y|H\W?D|T\W?I\W?N)(?=$|[\s.:\-_,;/]|\d)[\s.:\-_,;/]*(.*)$", re.S)


def parse_sms(text: str) -> Command:
    """Classify one MO text."""
    text = nfc(text or "").strip()
    upper = fold(text).upper()
    match = _KEYWORD.match(upper)
    if match:
        keyword = re.sub(r"\W", "", match.group(1))
        rest = match.group(2).strip()
        command = _keyword_command(Kind(keyword), rest)
        if command is not None:
            return command
    if is_bare_code_attempt(text):
        code = canonical_code(text)
        return Command(Kind.STATUS, code=code, error=None if code else "invalid_code", bare=True)
    return Command(Kind.CHAT)


def _keyword_command(kind: Kind, rest: str) -> Command | None:
    """The command for a keyword and its arguments, or None when it is free text."""
    if kind is Kind.HELP:
        return Command(Kind.HELP) if not rest else None
    if kind is Kind.NEWS:
        return _news_command(Kind.NEWS, rest)
    stop_news = re.match(r"T\W?I\W?N(?=$|\W)\W*(.*)$", rest, re.S) if kind is Kind.UNSUBSCRIBE else None
    if stop_news:
        return _news_command(Kind.NEWS_STOP, stop_news.group(1).strip())
    if kind is Kind.UNSUBSCRIBE and not rest:
        return Command(Kind.UNSUBSCRIBE)
    if kind is Kind.RATE and not rest:
        return Command(kind, error="invalid_level")  # "DG" alone: how to rate
    if kind is Kind.RATE:
        matches = find_codes(rest)
        if not matches:
            if looks_like_code_attempt(rest) or is_bare_code_attempt(rest):
                return Command(kind, error="invalid_code")
            return None
        level = LEVELS.get(rest[matches[0].end :].strip(" .:-_,;/"))
        return Command(kind, code=matches[0].code.canonical, level=level, error=None if level else "invalid_level")
    if not rest:
        return Command(kind, error="missing_code") if kind in (Kind.STATUS, Kind.SUBSCRIBE) else None
    code = canonical_code(rest)
    if code is not None:
        return Command(kind, code=code)
    if looks_like_code_attempt(rest) or is_bare_code_attempt(rest):
        return Command(kind, error="invalid_code")
    return None


_LATEST_WORDS = {"moi", "moi nhat", "gi moi", "tuc", "tuc moi"}


def _news_command(kind: Kind, rest: str) -> Command | None:
    """``TIN``/``HUY TIN`` with the topics named; an unknown one-word topic is an error, anything
    longer that names no topic is free text ("tin gi moi khong")."""
    if not rest or (kind is Kind.NEWS and fold(rest).lower() in _LATEST_WORDS):
        return Command(kind)
    topics = tuple(news.find_topics(rest))
    if topics:
        return Command(kind, topics=topics)
    return Command(kind, error="unknown_topic") if len(rest.split()) == 1 else None
