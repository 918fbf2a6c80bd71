"""Projection checkpoints: one row per (tenant, projection), written with each batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contract.cursor import Cursor
from reports.adapters.schema import qualify


@dataclass(slots=True)
class Checkpoint:
    projection: str
    cursor: Cursor
    events_applied: int
    events_skipped: int
    last_recorded_at: datetime | None
    updated_at: datetime | None


def _row(row: asyncpg.Record) -> Checkpoint:
    return Checkpoint(row["projection"], (row["txid"], row["position"]), row["events_applied"],
                      row["events_skipped"], row["last_recorded_at"], row["updated_at"])


async def lock(connection: asyncpg.Connection, schema: str, tenant_id: str,
               projections: Sequence[str]) -> dict[str, Checkpoint]:
    """Create missing rows and lock them until the transaction ends.

    The lock makes two runners (the server's and a CLI's, say) take turns on a tenant, so
    no batch is ever applied twice.
    """
    await connection.execute(
        qualify(schema, """INSERT INTO {s}.checkpoints (tenant_id, projection)
            SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING"""),
        tenant_id, list(projections),
    )
    rows = await connection.fetch(
        qualify(schema, """SELECT * FROM {s}.checkpoints
            WHERE tenant_id = $1 AND projection = ANY($2::text[])
            ORDER BY projection FOR UPDATE"""),
        tenant_id, list(projections),
    )
    return {row["projection"]: _row(row) for row in rows}


async def save(connection: asyncpg.Connection, schema: str, tenant_id: str,
               checkpoints: Sequence[Checkpoint]) -> None:
    await connection.executemany(
        qualify(schema, """UPDATE {s}.checkpoints
            SET txid = $3, position = $4, events_applied = $5, events_skipped = $6,
                last_recorded_at = $7, updated_at = now()
            WHERE tenant_id = $1 AND projection = $2"""),
        [(tenant_id, c.projection, c.cursor[0], c.cursor[1], c.events_applied,
          c.events_skipped, c.last_recorded_at) for c in checkpoints],
    )


async def read(connection: asyncpg.Connection, schema: str,
               tenant_id: str) -> dict[str, Checkpoint]:
    rows = await connection.fetch(
        qualify(schema, "SELECT * FROM {s}.checkpoints WHERE tenant_id = $1"), tenant_id
    )
    return {row["projection"]: _row(row) for row in rows}


async def reflected(connection: asyncpg.Connection, schema: str, tenant_id: str) -> Cursor:
    """The feed position every projection of the tenant has reached (the oldest of them)."""
    row = await connection.fetchrow(
        qualify(schema, """SELECT txid, position FROM {s}.checkpoints WHERE tenant_id = $1
            ORDER BY txid, position LIMIT 1"""),
        tenant_id,
    )
    return (row["txid"], row["position"]) if row else (0, 0)
