"""Dossier facts across whole conversations on the real stack (web chat): late dossiers,
codes anywhere, follow-ups, dates, and questions that are not complaints.

The stack runs on the real clock: what is late is computed here from the API's due date and
the department's date, the same way the assistant must."""

from __future__ import annotations

import datetime as dt

import pytest

from common.dates import local_now, vn_day
from common.settings import get_settings
from tests.conftest import Conversation, Stack

pytestmark = pytest.mark.e2e


def _dossiers(stack: Stack, status: str) -> list[dict]:
    page = stack.api_session().get(f"{stack.api_url}/api/v1/dossiers", params={"status": status, "limit": 500},
                                   timeout=10)
    return page.json()["items"]


def _late(stack: Stack, status: str = "dang_xu_ly") -> tuple[dict, int]:
    today = local_now().date()
    dossier = next(d for d in _dossiers(stack, status) if dt.date.fromisoformat(d["due_date"]) < today)
    return dossier, (today - dt.date.fromisoformat(dossier["due_date"])).days


def test_an_overdue_dossier_and_its_follow_ups(stack: Stack) -> None:
    dossier, days = _late(stack)
    assert dossier["late"] is True and dossier["days_late"] == days  # the API says the same
    chat = Conversation(stack)
    first = chat.say(f"cho em hỏi hồ sơ {dossier['code']} giờ sao rồi")
    assert f"TRỄ HẠN {days} NGÀY" in first and "xin lỗi" in first and get_settings().hotline in first
    assert "đang trong thời hạn" not in first
    when = chat.say("khi nào có kết quả")
    assert dossier["code"] in when and f"trễ hạn {days} ngày" in when
    late = chat.say("trễ hạn rồi phải không")
    assert dossier["code"] in late and "đúng vậy" in late
    where = chat.say("nhận kết quả ở đâu")
    assert dossier["code"] in where and get_settings().office_address in where
    assert "Cảm ơn anh/chị đã liên hệ" not in where
    fee = chat.say("còn lệ phí thì sao")  # the dossier's procedure is the one discussed
    assert dossier["procedure_name"] in fee and "Lệ phí" in fee
    assert "nhập mã hồ sơ" in chat.say("/tra_cuu_ho_so")  # the "another dossier" button asks for the code
    other = _dossiers(stack, "da_co_ket_qua")[0]
    assert other["code"] in chat.say(other["code"])
    when_other = chat.say("khi nào có kết quả")  # now about the new dossier
    assert other["code"] in when_other and "đã có kết quả ngày" in when_other


@pytest.mark.parametrize("shape", ["à nhầm, mã đúng là {spaces}", "My code is {nodots}", "{spaces}"])
def test_a_code_given_in_any_words_or_shape_is_looked_up(stack: Stack, shape: str) -> None:
    dossier = _dossiers(stack, "cho_bo_sung")[3]
    code = dossier["code"]
    agency, date, serial = code.split("-")
    text = shape.format(spaces=f"{agency} {date} {serial}", nodots=f"{agency.replace('.', '')}-{date}-{serial}")
    chat = Conversation(stack)
    chat.say("tra cứu hồ sơ 000.00.12.H17-200115-0999")  # a first, wrong code
    reply = chat.say(text)
    assert code in reply and "CHỜ BỔ SUNG" in reply


def test_two_codes_in_one_message_are_both_answered(stack: Stack) -> None:
    one, two = _dossiers(stack, "da_tra_ket_qua")[0], _dossiers(stack, "tu_choi")[0]
    reply = Conversation(stack).say(f"kiểm tra giúp 2 hồ sơ {one['code']} và {two['code']}")
    assert one["code"] in reply and "ĐÃ TRẢ KẾT QUẢ" in reply
    assert two["code"] in reply and "TỪ CHỐI" in reply


def test_a_long_status_question_with_a_code_files_no_ticket(stack: Stack) -> None:
    dossier, days = _late(stack, "moi_tiep_nhan")
    chat = Conversation(stack)
    reply = chat.say(f"hồ sơ {dossier['code']} công ty em nộp lâu lắm rồi mà chờ hoài chưa thấy gì, "
                     "không biết bao giờ mới có kết quả vậy ạ")
    assert dossier["code"] in reply and f"TRỄ HẠN {days} NGÀY" in reply
    assert "số phiếu" not in reply


def test_the_author_asks_a_ticket_by_its_number(stack: Stack) -> None:
    chat = Conversation(stack)
    filed = chat.say("Tôi muốn phản ánh cán bộ ở quầy một cửa có thái độ hách dịch với người dân hôm qua")
    number = filed.split("số phiếu ")[1].split(".")[0]
    answer = chat.say(f"phiếu {number} thế nào rồi ạ")
    assert number in answer and "mới tiếp nhận" in answer and "số phiếu" not in answer
    again = chat.say("phiếu vừa rồi xử lý chưa")
    assert number in again and "mới tiếp nhận" in again
    stranger = Conversation(stack).say(f"phiếu {number} thế nào rồi ạ")
    assert "không tìm thấy phiếu" in stranger and "thái độ" not in stranger


def _next_week(weekday: int) -> dt.date:
    today = local_now().date()
    return today + dt.timedelta(days=7 + weekday - today.weekday())


def test_next_week_monday_at_8_is_booked_at_8(stack: Stack) -> None:
    monday = _next_week(0)
    reply = Conversation(stack).say("đặt lịch 8h sáng thứ hai tuần tới")
    assert vn_day(monday) in reply
    assert "20:00" not in reply
    assert "lúc 08:00" in reply or "nghỉ" in reply  # booked, or the desk is closed that Monday


def test_a_date_beyond_the_window_is_told_the_window(stack: Stack) -> None:
    far = local_now().date() + dt.timedelta(days=75)
    reply = Conversation(stack).say(f"cho em đặt lịch hẹn ngày {far:%d/%m/%Y}")
    assert "chỉ đặt được trong 30 ngày tới" in reply
    assert "không thuộc phạm vi" not in reply


def test_changing_the_day_inside_the_booking_changes_it(stack: Stack) -> None:
    chat = Conversation(stack)
    chat.say("tôi muốn đặt lịch hẹn lấy số")
    today = local_now().date()
    friday = today + dt.timedelta(days=(4 - today.weekday()) % 7 or 7)
    reply = chat.say("à thôi, cho em thứ sáu đi")
    assert vn_day(friday) in reply
    assert "Cảm ơn anh/chị đã liên hệ" not in reply
