"""Honor rolls are computed by the reports service; publishing freezes one here."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from contract.access import ORGANISERS, write
from contract.calendar import valid_month
from ledger.domain.honor_rolls import PublishHonorRoll, RecordObjection
from ledger.entrypoints.api.responses import command_response
from ledger.handlers import Actor, Ledger, Outcome


class HonorRollController(Controller):
    path = "/api/v1/honor-rolls"
    tags = ("honor rolls",)

    @post("/", operation_id="publishHonorRoll", opt=write(roles=ORGANISERS),
          summary="Publish (freeze) a unit's monthly honor roll (organisers)")
    async def publish(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                      data: JSONBody[PublishHonorRoll]) -> Response[Outcome]:
        return command_response(await ledger.publish_honor_roll(actor, data))

    @post("/{unit_id:str}/{month:str}/objections", operation_id="recordHonorRollObjection",
          opt=write("unit_id", roles=ORGANISERS),
          summary="Record an objection during the publicity (公示) window")
    async def object_to(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                        unit_id: FromPath[uuid.UUID], month: FromPath[str],
                        data: JSONBody[RecordObjection]) -> Response[Outcome]:
        valid_month(month, source="path")
        return command_response(await ledger.record_objection(actor, unit_id, month, data))
