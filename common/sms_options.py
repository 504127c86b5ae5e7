"""Buttons over SMS: numbered lines, and the number a citizen texts back read as the button's payload.
On the chat channels the buttons are shown, and a number typed instead of a tap chooses one too
(:func:`remember_shown`, :func:`chosen_shown`).

The SMS gateway renders the assistant's replies this way, and so does the chat gateway
for what it sends an SMS citizen itself (a staff member's handoff notices, the
satisfaction question), so "1" means the same option whoever sent the menu: the last
one the number received.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from common import sms_keys
from common.sms_text import sms_text_settings

OPTIONS_TTL_S = 900  # a number texted back later than this is free text again


class _Button(Protocol):
    @property
    def title(self) -> str: ...

    @property
    def payload(self) -> str: ...


class _Message(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def buttons(self) -> Sequence[_Button]: ...


async def render(redis: Any, msisdn: str, messages: Sequence[_Message], hint: str) -> str:
    """``messages`` as one SMS text: their texts, then their buttons as numbered lines and ``hint``
    (how to choose: the caller's wording, content ``sms.options_hint``), remembered for :func:`chosen`;
    a reply without buttons forgets the previous menu. Empty if nothing to say. The texts are
    shortened, never the menu, so that a number texted back is always one the citizen saw."""
    lines = [m.text for m in messages if m.text]
    buttons = [b for m in messages for b in m.buttons]
    if not buttons:
        await redis.delete(sms_keys.options(msisdn))
        return "\n".join(lines)
    await redis.set(sms_keys.options(msisdn), json.dumps([b.payload for b in buttons]), ex=OPTIONS_TTL_S)
    menu = "\n".join([f"{i}. {b.title}" for i, b in enumerate(buttons, 1)] + [hint])
    return sms_text_settings().with_tail("\n".join(lines), menu, msisdn) if lines else menu


async def chosen(redis: Any, msisdn: str, text: str) -> str | None:
    """The payload of the option ``text`` numbers in the last menu sent to ``msisdn``, if it is one."""
    return await _numbered(redis, sms_keys.options(msisdn), text)


async def _numbered(redis: Any, key: str, text: str) -> str | None:
    text = text.strip(" .")
    if not (text.isascii() and text.isdigit()):  # "¹" or "٣" are digits to str.isdigit, not to int()
        return None
    raw = await redis.get(key)
    payloads = json.loads(raw) if raw else []
    index = int(text) - 1
    return payloads[index] if 0 <= index < len(payloads) else None


# Buttons of a rating: a number typed to them is a score ("5" is very pleased, "1" not the first button).
SCORE_PAYLOADS = ("/danh_gia", "/csat_")


def _shown_key(sender: str) -> str:
    return f"chat:options:{sender}"


async def remember_shown(redis: Any, sender: str, messages: Sequence[_Message]) -> None:
    """Remember the buttons of the last reply shown with buttons to a chat ``sender`` for
    :func:`chosen_shown`; a reply without buttons, whose buttons are numbers themselves (times,
    dates: "9" is 9 o'clock, not the ninth) or a rating's (a number is a score), forgets them."""
    buttons = next((m.buttons for m in reversed(messages) if m.buttons), ())
    if not buttons or any(ch.isdigit() for b in buttons for ch in b.title) or any(
            b.payload.startswith(SCORE_PAYLOADS) for b in buttons):
        await redis.delete(_shown_key(sender))
        return
    await redis.set(_shown_key(sender), json.dumps([b.payload for b in buttons]), ex=OPTIONS_TTL_S)


async def chosen_shown(redis: Any, sender: str, text: str) -> str | None:
    """The payload of the button ``text`` numbers ("2") among those last shown to ``sender``, if any."""
    return await _numbered(redis, _shown_key(sender), text)
