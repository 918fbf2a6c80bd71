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

from ledger.events import (
    Event,
    UnitDissolved,
    UnitEstablished,
    UnitMerged,
    UnitMoved,
    UnitRenamed,
)
from reports.domain.projection import EventMeta, Keys
from reports.domain.timeline import Timeline

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

    def wanted(self, events: Sequence[Event]) -> Keys:
        return {"units": {e.unit_id for e in events if type(e).__name__ in EVENT_TYPES}}

    def apply(self, event: Event, meta: EventMeta) -> None:
        match event:
            case UnitEstablished():
                self.units[event.unit_id] = UnitRow(event.unit_id, event.kind, event.name,
                                                    event.effective)
                self._parent(event.unit_id).set(event.effective, event.parent_id)
            case UnitRenamed() if event.unit_id in self.units:
                self.units[event.unit_id].name = event.name
            case UnitMoved() if event.unit_id in self.units:
                self._parent(event.unit_id).set(event.effective, event.parent_id)
            case UnitMerged() if event.unit_id in self.units:
                self.units[event.unit_id].ended = event.effective
                self._parent(event.unit_id).set(event.effective, event.into_unit_id)
            case UnitDissolved() if event.unit_id in self.units:
                self.units[event.unit_id].ended = event.effective
                self._parent(event.unit_id).set(event.effective, None)
            case _:
                return
        self.changed.add(event.unit_id)

    def _parent(self, unit_id: uuid.UUID) -> Timeline[uuid.UUID | None]:
        return self.parents.setdefault(unit_id, Timeline())
