import datetime as dt

import pytest

from common.dates import parse_day, parse_time, vn_day

TODAY = dt.date(2026, 11, 26)  # a Thursday


@pytest.mark.parametrize(("text", "day"), [
    ("đặt lịch ngày mai", dt.date(2026, 11, 27)),
    ("hom nay", TODAY),
    ("ngày kia nhé", dt.date(2026, 11, 28)),
    ("thứ 2 tuần sau", dt.date(2026, 11, 30)),
    ("thu nam", dt.date(2026, 12, 3)),  # the same weekday means next week
    ("chủ nhật", dt.date(2026, 11, 29)),
    ("30/11", dt.date(2026, 11, 30)),
    ("ngày 5-1", dt.date(2027, 1, 5)),  # passed this year: next year
    ("15.12.2026", dt.date(2026, 12, 15)),
    ("31/2", None),
    ("đặt một lịch hẹn", None),
    ("cho tôi lấy số thứ tự", None),  # a queue number, not Wednesday
    ("lấy số thứ tự thứ tư", dt.date(2026, 12, 2)),
    ("tra cứu 000.00.12.H17-200115-0001", None),
])
def test_days(text: str, day: dt.date | None) -> None:
    assert parse_day(text, TODAY) == day


@pytest.mark.parametrize(("text", "time"), [
    ("9h", dt.time(9)), ("9h30", dt.time(9, 30)), ("14:00", dt.time(14)), ("2h chiều", dt.time(14)),
    ("lúc 8 giờ 15", dt.time(8, 15)), ("25h", None), ("sáng mai", None),
    ("đổi qua 10 rưỡi", dt.time(10, 30)), ("3 giờ rưỡi chiều", dt.time(15, 30)), ("9h ruoi", dt.time(9, 30)),
])
def test_times(text: str, time: dt.time | None) -> None:
    assert parse_time(text) == time


def test_vn_day() -> None:
    assert vn_day(dt.date(2026, 11, 30)) == "Thứ Hai 30/11/2026"


TUESDAY = dt.date(2026, 12, 1)


@pytest.mark.parametrize(("text", "day", "time"), [
    ("8h sáng thứ hai tuần tới", dt.date(2026, 12, 7), dt.time(8)),
    ("9h sang thu nam tuan toi", dt.date(2026, 12, 10), dt.time(9)),  # next week's Thursday, not this week's
    ("cho em 9h30 thứ 5 tuần sau", dt.date(2026, 12, 10), dt.time(9, 30)),
    ("t6 tuan ke tiep luc 14h", dt.date(2026, 12, 11), dt.time(14)),
    ("thứ sáu tuần này 3h chiều", dt.date(2026, 12, 4), dt.time(15)),
    ("thứ hai tuần sau nữa 10h", dt.date(2026, 12, 14), dt.time(10)),
    ("8h tối thứ 6", dt.date(2026, 12, 4), dt.time(20)),  # "tối" itself still means the evening
    ("à thôi, cho em thứ sáu đi", dt.date(2026, 12, 4), None),
])
def test_next_week_is_never_read_as_evening(text: str, day: dt.date, time: dt.time | None) -> None:
    assert parse_day(text, TUESDAY) == day
    assert parse_time(text) == time


def test_english_days_and_times() -> None:
    import datetime as dt

    from common.dates import parse_day, parse_time

    tuesday_1_dec = dt.date(2026, 12, 1)
    assert parse_day("could I come next Friday", tuesday_1_dec) == dt.date(2026, 12, 11)
    assert parse_day("tomorrow please", tuesday_1_dec) == dt.date(2026, 12, 2)
    assert parse_time("at 2pm") == dt.time(14, 0)
    assert parse_time("around 9:30 am") == dt.time(9, 30)


def test_a_month_named_without_a_day() -> None:
    import datetime as dt

    from common.dates import month_named

    today = dt.date(2026, 12, 1)
    assert month_named("cho em hẹn tháng tám năm sau", today) == dt.date(2027, 8, 1)
    assert month_named("thang 3 duoc khong", today) == dt.date(2027, 3, 1)
    assert month_named("thứ sáu tuần sau", today) is None


def test_a_time_of_day_is_not_a_mistyped_dossier_code() -> None:
    from common.codes import is_bare_code_attempt

    assert not is_bare_code_attempt("14h15")
    assert not is_bare_code_attempt("9:45")


@pytest.mark.parametrize("text", ["khuyến mại giảm giá tối đa bao nhiêu %", "khuyen mai giam gia", "chờ mãi không thấy",
                                  "khuyến mãi tết"])
def test_the_mai_of_a_promotion_or_of_waiting_is_not_tomorrow(text: str) -> None:
    assert parse_day(text, dt.date(2026, 12, 2)) is None


def test_tomorrow_beside_a_promotion_is_still_tomorrow() -> None:
    assert parse_day("khuyến mãi ngày mai có được không", dt.date(2026, 12, 2)) == dt.date(2026, 12, 3)
    assert parse_day("mai em lên", dt.date(2026, 12, 2)) == dt.date(2026, 12, 3)


@pytest.mark.parametrize(("text", "expected"), [
    ("hẹn giúp tôi 10 giờ sáng thứ hai tuần tới", dt.time(10, 0)),  # "tôi" (I) folds like "tối" (evening)
    ("hen toi 9h", dt.time(9, 0)), ("8h tối", dt.time(20, 0)), ("8h toi", dt.time(20, 0)),
    ("cho tôi 3h chiều", dt.time(15, 0)),
])
def test_i_is_not_the_evening(text: str, expected: dt.time) -> None:
    assert parse_time(text) == expected
