"""Activities: schedule, reschedule, revise the title and capacity, cancel, close; list them;
read one with its roster."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from contract.access import ORGANISERS, Principal, read, write
from contract.calendar import FIRST_YEAR, LAST_YEAR, SHANGHAI, end_of_day
from contract.events import ActivityKind
from contract.problems import invalid, not_found
from ledger.adapters.listings import ActivityFilter, ActivitySummary, InvalidCursor, Listings
from ledger.domain.activities import (
    CancelActivity,
    CloseActivity,
    RescheduleActivity,
    ReviseActivityDetails,
    ScheduleActivity,
)
from ledger.entrypoints.api.responses import command_response, invalid_cursor
from ledger.entrypoints.api.scope import listed_units
from ledger.handlers import Actor, Ledger, Outcome


class ParticipationOut(msgspec.Struct, frozen=True, kw_only=True):
    participation_id: uuid.UUID
    member_id: uuid.UUID
    checked_in_at: datetime
    checked_out_at: datetime | None
    auto_closed: bool
    minutes: int | None
    revoked: bool


class ActivityOut(msgspec.Struct, frozen=True, kw_only=True):
    activity_id: uuid.UUID
    kind: str
    category: str
    host_unit_id: uuid.UUID
    title: str
    place: str
    beneficiary: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    hours_cap_minutes: int | None
    organiser_ids: list[uuid.UUID]
    status: str
    version: int
    participations: list[ParticipationOut]


class ActivityList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ActivitySummary]
    # Pass as `after` for the next page; null on the last page.
    next: str | None


DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def shanghai_days(first: str | None, last: str | None) -> tuple[datetime | None,
                                                                datetime | None]:
    """[start of day `first`, end of day `last`) in Asia/Shanghai; both YYYY-MM-DD."""
    days: dict[str, date | None] = {}
    for name, text in (("from", first), ("to", last)):
        try:
            day = date.fromisoformat(text) if text is not None and DAY.fullmatch(text) \
                else None
        except ValueError:
            day = None
        if text is not None and (day is None or not FIRST_YEAR <= day.year <= LAST_YEAR):
            raise invalid("invalid_date", f"日期应为 年-月-日，{FIRST_YEAR}–{LAST_YEAR}年",
                          f"a date YYYY-MM-DD, years {FIRST_YEAR}–{LAST_YEAR}", name)
        days[name] = day
    start, end = days["from"], days["to"]
    if start is not None and end is not None and start > end:
        raise invalid("invalid_range", "开始日期晚于结束日期", "`from` is after `to`", "from")
    return (datetime.combine(start, time(), SHANGHAI) if start else None,
            end_of_day(end) if end else None)


class ActivityController(Controller):
    path = "/api/v1/activities"
    tags = ("activities",)

    @post("/", operation_id="scheduleActivity",
          opt=write(roles=ORGANISERS), summary="Schedule an activity (organisers)")
    async def schedule(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                       data: JSONBody[ScheduleActivity]) -> Response[Outcome]:
        return command_response(await ledger.activities.schedule(actor, data))

    @get("/", operation_id="listActivities", opt=read(),
         summary="Activities in scope, newest start first",
         description="Activities whose host unit is within the token's scope, newest "
                     "scheduled start first, 1–200 per page (default 50). Filters: `status` "
                     "(scheduled, cancelled, closed), `from`/`to` (Asia/Shanghai dates of the "
                     "start, both inclusive), `kind`, `host_unit_id` (that unit and its "
                     "subtree; 403 outside the scope), `q` (part of the title, any case). "
                     "Pass the answer's `next` as `after` for the next page.")
    async def list_activities(
        self,
        ledger: NamedDependency[Ledger],
        listings: NamedDependency[Listings],
        principal: NamedDependency[Principal],
        status: FromQuery[Literal["scheduled", "cancelled", "closed"] | None] = None,
        from_: Annotated[str | None, QueryParameter(name="from", format="date")] = None,
        to: Annotated[str | None, QueryParameter(format="date")] = None,
        kind: FromQuery[ActivityKind | None] = None,
        host_unit_id: FromQuery[uuid.UUID | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        after: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> ActivityList:
        starts_from, starts_before = shanghai_days(from_, to)
        tree = await ledger.state.tree(principal.tenant_id, max_age=0)
        where = ActivityFilter(
            units=listed_units(tree, principal, host_unit_id, "host_unit_id"), status=status,
            kind=kind, starts_from=starts_from, starts_before=starts_before,
            title=(q or "").strip() or None)
        try:
            items, following = await listings.activities(principal.tenant_id, where, after,
                                                         limit)
        except InvalidCursor:
            raise invalid_cursor() from None
        return ActivityList(items=items, next=following)

    @get("/{activity_id:str}", operation_id="getActivity", opt=read("activity_id"),
         summary="An activity with its participation records")
    async def get_activity(self, ledger: NamedDependency[Ledger],
                           principal: NamedDependency[Principal],
                           activity_id: FromPath[uuid.UUID]) -> ActivityOut:
        loaded = await ledger.state.activity_with_version(principal.tenant_id, activity_id)
        state = loaded.state
        if state is None:
            raise not_found("activity_not_found", "活动不存在", "no such activity", "activity_id")
        return ActivityOut(
            activity_id=state.activity_id, kind=state.kind, category=state.category,
            host_unit_id=state.host_unit_id, title=state.title, place=state.place,
            beneficiary=state.beneficiary, starts_at=state.starts_at, ends_at=state.ends_at,
            capacity=state.capacity,
            hours_cap_minutes=state.hours_cap_minutes, organiser_ids=state.organiser_ids,
            status=state.status, version=loaded.version,
            participations=[
                ParticipationOut(participation_id=p.participation_id, member_id=p.member_id,
                                 checked_in_at=p.checked_in_at, checked_out_at=p.checked_out_at,
                                 auto_closed=p.auto_closed, minutes=p.minutes, revoked=p.revoked)
                for p in state.participations.values()
            ],
        )

    @post("/{activity_id:str}/reschedule", operation_id="rescheduleActivity",
          opt=write("activity_id", roles=ORGANISERS),
          summary="Move an activity's window or place (before anyone checked in)")
    async def reschedule(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                         activity_id: FromPath[uuid.UUID],
                         data: JSONBody[RescheduleActivity]) -> Response[Outcome]:
        return command_response(await ledger.activities.manage(actor, activity_id, data))

    @post("/{activity_id:str}/revise", operation_id="reviseActivity",
          opt=write("activity_id", roles=ORGANISERS),
          summary="Change an activity's title or capacity, with a reason",
          description="`title` and `capacity` left out stay as they are; `capacity: null` "
                      "lifts the limit. Allowed until the activity is closed or cancelled, "
                      "also after people checked in (409 `activity_closed`, "
                      "`activity_cancelled`); the capacity cannot drop below the members "
                      "who checked in (409 `capacity_below_participants`), and a change "
                      "that changes nothing is 409 `unchanged`. Appends "
                      "`ActivityDetailsRevised`.")
    async def revise(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                     activity_id: FromPath[uuid.UUID],
                     data: JSONBody[ReviseActivityDetails]) -> Response[Outcome]:
        return command_response(await ledger.activities.manage(actor, activity_id, data))

    @post("/{activity_id:str}/cancel", operation_id="cancelActivity",
          opt=write("activity_id", roles=ORGANISERS),
          summary="Cancel an activity, with a reason")
    async def cancel(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                     activity_id: FromPath[uuid.UUID],
                     data: JSONBody[CancelActivity]) -> Response[Outcome]:
        return command_response(await ledger.activities.manage(actor, activity_id, data))

    @post("/{activity_id:str}/close", operation_id="closeActivity",
          opt=write("activity_id", roles=ORGANISERS),
          summary="Close an activity; forgotten check-outs are closed and flagged")
    async def close(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                    activity_id: FromPath[uuid.UUID],
                    data: JSONBody[CloseActivity]) -> Response[Outcome]:
        return command_response(await ledger.activities.manage(actor, activity_id, data))
