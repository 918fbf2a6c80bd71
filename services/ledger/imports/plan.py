"""The rows together: the domain's rules decide, activity by activity, and yield the events.

Each activity is replayed through the same decisions a live one goes through (schedule,
check in and out recorded by the importing organiser, confirm, close), so an import can
credit nothing the API would refuse. Ids are uuid5 of (tenant, activity_ref, member
number): importing the same file again derives the same events, found stored and skipped.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from contract.calendar import local_date
from contract.events import ActivityScheduled, AttendanceConfirmed, Event, event_type
from contract.problems import Refusal
from ledger.domain import activities
from ledger.domain.activities import ActivityState, Busy, Organiser
from ledger.domain.members import MemberState
from ledger.domain.organisation import OrgTree
from ledger.imports.rows import ACTIVITY_FIELDS, Row, RowError

# Fixed forever: changing it would make a re-import append everything a second time.
NAMESPACE = uuid.UUID("5a0c6f6e-7c1e-5d43-9b1a-1e7c0b7d1a11")

# The domain names its inputs after the API's fields; the import's columns differ.
_SCHEDULE_FIELDS = {"title": "activity_title"}
_PARTICIPATION_FIELDS = {"member_id": "member_number", "participation_id": "member_number"}


def activity_id(tenant_id: str, activity_ref: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{tenant_id}\0{activity_ref}")


def event_id(activity: uuid.UUID, event: Event, member_number: str = "") -> uuid.UUID:
    return uuid.uuid5(activity, f"{event_type(event)}\0{member_number}")


@dataclass
class Context:
    """What the rules need from the ledger, loaded once for the whole file."""

    tenant_id: str
    importer: Organiser
    tree: OrgTree
    members: dict[str, MemberState]  # by member number
    organisers: dict[str, Organiser]  # by login
    # Participations already in the ledger, by member (the overlap rule).
    busy: dict[uuid.UUID, list[Busy]]
    now: datetime
    grace: timedelta


@dataclass
class PlannedActivity:
    ref: str
    activity_id: uuid.UUID
    rows: list[int]
    events: list[tuple[uuid.UUID, Event]]
    minutes: int = 0


@dataclass
class Plan:
    activities: list[PlannedActivity] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # Refs of activities with at least one error: never appended.
    invalid_refs: set[str] = field(default_factory=set)


def _error(row: int, refusal: Refusal, names: dict[str, str], default: str | None) -> RowError:
    name = names.get(refusal.field or "", refusal.field) or default
    return RowError(row=row, field=name, code=refusal.code, zh=refusal.zh, en=refusal.en)


def _group(rows: Iterable[Row], plan: Plan) -> dict[str, list[Row]]:
    """Rows by activity, without rows that disagree with their activity's first or repeat
    a member: each would be a second, contradictory record of the same thing."""
    groups: dict[str, list[Row]] = {}
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        group = groups.setdefault(row.activity_ref, [])
        differs = _first_difference(row, group[0]) if group else None
        earlier = seen.setdefault((row.activity_ref, row.member_number), row.row)
        if differs is not None:
            plan.errors.append(RowError(
                row=row.row, field=differs, code="disagrees_with_activity",
                zh=f"{differs} 与同一活动第 {group[0].row} 行不一致",
                en=f"{differs} differs from row {group[0].row} of the same activity"))
        elif earlier != row.row:
            plan.errors.append(RowError(
                row=row.row, field="member_number", code="duplicate",
                zh=f"同一活动中该成员已在第 {earlier} 行出现",
                en=f"this member already appears in row {earlier} for the same activity"))
        else:
            group.append(row)
            continue
        plan.invalid_refs.add(row.activity_ref)
    return groups


def _first_difference(row: Row, first: Row) -> str | None:
    for name, mine, theirs in zip(ACTIVITY_FIELDS, _values(row), _values(first), strict=True):
        if mine != theirs:
            return name
    return None


def _values(row: Row) -> tuple[object, ...]:
    a = row.activity
    return (a.title, a.kind, a.category, a.host_unit_id, a.place, a.starts_at, a.ends_at,
            a.hours_cap_minutes, a.beneficiary)


def _neighbours(rows: dict[str, list[Row]], states: dict[str, ActivityState],
                members: dict[str, MemberState], known: dict[uuid.UUID, list[Busy]],
                ) -> dict[int, list[Busy]]:
    """For each row, the member's other spans that the domain's overlap rules must see.

    Not all of them: over one member's spans sorted by start, a stay overlaps another only
    if it overlaps the earlier span reaching furthest or the span starting next, so those
    two are enough and a busy member costs n log n rather than n².
    """
    spans: dict[uuid.UUID, list[tuple[Busy, int | None]]] = defaultdict(list)
    for ref, group in rows.items():
        state = states.get(ref)
        for row in group:
            member = members.get(row.member_number)
            if member is not None and state is not None:
                # The domain's own notion of a stay (time after the scheduled end is
                # credited nowhere, so it keeps the member busy nowhere).
                span = activities.stay(state, row.checked_in_at, row.checked_out_at)
                spans[member.member_id].append((span, row.row))
    ours = {state.activity_id for state in states.values()}
    found: dict[int, list[Busy]] = {}
    for member_id, mine in spans.items():
        stored = [(b, None) for b in known.get(member_id, ()) if b.activity_id not in ours]
        ordered = sorted(mine + stored, key=lambda item: item[0].start)
        furthest: Busy | None = None
        for i, (span, row) in enumerate(ordered):
            if row is not None:
                after = ordered[i + 1][0] if i + 1 < len(ordered) else None
                found[row] = [b for b in (furthest, after) if b is not None]
            if furthest is None or span.end > furthest.end:
                furthest = span
    return found


def plan(rows: list[Row], ctx: Context, spoiled_refs: Iterable[str] = ()) -> Plan:
    """Check every row and decide the events of every activity; errors sorted by row."""
    result = Plan(invalid_refs=set(spoiled_refs))
    groups = _group(rows, result)
    ctx = replace(ctx, tree=_Tree(units=ctx.tree.units))
    scheduled: dict[str, ActivityScheduled] = {}
    for ref, group in groups.items():
        try:
            scheduled[ref] = _schedule(ref, group[0], ctx)
        except Refusal as refusal:
            # Scheduling refuses only the activity's own fields, which every row shares.
            result.errors.append(_error(group[0].row, refusal, _SCHEDULE_FIELDS,
                                        "host_unit_id"))
            result.invalid_refs.add(ref)
    neighbours = _neighbours(groups, {ref: _state(e) for ref, e in scheduled.items()},
                             ctx.members, ctx.busy)
    for ref, event in scheduled.items():
        planned = _activity(ref, event, groups[ref], ctx, neighbours, result.errors.append)
        if planned is None:
            result.invalid_refs.add(ref)
        elif ref not in result.invalid_refs:
            result.activities.append(planned)
    result.errors.sort(key=lambda e: e.row)
    return result


@dataclass
class _Tree(OrgTree):
    """The tree as loaded: it does not change during an import, so answers are kept
    (every row asks whether its recorder and confirmer cover the host unit)."""

    _covers: dict[tuple[uuid.UUID | None, uuid.UUID], bool] = field(default_factory=dict)

    def covers(self, scope_unit_id: uuid.UUID | None, unit_id: uuid.UUID) -> bool:
        key = (scope_unit_id, unit_id)
        answer = self._covers.get(key)
        if answer is None:
            answer = self._covers[key] = super().covers(scope_unit_id, unit_id)
        return answer


def _schedule(ref: str, first: Row, ctx: Context) -> ActivityScheduled:
    fields = first.activity
    command = activities.ScheduleActivity(
        kind=fields.kind, category=fields.category,  # type: ignore[arg-type]
        host_unit_id=fields.host_unit_id, title=fields.title, place=fields.place,
        starts_at=fields.starts_at, ends_at=fields.ends_at,
        hours_cap_minutes=fields.hours_cap_minutes, beneficiary=fields.beneficiary)
    (event,) = activities.schedule(ctx.tree, None, command, activity_id(ctx.tenant_id, ref),
                                   ctx.importer)
    assert isinstance(event, ActivityScheduled)
    return event


def _state(event: ActivityScheduled) -> ActivityState:
    state = ActivityState.fold([event])
    assert state is not None
    return state


def _activity(ref: str, scheduled: ActivityScheduled, group: list[Row], ctx: Context,
              neighbours: dict[int, list[Busy]],
              report: Callable[[RowError], None]) -> PlannedActivity | None:
    """The activity's events, or None when any of its rows is refused."""
    activity = scheduled.activity_id
    planned = PlannedActivity(ref, activity, [r.row for r in group],
                              [(event_id(activity, scheduled), scheduled)])
    # Historic records were confirmed when the activity ended, not when imported; a fixed
    # time also keeps a re-import's events identical to the first import's.
    closing = max([scheduled.ends_at, *(r.checked_out_at for r in group)])
    valid = True
    for row in group:
        try:
            events = _participation(_state(scheduled), row, ctx, neighbours.get(row.row, []),
                                    closing)
        except _RowRefused as refused:
            report(refused.error)
            valid = False
            continue
        for event in events:
            planned.events.append((event_id(activity, event, row.member_number), event))
            if isinstance(event, AttendanceConfirmed):
                planned.minutes += event.minutes
    if not valid:
        return None
    closed = activities.close(ctx.tree, _state(scheduled), ctx.importer, closing)
    planned.events += [(event_id(activity, event), event) for event in closed]
    return planned


