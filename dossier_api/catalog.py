"""The procedure catalog: loading the data file, keyword search and variants.

Search is diacritic-insensitive: the query and every procedure are folded
(``Bán lẻ xăng dầu`` -> ``ban le xang dau``) and compared as word unigrams and
bigrams, each weighted by how rare it is across the catalog (idf), so words
every procedure shares (``cấp``, ``giấy phép``) count for little and the
distinctive ones (``rượu``, ``xăng``, ``LPG``) decide.

Variants are data: each procedure names its product, activities and acts
(``procedures.yml``), and ``procedure_facets.yml`` the words for each value.
A query that names a facet value favours the procedures that have it and
pushes back those with another value (``bán lẻ rượu`` is not ``bán buôn
rượu``, ``gia hạn`` is not ``cấp mới``); a facet the query leaves open leaves
the variants tied, and ``close_matches`` returns them for the assistant to ask
which one. docs/procedures.md tells the whole resolution.

Staff edit the data file in the console (``CONTENT_DIR``); :class:`CatalogSource`
reloads it within a second of a change, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

from common.text import fold_key, nfc
from common.watch import FileWatch
from dossier_api.models import Authority, Procedure, ProcedureMatch

logger = logging.getLogger(__name__)

CATALOG_FILE = Path(__file__).parent / "data" / "procedures.yml"
FACETS_FILE = Path(__file__).parent / "data" / "procedure_facets.yml"
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
    "hieu_luc": "validity",
    "cach_nop": "submission",
    "muc_do": "online_level",
    "can_cu": "legal_basis",
    "san_pham": "product",
    "hoat_dong": "activities",
    "hanh_vi": "acts",
    "tham_quyen": "authority",
    "review": "review",
}
_AUTHORITY_FIELDS = {
    "co_quan": "name",
    "noi_nop": "where",
    "can_cu": "legal_basis",
    "so_ho_tro": "department_help",
    "review": "review",
}
# Score adjustments for the facets a query names (see the module docstring).
FACET_MATCH = {"product": 3.0, "activities": 3.0, "acts": 4.0}
FACET_MISMATCH = {"product": -8.0, "activities": -8.0, "acts": -8.0}
DEFAULT_ACT = "cap_moi"  # a query that names no act asks about the new licence...
DEFAULT_ACT_BONUS = 1.5  # ...a little more than about its re-issue or renewal
# Variants a question must name to mean them (others are not even candidates): "khuyến mại" alone is the
# city's own registration, not the Ministry's for programmes across provinces; "giấy phép kinh doanh" alone
# is not the foreign-invested trader's.
NAMED_ONLY_ACTIVITIES = frozenset({"nhieu_tinh", "von_nuoc_ngoai"})
# Matches within this distance of the best one are variants the query does not tell apart.
CLOSE_MARGIN = 1.0


def procedure_of(entry: dict) -> Procedure:
    """A procedure from its data-file entry (Vietnamese keys)."""
    fields = {_FIELDS[k]: v for k, v in entry.items()}
    if "authority" in fields:
        fields["authority"] = Authority(**{_AUTHORITY_FIELDS[k]: v for k, v in fields["authority"].items()})
    return Procedure(**fields)


def catalog_file(content_dir: str = "") -> Path:
    """The catalog data file: ``procedures.yml`` in the content directory staff edit, else the repository's."""
    return Path(content_dir) / CATALOG_FILE.name if content_dir else CATALOG_FILE


def load_catalog(path: Path = CATALOG_FILE) -> list[Procedure]:
    """Read the procedure data file."""
    return parse_catalog(path.read_text(encoding="utf-8"))


def parse_catalog(text: str) -> list[Procedure]:
    """The procedures of a catalog data file's text.

    Raises:
        ValueError: not a list of procedures, an unknown or ill-typed field, or an id twice.
    """
    entries = yaml.safe_load(text)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError("the catalog is a list of procedures")
    try:
        procedures = [procedure_of(entry) for entry in entries]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"a procedure has an unknown or misplaced field: {exc}") from exc
    ids = [p.id for p in procedures]
    if len(set(ids)) != len(ids):
        raise ValueError("two procedures have the same id")
    return procedures


