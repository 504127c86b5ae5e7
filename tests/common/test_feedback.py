"""Complaint categories: a market violation told as a fact is filed as one (common/feedback.py)."""

from __future__ import annotations

import pytest

from common.dossier_questions import is_report
from common.feedback import VIOLATION_FACTS, Category, classify


@pytest.mark.parametrize("text", [
    "Đại lý gas đường Nguyễn Hữu Thọ cân thiếu, bình 12 kg mà chỉ có hơn 10 kg",
    "Cây xăng ở Hòa Minh đồng hồ chạy sai, tôi đổ 50 nghìn mà được có nửa lít",
    "Quán tạp hóa gần trường bán cho học sinh thuốc lá điện tử suốt giờ ra chơi",
    "Kho ở Liên Chiểu sang chiết bình gas mini trái phép ban đêm",
    "Siêu thị mini bày bán công khai bánh kẹo hết hạn sử dụng",
])
def test_a_violation_told_as_a_fact_is_filed_as_a_market_violation(text: str) -> None:
    assert is_report(text)
    assert classify(text) is Category.VI_PHAM_THI_TRUONG


@pytest.mark.parametrize("fact", VIOLATION_FACTS)
def test_every_fact_that_makes_a_report_files_it_as_a_violation(fact: str) -> None:
    assert classify(f"cua hang o cho Con {fact} nhieu lan roi") is Category.VI_PHAM_THI_TRUONG


def test_a_complaint_about_an_official_stays_about_the_official() -> None:
    assert classify("cán bộ quầy 3 nhũng nhiễu, bảo đổi tiền mới giải quyết") is Category.CAN_BO


def test_adulterated_fuel_is_a_market_violation() -> None:
    assert classify("tố cáo cây xăng ở Hòa Minh bán xăng pha, đổ vào là xe chết máy") is Category.VI_PHAM_THI_TRUONG


def test_praise_of_an_official_is_feedback_not_a_complaint_about_them() -> None:
    from common.feedback import Category, classify

    assert classify("gop y can bo mot cua rat tan tinh") is Category.GOP_Y
    assert classify("cán bộ một cửa thái độ không tận tình") is Category.CAN_BO
