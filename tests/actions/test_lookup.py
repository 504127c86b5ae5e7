from pathlib import Path

from rasa_sdk.executor import CollectingDispatcher

from actions.lookup import MAX_ATTEMPTS, ActionTraCuuHoSo, ValidateTraCuuForm
from dossier_api.db import Database
from tests.actions.conftest import make_tracker


def _slot_events(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_lookup_tells_the_real_status(api_url: str, seeded_db: Path) -> None:
    [dossier], _ = Database(seeded_db).dossiers("tre_han", 1, 0)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("tra cuu", "tra_cuu_ho_so", slots={"ma_ho_so": dossier.code})
    events = await ActionTraCuuHoSo().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert dossier.code in message["text"]
    assert "TRỄ HẠN" in message["text"]
    assert dossier.applicant in message["text"] and "***" in dossier.applicant
    assert dossier.procedure_name in message["text"]
    assert _slot_events(events) == {"ma_ho_so": None, "thu_tuc_gan_nhat": dossier.procedure_id,
                                    "ho_so_gan_nhat": dossier.code}


async def test_unknown_code_gets_a_helpful_sentence(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("x", "tra_cuu_ho_so", slots={"ma_ho_so": "000.00.12.H17-200115-0999"})
    await ActionTraCuuHoSo().run(dispatcher, tracker, {})
    assert "Không tìm thấy hồ sơ có mã 000.00.12.H17-200115-0999" in dispatcher.messages[0]["text"]


async def test_unreachable_api_gets_an_apology_with_the_hotline(api_url: str, monkeypatch) -> None:
    import actions.base
    from common.settings import get_settings

    monkeypatch.setenv("DOSSIER_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("DOSSIER_API_RETRIES", "0")
    get_settings.cache_clear()
    monkeypatch.setattr(actions.base, "_client", None)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("x", "tra_cuu_ho_so", slots={"ma_ho_so": "000.00.12.H17-200115-0001"})
    await ActionTraCuuHoSo().run(dispatcher, tracker, {})
    assert "đang bận" in dispatcher.messages[0]["text"] and "1022" in dispatcher.messages[0]["text"]


async def test_form_accepts_a_messy_code() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("000 . 00 . 12 . h17 - 200115 - 0001", "tra_cuu_ho_so", active_loop="tra_cuu_form")
    result = await ValidateTraCuuForm().validate_ma_ho_so(tracker.latest_message["text"], dispatcher, tracker, {})
    assert result == {"ma_ho_so": "000.00.12.H17-200115-0001", "so_lan_nhap_sai": 0}
    assert dispatcher.messages == []


async def test_form_explains_a_malformed_code_and_gives_up_after_three() -> None:
    validator = ValidateTraCuuForm()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(
            "000.00.12.H17-201301-0001",
            "tra_cuu_ho_so",
            slots={"so_lan_nhap_sai": attempt - 1, "requested_slot": "ma_ho_so"},
            extracted={"ma_ho_so": "000.00.12.H17-201301-0001"},
            active_loop="tra_cuu_form",
        )
        events = await validator.run(dispatcher, tracker, {"forms": {"tra_cuu_form": {"required_slots": ["ma_ho_so"]}}})
        assert "chưa đúng định dạng" in dispatcher.messages[0]["text"]
        stopped = any(e.get("event") == "active_loop" and e.get("name") is None for e in events)
        assert stopped == (attempt == MAX_ATTEMPTS)


async def test_a_second_question_beside_the_code_is_answered_too(api_url: str, seeded_db: Path) -> None:
    [dossier], _ = Database(seeded_db).dossiers("dang_xu_ly", 1, 0)
    dispatcher = CollectingDispatcher()
    text = f"mã hồ sơ {dossier.code}, với lại cho hỏi lệ phí bán buôn rượu luôn"
    events = await ActionTraCuuHoSo().run(dispatcher, make_tracker(text, "tra_cuu_ho_so"), {})
    status, fee = (m["text"] for m in dispatcher.messages)
    assert dossier.code in status
    assert "bán buôn rượu" in fee.lower() and "đ" in fee
    assert _slot_events(events)["ho_so_gan_nhat"] == dossier.code


async def test_a_question_about_the_dossier_itself_gets_only_its_status(api_url: str, seeded_db: Path) -> None:
    [dossier], _ = Database(seeded_db).dossiers("dang_xu_ly", 1, 0)
    dispatcher = CollectingDispatcher()
    text = f"hs {dossier.code} giấy phép bán lẻ rượu của tôi khi nào có"
    await ActionTraCuuHoSo().run(dispatcher, make_tracker(text, "tra_cuu_ho_so"), {})
    assert len(dispatcher.messages) == 1 and dossier.code in dispatcher.messages[0]["text"]


async def test_on_sms_a_lookup_is_one_compact_reply_that_fits(api_url: str, seeded_db: Path) -> None:
    from common.sms_text import sms_text_settings

    items, _ = Database(seeded_db).dossiers("dang_xu_ly", 3, 0)
    for text in (f"cho hoi ho so {items[0].code} sao tre vay", "tra giup " + " va ".join(d.code for d in items)):
        dispatcher = CollectingDispatcher()
        await ActionTraCuuHoSo().run(dispatcher, make_tracker(text, "tra_cuu_ho_so", sender_id="sms:84905111333"), {})
        [message] = dispatcher.messages
        assert all(d.code in message["text"] for d in items if d.code in text)
        assert sms_text_settings().fits(message["text"] + "\n1. Danh gia dich vu\n2. Tra cuu ho so khac\nTra loi so")


async def test_the_hours_asked_beside_a_code_are_told_after_its_status(api_url: str, seeded_db: Path) -> None:
    [dossier], _ = Database(seeded_db).dossiers("dang_xu_ly", 1, 0)
    dispatcher = CollectingDispatcher()
    text = f"{dossier.code} và cho em hỏi sở làm việc thứ 7 không"
    await ActionTraCuuHoSo().run(dispatcher, make_tracker(text, "tra_cuu_ho_so"), {})
    status, hours = (m["text"] for m in dispatcher.messages)
    assert dossier.code in status and "Thứ Hai đến Thứ Sáu" in hours


async def test_a_booking_asked_beside_a_code_is_made_after_its_status(api_url: str, seeded_db: Path) -> None:
    from actions.base import dossier_client

    [dossier], _ = Database(seeded_db).dossiers("da_co_ket_qua", 1, 0)
    day = (await dossier_client().appointment_days(5))[-1]
    owner = "web:lookup-and-book"
    dispatcher = CollectingDispatcher()
    text = f"{dossier.code} có kết quả chưa, cho em đặt lịch 9h ngày {day:%d/%m/%Y} lên lấy luôn"
    await ActionTraCuuHoSo().run(dispatcher, make_tracker(text, "tra_cuu_ho_so", sender_id=owner), {})
    status, booked = (m["text"] for m in dispatcher.messages)
    assert dossier.code in status and "09:00" in booked
    assert [(a.date, a.time) for a in await dossier_client().appointments(owner)] == [(day, "09:00")]


async def test_the_second_of_two_codes_pointed_to_by_its_rank_is_looked_up(api_url: str, seeded_db: Path) -> None:
    from actions.lookup import ActionHoiHoSo
    from actions.procedures import ActionHuongDanThuTuc

    first, second = Database(seeded_db).dossiers("dang_xu_ly", 2, 0)[0]
    for action, intent in ((ActionHuongDanThuTuc, "hoi_thu_tuc"), (ActionHoiHoSo, "tra_cuu_ho_so")):
        tracker = make_tracker("còn bộ thứ hai thì sao", intent, slots={"ho_so_gan_nhat": second.code})
        tracker.events[:0] = [{"event": "user", "text": f"tra giúp 2 mã {first.code} và {second.code}"},
                              {"event": "bot", "text": "…"}]
        dispatcher = CollectingDispatcher()
        await action().run(dispatcher, tracker, {})
        assert second.code in dispatcher.messages[0]["text"] and first.code not in dispatcher.messages[0]["text"]
