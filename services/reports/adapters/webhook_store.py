"""Webhook subscriptions, their delivery log and the reminders, in PostgreSQL.

A subscription row is also its dispatcher's state: the feed cursor of the last event it
delivered (or passed over as not concerning it), the last reminder, the failed attempts at
the delivery in flight and when the next is due. `record_attempt` writes the log row and
moves that state in one transaction, so a delivery is either logged and passed or neither.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from contract.cursor import Cursor, format_cursor
from reports.adapters import unit_reports
from reports.domain.webhooks import Concerns

_COLUMNS = """subscription_id, unit_id, url, event_types, description, created_by, created_at,
              disabled_at, cursor_txid, cursor_position, reminder_seq, attempts,
              next_attempt_at"""


@dataclass(frozen=True, slots=True)
class Subscription:
    tenant_id: str
    subscription_id: uuid.UUID
    unit_id: uuid.UUID
    url: str
    event_types: tuple[str, ...]
    description: str
    created_by: str
    created_at: datetime
    disabled_at: datetime | None
    cursor: Cursor
    reminder_seq: int
    attempts: int
    next_attempt_at: datetime | None


def _subscription(tenant_id: str, row: asyncpg.Record) -> Subscription:
    return Subscription(tenant_id, row["subscription_id"], row["unit_id"], row["url"],
                        tuple(row["event_types"]), row["description"], row["created_by"],
                        row["created_at"], row["disabled_at"],
                        (row["cursor_txid"], row["cursor_position"]), row["reminder_seq"],
                        row["attempts"], row["next_attempt_at"])


async def create(connection: asyncpg.Connection, tenant_id: str, *, unit_id: uuid.UUID,
                 url: str, event_types: list[str], secret: str, description: str,
                 created_by: str, cursor: Cursor) -> Subscription:
    """A new subscription starting after `cursor` and after the reminders made so far."""
    row = await connection.fetchrow(
        f"""INSERT INTO reports.webhook_subscriptions
               (tenant_id, subscription_id, unit_id, url, event_types, secret, description,
                created_by, cursor_txid, cursor_position, reminder_seq)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                    (SELECT coalesce(max(seq), 0) FROM reports.webhook_reminders
                     WHERE tenant_id = $1))
            RETURNING {_COLUMNS}""",
        tenant_id, uuid.uuid4(), unit_id, url, event_types, secret, description, created_by,
        cursor[0], cursor[1])
    return _subscription(tenant_id, row)


async def of_unit(connection: asyncpg.Connection, tenant_id: str,
                  unit_id: uuid.UUID) -> list[Subscription]:
    rows = await connection.fetch(
        f"""SELECT {_COLUMNS} FROM reports.webhook_subscriptions
            WHERE tenant_id = $1 AND unit_id = $2 ORDER BY created_at, subscription_id""",
        tenant_id, unit_id)
    return [_subscription(tenant_id, row) for row in rows]


async def get(connection: asyncpg.Connection, tenant_id: str, unit_id: uuid.UUID,
              subscription_id: uuid.UUID) -> Subscription | None:
    row = await connection.fetchrow(
        f"""SELECT {_COLUMNS} FROM reports.webhook_subscriptions
            WHERE tenant_id = $1 AND unit_id = $2 AND subscription_id = $3""",
        tenant_id, unit_id, subscription_id)
    return None if row is None else _subscription(tenant_id, row)


async def disable(connection: asyncpg.Connection, subscription: Subscription) -> Subscription:
    row = await connection.fetchrow(
        f"""UPDATE reports.webhook_subscriptions
            SET disabled_at = coalesce(disabled_at, now())
            WHERE tenant_id = $1 AND subscription_id = $2 RETURNING {_COLUMNS}""",
        subscription.tenant_id, subscription.subscription_id)
    return _subscription(subscription.tenant_id, row)


async def replay(connection: asyncpg.Connection, subscription: Subscription,
                 cursor: Cursor) -> Subscription:
    """Deliver again every event after `cursor`; the attempts start afresh."""
    row = await connection.fetchrow(
        f"""UPDATE reports.webhook_subscriptions
            SET cursor_txid = $3, cursor_position = $4, attempts = 0, next_attempt_at = NULL
            WHERE tenant_id = $1 AND subscription_id = $2 RETURNING {_COLUMNS}""",
        subscription.tenant_id, subscription.subscription_id, cursor[0], cursor[1])
    return _subscription(subscription.tenant_id, row)


async def secret(connection: asyncpg.Connection, subscription: Subscription) -> str:
    return await connection.fetchval(
        """SELECT secret FROM reports.webhook_subscriptions
           WHERE tenant_id = $1 AND subscription_id = $2""",
        subscription.tenant_id, subscription.subscription_id)


async def due(connection: asyncpg.Connection, now: datetime) -> list[Subscription]:
    """Enabled subscriptions of every tenant whose next attempt is due."""
    rows = await connection.fetch(
        f"""SELECT tenant_id, {_COLUMNS} FROM reports.webhook_subscriptions
            WHERE disabled_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
            ORDER BY tenant_id, created_at""", now)
    return [_subscription(row["tenant_id"], row) for row in rows]


async def refresh(connection: asyncpg.Connection,
                  subscription: Subscription) -> Subscription | None:
    """The subscription as stored now (a replay or a disable may have changed it)."""
    row = await connection.fetchrow(
        f"""SELECT {_COLUMNS} FROM reports.webhook_subscriptions
            WHERE tenant_id = $1 AND subscription_id = $2""",
        subscription.tenant_id, subscription.subscription_id)
    return None if row is None else _subscription(subscription.tenant_id, row)


async def pass_over(connection: asyncpg.Connection, subscription: Subscription,
                    cursor: Cursor) -> bool:
    """Move the cursor past events that do not concern the subscription, unless it moved
    meanwhile (a replay): then nothing changes. Whether it moved."""
    status = await connection.execute(
        """UPDATE reports.webhook_subscriptions SET cursor_txid = $5, cursor_position = $6
           WHERE tenant_id = $1 AND subscription_id = $2
             AND cursor_txid = $3 AND cursor_position = $4""",
        subscription.tenant_id, subscription.subscription_id, *subscription.cursor, *cursor)
    return status == "UPDATE 1"


@dataclass(frozen=True, slots=True)
class Item:
    """What is delivered next: an event of the feed (`cursor`) or a reminder (`seq`)."""

    event_id: str
    type: str
    body: bytes
    cursor: Cursor | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    delivered: bool


async def record_attempt(connection: asyncpg.Connection, subscription: Subscription,
                         item: Item, attempt: Attempt, next_attempt_at: datetime | None) -> None:
    """Log the attempt and, if it was delivered, move past the item, in one transaction.
    The subscription row is locked first; if a replay moved its cursor while the attempt
    was on the wire, the attempt is logged but the replayed cursor stands."""
    async with connection.transaction():
        row = await connection.fetchrow(
            """SELECT cursor_txid, cursor_position, reminder_seq
               FROM reports.webhook_subscriptions
               WHERE tenant_id = $1 AND subscription_id = $2 FOR UPDATE""",
            subscription.tenant_id, subscription.subscription_id)
        await connection.execute(
            """INSERT INTO reports.webhook_deliveries
                   (tenant_id, subscription_id, event_id, event_type, event_cursor, attempt,
                    attempted_at, status_code, latency_ms, error, delivered)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            subscription.tenant_id, subscription.subscription_id, item.event_id, item.type,
            None if item.cursor is None else format_cursor(item.cursor),
            subscription.attempts + 1, attempt.attempted_at, attempt.status_code,
            attempt.latency_ms, attempt.error, attempt.delivered)
        unchanged = ((row["cursor_txid"], row["cursor_position"]) == subscription.cursor
                     and row["reminder_seq"] == subscription.reminder_seq)
        if not unchanged:
            return
        if attempt.delivered:
            cursor = item.cursor or subscription.cursor
            await connection.execute(
                """UPDATE reports.webhook_subscriptions
                   SET cursor_txid = $3, cursor_position = $4, reminder_seq = $5,
                       attempts = 0, next_attempt_at = NULL
                   WHERE tenant_id = $1 AND subscription_id = $2""",
                subscription.tenant_id, subscription.subscription_id, cursor[0], cursor[1],
                item.seq if item.seq is not None else subscription.reminder_seq)
        else:
            await connection.execute(
                """UPDATE reports.webhook_subscriptions
                   SET attempts = attempts + 1, next_attempt_at = $3
                   WHERE tenant_id = $1 AND subscription_id = $2""",
                subscription.tenant_id, subscription.subscription_id, next_attempt_at)


