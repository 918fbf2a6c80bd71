"""The organiser's activity report of a unit and month: per kind of activity, held, people,
person-times and hours, rolled up the unit's subtree as it was, with its CSV and XLSX.

The reports service counts; this page checks the organiser's scope and asks it, showing
the columns the exports hold (`contract.report_columns.UNIT_ACTIVITY`).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from contract.report_columns import UNIT_ACTIVITY
from contract.vocabulary import hours_text
from ledger.adapters.reports_client import ReportsClient
from ledger.entrypoints.pages.common import OrganiserSession, Page
from ledger.entrypoints.pages.honor_rolls import (
    export_format,
    passed_through,
    problem_text,
    scoped_unit,
)
from ledger.handlers import Ledger


class UnitReportPages(Controller):
    path = "/organiser/reports"
    include_in_schema = False

    @get("/{unit_id:uuid}/{month:str}", operation_id="pageUnitActivity")
    async def report(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                     organiser: NamedDependency[OrganiserSession],
                     reports: NamedDependency[ReportsClient], unit_id: FromPath[uuid.UUID],
                     month: FromPath[str]) -> Any:
        unit_name = await scoped_unit(ledger, organiser, unit_id, month)
        report, problem = None, None
        try:
            answer = await reports.get(organiser.tenant_id,
                                       f"/api/v1/units/{unit_id}/activity", {"month": month})
        except httpx.HTTPError:
            problem = page.t("reports_unavailable")
        else:
            if answer.status_code == 200:
                report = answer.json()
            else:
                problem = problem_text(answer, page)
        return page.render("unit_report.html", organiser=organiser, unit_id=unit_id,
                           unit_name=unit_name, month=month, report=report, problem=problem,
                           columns=UNIT_ACTIVITY, hours_text=hours_text)

    @get("/{unit_id:uuid}/{month:str}/{fmt:str}", operation_id="pageExportUnitActivity")
    async def export(self, ledger: NamedDependency[Ledger],
                     organiser: NamedDependency[OrganiserSession],
                     reports: NamedDependency[ReportsClient], unit_id: FromPath[uuid.UUID],
                     month: FromPath[str], fmt: FromPath[str]) -> Response[bytes]:
        """`…/csv`, `…/xlsx`: the report as the reports export it."""
        export_format(fmt)
        await scoped_unit(ledger, organiser, unit_id, month)
        return passed_through(await reports.get(
            organiser.tenant_id, f"/api/v1/units/{unit_id}/activity/{fmt}", {"month": month}))
