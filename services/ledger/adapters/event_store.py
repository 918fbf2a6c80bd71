"""The PostgreSQL event store: append with optimistic concurrency, stream reads, the feed.

Three properties matter here and each has a test in tests/integration/test_event_store.py:

* **Append-only**: a trigger refuses UPDATE, DELETE and TRUNCATE on ledger.events.
* **Idempotent by event id**: appending an event id that is already stored with the same
  content returns the original result and appends nothing; different content is a conflict.
* **Tamper evident**: every event's hash chains it to its stream's previous event and covers
  its data, metadata and `recorded_at` (stamped here, by the append's clock); its seal is
  an HMAC of that hash with a key the database does not hold (see ledger.adapters.chain).
* **The feed never skips**: positions come from a sequence at insert time but become visible
  at commit, so "position > last seen" can pass over a slow transaction. The feed therefore
  reads only events whose writing transaction id is below the oldest transaction still
  running (`pg_snapshot_xmin(pg_current_snapshot())`), ordered by (txid, position). Every
  event committed later has a higher txid than anything already read. The price: one long
  transaction anywhere in the cluster holds the feed back until it ends, hence the short
  `idle_in_transaction_session_timeout` and the lag figures in `feed_status`.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
import msgspec

from contract.cursor import format_cursor, parse_cursor
from contract.events import Event, canonical_json, encode_data, event_type, upcast
from contract.metrics import CONFLICTS
from ledger import seal_keys
from ledger.adapters import catalogue, group_commit
from ledger.adapters.batching import Batched, columns
from ledger.adapters.chain import (
    CHAIN_VERSION,
    GENESIS_HASH,
    Sealer,
    first_break,
    link,
)

# expected_version: an exact version, NO_STREAM (the stream must not exist) or ANY.
NO_STREAM: Literal[0] = 0
ANY: None = None


class Metadata(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    actor: str
    source: Literal["api", "form", "import", "cli", "system"] = "api"
    request_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    client_time: datetime | None = None
    # A hash of the command that produced the event, to tell a retry from a different command.
    command_hash: str | None = None


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    event_id: uuid.UUID
    event: Event
    metadata: Metadata


class StoredEvent(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    position: int
    txid: int
    event_id: uuid.UUID
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: msgspec.Raw
    metadata: msgspec.Raw
    recorded_at: datetime
    hash: str
    # Which rule made `hash` (ledger.adapters.chain); the seal (hex) of chain version 2.
    chain_version: int
    seal: str | None

    @property
    def cursor(self) -> str:
        return format_cursor((self.txid, self.position))


class AppendResult(msgspec.Struct, frozen=True, kw_only=True):
    stream_id: str
    first_version: int
    last_version: int
    positions: list[int]
    event_ids: list[uuid.UUID]
    # True when every event was already stored: a retry, nothing appended.
    replayed: bool = False
    # The chain hash of the last event appended (empty for a replay).
    last_hash: bytes = b""


class FeedPage(msgspec.Struct, frozen=True, kw_only=True):
    events: list[StoredEvent]
    # Pass as `after` to continue; equals the request's cursor when nothing new was visible.
    next_cursor: str


class WrongExpectedVersion(Exception):
    def __init__(self, stream_id: str, expected: int | None, current: int) -> None:
        super().__init__(f"stream {stream_id!r} is at version {current}, expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.current = current


class EventIdConflict(Exception):
    """The event id is already stored with different content."""

    def __init__(self, event_id: uuid.UUID) -> None:
        super().__init__(f"event id {event_id} is already stored with different content")
        self.event_id = event_id


def utc_now() -> datetime:
    return datetime.now(UTC)


# The unique keys an append can clash on (revision 0012: the primary keys of the key
# tables that the events' insert trigger fills).
EVENT_ID_KEY = "event_ids_pkey"
STREAM_VERSION_KEY = "stream_versions_pkey"

_COLUMNS = """tenant_id, position, txid::text::bigint AS txid, event_id, stream_id, version,
    type, schema_version, data, metadata, recorded_at, encode(hash, 'hex') AS hash,
    chain_version, encode(seal, 'hex') AS seal"""

# ledger.events is partitioned by year of recorded_at (revision 0012): the stream's keys
# say when its head was recorded, so only that year's partition is read.
_HEAD = """SELECT version, hash FROM ledger.events
    WHERE tenant_id = $1 AND stream_id = $2
      AND recorded_at = (SELECT recorded_at FROM ledger.stream_versions
                         WHERE tenant_id = $1 AND stream_id = $2 ORDER BY version DESC LIMIT 1)
    ORDER BY version DESC LIMIT 1"""

# position and txid are the columns' defaults (the feed's visibility rule needs the txid
# of the writing transaction); recorded_at is the append's, since the hash covers it.
_INSERT = """INSERT INTO ledger.events
    (tenant_id, event_id, stream_id, version, type, schema_version, data, metadata, hash,
     recorded_at, chain_version, seal)
