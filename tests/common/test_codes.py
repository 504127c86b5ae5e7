import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.codes import (
    InvalidCode,
    canonical_code,
    find_codes,
    is_bare_code_attempt,
    looks_like_code_attempt,
    parse_code,
)

CANONICAL = "000.00.12.H17-200115-0001"


@pytest.mark.parametrize(
    "typed",
    [
        "000.00.12.H17-200115-0001",
        "000.00.12.h17-200115-0001",
        "000 . 00 . 12 . H17 - 200115 - 0001",
        "000.00.12.H17–200115—0001",  # en and em dashes
        "000.00.12.H17－200115－0001",  # full-width hyphen-minus
        "000,00,12,H17-200115-0001",
        "000.00.12.H17_200115_0001",
        "  000.00.12.h17 -200115- 0001  ",
    ],
)
def test_any_shape_gives_the_canonical_code(typed: str) -> None:
    assert canonical_code(typed) == CANONICAL
    code = parse_code(typed)
    assert code.agency == "000.00.12.H17"
    assert code.received == dt.date(2020, 1, 15)
    assert code.serial == 1


def test_code_inside_a_sentence_with_its_span() -> None:
    text = "cho hỏi hồ sơ 000.00.12.h17-231004-0012 xong chưa"
    [match] = find_codes(text)
    assert match.code.canonical == "000.00.12.H17-231004-0012"
    assert text[match.start : match.end] == "000.00.12.h17-231004-0012"


def test_several_codes_are_all_found() -> None:
    text = "000.00.12.H17-200115-0001 và 000.00.12.H17-200116-0002"
    assert [m.code.canonical for m in find_codes(text)] == [CANONICAL, "000.00.12.H17-200116-0002"]


@pytest.mark.parametrize(
    "text",
    [
        "000.00.12.H17-201301-0001",  # month 13
        "000.00.12.H17-200230-0001",  # 30 February
        "000.00.12.H17-200115-0000",  # serial 0
        "000.00.12.H17-200115-00011",  # serial too long
        "1000.00.12.H17-200115-0001",  # agency group too long
        "000.00.12.17-200115-0001",  # letter missing
        "hồ sơ của tôi",
        "",
    ],
)
def test_invalid_codes_are_rejected(text: str) -> None:
    assert canonical_code(text) is None
    with pytest.raises(InvalidCode):
        parse_code(text)


def test_attempts_are_told_apart_from_plain_text() -> None:
    assert looks_like_code_attempt("000.00.12.H17-201301-0001")
    assert looks_like_code_attempt("ma ho so 000.00.12 H17")
    assert not looks_like_code_attempt("tra cứu hồ sơ")
    assert not looks_like_code_attempt(CANONICAL)  # valid: not a mere attempt


@pytest.mark.parametrize("text", ["12345", "000.00.12.H17-201301-0001", CANONICAL, " 000.00.12.h17 - 200115 - 0001 ! "])
def test_bare_code_attempts(text: str) -> None:
    assert is_bare_code_attempt(text)


@pytest.mark.parametrize("text", ["abc 12345", "HS 123", "tra cuu 000.00.12.H17-200115-0001", "123", "đánh giá 1"])
def test_not_bare_code_attempts(text: str) -> None:
    assert not is_bare_code_attempt(text)


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("000.00.12.H17 261023 0010", "000.00.12.H17-261023-0010"),  # spaces instead of dashes
        ("0000012H17-261023-0010", "000.00.12.H17-261023-0010"),  # no dots
        ("0000012h17 261023 0010", "000.00.12.H17-261023-0010"),  # neither
        ("000 00 12 H17 - 261023 - 0010", "000.00.12.H17-261023-0010"),
    ],
)
def test_unambiguous_shapes_without_dots_or_dashes_are_accepted(typed: str, canonical: str) -> None:
    assert canonical_code(f"à nhầm, mã đúng là {typed} nha") == canonical
    assert is_bare_code_attempt(typed)


@pytest.mark.parametrize(
    "text",
    [
        "0000012H172610230010",  # date and serial run together: not split by guessing
        "00000012H17-261023-0010",  # one digit too many
        "000.00.12.H17 261323 0010",  # month 13
        "gọi 0905 123 456 lúc 9h",
    ],
)
def test_ambiguous_or_invalid_shapes_are_still_rejected(text: str) -> None:
    assert canonical_code(text) is None


def test_two_codes_in_other_shapes_are_both_found() -> None:
    text = "My code is 0000012H17-261023-0010, and 000.00.12.H17 261024 0002 too"
    assert [m.code.canonical for m in find_codes(text)] == ["000.00.12.H17-261023-0010", "000.00.12.H17-261024-0002"]


@given(
    st.from_regex(r"\d{3}", fullmatch=True), st.from_regex(r"\d{2}", fullmatch=True),
    st.from_regex(r"\d{2}", fullmatch=True), st.from_regex(r"[A-Z]\d{2}", fullmatch=True),
    st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)), st.integers(1, 9999),
    st.sampled_from([".", "", " ", " . ", ","]), st.sampled_from(["-", " ", " - ", "–"]), st.booleans(),
)
def test_every_unambiguous_shape_parses_back(v: str, z: str, y: str, m: str, received: dt.date, serial: int,
                                             dot: str, dash: str, lower: bool) -> None:
    canonical = f"{v}.{z}.{y}.{m}-{received:%y%m%d}-{serial:04d}"
    typed = f"{v}{dot}{z}{dot}{y}{dot}{m}{dash}{received:%y%m%d}{dash}{serial:04d}"
    assert canonical_code(f"mã là {typed.lower() if lower else typed} nhé") == canonical
