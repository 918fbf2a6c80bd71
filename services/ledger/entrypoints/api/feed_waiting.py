"""Long polls on the feed: many readers waiting at the head, one read between them.

Hundreds of readers (other community systems, the reports' runners, dashboards) wait on a
tenant's feed at once, nearly all at the same cursor. Each reading for itself made a new
event cost one query and one JSON encoding per waiter: with 500 waiters the last one heard
of a commit seconds after it. Here identical reads that overlap are one query and one
encoded answer (`SharedFeedReads`), and idle waiters look again on a shared beat rather
than each on its own second, so that their looks overlap too.

A read is shared only by waiters of the same wake-up epoch (the notifier's signal object
they hold): a waiter that joined a read begun before its own signal could miss the wake-up
of an event committed in between and sit out a whole poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import msgspec

from ledger.adapters.event_store import FeedPage, PostgresEventStore
from ledger.adapters.notifier import FeedNotifier
from ledger.entrypoints.api.responses import EventList, event_out

# While a wake-up has arrived but the event is still behind the visibility horizon (an older
# transaction is open), look again this often.
RECHECK_SECONDS = 0.02
RECHECKS = 10
# Without any wake-up, look anyway on this beat: a lost NOTIFY delays, never loses, an event.
POLL_SECONDS = 1.0


class FeedQuery(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    after: str | None
    limit: int
    types: tuple[str, ...] | None
    stream_prefix: str | None


class EncodedPage(msgspec.Struct, frozen=True, kw_only=True):
    empty: bool
    # The JSON of `EventList`, encoded once for every waiter that shares it.
    body: bytes


def _encoded(page: FeedPage) -> EncodedPage:
    return EncodedPage(empty=not page.events, body=msgspec.json.encode(EventList(
        events=[event_out(e) for e in page.events], next_cursor=page.next_cursor)))


class SharedFeedReads:
    def __init__(self, store: PostgresEventStore) -> None:
        self._store = store
        self._in_flight: dict[tuple[object, FeedQuery], asyncio.Task[EncodedPage]] = {}

    async def read(self, epoch: object, query: FeedQuery) -> EncodedPage:
        key = (epoch, query)
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._read(query))
            self._in_flight[key] = task
            task.add_done_callback(lambda _: self._in_flight.pop(key, None))
        # One waiter giving up (its client went away) must not cancel the others' read.
        return await asyncio.shield(task)

    async def _read(self, query: FeedQuery) -> EncodedPage:
        return _encoded(await self._store.read_feed(
            query.tenant_id, query.after, query.limit, query.types, query.stream_prefix))


def _next_beat(now: float) -> float:
    """Seconds to the next shared beat."""
    return POLL_SECONDS - now % POLL_SECONDS


async def wait_for_page(reads: SharedFeedReads, notifier: FeedNotifier, query: FeedQuery,
                        wait: float) -> EncodedPage:
    """Read a page; if it is empty, wait up to `wait` seconds for one that is not."""
    deadline = time.monotonic() + wait
    while True:
        signal = notifier.signal(query.tenant_id)
        page = await reads.read(signal, query)
        now = time.monotonic()
        if not page.empty or now >= deadline:
            return page
        try:
            await asyncio.wait_for(signal.wait(), min(deadline - now, _next_beat(now)))
        except TimeoutError:
            continue
        # Woken: the new event may still sit behind an open transaction for a moment.
        for _ in range(RECHECKS):
            page = await reads.read(notifier.signal(query.tenant_id), query)
            if not page.empty or time.monotonic() >= deadline:
                return page
            await asyncio.sleep(RECHECK_SECONDS)


def feed_query(tenant_id: str, after: str | None, limit: int, types: Sequence[str] | None,
               stream_prefix: str | None) -> FeedQuery:
    return FeedQuery(tenant_id=tenant_id, after=after, limit=limit,
                     types=tuple(types) if types else None, stream_prefix=stream_prefix)
