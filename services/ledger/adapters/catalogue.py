"""The ledger's list read models, kept in the transaction of every append.

`ledger.activity_catalogue` (one row per activity: schedule and status),
`ledger.member_catalogue` (one row per member: kind, unit, left or not),
`ledger.activity_participants` (who checked in where), `ledger.correction_requests` (one
row per member's request, open until the record is corrected (as asked, amended, or on the
organiser's own), revoked or confirmed, or the request refused),
`ledger.honor_roll_catalogue` (one row per published roll),
`ledger.certificate_catalogue` (one row per issued certificate) and
`ledger.certificate_requests` (one row per member's certificate request, open until it is
answered by a certificate or a refusal). Names and numbers stay in
`ledger.member_directory`. Every writer of `ledger.events` (the event store's append and
`bulk_append`, hence imports and the demo loader) passes the events it appends through
`plan` and writes the result with `write` before committing, so a list shows what was just
appended (read-your-writes) and never what was rolled back.

The folding is done here, in memory, so a batch costs a handful of set-based statements
whatever its size, and an append that touches no list (a check-out) costs nothing; a
confirmation of a record checked in earlier costs one update (answering any open request).
A change carries the stream version it came from and is ignored by a row that already
holds a later one. The aggregated reports stay the reports service's job.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from contract.events import (
    ActivityCancelled,
    ActivityClosed,
    ActivityDetailsRevised,
    ActivityRescheduled,
    ActivityScheduled,
    AttendanceConfirmed,
    CertificateIssued,
    CertificateRequested,
    CertificateRequestRefused,
    CheckedIn,
    CorrectionRequested,
    CorrectionRequestRefused,
    Event,
    HonorRollObjectionRecorded,
    HonorRollPublished,
    MemberLeft,
    MemberRegistered,
    MemberReported,
    MemberTransferred,
    ParticipationCorrected,
    ParticipationRevoked,
)

# (stream version, event id, event) of each event being appended.
Appended = tuple[int, uuid.UUID, Event]

_NEW_ACTIVITIES = """INSERT INTO ledger.activity_catalogue
    (tenant_id, activity_id, host_unit_id, kind, category, title, place, starts_at, ends_at,
     capacity, status, version)
SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::timestamptz[], $9::timestamptz[], $10::integer[],
                         $11::text[], $12::integer[])
ON CONFLICT DO NOTHING"""

# NULL in a change: that field is unchanged. A capacity may become NULL (no limit), so it
# changes where `revised` says the details were revised.
_CHANGED_ACTIVITIES = """UPDATE ledger.activity_catalogue c SET
    place = coalesce(u.place, c.place), starts_at = coalesce(u.starts_at, c.starts_at),
    ends_at = coalesce(u.ends_at, c.ends_at), status = coalesce(u.status, c.status),
    title = coalesce(u.title, c.title),
    capacity = CASE WHEN u.revised THEN u.capacity ELSE c.capacity END,
    version = u.version
FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[],
            $7::text[], $8::integer[], $9::boolean[], $10::integer[])
    AS u(activity_id, place, starts_at, ends_at, status, title, capacity, revised, version)
WHERE c.tenant_id = $1 AND c.activity_id = u.activity_id AND c.version < u.version"""

_NEW_MEMBERS = """INSERT INTO ledger.member_catalogue
    (tenant_id, member_id, kind, unit_id, registered_on, left_on, version)
SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::date[], $6::date[],
                         $7::integer[])
ON CONFLICT DO NOTHING"""

_CHANGED_MEMBERS = """UPDATE ledger.member_catalogue m SET
    unit_id = coalesce(u.unit_id, m.unit_id), left_on = coalesce(u.left_on, m.left_on),
    version = u.version
FROM unnest($2::uuid[], $3::uuid[], $4::date[], $5::integer[])
    AS u(member_id, unit_id, left_on, version)
WHERE m.tenant_id = $1 AND m.member_id = u.member_id AND m.version < u.version"""

_PARTICIPANTS = """INSERT INTO ledger.activity_participants (tenant_id, activity_id, member_id)
SELECT $1, * FROM unnest($2::uuid[], $3::uuid[]) ON CONFLICT DO NOTHING"""

# The host unit comes from the activity's row, written first (an activity and a request in
# one batch included); a request of an unknown activity fails the append, never goes unlisted.
_NEW_REQUESTS = """INSERT INTO ledger.correction_requests
    (tenant_id, request_id, activity_id, host_unit_id, member_id, participation_id, reason,
     requested_minutes, requested_at, status, answered_at, answer, version)
