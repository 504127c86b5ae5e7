import json

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.procedures import ActionHuongDanThuTuc, ActionNgoaiPhamVi, aspect_of, pending_question
from content import replies
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


async def test_on_sms_the_documents_are_dashed_and_only_the_options_numbered(api_url: str) -> None:
    text = "xin giấy phép bán buôn rượu cần giấy tờ gì"
    for sender, first in (("sms:84905111222", "- "), ("web:s", "1. ")):
        dispatcher = CollectingDispatcher()
        await ActionHuongDanThuTuc().run(dispatcher, make_tracker(text, "hoi_giay_to", sender_id=sender), {})
        [message] = dispatcher.messages
        assert message["text"].split("\n")[1].startswith(first)
        assert message["buttons"]  # numbered after the text on SMS, from 1: the lines above are not


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
    assert "không thuộc phạm vi" in message["text"] and "Công an" in message["text"]
    assert not any(e.get("name") == "thu_tuc_gan_nhat" for e in events)
    [message], _ = await _run("giay to can de sang ten xe", "hoi_giay_to")
    assert "không thuộc phạm vi" in message["text"] and "Công an" in message["text"]
    # Our procedure, with another agency's paper among its documents: answered.
    [message], _ = await _run("bán lẻ xăng dầu có cần bản sao sổ đỏ không", "hoi_giay_to", slots=slots)
    assert "xăng dầu" in message["text"] and "không thuộc phạm vi" not in message["text"]


@pytest.mark.parametrize(("text", "intent"), [
    ("giấy phép bán lẻ rượu lệ phí bao nhiêu", "hoi_le_phi"),
    ("bán lẻ thuốc lá cần giấy tờ gì", "hoi_giay_to"),
    ("mở quán nhậu bán rượu cho khách uống tại quán thì xin phép ở đâu", "hoi_nop_ho_so"),
])
async def test_a_licence_the_commune_issues_gets_who_where_and_what_the_department_does(
    api_url: str, text: str, intent: str
) -> None:
    [message], events = await _run(text, intent)
    assert "không do Sở Công Thương giải quyết" in message["text"]
    assert "Ủy ban nhân dân cấp xã" in message["text"] and "Nơi nộp" in message["text"]
    assert "Sở Công Thương vẫn hỗ trợ" in message["text"] and "1022" in message["text"]
    assert "2.200.000" not in message["text"] and "50 m²" not in message["text"]  # not the wholesale licence
    assert any(e.get("name") == "thu_tuc_gan_nhat" for e in events)


async def test_a_shop_selling_several_licensed_goods_is_told_each_licence(api_url: str) -> None:
    alcohol, tobacco = (await _run("cửa hàng tiện lợi của em bán rượu bia với thuốc lá thì xin giấy phép gì",
                                   "hoi_thu_tuc"))[0]
    assert "bán lẻ rượu" in alcohol["text"] and "bán lẻ sản phẩm thuốc lá" in tobacco["text"]
    assert all("Ủy ban nhân dân cấp xã" in m["text"] for m in (alcohol, tobacco))
    assert "vốn đầu tư nước ngoài" not in alcohol["text"] + tobacco["text"]  # not the FDI retail outlet
    alcohol, tobacco = (await _run("cho hỏi lệ phí giấy phép bán buôn rượu và bán buôn thuốc lá", "hoi_le_phi"))[0]
    assert "bán buôn sản phẩm thuốc lá" in tobacco["text"] and "bán buôn rượu" in alcohol["text"]
    assert "2.200.000 đồng" in alcohol["text"]


async def test_the_variant_named_gives_its_own_fee_and_follow_ups_stay_on_it(api_url: str) -> None:
    [message], events = await _run("gia hạn giấy phép văn phòng đại diện phí bao nhiêu", "hoi_le_phi")
    assert "1.500.000 đồng" in message["text"] and "3.000.000" not in message["text"]
    [slot] = [e["value"] for e in events if e.get("name") == "thu_tuc_gan_nhat"]
    [follow_up], _ = await _run("còn lệ phí thì sao", "hoi_le_phi", slots={"thu_tuc_gan_nhat": slot})
    assert "Gia hạn Giấy phép thành lập Văn phòng đại diện" in follow_up["text"] and "1.500.000" in follow_up["text"]
    # A weak, coincidental match does not take the conversation elsewhere.
    [follow_up], _ = await _run("thế thời hạn giải quyết thì sao", "hoi_thoi_han", slots={"thu_tuc_gan_nhat": slot})
    assert "Gia hạn Giấy phép thành lập Văn phòng đại diện" in follow_up["text"]


