import datetime as dt

from common.handoff import in_office_hours

HOURS = "07:30-11:30,13:30-17:00"


def test_office_hours() -> None:
    thursday = dt.date(2026, 11, 26)
    at = lambda day, h, m=0: dt.datetime.combine(day, dt.time(h, m))  # noqa: E731
    assert in_office_hours(at(thursday, 7, 30), HOURS) and in_office_hours(at(thursday, 16, 59), HOURS)
    assert not in_office_hours(at(thursday, 12, 0), HOURS)  # lunch
    assert not in_office_hours(at(thursday, 17, 0), HOURS)
    assert not in_office_hours(at(dt.date(2026, 11, 28), 9, 0), HOURS)  # Saturday
    assert not in_office_hours(at(dt.date(2027, 9, 2), 9, 0), HOURS)  # National Day
    assert in_office_hours(at(dt.date(2026, 11, 29), 3, 0), "always")
    assert not in_office_hours(at(thursday, 9, 0), "")
