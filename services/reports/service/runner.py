"""The projection runner: feed batches into the projections, exactly once.

Each batch is one transaction: lock the tenant's checkpoints, read the next events after
the oldest of them, fold them into each projection that has not seen them yet, save the
rows and the new checkpoints, commit. A crash anywhere rolls the whole batch back, and the
next run starts from the same checkpoints: the effect of every event lands exactly once.

The runner sleeps until the ledger's `NOTIFY ledger_events, '<tenant>'` wakes it, and polls
every `poll_interval` seconds in case a notification was missed (or never sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import msgspec

from ledger.events import BY_NAME, UnknownEventType, decode_data
from reports.adapters import checkpoints, feed
from reports.adapters.feed import Cursor, RawEvent
from reports.adapters.schema import LIVE
from reports.domain.projection import EventMeta
from reports.service.projections import PROJECTIONS, Projection

log = logging.getLogger("reports.runner")

CHANNEL = "ledger_events"
BATCH_SIZE = 2000


@dataclass(frozen=True, slots=True)
class BatchResult:
    events: int
    cursor: Cursor


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """Events read after `after`, decoded once for all projections.

    `events` holds those some projection takes, and those this code cannot read (decoded as
    None: each projection counts them as skipped); `size` counts every event read.
    """

    after: Cursor
    last: Cursor
    last_recorded_at: datetime
    size: int
    events: list[tuple[str, msgspec.Struct | None, EventMeta]]


class FeedGap(RuntimeError):
    """A batch read ahead starts after a projection's checkpoint: applying it would skip."""


# Event types skipped because this code does not know them (a newer ledger): type -> count.
# The durable count is in each checkpoint's events_skipped; this one is for logs and /status.
unknown_types: dict[str, int] = {}


def _decode(raw: RawEvent) -> msgspec.Struct | None:
    try:
        return decode_data(raw.type, raw.schema_version, raw.data)
    except UnknownEventType:
        reason = "unknown event type"
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError) as error:
        # A stored event this code cannot read (a missing upcaster, say): skip, never loop.
        reason = f"undecodable ({error})"
    unknown_types[raw.type] = unknown_types.get(raw.type, 0) + 1
    log.warning("skipping event %s at position %d: %s", raw.type, raw.position, reason)
    return None


def decode_batch(raws: Sequence[RawEvent], after: Cursor,
                 projections: Sequence[Projection] = PROJECTIONS) -> DecodedBatch:
    """Pure: no checkpoint is consulted, so a reader may decode the next batch ahead."""
    wanted = frozenset().union(*(p.event_types for p in projections))
    events = []
    for raw in raws:
        name = raw.type
        if name in wanted or name not in BY_NAME:
            # Known types no projection needs (CorrectionRequested, say) are passed over.
            events.append((name, _decode(raw), EventMeta(raw.txid, raw.position,
                                                         raw.recorded_at, raw.imported)))
    last = raws[-1]
    return DecodedBatch(after, (last.txid, last.position), last.recorded_at, len(raws), events)


async def apply_next_batch(connection: asyncpg.Connection, tenant_id: str, *,
                           schema: str = LIVE,
                           projections: Sequence[Projection] = PROJECTIONS,
                           limit: int = BATCH_SIZE) -> BatchResult:
    # Idle polls stay read-only: locking the checkpoints is a write (it takes a transaction
    # id, and every open one holds the feed's horizon back for everybody).
    names = [p.name for p in projections]
    current = await checkpoints.read(connection, schema, tenant_id)
    if len(current) == len(names) and all(n in current for n in names):
        oldest = min(current[n].cursor for n in names)
        if not await feed.read_batch(connection, tenant_id, oldest, 1):
            return BatchResult(0, oldest)
    async with connection.transaction():
        points = await checkpoints.lock(connection, schema, tenant_id, names)
        start = min(c.cursor for c in points.values())
        raws = await feed.read_batch(connection, tenant_id, start, limit)
        if not raws:
            return BatchResult(0, start)
        batch = decode_batch(raws, start, projections)
        await _apply(connection, schema, tenant_id, projections, points, batch)
        return BatchResult(batch.size, batch.last)


