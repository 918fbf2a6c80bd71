"""Group commit (ledger.adapters.group_commit): concurrent single-event appends to
different streams share a statement, and each caller still gets exactly its own answer."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from contract.events import CheckedIn
from ledger.adapters.event_store import (
    NO_STREAM,
    EventIdConflict,
    Metadata,
    NewEvent,
    PostgresEventStore,
    WrongExpectedVersion,
    first_broken_link,
)
from tests.new_events import renamed


def _checked_in(activity_id: uuid.UUID, member_id: uuid.UUID) -> NewEvent:
    return NewEvent(event_id=uuid.uuid4(), metadata=Metadata(actor="test"), event=CheckedIn(
        activity_id=activity_id, member_id=member_id, participation_id=uuid.uuid4(),
        at=datetime(2026, 11, 22, 1, tzinfo=UTC), method="qr"))


@pytest.fixture
def store(pool: asyncpg.Pool) -> PostgresEventStore:
    return PostgresEventStore(pool)


async def _heads(store: PostgresEventStore, tenant: str, streams: list[str]) -> list[bytes]:
    """Give each stream a first event; returns the hash each next append links to."""
    heads = []
    for stream in streams:
        result = await store.append(tenant, stream, NO_STREAM, [renamed("first")])
        heads.append(result.last_hash)
    return heads


async def test_concurrent_appends_share_batches_and_all_commit(
        store: PostgresEventStore, tenant: str, pool: asyncpg.Pool) -> None:
    activities = [uuid.uuid4() for _ in range(60)]
    streams = [f"activity-{a}" for a in activities]
    heads = await _heads(store, tenant, streams)
    batches_before, rows_before = store.group.batches.runs, store.group.batches.calls
    members = [uuid.uuid4() for _ in activities]
    results = await asyncio.gather(*(
        store.append(tenant, stream, 1, [_checked_in(a, m)], previous_hash=head)
        for stream, a, m, head in zip(streams, activities, members, heads, strict=True)))
    assert store.group.batches.calls - rows_before == 60
    # Sixty appends issued together went in far fewer statements.
    assert store.group.batches.runs - batches_before < 30
    positions = [p for r in results for p in r.positions]
    assert len(set(positions)) == 60
    for stream, result in zip(streams, results, strict=True):
        stored = await store.read_stream(tenant, stream)
        assert [e.version for e in stored] == [1, 2]
        assert stored[1].position == result.positions[0]
        assert bytes.fromhex(stored[1].hash) == result.last_hash
        assert first_broken_link(stored) is None
    # The list read model got each batched check-in's participant row, in the same commit.
    listed = await pool.fetch("SELECT activity_id, member_id FROM ledger.activity_participants"
                              " WHERE tenant_id = $1", tenant)
    assert {(r["activity_id"], r["member_id"]) for r in listed} == set(
        zip(activities, members, strict=True))


async def test_a_version_clash_is_answered_to_its_caller_alone(
        store: PostgresEventStore, tenant: str) -> None:
    streams = [f"s{i}" for i in range(20)]
    heads = await _heads(store, tenant, streams)
    # Two callers decided on version 1 of s0; eighteen others append elsewhere.
    contenders = [store.append(tenant, "s0", 1, [renamed(f"rival {i}")], previous_hash=heads[0])
                  for i in range(2)]
    others = [store.append(tenant, s, 1, [renamed("second")], previous_hash=h)
              for s, h in zip(streams[1:], heads[1:], strict=True)]
    answers = await asyncio.gather(*contenders, *others, return_exceptions=True)
    clashes = [a for a in answers[:2] if isinstance(a, WrongExpectedVersion)]
    assert len(clashes) == 1 and clashes[0].current == 2
    assert not any(isinstance(a, BaseException) for a in answers[2:])
    for stream in streams:
        assert [e.version for e in await store.read_stream(tenant, stream)] == [1, 2]


async def test_a_retry_in_a_batch_is_a_replay_and_a_reused_id_a_conflict(
        store: PostgresEventStore, tenant: str) -> None:
    streams = [f"s{i}" for i in range(12)]
    heads = await _heads(store, tenant, streams)
    done = renamed("done")
    first = await store.append(tenant, "s0", 1, [done], previous_hash=heads[0])
    reused = renamed("something else", event_id=done.event_id)
    written = store.group.written
    answers = await asyncio.gather(
        store.append(tenant, "s0", 1, [done], previous_hash=heads[0]),
        store.append(tenant, "s1", 1, [reused], previous_hash=heads[1]),
        *(store.append(tenant, s, 1, [renamed("second")], previous_hash=h)
          for s, h in zip(streams[2:], heads[2:], strict=True)),
        return_exceptions=True)
    assert answers[0].replayed and answers[0].positions == first.positions
    assert isinstance(answers[1], EventIdConflict)
    assert all(not isinstance(a, BaseException) and not a.replayed for a in answers[2:])
    assert [e.version for e in await store.read_stream(tenant, "s1")] == [1]
    # The ten others went in the shared statement, the clashing ones were left out of it.
    assert store.group.written - written == 10


async def test_the_same_event_twice_in_one_batch_is_stored_once(
        store: PostgresEventStore, tenant: str) -> None:
    streams = [f"s{i}" for i in range(8)]
    heads = await _heads(store, tenant, streams)
    twice = renamed("twice")
    batches_before = store.group.batches.runs
    # A phone's retry racing its first attempt: both land in one batch.
    answers = await asyncio.gather(
        *(store.append(tenant, s, 1, [renamed("y")], previous_hash=h)
          for s, h in zip(streams[1:], heads[1:], strict=True)),
        store.append(tenant, streams[0], 1, [twice], previous_hash=heads[0]),
        store.append(tenant, streams[0], 1, [twice], previous_hash=heads[0]))
    assert store.group.batches.runs - batches_before == 1
    stored = await store.read_stream(tenant, streams[0])
    assert [e.version for e in stored] == [1, 2]
    first, retry = answers[-2:]
    assert first.positions == retry.positions == [stored[1].position]
    # Only one of them appended; the other is told it was a replay.
    assert sorted([first.replayed, retry.replayed]) == [False, True]


async def test_a_batch_that_fails_as_a_whole_loses_nobody_elses_event(
        store: PostgresEventStore, tenant: str) -> None:
    streams = [f"s{i}" for i in range(10)]
    heads = await _heads(store, tenant, streams)
    # A tenant that does not exist fails the shared statement (its foreign key): every
    # caller appends again alone, and only the one at fault is refused.
    appends = [store.append(tenant, s, 1, [renamed("second")], previous_hash=h)
               for s, h in zip(streams, heads, strict=True)]
    appends.insert(4, store.append("no-such-tenant", "s", 1, [renamed("x")],
                                   previous_hash=heads[0]))
    answers = await asyncio.gather(*appends, return_exceptions=True)
    assert isinstance(answers[4], asyncpg.ForeignKeyViolationError)
    rest = answers[:4] + answers[5:]
    assert all(not isinstance(a, BaseException) for a in rest)
    for stream in streams:
        assert [e.version for e in await store.read_stream(tenant, stream)] == [1, 2]
