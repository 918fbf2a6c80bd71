"""Links from the organiser's pages to the reports service's honor-roll pages.

The reports service computes the monthly honor roll (draft, publish through the ledger,
printable and public masked pages). Its draft and publish endpoints take bearer tokens,
not this session, so here the organiser finds the public masked page of each of their
units for recent months; the page answers 404 until that month's roll is published.
`REPORTS_PUBLIC_URL` names where the reports service is reachable (default: `make run`'s).
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency

from ledger.domain.calendar import local_date
from ledger.entrypoints.pages.common import OrganiserSession, Page
from ledger.handlers import Ledger

# Units that keep an honor roll: where volunteers report and activities are hosted.
ROLL_KINDS = ("community", "branch", "team")


def recent_months(today: date, count: int = 3) -> list[str]:
    """The months before this one (the current month's roll is not final yet), newest first."""
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        months.append(f"{year:04d}-{month:02d}")
    return months


class HonorRollPages(Controller):
    path = "/organiser/honor-rolls"
    include_in_schema = False

    @get("/", operation_id="pageHonorRollLinks")
    async def links(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                    organiser: NamedDependency[OrganiserSession]) -> Any:
        tree = await ledger.tree(organiser.tenant_id)
        units = sorted((u for u in tree.units.values()
                        if u.active and u.kind in ROLL_KINDS
                        and tree.covers(organiser.unit_id, u.unit_id)),
                       key=lambda u: (ROLL_KINDS.index(u.kind), u.name))
        base = os.environ.get("REPORTS_PUBLIC_URL", "http://127.0.0.1:8001").rstrip("/")
        return page.render("honor_rolls.html", organiser=organiser, units=units,
                           months=recent_months(local_date(page.now)),
                           reports=f"{base}/public/{organiser.tenant_id}/honor-rolls")