SELECT $1, u.request_id, u.activity_id,
       (SELECT c.host_unit_id FROM ledger.activity_catalogue c
        WHERE c.tenant_id = $1 AND c.activity_id = u.activity_id),
       u.member_id, u.participation_id, u.reason, u.requested_minutes, u.requested_at,
       u.status, u.answered_at, u.answer, u.version
FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::integer[],
            $8::timestamptz[], $9::text[], $10::timestamptz[], $11::text[], $12::integer[])
    AS u(request_id, activity_id, member_id, participation_id, reason, requested_minutes,
         requested_at, status, answered_at, answer, version)
ON CONFLICT DO NOTHING"""

# Requests stored earlier all precede the answer in the stream; `version <` keeps it so.
_ANSWERS = """UPDATE ledger.correction_requests r SET
    status = 'answered', answer = u.answer, answered_at = u.answered_at
FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::integer[])
    AS u(participation_id, activity_id, answer, answered_at, version)
WHERE r.tenant_id = $1 AND r.status = 'open' AND r.activity_id = u.activity_id
  AND r.participation_id = u.participation_id AND r.version < u.version"""

_NEW_ROLLS = """INSERT INTO ledger.honor_roll_catalogue
    (tenant_id, unit_id, month, rule_set, rule_version, published_at, publicity_ends,
     entry_count, objection_count, version)
SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::integer[],
                         $6::timestamptz[], $7::date[], $8::integer[], $9::integer[],
                         $10::integer[])
ON CONFLICT DO NOTHING"""

# Counted once: a row that has folded in the batch's first objection is not added to.
_OBJECTIONS = """UPDATE ledger.honor_roll_catalogue c SET
    objection_count = c.objection_count + u.added, version = u.version
FROM unnest($2::uuid[], $3::text[], $4::integer[], $5::integer[], $6::integer[])
    AS u(unit_id, month, added, first_version, version)
WHERE c.tenant_id = $1 AND c.unit_id = u.unit_id AND c.month = u.month
  AND c.version < u.first_version"""

_NEW_CERTIFICATES = """INSERT INTO ledger.certificate_catalogue
    (tenant_id, number, member_id, issuer_unit_id, first_month, last_month, minutes,
     activities, issued_by, issued_at)
SELECT $1, * FROM unnest($2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::text[],
                         $7::integer[], $8::integer[], $9::uuid[], $10::timestamptz[])
ON CONFLICT DO NOTHING"""

_NEW_CERTIFICATE_REQUESTS = """INSERT INTO ledger.certificate_requests
    (tenant_id, request_id, member_id, first_month, last_month, requested_at, status, number,
     reason, answered_at)
SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[],
                         $7::text[], $8::text[], $9::text[], $10::timestamptz[])
ON CONFLICT DO NOTHING"""

# A request is answered once (its answer's stream is created once); `status = 'open'`
# keeps a rewritten answer from changing anything.
_CERTIFICATE_ANSWERS = """UPDATE ledger.certificate_requests r SET
    status = u.status, number = u.number, reason = u.reason, answered_at = u.answered_at
FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
    AS u(request_id, status, number, reason, answered_at)
