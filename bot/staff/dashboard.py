"""The dashboard: how the service is doing over the last days, as charts and as CSV.

Figures come from the counters the gateways, the action server and the NLU
pipeline keep in Redis (``common.stats``) and, for satisfaction, from the
dossier system's ratings (``GET /api/v1/ratings/daily``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from aiohttp import web

from bot.staff import charts, ops_pages
from bot.staff.intents import label
from bot.staff.layout import DOSSIERS_KEY, REDIS_KEY, page, session_of
from common import stats
from common.dates import local_now
from common.status import RatingLevel
from dossier_api.client import DossierApiError

CHANNELS = ("web", "telegram", "zalo", "sms")
PERIODS = (7, 14, 30, 90, 180, 365)
MAX_DAYS = 366  # what the dossier system's daily ratings serve at once
DEFAULT_DAYS = 14
LOOKUP_OUTCOMES = {"found": "Tìm thấy", "not_found": "Không có mã", "invalid": "Mã sai dạng",
                   "unavailable": "Hệ thống lỗi"}
LEVELS = ((RatingLevel.HAI_LONG.value, "Hài lòng", "#1b7f3a"),
          (RatingLevel.BINH_THUONG.value, "Bình thường", "#e0a100"),
          (RatingLevel.KHONG_HAI_LONG.value, "Không hài lòng", "#b00020"))
FALLBACK = "nlu_fallback"


@dataclass
class Figures:
    days: list[stats.DayFigures]
    ratings: list[dict]  # {day, channel, level, n}
    ratings_error: bool = False

    def total(self, figure: str) -> Counter:
        out: Counter = Counter()
        for day in self.days:
            out.update(day.counters[figure])
        return out

    @staticmethod
    def fallback_rate(intents: dict[str, int]) -> float | None:
        total = sum(intents.values())
        return intents.get(FALLBACK, 0) / total if total else None

    def median_ms(self, channel: str, day: stats.DayFigures | None = None) -> float | None:
        samples = day.response_ms[channel] if day else [v for d in self.days for v in d.response_ms[channel]]
        return statistics.median(samples) if samples else None

    def ratings_by(self, key: str) -> dict[str, Counter]:
        out: dict[str, Counter] = defaultdict(Counter)
        for row in self.ratings:
            out[row[key]][row["level"]] += row["n"]
        return out


def period(request: web.Request) -> tuple[dt.date, dt.date]:
    """``from``/``to`` (ISO dates), else the last ``days`` days (up to ``MAX_DAYS``), else the default."""
    last = local_now().date()
    try:
        if "from" in request.query or "to" in request.query:
            first = dt.date.fromisoformat(request.query.get("from", ""))
            last = dt.date.fromisoformat(request.query.get("to", last.isoformat()))
            if first <= last and (last - first).days < MAX_DAYS:
                return first, last
            raise ValueError("range")
        days = int(request.query.get("days", DEFAULT_DAYS))
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"Khoảng thời gian không hợp lệ (tối đa {MAX_DAYS} ngày).") from exc
    if not 1 <= days <= MAX_DAYS:
        raise web.HTTPBadRequest(text=f"Khoảng thời gian không hợp lệ (tối đa {MAX_DAYS} ngày).")
    return last - dt.timedelta(days=days - 1), last


async def gather(request: web.Request, first: dt.date, last: dt.date) -> Figures:
    days = await stats.read(request.app[REDIS_KEY], first, last, CHANNELS)
    try:
        ratings = await request.app[DOSSIERS_KEY].ratings_by_day(first, last)
        return Figures(days, ratings)
    except DossierApiError:
        return Figures(days, [], ratings_error=True)


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v / 1000:.1f} s" if v >= 1000 else f"{v:.0f} ms"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


async def dashboard_page(request: web.Request) -> web.Response:
    first, last = period(request)
    figs = await gather(request, first, last)
    labels = [f"{d.day:%d/%m}" for d in figs.days]
    messages = figs.total(stats.MESSAGES)
    lookups = figs.total(stats.LOOKUPS)
    intents = figs.total(stats.INTENTS)
    outcomes = await ops_pages.sms_outcomes(request.app[REDIS_KEY], first, last)
    levels = Counter()
    for row in figs.ratings:
        levels[row["level"]] += row["n"]
    rated = sum(levels.values())
    all_ms = [v for d in figs.days for c in CHANNELS for v in d.response_ms[c]]
    kpis = [
        ("Tin nhắn", f"{sum(messages.values()):,}".replace(",", ".")),
        ("Lượt tra cứu", f"{sum(lookups.values()):,}".replace(",", ".")),
        ("Tỷ lệ không hiểu", _pct(figs.fallback_rate(intents))),
        ("Hài lòng", _pct(levels[RatingLevel.HAI_LONG.value] / rated if rated else None) + f" ({rated} lượt)"),
        ("Thời gian trả lời (trung vị)", _ms(statistics.median(all_ms) if all_ms else None)),
        ("SMS đến máy (kể cả tin không báo nhận, tin bị bỏ)", _pct(ops_pages.delivered_share(outcomes))),
    ]
    weeks: dict[str, Counter] = defaultdict(Counter)
    for row in figs.ratings:
        year, week, _ = dt.date.fromisoformat(row["day"]).isocalendar()
        weeks[f"Tuần {week}/{year}"][row["level"]] += row["n"]
    by_channel = figs.ratings_by("channel")
    chart_list = [
        charts.stacked_bars("Tin nhắn theo kênh mỗi ngày", labels,
                            {c: [d.counters[stats.MESSAGES].get(c, 0) for d in figs.days] for c in CHANNELS},
                            chart_id="chart-messages"),
        charts.stacked_bars("Lượt tra cứu hồ sơ mỗi ngày", labels,
                            {name: [d.counters[stats.LOOKUPS].get(key, 0) for d in figs.days]
                             for key, name in LOOKUP_OUTCOMES.items()}, chart_id="chart-lookups"),
        charts.hbars("Ý định được hỏi nhiều nhất", [(label(k), v) for k, v in intents.items() if k != FALLBACK],
                     chart_id="chart-intents"),
        charts.lines("Tỷ lệ không hiểu (fallback) mỗi ngày", labels,
                     {"fallback": [None if (r := figs.fallback_rate(d.counters[stats.INTENTS])) is None else 100 * r
                                   for d in figs.days]}, fmt=lambda v: f"{v:.3g}%", chart_id="chart-fallback"),
        charts.shares("Mức độ hài lòng theo kênh", [(c, by_channel[c]) for c in CHANNELS if by_channel.get(c)],
                      LEVELS, chart_id="chart-satisfaction-channel"),
        charts.shares("Mức độ hài lòng theo tuần", sorted(weeks.items()), LEVELS, chart_id="chart-satisfaction-week"),
        charts.lines("Thời gian trả lời trung vị mỗi ngày (giây)", labels,
                     {c: [None if (m := figs.median_ms(c, d)) is None else m / 1000 for d in figs.days]
                      for c in CHANNELS}, fmt=lambda v: f"{v:.1f}", chart_id="chart-response"),
        charts.hbars("Báo nhận SMS (delivery receipt)", [(ops_pages.outcome_label(k), v) for k, v in outcomes.items()],
                     chart_id="chart-dlr"),
    ]
    periods = " ".join(
        f'<a href="?days={n}"{" class=current" if (last - first).days + 1 == n else ""}>{n} ngày</a>'
        for n in PERIODS)
    warning = ('<p class="error">Không lấy được số liệu đánh giá từ hệ thống hồ sơ.</p>'
               if figs.ratings_error else "")
    body = f"""<div class="card"><h1>Số liệu dịch vụ</h1>
