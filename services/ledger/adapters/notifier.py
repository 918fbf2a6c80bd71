"""Wake-ups for feed readers. Readers always read the table; this only tells them when.

Waiters in this process are woken at once. Other processes (the reports service) hear a
NOTIFY on `ledger_events` with the tenant id as payload. NOTIFY is sent after commit from one
background task, at most once per tenant per few milliseconds, rather than inside every
append: a NOTIFY in the writing transaction takes a global lock at commit and would serialise
concurrent writers. Appends made elsewhere (the bulk loader) are heard through LISTEN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

CHANNEL = "ledger_events"
COALESCE_SECONDS = 0.005

log = logging.getLogger(__name__)


class FeedNotifier:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._signals: dict[str, asyncio.Event] = {}
        self._pending: set[str] = set()
        self._flush: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._relisten: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        await self._listen()

    async def stop(self) -> None:
        self._stopping = True
        if self._relisten is not None:
            self._relisten.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relisten
        if self._flush is not None:
            await self._flush
        if self._listener is not None:
            with contextlib.suppress(asyncpg.InterfaceError):
                await self._listener.remove_listener(CHANNEL, self._heard)
            await self._pool.release(self._listener)
            self._listener = None

    @property
    def listening(self) -> bool:
        return self._listener is not None

    async def _listen(self) -> None:
        listener = await self._pool.acquire()
        await listener.add_listener(CHANNEL, self._heard)
        listener.add_termination_listener(self._lost)
        self._listener = listener

    def _lost(self, _connection: object) -> None:
        """The LISTEN connection died (PostgreSQL restarted, the backend was killed): listen
        again once it is back. Meanwhile readers poll, so nothing is missed, only later."""
        if self._stopping or self._listener is None:
            return
        dead, self._listener = self._listener, None
        self._relisten = asyncio.get_running_loop().create_task(self._reconnect(dead))

    async def _reconnect(self, dead: asyncpg.Connection) -> None:
        with contextlib.suppress(Exception):
            await self._pool.release(dead)
        delay = 0.2
        while not self._stopping:
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            log.info("listening on %s again", CHANNEL)
            # Whatever was notified while deaf: every waiter reads the table once more.
            for tenant_id in list(self._signals):
                self._wake(tenant_id)
            return

    def appended(self, tenant_id: str) -> None:
        """Called after an append commits."""
        self._wake(tenant_id)
        self._pending.add(tenant_id)
        if self._flush is None or self._flush.done():
            self._flush = asyncio.get_running_loop().create_task(self._send())

    def signal(self, tenant_id: str) -> asyncio.Event:
        """An event set at the next wake-up for this tenant."""
        signal = self._signals.get(tenant_id)
        if signal is None:
            signal = self._signals[tenant_id] = asyncio.Event()
        return signal

    def _wake(self, tenant_id: str) -> None:
        signal = self._signals.pop(tenant_id, None)
        if signal is not None:
            signal.set()

    def _heard(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self._wake(payload)

    async def _send(self) -> None:
        await asyncio.sleep(COALESCE_SECONDS)
        tenants, self._pending = self._pending, set()
        try:
            async with self._pool.acquire() as connection:
                for tenant_id in tenants:
                    await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, tenant_id)
        except (OSError, asyncpg.PostgresError):
            # Readers fall back to polling; a lost wake-up delays, never loses, an event.
            log.warning("could not send NOTIFY", exc_info=True)
