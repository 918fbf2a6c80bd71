"""The projection runner: feed batches into the projections, exactly once.

Each batch is one transaction: lock the tenant's checkpoints, read the next events after
the oldest of them, fold them into each projection that has not seen them yet, save the
rows and the new checkpoints, commit. A crash anywhere rolls the whole batch back, and the
next run starts from the same checkpoints: the effect of every event lands exactly once.

The runner sleeps until the ledger's `NOTIFY ledger_events, '<tenant>'` wakes it, and polls
every `poll_interval` seconds in case a notification was missed (or never sent). Over the
ledger's HTTP feed (another database: no NOTIFY reaches it) an idle runner long-polls the
feed instead, for `idle_wait` seconds at a time.

One runner projects at a time, across the workers of a server and across hosts: it holds
the session advisory lock `RUNNER_LOCK` (per database and `lock_scope`) on a connection of
its own while it works. The
others stand by, trying the lock every `poll_interval`; when the holder dies its session
ends, the lock is free, and one of them takes over from the checkpoints (which stay the
guarantee of exactly once even if two ran: each batch locks them). A runner that loses
its lock connection stops projecting until it holds the lock again.

`stop()` lets the batch under way commit (up to `grace` seconds) before it cancels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from contract.cursor import Cursor
from contract.metrics import PROJECTED, RUNNER_ACTIVE
from contract.postgres import set_role
from reports.adapters import checkpoints, schema
from reports.adapters.schema import LIVE
from reports.config import DATABASE_ROLE
from reports.service.batches import apply_batch, decode_batch
from reports.service.ports import Feed, FeedUnavailable
from reports.service.projections import PROJECTIONS, Projection

log = logging.getLogger("reports.runner")

# The advisory lock's name; `lock_scope` tells apart runners that project different feeds
# into one database (a reports deployment per tenant over the ledger's HTTP feed).
RUNNER_LOCK = "reports.projection_runner:{scope}"
_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended($1, 0))"

CHANNEL = "ledger_events"
BATCH_SIZE = 2000


@dataclass(frozen=True, slots=True)
class BatchResult:
    events: int
    cursor: Cursor


async def apply_next_batch(connection: asyncpg.Connection, feed: Feed, tenant_id: str, *,
                           schema: str = LIVE,
                           projections: Sequence[Projection] = PROJECTIONS,
                           limit: int = BATCH_SIZE, idle_wait: float = 0) -> BatchResult:
    """`idle_wait`: how long the feed may long-poll when nothing is new (seconds)."""
    # Idle polls stay read-only: locking the checkpoints is a write (it takes a transaction
    # id, and every open one holds the feed's horizon back for everybody).
    names = [p.name for p in projections]
    current = await checkpoints.read(connection, schema, tenant_id)
    if len(current) == len(names) and all(n in current for n in names):
        oldest = min(current[n].cursor for n in names)
        if not await feed.read_batch(tenant_id, oldest, 1, wait=idle_wait):
            return BatchResult(0, oldest)
    async with connection.transaction():
        points = await checkpoints.lock(connection, schema, tenant_id, names)
        start = min(c.cursor for c in points.values())
        # The checkpoints stay locked while the feed is read (on another connection, or over
        # HTTP): a second runner waits, and whatever is read after `start` lands once.
        raws = await feed.read_batch(tenant_id, start, limit)
        if not raws:
            return BatchResult(0, start)
        batch = await decode_batch(raws, start, projections)
        await apply_batch(connection, schema, tenant_id, batch, points,
                          projections=projections)
        return BatchResult(batch.size, batch.last)


async def catch_up(connection: asyncpg.Connection, feed: Feed, tenant_id: str, *,
                   schema: str = LIVE, limit: int = BATCH_SIZE) -> int:
    """Apply batches until the tenant's visible feed is exhausted; the number of events."""
    total = 0
    while True:
        result = await apply_next_batch(connection, feed, tenant_id, schema=schema,
                                        limit=limit)
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
    """`listen_dsn`: where the ledger's NOTIFY arrives (None: nowhere, e.g. over HTTP), and
    `listen_role` the role to listen as there; `idle_wait`: how long a caught-up tenant's
    feed read may long-poll."""

    def __init__(self, pool: asyncpg.Pool, feed: Feed, listen_dsn: str | None, *,
                 listen_role: str = DATABASE_ROLE,
                 poll_interval: float = 0.5, idle_wait: float = 0,
                 batch_size: int = BATCH_SIZE, grace: float = 10.0,
                 lock_scope: str = "all") -> None:
        self._pool = pool
        self._lock_name = RUNNER_LOCK.format(scope=lock_scope)
        self._grace = grace
        self._stopping = False
        self._lock: asyncpg.pool.PoolConnectionProxy | None = None
        self._feed = feed
        self._dsn = listen_dsn
        self._listen_role = listen_role
        self._poll_interval = poll_interval
        self._idle_wait = idle_wait
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._dirty: set[str] = set()
        self._listener: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._swept = False
        self.progress = Progress()

    async def start(self) -> None:
        if self._dsn is not None:
            await self._listen()
        self._task = asyncio.create_task(self._run(), name="reports-projection-runner")

    @property
    def state(self) -> str:
        """"active" (holds the lock), "standby", or "stopped" (not running)."""
        if self._task is None or self._task.done():
            return "stopped"
        return "active" if self._lock is not None else "standby"

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            # The batch under way commits; past the grace it is cancelled (and rolls back).
            done, _ = await asyncio.wait({self._task}, timeout=self._grace)
            if not done:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._release()
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()

    async def _hold(self) -> bool:
        """Whether this runner holds the lock now (taking it if it is free)."""
        if self._lock is not None:
            try:
                alive = not self._lock.is_closed()
            except asyncpg.InterfaceError:
                # Its connection broke (the database restarted) and the pool took it back:
                # the proxy refuses every call, and the server has let the lock go.
                alive = False
            if alive:
                return True
            log.warning("projection runner lost its lock connection; standing by")
            await self._release()
        connection = await self._pool.acquire()
        try:
            held = await connection.fetchval(_TRY_LOCK, self._lock_name)
        except BaseException:
            await self._pool.release(connection)
            raise
        if not held:
            await self._pool.release(connection)
            return False
        self._lock = connection
        RUNNER_ACTIVE.set(1)
        log.info("projection runner active (pid %d holds the lock)", os.getpid())
        return True

    async def _release(self) -> None:
        connection, self._lock = self._lock, None
        RUNNER_ACTIVE.set(0)
        if connection is None:
            return
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            if not connection.is_closed():
                await connection.execute(_UNLOCK, self._lock_name)
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await self._pool.release(connection)

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self._dirty.add(payload)
        self._wake.set()

    async def _listen(self) -> None:
        """LISTEN on a connection of its own; without it the runner still polls."""
        try:
            self._listener = await asyncpg.connect(self._dsn)
            await set_role(self._listener, self._listen_role)
            await self._listener.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("LISTEN %s failed (%s); polling only", CHANNEL, error)
            self._listener = None

    async def _run(self) -> None:
        poll_due = True
        while not self._stopping:
            self._wake.clear()
            try:
                if not await self._hold():
                    await self._sleep()
                    poll_due = True
                    continue
                if not self._swept:
                    await self._sweep()
                if self._dsn is not None and (self._listener is None
                                              or self._listener.is_closed()):
                    await self._listen()
                if poll_due:
                    tenants = await self._feed.tenant_ids()
                else:
                    tenants = sorted(self._dirty)
                self._dirty.clear()
                for tenant_id in tenants:
                    if self._stopping:
                        return
                    await self._catch_up(tenant_id)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                    asyncpg.InternalClientError, FeedUnavailable):
                # The database or the ledger went away (a connection ended mid-operation
                # leaves asyncpg's protocol in an InternalClientError), or a rebuild swapped
                # the tables: try again shortly.
                log.exception("projection batch failed; retrying")
                await self._sleep()
            if self._idle_wait:
                # The long poll in the idle check was the wait: poll again at once.
                continue
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # arrives as the wake-up completes, and `stop` then waits forever.
            try:
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()
                poll_due = False
            except TimeoutError:
                poll_due = True

    async def _sweep(self) -> None:
        """Once per start, as soon as the database answers: what a killed rebuild left."""
        async with self._pool.acquire() as connection:
            try:
                if await schema.drop_abandoned(connection):
                    log.warning("dropped the schemas %s/%s a rebuild left behind",
                                schema.NEXT, schema.RETIRED)
            except asyncpg.InsufficientPrivilegeError as error:
                # Not this role's to drop: say so, and project all the same.
                log.warning("cannot drop what a rebuild left behind: %s", error)
        self._swept = True

    async def _sleep(self) -> None:
        """`poll_interval`, or less if `stop` wakes the runner."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll_interval):
                await self._wake.wait()

    async def _catch_up(self, tenant_id: str) -> None:
        while not self._stopping:
            async with self._pool.acquire() as connection:
                result = await apply_next_batch(connection, self._feed, tenant_id,
                                                limit=self._batch_size,
                                                idle_wait=self._idle_wait)
            if result.events:
                PROJECTED.inc(result.events)
                self.progress.advanced()
            if result.events < self._batch_size:
                return
