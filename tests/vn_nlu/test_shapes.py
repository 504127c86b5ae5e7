"""Sentence shapes (vn_nlu/data/shapes.yml) and their columns in CueFeaturizer."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from vn_nlu.components import CueFeaturizer, VietnameseTokenizer
from vn_nlu.lexicon import Shapes, load_teencode, split_tokens

SHAPES = Shapes.from_file()
TEEN = load_teencode()


def _shapes(text: str) -> list[str]:
    return SHAPES.find(text, split_tokens(text, TEEN))


@pytest.mark.parametrize("text", [
    "quán nhậu bán bia rượu có cần giấy phép không",
    "quan nhau ban bia ruou co can gp ko",  # teencode: gp, ko
    "bán xăng chai ven đường có được phép không",
    "bán thuốc lá gần trường học có vi phạm không",
    "tiệm tạp hóa bán rượu lẻ có bắt buộc phải có giấy phép hông",
    "is it legal to sell e-cigarettes",
])
def test_a_yes_no_question_on_a_rule_has_the_rule_shape(text: str) -> None:
    assert "co_x_khong" in _shapes(text)


@pytest.mark.parametrize("text", [
    "thủ tục xin giấy phép bán buôn rượu thế nào",
    "cần giấy phép gì để bán rượu",
    "cây xăng đầu ngõ bơm thiếu",
])
def test_how_and_which_questions_and_statements_do_not(text: str) -> None:
    assert "co_x_khong" not in _shapes(text)


@pytest.mark.parametrize(("text", "asked"), [
    ("lệ phí bao nhiêu", True),
    ("nop ho so o dau", True),
    ("giấy phép bán lẻ rượu?", True),
    ("what documents do i need", True),
    ("cây xăng ở ngã tư bơm thiếu, đề nghị sở kiểm tra", False),
    ("tiệm tạp hóa đầu kiệt bán thuốc lá cho học sinh", False),
])
def test_a_question_is_told_from_a_statement(text: str, asked: bool) -> None:
    assert ("cau_hoi" in _shapes(text)) is asked


def test_each_shape_is_one_sentence_column_of_the_cue_featurizer() -> None:
    featurizer = CueFeaturizer({**CueFeaturizer.get_default_config(), "weight": 3.0}, "cues")
    columns = featurizer._columns
    asked, told = (Message(data={TEXT: t}) for t in ("bán rượu online có bị cấm không", "cây xăng bơm thiếu"))
    VietnameseTokenizer(VietnameseTokenizer.get_default_config()).process([asked, told])
    featurizer.process([asked, told])
    for message, expected in ((asked, 3.0), (told, 0.0)):
        sequence, sentence = message.get_sparse_features(TEXT)
        row = sentence.features.toarray()[0]
        assert row[columns.index("shape:co_x_khong")] == expected
        assert row[columns.index("shape:cau_hoi")] == expected
        assert sequence.features.toarray()[:, columns.index("shape:co_x_khong")].max() == 0.0


def _sentence(featurizer: CueFeaturizer, text: str) -> list[float]:
    message = Message(data={TEXT: text})
    VietnameseTokenizer(VietnameseTokenizer.get_default_config()).process([message])
    featurizer.process([message])
    return list(message.get_sparse_features(TEXT)[1].features.toarray()[0])


def test_an_exclusive_column_is_set_only_without_the_absent_columns() -> None:
    rule = {"present": "cue:ngoai_pham_vi", "absent": ["cue:linh_vuc", "entity:thu_tuc"]}
    featurizer = CueFeaturizer({**CueFeaturizer.get_default_config(), "exclusive": {"other": rule}}, "cues")
    column = featurizer._columns.index("only:other")
    assert _sentence(featurizer, "hồ sơ xin cấp hộ chiếu cần những gì")[column] == 1.0
    assert _sentence(featurizer, "bán lẻ xăng dầu có cần bản sao sổ đỏ không")[column] == 0.0  # the sector's too
    assert _sentence(featurizer, "lệ phí bao nhiêu")[column] == 0.0


def test_an_exclusive_column_must_name_known_columns() -> None:
    with pytest.raises(ValueError, match="unknown"):
        CueFeaturizer({**CueFeaturizer.get_default_config(),
                       "exclusive": {"x": {"present": "cue:no_such_group", "absent": []}}}, "cues")


@pytest.mark.parametrize(("text", "asks_department"), [
    ("bán gas lẻ có phải đăng ký với sở công thương không", True),
    ("tiem em ban ruou co can xin phep so ko", True),
    ("treo băng rôn giảm giá thì làm thủ tục gì với sở", True),
    ("bán bia có cần giấy phép không", False),  # whether at all: a rule
    ("cho xin số điện thoại của sở", False),
])
def test_whether_the_department_handles_it_is_its_own_shape(text: str, asks_department: bool) -> None:
    assert ("hoi_viec_cua_so" in _shapes(text)) is asks_department
