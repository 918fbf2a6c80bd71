"""Revision 0012: ledger.events partitioned by year, its keys in tables of their own.

The upgrade of a database that holds events (on its own database, migrated to 0011
first) keeps every event exactly, and the store, the feed and the chains work across the
partitions it makes; the partitions are made ahead, and a year without one is refused.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from itertools import pairwise

import asyncpg
import pytest
from alembic import command

from contract.postgres import create_pool
from infra import migrate
from ledger.adapters import partitions
from ledger.adapters.event_store import (
    NO_STREAM,
    EventIdConflict,
    PostgresEventStore,
    WrongExpectedVersion,
)
from ledger.config import DATABASE_ROLE
from tests.integration.test_event_store import read_visible
from tests.new_events import renamed

_ROWS = """SELECT position, txid::text AS txid, event_id, stream_id, version, type,
        schema_version, data, metadata, recorded_at, hash, chain_version, seal
    FROM ledger.events WHERE tenant_id = $1 ORDER BY position"""

THIS_YEAR = datetime.now(UTC).year
LAST_YEAR = datetime(THIS_YEAR - 1, 6, 1, tzinfo=UTC)


@pytest.fixture
async def database_at_0011(database_url: str) -> AsyncIterator[str]:
    server = database_url.rpartition("/")[0]
    database = f"partitions_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f"CREATE DATABASE {database}")
        url = f"{server}/{database}"
        # alembic's environment runs its own event loop: a thread of its own.
        await asyncio.to_thread(migrate.upgrade, url, "0011")
        yield url
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        await admin.close()


async def _pages(store: PostgresEventStore, tenant: str, after: str | None) -> list[int]:
    """Every position the feed hands out after `after`, read two at a time."""
    positions: list[int] = []
    while True:
        page = await store.read_feed(tenant, after=after, limit=2)
        if not page.events:
            return positions
        positions += [event.position for event in page.events]
        after = page.next_cursor


async def test_the_upgrade_keeps_every_event_and_the_store_works_across_partitions(
        database_at_0011: str) -> None:
    pool = await create_pool(database_at_0011, application_name="tests-partitions",
                             max_size=4)
    try:
        tenant = "t-partitions"
        await pool.execute("INSERT INTO ledger.tenants VALUES ($1, 'x')", tenant)
        old, now = (PostgresEventStore(pool, clock=lambda: LAST_YEAR),
                    PostgresEventStore(pool))
        retried = renamed("b")
        # This code reads a head in 0012's key tables: before the upgrade it is given.
        first = await old.append(tenant, "s", NO_STREAM, [renamed("a"), retried])
        await now.append(tenant, "s", 2, [renamed("c")], previous_hash=first.last_hash)
        other = await old.append(tenant, "other", NO_STREAM, [renamed("x")])
        await now.append(tenant, "other", 1, [renamed("y")], previous_hash=other.last_hash)
        before = await pool.fetch(_ROWS, tenant)
        await read_visible(now, tenant, len(before))
        cursor = (await now.read_feed(tenant, limit=2)).next_cursor
        # A rolled-back append took a position: positions go on after it, not into it.
        with pytest.raises(RuntimeError):
            async with pool.acquire() as connection, connection.transaction():
                await connection.fetchval("SELECT nextval(pg_get_serial_sequence("
                                          "'ledger.events', 'position'))")
                raise RuntimeError("rolled back")
        taken = max(row["position"] for row in before) + 1
    finally:
        await pool.close()

    await asyncio.to_thread(migrate.upgrade, database_at_0011)

    pool = await create_pool(database_at_0011, application_name="tests-partitions",
                             max_size=4, role=DATABASE_ROLE)
    try:
        assert await pool.fetch(_ROWS, tenant) == before
        where = await _partitions(pool, tenant)
        assert [where[row["position"]] for row in before] == [
            "ledger.events_history" if row["recorded_at"].year < THIS_YEAR
            else f"ledger.events_{THIS_YEAR}" for row in before]
        old, now = (PostgresEventStore(pool, clock=lambda: LAST_YEAR),
                    PostgresEventStore(pool))
        for stream_id in ("s", "other"):
            assert await now.verify_chain(tenant, stream_id) is None
        # The keys came along: a retry is a replay, a clash a clash, whatever the year.
        replay = await now.append(tenant, "s", 1, [retried])
        assert replay.replayed and replay.positions == [before[1]["position"]]
        with pytest.raises(EventIdConflict):
            await now.append(tenant, "s", 1, [renamed("other b", retried.event_id)])
        with pytest.raises(WrongExpectedVersion):
            await old.append(tenant, "s", 2, [renamed("late")])
        # The head is found in its own year's partition; the chain goes on across them.
        appended = await old.append(tenant, "s", 3, [renamed("d")])
        assert appended.positions[0] > taken
        await now.append(tenant, "s", 4, [renamed("e")])
        assert await now.stream_version(tenant, "s") == 5
        assert await now.verify_chain(tenant, "s") is None
        assert [e.version for e in await now.read_stream(tenant, "s", 2)] == [3, 4, 5]

        # The feed: every event once, in (txid, position) order, whichever partition holds
        # it, from the start and from a cursor handed out before the upgrade.
        every = [row["position"] for row in await pool.fetch(
            """SELECT position FROM ledger.events WHERE tenant_id = $1
               ORDER BY txid, position""", tenant)]
        await read_visible(now, tenant, len(every))
        assert await _pages(now, tenant, None) == every
        assert await _pages(now, tenant, cursor) == every[2:]
        # Appends alternated between last year's clock and now's: the feed went back and
        # forth between the two partitions.
        where = await _partitions(pool, tenant)
        crossings = sum(where[a] != where[b] for a, b in pairwise(every))
        assert crossings >= 4
    finally:
        await pool.close()

    # And back: 0011's single table with every event, the later ones included.
    after = await _rows(database_at_0011, tenant)
    await asyncio.to_thread(command.downgrade, migrate.alembic_config(database_at_0011),
                            "0011")
    assert await _rows(database_at_0011, tenant) == after


async def _partitions(pool: asyncpg.Pool, tenant: str) -> dict[int, str]:
    return {row["position"]: row["partition"] for row in await pool.fetch(
        """SELECT position, tableoid::regclass::text AS partition FROM ledger.events
           WHERE tenant_id = $1""", tenant)}


async def _rows(url: str, tenant: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetch(_ROWS, tenant)
    finally:
        await connection.close()


async def test_a_year_without_a_partition_is_refused_and_no_default_catches_it(
        pool: asyncpg.Pool, tenant: str) -> None:
    assert await pool.fetchval(
        "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = 'ledger.events'::regclass"
        " AND partdefid <> 0") == 0
    far = PostgresEventStore(pool, clock=lambda: datetime(2199, 1, 1, tzinfo=UTC))
    with pytest.raises(asyncpg.CheckViolationError, match="no partition"):
        await far.append(tenant, "s", NO_STREAM, [renamed("a")])
    assert await pool.fetchval(
        "SELECT count(*) FROM ledger.stream_versions WHERE tenant_id = $1", tenant) == 0


async def test_the_ledger_makes_sure_of_the_coming_partitions(pool: asyncpg.Pool) -> None:
    await partitions.ensure(pool, 12)
    assert await partitions.ensure(pool, 12) == 0
    years = {row["name"] for row in await pool.fetch(
        """SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'ledger.events'::regclass""")}
    assert {"events_history", f"events_{THIS_YEAR}", f"events_{THIS_YEAR + 1}"} <= years
    with pytest.raises(asyncpg.RaiseError, match="months_ahead"):
        await partitions.ensure(pool, -1)


@pytest.mark.parametrize("statement", [
    f"TRUNCATE ledger.events_{THIS_YEAR}",
    f"DELETE FROM ledger.events_{THIS_YEAR} WHERE tenant_id = $1",
    "TRUNCATE ledger.stream_versions",
    "TRUNCATE ledger.event_ids",
    "DELETE FROM ledger.stream_versions WHERE tenant_id = $1",
    "UPDATE ledger.event_ids SET event_id = event_id WHERE tenant_id = $1",
])
async def test_the_partitions_and_the_keys_are_append_only_for_the_owner_too(
        pool: asyncpg.Pool, tenant: str, statement: str) -> None:
    await PostgresEventStore(pool).append(tenant, "s", NO_STREAM, [renamed("a")])
    args = [tenant] if "$1" in statement else []
    # Rolled back whatever happens: were the guard gone, this session's database keeps
    # the other tests' events.
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await connection.execute(statement, *args)
        finally:
            await transaction.rollback()
    assert await pool.fetchval(
        """SELECT count(*) FROM ledger.events e JOIN ledger.stream_versions k USING
               (tenant_id, stream_id, version) JOIN ledger.event_ids USING (tenant_id, event_id)
           WHERE e.tenant_id = $1""", tenant) == 1
