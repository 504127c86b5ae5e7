"""The suite's fact checks on their own (no stack): numbers, codes as typed, dates, lateness."""

from __future__ import annotations

import datetime as dt

import pytest

from common.codes import canonical_code
from common.status import DossierStatus
from scripts.eval_conversations import (
    CHECKS,
    Picked,
    Reply,
    always,
    covers,
    days_late,
    expected_day,
    load_suite,
    numbers_in,
    typed_code,
)

CODE = "000.00.12.H17-261105-0019"


@pytest.mark.parametrize("text, amount", [
    ("Phí thẩm định 1.500.000 đồng/giấy phép", 1_500_000),
    ("phi 1500000 dong", 1_500_000),
    ("khoảng 1,5 triệu", 1_500_000),
    ("3 triệu đồng", 3_000_000),
    ("Phí 30.000 đồng/lần/người", 30_000),
    ("25 nghìn", 25_000),
])
def test_amounts_are_normalised(text: str, amount: int) -> None:
    assert amount in numbers_in(text)


def test_a_date_is_not_read_as_an_amount() -> None:
    assert 1_500_000 not in numbers_in("hẹn trả: 15/12/2026")


@pytest.mark.parametrize("style", ["canon", "lower", "spaced", "upper_spaced"])
def test_every_typed_style_of_a_code_is_the_same_code(style: str) -> None:
    assert canonical_code(typed_code(CODE, style)) == CODE


def test_the_unusual_styles_change_the_separators() -> None:
    assert typed_code(CODE, "spaces") == "000.00.12.H17 261105 0019"
    assert typed_code(CODE, "nodots") == "0000012H17-261105-0019"


def test_late_is_computed_from_the_due_date_for_unfinished_dossiers_only() -> None:
    today = dt.date(2026, 12, 1)
    due = dt.date(2026, 11, 20)
    assert days_late(due, DossierStatus.DANG_XU_LY, today) == 11
    assert days_late(due, DossierStatus.TRE_HAN, today) == 11
    assert days_late(due, DossierStatus.DA_CO_KET_QUA, today) == 0
    assert days_late(today, DossierStatus.MOI_TIEP_NHAN, today) == 0


def test_weekday_of_next_week_and_of_this_week() -> None:
    tuesday = dt.date(2026, 12, 1)
    assert expected_day({"weekday": 4, "next_week": True}, tuesday) == dt.date(2026, 12, 11)
    assert expected_day({"weekday": 4}, tuesday) == dt.date(2026, 12, 4)
    assert expected_day({"weekday": 1}, tuesday) == dt.date(2026, 12, 8)  # today's weekday: the next one
    assert expected_day({"in_days": 1}, tuesday) == dt.date(2026, 12, 2)


def test_documents_are_covered_by_their_content_words_not_their_wording() -> None:
    assert covers("1. Bản sao giấy chứng nhận đăng ký doanh nghiệp", "Bản sao Giấy chứng nhận đăng ký doanh nghiệp")
    assert not covers("Hồ sơ: 5 loại giấy tờ", "Bản sao Giấy chứng nhận đăng ký doanh nghiệp")


class _Ctx:
    def __init__(self, picked: Picked) -> None:
        self.dossiers = {"d": picked}


def _picked(status: DossierStatus, late_days: int) -> Picked:
    return Picked(CODE, status, dt.date(2026, 11, 20), "Nguyễn Văn An", late_days)


def test_a_late_dossier_must_be_said_late_with_its_days() -> None:
    ctx = _Ctx(_picked(DossierStatus.DANG_XU_LY, 11))
    assert CHECKS["late"](ctx, Reply("Trạng thái: ĐANG XỬ LÝ. Hồ sơ đang trong thời hạn.", []), "d")
    assert CHECKS["late"](ctx, Reply("Đang xử lý, trễ hạn", []), "d")
    assert CHECKS["late"](ctx, Reply("ĐANG XỬ LÝ - TRE HAN 11 ngay", []), "d") is None


def test_an_on_time_dossier_must_not_be_said_late() -> None:
    ctx = _Ctx(_picked(DossierStatus.DANG_XU_LY, 0))
    assert CHECKS["late"](ctx, Reply("Đang xử lý, trễ hạn 3 ngày", []), "d")
    assert CHECKS["late"](ctx, Reply("Đang xử lý, trong thời hạn", []), "d") is None
    assert CHECKS["late"](ctx, Reply("Hồ sơ (chờ bổ sung): chưa trễ hạn.", []), "d") is None  # a negation


def test_a_late_dossier_said_not_late_fails() -> None:
    ctx = _Ctx(_picked(DossierStatus.DANG_XU_LY, 11))
    assert CHECKS["late"](ctx, Reply("Hồ sơ chưa trễ hạn, còn 11 ngày", []), "d")


def test_the_applicant_appears_masked_only() -> None:
    ctx = _Ctx(_picked(DossierStatus.DANG_XU_LY, 0))
    assert CHECKS["masked"](ctx, Reply("Người nộp: NGUYỄN V*** A", []), "d") is None
    assert CHECKS["masked"](ctx, Reply("Người nộp: Nguyễn Văn An", []), "d")


def test_the_suite_is_large_and_spans_every_service_and_both_channels() -> None:
    suite = load_suite()
    services = {c.service for c in suite}
    assert len(suite) >= 300
    assert services >= {"lookup", "procedures", "rating", "appointments", "delivery", "feedback", "places",
                        "notifications", "handoff", "out_of_scope", "smalltalk"}
    sms = sum(c.channel == "sms" for c in suite)
    assert 0.15 <= sms / len(suite) <= 0.35


class _TypedCtx:
    def __init__(self, typed: list[str], channel: str = "web") -> None:
        self.typed, self.channel = typed, channel


def test_a_phone_or_id_number_the_citizen_typed_must_not_come_back_in_clear() -> None:
    ctx = _TypedCtx(["sđt 0905 246 813, CCCD 048090001234"])
    assert always(ctx, Reply("Đã ghi nhận số 0905.246.813", []))
    assert always(ctx, Reply("Người phản ánh: CCCD 048090001234", []))
    assert always(ctx, Reply("Bưu tá sẽ gọi số *******813", [])) == []


def test_an_sms_reply_must_be_ascii() -> None:
    assert always(_TypedCtx([], "sms"), Reply("Hồ sơ đang xử lý", []))
    assert always(_TypedCtx([], "sms"), Reply("Ho so dang xu ly", [])) == []


def test_handoff_or_hotline_false_means_no_handoff() -> None:
    handed = Reply("Cán bộ sẽ trả lời anh/chị trong giờ làm việc.", [])
    hours = Reply("Sở làm việc từ thứ Hai đến thứ Sáu, 7h30-17h00.", [])
    assert CHECKS["handoff_or_hotline"](None, handed, True) is None
    assert CHECKS["handoff_or_hotline"](None, hours, True)
    assert CHECKS["handoff_or_hotline"](None, handed, False)
    assert CHECKS["handoff_or_hotline"](None, hours, False) is None
