"""Line charts as SVG text, for the figures the soak and the sweep measure (no plotting
library: the numbers are few and the charts plain)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 50, 44

Series = tuple[str, Sequence[float], Sequence[float]]  # (label, xs, ys)


def _ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `high`."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _label(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.2g}"


def line_chart(title: str, x_label: str, y_label: str, series: Sequence[Series], *,
               x_log2: bool = False, note: str = "") -> str:
    """One chart: every series against a shared y axis from zero. `x_log2`: x positions
    evenly spaced by their base-2 logarithm (concurrency 1, 4, 16, 64)."""
    def fx(x: float) -> float:
        return math.log2(x) if x_log2 else x

    x_values = sorted({x for _, points, _ in series for x in points})
    # Few points (a sweep): a tick at each. Many (a time series): round ticks from zero.
    x_ticks = x_values if x_log2 or len(x_values) <= 8 else _ticks(max(x_values))
    x_low, x_high = fx(min(x_ticks)), fx(max(x_ticks))
    x_high = x_high if x_high > x_low else x_low + 1
    y_ticks = _ticks(max(y for _, _, values in series for y in values))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (fx(x) - x_low) / (x_high - x_low) * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - y / y_ticks[-1] * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
           f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>']
    for tick in y_ticks:
        y = py(tick)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{_label(tick)}</text>')
    for tick in x_ticks:
        x = px(tick)
        out.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                   f'{_label(tick)}</text>')
    out.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" '
               f'y2="{TOP + plot_h}" stroke="black"/>')
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
               f'{escape(x_label)}</text>')
    out.append(f'<text transform="translate(14 {TOP + plot_h / 2}) rotate(-90)" '
               f'text-anchor="middle">{escape(y_label)}</text>')
    for index, (label, points, values) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(points, values, strict=True))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                   f'points="{path}"/>')
        if len(points) <= 8:
            out.extend(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>'
                       for x, y in zip(points, values, strict=True))
        legend_y = TOP + 14 + index * 18
        out.append(f'<line x1="{LEFT + plot_w + 12}" y1="{legend_y - 4}" '
                   f'x2="{LEFT + plot_w + 30}" y2="{legend_y - 4}" stroke="{colour}" '
                   'stroke-width="2"/>')
        out.append(f'<text x="{LEFT + plot_w + 34}" y="{legend_y}">{escape(label)}</text>')
    if note:
        out.append(f'<text x="{LEFT}" y="{TOP - 14}" fill="#555">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
