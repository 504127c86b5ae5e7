"""Vietnamese phone numbers."""

from __future__ import annotations

import re

# A number as people type it: 0905123456, 0905 123 456, 0935.678.910, +84 905 777 888, (084) 905...
_PHONE_IN_TEXT = re.compile(r"(?<![\d+])(?:\+\s*84|\(?0?84\)?|0)(?:[\s.\-()]{0,2}\d){8,10}(?!\d)")


# The national numbering plan since 2018: mobile numbers are 0 + 9 digits (03x, 05x, 07x, 08x, 09x), fixed
# lines 0 + 10 digits (02xx, 0236 in Đà Nẵng); "0905 11 22 3" is a number typed short, not a number.
_MOBILE = re.compile(r"84[35789]\d{8}")
_LANDLINE = re.compile(r"842\d{9}")


def normalize_msisdn(phone: str) -> str | None:
    """A Vietnamese number in international form without '+': ``0901234567`` -> ``84901234567``."""
    digits = re.sub(r"[\s.\-()]", "", phone or "")
    if digits.startswith("+"):
        digits = digits[1:]
    if not digits.isdigit():
        return None
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    return digits if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits) else None


def find_msisdn(text: str) -> str | None:
    """The first Vietnamese phone number in a longer text ("số em là 0987 654 321"), normalised."""
    for match in _PHONE_IN_TEXT.finditer(text or ""):
        phone = normalize_msisdn(match.group(0))
        if phone is not None:
            return phone
    return None
