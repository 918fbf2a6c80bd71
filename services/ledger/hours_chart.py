"""The member's hours per month as a bar chart, drawn here as inline SVG.

Rendered by the server so the page needs no script (and the Content-Security-Policy
allows none from elsewhere): presentation attributes only, no `style`, which the policy
would block. The table beside it carries the same figures for screen readers and print.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from ledger.member_records import Period

WIDTH, HEIGHT = 340, 170
TOP, BOTTOM, LEFT = 18, 24, 4
SHOWN = 12


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}".removesuffix(".0")


def month_bars(months: list[Period], label: str) -> Markup:
    """The last `SHOWN` months (given newest first) oldest to newest, one bar each."""
    shown = list(reversed(months[:SHOWN]))
    if not shown:
        return Markup("")
    top = max(p.minutes for p in shown) or 1
    slot = (WIDTH - LEFT) / len(shown)
    plot = HEIGHT - TOP - BOTTOM
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(label)}</title>",
             f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" '
             'stroke="#d0ccc4"/>']
    for i, period in enumerate(shown):
        height = round(plot * period.minutes / top, 1)
        x = round(LEFT + i * slot + slot * 0.15, 1)
        width = round(slot * 0.7, 1)
        y = round(HEIGHT - BOTTOM - height, 1)
        middle = round(x + width / 2, 1)
        parts.append(f'<rect x="{x}" y="{y}" width="{width}" height="{height}" '
                     f'fill="#b3121b"><title>{escape(period.label)}：'
                     f'{_hours(period.minutes)}</title></rect>')
        if period.minutes:
            parts.append(f'<text x="{middle}" y="{y - 4}" font-size="10" '
                         f'text-anchor="middle" fill="#1a1a1a">{_hours(period.minutes)}</text>')
        parts.append(f'<text x="{middle}" y="{HEIGHT - 8}" font-size="10" '
                     f'text-anchor="middle" fill="#4a4a4a">{int(period.label[5:])}月</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
