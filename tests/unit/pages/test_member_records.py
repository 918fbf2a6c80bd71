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
    ParticipationCorrected,
    ParticipationRevoked,
)
from ledger.domain.activities import ActivityState
from ledger.entrypoints.pages.common import fmt_hours, parse_hours
from ledger.entrypoints.pages.honor_rolls import recent_months
from ledger.entrypoints.pages.views import member_status, overlaps
from ledger.hours_chart import month_bars
from ledger.member_records import Period, months_between, stars_for, summarise

MEMBER = uuid.uuid4()
MARCH = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 March in Shanghai


def activity(start: datetime, minutes: int | None, *, category: str = "service",
             revoked: bool = False, member: uuid.UUID = MEMBER,
             out: datetime | None = None,
             corrections: tuple[tuple[int, str], ...] = ()) -> ActivityState:
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
    previous = minutes
    for i, (corrected, reason) in enumerate(corrections):
        assert previous is not None
        events.append(ParticipationCorrected(
            **ids, minutes=corrected, previous_minutes=previous, reason=reason,
            corrected_by=organiser, corrected_at=start + timedelta(days=1 + i)))
        previous = corrected
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
    ], now=MARCH + timedelta(days=3))
    assert summary.months == [Period("2026-04", 6000, 1), Period("2026-03", 120, 3)]
    assert summary.total_minutes == 6120
    assert (summary.stars, summary.next_star_hours, summary.to_next_star) == (1, 300, 11880)
    assert len(summary.records) == 5


def test_every_month_from_the_first_to_now_has_a_row_and_years_add_up() -> None:
    november = datetime(2025, 11, 10, 2, 0, tzinfo=UTC)
    summary = summarise(MEMBER, [activity(november, 90), activity(MARCH, 30),
                                 activity(MARCH, 60, revoked=True)],
                        now=datetime(2026, 5, 20, tzinfo=UTC))
    assert [m.label for m in summary.months] == [
        "2026-05", "2026-04", "2026-03", "2026-02", "2026-01", "2025-12", "2025-11"]
    assert [(m.minutes, m.activities) for m in summary.months] == [
        (0, 0), (0, 0), (30, 1), (0, 0), (0, 0), (0, 0), (90, 1)]
    assert summary.years == [Period("2026", 30, 1), Period("2025", 90, 1)]
    assert summary.total_minutes == sum(y.minutes for y in summary.years)


def test_no_records_means_no_months_and_a_revoked_only_record_starts_none() -> None:
    now = datetime(2026, 5, 20, tzinfo=UTC)
    assert summarise(MEMBER, [], now=now).months == []
    assert summarise(MEMBER, [activity(MARCH, 60, revoked=True)], now=now).months == []


def test_months_between_crosses_the_year_and_includes_both_ends() -> None:
    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_between("2026-03", "2026-03") == ["2026-03"]


def test_a_corrected_record_keeps_the_original_figure_and_every_reason() -> None:
    summary = summarise(MEMBER, [activity(MARCH, 120, corrections=(
        (150, "签退过早，实际服务至11点"), (180, "复核后补记")))], now=MARCH)
    [record] = summary.records
    assert record.minutes == 180 and record.original_minutes == 120
    assert [(s.kind, s.previous_minutes, s.minutes, s.reason) for s in record.history] == [
        ("corrected", 120, 150, "签退过早，实际服务至11点"),
        ("corrected", 150, 180, "复核后补记")]
    assert summary.total_minutes == 180
    plain = summarise(MEMBER, [activity(MARCH, 120)], now=MARCH).records[0]
    assert plain.history == () and plain.original_minutes is None


def test_the_chart_has_a_bar_per_month_oldest_first_and_no_inline_style() -> None:
    months = [Period("2026-03", 90, 1), Period("2026-02", 0, 0), Period("2026-01", 180, 2)]
    svg = str(month_bars(months, "每月时长 <>"))
    assert svg.count("<rect") == 3 and "style" not in svg and "<script" not in svg
    assert svg.index("1月") < svg.index("2月") < svg.index("3月")
    assert "每月时长 &lt;&gt;" in svg
    heights = [float(part.split('"')[0]) for part in svg.split('height="')[1:]]
    assert heights[1] == 0 and heights[2] == heights[0] / 2  # scaled to the busiest month
    assert str(month_bars([], "x")) == ""


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
