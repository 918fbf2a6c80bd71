"""The participation projection's fold, with no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contract.events import (
    ActivityDetailsRevised,
    ActivityScheduled,
    AttendanceConfirmed,
    CheckedIn,
    CheckedOut,
    ParticipationCorrected,
    ParticipationRevoked,
)
from reports.domain.participation import ParticipationBatch
from reports.domain.projection import EventMeta

WHEN = datetime(2025, 3, 31, 15, 30, tzinfo=UTC)
A, M, P, ORG = (uuid.UUID(int=n) for n in range(1, 5))


def _fold(*events):
    batch = ParticipationBatch()
    for position, event in enumerate(events, start=1):
        batch.apply(event, EventMeta(1, position, WHEN))
    return batch


def _scheduled(category: str = "service") -> ActivityScheduled:
    return ActivityScheduled(activity_id=A, kind="cleanup", category=category, host_unit_id=ORG,
                             title="清扫", place="楼道", starts_at=WHEN, ends_at=WHEN)


def test_latest_confirmation_or_correction_counts_and_leaves_a_trail():
    batch = _fold(
        _scheduled(),
        CheckedIn(activity_id=A, member_id=M, participation_id=P, at=WHEN, method="qr"),
        CheckedOut(activity_id=A, member_id=M, participation_id=P, at=WHEN, method="qr",
                   auto=True),
        AttendanceConfirmed(activity_id=A, member_id=M, participation_id=P, minutes=120,
                            confirmed_by=ORG, confirmed_at=WHEN),
        ParticipationCorrected(activity_id=A, member_id=M, participation_id=P, minutes=45,
                               previous_minutes=120, reason="签退遗漏", corrected_by=ORG,
                               corrected_at=WHEN),
    )
    row = batch.participations[P]
    assert (row.minutes, row.auto_checkout, row.corrected) == (45, True, True)
    # The first confirmation stays in the row; the trail holds what changed it.
    assert (row.confirmed_minutes, row.confirmed_by, row.confirmed_at) == (120, ORG, WHEN)
    assert [(e.action, e.minutes, e.previous_minutes) for e in batch.log] == [
        ("corrected", 45, 120)]


def test_a_second_confirmation_is_a_change_in_the_trail():
    later = WHEN + timedelta(days=1)
    batch = _fold(
        _scheduled(),
        CheckedIn(activity_id=A, member_id=M, participation_id=P, at=WHEN, method="qr"),
        AttendanceConfirmed(activity_id=A, member_id=M, participation_id=P, minutes=120,
                            confirmed_by=ORG, confirmed_at=WHEN),
        AttendanceConfirmed(activity_id=A, member_id=M, participation_id=P, minutes=60,
                            confirmed_by=M, confirmed_at=later),
    )
    row = batch.participations[P]
    assert (row.minutes, row.confirmed_minutes, row.confirmed_by) == (60, 120, ORG)
    assert [(e.action, e.minutes, e.previous_minutes, e.actor_id, e.at) for e in batch.log] == [
        ("confirmed", 60, 120, M, later)]


def test_attendance_credits_no_minutes_and_revocation_excludes():
    batch = _fold(
        _scheduled("attendance"),
        CheckedIn(activity_id=A, member_id=M, participation_id=P, at=WHEN, method="qr"),
        AttendanceConfirmed(activity_id=A, member_id=M, participation_id=P, minutes=90,
                            confirmed_by=ORG, confirmed_at=WHEN),
    )
    assert batch.participations[P].minutes == 0
    batch.apply(ParticipationRevoked(activity_id=A, member_id=M, participation_id=P,
                                     reason="代签", revoked_by=ORG, revoked_at=WHEN),
                EventMeta(1, 9, WHEN))
    assert batch.participations[P].revoked


def test_wanted_leaves_out_rows_the_batch_creates():
    events = [_scheduled(),
              CheckedIn(activity_id=A, member_id=M, participation_id=P, at=WHEN, method="qr"),
              CheckedOut(activity_id=A, member_id=M, participation_id=P, at=WHEN, method="qr"),
              CheckedOut(activity_id=A, member_id=M, participation_id=ORG, at=WHEN, method="qr")]
    assert ParticipationBatch().wanted(events) == {"activities": set(), "participations": {ORG}}


def test_a_revised_title_is_the_activitys_title_from_then_on():
    revised = ActivityDetailsRevised(activity_id=A, title="清扫3号楼楼道", capacity=None,
                                     reason="写清楼号")
    batch = _fold(_scheduled(), revised)
    assert batch.activities[A].title == "清扫3号楼楼道"
    # An activity stored earlier: the batch asks for its row and saves it changed.
    assert batch.wanted([revised]) == {"activities": {A}, "participations": set()}
    later = ParticipationBatch()
    later.activities[A] = _fold(_scheduled()).activities[A]
    later.apply(revised, EventMeta(1, 9, WHEN))
    assert later.changed_activities == {A} and later.activities[A].title == "清扫3号楼楼道"
