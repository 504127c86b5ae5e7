"""A code anywhere in a message is honoured: DossierCodeExtractor on real Rasa messages."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from vn_nlu.components import DossierCodeExtractor

CODE = "000.00.12.H17-261023-0010"


def _run(text: str, intent: str) -> Message:
    message = Message(data={TEXT: text, INTENT: {"name": intent, "confidence": 0.41},
                            INTENT_RANKING_KEY: [{"name": intent, "confidence": 0.41}]})
    [out] = DossierCodeExtractor(DossierCodeExtractor.get_default_config()).process([message])
    return out


@pytest.mark.parametrize(("text", "predicted"), [
    ("à nhầm, mã đúng là 000.00.12.H17-261023-0010", "nlu_fallback"),
    ("My code is 0000012H17-261023-0010", "ngoai_pham_vi"),
    ("cảm ơn, hồ sơ em là 000.00.12.H17 261023 0010", "cam_on"),
    ("hs 000.00.12.H17-261023-0010 nop thang truoc sao lau qua vay, bao gio moi xong", "phan_anh_kien_nghi"),
    ("thời hạn hồ sơ 000.00.12.H17-261023-0010 tới khi nào", "hoi_thoi_han"),
])
def test_a_message_with_a_code_becomes_a_lookup(text: str, predicted: str) -> None:
    message = _run(text, predicted)
    assert message.get(INTENT)["name"] == "tra_cuu_ho_so"
    assert message.get(INTENT_RANKING_KEY)[0]["name"] == "tra_cuu_ho_so"
    assert [e["value"] for e in message.get(ENTITIES)] == [CODE]


@pytest.mark.parametrize(("text", "predicted"), [
    ("đánh giá hồ sơ 000.00.12.H17-261023-0010 hài lòng", "danh_gia"),
    ("đăng ký nhận thông báo hồ sơ 000.00.12.H17-261023-0010", "dang_ky_thong_bao"),
    ("gửi kết quả hồ sơ 000.00.12.H17-261023-0010 về nhà giúp", "chuyen_phat_ket_qua"),
    ("tôi muốn khiếu nại hồ sơ 000.00.12.H17-261023-0010 bị trễ hạn", "phan_anh_kien_nghi"),
])
def test_what_else_a_citizen_does_with_a_code_is_kept(text: str, predicted: str) -> None:
    assert _run(text, predicted).get(INTENT)["name"] == predicted


def test_both_codes_of_a_message_are_entities() -> None:
    message = _run("000.00.12.H17-261023-0010 va 000.00.12.H17 261024 0002", "tra_cuu_ho_so")
    assert [e["value"] for e in message.get(ENTITIES)] == [CODE, "000.00.12.H17-261024-0002"]


def test_a_ticket_number_is_a_question_about_feedback() -> None:
    assert _run("phiếu PA261201-0003 thế nào rồi", "tra_cuu_ho_so").get(INTENT)["name"] == "phan_anh_kien_nghi"
    assert _run("phiếu vừa rồi thế nào rồi", "tam_biet").get(INTENT)["name"] == "phan_anh_kien_nghi"
    assert _run("cho em hỏi thủ tục bán lẻ rượu", "hoi_thu_tuc").get(INTENT)["name"] == "hoi_thu_tuc"
