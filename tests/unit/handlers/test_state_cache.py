"""The state cache's bounds: streams and events folded, least recently used dropped first."""

from __future__ import annotations

from contract.events import Event
from ledger.adapters.event_store import NO_STREAM
from ledger.handlers.state_cache import StateCache
from tests.fakes import InMemoryEventStore
from tests.new_events import renamed

TENANT = "t"


def count(state: int | None, _: Event) -> int:
    return (state or 0) + 1


async def _stream(store: InMemoryEventStore, name: str, events: int) -> None:
    await store.append(TENANT, name, NO_STREAM, [renamed(f"{name}{i}") for i in range(events)])


async def test_the_events_folded_are_bounded_not_only_the_streams() -> None:
    store = InMemoryEventStore()
    for name, size in (("a", 40), ("b", 30), ("c", 20), ("d", 50)):
        await _stream(store, name, size)
    cache = StateCache(store, max_streams=100, max_events=100)
    for name in "abc":
        assert (await cache.load(TENANT, name, count)).state in (40, 30, 20)
    assert cache.events == 90
    await cache.load(TENANT, "a", count)  # a is now the most recently used
    await cache.load(TENANT, "d", count)  # 140 > 100: b, then c, are dropped
    assert cache.events == 90
    assert set(cache._entries) == {(TENANT, "a"), (TENANT, "d")}


async def test_appended_events_count_and_a_dropped_stream_is_read_again() -> None:
    store = InMemoryEventStore()
    await _stream(store, "a", 10)
    await _stream(store, "b", 10)
    cache = StateCache(store, max_events=25)
    loaded = await cache.load(TENANT, "a", count)
    await cache.load(TENANT, "b", count)
    result = await store.append(TENANT, "a", 10, [renamed(f"more{i}") for i in range(8)],
                                previous_hash=loaded.hash)
    cache.advance(TENANT, "a", count, [e.event for e in [renamed("x")] * 8],
                  result.first_version, result.last_hash)
    # 18 + 10 > 25: b, the least recently used, is dropped; a is kept as advanced.
    assert cache.events == 18 and list(cache._entries) == [(TENANT, "a")]
    assert (await cache.load(TENANT, "b", count, max_age=None)).state == 10
    assert cache.events == 10 and list(cache._entries) == [(TENANT, "b")]