class _RowRefused(Exception):
    def __init__(self, error: RowError) -> None:
        self.error = error


def _member(row: Row, ctx: Context) -> MemberState:
    member = ctx.members.get(row.member_number)
    if member is None:
        raise _RowRefused(RowError(row=row.row, field="member_number", code="unknown_member",
                                   zh="成员编号不存在", en="unknown member number"))
    # A historic record of someone who has left since is still true: the domain's "must be
    # active" rule applies as of the record's date, not today's.
    if member.left_on is not None and local_date(row.checked_in_at) < member.left_on:
        member = replace(member, left_on=None)
    return member


def _participation(state: ActivityState, row: Row, ctx: Context, busy: list[Busy],
                   closing: datetime) -> list[Event]:
    """Check in, check out and confirm one row, as the importing organiser records them.

    `state` is the activity as scheduled, without the other rows: a member appears once
    per activity and imports set no capacity and no device, so other members' rows cannot
    change a decision, and judging each row alone keeps a large activity linear.
    """
    member = _member(row, ctx)
    confirmer = ctx.importer
    if row.confirmed_by is not None:
        found = ctx.organisers.get(row.confirmed_by)
        if found is None:
            raise _RowRefused(RowError(row=row.row, field="confirmed_by",
                                       code="unknown_organiser", zh="确认人账号不存在",
                                       en="no organiser with that login"))
        confirmer = found
    participation_id = uuid.uuid5(state.activity_id, f"participation\0{row.member_number}")
    events: list[Event] = []
    step = "checked_in_at"
    try:
        events += activities.check_in(
            state, member,
            activities.CheckIn(member_id=member.member_id, method="import",
                               at=row.checked_in_at),
            participation_id, now=ctx.now, grace=ctx.grace, busy=busy,
            recorded_by=ctx.importer, tree=ctx.tree)
        activities.apply(state, events[-1])
        step = "checked_out_at"
        events += activities.check_out(
            state, activities.CheckOut(member_id=member.member_id, method="import",
                                       at=row.checked_out_at),
            now=ctx.now, recorded_by=ctx.importer, tree=ctx.tree, busy=busy)
        activities.apply(state, events[-1])
        step = "minutes"
        events += activities.confirm(
            ctx.tree, state,
            activities.ConfirmAttendance(participation_id=participation_id,
                                         minutes=row.minutes),
            confirmer, closing)
    except Refusal as refusal:
        names = {**_PARTICIPATION_FIELDS, "at": step}
        default = "confirmed_by" if step == "minutes" else step
        raise _RowRefused(_error(row.row, refusal, names, default)) from None
    return events
