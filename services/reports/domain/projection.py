"""What every projection's batch looks like to the runner.

A projection folds one batch of events into the rows it changes, in memory:

1. `wanted(events)`: the keys of existing rows the batch needs (the adapter loads them);
2. `apply(event, meta)` for each event, in feed order (pure);
3. the adapter saves what changed, in the same transaction as the checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from ledger.events import Event


# A named tuple: one is built per event, and a rebuild folds millions of them.
class EventMeta(NamedTuple):
    txid: int
    position: int
    recorded_at: datetime


Keys = dict[str, set]


class Batch(Protocol):
    def wanted(self, events: Sequence[Event]) -> Keys: ...

    def apply(self, event: Event, meta: EventMeta) -> None: ...
