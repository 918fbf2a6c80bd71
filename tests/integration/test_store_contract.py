"""The event store's contract (ledger.handlers.ports.EventStore), run against every
implementation: PostgreSQL, and the in-memory fake the handler tests use. A fake that
passes it behaves, for the use cases, as the real store does."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from contract.events import CheckedIn, decode_data
from ledger.adapters.event_store import (
    ANY,
    NO_STREAM,
    EventIdConflict,
    Metadata,
    NewEvent,
    PostgresEventStore,
    WrongExpectedVersion,
    first_broken_link,
)
from ledger.handlers.ports import EventStore
from tests.fakes import InMemoryEventStore
from tests.new_events import renamed


def _checked_in(member_id: uuid.UUID, activity_id: uuid.UUID, at: datetime) -> NewEvent:
    return NewEvent(event_id=uuid.uuid4(), metadata=Metadata(actor="test"), event=CheckedIn(
        activity_id=activity_id, member_id=member_id, participation_id=uuid.uuid4(), at=at,
        method="qr"))


@pytest.fixture(params=["postgres", "postgres-ungrouped", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[EventStore]:
    if request.param.startswith("postgres"):
        yield PostgresEventStore(request.getfixturevalue("pool"),
                                 grouped=request.param == "postgres")
    else:
        yield InMemoryEventStore()


def _names(events: list) -> list[str]:
    return [decode_data(e.type, e.schema_version, e.data).name for e in events]


async def test_append_and_read_stream_in_order(store: EventStore, tenant: str) -> None:
    result = await store.append(tenant, "s", NO_STREAM, [renamed("a"), renamed("b")])
    assert (result.first_version, result.last_version) == (1, 2)
    await store.append(tenant, "s", 2, [renamed("c")])
    events = await store.read_stream(tenant, "s")
    assert _names(events) == ["a", "b", "c"]
    assert [e.version for e in events] == [1, 2, 3]
    assert _names(await store.read_stream(tenant, "s", after_version=2)) == ["c"]
    assert await store.read_stream(tenant, "other") == []


async def test_streams_are_per_tenant(store: EventStore, tenant: str) -> None:
    await store.append(tenant, "s", NO_STREAM, [renamed("a")])
    assert await store.read_stream(f"{tenant}-other", "s") == []


async def test_appended_events_chain_their_hashes(store: EventStore, tenant: str) -> None:
    first = await store.append(tenant, "s", NO_STREAM, [renamed("a"), renamed("b")])
    stream = await store.read_stream(tenant, "s")
    assert first.last_hash.hex() == stream[-1].hash
    # A caller passing the head's hash (a cached state) gets the same chain as one that
    # let the store read it.
    await store.append(tenant, "s", 2, [renamed("c")], previous_hash=first.last_hash)
    await store.append(tenant, "s", ANY, [renamed("d")])
    assert first_broken_link(await store.read_stream(tenant, "s")) is None


async def test_wrong_expected_version_reports_current(store: EventStore, tenant: str) -> None:
    await store.append(tenant, "s", NO_STREAM, [renamed("a")])
    with pytest.raises(WrongExpectedVersion) as caught:
        await store.append(tenant, "s", NO_STREAM, [renamed("b")])
    assert caught.value.current == 1
    with pytest.raises(WrongExpectedVersion):
        await store.append(tenant, "s", 5, [renamed("b")])
    assert len(await store.read_stream(tenant, "s")) == 1


async def test_concurrent_appends_at_same_version_one_wins(store: EventStore,
                                                           tenant: str) -> None:
    await store.append(tenant, "s", NO_STREAM, [renamed("a")])
    outcomes = await asyncio.gather(
        *(store.append(tenant, "s", 1, [renamed(f"n{i}")]) for i in range(8)),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, WrongExpectedVersion)]
    assert len(winners) == 1 and len(losers) == 7
    assert [e.version for e in await store.read_stream(tenant, "s")] == [1, 2]


async def test_concurrent_appends_with_any_version_all_land(store: EventStore,
                                                            tenant: str) -> None:
    await asyncio.gather(*(store.append(tenant, "s", ANY, [renamed(f"n{i}")]) for i in range(6)))
    events = await store.read_stream(tenant, "s")
    assert [e.version for e in events] == [1, 2, 3, 4, 5, 6]


async def test_retry_with_same_event_id_appends_nothing(store: EventStore, tenant: str) -> None:
    event = renamed("a")
    first = await store.append(tenant, "s", NO_STREAM, [event])
    again = await store.append(tenant, "s", NO_STREAM, [event])
    assert again.replayed and again.positions == first.positions
    also = await store.append(tenant, "s", ANY, [event])
    assert also.replayed and also.positions == first.positions
    assert len(await store.read_stream(tenant, "s")) == 1


async def test_same_event_id_with_other_content_is_a_conflict(store: EventStore,
                                                              tenant: str) -> None:
    event_id = uuid.uuid4()
    await store.append(tenant, "s", NO_STREAM, [renamed("a", event_id)])
    with pytest.raises(EventIdConflict):
        await store.append(tenant, "s", ANY, [renamed("other", event_id)])
    with pytest.raises(EventIdConflict):
        await store.append(tenant, "elsewhere", NO_STREAM, [renamed("a", event_id)])


async def test_command_events_are_those_appended_together(store: EventStore,
                                                          tenant: str) -> None:
    together = [renamed("a"), renamed("b")]
    await store.append(tenant, "s", NO_STREAM, together)
    await store.append(tenant, "s", 2, [renamed("c")])
    found = await store.command_events(tenant, together[0].event_id)
    assert [e.event_id for e in found] == [e.event_id for e in together]
    assert await store.command_events(tenant, uuid.uuid4()) == []


async def test_member_activity_streams_finds_check_ins_in_the_window(store: EventStore,
                                                                     tenant: str) -> None:
    member, other = uuid.uuid4(), uuid.uuid4()
    at = datetime(2026, 3, 14, 1, 0, tzinfo=UTC)
    inside, outside = uuid.uuid4(), uuid.uuid4()
    await store.append(tenant, f"activity-{inside}", NO_STREAM,
                       [_checked_in(member, inside, at)])
    await store.append(tenant, f"activity-{outside}", NO_STREAM,
                       [_checked_in(member, outside, at + timedelta(days=3))])
    await store.append(tenant, f"activity-{uuid.uuid4()}", NO_STREAM,
                       [_checked_in(other, uuid.uuid4(), at)])
    found = await store.member_activity_streams(tenant, member, at - timedelta(hours=1),
                                                at + timedelta(hours=1))
    assert found == [f"activity-{inside}"]
