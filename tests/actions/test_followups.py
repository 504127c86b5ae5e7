"""Late dossiers, several codes, follow-ups after a lookup: real API, real trackers, a frozen clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.lookup
from actions.lookup import ActionHoiHoSo, ActionTraCuuHoSo
from common.settings import get_settings
from dossier_api.db import Database
from dossier_api.models import Dossier
from tests.actions.conftest import make_tracker

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions.lookup, "local_now", lambda: dt.datetime.combine(TODAY, dt.time(9, 0)))


def _dossier(db: Path, status: str, late: bool) -> Dossier:
    items, _ = Database(db).dossiers(status, 500, 0)
    return next(d for d in items if (d.due_date < TODAY) == late)


def _slots(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _after(history: list[tuple[str, Any]], text: str, intent: str, sender_id: str = "web:followup") -> Tracker:
    """A tracker where ``history`` slots were set (in this order) before the latest message."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    events = [{"event": "slot", "name": k, "value": v} for k, v in history]
    events.append({"event": "user", "text": text, "parse_data": latest})
    return Tracker(sender_id=sender_id, slots=dict(history), latest_message=latest, events=events, paused=False,
                   followup_action=None, active_loop={}, latest_action_name="action_listen")


@pytest.mark.parametrize("status", ["dang_xu_ly", "moi_tiep_nhan"])
async def test_an_overdue_dossier_is_told_late_with_days_apology_and_hotline(
        api_url: str, seeded_db: Path, status: str) -> None:
    dossier = _dossier(seeded_db, status, late=True)
    dispatcher = CollectingDispatcher()
    await ActionTraCuuHoSo().run(dispatcher, make_tracker("x", "tra_cuu_ho_so", slots={"ma_ho_so": dossier.code}), {})
    [message] = dispatcher.messages
    days = (TODAY - dossier.due_date).days
    assert f"TRỄ HẠN {days} NGÀY" in message["text"]
    assert f"đã trễ hạn {days} ngày" in message["text"]
    assert "xin lỗi" in message["text"] and get_settings().hotline in message["text"]
    assert "đang trong thời hạn" not in message["text"]


async def test_a_dossier_within_its_time_says_how_many_days_are_left(api_url: str, seeded_db: Path) -> None:
    dossier = _dossier(seeded_db, "dang_xu_ly", late=False)
    dispatcher = CollectingDispatcher()
    await ActionTraCuuHoSo().run(dispatcher, make_tracker("x", "tra_cuu_ho_so", slots={"ma_ho_so": dossier.code}), {})
    text = dispatcher.messages[0]["text"]
    assert "đang trong thời hạn" in text and "quá hạn" not in text
    if dossier.due_date > TODAY:
        assert f"còn {(dossier.due_date - TODAY).days} ngày" in text


async def test_two_codes_in_one_message_are_both_answered(api_url: str, seeded_db: Path) -> None:
    first, second = _dossier(seeded_db, "dang_xu_ly", late=True), _dossier(seeded_db, "da_tra_ket_qua", late=True)
    text = f"cho em hỏi 2 hồ sơ {first.code.replace('-', ' ')} và {second.code.replace('.', '')} với"
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, "tra_cuu_ho_so", slots={"ma_ho_so": second.code})
    events = await ActionTraCuuHoSo().run(dispatcher, tracker, {})
    intro, one, two = (m["text"] for m in dispatcher.messages)
    assert "2 mã hồ sơ" in intro
    assert first.code in one and "ĐANG XỬ LÝ" in one
    assert second.code in two and "ĐÃ TRẢ KẾT QUẢ" in two
    assert _slots(events)["ho_so_gan_nhat"] == second.code


@pytest.mark.parametrize(("question", "expected"), [
    ("khi nào có kết quả", "đã trễ hạn {days} ngày"),
    ("trễ hạn rồi phải không", "đúng vậy"),
    ("nhận kết quả ở đâu", "{address}"),
])
async def test_follow_ups_are_about_the_dossier_just_looked_up(
        api_url: str, seeded_db: Path, question: str, expected: str) -> None:
    dossier = _dossier(seeded_db, "dang_xu_ly", late=True)
    dispatcher = CollectingDispatcher()
    tracker = _after([("thu_tuc_gan_nhat", "ban_buon_ruou"), ("ho_so_gan_nhat", dossier.code)], question,
                     "hoi_thoi_han")
    events = await ActionHoiHoSo().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert dossier.code in message["text"]
    assert expected.format(days=(TODAY - dossier.due_date).days, address=get_settings().office_address) in message[
        "text"]
    assert _slots(events) == {"ho_so_gan_nhat": dossier.code}


