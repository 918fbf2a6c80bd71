"""What the projections keep for as-of queries: each change point with the time the ledger
recorded it, and when an activity's cancellation was recorded. No database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from contract.calendar import SHANGHAI
from contract.events import (
    ActivityCancelled,
    ActivityScheduled,
    MemberLeft,
    MemberRegistered,
    MemberReported,
    MemberTransferred,
    UnitDissolved,
    UnitEstablished,
    UnitMerged,
    UnitMoved,
)
from reports.domain.members import MembersBatch
from reports.domain.organisation import OrganisationBatch
from reports.domain.participation import ParticipationBatch
from reports.domain.projection import EventMeta, known_from
from reports.domain.timeline import FOREVER, Change

T0 = datetime(2025, 3, 1, tzinfo=UTC)
A, B, C, M, U = (uuid.UUID(int=n) for n in range(1, 6))
D1, D2 = date(2025, 1, 1), date(2025, 2, 1)


def _fold(batch, *events):
    """Event n is at feed position n, recorded n days after T0."""
    for position, event in enumerate(events, start=1):
        batch.apply(event, EventMeta(1, position, T0 + timedelta(days=position)))
    return batch


def _at(position: int) -> datetime:
    return T0 + timedelta(days=position)


def test_members_log_every_unit_change_as_recorded():
    batch = _fold(
        MembersBatch(),
        MemberRegistered(member_id=M, kind="in_service", registered_on=D1),
        MemberReported(member_id=M, unit_id=A, effective=D1),
        MemberTransferred(member_id=M, from_unit_id=A, to_unit_id=B, effective=D2),
        # Recorded later, effective on the same date: replaces the transfer to B.
        MemberTransferred(member_id=M, from_unit_id=A, to_unit_id=C, effective=D2),
        MemberLeft(member_id=M, effective=date(2025, 3, 1), reason="迁出"),
    )
    assert batch.changes == [
        Change(M, D1, A, 2, _at(2)),
        Change(M, D2, B, 3, _at(3)),
        Change(M, D2, C, 4, _at(4)),
        Change(M, date(2025, 3, 1), None, 5, _at(5)),
    ]
    # The intervals (what is known now) are unchanged by the log.
    assert batch.units[M].intervals() == [(D1, D2, A), (D2, date(2025, 3, 1), C),
                                          (date(2025, 3, 1), FOREVER, None)]


def test_organisation_logs_parent_changes_merges_as_moves_and_dissolutions():
    batch = _fold(
        OrganisationBatch(),
        UnitEstablished(unit_id=U, kind="branch", parent_id=A, name="支部", effective=D1),
        UnitMoved(unit_id=U, parent_id=B, effective=D2),
        UnitMerged(unit_id=U, into_unit_id=C, effective=date(2025, 3, 1)),
        UnitDissolved(unit_id=U, effective=date(2025, 4, 1)),
        UnitMoved(unit_id=M, parent_id=B, effective=D2),  # never established: ignored
    )
    assert batch.changes == [
        Change(U, D1, A, 1, _at(1)),
        Change(U, D2, B, 2, _at(2)),
        Change(U, date(2025, 3, 1), C, 3, _at(3)),
        Change(U, date(2025, 4, 1), None, 4, _at(4)),
    ]


def test_a_cancellation_is_dated_when_the_ledger_recorded_it():
    batch = _fold(
        ParticipationBatch(),
        ActivityScheduled(activity_id=A, kind="cleanup", category="service", host_unit_id=U,
                          title="清扫", place="楼道", starts_at=T0, ends_at=T0),
    )
    # The participation projection keys its rows by the ids' text (participation.Id).
    activity = str(A)
    assert not batch.activities[activity].cancelled
    assert batch.activities[activity].cancelled_at is None
    batch.apply(ActivityCancelled(activity_id=A, reason="下雨"), EventMeta(1, 9, _at(9)))
    assert batch.activities[activity].cancelled
    assert batch.activities[activity].cancelled_at == _at(9)
    assert activity in batch.changed_activities
    batch.apply(ActivityCancelled(activity_id=A, reason="又下雨"), EventMeta(1, 10, _at(10)))
    assert batch.activities[activity].cancelled_at == _at(9)


def test_a_change_is_known_from_its_recording():
    meta = EventMeta(1, 7, T0)
    assert known_from(meta, date(2024, 12, 1)) == T0


def test_an_imported_change_is_known_from_its_effective_day_if_earlier():
    meta = EventMeta(1, 7, T0, imported=True)
    assert known_from(meta, date(2024, 12, 1)) == datetime(2024, 12, 1, tzinfo=SHANGHAI)
    # Effective later than the load: known from the load (as any change).
    assert known_from(meta, date(2025, 6, 1)) == T0
    starts = datetime(2025, 2, 3, 9, tzinfo=SHANGHAI)
    assert known_from(meta, starts) == starts
