"""MT text for handsets: ASCII folding, GSM-7/UCS2, segments (pure functions).

Vietnamese handsets and operators handle 7-bit text best, so replies are folded
to ASCII by default (``đ`` -> ``d``, accents dropped); UCS2 (data_coding 8)
keeps the diacritics at 70 characters a segment. Long texts are cut into
concatenated parts, at most ``max_segments``, shortened at a word boundary
with an ellipsis rather than cut mid-word.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from common.text import fold, nfc

# GSM 03.38 default alphabet, by septet value; ESC (0x1B) introduces the extension table.
GSM7_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E,
                  "|": 0x40, "€": 0x65}
_GSM7_CODES = {c: i for i, c in enumerate(GSM7_TABLE) if c != "\x1b"}
GSM7_BASIC = set(_GSM7_CODES)
GSM7_EXTENDED = set(GSM7_EXTENSION)
_GSM7_ALL = GSM7_BASIC | GSM7_EXTENDED
_ASCII_LOOKALIKES = str.maketrans({
    "“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "…": "...", "•": "-",
    "\u00a0": " ", "\t": " ", "→": "->", "×": "x",
})
DATA_CODING_GSM7 = 0
DATA_CODING_UCS2 = 8
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


def _length(text: str, ucs2: bool) -> int:
    return len(text.encode("utf-16-be")) // 2 if ucs2 else gsm7_length(text)


def limits(ucs2: bool) -> tuple[int, int]:
    """(single-message capacity, capacity of one part of a concatenated message)."""
    return (70, 67) if ucs2 else (160, 153)


def prepare(text: str, ucs2: bool, max_segments: int) -> list[Part]:
    """The text as it will be sent: encoded form, shortened to fit, split in parts."""
    text = nfc(text).strip() if ucs2 else to_gsm7(text).strip()
    single, part = limits(ucs2)
    if _length(text, ucs2) <= single:
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
    while _length(cut, ucs2) > room:
        cut = cut[: max(room, len(cut) - 1 - (_length(cut, ucs2) - room))]
    boundary = max(cut.rfind("\n"), cut.rfind(" "))
    if boundary > room * 0.6:
        cut = cut[:boundary]
    return cut.rstrip(" ,;:-\n") + ELLIPSIS


def _split(text: str, size: int, ucs2: bool) -> list[str]:
    """Split into chunks of at most ``size`` characters, preferring word boundaries."""
    chunks = []
    rest = text
    while _length(rest, ucs2) > size:
        cut = size
        while _length(rest[:cut], ucs2) > size:
            cut -= 1
        # A UCS2 surrogate pair or a GSM-7 escape must not be split; neither may a word.
        space = rest.rfind(" ", 0, cut + 1)
        if space > size * 0.7:
            cut = space + 1
        chunks.append(rest[:cut])
        rest = rest[cut:]
    chunks.append(rest)
    return [c for c in chunks if c]


def encode(text: str, ucs2: bool) -> bytes:
    """The short_message octets: UTF-16BE for UCS2; for GSM-7 one octet a septet
    (SMSC default alphabet, unpacked, as SMPP carries it), extension characters
    escaped with 0x1B."""
    if ucs2:
        return text.encode("utf-16-be")
    out = bytearray()
    for c in text:
        if c in _GSM7_CODES:
            out.append(_GSM7_CODES[c])
        elif c in GSM7_EXTENSION:
            out += bytes([0x1B, GSM7_EXTENSION[c]])
        else:
            out.append(_GSM7_CODES["?"])
    return bytes(out)


def udh(reference: int, total: int, index: int) -> bytes:
    """Concatenation header (IEI 0x00, 8-bit reference)."""
    return bytes([0x05, 0x00, 0x03, reference & 0xFF, total, index])


BINARY_CODINGS = {0x02, 0x04}


def decode_mo(short_message: bytes, data_coding: int) -> str | None:
    """Text of an MO payload, or None for binary or undecodable content."""
    if data_coding in BINARY_CODINGS or (data_coding & 0xF0 == 0xF0 and data_coding & 0x04):
        return None
    if data_coding == DATA_CODING_UCS2:
        if len(short_message) % 2:
            return None
        try:
            return short_message.decode("utf-16-be")
        except UnicodeDecodeError:  # a lone surrogate
            return None
    if data_coding == 0 and all(b < 0x80 for b in short_message):
        return decode_gsm7(short_message)
    return short_message.decode("latin-1")


def decode_gsm7(octets: bytes) -> str:
    """Unpacked GSM-7 septets to text (the SMSC default alphabet)."""
    reverse_ext = {v: k for k, v in GSM7_EXTENSION.items()}
    out = []
    escaped = False
    for b in octets:
        if escaped:
            out.append(reverse_ext.get(b, " "))
            escaped = False
        elif b == 0x1B:
            escaped = True
        else:
            out.append(GSM7_TABLE[b])
    return "".join(out)


class MalformedUdh(ValueError):
    """A user data header that does not fit its own lengths (or a concatenation header that makes no sense)."""


def split_udh(payload: bytes) -> tuple[tuple[int, int, int] | None, bytes]:
    """(reference, total, index) of a concatenation UDH, and the payload without it.

    Raises:
        MalformedUdh: the header is cut short (``05 00 03``), or its concatenation
            numbers are impossible (no parts, part 0, part beyond the total).
    """
    if not payload:
        raise MalformedUdh("UDHI set on an empty payload")
    length = payload[0]
    if 1 + length > len(payload):
        raise MalformedUdh("UDH longer than the payload")
    header, body = payload[1 : 1 + length], payload[1 + length :]
    i = 0
    while i < len(header):
        if i + 2 > len(header) or i + 2 + header[i + 1] > len(header):
            raise MalformedUdh("information element cut short")
        iei, size = header[i], header[i + 1]
        data = header[i + 2 : i + 2 + size]
        concat = None
        if iei == 0x00 and size == 3:
            concat = (data[0], data[1], data[2])
        elif iei == 0x08 and size == 4:
            concat = ((data[0] << 8) | data[1], data[2], data[3])
        if concat is not None:
            if concat[1] == 0 or not 1 <= concat[2] <= concat[1]:
                raise MalformedUdh("impossible concatenation numbers")
            return concat, body
        i += 2 + size
    return None, body
