"""SMS text as handsets read it (pure functions): ASCII folding, GSM-7 / UCS2 lengths, segments.

Vietnamese handsets and operators handle 7-bit text best, so replies are folded
to ASCII by default (``đ`` -> ``d``, accents dropped); UCS2 (data_coding 8)
keeps the diacritics at 70 characters a segment. Long texts are cut into
concatenated parts, at most ``max_segments``, shortened at a word boundary
with an ellipsis rather than cut mid-word. Below the services: the SMS gateway
sends what ``prepare`` returns, the staff console shows the same parts before
a reply or a text is saved.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseSettings

from common.text import fold, nfc

# GSM 03.38 default alphabet, by septet value; ESC (0x1B) introduces the extension table.
GSM7_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E,
                  "|": 0x40, "€": 0x65}
GSM7_CODES = {c: i for i, c in enumerate(GSM7_TABLE) if c != "\x1b"}
GSM7_BASIC = set(GSM7_CODES)
GSM7_EXTENDED = set(GSM7_EXTENSION)
_GSM7_ALL = GSM7_BASIC | GSM7_EXTENDED
_ASCII_LOOKALIKES = str.maketrans({
    "“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "…": "...", "•": "-",
    "\u00a0": " ", "\t": " ", "→": "->", "×": "x",
})
ELLIPSIS = "..."


@dataclass(frozen=True)
class Part:
    """One submit_sm worth of text."""

    text: str
    index: int  # 1-based
    total: int


@lru_cache(maxsize=4096)  # replies repeat (one per dossier status): fold each once
def to_gsm7(text: str) -> str:
    """Fold Vietnamese to ASCII and drop what GSM-7 cannot carry."""
    folded = fold(nfc(text).translate(_ASCII_LOOKALIKES)).replace("\r", "")
    if _GSM7_ALL.issuperset(folded):  # the usual case: nothing to replace
        return folded
    return "".join(c if c in _GSM7_ALL else _compatible(c) for c in folded)


def _compatible(char: str) -> str:
    """A character GSM-7 lacks, as its plain compatibility form when GSM-7 has that ("m²" -> "m2",
    "ﬁ" -> "fi", a full-width "Ａ" -> "A"), else "?"."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", char) if unicodedata.category(c) != "Mn")
    return plain if plain and _GSM7_ALL.issuperset(plain) else "?"


def gsm7_length(text: str) -> int:
    """Septets needed: extended characters take two."""
    return len(text) + sum(map(text.count, GSM7_EXTENSION))


def length(text: str, ucs2: bool) -> int:
    """Characters (UCS2 code units, or GSM-7 septets) ``text`` takes."""
    return len(text.encode("utf-16-be")) // 2 if ucs2 else gsm7_length(text)


def limits(ucs2: bool) -> tuple[int, int]:
    """(single-message capacity, capacity of one part of a concatenated message)."""
    return (70, 67) if ucs2 else (160, 153)


def _as_sent(text: str, ucs2: bool) -> str:
    return nfc(text).strip() if ucs2 else to_gsm7(text).strip()


def fits(text: str, ucs2: bool, max_segments: int) -> bool:
    """Whether ``text`` is sent whole, in at most ``max_segments`` parts (else ``prepare`` shortens it)."""
    text = _as_sent(text, ucs2)
    single, part = limits(ucs2)
    return length(text, ucs2) <= single or len(_split(text, part, ucs2)) <= max_segments


def prepare(text: str, ucs2: bool, max_segments: int) -> list[Part]:
    """The text as it will be sent: encoded form, shortened to fit, split in parts."""
    text = _as_sent(text, ucs2)
    single, part = limits(ucs2)
    if length(text, ucs2) <= single:
        return [Part(text, 1, 1)]
    budget = part * max_segments
    full = text
    chunks = _split(text, part, ucs2)
    while len(chunks) > max_segments:  # word boundaries cost room: shorten until it fits
        text = shorten(full, budget, ucs2)
        chunks = _split(text, part, ucs2)
        budget -= len(chunks[-1]) if len(chunks) > max_segments else 0
    return [Part(chunk, i, len(chunks)) for i, chunk in enumerate(chunks, 1)]


def shorten(text: str, budget: int, ucs2: bool) -> str:
    """Cut ``text`` to ``budget`` characters at a line or word boundary, with an ellipsis."""
    room = budget - len(ELLIPSIS)
    cut = text
    while length(cut, ucs2) > room:
        cut = cut[: max(room, len(cut) - 1 - (length(cut, ucs2) - room))]
    boundary = max(cut.rfind("\n"), cut.rfind(" "))
    if boundary > room * 0.6:
        cut = cut[:boundary]
    return cut.rstrip(" ,;:-\n") + ELLIPSIS


def _split(text: str, size: int, ucs2: bool) -> list[str]:
    """Split into chunks of at most ``size`` characters, preferring word boundaries."""
    chunks = []
    rest = text
    while length(rest, ucs2) > size:
        cut = size
        while length(rest[:cut], ucs2) > size:
            cut -= 1
        # A UCS2 surrogate pair or a GSM-7 escape must not be split; neither may a word.
        space = rest.rfind(" ", 0, cut + 1)
        if space > size * 0.7:
            cut = space + 1
        chunks.append(rest[:cut])
        rest = rest[cut:]
    chunks.append(rest)
    return [c for c in chunks if c]


class SmsTextSettings(BaseSettings):
    """How replies are cut for handsets (environment ``SMS_*``): read by the SMS gateway, which sends
    them, and by the staff console, which shows staff what a handset will get."""

    max_segments: int = 3
    ucs2: bool = False  # send Vietnamese with diacritics (data_coding 8) to everyone
    ucs2_msisdns: str = ""  # or only to these numbers (comma separated)

    class Config:
        env_prefix = "SMS_"
        env_file = ".env"
        env_file_encoding = "utf-8"

    def wants_ucs2(self, msisdn: str) -> bool:
        """Whether replies to ``msisdn`` keep their diacritics."""
        return self.ucs2 or msisdn in {m.strip() for m in self.ucs2_msisdns.split(",") if m.strip()}

    def parts(self, text: str, msisdn: str = "") -> list[Part]:
        """``text`` as it will reach ``msisdn``: its parts, shortened to ``max_segments`` when too long."""
        return prepare(text, self.wants_ucs2(msisdn), self.max_segments)

    def fits(self, text: str, msisdn: str = "") -> bool:
        """Whether ``text`` reaches ``msisdn`` whole."""
        return fits(text, self.wants_ucs2(msisdn), self.max_segments)

    def with_tail(self, head: str, tail: str, msisdn: str = "") -> str:
        """``head``, then ``tail`` on its own line, shortening ``head`` (never ``tail``: a menu whose
        numbers the citizen texts back) until both reach ``msisdn`` whole."""
        whole = f"{head}\n{tail}"
        if self.fits(whole, msisdn):
            return whole
        ucs2 = self.wants_ucs2(msisdn)
        _, part = limits(ucs2)
        budget = part * self.max_segments - length(_as_sent(tail, ucs2), ucs2) - 1
        while budget > len(ELLIPSIS):
            shortened = f"{shorten(_as_sent(head, ucs2), budget, ucs2)}\n{tail}"
            if self.fits(shortened, msisdn):
                return shortened
            budget -= 8  # word boundaries between parts cost room
        return tail


@lru_cache(maxsize=1)
def sms_text_settings() -> SmsTextSettings:
    """The process-wide settings of how replies are cut."""
    return SmsTextSettings()
