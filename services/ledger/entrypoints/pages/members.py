"""The member identifies (number + PIN, once per phone) and sees their own records.

The identify answer is the same whether or not the number exists (`verify_pin` spends the
same argon2 work either way), and attempts are limited per number, per client address and
per both (`ledger.adapters.attempts`), in PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from pathlib import Path
from typing import Any

import msgspec
import segno
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody

from contract.bounds import has_controls
from contract.problems import Refusal
from ledger.adapters.attempts import Attempts
from ledger.adapters.directory import MemberDirectory
from ledger.adapters.listings import Listings
from ledger.adapters.page_queries import PageQueries
from ledger.domain.activities import RequestCorrection
from ledger.entrypoints.pages.common import (
    MEMBER_COOKIE,
    Limited,
    Page,
    PageServices,
    limited_check,
    member_cookie,
    member_session,
    parse_hours,
    safe_next,
)
from ledger.entrypoints.pages.forms import command_id_of
from ledger.handlers import Ledger
from ledger.hours_chart import month_bars
from ledger.member_records import summarise

PERSONAL_CODE_PREFIX = "M1."
# Served under /t/<tenant>/ rather than /static/: a service worker's scope is the folder
# it is served from, and it must cover that tenant's check-in and records pages.
SERVICE_WORKER = (Path(__file__).resolve().parents[2] / "static" / "sw.js").read_text()


class IdentifyForm(msgspec.Struct, kw_only=True):
    member_number: str = ""
    pin: str = ""
    next: str = ""


class CorrectionForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    activity_id: str = ""
    participation_id: str = ""
    reason: str = ""
    hours: str = ""


def personal_code(pages: PageServices, tenant_id: str, member_id: uuid.UUID) -> str:
    """What the member's QR carries for an organiser to scan: signed, so not guessable."""
    tag = hmac.new(pages.secrets.pages, f"personal|{tenant_id}|{member_id}".encode(),
                   hashlib.sha256).hexdigest()[:16]
    return f"{PERSONAL_CODE_PREFIX}{member_id}.{tag}"


def member_from_code(pages: PageServices, tenant_id: str, code: str) -> uuid.UUID | None:
    if not code.startswith(PERSONAL_CODE_PREFIX):
        return None
    try:
        member_id = uuid.UUID(code[len(PERSONAL_CODE_PREFIX):].split(".")[0])
    except ValueError:
        return None
    if hmac.compare_digest(personal_code(pages, tenant_id, member_id), code):
        return member_id
    return None


