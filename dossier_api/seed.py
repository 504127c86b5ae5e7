"""Deterministic seed of the reference dossier database.

The same seed always writes the same dossiers: codes in the national format
for the department's agency code, receipt dates over the year before
``REFERENCE_DATE``, statuses that fit each dossier's age and due date. The department's published
years (``HISTORY``) are written as daily aggregates (``history_*`` tables), so the
reports reproduce their figures without touching today's dossiers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import random
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from common.status import DossierStatus
from common.workdays import add_working_days, is_working_day
from dossier_api.catalog import load_catalog
from dossier_api.db import Database
from dossier_api.models import Procedure

logger = logging.getLogger(__name__)

AGENCY_CODE = "000.00.12.H17"
REFERENCE_DATE = dt.date(2026, 11, 20)
DEFAULT_COUNT = 2400
DEFAULT_SEED = 8283

_FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
           "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trương", "Đoàn"]
_MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Thanh", "Ngọc", "Quốc", "Đức", "Thu", "Kim", "Công", "Xuân"]
_GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Khánh",
          "Lan", "Linh", "Long", "Mai", "Nam", "Ngân", "Phúc", "Quân", "Sơn", "Tâm", "Thảo",
          "Trang", "Tuấn", "Vy", "Yến"]
_ORG_FORMS = ["Công ty TNHH", "Công ty cổ phần", "Hộ kinh doanh", "Doanh nghiệp tư nhân"]
_ORG_NAMES = ["Hoàng Phát", "Minh Long", "Sông Hàn", "Ngũ Hành Sơn", "Thành Đạt", "Phú Quý",
              "Hải Vân", "An Khang", "Trường Sa", "Bạch Đằng", "Tân Tiến", "Kim Ngân"]

_STEPS = {
    DossierStatus.MOI_TIEP_NHAN: "Bộ phận Một cửa đã tiếp nhận, đang chuyển phòng chuyên môn",
    DossierStatus.DANG_XU_LY: "Phòng chuyên môn đang thẩm định hồ sơ",
    DossierStatus.CHO_BO_SUNG: "Chờ tổ chức, cá nhân bổ sung hồ sơ theo thông báo",
    DossierStatus.DA_CO_KET_QUA: "Đã có kết quả, chờ trả tại Bộ phận Một cửa",
    DossierStatus.DA_TRA_KET_QUA: "Đã trả kết quả cho tổ chức, cá nhân",
    DossierStatus.TRE_HAN: "Phòng chuyên môn đang xử lý, đã quá hạn giải quyết",
    DossierStatus.TU_CHOI: "Từ chối giải quyết: hồ sơ không đáp ứng điều kiện theo quy định",
}


def _applicant(rng: random.Random) -> str:
    if rng.random() < 0.35:
        return f"{rng.choice(_ORG_FORMS)} {rng.choice(_ORG_NAMES)}"
    return f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"


def _status(rng: random.Random, received: dt.date, due: dt.date) -> DossierStatus:
    """A plausible status for a dossier received and due on those dates."""
    roll = rng.random()
    if due >= REFERENCE_DATE:  # still within its processing time
        if received >= REFERENCE_DATE - dt.timedelta(days=2):
            return DossierStatus.MOI_TIEP_NHAN if roll < 0.7 else DossierStatus.DANG_XU_LY
        if roll < 0.55:
            return DossierStatus.DANG_XU_LY
        if roll < 0.75:
            return DossierStatus.CHO_BO_SUNG
        if roll < 0.92:
            return DossierStatus.DA_CO_KET_QUA
        return DossierStatus.MOI_TIEP_NHAN
    if due >= REFERENCE_DATE - dt.timedelta(days=30):  # recently due
        if roll < 0.55:
            return DossierStatus.DA_TRA_KET_QUA
        if roll < 0.75:
            return DossierStatus.DA_CO_KET_QUA
        if roll < 0.87:
            return DossierStatus.TRE_HAN
        if roll < 0.95:
            return DossierStatus.CHO_BO_SUNG
        return DossierStatus.TU_CHOI
    if roll < 0.93:
        return DossierStatus.DA_TRA_KET_QUA
    if roll < 0.97:
        return DossierStatus.TU_CHOI
    return DossierStatus.TRE_HAN


def generate(procedures: list[Procedure], count: int, seed: int) -> list[dict]:
    """The seed dossiers as rows (deterministic for a given seed)."""
    rng = random.Random(seed)
    procedures = [p for p in procedures if p.authority is None]  # the department's desk receives only its own
    first = REFERENCE_DATE - dt.timedelta(days=365)
    days = [first + dt.timedelta(days=i) for i in range(366)]
    days = [d for d in days if is_working_day(d)]
    # Recent days get more dossiers so that every in-progress status is well represented.
    weights = [1.0 + 3.0 * (i / len(days)) ** 4 for i in range(len(days))]
    serials: Counter[dt.date] = Counter()
    rows = []
    for received in sorted(rng.choices(days, weights=weights, k=count)):
        serials[received] += 1
        procedure = rng.choice(procedures)
        due = add_working_days(received, max(procedure.processing_days, 1))
        status = _status(rng, received, due)
        finished = status in (DossierStatus.DA_CO_KET_QUA, DossierStatus.DA_TRA_KET_QUA, DossierStatus.TU_CHOI)
        result = min(due - dt.timedelta(days=rng.randint(0, 3)), REFERENCE_DATE) if finished else None
        if result is not None and result < received:
            result = received
        updated = result or min(received + dt.timedelta(days=rng.randint(0, 5)), REFERENCE_DATE)
        rows.append({
            "code": f"{AGENCY_CODE}-{received:%y%m%d}-{serials[received]:04d}",
            "procedure_id": procedure.id,
            "applicant_name": _applicant(rng),
            "status": status.value,
            "received_date": received.isoformat(),
            "due_date": due.isoformat(),
            "current_step": _STEPS[status],
            "updated_at": dt.datetime.combine(updated, dt.time(8 + rng.randint(0, 8), rng.randint(0, 59))).isoformat(),
            "result_date": result.isoformat() if result else None,
        })
    return rows


@dataclass(frozen=True)
class YearFigures:
    """A year the department published: dossiers received (online of them), results given late, ratings by level."""

    received: int
    online: int
    late: int
    ratings: dict[str, int]


# The department's published yearly figures (ratings split by level to the published shares).
HISTORY = {
    2018: YearFigures(78663, 71893, 389, {"hai_long": 4920, "binh_thuong": 127, "khong_hai_long": 20}),
    2019: YearFigures(74950, 67785, 214, {"hai_long": 5043, "binh_thuong": 100, "khong_hai_long": 0}),
}
# Where ratings were given before the assistant: the desk's rating kiosk and the online public-service portal.
HISTORY_RATING_CHANNELS = {"kiosk": 0.7, "cong_dvc": 0.3}


def _spread(rng: random.Random, total: int, days: list[dt.date]) -> dict[dt.date, int]:
    """``total`` split over ``days`` with some day-to-day variation, adding up exactly (largest remainder)."""
    weights = [rng.uniform(0.6, 1.4) for _ in days]
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(x) for x in shares]
    for i in sorted(range(len(days)), key=lambda i: counts[i] - shares[i])[: total - sum(counts)]:
        counts[i] += 1
    return dict(zip(days, counts, strict=True))


def generate_history(seed_value: int = DEFAULT_SEED) -> tuple[list[dict], list[dict]]:
    """Daily rows of the historical years (``HISTORY``): dossiers by channel of filing, ratings by channel
    and level. Each year's daily rows add up to its published figures exactly."""
    rng = random.Random(seed_value)
    dossiers: list[dict] = []
    ratings: list[dict] = []
    for year, figures in sorted(HISTORY.items()):
        days = [d for d in (dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(366))
                if d.year == year and is_working_day(d)]
        late_online = round(figures.late * figures.online / figures.received)
        filings = {"truc_tuyen": (figures.online, late_online),
                   "truc_tiep": (figures.received - figures.online, figures.late - late_online)}
        for filing, (received, late) in filings.items():
            per_day, late_per_day = _spread(rng, received, days), _spread(rng, late, days)
            for day in days:
                late_day = min(late_per_day[day], per_day[day])
                dossiers.append({"day": day.isoformat(), "filing": filing, "received": per_day[day],
                                 "on_time": per_day[day] - late_day, "late": late_day})
        channels = list(HISTORY_RATING_CHANNELS)
        for level, total in figures.ratings.items():
            kiosk = round(total * HISTORY_RATING_CHANNELS[channels[0]])
            for channel, n in zip(channels, (kiosk, total - kiosk), strict=True):
                for day, count in _spread(rng, n, days).items():
                    if count:
                        ratings.append({"day": day.isoformat(), "channel": channel, "level": level, "n": count})
    return dossiers, ratings


