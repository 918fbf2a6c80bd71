"""Reports as plain tables (headers + rows): the one source for CSV, XLSX and the A4 page,
so an export holds exactly what the screen shows for the same filters."""

from __future__ import annotations

from reports.domain.names import ERASED, masked
from reports.domain.views import EmployerDigest, HonorRollView

Table = tuple[list[str], list[list[object]]]


def honor_roll_table(view: HonorRollView, *, mask: bool = False) -> Table:
    """Masked (for public display): names masked and no member numbers."""
    if mask:
        return (["名次", "姓名", "服务时长（小时）", "参加活动（次）"],
                [[e.rank, masked(None if e.name == ERASED else e.name), e.hours, e.activities]
                 for e in view.entries])
    return (["名次", "成员编号", "姓名", "服务时长（小时）", "参加活动（次）"],
            [[e.rank, e.member_number or "", e.name, e.hours, e.activities]
             for e in view.entries])


def digest_table(digest: EmployerDigest) -> Table:
    headers = ["成员编号", "姓名", "报到状态", "报到组织", "报到日期", "参加活动（次）",
               "服务时长（小时）", "待确认（次）"]
    rows: list[list[object]] = [
        [m.member_number or "", m.name, m.status_name, m.unit_name or "",
         m.reported_since.isoformat() if m.reported_since else "", m.activities, m.hours,
         m.unconfirmed]
        for m in digest.members
    ]
    return headers, rows
