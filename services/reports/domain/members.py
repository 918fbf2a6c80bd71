"""Projection `members`: each member's kind and employer, and their unit over time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from ledger.events import Event, MemberLeft, MemberRegistered, MemberReported, MemberTransferred
from reports.domain.projection import EventMeta, Keys
from reports.domain.timeline import Timeline

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

    def wanted(self, events: Sequence[Event]) -> Keys:
        return {"members": {e.member_id for e in events if type(e).__name__ in EVENT_TYPES}}

    def apply(self, event: Event, meta: EventMeta) -> None:
        match event:
            case MemberRegistered():
                self.members[event.member_id] = MemberRow(event.member_id, event.kind,
                                                          event.employer, event.registered_on)
            case MemberReported():
                self._unit(event.member_id).set(event.effective, event.unit_id)
            case MemberTransferred():
                self._unit(event.member_id).set(event.effective, event.to_unit_id)
            case MemberLeft():
                self._unit(event.member_id).set(event.effective, None)
                if event.member_id in self.members:
                    self.members[event.member_id].left_on = event.effective
            case _:
                return
        self.changed.add(event.member_id)

    def _unit(self, member_id: uuid.UUID) -> Timeline[uuid.UUID | None]:
        return self.units.setdefault(member_id, Timeline())