def seed(db: Database, count: int = DEFAULT_COUNT, seed_value: int = DEFAULT_SEED) -> Counter[str]:
    """(Re)write the catalog, the dossiers and the yearly history; returns the count per status."""
    procedures = load_catalog()
    rows = generate(procedures, count, seed_value)
    db.create_schema()
    with closing(db.connect()) as conn, conn:
        conn.execute("DELETE FROM dossiers")
        conn.execute("DELETE FROM procedures")
        conn.executemany(
            "INSERT INTO procedures (id, data) VALUES (?, ?)",
            [(p.id, json.dumps(p.dict(), ensure_ascii=False)) for p in procedures],
        )
        conn.executemany(
            "INSERT INTO dossiers (code, procedure_id, applicant_name, status, received_date,"
            " due_date, current_step, updated_at, result_date) VALUES (:code, :procedure_id,"
            " :applicant_name, :status, :received_date, :due_date, :current_step, :updated_at,"
            " :result_date)",
            rows,
        )
        history, history_ratings = generate_history(seed_value)
        conn.execute("DELETE FROM history_dossiers")
        conn.execute("DELETE FROM history_ratings")
        conn.executemany("INSERT INTO history_dossiers (day, filing, received, on_time, late)"
                         " VALUES (:day, :filing, :received, :on_time, :late)", history)
        conn.executemany("INSERT INTO history_ratings (day, channel, level, n) VALUES (:day, :channel, :level, :n)",
                         history_ratings)
    return Counter(r["status"] for r in rows)


def main() -> None:
    """Command line: ``python -m dossier_api.seed [--db PATH] [--count N]``."""
    from common.settings import get_settings

    parser = argparse.ArgumentParser(description="Seed the reference dossier database.")
    parser.add_argument("--db", default=get_settings().dossier_db_path)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    counts = seed(Database(args.db), args.count, args.seed)
    print(f"Seeded {sum(counts.values())} dossiers into {args.db}:")
    for status in DossierStatus:
        print(f"  {status.label:<16} {counts.get(status.value, 0):>5}")


if __name__ == "__main__":
    main()