class FacetVocabulary:
    """The words for each facet value (``procedure_facets.yml``). A word typed with
    diacritics matches only the same word (``lệ`` is not ``lẻ``); a word typed without
    matches whatever its accents."""

    def __init__(self, table: dict[str, dict[str, list[str]]]) -> None:
        # facet -> folded phrase -> [(the phrase's lower-case NFC words, value)]
        self._phrases: dict[str, dict[tuple[str, ...], list[tuple[tuple[str, ...], str]]]] = {}
        for facet, values in table.items():
            phrases = self._phrases.setdefault(facet, {})
            for value, words in values.items():
                for phrase in words:
                    exact = tuple(_WORD.findall(nfc(str(phrase)).lower()))
                    phrases.setdefault(tuple(fold_key(w) for w in exact), []).append((exact, value))
        self._longest = max((len(k) for phrases in self._phrases.values() for k in phrases), default=1)

    @classmethod
    def from_file(cls, path: Path = FACETS_FILE) -> FacetVocabulary:
        """Load the facet vocabulary file."""
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")) or {})

    def names_ours(self, text: str) -> bool:
        """Whether ``text`` names one of the sector's products or an activity meant only when named: what
        makes another body's general words ("giấy phép kinh doanh") the department's ("... khí đốt hóa
        lỏng", "công ty vốn Hàn ...")."""
        named = self.find(text)
        return bool(named.get("san_pham") or named.get("hoat_dong", set()) & NAMED_ONLY_ACTIVITIES)

    def find(self, text: str) -> dict[str, set[str]]:
        """Per facet (``san_pham``, ``hoat_dong``, ``hanh_vi``): the values the text names,
        longest phrase first, each word in at most one phrase per facet."""
        found: dict[str, set[str]] = {}
        for facet, value, _ in self._scan(text):
            found.setdefault(facet, set()).add(value)
        return found

    def other_words(self, text: str) -> list[str]:
        """The folded words of ``text`` that are in no facet phrase it names ("cho hỏi về văn
        phòng đại diện" -> cho, hoi, ve)."""
        folded = [fold_key(w) for w in _WORD.findall(nfc(text).lower())]
        covered = {i for _, _, span in self._scan(text) for i in span}
        return [w for i, w in enumerate(folded) if i not in covered]

    def _scan(self, text: str) -> Iterator[tuple[str, str, range]]:
        """(facet, value, word positions) of each facet phrase of ``text``."""
        typed = _WORD.findall(nfc(text).lower())
        folded = [fold_key(w) for w in typed]
        for facet, phrases in self._phrases.items():
            pos = 0
            while pos < len(typed):
                for size in range(min(self._longest, len(typed) - pos), 0, -1):
                    value = self._value(phrases.get(tuple(folded[pos : pos + size]), ()), typed[pos : pos + size])
                    if value is not None:
                        yield facet, value, range(pos, pos + size)
                        pos += size
                        break
                else:
                    pos += 1

    @staticmethod
    def _value(candidates: Iterable[tuple[tuple[str, ...], str]], typed: list[str]) -> str | None:
        for exact, value in candidates:
            if all(t == e or t == fold_key(t) for t, e in zip(typed, exact, strict=True)):
                return value
        return None


_FACET_KEYS = {"san_pham": "product", "hoat_dong": "activities", "hanh_vi": "acts"}


def _facet_score(procedure: Procedure, named: dict[str, set[str]]) -> float:
    """How well a procedure's product, activities and acts fit what the query names."""
    score = 0.0
    product_named = procedure.product in named.get("san_pham", ()) or not procedure.product
    for facet, attribute in _FACET_KEYS.items():
        have = getattr(procedure, attribute)
        have = {have} if isinstance(have, str) else set(have)
        have.discard("")
        wanted = named.get(facet, set())
        if attribute == "acts" and not wanted:
            score += DEFAULT_ACT_BONUS if DEFAULT_ACT in have else 0.0
        elif wanted and not wanted & have and (have or wanted & NAMED_ONLY_ACTIVITIES):
            # (a procedure without activities lacks one meant only when named: "công ty vốn Hàn")
            score += FACET_MISMATCH[attribute]
        elif wanted & have and (attribute != "activities" or product_named):
            # An activity counts for the procedure only with its product ("đăng ký" alone
            # does not make a promotion registration, "đăng ký khuyến mại" does).
            score += FACET_MATCH[attribute]
    return score


