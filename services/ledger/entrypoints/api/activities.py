"""Activities: schedule, reschedule, cancel, close; read one with its roster."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from ledger.adapters.tokens import Principal
from ledger.domain.activities import (
    CancelActivity,
    CloseActivity,
    RescheduleActivity,
    ScheduleActivity,
)
from ledger.domain.refusals import not_found
from ledger.entrypoints.api.responses import command_response
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


class ActivityController(Controller):
    path = "/api/v1/activities"
    tags = ("activities",)

    @post("/", operation_id="scheduleActivity", summary="Schedule an activity (organisers)")
    async def schedule(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                       data: JSONBody[ScheduleActivity]) -> Response[Outcome]:
        return command_response(await ledger.schedule_activity(actor, data))

    @get("/{activity_id:uuid}", operation_id="getActivity",
         summary="An activity with its participation records")
    async def get_activity(self, ledger: NamedDependency[Ledger],
                           principal: NamedDependency[Principal],
                           activity_id: FromPath[uuid.UUID]) -> ActivityOut:
        loaded = await ledger.activity_with_version(principal.tenant_id, activity_id)
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

    @post("/{activity_id:uuid}/reschedule", operation_id="rescheduleActivity",
          summary="Move an activity's window or place (before anyone checked in)")
    async def reschedule(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                         activity_id: FromPath[uuid.UUID],
                         data: JSONBody[RescheduleActivity]) -> Response[Outcome]:
        return command_response(await ledger.manage_activity(actor, activity_id, data))

    @post("/{activity_id:uuid}/cancel", operation_id="cancelActivity",
          summary="Cancel an activity, with a reason")
    async def cancel(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                     activity_id: FromPath[uuid.UUID],
                     data: JSONBody[CancelActivity]) -> Response[Outcome]:
        return command_response(await ledger.manage_activity(actor, activity_id, data))

    @post("/{activity_id:uuid}/close", operation_id="closeActivity",
          summary="Close an activity; forgotten check-outs are closed and flagged")
    async def close(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                    activity_id: FromPath[uuid.UUID],
                    data: JSONBody[CloseActivity]) -> Response[Outcome]:
        return command_response(await ledger.manage_activity(actor, activity_id, data))
