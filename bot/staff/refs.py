"""Opaque references to conversations in the console's links and forms.

A conversation's sender id is ``<channel>:<id>``, and for SMS the id is the citizen's
phone number. The console never puts it in a link, a form field or a data attribute:
it hands out ``ref``, the sender id sealed with AES-SIV (deterministic, so one
conversation keeps one reference, and authenticated, so a forged or altered reference
opens nothing). The key is derived from ``WEB_SESSION_SECRET``, which every gateway
process of a deployment shares; without one it is random per process.

Staff tools that already know a sender id (the JSON API) may still send ``sender``.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAX_SENDER = 200
_CONTEXT = b"staff-console-conversation-ref"


class Refs:
    """Seals sender ids into references and opens them again."""

    def __init__(self, secret: str) -> None:
        material = secret.encode() if secret else os.urandom(32)
        key = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_CONTEXT).derive(material)
        self._siv = AESSIV(key)

    def of(self, sender: str) -> str:
        sealed = self._siv.encrypt(sender.encode(), [_CONTEXT])
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open(self, ref: str) -> str:
        """The sender id of ``ref``; "" when it is not one of ours."""
        if not ref.isascii() or len(ref) > 2 * MAX_SENDER:
            return ""
        try:
            sender = self._siv.decrypt(base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4)), [_CONTEXT]).decode()
        except (InvalidTag, ValueError, binascii.Error):
            return ""
        return sender if _valid(sender) else ""


REFS_KEY = web.AppKey("staff_refs", Refs)


def _valid(sender: str) -> bool:
    return ":" in sender and len(sender) <= MAX_SENDER


def ref_of(request: web.Request, sender: str) -> str:
    return request.app[REFS_KEY].of(sender)


def sender_of(request: web.Request, values: Mapping[str, Any]) -> str:
    """The conversation ``values`` name: their ``ref``, else a ``sender`` id; "" when neither is valid."""
    ref = values.get("ref")
    if ref:
        return request.app[REFS_KEY].open(str(ref))
    sender = str(values.get("sender", ""))
    return sender if _valid(sender) else ""
