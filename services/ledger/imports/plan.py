"""The rows together: the domain's rules decide, activity by activity, and yield the events.

Each activity is replayed through the same decisions a live one goes through (schedule,
check in and out recorded by the importing organiser, confirm, close), so an import can
credit nothing the API would refuse. Ids are uuid5 of (tenant, activity_ref, member
number): importing the same file again derives the same events, which the bulk writer
then skips.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ledger.domain import activities
from ledger.domain.activities import ActivityState, Busy, Organiser
from ledger.domain.calendar import local_date
from ledger.domain.members import MemberState
from ledger.domain.organisation import OrgTree
from ledger.domain.refusals import Refusal
from ledger.events import Event, event_type
from ledger.imports.rows import ACTIVITY_FIELDS, Row, RowError

# Fixed forever: changing it would make a re-import append everything a second time.
NAMESPACE = uuid.UUID("5a0c6f6e-7c1e-5d43-9b1a-1e7c0b7d1a11")

# The domain names its inputs after the API's fields; the import's columns differ.
_SCHEDULE_FIELDS = {"title": "activity_title", "activity_id": "activity_ref",
                    "capacity": "activity_ref"}
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
            a.hours_cap_minutes)


def _overlaps(rows: dict[str, list[Row]], ids: dict[str, uuid.UUID],
              members: dict[str, MemberState], known: dict[uuid.UUID, list[Busy]],
              ) -> tuple[dict[int, list[Busy]], dict[int, Busy]]:
    """For each row, the spans the domain's overlap rule should see, and any stored span
    that starts inside the row.

    The domain refuses a check-in that falls inside another participation. Over one
    member's spans sorted by start, the earlier span reaching furthest is the only one that
    can contain a check-in, so each row gets just that one (not all of the member's spans:
    a busy member would cost quadratic time). A pair of imported rows is always caught
    from one side; a stored participation starting inside an imported row is not checked
    in again, so that case is returned separately.
    """
    spans: dict[uuid.UUID, list[tuple[Busy, int | None]]] = defaultdict(list)
    for ref, group in rows.items():
        for row in group:
            member = members.get(row.member_number)
            if member is not None:
                span = Busy(ids[ref], row.activity.title, row.checked_in_at, row.checked_out_at)
                spans[member.member_id].append((span, row.row))
    ours = set(ids.values())
    prior: dict[int, list[Busy]] = {}
    inside: dict[int, Busy] = {}
    for member_id, mine in spans.items():
        stored = [(b, None) for b in known.get(member_id, ()) if b.activity_id not in ours]
        # On equal starts the stored span sorts first, so the rule below sees it.
        ordered = sorted(mine + stored, key=lambda item: (item[0].start, item[1] is not None))
        furthest: Busy | None = None
        for span, row in ordered:
            if row is not None:
                prior[row] = [furthest] if furthest is not None else []
            if furthest is None or span.end > furthest.end:
                furthest = span
        next_stored: Busy | None = None
        for span, row in reversed(ordered):
            if row is None:
                next_stored = span
            elif (next_stored is not None and span.start < next_stored.start < span.end):
                inside[row] = next_stored
    return prior, inside


def plan(rows: list[Row], ctx: Context, spoiled_refs: Iterable[str] = ()) -> Plan:
    """Check every row and decide the events of every activity; errors sorted by row."""
    result = Plan(invalid_refs=set(spoiled_refs))
    groups = _group(rows, result)
    ids = {ref: activity_id(ctx.tenant_id, ref) for ref in groups}
    prior, inside = _overlaps(groups, ids, ctx.members, ctx.busy)
    for ref, group in groups.items():
        planned = _activity(ref, ids[ref], group, ctx, prior, inside, result.errors.append)
        if planned is None:
            result.invalid_refs.add(ref)
        else:
            result.activities.append(planned)
    result.errors.sort(key=lambda e: e.row)
    result.activities = [a for a in result.activities if a.ref not in result.invalid_refs]
    return result


def _activity(ref: str, activity: uuid.UUID, group: list[Row], ctx: Context,
              prior: dict[int, list[Busy]], inside: dict[int, Busy],
              report: Callable[[RowError], None]) -> PlannedActivity | None:
    """The activity's events, or None when any of its rows is refused."""
    first = group[0]
    fields = first.activity
    command = activities.ScheduleActivity(
        kind=fields.kind, category=fields.category,  # type: ignore[arg-type]
        host_unit_id=fields.host_unit_id, title=fields.title, place=fields.place,
        starts_at=fields.starts_at, ends_at=fields.ends_at,
        hours_cap_minutes=fields.hours_cap_minutes)
    try:
        scheduled = activities.schedule(ctx.tree, None, command, activity, ctx.importer)
    except Refusal as refusal:
        # Scheduling refuses only the activity's own fields, which every row shares.
        report(_error(first.row, refusal, _SCHEDULE_FIELDS, "host_unit_id"))
        return None
    state = ActivityState.fold(scheduled)
    assert state is not None
    planned = PlannedActivity(ref, activity, [r.row for r in group],
                              [(event_id(activity, scheduled[0]), scheduled[0])])
    # Historic records were confirmed when the activity ended, not when imported; a fixed
    # time also keeps a re-import's events identical to the first import's.
    closing = max([fields.ends_at, *(r.checked_out_at for r in group)])
    valid = True
    for row in group:
        try:
            events = _participation(state, row, ctx, prior.get(row.row, []),
                                    inside.get(row.row), closing)
        except _RowRefused as refused:
            report(refused.error)
            valid = False
            continue
        for event in events:
            planned.events.append((event_id(activity, event, row.member_number), event))
            minutes = getattr(event, "minutes", None)
            if minutes is not None:
                planned.minutes += minutes
    if not valid:
        return None
    closed = activities.close(ctx.tree, state, ctx.importer, closing)
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
                   stored_inside: Busy | None, closing: datetime) -> list[Event]:
    """Check in, check out and confirm one row, as the importing organiser records them;
    the state moves on with each decision, as it would between live commands."""
    member = _member(row, ctx)
    confirmer = ctx.importer
    if row.confirmed_by is not None:
        found = ctx.organisers.get(row.confirmed_by)
        if found is None:
            raise _RowRefused(RowError(row=row.row, field="confirmed_by",
                                       code="unknown_organiser", zh="确认人账号不存在",
                                       en="no organiser with that login"))
        confirmer = found
    if stored_inside is not None:
        raise _RowRefused(RowError(
            row=row.row, field="checked_out_at", code="overlapping_participation",
            zh=f"该成员此时正在参加“{stored_inside.title}”",
            en=f"the member was taking part in {stored_inside.title!r} at this time"))
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
        for event in events:
            activities.apply(state, event)
        step = "checked_out_at"
        out = activities.check_out(
            state, activities.CheckOut(member_id=member.member_id, method="import",
                                       at=row.checked_out_at),
            now=ctx.now, recorded_by=ctx.importer, tree=ctx.tree)
        activities.apply(state, out[0])
        events += out
        step = "minutes"
        confirmed = activities.confirm(
            ctx.tree, state,
            activities.ConfirmAttendance(participation_id=participation_id,
                                         minutes=row.minutes),
            confirmer, closing)
        activities.apply(state, confirmed[0])
        events += confirmed
    except Refusal as refusal:
        # Forget the half-recorded row so that the rows after it are judged without it.
        state.participations.pop(participation_id, None)
        names = {**_PARTICIPATION_FIELDS, "at": step}
        default = "confirmed_by" if step == "minutes" else step
        raise _RowRefused(_error(row.row, refusal, names, default)) from None
    return events
