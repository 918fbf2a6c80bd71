"""Reports as plain tables (headings, rows, widths): the one source for CSV, XLSX and the A4
page, so an export holds exactly what the screen shows for the same filters. The honor roll's
and the unit activity's columns are `contract.report_columns`, which the ledger's pages
show too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from contract.report_columns import (
    EMPLOYER_DIGEST,
    HONOR_ROLL,
    HONOR_ROLL_PUBLIC,
    UNIT_ACTIVITY,
    Column,
)
from reports.domain.names import ERASED, masked
from reports.domain.views import EmployerDigest, HonorRollView, UnitActivity


class Table(NamedTuple):
    headers: list[str]
    rows: list[list[object]]
    # Characters wide, per column (XLSX).
    widths: list[int]


def _table(columns: Sequence[Column], rows: list[list[object]]) -> Table:
    return Table([c.zh for c in columns], rows, [c.width for c in columns])


def honor_roll_table(view: HonorRollView, *, mask: bool = False) -> Table:
    """Masked (for public display): names masked and no member numbers."""
    columns = HONOR_ROLL_PUBLIC if mask else HONOR_ROLL
    rows = []
    for entry in view.entries:
        cells = {"rank": entry.rank, "member_number": entry.member_number or "",
                 "name": masked(None if entry.name == ERASED else entry.name) if mask
                 else entry.name,
                 "hours": entry.hours, "activities": entry.activities}
        rows.append([cells[c.key] for c in columns])
    return _table(columns, rows)


def unit_activity_table(report: UnitActivity) -> Table:
    """One row per kind, then the month's totals (participants counted once each)."""
    rows: list[list[object]] = [[getattr(kind, c.key) for c in UNIT_ACTIVITY]
                                for kind in report.kinds]
    totals = {"kind_name": "合计", "activities": report.activities,
              "participants": report.participants, "person_times": report.person_times,
              "hours": report.hours,
              "attendance": sum(kind.attendance for kind in report.kinds),
              "unconfirmed": sum(kind.unconfirmed for kind in report.kinds)}
    rows.append([totals[c.key] for c in UNIT_ACTIVITY])
    return _table(UNIT_ACTIVITY, rows)


def digest_table(digest: EmployerDigest) -> Table:
    rows: list[list[object]] = []
    for member in digest.members:
        cells = {"member_number": member.member_number or "", "name": member.name,
                 "status_name": member.status_name, "unit_name": member.unit_name or "",
                 "reported_since": member.reported_since.isoformat()
                 if member.reported_since else "",
                 "activities": member.activities, "hours": member.hours,
                 "unconfirmed": member.unconfirmed}
        rows.append([cells[c.key] for c in EMPLOYER_DIGEST])
    return _table(EMPLOYER_DIGEST, rows)