WHERE r.tenant_id = $1 AND r.request_id = u.request_id AND r.status = 'open'"""

_ACTIVITY_FIELDS = ("host_unit_id", "kind", "category", "title", "place", "starts_at",
                    "ends_at", "capacity", "status", "version")
_ACTIVITY_CHANGES = ("place", "starts_at", "ends_at", "status", "title", "capacity",
                     "revised", "version")
_MEMBER_FIELDS = ("kind", "unit_id", "registered_on", "left_on", "version")
_MEMBER_CHANGES = ("unit_id", "left_on", "version")
_REQUEST_FIELDS = ("activity_id", "member_id", "participation_id", "reason",
                   "requested_minutes", "requested_at", "status", "answered_at", "answer",
                   "version")
_ANSWER_FIELDS = ("activity_id", "answer", "answered_at", "version")
_ROLL_FIELDS = ("rule_set", "rule_version", "published_at", "publicity_ends", "entry_count",
                "objection_count", "version")
_OBJECTION_FIELDS = ("added", "first_version", "version")
_CERTIFICATE_REQUEST_FIELDS = ("member_id", "first_month", "last_month", "requested_at",
                               "status", "number", "reason", "answered_at")
_CERTIFICATE_ANSWER_FIELDS = ("status", "number", "reason", "answered_at")
_CERTIFICATE_FIELDS = ("member_id", "issuer_unit_id", "first_month", "last_month", "minutes",
                       "activities", "issued_by", "issued_at")

# How each answering event answers a request, and when.
_ANSWERS_BY = {
    ParticipationCorrected: ("corrected", "corrected_at"),
    ParticipationRevoked: ("revoked", "revoked_at"),
    AttendanceConfirmed: ("confirmed", "confirmed_at"),
    CorrectionRequestRefused: ("refused", "refused_at"),
}

RollKey = tuple[uuid.UUID, str]


@dataclass
class Changes:
    """What a batch of appended events does to the lists, folded per activity and member.

    A row created in the batch is complete (later events of the batch folded in); a row
    created earlier gets only the fields that changed.
    """

    new_activities: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    changed_activities: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    new_members: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    changed_members: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    participants: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    # By request (event) id; a request answered within the batch is created answered.
    new_requests: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    # By participation: the batch's first answer, for the requests stored before it.
    answers: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    new_rolls: dict[RollKey, dict[str, Any]] = field(default_factory=dict)
    objections: dict[RollKey, dict[str, Any]] = field(default_factory=dict)
    # By certificate number.
    certificates: dict[str, dict[str, Any]] = field(default_factory=dict)
    # By request id: requests made (answered ones, if answered in the same batch), and
    # answers to requests stored before.
    certificate_requests: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    certificate_answers: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.participants or self.others())

    def others(self) -> bool:
        """Anything besides participants (a check-in changes only those)."""
        return bool(self.new_activities or self.changed_activities or self.new_members
                    or self.changed_members or self.new_requests or self.answers
                    or self.new_rolls or self.objections or self.certificates
                    or self.certificate_requests or self.certificate_answers)

    def participant_columns(self) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        # Sorted: concurrent batches then lock the rows they share in the same order.
        pairs = sorted(self.participants)
        return [a for a, _ in pairs], [m for _, m in pairs]


def _change(new: dict[uuid.UUID, dict[str, Any]], changed: dict[uuid.UUID, dict[str, Any]],
            key: uuid.UUID, version: int, **fields: Any) -> None:
    target = new.get(key)
    if target is None:
        target = changed.setdefault(key, {})
    target.update(fields, version=version)


def _answer(changes: Changes, open_requests: dict[uuid.UUID, list[dict[str, Any]]],
            checked_in_here: set[uuid.UUID], version: int,
            event: ParticipationCorrected | ParticipationRevoked | AttendanceConfirmed
            | CorrectionRequestRefused) -> None:
    answer, at = _ANSWERS_BY[type(event)]
    if isinstance(event, ParticipationCorrected) and event.answer is not None:
        answer = event.answer  # accepted | amended: the answer named the request
    answered = {"answer": answer, "answered_at": getattr(event, at)}
    for request in open_requests.pop(event.participation_id, ()):
        request.update(answered, status="answered")
    # A record checked in within this batch has no request stored before it (imports and
    # generated data: no update at all).
    if event.participation_id not in checked_in_here:
        changes.answers.setdefault(event.participation_id, {
            **answered, "activity_id": event.activity_id, "version": version})


def _certificate_answer(changes: Changes, request_id: uuid.UUID, **answer: Any) -> None:
    """A request made in this batch is written answered; one stored before is updated."""
    made = changes.certificate_requests.get(request_id)
    if made is not None:
        made.update(answer)
    else:
        changes.certificate_answers.setdefault(request_id, answer)


def plan(appended: Iterable[Appended]) -> Changes:
    changes = Changes()
    activities = (changes.new_activities, changes.changed_activities)
    members = (changes.new_members, changes.changed_members)
    open_requests: dict[uuid.UUID, list[dict[str, Any]]] = {}
    checked_in_here: set[uuid.UUID] = set()
    for version, event_id, event in appended:
        match event:
            case ActivityScheduled():
                changes.new_activities[event.activity_id] = {
                    "host_unit_id": event.host_unit_id, "kind": event.kind,
                    "category": event.category, "title": event.title, "place": event.place,
                    "starts_at": event.starts_at, "ends_at": event.ends_at,
                    "capacity": event.capacity, "status": "scheduled", "version": version}
            case ActivityRescheduled():
                _change(*activities, event.activity_id, version, place=event.place,
                        starts_at=event.starts_at, ends_at=event.ends_at)
            case ActivityDetailsRevised():
                _change(*activities, event.activity_id, version, title=event.title,
                        capacity=event.capacity, revised=True)
            case ActivityCancelled():
                _change(*activities, event.activity_id, version, status="cancelled")
            case ActivityClosed():
                _change(*activities, event.activity_id, version, status="closed")
            case CheckedIn():
                changes.participants.add((event.activity_id, event.member_id))
                checked_in_here.add(event.participation_id)
            case CorrectionRequested():
                request = changes.new_requests[event_id] = {
                    "activity_id": event.activity_id, "member_id": event.member_id,
                    "participation_id": event.participation_id, "reason": event.reason,
                    "requested_minutes": event.requested_minutes,
                    "requested_at": event.requested_at, "status": "open",
                    "answered_at": None, "answer": None, "version": version}
                open_requests.setdefault(event.participation_id, []).append(request)
            case (ParticipationCorrected() | ParticipationRevoked() | AttendanceConfirmed()
                  | CorrectionRequestRefused()):
                _answer(changes, open_requests, checked_in_here, version, event)
            case HonorRollPublished():
                changes.new_rolls[(event.unit_id, event.month)] = {
                    "rule_set": event.rule_set, "rule_version": event.rule_version,
                    "published_at": event.published_at,
                    "publicity_ends": event.publicity_ends,
                    "entry_count": len(event.entries), "objection_count": 0,
                    "version": version}
            case HonorRollObjectionRecorded():
                key = (event.unit_id, event.month)
                roll = changes.new_rolls.get(key)
                if roll is None:
                    roll = changes.objections.setdefault(
                        key, {"added": 0, "first_version": version})
                    roll["added"] += 1
                else:
                    roll["objection_count"] += 1
                roll["version"] = version
            case CertificateIssued():
                changes.certificates[event.number] = {
                    "member_id": event.member_id, "issuer_unit_id": event.issuer_unit_id,
                    "first_month": event.first_month, "last_month": event.last_month,
                    "minutes": event.minutes, "activities": event.activities,
                    "issued_by": event.issued_by, "issued_at": event.issued_at}
                if event.request_id is not None:
                    _certificate_answer(changes, event.request_id, status="issued",
                                        number=event.number, reason=None,
                                        answered_at=event.issued_at)
            case CertificateRequested():
                changes.certificate_requests[event.request_id] = {
                    "member_id": event.member_id, "first_month": event.first_month,
                    "last_month": event.last_month, "requested_at": event.requested_at,
                    "status": "open", "number": None, "reason": None, "answered_at": None}
            case CertificateRequestRefused():
                _certificate_answer(changes, event.request_id, status="refused", number=None,
                                    reason=event.reason, answered_at=event.refused_at)
            case MemberRegistered():
                changes.new_members[event.member_id] = {
                    "kind": event.kind, "unit_id": None, "registered_on": event.registered_on,
                    "left_on": None, "version": version}
            case MemberReported():
                _change(*members, event.member_id, version, unit_id=event.unit_id)
            case MemberTransferred():
                _change(*members, event.member_id, version, unit_id=event.to_unit_id)
            case MemberLeft():
                _change(*members, event.member_id, version, left_on=event.effective)
    return changes


def _columns(rows: dict[Any, dict[str, Any]], names: tuple[str, ...]) -> list[list[Any]]:
    """The key's column (its parts' columns, for a tuple key), then each field's."""
    # Sorted by key: concurrent batches then lock the rows they share in the same order.
    ordered = sorted(rows.items())
    keys = [key for key, _ in ordered]
    key_columns = [list(part) for part in zip(*keys, strict=True)] \
        if keys and isinstance(keys[0], tuple) else [keys]
    return [*key_columns, *([row.get(name) for _, row in ordered] for name in names)]