async def test_is_it_late_gets_no_for_a_dossier_on_time(api_url: str, seeded_db: Path) -> None:
    dossier = _dossier(seeded_db, "dang_xu_ly", late=False)
    dispatcher = CollectingDispatcher()
    tracker = _after([("ho_so_gan_nhat", dossier.code)], "tre han roi phai ko", "tra_cuu_ho_so")
    await ActionHoiHoSo().run(dispatcher, tracker, {})
    assert "chưa trễ hạn" in dispatcher.messages[0]["text"]


async def test_asked_why_it_is_late_the_reply_says_where_it_stands_not_a_yes(api_url: str, seeded_db: Path) -> None:
    dossier = _dossier(seeded_db, "dang_xu_ly", late=True)
    for question, why in (("sao trễ vậy", True), ("trễ rứa là răng", True), ("trễ hạn rồi phải không", False)):
        dispatcher = CollectingDispatcher()
        await ActionHoiHoSo().run(dispatcher, _after([("ho_so_gan_nhat", dossier.code)], question, "tra_cuu_ho_so"),
                                  {})
        reply = dispatcher.messages[0]["text"]
        assert "trễ hạn" in reply and (dossier.current_step in reply) == why and ("đúng vậy" in reply) != why


async def test_a_finished_dossier_says_whether_its_result_came_on_time(api_url: str, seeded_db: Path) -> None:
    dossier = _dossier(seeded_db, "da_co_ket_qua", late=True)
    dispatcher = CollectingDispatcher()
    tracker = _after([("ho_so_gan_nhat", dossier.code)], "vậy là trễ hẹn rồi hả", "hoi_thoi_han")
    await ActionHoiHoSo().run(dispatcher, tracker, {})
    text = dispatcher.messages[0]["text"]
    assert "không còn trễ hạn" in text and "đã có kết quả" in text


async def test_after_a_procedure_answer_the_question_is_about_the_procedure(api_url: str, seeded_db: Path) -> None:
    dossier = _dossier(seeded_db, "dang_xu_ly", late=True)
    dispatcher = CollectingDispatcher()
    tracker = _after([("ho_so_gan_nhat", dossier.code), ("thu_tuc_gan_nhat", "ban_buon_ruou")],
                     "khi nào có kết quả", "hoi_thoi_han")
    await ActionHoiHoSo().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert dossier.code not in message["text"]
    assert "Thời hạn giải quyết thủ tục" in message["text"]


async def test_a_code_in_the_follow_up_is_looked_up_instead(api_url: str, seeded_db: Path) -> None:
    old, new = _dossier(seeded_db, "dang_xu_ly", late=True), _dossier(seeded_db, "dang_xu_ly", late=False)
    dispatcher = CollectingDispatcher()
    tracker = _after([("ho_so_gan_nhat", old.code)], f"à nhầm, mã đúng là {new.code}", "tra_cuu_ho_so")
    events = await ActionHoiHoSo().run(dispatcher, tracker, {})
    assert new.code in dispatcher.messages[0]["text"] and old.code not in dispatcher.messages[0]["text"]
    assert _slots(events)["ho_so_gan_nhat"] == new.code


async def test_a_lookup_without_code_or_follow_up_asks_for_the_code(api_url: str, seeded_db: Path) -> None:
    dossier = _dossier(seeded_db, "dang_xu_ly", late=True)
    tracker = _after([("ho_so_gan_nhat", dossier.code)], "tra cứu hồ sơ khác", "tra_cuu_ho_so")
    dispatcher = CollectingDispatcher()
    events = await ActionHoiHoSo().run(dispatcher, tracker, {})
    assert dispatcher.messages == []
    assert events == [{"event": "followup", "timestamp": None, "name": "tra_cuu_form"}]


@pytest.mark.parametrize(("text", "intent", "response"), [
    ("kể chuyện cười đi", "ngoai_pham_vi", "utter_ngoai_pham_vi"),
    ("ừm ờ", "nlu_fallback", "utter_xin_dien_dat_lai"),
])
async def test_what_is_no_follow_up_gets_its_usual_answer(
        api_url: str, seeded_db: Path, text: str, intent: str, response: str) -> None:
    dossier = _dossier(seeded_db, "dang_xu_ly", late=True)
    dispatcher = CollectingDispatcher()
    await ActionHoiHoSo().run(dispatcher, _after([("ho_so_gan_nhat", dossier.code)], text, intent), {})
    assert [m["response"] for m in dispatcher.messages] == [response]


