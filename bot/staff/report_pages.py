"""Reports leadership can publish: the department's indicators over any date range
(a month, a quarter, a year, or custom), on a page, printable, and as XLSX or CSV
with Vietnamese headers.

Dossier and rating figures come from the dossier system's aggregate endpoint
(``GET /api/v1/reports/summary``); the assistant's usage from its per-day
counters in Redis (``common.stats``, kept ``stats.KEEP_DAYS`` days). Every output
(page, CSV, XLSX) is drawn from the same list of :class:`Line`.
"""

from __future__ import annotations

import asyncio
import calendar
import csv
import datetime as dt
import html
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.staff.dashboard import CHANNELS, LEVELS, Figures
from bot.staff.layout import DOSSIERS_KEY, REDIS_KEY, page, session_of
from common import stats
from common.dates import local_now
from dossier_api.client import DossierApiError

MAX_DAYS = 3700  # what the dossier system's aggregate endpoint serves at once
FILINGS = {"truc_tuyen": "Nộp trực tuyến", "truc_tiep": "Nộp trực tiếp tại Bộ phận Một cửa",
           "khong_ro": "Chưa ghi nhận kênh nộp"}
RATING_CHANNELS = {"web": "Trang web (trợ lý ảo)", "telegram": "Telegram (trợ lý ảo)", "zalo": "Zalo (trợ lý ảo)",
                   "sms": "SMS 8283", "kiosk": "Máy đánh giá tại quầy", "cong_dvc": "Cổng dịch vụ công"}
PERIODS = {"year": "Năm", "quarter": "Quý", "month": "Tháng", "custom": "Tùy chọn"}
HEADERS = ("Nhóm chỉ tiêu", "Chỉ tiêu", "Số lượng", "Tỷ lệ (%)")
DOSSIERS, RESULTS, RATINGS, ASSISTANT = ("Hồ sơ tiếp nhận", "Kết quả giải quyết", "Đánh giá mức độ hài lòng",
                                         "Trợ lý ảo")


class BadRange(ValueError):
    """A date range the report cannot be drawn for (message in Vietnamese, for the page)."""


@dataclass(frozen=True)
class Line:
    """One indicator: its group, its name, a count (or a measure) and, for a part of a whole, its share (0..1)."""

    section: str
    label: str
    value: float | None
    share: float | None = None
    unit: str = ""


@dataclass
class Report:
    first: dt.date
    last: dt.date
    lines: list[Line]
    dossier_error: bool = False
    assistant_from: dt.date | None = None  # the assistant's counters cover assistant_from..last


def _share(n: float, total: float) -> float | None:
    return n / total if total else None


