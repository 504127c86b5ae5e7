"""A policy question through the web chat, with every process real (model, Rasa, actions, API)."""

from __future__ import annotations

import pytest

from tests.conftest import Conversation, Stack

pytestmark = pytest.mark.e2e


def test_policy_question_answered_with_basis_date_and_procedure(stack: Stack) -> None:
    chat = Conversation(stack)
    [message] = chat.messages("giảm giá 30% dịp tết có phải đăng ký không")
    assert "Căn cứ: Nghị định 81/2018/NĐ-CP" in message["text"]
    assert "Cập nhật ngày 01/12/2026" in message["text"]
    payloads = [b["payload"] for b in message.get("buttons") or []]
    assert '/hoi_thu_tuc{"thu_tuc": "thong_bao_khuyen_mai"}' in payloads
    # The procedure button leads to the catalog's guidance.
    assert "khuyến mại" in chat.say('/hoi_thu_tuc{"thu_tuc": "thong_bao_khuyen_mai"}').lower()


def test_rooftop_solar_question_is_not_a_document_list(stack: Stack) -> None:
    [message] = Conversation(stack).messages("dien mat troi ap mai co can giay phep ko")
    assert "Nghị định 135/2024/NĐ-CP" in message["text"]
