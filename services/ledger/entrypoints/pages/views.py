"""Shapes the page templates show, built from the ledger's states (no I/O here)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from contract.calendar import whole_minutes
from ledger.adapters.listings import CorrectionRequestSummary
from ledger.adapters.page_queries import Person
from ledger.domain.activities import ActivityState, Participation
from ledger.domain.organisation import OrgTree


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


# What a person calls an activity's state: the ledger knows scheduled, closed and
# cancelled; a scheduled one has either not started yet or is under way.
Shown = Literal["upcoming", "ongoing", "closed", "cancelled"]
SHOWN: tuple[Shown, ...] = ("upcoming", "ongoing", "closed", "cancelled")


def shown_status(status: str, starts_at: datetime, now: datetime) -> Shown:
    # Upcoming up to the start instant itself, as the list's filter counts it
    # (organisers.status_filter: starts_from is inclusive, starts_before is not).
    if status == "scheduled":
        return "upcoming" if now <= starts_at else "ongoing"
    return "cancelled" if status == "cancelled" else "closed"


@dataclass(frozen=True)
class UnitChoice:
    unit_id: uuid.UUID
    name: str
    depth: int
    # The units between the top of the list and this one ("兴华南里社区 › 第一支部"), so two
    # groups of one name under different branches are told apart; empty near the top.
    path: str

    @property
    def label(self) -> str:
        # U+3000 is not collapsed inside <option> the way ASCII spaces are.
        indent = "\u3000" * self.depth
        return f"{indent}{self.name}（{self.path}）" if self.path else f"{indent}{self.name}"


def unit_choices(tree: OrgTree, top: uuid.UUID) -> list[UnitChoice]:
    """The active units from `top` down, depth first, siblings by name."""
    choices: list[UnitChoice] = []
    root = tree.units.get(top)
    if root is None or not root.active:
        return choices

    def visit(unit_id: uuid.UUID, depth: int, names: list[str]) -> None:
        unit = tree.units[unit_id]
        choices.append(UnitChoice(unit_id, unit.name, depth,
                                  " › ".join(names[1:]) if depth >= 2 else ""))
        for child in sorted(tree.children(unit_id), key=lambda u: (u.name, str(u.unit_id))):
            visit(child.unit_id, depth + 1, [*names, unit.name])

    visit(top, 0, [])
    return choices
