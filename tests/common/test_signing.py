"""Timestamped webhook signatures and signed identifiers."""

from __future__ import annotations

import time

from common import signing

SECRET = "shared-secret"
BODY = b'{"id": 1, "code": "000.00.12.H17-200115-0001"}'


def test_a_fresh_signature_verifies_and_any_change_breaks_it() -> None:
    headers = signing.signed_headers(SECRET, BODY)
    assert signing.verify(SECRET, BODY, headers)
    assert not signing.verify(SECRET, BODY + b" ", headers)
    assert not signing.verify("other-secret", BODY, headers)
    assert not signing.verify("", BODY, headers)
    moved = {**headers, signing.TIMESTAMP_HEADER: str(int(headers[signing.TIMESTAMP_HEADER]) + 1)}
    assert not signing.verify(SECRET, BODY, moved)  # the timestamp is signed too


def test_old_or_future_or_malformed_timestamps_are_refused() -> None:
    now = time.time()
    for sent in (now - signing.MAX_AGE_S - 1, now + signing.MAX_AGE_S + 1):
        assert not signing.verify(SECRET, BODY, signing.signed_headers(SECRET, BODY, sent), now=now)
    assert signing.verify(SECRET, BODY, signing.signed_headers(SECRET, BODY, now - 10), now=now)
    good = signing.signed_headers(SECRET, BODY)
    for timestamp in ("", "²", "-1", "1e9", "9" * 400, "１２３"):
        assert not signing.verify(SECRET, BODY, {**good, signing.TIMESTAMP_HEADER: timestamp})
    assert not signing.verify(SECRET, BODY, {signing.TIMESTAMP_HEADER: good[signing.TIMESTAMP_HEADER]})
    assert not signing.verify(SECRET, BODY, {**good, signing.HEADER: "sha256=ảnh"})


def test_signed_ids_verify_only_with_their_secret() -> None:
    token = signing.sign_id(SECRET, "abcDEF123_-x")
    assert signing.unsign_id(SECRET, token) == "abcDEF123_-x"
    value, _, mac = token.partition(".")
    for forged in (value, f"{value}.", f"{value}.{mac[:-1]}", signing.sign_id("other", value), f"x{token}",
                   "", ".", "ảnh.ảnh"):
        assert signing.unsign_id(SECRET, forged) is None, forged
    assert signing.unsign_id("", token) is None
