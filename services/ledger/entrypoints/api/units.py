"""The organisation tree: establish, rename, move, merge, dissolve; read the current tree."""

from __future__ import annotations

import uuid
from datetime import date

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from contract.access import Principal, read, write
from ledger.domain.organisation import (
    DissolveUnit,
    EstablishUnit,
    MergeUnit,
    MoveUnit,
    RenameUnit,
)
from ledger.entrypoints.api.responses import command_response
from ledger.handlers import Actor, Ledger, Outcome


class UnitOut(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: uuid.UUID
    kind: str
    parent_id: uuid.UUID | None
    name: str
    established: date
    active: bool


class UnitController(Controller):
    path = "/api/v1/units"
    tags = ("organisation",)

    @get("/", operation_id="listUnits",
         opt=read(), summary="The current organisation tree (flat list)")
    async def list_units(self, ledger: NamedDependency[Ledger],
                         principal: NamedDependency[Principal]) -> list[UnitOut]:
        tree = await ledger.tree(principal.tenant_id, max_age=0)
        return [
            UnitOut(unit_id=u.unit_id, kind=u.kind, parent_id=u.parent_id, name=u.name,
                    established=u.established, active=u.active)
            for u in tree.units.values()
            if tree.covers(principal.scope_unit_id, u.unit_id)
        ]

    @post("/", operation_id="establishUnit", opt=write(), summary="Establish a unit")
    async def establish(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                        data: JSONBody[EstablishUnit]) -> Response[Outcome]:
        return command_response(await ledger.establish_unit(actor, data))

    @post("/{unit_id:uuid}/rename", operation_id="renameUnit",
          opt=write("unit_id"), summary="Rename a unit")
    async def rename(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                     unit_id: FromPath[uuid.UUID], data: JSONBody[RenameUnit]) -> Response[Outcome]:
        return command_response(await ledger.change_unit(actor, unit_id, data))

    @post("/{unit_id:uuid}/move", operation_id="moveUnit",
          opt=write("unit_id"), summary="Move a unit to a new parent")
    async def move(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                   unit_id: FromPath[uuid.UUID], data: JSONBody[MoveUnit]) -> Response[Outcome]:
        return command_response(await ledger.change_unit(actor, unit_id, data))

    @post("/{unit_id:uuid}/merge", operation_id="mergeUnit",
          opt=write("unit_id"), summary="Merge into another unit")
    async def merge(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                    unit_id: FromPath[uuid.UUID], data: JSONBody[MergeUnit]) -> Response[Outcome]:
        return command_response(await ledger.change_unit(actor, unit_id, data))

    @post("/{unit_id:uuid}/dissolve", operation_id="dissolveUnit",
          opt=write("unit_id"), summary="Dissolve a unit")
    async def dissolve(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                       unit_id: FromPath[uuid.UUID],
                       data: JSONBody[DissolveUnit]) -> Response[Outcome]:
        return command_response(await ledger.change_unit(actor, unit_id, data))
