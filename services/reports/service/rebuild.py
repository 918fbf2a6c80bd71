"""Rebuild every projection from position zero without downtime.

1. Fresh, empty tables are created in the schema `reports_next` (clones of the live ones,
   primary keys only).
2. The whole feed is projected into them, tenant by tenant, in large batches, while the
   live tables keep serving and the live runner keeps them current; then their other
   indexes are built.
3. One transaction: hold off the live runner, project the last few events into the fresh
   tables, move the kept configuration tables across, and swap the schemas by renaming.
4. The retired tables are dropped.

Readers never wait for more than the swap itself; a reader that ran before the swap saw
the old tables, one after it sees the new ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from ledger.adapters.database import create_pool
from reports.adapters import feed, schema
from reports.service.runner import apply_next_batch, catch_up

REBUILD_BATCH = 5000


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


async def rebuild(dsn: str, *, batch_size: int = REBUILD_BATCH,
                  on_progress: Callable[[RebuildProgress], None] | None = None,
                  progress_every: float = 1.0) -> RebuildProgress:
    pool = await create_pool(dsn, application_name="reports-rebuild", min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:
            return await _rebuild(connection, batch_size, on_progress, progress_every)
    finally:
        await pool.close()


async def _rebuild(connection: asyncpg.Connection, batch_size: int,
                   on_progress: Callable[[RebuildProgress], None] | None,
                   progress_every: float) -> RebuildProgress:
    # Each batch can be replayed from its checkpoint, so losing the last few commits in a
    # crash costs nothing: skip waiting for the WAL flush.
    await connection.execute("SET synchronous_commit = off")
    await schema.create_next(connection)
    total = await connection.fetchval("SELECT count(*) FROM ledger.events")
    started = time.monotonic()
    last_report = started
    done = 0
    progress = RebuildProgress(0, total, "-", "0-0", 0.0)
    for tenant_id in await feed.tenant_ids(connection):
        while True:
            result = await apply_next_batch(connection, tenant_id, schema=schema.NEXT,
                                            limit=batch_size)
            done += result.events
            now = time.monotonic()
            progress = RebuildProgress(done, max(total, done), tenant_id,
                                       feed.format_cursor(result.cursor), now - started)
            if on_progress is not None and now - last_report >= progress_every:
                on_progress(progress)
                last_report = now
            if result.events < batch_size:
                break
    await schema.index_next(connection)
    async with connection.transaction():
        await schema.lock_live(connection)
        # Tenants created meanwhile are picked up here too.
        for tenant_id in await feed.tenant_ids(connection):
            done += await catch_up(connection, tenant_id, schema=schema.NEXT, limit=batch_size)
        await schema.swap(connection)
    await schema.drop_retired(connection)
    progress = RebuildProgress(done, max(total, done), progress.tenant_id, progress.position,
                               time.monotonic() - started)
    if on_progress is not None:
        on_progress(progress)
    return progress
