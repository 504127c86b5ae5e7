"""The knowledge base files keep the shape and quality the project promises."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from common.text import fold_key
from knowledge.loader import KnowledgeError, load

ROOT = Path(__file__).resolve().parents[2]
TOPICS = {"xang_dau", "khi_lpg", "ruou", "thuoc_la", "khuyen_mai", "thuong_mai_dien_tu", "ban_hang_da_cap",
          "nguoi_tieu_dung", "an_toan_thuc_pham", "dien", "cum_cong_nghiep", "quan_ly_thi_truong"}
# A document number (81/2018/NĐ-CP, 61/2024/QH15, QCVN 01:2020/BCT) or a named law with its year.
_DOCUMENT = re.compile(r"\d+/\d{4}/[A-ZĐa-z0-9-]+|\d+:\d{4}/[A-Z]+|(Luật|Bộ luật|Pháp lệnh) [^,;]+ \d{4}")
_SENTENCES = re.compile(r"[.!?](?:\s|$)")


@pytest.fixture(scope="module")
def kb():
    return load()


def test_at_least_150_entries_over_every_topic_of_the_sector(kb) -> None:
    assert len(kb.entries) >= 150
    assert set(kb.topics) == TOPICS
    assert all(sum(e.topic == t for e in kb.entries) >= 8 for t in TOPICS)


def test_every_entry_is_complete(kb) -> None:
    for e in kb.entries:
        assert 2 <= len(e.alternatives) <= 4, e.id
        assert 2 <= len(_SENTENCES.findall(e.answer)) <= 6, e.id
        assert _DOCUMENT.search(e.legal_basis), e.id
        assert dt.date(2025, 7, 1) <= e.reviewed <= dt.date.today(), e.id  # reviewed after the 2025 reform
        for text in (e.question, e.answer, *e.alternatives):
            assert unicodedata.normalize("NFC", text) == text, e.id
        # Citizens are addressed as anh/chị, never "bạn".
        assert " bạn " not in f" {e.answer.lower()} ", e.id


def test_phrasings_are_not_repeated_across_entries(kb) -> None:
    seen: dict[str, str] = {}
    for e in kb.entries:
        for phrasing in e.phrasings:
            key = fold_key(phrasing)
            assert seen.setdefault(key, e.id) == e.id, f"{phrasing!r} in {seen[key]} and {e.id}"


def test_linked_procedures_are_in_the_catalog(kb) -> None:
    catalog = {p["id"] for p in yaml.safe_load((ROOT / "dossier_api/data/procedures.yml").read_text("utf-8"))}
    linked = {p for e in kb.entries for p in e.procedures}
    assert linked and linked <= catalog, linked - catalog


def _write(directory: Path, entries: list[dict], topic: str = "thu") -> None:
    (directory / f"{topic}.yml").write_text(
        yaml.safe_dump({"topic": topic, "title": "Thử", "entries": entries}, allow_unicode=True), encoding="utf-8")


ENTRY = {"id": "mot", "question": "Câu hỏi?", "alternatives": ["a", "b"], "answer": "Một. Hai.",
         "legal_basis": "Nghị định 81/2018/NĐ-CP, Điều 17", "reviewed": dt.date(2026, 12, 1)}


def test_a_valid_file_loads_with_its_defaults(tmp_path: Path) -> None:
    _write(tmp_path, [ENTRY])
    [entry] = load(tmp_path).entries
    assert entry.topic == "thu" and not entry.review_needed and entry.procedures == ()


@pytest.mark.parametrize("broken, message", [
    ({"reviewed": None}, "missing reviewed"),
    ({"reviewed": "hôm qua"}, "must be a date"),
    ({"id": "Có Dấu"}, "snake case"),
    ({"answer": ""}, "missing answer"),
    ({"nguon": "x"}, "unknown fields"),
    ({"alternatives": "một câu"}, "are lists"),
])
def test_a_broken_entry_is_named_in_the_error(tmp_path: Path, broken: dict, message: str) -> None:
    _write(tmp_path, [{**ENTRY, **broken}])
    with pytest.raises(KnowledgeError, match=message):
        load(tmp_path)


def test_an_id_used_twice_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, [ENTRY], "mot")
    _write(tmp_path, [ENTRY], "hai")
    with pytest.raises(KnowledgeError, match="id mot is also in"):
        load(tmp_path)