<p>Từ {first:%d/%m/%Y} đến {last:%d/%m/%Y} · {periods} ·
<a href="/staff/dashboard.csv?from={first.isoformat()}&amp;to={last.isoformat()}" download>Tải CSV</a></p>
<form method="get" action="/staff/dashboard" class="filters"><label>Từ <input name="from" type="date"
value="{first.isoformat()}"></label><label>Đến <input name="to" type="date" value="{last.isoformat()}"></label>
<button>Xem</button></form>{warning}
<div class="kpi">{''.join(f'<div><strong>{v}</strong>{k}</div>' for k, v in kpis)}</div></div>
<div class="grid">{''.join(f'<div class="card">{c}</div>' for c in chart_list)}</div>"""
    return page("Số liệu", body, session_of(request))


async def dashboard_csv(request: web.Request) -> web.Response:
    """One row per day: every figure of the dashboard, for a spreadsheet."""
    first, last = period(request)
    figs = await gather(request, first, last)
    intents = sorted(figs.total(stats.INTENTS))
    states = sorted(figs.total(stats.DLR))
    ratings = {(r["day"], r["channel"], r["level"]): r["n"] for r in figs.ratings}
    header = (["Ngày"] + [f"Tin nhắn – {c}" for c in CHANNELS]
              + [f"Tra cứu – {name}" for name in LOOKUP_OUTCOMES.values()]
              + ["Tỷ lệ không hiểu (fallback)"] + [f"Thời gian trả lời trung vị (ms) – {c}" for c in CHANNELS]
              + [f"Đánh giá {c} – {label}" for c in CHANNELS for _, label, _ in LEVELS]
              + [f"Ý định: {i}" for i in intents] + [f"Báo nhận SMS: {s}" for s in states])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for d in figs.days:
        rate = figs.fallback_rate(d.counters[stats.INTENTS])
        writer.writerow(
            [d.day.isoformat()] + [d.counters[stats.MESSAGES].get(c, 0) for c in CHANNELS]
            + [d.counters[stats.LOOKUPS].get(k, 0) for k in LOOKUP_OUTCOMES]
            + ["" if rate is None else f"{rate:.4f}"]
            + ["" if (m := figs.median_ms(c, d)) is None else f"{m:.0f}" for c in CHANNELS]
            + [ratings.get((d.day.isoformat(), c, lv), 0) for c in CHANNELS for lv, _, _ in LEVELS]
            + [d.counters[stats.INTENTS].get(i, 0) for i in intents]
            + [d.counters[stats.DLR].get(s, 0) for s in states])
    name = f"so-lieu-{first:%Y%m%d}-{last:%Y%m%d}.csv"
    return web.Response(body=("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/staff/dashboard", dashboard_page)
    app.router.add_get("/staff/dashboard.csv", dashboard_csv)