async def apply_decoded_batch(connection: asyncpg.Connection, tenant_id: str,
                              batch: DecodedBatch, *, schema: str = LIVE,
                              projections: Sequence[Projection] = PROJECTIONS) -> BatchResult:
    """Apply a batch read on another connection, in one transaction with the checkpoints.

    The feed never changes below its horizon, so a batch read earlier is as good as one read
    now, provided no projection's checkpoint is behind the batch's start.
    """
    async with connection.transaction():
        points = await checkpoints.lock(connection, schema, tenant_id,
                                        [p.name for p in projections])
        behind = min(c.cursor for c in points.values())
        if behind < batch.after:
            raise FeedGap(f"tenant {tenant_id}: checkpoint {behind} is behind the batch read "
                          f"after {batch.after}")
        await _apply(connection, schema, tenant_id, projections, points, batch)
        return BatchResult(batch.size, batch.last)


async def _apply(connection: asyncpg.Connection, schema: str, tenant_id: str,
                 projections: Sequence[Projection], points: dict[str, checkpoints.Checkpoint],
                 batch: DecodedBatch) -> None:
    """Fold the batch into each projection past its checkpoint; save rows and checkpoints."""
    seen = [points[p.name].cursor for p in projections]
    mine: list[list[tuple[msgspec.Struct, EventMeta]]] = [[] for _ in projections]
    skipped = [0] * len(projections)
    # Usually every projection is at the batch's start: then no per-event comparison.
    level = all(cursor == batch.after for cursor in seen)
    routes: dict[str, list[int]] = {}
    for index, projection in enumerate(projections):
        for name in projection.event_types:
            routes.setdefault(name, []).append(index)
    for name, event, meta in batch.events:
        if event is None:
            for index in range(len(projections)):
                skipped[index] += level or (meta.txid, meta.position) > seen[index]
        elif level:
            for index in routes.get(name, ()):
                mine[index].append((event, meta))
        else:
            for index in routes.get(name, ()):
                if (meta.txid, meta.position) > seen[index]:
                    mine[index].append((event, meta))
    for index, projection in enumerate(projections):
        events = mine[index]
        if events:
            fold = projection.new_batch()
            await projection.load(connection, schema, tenant_id, fold,
                                  fold.wanted([event for event, _ in events]))
            for event, meta in events:
                fold.apply(event, meta)
            await projection.save(connection, schema, tenant_id, fold)
        point = points[projection.name]
        if point.cursor < batch.last:
            point.events_applied += len(events)
            point.events_skipped += skipped[index]
            point.cursor = batch.last
            point.last_recorded_at = batch.last_recorded_at
    await checkpoints.save(connection, schema, tenant_id, list(points.values()))


async def catch_up(connection: asyncpg.Connection, tenant_id: str, *, schema: str = LIVE,
                   limit: int = BATCH_SIZE) -> int:
    """Apply batches until the tenant's visible feed is exhausted; the number of events."""
    total = 0
    while True:
        result = await apply_next_batch(connection, tenant_id, schema=schema, limit=limit)
        total += result.events
        if result.events < limit:
            return total


class Progress:
    """Lets request handlers wait for the runner's next commit instead of sleeping blindly."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def advanced(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._event.wait()


class ProjectionRunner:
    def __init__(self, pool: asyncpg.Pool, dsn: str, *, poll_interval: float = 0.5,
                 batch_size: int = BATCH_SIZE) -> None:
        self._pool = pool
        self._dsn = dsn
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._dirty: set[str] = set()
        self._listener: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.progress = Progress()

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.create_task(self._run(), name="reports-projection-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self._dirty.add(payload)
        self._wake.set()

    async def _listen(self) -> None:
        """LISTEN on a connection of its own; without it the runner still polls."""
        try:
            self._listener = await asyncpg.connect(self._dsn)
            await self._listener.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("LISTEN %s failed (%s); polling only", CHANNEL, error)
            self._listener = None

    async def _run(self) -> None:
        poll_due = True
        while True:
            self._wake.clear()
            try:
                if self._listener is None or self._listener.is_closed():
                    await self._listen()
                if poll_due:
                    async with self._pool.acquire() as connection:
                        tenants = await feed.tenant_ids(connection)
                else:
                    tenants = sorted(self._dirty)
                self._dirty.clear()
                for tenant_id in tenants:
                    await self._catch_up(tenant_id)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                # The database went away or a rebuild swapped the tables: try again shortly.
                log.exception("projection batch failed; retrying")
                await asyncio.sleep(self._poll_interval)
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                poll_due = False
            except TimeoutError:
                poll_due = True

    async def _catch_up(self, tenant_id: str) -> None:
        while True:
            async with self._pool.acquire() as connection:
                result = await apply_next_batch(connection, tenant_id, limit=self._batch_size)
            if result.events:
                self.progress.advanced()
            if result.events < self._batch_size:
                return
