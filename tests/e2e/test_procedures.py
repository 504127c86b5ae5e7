"""Procedure guidance through the web chat with every process real: the variant the
words ask for, who decides what the department does not, the bot's own question."""

from __future__ import annotations

import pytest

from dossier_api.catalog import load_catalog
from tests.conftest import Conversation, Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def catalog() -> dict:
    return {p.id: p for p in load_catalog()}


def test_the_variant_named_is_answered_and_a_follow_up_stays_on_it(stack: Stack, catalog: dict) -> None:
    chat = Conversation(stack)
    renewal = catalog["gia_han_van_phong_dai_dien"]
    assert renewal.name in chat.say("gia hạn giấy phép văn phòng đại diện")
    reply = chat.say("còn lệ phí thì sao")
    assert renewal.fee in reply and catalog["van_phong_dai_dien"].fee not in reply
    assert catalog["dieu_chinh_van_phong_dai_dien"].name in Conversation(stack).say("đổi trưởng VPĐD")
    assert catalog["ban_le_lpg_chai"].name in Conversation(stack).say("bán ga")


def test_a_retail_licence_gets_the_commune_level_not_the_wholesale_fee(stack: Stack, catalog: dict) -> None:
    reply = Conversation(stack).say("giấy phép bán lẻ rượu lệ phí bao nhiêu")
    assert "Ủy ban nhân dân cấp xã" in reply and catalog["ban_buon_ruou"].fee not in reply
    reply = Conversation(stack).say("bán lẻ thuốc lá")
    assert "Ủy ban nhân dân cấp xã" in reply and "Sở Công Thương vẫn hỗ trợ" in reply


def test_the_answer_to_which_procedure_gets_the_fee_asked_for(stack: Stack, catalog: dict) -> None:
    chat = Conversation(stack)
    assert "thủ tục nào" in chat.say("lệ phí bao nhiêu vậy ad")
    assert catalog["attp_co_so"].fee in chat.say("an toàn thực phẩm")
    chat = Conversation(stack)
    chat.messages("cho hỏi lệ phí")
    assert catalog["ban_buon_thuoc_la"].fee in chat.say("bán buôn thuốc lá")


def test_close_variants_are_asked_with_buttons_and_a_button_answers(stack: Stack, catalog: dict) -> None:
    chat = Conversation(stack)
    [ask] = chat.messages("phí giấy phép thuốc lá")
    assert ask["text"].startswith("Anh/chị hỏi về thủ tục nào ạ?")
    button = next(b for b in ask["buttons"] if "ban_buon_thuoc_la" in b["payload"])
    assert catalog["ban_buon_thuoc_la"].fee in chat.say(button["payload"])


@pytest.mark.parametrize(("text", "who"), [
    ("vay vốn ngân hàng để mở tiệm", "ngân hàng"),
    ("thủ tục nhận con nuôi", "Ủy ban nhân dân cấp xã"),
    ("rút bảo hiểm xã hội một lần", "Bảo hiểm xã hội"),
])
def test_another_agencys_matter_is_not_ours_with_a_pointer(stack: Stack, text: str, who: str) -> None:
    reply = Conversation(stack).say(text)
    assert "không thuộc phạm vi" in reply and who in reply


def test_the_departments_own_topics_and_english_questions_are_answered(stack: Stack, catalog: dict) -> None:
    assert catalog["dang_ky_khuyen_mai"].name in Conversation(stack).say("How do I register a promotion?")
    reply = Conversation(stack).say("đăng ký website thương mại điện tử")
    assert "Bộ Công Thương" in reply and "không thuộc phạm vi" not in reply


def test_asking_the_opening_hours_gives_them_and_does_not_hand_off(stack: Stack) -> None:
    chat = Conversation(stack)
    assert "Giờ làm việc" in chat.say("sở làm việc mấy giờ, thứ 7 có làm không")
    assert catalog_free_reply(chat)


def catalog_free_reply(chat: Conversation) -> bool:
    """The bot still answers after the hours question (it was not paused for a handoff)."""
    return "trợ lý ảo" in chat.say("xin chào")


def test_thoi_leaves_the_bots_question_and_the_next_question_is_answered(stack: Stack, catalog: dict) -> None:
    chat = Conversation(stack)
    assert "thủ tục nào" in chat.say("cho hỏi thời hạn giải quyết")
    left = chat.say("thôi")
    assert "thủ tục nào" not in left and "chưa hiểu" not in left
    assert catalog["ban_le_xang_dau"].processing_time in chat.say("thời hạn cấp giấy chứng nhận bán lẻ xăng dầu")
