"""The procedure catalog: loading the data file and keyword search.

Search is diacritic-insensitive: the query and every procedure are folded
(``Bán lẻ xăng dầu`` -> ``ban le xang dau``) and compared as word unigrams and
bigrams, each weighted by how rare it is across the catalog (idf), so words
every procedure shares (``cấp``, ``giấy phép``) count for little and the
distinctive ones (``rượu``, ``xăng``, ``LPG``) decide.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import yaml

from common.text import fold_key
from dossier_api.models import Procedure, ProcedureMatch

CATALOG_FILE = Path(__file__).parent / "data" / "procedures.yml"
_WORD = re.compile(r"\w+")
# Data-file keys (Vietnamese, for staff) -> API field names.
_FIELDS = {
    "id": "id",
    "ten": "name",
    "linh_vuc": "field",
    "tu_khoa": "keywords",
    "giay_to": "documents",
    "so_bo": "copies",
    "le_phi": "fee",
    "le_phi_vnd": "fee_vnd",
    "thoi_han": "processing_time",
    "thoi_han_ngay": "processing_days",
    "cach_nop": "submission",
    "muc_do": "online_level",
    "can_cu": "legal_basis",
}


def load_catalog(path: Path = CATALOG_FILE) -> list[Procedure]:
    """Read the procedure data file."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Procedure(**{_FIELDS[k]: v for k, v in entry.items()}) for entry in entries]


# Words of the question itself ("bao lâu", "lệ phí", "ở đâu"...), folded: they
# say what is asked, not which procedure, and are dropped from queries.
QUESTION_WORDS = frozenset("""
    thoi gian han bao lau nhieu may ngay hom le phi chi tien gia mat ton dong
    giay to ho so thanh phan gom nhung gi can chuan bi nop o dau cho nao noi
    the nao sao ra lam cach thu tuc huong dan hoi cho toi minh em anh chi ad
    xin muon duoc khong ko k co la thi con vay a oi nhe giup voi va hay
    cap giay phep chung nhan
    """.split())


# What citizens call any licence: a query's words inside these phrases say nothing
# about which procedure ("giấy phép kinh doanh quán ăn" is not the foreign-invested
# trader's "Giấy phép kinh doanh"); a procedure's own words around them still do.
GENERIC_PHRASES = re.compile(r"\b(?:giay phep|giay|dang ky) kinh doanh\b")


def _query_terms(query: str) -> set[str]:
    """The terms of a query, less its question words and generic licence phrases."""
    pieces = GENERIC_PHRASES.split(fold_key(query))
    return {t for piece in pieces for t in _terms(piece, QUESTION_WORDS)}


def _terms(text: str, drop: frozenset[str] = frozenset()) -> list[str]:
    """Unigrams (less the ``drop`` words) and all bigrams of a text, folded.

    Bigrams keep dropped words so that ``hội chợ`` or ``gia hạn`` still match
    although ``hỏi``/``chợ`` and ``giá``/``hạn`` alone are question words.
    """
    words = _WORD.findall(fold_key(text))
    return [w for w in words if w not in drop] + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


class CatalogIndex:
    """An in-memory search index over the catalog."""

    def __init__(self, procedures: Iterable[Procedure]) -> None:
        self.procedures = list(procedures)
        self._by_id = {p.id: p for p in self.procedures}
        # Terms of each text separately: no bigram across two keywords ("... hội chợ" +
        # "hội chợ ..." must not make "chợ hội", which "cho hỏi" folds to).
        self._terms = [
            sum((Counter(_terms(text)) for text in [p.name, p.field, *p.keywords]), Counter())
            for p in self.procedures
        ]
        self._keywords = [[fold_key(k) for k in p.keywords] for p in self.procedures]
        doc_freq: Counter[str] = Counter()
        for terms in self._terms:
            doc_freq.update(terms.keys())
        n = len(self.procedures)
        self._idf = {t: math.log((n + 1) / (df + 0.5)) for t, df in doc_freq.items()}

    def get(self, procedure_id: str) -> Procedure | None:
        """A procedure by id."""
        return self._by_id.get(procedure_id)

    def search(self, query: str, limit: int = 5) -> list[ProcedureMatch]:
        """Procedures matching ``query``, best first; empty when nothing matches."""
        query_terms = _query_terms(query)
        folded_query = f" {fold_key(query)} "
        hits = []
        for procedure, terms, keywords in zip(self.procedures, self._terms, self._keywords, strict=False):
            score = sum(self._idf[t] * (2.0 if " " in t else 1.0) for t in query_terms if t in terms)
            if score <= 0:
                continue
            # A whole keyword phrase typed by the citizen is strong evidence.
            score += sum(2.0 * len(k.split()) for k in keywords if f" {k} " in folded_query)
            # Prefer the procedure whose name the query covers best.
            score -= 0.02 * len(terms)
            hits.append(ProcedureMatch(procedure=procedure, score=round(score, 3)))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]
