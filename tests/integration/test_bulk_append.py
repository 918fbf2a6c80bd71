"""Bulk append against real PostgreSQL: the same chain, versions and idempotency as append."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from functools import partial

import asyncpg
import pytest

from contract.events import canonical_json, decode_data, encode_data
from ledger import seal_keys
from ledger.adapters.bulk_append import CHANNEL, bulk_append
from ledger.adapters.chain import CHAIN_VERSION, GENESIS_HASH, link
from ledger.adapters.event_store import (
    ANY,
    NO_STREAM,
    EventIdConflict,
    NewEvent,
    PostgresEventStore,
    WrongExpectedVersion,
)
from tests.new_events import renamed

# Written as an import would write them.
_renamed = partial(renamed, source="import")


@pytest.fixture
def store(pool: asyncpg.Pool) -> PostgresEventStore:
    return PostgresEventStore(pool)


async def _names(store: PostgresEventStore, tenant: str, stream_id: str) -> list[str]:
    return [decode_data(e.type, e.schema_version, e.data).name
            for e in await store.read_stream(tenant, stream_id)]


async def test_chains_verify_across_batches_and_repeated_streams(
        pool: asyncpg.Pool, store: PostgresEventStore, tenant: str) -> None:
    streams = [
        (f"s-{i}", NO_STREAM, [_renamed(f"{i}.{j}") for j in range(i + 1)]) for i in range(7)
    ]
    # The same stream again, later in the input: its expected version counts what came before.
    streams.append(("s-2", 3, [_renamed("2.3"), _renamed("2.4")]))
    result = await bulk_append(pool, tenant, streams, batch_size=4)
    assert (result.appended, result.skipped) == (sum(range(1, 8)) + 2, 0)
    assert result.batches > 1
    for i in range(7):
        assert await store.verify_chain(tenant, f"s-{i}") is None
    assert await _names(store, tenant, "s-2") == ["2.0", "2.1", "2.2", "2.3", "2.4"]
    assert [e.version for e in await store.read_stream(tenant, "s-6")] == list(range(1, 8))


async def test_rerun_appends_nothing(pool: asyncpg.Pool, store: PostgresEventStore,
                                     tenant: str) -> None:
    streams = [(f"s-{i}", NO_STREAM, [_renamed(f"{i}.{j}") for j in range(3)]) for i in range(5)]
    first = await bulk_append(pool, tenant, streams, batch_size=4)
    again = await bulk_append(pool, tenant, streams, batch_size=4)
    assert (first.appended, first.skipped) == (15, 0)
    assert (again.appended, again.skipped) == (0, 15)
    assert await store.stream_version(tenant, "s-4") == 3


async def test_same_id_with_other_content_is_refused_by_name(pool: asyncpg.Pool,
                                                              tenant: str) -> None:
    event_id = uuid.uuid4()
    await bulk_append(pool, tenant, [("s", NO_STREAM, [_renamed("a", event_id)])])
    with pytest.raises(EventIdConflict) as caught:
        await bulk_append(pool, tenant, [("s", NO_STREAM, [_renamed("b", event_id)])])
    assert caught.value.event_id == event_id
    assert str(event_id) in str(caught.value)


async def test_same_id_in_another_stream_is_refused(pool: asyncpg.Pool, tenant: str) -> None:
    event = _renamed("a")
    await bulk_append(pool, tenant, [("s", NO_STREAM, [event])])
    with pytest.raises(EventIdConflict):
        await bulk_append(pool, tenant, [("other", NO_STREAM, [event])])


async def test_entry_stored_only_in_part_is_refused(pool: asyncpg.Pool, tenant: str) -> None:
    """As with append: a retry must resend exactly what was stored, not more."""
    stored, extra = _renamed("a"), _renamed("b")
    await bulk_append(pool, tenant, [("s", NO_STREAM, [stored])])
    with pytest.raises(EventIdConflict) as caught:
        await bulk_append(pool, tenant, [("s", NO_STREAM, [stored, extra])])
    assert caught.value.event_id == extra.event_id


async def test_wrong_expected_version_is_refused_and_batch_not_written(
        pool: asyncpg.Pool, store: PostgresEventStore, tenant: str) -> None:
    await bulk_append(pool, tenant, [("s", NO_STREAM, [_renamed("a")])])
    with pytest.raises(WrongExpectedVersion) as caught:
        await bulk_append(pool, tenant, [("fresh", NO_STREAM, [_renamed("x")]),
                                         ("s", NO_STREAM, [_renamed("b")])])
    assert caught.value.current == 1
    assert caught.value.stream_id == "s"
    # The whole batch rolled back: the other stream of the batch was not written either.
    assert await store.stream_version(tenant, "fresh") == 0


async def test_duplicate_id_within_the_input_is_refused(pool: asyncpg.Pool,
                                                        tenant: str) -> None:
    event = _renamed("a")
    with pytest.raises(ValueError, match=str(event.event_id)):
        await bulk_append(pool, tenant, [("s", NO_STREAM, [event]), ("t", NO_STREAM, [event])])


async def test_mixed_with_normal_appends(pool: asyncpg.Pool, store: PostgresEventStore,
                                         tenant: str) -> None:
    await store.append(tenant, "s", NO_STREAM, [_renamed("a"), _renamed("b")])
    await bulk_append(pool, tenant, [("s", 2, [_renamed("c"), _renamed("d")])])
    await store.append(tenant, "s", 4, [_renamed("e")])
    await bulk_append(pool, tenant, [("s", ANY, [_renamed("f")])])
    assert await _names(store, tenant, "s") == ["a", "b", "c", "d", "e", "f"]
    assert await store.verify_chain(tenant, "s") is None
    # A normal append retried after a bulk write replays as usual.
    retry = _renamed("c2")
    await bulk_append(pool, tenant, [("s", 6, [retry])])
    replay = await store.append(tenant, "s", 6, [retry])
    assert replay.replayed and replay.first_version == 7


async def _insert_first(connection: asyncpg.Connection, tenant: str, stream_id: str,
                        new: NewEvent) -> None:
    """Version 1 of a stream, written as another writer would (the caller's transaction)."""
    data, metadata, now = encode_data(new.event), canonical_json(new.metadata), datetime.now(UTC)
    digest, seal = link(seal_keys.load(), tenant, GENESIS_HASH, new.event_id, stream_id, 1,
                        "UnitRenamed", 1, data, metadata, now)
    await connection.execute(
        """INSERT INTO ledger.events (tenant_id, event_id, stream_id, version, type,
               schema_version, data, metadata, hash, recorded_at, chain_version, seal)
           VALUES ($1, $2, $3, 1, 'UnitRenamed', 1, $4, $5, $6, $7, $8, $9)""",
        tenant, new.event_id, stream_id, data, metadata, digest, now, CHAIN_VERSION, seal,
    )


async def _until_copy_waits(pool: asyncpg.Pool, bulk: asyncio.Task) -> None:
    """Until our COPY blocks on another transaction's uncommitted row."""
    while not await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE 'COPY%'"
    ):
        assert not bulk.done(), bulk
        await asyncio.sleep(0.01)


