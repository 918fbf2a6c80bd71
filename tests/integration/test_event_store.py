"""The event store against real PostgreSQL: concurrency, idempotency, append-only, the feed."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from ledger.adapters.event_store import (
    _COLUMNS,
    ANY,
    NO_STREAM,
    PostgresEventStore,
    first_broken_link,
    stored_event,
)
from tests.new_events import renamed


async def read_visible(store: PostgresEventStore, tenant: str, count: int, **filters: object
                       ) -> list:
    """Read the feed until `count` events are visible.

    Any transaction open elsewhere in the cluster holds the feed's horizon back (that is
    what makes it never skip), so a just-committed event may take a moment to appear.
    """
    events: list = []
    cursor = None
    for _ in range(500):
        page = await store.read_feed(tenant, after=cursor, limit=1000, **filters)
        events += page.events
        cursor = page.next_cursor
        if len(events) >= count:
            return events
        await asyncio.sleep(0.02)
    raise AssertionError(f"only {len(events)} of {count} events became visible")


@pytest.fixture
def store(pool: asyncpg.Pool) -> PostgresEventStore:
    return PostgresEventStore(pool)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger.events SET type = 'x' WHERE tenant_id = $1",
        "DELETE FROM ledger.events WHERE tenant_id = $1",
    ],
)
async def test_events_cannot_be_updated_or_deleted(store: PostgresEventStore, tenant: str,
                                                   pool: asyncpg.Pool, statement: str) -> None:
    await store.append(tenant, "s", NO_STREAM, [renamed("a")])
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute(statement, tenant)
    assert len(await store.read_stream(tenant, "s")) == 1


async def test_events_cannot_be_truncated(pool: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute("TRUNCATE ledger.events CASCADE")


class _Rollback(Exception):
    pass


async def test_hash_chain_detects_tampering(store: PostgresEventStore, tenant: str,
                                            pool: asyncpg.Pool) -> None:
    await store.append(tenant, "s", NO_STREAM, [renamed("a"), renamed("b"), renamed("c")])
    assert await store.verify_chain(tenant, "s") is None
    # Forging a row needs the trigger disabled (only the table owner can); roll it back after.
    with pytest.raises(_Rollback):
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "ALTER TABLE ledger.events DISABLE TRIGGER events_append_only")
            await connection.execute(
                """UPDATE ledger.events SET data = jsonb_set(data, '{name}', '"forged"')
                   WHERE tenant_id = $1 AND version = 2""",
                tenant,
            )
            rows = await connection.fetch(
                f"SELECT {_COLUMNS} FROM ledger.events WHERE tenant_id = $1 ORDER BY version",
                tenant,
            )
            assert first_broken_link([stored_event(row) for row in rows]) == 2
            raise _Rollback
    assert await store.verify_chain(tenant, "s") is None


async def test_feed_pages_in_order_with_filters(store: PostgresEventStore, tenant: str) -> None:
    for i in range(5):
        await store.append(tenant, f"activity-{i % 2}", ANY, [renamed(f"n{i}")])
    await read_visible(store, tenant, 5)
    page = await store.read_feed(tenant, limit=3)
    assert len(page.events) == 3
    rest = await store.read_feed(tenant, after=page.next_cursor, limit=10)
    assert len(rest.events) == 2
    positions = [e.position for e in page.events + rest.events]
    assert positions == sorted(positions)
    only_one = await store.read_feed(tenant, stream_prefix="activity-1")
    assert {e.stream_id for e in only_one.events} == {"activity-1"}
    assert (await store.read_feed(tenant, types=["UnitEstablished"])).events == []
    empty = await store.read_feed(tenant, after=rest.next_cursor)
    assert empty.events == [] and empty.next_cursor == rest.next_cursor


async def test_feed_never_passes_a_transaction_that_commits_late(
    store: PostgresEventStore, tenant: str, pool: asyncpg.Pool
) -> None:
    """An append whose transaction stays open while later appends commit is not skipped."""
    await store.append(tenant, "before", NO_STREAM, [renamed("before")])
    cursor = (await read_visible(store, tenant, 1))[-1].cursor

    slow = await pool.acquire()
    transaction = slow.transaction()
    await transaction.start()
    # The slow writer takes its position first ...
    await slow.execute(
        """INSERT INTO ledger.events (tenant_id, event_id, stream_id, version, type,
               schema_version, data, metadata, hash)
           VALUES ($1, $2, 'slow', 1, 'UnitRenamed', 1, $3::jsonb, $4::jsonb, $5)""",
        tenant, uuid.uuid4(),
        b'{"unit_id":"00000000-0000-0000-0000-000000000001","name":"slow",'
        b'"effective":"2026-01-01"}',
        b'{"actor":"test"}', bytes(32),
    )
    try:
        # ... then later appends commit with higher positions.
        for i in range(3):
            await store.append(tenant, f"fast-{i}", NO_STREAM, [renamed(f"fast{i}")])
        held = await store.read_feed(tenant, after=cursor)
        assert held.events == [], "the feed must wait for the open transaction"
        status = await store.feed_status(tenant)
        assert status["events_held_back"] >= 3
    finally:
        await transaction.commit()
        await pool.release(slow)

    delivered = await read_visible(store, tenant, 5)
    assert [e.stream_id for e in delivered] == ["before", "slow", "fast-0", "fast-1", "fast-2"]
    again = await store.read_feed(tenant, after=delivered[-1].cursor)
    assert again.events == []


async def test_feed_skips_nothing_under_concurrent_writers(store: PostgresEventStore,
                                                           tenant: str) -> None:
    """A reader tailing while 8 writers append sees every event exactly once."""
    total = 200
    seen: list[int] = []

    async def writer(w: int) -> None:
        for i in range(total // 8):
            await store.append(tenant, f"w{w}-{i}", NO_STREAM, [renamed(f"{w}-{i}")])

    async def reader() -> None:
        cursor = None
        while len(seen) < total:
            page = await store.read_feed(tenant, after=cursor, limit=50)
            seen.extend(e.position for e in page.events)
            cursor = page.next_cursor
            if not page.events:
                await asyncio.sleep(0.005)

    await asyncio.wait_for(asyncio.gather(reader(), *(writer(w) for w in range(8))), 60)
    assert sorted(seen) == sorted(set(seen)) and len(seen) == total