def parse_range(query: Any, today: dt.date) -> tuple[str, dt.date, dt.date]:
    """The period kind and its first and last day from the query (``period`` with ``year``,
    ``quarter``, ``month``, or ``from``/``to``); the current year by default."""
    kind = query.get("period", "year")
    try:
        year = int(query.get("year", today.year))
        if kind == "year":
            return kind, dt.date(year, 1, 1), dt.date(year, 12, 31)
        if kind == "quarter":
            quarter = int(query.get("quarter", (today.month - 1) // 3 + 1))
            if not 1 <= quarter <= 4:
                raise BadRange("Quý phải từ 1 đến 4.")
            end = 3 * quarter
            return kind, dt.date(year, end - 2, 1), dt.date(year, end, calendar.monthrange(year, end)[1])
        if kind == "month":
            month = int(query.get("month", today.month))
            return kind, dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
        if kind == "custom":
            first, last = dt.date.fromisoformat(query.get("from", "")), dt.date.fromisoformat(query.get("to", ""))
        else:
            raise BadRange("Loại kỳ báo cáo không hợp lệ.")
    except BadRange:
        raise
    except (ValueError, OverflowError) as exc:
        raise BadRange("Ngày, tháng, quý hoặc năm không hợp lệ.") from exc
    if first > last:
        raise BadRange("Ngày bắt đầu phải trước ngày kết thúc.")
    if (last - first).days >= MAX_DAYS:
        raise BadRange("Kỳ báo cáo dài tối đa 10 năm.")
    return kind, first, last


def dossier_lines(summary: dict[str, Any]) -> list[Line]:
    """Received by channel of filing, results on time / late, ratings by level and by channel."""
    received = {k: int(v) for k, v in summary.get("received", {}).items()}
    total = sum(received.values())
    lines = [Line(DOSSIERS, "Tổng số hồ sơ tiếp nhận", total)]
    for key, label in FILINGS.items():
        if key in received or key != "khong_ro":
            lines.append(Line(DOSSIERS, label, received.get(key, 0), _share(received.get(key, 0), total)))
    results = summary.get("results", {})
    on_time, late = int(results.get("on_time", 0)), int(results.get("late", 0))
    lines += [Line(RESULTS, "Hồ sơ đã có kết quả", on_time + late),
              Line(RESULTS, "Đúng hạn", on_time, _share(on_time, on_time + late)),
              Line(RESULTS, "Trễ hạn", late, _share(late, on_time + late))]
    by_channel: dict[str, Counter] = defaultdict(Counter)
    for row in summary.get("ratings", []):
        by_channel[row["channel"]][row["level"]] += int(row["n"])
    levels: Counter = sum(by_channel.values(), Counter())
    rated = sum(levels.values())
    lines.append(Line(RATINGS, "Tổng số lượt đánh giá", rated))
    lines += [Line(RATINGS, label, levels[key], _share(levels[key], rated)) for key, label, _ in LEVELS]
    for channel in sorted(by_channel, key=lambda c: -sum(by_channel[c].values())):
        counts = by_channel[channel]
        n = sum(counts.values())
        section = f"Đánh giá qua {RATING_CHANNELS.get(channel, channel)}"
        lines.append(Line(section, "Lượt đánh giá", n, _share(n, rated)))
        lines += [Line(section, label, counts[key], _share(counts[key], n)) for key, label, _ in LEVELS]
    return lines


def assistant_lines(days: list[stats.DayFigures], conversations: dict[str, int]) -> list[Line]:
    """Conversations, messages, lookups, fallback rate, handoffs and median response time of the assistant."""
    figs = Figures(days, [])
    lookups, intents = figs.total(stats.LOOKUPS), figs.total(stats.INTENTS)
    samples = [v for d in days for c in CHANNELS for v in d.response_ms[c]]
    found = lookups.get("found", 0)
    return [
        Line(ASSISTANT, "Cuộc trò chuyện (người dùng mỗi ngày)", sum(conversations.values())),
        Line(ASSISTANT, "Tin nhắn", sum(figs.total(stats.MESSAGES).values())),
        Line(ASSISTANT, "Lượt tra cứu hồ sơ", sum(lookups.values())),
        Line(ASSISTANT, "Tra cứu tìm thấy hồ sơ", found, _share(found, sum(lookups.values()))),
        Line(ASSISTANT, "Tỷ lệ không hiểu câu hỏi (fallback)", None, figs.fallback_rate(intents)),
        Line(ASSISTANT, "Chuyển cho cán bộ", sum(figs.total(stats.HANDOFFS).values())),
        Line(ASSISTANT, "Thời gian trả lời (trung vị)",
             round(statistics.median(samples) / 1000, 2) if samples else None, unit="giây"),
    ]


async def build(request: web.Request, first: dt.date, last: dt.date) -> Report:
    """The report of ``first``..``last`` from the dossier system and the assistant's counters."""
    try:
        lines = dossier_lines(await request.app[DOSSIERS_KEY].report(first, last))
        error = False
    except DossierApiError:
        lines, error = [], True
    today = local_now().date()
    since = max(first, today - dt.timedelta(days=stats.KEEP_DAYS - 1))
    until = min(last, today)
    if since <= until:
        redis = request.app[REDIS_KEY]
        days = await stats.read(redis, since, until, CHANNELS)
        lines += assistant_lines(days, await stats.conversations(redis, since, until, CHANNELS))
    else:
        since = None  # nothing counted then: every figure unknown, not zero
        lines += [Line(x.section, x.label, None, None, x.unit) for x in assistant_lines([], {})]
    return Report(first, last, lines, error, since)


def number(value: float | None, unit: str = "") -> str:
    """Vietnamese number style: ``74.950``, ``1,25 giây``."""
    if value is None:
        return "–"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{text} {unit}".strip()


def percent(share: float | None) -> str:
    """``0.90443`` → ``90,44 %``."""
    return "" if share is None else f"{100 * share:.2f} %".replace(".", ",")


def _sections(lines: list[Line]) -> dict[str, list[Line]]:
    out: dict[str, list[Line]] = defaultdict(list)
    for x in lines:
        out[x.section].append(x)
    return out


def _form(kind: str, first: dt.date, last: dt.date) -> str:
    def options(values: dict[str, str], chosen: str) -> str:
        return "".join(f'<option value="{k}"{" selected" if k == chosen else ""}>{html.escape(v)}</option>'
                       for k, v in values.items())
    quarter, month = (first.month - 1) // 3 + 1, first.month
    return f"""<form method="get" action="/staff/reports" class="filters no-print">
<label>Kỳ <select name="period">{options(PERIODS, kind)}</select></label>
<label>Năm <input name="year" type="number" min="2000" max="2100" value="{first.year}" class="short"></label>
<label>Quý <select name="quarter">{options({str(q): str(q) for q in range(1, 5)}, str(quarter))}</select></label>
<label>Tháng <select name="month">{options({str(m): str(m) for m in range(1, 13)}, str(month))}</select></label>
<label>Từ <input name="from" type="date" value="{first.isoformat()}"></label>
<label>Đến <input name="to" type="date" value="{last.isoformat()}"></label>
<button class="primary">Xem báo cáo</button></form>"""


def _query(kind: str, first: dt.date, last: dt.date) -> str:
    if kind == "custom":
        return f"period=custom&from={first.isoformat()}&to={last.isoformat()}"
    return f"period={kind}&year={first.year}&quarter={(first.month - 1) // 3 + 1}&month={first.month}"


def _body(report: Report, kind: str, printable: bool, error: str = "") -> str:
    cards = []
    for section, lines in _sections(report.lines).items():
        rows = "".join(
            f'<tr><td>{html.escape(x.label)}</td><td class="num">{number(x.value, x.unit)}</td>'
            f'<td class="num">{percent(x.share)}</td></tr>' for x in lines)
        cards.append(f'<div class="card"><h2>{html.escape(section)}</h2><table class="report">'
                     f'<tr><th>Chỉ tiêu</th><th class="num">Số lượng</th><th class="num">Tỷ lệ</th></tr>'
                     f'{rows}</table></div>')
    notes = []
    if error:
        notes.append(f'<p class="error">{html.escape(error)}</p>')
    if report.dossier_error:
        notes.append('<p class="error">Không lấy được số liệu hồ sơ và đánh giá từ hệ thống một cửa.</p>')
    if report.assistant_from is None:
        notes.append(f'<p class="muted">Trợ lý ảo không có số liệu trong kỳ này (số liệu được lưu '
                     f'{stats.KEEP_DAYS} ngày).</p>')
    elif report.assistant_from > report.first:
        notes.append(f'<p class="muted">Số liệu trợ lý ảo tính từ {report.assistant_from:%d/%m/%Y} '
                     f'(được lưu {stats.KEEP_DAYS} ngày).</p>')
    query = _query(kind, report.first, report.last)
    tools = "" if printable else (
        f'{_form(kind, report.first, report.last)}<p class="no-print">'
        f'<a href="/staff/reports.xlsx?{query}" id="report-xlsx" download>Tải Excel (XLSX)</a> · '
        f'<a href="/staff/reports.csv?{query}" download>Tải CSV</a> · '
        f'<a href="/staff/reports?{query}&amp;print=1" target="_blank" rel="noopener">Bản in</a></p>')
    return (f'<div class="card"><h1>Báo cáo kết quả giải quyết thủ tục hành chính</h1>'
            f'<p id="report-period">Từ ngày {report.first:%d/%m/%Y} đến ngày {report.last:%d/%m/%Y}</p>'
            f'{tools}{"".join(notes)}</div><div class="grid report-grid">{"".join(cards)}</div>')


async def reports_page(request: web.Request) -> web.Response:
    today = local_now().date()
    try:
        kind, first, last = parse_range(request.query, today)
        error = ""
    except BadRange as exc:
        (kind, first, last), error = parse_range({}, today), str(exc)
    report = await build(request, first, last)
    printable = request.query.get("print") == "1"
    response = page("Báo cáo", _body(report, kind, printable, error), None if printable else session_of(request))
    if error:
        response.set_status(400)
    return response


def rows(report: Report) -> list[list[Any]]:
    """The report as rows under ``HEADERS`` (shares in percent, two decimals)."""
    return [[x.section, f"{x.label} ({x.unit})" if x.unit else x.label, x.value,
             None if x.share is None else round(100 * x.share, 2)] for x in report.lines]


def _title(report: Report) -> str:
    return f"Báo cáo từ ngày {report.first:%d/%m/%Y} đến ngày {report.last:%d/%m/%Y}"


def xlsx_bytes(report: Report) -> bytes:
    """The report as a one-sheet workbook: a title, the period, then ``HEADERS`` and the rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Báo cáo"
    sheet.append(["Sở Công Thương – Báo cáo kết quả giải quyết thủ tục hành chính"])
    sheet.append([_title(report)])
    sheet.append(list(HEADERS))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    sheet["A1"].font = Font(bold=True, size=13)
    for row in rows(report):
        sheet.append(row)
        sheet.cell(sheet.max_row, 3).number_format = "#,##0.##"
        sheet.cell(sheet.max_row, 4).number_format = "0.00"
    for column, width in zip("ABCD", (34, 44, 14, 12), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for row in rows(report):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def _file_name(report: Report, ext: str) -> str:
    return f"bao-cao-{report.first:%Y%m%d}-{report.last:%Y%m%d}.{ext}"


async def _report_or_400(request: web.Request) -> Report:
    try:
        _, first, last = parse_range(request.query, local_now().date())
    except BadRange as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return await build(request, first, last)


async def reports_xlsx(request: web.Request) -> web.Response:
    report = await _report_or_400(request)
    body = await asyncio.to_thread(xlsx_bytes, report)
    return web.Response(body=body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{_file_name(report, "xlsx")}"'})


async def reports_csv(request: web.Request) -> web.Response:
    report = await _report_or_400(request)
    return web.Response(body=("\ufeff" + csv_text(report)).encode("utf-8"), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{_file_name(report, "csv")}"'})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/staff/reports", reports_page)
    app.router.add_get("/staff/reports.xlsx", reports_xlsx)
    app.router.add_get("/staff/reports.csv", reports_csv)
