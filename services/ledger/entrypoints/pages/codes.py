"""The live rotating code for a screen at the site, and the printable poster.

The live screen refreshes itself (a meta refresh timed to the next rotation: no JS needed);
its QR carries the current code, so scanning it checks the code in one step. The printed
poster cannot rotate: its QR carries the activity's poster token (`ledger.checkin_codes`),
accepted only on the activity's day while its check-in is open, so the poster works on
its own where there is no screen; check-ins made with it alone are flagged for the
organiser, and a live screen, where there is one, gives the stronger proof.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import segno
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from contract.calendar import shanghai
from ledger import checkin_codes
from ledger.entrypoints.pages.checkin import checkin_path
from ledger.entrypoints.pages.common import OrganiserSession, Page, PageServices
from ledger.handlers import Ledger


def public_base(request: Request) -> str:
    # Behind a proxy the request's host may be internal; PUBLIC_BASE_URL names the real one.
    return os.environ.get("PUBLIC_BASE_URL") or str(request.base_url).rstrip("/")


class CodePages(Controller):
    path = "/organiser/activities/{activity_id:uuid}"
    include_in_schema = False

    async def _activity(self, ledger: Ledger, organiser: OrganiserSession,
                        activity_id: uuid.UUID) -> Any:
        activity = await ledger.state.activity(organiser.tenant_id, activity_id)
        tree = await ledger.state.tree(organiser.tenant_id)
        if activity is None or not tree.covers(organiser.unit_id, activity.host_unit_id):
            return None, ""
        host = tree.units.get(activity.host_unit_id)
        return activity, host.name if host else ""

    @get("/live", operation_id="pageLiveCode")
    async def live(self, request: Request, ledger: NamedDependency[Ledger],
                   page: NamedDependency[Page], pages: NamedDependency[PageServices],
                   organiser: NamedDependency[OrganiserSession],
                   activity_id: FromPath[uuid.UUID]) -> Any:
        activity, host = await self._activity(ledger, organiser, activity_id)
        if activity is None:
            return page.render("message.html", status_code=404, heading=page.t("not_found"),
                               text=page.t("activity_missing"))
        code = checkin_codes.current(pages.secrets.checkin_code, organiser.tenant_id,
                                     activity_id, page.now)
        url = (f"{public_base(request)}{checkin_path(organiser.tenant_id, activity_id)}"
               f"?c={code.code}")
        qr = segno.make(url, error="m").svg_inline(scale=8, border=2, omitsize=True)
        refresh = max(1, int((code.changes_at - page.now).total_seconds()) + 1)
        return page.render("live.html", activity=activity, host=host, code=code, qr=qr,
                           refresh=refresh)

    @get("/poster", operation_id="pagePoster")
    async def poster(self, request: Request, ledger: NamedDependency[Ledger],
                     page: NamedDependency[Page], pages: NamedDependency[PageServices],
                     organiser: NamedDependency[OrganiserSession],
                     activity_id: FromPath[uuid.UUID]) -> Any:
        activity, host = await self._activity(ledger, organiser, activity_id)
        if activity is None:
            return page.render("message.html", status_code=404, heading=page.t("not_found"),
                               text=page.t("activity_missing"))
        token = checkin_codes.poster_token(pages.secrets.checkin_code, organiser.tenant_id,
                                           activity_id, shanghai(activity.starts_at).date())
        url = (f"{public_base(request)}{checkin_path(organiser.tenant_id, activity_id)}"
               f"?p={token}")
        qr = segno.make(url, error="q").svg_inline(scale=10, border=2, omitsize=True)
        return page.render("poster.html", activity=activity, host=host, qr=qr, url=url,
                           opens_at=activity.starts_at - ledger.checkin_grace)
