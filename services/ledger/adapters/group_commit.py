"""Group commit: concurrent single-event appends to different streams share one statement.

A check-in is one event appended to its activity's stream. Alone it costs one round trip
and one commit; sixteen of them arriving together cost sixteen, each with the socket
sends, the protocol work in asyncpg and the WAL flush. Here they are gathered: an append
that finds a writer free is written at once; those arriving while `pipelines` batches are
in flight wait for the next batch, which takes every one that is waiting (up to
`max_batch`). A batch is one `INSERT` outside any transaction, so it commits (durably:
synchronous_commit stays on) before any caller hears of it.

What stays exact:

* **One caller's clash is its own.** A row whose stream version another writer took, or
  whose event id is stored (a retry), is left out of the statement; the others commit. The
  caller left out is told `None` and appends again on its own, the way it would have
  without grouping, which raises the version clash or answers the replay. Two rows of one
  batch with the same key, or a clash with a transaction still in flight, fail the
  statement as a whole (the keys' trigger), and then every caller appends on its own.
* **Versions and the hash chain** are the caller's: it computed them from its stream's
  state, under the executor's per-stream lock, so a batch never holds two events of one
  stream decided on the same state. Should it (another process, or a retry racing its first
  attempt), the unique key keeps one and the other is skipped as above.
* **The feed never skips**: a batch is one transaction, so its events share a txid and
  become visible together; the feed's rule (`ledger.adapters.event_store`) is unchanged.
* **A failed batch loses nothing**: if the statement fails as a whole (a lost connection,
  a row PostgreSQL refuses), every caller in it appends again on its own, and anything
  that did commit is found by its event id and answered as a replay.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

import asyncpg

from ledger.adapters.batching import Batched, columns

_BATCH = """WITH input AS (
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::int[], $5::text[],
                         $6::smallint[], $7::jsonb[], $8::jsonb[], $9::bytea[],
                         $10::timestamptz[], $11::bytea[]) WITH ORDINALITY
        AS e(tenant_id, event_id, stream_id, version, type, schema_version, data, metadata,
             hash, recorded_at, seal, n)),
appended AS (
    INSERT INTO ledger.events
        (tenant_id, event_id, stream_id, version, type, schema_version, data, metadata, hash,
         recorded_at, chain_version, seal)
    SELECT tenant_id, event_id, stream_id, version, type, schema_version, data, metadata,
           hash, recorded_at, $12, seal
    FROM input i
    -- The keys live in tables of their own (revision 0012), filled by the events' insert
    -- trigger, which would fail the whole statement on a clash: rows whose key is taken
    -- are left out here, and only a clash with a transaction still in flight fails it.
    WHERE NOT EXISTS (SELECT FROM ledger.event_ids k
                      WHERE k.tenant_id = i.tenant_id AND k.event_id = i.event_id)
      AND NOT EXISTS (SELECT FROM ledger.stream_versions k
                      WHERE k.tenant_id = i.tenant_id AND k.stream_id = i.stream_id
                        AND k.version = i.version)
    ORDER BY n
    RETURNING tenant_id, event_id, position),
listed AS (
    INSERT INTO ledger.activity_participants (tenant_id, activity_id, member_id)
    SELECT p.tenant_id, p.activity_id, p.member_id
    FROM unnest($13::text[], $14::uuid[], $15::uuid[], $16::uuid[])
        AS p(tenant_id, event_id, activity_id, member_id)
    JOIN appended a ON a.tenant_id = p.tenant_id AND a.event_id = p.event_id
    -- Sorted: concurrent batches lock the rows they share in the same order.
    ORDER BY p.tenant_id, p.activity_id, p.member_id
    ON CONFLICT DO NOTHING)
SELECT tenant_id, event_id, position FROM appended"""


class Row(NamedTuple):
    """One event, encoded and chained by the caller."""

    tenant_id: str
    event_id: uuid.UUID
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: bytes
    metadata: bytes
    hash: bytes
    recorded_at: datetime
    seal: bytes
    # (activity id, member id) rows of ledger.activity_participants it adds.
    participants: tuple[tuple[uuid.UUID, uuid.UUID], ...]


class GroupCommit:
    """Writes single-event appends in shared batches; see the module's docstring."""

    def __init__(self, pool: asyncpg.Pool, chain_version: int, *, pipelines: int = 2,
                 max_batch: int = 256) -> None:
        self._pool = pool
        self._chain_version = chain_version
        self.batches = Batched(self._write, pipelines=pipelines, max_batch=max_batch)
        # Events the shared statements wrote (not those their callers then appended alone).
        self.written = 0

    async def append(self, row: Row) -> int | None:
        """The event's position once committed, or None if its row was not written (a
        clash, or the batch failed): the caller then appends on its own."""
        return await self.batches(row)

    async def _write(self, rows: list[Row]) -> list[int | None]:
        try:
            async with self._pool.acquire() as connection:
                stored = await connection.fetch(_BATCH, *columns([row[:11] for row in rows]),
                                                self._chain_version,
                                                *_participant_columns(rows))
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            # Each caller appends alone and gets its own answer; what committed is a replay.
            return [None] * len(rows)
        self.written += len(stored)
        positions = {(r["tenant_id"], r["event_id"]): r["position"] for r in stored}
        # An event id twice in one batch (a retry racing its first attempt): the first row
        # was written; the other caller appends alone and is told it was a replay.
        return [positions.pop((row.tenant_id, row.event_id), None) for row in rows]


def _participant_columns(rows: list[Row]) -> tuple[list[object], ...]:
    columns: tuple[list[object], ...] = ([], [], [], [])
    for row in rows:
        for activity_id, member_id in row.participants:
            for column, value in zip(columns, (row.tenant_id, row.event_id, activity_id,
                                               member_id), strict=True):
                column.append(value)
    return columns
