"""The ledger's wake-ups survive losing their LISTEN connection (a database restart, a
killed backend): the notifier listens again by itself, and other processes' NOTIFYs wake
the waiters once more."""

from __future__ import annotations

import asyncio

import asyncpg

from ledger.adapters.notifier import CHANNEL, FeedNotifier


async def _until(condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time allowed")


async def test_a_killed_listen_connection_is_replaced(pool: asyncpg.Pool, tenant: str) -> None:
    notifier = FeedNotifier(pool)
    await notifier.start()
    try:
        assert notifier.listening
        listener_pid = await pool.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%' "
            "AND datname = current_database() ORDER BY backend_start DESC LIMIT 1")
        assert listener_pid is not None
        await pool.execute("SELECT pg_terminate_backend($1)", listener_pid)
        await _until(lambda: notifier.listening)
        # Heard again: a NOTIFY from another connection (the bulk loader's way) wakes it.
        signal = notifier.signal(tenant)
        for _ in range(100):
            await pool.execute("SELECT pg_notify($1, $2)", CHANNEL, tenant)
            try:
                await asyncio.wait_for(signal.wait(), 0.1)
                break
            except TimeoutError:
                continue
        assert signal.is_set()
    finally:
        await notifier.stop()
