"""Bulk writing for imports and generated data: many streams per transaction, through COPY.

Writes what `PostgresEventStore.append` would write (same versions, same hash chain, same
idempotency by event id), but a batch of many streams at a time:

* the events are encoded once, before the transaction, so a retried batch does not pay again;
* per batch, one query finds the event ids already stored and one finds every stream's head;
* the rows go in with one binary COPY, in one transaction per batch; `position` and `txid`
  take their column defaults, so the feed's visibility rule holds as for any other append;
  `recorded_at` is the batch's clock (one instant per batch: the hash covers it), and each
  event is hashed and sealed by `ledger.adapters.chain.link`, as the store's append does;
* the list read models (`ledger.adapters.catalogue`) are written in the same transaction.

Batches commit independently: an error stops the load at that batch, with the earlier
batches committed. Running the same input again is safe: stored events are skipped.
A stream entry is never split across batches, so each entry lands whole or not at all.
The pool must come from `contract.postgres.create_pool` (jsonb as raw JSON bytes).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

import asyncpg
import msgspec

from contract.events import Event, canonical_json, encode_data, event_type
from ledger import seal_keys
from ledger.adapters import catalogue
from ledger.adapters.chain import CHAIN_VERSION, GENESIS_HASH, Sealer, link
from ledger.adapters.event_store import (
    ANY,
    EventIdConflict,
    NewEvent,
    WrongExpectedVersion,
    utc_now,
)

# (stream id, expected version: exact, NO_STREAM or ANY, the events in order)
StreamEntry = tuple[str, int | None, Sequence[NewEvent]]

COLUMNS = ["tenant_id", "event_id", "stream_id", "version", "type", "schema_version",
           "data", "metadata", "hash", "recorded_at", "chain_version", "seal"]
# Feed readers LISTEN here (see ledger.adapters.notifier); the payload is the tenant id.
CHANNEL = "ledger_events"
DEFAULT_BATCH_SIZE = 10_000
# A concurrent writer taking a version (or an event id) between our reads and our COPY, or
# deadlocking with it, makes the batch fail as a whole; it is recomputed from fresh heads
# this many times.
ATTEMPTS = 5

# ledger.events is partitioned by year (revision 0012): the batch's ids are looked up in
# the one table of event ids first, so that only the few already stored (usually none) are
# looked for in every year's partition.
_STORED = """SELECT event_id, stream_id, type, data FROM ledger.events
    WHERE tenant_id = $1 AND event_id = ANY(ARRAY(
        SELECT event_id FROM ledger.event_ids
        WHERE tenant_id = $1 AND event_id = ANY($2::uuid[])))"""

# One backward index probe per stream in the stream keys, then one in the partition of the
# year its head was recorded in (a new stream: none). The LIMIT keeps the second lateral
# a parameterised scan, whose partitions are chosen per stream.
_HEADS = """SELECT s.stream_id, e.version, e.hash
FROM unnest($2::text[]) AS s(stream_id)
CROSS JOIN LATERAL (
    SELECT version, recorded_at FROM ledger.stream_versions k
    WHERE k.tenant_id = $1 AND k.stream_id = s.stream_id
    ORDER BY version DESC LIMIT 1
) AS h
CROSS JOIN LATERAL (
    SELECT e.version, e.hash FROM ledger.events e
    WHERE e.tenant_id = $1 AND e.stream_id = s.stream_id AND e.version = h.version
      AND e.recorded_at = h.recorded_at
    LIMIT 1
) AS e"""


class BulkResult(msgspec.Struct, kw_only=True):
    appended: int = 0
    skipped: int = 0
    batches: int = 0


class _Encoded(msgspec.Struct, frozen=True):
    event: Event
    event_id: uuid.UUID
    type_name: str
    schema_version: int
    data: bytes
    metadata: bytes


class _Entry(msgspec.Struct, frozen=True):
    stream_id: str
    expected_version: int | None
    events: list[_Encoded]


def _encode(new: NewEvent) -> _Encoded:
    return _Encoded(new.event, new.event_id, event_type(new.event), new.event.VERSION,
                    encode_data(new.event), canonical_json(new.metadata))


def _batches(streams: Iterable[StreamEntry], batch_size: int) -> Iterator[list[_Entry]]:
    batch: list[_Entry] = []
    size = 0
    for stream_id, expected_version, events in streams:
        if not events:
            continue
        batch.append(_Entry(stream_id, expected_version, [_encode(e) for e in events]))
        size += len(events)
        if size >= batch_size:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


async def bulk_append(
    pool: asyncpg.Pool,
    tenant_id: str,
    streams: Iterable[StreamEntry],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[BulkResult], None] | None = None,
    sealer: Sealer | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> BulkResult:
    """Append every entry of `streams`, batch by batch; counts of appended and skipped events.

    Raises WrongExpectedVersion when a stream is not at the expected version, and
    EventIdConflict when an event id is stored with other content (or when only some of
    an entry's events are stored, as `PostgresEventStore.append` does). `sealer` and
    `clock` as for `PostgresEventStore`.
    """
    result = BulkResult()
    writer = _Writer(sealer or seal_keys.load(), clock)
    for batch in _batches(streams, batch_size):
        appended, skipped = await _write_batch(pool, tenant_id, batch, writer)
        result.appended += appended
        result.skipped += skipped
        result.batches += 1
        if appended:
            # A wake-up for feed readers; they read the table, never the payload.
            await pool.execute("SELECT pg_notify($1, $2)", CHANNEL, tenant_id)
        if progress is not None:
            progress(result)
    return result


class _Writer(NamedTuple):
    sealer: Sealer
    clock: Callable[[], datetime]


async def _write_batch(pool: asyncpg.Pool, tenant_id: str, batch: list[_Entry],
                       writer: _Writer) -> tuple[int, int]:
    ids = [event.event_id for entry in batch for event in entry.events]
    seen: set[uuid.UUID] = set()
    for event_id in ids:
        if event_id in seen:
            raise ValueError(f"event id {event_id} appears twice in one batch of the input")
        seen.add(event_id)
    for attempt in range(ATTEMPTS):
        try:
            async with pool.acquire() as connection, connection.transaction():
                stored = await _stored(connection, tenant_id, ids)
                rows, appended, skipped = await _rows(connection, tenant_id, batch, stored,
                                                      writer)
                if rows:
                    await connection.copy_records_to_table(
                        "events", schema_name="ledger", columns=COLUMNS, records=rows)
                    await catalogue.write(connection, tenant_id, catalogue.plan(appended))
            return len(rows), skipped
        except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
            # Another writer appended to one of these streams (or stored one of these ids)
            # after we read, or two writers' COPYs waited on each other's rows; the next
            # attempt sees what the other committed.
            if attempt == ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


async def _stored(connection: asyncpg.Connection, tenant_id: str,
                  ids: list[uuid.UUID]) -> dict[uuid.UUID, asyncpg.Record]:
    rows = await connection.fetch(_STORED, tenant_id, ids)
    return {row["event_id"]: row for row in rows}


def _same_content(row: asyncpg.Record, stream_id: str, event: _Encoded) -> bool:
    # jsonb normalises key order and spacing: compare the canonical forms.
    return (row["stream_id"] == stream_id and row["type"] == event.type_name
            and canonical_json(msgspec.json.decode(row["data"])) == event.data)


async def _rows(connection: asyncpg.Connection, tenant_id: str, batch: list[_Entry],
                stored: dict[uuid.UUID, asyncpg.Record], writer: _Writer
                ) -> tuple[list[tuple], list[catalogue.Appended], int]:
    skipped = 0
    pending: list[_Entry] = []
    for entry in batch:
        found = [stored.get(event.event_id) for event in entry.events]
        for row, event in zip(found, entry.events, strict=True):
            if row is not None and not _same_content(row, entry.stream_id, event):
                raise EventIdConflict(event.event_id)
        if all(row is not None for row in found):
            skipped += len(entry.events)
        elif any(row is not None for row in found):
            raise EventIdConflict(next(e.event_id for e, r in zip(entry.events, found,
                                                                  strict=True) if r is None))
        else:
            pending.append(entry)
    if not pending:
        return [], [], skipped
    stream_ids = list(dict.fromkeys(entry.stream_id for entry in pending))
    heads = {
        row["stream_id"]: (row["version"], bytes(row["hash"]))
        for row in await connection.fetch(_HEADS, tenant_id, stream_ids)
    }
    rows: list[tuple] = []
    appended: list[catalogue.Appended] = []
    recorded_at = writer.clock()
    for entry in pending:
        version, previous = heads.get(entry.stream_id, (0, GENESIS_HASH))
        if entry.expected_version is not ANY and entry.expected_version != version:
            raise WrongExpectedVersion(entry.stream_id, entry.expected_version, version)
        for event in entry.events:
            version += 1
            previous, seal = link(writer.sealer, tenant_id, previous, event.event_id,
                                  entry.stream_id, version, event.type_name,
                                  event.schema_version, event.data, event.metadata,
                                  recorded_at)
            rows.append((tenant_id, event.event_id, entry.stream_id, version, event.type_name,
                         event.schema_version, event.data, event.metadata, previous,
                         recorded_at, CHAIN_VERSION, seal))
            appended.append((version, event.event_id, event.event))
        heads[entry.stream_id] = (version, previous)
    return rows, appended, skipped
