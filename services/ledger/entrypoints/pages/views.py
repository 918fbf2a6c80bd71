"""Shapes the page templates show, built from the ledger's states (no I/O here)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from contract.calendar import whole_minutes
from ledger.adapters.listings import CorrectionRequestSummary
from ledger.adapters.page_queries import Person
from ledger.domain.activities import ActivityState, Participation


@dataclass(frozen=True)
class MemberStatus:
    state: str  # none | in | out
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    minutes_present: int = 0
    credited: int | None = None

    def as_json(self) -> dict[str, object]:
        return {"state": self.state,
                "checked_in_at": self.checked_in_at.isoformat() if self.checked_in_at else None,
                "checked_out_at": (self.checked_out_at.isoformat()
                                   if self.checked_out_at else None),
                "minutes_present": self.minutes_present}


def member_status(activity: ActivityState, member_id: uuid.UUID, now: datetime) -> MemberStatus:
    """The member's open participation, else their latest one, else nothing."""
    open_one = activity.open_participation(member_id)
    if open_one is not None:
        return MemberStatus("in", open_one.checked_in_at,
                            minutes_present=whole_minutes(now - open_one.checked_in_at))
    mine = [p for p in activity.participations.values()
            if p.member_id == member_id and not p.revoked]
    if not mine:
        return MemberStatus("none")
    last = max(mine, key=lambda p: p.checked_in_at)
    assert last.checked_out_at is not None  # not open, not revoked
    return MemberStatus("out", last.checked_in_at, last.checked_out_at,
                        whole_minutes(last.checked_out_at - last.checked_in_at), last.minutes)


def matches(person: Person | None, query: str) -> bool:
    """The roster's search: a part of the name or of the member number ("" matches all)."""
    if not query:
        return True
    if person is None:
        return False
    folded = query.casefold()
    return any(folded in (text or "").casefold() for text in (person.name, person.member_number))


def requests_by_participation(requests: list[CorrectionRequestSummary]
                              ) -> dict[uuid.UUID, list[CorrectionRequestSummary]]:
    """Open correction requests grouped by the record they are about, in the given order."""
    found: dict[uuid.UUID, list[CorrectionRequestSummary]] = {}
    for request in requests:
        found.setdefault(request.participation_id, []).append(request)
    return found


@dataclass(frozen=True)
class Span:
    activity_id: uuid.UUID
    participation: Participation
    end: datetime


def overlaps(activities: list[ActivityState]) -> set[uuid.UUID]:
    """Participation ids of one member that overlap another of theirs (any activity)."""
    by_member: dict[uuid.UUID, list[Span]] = {}
    for activity in activities:
        if activity.status == "cancelled":
            continue
        for p in activity.participations.values():
            if p.revoked:
                continue
            end = p.checked_out_at or max(activity.ends_at, p.checked_in_at)
            by_member.setdefault(p.member_id, []).append(Span(activity.activity_id, p, end))
    found: set[uuid.UUID] = set()
    for spans in by_member.values():
        spans.sort(key=lambda s: s.participation.checked_in_at)
        for i, first in enumerate(spans):
            for second in spans[i + 1:]:
                if second.participation.checked_in_at >= first.end:
                    break
                found.add(first.participation.participation_id)
                found.add(second.participation.participation_id)
    return found
