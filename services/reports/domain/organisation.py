"""Projection `organisation`: units and each unit's parent over time.

A merge is folded as a move: from the merge date the merged unit hangs under the unit it
merged into, so the members still recorded in it count for that unit from then on
("its members count for into_unit_id from effective on"). A dissolved unit loses its parent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from contract.events import (
    Event,
    UnitDissolved,
    UnitEstablished,
    UnitMerged,
    UnitMoved,
    UnitRenamed,
)
from reports.domain.projection import EventMeta, Keys, known_from
from reports.domain.timeline import Change, Timeline

NAME = "organisation"
EVENT_TYPES = frozenset(
    t.__name__ for t in (UnitEstablished, UnitRenamed, UnitMoved, UnitMerged, UnitDissolved)
)


@dataclass(slots=True)
class UnitRow:
    unit_id: uuid.UUID
    kind: str
    name: str
    established: date
    ended: date | None = None


@dataclass
class OrganisationBatch:
    # Filled by the adapter with the stored rows of `wanted` units, then changed by apply.
    units: dict[uuid.UUID, UnitRow] = field(default_factory=dict)
    parents: dict[uuid.UUID, Timeline[uuid.UUID | None]] = field(default_factory=dict)
    changed: set[uuid.UUID] = field(default_factory=set)
    # Every change point as recorded, for as-of queries (insert-only).
    changes: list[Change[uuid.UUID | None]] = field(default_factory=list)

    def wanted(self, events: Sequence[Event]) -> Keys:
        return {"units": {e.unit_id for e in events if type(e).__name__ in EVENT_TYPES}}

    def apply(self, event: Event, meta: EventMeta) -> None:
        match event:
            case UnitEstablished():
                self.units[event.unit_id] = UnitRow(event.unit_id, event.kind, event.name,
                                                    event.effective)
                self._set_parent(event.unit_id, event.effective, event.parent_id, meta)
            case UnitRenamed() if event.unit_id in self.units:
                self.units[event.unit_id].name = event.name
            case UnitMoved() if event.unit_id in self.units:
                self._set_parent(event.unit_id, event.effective, event.parent_id, meta)
            case UnitMerged() if event.unit_id in self.units:
                self.units[event.unit_id].ended = event.effective
                self._set_parent(event.unit_id, event.effective, event.into_unit_id, meta)
            case UnitDissolved() if event.unit_id in self.units:
                self.units[event.unit_id].ended = event.effective
                self._set_parent(event.unit_id, event.effective, None, meta)
            case _:
                return
        self.changed.add(event.unit_id)

    def _set_parent(self, unit_id: uuid.UUID, effective: date, parent_id: uuid.UUID | None,
                    meta: EventMeta) -> None:
        self.parents.setdefault(unit_id, Timeline()).set(effective, parent_id)
        self.changes.append(Change(unit_id, effective, parent_id, meta.position,
                                   known_from(meta, effective)))