async def write(connection: asyncpg.Connection, tenant_id: str, changes: Changes) -> None:
    """Write `changes` on `connection`, inside the transaction that appends the events."""
    for sql, rows, names in (
        (_NEW_ACTIVITIES, changes.new_activities, _ACTIVITY_FIELDS),
        (_CHANGED_ACTIVITIES, changes.changed_activities, _ACTIVITY_CHANGES),
        (_NEW_MEMBERS, changes.new_members, _MEMBER_FIELDS),
        (_CHANGED_MEMBERS, changes.changed_members, _MEMBER_CHANGES),
        (_NEW_REQUESTS, changes.new_requests, _REQUEST_FIELDS),
        (_ANSWERS, changes.answers, _ANSWER_FIELDS),
        (_NEW_ROLLS, changes.new_rolls, _ROLL_FIELDS),
        (_OBJECTIONS, changes.objections, _OBJECTION_FIELDS),
        (_NEW_CERTIFICATES, changes.certificates, _CERTIFICATE_FIELDS),
        (_NEW_CERTIFICATE_REQUESTS, changes.certificate_requests,
         _CERTIFICATE_REQUEST_FIELDS),
        (_CERTIFICATE_ANSWERS, changes.certificate_answers, _CERTIFICATE_ANSWER_FIELDS),
    ):
        if rows:
            await connection.execute(sql, tenant_id, *_columns(rows, names))
    if changes.participants:
        await connection.execute(_PARTICIPANTS, tenant_id, *changes.participant_columns())