async def test_a_follow_up_read_as_out_of_scope_is_still_answered(api_url: str, seeded_db: Path) -> None:
    dossier = _dossier(seeded_db, "dang_xu_ly", late=True)
    dispatcher = CollectingDispatcher()
    await ActionHoiHoSo().run(dispatcher, _after([("ho_so_gan_nhat", dossier.code)], "tre han chua",
                                                 "ngoai_pham_vi"), {})
    assert dossier.code in dispatcher.messages[0]["text"] and "đúng vậy" in dispatcher.messages[0]["text"]


def test_a_code_with_no_word_of_leaving_is_not_an_unsubscription() -> None:
    from actions.notifications import asks_to_unsubscribe

    assert not asks_to_unsubscribe("còn hồ sơ này nữa 000.00.12.H17-261023-0010")
    assert asks_to_unsubscribe("thôi, ngừng gửi tin cho hồ sơ 000.00.12.H17-261023-0010")
    assert asks_to_unsubscribe("stop notifications")


@pytest.mark.parametrize(("question", "intent", "expected"), [
    ("sao lâu rứa", "ngoai_pham_vi", "trễ hạn"),
    ("ai đang xử lý hồ sơ", "nlu_fallback", "{step}"),
    ("hôm nay có kết quả chưa", "nlu_fallback", "hẹn trả"),
])
async def test_a_follow_up_the_classifier_could_not_place_is_about_the_dossier_just_looked_up(
        api_url: str, seeded_db: Path, question: str, intent: str, expected: str) -> None:
    from actions.policy import ActionChuaHieu
    from actions.procedures import ActionNgoaiPhamVi

    dossier = _dossier(seeded_db, "dang_xu_ly", late=True)
    dispatcher = CollectingDispatcher()
    action = ActionNgoaiPhamVi() if intent == "ngoai_pham_vi" else ActionChuaHieu()
    await action.run(dispatcher, _after([("ho_so_gan_nhat", dossier.code)], question, intent), {})
    reply = dispatcher.messages[0]["text"]
    expected = expected.format(step=dossier.current_step.lower())
    assert dossier.code in reply and expected in reply.lower() and reply.count("1022") == 1


async def test_a_time_after_the_slots_a_lookup_offered_books_it_though_it_went_to_the_lookups_follow_up(
        api_url: str, seeded_db: Path) -> None:
    from actions.appointments import ActionDatLichHen
    from actions.base import dossier_client
    from actions.lookup import ActionHoiHoSo

    owner = "web:lookup-then-booking"
    day = (await dossier_client().appointment_days(5))[-1]
    offer = CollectingDispatcher()
    await ActionDatLichHen().run(offer, make_tracker(f"cho hẹn ngày {day:%d/%m/%Y}", "dat_lich_hen",
                                                     sender_id=owner), {})
    dossier = _dossier(seeded_db, "da_co_ket_qua", late=False)
    tracker = _after([("ho_so_gan_nhat", dossier.code)], "9h sang", "nlu_fallback", sender_id=owner)
    tracker.events.insert(-1, {"event": "bot", "text": offer.messages[0]["text"],
                               "data": {"buttons": offer.messages[0]["buttons"]}})
    await ActionHoiHoSo().run(CollectingDispatcher(), tracker, {})  # the rule after a lookup sends it there
    assert [(a.date, a.time) for a in await dossier_client().appointments(owner)] == [(day, "09:00")]


async def test_why_a_dossier_was_refused_asked_with_its_code_on_sms_gets_its_step_and_what_to_do(
        api_url: str, seeded_db: Path) -> None:
    refused = _dossier(seeded_db, "tu_choi", late=True)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(f"vi sao ho so {refused.code} bi tu choi vay", "tra_cuu_ho_so",
                           slots={"ma_ho_so": refused.code}, sender_id="sms:84905000321")
    await ActionTraCuuHoSo().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert refused.code in message["text"] and "văn bản" in message["text"] and "1022" in message["text"]
    plain = CollectingDispatcher()
    await ActionTraCuuHoSo().run(plain, make_tracker(refused.code, "tra_cuu_ho_so", slots={"ma_ho_so": refused.code},
                                                     sender_id="sms:84905000321"), {})
    assert "văn bản" not in plain.messages[0]["text"]  # a bare code: the compact status
