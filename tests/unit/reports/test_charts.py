"""The server-drawn SVG charts: accessible names, escaped text, axis bounds, and a line
broken where there is nothing to measure."""

from __future__ import annotations

import re

from reports.domain import charts


def test_a_bar_chart_is_a_named_image_with_one_bar_per_value() -> None:
    svg = charts.bar_chart("h", "时长 <年度>", "说明 & 注释", ["1月", "2月", "3月"],
                           [1.5, 0, 12], "小时")
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert 'role="img" aria-labelledby="h-title h-desc"' in svg
    assert '<title id="h-title">时长 &lt;年度&gt;</title>' in svg
    assert '<desc id="h-desc">说明 &amp; 注释</desc>' in svg
    assert len(re.findall(r"<rect ", svg)) == 3
    # The axis runs to a round number above the largest value: 12 -> 20.
    assert ">20</text>" in svg and "<script" not in svg and "style=" not in svg
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[1] == 0 and heights[2] > heights[0] > 0


def test_a_line_breaks_where_a_value_is_missing() -> None:
    svg = charts.line_chart("r", "参与率", "折线", ["1月", "2月", "3月", "4月", "5月"],
                            [("甲", [10, 20, None, 30, 40]), ("乙", [None, None, None, None, 5])],
                            "%", top=100)
    # 甲: two runs of two points; 乙: one point, no line.
    assert len(re.findall(r"<polyline ", svg)) == 2
    assert len(re.findall(r"<circle ", svg)) == 5
    assert ">100</text>" in svg
    assert charts.legend(["甲", "乙"]) == [("甲", charts.PALETTE[0]), ("乙", charts.PALETTE[1])]


def test_nice_bounds() -> None:
    assert [charts._nice_top(v) for v in (0, 0.4, 1, 3.5, 12, 250, 2600)] == [
        1, 1, 1, 5, 20, 250, 5000]
