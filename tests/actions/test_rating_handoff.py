from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionGapCanBo
from actions.rating import ActionDanhGia
from dossier_api.db import Database
from tests.actions.conftest import make_tracker


async def test_rating_with_a_level_is_stored(api_url: str, seeded_db: Path) -> None:
    db = Database(seeded_db)
    before = db.rating_counts().get("khong_hai_long", 0)
    [dossier], _ = db.dossiers("da_tra_ket_qua", 1, 0)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "không hài lòng",
        "danh_gia",
        entities=[{"entity": "muc_do", "value": "khong_hai_long"}],
        slots={"ho_so_gan_nhat": dossier.code},
        sender_id="telegram:42",
    )
    await ActionDanhGia().run(dispatcher, tracker, {})
    assert db.rating_counts()["khong_hai_long"] == before + 1
    assert "không hài lòng" in dispatcher.messages[0]["text"] and "1022" in dispatcher.messages[0]["text"]
    with db.connect() as conn:
        row = conn.execute("SELECT channel, dossier_code FROM ratings ORDER BY id DESC LIMIT 1").fetchone()
    assert tuple(row) == ("telegram", dossier.code)


async def test_rating_without_a_level_asks_for_one(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    await ActionDanhGia().run(dispatcher, make_tracker("đánh giá", "danh_gia"), {})
    assert dispatcher.messages[0]["response"] == "utter_hoi_muc_do"


async def test_handoff_outside_office_hours_gives_the_hotline(api_url: str, monkeypatch) -> None:
    from common.settings import get_settings

    monkeypatch.setenv("HANDOFF_HOURS", "")  # never staffed
    get_settings.cache_clear()
    dispatcher = CollectingDispatcher()
    events = await ActionGapCanBo().run(dispatcher, make_tracker("gặp cán bộ", "gap_can_bo", sender_id="zalo:9"), {})
    text = dispatcher.messages[0]["text"]
    assert events == [] and "1022" in text and "Giờ làm việc" in text
    assert dispatcher.messages[0]["buttons"] == [{"title": "Gửi phản ánh", "payload": "/phan_anh_kien_nghi"}]
    asked_hours = CollectingDispatcher()  # only asking the hours: no ticket offered
    await ActionGapCanBo().run(asked_hours, make_tracker("mấy giờ sở mở cửa", "gap_can_bo", sender_id="sms:849"), {})
    assert "Giờ làm việc" in asked_hours.messages[0]["text"] and not asked_hours.messages[0]["buttons"]


def _handed_over(dispatcher: CollectingDispatcher) -> bool:
    """The reply asks the gateway to hand over (Rasa itself is never paused)."""
    return bool((dispatcher.messages[0].get("custom") or {}).get("handoff"))


async def test_handoff_in_office_hours_hands_chat_and_sms_over(api_url: str, monkeypatch) -> None:
    from common.settings import get_settings

    monkeypatch.setenv("HANDOFF_HOURS", "always")
    get_settings.cache_clear()
    chat = CollectingDispatcher()
    events = await ActionGapCanBo().run(chat, make_tracker("gặp cán bộ", "gap_can_bo", sender_id="telegram:9"), {})
    custom = chat.messages[0]["custom"]
    assert events == [] and _handed_over(chat) and "chuyển cuộc trò chuyện" in custom["text"]
    assert custom["buttons"] == [{"title": "Quay lại trợ lý ảo", "payload": "/tro_ly_ao"}]
    sms = CollectingDispatcher()
    events = await ActionGapCanBo().run(sms, make_tracker("gap can bo", "gap_can_bo", sender_id="sms:849"), {})
    assert events == [] and _handed_over(sms) and "1022" in sms.messages[0]["custom"]["text"]


@pytest.mark.parametrize(("text", "handed_over"), [
    ("tôi muốn gặp cán bộ", True), ("bot ko hieu cho gap nguoi", True), ("có ai trực không", True),
    ("giờ làm việc của bộ phận một cửa thế nào", False), ("mấy giờ sở mở cửa", False),
    ("cho tôi số tổng đài", False), ("email liên hệ của sở", False),
    ("sở làm việc mấy giờ, thứ 7 có làm không", False), ("chủ nhật có làm việc không", False),
])
async def test_asking_how_to_reach_the_department_does_not_pause_the_bot(api_url: str, monkeypatch, text: str,
                                                                         handed_over: bool) -> None:
    from common.settings import get_settings

    monkeypatch.setenv("HANDOFF_HOURS", "always")
    get_settings.cache_clear()
    chat = CollectingDispatcher()
    await ActionGapCanBo().run(chat, make_tracker(text, "gap_can_bo", sender_id="web:abcdefgh12"), {})
    assert _handed_over(chat) is handed_over
    assert ("Giờ làm việc" in (chat.messages[0]["text"] or "")) is not handed_over


async def test_a_person_asked_for_in_a_question_about_the_bot_is_a_handoff_or_the_hotline(api_url: str) -> None:
    from actions.handoff import ActionHoiBot

    dispatcher = CollectingDispatcher()
    text = "gặp người thật đi, bot trả lời không đúng gì hết"
    await ActionHoiBot().run(dispatcher, make_tracker(text, "hoi_bot"), {})
    message = dispatcher.messages[0]
    said = message.get("text") or message["custom"]["text"]
    assert message.get("response") != "utter_hoi_bot" and "1022" in said
    plain = CollectingDispatcher()
    await ActionHoiBot().run(plain, make_tracker("bạn là ai vậy", "hoi_bot"), {})
    assert plain.messages[0]["response"] == "utter_hoi_bot"


def test_a_typed_score_is_a_rating_level() -> None:
    from actions.rating import score_level

    assert [score_level(t) for t in ("5", "4 sao", "3", "2/5", "1", "9 điểm", "6", "0", "abc")] == [
        "hai_long", "hai_long", "binh_thuong", "khong_hai_long", "khong_hai_long", "hai_long", "binh_thuong", None,
        None]


async def test_a_score_typed_to_the_ratings_buttons_is_stored_whatever_it_was_read_as(api_url: str) -> None:
    from actions.policy import ActionChuaHieu

    asked = "Anh/chị đánh giá mức độ hài lòng với dịch vụ của Sở Công Thương thế nào?"
    tracker = make_tracker("5", "nlu_fallback", sender_id="web:typed-score")
    tracker.events.insert(0, {"event": "bot", "text": asked, "data": {"buttons": [
        {"title": "Hài lòng", "payload": '/danh_gia{"muc_do": "hai_long"}'}]}})
    dispatcher = CollectingDispatcher()
    await ActionChuaHieu().run(dispatcher, tracker, {})
    assert "hài lòng" in dispatcher.messages[0]["text"].lower() and "Cảm ơn" in dispatcher.messages[0]["text"]


async def test_the_dossier_named_when_asking_to_rate_is_the_one_the_level_is_for(
        api_url: str, seeded_db: Path) -> None:
    [dossier], _ = Database(seeded_db).dossiers("da_co_ket_qua", 1, 0)
    asked = CollectingDispatcher()
    entities = [{"entity": "ma_ho_so", "value": dossier.code}]
    events = await ActionDanhGia().run(asked, make_tracker(f"đánh giá hồ sơ {dossier.code}", "danh_gia", entities), {})
    assert {"event": "slot", "timestamp": None, "name": "ho_so_gan_nhat", "value": dossier.code} in events
