"""A "thôi" that changes the subject is not a goodbye: TopicChangeGuard on real Rasa messages."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from vn_nlu.components import TopicChangeGuard, VietnameseTokenizer


def _run(text: str, ranking: list[tuple[str, float]], intent: str | None = None) -> str:
    ranked = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    message = Message(data={TEXT: text, INTENT: {"name": intent or ranking[0][0], "confidence": ranking[0][1]},
                            INTENT_RANKING_KEY: ranked})
    VietnameseTokenizer(VietnameseTokenizer.get_default_config()).process([message])
    [out] = TopicChangeGuard(TopicChangeGuard.get_default_config()).process([message])
    assert out.get(INTENT_RANKING_KEY)[0]["name"] == out.get(INTENT)["name"]
    return out.get(INTENT)["name"]


@pytest.mark.parametrize(("text", "expected"), [
    ("thôi em hỏi cấp lại giấy phép", "hoi_thu_tuc"),
    ("thoi, cho minh hoi le phi", "hoi_le_phi"),
    ("à thôi, chuyển qua hỏi thời hạn đi", "hoi_thoi_han"),
    ("cảm ơn, thôi em hỏi thêm về bán buôn rượu", "hoi_thu_tuc"),
])
def test_a_closing_read_that_names_a_service_takes_the_best_service_intent(text: str, expected: str) -> None:
    assert _run(text, [("tam_biet", 0.7), (expected, 0.2), ("chao_hoi", 0.1)]) == expected


@pytest.mark.parametrize("text", ["hủy hết đi", "ngừng gửi giúp em nha", "stop"])
def test_a_request_to_stop_something_is_not_a_goodbye(text: str) -> None:
    assert _run(text, [("tam_biet", 0.7), ("huy_dang_ky", 0.2), ("chao_hoi", 0.1)]) == "huy_dang_ky"


def test_a_fallback_with_a_goodbye_on_top_is_re_read_too() -> None:
    ranking = [("tam_biet", 0.33), ("hoi_le_phi", 0.31), ("cam_on", 0.2)]
    assert _run("thôi hỏi phí gia hạn", ranking, intent="nlu_fallback") == "hoi_le_phi"


@pytest.mark.parametrize("text", [
    "thôi nhé, chào",
    "thôi em đi đây",
    "thôi, cảm ơn thủ tục rõ rồi, tạm biệt",  # names a procedure but says goodbye
    "hỏi lệ phí xong rồi, bye",  # no word of changing the subject
    "thôi hủy nhé, tạm biệt",  # cancels, but leaves
])
def test_a_real_goodbye_stays_a_goodbye(text: str) -> None:
    assert _run(text, [("tam_biet", 0.8), ("hoi_le_phi", 0.1), ("hoi_thu_tuc", 0.1)]) == "tam_biet"


def test_other_intents_are_left_alone() -> None:
    assert _run("thôi hủy đăng ký nhận tin", [("huy_dang_ky", 0.9), ("hoi_thu_tuc", 0.1)]) == "huy_dang_ky"


@pytest.mark.parametrize(("text", "expected"), [
    ("trễ hạn rồi phải không", "tra_cuu_ho_so"),
    ("thôi khỏi, hủy lịch giúp em", "dat_lich_hen"),
    ("không, cho em hỏi lệ phí", "hoi_le_phi"),
])
def test_a_yes_or_no_that_names_a_service_asks_that_service(text: str, expected: str) -> None:
    assert _run(text, [("phu_dinh", 0.6), (expected, 0.3), ("khang_dinh", 0.1)]) == expected


@pytest.mark.parametrize("text", ["không cần đâu", "sai rồi", "không phải thủ tục đó", "không phải hồ sơ đó"])
def test_a_bare_no_or_a_correction_stays_a_no(text: str) -> None:
    assert _run(text, [("phu_dinh", 0.8), ("hoi_thu_tuc", 0.1), ("tra_cuu_ho_so", 0.1)]) == "phu_dinh"


@pytest.mark.parametrize("text", ["zzzzz", "🤣🤣🤣", "hihi", "asdfgh"])
def test_a_yes_without_a_word_of_yes_is_not_one(text: str) -> None:
    assert _run(text, [("khang_dinh", 0.5), ("ngoai_pham_vi", 0.4), ("chao_hoi", 0.1)]) == "ngoai_pham_vi"


@pytest.mark.parametrize(("text", "intent"), [("ok", "khang_dinh"), ("dạ vâng", "khang_dinh"),
                                              ("ừ đúng rồi", "khang_dinh"), ("hông", "phu_dinh"),
                                              ("thôi khỏi", "phu_dinh")])
def test_a_yes_or_no_in_words_stays(text: str, intent: str) -> None:
    assert _run(text, [(intent, 0.7), ("ngoai_pham_vi", 0.2), ("chao_hoi", 0.1)]) == intent


@pytest.mark.parametrize(("text", "expected"), [
    ("có mẫu đơn đề nghị không", "hoi_giay_to"),
    ("sở có làm việc thứ 7 ko", "gap_can_bo"),
    ("bạn có hiểu tiếng anh hong", "hoi_bot"),
])
def test_a_question_ending_with_khong_is_asked_not_a_no(text: str, expected: str) -> None:
    assert _run(text, [("phu_dinh", 0.6), (expected, 0.3), ("khang_dinh", 0.1)]) == expected


@pytest.mark.parametrize("text", ["có lẽ không", "chắc là không có đâu", "không, không có", "có thể không"])
def test_a_no_with_co_in_it_stays_a_no(text: str) -> None:
    assert _run(text, [("phu_dinh", 0.6), ("hoi_bot", 0.3), ("khang_dinh", 0.1)]) == "phu_dinh"


@pytest.mark.parametrize("text", ["10h30", "asdfgh"])
def test_a_yes_that_says_neither_re_read_below_the_fallback_threshold_falls_back(text: str) -> None:
    assert _run(text, [("khang_dinh", 0.8), ("chao_hoi", 0.1), ("ngoai_pham_vi", 0.1)]) == "nlu_fallback"
