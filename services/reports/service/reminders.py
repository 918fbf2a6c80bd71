"""Reminders as synthetic webhook events, derived from the read models and the time.

Each reminder's id is made of what it reminds of (the activity and its start, the roll and
its unit and month), and a reminder is stored only once under its id: generating them again
on every pass, or after a restart, or in two processes, adds nothing. A reminder is made
once it is due, and not for what is long past (a subscription created today gets no
reminder of last year's activities):

* `reminder.activity_upcoming`: an activity not cancelled that starts within 24 hours;
  due 24 hours before its start. A reschedule makes a new one (its start is in the id).
* `reminder.confirmation_pending`: an activity that ended within the last 3 days with
  participations neither confirmed nor revoked; due at its end.
* `reminder.publicity_ending`: a published honor roll on the last day of its 公示 window
  (Asia/Shanghai); due at that day's start.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from reports.adapters import webhook_store
from reports.domain.webhooks import ACTIVITY_UPCOMING, CONFIRMATION_PENDING, PUBLICITY_ENDING

AHEAD = timedelta(hours=24)
PENDING_WINDOW = timedelta(days=3)
# Per kind and pass: a tenant's day has dozens of activities, not thousands.
LIMIT = 1000

_UPCOMING = """
SELECT activity_id, host_unit_id, kind, title, place, starts_at, ends_at
FROM reports.activities
WHERE tenant_id = $1 AND NOT cancelled AND starts_at > $2 AND starts_at <= $2 + $3::interval
ORDER BY starts_at, activity_id LIMIT $4"""

_PENDING = """
SELECT a.activity_id, a.host_unit_id, a.title, a.ends_at, count(*) AS unconfirmed
FROM reports.activities a
JOIN reports.participations p
  ON p.tenant_id = a.tenant_id AND p.activity_id = a.activity_id
WHERE a.tenant_id = $1 AND NOT a.cancelled AND a.ends_at <= $2
  AND a.ends_at > $2 - $3::interval AND p.confirmed_at IS NULL AND NOT p.revoked
GROUP BY a.activity_id, a.host_unit_id, a.title, a.ends_at
ORDER BY a.ends_at, a.activity_id LIMIT $4"""

_PUBLICITY = """
SELECT unit_id, month, publicity_ends,
       publicity_ends::timestamp AT TIME ZONE 'Asia/Shanghai' AS last_day
FROM reports.honor_rolls
WHERE tenant_id = $1 AND publicity_ends = ($2 AT TIME ZONE 'Asia/Shanghai')::date
ORDER BY unit_id, month LIMIT $3"""

Reminder = tuple[str, str, uuid.UUID, datetime, dict[str, Any]]


async def make_reminders(connection: asyncpg.Connection, tenant_id: str,
                         now: datetime) -> int:
    """Store the reminders due by `now` not stored yet; how many were new."""
    reminders: list[Reminder] = []
    for row in await connection.fetch(_UPCOMING, tenant_id, now, AHEAD, LIMIT):
        reminders.append((
            f"activity_upcoming:{row['activity_id']}:{row['starts_at'].isoformat()}",
            ACTIVITY_UPCOMING, row["host_unit_id"], row["starts_at"] - AHEAD,
            {"activity_id": str(row["activity_id"]), "host_unit_id": str(row["host_unit_id"]),
             "kind": row["kind"], "title": row["title"], "place": row["place"],
             "starts_at": row["starts_at"].isoformat(), "ends_at": row["ends_at"].isoformat()}))
    for row in await connection.fetch(_PENDING, tenant_id, now, PENDING_WINDOW, LIMIT):
        reminders.append((
            f"confirmation_pending:{row['activity_id']}", CONFIRMATION_PENDING,
            row["host_unit_id"], row["ends_at"],
            {"activity_id": str(row["activity_id"]), "host_unit_id": str(row["host_unit_id"]),
             "title": row["title"], "ends_at": row["ends_at"].isoformat(),
             "unconfirmed": row["unconfirmed"]}))
    for row in await connection.fetch(_PUBLICITY, tenant_id, now, LIMIT):
        reminders.append((
            f"publicity_ending:{row['unit_id']}:{row['month']}", PUBLICITY_ENDING,
            row["unit_id"], row["last_day"],
            {"unit_id": str(row["unit_id"]), "month": row["month"],
             "publicity_ends": row["publicity_ends"].isoformat()}))
    return await webhook_store.add_reminders(connection, tenant_id, reminders)