async def deliveries(connection: asyncpg.Connection, subscription: Subscription, *,
                     limit: int, offset: int) -> tuple[list[asyncpg.Record], int]:
    rows = await connection.fetch(
        """SELECT delivery_id, event_id, event_type, event_cursor, attempt, attempted_at,
                  status_code, latency_ms, error, delivered
           FROM reports.webhook_deliveries
           WHERE tenant_id = $1 AND subscription_id = $2
           ORDER BY delivery_id DESC LIMIT $3 OFFSET $4""",
        subscription.tenant_id, subscription.subscription_id, limit, offset)
    total = await connection.fetchval(
        """SELECT count(*) FROM reports.webhook_deliveries
           WHERE tenant_id = $1 AND subscription_id = $2""",
        subscription.tenant_id, subscription.subscription_id)
    return list(rows), total


async def prune(connection: asyncpg.Connection, before: datetime, batch: int) -> int:
    """Delete up to `batch` logged attempts made before `before` (every tenant's, oldest
    first); how many were deleted."""
    result = await connection.execute(
        """DELETE FROM reports.webhook_deliveries
           WHERE (tenant_id, delivery_id) IN (
               SELECT tenant_id, delivery_id FROM reports.webhook_deliveries
               WHERE attempted_at < $1 ORDER BY attempted_at LIMIT $2)""", before, batch)
    return int(result.split()[-1])