class MemberPages(Controller):
    path = "/t/{tenant_id:str}"
    include_in_schema = False

    @get("/identify", operation_id="pageIdentify")
    async def identify_form(self, page: NamedDependency[Page], tenant_id: FromPath[str],
                            next: FromQuery[str | None] = None) -> Any:
        return page.render("identify.html", tenant_id=tenant_id,
                           next=safe_next(next, f"/t/{tenant_id}/", f"/t/{tenant_id}/me"),
                           typed_number="")

    @post("/identify", operation_id="pageIdentifySubmit", status_code=303)
    async def identify(self, request: Request, directory: NamedDependency[MemberDirectory],
                       page: NamedDependency[Page], pages: NamedDependency[PageServices],
                       attempts: NamedDependency[Attempts], tenant_id: FromPath[str],
                       data: URLEncodedBody[IdentifyForm]) -> Any:
        target = safe_next(data.next, f"/t/{tenant_id}/", f"/t/{tenant_id}/me")
        number = data.member_number.strip()[:64]

        def again(status: int, error: str, headers: dict[str, str] | None = None) -> Any:
            return page.render("identify.html", status_code=status, headers=headers,
                               tenant_id=tenant_id, next=target, typed_number=number,
                               error=error)

        # Not looked up, nor shown again: PostgreSQL cannot even hold a NUL (contract.bounds).
        if has_controls(data.member_number):
            number = ""
            return again(422, page.t("control_characters"))
        if not number or not data.pin:
            return again(422, page.t("required"))
        # Counted whether or not the number exists, so limits reveal nothing either.
        member_id = await limited_check(
            attempts, "pin", tenant_id, number, pages.client_address(request), page.now,
            lambda: directory.verify_pin(tenant_id, number, data.pin[:64]))
        if isinstance(member_id, Limited):
            return again(member_id.status, page.limited(member_id), member_id.headers)
        if member_id is None:
            return again(422, page.t("identify_failed"))
        return page.redirect(target, cookies=[member_cookie(pages, tenant_id, member_id,
                                                            page.now)])

    @post("/forget", operation_id="pageForgetMember", status_code=303)
    async def forget(self, page: NamedDependency[Page], pages: NamedDependency[PageServices],
                     tenant_id: FromPath[str]) -> Any:
        answer = page.redirect(f"/t/{tenant_id}/identify",
                               cookies=[pages.expired(MEMBER_COOKIE)])
        # The pages the service worker kept (names, records) and any tap still queued
        # belong to the member leaving this phone, not to whoever identifies next.
        answer.headers["Clear-Site-Data"] = '"cache", "storage"'
        return answer

    @get("/sw.js", operation_id="pageServiceWorker")
    async def service_worker(self) -> Response[str]:
        return Response(SERVICE_WORKER, media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})

    @get("/me", operation_id="pageMyRecords")
    async def my_records(self, request: Request, ledger: NamedDependency[Ledger],
                         directory: NamedDependency[MemberDirectory],
                         page: NamedDependency[Page], pages: NamedDependency[PageServices],
                         listings: NamedDependency[Listings],
                         queries: NamedDependency[PageQueries], tenant_id: FromPath[str],
                         sent: FromQuery[str | None] = None) -> Any:
        return await self._render(request, ledger, directory, page, pages, listings, queries,
                                  tenant_id, notice=page.t("correction_sent") if sent else None)

    async def _render(self, request: Request, ledger: Ledger, directory: MemberDirectory,
                      page: Page, pages: PageServices,
                      listings: Listings, queries: PageQueries, tenant_id: str,
                      status_code: int = 200,
                      **extra: Any) -> Any:
        member = member_session(pages, request, tenant_id, page.now)
        if member is None:
            return page.redirect(f"/t/{tenant_id}/identify?next=/t/{tenant_id}/me")
        ids = await listings.member_activity_ids(tenant_id, member.member_id)
        states = [s for s in [await ledger.state.activity(tenant_id, i) for i in ids] if s]
        summary = summarise(member.member_id, states, page.now)
        entry = await directory.get(tenant_id, member.member_id)
        # Who answered the member's requests and corrected their records, by name.
        names = await queries.organiser_names(
            tenant_id, [s.by for r in summary.records for s in r.history if s.by])
        qr = segno.make(personal_code(pages, tenant_id, member.member_id), error="m")
        return page.render(
            "me.html", status_code=status_code, tenant_id=tenant_id, summary=summary,
            chart=month_bars(summary.months, page.t("chart_label")),
            entry=entry, personal_qr=qr.svg_inline(scale=4, dark="#000", light="#fff",
                                                   omitsize=True),
            names=names, command_id=uuid.uuid4, **extra)

    @post("/me/corrections", operation_id="pageRequestCorrection", status_code=303)
    async def request_correction(self, request: Request, ledger: NamedDependency[Ledger],
                                 directory: NamedDependency[MemberDirectory],
                                 page: NamedDependency[Page],
                                 pages: NamedDependency[PageServices],
                                 listings: NamedDependency[Listings],
                                 queries: NamedDependency[PageQueries],
                                 tenant_id: FromPath[str],
                                 data: URLEncodedBody[CorrectionForm]) -> Any:
        member = member_session(pages, request, tenant_id, page.now)
        if member is None:
            return page.redirect(f"/t/{tenant_id}/identify?next=/t/{tenant_id}/me")
        form_error: str | None = None
        try:
            activity_id = uuid.UUID(data.activity_id)
            command = RequestCorrection(
                command_id=command_id_of(data.command_id),
                participation_id=uuid.UUID(data.participation_id), member_id=member.member_id,
                reason=data.reason, requested_minutes=parse_hours(data.hours))
        except ValueError:
            form_error = page.t("bad_number")
        else:
            try:
                await ledger.activities.request_correction(member.actor, activity_id, command)
            except Refusal as refusal:
                form_error = page.refusal(refusal)
        if form_error is None:
            return page.redirect(f"/t/{tenant_id}/me?sent=1")
        return await self._render(request, ledger, directory, page, pages, listings, queries,
                                  tenant_id, status_code=422, form_error=form_error,
                                  failed_participation=data.participation_id,
                                  typed_reason=data.reason, typed_hours=data.hours)