async def test_a_follow_up_naming_another_variant_keeps_the_product(api_url: str) -> None:
    [message], events = await _run("bán lẻ thì sao", "hoi_thu_tuc", slots={"thu_tuc_gan_nhat": "ban_buon_ruou"})
    assert "bán lẻ rượu" in message["text"] and "Ủy ban nhân dân cấp xã" in message["text"]
    [message], _ = await _run("cấp lại thì sao", "hoi_thu_tuc", slots={"thu_tuc_gan_nhat": "ban_buon_thuoc_la"})
    assert "Cấp lại, sửa đổi, bổ sung Giấy phép bán buôn sản phẩm thuốc lá" in message["text"]


async def test_close_variants_are_asked_with_buttons_that_each_name_one_procedure(api_url: str) -> None:
    [message], events = await _run("lệ phí giấy phép thuốc lá", "hoi_le_phi")
    assert message["text"].startswith(replies.which_procedure_question())
    ids = [json.loads("{" + b["payload"].split("{", 1)[1])["thu_tuc"] for b in message["buttons"]]
    assert {"ban_buon_thuoc_la", "ban_le_thuoc_la"} <= set(ids) and len(ids) == len(set(ids))
    assert all(b["payload"].startswith("/hoi_le_phi{") for b in message["buttons"])
    # Pressing one answers that procedure's fee.
    button = next(b for b in message["buttons"] if '"ban_buon_thuoc_la"' in b["payload"])
    entities = [{"entity": "thu_tuc", "value": "ban_buon_thuoc_la"}]
    [answer], _ = await _run(button["payload"], "hoi_le_phi", entities=entities)
    assert "2.200.000 đồng" in answer["text"] and "bán buôn sản phẩm thuốc lá" in answer["text"]


def _after_prompt(first: str, first_intent: str, prompt: str, answer: str, answer_intent: str) -> Tracker:
    """A tracker where the bot asked ``prompt`` after ``first`` and the citizen answered."""
    def user(text: str, intent: str) -> dict:
        return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}, "entities": []}}
    latest = {"text": answer, "intent": {"name": answer_intent, "confidence": 0.9}, "entities": []}
    events = [user(first, first_intent), {"event": "action", "name": "action_huong_dan_thu_tuc"},
              {"event": "bot", "text": prompt}, user(answer, answer_intent)]
    return Tracker("web:test", {}, latest, events, False, None, {}, "action_listen")


