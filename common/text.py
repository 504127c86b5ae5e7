"""Vietnamese text normalisation: NFC, diacritic folding, whitespace."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_SPACES = re.compile(r"\s+")
# NFD does not decompose đ/Đ (they are letters of their own), so map them by hand.
_D_MAP = str.maketrans({"đ": "d", "Đ": "D"})


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC (composed) form.

    Vietnamese keyboards and phones mix NFC and NFD; comparing or storing
    anything else than NFC makes ``hồ sơ`` and ``hồ sơ`` different strings.
    """
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Remove Vietnamese diacritics: ``Đăng ký`` -> ``Dang ky``.

    The result has the same number of characters as ``nfc(text)`` for every
    Vietnamese letter, so character offsets survive folding.
    """
    decomposed = unicodedata.normalize("NFD", nfc(text).translate(_D_MAP))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", stripped)


def fold_key(text: str) -> str:
    """Lower-case, folded, single-spaced form used for matching user text."""
    return _SPACES.sub(" ", fold(text).lower()).strip()


def as_str(value: Any) -> str:
    """A Redis reply (bytes with redis-py's defaults) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def squash_spaces(text: str) -> str:
    """Collapse runs of white space to one space and strip the ends."""
    return _SPACES.sub(" ", text).strip()


def split_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into chunks of at most ``limit`` characters, at paragraph,
    line or word boundaries when there is one (chat channels cap a message)."""
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def cut_at_word(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` characters, at a word boundary when there is one."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    return head.rsplit(" ", 1)[0] if " " in head else head
