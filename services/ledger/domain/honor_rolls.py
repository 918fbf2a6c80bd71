"""Publishing a month's honor roll (光荣榜) freezes it; objections come in its 公示 window."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import msgspec

from contract.bounds import INT4_MAX, clean, integer, line, text
from contract.calendar import local_date, month_of, valid_month
from contract.events import Event, HonorRollEntry, HonorRollObjectionRecorded, HonorRollPublished
from contract.problems import Refusal, forbidden, invalid, not_found
from ledger.domain.command import Command
from ledger.domain.organisation import OrgTree

MIN_PUBLICITY_DAYS, MAX_PUBLICITY_DAYS = 7, 60
MAX_OBJECTION = 1000
# Nobody serves more than every minute of a month (31 days).
MAX_MONTH_MINUTES = 31 * 24 * 60


STREAM_PREFIX = "honor-roll-"


def stream_id(unit_id: uuid.UUID, month: str) -> str:
    return f"{STREAM_PREFIX}{unit_id}-{month}"


@dataclass
class HonorRollState:
    unit_id: uuid.UUID
    month: str
    publicity_ends: date
    objections: int = 0

    @classmethod
    def fold(cls, events: list[Event]) -> HonorRollState | None:
        state: HonorRollState | None = None
        for event in events:
            if isinstance(event, HonorRollPublished):
                state = HonorRollState(event.unit_id, event.month, event.publicity_ends)
            elif isinstance(event, HonorRollObjectionRecorded) and state is not None:
                state.objections += 1
        return state


class PublishHonorRoll(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The caller names the unit, the month and the rule set; the entries frozen are the
    roll the reports compute from the projection at the time of publishing, never what a
    caller sends."""

    unit_id: uuid.UUID
    month: line(7)
    rule_set: line(50) = "standard"
    # None: the rule set's latest version.
    rule_version: integer(1, INT4_MAX) | None = None
    publicity_days: integer(MIN_PUBLICITY_DAYS, MAX_PUBLICITY_DAYS) = MIN_PUBLICITY_DAYS


class ComputedRoll(msgspec.Struct, frozen=True, kw_only=True):
    """A roll as the reports computed it (their draft), at a feed position."""

    rule_set: str
    rule_version: int
    computed_at_position: str
    entries: list[HonorRollEntry]


class RecordObjection(Command, frozen=True, kw_only=True, forbid_unknown_fields=True):
    member_id: uuid.UUID | None = None
    objection: text(MAX_OBJECTION)


def check_publishable(tree: OrgTree, state: HonorRollState | None, command: PublishHonorRoll,
                      scope_unit_id: uuid.UUID | None, now: datetime) -> None:
    """What can be refused before the roll is computed."""
    if state is not None:
        raise Refusal("already_published", "该月光荣榜已发布，不能更改",
                      "this month's honor roll is published and frozen")
    tree.active_unit(command.unit_id)
    if not tree.covers(scope_unit_id, command.unit_id):
        raise forbidden("您无权发布该组织的光荣榜", "you may not publish this unit's honor roll")
    valid_month(command.month)
    # Publishing freezes the month: a month still running (in Shanghai time) would be
    # frozen with records still to come.
    if command.month >= month_of(now):
        raise invalid("month_not_over", "只能发布已结束月份的光荣榜",
                      "only a month that has ended can be published", "month")
    if not MIN_PUBLICITY_DAYS <= command.publicity_days <= MAX_PUBLICITY_DAYS:
        raise invalid("invalid_publicity_days",
                      f"公示期须为{MIN_PUBLICITY_DAYS}至{MAX_PUBLICITY_DAYS}天",
                      f"publicity_days must be {MIN_PUBLICITY_DAYS}–{MAX_PUBLICITY_DAYS}",
                      "publicity_days")


def publish(tree: OrgTree, state: HonorRollState | None, command: PublishHonorRoll,
            roll: ComputedRoll, scope_unit_id: uuid.UUID | None, publisher: uuid.UUID,
            now: datetime) -> list[Event]:
    check_publishable(tree, state, command, scope_unit_id, now)
    if roll.rule_set != command.rule_set or (command.rule_version is not None
                                             and roll.rule_version != command.rule_version):
        raise invalid("rule_set_mismatch", "计算所用的评选规则与请求不符",
                      "the roll was computed under another rule set", "rule_set")
    # A published roll is hung on a wall and frozen forever: one naming nobody commends
    # nobody, and would stop the month from being published once its records are in.
    if not roll.entries:
        raise invalid("empty_honor_roll",
                      "该月没有符合评选规则的志愿者，光荣榜为空，不能发布",
                      "no member qualifies this month: an empty honor roll cannot be published",
                      "month")
    # The reports' ranking is checked again: what is frozen stays forever.
    # Standard competition ranking ("1224"): each entry is ranked by its position, unless
    # it ties with the entry before it.
    ranks = [entry.rank for entry in roll.entries]
    if any(rank != position and (position == 1 or rank != ranks[position - 2])
           for position, rank in enumerate(ranks, start=1)):
        raise invalid("invalid_entries", "名单须按名次排列", "entries must be in rank order",
                      "entries")
    if any(not 0 <= entry.minutes <= MAX_MONTH_MINUTES or entry.activities < 0
           for entry in roll.entries):
        raise invalid("invalid_entries", "时长须在0至一整月之间，活动次数不能为负",
                      "minutes must be 0 to a whole month, activities not negative",
                      "entries")
    if len({entry.member_id for entry in roll.entries}) != len(roll.entries):
        raise invalid("invalid_entries", "名单中有重复成员", "a member appears twice", "entries")
    return [HonorRollPublished(
        unit_id=command.unit_id, month=command.month, rule_set=roll.rule_set,
        rule_version=roll.rule_version, computed_at_position=roll.computed_at_position,
        entries=roll.entries, published_by=publisher, published_at=now,
        publicity_ends=local_date(now) + timedelta(days=command.publicity_days),
    )]


def record_objection(state: HonorRollState | None, command: RecordObjection,
                     recorded_by: uuid.UUID, now: datetime) -> list[Event]:
    if state is None:
        raise not_found("honor_roll_not_found", "该月光荣榜尚未发布",
                        "no honor roll is published for that month")
    if local_date(now) > state.publicity_ends:
        raise Refusal("publicity_over", "公示期已结束", "the publicity period is over")
    objection = clean(command.objection, "objection", multiline=True)
    if not objection or len(objection) > MAX_OBJECTION:
        raise invalid("objection_required", f"请填写异议内容（不超过{MAX_OBJECTION}字）",
                      f"an objection of 1–{MAX_OBJECTION} characters is required",
                      "objection")
    return [HonorRollObjectionRecorded(
        unit_id=state.unit_id, month=state.month, member_id=command.member_id,
        objection=objection, recorded_by=recorded_by, recorded_at=now,
    )]
