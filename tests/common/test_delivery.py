import datetime as dt

import pytest

from common.delivery import asks_fee, delivery_state, recipient_name
from common.dossier_questions import wants_to_stop
from common.status import DossierStatus


@pytest.mark.parametrize(("typed", "name"), [
    ("Huỳnh Thị Kim Oanh, CCCD 049186001122", "Huỳnh Thị Kim Oanh"),
    ("tên là Lê Văn Tám", "Lê Văn Tám"),
    ("Hoang Anh Quan", "Hoang Anh Quan"),
    ("my name is John Smith", "John Smith"),
])
def test_the_name_is_read_out_of_what_is_typed_around_it(typed: str, name: str) -> None:
    assert recipient_name(typed) == name


@pytest.mark.parametrize("typed", ["0906111222", "a", "12 Lê Lợi"])
def test_what_is_not_a_name_is_refused(typed: str) -> None:
    assert recipient_name(typed) is None


@pytest.mark.parametrize("text", ["phí gửi về nhà bao nhiêu", "gui buu dien ton bao nhieu tien", "how much is the fee"])
def test_fee_questions(text: str) -> None:
    assert asks_fee(text)


def test_a_plain_request_is_not_a_fee_question() -> None:
    assert not asks_fee("nhận kết quả qua bưu điện")


@pytest.mark.parametrize("text", ["thôi không cần nữa", "hủy đi, em tự lên lấy", "em đổi ý rồi", "thoi khong can",
                                  "thôi để sau", "à thôi", "never mind"])
def test_changes_of_mind_leave_the_form(text: str) -> None:
    assert wants_to_stop(text)


@pytest.mark.parametrize("text", ["Đỗ Quang Huy", "Nguyễn Văn Thới", "Huy Nguyen", "45 Lê Duẩn, phường Hải Châu",
                                  "0905 123 456"])
def test_names_and_addresses_are_not_a_change_of_mind(text: str) -> None:
    assert not wants_to_stop(text)


def test_a_result_may_be_asked_for_when_it_exists_or_is_due_within_five_days() -> None:
    today = dt.date(2026, 12, 1)
    assert delivery_state(DossierStatus.DA_CO_KET_QUA, today, today) == "cho_giao"
    assert delivery_state(DossierStatus.DANG_XU_LY, today + dt.timedelta(days=5), today) == "cho_ket_qua"
    assert delivery_state(DossierStatus.DANG_XU_LY, today + dt.timedelta(days=6), today) is None
    assert delivery_state(DossierStatus.MOI_TIEP_NHAN, today, today) is None
    assert delivery_state(DossierStatus.DA_TRA_KET_QUA, today, today) is None


@pytest.mark.parametrize("typed", ["có", "ok", "không", "dạ"])
def test_a_yes_or_no_is_not_a_recipients_name(typed: str) -> None:
    assert recipient_name(typed) is None
