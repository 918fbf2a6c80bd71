"""Hours, months and stars on the member's page; overlaps; hours."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from contract.events import (
    ActivityScheduled,
    AttendanceConfirmed,
    CheckedIn,
    CheckedOut,
    Event,
    ParticipationRevoked,
)
from ledger.domain.activities import ActivityState
from ledger.entrypoints.pages.common import fmt_hours, parse_hours
from ledger.entrypoints.pages.honor_rolls import recent_months
from ledger.entrypoints.pages.views import member_status, overlaps
from ledger.member_records import stars_for, summarise

MEMBER = uuid.uuid4()
MARCH = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 March in Shanghai


def activity(start: datetime, minutes: int | None, *, category: str = "service",
             revoked: bool = False, member: uuid.UUID = MEMBER,
             out: datetime | None = None) -> ActivityState:
    """An activity with one participation, folded from events as the ledger does."""
    activity_id, participation_id, organiser = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids = {"activity_id": activity_id, "member_id": member, "participation_id": participation_id}
    events: list[Event] = [
        ActivityScheduled(activity_id=activity_id, kind="cleanup", category=category,
                          host_unit_id=uuid.uuid4(), title="清理", place="3号楼",
                          starts_at=start, ends_at=start + timedelta(hours=3)),
        CheckedIn(**ids, at=start, method="qr"),
        CheckedOut(**ids, at=out or start + timedelta(hours=2), method="qr"),
    ]
    if minutes is not None:
        events.append(AttendanceConfirmed(**ids, minutes=minutes, confirmed_by=organiser,
                                          confirmed_at=start + timedelta(hours=3)))
    if revoked:
        events.append(ParticipationRevoked(**ids, reason="代签", revoked_by=organiser,
                                           revoked_at=start + timedelta(hours=4)))
    state = ActivityState.fold(events)
    assert state is not None
    return state


def test_hours_by_shanghai_month_stars_and_what_does_not_count() -> None:
    summary = summarise(MEMBER, [
        activity(MARCH, 120),                                   # counts in March
        activity(MARCH + timedelta(hours=1), 6000),             # 00:30 1 April in Shanghai
        activity(MARCH, None),                                  # not confirmed yet
        activity(MARCH, 60, category="attendance"),             # attendance: no hours
        activity(MARCH, 600, revoked=True),                     # revoked
        activity(MARCH, 999, member=uuid.uuid4()),              # someone else
    ])
    assert summary.months == [("2026-04", 6000, 1), ("2026-03", 120, 3)]
    assert summary.total_minutes == 6120
    assert (summary.stars, summary.next_star_hours) == (1, 300)
    assert len(summary.records) == 5


@pytest.mark.parametrize(("hours", "stars", "next_star"), [
    (0, 0, 100), (99.9, 0, 100), (100, 1, 300), (600, 3, 1000), (1500, 5, None)])
def test_star_levels(hours: float, stars: int, next_star: int | None) -> None:
    assert stars_for(round(hours * 60)) == (stars, next_star)


def test_overlapping_participation_of_one_member_is_found() -> None:
    first = activity(MARCH, None)
    second = activity(MARCH + timedelta(hours=1), None)
    apart = activity(MARCH + timedelta(hours=5), None)
    other = activity(MARCH, None, member=uuid.uuid4())
    found = overlaps([first, second, apart, other])
    ids = {next(iter(a.participations)) for a in (first, second)}
    assert found == ids


def test_member_status_in_and_out() -> None:
    state = activity(MARCH, None)
    p = next(iter(state.participations.values()))
    assert member_status(state, MEMBER, MARCH).state == "out"
    assert member_status(state, uuid.uuid4(), MARCH).state == "none"
    p.checked_out_at = None
    status = member_status(state, MEMBER, MARCH + timedelta(minutes=95))
    assert (status.state, status.minutes_present) == ("in", 95)


def test_hours_typed_by_people() -> None:
    assert parse_hours("1.5") == 90 and parse_hours(" 2 ") == 120 and parse_hours("") is None
    for bad in ("-1", "abc", "25", "nan"):
        with pytest.raises(ValueError):
            parse_hours(bad)
    assert (fmt_hours(90), fmt_hours(100), fmt_hours(120), fmt_hours(None)) == \
        ("1.5", "1.67", "2", "")


def test_recent_months_cross_the_year() -> None:
    assert recent_months(date(2026, 2, 10)) == ["2026-01", "2025-12", "2025-11"]
