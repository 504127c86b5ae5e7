"""The JSON parser every HTTP surface uses: ordinary JSON as json.loads reads it, everything else BadJson."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.jsonbody import MAX_DEPTH, BadJson, parse_json

ordinary = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                        max_leaves=10)


@given(ordinary)
def test_ordinary_json_reads_as_json_loads_reads_it(value) -> None:
    raw = json.dumps(value).encode()
    assert parse_json(raw) == json.loads(raw)


@given(st.binary(max_size=200))
def test_any_bytes_give_a_value_or_bad_json_and_nothing_else(raw: bytes) -> None:
    try:
        parse_json(raw)
    except BadJson:
        pass


@pytest.mark.parametrize("raw", [
    b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
    b'{"a": ' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1),
    b"[" * 100_000,
    b'"\\ud800"', b'{"\\udfff": 1}', b'["ok", {"x": "\\udc80 tail"}]',
    b'"\xff"', b"\xef\xbb\xbf{}", b"", b"{,}",
])
def test_deep_undecodable_or_not_text_is_bad_json(raw: bytes) -> None:
    with pytest.raises(BadJson):
        parse_json(raw)


def test_the_depth_limit_is_inclusive_and_surrogate_pairs_are_text() -> None:
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    assert parse_json(b'"\\ud83d\\ude00"') == "😀"  # a pair is a real character
