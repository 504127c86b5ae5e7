"""Pure text functions behind the Vietnamese NLU components (no Rasa imports).

A token's *lemma* is its folded, lower-case form with teencode expanded:
``Hồ`` -> ``ho``, ``hs`` -> ``ho so``, ``đc`` -> ``duoc``. Featurizers read
lemmas, so ``hồ sơ``, ``ho so`` and ``hs`` look alike to the classifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from common.codes import find_codes
from common.text import fold_key, nfc

DATA_DIR = Path(__file__).parent / "data"
TEENCODE_FILE = DATA_DIR / "teencode.yml"
LEXICON_FILE = DATA_DIR / "lexicon.yml"
CUES_FILE = DATA_DIR / "cues.yml"
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
    key = _REPEATS.sub(r"\1", fold_key(word))  # "okkkk" -> "ok"
    return teencode.get(key, key)


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


def _words(text: str, start: int, end: int, teencode: dict[str, str]) -> list[Span]:
    return [
        Span(m.group(), start + m.start(), start + m.end(), lemma_of(m.group(), teencode))
        for m in _WORD.finditer(text[start:end])
    ]


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
    ) -> None:
        # entity -> folded words -> (value, the exact lower-case words or None)
        self._phrases: dict[str, dict[tuple[str, ...], tuple[str, tuple[str, ...] | None]]] = {}
        exact = {nfc(str(p)).lower() for p in exact_only}
        for entity, values in entries.items():
            table = self._phrases.setdefault(entity, {})
            for value, phrases in values.items():
                for phrase in phrases:
                    tokens = split_tokens(nfc(str(phrase)).lower(), teencode)
                    words = tuple(w for t in tokens for w in t.lemma.split())
                    typed = tuple(t.text for t in tokens) if nfc(str(phrase)).lower() in exact else None
                    if words:
                        table.setdefault(words, (value, typed))

    @classmethod
    def from_file(cls, path: Path = LEXICON_FILE, teencode: dict[str, str] | None = None) -> Lexicon:
        """Load the lexicon data file."""
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        exact_only = entries.pop("exact_only", [])
        return cls(entries, teencode if teencode is not None else load_teencode(), exact_only)

    @property
    def entities(self) -> list[str]:
        """The entity (or cue) names, in a stable order."""
        return sorted(self._phrases)

    def find(self, tokens: list[Span]) -> list[LexiconHit]:
        """Per entity type: non-overlapping hits, longest phrase first, left to right."""
        words = [(w, i) for i, t in enumerate(tokens) for w in t.lemma.split()]
        hits: list[LexiconHit] = []
        for entity, table in self._phrases.items():
            longest = max((len(p) for p in table), default=0)
            pos = 0
            while pos < len(words):
                for size in range(min(longest, len(words) - pos), 0, -1):
                    key = tuple(w for w, _ in words[pos : pos + size])
                    first, last = words[pos][1], words[pos + size - 1][1]
                    if key in table and self._typed_ok(table[key][1], tokens[first : last + 1]):
                        hits.append(LexiconHit(entity, table[key][0], first, last))
                        pos += size
                        break
                else:
                    pos += 1
        return hits

    @staticmethod
    def _typed_ok(typed: tuple[str, ...] | None, tokens: list[Span]) -> bool:
        """An ambiguous phrase (``chợ``/``cho``) matches only as typed with diacritics."""
        return typed is None or tuple(t.text.lower() for t in tokens) == typed
