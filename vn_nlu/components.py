"""Rasa graph components for Vietnamese citizen messages.

* :class:`VietnameseTokenizer` - NFC normalisation, one token per dossier
  code, and lemmas that are folded (no diacritics) with teencode expanded, so
  the count-vector featurizers (``use_lemma: true``) see ``hồ sơ``, ``ho so``
  and ``hs`` as the same words. Token texts stay substrings of the message.
* :class:`DossierCodeExtractor` - the ``ma_ho_so`` entity with the canonical
  code as value, whatever the case and spacing typed; a message that is only a
  code (or only something code-like, so a malformed code gets a helpful
  answer) is a lookup (``tra_cuu_ho_so``), as on SMS.
* :class:`LexiconEntityExtractor` - ``muc_do`` and ``loai_dia_diem`` (and any
  closed-vocabulary entity in ``vn_nlu/data/lexicon.yml``) with their values.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import redis
import scipy.sparse
import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.codes import find_codes, is_bare_code_attempt
from common.dates import local_now
from common.dossier_questions import asks_about_ticket, is_explicit_complaint
from common.inbox import note_parse
from common.settings import get_settings
from common.text import fold_key, nfc
from dossier_api.catalog import FACETS_FILE, FacetVocabulary
from vn_nlu.lexicon import (
    CODE_LEMMA,
    CUES_FILE,
    LEXICON_FILE,
    SHAPES_FILE,
    TEENCODE_FILE,
    Lexicon,
    Shapes,
    Span,
    file_digest,
    is_correction,
    load_teencode,
    split_tokens,
)

logger = logging.getLogger(__name__)

# Message attribute: the words of a message that no in-scope training example uses
# (set by UnseenWordsFeaturizer, read by UnseenTopicGuard).
UNSEEN_WORDS = "unseen_words"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseTokenizer(Tokenizer):
    """Word tokenizer with folded, teencode-expanded lemmas (see module doc)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config."""
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "teencode_file": str(TEENCODE_FILE),
        }

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._teencode = load_teencode(Path(config["teencode_file"]))

    def process(self, messages: list[Message]) -> list[Message]:
        """Normalise incoming text to NFC, then tokenize."""
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and nfc(text) != text:
                message.set(TEXT, nfc(text))
        return super().process(messages)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Tokens of one attribute (text or action text)."""
        text = message.get(attribute)
        tokens = [Token(s.text, s.start, lemma=s.lemma) for s in split_tokens(text, self._teencode)]
        if not tokens:  # emoji or punctuation only: one token for the whole text
            tokens = [Token(text, 0, lemma=text)]
        return self._apply_token_pattern(tokens)


def message_spans(message: Message) -> list[Span]:
    """The tokens :class:`VietnameseTokenizer` put on the message text, as spans with lemmas."""
    if not message.get(TEXT):
        return []
    return [Span(t.text, t.start, t.end, t.lemma) for t in message.get(TOKENS_NAMES[TEXT]) or []]


