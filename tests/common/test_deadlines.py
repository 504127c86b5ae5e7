import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.deadlines import FINISHED, PAUSED, Deadline, deadline, finished_late_by
from common.status import DossierStatus

DUE = dt.date(2026, 11, 20)
TODAY = dt.date(2026, 12, 1)


@pytest.mark.parametrize("status", [DossierStatus.MOI_TIEP_NHAN, DossierStatus.DANG_XU_LY, DossierStatus.TRE_HAN])
def test_unfinished_dossier_past_its_due_date_is_late_by_calendar_days(status: DossierStatus) -> None:
    facts = deadline(status, DUE, TODAY)
    assert facts.late and facts.days_late == 11 and facts.days_left == 0


@pytest.mark.parametrize("status", [DossierStatus.MOI_TIEP_NHAN, DossierStatus.DANG_XU_LY])
def test_due_today_is_on_time_and_late_the_next_day(status: DossierStatus) -> None:
    assert deadline(status, DUE, DUE) == Deadline(late=False, days_late=0, days_left=0)
    assert deadline(status, DUE, DUE + dt.timedelta(days=1)).days_late == 1
    assert deadline(status, DUE, DUE - dt.timedelta(days=3)).days_left == 3


@pytest.mark.parametrize("status", sorted(FINISHED | PAUSED))
def test_finished_and_paused_dossiers_are_never_late(status: DossierStatus) -> None:
    facts = deadline(status, DUE, TODAY)
    assert not facts.late and facts.days_late == 0


def test_the_status_field_tre_han_is_late_even_before_the_stored_due_date() -> None:
    facts = deadline(DossierStatus.TRE_HAN, TODAY + dt.timedelta(days=2), TODAY)
    assert facts.late and facts.days_late == 0


@given(st.sampled_from(list(DossierStatus)), st.dates(), st.dates())
def test_late_means_unfinished_and_past_due(status: DossierStatus, due: dt.date, today: dt.date) -> None:
    facts = deadline(status, due, today)
    expected = status not in FINISHED | PAUSED and (today > due or status is DossierStatus.TRE_HAN)
    assert facts.late == expected
    assert facts.days_late == (max((today - due).days, 0) if facts.late else 0)


def test_a_finished_dossier_tells_how_late_its_result_came() -> None:
    assert finished_late_by(DUE, DUE + dt.timedelta(days=4)) == 4
    assert finished_late_by(DUE, DUE - dt.timedelta(days=1)) == 0
    assert finished_late_by(DUE, None) == 0
