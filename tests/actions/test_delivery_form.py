"""The delivery form's first step against the real reference API: a dossier whose result cannot be
posted yet is told so before the form asks for a name, a phone and an address."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

import actions.delivery
from actions.base import dossier_client
from actions.delivery import ActionChuyenPhat
from common.delivery import NEAR_RESULT_DAYS
from dossier_api.db import Database
from dossier_api.models import Dossier
from tests.actions.conftest import make_tracker


async def test_a_dossier_far_from_its_due_date_is_refused_before_the_form_asks_anything(
        api_url: str, seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [far], _ = Database(seeded_db).dossiers("dang_xu_ly", 1, 0)
    [near], _ = Database(seeded_db).dossiers("da_co_ket_qua", 1, 0)
    days_before = dt.timedelta(days=NEAR_RESULT_DAYS + 5)  # the department's clock, well before the due date
    monkeypatch.setattr(actions.delivery, "local_now", lambda: dt.datetime.combine(far.due_date - days_before,
                                                                                  dt.time(9)))
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "ma_ho_so", "value": far.code}]
    events = await ActionChuyenPhat().run(
        dispatcher, make_tracker(f"gửi kết quả hồ sơ {far.code} về nhà", "chuyen_phat_ket_qua", entities), {})
    [message] = dispatcher.messages
    assert "chưa có kết quả" in message["text"] and far.code in message["text"] and events == []
    started = CollectingDispatcher()
    entities = [{"entity": "ma_ho_so", "value": near.code}]
    events = await ActionChuyenPhat().run(
        started, make_tracker(f"gửi kết quả hồ sơ {near.code} về nhà", "chuyen_phat_ket_qua", entities), {})
    assert started.messages == [] and {"event": "followup", "name": "chuyen_phat_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events]



async def _delivery_asked(seeded_db: Path, sender: str, phone: str) -> tuple[Dossier, str]:
    """A result ready for posting that ``sender`` just asked to be posted: its dossier and tracking number."""
    from tests.actions.test_effects_once import _undelivered_result

    ready = await dossier_client().get_dossier(_undelivered_result(seeded_db))
    slots = {"cp_ma_ho_so": ready.code, "cp_ten": "Phạm Thị Hoa", "cp_sdt": phone,
             "cp_dia_chi": "08 Bạch Đằng, phường Hải Châu"}
    events = await ActionChuyenPhat().run(CollectingDispatcher(), make_tracker(
        slots["cp_dia_chi"], "chuyen_phat_ket_qua", slots=slots, sender_id=sender), {})
    [tracking] = [e["value"] for e in events if e.get("name") == "van_don_gan_nhat"]
    return ready, tracking

async def test_the_state_of_the_delivery_just_asked_for_is_told_without_its_number(
        api_url: str, seeded_db: Path) -> None:
    sender = "web:delivery-state"
    ready, tracking = await _delivery_asked(seeded_db, sender, "84935000112")
    asked = CollectingDispatcher()
    tracker = make_tracker("tình trạng chuyển phát sao rồi", "chuyen_phat_ket_qua", sender_id=sender,
                           slots={"van_don_gan_nhat": tracking})
    assert await ActionChuyenPhat().run(asked, tracker, {}) == []
    assert tracking in asked.messages[0]["text"] and ready.code in asked.messages[0]["text"]


async def test_after_asking_for_a_delivery_its_state_and_fee_are_answered_whatever_the_intent(
        api_url: str, seeded_db: Path) -> None:
    from actions.policy import ActionChuaHieu
    from actions.procedures import ActionNgoaiPhamVi

    sender = "web:delivery-followups"
    _, tracking = await _delivery_asked(seeded_db, sender, "84935000113")
    for action, text, intent, expected in ((ActionNgoaiPhamVi(), "giao tới chưa", "ngoai_pham_vi", tracking),
                                           (ActionChuaHieu(), "phí ship bao nhiêu", "nlu_fallback", "25.000")):
        dispatcher = CollectingDispatcher()
        await action.run(dispatcher, make_tracker(text, intent, sender_id=sender,
                                                  slots={"van_don_gan_nhat": tracking}), {})
        assert expected in dispatcher.messages[0]["text"]


async def test_a_result_already_to_be_posted_is_told_so_before_the_form_asks_anything(
        api_url: str, seeded_db: Path) -> None:
    ready, _ = await _delivery_asked(seeded_db, "web:delivery-first", "84935000114")
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "ma_ho_so", "value": ready.code}]
    events = await ActionChuyenPhat().run(dispatcher, make_tracker(
        f"gửi kết quả hồ sơ {ready.code} về nhà giúp em", "chuyen_phat_ket_qua", entities,
        sender_id="web:delivery-again"), {})
    [message] = dispatcher.messages
    assert "đã có yêu cầu chuyển phát" in message["text"] and events == []


async def test_the_fee_asked_at_the_forms_questions_is_told_and_the_question_stays(api_url: str) -> None:
    from actions.delivery import ValidateChuyenPhatForm

    form = ValidateChuyenPhatForm()
    for validate, slot in ((form.validate_cp_ma_ho_so, "cp_ma_ho_so"), (form.validate_cp_ten, "cp_ten")):
        dispatcher = CollectingDispatcher()
        assert await validate("phí bao nhiêu vậy", dispatcher, make_tracker("phí bao nhiêu vậy", "hoi_le_phi"),
                              {}) == {slot: None}
        assert "25.000" in dispatcher.messages[0]["text"]


async def test_a_name_given_with_the_phone_and_the_address_fills_all_three(api_url: str) -> None:
    from actions.delivery import ValidateChuyenPhatForm

    text = "tên Võ Minh Tuấn, sđt 0914 222 333, địa chỉ 7 Bạch Đằng, phường Hải Châu"
    given = await ValidateChuyenPhatForm().validate_cp_ten(text, CollectingDispatcher(),
                                                           make_tracker(text, "chuyen_phat_ket_qua"), {})
    assert given == {"cp_ten": "Võ Minh Tuấn", "cp_sdt": "84914222333", "cp_dia_chi": "7 Bạch Đằng, phường Hải Châu"}
    alone = await ValidateChuyenPhatForm().validate_cp_ten("Phạm Thị Hoa", CollectingDispatcher(),
                                                           make_tracker("Phạm Thị Hoa", "chuyen_phat_ket_qua"), {})
    assert alone == {"cp_ten": "Phạm Thị Hoa"}


async def test_a_phone_corrected_with_the_address_at_the_address_question_takes_both(api_url: str) -> None:
    from actions.delivery import ValidateChuyenPhatForm

    text = "à em ghi nhầm số, đúng là 0935 444 777, địa chỉ 12 Lê Duẩn, phường Hải Châu"
    dispatcher = CollectingDispatcher()
    given = await ValidateChuyenPhatForm().validate_cp_dia_chi(text, dispatcher,
                                                               make_tracker(text, "chuyen_phat_ket_qua"), {})
    assert given == {"cp_sdt": "84935444777", "cp_dia_chi": "12 Lê Duẩn, phường Hải Châu"}
    alone = await ValidateChuyenPhatForm().validate_cp_dia_chi("xin lỗi, 0935 444 777 mới đúng", dispatcher,
                                                               make_tracker("x", "chuyen_phat_ket_qua"), {})
    assert alone == {"cp_sdt": "84935444777", "cp_dia_chi": None}


async def test_the_status_asked_with_the_delivery_is_told_before_the_form_asks(api_url: str, seeded_db: Path) -> None:
    from tests.actions.test_effects_once import _undelivered_result

    code = _undelivered_result(seeded_db)
    entities = [{"entity": "ma_ho_so", "value": code}]
    asked = CollectingDispatcher()
    events = await ActionChuyenPhat().run(asked, make_tracker(
        f"hồ sơ {code} có kết quả chưa, có rồi thì gửi về nhà giúp tôi", "chuyen_phat_ket_qua", entities), {})
    [message] = asked.messages
    assert code in message["text"] and "đã có kết quả" in message["text"]
    assert {"event": "followup", "name": "chuyen_phat_form"} in [{k: e.get(k) for k in ("event", "name")}
                                                                 for e in events]
    silent = CollectingDispatcher()
    await ActionChuyenPhat().run(silent, make_tracker(f"gửi kết quả hồ sơ {code} về nhà", "chuyen_phat_ket_qua",
                                                      entities), {})
    assert silent.messages == []


async def test_the_fee_asked_with_a_dossier_to_post_is_told_and_the_form_starts(api_url: str, seeded_db: Path) -> None:
    from tests.actions.test_effects_once import _undelivered_result

    code = _undelivered_result(seeded_db)
    entities = [{"entity": "ma_ho_so", "value": code}]
    dispatcher = CollectingDispatcher()
    events = await ActionChuyenPhat().run(dispatcher, make_tracker(
        f"chuyển phát kết quả hồ sơ {code} về nhà thì tốn bao nhiêu tiền", "chuyen_phat_ket_qua", entities), {})
    assert "25.000" in dispatcher.messages[0]["text"]
    assert {"event": "followup", "name": "chuyen_phat_form"} in [{k: e.get(k) for k in ("event", "name")}
                                                                 for e in events]
