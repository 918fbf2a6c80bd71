"""A member's own records, hours by month and star level, computed from activity states.

The reports service will own these figures (its member-hours read model); until its API
exists the member's page computes them here from the ledger's activity streams for that
one member, which is cheap (a member takes part in tens of activities a year).
Months are Asia/Shanghai months of the check-in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from contract.calendar import month_of
from contract.vocabulary import next_star_hours, star_level
from ledger.domain.activities import ActivityState, Step


@dataclass(frozen=True)
class Record:
    activity_id: uuid.UUID
    participation_id: uuid.UUID
    title: str
    place: str
    category: str
    checked_in_at: datetime
    checked_out_at: datetime | None
    auto_closed: bool
    minutes: int | None  # credited once confirmed
    revoked: bool
    # Asked, answered (accepted, amended, refused), corrected: oldest first.
    history: tuple[Step, ...] = ()

    @property
    def month(self) -> str:
        return month_of(self.checked_in_at)


@dataclass(frozen=True)
class Summary:
    records: list[Record]
    # (month, confirmed service minutes, activities) newest first
    months: list[tuple[str, int, int]]
    total_minutes: int
    stars: int
    next_star_hours: int | None


def stars_for(minutes: int) -> tuple[int, int | None]:
    """(stars earned, hours needed for the next star or None at ★5)."""
    return star_level(minutes), next_star_hours(minutes)


def summarise(member_id: uuid.UUID, activities: Iterable[ActivityState]) -> Summary:
    records = [
        Record(a.activity_id, p.participation_id, a.title, a.place, a.category,
               p.checked_in_at, p.checked_out_at, p.auto_closed, p.minutes, p.revoked,
               tuple(p.history))
        for a in activities for p in a.participations.values() if p.member_id == member_id
    ]
    records.sort(key=lambda r: r.checked_in_at, reverse=True)
    months: dict[str, list[int]] = {}
    for record in records:
        if record.revoked:
            continue
        month = months.setdefault(record.month, [0, 0])
        month[1] += 1
        if record.category == "service" and record.minutes:
            month[0] += record.minutes
    total = sum(m[0] for m in months.values())
    stars, next_star = stars_for(total)
    return Summary(records=records,
                   months=[(k, v[0], v[1]) for k, v in sorted(months.items(), reverse=True)],
                   total_minutes=total, stars=stars, next_star_hours=next_star)
