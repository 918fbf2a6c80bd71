"""Charts drawn by the server as inline SVG: no scripts, no stylesheet (presentation
attributes only, which the pages' Content-Security-Policy allows), and accessible: each
chart is an image named by its <title> and described by its <desc>, and the page shows the
same figures as a table next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40
# Colours told apart also by people with the common colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000")
BAR = "#b71c1c"


def _nice_top(value: float) -> float:
    """A round upper bound for the axis: 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10.0 * power


def number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _frame(chart_id: str, title: str, desc: str, top: float, axis_label: str,
           labels: Sequence[str]) -> list[str]:
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="sans-serif" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for i in range(5):
        value = top * i / 4
        y = TOP + inner_h - inner_h * i / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + inner_w}" y2="{y:.1f}" '
                     f'stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="#333">{escape(number(value))}</text>')
    parts.append(f'<text x="12" y="{TOP + inner_h / 2:.1f}" fill="#333" '
                 f'transform="rotate(-90 12 {TOP + inner_h / 2:.1f})" '
                 f'text-anchor="middle">{escape(axis_label)}</text>')
    step = inner_w / max(len(labels), 1)
    for i, label in enumerate(labels):
        x = LEFT + step * (i + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                     f'fill="#333">{escape(label)}</text>')
    return parts


def bar_chart(chart_id: str, title: str, desc: str, labels: Sequence[str],
              values: Sequence[float], axis_label: str) -> str:
    top = _nice_top(max(values, default=0))
    parts = _frame(chart_id, title, desc, top, axis_label, labels)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(labels), 1)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = inner_h * value / top
        x = LEFT + step * i + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{TOP + inner_h - height:.1f}" width="{step * 0.7:.1f}" '
            f'height="{height:.1f}" fill="{BAR}"><title>{escape(label)}：'
            f'{escape(number(value))}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(chart_id: str, title: str, desc: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[float | None]]], axis_label: str,
               top: float | None = None) -> str:
    """One line per series; a None value (nothing to measure) breaks the line there."""
    highest = max((v for _, values in series for v in values if v is not None), default=0)
    top = top or _nice_top(highest)
    parts = _frame(chart_id, title, desc, top, axis_label, labels)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(labels), 1)
    for index, (name, values) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
                continue
            runs[-1].append((LEFT + step * (i + 0.5), TOP + inner_h - inner_h * value / top))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                             f'stroke-width="2"/>')
        for i, value in enumerate(values):
            if value is not None:
                x, y = LEFT + step * (i + 0.5), TOP + inner_h - inner_h * value / top
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                             f'<title>{escape(name)} {escape(labels[i])}：'
                             f'{escape(number(value))}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def legend(series_names: Sequence[str]) -> list[tuple[str, str]]:
    """(name, colour) of each line, for the legend the page prints under a chart."""
    return [(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(series_names)]
