import pytest

from common.codes import is_bare_code_attempt
from common.phones import find_msisdn, normalize_msisdn


@pytest.mark.parametrize("typed", ["0905 123 456", "0935.678.910", "+84 905 777 888", "0905-123-456", "84905123456",
                                   "0236 3821 234"])
def test_numbers_typed_with_separators_are_accepted(typed: str) -> None:
    assert normalize_msisdn(typed) is not None
    assert find_msisdn(typed) == normalize_msisdn(typed)


@pytest.mark.parametrize(("text", "phone"), [
    ("số em là 0987 654 321", "84987654321"),
    ("xin lỗi gõ sai, 0916 345 679 mới đúng", "84916345679"),
    ("lien he toi 0914 135 790, cmnd 201234567", "84914135790"),
])
def test_a_number_inside_a_sentence_is_found(text: str, phone: str) -> None:
    assert find_msisdn(text) == phone


@pytest.mark.parametrize("text", ["CCCD 048090001234", "K15/3 Hoàng Diệu", "000.00.12.H17-261023-0010", "abc", "12345",
                                  "0905 11 22 3", "0123 456 789"])
def test_ids_addresses_and_codes_are_not_phone_numbers(text: str) -> None:
    assert find_msisdn(text) is None


def test_a_bare_phone_number_is_not_a_mistyped_dossier_code() -> None:
    assert not is_bare_code_attempt("0935111999")
    assert not is_bare_code_attempt("+84 905 777 888")
    assert is_bare_code_attempt("000.00.12.H17-201301-0001")
