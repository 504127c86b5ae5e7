"""Short answers: a "no" that corrects the last answer is told apart from one that declines."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.smalltalk import ActionPhuDinh
from content.texts import text
from vn_nlu.lexicon import is_correction


def _tracker(message: str) -> Tracker:
    return Tracker("web:smalltalk", {}, {"text": message, "intent": {"name": "phu_dinh", "confidence": 0.9}},
                   [], False, None, {}, "action_listen")


@pytest.mark.parametrize("message", ["sai rồi", "không phải ý tôi", "ko phai thu tuc do", "bạn hiểu nhầm rồi",
                                     "chưa đúng", "that's wrong"])
async def test_a_correction_gets_an_apology_and_a_way_on(message: str) -> None:
    assert is_correction(message)
    dispatcher = CollectingDispatcher()
    assert await ActionPhuDinh().run(dispatcher, _tracker(message), {}) == []
    [reply] = dispatcher.messages
    assert reply["text"] == text("smalltalk.corrected")
    assert "/gap_can_bo" in [b["payload"] for b in reply["buttons"]]


@pytest.mark.parametrize("message", ["không", "không cần đâu", "thôi khỏi", "no thanks", "trễ hạn rồi phải không"])
async def test_a_decline_gets_a_polite_close(message: str) -> None:
    assert not is_correction(message)
    dispatcher = CollectingDispatcher()
    await ActionPhuDinh().run(dispatcher, _tracker(message), {})
    assert [m["text"] for m in dispatcher.messages] == [text("smalltalk.declined")]


@pytest.mark.parametrize(("message", "intent"), [("trễ rứa là răng", "khang_dinh"), ("trễ hạn rồi phải không",
                                                                                     "phu_dinh")])
async def test_a_yes_or_no_that_asks_about_the_dossier_just_looked_up_gets_its_answer(
        api_url: str, seeded_db, message: str, intent: str) -> None:
    from actions.smalltalk import ActionKhangDinh
    from dossier_api.db import Database
    from tests.actions.conftest import make_tracker

    [late], _ = Database(seeded_db).dossiers("tre_han", 1, 0)
    tracker = make_tracker(message, intent, slots={"ho_so_gan_nhat": late.code})
    tracker.events.insert(0, {"event": "slot", "name": "ho_so_gan_nhat", "value": late.code})
    dispatcher = CollectingDispatcher()
    await (ActionKhangDinh() if intent == "khang_dinh" else ActionPhuDinh()).run(dispatcher, tracker, {})
    [reply] = dispatcher.messages
    assert late.code in reply["text"] and "trễ hạn" in reply["text"].lower()
    plain = CollectingDispatcher()  # nothing looked up: a plain acknowledgement
    await ActionKhangDinh().run(plain, make_tracker("ok", "khang_dinh"), {})
    assert plain.messages[0]["response"] == "utter_khang_dinh"


@pytest.mark.parametrize(("message", "response"), [("👍", "utter_khang_dinh"), ("❤️", "utter_khang_dinh"),
                                                   ("???", "utter_xin_dien_dat_lai")])
async def test_a_message_without_words_read_as_out_of_scope_is_a_yes_or_asks_again(
        api_url: str, message: str, response: str) -> None:
    from actions.procedures import ActionNgoaiPhamVi
    from tests.actions.conftest import make_tracker

    dispatcher = CollectingDispatcher()
    await ActionNgoaiPhamVi().run(dispatcher, make_tracker(message, "ngoai_pham_vi"), {})
    assert [m["response"] for m in dispatcher.messages] == [response]


async def test_what_the_classifier_could_not_place_still_books_a_day_or_is_a_thumbs_up(api_url: str) -> None:
    from actions.policy import ActionChuaHieu
    from tests.actions.conftest import make_tracker

    booked = CollectingDispatcher()
    text = "chủ nhật này sở có làm việc không, cho mình hẹn lên lúc 9h"
    await ActionChuaHieu().run(booked, make_tracker(text, "nlu_fallback", sender_id="web:unsure-booking"), {})
    assert "Chủ nhật" in booked.messages[0]["text"]
    thumbs = CollectingDispatcher()
    await ActionChuaHieu().run(thumbs, make_tracker("👍", "nlu_fallback"), {})
    assert thumbs.messages[0]["response"] == "utter_khang_dinh"


async def test_the_lookup_keyword_alone_not_understood_starts_the_lookup(api_url: str) -> None:
    from actions.policy import ActionChuaHieu
    from tests.actions.conftest import make_tracker

    events = await ActionChuaHieu().run(CollectingDispatcher(), make_tracker("tra cứu", "nlu_fallback"), {})
    assert events == [{"event": "followup", "timestamp": None, "name": "tra_cuu_form"}]


@pytest.mark.parametrize(("message", "intent"), [("bot ngu quá", "chao_hoi"), ("vô dụng thật", "khang_dinh"),
                                                 ("trả lời như cc", "phu_dinh"), ("useless", "khang_dinh")])
async def test_scolding_the_assistant_gets_an_apology_and_a_person_whatever_it_was_read_as(
        message: str, intent: str) -> None:
    from actions.smalltalk import ActionChaoHoi, ActionKhangDinh
    from tests.actions.conftest import make_tracker

    action = {"chao_hoi": ActionChaoHoi, "khang_dinh": ActionKhangDinh, "phu_dinh": ActionPhuDinh}[intent]
    dispatcher = CollectingDispatcher()
    await action().run(dispatcher, make_tracker(message, intent), {})
    [reply] = dispatcher.messages
    assert reply["text"] == text("smalltalk.corrected") and "/gap_can_bo" in [b["payload"] for b in reply["buttons"]]


@pytest.mark.parametrize("message", ["chúc ngủ ngon", "chuc ngu ngon", "chào em", "dạ ok"])
async def test_a_greeting_or_a_goodnight_is_not_scolding(message: str) -> None:
    from actions.smalltalk import ActionChaoHoi

    dispatcher = CollectingDispatcher()
    await ActionChaoHoi().run(dispatcher, _tracker(message), {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_chao_hoi"]


async def test_a_follow_up_read_as_a_greeting_is_answered_about_the_dossier(api_url: str, seeded_db) -> None:
    from actions.smalltalk import ActionChaoHoi
    from dossier_api.db import Database
    from tests.actions.conftest import make_tracker

    [dossier], _ = Database(seeded_db).dossiers("dang_xu_ly", 1, 0)
    tracker = make_tracker("chừng nào có kết quả rứa hỉ", "chao_hoi", slots={"ho_so_gan_nhat": dossier.code})
    tracker.events.insert(0, {"event": "slot", "name": "ho_so_gan_nhat", "value": dossier.code})
    dispatcher = CollectingDispatcher()
    await ActionChaoHoi().run(dispatcher, tracker, {})
    [reply] = dispatcher.messages
    assert dossier.code in reply["text"] and dossier.due_date.strftime("%d/%m/%Y") in reply["text"]


@pytest.mark.parametrize("message", ["goi ai", "chào em, số điện thoại của sở là gì"])
async def test_how_to_reach_the_department_read_as_a_greeting_gets_the_contacts(message: str) -> None:
    from actions.smalltalk import ActionChaoHoi
    from tests.actions.conftest import make_tracker

    dispatcher = CollectingDispatcher()
    await ActionChaoHoi().run(dispatcher, make_tracker(message, "chao_hoi", sender_id="sms:84905550124"), {})
    assert "1022" in dispatcher.messages[0]["text"]


async def test_a_goodbye_without_a_word_of_leaving_gets_what_the_bot_does() -> None:
    from actions.smalltalk import ActionTamBiet
    from tests.actions.conftest import make_tracker

    for message, response in (("ko hiểu j hết, chỉ e với", "utter_hoi_bot"), ("thôi chào em nhé", "utter_tam_biet"),
                              ("ok cảm ơn, bye", "utter_tam_biet")):
        dispatcher = CollectingDispatcher()
        await ActionTamBiet().run(dispatcher, make_tracker(message, "tam_biet"), {})
        assert [m.get("response") for m in dispatcher.messages] == [response], message


async def test_scolding_the_classifier_could_not_place_gets_an_apology(api_url: str) -> None:
    from actions.policy import ActionChuaHieu
    from tests.actions.conftest import make_tracker

    dispatcher = CollectingDispatcher()
    await ActionChuaHieu().run(dispatcher, make_tracker("bot ngu quá", "nlu_fallback"), {})
    assert dispatcher.messages[0]["text"] == text("smalltalk.corrected")


@pytest.mark.parametrize(("message", "expected"), [("gặp người thật đi, bot trả lời không đúng gì hết", "1022"),
                                                   ("phí ship kết quả về nhà bao nhiêu", "25.000")])
async def test_a_person_or_the_postal_fee_the_classifier_could_not_place_are_answered(
        api_url: str, message: str, expected: str) -> None:
    from actions.policy import ActionChuaHieu
    from actions.procedures import ActionNgoaiPhamVi
    from tests.actions.conftest import make_tracker

    for action, intent in ((ActionChuaHieu, "nlu_fallback"), (ActionNgoaiPhamVi, "ngoai_pham_vi")):
        dispatcher = CollectingDispatcher()
        await action().run(dispatcher, make_tracker(message, intent, sender_id="web:unplaced"), {})
        assert expected in " ".join(m.get("text") or "" for m in dispatcher.messages), (action, message)


@pytest.mark.parametrize("intent", ["tam_biet", "hoi_bot"])
async def test_why_so_slow_after_a_lookup_is_about_the_dossier_whatever_it_was_read_as(
        api_url: str, seeded_db, intent: str) -> None:
    from actions.handoff import ActionHoiBot
    from actions.smalltalk import ActionTamBiet
    from dossier_api.db import Database
    from tests.actions.conftest import make_tracker

    [late], _ = Database(seeded_db).dossiers("tre_han", 1, 0)
    tracker = make_tracker("tại sao chậm vậy em", intent, slots={"ho_so_gan_nhat": late.code})
    tracker.events.insert(0, {"event": "slot", "name": "ho_so_gan_nhat", "value": late.code})
    dispatcher = CollectingDispatcher()
    await (ActionTamBiet if intent == "tam_biet" else ActionHoiBot)().run(dispatcher, tracker, {})
    assert late.code in dispatcher.messages[0]["text"]
