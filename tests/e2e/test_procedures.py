"""Procedure guidance through the web chat with every process real: the variant the
words ask for, who decides what the department does not, the bot's own question."""

from __future__ import annotations

import uuid

import pytest
import requests

from dossier_api.catalog import load_catalog
from tests.conftest import Stack

pytestmark = pytest.mark.e2e


class Chat:
    """One citizen on the web chat; ``say`` returns the replies (text and buttons)."""

    def __init__(self, stack: Stack) -> None:
        self.url = f"{stack.chat_url}/api/chat"
        self.session = uuid.uuid4().hex

    def say(self, text: str) -> list[dict]:
        resp = requests.post(self.url, json={"session": self.session, "text": text}, timeout=60)
        assert resp.status_code == 200, resp.text
        return resp.json()["messages"]

    def text(self, text: str) -> str:
        return "\n".join(m.get("text") or "" for m in self.say(text))


@pytest.fixture(scope="module")
def catalog() -> dict:
    return {p.id: p for p in load_catalog()}


def test_the_variant_named_is_answered_and_a_follow_up_stays_on_it(stack: Stack, catalog: dict) -> None:
    chat = Chat(stack)
    renewal = catalog["gia_han_van_phong_dai_dien"]
    assert renewal.name in chat.text("gia hạn giấy phép văn phòng đại diện")
    reply = chat.text("còn lệ phí thì sao")
    assert renewal.fee in reply and catalog["van_phong_dai_dien"].fee not in reply
    assert catalog["dieu_chinh_van_phong_dai_dien"].name in Chat(stack).text("đổi trưởng VPĐD")
    assert catalog["ban_le_lpg_chai"].name in Chat(stack).text("bán ga")


def test_a_retail_licence_gets_the_commune_level_not_the_wholesale_fee(stack: Stack, catalog: dict) -> None:
    reply = Chat(stack).text("giấy phép bán lẻ rượu lệ phí bao nhiêu")
    assert "Ủy ban nhân dân cấp xã" in reply and catalog["ban_buon_ruou"].fee not in reply
    reply = Chat(stack).text("bán lẻ thuốc lá")
    assert "Ủy ban nhân dân cấp xã" in reply and "Sở Công Thương vẫn hỗ trợ" in reply


def test_the_answer_to_which_procedure_gets_the_fee_asked_for(stack: Stack, catalog: dict) -> None:
    chat = Chat(stack)
    assert "thủ tục nào" in chat.text("lệ phí bao nhiêu vậy ad")
    assert catalog["attp_co_so"].fee in chat.text("an toàn thực phẩm")
    chat = Chat(stack)
    chat.say("cho hỏi lệ phí")
    assert catalog["ban_buon_thuoc_la"].fee in chat.text("bán buôn thuốc lá")


def test_close_variants_are_asked_with_buttons_and_a_button_answers(stack: Stack, catalog: dict) -> None:
    chat = Chat(stack)
    [ask] = chat.say("phí giấy phép thuốc lá")
    assert ask["text"].startswith("Anh/chị hỏi về thủ tục nào ạ?")
    button = next(b for b in ask["buttons"] if "ban_buon_thuoc_la" in b["payload"])
    assert catalog["ban_buon_thuoc_la"].fee in chat.text(button["payload"])


@pytest.mark.parametrize(("text", "who"), [
    ("vay vốn ngân hàng để mở tiệm", "ngân hàng"),
    ("thủ tục nhận con nuôi", "Ủy ban nhân dân cấp xã"),
    ("rút bảo hiểm xã hội một lần", "Bảo hiểm xã hội"),
])
def test_another_agencys_matter_is_not_ours_with_a_pointer(stack: Stack, text: str, who: str) -> None:
    reply = Chat(stack).text(text)
    assert "không thuộc phạm vi" in reply and who in reply


def test_the_departments_own_topics_and_english_questions_are_answered(stack: Stack, catalog: dict) -> None:
    assert catalog["dang_ky_khuyen_mai"].name in Chat(stack).text("How do I register a promotion?")
    reply = Chat(stack).text("đăng ký website thương mại điện tử")
    assert "Bộ Công Thương" in reply and "không thuộc phạm vi" not in reply


def test_asking_the_opening_hours_gives_them_and_does_not_hand_off(stack: Stack) -> None:
    chat = Chat(stack)
    assert "Giờ làm việc" in chat.text("sở làm việc mấy giờ, thứ 7 có làm không")
    assert catalog_free_reply(chat)


def catalog_free_reply(chat: Chat) -> bool:
    """The bot still answers after the hours question (it was not paused for a handoff)."""
    return "trợ lý ảo" in chat.text("xin chào")


def test_thoi_leaves_the_bots_question_and_the_next_question_is_answered(stack: Stack, catalog: dict) -> None:
    chat = Chat(stack)
    assert "thủ tục nào" in chat.text("cho hỏi thời hạn giải quyết")
    left = chat.text("thôi")
    assert "thủ tục nào" not in left and "chưa hiểu" not in left
    assert catalog["ban_le_xang_dau"].processing_time in chat.text("thời hạn cấp giấy chứng nhận bán lẻ xăng dầu")
