"""The one loader of the knowledge base: ``knowledge/data/*.yml`` -> checked entries.

Each file is one topic::

    topic: xang_dau
    title: Kinh doanh xăng dầu
    entries:
      - id: xd_dieu_kien_cua_hang        # stable, ASCII snake case, unique across files
        question: ...                     # the canonical question
        alternatives: [...]               # 2-4 other ways citizens ask it
        answer: ...                       # 2-6 sentences of plain Vietnamese, "anh/chị"
        legal_basis: Nghị định 83/2014/NĐ-CP, Điều 25
        reviewed: 2026-12-01              # last review by staff
        review_needed: true               # optional: not sure the rule is current
        procedures: [ban_le_xang_dau]     # optional: catalog ids (dossier_api/data/procedures.yml)

``{hotline}`` in an answer is replaced by the configured hotline when the reply is
worded, so a changed number is edited once, in the settings.

Staff edit these files in the console (``CONTENT_DIR``/knowledge); the retriever
reloads them within a second of a change (:func:`knowledge.retrieval.retriever_for`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from common.text import nfc

DATA_DIR = Path(__file__).parent / "data"
CONTENT_SUBDIR = "knowledge"  # the knowledge base's place in a content directory
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED = ("id", "question", "alternatives", "answer", "legal_basis", "reviewed")
_FIELDS = set(_REQUIRED) | {"review_needed", "procedures"}


class KnowledgeError(ValueError):
    """A data file breaks the format: the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    """One question and its answer."""

    id: str
    topic: str
    question: str
    alternatives: tuple[str, ...]
    answer: str
    legal_basis: str
    reviewed: dt.date
    review_needed: bool = False
    procedures: tuple[str, ...] = ()

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The canonical question first, then the alternatives."""
        return (self.question, *self.alternatives)


@dataclass(frozen=True)
class KnowledgeBase:
    """Every entry, in file order, and the topic titles."""

    entries: tuple[Entry, ...]
    topics: dict[str, str]

    def get(self, entry_id: str) -> Entry:
        """The entry with that id (``KeyError`` if none)."""
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)


def data_dir(content_dir: str = "") -> Path:
    """The knowledge base's directory: ``knowledge/`` in the content directory staff edit, else the repository's."""
    return Path(content_dir) / CONTENT_SUBDIR if content_dir else DATA_DIR


def data_files(directory: Path = DATA_DIR) -> list[Path]:
    """The topic files of a knowledge base directory, in load order."""
    return sorted(Path(directory).glob("*.yml"))


def load(directory: Path = DATA_DIR, replaced: Mapping[str, str] | None = None) -> KnowledgeBase:
    """Read and check every ``*.yml`` file of ``directory`` (blocking: call it off the event loop).

    ``replaced``: texts to check in place of some files (by file name), before an edit is written.
    """
    replaced = replaced or {}
    entries: list[Entry] = []
    topics: dict[str, str] = {}
    seen: dict[str, str] = {}
    for path in data_files(directory):
        text = replaced[path.name] if path.name in replaced else path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text) or {}
        topic = str(raw.get("topic") or "")
        if not _ID.match(topic) or not raw.get("title") or not isinstance(raw.get("entries"), list):
            raise KnowledgeError(f"{path.name}: needs topic (snake case), title and a list of entries")
        if topic in topics:
            raise KnowledgeError(f"{path.name}: topic {topic} is also in another file")
        topics[topic] = nfc(str(raw["title"]))
        for item in raw["entries"]:
            entry = check_entry(item, topic, path.name)
            if entry.id in seen:
                raise KnowledgeError(f"{path.name}: id {entry.id} is also in {seen[entry.id]}")
            seen[entry.id] = path.name
            entries.append(entry)
    if not entries:
        raise KnowledgeError(f"no entries in {directory}")
    return KnowledgeBase(tuple(entries), topics)


def check_entry(item: object, topic: str, where: str) -> Entry:
    """One entry of a data file, checked (``KnowledgeError`` names what is wrong)."""
    if not isinstance(item, dict):
        raise KnowledgeError(f"{where}: an entry is not a mapping")
    name = f"{where}: {item.get('id', '?')}"
    missing = [k for k in _REQUIRED if item.get(k) in (None, "", [])]
    if missing:
        raise KnowledgeError(f"{name}: missing {', '.join(missing)}")
    unknown = set(item) - _FIELDS
    if unknown:
        raise KnowledgeError(f"{name}: unknown fields {', '.join(sorted(unknown))}")
    if not _ID.match(str(item["id"])):
        raise KnowledgeError(f"{name}: id must be ASCII snake case")
    reviewed = item["reviewed"]
    if not isinstance(reviewed, dt.date):
        raise KnowledgeError(f"{name}: reviewed must be a date (YYYY-MM-DD)")
    alternatives = item["alternatives"]
    procedures = item.get("procedures") or []
    if not isinstance(alternatives, list) or not isinstance(procedures, list):
        raise KnowledgeError(f"{name}: alternatives and procedures are lists")
    return Entry(
        id=str(item["id"]),
        topic=topic,
        question=nfc(str(item["question"]).strip()),
        alternatives=tuple(nfc(str(a).strip()) for a in alternatives),
        answer=nfc(" ".join(str(item["answer"]).split())),
        legal_basis=nfc(str(item["legal_basis"]).strip()),
        reviewed=reviewed,
        review_needed=bool(item.get("review_needed", False)),
        procedures=tuple(str(p) for p in procedures),
    )
