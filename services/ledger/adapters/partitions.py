"""The yearly partitions of ledger.events, made before they are needed (revision 0012).

An append whose `recorded_at` falls in a year without a partition fails ("no partition of
relation "events" found for row"): there is no catch-all partition (the revision says
why). So every ledger process makes sure, at start-up and then every few hours, that the
partitions reach `MONTHS_AHEAD` months past now: next year's partition exists from
October on. `ledger.ensure_partitions` runs as the tables' owner and does nothing when
they exist already, so any number of processes may call it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

MONTHS_AHEAD = 3
EVERY_SECONDS = 6 * 3600
# After a failed call (the database away, a lock not granted in time): soon again.
RETRY_SECONDS = 60

log = logging.getLogger(__name__)


async def ensure(pool: asyncpg.Pool, months_ahead: int = MONTHS_AHEAD) -> int:
    """Create the partitions missing up to `months_ahead` months from now; how many."""
    created = await pool.fetchval("SELECT ledger.ensure_partitions($1)", months_ahead)
    if created:
        log.info("created %d partition(s) of ledger.events", created)
    return created


class PartitionKeeper:
    """Calls `ensure` at start-up (an error there stops the start) and every few hours."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await ensure(self._pool)
        self._task = asyncio.get_running_loop().create_task(self._keep())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _keep(self) -> None:
        delay = EVERY_SECONDS
        while True:
            await asyncio.sleep(delay)
            try:
                await ensure(self._pool)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                # Months remain before the next partition is needed: try again soon.
                log.warning("could not make sure of the partitions of ledger.events: %s",
                            error)
                delay = RETRY_SECONDS
            else:
                delay = EVERY_SECONDS
