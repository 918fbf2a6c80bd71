"""The plan's history as event streams, in the order things happened.

The organisation comes first; then registrations, transfers, leavers, the branch split and
the rename are interleaved with the activities by date, so the feed reads like the real
thing and every activity only sees members who had reported to its community by then.
A stream may come back later (a member's transfer, a tree change) with its expected
version, as a live writer would append it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from contract.calendar import SHANGHAI
from contract.events import (
    Event,
    MemberLeft,
    MemberRegistered,
    MemberReported,
    MemberTransferred,
    UnitEstablished,
    UnitMoved,
    UnitRenamed,
)
from infra.demo.generator import names
from infra.demo.generator.participation import (
    GRACE,
    Slot,
    activity_events,
    busy_until,
    presences,
)
from infra.demo.generator.plan import (
    Community,
    Leave,
    Member,
    Plan,
    Rename,
    Split,
    Transfer,
    community_units,
    new_id,
)
from ledger.adapters.event_store import NO_STREAM, Metadata, NewEvent

StreamEntry = tuple[str, int | None, list[NewEvent]]
METADATA = Metadata(actor="generator", source="import")
LONG_AGO = datetime(2000, 1, 1, tzinfo=SHANGHAI)

# kind -> (weight, share of the community's members taking part: low, high)
KIND_MIX = {
    "cleanup": (30, (0.14, 0.26)),
    "patrol": (20, (0.07, 0.15)),
    "lecture": (15, (0.16, 0.32)),
    "meeting": (10, (0.12, 0.26)),
    "forum": (5, (0.12, 0.26)),
    "service": (20, (0.06, 0.13)),
}
# kind -> possible (start, minutes) windows
WINDOWS = {
    "cleanup": ((time(8, 30), 120), (time(9), 150), (time(15), 120), (time(15, 30), 180)),
    "patrol": ((time(19), 120), (time(19, 30), 150)),
    "lecture": ((time(9, 30), 90), (time(14, 30), 90), (time(19, 30), 90)),
    "meeting": ((time(9), 120), (time(15), 90), (time(19, 30), 90)),
    "forum": ((time(9), 120), (time(15), 90), (time(19, 30), 90)),
    "service": ((time(9), 150), (time(14, 30), 180)),
}
CAPS = {"cleanup": (120, 150, None), "patrol": (120, 240), "service": (120, 180, None)}

# The demo's featured month (the sources' figures): 6 cleanups, 2 patrols (one over National
# Day, one during a summit), 1 forum; 723 person-times. (day, kind, title, host, people)
FEATURED_MONTH = [
    (1, "patrol", "国庆假期红袖章治安巡逻", "team:红袖章巡逻队", 64),
    (4, "cleanup", "小区环境整治", "community", 85),
    (11, "cleanup", "楼道杂物清理", "community", 92),
    (14, "patrol", "峰会期间安保巡逻", "community", 56),
    (17, "forum", "在职党员报到座谈会", "community", 93),
    (18, "cleanup", "清理小广告", "team:环境整治志愿队", 88),
    (21, "cleanup", "除草保洁", "community", 80),
    (25, "cleanup", "背街小巷清扫", "branch", 86),
    (28, "cleanup", "垃圾分类宣传引导", "community", 79),
]


def month_start(start: date, offset: int) -> date:
    year, month = divmod(start.month - 1 + offset, 12)
    return date(start.year + year, month + 1, 1)


class _History:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.rng = random.Random(f"history:{plan.scale}:{plan.seed}")
        self.members = {m.member_id: m for m in plan.members}
        self.community_of: dict[uuid.UUID, Community] = {}
        for community in plan.communities:
            for unit in community_units(community):
                self.community_of[unit] = community
        self.unit_of: dict[uuid.UUID, uuid.UUID] = {}
        self.rosters: dict[uuid.UUID, dict[uuid.UUID, Member]] = {
            c.unit.unit_id: {} for c in plan.communities}
        self.versions: dict[str, int] = {}
        self.busy: dict[uuid.UUID, datetime] = {}
        # Registrations first on their day, then the planned changes, all in date order.
        timeline: list[tuple[date, int, object]] = [
            (m.registered_on, 0, m) for m in plan.members]
        timeline += [(on, 1, change) for on, change in plan.changes]
        timeline.sort(key=lambda item: (item[0], item[1]))
        self.timeline = timeline
        self.next_change = 0

    def entry(self, stream_id: str, events: Sequence[Event]) -> StreamEntry:
        expected = self.versions.get(stream_id, NO_STREAM)
        self.versions[stream_id] = expected + len(events)
        return stream_id, expected, [
            NewEvent(event_id=new_id(self.rng), event=e, metadata=METADATA) for e in events]

    def streams(self) -> Iterator[StreamEntry]:
        yield self.entry("organisation", [
            UnitEstablished(unit_id=u.unit_id, kind=u.kind, parent_id=u.parent_id,
                            name=u.name, effective=u.established)
            for u in self.plan.units])
        for month in range(self.plan.months):
            for slot in self.month_slots(month_start(self.plan.start, month)):
                yield from self.changes_until(slot.starts_at.date())
                yield self.activity(slot)
        yield from self.changes_until(date.max)

    # --- the tree and the members ------------------------------------------------------

    def changes_until(self, day: date) -> Iterator[StreamEntry]:
        while self.next_change < len(self.timeline) and self.timeline[self.next_change][0] <= day:
            on, _, change = self.timeline[self.next_change]
            self.next_change += 1
            if isinstance(change, Member):
                yield self.register(change)
            elif isinstance(change, Transfer):
                yield from self.transfer(change.member_id, change.to_unit_id, on)
            elif isinstance(change, Leave):
                yield from self.leave(change, on)
            elif isinstance(change, Rename):
                yield self.entry("organisation", [UnitRenamed(
                    unit_id=change.unit_id, name=change.name, effective=on)])
            elif isinstance(change, Split):
                yield from self.split(change, on)

    def register(self, member: Member) -> StreamEntry:
        self.unit_of[member.member_id] = member.unit_id
        self.rosters[self.community_of[member.unit_id].unit.unit_id][member.member_id] = member
        return self.entry(f"member-{member.member_id}", [
            MemberRegistered(member_id=member.member_id, kind=member.kind,
                             employer=member.employer, registered_on=member.registered_on),
            MemberReported(member_id=member.member_id, unit_id=member.unit_id,
                           effective=member.registered_on),
        ])

    def transfer(self, member_id: uuid.UUID, to_unit_id: uuid.UUID,
                 on: date) -> Iterator[StreamEntry]:
        current = self.unit_of.get(member_id)
        if current is None or current == to_unit_id:
            return  # left already, or the split moved them there first
        del self.rosters[self.community_of[current].unit.unit_id][member_id]
        self.rosters[self.community_of[to_unit_id].unit.unit_id][member_id] = (
            self.members[member_id])
        self.unit_of[member_id] = to_unit_id
        yield self.entry(f"member-{member_id}", [MemberTransferred(
            member_id=member_id, from_unit_id=current, to_unit_id=to_unit_id, effective=on)])

    def leave(self, change: Leave, on: date) -> Iterator[StreamEntry]:
        current = self.unit_of.pop(change.member_id, None)
        if current is None:
            return
        del self.rosters[self.community_of[current].unit.unit_id][change.member_id]
        yield self.entry(f"member-{change.member_id}", [MemberLeft(
            member_id=change.member_id, effective=on, reason=change.reason)])

    def split(self, change: Split, on: date) -> Iterator[StreamEntry]:
        new = change.new_branch
        self.community_of[new.unit_id] = self.community_of[change.branch_id]
        yield self.entry("organisation", [
            UnitEstablished(unit_id=new.unit_id, kind="branch", parent_id=new.parent_id,
                            name=new.name, effective=on),
            *(UnitMoved(unit_id=group, parent_id=new.unit_id, effective=on)
              for group in change.moved_group_ids),
        ])
        staying = [m for m, unit in self.unit_of.items() if unit == change.branch_id]
        for member_id in staying[::2]:
            yield from self.transfer(member_id, new.unit_id, on)

    # --- activities ----------------------------------------------------------------------

    def month_slots(self, first: date) -> list[Slot]:
        slots: list[Slot] = []
        featured_month = self.plan.scale == "demo" and first == month_start(
            self.plan.start, self.plan.months - 1)
        for community in self.plan.communities:
            if featured_month and community is self.plan.featured:
                slots.extend(self.featured_slots(community, first))
            else:
                days = sorted(self.rng.sample(range(1, 29), self.rng.choice((2, 3))))
                slots.extend(self.slot(community, first.replace(day=d)) for d in days)
        slots.sort(key=lambda slot: slot.starts_at)
        return slots

    def slot(self, community: Community, day: date) -> Slot:
        rng = self.rng
        kind = rng.choices(list(KIND_MIX), [w for w, _ in KIND_MIX.values()])[0]
        category, titles = names.ACTIVITY_KINDS[kind]
        shifts = kind == "patrol" and rng.random() < 0.2
        if shifts:
            starts, minutes = time(8), 12 * 60
        else:
            starts, minutes = rng.choice(WINDOWS[kind])
        starts_at = datetime.combine(day, starts, SHANGHAI)
        roll = rng.random()
        host = community.unit
        if roll < 0.2:
            host = rng.choice(community.teams)
        elif roll < 0.3:
            host = rng.choice(community.branches)
        moved = rng.random() < 0.02
        return Slot(
            activity_id=new_id(rng), kind=kind, category=category,
            host_unit_id=host.unit_id, community_id=community.unit.unit_id,
            title=rng.choice(titles), place=rng.choice(names.PLACES),
            starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes),
            hours_cap_minutes=240 if shifts else rng.choice(CAPS.get(kind, (None,))),
            capacity=None, share=rng.uniform(*KIND_MIX[kind][1]), shifts=shifts,
            cancelled=rng.random() < 0.01,
            moved_from=(starts_at - timedelta(hours=1), starts_at + timedelta(
                minutes=minutes - 60)) if moved else None,
        )

    def featured_slots(self, community: Community, first: date) -> Iterator[Slot]:
        rng = self.rng
        hosts = {f"team:{t.name}": t for t in community.teams}
        hosts["community"] = community.unit
        hosts["branch"] = community.branches[0]
        for day, kind, title, host, people in FEATURED_MONTH:
            category = names.ACTIVITY_KINDS[kind][0]
            shifts = kind == "patrol"
            starts, minutes = (time(8), 12 * 60) if shifts else WINDOWS[kind][0]
            starts_at = datetime.combine(first.replace(day=day), starts, SHANGHAI)
            yield Slot(
                activity_id=new_id(rng), kind=kind, category=category,
                host_unit_id=hosts[host].unit_id, community_id=community.unit.unit_id,
                title=title, place=rng.choice(names.PLACES), starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=minutes),
                hours_cap_minutes=240 if shifts else CAPS.get(kind, (None,))[0],
                capacity=None, participants=people, shifts=shifts, revocations=False,
            )

    def activity(self, slot: Slot) -> StreamEntry:
        rng = self.rng
        community = self.community_of[slot.community_id]
        assert community.organiser is not None
        people = []
        if not slot.cancelled:
            roster = list(self.rosters[slot.community_id].values())
            wanted = slot.participants or round(slot.share * len(roster))
            free_from = slot.starts_at - GRACE
            candidates = rng.sample(roster, min(len(roster), wanted + wanted // 4 + 5))
            chosen = [m for m in candidates
                      if self.busy.get(m.member_id, LONG_AGO) <= free_from][:wanted]
            if slot.shifts:
                slot = replace(slot, capacity=max(80, len(chosen) + 10))
            people = presences(rng, slot, chosen)
            for person in people:
                self.busy[person.member.member_id] = busy_until(slot, person)
        events = activity_events(rng, slot, people, community.organiser.organiser_id)
        return self.entry(f"activity-{slot.activity_id}", events)


def streams(plan: Plan) -> Iterator[StreamEntry]:
    """Every stream entry of the plan's history; the same plan gives the same events."""
    return _History(plan).streams()
