"""Certificate pages: the member asks for one and prints the ones issued to them, the
organiser answers requests, issues and prints (A4), and anyone holding a paper verifies it.

Only the organising unit issues (志愿服务记录与证明出具办法: the unit that recorded the
service certifies it, on the volunteer's request: apply → accept → issue). The member's
page asks for a period (one open request at a time) and shows each request's answer; the
organisers of the member's unit and above see the open requests on their certificate page
and issue (the request's months, their contact) or refuse with a reason. The verification
page is public, shows the ledger's figures with the name masked, and answers an unknown
number with "未找到该证明"; numbers carry 60 bits of an HMAC, so they cannot be enumerated.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import segno
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody

from contract.access import PUBLIC
from contract.bounds import has_controls
from contract.calendar import local_date, month_of
from contract.problems import Refusal
from ledger import certificate_views
from ledger.adapters.directory import MemberDirectory
from ledger.adapters.listings import CertificateFilter, Listings
from ledger.adapters.names import Names
from ledger.certificate_views import CertificateView
from ledger.domain.certificates import (
    MAX_CONTACT,
    IssueCertificate,
    RefuseCertificateRequest,
    RequestCertificate,
)
from ledger.entrypoints.pages.codes import public_base
from ledger.entrypoints.pages.common import (
    MemberSession,
    OrganiserSession,
    Page,
    PageServices,
    member_session,
)
from ledger.entrypoints.pages.forms import command_id_of
from ledger.handlers import Ledger

LISTED = 100
# A member's own requests shown with their answers, newest first.
REQUESTS_SHOWN = 20


class IssueForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    member_number: str = ""
    first_month: str = ""
    last_month: str = ""
    contact: str = ""


class RequestForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    first_month: str = ""
    last_month: str = ""


class AnswerForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    member_id: str = ""
    # The button pressed: "issue", or "refuse" (with a reason).
    answer: str = ""
    contact: str = ""
    reason: str = ""


def verify_path(tenant_id: str, number: str) -> str:
    return f"/t/{tenant_id}/verify/{number}"


def _qr(request: Request, tenant_id: str, number: str) -> str:
    url = public_base(request) + verify_path(tenant_id, number)
    return segno.make(url, error="m").svg_inline(scale=3, dark="#000", light="#fff",
                                                 omitsize=True, title=url)


def _print(page: Page, request: Request, certificate: CertificateView, tenant_id: str,
           back: str) -> Any:
    return page.render("certificate.html", c=certificate, back=back,
                       qr=_qr(request, tenant_id, certificate.number),
                       verify_url=public_base(request) + verify_path(tenant_id,
                                                                     certificate.number))


def _missing(page: Page) -> Any:
    return page.render("message.html", status_code=404, heading=page.t("certificate_missing"),
                       text=page.t("certificate_missing_help"))


class OrganiserCertificatePages(Controller):
    path = "/organiser/certificates"
    include_in_schema = False

    @get("/", operation_id="pageCertificates")
    async def list_page(self, request: Request, ledger: NamedDependency[Ledger],
                        page: NamedDependency[Page],
                        organiser: NamedDependency[OrganiserSession],
                        listings: NamedDependency[Listings],
                        names: NamedDependency[Names]) -> Any:
        return await self._render(ledger, page, organiser, listings, names, IssueForm(),
                                  done=request.query_params.get("done", ""))

    async def _render(self, ledger: Ledger, page: Page, organiser: OrganiserSession,
                      listings: Listings, names: Names, form: IssueForm, *,
                      status_code: int = 200, error: str | None = None,
                      answer_errors: dict[uuid.UUID, str] | None = None,
                      done: str = "") -> Any:
        tree = await ledger.state.tree(organiser.tenant_id)
        units = tree.subtree(organiser.unit_id)
        items, _ = await listings.certificates(
            organiser.tenant_id, CertificateFilter(units=units), None, LISTED)
        requests = await listings.certificate_requests(organiser.tenant_id, units=units,
                                                       limit=LISTED)
        named = {n.member_id: n for n in await names.members(
            organiser.tenant_id, [i.member_id for i in (*items, *requests)], None)}
        # An answer refused for a request no longer listed (answered meanwhile) shows on top.
        listed = {r.request_id for r in requests}
        error = error or next((message for request_id, message in (answer_errors or {}).items()
                               if request_id not in listed), None)
        this_month = month_of(page.now)
        return page.render(
            "certificates.html", status_code=status_code, organiser=organiser, items=items,
            requests=requests, answer_errors=answer_errors or {}, done=done,
            named=named, error=error, new_id=uuid.uuid4,
            form=IssueForm(member_number=form.member_number, contact=form.contact,
                           first_month=form.first_month or f"{this_month[:4]}-01",
                           last_month=form.last_month or this_month))

    @post("/", operation_id="pageIssueCertificate", status_code=303)
    async def issue(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                    organiser: NamedDependency[OrganiserSession],
                    listings: NamedDependency[Listings], names: NamedDependency[Names],
                    directory: NamedDependency[MemberDirectory],
                    data: URLEncodedBody[IssueForm]) -> Any:
        typed = IssueForm(member_number=data.member_number.strip()[:64],
                          first_month=data.first_month.strip()[:7],
                          last_month=data.last_month.strip()[:7],
                          contact=data.contact.strip()[:MAX_CONTACT])

        def again(error: str) -> Any:
            return self._render(ledger, page, organiser, listings, names, typed,
                                status_code=422, error=error)

        if any(has_controls(v) for v in (data.member_number, data.first_month,
                                         data.last_month, data.contact)):
            typed = IssueForm()
            return await again(page.t("control_characters"))
        if not typed.member_number:
            return await again(page.t("required"))
        member_id = await directory.member_by_number(organiser.tenant_id, typed.member_number)
        if member_id is None:
            return await again(page.t("certificate_member_unknown"))
        command = IssueCertificate(command_id=command_id_of(data.command_id),
                                   first_month=typed.first_month,
                                   last_month=typed.last_month, contact=typed.contact)
        try:
            number, _ = await ledger.certificates.issue(organiser.actor, member_id, command)
        except Refusal as refusal:
            return await again(page.refusal(refusal))
        return page.redirect(f"/organiser/certificates/{number}")

    @post("/requests/{request_id:uuid}", operation_id="pageAnswerCertificateRequest",
          status_code=303)
    async def answer(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                     organiser: NamedDependency[OrganiserSession],
                     listings: NamedDependency[Listings], names: NamedDependency[Names],
                     request_id: FromPath[uuid.UUID],
                     data: URLEncodedBody[AnswerForm]) -> Any:
        """The request's one form, two buttons: issue what the member asked for (the
        request's months, this unit's contact), or refuse with a reason. The member is the
        form's; the use case checks the request is theirs."""
        try:
            if any(has_controls(v) for v in (data.member_id, data.contact, data.answer)) or \
                    has_controls(data.reason, multiline=True):
                raise Refusal("control_characters", page.t("control_characters"),
                              "control characters", status=422)
            try:
                member_id = uuid.UUID(data.member_id)
            except ValueError:
                raise Refusal("request_not_found", page.t("certificate_request_missing"),
                              "no such request", status=404) from None
            command_id = command_id_of(data.command_id)
            if data.answer == "issue":
                number, _ = await ledger.certificates.issue(
                    organiser.actor, member_id,
                    IssueCertificate(command_id=command_id, first_month="", last_month="",
                                     contact=data.contact.strip()),
                    request_id=request_id)
                return page.redirect(f"/organiser/certificates/{number}")
            if not data.reason.strip():
                raise Refusal("reason_required", page.t("certificate_refuse_needs_reason"),
                              "give the reason for refusing", field="reason", status=422)
            await ledger.certificates.refuse(
                organiser.actor, member_id, request_id,
                RefuseCertificateRequest(command_id=command_id, reason=data.reason))
            return page.redirect("/organiser/certificates?done=refused")
        except Refusal as refusal:
            return await self._render(ledger, page, organiser, listings, names, IssueForm(),
                                      status_code=refusal.status,
                                      answer_errors={request_id: page.refusal(refusal)})

    @get("/{number:str}", operation_id="pagePrintCertificate")
    async def print_page(self, request: Request, ledger: NamedDependency[Ledger],
                         page: NamedDependency[Page],
                         organiser: NamedDependency[OrganiserSession],
                         directory: NamedDependency[MemberDirectory],
                         names: NamedDependency[Names], number: FromPath[str]) -> Any:
        found = await certificate_views.load(ledger, directory, names, organiser.tenant_id,
                                             number[:64])
        tree = await ledger.state.tree(organiser.tenant_id)
        if found is None or not certificate_views.visible_to(tree, organiser.unit_id, found):
            return _missing(page)
        return _print(page, request, found, organiser.tenant_id, "/organiser/certificates")


