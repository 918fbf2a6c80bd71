"""The committee dashboard for the signed-in organiser's unit: the reports service draws
it (`getDashboardPage`, SVG charts and tables); this page checks nothing more than the
session, since the unit is the organiser's own, and passes it through."""

from __future__ import annotations

import httpx
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template

from contract.calendar import FIRST_YEAR, LAST_YEAR
from ledger.adapters.reports_client import ReportsClient
from ledger.entrypoints.pages.common import OrganiserSession, Page


class DashboardPages(Controller):
    path = "/organiser/dashboard"
    include_in_schema = False

    @get("/", operation_id="pageDashboard")
    async def dashboard(self, page: NamedDependency[Page],
                        organiser: NamedDependency[OrganiserSession],
                        reports: NamedDependency[ReportsClient],
                        year: FromQuery[str | None] = None) -> Response[bytes] | Template:
        params = {}
        # A year typed into the address bar that is not one is this year, not an error.
        if year is not None and year.isdigit() and FIRST_YEAR <= int(year) < LAST_YEAR:
            params["year"] = year
        try:
            answer = await reports.get(organiser.tenant_id,
                                       f"/api/v1/units/{organiser.unit_id}/dashboard/page",
                                       params)
        except httpx.HTTPError:
            answer = None
        if answer is None or answer.status_code != 200:
            return page.render("message.html", status_code=503, heading=page.t("error"),
                               text=page.t("dashboard_unavailable"))
        return Response(answer.content, media_type="text/html; charset=utf-8")