async def test_concurrent_writer_makes_the_batch_retry(pool: asyncpg.Pool,
                                                       store: PostgresEventStore,
                                                       tenant: str) -> None:
    """A writer commits version 1 while our COPY waits on it: the batch is recomputed."""
    async with pool.acquire() as other:
        transaction = other.transaction()
        await transaction.start()
        await _insert_first(other, tenant, "s", _renamed("theirs"))
        bulk = asyncio.create_task(bulk_append(pool, tenant, [("s", ANY, [_renamed("ours")])]))
        await _until_copy_waits(pool, bulk)
        await transaction.commit()
    result = await bulk
    assert result.appended == 1
    assert await _names(store, tenant, "s") == ["theirs", "ours"]
    assert await store.verify_chain(tenant, "s") is None


async def test_deadlock_with_another_writer_retries_the_batch(
        pool: asyncpg.Pool, store: PostgresEventStore, tenant: str) -> None:
    """Our COPY holds s1 and waits for their s2; they then wait for our s1. PostgreSQL
    aborts the writer that waited first (ours); the batch is retried after they commit."""
    async with pool.acquire() as other:
        transaction = other.transaction()
        await transaction.start()
        await _insert_first(other, tenant, "s2", _renamed("theirs 2"))
        bulk = asyncio.create_task(bulk_append(
            pool, tenant, [("s1", ANY, [_renamed("ours 1")]), ("s2", ANY, [_renamed("ours 2")])]))
        await _until_copy_waits(pool, bulk)
        # Blocks on our uncommitted s1 until the deadlock is found and our COPY gives way.
        await _insert_first(other, tenant, "s1", _renamed("theirs 1"))
        await transaction.commit()
    result = await bulk
    assert result.appended == 2
    assert await _names(store, tenant, "s1") == ["theirs 1", "ours 1"]
    assert await _names(store, tenant, "s2") == ["theirs 2", "ours 2"]
    for stream_id in ("s1", "s2"):
        assert await store.verify_chain(tenant, stream_id) is None


async def test_each_committed_batch_wakes_listeners(pool: asyncpg.Pool, tenant: str) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()

    def on_notify(_connection: object, _pid: int, _channel: str, payload: str) -> None:
        heard.put_nowait(payload)

    async with pool.acquire() as listener:
        await listener.add_listener(CHANNEL, on_notify)
        try:
            await bulk_append(pool, tenant, [("s", NO_STREAM, [_renamed("a")])])
            while await asyncio.wait_for(heard.get(), timeout=5) != tenant:
                pass
        finally:
            await listener.remove_listener(CHANNEL, on_notify)
