"""Participation in an activity: check in and out, confirm (in bulk), correct, revoke; a
member's correction request and the organiser's answers to it."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from contract.access import ORGANISERS, write
from ledger.domain.activities import (
    AcceptCorrectionRequest,
    AmendCorrectionRequest,
    CheckIn,
    CheckOut,
    CorrectParticipation,
    RefuseCorrectionRequest,
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
          summary="Amend credited minutes with a reason (organisers)",
          description="Up to the scheduled window's length, capped by the activity's "
                      "`hours_cap_minutes` (0 for attendance activities): 422 "
                      "`minutes_exceed_window` beyond it. Minutes above the time the record "
                      "shows present within the window are allowed with the reason and "
                      "recorded `beyond_presence: true` (flagged for review).")
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

    @post("/correction-requests/acceptances", operation_id="acceptCorrectionRequest",
          opt=write("activity_id", roles=ORGANISERS),
          summary="Accept the member's open correction request as asked (organisers)",
          description="Credits exactly the `requested_minutes` of the newest open request on "
                      "the record, for the member's reason (a ParticipationCorrected with "
                      "`answer: accepted`), and answers all its open requests. 409 "
                      "`no_open_request`, `no_hours_asked` (amend instead), `not_confirmed` "
                      "(confirm first), `unchanged`; 422 as for corrections.")
    async def accept_request(self, ledger: NamedDependency[Ledger],
                             actor: NamedDependency[Actor], activity_id: FromPath[uuid.UUID],
                             data: JSONBody[AcceptCorrectionRequest]) -> Response[Outcome]:
        return command_response(await ledger.activities.manage(actor, activity_id, data))

    @post("/correction-requests/amendments", operation_id="amendCorrectionRequest",
          opt=write("activity_id", roles=ORGANISERS),
          summary="Answer the member's open correction request with other minutes and a "
                  "reason (organisers)",
          description="A ParticipationCorrected with `answer: amended`; bounds as for "
                      "corrections.")
    async def amend_request(self, ledger: NamedDependency[Ledger],
                            actor: NamedDependency[Actor], activity_id: FromPath[uuid.UUID],
                            data: JSONBody[AmendCorrectionRequest]) -> Response[Outcome]:
        return command_response(await ledger.activities.manage(actor, activity_id, data))

    @post("/correction-requests/refusals", operation_id="refuseCorrectionRequest",
          opt=write("activity_id", roles=ORGANISERS),
          summary="Refuse the member's open correction request with a reason (organisers)",
          description="A CorrectionRequestRefused event: the record is unchanged, its open "
                      "requests are answered `refused`.")
    async def refuse_request(self, ledger: NamedDependency[Ledger],
                             actor: NamedDependency[Actor], activity_id: FromPath[uuid.UUID],
                             data: JSONBody[RefuseCorrectionRequest]) -> Response[Outcome]:
        return command_response(await ledger.activities.manage(actor, activity_id, data))
