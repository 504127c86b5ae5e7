"""UnseenWordsFeaturizer: trained word counts, leave-one-out on training data, persistence."""

from pathlib import Path

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from vn_nlu.components import UnseenWordsFeaturizer, VietnameseTokenizer

COLUMNS = UnseenWordsFeaturizer.COLUMNS


def _messages(*pairs: tuple[str, str | None]) -> list[Message]:
    messages = [Message({TEXT: text, **({INTENT: intent} if intent else {})}) for text, intent in pairs]
    VietnameseTokenizer(VietnameseTokenizer.get_default_config()).process(messages)
    return messages


def _sentence(message: Message) -> dict[str, float]:
    _, sentence = message.get_sparse_features(TEXT)
    values = np.asarray(sentence.features.todense())[0]
    return {name: float(v) for name, v in zip(COLUMNS, values, strict=True) if v}


def _featurizer(tmp_path: Path) -> tuple[UnseenWordsFeaturizer, LocalModelStorage, Resource, ExecutionContext]:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("unseen")
    context = ExecutionContext(GraphSchema({}), node_name="unseen")
    config = {**UnseenWordsFeaturizer.get_default_config(), "weight": 2.0}
    return UnseenWordsFeaturizer.create(config, storage, resource, context), storage, resource, context


TRAINING = [
    ("lệ phí bán buôn rượu bao nhiêu", "hoi_le_phi"),
    ("phi ban buon ruou", "hoi_le_phi"),
    ("hồ sơ bán buôn rượu gồm gì", "hoi_giay_to"),
    ("giấy tờ bán lẻ xăng dầu", "hoi_giay_to"),
    ("làm hộ chiếu ở đâu", "ngoai_pham_vi"),
]


def test_words_of_other_agencies_count_as_unseen_and_ours_do_not(tmp_path: Path) -> None:
    featurizer, *_ = _featurizer(tmp_path)
    featurizer.train(TrainingData(_messages(*TRAINING)))
    ours, theirs, code = _messages(("Lệ phí bán buôn rượu?", None), ("lệ phí làm hộ chiếu", None),
                                   ("hs 000.00.12.H17-261120-0001", None))
    featurizer.process([ours, theirs, code])
    assert _sentence(ours) == {}
    # "làm" and "chiếu" never appear in an in-scope example (the out-of-scope one does not count;
    # "hộ" is in "hồ sơ" once folded); of the pairs "le phi", "phi lam", "lam ho", "ho chieu"
    # only the first was seen: 3 of 4.
    assert _sentence(theirs) == {"unseen>=1": 2.0, "unseen>=2": 2.0, "pairs_unseen>=0.4": 2.0,
                                 "pairs_unseen>=0.6": 2.0}
    assert _sentence(code) == {}  # "hs" is "hồ sơ"; a dossier code is never an unseen word


def test_training_examples_leave_themselves_out(tmp_path: Path) -> None:
    featurizer, *_ = _featurizer(tmp_path)
    data = TrainingData(_messages(*TRAINING))
    featurizer.train(data)
    featurizer.process_training_data(data)
    by_text = {m.get(TEXT): _sentence(m) for m in data.training_examples}
    # "xăng", "dầu", "lẻ" and "giấy tờ" occur in this example only: unseen by the others.
    assert by_text["giấy tờ bán lẻ xăng dầu"]["unseen>=3"] == 2.0
    assert by_text["phi ban buon ruou"] == {}  # every word and pair is in another in-scope example
    # Out-of-scope examples were never counted, so nothing to leave out: like at prediction time.
    assert by_text["làm hộ chiếu ở đâu"]["unseen>=3"] == 2.0


def test_counts_survive_persistence(tmp_path: Path) -> None:
    featurizer, storage, resource, context = _featurizer(tmp_path)
    featurizer.train(TrainingData(_messages(*TRAINING)))
    loaded = UnseenWordsFeaturizer.load(featurizer._config, storage, resource, context)
    [message] = _messages(("phí bán buôn rượu", None))
    loaded.process([message])
    assert _sentence(message) == {}
