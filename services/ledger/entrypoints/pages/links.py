"""A personal sign-in link an organiser sends a member (instead of number + PIN).

The link carries a signed, 7-day token naming tenant and member; opening it makes the
phone remember the member, like a correct PIN. It is a credential: the organiser sends it
to the member privately (not to a group chat). Only members reported to a unit within the
organiser's scope get one.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import msgspec
import segno
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody

from ledger.adapters.directory import MemberDirectory
from ledger.entrypoints.pages.codes import public_base
from ledger.entrypoints.pages.common import (
    OrganiserSession,
    Page,
    PageServices,
    member_cookie,
)
from ledger.handlers import Ledger

LINK_AGE = timedelta(days=7)


class LinkForm(msgspec.Struct, kw_only=True):
    member_number: str = ""


class LinkPages(Controller):
    include_in_schema = False

    @get("/organiser/links", operation_id="pagePersonalLinkForm")
    async def form(self, page: NamedDependency[Page],
                   organiser: NamedDependency[OrganiserSession]) -> Any:
        return page.render("links.html", organiser=organiser, typed_number="")

    @post("/organiser/links", operation_id="pagePersonalLinkCreate", status_code=200)
    async def create(self, request: Request, ledger: NamedDependency[Ledger],
                     directory: NamedDependency[MemberDirectory],
                     page: NamedDependency[Page], pages: NamedDependency[PageServices],
                     organiser: NamedDependency[OrganiserSession],
                     data: URLEncodedBody[LinkForm]) -> Any:
        number = data.member_number.strip()[:64]
        tenant = organiser.tenant_id
        member_id = await directory.member_by_number(tenant, number) if number else None
        member = await ledger.state.member(tenant, member_id) if member_id else None
        tree = await ledger.state.tree(tenant)
        if member is None or member.unit_id is None or not member.active \
                or not tree.covers(organiser.unit_id, member.unit_id):
            # Organisers see their own members only; outside the scope reads as not found.
            return page.render("links.html", status_code=422, organiser=organiser,
                               typed_number=number, error=page.t("member_not_found"))
        token = pages.signer.sign("link", {"t": tenant, "m": str(member.member_id)}, page.now)
        link = f"{public_base(request)}/t/{tenant}/welcome/{token}"
        entry = await directory.get(tenant, member.member_id)
        return page.render(
            "links.html", organiser=organiser, typed_number=number, link=link,
            who=f"{entry.name}（{entry.member_number}）" if entry and entry.name else number,
            qr=segno.make(link, error="m").svg_inline(scale=4, border=2, omitsize=True))

    @get("/t/{tenant_id:str}/welcome/{token:str}", operation_id="pagePersonalLinkOpen")
    async def open_link(self, page: NamedDependency[Page],
                        pages: NamedDependency[PageServices], tenant_id: FromPath[str],
                        token: FromPath[str]) -> Any:
        payload = pages.signer.unsign("link", token, max_age=LINK_AGE, now=page.now)
        if payload is None or payload.get("t") != tenant_id:
            return page.render("message.html", status_code=410, heading=page.t("error"),
                               text=page.t("link_expired"))
        try:
            member_id = uuid.UUID(str(payload.get("m")))
        except ValueError:
            return page.render("message.html", status_code=410, heading=page.t("error"),
                               text=page.t("link_expired"))
        return page.redirect(f"/t/{tenant_id}/me",
                             cookies=[member_cookie(pages, tenant_id, member_id, page.now)])
