"""Aggregate state folded from a stream, cached per stream and brought up to date on load.

Loading reads only the events after the cached version, so a hot activity costs one small
query instead of a replay. The cache never decides anything: a state that moves on between
load and append makes the append's expected version stale and the command is retried.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ledger.adapters.event_store import GENESIS_HASH, PostgresEventStore
from ledger.events import Event, decode_data

S = TypeVar("S")
Fold = Callable[[Any, Event], Any]


class Loaded(Generic[S]):
    __slots__ = ("hash", "state", "version")

    def __init__(self, state: S, version: int, hash: bytes = GENESIS_HASH) -> None:
        self.state = state
        self.version = version
        # The chain hash of the event at `version`: the next append links to it.
        self.hash = hash


class StateCache:
    def __init__(self, store: PostgresEventStore, max_streams: int = 20_000) -> None:
        self._store = store
        self._max = max_streams
        self._entries: OrderedDict[tuple[str, str], Loaded[Any]] = OrderedDict()

    async def load(self, tenant_id: str, stream_id: str, fold: Fold) -> Loaded[Any]:
        key = (tenant_id, stream_id)
        entry = self._entries.get(key)
        if entry is None:
            entry = Loaded(None, 0)
        for stored in await self._store.read_stream(tenant_id, stream_id, entry.version):
            entry.state = fold(entry.state, decode_data(stored.type, stored.schema_version,
                                                        stored.data))
            entry.version = stored.version
            entry.hash = bytes.fromhex(stored.hash)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return entry
