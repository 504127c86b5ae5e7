"""Pure text functions behind the Vietnamese NLU components (no Rasa imports).

A token's *lemma* is its folded, lower-case form with teencode expanded:
``Hồ`` -> ``ho``, ``hs`` -> ``ho so``, ``đc`` -> ``duoc``. Featurizers read
lemmas, so ``hồ sơ``, ``ho so`` and ``hs`` look alike to the classifier.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from common.codes import find_codes
from common.text import fold_key, nfc
from dossier_api.catalog import FacetVocabulary

DATA_DIR = Path(__file__).parent / "data"
TEENCODE_FILE = DATA_DIR / "teencode.yml"
LEXICON_FILE = DATA_DIR / "lexicon.yml"
CUES_FILE = DATA_DIR / "cues.yml"
SHAPES_FILE = DATA_DIR / "shapes.yml"
OTHER_AGENCIES_FILE = DATA_DIR / "other_agencies.yml"
CODE_LEMMA = "__ma_ho_so__"

_WORD = re.compile(r"[\w]+(?:[.,'’][\w]+)*", re.UNICODE)
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")


def file_digest(*paths: Path) -> str:
    """Content hash of data files: part of a component's config, so that editing a
    file changes Rasa's training fingerprint and the model is retrained."""
    import hashlib

    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Span:
    """A token: its text span in the (NFC) message and its lemma."""

    text: str
    start: int
    end: int
    lemma: str


@lru_cache(maxsize=8)
def load_teencode(path: Path = TEENCODE_FILE) -> dict[str, str]:
    """The abbreviation map, keys folded."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {fold_key(str(k)): fold_key(str(v)) for k, v in raw.items()}


def lemma_of(word: str, teencode: dict[str, str]) -> str:
    """Folded, lower-case, teencode-expanded form of one word.

    A long number (five digits or more, e.g. a piece of a mistyped dossier
    code) reads as a code, so a malformed code still looks like a lookup.
    """
    if sum(c.isdigit() for c in word) >= 5:
        return CODE_LEMMA
    folded = fold_key(word)
    if folded in teencode:
        return teencode[folded]
    key = _REPEATS.sub(r"\1", folded)  # "okkkk" -> "ok", but "zzzzzz" stays: not "z" (= "vậy")
    return teencode.get(key, key) if len(key) > 1 else folded


def split_tokens(text: str, teencode: dict[str, str]) -> list[Span]:
    """Split an NFC text into tokens; each dossier code becomes one token."""
    spans: list[Span] = []
    cursor = 0
    for match in find_codes(text):
        spans.extend(_words(text, cursor, match.start, teencode))
        spans.append(Span(text[match.start : match.end], match.start, match.end, CODE_LEMMA))
        cursor = match.end
    spans.extend(_words(text, cursor, len(text), teencode))
    return spans


class Shapes:
    """Sentence shapes (``vn_nlu/data/shapes.yml``): regular expressions over a message's
    lemmas joined by spaces, with `` ?`` appended when the text has a question mark.

    A cue phrase is contiguous; a shape is not: "có [cần | phải | được | bị] ... không"
    asks whether a rule requires or allows something, whatever the words between.
    """

    def __init__(self, shapes: dict[str, list[str]]) -> None:
        self._shapes = {name: [re.compile(p) for p in patterns] for name, patterns in shapes.items()}

    @classmethod
    def from_file(cls, path: Path = SHAPES_FILE) -> Shapes:
        """The shapes of a YAML file: name -> list of patterns."""
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")) or {})

    @property
    def names(self) -> list[str]:
        """The shape names, in file order."""
        return list(self._shapes)

    @staticmethod
    def key(text: str, tokens: list[Span]) -> str:
        """What the patterns are matched against."""
        key = " ".join(t.lemma for t in tokens)
        return f"{key} ?" if "?" in text else key

    def find(self, text: str, tokens: list[Span]) -> list[str]:
        """The names of the shapes the message has."""
        key = self.key(text, tokens)
        return [name for name, patterns in self._shapes.items() if any(p.search(key) for p in patterns)]


def _words(text: str, start: int, end: int, teencode: dict[str, str]) -> list[Span]:
    return [
        Span(m.group(), start + m.start(), start + m.end(), lemma_of(m.group(), teencode))
        for m in _WORD.finditer(text[start:end])
    ]


def _marked_words(tokens: list[Span]) -> tuple[str | None, ...] | None:
    """Per folded word of a phrase: the word as written when it has diacritics (None: any form
    matches); None for the whole phrase when a token stands for several words (teencode)."""
    marked: list[str | None] = []
    for token in tokens:
        if len(token.lemma.split()) != 1:
            return None
        text = token.text.lower()
        marked.append(text if fold_key(text) != text else None)
    return tuple(marked) if any(marked) else None


def _marks(char: str) -> tuple[str, frozenset[str]]:
    """A letter's base and its diacritics (đ is d with a stroke)."""
    if char == "đ":
        return "d", frozenset({"stroke"})
    base, *marks = unicodedata.normalize("NFD", char)
    return base, frozenset(marks)


