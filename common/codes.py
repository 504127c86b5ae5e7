"""Dossier codes in the national format (Circular 01/2018/TT-VPCP, art. 19).

``V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX``, e.g. ``000.00.12.H17-200115-0001``:
the agency code (four dot-separated groups), the receipt date and the daily
serial number. Citizens type codes in every shape - lower case, spaces around
the separators, Unicode dashes, a comma instead of a dot, spaces instead of
the dashes (``000.00.12.H17 261023 0010``) or no dots at all
(``0000012H17-261023-0010``) - so parsing is tolerant and the canonical form
is upper case with ASCII separators. Every group has a fixed width, so each of
those shapes is unambiguous; the receipt date must be a real date and the
serial not zero.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from common.phones import normalize_msisdn
from common.text import nfc

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d_"
_DOT = r"\s*(?:[.,\u00b7]\s*)?"  # a dot, a comma, spaces, or nothing
_DASH = rf"(?:\s*[{_DASHES}]\s*|\s+)"  # a dash (spaces around it allowed) or spaces
# Groups: agency (V, Z, Y, M), date, serial. The separators may carry spaces.
CODE_PATTERN = re.compile(
    rf"(?<![0-9A-Za-z])"
    rf"(?P<v>\d{{3}}){_DOT}(?P<z>\d{{2}}){_DOT}(?P<y>\d{{2}}){_DOT}(?P<m>[A-Za-z]\d{{2}})"
    rf"{_DASH}(?P<date>\d{{6}}){_DASH}(?P<serial>\d{{4}})"
    rf"(?![0-9A-Za-z])"
)
# Something that tries to be a code: an agency-like head or a date-serial tail.
_ATTEMPT = re.compile(
    r"\d{2,3}\s*[.,\u00b7]\s*\d{1,3}"
    rf"|[A-Za-z]\d{{2}}\s*[{_DASHES}]\s*\d|\d{{6}}\s*[{_DASHES}]\s*\d{{1,5}}"
)


@dataclass(frozen=True)
class DossierCode:
    """A parsed dossier code."""

    agency: str
    received: dt.date
    serial: int

    @property
    def canonical(self) -> str:
        """The canonical upper-case form, e.g. ``000.00.12.H17-200115-0001``."""
        return f"{self.agency}-{self.received:%y%m%d}-{self.serial:04d}"

    def __str__(self) -> str:
        return self.canonical


@dataclass(frozen=True)
class CodeMatch:
    """A dossier code found in a longer text, with its character span."""

    code: DossierCode
    start: int
    end: int


class InvalidCode(ValueError):
    """Raised when a text is not a valid dossier code."""


def _from_match(match: re.Match[str]) -> DossierCode | None:
    agency = f"{match['v']}.{match['z']}.{match['y']}.{match['m'].upper()}"
    try:
        received = dt.datetime.strptime(match["date"], "%y%m%d").date()
    except ValueError:
        return None
    serial = int(match["serial"])
    if serial == 0:
        return None
    return DossierCode(agency=agency, received=received, serial=serial)


def find_codes(text: str) -> list[CodeMatch]:
    """Find every valid dossier code in ``text`` (spans refer to ``nfc(text)``)."""
    found = []
    for match in CODE_PATTERN.finditer(nfc(text)):
        code = _from_match(match)
        if code is not None:
            found.append(CodeMatch(code=code, start=match.start(), end=match.end()))
    return found


def without_codes(text: str) -> str:
    """``text`` with its dossier codes taken out (what else the message says)."""
    parts, start = [], 0
    for found in find_codes(text):
        parts.append(text[start:found.start])
        start = found.end
    return " ".join([*parts, text[start:]])


def parse_code(text: str) -> DossierCode:
    """Parse a text that should hold exactly one dossier code.

    Raises:
        InvalidCode: when no valid code is found.
    """
    matches = find_codes(text)
    if not matches:
        raise InvalidCode(text)
    return matches[0].code


def canonical_code(text: str) -> str | None:
    """The canonical form of the first valid code in ``text``, or None."""
    matches = find_codes(text)
    return matches[0].code.canonical if matches else None


def is_bare_code_attempt(text: str) -> bool:
    """True when ``text`` is nothing but something code-like: digits and
    separators with at most one agency letter, e.g. ``12345`` or
    ``000.00.12.H17-201301-0001`` (valid or not). A phone number (``0935 111 999``,
    ``+84 905 777 888``) or a time of day (``10h30``) is not one: forms ask for them."""
    text = nfc(text).strip()
    if (normalize_msisdn(text) is not None or _CLOCK.match(text)) and not find_codes(text):
        return False  # a phone number or a time of day ("10h30", "13:30") answers another question
    return sum(c.isdigit() for c in text) >= 4 and bool(_BARE.fullmatch(text))


_CLOCK = re.compile(r"^\d{1,2}\s*(?:h|g|:)\s*\d{0,2}\s*(?:p)?$", re.IGNORECASE)
_BARE = re.compile(r"[\d\W_]*(?:[A-Za-z]\d[\d\W_]*)?")


def looks_like_code_attempt(text: str) -> bool:
    """True when ``text`` seems to try to give a code but holds no valid one."""
    return not find_codes(text) and bool(_ATTEMPT.search(nfc(text)))
