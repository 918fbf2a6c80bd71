"""The organisation tree: establish, rename, move, merge, dissolve; list and read units."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from contract.access import Principal, read, write
from contract.events import UnitKind
from ledger.adapters.listings import InvalidCursor, decode_cursor, encode_cursor
from ledger.domain.organisation import (
    DissolveUnit,
    EstablishUnit,
    MergeUnit,
    MoveUnit,
    OrgTree,
    RenameUnit,
    Unit,
)
from ledger.entrypoints.api.responses import command_response, invalid_cursor
from ledger.entrypoints.api.scope import listed_units
from ledger.handlers import Actor, Ledger, Outcome


class UnitOut(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: uuid.UUID
    kind: str
    parent_id: uuid.UUID | None
    name: str
    established: date
    active: bool
    # 0 for the top of the tenant (the district).
    depth: int


class UnitList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[UnitOut]
    # Pass as `after` for the next page; null on the last page.
    next: str | None


class UnitDetail(msgspec.Struct, frozen=True, kw_only=True):
    unit: UnitOut
    # From the top of the tenant down to the unit's parent.
    ancestor_ids: list[uuid.UUID]
    # Dissolved and merged children included.
    children: list[UnitOut]


def unit_out(tree: OrgTree, unit: Unit) -> UnitOut:
    return UnitOut(unit_id=unit.unit_id, kind=unit.kind, parent_id=unit.parent_id,
                   name=unit.name, established=unit.established, active=unit.active,
                   depth=len(tree.ancestors(unit.unit_id)) - 1)


def _by_parent(tree: OrgTree) -> dict[uuid.UUID | None, list[Unit]]:
    """Each unit's children (None: the top units), by name."""
    below: dict[uuid.UUID | None, list[Unit]] = {}
    for unit in sorted(tree.units.values(), key=lambda u: (u.name, u.unit_id)):
        below.setdefault(unit.parent_id, []).append(unit)
    return below


def tree_order(tree: OrgTree, top: uuid.UUID | None) -> list[Unit]:
    """Depth first from `top` (None: every top unit), children by name."""
    below = _by_parent(tree)
    pending = [tree.units[top]] if top is not None else below.get(None, [])[::-1]
    ordered = []
    while pending:
        unit = pending.pop()
        ordered.append(unit)
        pending.extend(below.get(unit.unit_id, [])[::-1])
    return ordered


class UnitController(Controller):
    path = "/api/v1/units"
    tags = ("organisation",)

    @get("/", operation_id="listUnits", opt=read(), summary="Units in scope, flat, in tree order",
         description="The organisation tree within the token's scope, flattened depth first "
                     "(children by name) with each unit's `parent_id` and `depth`, 1–200 per "
                     "page (default 50). Filters: `unit_id` (that unit and its subtree; 403 "
                     "outside the scope), `kind`, `active` (false: dissolved or merged). "
                     "Pass the answer's `next` as `after` for the next page.")
    async def list_units(
        self,
        ledger: NamedDependency[Ledger],
        principal: NamedDependency[Principal],
        unit_id: FromQuery[uuid.UUID | None] = None,
        kind: FromQuery[UnitKind | None] = None,
        active: FromQuery[bool | None] = None,
        after: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> UnitList:
        tree = await ledger.state.tree(principal.tenant_id, max_age=0)
        listed_units(tree, principal, unit_id)  # refuses a unit outside the scope
        top = unit_id or principal.scope_unit_id
        ordered = tree_order(tree, top) if top is None or top in tree.units else []
        start = 0
        if after is not None:
            try:
                (last,) = decode_cursor(after, tuple[uuid.UUID])
                start = next(i for i, u in enumerate(ordered) if u.unit_id == last) + 1
            except (InvalidCursor, StopIteration):
                raise invalid_cursor() from None
        items: list[UnitOut] = []
        following = None
        for unit in ordered[start:]:
            if (kind is not None and unit.kind != kind) or \
                    (active is not None and unit.active != active):
                continue
            if len(items) == limit:
                following = encode_cursor((items[-1].unit_id,))
                break
            items.append(unit_out(tree, unit))
        return UnitList(items=items, next=following)

    @get("/{unit_id:str}", operation_id="getUnit", opt=read("unit_id"),
         summary="A unit, its ancestors and children",
         description="403 for a unit outside the token's scope, 404 for an unknown one.")
    async def get_unit(self, ledger: NamedDependency[Ledger],
                       principal: NamedDependency[Principal],
                       unit_id: FromPath[uuid.UUID]) -> UnitDetail:
        tree = await ledger.state.tree(principal.tenant_id, max_age=0)
        listed_units(tree, principal, unit_id)  # 404 unknown, 403 outside the scope
        return UnitDetail(unit=unit_out(tree, tree.units[unit_id]),
                          ancestor_ids=tree.ancestors(unit_id)[:0:-1],
                          children=[unit_out(tree, u)
                                    for u in _by_parent(tree).get(unit_id, [])])

    @post("/", operation_id="establishUnit", opt=write(), summary="Establish a unit")
    async def establish(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                        data: JSONBody[EstablishUnit]) -> Response[Outcome]:
        return command_response(await ledger.units.establish(actor, data))

    @post("/{unit_id:str}/rename", operation_id="renameUnit",
          opt=write("unit_id"), summary="Rename a unit")
    async def rename(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                     unit_id: FromPath[uuid.UUID], data: JSONBody[RenameUnit]) -> Response[Outcome]:
        return command_response(await ledger.units.change(actor, unit_id, data))

    @post("/{unit_id:str}/move", operation_id="moveUnit",
          opt=write("unit_id"), summary="Move a unit to a new parent")
    async def move(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                   unit_id: FromPath[uuid.UUID], data: JSONBody[MoveUnit]) -> Response[Outcome]:
        return command_response(await ledger.units.change(actor, unit_id, data))

    @post("/{unit_id:str}/merge", operation_id="mergeUnit",
          opt=write("unit_id"), summary="Merge into another unit")
    async def merge(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                    unit_id: FromPath[uuid.UUID], data: JSONBody[MergeUnit]) -> Response[Outcome]:
        return command_response(await ledger.units.change(actor, unit_id, data))

    @post("/{unit_id:str}/dissolve", operation_id="dissolveUnit",
          opt=write("unit_id"), summary="Dissolve a unit")
    async def dissolve(self, ledger: NamedDependency[Ledger], actor: NamedDependency[Actor],
                       unit_id: FromPath[uuid.UUID],
                       data: JSONBody[DissolveUnit]) -> Response[Outcome]:
        return command_response(await ledger.units.change(actor, unit_id, data))
