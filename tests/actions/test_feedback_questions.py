"""Class 7: questions are not complaints. Real API and trackers."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.base import dossier_client
from actions.feedback import ActionPhanAnh
from dossier_api.db import Database
from dossier_api.models import TicketIn
from tests.actions.conftest import make_tracker


def _tickets_of(db: Path, owner: str) -> int:
    with closing(Database(db).connect()) as conn:
        return conn.execute("SELECT COUNT(*) FROM tickets WHERE owner = ?", (owner,)).fetchone()[0]


async def test_the_author_gets_the_state_of_their_ticket_and_no_new_ticket(api_url: str, seeded_db: Path) -> None:
    author = "zalo:author-7"
    filed = await dossier_client().create_ticket(
        TicketIn(owner=author, content="cửa hàng gần chợ bán rượu không rõ nguồn gốc, đề nghị kiểm tra"))
    before = _tickets_of(seeded_db, author)
    dispatcher = CollectingDispatcher()
    number = filed.number.lower().replace("-", " - ")
    tracker = make_tracker(f"cho em hỏi phiếu {number} thế nào rồi, đã có ai xử lý chưa ạ", "phan_anh_kien_nghi",
                           sender_id=author)
    await ActionPhanAnh().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert filed.number in message["text"] and "mới tiếp nhận" in message["text"]
    assert filed.due_date.strftime("%d/%m/%Y") in message["text"]
    assert _tickets_of(seeded_db, author) == before == 1


async def test_somebody_else_learns_nothing_about_a_ticket(api_url: str, seeded_db: Path) -> None:
    filed = await dossier_client().create_ticket(
        TicketIn(owner="web:author-8", content="cán bộ tiếp nhận có thái độ không đúng mực với người dân"))
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(f"phiếu {filed.number} sao rồi", "phan_anh_kien_nghi", sender_id="web:stranger")
    await ActionPhanAnh().run(dispatcher, tracker, {})
    text = dispatcher.messages[0]["text"]
    assert "không tìm thấy phiếu" in text and "thái độ" not in text and "mới tiếp nhận" not in text
    assert _tickets_of(seeded_db, "web:stranger") == 0


async def test_a_long_status_question_with_a_code_is_a_lookup_not_a_ticket(api_url: str, seeded_db: Path) -> None:
    [dossier], _ = Database(seeded_db).dossiers("dang_xu_ly", 1, 0)
    text = (f"cho em hỏi hồ sơ {dossier.code} của công ty em nộp từ tháng trước sao lâu quá vậy, "
            "chờ mãi chưa có kết quả, bao giờ mới xong ạ")
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, "phan_anh_kien_nghi", sender_id="web:asker-7")
    events = await ActionPhanAnh().run(dispatcher, tracker, {})
    assert dossier.code in dispatcher.messages[0]["text"] and "ĐANG XỬ LÝ" in dispatcher.messages[0]["text"]
    assert "số phiếu" not in dispatcher.messages[0]["text"]
    assert any(e.get("name") == "ho_so_gan_nhat" and e.get("value") == dossier.code for e in events)
    assert _tickets_of(seeded_db, "web:asker-7") == 0


async def test_an_explicit_complaint_about_a_dossier_is_still_filed(api_url: str, seeded_db: Path) -> None:
    [dossier], _ = Database(seeded_db).dossiers("tre_han", 1, 0)
    before = _tickets_of(seeded_db, "web:complainer")
    text = f"tôi muốn phản ánh việc hồ sơ {dossier.code} bị giải quyết chậm trễ, quá hạn mà không ai báo"
    dispatcher = CollectingDispatcher()
    await ActionPhanAnh().run(dispatcher, make_tracker(text, "phan_anh_kien_nghi", sender_id="web:complainer"), {})
    assert "số phiếu PA" in dispatcher.messages[0]["text"]
    assert _tickets_of(seeded_db, "web:complainer") == before + 1


async def test_the_ticket_just_filed_is_told_without_its_number(api_url: str, seeded_db: Path) -> None:
    author = "telegram:author-9"
    dispatcher = CollectingDispatcher()
    text = "Tôi muốn phản ánh cửa hàng xăng ở đường Nguyễn Tất Thành bơm thiếu, cân điêu cho khách"
    events = await ActionPhanAnh().run(dispatcher, make_tracker(text, "phan_anh_kien_nghi", sender_id=author), {})
    number = next(e["value"] for e in events if e.get("name") == "phieu_gan_nhat")
    assert number in dispatcher.messages[0]["text"]
    asked = CollectingDispatcher()
    tracker = make_tracker("phiếu vừa rồi thế nào rồi ạ", "phan_anh_kien_nghi", sender_id=author,
                           slots={"phieu_gan_nhat": number})
    await ActionPhanAnh().run(asked, tracker, {})
    assert number in asked.messages[0]["text"] and "mới tiếp nhận" in asked.messages[0]["text"]
    assert _tickets_of(seeded_db, author) == 1


async def test_a_ticket_question_without_number_or_ticket_asks_for_the_number(api_url: str, seeded_db: Path) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("phản ánh của em hôm trước xử lý chưa", "phan_anh_kien_nghi", sender_id="web:asker-9")
    await ActionPhanAnh().run(dispatcher, tracker, {})
    assert "số phiếu" in dispatcher.messages[0]["text"] and "PA" in dispatcher.messages[0]["text"]
    assert _tickets_of(seeded_db, "web:asker-9") == 0


async def test_the_author_gets_the_latest_of_several_answers_and_the_new_states(api_url: str) -> None:
    from dossier_api.client import DossierClient
    from dossier_api.models import TicketAnswer, TicketChange

    author = "sms:84905000111"
    filed = await dossier_client().create_ticket(
        TicketIn(owner=author, content="cán bộ quầy số 2 có thái độ thiếu tôn trọng người dân"))
    async with DossierClient(api_url) as staff:
        await staff.answer_ticket(filed.number, TicketAnswer(version=1, author="lan", status="dang_xu_ly",
                                                             answer="Sở đang xác minh sự việc."))
        await staff.answer_ticket(filed.number, TicketAnswer(version=2, author="minh",
                                                             answer="Sở đã nhắc nhở cán bộ và xin lỗi anh/chị."))

    async def ask() -> str:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(f"phiếu {filed.number} thế nào rồi", "phan_anh_kien_nghi", sender_id=author)
        await ActionPhanAnh().run(dispatcher, tracker, {})
        [message] = dispatcher.messages
        return message["text"]

    told = await ask()
    assert "đã trả lời" in told and "Sở đã nhắc nhở cán bộ và xin lỗi anh/chị." in told and "2 lần" in told
    assert "đang xác minh" not in told and "Hạn trả lời" not in told
    async with DossierClient(api_url) as staff:
        await staff.change_ticket(filed.number, TicketChange(version=3, actor="lan", status="da_dong"))
    closed = await ask()
    assert "đã đóng" in closed and "Sở đã nhắc nhở cán bộ" in closed


async def test_a_question_typed_where_the_form_waits_for_the_complaint_is_answered_not_filed(
        api_url: str, seeded_db: Path) -> None:
    from actions.feedback import ValidatePhanAnhForm

    owner = "web:asker-in-form"
    text = "à khoan, cho em hỏi lệ phí cấp giấy phép bán lẻ xăng dầu là bao nhiêu vậy"
    tracker = make_tracker(text, "hoi_le_phi", slots={"requested_slot": "noi_dung_phan_anh"},
                           active_loop="phan_anh_form", sender_id=owner, extracted={"noi_dung_phan_anh": text})
    dispatcher = CollectingDispatcher()
    events = await ValidatePhanAnhForm().run(dispatcher, tracker, {"forms": {"phan_anh_form": {
        "required_slots": ["noi_dung_phan_anh"]}}})
    assert any("1.200.000" in (m.get("text") or "") for m in dispatcher.messages)  # the catalog's fee
    assert any(e["event"] == "active_loop" and e.get("name") is None for e in events)  # the form is left
    assert _tickets_of(seeded_db, owner) == 0


async def test_a_complaint_typed_in_the_form_is_still_its_content(api_url: str, seeded_db: Path) -> None:
    from actions.feedback import ValidatePhanAnhForm

    text = "cây xăng ở đường Nguyễn Văn Linh bơm thiếu xăng, đồng hồ chạy không đúng, đề nghị sở kiểm tra"
    tracker = make_tracker(text, "phan_anh_kien_nghi", slots={"requested_slot": "noi_dung_phan_anh"},
                           active_loop="phan_anh_form", extracted={"noi_dung_phan_anh": text})
    events = await ValidatePhanAnhForm().run(CollectingDispatcher(), tracker, {"forms": {"phan_anh_form": {
        "required_slots": ["noi_dung_phan_anh"]}}})
    assert {"event": "slot", "timestamp": None, "name": "noi_dung_phan_anh", "value": text} in events


async def test_a_short_measure_told_without_diacritics_is_a_market_violation_whose_answer_comes_by_itself(
        api_url: str, seeded_db: Path) -> None:
    from actions.notifications import ActionDangKyThongBao

    author = "web:author-short-measure"
    dispatcher = CollectingDispatcher()
    text = "toi muon phan anh cay xang o duong Ton Duc Thang ban thieu xang cho khach, bom 100 nghin ma chi duoc 4 lit"
    events = await ActionPhanAnh().run(dispatcher, make_tracker(text, "phan_anh_kien_nghi", sender_id=author), {})
    number = next(e["value"] for e in events if e.get("name") == "phieu_gan_nhat")
    assert (await dossier_client().get_ticket(number, author)).category == "vi_pham_thi_truong"
    asked = CollectingDispatcher()  # "let me know the outcome": the ticket's answer, not a dossier's notices
    tracker = make_tracker("có kết quả thì báo cho tôi nha", "dang_ky_thong_bao", sender_id=author,
                           slots={"phieu_gan_nhat": number})
    tracker.events.insert(0, {"event": "slot", "name": "phieu_gan_nhat", "value": number})
    await ActionDangKyThongBao().run(asked, tracker, {})
    assert number in asked.messages[0]["text"] and "không cần đăng ký" in asked.messages[0]["text"]


async def test_a_complaint_about_an_official_read_as_a_rating_is_filed_not_rated(api_url: str, seeded_db: Path) -> None:
    from actions.rating import ActionDanhGia

    author = "web:rated-complaint"
    dispatcher = CollectingDispatcher()
    text = "cán bộ một cửa thái độ rất tệ, em muốn khiếu nại"
    events = await ActionDanhGia().run(dispatcher, make_tracker(
        text, "danh_gia", [{"entity": "muc_do", "value": "khong_hai_long"}], sender_id=author), {})
    number = next(e["value"] for e in events if e.get("name") == "phieu_gan_nhat")
    assert (await dossier_client().get_ticket(number, author)).category == "can_bo"
    assert _tickets_of(seeded_db, author) == 1


async def test_a_trade_told_without_a_complaint_gets_its_procedure_not_a_ticket(api_url: str, seeded_db: Path) -> None:
    author = "web:trade-told"
    dispatcher = CollectingDispatcher()
    text = "em bán rượu vang nhập khẩu, bán sỉ cho các nhà hàng trong thành phố"
    await ActionPhanAnh().run(dispatcher, make_tracker(text, "phan_anh_kien_nghi", sender_id=author), {})
    assert _tickets_of(seeded_db, author) == 0
    assert "bán buôn rượu" in dispatcher.messages[0]["text"].lower()


async def test_a_short_suggestion_led_by_gop_y_is_filed_as_feedback(api_url: str, seeded_db: Path) -> None:
    author = "web:short-suggestion"
    dispatcher = CollectingDispatcher()
    events = await ActionPhanAnh().run(dispatcher, make_tracker("góp ý: nên làm thêm thứ 7", "phan_anh_kien_nghi",
                                                                sender_id=author), {})
    number = next(e["value"] for e in events if e.get("name") == "phieu_gan_nhat")
    assert (await dossier_client().get_ticket(number, author)).category == "gop_y"


async def test_when_the_answer_comes_right_after_filing_is_the_tickets_due_date(api_url: str, seeded_db: Path) -> None:
    from actions.procedures import ActionHuongDanThuTuc

    author = "web:author-when-answer"
    text = "phản ánh cửa hàng tạp hóa đầu hẻm 45 Lê Duẩn bán thuốc lá lậu không tem cho học sinh cấp hai"
    events = await ActionPhanAnh().run(CollectingDispatcher(), make_tracker(text, "phan_anh_kien_nghi",
                                                                            sender_id=author), {})
    number = next(e["value"] for e in events if e.get("name") == "phieu_gan_nhat")
    ticket = await dossier_client().get_ticket(number, author)
    asked = CollectingDispatcher()
    tracker = make_tracker("khi nào có trả lời", "hoi_thoi_han", sender_id=author, slots={"phieu_gan_nhat": number})
    tracker.events.insert(0, {"event": "slot", "name": "phieu_gan_nhat", "value": number})
    await ActionHuongDanThuTuc().run(asked, tracker, {})
    assert number in asked.messages[0]["text"] and ticket.due_date.strftime("%d/%m/%Y") in asked.messages[0]["text"]
    assert _tickets_of(seeded_db, author) == 1


async def test_the_number_of_the_ticket_filed_is_told_whatever_the_question_was_read_as(
        api_url: str, seeded_db: Path) -> None:
    from actions.handoff import ActionHoiBot

    author = "web:author-which-number"
    text = "tôi muốn phản ánh quán karaoke đầu hẻm 12 Nguyễn Chí Thanh bán rượu cho trẻ vị thành niên mỗi tối"
    events = await ActionPhanAnh().run(CollectingDispatcher(), make_tracker(text, "phan_anh_kien_nghi",
                                                                            sender_id=author), {})
    number = next(e["value"] for e in events if e.get("name") == "phieu_gan_nhat")
    asked = CollectingDispatcher()
    await ActionHoiBot().run(asked, make_tracker("số phiếu của tui là gì vậy", "hoi_bot", sender_id=author,
                                                 slots={"phieu_gan_nhat": number}), {})
    assert number in asked.messages[0]["text"]


async def test_a_question_about_two_licences_read_as_a_complaint_gets_both_and_no_ticket(
        api_url: str, seeded_db: Path) -> None:
    author = "web:two-licences-question"
    text = ("Công ty tôi làm đại lý, cần cả giấy phép bán buôn rượu lẫn bán buôn thuốc lá. Giấy bán buôn rượu thì lệ "
            "phí bao nhiêu, mất mấy ngày?")
    dispatcher = CollectingDispatcher()
    await ActionPhanAnh().run(dispatcher, make_tracker(text, "phan_anh_kien_nghi", sender_id=author), {})
    said = " ".join(m.get("text") or "" for m in dispatcher.messages)
    assert "2.200.000" in said and _tickets_of(seeded_db, author) == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("chiều thứ sáu sở mở cửa tiếp dân đến mấy giờ, thứ bảy có làm việc không anh", "Thứ Hai đến Thứ Sáu"),
    ("công ty mình sắp mở đại lý phân phối thuốc lá cho các tiệm, cần xin giấy gì bên sở ạ", "bán buôn"),
])
async def test_a_question_with_its_question_word_inside_read_as_a_complaint_is_answered_not_filed(
        api_url: str, seeded_db: Path, text: str, expected: str) -> None:
    author = f"web:inside-question-{len(text)}"
    dispatcher = CollectingDispatcher()
    await ActionPhanAnh().run(dispatcher, make_tracker(text, "phan_anh_kien_nghi", sender_id=author), {})
    assert _tickets_of(seeded_db, author) == 0
    assert expected in " ".join(m.get("text") or "" for m in dispatcher.messages)
