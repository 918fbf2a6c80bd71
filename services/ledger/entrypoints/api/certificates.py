"""Volunteer-service certificates (志愿服务证明): an organiser issues one for a member in
their subtree; the ledger keeps it as an event, lists it, and answers its public
verification (masked) for whoever holds the paper."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter

from contract.access import ORGANISERS, PUBLIC, Principal, read, write
from contract.problems import not_found
from ledger import certificate_views
from ledger.adapters.directory import MemberDirectory
from ledger.adapters.listings import (
    CertificateFilter,
    CertificateSummary,
    InvalidCursor,
    Listings,
)
from ledger.adapters.names import Names
from ledger.certificate_views import CertificateView, PublicCertificate
from ledger.domain.certificates import MAX_NUMBER, IssueCertificate
from ledger.entrypoints.api.responses import invalid_cursor
from ledger.entrypoints.api.scope import listed_units
from ledger.handlers import Actor, Ledger, Outcome


class CertificateIssuedOut(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    outcome: Outcome


class CertificateList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[CertificateSummary]
    # Pass as `after` for the next page; null on the last page.
    next: str | None


TENANT_ID_MAX = 64
NUMBER = "The certificate number printed on it (ZYFW-YYYY-…)"


def _not_found() -> Exception:
    return not_found("certificate_not_found", "未找到该证明", "no such certificate", "number")


class CertificateController(Controller):
    path = "/api/v1"
    tags = ("certificates",)

    @post("/members/{member_id:uuid}/certificates", operation_id="issueCertificate",
          opt=write("member_id", roles=ORGANISERS),
          summary="Issue a volunteer-service certificate (organisers)",
          description="The member's confirmed service hours and content by month, "
                      "`first_month` to `last_month` (YYYY-MM, Asia/Shanghai, at most 24 "
                      "months, not after this month), frozen into a `CertificateIssued` "
                      "event; the issuing unit is the organiser's, the handler (经办人) the "
                      "organiser. The number is derived from `command_id` (a retry answers "
                      "the same certificate, 200) and unguessable. 422 `no_service` when "
                      "nothing confirmed falls in the period.")
    async def issue(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                    member_id: FromPath[uuid.UUID],
                    data: JSONBody[IssueCertificate]) -> Response[CertificateIssuedOut]:
        number, outcome = await ledger.certificates.issue(actor, member_id, data)
        return Response(CertificateIssuedOut(number=number, outcome=outcome),
                        status_code=200 if outcome.replayed else 201)

    @get("/members/{member_id:uuid}/certificates", operation_id="listMemberCertificates",
         opt=read("member_id"), summary="A member's certificates, newest first",
         description="Certificates issued to the member by units within the token's scope, "
                     "1–200 per page (default 50); pass `next` as `after` for the next page.")
    async def list_for_member(
        self, ledger: NamedDependency[Ledger], listings: NamedDependency[Listings],
        principal: NamedDependency[Principal], member_id: FromPath[uuid.UUID],
        after: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> CertificateList:
        tree = await ledger.state.tree(principal.tenant_id, max_age=0)
        where = CertificateFilter(units=listed_units(tree, principal), member_id=member_id)
        return await _page(listings, principal.tenant_id, where, after, limit)

    @get("/certificates", operation_id="listCertificates", opt=read(),
         summary="Certificates issued in scope, newest first",
         description="Certificates issued by units within the token's scope (`unit_id`: "
                     "that unit's subtree; 403 outside the scope), 1–200 per page.")
    async def list_certificates(
        self, ledger: NamedDependency[Ledger], listings: NamedDependency[Listings],
        principal: NamedDependency[Principal], unit_id: FromQuery[uuid.UUID | None] = None,
        after: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> CertificateList:
        tree = await ledger.state.tree(principal.tenant_id, max_age=0)
        where = CertificateFilter(units=listed_units(tree, principal, unit_id))
        return await _page(listings, principal.tenant_id, where, after, limit)

    @get("/certificates/{number:str}", operation_id="getCertificate", opt=read(),
         summary="A certificate as issued, with today's names",
         description="404 `certificate_not_found` for a number unknown, or issued outside "
                     "the token's scope (indistinguishable).")
    async def get_certificate(
        self, ledger: NamedDependency[Ledger], directory: NamedDependency[MemberDirectory],
        names: NamedDependency[Names], principal: NamedDependency[Principal],
        number: Annotated[str, PathParameter(max_length=MAX_NUMBER, description=NUMBER)],
    ) -> CertificateView:
        found = await certificate_views.load(ledger, directory, names, principal.tenant_id,
                                             number)
        tree = await ledger.state.tree(principal.tenant_id)
        if found is None or not certificate_views.visible_to(tree, principal.scope_unit_id,
                                                             found):
            raise _not_found()
        return found

    @get("/public/{tenant_id:str}/certificates/{number:str}", operation_id="verifyCertificate",
         opt=PUBLIC.opt(), summary="Verify a certificate (public, masked)",
         description="What the paper must say: the masked name, hours and content by "
                     "month, the issuer and the date. 404 `certificate_not_found` for a "
                     "number the ledger does not hold. Numbers carry 60 random bits, so "
                     "they cannot be enumerated.")
    async def verify(
        self, ledger: NamedDependency[Ledger], directory: NamedDependency[MemberDirectory],
        names: NamedDependency[Names],
        tenant_id: Annotated[str, PathParameter(max_length=TENANT_ID_MAX)],
        number: Annotated[str, PathParameter(max_length=MAX_NUMBER, description=NUMBER)],
    ) -> PublicCertificate:
        found = await certificate_views.load(ledger, directory, names, tenant_id, number)
        if found is None:
            raise _not_found()
        return certificate_views.public(found)


async def _page(listings: Listings, tenant_id: str, where: CertificateFilter,
                after: str | None, limit: int) -> CertificateList:
    try:
        items, following = await listings.certificates(tenant_id, where, after, limit)
    except InvalidCursor:
        raise invalid_cursor() from None
    return CertificateList(items=items, next=following)
