"""A policy question through the web chat, with every process real (model, Rasa, actions, API)."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.conftest import Stack

pytestmark = pytest.mark.e2e


def _say(stack: Stack, session: str, text: str) -> list[dict]:
    resp = requests.post(f"{stack.chat_url}/api/chat", json={"session": session, "text": text}, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.json()["messages"]


def test_policy_question_answered_with_basis_date_and_procedure(stack: Stack) -> None:
    session = uuid.uuid4().hex
    [message] = _say(stack, session, "giảm giá 30% dịp tết có phải đăng ký không")
    assert "Căn cứ: Nghị định 81/2018/NĐ-CP" in message["text"]
    assert "Cập nhật ngày 01/12/2026" in message["text"]
    payloads = [b["payload"] for b in message.get("buttons") or []]
    assert '/hoi_thu_tuc{"thu_tuc": "thong_bao_khuyen_mai"}' in payloads
    # The procedure button leads to the catalog's guidance.
    reply = "\n".join(m["text"] for m in _say(stack, session, '/hoi_thu_tuc{"thu_tuc": "thong_bao_khuyen_mai"}'))
    assert "khuyến mại" in reply.lower()


def test_rooftop_solar_question_is_not_a_document_list(stack: Stack) -> None:
    [message] = _say(stack, uuid.uuid4().hex, "dien mat troi ap mai co can giay phep ko")
    assert "Nghị định 135/2024/NĐ-CP" in message["text"]
