"""`reports rebuild`: fresh read models from position zero, swapped in, nothing lost."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from reports.adapters import honor_roll_store, schema
from reports.adapters.database_feed import DatabaseFeed
from reports.domain.honor_roll_rules import STANDARD
from reports.service.rebuild import rebuild
from reports.service.runner import ProjectionRunner

from .conftest import shanghai
from .test_engine import _dump


async def test_rebuild_recomputes_and_keeps_the_rule_sets(history, pool, database_url):
    district = await history.unit("district", None)
    member = await history.member(district)
    activity, participation = await history.served(district, member, shanghai(2025, 3, 3), 90)
    await history.correct(activity, member, participation, 45, 90)
    await history.project()
    before = await _dump(pool, history.tenant_id)
    async with pool.acquire() as connection:
        custom = await honor_roll_store.add_rule_set(
            connection, history.tenant_id,
            STANDARD, "test")
    # Damage the live read model: the rebuild must not copy it, but recompute it.
    await pool.execute("UPDATE reports.participations SET minutes = 999 WHERE tenant_id = $1",
                       history.tenant_id)
    lines = []
    result = await rebuild(database_url, batch_size=3, on_progress=lambda p: lines.append(p),
                           progress_every=0)
    assert result.events_done >= 7 and lines and lines[-1].line().startswith("rebuild: ")
    assert await _dump(pool, history.tenant_id) == before
    async with pool.acquire() as connection:
        kept = await honor_roll_store.rule_set(connection, history.tenant_id, "standard", None)
    assert kept == custom and custom.version == 2
    # The live runner's tables are the new ones, and they go on being projected.
    await history.served(district, member, shanghai(2025, 3, 4), 30)
    await history.project()
    assert await pool.fetchval(
        "SELECT count(*) FROM reports.participations WHERE tenant_id = $1",
        history.tenant_id) == 2


async def _next_exists(pool) -> bool:
    return await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1",
                               schema.NEXT) == 1


async def test_what_a_dead_rebuild_left_is_dropped_at_the_next_start_but_not_under_a_live_one(
        history, pool, database_url):
    await history.unit("district", None)
    await history.project()
    # A rebuild that held the lock and filled NEXT, then died with its connection.
    dead = await asyncpg.connect(database_url)
    await schema.claim_rebuild(dead)
    await schema.create_next(dead)
    # While it lives, neither a second rebuild nor a starting runner touch its work.
    with pytest.raises(schema.RebuildRunning):
        await rebuild(database_url)
    async with pool.acquire() as connection:
        assert not await schema.drop_abandoned(connection)
    assert await _next_exists(pool)
    await dead.close()
    runner = ProjectionRunner(pool, DatabaseFeed(pool), None, poll_interval=0.05)
    await runner.start()
    try:
        for _ in range(100):
            if not await _next_exists(pool):
                break
            await asyncio.sleep(0.05)
        assert not await _next_exists(pool)
    finally:
        await runner.stop()
    # The lock was released: a rebuild runs again, and leaves nothing behind.
    await rebuild(database_url)
    assert not await _next_exists(pool)
