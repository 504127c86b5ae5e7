"""JSON request bodies that every HTTP surface can trust to be ordinary.

``json.loads`` alone lets three things through that later blow up as 500s: a
body nested thousands deep (``RecursionError`` in the parser or in whatever
walks the result), lone UTF-16 surrogates (``"\\ud800"`` is valid JSON, but the
string cannot be encoded to UTF-8 for Redis, SQLite or a log), and bytes that
are not UTF-8. :func:`parse_json` refuses all three with :class:`BadJson`
(a ``ValueError``), so a handler maps one exception to a 400.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # arrays/objects inside one another; real payloads use fewer than 10


class BadJson(ValueError):
    """The body is not UTF-8 JSON of ordinary depth and text."""


def parse_json(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in ``raw``.

    Raises:
        BadJson: not UTF-8, not JSON, nested deeper than ``max_depth`` or holding a
            string (or key) that is not valid Unicode text.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadJson(type(exc).__name__) from None
    check_value(value, max_depth)
    return value


def check_value(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a decoded value nested deeper than ``max_depth`` or with unencodable text.

    Iterative (an explicit stack), so the check itself cannot overflow.

    Raises:
        BadJson: as :func:`parse_json`.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not is_text(item):
                raise BadJson("not text")
        elif isinstance(item, list | dict):
            if depth > max_depth:
                raise BadJson("too deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not is_text(key):
                        raise BadJson("not text")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def is_text(value: str) -> bool:
    """True when ``value`` encodes to UTF-8 (no lone surrogates, e.g. from surrogateescape)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