def _marks_compatible(typed: str, phrase_word: str) -> bool:
    """Whether ``typed`` is ``phrase_word`` with some of its diacritics left out.

    Only a word typed as its own letters is checked: an abbreviation or a word with
    squeezed repeats ("okkk") is left to the folded comparison."""
    if len(typed) != len(phrase_word) or fold_key(typed) != fold_key(phrase_word):
        return True
    for t, p in zip(typed, phrase_word, strict=True):
        t_base, t_marks = _marks(t)
        p_base, p_marks = _marks(p)
        if t_base != p_base or not t_marks <= p_marks:
            return False
    return True


@dataclass(frozen=True)
class LexiconHit:
    """An entity found by the lexicon: type, canonical value, token range."""

    entity: str
    value: str
    first_token: int
    last_token: int


class Lexicon:
    """Phrase lists of closed-vocabulary entities, matched on lemmas.

    Each entity type is matched on its own, so one phrase may be both a place
    type and a procedure topic (``cây xăng``).
    """

    def __init__(
        self,
        entries: dict[str, dict[str, list[str]]],
        teencode: dict[str, str],
        exact_only: list[str] = (),
        plain_unless: dict[str, dict[str, list[str]]] | None = None,
    ) -> None:
        # entity -> folded words -> (value, the exact lower-case words or None)
        self._phrases: dict[str, dict[tuple[str, ...], tuple[str, tuple[str, ...] | None]]] = {}
        # (entity, folded words) -> per phrase folding to them ("khuyến mại", "khuyến mãi"): its own
        # word per folded word, where it has diacritics
        self._marked: dict[tuple[str, tuple[str, ...]], list[tuple[str | None, ...] | None]] = {}
        exact = {nfc(str(p)).lower() for p in exact_only}
        # Ambiguous phrases typed without diacritics, allowed unless a neighbour says otherwise:
        # phrase -> {"next": words, "prev": words} (folded), e.g. "cho mình hỏi" is not "chợ".
        self._plain_unless = {
            tuple(fold_key(str(p)).split()): {k: {fold_key(str(w)) for w in v} for k, v in rule.items()}
            for p, rule in (plain_unless or {}).items()
        }
        for entity, values in entries.items():
            table = self._phrases.setdefault(entity, {})
            for value, phrases in values.items():
                for phrase in phrases:
                    tokens = split_tokens(nfc(str(phrase)).lower(), teencode)
                    words = tuple(w for t in tokens for w in t.lemma.split())
                    typed = tuple(t.text for t in tokens) if nfc(str(phrase)).lower() in exact else None
                    if words:
                        table.setdefault(words, (value, typed))
                        self._marked.setdefault((entity, words), []).append(_marked_words(tokens))
        # first word -> candidate phrases, longest first: find() looks only at these
        self._by_first_word: dict[str, list[tuple[str, tuple[str, ...], str, tuple[str, ...] | None]]] = {}
        for entity, table in self._phrases.items():
            for words, (value, typed) in table.items():
                self._by_first_word.setdefault(words[0], []).append((entity, words, value, typed))
        for candidates in self._by_first_word.values():
            candidates.sort(key=lambda c: -len(c[1]))

    @classmethod
    def of_groups(cls, groups: dict[str, list[str]], teencode: dict[str, str], exact_only: list[str] = ()) -> Lexicon:
        """Phrase groups without values (cue words, other agencies' papers): each group
        is an entity whose one value is its own name."""
        return cls({name: {name: phrases} for name, phrases in groups.items()}, teencode, exact_only)

    @classmethod
    def from_file(cls, path: Path = LEXICON_FILE, teencode: dict[str, str] | None = None) -> Lexicon:
        """Load the lexicon data file."""
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        exact_only = entries.pop("exact_only", [])
        plain_unless = entries.pop("plain_unless", {})
        return cls(entries, teencode if teencode is not None else load_teencode(), exact_only, plain_unless)

    @property
    def entities(self) -> list[str]:
        """The entity (or cue) names, in a stable order."""
        return sorted(self._phrases)

    def find(self, tokens: list[Span]) -> list[LexiconHit]:
        """Per entity type: non-overlapping hits, longest phrase first, left to right."""
        words = [(w, i) for i, t in enumerate(tokens) for w in t.lemma.split()]
        lemmas = [w for w, _ in words]
        covered = dict.fromkeys(self._phrases, -1)  # per entity: last word position already in a hit
        hits: list[LexiconHit] = []
        for pos, first in enumerate(lemmas):
            for entity, key, value, typed in self._by_first_word.get(first, ()):
                end = pos + len(key)
                if pos <= covered[entity] or tuple(lemmas[pos:end]) != key:
                    continue
                if not any(self._marks_ok(m, words[pos:end], tokens) for m in self._marked.get((entity, key), [None])):
                    continue
                first_token, last_token = words[pos][1], words[end - 1][1]
                if self._typed_ok(typed, tokens[first_token : last_token + 1]) or self._plain_ok(
                    key, tokens, first_token, last_token
                ):
                    hits.append(LexiconHit(entity, value, first_token, last_token))
                    covered[entity] = end - 1
        return hits

    def _plain_ok(self, key: tuple[str, ...], tokens: list[Span], first: int, last: int) -> bool:
        """An ambiguous phrase typed without diacritics, in a context that allows it."""
        rule = self._plain_unless.get(key)
        if rule is None or any(fold_key(t.text) != t.text.lower() for t in tokens[first : last + 1]):
            return False
        after = tokens[last + 1].lemma.split()[0] if last + 1 < len(tokens) else ""
        before = tokens[first - 1].lemma.split()[-1] if first > 0 else ""
        # "địa chỉ chợ gần": after a phrase of its own ("after") a word of "prev" ("chỉ") does not rule it out
        led = " ".join(t.lemma for t in tokens[max(0, first - 2) : first])
        ruled_out = before in rule.get("prev", ()) and led not in rule.get("after", ())
        return after not in rule.get("next", ()) and not ruled_out

    @staticmethod
    def _marks_ok(marked: tuple[str | None, ...] | None, words: list[tuple[str, int]], tokens: list[Span]) -> bool:
        """A word typed with diacritics matches a phrase word only if its marks are the phrase's
        (or fewer of them): "lậu" is not "lâu", "đặt" is not "đất", but "đat" and "dat" are "đặt"."""
        if marked is None:
            return True
        for phrase_word, (_, index) in zip(marked, words, strict=True):
            token = tokens[index]
            if phrase_word is not None and not _marks_compatible(token.text.lower(), phrase_word):
                return False
        return True

    @staticmethod
    def _typed_ok(typed: tuple[str, ...] | None, tokens: list[Span]) -> bool:
        """An ambiguous phrase (``chợ``/``cho``) matches only as typed with diacritics."""
        return typed is None or tuple(t.text.lower() for t in tokens) == typed


