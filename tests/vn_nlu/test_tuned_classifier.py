"""TunedLogisticRegressionClassifier: its C reaches scikit-learn, it trains, persists and predicts."""

from pathlib import Path

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from vn_nlu.components import CueFeaturizer, TunedLogisticRegressionClassifier, VietnameseTokenizer

TRAINING = [
    ("lệ phí bán buôn rượu bao nhiêu", "hoi_le_phi"), ("phí giấy phép xăng dầu", "hoi_le_phi"),
    ("mất bao nhiêu tiền", "hoi_le_phi"), ("bao lâu thì có giấy phép", "hoi_thoi_han"),
    ("mấy ngày có kết quả", "hoi_thoi_han"), ("thời hạn giải quyết", "hoi_thoi_han"),
]


def _featurized(pairs: list[tuple[str, str | None]]) -> list[Message]:
    messages = [Message({TEXT: text, **({INTENT: intent} if intent else {})}) for text, intent in pairs]
    VietnameseTokenizer(VietnameseTokenizer.get_default_config()).process(messages)
    CueFeaturizer({**CueFeaturizer.get_default_config(), "weight": 3.0}, "cues").process(messages)
    return messages


def _classifier(tmp_path: Path, **config: object) -> tuple[TunedLogisticRegressionClassifier, LocalModelStorage,
                                                           Resource, ExecutionContext]:
    storage, resource = LocalModelStorage(tmp_path), Resource("clf")
    context = ExecutionContext(GraphSchema({}), node_name="clf")
    full = {**TunedLogisticRegressionClassifier.get_default_config(), **config}
    return TunedLogisticRegressionClassifier.create(full, storage, resource, context), storage, resource, context


def test_c_reaches_scikit_learn(tmp_path: Path) -> None:
    assert _classifier(tmp_path)[0].clf.C == 1.0
    assert _classifier(tmp_path, C=3.0)[0].clf.C == 3.0


def test_it_trains_persists_and_predicts_with_sublinear_features(tmp_path: Path) -> None:
    classifier, storage, resource, context = _classifier(tmp_path, C=3.0, sublinear=True)
    classifier.train(TrainingData(_featurized(TRAINING)))
    loaded = TunedLogisticRegressionClassifier.load(classifier.config, storage, resource, context)
    assert loaded.clf.C == 3.0
    [fee, time] = loaded.process(_featurized([("tốn bao nhiêu tiền vậy", None), ("bao lâu vậy", None)]))
    assert fee.get(INTENT)["name"] == "hoi_le_phi"
    assert time.get(INTENT)["name"] == "hoi_thoi_han"


def test_sublinear_features_are_log_one_plus(tmp_path: Path) -> None:
    plain = _classifier(tmp_path)[0]._create_X(_featurized([("phí phí phí", None)]))
    damped = _classifier(tmp_path, sublinear=True)[0]._create_X(_featurized([("phí phí phí", None)]))
    assert plain.max() == 3.0
    assert abs(damped.max() - 1.3862943611198906) < 1e-9  # log(1 + 3)


def test_the_training_matrix_is_rasas_stacked_once_per_featurizer(tmp_path: Path) -> None:
    """Same matrix as Rasa's message-by-message combination, columns in featurizer order."""
    import numpy as np
    import scipy.sparse
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.training_data.features import Features

    messages = _featurized(TRAINING)
    rng = np.random.default_rng(8283)
    for message in messages:  # a second featurizer, with sequence features the matrix must leave out
        message.add_features(Features(scipy.sparse.coo_matrix(rng.integers(0, 3, (1, 5))), "sentence", TEXT, "words"))
        tokens = next(f for f in message.features if f.type == "sequence").features.shape[0]
        message.add_features(Features(scipy.sparse.coo_matrix(rng.integers(0, 3, (tokens, 5))), "sequence", TEXT,
                                      "words"))
    classifier = _classifier(tmp_path)[0]
    ours = classifier._create_X(messages)
    rasas = LogisticRegressionClassifier._create_X(classifier, messages)
    assert ours.shape == rasas.shape and ours.shape[1] > 5
    assert (ours != rasas).nnz == 0
