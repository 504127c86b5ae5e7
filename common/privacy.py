"""Privacy helpers: masked names in replies, masked identifiers in logs."""

from __future__ import annotations

import hashlib
import re

from common.text import nfc, squash_spaces

# Vietnamese mobile and landline numbers: 0xxxxxxxxx or +84/84xxxxxxxxx.
_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")
# Citizen ID (CCCD, 12 digits) and old ID card (9 digits) numbers.
_ID_NUMBER = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)")


def mask_person_name(name: str) -> str:
    """Mask a person's name for display: ``Nguyễn Văn An`` -> ``NGUYỄN V*** A``.

    The family name stays readable so the citizen recognises the dossier;
    middle names keep their initial, the given name only its initial.
    """
    parts = squash_spaces(nfc(name)).upper().split(" ")
    if not parts or parts == [""]:
        return ""
    if len(parts) == 1:
        return parts[0][0] + "***"
    middle = [p[0] + "***" for p in parts[1:-1]]
    return " ".join([parts[0], *middle, parts[-1][0]])


# Legal-form prefixes of organisations, kept readable when masking their names.
_ORG_PREFIXES = (
    "CÔNG TY TRÁCH NHIỆM HỮU HẠN",
    "CÔNG TY CỔ PHẦN",
    "CÔNG TY TNHH",
    "DOANH NGHIỆP TƯ NHÂN",
    "HỘ KINH DOANH",
    "HỢP TÁC XÃ",
    "CHI NHÁNH",
)


def mask_applicant(name: str) -> str:
    """Mask an applicant's name: a person's as in :func:`mask_person_name`,
    an organisation's keeping its legal form: ``Công ty TNHH Hoàng Phát`` ->
    ``CÔNG TY TNHH H*** P***``.
    """
    upper = squash_spaces(nfc(name)).upper()
    for prefix in _ORG_PREFIXES:
        if upper.startswith(prefix + " "):
            rest = upper[len(prefix) + 1 :].split(" ")
            return " ".join([prefix, *(p[0] + "***" for p in rest if p)])
    return mask_person_name(name)


def mask_phone(phone: str) -> str:
    """Keep the last three digits of a phone number: ``0901234567`` -> ``*******567``."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) <= 3:
        return "*" * len(digits)
    return "*" * (len(digits) - 3) + digits[-3:]


def redact(text: str) -> str:
    """Replace phone and ID numbers in free text with placeholders."""
    text = _PHONE.sub("<SĐT>", text)
    return _ID_NUMBER.sub("<SỐ GIẤY TỜ>", text)


def anonymize(text: str) -> str:
    """Replace phone and ID numbers with fixed numbers of the same shape (for training examples:
    the sentence still reads like a citizen's, and nobody's number is kept)."""
    text = _PHONE.sub("0900000000", text)
    return _ID_NUMBER.sub("001000000000", text)


def pseudonym(identifier: str) -> str:
    """A short stable hash of an identifier, for correlating log lines."""
    return hashlib.sha256(identifier.encode()).hexdigest()[:10]


def log_text(text: str) -> str:
    """What a log line may say about a citizen's message: its size, never its content."""
    return f"** {len(text.encode())} byte content **"
