"""Policy questions against the real reference API (procedure names come from the catalog)."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.policy import ActionHoiChinhSach
from common.sms_text import prepare
from tests.actions.conftest import make_tracker


async def _run(text: str, sender_id: str = "web:test-session") -> list[dict]:
    dispatcher = CollectingDispatcher()
    events = await ActionHoiChinhSach().run(dispatcher, make_tracker(text, "hoi_chinh_sach", sender_id=sender_id), {})
    # an answer that links one catalog procedure makes it the one follow-ups are about
    buttons = [b for m in dispatcher.messages for b in m.get("buttons") or []]
    linked = [{"event": "slot", "timestamp": None, "name": "thu_tuc_gan_nhat",
               "value": buttons[0]["payload"].split('"')[-2]}] if len(buttons) == 1 else []
    assert events == linked
    return dispatcher.messages


async def test_answer_cites_the_basis_and_offers_the_linked_procedure(api_url: str) -> None:
    [message] = await _run("lam khuyen mai quay so trung thuong phai dang ky o dau")
    assert "Căn cứ: Luật Thương mại 2005, Điều 96" in message["text"]
    assert "Cập nhật ngày 01/12/2026" in message["text"]
    [button] = message["buttons"]
    assert button["payload"] == '/hoi_thu_tuc{"thu_tuc": "dang_ky_khuyen_mai"}'
    assert "khuyến mại" in button["title"].lower()  # the catalog's name of the procedure


async def test_an_answer_without_a_procedure_has_no_button(api_url: str) -> None:
    [message] = await _run("thuoc la dien tu con duoc ban khong")
    assert "173/2024/QH15" in message["text"] and not message["buttons"]


async def test_sms_gets_the_short_form_with_the_hotline(api_url: str) -> None:
    [message] = await _run("điện mặt trời áp mái có cần giấy phép không", sender_id="sms:84901234567")
    assert "Hỏi thêm: 1022" in message["text"] and not message["buttons"]
    assert len(prepare(message["text"], ucs2=False, max_segments=3)) <= 3


async def test_what_the_base_does_not_know_offers_a_person_or_a_ticket(api_url: str) -> None:
    [message] = await _run("thủ tục nhập khẩu ô tô cũ từ nhật")
    assert "chưa có câu trả lời" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/gap_can_bo", "/phan_anh_kien_nghi"]


async def test_a_button_payload_asks_for_the_question(api_url: str) -> None:
    [message] = await _run("/hoi_chinh_sach")
    assert "muốn hỏi quy định nào" in message["text"]


async def _ask(text: str, sender_id: str = "web:test-session") -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await ActionHoiChinhSach().run(dispatcher, make_tracker(text, "hoi_chinh_sach", sender_id=sender_id), {})
    return dispatcher.messages, events


async def test_a_licence_another_body_decides_is_told_who_decides_it_after_the_answer(api_url: str) -> None:
    messages, events = await _ask("quán tạp hóa nhà tui bán bia với rượu có phải xin phép sở không")
    answer, who = messages
    assert "Căn cứ:" in answer["text"] and "bia" in answer["text"]
    assert "Ủy ban nhân dân cấp xã" in who["text"] and "không do Sở Công Thương giải quyết" in who["text"]
    assert {"event": "slot", "timestamp": None, "name": "thu_tuc_gan_nhat", "value": "ban_le_ruou"} in events
    # An answer that does not touch such a licence stays alone.
    messages, _ = await _ask("thuoc la dien tu con duoc ban khong")
    assert len(messages) == 1


async def test_a_policy_question_the_base_does_not_know_gets_the_procedure_of_the_product_it_names(
    api_url: str,
) -> None:
    [message], events = await _ask("tiệm quần áo xả kho cuối năm cần báo ai")
    assert message["text"].startswith('Thủ tục "Thông báo thực hiện khuyến mại"')
    assert any(e.get("name") == "thu_tuc_gan_nhat" and e.get("value") == "thong_bao_khuyen_mai" for e in events)
    # A product whose variants the words leave open: the choice, not "I don't know".
    [message], _ = await _ask("văn phòng đại diện")
    assert message["text"].startswith("Anh/chị hỏi về thủ tục nào ạ?") and len(message["buttons"]) == 4


async def test_another_agencys_matter_the_base_does_not_know_gets_who_handles_it(api_url: str) -> None:
    [message], _ = await _ask("làm giấy khai sinh cho bé")
    assert "không thuộc phạm vi của Sở Công Thương" in message["text"] and "Ủy ban nhân dân cấp xã" in message["text"]
    assert "chưa có câu trả lời" not in message["text"]
    # A procedure of ours matched clearly by its words (no product facet) is answered too.
    [message], _ = await _ask("công ty vốn nước ngoài mở siêu thị")
    assert message["text"].startswith('Thủ tục "Cấp Giấy phép lập cơ sở bán lẻ của tổ chức kinh tế có vốn đầu tư')


async def test_how_to_redo_a_licence_gets_the_rule_then_the_linked_procedures_fee_and_time(api_url: str) -> None:
    from rasa_sdk.executor import CollectingDispatcher

    from actions.policy import ActionHoiChinhSach
    from tests.actions.conftest import make_tracker

    dispatcher = CollectingDispatcher()
    await ActionHoiChinhSach().run(dispatcher, make_tracker(
        "giấy chứng nhận cửa hàng xăng dầu của tui bị rách rồi, làm lại kiểu chi", "hoi_chinh_sach"), {})
    said = " ".join(m.get("text") or "" for m in dispatcher.messages)
    assert "1.200.000" in said and "ngày làm việc" in said


async def test_two_conversations_answered_at_once_by_the_one_action_keep_their_own_procedure(
        api_url: str, monkeypatch) -> None:
    import asyncio

    import actions.procedures

    decided_elsewhere = actions.procedures.decided_elsewhere

    async def slowly(text: str):  # the API answers one conversation while the other one goes on
        await asyncio.sleep(0.05)
        return await decided_elsewhere(text)

    monkeypatch.setattr(actions.procedures, "decided_elsewhere", slowly)
    # Rasa SDK serves every conversation with one instance of each action, concurrently.
    action = ActionHoiChinhSach()
    asked = {"web:policy-a": "quán tạp hóa nhà tui bán bia với rượu có phải xin phép sở không",
             "web:policy-b": "lam khuyen mai quay so trung thuong phai dang ky o dau"}
    runs = [action.run(CollectingDispatcher(), make_tracker(text, "hoi_chinh_sach", sender_id=sender), {})
            for sender, text in asked.items()] * 3
    results = await asyncio.gather(*runs)
    linked = [next(e["value"] for e in events if e.get("name") == "thu_tuc_gan_nhat") for events in results]
    assert linked == ["ban_le_ruou", "dang_ky_khuyen_mai"] * 3


async def test_what_the_law_allows_or_limits_is_the_rules_answer_whatever_the_reading(api_url: str) -> None:
    from actions.procedures import ActionHuongDanThuTuc

    limit = CollectingDispatcher()  # read as a fee question ("bao nhiêu")
    await ActionHuongDanThuTuc().run(limit, make_tracker("dịp tết cửa hàng được giảm giá nhiều nhất mấy phần trăm",
                                                         "hoi_le_phi"), {})
    assert limit.messages[0]["text"].startswith("Về câu hỏi") and "Lệ phí" not in limit.messages[0]["text"]
    legal = CollectingDispatcher()  # "nộp tiền" is no procedure's fee
    await ActionHoiChinhSach().run(legal, make_tracker("bên đa cấp đòi em nộp tiền mua hàng mới được tham gia, vậy"
                                                       " có đúng luật không", "hoi_chinh_sach"), {})
    assert "Lệ phí" not in legal.messages[0]["text"] and "Căn cứ" in legal.messages[0]["text"]


async def test_the_next_product_after_a_procedure_answer_read_as_a_policy_question_is_its_procedure(
        api_url: str) -> None:
    tracker = make_tracker("còn cửa hàng bán gas bình thì sao", "hoi_chinh_sach",
                           slots={"thu_tuc_gan_nhat": "ban_le_thuoc_la"})
    tracker.events.insert(0, {"event": "slot", "name": "thu_tuc_gan_nhat", "value": "ban_le_thuoc_la"})
    dispatcher = CollectingDispatcher()
    await ActionHoiChinhSach().run(dispatcher, tracker, {})
    assert "LPG chai" in dispatcher.messages[0]["text"] and not dispatcher.messages[0]["text"].startswith("Về câu hỏi")
