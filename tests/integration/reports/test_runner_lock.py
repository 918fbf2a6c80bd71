"""One active projection runner across workers and hosts (the advisory lock of
reports.service.runner), fail-over when the holder dies, and a stop that lets the batch
under way commit."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg

from contract.postgres import create_pool
from reports.adapters import checkpoints
from reports.adapters.database_feed import DatabaseFeed
from reports.service.rebuild import rebuild
from reports.service.runner import ProjectionRunner

from .conftest import History, shanghai
from .test_engine import _dump


async def _until(condition, what: str, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.02)):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} within {seconds} s")


async def _reflected(pool: asyncpg.Pool, history: History) -> bool:
    target = await history.feed.cursor_of_position(history.tenant_id, history.last_position)
    async with pool.acquire() as connection:
        return await checkpoints.reflected(connection, "reports", history.tenant_id) >= target


async def test_one_runner_projects_and_another_takes_over_when_it_dies(
        history: History, pool: asyncpg.Pool, database_url: str) -> None:
    # A scope of this test's own: other runners in this database don't contend.
    scope = f"test:{uuid.uuid4().hex}"
    pools = [await create_pool(database_url, application_name=f"runner-{i}", min_size=1,
                               max_size=4) for i in range(2)]
    first, second = (ProjectionRunner(p, DatabaseFeed(p), database_url, poll_interval=0.05,
                                      lock_scope=scope) for p in pools)
    try:
        await first.start()

        async def first_active() -> bool:
            return first.state == "active"

        await _until(first_active, "the first runner did not take the lock")
        await second.start()
        unit = await history.unit("district", None)
        member = await history.member(unit)
        await history.served(unit, member, shanghai(2025, 3, 3), 90)
        await _until(lambda: _reflected(pool, history), "the holder did not project")
        assert (first.state, second.state) == ("active", "standby")

        # The holder dies as a killed process does: its connections drop, nothing unlocks.
        pools[0].terminate()

        async def second_active() -> bool:
            return second.state == "active"

        await _until(second_active, "the standby did not take over")
        other = await history.member(unit)
        await history.served(unit, other, shanghai(2025, 3, 4), 45)
        await _until(lambda: _reflected(pool, history), "the new holder did not project")
    finally:
        await second.stop()
        # The first runner's pool was torn down under it, as a killed process's would be;
        # what its task raised afterwards (asyncpg refusing to release into a terminated
        # pool) is an artefact of dying in-process, not of the fail-over under test.
        with contextlib.suppress(asyncpg.InterfaceError, asyncpg.InternalClientError):
            await first.stop()
        for p in pools:
            p.terminate()
    assert second.state == "stopped"
    projected = await _dump(pool, history.tenant_id)
    assert projected["participations"], "nothing was projected"
    await rebuild(database_url, progress_every=0)
    assert await _dump(pool, history.tenant_id) == projected


async def test_stop_lets_the_batch_under_way_commit(history: History, pool: asyncpg.Pool,
                                                    database_url: str) -> None:
    unit = await history.unit("district", None)
    for day in range(1, 6):
        await history.served(unit, await history.member(unit), shanghai(2025, 4, day), 60)

    class SlowFeed(DatabaseFeed):
        """Reads a batch slowly, so that stop() arrives while it is under way."""

        read = asyncio.Event()

        async def read_batch(self, tenant_id, after, limit, *, wait=0):
            batch = await super().read_batch(tenant_id, after, limit, wait=wait)
            if batch and limit > 1:
                self.read.set()
                await asyncio.sleep(0.3)
            return batch

    feed = SlowFeed(pool)
    runner = ProjectionRunner(pool, feed, None, poll_interval=0.05,
                              lock_scope=f"test:{uuid.uuid4().hex}")
    await runner.start()
    await asyncio.wait_for(feed.read.wait(), 20)
    await runner.stop()
    assert await _reflected(pool, history), "the batch under way was not committed"


async def test_a_runner_whose_lock_connection_broke_takes_the_lock_again(
        history: History, pool: asyncpg.Pool, database_url: str) -> None:
    """As after a database restart: the server ends the holder's backends; the pool takes
    the broken lock connection back, and the runner must not keep asking it."""
    scope = f"test:{uuid.uuid4().hex}"
    runner_pool = await create_pool(database_url, application_name="runner-restarted",
                                    min_size=1, max_size=4)
    runner = ProjectionRunner(runner_pool, DatabaseFeed(runner_pool), database_url,
                              poll_interval=0.05, lock_scope=scope)
    try:
        await runner.start()

        async def active() -> bool:
            return runner.state == "active"

        await _until(active, "the runner did not take the lock")
        await pool.execute("""SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                              WHERE application_name = 'runner-restarted'""")
        unit = await history.unit("district", None)
        member = await history.member(unit)
        await history.served(unit, member, shanghai(2025, 3, 5), 30)
        await _until(lambda: _reflected(pool, history), "the runner did not project again")

        # pg_terminate_backend only signals: a batch may go through a connection that has
        # not ended yet, before the runner sees its lock connection gone. What must hold is
        # that it takes the lock again, on a live connection, and stays active.
        async def held_again() -> bool:
            return bool(await pool.fetchval(
                """SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                   WHERE l.locktype = 'advisory' AND l.granted
                     AND a.application_name = 'runner-restarted'"""))

        await _until(held_again, "the runner did not take the lock again")
        assert runner.state == "active"
    finally:
        await runner.stop()
        runner_pool.terminate()
