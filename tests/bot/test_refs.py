"""The console's opaque conversation references (bot/staff/refs.py)."""

from __future__ import annotations

from bot.staff.refs import Refs

SMS_SENDER = "sms:84905123456"


def test_a_reference_hides_the_sender_and_opens_to_it() -> None:
    refs = Refs("deployment-secret")
    ref = refs.of(SMS_SENDER)
    assert "84905123456" not in ref and ref.isascii() and "=" not in ref
    assert refs.open(ref) == SMS_SENDER
    assert refs.of(SMS_SENDER) == ref  # one conversation, one reference: links stay stable
    assert Refs("deployment-secret").open(ref) == SMS_SENDER  # every gateway process of a deployment agrees


def test_forged_altered_or_foreign_references_open_nothing() -> None:
    refs = Refs("deployment-secret")
    ref = refs.of(SMS_SENDER)
    altered = ref[:5] + ("A" if ref[5] != "A" else "B") + ref[6:]
    assert refs.open(altered) == ""
    assert Refs("another-deployment").open(ref) == ""
    for junk in ("", "sms:84905123456", "%%%", "é" * 10, "A" * 1000):
        assert refs.open(junk) == ""
    assert refs.open(refs.of("no-channel")) == ""  # only sender ids the console could have made
