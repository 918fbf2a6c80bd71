"""The participation projection's fold, with no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from contract.events import (
    ActivityDetailsRevised,
    ActivityScheduled,
    AttendanceConfirmed,
    CheckedIn,
    CheckedOut,
    ParticipationCorrected,
    ParticipationRevoked,
    encode_data,
)
from reports.domain.participation import READS, ParticipationBatch
from reports.domain.projection import EventMeta

WHEN = datetime(2025, 3, 31, 15, 30, tzinfo=UTC)
A, M, P, ORG = (uuid.UUID(int=n) for n in range(1, 5))
# The fold keeps ids as their text (participation.Id).
TEXT_A, TEXT_P, TEXT_ORG = str(A), str(P), str(ORG)


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
    row = batch.participations[TEXT_P]
    assert (row.minutes, row.auto_checkout, row.corrected) == (45, True, True)
    # The first confirmation stays in the row; the trail holds what changed it.
    assert (row.confirmed_minutes, row.confirmed_by, row.confirmed_at) == (120, TEXT_ORG, WHEN)
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
    row = batch.participations[TEXT_P]
    assert (row.minutes, row.confirmed_minutes, row.confirmed_by) == (60, 120, TEXT_ORG)
    assert [(e.action, e.minutes, e.previous_minutes, e.actor_id, e.at) for e in batch.log] == [
        ("confirmed", 60, 120, str(M), later)]


def test_attendance_credits_no_minutes_and_revocation_excludes():
    batch = _fold(
        _scheduled("attendance"),
        CheckedIn(activity_id=A, member_id=M, participation_id=P, at=WHEN, method="qr"),
        AttendanceConfirmed(activity_id=A, member_id=M, participation_id=P, minutes=90,
                            confirmed_by=ORG, confirmed_at=WHEN),
    )
    assert batch.participations[TEXT_P].minutes == 0
    batch.apply(ParticipationRevoked(activity_id=A, member_id=M, participation_id=P,
                                     reason="代签", revoked_by=ORG, revoked_at=WHEN),
                EventMeta(1, 9, WHEN))
    assert batch.participations[TEXT_P].revoked


def test_wanted_leaves_out_rows_the_batch_creates():
    events = [_scheduled(),
              CheckedIn(activity_id=A, member_id=M, participation_id=P, at=WHEN, method="qr"),
              CheckedOut(activity_id=A, member_id=M, participation_id=P, at=WHEN, method="qr"),
              CheckedOut(activity_id=A, member_id=M, participation_id=ORG, at=WHEN, method="qr")]
    assert ParticipationBatch().wanted(events) == {"activities": set(),
                                                   "participations": {TEXT_ORG}}


def test_each_read_is_its_event_field_for_field():
    # A read is decoded instead of its event: a field it declared differently (or one the
    # event no longer has) would project something else than the event says. Its ids are
    # their text.
    for event_class, read in READS.items():
        event_fields = {f.name: f for f in msgspec.structs.fields(event_class)}
        for field in msgspec.structs.fields(read):
            assert field.name in event_fields, (read, field.name)
            event_field = event_fields[field.name]
            expected = str if event_field.type is uuid.UUID else event_field.type
            assert (field.type, field.default) == (expected, event_field.default)


def test_the_reads_fold_as_the_events_do():
    events = [
        _scheduled(),
        CheckedIn(activity_id=A, member_id=M, participation_id=P, at=WHEN, method="qr",
                  client_time=WHEN, device="d", flags=["early"]),
        CheckedOut(activity_id=A, member_id=M, participation_id=P, at=WHEN, method="qr",
                   auto=True),
        AttendanceConfirmed(activity_id=A, member_id=M, participation_id=P, minutes=120,
                            confirmed_by=ORG, confirmed_at=WHEN),
    ]
    as_read = [msgspec.json.decode(encode_data(e), type=READS[type(e)])
               if type(e) in READS else e for e in events]
    assert {type(e) for e in as_read} >= set(READS.values())
    assert ParticipationBatch().wanted(as_read) == ParticipationBatch().wanted(events)
    whole, read = _fold(*events), _fold(*as_read)
    assert read.participations == whole.participations
    assert (read.created_participations, read.changed_participations) == (
        whole.created_participations, whole.changed_participations)


def test_a_revised_title_is_the_activitys_title_from_then_on():
    revised = ActivityDetailsRevised(activity_id=A, title="清扫3号楼楼道", capacity=None,
                                     reason="写清楼号")
    batch = _fold(_scheduled(), revised)
    assert batch.activities[TEXT_A].title == "清扫3号楼楼道"
    # An activity stored earlier: the batch asks for its row and saves it changed.
    assert batch.wanted([revised]) == {"activities": {TEXT_A}, "participations": set()}
    later = ParticipationBatch()
    later.activities[TEXT_A] = _fold(_scheduled()).activities[TEXT_A]
    later.apply(revised, EventMeta(1, 9, WHEN))
    assert later.changed_activities == {TEXT_A}
    assert later.activities[TEXT_A].title == "清扫3号楼楼道"