def _named_acts_first(named: dict[str, set[str]]) -> dict[str, set[str]]:
    """The new licence's words are part of licences' names ("cấp lại giấy phép *thành lập* văn phòng
    đại diện"): beside another act they name that act only."""
    acts = named.get("hanh_vi", set())
    if DEFAULT_ACT in acts and len(acts) > 1:
        return {**named, "hanh_vi": acts - {DEFAULT_ACT}}
    return named


# Words that add the provinces named to this one ("chạy luôn cả Huế"), folded.
_AS_WELL = re.compile(r"(?<!\w)(?:ca|luon|them|ngoai ra|as well|also)(?!\w)")
HOME_PROVINCE = "da_nang"


def _across_provinces(query: str, named: dict[str, set[str]]) -> dict[str, set[str]]:
    """A question naming two provinces or more ("ở Huế với Quảng Ngãi"), or another province as well as
    this one ("luôn cả Huế"), names a programme across provinces (``nhieu_tinh``)."""
    provinces = named.get("tinh_thanh", set())
    if len(provinces) >= 2 or (provinces - {HOME_PROVINCE} and _AS_WELL.search(fold_key(query))):
        return {**named, "hoat_dong": named.get("hoat_dong", set()) | {"nhieu_tinh"}}
    return named


def _prefer_named_variants(
    hits: list[tuple[Procedure, float]], named: dict[str, set[str]]
) -> list[tuple[Procedure, float]]:
    """Within a family of variants (one product; for acts, one product and activity), the
    members that have what the query names (or, naming no act, the new licence) rank
    clearly above those that lack it, whatever their other words scored."""
    scores = {p.id: score for p, score in hits}
    passes = [("activities", named.get("hoat_dong", set()), lambda p: p.product),
              ("acts", named.get("hanh_vi", set()) or {DEFAULT_ACT}, lambda p: (p.product, tuple(p.activities)))]
    for attribute, wanted, family_of in passes:
        if not wanted:
            continue
        families: dict[object, list[Procedure]] = {}
        for procedure, _ in hits:
            if procedure.product:
                families.setdefault(family_of(procedure), []).append(procedure)
        for members in families.values():
            # Those that have the most of what the query names ("ở 3 tỉnh": registration *and* several
            # provinces, not registration alone).
            most = max(len(wanted & set(getattr(p, attribute))) for p in members)
            covering = [p for p in members if most and len(wanted & set(getattr(p, attribute))) == most]
            if not covering or len(covering) == len(members):
                continue
            cap = max(scores[p.id] for p in covering) - CLOSE_MARGIN - 0.5
            for p in members:
                if p not in covering:
                    scores[p.id] = min(scores[p.id], cap)
    return [(p, scores[p.id]) for p, _ in hits]


def close_matches(matches: list[ProcedureMatch], margin: float = CLOSE_MARGIN) -> list[ProcedureMatch]:
    """The best match and those the query does not tell apart from it (within ``margin``)."""
    if not matches:
        return []
    top = matches[0].score
    return [m for m in matches if m.score >= top - margin]


# Words of the question itself ("bao lâu", "lệ phí", "ở đâu"...), folded: they
# say what is asked, not which procedure, and are dropped from queries.
QUESTION_WORDS = frozenset("""
    thoi gian han bao lau nhieu may ngay hom le phi chi tien gia mat ton dong
    giay to ho so thanh phan gom nhung gi can chuan bi nop o dau cho nao noi
    the nao sao ra lam cach thu tuc huong dan hoi cho toi minh em anh chi ad
    xin muon duoc khong ko k co la thi con vay a oi nhe giup voi va hay
    cap giay phep chung nhan giai quyet ket qua tra khi cao
    no do kia nay day cai len mang theo den ve
    """.split())


# What citizens call any licence, and the department itself: a query's words inside these
# phrases say nothing about which procedure ("giấy phép kinh doanh quán ăn" is not the
# foreign-invested trader's "Giấy phép kinh doanh"; "sở công thương ở đâu" is not the food
# safety certificate "do Sở Công Thương thực hiện"); a procedure's own words around them still do.
GENERIC_PHRASES = re.compile(r"\b(?:(?:giay phep|giay|dang ky) )?kinh doanh\b|\b(?:so )?cong thuong\b")


