"""Participation in an activity: check in and out, confirm (in bulk), correct, revoke."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from contract.access import ORGANISERS, write
from ledger.domain.activities import (
    CheckIn,
    CheckOut,
    CorrectParticipation,
    RequestCorrection,
    RevokeParticipation,
)
from ledger.entrypoints.api.responses import command_response
from ledger.handlers import Actor, ConfirmMany, Ledger, Outcome


class ParticipationController(Controller):
    path = "/api/v1/activities/{activity_id:str}"
    tags = ("participation",)

    @post("/check-ins", operation_id="checkIn",
          opt=write("activity_id"), summary="Check a member in")
    async def check_in(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                       activity_id: FromPath[uuid.UUID],
                       data: JSONBody[CheckIn]) -> Response[Outcome]:
        return command_response(await ledger.activities.check_in(actor, activity_id, data))

    @post("/check-outs", operation_id="checkOut",
          opt=write("activity_id"), summary="Check a member out")
    async def check_out(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                        activity_id: FromPath[uuid.UUID],
                        data: JSONBody[CheckOut]) -> Response[Outcome]:
        return command_response(await ledger.activities.check_out(actor, activity_id, data))

    @post("/confirmations", operation_id="confirmAttendance",
          opt=write("activity_id", roles=ORGANISERS),
          summary="Confirm attendance of one or more participations (organisers)")
    async def confirm(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                      activity_id: FromPath[uuid.UUID],
                      data: JSONBody[ConfirmMany]) -> Response[Outcome]:
        return command_response(await ledger.activities.confirm_many(actor, activity_id, data))

    @post("/corrections", operation_id="correctParticipation",
          opt=write("activity_id", roles=ORGANISERS),
          summary="Amend credited minutes with a reason (organisers)")
    async def correct(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                      activity_id: FromPath[uuid.UUID],
                      data: JSONBody[CorrectParticipation]) -> Response[Outcome]:
        return command_response(await ledger.activities.manage(actor, activity_id, data))

    @post("/revocations", operation_id="revokeParticipation",
          opt=write("activity_id", roles=ORGANISERS),
          summary="Revoke a participation record with a reason (organisers)")
    async def revoke(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                     activity_id: FromPath[uuid.UUID],
                     data: JSONBody[RevokeParticipation]) -> Response[Outcome]:
        return command_response(await ledger.activities.manage(actor, activity_id, data))

    @post("/correction-requests", operation_id="requestCorrection", opt=write("activity_id"),
          summary="A member asks for a correction of their record")
    async def request_correction(self, ledger: NamedDependency[Ledger],
                                 actor: NamedDependency[Actor],
                                 activity_id: FromPath[uuid.UUID],
                                 data: JSONBody[RequestCorrection]) -> Response[Outcome]:
        return command_response(
            await ledger.activities.request_correction(actor, activity_id, data))
