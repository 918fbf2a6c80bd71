"""Shared builders for the domain's unit tests: a small tree, members, activities, times.

Everything here is folded from events, the way the command handlers build state, so the
tests exercise `apply` as well as the decisions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from contract.calendar import SHANGHAI
from contract.events import (
    ActivityScheduled,
    Event,
    MemberLeft,
    MemberRegistered,
    MemberReported,
    UnitEstablished,
)
from contract.problems import Refusal
from ledger.domain import activities
from ledger.domain.activities import ActivityState, Organiser
from ledger.domain.members import MemberState
from ledger.domain.organisation import OrgTree

GRACE = timedelta(minutes=15)
FOUNDED = date(2020, 1, 1)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
       second: int = 0) -> datetime:
    """An instant given in Asia/Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


# The default activity: a Saturday-morning cleanup, 09:00–11:00 Shanghai time.
START = sh(2026, 3, 14, 9, 0)
END = sh(2026, 3, 14, 11, 0)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class Org:
    """district → street → community → branch → group, a team under the community, and a
    second community (with its own branch) on the same street, for scope tests."""

    def __init__(self) -> None:
        self.tree = OrgTree()
        self.district = self.add("district", None, "新罗区委")
        self.street = self.add("street", self.district, "东城街道党工委")
        self.community = self.add("community", self.street, "兴华南里社区党委")
        self.branch = self.add("branch", self.community, "一号院党支部")
        self.group = self.add("group", self.branch, "3号楼党小组")
        self.team = self.add("team", self.community, "小巷管家")
        self.other_community = self.add("community", self.street, "东联社区党委")
        self.other_branch = self.add("branch", self.other_community, "东联小区党支部")

    def add(self, kind: str, parent: uuid.UUID | None, name: str,
            effective: date = FOUNDED) -> uuid.UUID:
        unit_id = new_id()
        self.tree.apply(UnitEstablished(unit_id=unit_id, kind=kind, parent_id=parent,  # type: ignore[arg-type]
                                        name=name, effective=effective))
        return unit_id

    def organiser(self, scope: uuid.UUID | None) -> Organiser:
        return Organiser(new_id(), scope)


def member(kind: str = "retired", *, unit_id: uuid.UUID | None = None,
           registered_on: date = FOUNDED, left_on: date | None = None,
           employer: str | None = None) -> MemberState:
    member_id = new_id()
    events: list[Event] = [MemberRegistered(member_id=member_id, kind=kind,  # type: ignore[arg-type]
                                            employer=employer, registered_on=registered_on)]
    if unit_id is not None:
        events.append(MemberReported(member_id=member_id, unit_id=unit_id,
                                     effective=registered_on))
    if left_on is not None:
        events.append(MemberLeft(member_id=member_id, effective=left_on, reason="搬家"))
    state = MemberState.fold(events)
    assert state is not None
    return state


def activity(host_unit_id: uuid.UUID, **overrides: Any) -> ActivityState:
    fields: dict[str, Any] = {
        "activity_id": new_id(), "kind": "cleanup", "category": "service",
        "host_unit_id": host_unit_id, "title": "清理楼道堆物", "place": "一号院3号楼",
        "starts_at": START, "ends_at": END, "capacity": None, "hours_cap_minutes": None,
        "organiser_ids": [],
    }
    fields.update(overrides)
    state = ActivityState.fold([ActivityScheduled(**fields)])
    assert state is not None
    return state


def then(state: ActivityState, events: Iterable[Event]) -> ActivityState:
    """Apply decided events to the state, as appending and reloading would."""
    for event in events:
        result = activities.apply(state, event)
        assert result is state
    return state


def checked_in(state: ActivityState, who: MemberState, at: datetime,
               **command: Any) -> uuid.UUID:
    """Check `who` in at `at` (as `now`); returns the participation id."""
    participation_id = new_id()
    then(state, activities.check_in(state, who, activities.CheckIn(member_id=who.member_id,
                                                                    **command),
                                    participation_id, now=at, grace=GRACE, busy=[]))
    return participation_id


def checked_out(state: ActivityState, who: MemberState, at: datetime) -> None:
    then(state, activities.check_out(state, activities.CheckOut(member_id=who.member_id),
                                     now=at))


def attended(state: ActivityState, who: MemberState, start: datetime,
             end: datetime) -> uuid.UUID:
    participation_id = checked_in(state, who, start)
    checked_out(state, who, end)
    return participation_id


@contextmanager
def refused(code: str, *, field: str | None = None,
            status: int | None = None) -> Iterator[None]:
    """`with refused("code", field=...):` the block must raise exactly that refusal."""
    with pytest.raises(Refusal) as raised:
        yield
    refusal = raised.value
    assert refusal.code == code, f"refused {refusal.code!r} ({refusal.en}), expected {code!r}"
    if field is not None:
        assert refusal.field == field, f"field {refusal.field!r}, expected {field!r}"
    if status is not None:
        assert refusal.status == status, f"status {refusal.status}, expected {status}"
    # Every refusal speaks to people in both languages.
    assert refusal.zh and refusal.en