async def concerns_subtree(connection: asyncpg.Connection, tenant_id: str,
                           unit_id: uuid.UUID, concerns: Concerns) -> bool:
    """Whether an event is about the subtree of `unit_id`, as the read models know the tree
    (the dispatcher reads no further than the projections have applied)."""
    units = list(concerns.units)
    if concerns.activity_id is not None:
        host = await connection.fetchval(
            """SELECT host_unit_id FROM reports.activities
               WHERE tenant_id = $1 AND activity_id = $2""", tenant_id, concerns.activity_id)
        if host is not None:
            units.append(host)
    for unit in units:
        if await unit_reports.within(connection, tenant_id, unit_id, unit):
            return True
    if concerns.member_id is not None and not concerns.activity_id:
        return await unit_reports.member_within(connection, tenant_id, unit_id,
                                                concerns.member_id)
    return False


async def add_reminders(connection: asyncpg.Connection, tenant_id: str,
                        reminders: list[tuple[str, str, uuid.UUID, datetime, dict[str, Any]]]
                        ) -> int:
    """(reminder id, type, unit, due, data); a reminder already made is left alone. Only
    reminders already due are added (a subscription passes over each in seq order)."""
    if not reminders:
        return 0
    status = await connection.execute(
        """INSERT INTO reports.webhook_reminders (tenant_id, reminder_id, type, unit_id,
                                                  due_at, data)
           SELECT $1, r.id, r.type, r.unit_id, r.due_at, r.data::jsonb
           FROM unnest($2::text[], $3::text[], $4::uuid[], $5::timestamptz[], $6::text[])
                AS r (id, type, unit_id, due_at, data)
           ORDER BY r.due_at, r.id
           ON CONFLICT (tenant_id, reminder_id) DO NOTHING""",
        tenant_id, [r[0] for r in reminders], [r[1] for r in reminders],
        [r[2] for r in reminders], [r[3] for r in reminders],
        [json.dumps(r[4], sort_keys=True, default=str) for r in reminders])
    return int(status.split()[-1])


async def next_reminder(connection: asyncpg.Connection, subscription: Subscription
                        ) -> tuple[asyncpg.Record | None, int]:
    """The subscription's first reminder after its reminder cursor, of its types and its
    subtree, and the seq of the last one before it that concerns it not (to pass over)."""
    rows = await connection.fetch(
        """SELECT seq, reminder_id, type, unit_id, due_at, data::text AS data
           FROM reports.webhook_reminders
           WHERE tenant_id = $1 AND seq > $2 AND type = ANY($3::text[])
           ORDER BY seq LIMIT 50""",
        subscription.tenant_id, subscription.reminder_seq, list(subscription.event_types))
    passed = subscription.reminder_seq
    for row in rows:
        if await unit_reports.within(connection, subscription.tenant_id, subscription.unit_id,
                                     row["unit_id"]):
            return row, passed
        passed = row["seq"]
    return None, passed


async def pass_over_reminders(connection: asyncpg.Connection, subscription: Subscription,
                              seq: int) -> None:
    await connection.execute(
        """UPDATE reports.webhook_subscriptions SET reminder_seq = $4
           WHERE tenant_id = $1 AND subscription_id = $2 AND reminder_seq = $3""",
        subscription.tenant_id, subscription.subscription_id, subscription.reminder_seq, seq)