SELECT $1, e.event_id, $2, e.version, e.type, e.schema_version, e.data, e.metadata, e.hash,
       $10, $11, e.seal
FROM unnest($3::uuid[], $4::int[], $5::text[], $6::smallint[], $7::jsonb[], $8::jsonb[],
            $9::bytea[], $12::bytea[])
    AS e(event_id, version, type, schema_version, data, metadata, hash, seal)
RETURNING position"""

# A statement's data-modifying CTEs commit together; the positions come back in order.
_INSERT_LISTING_PARTICIPANTS = f"""WITH appended AS ({_INSERT}),
listed AS (
    INSERT INTO ledger.activity_participants (tenant_id, activity_id, member_id)
    SELECT $1, * FROM unnest($13::uuid[], $14::uuid[]) ON CONFLICT DO NOTHING)
SELECT position FROM appended ORDER BY position"""

_EXISTING = """SELECT event_id, stream_id, version, position, type, schema_version, data
    FROM ledger.events
    WHERE tenant_id = $1 AND event_id = ANY($2::uuid[]) ORDER BY position"""

_STREAM = f"""SELECT {_COLUMNS} FROM ledger.events
    WHERE tenant_id = $1 AND stream_id = $2 AND version > $3 ORDER BY version"""

_FEED = f"""SELECT {_COLUMNS} FROM ledger.events
    WHERE tenant_id = $1
      AND (txid, position) > ($2::text::xid8, $3::bigint)
      AND txid < pg_snapshot_xmin(pg_current_snapshot())
      AND ($5::text[] IS NULL OR type = ANY($5::text[]))
      AND ($6::text IS NULL OR starts_with(stream_id, $6::text))
    -- Qualified: a bare "txid" would sort by the output column (text cast), not the index.
    ORDER BY events.txid, events.position
    LIMIT $4"""

# Every event a command appended: they share its transaction and stream.
_COMMAND = f"""SELECT {_COLUMNS} FROM ledger.events
    WHERE tenant_id = $1 AND (txid, stream_id) = (
        SELECT txid, stream_id FROM ledger.events WHERE tenant_id = $1 AND event_id = $2)
    ORDER BY version"""

# Several streams' tails at once (`grouped`): one query for the calls made together.
# LATERAL: each call is its own index scan, whatever the planner guesses of the rows.
_STREAMS = f"""SELECT s.n, e.* FROM
    unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS s(t, sid, after, n)
    CROSS JOIN LATERAL (SELECT {_COLUMNS} FROM ledger.events
        WHERE tenant_id = s.t AND stream_id = s.sid AND version > s.after
        ORDER BY version) AS e
    ORDER BY s.n, e.version"""

# Activities the member checked in to between two instants (the overlap rule's candidates).
_MEMBER_ACTIVITIES = """SELECT DISTINCT stream_id FROM ledger.events
    WHERE tenant_id = $1 AND (data->>'member_id')::uuid = $2 AND type = 'CheckedIn'
      AND (data->>'at')::timestamptz BETWEEN $3 AND $4"""

_MEMBERS_ACTIVITIES = """SELECT q.n, a.stream_id FROM
    unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::timestamptz[])
        WITH ORDINALITY AS q(t, member, since, until, n)
    CROSS JOIN LATERAL (SELECT DISTINCT stream_id FROM ledger.events
        WHERE tenant_id = q.t AND (data->>'member_id')::uuid = q.member
          AND type = 'CheckedIn'
          AND (data->>'at')::timestamptz BETWEEN q.since AND q.until) AS a"""

_FEED_STATUS = """
SELECT
    (SELECT max(position) FROM ledger.events WHERE tenant_id = $1) AS head_position,
    (SELECT count(*) FROM ledger.events
        WHERE tenant_id = $1 AND txid >= pg_snapshot_xmin(pg_current_snapshot())) AS held_back,
    (SELECT extract(epoch FROM max(clock_timestamp() - xact_start))
        FROM pg_stat_activity WHERE backend_xid IS NOT NULL) AS oldest_writer_seconds"""


# Through the functions the ledger publishes to its readers (revision 0002), so the HTTP
# feed and a co-located reader answer alike.
_FEED_LAG = "SELECT events, oldest FROM ledger.feed_lag($1, $2, $3)"
_TXID_OF = "SELECT ledger.feed_txid_of($1, $2)"


class PostgresEventStore:
    """asyncpg-backed store. `on_append(tenant_id)` runs after each commit (a wake-up).

    `sealer` holds the sealing keys (default: `ledger.seal_keys.load()`); `clock` stamps
    `recorded_at` (default: the wall clock, in UTC). `grouped` lets concurrent single-event
    appends share a statement (`ledger.adapters.group_commit`), and concurrent stream reads
    and overlap look-ups likewise (`ledger.adapters.batching`); off, each call is its own.
    """

    def __init__(self, pool: asyncpg.Pool, on_append: Callable[[str], None] | None = None,
                 *, sealer: Sealer | None = None,
                 clock: Callable[[], datetime] = utc_now, grouped: bool = True) -> None:
        self._pool = pool
        self._on_append = on_append
        self._sealer = sealer or seal_keys.load()
        self._clock = clock
        self.group = group_commit.GroupCommit(pool, CHAIN_VERSION) if grouped else None
        self._stream_reads = Batched(self._read_streams) if grouped else None
        self._member_reads = Batched(self._members_activities) if grouped else None

    async def append(
        self,
        tenant_id: str,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[NewEvent],
        previous_hash: bytes | None = None,
    ) -> AppendResult:
        """Append after `expected_version`.

        A caller that knows the hash of the stream's event at `expected_version` (from a
        cached state) passes it as `previous_hash`, saving the read of the stream's head.
        """
        if not events:
            raise ValueError("nothing to append")
        if expected_version is ANY:
            previous_hash = None
        attempts = 20 if expected_version is ANY else 1
        for attempt in range(attempts):
            if attempt:
                # Contending writers spread out instead of colliding again in lockstep.
                await asyncio.sleep(random.uniform(0, 0.002 * attempt))
            try:
                result = await self._append_once(tenant_id, stream_id, expected_version, events,
                                                 previous_hash)
            except WrongExpectedVersion:
                # A retry arriving after its first attempt committed finds the version moved.
                if await self._any_stored(tenant_id, events):
                    return await self._replay(tenant_id, stream_id, events)
                CONFLICTS.inc()
                raise
            except asyncpg.UniqueViolationError as error:
                if error.constraint_name == EVENT_ID_KEY:
                    return await self._replay(tenant_id, stream_id, events)
                if error.constraint_name != STREAM_VERSION_KEY:
                    raise
                # Either a retry of events already stored (the version clash can be
                # reported before the event id clash), or another writer took the version.
                if await self._any_stored(tenant_id, events):
                    return await self._replay(tenant_id, stream_id, events)
                # Another writer took the version (retried when the caller allows any).
                CONFLICTS.inc()
                if attempt == attempts - 1:
                    current = await self.stream_version(tenant_id, stream_id)
                    raise WrongExpectedVersion(stream_id, expected_version, current) from None
                continue
            if self._on_append is not None:
                self._on_append(tenant_id)
            return result
        raise AssertionError("unreachable")

    async def _append_once(self, tenant_id: str, stream_id: str, expected_version: int | None,
                           events: Sequence[NewEvent], previous_hash: bytes | None
                           ) -> AppendResult:
        # A writer slipping in after the head read makes the INSERT fail on the
        # (stream, version) key. The INSERT alone is atomic; a transaction is opened only
        # when the list read models change with it (see ledger.adapters.catalogue).
        if previous_hash is not None and expected_version is not ANY:
            current, previous = expected_version, previous_hash
        elif expected_version == NO_STREAM:
            current, previous = 0, GENESIS_HASH
        else:
            async with self._pool.acquire() as connection:
                head = await connection.fetchrow(_HEAD, tenant_id, stream_id)
            current, previous = (
                (head["version"], bytes(head["hash"])) if head else (0, GENESIS_HASH)
            )
        if expected_version is not ANY and current != expected_version:
            raise WrongExpectedVersion(stream_id, expected_version, current)
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [])
        seals: list[bytes] = []
        version = current
        appended: list[catalogue.Appended] = []
        recorded_at = self._clock()
        for new in events:
            version += 1
            appended.append((version, new.event_id, new.event))
            type_name = event_type(new.event)
            data, metadata = encode_data(new.event), canonical_json(new.metadata)
            previous, seal = link(self._sealer, tenant_id, previous, new.event_id,
                                  stream_id, version, type_name, new.event.VERSION, data,
                                  metadata, recorded_at)
            seals.append(seal)
            for column, value in zip(
                columns,
                (new.event_id, version, type_name, new.event.VERSION, data, metadata,
                 previous),
                strict=True,
            ):
                column.append(value)
        changes = catalogue.plan(appended)
        positions: list[int] | None = None
        if self.group is not None and len(events) == 1 and not changes.others():
            # A check-in or check-out: shared with whatever else is being appended now.
            position = await self.group.append(group_commit.Row(
                tenant_id, events[0].event_id, stream_id, version, columns[2][0],
                columns[3][0], data, metadata, previous, recorded_at, seals[0],
                tuple(sorted(changes.participants))))
            if position is not None:
                positions = [position]
        if positions is None:
            positions = await self._insert(tenant_id, stream_id, columns, recorded_at,
                                           seals, changes)
        return AppendResult(
            stream_id=stream_id,
            first_version=current + 1,
            last_version=version,
            positions=positions,
            event_ids=[new.event_id for new in events],
            last_hash=previous,
        )

    async def _insert(self, tenant_id: str, stream_id: str, columns: tuple[list[Any], ...],
                      recorded_at: datetime, seals: list[bytes],
                      changes: catalogue.Changes) -> list[int]:
        inserted = (tenant_id, stream_id, *columns, recorded_at, CHAIN_VERSION, seals)
        async with self._pool.acquire() as connection:
            if not changes.others():
                # The check-in, the hottest write: its participant row goes in the same
                # statement, so the append is one round trip and needs no transaction.
                rows = await (connection.fetch(_INSERT_LISTING_PARTICIPANTS, *inserted,
                                               *changes.participant_columns())
                              if changes.participants else connection.fetch(_INSERT, *inserted))
            else:
                async with connection.transaction():
                    rows = await connection.fetch(_INSERT, *inserted)
                    await catalogue.write(connection, tenant_id, changes)
        return [row["position"] for row in rows]

    async def _any_stored(self, tenant_id: str, events: Sequence[NewEvent]) -> bool:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(_EXISTING, tenant_id, [e.event_id for e in events])
        return bool(rows)

    async def _replay(self, tenant_id: str, stream_id: str,
                      events: Sequence[NewEvent]) -> AppendResult:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(_EXISTING, tenant_id, [e.event_id for e in events])
        stored = {row["event_id"]: row for row in rows}
        for new in events:
            row = stored.get(new.event_id)
            if (
                row is None
                or row["stream_id"] != stream_id
                or row["type"] != event_type(new.event)
                # Compared in today's shape: the first attempt may predate a schema change.
                or upcast(row["type"], row["schema_version"], msgspec.json.decode(row["data"]))
                != msgspec.json.decode(encode_data(new.event))
            ):
                raise EventIdConflict(new.event_id)
        ordered = [stored[new.event_id] for new in events]
        return AppendResult(
            stream_id=stream_id,
            first_version=ordered[0]["version"],
            last_version=ordered[-1]["version"],
            positions=[row["position"] for row in ordered],
            event_ids=[new.event_id for new in events],
            replayed=True,
        )

    async def stream_version(self, tenant_id: str, stream_id: str) -> int:
        async with self._pool.acquire() as connection:
            head = await connection.fetchrow(_HEAD, tenant_id, stream_id)
        return head["version"] if head else 0

    async def command_events(self, tenant_id: str, first_event_id: uuid.UUID
                             ) -> list[StoredEvent]:
        """The events appended together with `first_event_id` (empty if it is not stored)."""
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(_COMMAND, tenant_id, first_event_id)
        return [stored_event(row) for row in rows]

    async def member_activity_streams(self, tenant_id: str, member_id: uuid.UUID,
                                      since: datetime, until: datetime) -> list[str]:
        if self._member_reads is not None:
            return await self._member_reads((tenant_id, member_id, since, until))
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(_MEMBER_ACTIVITIES, tenant_id, member_id, since, until)
        return [row["stream_id"] for row in rows]

    async def _members_activities(self, keys: list[tuple[str, uuid.UUID, datetime, datetime]]
                                  ) -> list[list[str]]:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(_MEMBERS_ACTIVITIES, *columns(keys))
        answers: list[list[str]] = [[] for _ in keys]
        for row in rows:
            answers[row["n"] - 1].append(row["stream_id"])
        return answers

    async def read_stream(self, tenant_id: str, stream_id: str,
                          after_version: int = 0) -> list[StoredEvent]:
        if self._stream_reads is not None:
            return await self._stream_reads((tenant_id, stream_id, after_version))
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(_STREAM, tenant_id, stream_id, after_version)
        return [stored_event(row) for row in rows]

    async def _read_streams(self, keys: list[tuple[str, str, int]]) -> list[list[StoredEvent]]:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(_STREAMS, *columns(keys))
        answers: list[list[StoredEvent]] = [[] for _ in keys]
        for row in rows:
            answers[row["n"] - 1].append(stored_event(row))
        return answers

    async def read_feed(
        self,
        tenant_id: str,
        after: str | None = None,
        limit: int = 100,
        types: Sequence[str] | None = None,
        stream_prefix: str | None = None,
    ) -> FeedPage:
        txid, position = parse_cursor(after)
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(
                _FEED, tenant_id, str(txid), position, limit,
                list(types) if types else None, stream_prefix,
            )
        events = [stored_event(row) for row in rows]
        return FeedPage(
            events=events,
            next_cursor=events[-1].cursor if events else format_cursor((txid, position)),
        )

    async def feed_status(self, tenant_id: str) -> dict[str, Any]:
        async with self._pool.acquire() as connection:
            row = await connection.fetchrow(_FEED_STATUS, tenant_id)
        return {
            "head_position": row["head_position"] or 0,
            "events_held_back": row["held_back"],
            "oldest_open_writer_seconds": float(row["oldest_writer_seconds"] or 0.0),
        }

    async def feed_lag(self, tenant_id: str, after: str | None) -> tuple[int, datetime | None]:
        """Events after the cursor, visible or held back, and the oldest one's recording."""
        txid, position = parse_cursor(after)
        async with self._pool.acquire() as connection:
            row = await connection.fetchrow(_FEED_LAG, tenant_id, txid, position)
        return row["events"], row["oldest"]

    async def cursor_of_position(self, tenant_id: str, position: int) -> str | None:
        async with self._pool.acquire() as connection:
            txid = await connection.fetchval(_TXID_OF, tenant_id, position)
        return None if txid is None else format_cursor((txid, position))

    async def verify_chain(self, tenant_id: str, stream_id: str) -> int | None:
        """The version of the first event that does not verify, or None if intact."""
        return first_broken_link(await self.read_stream(tenant_id, stream_id), self._sealer)


def first_broken_link(stream: Sequence[StoredEvent], sealer: Sealer | None = None
                      ) -> int | None:
    """Recompute a stream's hash chain and check its seals; the version where it breaks,
    or None (`ledger.adapters.chain.first_break` says why)."""
    broken = first_break(stream, sealer or seal_keys.load())
    return None if broken is None else broken.version


def stored_event(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(
        tenant_id=row["tenant_id"],
        position=row["position"],
        txid=row["txid"],
        event_id=row["event_id"],
        stream_id=row["stream_id"],
        version=row["version"],
        type=row["type"],
        schema_version=row["schema_version"],
        data=msgspec.Raw(row["data"]),
        metadata=msgspec.Raw(row["metadata"]),
        recorded_at=row["recorded_at"],
        hash=row["hash"],
        chain_version=row["chain_version"],
        seal=row["seal"],
    )
