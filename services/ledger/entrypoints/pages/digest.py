"""The employer feedback digest (双报到) as a page: the committee picks a quarter and one of
the employers of the in-service members in its scope, and sees each member's reporting
status, activities and hours in the quarter, with the same table as CSV and XLSX.

The employers offered are the reports' list for the quarter over the organiser's subtree; a
value that is not one of them (typed into the address bar) shows the picker again with a
message, never an error.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from contract.calendar import local_date
from contract.problems import not_found
from contract.report_columns import EMPLOYER_DIGEST
from ledger.adapters.reports_client import ReportsClient
from ledger.domain.members import MAX_EMPLOYER
from ledger.entrypoints.pages.common import OrganiserSession, Page
from ledger.entrypoints.pages.honor_rolls import export_format, passed_through, problem_text

PAGE_SIZE = 100


def recent_quarters(today: date, count: int = 4) -> list[str]:
    """This quarter and the ones before it, newest first ("2026Q4", "2026Q3", …)."""
    year, quarter = today.year, (today.month - 1) // 3 + 1
    quarters = []
    for _ in range(count):
        quarters.append(f"{year}Q{quarter}")
        quarter -= 1
        if quarter == 0:
            year, quarter = year - 1, 4
    return quarters


def _base(organiser: OrganiserSession) -> str:
    """The digest over the organiser's own subtree (the ledger's token is tenant-wide)."""
    return f"/api/v1/units/{organiser.unit_id}/employer-digest"


def _offset(text: str | None) -> int:
    """A page offset from the address bar: a multiple of the page size, else the first."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 9:
        return 0
    value = int(text)
    return value if value % PAGE_SIZE == 0 else 0


class DigestPages(Controller):
    path = "/organiser/digest"
    include_in_schema = False

    async def _employers(self, reports: ReportsClient, organiser: OrganiserSession,
                         quarter: str) -> list[dict[str, Any]]:
        answer = await reports.get(organiser.tenant_id, f"{_base(organiser)}/employers",
                                   {"quarter": quarter})
        answer.raise_for_status()
        return answer.json()["employers"]

    @get("/", operation_id="pageEmployerDigest")
    async def digest(self, page: NamedDependency[Page],
                     organiser: NamedDependency[OrganiserSession],
                     reports: NamedDependency[ReportsClient],
                     quarter: FromQuery[str | None] = None,
                     employer: FromQuery[str | None] = None,
                     offset: FromQuery[str | None] = None) -> Any:
        quarters = recent_quarters(local_date(page.now))
        chosen = quarter if quarter in quarters else quarters[0]
        context: dict[str, Any] = {"organiser": organiser, "quarters": quarters,
                                   "quarter": chosen, "employer": None, "employers": [],
                                   "digest": None, "columns": EMPLOYER_DIGEST, "error": None}
        try:
            context["employers"] = await self._employers(reports, organiser, chosen)
            known = {e["employer"] for e in context["employers"]}
            if employer and employer not in known:
                context["error"] = page.t("digest_no_such_employer")
            elif employer:
                context["employer"] = employer
                answer = await reports.get(organiser.tenant_id, _base(organiser), {
                    "employer": employer, "quarter": chosen, "limit": PAGE_SIZE,
                    "offset": _offset(offset)})
                if answer.status_code == 200:
                    context["digest"] = answer.json()
                else:
                    context["error"] = problem_text(answer, page)
        except httpx.HTTPError:
            context["error"] = page.t("reports_unavailable")
        return page.render("digest.html", **context)

    @get("/{fmt:str}", operation_id="pageExportEmployerDigest")
    async def export(self, page: NamedDependency[Page],
                     organiser: NamedDependency[OrganiserSession],
                     reports: NamedDependency[ReportsClient], fmt: FromPath[str],
                     quarter: FromQuery[str | None] = None,
                     employer: FromQuery[str | None] = None,
                     offset: FromQuery[str | None] = None) -> Response[bytes]:
        """`/csv`, `/xlsx`: what the page shows for the same choice, over the organiser's
        subtree."""
        export_format(fmt)
        if (quarter not in recent_quarters(local_date(page.now)) or not employer
                or len(employer) > MAX_EMPLOYER):
            raise not_found("not_found", "页面不存在", "page not found")
        return passed_through(await reports.get(
            organiser.tenant_id, f"{_base(organiser)}/{fmt}",
            {"employer": employer, "quarter": quarter, "limit": PAGE_SIZE,
             "offset": _offset(offset)}))