@pytest.mark.parametrize(("answer", "expected"), [
    ("an toàn thực phẩm", "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm"),
    ("bán buôn thuốc lá", "Cấp Giấy phép bán buôn sản phẩm thuốc lá"),
])
async def test_the_answer_to_which_procedure_is_taken_with_the_question_it_answers(
    api_url: str, answer: str, expected: str
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = _after_prompt("lệ phí bao nhiêu", "hoi_le_phi", replies.which_procedure(), answer, "hoi_thu_tuc")
    await ActionHuongDanThuTuc().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["text"].startswith("Lệ phí thủ tục") and expected in message["text"]


async def test_a_typed_variant_answers_the_choice_together_with_the_first_question(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    tracker = _after_prompt("giấy phép rượu cần giấy tờ gì", "hoi_giay_to", replies.which_variant(),
                            "bán buôn", "hoi_thu_tuc")
    await ActionHuongDanThuTuc().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert "Đơn đề nghị cấp Giấy phép bán buôn rượu" in message["text"]


async def _scope(text: str) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await ActionNgoaiPhamVi().run(dispatcher, make_tracker(text, "ngoai_pham_vi"), {})
    return dispatcher.messages, events


async def test_out_of_scope_for_the_nlu_but_the_departments_own_procedure_is_answered(api_url: str) -> None:
    [message], events = await _scope("đổi trưởng VPĐD")
    assert "Điều chỉnh Giấy phép thành lập Văn phòng đại diện" in message["text"]
    [message], _ = await _scope("giảm giá 30% dịp tết có phải đăng ký với sở không")
    assert "khuyến mại" in message["text"] and "không thuộc phạm vi" not in message["text"]
    [message], _ = await _scope("phí đăng ký website thương mại điện tử")
    assert "Bộ Công Thương" in message["text"] and "online.gov.vn" in message["text"]


@pytest.mark.parametrize(("text", "who"), [
    ("vay vốn ngân hàng để mở quán", "ngân hàng"),
    ("đăng ký kết hôn cần gì", "Ủy ban nhân dân cấp xã"),
    ("chốt sổ bảo hiểm xã hội ở đâu", "Bảo hiểm xã hội"),
    ("thủ tục cấp đổi bằng lái xe", "Công an"),
])
async def test_another_agencys_matter_gets_not_ours_with_who_handles_it(api_url: str, text: str, who: str) -> None:
    [message], _ = await _scope(text)
    assert "không thuộc phạm vi của Sở Công Thương" in message["text"] and who in message["text"]


async def test_plain_out_of_scope_gets_the_general_answer(api_url: str) -> None:
    [message], events = await _scope("tối nay đội nào đá bóng")
    assert message["response"] == "utter_ngoai_pham_vi" and events == []


def test_aspect_of_a_message_is_read_from_its_cue_words() -> None:
    assert aspect_of("phí đăng ký website") == "hoi_le_phi"
    assert aspect_of("làm mất bao lâu") == "hoi_thoi_han"
    assert aspect_of("đổi trưởng VPĐD") == "hoi_thu_tuc"


def test_pending_question_is_only_the_bots_own_which_procedure() -> None:
    tracker = _after_prompt("lệ phí bao nhiêu", "hoi_le_phi", replies.which_procedure(), "attp", "hoi_thu_tuc")
    assert pending_question(tracker.events) == ("hoi_le_phi", "lệ phí bao nhiêu")
    tracker = _after_prompt("lệ phí bao nhiêu", "hoi_le_phi", "Xin chào!", "attp", "hoi_thu_tuc")
    assert pending_question(tracker.events) is None


async def test_an_answer_the_nlu_calls_out_of_scope_still_answers_which_procedure(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    tracker = _after_prompt("thuốc lá thì lệ phí sao", "hoi_le_phi", replies.which_variant(), "bán buôn",
                            "ngoai_pham_vi")
    await ActionNgoaiPhamVi().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["text"].startswith("Lệ phí thủ tục") and "bán buôn sản phẩm thuốc lá" in message["text"]


async def test_an_entry_staff_have_to_confirm_says_so(api_url: str) -> None:
    [message], _ = await _run("lệ phí sửa đổi bổ sung giấy phép bán buôn rượu", "hoi_le_phi")
    assert "Cấp sửa đổi, bổ sung Giấy phép bán buôn rượu" in message["text"]
    assert "đang được Sở rà soát" in message["text"] and "1022" in message["text"]
    [message], _ = await _run("lệ phí bán lẻ xăng dầu", "hoi_le_phi")
    assert "rà soát" not in message["text"]


async def test_a_family_named_alone_asks_which_act_and_a_question_about_it_keeps_the_new_licence(
    api_url: str,
) -> None:
    [message], events = await _run("văn phòng đại diện", "hoi_thu_tuc")
    assert message["text"] == replies.which_variant()
    ids = {json.loads("{" + b["payload"].split("{", 1)[1])["thu_tuc"] for b in message["buttons"]}
    assert {"van_phong_dai_dien", "gia_han_van_phong_dai_dien", "dieu_chinh_van_phong_dai_dien",
            "cap_lai_van_phong_dai_dien"} == ids
    assert not any(e.get("name") == "thu_tuc_gan_nhat" and e.get("value") for e in events)
    [message], _ = await _run("cho hỏi về VPĐD", "hoi_thu_tuc")  # "về" meets another procedure's words
    assert len(message["buttons"]) == 4 and all("van_phong_dai_dien" in b["payload"] for b in message["buttons"])
    [message], _ = await _run("cho hỏi về thủ tục bán buôn rượu", "hoi_thu_tuc")
    assert {"ban_buon_ruou", "cap_lai_ban_buon_ruou", "sua_doi_ban_buon_ruou"} <= {
        json.loads("{" + b["payload"].split("{", 1)[1])["thu_tuc"] for b in message["buttons"]}
    # A fee asked, or applying named, is about the new licence; an act named is that act.
    [fee], _ = await _run("lệ phí văn phòng đại diện", "hoi_le_phi")
    assert "3.000.000" in fee["text"] and not fee["buttons"][0]["payload"].startswith("/hoi_le_phi")
    [new], _ = await _run("xin giấy phép văn phòng đại diện", "hoi_thu_tuc")
    assert new["text"].startswith('Thủ tục "Cấp Giấy phép thành lập Văn phòng đại diện')
    [renewal], _ = await _run("gia hạn văn phòng đại diện", "hoi_thu_tuc")
    assert renewal["text"].startswith('Thủ tục "Gia hạn Giấy phép thành lập Văn phòng đại diện')


def test_a_family_alone_is_its_product_and_nothing_else() -> None:
    from actions.procedures import names_only_a_family

    assert names_only_a_family("văn phòng đại diện") and names_only_a_family("thủ tục VPĐD thế nào ạ")
    assert names_only_a_family("bán buôn thuốc lá")
    assert not names_only_a_family("lệ phí văn phòng đại diện")  # an aspect
    assert not names_only_a_family("gia hạn văn phòng đại diện")  # an act
    assert not names_only_a_family("cty nuoc ngoai mo vpdd o da nang")  # more said than the family
    assert not names_only_a_family("bán buôn")  # no product
    assert not names_only_a_family('/hoi_thu_tuc{"thu_tuc": "van_phong_dai_dien"}')


async def test_general_guidance_lists_the_documents_on_chat_and_counts_them_on_sms(api_url: str) -> None:
    from dossier_api.catalog import load_catalog

    procedure = next(p for p in load_catalog() if p.id == "dang_ky_khuyen_mai")
    entities = [{"entity": "thu_tuc", "value": procedure.id}]
    payload = '/hoi_thu_tuc{"thu_tuc": "dang_ky_khuyen_mai"}'
    [chat], _ = await _run(payload, "hoi_thu_tuc", entities=entities)
    assert all(f"{i}. {d}" in chat["text"] for i, d in enumerate(procedure.documents, 1))
    assert procedure.processing_time in chat["text"] and "Không thu phí" in chat["text"]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(payload, "hoi_thu_tuc", entities, sender_id="sms:84901234567")
    await ActionHuongDanThuTuc().run(dispatcher, tracker, {})
    [sms] = dispatcher.messages
    assert f"{len(procedure.documents)} loại giấy tờ" in sms["text"] and procedure.documents[0] not in sms["text"]
    assert procedure.processing_time in sms["text"]


async def test_a_promotion_told_by_its_form_is_the_promotion_notice(api_url: str) -> None:
    [message], _ = await _run("shop mỹ phẩm phát voucher cho khách dịp khai trương thì làm thủ tục gì", "hoi_thu_tuc")
    assert message["text"].startswith('Thủ tục "Thông báo thực hiện khuyến mại"')
    [message], _ = await _run("tiệm quần áo xả kho cuối năm cần làm thủ tục gì không", "hoi_thu_tuc")
    assert message["text"].startswith('Thủ tục "Thông báo thực hiện khuyến mại"')


async def test_a_procedure_question_no_procedure_matches_gets_the_policy_answer_that_knows_it(api_url: str) -> None:
    [message], _ = await _run("hàng giả hàng nhái thì báo ở đâu", "hoi_nop_ho_so")
    assert "Căn cứ:" in message["text"] and "thủ tục nào" not in message["text"]
    [message], _ = await _run("giá điện sinh hoạt bậc thang tính sao", "hoi_thu_tuc")
    assert "Căn cứ:" in message["text"] and "bậc" in message["text"]
    # What neither knows is still asked.
    [message], _ = await _run("mất bao lâu", "hoi_thoi_han")
    assert message["text"].startswith(replies.which_procedure_question())
    # A follow-up is still about the procedure discussed, not a policy answer.
    [message], _ = await _run("còn lệ phí thì sao", "hoi_le_phi", slots={"thu_tuc_gan_nhat": "ban_buon_thuoc_la"})
    assert message["text"].startswith("Lệ phí thủ tục") and "thuốc lá" in message["text"]


async def test_an_aspect_asked_after_being_told_who_decides_is_told_briefly(api_url: str) -> None:
    [first], events = await _run("e muốn mở cửa hàng bán lẻ rượu thì xin giấy ở mô", "hoi_nop_ho_so")
    assert "không do Sở Công Thương giải quyết" in first["text"] and "cấp xã" in first["text"]
    slots = {"thu_tuc_gan_nhat": "ban_le_ruou"}
    assert {"event": "slot", "timestamp": None, "name": "thu_tuc_gan_nhat", "value": "ban_le_ruou"} in events
    [fee], _ = await _run("phí bao nhiêu", "hoi_le_phi", slots=slots)
    assert fee["text"].startswith("Lệ phí thủ tục") and "cấp xã" in fee["text"]
    assert "Căn cứ" not in fee["text"]  # not the whole answer again


async def test_how_long_a_licence_stays_valid_is_its_validity_not_the_processing_time(api_url: str) -> None:
    [wholesale], _ = await _run("giấy phép bán buôn rượu có thời hạn bao lâu", "hoi_thoi_han")
    assert "05 năm" in wholesale["text"] and "10 ngày làm việc" not in wholesale["text"]
    [follow], _ = await _run("giấy phép đó có hiệu lực mấy năm", "hoi_thoi_han",
                             slots={"thu_tuc_gan_nhat": "attp_co_so"})
    assert "03 năm" in follow["text"]
    [unknown], _ = await _run("giấy xác nhận kiến thức an toàn thực phẩm có hiệu lực mấy năm", "hoi_thoi_han")
    assert "chưa ghi thời hạn hiệu lực" in unknown["text"]
    [time], _ = await _run("thời hạn giải quyết cấp giấy phép bán buôn rượu", "hoi_thoi_han")
    assert "10 ngày làm việc" in time["text"]


async def test_the_validity_of_a_licence_another_body_issues_is_its_validity_and_who_renews_it(api_url: str) -> None:
    slots = {"thu_tuc_gan_nhat": "ban_le_thuoc_la"}
    [follow], _ = await _run("giấy đó có hạn mấy năm", "hoi_thoi_han", slots=slots)
    assert "05 năm" in follow["text"] and "cấp xã" in follow["text"] and "Căn cứ" not in follow["text"]
    [first], _ = await _run("giấy phép bán lẻ rượu có hiệu lực bao lâu", "hoi_thoi_han")
    assert "05 năm" in first["text"] and "không do Sở Công Thương giải quyết" in first["text"]
    [time], _ = await _run("xin giấy đó mất mấy ngày", "hoi_thoi_han", slots=slots)
    assert "05 năm" not in time["text"] and time["text"].startswith("Thời hạn giải quyết")


async def test_the_postal_fee_asked_as_a_procedure_question_is_the_delivery_fee(api_url: str) -> None:
    [fee], _ = await _run("phí gửi bưu điện bao nhiêu", "hoi_le_phi")
    assert "25.000" in fee["text"]


async def test_selling_beer_and_a_grocery_in_english_get_the_right_rules(api_url: str) -> None:
    [beer, *_], _ = await _run("quán cà phê có bán bia thì xin phép ở đâu", "hoi_nop_ho_so")
    assert "bia" in beer["text"].lower() and "đa cấp" not in beer["text"].lower()
    [grocery], _ = await _run("Can I sell alcohol in my grocery store?", "hoi_thu_tuc")
    assert "bán lẻ rượu" in grocery["text"] and "50 m" not in grocery["text"]


async def test_another_agencys_matter_asked_beside_ours_gets_who_handles_it_too(api_url: str) -> None:
    fee, agency = (m["text"] for m in (await _run(
        "cho hỏi 2 việc: lệ phí bán lẻ xăng dầu bao nhiêu, và làm hộ chiếu thì ra đâu", "hoi_le_phi"))[0])
    assert "1.200.000" in fee and "Công an" in agency
    messages, _ = await _run("bán lẻ xăng dầu cần gì, có cần sổ đỏ không", "hoi_giay_to")
    assert len(messages) == 1  # the land certificate asked as a document: no land office pointer


async def test_a_variant_answered_as_a_goodbye_or_a_no_is_the_answer_to_which_procedure(api_url: str) -> None:
    from actions.smalltalk import ActionPhuDinh, ActionTamBiet

    for action, intent in ((ActionTamBiet(), "tam_biet"), (ActionPhuDinh(), "phu_dinh")):
        dispatcher = CollectingDispatcher()
        tracker = _after_prompt("lệ phí giấy phép thuốc lá", "hoi_le_phi", replies.which_variant(),
                                "à không, bán lẻ thôi", intent)
        await action.run(dispatcher, tracker, {})
        assert "thuốc lá" in dispatcher.messages[0]["text"] and dispatcher.messages[0].get("response") is None
    goodbye = CollectingDispatcher()
    await ActionTamBiet().run(goodbye, make_tracker("thôi chào nhé", "tam_biet"), {})
    assert goodbye.messages[0]["response"] == "utter_tam_biet"


async def test_other_provinces_named_after_a_promotion_answer_are_the_ministrys_registration(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("nếu chạy luôn cả Huế với Quảng Ngãi thì sao", "ngoai_pham_vi",
                           slots={"thu_tuc_gan_nhat": "dang_ky_khuyen_mai"})
    await ActionNgoaiPhamVi().run(dispatcher, tracker, {})
    assert "Bộ Công Thương" in dispatcher.messages[0]["text"] and "hai tỉnh" in dispatcher.messages[0]["text"]
    home = CollectingDispatcher()  # this city alone stays the department's own registration
    await ActionHuongDanThuTuc().run(home, make_tracker("quay số trúng thưởng trong Đà Nẵng thôi, phí bao nhiêu",
                                                        "hoi_le_phi"), {})
    assert "Bộ Công Thương" not in home.messages[0]["text"]


@pytest.mark.parametrize(("text", "action"), [("giay phep duoc may nam", ActionNgoaiPhamVi),
                                              ("giấy này có hạn bao lâu", ActionHuongDanThuTuc)])
async def test_how_long_the_licence_just_discussed_is_valid_whatever_it_was_read_as(
        api_url: str, text: str, action: type) -> None:
    dispatcher = CollectingDispatcher()
    intent = "ngoai_pham_vi" if action is ActionNgoaiPhamVi else "hoi_thoi_han"
    await action().run(dispatcher, make_tracker(text, intent, slots={"thu_tuc_gan_nhat": "ban_le_lpg_chai"}), {})
    assert "05 năm" in dispatcher.messages[0]["text"] and "15 ngày" not in dispatcher.messages[0]["text"]


async def test_validity_and_processing_time_asked_together_get_both(api_url: str) -> None:
    [message], _ = await _run("bán buôn thuốc lá có thời hạn bao lâu, và xin mất mấy ngày", "hoi_thoi_han")
    assert "05 năm" in message["text"] and "15 ngày làm việc" in message["text"]


async def test_the_price_of_the_goods_is_not_the_licence_fee(api_url: str) -> None:
    [message, *_], _ = await _run("giá xăng hôm nay bao nhiêu", "hoi_le_phi",
                                  slots={"thu_tuc_gan_nhat": "ban_le_xang_dau"})
    assert "kỳ điều hành" in message["text"] and "1.200.000" not in message["text"]


async def test_a_foreign_invested_trader_asking_about_a_shop_next_gets_the_fdi_retail_outlet(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("thế còn lập thêm cửa hàng tiện lợi thì sao", "ngoai_pham_vi",
                           slots={"thu_tuc_gan_nhat": "giay_phep_kinh_doanh_fdi"})
    await ActionNgoaiPhamVi().run(dispatcher, tracker, {})
    assert "Giấy phép lập cơ sở bán lẻ" in dispatcher.messages[0]["text"]


async def test_a_product_named_after_a_procedure_answer_keeps_its_activity(api_url: str) -> None:
    [message], _ = await _run("còn giấy thuốc lá thì mấy ngày", "hoi_thoi_han",
                              slots={"thu_tuc_gan_nhat": "ban_buon_ruou"})
    assert "bán buôn sản phẩm thuốc lá" in message["text"] and "15 ngày" in message["text"]


async def test_an_english_question_naming_a_product_the_nlu_called_out_of_scope_is_answered(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    await ActionNgoaiPhamVi().run(dispatcher, make_tracker("How do I register a trade fair in Da Nang?",
                                                           "ngoai_pham_vi"), {})
    assert "hội chợ" in dispatcher.messages[0]["text"].lower()
    declined = CollectingDispatcher()  # an English question about something else stays declined
    await ActionNgoaiPhamVi().run(declined, make_tracker("How do I renew my passport?", "ngoai_pham_vi"), {})
    assert "hội chợ" not in (declined.messages[0].get("text") or "").lower()


@pytest.mark.parametrize(("text", "intent", "previous", "expected"), [
    ("còn nếu em bán sỉ cho mấy tiệm khác thì phí nhiêu", "nlu_fallback", "ban_le_thuoc_la", "2.200.000"),
    ("vay xin giay do mat bao nhieu tien", "ngoai_pham_vi", "ban_le_lpg_chai", "1.200.000"),
    ("lam online duoc ko", "phu_dinh", "ban_buon_ruou", "Cổng Dịch vụ công"),
    ("phí nhiêu rứa?", "khang_dinh", "ban_buon_ruou", "2.200.000"),
    ("không phải, ý em là bán lẻ", "phu_dinh", "ban_buon_thuoc_la", "cấp xã"),
    ("à không, ý em là bán lẻ", "tam_biet", "ban_buon_thuoc_la", "cấp xã"),
    ("thế muốn mở thêm siêu thị mini thì cần giấy nào", "nlu_fallback", "giay_phep_kinh_doanh_fdi", "cơ sở bán lẻ"),
])
async def test_a_follow_up_the_classifier_could_not_place_is_about_the_procedure_discussed(
        api_url: str, text: str, intent: str, previous: str, expected: str) -> None:
    from actions.policy import ActionChuaHieu
    from actions.smalltalk import ActionKhangDinh, ActionPhuDinh, ActionTamBiet

    action = {"nlu_fallback": ActionChuaHieu, "ngoai_pham_vi": ActionNgoaiPhamVi, "phu_dinh": ActionPhuDinh,
              "khang_dinh": ActionKhangDinh, "tam_biet": ActionTamBiet}[intent]()
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, make_tracker(text, intent, slots={"thu_tuc_gan_nhat": previous}), {})
    assert expected in dispatcher.messages[0]["text"]


async def test_the_legal_basis_asked_beside_a_fact_is_told_with_it(api_url: str) -> None:
    [message], _ = await _run("bán buôn rượu mất bao lâu, theo nghị định nào vậy", "hoi_thoi_han")
    assert "10 ngày làm việc" in message["text"] and "105/2017" in message["text"]
    [plain], _ = await _run("bán buôn rượu mất bao lâu", "hoi_thoi_han")
    assert "105/2017" not in plain["text"]


@pytest.mark.parametrize("intent", ["ngoai_pham_vi", "hoi_thu_tuc"])
async def test_whether_something_is_allowed_asked_with_a_procedures_words_gets_the_rule(
        api_url: str, intent: str) -> None:
    text = "cửa hàng giày dép nhà mình muốn sale 80% toàn bộ có được không"
    action = ActionNgoaiPhamVi() if intent == "ngoai_pham_vi" else ActionHuongDanThuTuc()
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, make_tracker(text, intent), {})
    assert "50%" in dispatcher.messages[0]["text"] and "Căn cứ" in dispatcher.messages[0]["text"]
    how, _ = await _run("muốn sale 80% thì làm thủ tục gì", "hoi_thu_tuc")  # how to do it: the procedure
    assert how[0]["text"].startswith('Thủ tục "Thông báo thực hiện khuyến mại"')


async def test_another_bodys_words_are_not_outweighed_by_a_topic_read_into_them(api_url: str) -> None:
    entities = [{"entity": "thu_tuc", "value": "hoi_cho_trien_lam"}]  # "xa hoi cho" read as "hội chợ"
    [message], _ = await _run("xin so bao hiem xa hoi cho con o dau", "hoi_nop_ho_so", entities=entities)
    assert "Bảo hiểm xã hội" in message["text"] and "hội chợ" not in message["text"].lower()


async def test_an_sms_summary_quotes_first_the_document_lines_the_question_names(api_url: str) -> None:
    text = "bán buôn thuốc lá thì kho cần bao nhiêu mét vuông"
    dispatcher = CollectingDispatcher()
    await ActionHuongDanThuTuc().run(dispatcher, make_tracker(text, "hoi_thu_tuc", sender_id="sms:84905000999"), {})
    reply = dispatcher.messages[0]["text"]
    assert reply.startswith("Về điều anh/chị hỏi") and "50 m²" in reply and "loại giấy tờ" in reply
    plain = CollectingDispatcher()
    await ActionHuongDanThuTuc().run(plain, make_tracker("thủ tục bán buôn thuốc lá thế nào", "hoi_thu_tuc",
                                                         sender_id="sms:84905000999"), {})
    assert not plain.messages[0]["text"].startswith("Về điều anh/chị hỏi")
