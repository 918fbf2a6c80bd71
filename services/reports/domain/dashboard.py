"""The committee dashboard: a unit's year by month (activities held, person-times, hours,
participation rate), the same for each unit directly below it, and the year's trends.

Participation rate = in-service members reported to the unit (or below) with at least one
confirmed participation that month / in-service members reported there on the month's last
day (the 双报到 members the committees answer for). None when nobody was reported.
"""

from __future__ import annotations

import uuid

import msgspec


class DashboardMonth(msgspec.Struct, frozen=True, kw_only=True):
    month: str
    activities: int
    person_times: int
    minutes: int
    hours: float
    # In-service members with a confirmed participation / reported on the month's last day.
    members_served: int
    members_reported: int
    participation_rate: float | None


class DashboardUnit(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: uuid.UUID
    unit_name: str
    unit_kind: str
    months: list[DashboardMonth]
    activities: int
    person_times: int
    minutes: int
    hours: float


class Dashboard(msgspec.Struct, frozen=True, kw_only=True):
    year: int
    position: str
    # The unit asked for (its whole subtree), then each unit directly below it.
    unit: DashboardUnit
    children: list[DashboardUnit]


def rate(served: int, reported: int) -> float | None:
    return round(served / reported, 4) if reported else None


def month_labels(year: int) -> list[str]:
    return [f"{year:04d}-{month:02d}" for month in range(1, 13)]
