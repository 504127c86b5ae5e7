"""Vietnamese phone numbers."""

from __future__ import annotations

import re


def normalize_msisdn(phone: str) -> str | None:
    """A Vietnamese number in international form without '+': ``0901234567`` -> ``84901234567``."""
    digits = re.sub(r"[\s.\-()]", "", phone or "")
    if digits.startswith("+"):
        digits = digits[1:]
    if not digits.isdigit():
        return None
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    return digits if digits.startswith("84") and 10 <= len(digits) <= 12 else None