@dataclass(frozen=True)
class OtherAgency:
    """Another agency's matter: who handles it, where, on what basis (``review``: staff to confirm)."""

    key: str
    name: str
    where: str
    legal_basis: str
    review: bool = False
    yields: bool = False  # its words are general ("giấy phép kinh doanh"): a product of the sector named wins


@lru_cache(maxsize=1)
def _other_agencies() -> tuple[Lexicon, dict[str, OtherAgency]]:
    data = yaml.safe_load(OTHER_AGENCIES_FILE.read_text(encoding="utf-8")) or {}
    lexicon = Lexicon({"co_quan_khac": {key: entry["tu_khoa"] for key, entry in data.items()}}, load_teencode())
    agencies = {
        key: OtherAgency(key, entry["co_quan"], entry["noi_nop"], entry["can_cu"], bool(entry.get("review")),
                         bool(entry.get("nhuong_san_pham")))
        for key, entry in data.items()
    }
    return lexicon, agencies


@lru_cache(maxsize=1)
def _facets() -> FacetVocabulary:
    return FacetVocabulary.from_file()


def other_agency(text: str) -> OtherAgency | None:
    """The other agency whose procedure or paper a message names (``hộ chiếu``, ``cccd``,
    ``sổ đỏ``, ``vay vốn``), from ``vn_nlu/data/other_agencies.yml``; None if none, or if its words
    are general ones that yield (``giấy phép kinh doanh``) and the message names what is the
    sector's too (the catalog's vocabulary: ``... khí hóa lỏng``, ``công ty vốn Hàn ...``)."""
    lexicon, agencies = _other_agencies()
    tokens = split_tokens(nfc(text), load_teencode())
    hits = lexicon.find(tokens)
    if not hits:
        return None
    agency = agencies[hits[0].value]
    if agency.yields and _facets().names_ours(text):
        return None
    return agency


