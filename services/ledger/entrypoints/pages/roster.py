"""One activity for its organiser: the live roster (searchable by name or member number,
with its capacity), bulk confirm, and on each row correct, revoke and answer the member's
correction request (accept as asked, amend, refuse); close; and checking a member in by
their number or personal code (method "organiser").

A bulk confirmation with a bad row is refused whole (the API's all-or-none): the message
names the row's member and why, that row is marked, and every typed figure is shown again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody

from contract.problems import Refusal
from ledger.adapters.directory import MemberDirectory
from ledger.adapters.listings import CorrectionRequestFilter, CorrectionRequestSummary, Listings
from ledger.adapters.page_queries import PageQueries, Person
from ledger.domain.activities import (
    AcceptCorrectionRequest,
    ActivityState,
    AmendCorrectionRequest,
    CheckIn,
    CloseActivity,
    CorrectParticipation,
    Participation,
    RefuseCorrectionRequest,
    RevokeParticipation,
)
from ledger.entrypoints.pages.common import OrganiserSession, Page, PageServices, parse_hours
from ledger.entrypoints.pages.confirm import YES, confirmation
from ledger.entrypoints.pages.forms import command_id_of
from ledger.entrypoints.pages.members import member_from_code
from ledger.entrypoints.pages.views import matches, requests_by_participation, shown_status
from ledger.handlers import Confirmation, ConfirmMany, Ledger

DONE = {"confirmed": "confirmed_ok", "corrected": "corrected_ok", "revoked": "revoked_ok",
        "closed": "closed_ok", "checked_in": "organiser_checked_in",
        "revised": "revised_ok", "rescheduled": "rescheduled_ok", "cancelled": "cancelled_ok",
        "accepted": "request_accepted_ok", "amended": "request_amended_ok",
        "refused": "request_refused_ok"}
# The answers to a member's correction request, by the verb of their path.
ANSWERS = {"accept": "accepted", "amend": "amended", "refuse": "refused"}
# The search box: a name or member number, as typed (bounded before it is compared).
MAX_QUERY = 64


class ReasonForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    participation_id: str = ""
    reason: str = ""
    hours: str = ""
    back: str = ""


class CommandForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    # "yes" once the organiser has confirmed (pages/confirm.py).
    confirmed: str = ""


class MemberCodeForm(msgspec.Struct, kw_only=True):
    command_id: str = ""
    member_code: str = ""


@dataclass(frozen=True)
class Row:
    participation: Participation
    person: Person | None
    flags: list[str]
    creditable: int | None
    # The member's open correction requests on this record, newest first.
    requests: list[CorrectionRequestSummary]


def _back(activity_id: uuid.UUID, back: str, done: str) -> str:
    if back == "review":
        return f"/organiser/review?done={done}"
    return f"/organiser/activities/{activity_id}?done={done}"


class RosterPages(Controller):
    path = "/organiser/activities/{activity_id:uuid}"
    include_in_schema = False

    async def _render(self, ledger: Ledger, page: Page, queries: PageQueries,
                      listings: Listings, organiser: OrganiserSession,
                      activity_id: uuid.UUID, status_code: int = 200, q: str = "",
                      **extra: Any) -> Any:
        tenant = organiser.tenant_id
        activity = await ledger.state.activity(tenant, activity_id)
        tree = await ledger.state.tree(tenant)
        if activity is None or not tree.covers(organiser.unit_id, activity.host_unit_id):
            return page.render("message.html", status_code=404, heading=page.t("not_found"),
                               text=page.t("activity_missing"))
        # The newest 200 open requests: an activity has a handful at most.
        requests, _more = await listings.correction_requests(
            tenant, CorrectionRequestFilter(activity_id=activity_id, status="open"), None, 200)
        asked = requests_by_participation(requests)
        people = await queries.people(tenant, [p.member_id
                                               for p in activity.participations.values()])
        rows = []
        query = q.strip()[:MAX_QUERY]
        for p in sorted(activity.participations.values(), key=lambda p: p.checked_in_at):
            person = people.get(p.member_id)
            if not matches(person, query):
                continue
            flags = set(p.flags)
            if p.participation_id in asked:
                flags.add("correction_requested")
            rows.append(Row(p, person, sorted(flags), _creditable(activity, p),
                            asked.get(p.participation_id, [])))
        host = tree.units.get(activity.host_unit_id)
        names = await queries.organiser_names(
            tenant, [s.by for r in rows for s in r.participation.history if s.by])
        return page.render("roster.html", status_code=status_code, activity=activity,
                           shown=shown_status(activity.status, activity.starts_at, page.now),
                           host=host.name if host else "", rows=rows, organiser=organiser,
                           new_id=uuid.uuid4, typed=extra.pop("typed", {}), q=query,
                           present=len(activity.participants()), names=names,
                           confirmable=any(r.creditable is not None and
                                           r.participation.minutes is None and
                                           not r.participation.revoked for r in rows),
                           **extra)

    @get("/", operation_id="pageRoster")
    async def roster(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                     queries: NamedDependency[PageQueries],
                     listings: NamedDependency[Listings],
                     organiser: NamedDependency[OrganiserSession],
                     activity_id: FromPath[uuid.UUID], done: FromQuery[str | None] = None,
                     q: FromQuery[str] = "") -> Any:
        notice = page.t(DONE[done]) if done in DONE else None
        return await self._render(ledger, page, queries, listings, organiser, activity_id,
                                  notice=notice, q=q)

    async def _run(self, ledger: Ledger, page: Page, queries: PageQueries, listings: Listings,
                   organiser: OrganiserSession, activity_id: uuid.UUID, action: Any,
                   success: str, typed: dict[str, Any]) -> Any:
        try:
            await action()
        except Refusal as refusal:
            return await self._render(ledger, page, queries, listings, organiser, activity_id,
                                      status_code=refusal.status, error=page.refusal(refusal),
                                      typed=typed)
        return page.redirect(success)

    @post("/confirm", operation_id="pageConfirmMany", status_code=303)
    async def confirm(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                      queries: NamedDependency[PageQueries],
                      listings: NamedDependency[Listings],
                      organiser: NamedDependency[OrganiserSession],
                      activity_id: FromPath[uuid.UUID],
                      data: URLEncodedBody[dict[str, Any]]) -> Any:
        picked = data.get("pick") or []
        picked = [str(p) for p in ([picked] if isinstance(picked, str) else picked)]
        typed: dict[str, Any] = {
            "picked": picked,
            **{k: str(v) for k, v in data.items() if k.startswith("hours_")}}
        confirmations = []
        for pid in picked:
            text = str(data.get(f"hours_{pid}", ""))
            default = str(data.get(f"default_{pid}", ""))
            try:
                participation_id = uuid.UUID(pid)
                # Unchanged hours credit exactly what the rules allow (no rounding loss).
                minutes = None if text.strip() == default.strip() else parse_hours(text)
            except ValueError:
                return await self._row_refused(ledger, page, queries, listings, organiser,
                                               activity_id, typed, pid, page.t("bad_hours"))
            confirmations.append(Confirmation(participation_id=participation_id,
                                              minutes=minutes))
        command = ConfirmMany(command_id=command_id_of(str(data.get("command_id", ""))),
                              confirmations=confirmations)
        back = _back(activity_id, str(data.get("back", "")), "confirmed")
        try:
            await ledger.activities.confirm_many(organiser.actor, activity_id, command)
        except Refusal as refusal:
            row = refusal.extra.get("participation_id")
            if row is None:
                return await self._render(ledger, page, queries, listings, organiser,
                                          activity_id, status_code=refusal.status,
                                          error=page.refusal(refusal), typed=typed)
            return await self._row_refused(ledger, page, queries, listings, organiser,
                                           activity_id, typed, str(row), page.refusal(refusal),
                                           refusal.status)
        return page.redirect(back)

    async def _row_refused(self, ledger: Ledger, page: Page, queries: PageQueries,
                           listings: Listings, organiser: OrganiserSession,
                           activity_id: uuid.UUID, typed: dict[str, Any], pid: str,
                           why: str, status_code: int = 422) -> Any:
        """The batch is refused: say whose row and why, mark it, keep every typed figure."""
        activity = await ledger.state.activity(organiser.tenant_id, activity_id)
        try:
            participation = activity.participations.get(uuid.UUID(pid)) if activity else None
        except ValueError:
            participation = None
        who = page.t("unknown_row")
        if participation is not None:
            found = (await queries.people(organiser.tenant_id, [participation.member_id])
                     ).get(participation.member_id)
            if found is not None:
                who = f"{found.name or '—'}（{found.member_number or '—'}）"
        error = page.t("row_refused").format(who=who, why=why)
        return await self._render(ledger, page, queries, listings, organiser, activity_id,
                                  status_code=status_code, error=error,
                                  typed={**typed, "bad_row": pid})

    @post("/correct", operation_id="pageCorrectParticipation", status_code=303)
    async def correct(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                      queries: NamedDependency[PageQueries],
                      listings: NamedDependency[Listings],
                      organiser: NamedDependency[OrganiserSession],
                      activity_id: FromPath[uuid.UUID], data: URLEncodedBody[ReasonForm]) -> Any:
        typed = {"correct": data}
        try:
            minutes = parse_hours(data.hours)
            if minutes is None:
                raise ValueError(data.hours)
            command = CorrectParticipation(command_id=command_id_of(data.command_id),
                                           participation_id=uuid.UUID(data.participation_id),
                                           minutes=minutes, reason=data.reason)
        except ValueError:
            return await self._render(ledger, page, queries, listings, organiser, activity_id,
                                      status_code=422, error=page.t("bad_number"), typed=typed)
        return await self._run(ledger, page, queries, listings, organiser, activity_id,
                               lambda: ledger.activities.manage(organiser.actor, activity_id,
                                                              command),
                               _back(activity_id, data.back, "corrected"), typed)

    @post("/revoke", operation_id="pageRevokeParticipation", status_code=303)
    async def revoke(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                     queries: NamedDependency[PageQueries],
                     listings: NamedDependency[Listings],
                     organiser: NamedDependency[OrganiserSession],
                     activity_id: FromPath[uuid.UUID], data: URLEncodedBody[ReasonForm]) -> Any:
        typed = {"revoke": data}
        try:
            command = RevokeParticipation(command_id=command_id_of(data.command_id),
                                          participation_id=uuid.UUID(data.participation_id),
                                          reason=data.reason)
        except ValueError:
            return await self._render(ledger, page, queries, listings, organiser, activity_id,
                                      status_code=422, error=page.t("required"), typed=typed)
        return await self._run(ledger, page, queries, listings, organiser, activity_id,
                               lambda: ledger.activities.manage(organiser.actor, activity_id,
                                                              command),
                               _back(activity_id, data.back, "revoked"), typed)

    @post("/requests/{verb:str}", operation_id="pageAnswerCorrectionRequest",
          status_code=303)
    async def answer_request(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                             queries: NamedDependency[PageQueries],
                             listings: NamedDependency[Listings],
                             organiser: NamedDependency[OrganiserSession],
                             activity_id: FromPath[uuid.UUID], verb: FromPath[str],
                             data: URLEncodedBody[ReasonForm]) -> Any:
        """`…/requests/accept`, `/amend` or `/refuse`: the three answers to the member's
        open request, one form each on the roster and the review list."""
        answer = ANSWERS.get(verb)
        if answer is None:
            return page.render("message.html", status_code=404, heading=page.t("not_found"),
                               text=page.t("not_found"))
        return await self._answer(ledger, page, queries, listings, organiser, activity_id,
                                  data, answer)

    async def _answer(self, ledger: Ledger, page: Page, queries: PageQueries,
                      listings: Listings, organiser: OrganiserSession, activity_id: uuid.UUID,
                      data: ReasonForm, answer: str) -> Any:
        typed = {"answer": data, "answer_kind": answer}
        command: AcceptCorrectionRequest | AmendCorrectionRequest | RefuseCorrectionRequest
        try:
            participation_id = uuid.UUID(data.participation_id)
            command_id = command_id_of(data.command_id)
            if answer == "accepted":
                command = AcceptCorrectionRequest(command_id=command_id,
                                                  participation_id=participation_id)
            elif answer == "amended":
                minutes = parse_hours(data.hours)
                if minutes is None:
                    raise ValueError(data.hours)
                command = AmendCorrectionRequest(command_id=command_id,
                                                 participation_id=participation_id,
                                                 minutes=minutes, reason=data.reason)
            else:
                command = RefuseCorrectionRequest(command_id=command_id,
                                                  participation_id=participation_id,
                                                  reason=data.reason)
        except ValueError:
            return await self._render(ledger, page, queries, listings, organiser, activity_id,
                                      status_code=422, error=page.t("bad_hours"), typed=typed)
        return await self._run(ledger, page, queries, listings, organiser, activity_id,
                               lambda: ledger.activities.manage(organiser.actor, activity_id,
                                                              command),
                               _back(activity_id, data.back, answer), typed)

    @post("/close", operation_id="pageCloseActivity", status_code=303)
    async def close(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                    queries: NamedDependency[PageQueries],
                    listings: NamedDependency[Listings],
                    organiser: NamedDependency[OrganiserSession],
                    activity_id: FromPath[uuid.UUID], data: URLEncodedBody[CommandForm]) -> Any:
        command = CloseActivity(command_id=command_id_of(data.command_id))
        if data.confirmed != YES:
            return confirmation(page, organiser, question=page.t("confirm_close"),
                                action=f"/organiser/activities/{activity_id}/close",
                                fields={"command_id": str(command.command_id)},
                                yes=page.t("close_yes"),
                                back=f"/organiser/activities/{activity_id}")
        return await self._run(ledger, page, queries, listings, organiser, activity_id,
                               lambda: ledger.activities.manage(organiser.actor, activity_id,
                                                              command),
                               _back(activity_id, "", "closed"), {})

    @post("/check-in", operation_id="pageOrganiserCheckIn", status_code=303)
    async def check_in(self, ledger: NamedDependency[Ledger], page: NamedDependency[Page],
                       pages: NamedDependency[PageServices],
                       queries: NamedDependency[PageQueries],
                       listings: NamedDependency[Listings],
                       directory: NamedDependency[MemberDirectory],
                       organiser: NamedDependency[OrganiserSession],
                       activity_id: FromPath[uuid.UUID],
                       data: URLEncodedBody[MemberCodeForm]) -> Any:
        code = data.member_code.strip()
        tenant = organiser.tenant_id
        member_id = member_from_code(pages, tenant, code)
        if member_id is None and code:
            member_id = await directory.member_by_number(tenant, code[:64])
        typed = {"member_code": code}
        if member_id is None:
            return await self._render(ledger, page, queries, listings, organiser, activity_id,
                                      status_code=422, error=page.t("member_not_found"),
                                      typed=typed)
        command = CheckIn(command_id=command_id_of(data.command_id), member_id=member_id,
                          method="organiser")
        return await self._run(ledger, page, queries, listings, organiser, activity_id,
                               lambda: ledger.activities.check_in(organiser.actor, activity_id,
                                                                  command),
                               _back(activity_id, "", "checked_in"), typed)


def _creditable(activity: ActivityState, p: Participation) -> int | None:
    if p.checked_out_at is None or p.revoked:
        return None
    return activity.creditable_minutes(p.checked_in_at, p.checked_out_at)
