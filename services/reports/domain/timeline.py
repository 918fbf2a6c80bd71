"""Effective-dated values: a unit's parent, a member's unit, as intervals of dates.

The ledger records changes with an effective date, and they may arrive out of date order
(a transfer effective last month, recorded today). Keeping the change points and deriving
the intervals from them gives the same intervals whatever the arrival order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

T = TypeVar("T")

FOREVER = date.max


class Timeline(Generic[T]):
    """Change points date -> value; a later change on the same date replaces the earlier."""

    def __init__(self, points: dict[date, T] | None = None) -> None:
        self.points: dict[date, T] = dict(points or {})

    def set(self, effective: date, value: T) -> None:
        self.points[effective] = value

    def intervals(self) -> list[tuple[date, date, T]]:
        """[(valid_from, valid_to, value)] in date order; the last one runs to FOREVER."""
        days = sorted(self.points)
        ends = [*days[1:], FOREVER]
        return [(start, end, self.points[start]) for start, end in zip(days, ends, strict=True)]

    def at(self, day: date) -> T | None:
        current: T | None = None
        for start in sorted(self.points):
            if start > day:
                break
            current = self.points[start]
        return current


@dataclass(frozen=True, slots=True)
class Change(Generic[T]):
    """One change point of `key`'s timeline, and since when the ledger knew of it.

    The intervals say what is known now; as-of queries rebuild them from the changes known
    by the cutoff (see `projection.known_from`), so a change recorded later, whatever its
    effective date, does not alter an earlier answer. `position` orders changes of one key
    in feed order (they are events of one stream), for "a later change on the same date
    replaces the earlier".
    """

    key: uuid.UUID
    effective: date
    value: T
    position: int
    known_from: datetime
