"""How an answer reads on chat and SMS."""

from __future__ import annotations

import pytest

from common.sms_text import gsm7_length, prepare, to_gsm7
from knowledge.answer import chat_reply, not_known, not_known_buttons, sms_reply
from knowledge.loader import load


@pytest.fixture(scope="module")
def kb():
    return load()


def test_chat_reply_cites_the_basis_and_the_review_date(kb) -> None:
    entry = kb.get("km_muc_giam_gia_toi_da")
    text = chat_reply(entry, "1022")
    assert entry.answer in text
    assert "Căn cứ: Luật Thương mại 2005, Điều 94" in text
    assert "Cập nhật ngày 01/12/2026" in text
    assert "rà soát" in text  # flagged for review: the citizen is told


def test_a_near_miss_says_which_question_it_answers(kb) -> None:
    entry = kb.get("ruou_may_ban_tu_dong")
    assert chat_reply(entry, "1022", score=0.41).startswith(f'Về câu hỏi "{entry.question}":')
    assert chat_reply(entry, "1022", score=0.85).startswith(entry.answer[:20])  # a near-exact match: the answer


def test_an_entry_not_flagged_has_no_review_note(kb) -> None:
    entry = kb.get("ruou_nguoi_duoi_18")
    assert not entry.review_needed and "rà soát" not in chat_reply(entry, "1022")


def test_the_hotline_is_the_configured_one(kb) -> None:
    text = chat_reply(kb.get("qltt_to_giac_hang_gia"), "0236 3 999 999")
    assert "0236 3 999 999" in text and "{hotline}" not in text


def test_every_sms_answer_fits_three_segments_with_basis_and_hotline(kb) -> None:
    for entry in kb.entries:
        text = sms_reply(entry, "1022")
        assert gsm7_length(to_gsm7(text)) <= 3 * 153, entry.id  # shortened by us, not cut by the SMS layer
        assert len(prepare(text, ucs2=False, max_segments=3)) <= 3, entry.id
        assert "Hỏi thêm: 1022" in text and "Căn cứ:" in text and "01/12/2026" in text, entry.id


def test_a_long_answer_keeps_its_beginning_over_sms(kb) -> None:
    entry = max(kb.entries, key=lambda e: len(e.answer))
    body = sms_reply(entry, "1022").split("\nCăn cứ:")[0]
    assert len(body) < len(entry.answer) and entry.answer.startswith(body.removesuffix("..."))
    assert body.endswith((".", "!", "?"))


def test_not_known_offers_a_person_and_a_ticket() -> None:
    assert "chưa có câu trả lời" in not_known("1022") and "1022" in not_known("1022")
    assert {b["payload"] for b in not_known_buttons()} == {"/gap_can_bo", "/phan_anh_kien_nghi"}


def test_a_bare_yes_or_no_is_told_with_its_question_unless_asked_alike(kb) -> None:
    entry = kb.get("ruou_nguoi_duoi_18")  # "Không." answers "có được bán ... không", not "bị phạt không"
    assert chat_reply(entry, "1022", score=0.58).startswith(f'Về câu hỏi "{entry.question}":\nKhông.')
    assert chat_reply(entry, "1022", score=0.9).startswith("Không.")
    assert not sms_reply(entry, "1022", score=0.58).startswith("Không.")
    assert sms_reply(entry, "1022", score=0.9).startswith("Không.")
