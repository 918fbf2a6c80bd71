"""Shared feed reads: overlapping identical reads of one wake-up epoch are one query."""

from __future__ import annotations

import asyncio

import pytest

from ledger.adapters.event_store import FeedPage
from ledger.entrypoints.api.feed_waiting import SharedFeedReads, feed_query


class SlowStore:
    def __init__(self) -> None:
        self.reads = 0
        self.release = asyncio.Event()

    async def read_feed(self, tenant_id: str, after: str | None, limit: int,
                        types: object, stream_prefix: object) -> FeedPage:
        self.reads += 1
        await self.release.wait()
        return FeedPage(events=[], next_cursor=after or "0-0")


async def test_overlapping_reads_of_one_epoch_are_one_query() -> None:
    store = SlowStore()
    reads = SharedFeedReads(store)  # type: ignore[arg-type]
    epoch, query = object(), feed_query("t", "5-5", 100, None, None)
    waiters = [asyncio.create_task(reads.read(epoch, query)) for _ in range(100)]
    await asyncio.sleep(0)
    store.release.set()
    pages = await asyncio.gather(*waiters)
    assert store.reads == 1
    assert {p.body for p in pages} == {b'{"events":[],"next_cursor":"5-5"}'}
    # Once answered, the next look is a query of its own.
    await reads.read(epoch, query)
    assert store.reads == 2


async def test_other_epochs_queries_and_filters_read_for_themselves() -> None:
    store = SlowStore()
    reads = SharedFeedReads(store)  # type: ignore[arg-type]
    first, later = object(), object()
    query = feed_query("t", "5-5", 100, None, None)
    waiters = [asyncio.create_task(reads.read(first, query)),
               asyncio.create_task(reads.read(later, query)),
               asyncio.create_task(reads.read(first, feed_query("t", "5-5", 100,
                                                                ["CheckedIn"], None))),
               asyncio.create_task(reads.read(first, feed_query("u", "5-5", 100, None, None)))]
    await asyncio.sleep(0)
    store.release.set()
    await asyncio.gather(*waiters)
    assert store.reads == 4


async def test_one_waiter_giving_up_does_not_cancel_the_shared_read() -> None:
    store = SlowStore()
    reads = SharedFeedReads(store)  # type: ignore[arg-type]
    epoch, query = object(), feed_query("t", None, 10, None, None)
    leaving = asyncio.create_task(reads.read(epoch, query))
    staying = asyncio.create_task(reads.read(epoch, query))
    await asyncio.sleep(0)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    store.release.set()
    assert (await staying).empty
    assert store.reads == 1
