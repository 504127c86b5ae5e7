"""The lookup form, started by a procedure question the classifier read as a lookup (real reference API)."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.lookup import ValidateTraCuuForm
from tests.actions.conftest import make_tracker

DOMAIN = {"forms": {"tra_cuu_form": {"required_slots": ["ma_ho_so"]}}}


async def test_a_documents_and_fee_question_is_answered_not_asked_for_a_code(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    # as Rasa calls it while activating the form: the loop is active, nothing requested yet
    tracker = make_tracker("mình định mở đại lý bình gas, hồ sơ gồm những gì và lệ phí ra sao", "tra_cuu_ho_so",
                           active_loop="tra_cuu_form")
    events = await ValidateTraCuuForm().run(dispatcher, tracker, DOMAIN)
    [message] = dispatcher.messages
    assert "Hồ sơ thủ tục" in message["text"] and "Lệ phí thủ tục" in message["text"]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events


async def test_a_status_question_without_a_code_still_waits_for_one(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("hồ sơ của tôi đến đâu rồi", "tra_cuu_ho_so", active_loop="tra_cuu_form")
    events = await ValidateTraCuuForm().run(dispatcher, tracker, DOMAIN)
    assert not any(e.get("event") == "active_loop" for e in events)


async def test_a_person_asked_for_beside_a_late_dossier_is_not_asked_for_a_code(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("hồ sơ trễ hạn mãi, tôi muốn gặp lãnh đạo sở", "tra_cuu_ho_so", active_loop="tra_cuu_form",
                           sender_id="web:wants-the-director")
    events = await ValidateTraCuuForm().run(dispatcher, tracker, DOMAIN)
    assert "1022" in dispatcher.messages[0]["text"]  # how to reach a person (handed over in office hours)
    assert {"event": "active_loop", "name": None, "timestamp": None} in events


@pytest.mark.parametrize("text", ["em không nhớ mã, chỉ nhớ tên công ty", "quen ma ho so roi"])
async def test_a_lookup_without_its_code_is_told_where_the_code_is(api_url: str, text: str) -> None:
    dispatcher = CollectingDispatcher()
    events = await ValidateTraCuuForm().run(dispatcher, make_tracker(text, "tra_cuu_ho_so", active_loop="tra_cuu_form"),
                                            DOMAIN)
    assert "giấy tiếp nhận" in dispatcher.messages[0]["text"] and "1022" in dispatcher.messages[0]["text"]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events


async def test_a_correction_naming_a_variant_read_as_a_lookup_is_the_variant_not_a_request_for_a_code(
        api_url: str) -> None:
    tracker = make_tracker("sai rồi, tôi hỏi bán lẻ mà", "tra_cuu_ho_so", active_loop="tra_cuu_form",
                           slots={"thu_tuc_gan_nhat": "ban_buon_thuoc_la"})
    tracker.events.insert(0, {"event": "slot", "name": "thu_tuc_gan_nhat", "value": "ban_buon_thuoc_la"})
    dispatcher = CollectingDispatcher()
    events = await ValidateTraCuuForm().run(dispatcher, tracker, DOMAIN)
    assert "bán lẻ sản phẩm thuốc lá" in dispatcher.messages[0]["text"] and "cấp xã" in dispatcher.messages[0]["text"]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
