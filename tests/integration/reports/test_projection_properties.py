"""Property: random histories through the projections give what a plain recomputation gives.

The recomputation below reads the event list directly, with none of the projection code:
dictionaries of effective-dated change points, walked for every participation. The
projections are fed in random batch sizes, so rows saved by one batch and loaded by the
next are exercised too. Each event is recorded on a day of its own (the days go forward),
and the reports as of a random date are compared with the recomputation of what had been
recorded by then (and, for participations, decided by then in business time).
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.events import (
    ActivityCancelled,
    ActivityScheduled,
    AttendanceConfirmed,
    CheckedIn,
    CheckedOut,
    Event,
    MemberRegistered,
    MemberReported,
    MemberTransferred,
    ParticipationCorrected,
    ParticipationRevoked,
    UnitEstablished,
    UnitMerged,
    UnitMoved,
)
from reports.adapters import member_reports, unit_reports
from reports.adapters.database_directory import DatabaseDirectory
from reports.service.runner import apply_next_batch

from .conftest import ORGANISER, History

TZ = ZoneInfo("Asia/Shanghai")
MONTHS = ("2025-01", "2025-02", "2025-03", "2025-04")
KINDS = ("patrol", "cleanup", "meeting", "service")


def _day(draw_int) -> date:
    return date(2025, 1, 1) + timedelta(days=draw_int)


def generate(data: st.DataObject) -> list[tuple[str, Event, datetime]]:
    """(stream, event, recorded at) in append order."""
    rnd = random.Random(data.draw(st.integers(0, 2**32)))
    pairs: list[tuple[str, Event]] = []
    events = _Recorded(pairs)
    org = lambda e: events.append(("organisation", e))  # noqa: E731
    district, street = uuid.uuid4(), uuid.uuid4()
    communities = [uuid.uuid4(), uuid.uuid4()]
    start = date(2024, 12, 1)
    org(UnitEstablished(unit_id=district, kind="district", parent_id=None, name="区",
                        effective=start))
    org(UnitEstablished(unit_id=street, kind="street", parent_id=district, name="街道",
                        effective=start))
    for c in communities:
        org(UnitEstablished(unit_id=c, kind="community", parent_id=street, name="社区",
                            effective=start))
    branches = [uuid.uuid4() for _ in range(data.draw(st.integers(2, 4)))]
    for b in branches:
        org(UnitEstablished(unit_id=b, kind="branch", parent_id=rnd.choice(communities),
                            name="支部", effective=start))
    members = [uuid.uuid4() for _ in range(data.draw(st.integers(1, 5)))]
    for m in members:
        events.append((f"member-{m}", MemberRegistered(member_id=m, kind="in_service",
                                                       employer="E", registered_on=start)))
        events.append((f"member-{m}", MemberReported(member_id=m, unit_id=rnd.choice(branches),
                                                     effective=start)))
    open_participations: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime]] = []
    activities: list[uuid.UUID] = []
    for _ in range(data.draw(st.integers(1, 30))):
        events.day += timedelta(days=rnd.choice([0, 2, 5, 9]))
        step = data.draw(st.sampled_from(
            ["activity", "checkin", "checkin", "follow", "follow", "follow", "transfer",
             "move", "merge", "cancel"]))
        if step == "activity" or not activities:
            a = uuid.uuid4()
            kind = rnd.choice(KINDS)
            starts = datetime.combine(_day(rnd.randrange(0, 120)),
                                      datetime.min.time(), TZ) + timedelta(
                minutes=rnd.choice([30, 9 * 60, 23 * 60 + 30]))
            events.append((f"activity-{a}", ActivityScheduled(
                activity_id=a, kind=kind, category="attendance" if kind == "meeting"
                else "service", host_unit_id=rnd.choice(branches + communities), title="活动",
                place="某地", starts_at=starts, ends_at=starts + timedelta(hours=2))))
            activities.append(a)
        elif step == "checkin":
            a = rnd.choice(activities)
            scheduled = next(e for s, e in pairs if isinstance(e, ActivityScheduled)
                             and e.activity_id == a)
            p, m = uuid.uuid4(), rnd.choice(members)
            at = scheduled.starts_at + timedelta(minutes=rnd.choice([0, 20, 45]))
            events.append((f"activity-{a}", CheckedIn(
                activity_id=a, member_id=m, participation_id=p, method="qr", at=at)))
            open_participations.append((a, m, p, at))
        elif step == "follow" and open_participations:
            a, m, p, checked_in = rnd.choice(open_participations)
            at = checked_in + timedelta(days=rnd.choice([0, 3, 20, 60]))
            minutes = rnd.randrange(0, 240)
            follow = rnd.choice(["out", "confirm", "confirm", "correct", "revoke"])
            event: Event
            if follow == "out":
                event = CheckedOut(activity_id=a, member_id=m, participation_id=p, at=at,
                                   method="qr", auto=rnd.random() < 0.3)
            elif follow == "confirm":
                event = AttendanceConfirmed(activity_id=a, member_id=m, participation_id=p,
                                            minutes=minutes, confirmed_by=ORGANISER,
                                            confirmed_at=at)
            elif follow == "correct":
                event = ParticipationCorrected(activity_id=a, member_id=m, participation_id=p,
                                               minutes=minutes, previous_minutes=0,
                                               reason="更正", corrected_by=ORGANISER,
                                               corrected_at=at)
            else:
                event = ParticipationRevoked(activity_id=a, member_id=m, participation_id=p,
                                             reason="撤销", revoked_by=ORGANISER, revoked_at=at)
            events.append((f"activity-{a}", event))
        elif step == "transfer":
            m = rnd.choice(members)
            events.append((f"member-{m}", MemberTransferred(
                member_id=m, from_unit_id=branches[0], to_unit_id=rnd.choice(branches),
                effective=_day(rnd.randrange(0, 120)))))
        elif step == "move":
            org(UnitMoved(unit_id=rnd.choice(branches), parent_id=rnd.choice(communities),
                          effective=_day(rnd.randrange(0, 120))))
        elif step == "merge" and len(branches) > 2:
            gone = branches.pop()
            org(UnitMerged(unit_id=gone, into_unit_id=rnd.choice(branches),
                           effective=_day(rnd.randrange(0, 120))))
        elif step == "cancel":
            a = rnd.choice(activities)
            events.append((f"activity-{a}", ActivityCancelled(activity_id=a, reason="雨")))
    return events.recorded


class _Recorded:
    """Appends (stream, event) with the current recording day (10:00 in Shanghai)."""

    def __init__(self, pairs: list[tuple[str, Event]]) -> None:
        self.pairs = pairs
        self.recorded: list[tuple[str, Event, datetime]] = []
        self.day = date(2024, 12, 1)

    def append(self, pair: tuple[str, Event]) -> None:
        self.pairs.append(pair)
        self.recorded.append((*pair, datetime.combine(self.day, time(10), TZ)))


def _at(points: list[tuple[date, object]], day: date) -> object:
    """The value of the latest change effective on or before `day` (later event wins)."""
    value = None
    best: date | None = None
    for effective, v in points:
        if effective <= day and (best is None or effective >= best):
            best, value = effective, v
    return value


def recompute(events: list[tuple[Event, datetime]], as_of: date | None = None):
    """Now, or as of the end of the Shanghai day `as_of`: tree, memberships and
    cancellations as recorded by then, participations by their business times."""
    cutoff = None if as_of is None else datetime.combine(as_of + timedelta(days=1), time(), TZ)

    def by_then(moment: datetime) -> bool:
        return cutoff is None or moment < cutoff

    parents: dict[uuid.UUID, list] = defaultdict(list)
    unit_of: dict[uuid.UUID, list] = defaultdict(list)
    activity: dict[uuid.UUID, ActivityScheduled] = {}
    cancelled: set[uuid.UUID] = set()
    parts: dict[uuid.UUID, dict] = {}
    for e, recorded in events:
        match e:
            case ActivityScheduled():
                activity[e.activity_id] = e
            case CheckedIn() if by_then(e.at):
                parts[e.participation_id] = {"member": e.member_id, "at": e.at,
                                             "activity": e.activity_id, "minutes": None,
                                             "revoked": False}
            case AttendanceConfirmed() if by_then(e.confirmed_at) and e.participation_id in parts:
                a = activity[e.activity_id]
                parts[e.participation_id]["minutes"] = (
                    0 if a.category == "attendance" else e.minutes)
            case ParticipationCorrected() if (by_then(e.corrected_at)
                                              and e.participation_id in parts):
                a = activity[e.activity_id]
                parts[e.participation_id]["minutes"] = (
                    0 if a.category == "attendance" else e.minutes)
            case ParticipationRevoked() if by_then(e.revoked_at) and e.participation_id in parts:
                parts[e.participation_id]["revoked"] = True
            case _ if not by_then(recorded):
                pass
            case UnitEstablished():
                parents[e.unit_id].append((e.effective, e.parent_id))
            case UnitMoved():
                parents[e.unit_id].append((e.effective, e.parent_id))
            case UnitMerged():
                parents[e.unit_id].append((e.effective, e.into_unit_id))
            case MemberReported():
                unit_of[e.member_id].append((e.effective, e.unit_id))
            case MemberTransferred():
                unit_of[e.member_id].append((e.effective, e.to_unit_id))
            case ActivityCancelled():
                cancelled.add(e.activity_id)

    def chain(unit: uuid.UUID, day: date) -> list[uuid.UUID]:
        # Each unit counts for itself; above it, only through its parent on that day.
        seen = [unit]
        while (parent := _at(parents[seen[-1]], day)) is not None and parent not in seen:
            seen.append(parent)
        return seen

    member_cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    unit_cells: dict[tuple, list] = defaultdict(lambda: [0, 0, set(), 0])
    for p in parts.values():
        if p["revoked"]:
            continue
        day = p["at"].astimezone(TZ).date()
        month = f"{day:%Y-%m}"
        a = activity[p["activity"]]
        cell = member_cells[(p["member"], month, a.kind)]
        if p["minutes"] is None:
            cell[3] += 1
            continue
        cell[0] += p["minutes"]
        cell[1] += a.category == "attendance"
        cell[2] += 1
        unit = _at(unit_of[p["member"]], day)
        if unit is not None:
            for u in chain(unit, day):
                totals = unit_cells[(u, month)]
                totals[0] += p["minutes"]
                totals[1] += 1
                totals[2].add(p["member"])
    for a in activity.values():
        if a.activity_id in cancelled or not by_then(a.starts_at):
            continue
        day = a.starts_at.astimezone(TZ).date()
        for u in chain(a.host_unit_id, day):
            unit_cells[(u, f"{day:%Y-%m}")][3] += 1
    return member_cells, unit_cells, set(parents), set(unit_of)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_projections_match_a_plain_recomputation(pool, data):
    tenant_id = f"t-{uuid.uuid4().hex[:12]}"
    await pool.execute("INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, '性质区')",
                       tenant_id)
    history = History(pool, tenant_id)
    events = generate(data)
    for stream, event, recorded in events:
        history.recorded_at = recorded
        await history.append(stream, event)
    limit = data.draw(st.integers(1, 9), label="batch size")
    async with pool.acquire() as connection:
        while (await apply_next_batch(connection, history.feed, tenant_id,
                                      limit=limit)).events:
            pass
    await history.project()  # anything still held back by a transaction elsewhere

    recorded = [(e, at) for _, e, at in events]
    _, _, units, members = recompute(recorded)
    as_of = _day(data.draw(st.integers(0, 120), label="as of (days into 2025)"))
    async with pool.acquire() as connection:
        for day in (None, as_of):
            member_cells, unit_cells, _, _ = recompute(recorded, day)
            for member in members:
                report = await member_reports.member_hours(
                    connection, DatabaseDirectory(connection), tenant_id, member, as_of=day)
                got = {(member, m.month, k.kind): [k.minutes, k.attendance, k.person_times,
                                                   k.unconfirmed]
                       for m in report.months for k in m.kinds}
                want = {key: cell for key, cell in member_cells.items() if key[0] == member}
                assert got == want, day
            for unit in units:
                for month in MONTHS:
                    report = await unit_reports.unit_activity(connection, tenant_id, unit,
                                                              month, as_of=day)
                    minutes, person_times, participants, held = unit_cells.get(
                        (unit, month), [0, 0, set(), 0])
                    assert (report.minutes, report.person_times, report.participants,
                            report.activities) == (minutes, person_times, len(participants),
                                                   held), day
