"""The training data and domain keep the names and quality the project promises."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import yaml

from common.text import fold_key

ROOT = Path(__file__).resolve().parent.parent
INTENTS = {
    "tra_cuu_ho_so", "hoi_thu_tuc", "hoi_giay_to", "hoi_le_phi", "hoi_thoi_han", "hoi_nop_ho_so",
    "danh_gia", "dat_lich_hen", "chuyen_phat_ket_qua", "phan_anh_kien_nghi", "tim_dia_diem",
    "gap_can_bo", "dang_ky_thong_bao", "huy_dang_ky", "hoi_bot", "chao_hoi", "tam_biet", "cam_on",
    "ngoai_pham_vi", "hoi_chinh_sach", "dang_ky_nhan_tin", "hoi_tin_moi",
    "khang_dinh", "phu_dinh",  # short answers: "ok", "không cần", "sai rồi" were read as goodbyes
}
ENTITIES = {"ma_ho_so", "thu_tuc", "muc_do", "loai_dia_diem",
            "ngay_hen", "gio_hen", "huy_lich", "chu_de"}  # the last four come only from button payloads
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def _examples() -> dict[str, list[str]]:
    by_intent: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "nlu_data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" in block:
                for line in block["examples"].splitlines():
                    if line.strip().startswith("- "):
                        by_intent[block["intent"]].append(line.strip()[2:])
    return by_intent


def test_domain_uses_exactly_the_agreed_names() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert set(domain["intents"]) == INTENTS
    assert set(domain["entities"]) == ENTITIES
    assert set(_examples()) == INTENTS


def test_every_intent_has_at_least_60_examples_without_near_duplicates() -> None:
    """Folded forms are what the featurizers see: ``hồ sơ`` and ``ho so`` are one example."""
    for intent, examples in _examples().items():
        folded = {fold_key(_ANNOTATION.sub(r"\1", e)) for e in examples}
        assert len(folded) == len(examples), f"near-duplicates in {intent}"
        assert len(folded) >= 60, intent


def test_examples_are_nfc_and_never_contradict_each_other() -> None:
    seen: dict[str, str] = {}
    for intent, examples in _examples().items():
        for example in examples:
            assert unicodedata.normalize("NFC", example) == example, example
            key = fold_key(_ANNOTATION.sub(r"\1", example))
            assert seen.setdefault(key, intent) == intent, f"{example!r} is both {seen[key]} and {intent}"


def test_both_diacritic_and_plain_forms_are_present() -> None:
    for intent, examples in _examples().items():
        plain = [e for e in examples if fold_key(e) == e.lower()]
        assert 0.2 <= len(plain) / len(examples) <= 0.8, intent
