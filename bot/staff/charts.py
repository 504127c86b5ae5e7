"""Charts for the dashboard, drawn on the server as inline SVG: nothing to
download at run time, readable without JavaScript, and each bar or point carries
its exact value as a tooltip (``<title>``)."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

PALETTE = ("#0b4f8a", "#e07b00", "#1b7f3a", "#b00020", "#6a3d9a", "#00838f", "#8d6e63", "#546e7a")
W, H = 440, 230
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 12, 42
MAX_ROW = 40  # a horizontal bar chart with one or two rows stays a bar chart


def _esc(text: object) -> str:
    return html.escape(str(text))


def _frame(title: str, svg: str, legend: Sequence[tuple[str, str]] = (), chart_id: str = "") -> str:
    keys = "".join(f'<span><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" '
                   f'fill="{_esc(c)}"/></svg>{_esc(n)}</span>' for n, c in legend)  # no style attribute: CSP
    ident = f' id="{_esc(chart_id)}"' if chart_id else ""
    return (f'<figure class="chart"{ident}><figcaption>{_esc(title)}</figcaption>'
            f'<svg viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{_esc(title)}">{svg}</svg>'
            f'<div class="legend">{keys}</div></figure>')


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** len(str(int(value))) / 10
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * step:
            return m * step
    return value


def _axes(top: float, fmt: Callable[[float], str], labels: Sequence[str]) -> str:
    out = []
    plot_h = H - TOP - BOTTOM
    for i in range(5):
        v = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7eb"/>'
                   f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{_esc(fmt(v))}</text>')
    every = max(1, -(-len(labels) // 7))  # at most 7 labels: dd/mm needs the room
    slot = (W - LEFT - RIGHT) / max(len(labels), 1)
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + slot * (i + 0.5)
            out.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 14}" text-anchor="middle">{_esc(label)}</text>')
    return "".join(out)


def stacked_bars(title: str, labels: Sequence[str], series: dict[str, Sequence[float]],
                 fmt: Callable[[float], str] = lambda v: f"{v:g}", chart_id: str = "") -> str:
    """One bar per label, stacked by series (e.g. messages per day by channel)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    plot_h = H - TOP - BOTTOM
    slot = (W - LEFT - RIGHT) / max(len(labels), 1)
    bars = []
    colors = dict(zip(series, PALETTE, strict=False))
    for i, label in enumerate(labels):
        y = TOP + plot_h
        for name, values in series.items():
            h = plot_h * values[i] / top
            if h <= 0:
                continue
            y -= h
            bars.append(f'<rect x="{LEFT + slot * i + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                        f'height="{h:.1f}" fill="{colors[name]}"><title>{_esc(label)} – {_esc(name)}: '
                        f'{_esc(fmt(values[i]))}</title></rect>')
    return _frame(title, _axes(top, fmt, labels) + "".join(bars), list(colors.items()), chart_id)


def lines(title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]],
          fmt: Callable[[float], str] = lambda v: f"{v:g}", chart_id: str = "") -> str:
    """One line per series; days without a value leave a gap."""
    top = _nice_max(max((v for values in series.values() for v in values if v is not None), default=0))
    plot_h = H - TOP - BOTTOM
    slot = (W - LEFT - RIGHT) / max(len(labels), 1)
    colors = dict(zip(series, PALETTE, strict=False))
    out = []
    for name, values in series.items():
        points = []
        for i, v in enumerate(values):
            if v is None:
                if len(points) > 1:
                    out.append(f'<polyline fill="none" stroke="{colors[name]}" stroke-width="2" '
                               f'points="{" ".join(points)}"/>')
                points = []
                continue
            x, y = LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * v / top
            points.append(f"{x:.1f},{y:.1f}")
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colors[name]}"><title>{_esc(labels[i])} – '
                       f'{_esc(name)}: {_esc(fmt(v))}</title></circle>')
        if len(points) > 1:
            out.append(f'<polyline fill="none" stroke="{colors[name]}" stroke-width="2" points="{" ".join(points)}"/>')
    return _frame(title, _axes(top, fmt, labels) + "".join(out), list(colors.items()), chart_id)


def hbars(title: str, items: Sequence[tuple[str, float]], fmt: Callable[[float], str] = lambda v: f"{v:g}",
          chart_id: str = "") -> str:
    """Horizontal bars, largest first (e.g. top intents)."""
    items = sorted(items, key=lambda kv: -kv[1])[:10]
    top = max((v for _, v in items), default=0) or 1
    row = min((H - TOP - 8) / max(len(items), 1), MAX_ROW)
    label_w = 150
    out = []
    for i, (label, value) in enumerate(items):
        y = TOP + row * i
        w = (W - label_w - 60) * value / top
        out.append(f'<text x="{label_w - 6}" y="{y + row * 0.6:.1f}" text-anchor="end">{_esc(label)}</text>'
                   f'<rect x="{label_w}" y="{y + row * 0.15:.1f}" width="{w:.1f}" height="{row * 0.7:.1f}" '
                   f'fill="{PALETTE[0]}"><title>{_esc(label)}: {_esc(fmt(value))}</title></rect>'
                   f'<text x="{label_w + w + 4:.1f}" y="{y + row * 0.6:.1f}">{_esc(fmt(value))}</text>')
    if not items:
        out.append(f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle">Chưa có số liệu</text>')
    return _frame(title, "".join(out), (), chart_id)


def shares(title: str, rows: Sequence[tuple[str, dict[str, float]]], parts: Sequence[tuple[str, str, str]],
           chart_id: str = "") -> str:
    """One 100 % bar per row split into parts (key, label, color), e.g. satisfaction by channel."""
    row_h = min((H - TOP - 8) / max(len(rows), 1), MAX_ROW)
    label_w = 110
    out = []
    for i, (label, counts) in enumerate(rows):
        total = sum(counts.get(key, 0) for key, _, _ in parts)
        y = TOP + row_h * i
        out.append(f'<text x="{label_w - 6}" y="{y + row_h * 0.55:.1f}" text-anchor="end">{_esc(label)} '
                   f'({total:g})</text>')
        x = float(label_w)
        for key, part, color in parts:
            n = counts.get(key, 0)
            if not total or not n:
                continue
            w = (W - label_w - 10) * n / total
            out.append(f'<rect x="{x:.1f}" y="{y + row_h * 0.15:.1f}" width="{w:.1f}" height="{row_h * 0.7:.1f}" '
                       f'fill="{color}"><title>{_esc(label)} – {_esc(part)}: {n:g} ({100 * n / total:.1f} %)'
                       f'</title></rect>')
            if w > 34:
                out.append(f'<text x="{x + w / 2:.1f}" y="{y + row_h * 0.6:.1f}" text-anchor="middle" fill="#fff">'
                           f'{100 * n / total:.0f}%</text>')
            x += w
    if not rows:
        out.append(f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle">Chưa có số liệu</text>')
    return _frame(title, "".join(out), [(part, color) for _, part, color in parts], chart_id)
