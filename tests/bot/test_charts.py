"""The dashboard's server-drawn SVG charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bot.staff import charts

SVG = "{http://www.w3.org/2000/svg}"


def _svg(markup: str) -> ET.Element:
    figure = ET.fromstring(markup.replace('<svg ', '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
    return figure.find(f"{SVG}svg")


def test_stacked_bars_are_proportional_and_carry_their_values() -> None:
    svg = _svg(charts.stacked_bars("Tin nhắn", ["01/03", "02/03"], {"web": [10, 0], "sms": [10, 5]}))
    rects = svg.findall(f"{SVG}rect")
    heights = {r.find(f"{SVG}title").text: float(r.get("height")) for r in rects}
    assert set(heights) == {"01/03 – web: 10", "01/03 – sms: 10", "02/03 – sms: 5"}  # no empty bar
    assert abs(heights["01/03 – web: 10"] - 2 * heights["02/03 – sms: 5"]) < 0.2


def test_shares_split_each_row_into_percentages() -> None:
    parts = [("a", "Hài lòng", "#0f0"), ("b", "Không hài lòng", "#f00")]
    svg = _svg(charts.shares("Hài lòng", [("web", {"a": 3, "b": 1})], parts))
    titles = [r.find(f"{SVG}title").text for r in svg.findall(f"{SVG}rect")]
    assert titles == ["web – Hài lòng: 3 (75.0 %)", "web – Không hài lòng: 1 (25.0 %)"]


def test_lines_leave_gaps_for_days_without_values_and_empty_charts_say_so() -> None:
    svg = _svg(charts.lines("Thời gian", ["1", "2", "3", "4"], {"web": [1.0, 2.0, None, 3.0]}))
    assert len(svg.findall(f"{SVG}circle")) == 3 and len(svg.findall(f"{SVG}polyline")) == 1
    empty = _svg(charts.hbars("Ý định", []))
    assert "Chưa có số liệu" in ET.tostring(empty, encoding="unicode")
