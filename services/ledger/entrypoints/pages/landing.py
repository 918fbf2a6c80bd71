"""The ledger's front door at `/`: where members, organisers and committees go.

Members never need to type an address (they scan a poster or open their personal link),
so the page says so; a phone that already remembers a member also gets the link to their
records, whose path names the tenant.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, get
from litestar.di import NamedDependency

from ledger.entrypoints.pages.common import MEMBER_AGE, MEMBER_COOKIE, Page, PageServices
from ledger.entrypoints.pages.honor_rolls import reports_public_base


class LandingPage(Controller):
    include_in_schema = False

    @get("/", operation_id="pageLanding")
    async def landing(self, request: Request, page: NamedDependency[Page],
                      pages: NamedDependency[PageServices]) -> Any:
        remembered = pages.signer.unsign("member", request.cookies.get(MEMBER_COOKIE),
                                         max_age=MEMBER_AGE, now=page.now)
        tenant = remembered.get("t") if remembered else None
        return page.render("landing.html",
                           my_records=(f"/t/{quote(tenant, safe='')}/me"
                                       if isinstance(tenant, str) else None),
                           reports_url=reports_public_base())
