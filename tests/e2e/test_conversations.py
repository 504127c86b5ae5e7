"""Vietnamese conversations through the web chat, with every process real."""

from __future__ import annotations

import pytest
import redis
import requests

from dossier_api.catalog import load_catalog
from tests.conftest import Conversation, Stack, new_session, seeded_dossier

pytestmark = pytest.mark.e2e


def test_lookup_of_a_real_code_returns_its_real_status(stack: Stack) -> None:
    dossier = seeded_dossier(stack, "cho_bo_sung")
    typed = dossier["code"].lower().replace("-", " - ")
    reply = Conversation(stack).say(f"tra cuu ho so {typed}")
    assert dossier["code"] in reply
    assert "CHỜ BỔ SUNG" in reply
    assert dossier["applicant"] in reply


def test_lookup_form_asks_for_the_code_then_answers(stack: Stack) -> None:
    dossier = seeded_dossier(stack, "da_co_ket_qua")
    chat = Conversation(stack)
    assert "nhập mã hồ sơ" in chat.say("tôi muốn tra cứu hồ sơ")
    reply = chat.say(dossier["code"])
    assert "ĐÃ CÓ KẾT QUẢ" in reply and dossier["procedure_name"] in reply


def test_malformed_code_gets_the_helpful_sentence(stack: Stack) -> None:
    chat = Conversation(stack)
    assert "chưa đúng định dạng" in chat.say("tra cứu hồ sơ 000.00.12.H17-201301-0001")
    assert "chưa đúng định dạng" in chat.say("12345")


def test_unknown_code_is_said_so(stack: Stack) -> None:
    reply = Conversation(stack).say("000.00.12.H17-200115-0999")
    assert "Không tìm thấy hồ sơ có mã 000.00.12.H17-200115-0999" in reply


def test_fee_question_returns_the_procedures_real_fee(stack: Stack) -> None:
    fee = {p.id: p.fee for p in load_catalog()}
    chat = Conversation(stack)
    assert fee["ban_le_xang_dau"] in chat.say("lệ phí cấp giấy chứng nhận cửa hàng bán lẻ xăng dầu là bao nhiêu")
    reply = chat.say("phi thanh lap van phong dai dien cua thuong nhan nuoc ngoai bao nhieu")
    assert fee["van_phong_dai_dien"] in reply


def test_rating_is_stored_through_the_api(stack: Stack) -> None:
    before = stack.api_session().get(f"{stack.api_url}/api/v1/ratings/summary", timeout=10).json().get("hai_long", 0)
    chat = Conversation(stack)
    assert "mức độ hài lòng" in chat.say("tôi muốn đánh giá dịch vụ")
    assert "Cảm ơn anh/chị đã đánh giá" in chat.say('/danh_gia{"muc_do": "hai_long"}')
    after = stack.api_session().get(f"{stack.api_url}/api/v1/ratings/summary", timeout=10).json()["hai_long"]
    assert after == before + 1


def test_small_talk_help_and_out_of_scope(stack: Stack) -> None:
    chat = Conversation(stack)
    assert "trợ lý ảo" in chat.say("xin chào")
    assert "không thuộc phạm vi" in chat.say("làm hộ chiếu ở đâu")
    assert "Chúc anh/chị" in chat.say("tạm biệt")


def test_conversations_live_in_redis_per_channel_sender(stack: Stack) -> None:
    chat = Conversation(stack)
    chat.say("xin chào")
    keys = redis.Redis.from_url(stack.redis_url).keys(f"*web:{chat.session}*")
    assert keys, "the tracker of this web session is not in Redis"


def test_nearby_places_by_shared_location_and_by_ward(stack: Stack) -> None:
    chat = Conversation(stack)
    url, session = chat.url, chat.token
    ask = requests.post(url, json={"session": session, "text": "ngân hàng gần nhất ở đâu"}, timeout=60).json()
    assert ask["messages"][0]["request_location"] is True
    here = {"latitude": 16.0718, "longitude": 108.2199}  # at Vietcombank, Lê Lợi
    shared = requests.post(url, json={"session": session, "text": "/tim_dia_diem", "location": here}, timeout=60)
    assert "1. Vietcombank Chi nhánh Đà Nẵng" in shared.json()["messages"][0]["text"]
    by_ward = Conversation(stack).say("tim cay xang o phuong cam le")
    assert by_ward.startswith("Các cửa hàng xăng dầu gần phường Cẩm Lệ nhất:")
    bad = requests.post(url, json={"session": session, "text": "/tim_dia_diem", "location": {"latitude": "x"}},
                        timeout=60)
    assert bad.status_code == 400 and "Vị trí" in bad.json()["error"]


def test_web_chat_subscribes_to_notifications(stack: Stack) -> None:
    dossier = seeded_dossier(stack, "dang_xu_ly")
    reply = Conversation(stack).say(f"đăng ký nhận thông báo cho hồ sơ {dossier['code']}")
    assert "Đã đăng ký nhận thông báo" in reply and dossier["code"] in reply  # delivered by push (bot/push.py)