class _Extractor(GraphComponent, EntityExtractorMixin):
    """Shared plumbing of the deterministic extractors (nothing to train)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> _Extractor:
        """Creates the component."""
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn; annotations in the data are left as written."""
        return training_data

    def _add(self, message: Message, entities: list[dict[str, Any]]) -> None:
        if entities:
            entities = self.add_extractor_name(entities)
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class DossierCodeExtractor(_Extractor):
    """``ma_ho_so`` entities with canonical values; a message with a code is a lookup.

    A code anywhere in a message is honoured ("à nhầm, mã đúng là ...", "My code
    is ..."): the message becomes a lookup unless the classifier found something
    else the citizen does with a code (``keep_intents``: rate, subscribe...) or it
    is an explicit complaint (``complaint_intent`` with a complaint verb). A
    question about a feedback ticket (its number, or "phiếu vừa rồi thế nào rồi")
    without a dossier code makes it ``ticket_intent`` (the ticket's state, never a
    new ticket)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config."""
        return {
            "entity": "ma_ho_so",
            "bare_code_intent": "tra_cuu_ho_so",
            "keep_intents": ["danh_gia", "dang_ky_thong_bao", "huy_dang_ky", "chuyen_phat_ket_qua",
                             "gap_can_bo", "dat_lich_hen"],
            "complaint_intent": "phan_anh_kien_nghi",
            "ticket_intent": "phan_anh_kien_nghi",
        }

    def process(self, messages: list[Message]) -> list[Message]:
        """Add code entities, and the lookup intent to messages that give a code."""
        for message in messages:
            text = message.get(TEXT) or ""
            matches = find_codes(text)
            self._add(message, [
                {
                    ENTITY_ATTRIBUTE_TYPE: self._config["entity"],
                    ENTITY_ATTRIBUTE_START: m.start,
                    ENTITY_ATTRIBUTE_END: m.end,
                    ENTITY_ATTRIBUTE_VALUE: m.code.canonical,
                }
                for m in matches
            ])
            intent = self._intent_for(message, text, bool(matches))
            if intent:
                self._set_intent(message, intent)
        return messages

    def _intent_for(self, message: Message, text: str, has_code: bool) -> str | None:
        """The intent the message must get because of a code or ticket number in it (None: keep it)."""
        lookup = self._config["bare_code_intent"]
        if not lookup:
            return None
        if is_bare_code_attempt(text):
            return lookup
        current = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if not has_code:
            ticket_intent = self._config["ticket_intent"]
            return ticket_intent if ticket_intent and asks_about_ticket(text) else None
        if current in self._config["keep_intents"] or current == lookup:
            return None
        if current == self._config["complaint_intent"] and is_explicit_complaint(text):
            return None
        return lookup

    @staticmethod
    def _set_intent(message: Message, name: str) -> None:
        intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LexiconEntityExtractor(_Extractor):
    """Closed-vocabulary entities (``muc_do``, ``loai_dia_diem``) from a phrase list."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config."""
        return {
            "lexicon_file": str(LEXICON_FILE),
            "teencode_file": str(TEENCODE_FILE),
            "data_digest": file_digest(LEXICON_FILE, TEENCODE_FILE),
        }

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._teencode = load_teencode(Path(config["teencode_file"]))
        self._lexicon = Lexicon.from_file(Path(config["lexicon_file"]), self._teencode)

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the lexicon's entities found in each message (on the tokenizer's tokens)."""
        for message in messages:
            tokens = message_spans(message)
            self._add(message, [
                {
                    ENTITY_ATTRIBUTE_TYPE: hit.entity,
                    ENTITY_ATTRIBUTE_START: tokens[hit.first_token].start,
                    ENTITY_ATTRIBUTE_END: tokens[hit.last_token].end,
                    ENTITY_ATTRIBUTE_VALUE: hit.value,
                }
                for hit in self._lexicon.find(tokens)
            ])
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class CueFeaturizer(SparseFeaturizer, GraphComponent):
    """Sparse features from word lists: one column per cue group of
    ``vn_nlu/data/cues.yml``, per lexicon entity type, for dossier codes and
    per sentence shape of ``vn_nlu/data/shapes.yml``.

    A token gets a 1 in the columns of the phrases it is part of; the sentence
    vector has a 1 for every group present. Synonyms the training examples
    never used still point the classifier the right way. A shape ("có cần …
    không") is a sentence column only, and so is an ``exclusive`` column: one
    column present while none of some others is ("hộ chiếu" named, and none of
    the sector's subjects), a conjunction a linear classifier cannot form itself.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config."""
        return {
            **SparseFeaturizer.get_default_config(),
            "cues_file": str(CUES_FILE),
            "lexicon_file": str(LEXICON_FILE),
            "teencode_file": str(TEENCODE_FILE),
            "shapes_file": str(SHAPES_FILE),
            "data_digest": file_digest(CUES_FILE, LEXICON_FILE, TEENCODE_FILE, SHAPES_FILE),
            # name -> {"present": column, "absent": [columns]}: a sentence column set when
            # "present" is and none of "absent" is.
            "exclusive": {},
            # Feature value of a present cue: above 1, the classifier's L2 penalty
            # holds these few columns back less than the thousands of n-grams.
            "weight": 1.0,
        }

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        teencode = load_teencode(Path(config["teencode_file"]))
        self._teencode = teencode
        cues = yaml.safe_load(Path(config["cues_file"]).read_text(encoding="utf-8")) or {}
        exact_only = cues.pop("exact_only", [])
        self._cues = Lexicon.of_groups(cues, teencode, exact_only)
        self._entities = Lexicon.from_file(Path(config["lexicon_file"]), teencode)
        self._shapes = Shapes.from_file(Path(config["shapes_file"]))
        self._columns = (
            [f"cue:{c}" for c in self._cues.entities] + [f"entity:{e}" for e in self._entities.entities] + ["code"]
            + [f"shape:{s}" for s in self._shapes.names]
        )
        self._exclusive = {name: (rule["present"], list(rule.get("absent") or []))
                           for name, rule in (config.get("exclusive") or {}).items()}
        unknown = {c for present, absent in self._exclusive.values() for c in [present, *absent]} - set(self._columns)
        if unknown:
            raise ValueError(f"CueFeaturizer: exclusive columns name unknown columns {sorted(unknown)}")
        self._columns += [f"only:{name}" for name in self._exclusive]
        self._index = {name: i for i, name in enumerate(self._columns)}
        self._weight = float(config["weight"])

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """The data files must exist."""
        for key in ("cues_file", "lexicon_file", "teencode_file", "shapes_file"):
            if not Path(config[key]).is_file():
                raise ValueError(f"{cls.__name__}: {key} {config[key]} does not exist")
        for name, rule in (config.get("exclusive") or {}).items():
            if not isinstance(rule, dict) or "present" not in rule:
                raise ValueError(f"{cls.__name__}: exclusive column {name} needs a 'present' column")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CueFeaturizer:
        """Creates the component."""
        return cls(config, execution_context.node_name)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize the training examples."""
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Add cue features to the text of each message."""
        for message in messages:
            spans = message_spans(message)
            if not spans:
                continue
            sequence = np.zeros((len(spans), len(self._columns)))
            index = self._index
            for prefix, lexicon in (("cue", self._cues), ("entity", self._entities)):
                for hit in lexicon.find(spans):
                    sequence[hit.first_token : hit.last_token + 1, index[f"{prefix}:{hit.entity}"]] = self._weight
            for i, span in enumerate(spans):
                if span.lemma == CODE_LEMMA:
                    sequence[i, index["code"]] = self._weight
            sentence = sequence.max(axis=0, keepdims=True)
            for shape in self._shapes.find(message.get(TEXT), spans):
                sentence[0, index[f"shape:{shape}"]] = self._weight
            for name, (present, absent) in self._exclusive.items():
                if sentence[0, index[present]] and not any(sentence[0, index[a]] for a in absent):
                    sentence[0, index[f"only:{name}"]] = self._weight
            self.add_features_to_message(
                scipy.sparse.coo_matrix(sequence), scipy.sparse.coo_matrix(sentence), TEXT, message
            )
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class UnseenWordsFeaturizer(SparseFeaturizer, GraphComponent):
    """How much of a message the assistant has never seen in an in-scope question.

    Another agency's procedure ("thủ tục hưởng chế độ thai sản") or a chat
    ("bạn có biết chơi game không") is phrased like our questions; what gives
    it away is its subject: words no in-scope training example uses. Training
    counts, for each word (lemma), the in-scope examples that contain it; a
    word used by fewer than ``min_examples`` of them is *unseen*, and so is a
    pair of adjacent words. The sentence gets cumulative indicator columns (1,
    2, 3 or more unseen words; 40, 60, 80 % or more of its word pairs unseen),
    each token a flag of its own.

    Training examples are featurized leaving themselves out of the counts, so
    an in-scope example with a rare word looks as it would to a model that
    never saw it, and the classifier learns how far to trust the signal
    instead of learning that in-scope examples never have unseen words.
    """

    COLUMNS = ("unseen>=1", "unseen>=2", "unseen>=3", "pairs_unseen>=0.4", "pairs_unseen>=0.6",
               "pairs_unseen>=0.8")

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config."""
        return {
            **SparseFeaturizer.get_default_config(),
            "out_of_scope_intent": "ngoai_pham_vi",
            "min_examples": 1,
            "weight": 1.0,
        }

    def __init__(self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource,
                 counts: dict[str, int] | None = None) -> None:
        super().__init__(name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._counts: dict[str, int] = counts or {}
        self._min = int(config["min_examples"])
        self._weight = float(config["weight"])
        self._out_of_scope = config["out_of_scope_intent"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """At least one example must use a word for it to count as seen."""
        if int(config["min_examples"]) < 1:
            raise ValueError(f"{cls.__name__}: min_examples must be at least 1")

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> UnseenWordsFeaturizer:
        """Creates a component to train."""
        return cls(config, execution_context.node_name, model_storage, resource)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> UnseenWordsFeaturizer:
        """The trained word counts."""
        try:
            with model_storage.read_from(resource) as directory:
                counts = json.loads((directory / "counts.json").read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            logger.warning("%s: no trained word counts; every word counts as unseen", cls.__name__)
            counts = {}
        return cls(config, execution_context.node_name, model_storage, resource, counts)

    @staticmethod
    def _words(spans: list[Span]) -> list[list[str]]:
        """Each token's words (a teencode lemma can be several), codes and numbers left out."""
        return [[w for w in span.lemma.split() if w.isalpha()] if span.lemma != CODE_LEMMA else []
                for span in spans]

    def _in_scope(self, message: Message) -> bool:
        intent = message.get(INTENT)
        return bool(intent) and intent != self._out_of_scope

    @staticmethod
    def _pairs(words: list[list[str]]) -> list[str]:
        flat = [w for token in words for w in token]
        return [f"{a} {b}" for a, b in zip(flat, flat[1:], strict=False)]

    def train(self, training_data: TrainingData) -> Resource:
        """Count the in-scope examples that use each word and each pair of adjacent words."""
        counts: dict[str, int] = {}
        for message in training_data.intent_examples:
            if self._in_scope(message):
                words = self._words(message_spans(message))
                for key in {w for token in words for w in token} | set(self._pairs(words)):
                    counts[key] = counts.get(key, 0) + 1
        self._counts = counts
        with self._model_storage.write_to(self._resource) as directory:
            (directory / "counts.json").write_text(json.dumps(counts, ensure_ascii=False, sort_keys=True),
                                                   encoding="utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize the training examples, each leaving itself out of the counts."""
        for message in training_data.training_examples:
            self._featurize(message, leave_out=self._in_scope(message))
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurize incoming messages."""
        for message in messages:
            self._featurize(message, leave_out=False)
        return messages

    def _featurize(self, message: Message, leave_out: bool) -> None:
        spans = message_spans(message)
        if not spans:
            return
        words = self._words(spans)
        own = 1 if leave_out else 0
        unseen = {w for token in words for w in token if self._counts.get(w, 0) - own < self._min}
        message.set(UNSEEN_WORDS, sorted(unseen))
        sequence = np.zeros((len(spans), len(self.COLUMNS)))
        for i, token in enumerate(words):
            if any(w in unseen for w in token):
                sequence[i, 0] = self._weight
        pairs = self._pairs(words)
        share = sum(self._counts.get(p, 0) - own < self._min for p in pairs) / len(pairs) if pairs else 0.0
        sentence = np.zeros((1, len(self.COLUMNS)))
        sentence[0, :3] = [len(unseen) >= n for n in (1, 2, 3)]
        sentence[0, 3:] = [share >= t for t in (0.4, 0.6, 0.8)]
        sentence *= self._weight
        self.add_features_to_message(scipy.sparse.coo_matrix(sequence), scipy.sparse.coo_matrix(sentence),
                                     TEXT, message)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class InboxRecorder(GraphComponent):
    """Last in the pipeline: sends what the assistant barely understood to the NLU inbox,
    counts intents for the dashboard and keeps the last message of each citizen an hour
    (for an "unhelpful" mark, ``common.inbox.mark_unhelpful``).

    Only messages from a citizen are recorded (the gateways put the sender id
    in the message metadata); evaluation and training never are. Redis is
    ``REDIS_URL``; an outage costs the inbox entry, never the answer.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"threshold": 0.6}

    def __init__(self, config: dict[str, Any]) -> None:
        self.threshold = float(config["threshold"])
        self._redis: Any = None

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> InboxRecorder:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            sender = (message.get("metadata") or {}).get("sender")
            intent = message.get("intent") or {}
            if sender:
                self._note(message.get(TEXT) or "", str(sender), str(intent.get("name")),
                           float(intent.get("confidence") or 0.0))
        return messages

    def _note(self, text: str, sender: str, intent: str, confidence: float) -> None:
        try:
            if self._redis is None:
                self._redis = redis.Redis.from_url(get_settings().redis_url,
                                                   socket_timeout=0.5, socket_connect_timeout=0.5)
            note_parse(self._redis, text, sender, intent, confidence, self.threshold, local_now())
        except (redis.RedisError, OSError):
            logger.warning("NLU inbox entry not recorded: Redis unreachable")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TunedLogisticRegressionClassifier(LogisticRegressionClassifier):
    """Rasa's logistic-regression intent classifier with its regularisation exposed.

    ``C`` is scikit-learn's inverse regularisation strength (Rasa fixes it at 1.0);
    ``sublinear`` replaces each feature value ``x`` by ``log(1 + x)``, so a word or
    character n-gram repeated in a long message does not outweigh the cue columns.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config."""
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0, "sublinear": False}

    def __init__(self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]))

    def _create_X(self, messages: list[Message]) -> scipy.sparse.csr_matrix:
        X = self.stack_sentence_features(messages)
        if X is None:
            X = super()._create_X(messages)
        if self.config["sublinear"]:
            X = X.tocsr(copy=True)
            X.data = np.log1p(np.maximum(X.data, 0.0)) * np.sign(X.data)
        return X


    @staticmethod
    def stack_sentence_features(messages: list[Message]) -> scipy.sparse.csr_matrix | None:
        """The matrix Rasa's ``_create_X`` builds (each message's sparse sentence features
        side by side, in featurizer order), stacked once per featurizer instead of combined
        message by message (a third of the classifier's training time on 4,400 examples).
        None when the messages do not all have the same sparse-only featurizers."""
        rows = []
        for message in messages:
            features = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
            if not features or not all(f.is_sparse() for f in features):
                return None
            rows.append(features)
        origins = [f.origin for f in rows[0]] if rows else []
        if not rows or any([f.origin for f in row] != origins for row in rows):
            return None
        columns = [scipy.sparse.vstack([row[i].features for row in rows]) for i in range(len(origins))]
        return scipy.sparse.hstack(columns).tocsr()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class UnseenTopicGuard(GraphComponent):
    """Our question words about another domain's subject are out of scope.

    "thủ tục mở thẻ tín dụng", "sang tên xe máy mất bao lâu", "nộp hồ sơ xét tuyển
    ở đâu": the classifier hears the question words (thủ tục, bao lâu, nộp ... ở đâu)
    and reads a procedure question. When the message was read as one of
    ``question_intents``, names nothing of the sector (no cue group of
    ``sector_cues``, no procedure topic of the lexicon, no product of the catalog's
    facets, no dossier code) and has at least ``min_unseen`` words that no in-scope
    training example uses (:class:`UnseenWordsFeaturizer`) or a word of another
    domain (cue group ``other_cue``), it is read as ``out_of_scope_intent``. A bare
    follow-up ("mất bao lâu", "còn phí thì sao", "nộp ở đâu") names nothing either,
    but all its words are ours: it stays a question about the procedure discussed.
    A request read as one of ``place_intents`` is ours also when it names a place type
    of the place finder (``loai_dia_diem``): "khách sạn giá rẻ ở Sơn Trà" is a place
    to find, "bưu cục gần nhất" is not one the assistant knows.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config."""
        return {
            # hoi_thu_tuc .. gap_can_bo: round 5; tim_dia_diem and huy_dang_ky: round 6a, each
            # measured by the cross-validation's flips right and wrong (docs/nlu.md).
            "question_intents": ["hoi_thu_tuc", "hoi_thoi_han", "hoi_nop_ho_so", "hoi_le_phi", "hoi_giay_to",
                                 "gap_can_bo", "tim_dia_diem", "huy_dang_ky"],
            "place_intents": ["tim_dia_diem"],
            "place_entity": "loai_dia_diem",
            "out_of_scope_intent": "ngoai_pham_vi",
            "sector_cues": ["linh_vuc"],
            "other_cue": "ngoai_pham_vi",
            "min_unseen": 1,
            # The classifier must give out of scope at least this much (0: any).
            # 0.05: chosen by 5-fold cross-validation against 0, 0.02, 0.03 and 0.10 (docs/nlu.md).
            "min_out_of_scope_confidence": 0.05,
            "cues_file": str(CUES_FILE),
            "lexicon_file": str(LEXICON_FILE),
            "teencode_file": str(TEENCODE_FILE),
            "facets_file": str(FACETS_FILE),
            "data_digest": file_digest(CUES_FILE, LEXICON_FILE, TEENCODE_FILE, FACETS_FILE),
        }

    def __init__(self, config: dict[str, Any]) -> None:
        teencode = load_teencode(Path(config["teencode_file"]))
        cues = yaml.safe_load(Path(config["cues_file"]).read_text(encoding="utf-8")) or {}
        exact_only = cues.pop("exact_only", [])
        self._other = config.get("other_cue")
        wanted = set(config["sector_cues"]) | ({self._other} if self._other else set())
        self._cues = Lexicon.of_groups({k: v for k, v in cues.items() if k in wanted}, teencode, exact_only)
        self._sector = set(config["sector_cues"])
        self._topics = Lexicon.from_file(Path(config["lexicon_file"]), teencode)
        self._facets = FacetVocabulary.from_file(Path(config["facets_file"]))
        self._questions = set(config["question_intents"])
        self._place_intents = set(config.get("place_intents") or [])
        self._place_entity = config.get("place_entity")
        self._out_of_scope = config["out_of_scope_intent"]
        self._min = int(config["min_unseen"])
        self._min_confidence = float(config.get("min_out_of_scope_confidence", 0.0))

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> UnseenTopicGuard:
        """Creates the component."""
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn."""
        return training_data

    def names_sector(self, message: Message, groups: set[str]) -> bool:
        """Whether the message names a subject of the department: a sector cue, a procedure
        topic, a product of the catalog, a dossier code."""
        spans = message_spans(message)
        return bool(groups & self._sector) or any(h.entity == "thu_tuc" for h in self._topics.find(spans)) or (
            "san_pham" in self._facets.find(message.get(TEXT) or "")) or any(s.lemma == CODE_LEMMA for s in spans)

    def names_place(self, message: Message) -> bool:
        """Whether the message names a place type the place finder knows."""
        return any(h.entity == self._place_entity for h in self._topics.find(message_spans(message)))

    def is_other_domain(self, message: Message, intent: str | None = None) -> bool:
        """Whether a message asked with our question words is about another domain's subject."""
        groups = {hit.entity for hit in self._cues.find(message_spans(message))}
        if self.names_sector(message, groups) or (intent in self._place_intents and self.names_place(message)):
            return False
        return len(message.get(UNSEEN_WORDS) or []) >= self._min or (self._other in groups)

    def process(self, messages: list[Message]) -> list[Message]:
        """Re-read procedure questions about another domain as out of scope."""
        for message in messages:
            intent = message.get(INTENT) or {}
            name = intent.get(INTENT_NAME_KEY)
            if name not in self._questions or not self.is_other_domain(message, name):
                continue
            ranking = message.get(INTENT_RANKING_KEY) or []
            if self._min_confidence and not any(r.get(INTENT_NAME_KEY) == self._out_of_scope and float(
                    r.get(PREDICTED_CONFIDENCE_KEY, 0.0)) >= self._min_confidence for r in ranking):
                continue
            confidence = intent.get(PREDICTED_CONFIDENCE_KEY, 1.0)
            chosen = {INTENT_NAME_KEY: self._out_of_scope, PREDICTED_CONFIDENCE_KEY: confidence}
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [chosen, *[r for r in ranking
                                                       if r.get(INTENT_NAME_KEY) != self._out_of_scope]],
                        add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TopicChangeGuard(GraphComponent):
    """A "thôi" that changes the subject is not a goodbye.

    "thôi em hỏi cấp lại thôi", "thôi, chuyển qua lệ phí": the classifier hears the
    "thôi" of "thôi nhé, chào" in them. When the message was read as one of
    ``closing_intents`` (or fell back with one of them on top), has one of
    ``change_words`` and names something the assistant does (a cue group of
    ``service_cues``, a procedure topic of the lexicon, a dossier code), and has no
    word of leaving (cue group ``leave_cue``), it gets the best-ranked intent that
    is not a closing one. So does one that asks to stop something (``cancel_words``:
    "hủy hết đi", "ngừng gửi giúp em") without a word of leaving: a goodbye never cancels.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config."""
        return {
            "closing_intents": ["tam_biet", "cam_on"],
            "short_intents": ["khang_dinh", "phu_dinh"],
            # A yes or a no is a closed class of words: a message with none of its intent's ("zzzz",
            # "🤣", "hihi") is not one, whatever the classifier makes of a short unknown token.
            "short_markers": {
                "khang_dinh": ["ok", "oke", "okie", "oki", "okela", "okay", "vang", "da", "u", "uh", "uk", "um",
                               "o", "dung", "duoc", "dc", "co", "roi", "r", "chuan", "phai", "dong y", "nhat tri",
                               "chinh xac", "hieu", "ro", "on", "yes", "yep", "sure", "correct", "chac chan",
                               "tat nhien", "ua", "ung", "rua"],
                "phu_dinh": ["khong", "ko", "k", "kh", "hong", "hok", "no", "nope", "sai", "nham", "chua", "khoi",
                             "thoi", "cha", "chang", "cham", "dau", "mo", "wrong", "not", "de sau", "lac de",
                             "hieu lam"],
            },
            # "có mẫu đơn không", "sở có làm thứ 7 ko": a question that ends with "không" is asked,
            # not a no; "có lẽ không", "có thể không" are a no.
            "question_end": ["khong", "ko", "k", "kh", "hong", "hok", "hem"],
            "not_a_question": ["co le", "co khi", "co the", "co gi", "co dau"],
            "fallback_intent": "nlu_fallback",
            # FallbackClassifier's threshold: a yes or a no that says neither, re-read as an intent the
            # classifier gives less than this ("10h30" while booking), is a fallback like any other.
            "fallback_threshold": 0.35,
            "change_words": ["thôi", "thoi", "à thôi", "chuyển qua", "chuyển sang", "hỏi cái khác", "hỏi khác"],
            "cancel_words": ["hủy", "huỷ", "ngừng", "ngưng", "dừng", "xóa", "xoá", "stop", "unsubscribe", "cancel"],
            "service_cues": ["phi", "thoi_gian", "giay_to", "noi_nop", "thu_tuc", "tra_cuu", "danh_gia", "lich_hen",
                             "chuyen_phat", "phan_anh", "dia_diem", "thong_bao", "linh_vuc"],
            "leave_cue": "tam_biet",
            "cues_file": str(CUES_FILE),
            "lexicon_file": str(LEXICON_FILE),
            "teencode_file": str(TEENCODE_FILE),
            "data_digest": file_digest(CUES_FILE, LEXICON_FILE, TEENCODE_FILE),
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        teencode = load_teencode(Path(config["teencode_file"]))
        cues = yaml.safe_load(Path(config["cues_file"]).read_text(encoding="utf-8")) or {}
        exact_only = cues.pop("exact_only", [])
        wanted = set(config["service_cues"]) | {config["leave_cue"]}
        self._cues = Lexicon.of_groups({k: v for k, v in cues.items() if k in wanted}, teencode, exact_only)
        self._topics = Lexicon.from_file(Path(config["lexicon_file"]), teencode)
        self._change = Lexicon.of_groups({"change": list(config["change_words"])}, teencode)
        self._cancel = Lexicon.of_groups({"cancel": list(config.get("cancel_words", []))}, teencode)
        self._closing = set(config["closing_intents"])
        self._fallback_threshold = float(config.get("fallback_threshold", 0.0))
        self._question_end = frozenset(config.get("question_end", []))
        self._not_question = [fold_key(p) for p in config.get("not_a_question", [])]
        self._short = set(config.get("short_intents", []))
        self._markers = {intent: frozenset(fold_key(w) for w in words)
                         for intent, words in (config.get("short_markers") or {}).items()}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> TopicChangeGuard:
        """Creates the component."""
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn."""
        return training_data

    def changes_topic(self, spans: list[Span]) -> bool:
        """Whether the tokens have a word of changing the subject and a service named, or a word of
        cancelling, and no goodbye."""
        changes, cancels = bool(self._change.find(spans)), bool(self._cancel.find(spans))
        if not (changes or cancels):
            return False
        groups = {hit.entity for hit in self._cues.find(spans)}
        if self._config["leave_cue"] in groups:
            return False
        if cancels:
            return True
        named = groups - {self._config["leave_cue"]}
        return bool(named) or any(h.entity == "thu_tuc" for h in self._topics.find(spans)) or any(
            s.lemma == CODE_LEMMA for s in spans)

    def asks_something(self, message: Message) -> bool:
        """Whether a message read as a bare yes or no names what the assistant does ("phải bổ sung cái
        chi", "thôi khỏi, hủy lịch giúp em", "trễ hạn rồi phải không"): then it asks that, unless it
        says the last answer was wrong ("không phải thủ tục đó")."""
        spans = message_spans(message)
        groups = {hit.entity for hit in self._cues.find(spans)} - {self._config["leave_cue"]}
        named = bool(groups) or any(h.entity == "thu_tuc" for h in self._topics.find(spans)) or any(
            s.lemma == CODE_LEMMA for s in spans)
        return named and not is_correction(message.get(TEXT) or "")

    def says_yes_or_no(self, message: Message, intent: str | None, top: str | None) -> bool:
        """Whether the message has a word of the yes or the no it was read as (one word, or two)."""
        words = re.findall(r"\w+", fold_key(message.get(TEXT) or ""))
        markers = self._markers.get(intent if intent in self._short else top or "")
        if markers is None:
            return True
        pairs = {" ".join(words[i:i + 2]) for i in range(len(words) - 1)}
        return bool(markers & (set(words) | pairs))

    def asks_yes_or_no(self, message: Message) -> bool:
        """Whether the message is a "có ... không" question ("có mẫu đơn không", "sở có làm thứ 7
        ko"): "có", at least one word, and a question word of ``question_end`` at the end."""
        words = re.findall(r"\w+", fold_key(message.get(TEXT) or ""))
        if len(words) < 3 or words[-1] not in self._question_end or "co" not in words[:-2]:
            return False
        text = " ".join(words)
        return not any(re.search(rf"\b{re.escape(p)}\b", text) for p in self._not_question)

    def process(self, messages: list[Message]) -> list[Message]:
        """Re-read closing messages that change the subject, yes/no answers that ask something,
        "có ... không" questions read as a no, and messages read as a yes or a no that say neither."""
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            ranking = message.get(INTENT_RANKING_KEY) or []
            top = ranking[0].get(INTENT_NAME_KEY) if ranking else None
            fallback = intent == self._config["fallback_intent"]
            says_neither = False
            closing = intent in self._closing or (fallback and top in self._closing)
            short = intent in self._short or (fallback and top in self._short)
            if closing and self.changes_topic(message_spans(message)):
                skip = self._closing
            elif short and (self.asks_something(message) or self.asks_yes_or_no(message)):
                skip = self._short
            elif intent in self._short and not self.says_yes_or_no(message, intent, top):
                skip, says_neither = self._short, True
            else:
                continue
            others = [r for r in ranking if r.get(INTENT_NAME_KEY) not in skip
                      and r.get(INTENT_NAME_KEY) != self._config["fallback_intent"]]
            if others:
                reread = [others[0], *[r for r in ranking if r is not others[0]]]
                chosen = dict(others[0])
                if says_neither and float(chosen.get(PREDICTED_CONFIDENCE_KEY, 0.0)) < self._fallback_threshold:
                    chosen[INTENT_NAME_KEY] = self._config["fallback_intent"]
                    reread = [chosen, *[r for r in reread if r.get(INTENT_NAME_KEY) != chosen[INTENT_NAME_KEY]]]
                message.set(INTENT, chosen, add_to_output=True)
                message.set(INTENT_RANKING_KEY, reread, add_to_output=True)
        return messages
