from rasa_sdk.executor import CollectingDispatcher

from actions.procedures import ActionHuongDanThuTuc
from tests.actions.conftest import make_tracker


async def _run(text: str, intent: str, slots=None, entities=None) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await ActionHuongDanThuTuc().run(dispatcher, make_tracker(text, intent, entities, slots), {})
    return dispatcher.messages, events


async def test_fee_of_a_named_procedure(api_url: str) -> None:
    [message], events = await _run("le phi ban le xang dau bao nhieu", "hoi_le_phi")
    assert "1.200.000 đồng" in message["text"]
    assert "bán lẻ xăng dầu" in message["text"]
    assert {"event": "slot", "timestamp": None, "name": "thu_tuc_gan_nhat", "value": "ban_le_xang_dau"} in events
    assert {b["title"] for b in message["buttons"]} >= {"Giấy tờ cần nộp", "Thời hạn", "Nơi nộp"}


async def test_each_intent_answers_its_aspect(api_url: str) -> None:
    [docs], _ = await _run("xin giấy phép bán buôn rượu cần giấy tờ gì", "hoi_giay_to")
    assert "Đơn đề nghị cấp Giấy phép bán buôn rượu" in docs["text"]
    [time], _ = await _run("đăng ký khuyến mại mất bao lâu", "hoi_thoi_han")
    assert "05 ngày làm việc" in time["text"]
    [where], _ = await _run("nộp hồ sơ văn phòng đại diện ở đâu", "hoi_nop_ho_so")
    assert "Bộ phận Một cửa" in where["text"] and "toàn trình" in where["text"]


async def test_follow_up_question_uses_the_procedure_discussed(api_url: str) -> None:
    [message], _ = await _run("còn thời gian thì sao", "hoi_thoi_han", slots={"thu_tuc_gan_nhat": "ban_buon_thuoc_la"})
    assert "15 ngày làm việc" in message["text"] and "thuốc lá" in message["text"]


async def test_button_payload_names_the_procedure(api_url: str) -> None:
    entities = [{"entity": "thu_tuc", "value": "ban_le_lpg_chai"}]
    [message], _ = await _run('/hoi_le_phi{"thu_tuc": "ban_le_lpg_chai"}', "hoi_le_phi", entities=entities)
    assert "LPG chai" in message["text"]


async def test_unknown_procedure_is_asked_for(api_url: str) -> None:
    [message], events = await _run("lệ phí bao nhiêu", "hoi_le_phi")
    assert "thủ tục nào" in message["text"]
    assert len(message["buttons"]) >= 4 and events == []


async def test_another_agencys_procedure_is_not_answered_with_the_one_discussed_before(api_url: str) -> None:
    slots = {"thu_tuc_gan_nhat": "ban_le_xang_dau"}
    [message], events = await _run("nộp hồ sơ làm hộ chiếu ở đâu", "hoi_nop_ho_so", slots=slots)
    assert message["response"] == "utter_ngoai_pham_vi" and events == []
    [message], _ = await _run("giay to can de sang ten xe", "hoi_giay_to")
    assert message["response"] == "utter_ngoai_pham_vi"
    # Our procedure, with another agency's paper among its documents: answered.
    [message], _ = await _run("bán lẻ xăng dầu có cần bản sao sổ đỏ không", "hoi_giay_to", slots=slots)
    assert "xăng dầu" in message["text"]