def names_other_agency(text: str) -> bool:
    """Whether a message names another agency's procedure or paper."""
    return other_agency(text) is not None


# Folded words of "that is not what I meant": a "no" with one of them corrects the last answer
# ("sai rồi", "không phải thủ tục đó"); a "no" without declines ("không cần đâu"). Not "phải không"
# (a question: "trễ hạn rồi phải không").
_CORRECTION = re.compile(r"\b(?:sai|nham|khong phai|ko phai|k phai|hong phai|chang phai|cha dung|chua dung|"
                         r"khong dung|ko dung|hieu sai|hieu nham|hieu lam|lac de|khong lien quan|cha lien quan|"
                         r"wrong|not what|y em la|y toi la|y minh la|y tui la|i meant)\b")  # "ý em là bán lẻ": I meant


def is_correction(text: str) -> bool:
    """Whether a short "no" says the last answer was wrong (rather than declining something)."""
    return bool(_CORRECTION.search(fold_key(text)))


# Words of scolding the assistant ("bot ngu quá", "vô dụng thật", "trả lời như cc"): the last answers did
# not help, whatever the classifier read (a greeting, a yes). Matched on the lower-cased text, each word
# with its diacritics or typed without any: folded, "ngu" would also be "ngủ" (chúc ngủ ngon).
_SCOLDING = re.compile(r"(?<!\w)(?:ngu(?! ngon)|ngu ngốc|dốt|dot|vô dụng|vo dung|vô tích sự|vo tich su|như cc|nhu cc|"
                       r"như c|nhu c|như shit|nhu shit|như cứt|tệ quá|te qua|tệ thật|dở quá|dở tệ|"
                       r"chán quá|chan qua|hiểu tiếng người|hieu tieng nguoi|bot gì mà|bot gi ma|"
                       r"stupid|useless|dumb)(?!\w)")


def scolds_the_assistant(text: str) -> bool:
    """Whether a short message (at most eight words) scolds the assistant rather than asking anything."""
    lowered = nfc(text).lower()
    return len(lowered.split()) <= 8 and bool(_SCOLDING.search(lowered))
