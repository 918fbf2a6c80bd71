"""Rebuild every projection from position zero without downtime.

1. Fresh, empty tables are created in the schema `reports_next` (clones of the live ones,
   primary keys only).
2. The whole feed is projected into them, tenant by tenant, in large batches, while the
   live tables keep serving and the live runner keeps them current; then their other
   indexes are built and their statistics gathered, on both connections. One connection
   reads and decodes the next batches while the other folds and saves the current one,
   each batch in one transaction with its checkpoints.
3. One transaction: hold off the live runner, project the last few events into the fresh
   tables, move the kept configuration tables across, and swap the schemas by renaming.
4. The retired tables are dropped.

Readers never wait for more than the swap itself; a reader that ran before the swap saw
the old tables, one after it sees the new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import asyncpg

from contract.cursor import Cursor, format_cursor
from contract.postgres import create_pool
from reports.adapters import checkpoints, schema
from reports.adapters.database_feed import DatabaseFeed
from reports.config import DATABASE_ROLE
from reports.service.batches import DecodedBatch, apply_decoded, decode_batch
from reports.service.ports import Feed
from reports.service.runner import catch_up

REBUILD_BATCH = 20_000
# Batches read ahead of the one being applied: enough to keep the writer busy, few enough
# that memory stays flat whatever the ledger's size.
READ_AHEAD = 2
# The reader's work_mem: a batch's rows in memory (see rebuild()).
READER_WORK_MEM = "64MB"
# With the cyclic collector paused, a collection every this many batches frees whatever
# cycles they left (asyncio's, say), so memory stays flat whatever the ledger's size.
COLLECT_EVERY = 50


@dataclass(frozen=True, slots=True)
class RebuildProgress:
    events_done: int
    events_total: int
    tenant_id: str
    position: str
    seconds: float

    @property
    def rate(self) -> float:
        return self.events_done / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if not self.rate:
            return None
        return max(0.0, (self.events_total - self.events_done) / self.rate)

    def line(self) -> str:
        eta = "?" if self.eta_seconds is None else f"{self.eta_seconds:.0f} s"
        share = 100 * self.events_done / self.events_total if self.events_total else 100.0
        return (f"rebuild: {self.events_done}/{self.events_total} events ({share:.1f}%), "
                f"{self.rate:,.0f} events/s, tenant {self.tenant_id} at {self.position}, "
                f"ETA {eta}")


async def rebuild(dsn: str, *, feed: Feed | None = None, batch_size: int = REBUILD_BATCH,
                  on_progress: Callable[[RebuildProgress], None] | None = None,
                  progress_every: float = 1.0) -> RebuildProgress:
    """`feed`: where to read the events; by default the ledger's functions in `dsn`, on a
    connection of the rebuild's own."""
    pool = await create_pool(dsn, application_name="reports-rebuild", min_size=2, max_size=2,
                             role=DATABASE_ROLE)
    try:
        async with pool.acquire() as writer, pool.acquire() as reader:
            # The feed function hands its rows over in a tuplestore, which a batch of
            # 20,000 (some 8 MB) would spill to a temporary file at the default work_mem.
            await reader.execute(f"SET work_mem = '{READER_WORK_MEM}'")
            await schema.claim_rebuild(writer)
            try:
                with _collector_paused():
                    return await _rebuild(writer, reader, feed or DatabaseFeed(reader),
                                          batch_size, on_progress, progress_every)
            finally:
                # After a lost connection the lock went with it.
                with contextlib.suppress(OSError, asyncpg.PostgresError,
                                         asyncpg.InterfaceError):
                    await schema.release_rebuild(writer)
    finally:
        await pool.close()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the rebuild folds (see COLLECT_EVERY).

    A rebuild allocates millions of short-lived objects (events, UUIDs, rows) that form no
    cycles; reference counting frees them, and the collector's passes over them took about
    a quarter of the rebuild's time. A collector that was off before stays off.
    """
    enabled = gc.isenabled()
    gc.disable()
    # What lives before the rebuild (modules, the app) is left out of its collections.
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


async def _read_ahead(feed: Feed, tenant_id: str, after: Cursor, batch_size: int,
                      queue: asyncio.Queue[DecodedBatch | None]) -> None:
    while True:
        raws = await feed.read_batch(tenant_id, after, batch_size)
        if raws:
            batch = await decode_batch(raws, after)
            after = batch.last
            await queue.put(batch)
        if len(raws) < batch_size:
            await queue.put(None)
            return


async def _rebuild(writer: asyncpg.Connection, reader: asyncpg.Connection, feed: Feed,
                   batch_size: int,
                   on_progress: Callable[[RebuildProgress], None] | None,
                   progress_every: float) -> RebuildProgress:
    # Each batch can be replayed from its checkpoint, so losing the last few commits in a
    # crash costs nothing: skip waiting for the WAL flush.
    await writer.execute("SET synchronous_commit = off")
    await schema.create_next(writer)
    tenants = await feed.tenant_ids()
    starts = {t: await checkpoints.reflected(writer, schema.NEXT, t) for t in tenants}
    # What is left to do: every tenant's events after where its rebuild starts.
    total = sum([(await feed.lag(t, start))[0] for t, start in starts.items()])
    started = time.monotonic()
    last_report = started
    done = batches = 0
    progress = RebuildProgress(0, total, "-", "0-0", 0.0)
    for tenant_id, start in starts.items():
        queue: asyncio.Queue[DecodedBatch | None] = asyncio.Queue(READ_AHEAD)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(_read_ahead(feed, tenant_id, start, batch_size, queue))
            while (batch := await queue.get()) is not None:
                await apply_decoded(writer, schema.NEXT, tenant_id, batch)
                done += batch.size
                batches += 1
                if batches % COLLECT_EVERY == 0:
                    gc.collect()
                now = time.monotonic()
                progress = RebuildProgress(done, max(total, done), tenant_id,
                                           format_cursor(batch.last), now - started)
                if on_progress is not None and now - last_report >= progress_every:
                    on_progress(progress)
                    last_report = now
    # The reader is done reading ahead: it shares the indexing and analysing.
    await schema.index_next(writer, reader)
    await schema.analyze_next(writer, reader)
    async with writer.transaction():
        await schema.lock_live(writer)
        # Tenants created meanwhile are picked up here too.
        for tenant_id in await feed.tenant_ids():
            done += await catch_up(writer, feed, tenant_id, schema=schema.NEXT,
                                   limit=batch_size)
        await schema.swap(writer)
    await schema.drop_retired(writer)
    progress = RebuildProgress(done, max(total, done), progress.tenant_id, progress.position,
                               time.monotonic() - started)
    if on_progress is not None:
        on_progress(progress)
    return progress
