"""Star levels (星级志愿者) by cumulative confirmed service hours, from the national rules."""

from __future__ import annotations

# (hours, level): ★1 100 h, ★2 300 h, ★3 600 h, ★4 1,000 h, ★5 1,500 h.
THRESHOLDS: tuple[tuple[int, int], ...] = ((1500, 5), (1000, 4), (600, 3), (300, 2), (100, 1))


def star_level(minutes: int) -> int:
    for hours, level in THRESHOLDS:
        if minutes >= hours * 60:
            return level
    return 0


def next_level_minutes(minutes: int) -> int | None:
    """Minutes still needed for the next level, None at ★5."""
    for hours, _ in reversed(THRESHOLDS):
        if minutes < hours * 60:
            return hours * 60 - minutes
    return None


def hours(minutes: int) -> float:
    return round(minutes / 60, 2)
