"""Whether a dossier is late: computed from its due date and today's date, never stored.

The one place that decides it, for every channel and for the reference API.
"Today" is the department's date (``settings.timezone``, Asia/Ho_Chi_Minh),
so a dossier due on 20/11 is on time all of 20/11 in Đà Nẵng and late from
21/11, whatever the server's own clock or the dossier's status field says.

What counts as finished (never late any more): the result exists
(``đã có kết quả``), was handed over (``đã trả kết quả``) or the dossier was
refused (``từ chối``). ``chờ bổ sung`` is not late either: while the agency
waits for the citizen's supplement the processing clock is stopped and the due
date is set again when the complete dossier arrives (Decree 61/2018/NĐ-CP,
art. 15), so the stored due date no longer holds. Every other status
(``mới tiếp nhận``, ``đang xử lý``, ``trễ hạn``) is late once the due date has
passed; ``trễ hạn`` is late even when the one-stop system moved the due date.
Days are calendar days, as a citizen counts them on the receipt.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from common.status import DossierStatus

FINISHED = frozenset({DossierStatus.DA_CO_KET_QUA, DossierStatus.DA_TRA_KET_QUA, DossierStatus.TU_CHOI})
PAUSED = frozenset({DossierStatus.CHO_BO_SUNG})


@dataclass(frozen=True)
class Deadline:
    """Where a dossier stands against its due date on a given day."""

    late: bool
    days_late: int  # calendar days past the due date; 0 when not late
    days_left: int  # calendar days until the due date; 0 when due today, late, finished or paused


def deadline(status: DossierStatus, due_date: dt.date, today: dt.date) -> Deadline:
    """The dossier's lateness on ``today`` (the department's date)."""
    overdue = (today - due_date).days
    if status in FINISHED or status in PAUSED:
        return Deadline(late=False, days_late=0, days_left=0)
    if overdue > 0 or status is DossierStatus.TRE_HAN:
        return Deadline(late=True, days_late=max(overdue, 0), days_left=0)
    return Deadline(late=False, days_late=0, days_left=-overdue)


def finished_late_by(due_date: dt.date, result_date: dt.date | None) -> int:
    """Calendar days a finished dossier's result came after its due date (0 when on time or unknown)."""
    return max((result_date - due_date).days, 0) if result_date else 0