def _post(stack: Stack, session: str, text: str) -> list[dict]:
    resp = requests.post(f"{stack.chat_url}/api/chat", json={"session": session, "text": text}, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.json()["messages"]


def test_queue_number_booked_listed_and_cancelled(stack: Stack) -> None:
    session = new_session(stack.chat_url)
    [days] = _post(stack, session, "tôi muốn đặt lịch hẹn lấy số")
    assert "ngày nào" in days["text"] and len(days["buttons"]) == 5
    [slots] = _post(stack, session, days["buttons"][1]["payload"])  # the second open day
    assert "mấy giờ" in slots["text"] and slots["buttons"]
    [booked] = _post(stack, session, slots["buttons"][-1]["payload"])
    assert booked["text"].startswith("Đã đặt lịch: số thứ tự") and slots["buttons"][-1]["title"] in booked["text"]
    [listed] = _post(stack, session, "xem lịch hẹn của tôi")
    assert "1. Số thứ tự" in listed["text"]
    [cancelled] = _post(stack, session, "hủy lịch hẹn giúp tôi")
    assert cancelled["text"].startswith("Đã hủy lịch hẹn")
    [none] = _post(stack, session, "xem lịch hẹn của tôi")
    assert "chưa có lịch hẹn" in none["text"]


@pytest.mark.parametrize(("text", "expected"), [
    ("đặt lịch hẹn vào chủ nhật", "không làm việc vào Chủ nhật"),
    ("đặt lịch hẹn ngày 02/01/2020", "đã qua"),
])
def test_queue_number_on_a_closed_day_gets_other_days(stack: Stack, text: str, expected: str) -> None:
    [reply] = _post(stack, new_session(stack.chat_url), text)
    assert expected in reply["text"] and len(reply["buttons"]) == 5


def test_feedback_in_one_message_and_in_two(stack: Stack) -> None:
    one = Conversation(stack).say("Tôi muốn phản ánh cửa hàng tạp hóa gần chợ Cồn bán rượu không rõ nguồn gốc")
    assert "tố giác vi phạm trên thị trường" in one and "số phiếu PA" in one and "Nghị định 20/2008" in one
    chat = Conversation(stack)
    assert "nội dung phản ánh" in chat.say("tôi muốn gửi phản ánh")
    assert "hơi ngắn" in chat.say("chậm")
    two = chat.say("Hồ sơ của tôi đã quá hạn hai tuần mà vẫn chưa có kết quả, mong Sở xem xét")
    assert "giải quyết hồ sơ chậm" in two and "số phiếu PA" in two


def test_result_delivery_collects_checks_and_tracks(stack: Stack) -> None:
    dossier = seeded_dossier(stack, "da_co_ket_qua", offset=7, undelivered=True)
    chat = Conversation(stack)
    assert "nhập mã hồ sơ" in chat.say("tôi muốn nhận kết quả qua bưu điện")
    assert "Họ tên người nhận" in chat.say(dossier["code"])
    assert "Số điện thoại" in chat.say("Lê Văn Tám")
    assert "chưa đúng" in chat.say("0123")
    assert "Địa chỉ nhận" in chat.say("0905 123 456")
    assert "quá dài" in chat.say("số " + "rất dài " * 60)
    filed = chat.say("45 Nguyễn Văn Linh, phường Thanh Khê, Đà Nẵng")
    assert "Mã vận đơn: BD" in filed and "LÊ V*** T" in filed and "0905123456" not in filed
    tracking = filed.split("Mã vận đơn: ")[1].split(".")[0]
    assert "chờ bưu điện nhận" in chat.say(f"tình trạng chuyển phát {tracking}")
    assert "Không tìm thấy" in Conversation(stack).say(f"tình trạng chuyển phát {tracking}")  # owner only


def test_result_delivery_of_a_returned_result_is_refused(stack: Stack) -> None:
    dossier = seeded_dossier(stack, "da_tra_ket_qua", offset=7)
    chat = Conversation(stack)
    chat.say("tôi muốn nhận kết quả qua bưu điện")
    assert "đã được trả kết quả" in chat.say(dossier["code"])
    assert "trợ lý ảo" in chat.say("xin chào")  # the form has stopped


def test_code_of_another_agency_is_pointed_elsewhere(stack: Stack) -> None:
    chat = Conversation(stack)
    chat.say("tôi muốn nhận kết quả qua bưu điện")
    assert "do cơ quan khác cấp" in chat.say("000.00.31.H56-261020-0042")


def test_what_the_assistant_barely_understood_lands_in_the_inbox(stack: Stack) -> None:
    import redis as sync_redis

    from common import inbox

    candidates = ["xin chào", "qwzx plokm trrrr", "cái đó thì sao nhỉ", "ừ", "thế còn cái kia", "tra cứu hồ sơ",
                  "được không", "vậy à"]
    low = set()
    for text in candidates:  # the model's own confidence decides what should be recorded
        parsed = requests.post(f"{stack.rasa_url}/model/parse", json={"text": text},
                               params={"token": stack.rasa_token}, timeout=30).json()
        if parsed["intent"]["name"] == "nlu_fallback" or parsed["intent"]["confidence"] < 0.6:
            low.add(text)
        Conversation(stack).say(text)
    assert low and low != set(candidates)  # both kinds are exercised
    rows = sync_redis.Redis.from_url(stack.redis_url).xrange(inbox.STREAM)
    recorded = {f[b"text"].decode() for _, f in rows if f[b"channel"] == b"web"} & set(candidates)
    assert recorded == low


def test_rasa_api_needs_the_token_but_citizens_messages_do_not(stack: Stack) -> None:
    assert requests.get(f"{stack.rasa_url}/status", timeout=10).status_code == 401
    refused = requests.put(f"{stack.rasa_url}/model", json={"model_file": "/tmp/x.tar.gz"}, timeout=10)
    assert refused.status_code == 401
    assert requests.get(f"{stack.rasa_url}/status", params={"token": stack.rasa_token}, timeout=10).ok
    assert "trợ lý ảo" in Conversation(stack).say("xin chào")
