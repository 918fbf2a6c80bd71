"""Aggregate state folded from a stream, cached per stream and brought up to date on load.

Loading reads only the events after the cached version, so a hot activity costs one small
query instead of a replay. The cache never decides anything: a state that moves on between
load and append makes the append's expected version stale and the command is retried.

`max_age` says how fresh the state must be: 0 reads the stream's tail every time; a number
of seconds accepts a state refreshed that recently; None accepts any cached state. None is
safe for the stream a command appends to (the expected version catches anything missed, and
the handler then reloads); a few seconds is the staleness accepted for the member and the
tree a decision consults.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from contract.events import Event, decode_data
from ledger.adapters.event_store import GENESIS_HASH
from ledger.handlers.ports import EventStore

S = TypeVar("S")
Fold = Callable[[Any, Event], Any]


class Loaded(Generic[S]):
    __slots__ = ("hash", "held", "refreshed", "state", "version")

    def __init__(self, state: S, version: int, hash: bytes = GENESIS_HASH) -> None:
        self.state = state
        self.version = version
        # The chain hash of the event at `version`: the next append links to it.
        self.hash = hash
        self.refreshed = -float("inf")
        # Set while events not yet committed are folded into `state` (`hold`).
        self.held: asyncio.Future[None] | None = None


class StateCache:
    """At most `max_streams` streams and `max_events` events folded, whichever is reached
    first, the least recently used dropped first: an activity's state grows with its
    check-ins, so a count of streams alone does not bound the memory."""

    def __init__(self, store: EventStore, max_streams: int = 20_000,
                 max_events: int = 100_000) -> None:
        self._store = store
        self._max = max_streams
        self._max_events = max_events
        self._entries: OrderedDict[tuple[str, str], Loaded[Any]] = OrderedDict()
        # The versions of the cached entries, summed: the events folded into them.
        self.events = 0

    async def load(self, tenant_id: str, stream_id: str, fold: Fold,
                   max_age: float | None = 0.0) -> Loaded[Any]:
        key = (tenant_id, stream_id)
        entry = self._entries.get(key)
        while entry is not None and entry.held is not None:
            # Nobody sees events before they are committed: wait for the append.
            await asyncio.shield(entry.held)
            entry = self._entries.get(key)
        now = time.monotonic()
        if entry is not None and (max_age is None or now - entry.refreshed < max_age):
            self._entries.move_to_end(key)
            return entry
        if entry is None:
            entry = Loaded(None, 0)
        entry.refreshed = now
        before = entry.version
        for stored in await self._store.read_stream(tenant_id, stream_id, entry.version):
            entry.state = fold(entry.state, decode_data(stored.type, stored.schema_version,
                                                        stored.data))
            entry.version = stored.version
            entry.hash = bytes.fromhex(stored.hash)
        # Another load of the same stream may have cached its own entry meanwhile.
        replaced = self._entries.get(key)
        if replaced is not entry:
            self.events -= replaced.version if replaced is not None else 0
            before = 0
        self._entries[key] = entry
        self._entries.move_to_end(key)
        self.events += entry.version - before
        self._evict()
        return entry

    def _evict(self) -> None:
        while len(self._entries) > 1 and (len(self._entries) > self._max
                                          or self.events > self._max_events):
            _, dropped = self._entries.popitem(last=False)
            self.events -= dropped.version

    def hold(self, tenant_id: str, stream_id: str) -> Loaded[Any]:
        """Take a loaded entry to fold events into before they are committed (the executor
        deciding several commands together); loads wait until `release`."""
        entry = self._entries[(tenant_id, stream_id)]
        entry.held = asyncio.get_running_loop().create_future()
        return entry

    def release(self, tenant_id: str, stream_id: str, entry: Loaded[Any],
                committed: tuple[int, bytes] | None) -> None:
        """The held events were committed up to (version, hash), or, with None, were not:
        the entry is dropped, to be read again from the store."""
        held, entry.held = entry.held, None
        cached = self._entries.get((tenant_id, stream_id)) is entry
        if committed is None:
            if cached:
                del self._entries[(tenant_id, stream_id)]
                self.events -= entry.version
        else:
            if cached:
                self.events += committed[0] - entry.version
            entry.version, entry.hash = committed
        if held is not None:
            held.set_result(None)
        self._evict()

    def advance(self, tenant_id: str, stream_id: str, fold: Fold, events: list[Event],
                first_version: int, last_hash: bytes) -> None:
        """Apply events this process just appended, sparing the next load a read.

        Only when the cached state is exactly where the append started: a reader may have
        applied them already, and anything else leaves the entry to be re-read.
        """
        entry = self._entries.get((tenant_id, stream_id))
        if entry is None or entry.version != first_version - 1:
            if entry is not None and entry.version < first_version - 1:
                entry.refreshed = -float("inf")
            return
        for event in events:
            entry.state = fold(entry.state, event)
        entry.version = first_version + len(events) - 1
        entry.hash = last_hash
        self.events += len(events)
        self._entries.move_to_end((tenant_id, stream_id))
        self._evict()
