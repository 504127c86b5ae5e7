"""The content store: validation (Vietnamese problems), the YAML round trip (comments, order,
styles kept), the version check, atomic writes under a lock, and the audit trail."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
import yaml

from bot.staff import content
from bot.staff.content import AuditLog, ContentError, StaleEdit
from dossier_api.catalog import parse_catalog
from knowledge.loader import load
from scripts.localstack import copy_content

GOOD_PROCEDURE = {"giay_to": "Đơn đề nghị\n- Bản sao giấy chứng nhận đăng ký doanh nghiệp\n\n", "so_bo": "1",
                  "le_phi": "Phí thẩm định 2.200.000 đồng/lần", "le_phi_vnd": "2.200.000 đồng",
                  "thoi_han": "10 ngày làm việc", "thoi_han_ngay": "10", "cach_nop": "Nộp trực tuyến",
                  "can_cu": "Nghị định 105/2017/NĐ-CP"}


def test_a_good_procedure_form_becomes_the_data_files_values() -> None:
    fields = content.procedure_fields(GOOD_PROCEDURE)
    assert fields["giay_to"] == ["Đơn đề nghị", "Bản sao giấy chứng nhận đăng ký doanh nghiệp"]
    assert fields["le_phi_vnd"] == 2200000 and fields["thoi_han_ngay"] == 10 and fields["so_bo"] == 1


@pytest.mark.parametrize(("changes", "problem"), [
    ({"le_phi_vnd": "2,2 triệu"}, "số tiền bằng đồng"),
    ({"le_phi_vnd": "-5000"}, "số tiền bằng đồng"),
    ({"le_phi_vnd": "2.500.000"}, "không có số tiền 2.500.000 đồng"),
    ({"le_phi_vnd": "0"}, "lại ghi một số tiền"),
    ({"le_phi": " "}, "Cần nhập lệ phí"),
    ({"thoi_han_ngay": "10 ngày"}, "số ngày làm việc"),
    ({"thoi_han_ngay": "400"}, "số ngày làm việc"),
    ({"giay_to": "\n \n"}, "ít nhất một giấy tờ"),
    ({"so_bo": "0"}, "Số bộ hồ sơ"),
    ({"cach_nop": ""}, "nơi và cách nộp"),
    ({"can_cu": "Nghị định về rượu"}, "số hiệu văn bản"),
])
def test_a_bad_procedure_form_is_refused_with_the_reason(changes: dict, problem: str) -> None:
    with pytest.raises(ContentError) as refused:
        content.procedure_fields({**GOOD_PROCEDURE, **changes})
    assert any(problem in p for p in refused.value.problems), refused.value.problems


def test_every_problem_is_told_at_once_and_an_unknown_amount_may_stay_empty() -> None:
    with pytest.raises(ContentError) as refused:
        content.procedure_fields({**GOOD_PROCEDURE, "le_phi_vnd": "x", "thoi_han_ngay": "", "cach_nop": ""})
    assert len(refused.value.problems) == 3
    assert content.procedure_fields({**GOOD_PROCEDURE, "le_phi_vnd": ""})["le_phi_vnd"] is None


@pytest.mark.parametrize(("typed", "amount"), [("2.200.000", 2200000), ("2 200 000 đồng", 2200000),
                                               ("1200000", 1200000), ("30.000đ", 30000), ("0", 0),
                                               ("2.2", None), ("hai", None), ("1.000.00", None)])
def test_amounts_in_dong(typed: str, amount: int | None) -> None:
    assert content.amount_in_dong(typed) == amount


QA = {"question": "Hỏi gì?", "alternatives": "cách hỏi một\ncách hỏi hai",
      "answer": "Một câu trả lời đủ dài để người dân hiểu, gọi {hotline} nếu cần.",
      "legal_basis": "Nghị định 81/2018/NĐ-CP, Điều 6", "reviewed": "01/12/2026", "procedures": "a b"}
TODAY = dt.date(2026, 12, 1)


def test_a_qa_form_is_checked() -> None:
    fields = content.qa_fields(QA, {"a", "b"}, TODAY)
    assert fields["reviewed"] == TODAY and fields["procedures"] == ["a", "b"] and fields["review_needed"] is None
    with pytest.raises(ContentError) as refused:
        content.qa_fields({**QA, "answer": "Gọi {so_dien_thoai}, đủ dài để không bị coi là quá ngắn nhé.",
                           "reviewed": "02/12/2026", "procedures": "a c", "alternatives": ""}, {"a"}, TODAY)
    problems = " ".join(refused.value.problems)
    assert "{hotline}" in problems and "sau hôm nay" in problems and "c" in problems and "cách hỏi khác" in problems


def test_a_reply_text_keeps_exactly_its_placeholders() -> None:
    old = "Hồ sơ {code}: {status}."
    assert content.text_value({"value": "Hồ sơ {code} đang {status}."}, old) == "Hồ sơ {code} đang {status}."
    for bad, told in [("Hồ sơ {code}.", "{status}"), ("{code} {status} {name}", "{name}"), ("{code {status}", "ngoặc"),
                      ("  ", "trống")]:
        with pytest.raises(ContentError) as refused:
            content.text_value({"value": bad}, old)
        assert told in str(refused.value)


def test_dotted_keys_of_a_texts_mapping() -> None:
    data = content.load_text("a:\n  b: x {n}\n  c:\n    d: y\n'e.f': z\n")
    assert content.flatten(data) == {"a.b": "x {n}", "a.c.d": "y", "e.f": "z"}
    assert content.set_dotted(data, "a.c.d", "Y") == "y" and content.set_dotted(data, "e.f", "Z") == "z"
    assert content.flatten(data) == {"a.b": "x {n}", "a.c.d": "Y", "e.f": "Z"}
    with pytest.raises(KeyError):
        content.set_dotted(data, "a.zz", "?")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_content(tmp_path / "content")


def _change_fee(amount: int) -> content.Callable:
    def change(data):
        entry = next(e for e in data if e["id"] == "ban_le_xang_dau")
        before = content.plain(entry)
        content.set_fields(entry, {"le_phi": f"Phí thẩm định {content.dong(amount)} đồng/điểm kinh doanh",
                                   "le_phi_vnd": amount})
        return before, content.plain(entry)
    return change


def test_a_catalog_edit_changes_only_its_lines(copy: Path) -> None:
    path = copy / "procedures.yml"
    original = path.read_text(encoding="utf-8").splitlines()
    saved = content.edit(path, content.read(path).version, _change_fee(1300000), parse_catalog)
    edited = path.read_text(encoding="utf-8").splitlines()
    changed = [(a, b) for a, b in zip(original, edited, strict=True) if a != b]
    # The two fee lines; ruamel writes an end-of-line comment after one space, not two.
    assert [b for _, b in changed if "review" not in b] == [
        "  le_phi: \"Phí thẩm định 1.300.000 đồng/điểm kinh doanh\"", "  le_phi_vnd: 1300000"]
    assert all(a.replace("  #", " #") == b for a, b in changed if "review" in b)
    assert saved.before["le_phi_vnd"] == 1200000 and saved.after["le_phi_vnd"] == 1300000
    assert saved.version == content.read(path).version
    assert len(parse_catalog(path.read_text(encoding="utf-8"))) == len(yaml.safe_load("\n".join(original)))


def test_a_knowledge_edit_keeps_the_folded_answer_and_its_width(copy: Path) -> None:
    path = copy / "knowledge" / "dien.yml"
    long_answer = "Điện mặt trời mái nhà " + "được hướng dẫn cụ thể tại Sở Công Thương, " * 8 + "gọi {hotline}."

    def change(data):
        entry = data["entries"][0]
        content.set_fields(entry, {"answer": long_answer, "review_needed": None})
        return None, content.plain(entry)

    content.edit(path, content.read(path).version, change, lambda text: None, copy / "knowledge")
    text = path.read_text(encoding="utf-8")
    assert "    answer: >-\n" in text and text.startswith("# Electricity")
    assert max(len(line) for line in text.splitlines() if line.startswith("      ")) <= 124
    entry = load(copy / "knowledge").get("dien_gia_bac_thang")
    assert entry.answer == long_answer and not entry.review_needed


def test_a_stale_version_is_refused_and_a_failed_check_writes_nothing(copy: Path) -> None:
    path = copy / "procedures.yml"
    opened = content.read(path).version
    content.edit(path, opened, _change_fee(1300000), parse_catalog)
    after_first = path.read_bytes()
    with pytest.raises(StaleEdit):
        content.edit(path, opened, _change_fee(1400000), parse_catalog)

    def refuse(text: str) -> None:
        raise ContentError("không đọc được")

    with pytest.raises(ContentError):
        content.edit(path, content.read(path).version, _change_fee(1500000), refuse)
    assert path.read_bytes() == after_first
    assert [p.name for p in copy.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_two_editors_at_once_one_wins_the_other_is_stale(copy: Path) -> None:
    path = copy / "procedures.yml"
    opened = content.read(path).version
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def editor(amount: int) -> None:
        start.wait()
        try:
            content.edit(path, opened, _change_fee(amount), parse_catalog)
            outcomes.append("saved")
        except StaleEdit:
            outcomes.append("stale")

    threads = [threading.Thread(target=editor, args=(a,)) for a in (1300000, 1400000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["saved", "stale"]


def test_the_audit_trail_keeps_who_when_what_before_and_after(tmp_path: Path) -> None:
    audit = AuditLog.next_to(tmp_path / "staff.sqlite3")
    at = dt.datetime(2026, 12, 1, 9, 30)
    audit.record(at, "mai.tran", "procedures.yml", "ban_le_xang_dau", {"le_phi_vnd": 1200000, "so_bo": 1},
                 {"le_phi_vnd": 1300000, "so_bo": 1})
    audit.record(at, "mai.tran", "knowledge/dien.yml", "moi", None, {"id": "moi", "reviewed": dt.date(2026, 12, 1)})
    latest, first = audit.recent()
    assert latest.before is None and latest.after["reviewed"] == "2026-12-01"
    assert (first.username, first.at, first.file, first.entry) == ("mai.tran", at, "procedures.yml", "ban_le_xang_dau")
    assert first.changes() == [("le_phi_vnd", 1200000, 1300000)]
    assert [r.entry for r in audit.recent(file="procedures.yml", entry="ban_le_xang_dau")] == ["ban_le_xang_dau"]
    assert Path(audit.path).parent == tmp_path
