"""Words both services and their users share: activity and unit kinds with their zh-CN and
English labels, and the star levels (星级志愿者) of the national rules. Written once here so
that the ledger's pages and the reports' tables and exports call things by the same name.
"""

from __future__ import annotations

from typing import NamedTuple


class Label(NamedTuple):
    zh: str
    en: str


# In the order the committees list them in their reports.
ACTIVITY_KINDS: dict[str, Label] = {
    "cleanup": Label("环境整治", "Cleanup"),
    "patrol": Label("巡逻防控", "Patrol"),
    "service": Label("志愿服务", "Volunteer service"),
    "lecture": Label("党课讲堂", "Lecture"),
    "meeting": Label("会议", "Meeting"),
    # Residents' forums and 议事会 discussions: not a branch's 三会一课, counted apart.
    "forum": Label("座谈会", "Forum"),
    "other": Label("其他活动", "Other"),
}
KIND_ORDER: tuple[str, ...] = tuple(ACTIVITY_KINDS)

UNIT_KINDS: dict[str, Label] = {
    "district": Label("区委", "District committee"),
    "street": Label("街道党工委", "Street working committee"),
    "community": Label("社区党委", "Community committee"),
    "branch": Label("党支部", "Branch"),
    "group": Label("党小组", "Building group"),
    "team": Label("志愿者队伍", "Volunteer team"),
}


def kind_name(kind: str) -> str:
    """The zh-CN label of an activity kind (the kind itself if unknown)."""
    label = ACTIVITY_KINDS.get(kind)
    return label.zh if label else kind


def kind_rank(kind: str) -> int:
    """Sort key: the reports' order of kinds, unknown kinds last."""
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


# (hours, level): ★1 100 h, ★2 300 h, ★3 600 h, ★4 1,000 h, ★5 1,500 h of cumulative
# confirmed service.
STAR_HOURS: tuple[int, ...] = (100, 300, 600, 1000, 1500)


def star_level(minutes: int) -> int:
    return sum(1 for threshold in STAR_HOURS if minutes >= threshold * 60)


def next_star_hours(minutes: int) -> int | None:
    """The threshold (hours) of the next level, None at ★5."""
    level = star_level(minutes)
    return STAR_HOURS[level] if level < len(STAR_HOURS) else None


def next_level_minutes(minutes: int) -> int | None:
    """Minutes still needed for the next level, None at ★5."""
    threshold = next_star_hours(minutes)
    return None if threshold is None else threshold * 60 - minutes


def hours(minutes: int) -> float:
    return round(minutes / 60, 2)


def hours_text(value: float) -> str:
    """Hours as the committees write them: 12.50 → "12.5", 3.00 → "3"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