# Word pairs any licence question has: they say nothing of which licence.
GENERIC_BIGRAMS = frozenset({"cap giay", "giay phep", "xin giay", "lam giay", "giay chung", "chung nhan", "cap phep",
                             "xin phep", "ho so", "giay to", "mang theo"})  # (every procedure has its hồ sơ)


def _query_terms(query: str) -> set[str]:
    """The terms of a query, less its question words and generic licence phrases."""
    pieces = GENERIC_PHRASES.split(fold_key(query))
    return {t for piece in pieces for t in _terms(piece, QUESTION_WORDS) if t not in GENERIC_BIGRAMS}


def _terms(text: str, drop: frozenset[str] = frozenset()) -> list[str]:
    """Unigrams (less the ``drop`` words) and all bigrams of a text, folded.

    Bigrams keep dropped words so that ``hội chợ`` or ``gia hạn`` still match
    although ``hỏi``/``chợ`` and ``giá``/``hạn`` alone are question words.
    """
    words = _WORD.findall(fold_key(text))
    return [w for w in words if w not in drop] + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


class CatalogIndex:
    """An in-memory search index over the catalog."""

    def __init__(self, procedures: Iterable[Procedure], facets: FacetVocabulary | None = None) -> None:
        self.procedures = list(procedures)
        self._facets = facets if facets is not None else FacetVocabulary.from_file()
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
        folded_query = f" {' '.join(_WORD.findall(fold_key(query)))} "
        named = _across_provinces(query, _named_acts_first(self._facets.find(query)))
        hits: list[tuple[Procedure, float]] = []
        for procedure, terms, keywords in zip(self.procedures, self._terms, self._keywords, strict=False):
            score = sum(self._idf[t] * (2.0 if " " in t else 1.0) for t in query_terms if t in terms)
            if set(procedure.activities) & NAMED_ONLY_ACTIVITIES - named.get("hoat_dong", set()):
                continue  # meant only when named: several provinces, foreign investment
            facets = _facet_score(procedure, named)
            # No shared word, but the named product fits ("wholesale alcohol licence"), or the activity
            # meant only when named ("a foreign-invested company ... what is the fee").
            fits = (procedure.product and procedure.product in named.get("san_pham", ())) or (
                set(procedure.activities) & NAMED_ONLY_ACTIVITIES & named.get("hoat_dong", set()))
            if score <= 0 and not fits:
                continue
            # A whole keyword phrase typed by the citizen is strong evidence.
            score += sum(2.0 * len(k.split()) for k in keywords if f" {k} " in folded_query)
            # Prefer the procedure whose name the query covers best.
            score -= 0.02 * len(terms)
            # The variant the words ask for: product, activity (bán buôn / bán lẻ), act (gia hạn).
            score += facets
            hits.append((procedure, score))
        hits = _prefer_named_variants(hits, named)
        hits.sort(key=lambda h: h[1], reverse=True)
        return [ProcedureMatch(procedure=p, score=round(score, 3)) for p, score in hits[:limit]]


class CatalogSource:
    """The catalog index, reloaded from its data file when the file changes (looked at once a
    second at most). A file that no longer loads keeps the last good index (logged).

    Without a path it serves a fixed index (a catalog that lives in a database).
    """

    def __init__(self, path: Path | None = None, index: CatalogIndex | None = None, every_s: float = 1.0) -> None:
        if path is None and index is None:
            raise ValueError("a catalog source needs a data file or an index")
        self.path = path
        self._index = index
        self._facets: FacetVocabulary | None = None
        self._watch = FileWatch(lambda: [path], every_s) if path is not None else None

    def refresh(self) -> CatalogIndex:
        """The index, reloaded first if the file changed (blocking: call it off the event loop)."""
        if self._watch is not None and self._watch.changed():
            try:
                if self._facets is None:
                    self._facets = FacetVocabulary.from_file()
                self._index = CatalogIndex(load_catalog(self.path), self._facets)  # type: ignore[arg-type]
                logger.info("catalog loaded: %d procedures", len(self._index.procedures))
            except Exception:
                if self._index is None:
                    raise
                logger.error("catalog file changed but does not load; the last good catalog stays", exc_info=True)
        assert self._index is not None
        return self._index

    async def current(self) -> CatalogIndex:
        """The index, looking at the file (in a thread) when a look is due."""
        if self._index is None or (self._watch is not None and self._watch.due()):
            return await asyncio.to_thread(self.refresh)
        return self._index
