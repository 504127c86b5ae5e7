import pytest

from common.sms_text import gsm7_length, prepare, to_gsm7
from sms_gateway.encoding import decode_mo, encode, split_udh, udh


def test_vietnamese_is_folded_to_gsm7() -> None:
    assert to_gsm7("Hồ sơ đã có kết quả – “ĐÃ TRẢ”…") == 'Ho so da co ket qua - "DA TRA"...'
    assert to_gsm7("emoji 😀 ở đây") == "emoji ? o day"
    assert gsm7_length("a[b]") == 6


def test_short_text_is_one_part() -> None:
    [part] = prepare("Hồ sơ đang xử lý", ucs2=False, max_segments=3)
    assert part.text == "Ho so dang xu ly" and part.total == 1


def test_long_gsm7_text_is_split_at_words_within_153() -> None:
    text = " ".join(f"tu{i}" for i in range(80))  # ~400 characters
    parts = prepare(text, ucs2=False, max_segments=3)
    assert len(parts) == 3 and [p.index for p in parts] == [1, 2, 3]
    assert all(gsm7_length(p.text) <= 153 for p in parts)
    assert "".join(p.text for p in parts) == text
    assert not any(p.text.endswith("tu") for p in parts[:-1])


def test_too_long_text_is_shortened_sensibly() -> None:
    text = "Thủ tục gồm các giấy tờ sau đây " * 40
    parts = prepare(text, ucs2=False, max_segments=3)
    assert len(parts) == 3
    whole = "".join(p.text for p in parts)
    assert whole.endswith("...") and not whole.endswith(" ...")
    assert whole[:-3].split(" ")[-1] in "Thu tuc gom cac giay to sau day".split()


def test_ucs2_keeps_diacritics_with_67_per_part() -> None:
    text = "Hồ sơ của anh/chị đã được tiếp nhận và đang chờ thẩm định. " * 3
    parts = prepare(text, ucs2=True, max_segments=5)
    assert len(parts) > 1 and all(len(p.text) <= 67 for p in parts)
    assert "đ" in parts[0].text
    assert encode("đ", ucs2=True) == b"\x01\x11"


@pytest.mark.parametrize(
    ("payload", "coding", "text"),
    [
        (b"HS 1", 0, "HS 1"),
        ("hồ sơ".encode("utf-16-be"), 8, "hồ sơ"),
        (b"\x00\x01\x02", 4, None),
        (b"\xd8\x00", 8, None),  # a lone surrogate is not text
        (b"\x00", 8, None),  # odd length
    ],
)
def test_mo_decoding(payload: bytes, coding: int, text) -> None:
    assert decode_mo(payload, coding) == text


def test_gsm7_octets_use_the_default_alphabet() -> None:
    assert encode("a|b@$_[x]", ucs2=False) == bytes.fromhex("611b40620002111b3c781b3e")
    assert decode_mo(bytes.fromhex("611b40620002111b3c781b3e"), 0) == "a|b@$_[x]"


def test_udh_round_trip() -> None:
    header = udh(42, 3, 2)
    assert split_udh(header + b"body") == ((42, 3, 2), b"body")
    sixteen_bit = bytes([6, 0x08, 4, 0x01, 0x02, 3, 1])
    assert split_udh(sixteen_bit + b"x") == ((0x0102, 3, 1), b"x")


def test_characters_gsm7_lacks_keep_their_plain_form_when_they_have_one() -> None:
    # the catalog's documents say "kho hàng (diện tích từ 50 m² hoặc dung tích từ 150 m³)"
    assert to_gsm7("diện tích từ 50 m² hoặc dung tích từ 150 m³") == "dien tich tu 50 m2 hoac dung tich tu 150 m3"
    assert to_gsm7("Ｈồ sơ") == "Ho so"
    assert to_gsm7("☎ 1022") == "? 1022"  # nothing plain to keep
