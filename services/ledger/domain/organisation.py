"""The organisation tree: district → street → community → branch → building group.

Volunteer teams hang under a community or a branch. Every change is effective-dated; the
ledger decides on the tree as it stands now, the reports service replays the dates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from contract.bounds import clean, line
from contract.events import (
    Event,
    UnitDissolved,
    UnitEstablished,
    UnitKind,
    UnitMerged,
    UnitMoved,
    UnitRenamed,
)
from contract.problems import Refusal, invalid, not_found
from contract.vocabulary import UNIT_KINDS
from ledger.domain.command import Command

STREAM = "organisation"
MAX_NAME = 100

# Which kinds of unit may sit directly under which.
ALLOWED_PARENTS: dict[str, frozenset[str]] = {
    "district": frozenset(),
    "street": frozenset({"district"}),
    "community": frozenset({"street"}),
    "branch": frozenset({"community"}),
    "group": frozenset({"branch"}),
    "team": frozenset({"community", "branch"}),
}


@dataclass
class Unit:
    unit_id: uuid.UUID
    kind: str
    parent_id: uuid.UUID | None
    name: str
    established: date
    active: bool = True


@dataclass
class OrgTree:
    units: dict[uuid.UUID, Unit] = field(default_factory=dict)

    def apply(self, event: Event) -> None:
        match event:
            case UnitEstablished():
                self.units[event.unit_id] = Unit(event.unit_id, event.kind, event.parent_id,
                                                 event.name, event.effective)
            case UnitRenamed():
                self.units[event.unit_id].name = event.name
            case UnitMoved():
                self.units[event.unit_id].parent_id = event.parent_id
            case UnitMerged() | UnitDissolved():
                self.units[event.unit_id].active = False

    def active_unit(self, unit_id: uuid.UUID, field_name: str = "unit_id") -> Unit:
        unit = self.units.get(unit_id)
        if unit is None:
            raise not_found("unit_not_found", "组织不存在", "no such unit", field_name)
        if not unit.active:
            raise Refusal("unit_inactive", f"组织“{unit.name}”已撤销或合并",
                          f"unit {unit.name!r} is dissolved or merged", field=field_name)
        return unit

    def ancestors(self, unit_id: uuid.UUID) -> list[uuid.UUID]:
        """The unit itself, then each parent up to the top."""
        chain: list[uuid.UUID] = []
        current: uuid.UUID | None = unit_id
        while current is not None and current not in chain:
            chain.append(current)
            unit = self.units.get(current)
            current = unit.parent_id if unit else None
        return chain

    def covers(self, scope_unit_id: uuid.UUID | None, unit_id: uuid.UUID) -> bool:
        """Is `unit_id` the scope unit or below it? A scope of None is the whole tenant."""
        return scope_unit_id is None or scope_unit_id in self.ancestors(unit_id)

    def subtree(self, unit_id: uuid.UUID) -> list[uuid.UUID]:
        """The unit and every unit below it, dissolved and merged ones included (their
        past activities and members still belong to the subtree)."""
        below: dict[uuid.UUID, list[uuid.UUID]] = {}
        for unit in self.units.values():
            if unit.parent_id is not None:
                below.setdefault(unit.parent_id, []).append(unit.unit_id)
        found: set[uuid.UUID] = set()
        pending = [unit_id]
        while pending:
            current = pending.pop()
            if current not in found:
                found.add(current)
                pending.extend(below.get(current, ()))
        return list(found)

    def children(self, unit_id: uuid.UUID) -> list[Unit]:
        return [u for u in self.units.values() if u.parent_id == unit_id and u.active]


# --- commands ----------------------------------------------------------------------------


class EstablishUnit(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    unit_id: uuid.UUID | None = None
    kind: UnitKind
    parent_id: uuid.UUID | None = None
    name: line(MAX_NAME)
    effective: date


class RenameUnit(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: line(MAX_NAME)
    effective: date


class MoveUnit(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    parent_id: uuid.UUID
    effective: date


class MergeUnit(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    into_unit_id: uuid.UUID
    effective: date


class DissolveUnit(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    effective: date


# --- decisions ---------------------------------------------------------------------------


def _check_name(name: str) -> str:
    name = clean(name, "name")
    if not name or len(name) > MAX_NAME:
        raise invalid("invalid_name", f"名称不能为空，且不超过{MAX_NAME}字",
                      f"name must be 1–{MAX_NAME} characters", "name")
    return name


def _check_parent(tree: OrgTree, kind: str, parent_id: uuid.UUID | None, effective: date,
                  moving: uuid.UUID | None = None) -> None:
    allowed = ALLOWED_PARENTS[kind]
    if parent_id is None:
        if allowed:
            raise invalid("parent_required", f"{UNIT_KINDS[kind].zh}必须有上级组织",
                          f"a {kind} needs a parent unit", "parent_id")
        return
    parent = tree.active_unit(parent_id, "parent_id")
    # Checked before the kind rules (which would also refuse it) so that the problem
    # names the real mistake.
    if moving is not None and moving in tree.ancestors(parent_id):
        raise invalid("cycle", "不能移到自己或自己的下级组织之下",
                      "a unit cannot move under itself or one of its descendants", "parent_id")
    if parent.kind not in allowed:
        raise invalid(
            "invalid_parent",
            f"{UNIT_KINDS[kind].zh}不能隶属于{UNIT_KINDS[parent.kind].zh}",
            f"a {kind} cannot sit under a {parent.kind}",
            "parent_id",
        )
    # Reports replay the dates: a unit rolling up to a parent that did not exist yet would
    # put its past months nowhere.
    if effective < parent.established:
        raise invalid("before_parent_established", "生效日期早于上级组织成立日期",
                      "effective date is before the parent unit was established", "effective")


def establish(tree: OrgTree, command: EstablishUnit, unit_id: uuid.UUID) -> list[Event]:
    if unit_id in tree.units:
        raise Refusal("unit_exists", "组织已存在", "the unit already exists", field="unit_id")
    name = _check_name(command.name)
    _check_parent(tree, command.kind, command.parent_id, command.effective)
    return [UnitEstablished(unit_id=unit_id, kind=command.kind, parent_id=command.parent_id,
                            name=name, effective=command.effective)]


def _not_before_established(unit: Unit, effective: date) -> None:
    if effective < unit.established:
        raise invalid("before_established", "生效日期早于组织成立日期",
                      "effective date is before the unit was established", "effective")


def rename(tree: OrgTree, unit_id: uuid.UUID, command: RenameUnit) -> list[Event]:
    unit = tree.active_unit(unit_id)
    name = _check_name(command.name)
    _not_before_established(unit, command.effective)
    if name == unit.name:
        raise Refusal("unchanged", "名称未改变", "the name is unchanged", field="name")
    return [UnitRenamed(unit_id=unit_id, name=name, effective=command.effective)]


def move(tree: OrgTree, unit_id: uuid.UUID, command: MoveUnit) -> list[Event]:
    unit = tree.active_unit(unit_id)
    _not_before_established(unit, command.effective)
    _check_parent(tree, unit.kind, command.parent_id, command.effective, moving=unit_id)
    if command.parent_id == unit.parent_id:
        raise Refusal("unchanged", "上级组织未改变", "the parent is unchanged", field="parent_id")
    return [UnitMoved(unit_id=unit_id, parent_id=command.parent_id, effective=command.effective)]


def merge(tree: OrgTree, unit_id: uuid.UUID, command: MergeUnit) -> list[Event]:
    unit = tree.active_unit(unit_id)
    target = tree.active_unit(command.into_unit_id, "into_unit_id")
    _not_before_established(unit, command.effective)
    if target.unit_id == unit_id or target.kind != unit.kind:
        raise invalid("invalid_merge", "只能并入另一个同级组织",
                      "a unit merges only into another unit of the same kind", "into_unit_id")
    if command.effective < target.established:
        raise invalid("before_target_established", "生效日期早于并入组织成立日期",
                      "effective date is before the unit merged into was established",
                      "effective")
    if tree.children(unit_id):
        raise Refusal("has_children", "请先调整下级组织", "move or merge its child units first")
    return [UnitMerged(unit_id=unit_id, into_unit_id=target.unit_id,
                       effective=command.effective)]


def dissolve(tree: OrgTree, unit_id: uuid.UUID, command: DissolveUnit) -> list[Event]:
    unit = tree.active_unit(unit_id)
    _not_before_established(unit, command.effective)
    if tree.children(unit_id):
        raise Refusal("has_children", "请先调整下级组织", "move or merge its child units first")
    return [UnitDissolved(unit_id=unit_id, effective=command.effective)]
