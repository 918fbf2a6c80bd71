"""The ledger's list read models, kept in the transaction of every append.

`ledger.activity_catalogue` (one row per activity: schedule and status),
`ledger.member_catalogue` (one row per member: kind, unit, left or not) and
`ledger.activity_participants` (who checked in where). Names and numbers stay in
`ledger.member_directory`. Every writer of `ledger.events` (the event store's append and
`bulk_append`, hence imports and the demo loader) passes the events it appends through
`plan` and writes the result with `write` before committing, so a list shows what was just
appended (read-your-writes) and never what was rolled back.

The folding is done here, in memory, so a batch costs a handful of set-based statements
whatever its size, and an append that touches no list (a check-out, a confirmation) costs
nothing. A change carries the stream version it came from and is ignored by a row that
already holds a later one. The aggregated reports stay the reports service's job.
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
    ActivityRescheduled,
    ActivityScheduled,
    CheckedIn,
    Event,
    MemberLeft,
    MemberRegistered,
    MemberReported,
    MemberTransferred,
)

# (stream version, event) of each event being appended.
Appended = tuple[int, Event]

_NEW_ACTIVITIES = """INSERT INTO ledger.activity_catalogue
    (tenant_id, activity_id, host_unit_id, kind, category, title, place, starts_at, ends_at,
     capacity, status, version)
SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::timestamptz[], $9::timestamptz[], $10::integer[],
                         $11::text[], $12::integer[])
ON CONFLICT DO NOTHING"""

# NULL in a change: that field is unchanged.
_CHANGED_ACTIVITIES = """UPDATE ledger.activity_catalogue c SET
    place = coalesce(u.place, c.place), starts_at = coalesce(u.starts_at, c.starts_at),
    ends_at = coalesce(u.ends_at, c.ends_at), status = coalesce(u.status, c.status),
    version = u.version
FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[],
            $7::integer[]) AS u(activity_id, place, starts_at, ends_at, status, version)
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

_ACTIVITY_FIELDS = ("host_unit_id", "kind", "category", "title", "place", "starts_at",
                    "ends_at", "capacity", "status", "version")
_ACTIVITY_CHANGES = ("place", "starts_at", "ends_at", "status", "version")
_MEMBER_FIELDS = ("kind", "unit_id", "registered_on", "left_on", "version")
_MEMBER_CHANGES = ("unit_id", "left_on", "version")


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

    def __bool__(self) -> bool:
        return bool(self.new_activities or self.changed_activities or self.new_members
                    or self.changed_members or self.participants)


def _change(new: dict[uuid.UUID, dict[str, Any]], changed: dict[uuid.UUID, dict[str, Any]],
            key: uuid.UUID, version: int, **fields: Any) -> None:
    target = new.get(key)
    if target is None:
        target = changed.setdefault(key, {})
    target.update(fields, version=version)


def plan(appended: Iterable[Appended]) -> Changes:
    changes = Changes()
    activities = (changes.new_activities, changes.changed_activities)
    members = (changes.new_members, changes.changed_members)
    for version, event in appended:
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
            case ActivityCancelled():
                _change(*activities, event.activity_id, version, status="cancelled")
            case ActivityClosed():
                _change(*activities, event.activity_id, version, status="closed")
            case CheckedIn():
                changes.participants.add((event.activity_id, event.member_id))
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


def _columns(rows: dict[uuid.UUID, dict[str, Any]], names: tuple[str, ...]) -> list[list[Any]]:
    # Sorted by id: concurrent batches then lock the rows they share in the same order.
    ordered = sorted(rows.items())
    return [[key for key, _ in ordered],
            *([row.get(name) for _, row in ordered] for name in names)]


async def write(connection: asyncpg.Connection, tenant_id: str, changes: Changes) -> None:
    """Write `changes` on `connection`, inside the transaction that appends the events."""
    for sql, rows, names in (
        (_NEW_ACTIVITIES, changes.new_activities, _ACTIVITY_FIELDS),
        (_CHANGED_ACTIVITIES, changes.changed_activities, _ACTIVITY_CHANGES),
        (_NEW_MEMBERS, changes.new_members, _MEMBER_FIELDS),
        (_CHANGED_MEMBERS, changes.changed_members, _MEMBER_CHANGES),
    ):
        if rows:
            await connection.execute(sql, tenant_id, *_columns(rows, names))
    if changes.participants:
        pairs = sorted(changes.participants)
        await connection.execute(_PARTICIPANTS, tenant_id, [a for a, _ in pairs],
                                 [m for _, m in pairs])
