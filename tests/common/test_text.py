import unicodedata

from common.text import fold, fold_key, nfc, squash_spaces


def test_fold_removes_every_vietnamese_diacritic() -> None:
    assert fold("Đăng ký kinh doanh xăng dầu") == "Dang ky kinh doanh xang dau"
    assert fold("Hồ sơ đã được tiếp nhận") == "Ho so da duoc tiep nhan"
    assert fold("ỨNG DỤNG Ữ Ỵ Ỷ") == "UNG DUNG U Y Y"


def test_fold_accepts_nfd_input() -> None:
    decomposed = unicodedata.normalize("NFD", "hồ sơ")
    assert decomposed != "hồ sơ"
    assert fold(decomposed) == "ho so"
    assert nfc(decomposed) == "hồ sơ"


def test_fold_keeps_offsets_of_nfc_text() -> None:
    text = "Trạng thái hồ sơ đã được duyệt"
    assert len(fold(text)) == len(text)


def test_fold_key_lowercases_and_squashes() -> None:
    assert fold_key("  Lệ   PHÍ\tbao nhiêu ") == "le phi bao nhieu"
    assert squash_spaces(" a \n b ") == "a b"
