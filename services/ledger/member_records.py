"""A member's own records, hours by month and year and star level, from activity states.

The reports service will own these figures (its member-hours read model); until its API
exists the member's page computes them here from the ledger's activity streams for that
one member, which is cheap (a member takes part in tens of activities a year).
Months are Asia/Shanghai months of the check-in. Every month from the member's first
record to the current one has a row, zero when nothing happened: a gap is information.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from contract.calendar import month_of
from contract.vocabulary import next_level_minutes, next_star_hours, star_level
from ledger.domain.activities import ActivityState, Participation, Step


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

    @property
    def original_minutes(self) -> int | None:
        """What was first confirmed, before any correction (None if never corrected)."""
        return next((s.previous_minutes for s in self.history
                     if s.previous_minutes is not None), None)


@dataclass(frozen=True)
class Period:
    """One month ("2026-03") or year ("2026"): confirmed service minutes, activities."""

    label: str
    minutes: int
    activities: int


@dataclass(frozen=True)
class Summary:
    records: list[Record]
    months: list[Period]  # newest first, every month from the first record to now
    years: list[Period]  # newest first
    total_minutes: int
    stars: int
    next_star_hours: int | None
    # Minutes still needed for the next star (None at ★5).
    to_next_star: int | None


def stars_for(minutes: int) -> tuple[int, int | None]:
    """(stars earned, hours needed for the next star or None at ★5)."""
    return star_level(minutes), next_star_hours(minutes)


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` ("YYYY-MM"), both included, oldest first."""
    year, month = int(first[:4]), int(first[5:7])
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _record(activity: ActivityState, p: Participation) -> Record:
    return Record(
        activity.activity_id, p.participation_id, activity.title, activity.place,
        activity.category, p.checked_in_at, p.checked_out_at, p.auto_closed, p.minutes,
        p.revoked, tuple(p.history))


def summarise(member_id: uuid.UUID, activities: Iterable[ActivityState],
              now: datetime) -> Summary:
    records = [_record(a, p) for a in activities for p in a.participations.values()
               if p.member_id == member_id]
    records.sort(key=lambda r: r.checked_in_at, reverse=True)
    counted = [r for r in records if not r.revoked]
    by_month: dict[str, list[int]] = {}
    if counted:
        first = min(r.month for r in counted)
        by_month = {m: [0, 0] for m in months_between(first, max(month_of(now), first))}
    for record in counted:
        month = by_month.setdefault(record.month, [0, 0])
        month[1] += 1
        if record.category == "service" and record.minutes:
            month[0] += record.minutes
    by_year: dict[str, list[int]] = {}
    for label, (minutes, count) in by_month.items():
        year = by_year.setdefault(label[:4], [0, 0])
        year[0] += minutes
        year[1] += count
    total = sum(m[0] for m in by_month.values())
    stars, next_star = stars_for(total)
    return Summary(
        records=records,
        months=[Period(k, *v) for k, v in sorted(by_month.items(), reverse=True)],
        years=[Period(k, *v) for k, v in sorted(by_year.items(), reverse=True)],
        total_minutes=total, stars=stars, next_star_hours=next_star,
        to_next_star=next_level_minutes(total))
