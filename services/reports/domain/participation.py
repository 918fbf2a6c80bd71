"""Projection `participation`: activities, each participation's current state, and its trail.

The rules (see docs/reports.md):
* a participation starts with CheckedIn; its month and date are those of the check-in in
  Asia/Shanghai, whatever happens later (the table's generated `local_date`);
* confirmed minutes are the latest of AttendanceConfirmed / ParticipationCorrected; before
  either it is unconfirmed (minutes None), shown apart and never counted as hours;
* attendance-category activities credit 0 minutes (they count attendance and person-times);
* a revoked participation is excluded from everything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import msgspec

from contract.events import (
    ActivityCancelled,
    ActivityClosed,
    ActivityDetailsRevised,
    ActivityRescheduled,
    ActivityScheduled,
    AttendanceConfirmed,
    CheckedIn,
    CheckedOut,
    Event,
    ParticipationCorrected,
    ParticipationRevoked,
)
from reports.domain.projection import EventMeta, Keys, known_from

NAME = "participation"
ACTIVITY_EVENTS = (ActivityScheduled, ActivityRescheduled, ActivityDetailsRevised,
                   ActivityCancelled, ActivityClosed)
PARTICIPATION_EVENTS = (CheckedOut, AttendanceConfirmed, ParticipationCorrected,
                        ParticipationRevoked)
EVENT_TYPES = frozenset(
    t.__name__ for t in (*ACTIVITY_EVENTS, CheckedIn, *PARTICIPATION_EVENTS)
)

# The rows hold ids, and are keyed by them, as their canonical text (what str() of a UUID
# gives, what the ledger stores in its JSON): decoded from JSON, text costs an eighth of a
# UUID, hashes in C (a UUID's __hash__ is Python code), and is what COPY writes. The events
# carry UUIDs, the reads below and the rows loaded (as ::text) carry text; the fold takes
# str() of either.
Id = str


# What the fold reads of its three commonest events (nine in ten of a district's), decoded
# alone: with the ids as text, about a quarter of the decoding of the whole event, whose
# other fields (the phone's clock, the device, the flags) are for review, not reports. Each
# mirrors its event's current schema version, field for field (a test checks), but for its
# ids: their text as stored, which is what the fold keys its rows by (see Id). The fold
# takes these and the events alike.
class CheckedInRead(msgspec.Struct, frozen=True, gc=False):
    activity_id: Id
    member_id: Id
    participation_id: Id
    at: datetime


class CheckedOutRead(msgspec.Struct, frozen=True, gc=False):
    participation_id: Id
    at: datetime
    auto: bool = False


class AttendanceConfirmedRead(msgspec.Struct, frozen=True, gc=False):
    participation_id: Id
    minutes: int
    confirmed_by: Id
    confirmed_at: datetime


# Event class -> what this projection decodes of it, at the event's current version.
READS: dict[type[Event], type[msgspec.Struct]] = {
    CheckedIn: CheckedInRead, CheckedOut: CheckedOutRead,
    AttendanceConfirmed: AttendanceConfirmedRead,
}

# Exact-type lookups: a rebuild folds millions of events, and isinstance against a tuple
# of classes costs several times a set lookup (the event classes have an ABC metaclass).
_ACTIVITY = frozenset(ACTIVITY_EVENTS)
_CHECK_IN = frozenset((CheckedIn, CheckedInRead))
_PARTICIPATION = frozenset((*PARTICIPATION_EVENTS, CheckedOutRead, AttendanceConfirmedRead))


@dataclass(slots=True)
class ActivityRow:
    activity_id: Id
    kind: str
    category: str
    host_unit_id: Id
    title: str
    place: str
    starts_at: datetime
    ends_at: datetime
    # When the ledger recorded the cancellation (the event carries no time of its own).
    cancelled_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


# A msgspec Struct rather than a dataclass: one is built per check-in, in C, untracked by
# the collector; its fields are the table's columns, in order (msgspec.structs.astuple).
class ParticipationRow(msgspec.Struct, gc=False):
    participation_id: Id
    activity_id: Id
    member_id: Id
    kind: str
    category: str
    checked_in_at: datetime
    checked_out_at: datetime | None = None
    auto_checkout: bool = False
    minutes: int | None = None
    confirmed_by: Id | None = None
    confirmed_at: datetime | None = None
    corrected: bool = False
    revoked: bool = False
    # As first confirmed (who and when: confirmed_by, confirmed_at); the log holds the
    # corrections, revocations and any later confirmation.
    confirmed_minutes: int | None = None



# A named tuple, in the order of the log table's columns: one is built per confirmation.
class LogEntry(NamedTuple):
    participation_id: Id
    position: int
    action: str  # "confirmed" | "corrected" | "revoked"
    minutes: int | None
    previous_minutes: int | None
    reason: str | None
    actor_id: Id
    at: datetime


# A check-in to an activity this projection never saw (it should not happen: the activity
# stream starts with ActivityScheduled) still counts, as a service activity of kind "other".
UNKNOWN_KIND, UNKNOWN_CATEGORY = "other", "service"


@dataclass
class ParticipationBatch:
    activities: dict[Id, ActivityRow] = field(default_factory=dict)
    participations: dict[Id, ParticipationRow] = field(default_factory=dict)
    log: list[LogEntry] = field(default_factory=list)
    changed_activities: set[Id] = field(default_factory=set)
    changed_participations: set[Id] = field(default_factory=set)
    # Rows this batch created: no stored row can exist, so the adapter may COPY them in.
    created_activities: set[Id] = field(default_factory=set)
    created_participations: set[Id] = field(default_factory=set)

    def wanted(self, events: Sequence[Event]) -> Keys:
        """Stored rows the batch touches, leaving out those the batch itself creates."""
        activities: set[Id] = set()
        participations: set[Id] = set()
        created_activities: set[Id] = set()
        created_participations: set[Id] = set()
        for event in events:
            kind = type(event)
            if kind in _CHECK_IN:
                created_participations.add(str(event.participation_id))
                if (activity_id := str(event.activity_id)) not in created_activities:
                    activities.add(activity_id)
            elif kind in _PARTICIPATION:
                if (participation_id := str(event.participation_id)) not in (
                        created_participations):
                    participations.add(participation_id)
            elif kind is ActivityScheduled:
                created_activities.add(str(event.activity_id))
            elif kind in _ACTIVITY and (
                    activity_id := str(event.activity_id)) not in created_activities:
                activities.add(activity_id)
        return {"activities": activities, "participations": participations}

    def apply(self, event: Event, meta: EventMeta) -> None:
        # A dispatch table rather than isinstance checks: a rebuild folds millions of events.
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event, meta)

    def _scheduled(self, event: ActivityScheduled, meta: EventMeta) -> None:
        activity_id = str(event.activity_id)
        self.activities[activity_id] = ActivityRow(
            activity_id=activity_id, kind=event.kind, category=event.category,
            host_unit_id=str(event.host_unit_id), title=event.title, place=event.place,
            starts_at=event.starts_at, ends_at=event.ends_at,
        )
        self.changed_activities.add(activity_id)
        self.created_activities.add(activity_id)

    def _rescheduled(self, event: ActivityRescheduled, meta: EventMeta) -> None:
        if row := self._activity(event.activity_id):
            row.starts_at, row.ends_at, row.place = event.starts_at, event.ends_at, event.place

    def _revised(self, event: ActivityDetailsRevised, meta: EventMeta) -> None:
        # The reports hold no capacity: nothing they count depends on it.
        if row := self._activity(event.activity_id):
            row.title = event.title

    def _cancelled(self, event: ActivityCancelled, meta: EventMeta) -> None:
        if row := self._activity(event.activity_id):
            # Cancelled from the first cancellation on (the ledger refuses a second).
            row.cancelled_at = row.cancelled_at or known_from(meta, row.starts_at)

    def _closed(self, event: ActivityClosed, meta: EventMeta) -> None:
        if row := self._activity(event.activity_id):
            row.closed_at = event.closed_at

    def _activity(self, activity_id: uuid.UUID | Id) -> ActivityRow | None:
        key = str(activity_id)
        row = self.activities.get(key)
        if row is not None:
            self.changed_activities.add(key)
        return row

    def _checked_in(self, event: CheckedIn | CheckedInRead, meta: EventMeta) -> None:
        participation_id, activity_id = str(event.participation_id), str(event.activity_id)
        activity = self.activities.get(activity_id)
        self.participations[participation_id] = ParticipationRow(
            participation_id=participation_id, activity_id=activity_id,
            member_id=str(event.member_id),
            kind=activity.kind if activity else UNKNOWN_KIND,
            category=activity.category if activity else UNKNOWN_CATEGORY,
            checked_in_at=event.at,
        )
        self.changed_participations.add(participation_id)
        self.created_participations.add(participation_id)

    def _participation(self, participation_id: uuid.UUID | Id) -> ParticipationRow | None:
        key = str(participation_id)
        row = self.participations.get(key)
        if row is not None:
            self.changed_participations.add(key)
        return row

    def _checked_out(self, event: CheckedOut | CheckedOutRead, meta: EventMeta) -> None:
        if row := self._participation(event.participation_id):
            row.checked_out_at, row.auto_checkout = event.at, event.auto

    def _confirmed(self, event: AttendanceConfirmed | AttendanceConfirmedRead,
                   meta: EventMeta) -> None:
        if row := self._participation(event.participation_id):
            minutes = credited(row.category, event.minutes)
            if row.minutes is None:
                row.confirmed_minutes = minutes
                row.confirmed_by, row.confirmed_at = str(event.confirmed_by), event.confirmed_at
            else:
                # The ledger refuses a second confirmation; should one come, it is a change.
                self.log.append(LogEntry(row.participation_id, meta.position, "confirmed",
                                         minutes, row.minutes, None, str(event.confirmed_by),
                                         event.confirmed_at))
            row.minutes = minutes

    def _corrected(self, event: ParticipationCorrected, meta: EventMeta) -> None:
        if row := self._participation(event.participation_id):
            previous = row.minutes
            row.minutes = credited(row.category, event.minutes)
            row.corrected = True
            if event.checked_out_at is not None:
                row.checked_out_at = event.checked_out_at
            if row.confirmed_by is None:
                # A correction of a record nobody confirmed is itself the confirmation.
                row.confirmed_by = str(event.corrected_by)
                row.confirmed_at = event.corrected_at
            self.log.append(LogEntry(row.participation_id, meta.position, "corrected",
                                     row.minutes, previous, event.reason,
                                     str(event.corrected_by), event.corrected_at))

    def _revoked(self, event: ParticipationRevoked, meta: EventMeta) -> None:
        if row := self._participation(event.participation_id):
            row.revoked = True
            self.log.append(LogEntry(row.participation_id, meta.position, "revoked",
                                     None, row.minutes, event.reason, str(event.revoked_by),
                                     event.revoked_at))


_HANDLERS: dict[type, Callable[[ParticipationBatch, Any, EventMeta], None]] = {
    ActivityScheduled: ParticipationBatch._scheduled,
    ActivityRescheduled: ParticipationBatch._rescheduled,
    ActivityDetailsRevised: ParticipationBatch._revised,
    ActivityCancelled: ParticipationBatch._cancelled,
    ActivityClosed: ParticipationBatch._closed,
    CheckedIn: ParticipationBatch._checked_in,
    CheckedInRead: ParticipationBatch._checked_in,
    CheckedOut: ParticipationBatch._checked_out,
    CheckedOutRead: ParticipationBatch._checked_out,
    AttendanceConfirmed: ParticipationBatch._confirmed,
    AttendanceConfirmedRead: ParticipationBatch._confirmed,
    ParticipationCorrected: ParticipationBatch._corrected,
    ParticipationRevoked: ParticipationBatch._revoked,
}


def credited(category: str, minutes: int) -> int:
    return 0 if category == "attendance" else max(0, minutes)
