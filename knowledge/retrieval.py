"""Find the entry a question means: TF-IDF on folded, teencode-expanded words and
character n-grams (scikit-learn, fitted on the entries at start-up; no model download).

Every phrasing of an entry (its question and alternatives) is a document; an
entry scores the best cosine similarity of the query with one of its phrasings,
on a weighted blend of word (1-2 grams: meaning carried by word pairs such as
``khuyen mai``) and character (2-5 grams inside words: typos, run-together
words) features, plus a little of the answer text (a question using the
answer's words still lands) and of the whole topic (the one subject word of
"bán gas không phép bị phạt sao" outweighs the shared "phạt"). Below
``threshold`` the retriever declines: the bot says it does not know. ``make eval-faq`` measures all this.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from common.text import nfc
from common.watch import FileWatch
from dossier_api.catalog import FacetVocabulary
from knowledge.loader import DATA_DIR, Entry, KnowledgeBase, data_files, load
from vn_nlu.lexicon import CODE_LEMMA, load_teencode, other_agency, split_tokens

# Weights compared on tests/knowledge/eval_set.yml; the threshold is chosen apart from it,
# as the score that declines 95 % of the out-of-scope training examples of the NLU
# (`scripts/eval_faq.py --tune`, docs/policy_qa.md).
WORD_WEIGHT = 0.5
CHAR_WEIGHT = 0.5
ANSWER_WEIGHT = 0.15  # the answer text, next to the best phrasing
TOPIC_WEIGHT = 0.3  # all the phrasings of the entry's topic: "phạt" next to "gas" is about gas
DEFAULT_THRESHOLD = 0.35
# A question the classifier read as out of scope needs a match few of its out-of-scope training
# examples reach (465 of 467 score below; "giá vàng hôm nay" met the gas price entry at 0.36 through
# "giá ... hôm nay bao nhiêu" alone).
DISPUTED_THRESHOLD = 0.45
# A question that names another agency's paper ("thuế", "bảo hiểm xã hội") needs a closer match,
OTHER_AGENCY_THRESHOLD = 0.5
# except the agencies whose matters the base itself explains (vn_nlu/data/other_agencies.yml keys):
# outages, bills and meters are the power company's, and the electricity topic says whom to call and how.
EXPLAINED_AGENCIES = frozenset({"dien_luc"})
# The entries looked at for one whose product fits the question's (the best of them answers).
PRODUCT_CANDIDATES = 3
SAME_PRODUCT_MARGIN = 0.1


@dataclass(frozen=True)
class Hit:
    """An entry and how well the query matched it (0..1)."""

    entry: Entry
    score: float


_PERCENT = re.compile(r"\d+(?:[.,]\d+)?\s*%")


def normalise(text: str) -> str:
    """Folded, lower-case, teencode-expanded words of ``text`` (``đc ko`` -> ``duoc khong``); a percentage
    is the words "phần trăm" (``giảm 60%`` asks what "bao nhiêu phần trăm" asks)."""
    text = _PERCENT.sub(" phan tram ", nfc(text))  # folded as the words are
    return " ".join(s.lemma for s in split_tokens(text, load_teencode()) if s.lemma != CODE_LEMMA)


class Retriever:
    """An index of one knowledge base (build it once; ``search`` is pure CPU, sub-millisecond)."""

    def __init__(self, kb: KnowledgeBase, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.kb = kb
        self.threshold = threshold
        docs: list[str] = []
        owner: list[int] = []
        for i, entry in enumerate(kb.entries):
            for phrasing in entry.phrasings:
                docs.append(normalise(phrasing))
                owner.append(i)
        answers = [normalise(e.answer) for e in kb.entries]
        self._words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                      token_pattern=r"\S+")
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        self._words.fit(docs + answers)
        self._chars.fit(docs + answers)
        self._docs = self._features(docs)
        self._answers = self._features(answers)
        self._owner = np.asarray(owner)
        topics = list(kb.topics)
        self._topic_of = np.asarray([topics.index(e.topic) for e in kb.entries])
        self._topics = self._features([" ".join(d for d, o in zip(docs, owner, strict=True) if kb.entries[o].topic == t)
                                       for t in topics])
        self._facets = FacetVocabulary.from_file()
        self._products = {e.id: self._products_of(e.question) for e in kb.entries}

    def _products_of(self, text: str) -> set[str]:
        return self._facets.find(text).get("san_pham", set())

    def _features(self, texts: list[str]) -> sparse.csr_matrix:
        words = self._words.transform(texts) * np.sqrt(WORD_WEIGHT)
        chars = self._chars.transform(texts) * np.sqrt(CHAR_WEIGHT)
        return sparse.hstack([words, chars], format="csr")

    def search(self, text: str, limit: int = 3) -> list[Hit]:
        """The best ``limit`` entries for ``text``, best first (whatever their score)."""
        query = self._features([normalise(text)])
        if query.nnz == 0:
            return []
        by_doc = (self._docs @ query.T).toarray().ravel()
        best = np.zeros(len(self.kb.entries))
        np.maximum.at(best, self._owner, by_doc)
        scores = best * (1 - ANSWER_WEIGHT) + (self._answers @ query.T).toarray().ravel() * ANSWER_WEIGHT
        topic = (self._topics @ query.T).toarray().ravel()[self._topic_of]
        scores = scores * (1 - TOPIC_WEIGHT) + topic * TOPIC_WEIGHT
        order = np.argsort(-scores)[:limit]
        return [Hit(self.kb.entries[i], float(scores[i])) for i in order]

    def answer(self, text: str, threshold: float | None = None) -> Hit | None:
        """The entry that answers ``text``, or None when nothing matches well enough (``threshold``,
        the retriever's own by default), or the question names another agency's paper: ``hộ chiếu``,
        ``sổ đỏ``..."""
        hits = self.search(text, limit=PRODUCT_CANDIDATES)
        # An entry about another product than the one the question names ("điều kiện cửa hàng bán lẻ LPG
        # chai" met the petrol station's conditions by the words they share) does not answer it.
        named = self._products_of(text)
        hits = [h for h in hits
                if not named or not self._products[h.entry.id] or named & self._products[h.entry.id]][:1]
        # An entry about the very product the question names may match a little less ("giá xăng hôm nay bao
        # nhiêu" and the petrol price rules share "giá xăng" only).
        floor = self.threshold - SAME_PRODUCT_MARGIN if hits and named & self._products[hits[0].entry.id] else (
            self.threshold)
        if not hits or hits[0].score < max(floor, threshold or 0.0):
            return None
        if hits[0].score < OTHER_AGENCY_THRESHOLD:
            agency = other_agency(text)
            if agency is not None and agency.key not in EXPLAINED_AGENCIES:
                return None
        return hits[0]


logger = logging.getLogger(__name__)
_RETRIEVERS: dict[Path, tuple[FileWatch, Retriever | None]] = {}
_BUILDING = threading.Lock()


def retriever_for(directory: Path = DATA_DIR) -> Retriever:
    """The index of the knowledge base in ``directory``, built on first use and rebuilt when staff
    changed a file (looked at once a second at most); a base that no longer loads keeps the last
    good index (logged). Blocking: call it off the event loop."""
    directory = Path(directory)
    with _BUILDING:
        watch, retriever = _RETRIEVERS.get(directory) or (FileWatch(lambda: data_files(directory)), None)
        if watch.changed():
            try:
                retriever = Retriever(load(directory))
            except Exception:
                if retriever is None:
                    raise
                logger.error("knowledge base changed but does not load; the last good one stays", exc_info=True)
        _RETRIEVERS[directory] = (watch, retriever)
        assert retriever is not None
        return retriever


def timed(retriever: Retriever, text: str) -> tuple[Hit | None, float]:
    """``retriever.answer(text)`` and how long it took, in milliseconds."""
    start = time.perf_counter()
    hit = retriever.answer(text)
    return hit, (time.perf_counter() - start) * 1000
