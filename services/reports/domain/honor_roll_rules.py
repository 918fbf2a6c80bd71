"""Honor-roll rule sets (named, versioned) and the ranking they define.

A rule set says who qualifies (minimum confirmed minutes in the month, counting only the
listed activity kinds), how candidates are ordered (tie-break keys, in order), and how
many ranks make the roll (top N; ties at the boundary are all in). Members equal on every
tie-break key share a rank (1, 2, 2, 4); the listing order among them is by member number.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

from contract.vocabulary import ACTIVITY_KINDS

TieBreak = Literal["minutes", "activities", "first_check_in", "member_number"]
MAX_TOP_N = 1000


class RuleSet(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    version: int
    min_minutes: int
    top_n: int
    tie_break: list[TieBreak]
    kinds: list[str]


# Always available; tenants add their own rule sets (and new versions) through the API.
STANDARD = RuleSet(
    name="standard", version=1, min_minutes=4 * 60, top_n=10,
    tie_break=["minutes", "activities", "first_check_in"],
    kinds=["patrol", "cleanup", "service", "other"],
)


# Chinese names of the built-in rule sets; a tenant's own rule sets are named by the tenant.
RULE_SET_NAMES = {"standard": "标准规则"}


def rule_set_label(name: str, version: int) -> str:
    """"标准规则 第1版": how a page names a rule set and its version."""
    return f"{RULE_SET_NAMES.get(name, name)} 第{version}版"


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    member_id: uuid.UUID
    member_number: str
    minutes: int
    activities: int
    first_check_in: datetime


class Ranked(msgspec.Struct, frozen=True, kw_only=True):
    rank: int
    candidate: Candidate


def check_rule_set(rules: RuleSet) -> list[tuple[str, str]]:
    """(field, reason) for each problem; empty when the rule set is usable."""
    problems = []
    if not rules.name.strip() or len(rules.name) > 50:
        problems.append(("name", "规则名称须为1至50个字符"))
    if rules.min_minutes < 0:
        problems.append(("min_minutes", "最低时长不能为负数"))
    if not 1 <= rules.top_n <= MAX_TOP_N:
        problems.append(("top_n", f"名额须在1至{MAX_TOP_N}之间"))
    if len(set(rules.tie_break)) != len(rules.tie_break):
        problems.append(("tie_break", "排序规则不能重复"))
    if not rules.kinds or any(kind not in ACTIVITY_KINDS for kind in rules.kinds):
        problems.append(("kinds", "活动类型须为 " + "/".join(ACTIVITY_KINDS)))
    elif len(set(rules.kinds)) != len(rules.kinds):
        problems.append(("kinds", "活动类型不能重复"))
    return problems


def _key(candidate: Candidate, keys: list[TieBreak]) -> tuple:
    values: list[object] = []
    for key in keys:
        match key:
            case "minutes":
                values.append(-candidate.minutes)
            case "activities":
                values.append(-candidate.activities)
            case "first_check_in":
                values.append(candidate.first_check_in)
            case "member_number":
                values.append(candidate.member_number)
    return tuple(values)


def rank(candidates: list[Candidate], rules: RuleSet) -> list[Ranked]:
    eligible = [c for c in candidates if c.minutes >= rules.min_minutes and c.minutes > 0]
    eligible.sort(key=lambda c: (_key(c, rules.tie_break), c.member_number, c.member_id))
    ranked: list[Ranked] = []
    previous_key: tuple | None = None
    current_rank = 0
    for position, candidate in enumerate(eligible, start=1):
        key = _key(candidate, rules.tie_break)
        if key != previous_key:
            current_rank, previous_key = position, key
        if current_rank > rules.top_n:
            break
        ranked.append(Ranked(rank=current_rank, candidate=candidate))
    return ranked