class MemberCertificatePages(Controller):
    path = "/t/{tenant_id:str}"
    include_in_schema = False

    @get("/me/certificates", operation_id="pageMyCertificates")
    async def mine(self, request: Request, ledger: NamedDependency[Ledger],
                   page: NamedDependency[Page], pages: NamedDependency[PageServices],
                   listings: NamedDependency[Listings], tenant_id: FromPath[str]) -> Any:
        member = member_session(pages, request, tenant_id, page.now)
        if member is None:
            return page.redirect(f"/t/{tenant_id}/identify?next=/t/{tenant_id}/me/certificates")
        return await self._mine(ledger, page, listings, tenant_id, member,
                                sent=request.query_params.get("sent") == "1")

    async def _mine(self, ledger: Ledger, page: Page, listings: Listings, tenant_id: str,
                    member: MemberSession, *, status_code: int = 200,
                    form: RequestForm | None = None, error: str | None = None,
                    sent: bool = False) -> Any:
        items, _ = await listings.certificates(
            tenant_id, CertificateFilter(member_id=member.member_id), None, LISTED)
        requests = await listings.certificate_requests(tenant_id, member_id=member.member_id,
                                                       limit=REQUESTS_SHOWN)
        tree = await ledger.state.tree(tenant_id)
        units = {i.issuer_unit_id: tree.units[i.issuer_unit_id].name
                 for i in items if i.issuer_unit_id in tree.units}
        this_month = month_of(page.now)
        return page.render(
            "my_certificates.html", status_code=status_code, tenant_id=tenant_id,
            items=items, units=units, requests=requests, error=error, sent=sent,
            waiting=any(r.status == "open" for r in requests),
            form=form or RequestForm(command_id=str(uuid.uuid4()),
                                     first_month=f"{this_month[:4]}-01",
                                     last_month=this_month))

    @post("/me/certificates/requests", operation_id="pageRequestCertificate", status_code=303)
    async def ask(self, request: Request, ledger: NamedDependency[Ledger],
                  page: NamedDependency[Page], pages: NamedDependency[PageServices],
                  listings: NamedDependency[Listings], tenant_id: FromPath[str],
                  data: URLEncodedBody[RequestForm]) -> Any:
        member = member_session(pages, request, tenant_id, page.now)
        if member is None:
            return page.redirect(f"/t/{tenant_id}/identify?next=/t/{tenant_id}/me/certificates")
        typed = RequestForm(command_id=data.command_id[:36], first_month=data.first_month[:7],
                            last_month=data.last_month[:7])
        if any(has_controls(v) for v in (data.command_id, data.first_month, data.last_month)):
            return await self._mine(ledger, page, listings, tenant_id, member, status_code=422,
                                    error=page.t("control_characters"))
        try:
            await ledger.certificates.request(member.actor, member.member_id,
                                              RequestCertificate(
                                                  command_id=command_id_of(typed.command_id),
                                                  first_month=typed.first_month.strip(),
                                                  last_month=typed.last_month.strip()))
        except Refusal as refusal:
            return await self._mine(ledger, page, listings, tenant_id, member,
                                    status_code=refusal.status, form=typed,
                                    error=page.refusal(refusal))
        return page.redirect(f"/t/{tenant_id}/me/certificates?sent=1")

    @get("/me/certificates/{number:str}", operation_id="pageMyCertificate")
    async def my_certificate(self, request: Request, ledger: NamedDependency[Ledger],
                             page: NamedDependency[Page], pages: NamedDependency[PageServices],
                             directory: NamedDependency[MemberDirectory],
                             names: NamedDependency[Names], tenant_id: FromPath[str],
                             number: FromPath[str]) -> Any:
        member = member_session(pages, request, tenant_id, page.now)
        if member is None:
            return page.redirect(f"/t/{tenant_id}/identify?next=/t/{tenant_id}/me/certificates")
        found = await certificate_views.load(ledger, directory, names, tenant_id, number[:64])
        # Another member's certificate is as unknown as a made-up number.
        if found is None or found.member_id != member.member_id:
            return _missing(page)
        return _print(page, request, found, tenant_id, f"/t/{tenant_id}/me/certificates")

    @get("/verify/{number:str}", operation_id="pageVerifyCertificate", opt=PUBLIC.opt())
    async def verify(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                     directory: NamedDependency[MemberDirectory],
                     names: NamedDependency[Names], tenant_id: FromPath[str],
                     number: FromPath[str]) -> Any:
        shown = number[:64] if not has_controls(number) else ""
        found = await certificate_views.load(ledger, directory, names, tenant_id[:64], shown)
        if found is None:
            return page.render("verify.html", status_code=404, found=None, number=shown,
                               headers={"X-Robots-Tag": "noindex"})
        return page.render("verify.html", found=certificate_views.public(found),
                           number=shown, checked_on=local_date(page.now),
                           headers={"X-Robots-Tag": "noindex"})
