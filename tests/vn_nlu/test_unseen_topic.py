"""Our question words about another domain's subject are out of scope: UnseenTopicGuard, with the
unseen words counted by a trained UnseenWordsFeaturizer."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from vn_nlu.components import UNSEEN_WORDS, UnseenTopicGuard, UnseenWordsFeaturizer, VietnameseTokenizer

TRAINING = [
    ("thủ tục xin giấy phép bán lẻ rượu", "hoi_thu_tuc"),
    ("mất bao lâu", "hoi_thoi_han"),
    ("bao lâu thì có kết quả", "hoi_thoi_han"),
    ("còn phí thì sao", "hoi_le_phi"),
    ("lệ phí bao nhiêu", "hoi_le_phi"),
    ("nộp hồ sơ ở đâu", "hoi_nop_ho_so"),
    ("nộp ở đâu", "hoi_nop_ho_so"),
    ("khi nào có kết quả", "hoi_thoi_han"),
    ("cần những giấy tờ gì", "hoi_giay_to"),
    ("thủ tục làm thẻ ngân hàng", "ngoai_pham_vi"),
]


def _tokenized(*pairs: tuple[str, str | None]) -> list[Message]:
    messages = [Message({TEXT: text, **({INTENT: intent} if intent else {})}) for text, intent in pairs]
    VietnameseTokenizer(VietnameseTokenizer.get_default_config()).process(messages)
    return messages


@pytest.fixture(scope="module")
def featurizer(tmp_path_factory: pytest.TempPathFactory) -> UnseenWordsFeaturizer:
    storage = LocalModelStorage(Path(tmp_path_factory.mktemp("unseen")))
    context = ExecutionContext(GraphSchema({}), node_name="unseen")
    component = UnseenWordsFeaturizer.create(UnseenWordsFeaturizer.get_default_config(), storage,
                                             Resource("unseen"), context)
    component.train(TrainingData(_tokenized(*TRAINING)))
    return component


def _read(featurizer: UnseenWordsFeaturizer, text: str, intent: str, out_of_scope: float = 0.1) -> Message:
    [message] = _tokenized((text, None))
    featurizer.process([message])
    ranked = [{"name": intent, "confidence": 0.9 - out_of_scope}, {"name": "ngoai_pham_vi", "confidence": out_of_scope},
              {"name": "hoi_bot", "confidence": 0.1}]
    message.set(INTENT, dict(ranked[0]))
    message.set(INTENT_RANKING_KEY, ranked)
    [out] = UnseenTopicGuard(UnseenTopicGuard.get_default_config()).process([message])
    assert out.get(INTENT_RANKING_KEY)[0]["name"] == out.get(INTENT)["name"]
    assert len({r["name"] for r in out.get(INTENT_RANKING_KEY)}) == len(out.get(INTENT_RANKING_KEY))
    return out


@pytest.mark.parametrize(("text", "intent"), [
    ("thủ tục mở thẻ tín dụng", "hoi_thu_tuc"),
    ("sang tên xe máy mất bao lâu", "hoi_thoi_han"),
    ("nộp hồ sơ xét tuyển đại học ở đâu", "hoi_nop_ho_so"),
    ("khi nào có kết quả xét nghiệm", "hoi_thoi_han"),
    ("chi phí ship về huế bao nhiêu", "hoi_le_phi"),
    ("thủ tục làm hộ chiếu", "hoi_thu_tuc"),  # "hộ chiếu": another agency's subject, a cue word
])
def test_a_procedure_question_about_another_domain_is_out_of_scope(
        featurizer: UnseenWordsFeaturizer, text: str, intent: str) -> None:
    out = _read(featurizer, text, intent)
    assert out.get(INTENT)["name"] == "ngoai_pham_vi"
    assert out.get(INTENT)["confidence"] == pytest.approx(0.8)


def test_another_organisations_contact_is_out_of_scope(featurizer: UnseenWordsFeaturizer) -> None:
    assert _read(featurizer, "email ngân hàng vietcombank", "gap_can_bo").get(INTENT)["name"] == "ngoai_pham_vi"


def test_the_classifier_must_leave_out_of_scope_some_chance(featurizer: UnseenWordsFeaturizer) -> None:
    out = _read(featurizer, "thủ tục mở thẻ tín dụng", "hoi_thu_tuc", out_of_scope=0.01)
    assert out.get(UNSEEN_WORDS)
    assert out.get(INTENT)["name"] == "hoi_thu_tuc"


@pytest.mark.parametrize(("text", "intent"), [
    ("mất bao lâu", "hoi_thoi_han"),
    ("còn phí thì sao", "hoi_le_phi"),
    ("nộp ở đâu", "hoi_nop_ho_so"),
    ("khi nào có kết quả", "hoi_thoi_han"),
])
def test_a_bare_follow_up_stays_in_scope(featurizer: UnseenWordsFeaturizer, text: str, intent: str) -> None:
    out = _read(featurizer, text, intent)
    assert out.get(UNSEEN_WORDS) == []
    assert out.get(INTENT)["name"] == intent


@pytest.mark.parametrize(("text", "intent"), [
    ("lệ phí cấp phép bán buôn thuốc lá bao nhiêu", "hoi_le_phi"),  # a procedure topic
    ("thời hạn thông báo chương trình khuyến mãi tặng voucher", "hoi_thoi_han"),  # a catalog product
    ("nộp hồ sơ 000.00.12.H17-261023-0010 bổ sung ở đâu", "hoi_nop_ho_so"),  # a code
    ("thủ tục cho cửa hàng điện mặt trời áp mái", "hoi_thu_tuc"),  # a sector cue
])
def test_a_question_that_names_the_sector_stays_in_scope(
        featurizer: UnseenWordsFeaturizer, text: str, intent: str) -> None:
    out = _read(featurizer, text, intent)
    assert out.get(UNSEEN_WORDS), "the example must have unseen words to test the sector check"
    assert out.get(INTENT)["name"] == intent


def test_other_intents_are_left_alone(featurizer: UnseenWordsFeaturizer) -> None:
    assert _read(featurizer, "muốn đặt lịch khám răng", "dat_lich_hen").get(INTENT)["name"] == "dat_lich_hen"


@pytest.mark.parametrize(("text", "intent"), [
    ("bưu cục viettel post gần nhất", "tim_dia_diem"),  # a place the place finder does not know
    ("hủy gói youtube premium", "huy_dang_ky"),  # another service's subscription
])
def test_a_place_or_a_cancellation_of_another_domain_is_out_of_scope(
        featurizer: UnseenWordsFeaturizer, text: str, intent: str) -> None:
    out = _read(featurizer, text, intent)
    assert out.get(UNSEEN_WORDS)
    assert out.get(INTENT)["name"] == "ngoai_pham_vi"


@pytest.mark.parametrize("text", ["tìm khách sạn giá rẻ quận sơn trà", "where can i find an atm nearby"])
def test_a_place_type_of_the_place_finder_stays_in_scope(featurizer: UnseenWordsFeaturizer, text: str) -> None:
    out = _read(featurizer, text, "tim_dia_diem")
    assert out.get(UNSEEN_WORDS), "the example must have unseen words to test the place check"
    assert out.get(INTENT)["name"] == "tim_dia_diem"
