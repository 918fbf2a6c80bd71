"""Projection `members`: each member's kind and employer, and their unit over time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from contract.events import Event, MemberLeft, MemberRegistered, MemberReported, MemberTransferred
from reports.domain.projection import EventMeta, Keys, known_from
from reports.domain.timeline import Change, Timeline

NAME = "members"
EVENT_TYPES = frozenset(
    t.__name__ for t in (MemberRegistered, MemberReported, MemberTransferred, MemberLeft)
)


@dataclass(slots=True)
class MemberRow:
    member_id: uuid.UUID
    kind: str
    employer: str | None
    registered_on: date
    left_on: date | None = None


@dataclass
class MembersBatch:
    members: dict[uuid.UUID, MemberRow] = field(default_factory=dict)
    units: dict[uuid.UUID, Timeline[uuid.UUID | None]] = field(default_factory=dict)
    changed: set[uuid.UUID] = field(default_factory=set)
    # Every change point as recorded, for as-of queries (insert-only).
    changes: list[Change[uuid.UUID | None]] = field(default_factory=list)

    def wanted(self, events: Sequence[Event]) -> Keys:
        return {"members": {e.member_id for e in events if type(e).__name__ in EVENT_TYPES}}

    def apply(self, event: Event, meta: EventMeta) -> None:
        match event:
            case MemberRegistered():
                self.members[event.member_id] = MemberRow(event.member_id, event.kind,
                                                          event.employer, event.registered_on)
            case MemberReported():
                self._set_unit(event.member_id, event.effective, event.unit_id, meta)
            case MemberTransferred():
                self._set_unit(event.member_id, event.effective, event.to_unit_id, meta)
            case MemberLeft():
                self._set_unit(event.member_id, event.effective, None, meta)
                if event.member_id in self.members:
                    self.members[event.member_id].left_on = event.effective
            case _:
                return
        self.changed.add(event.member_id)

    def _set_unit(self, member_id: uuid.UUID, effective: date, unit_id: uuid.UUID | None,
                  meta: EventMeta) -> None:
        self.units.setdefault(member_id, Timeline()).set(effective, unit_id)
        self.changes.append(Change(member_id, effective, unit_id, meta.position,
                                   known_from(meta, effective)))
