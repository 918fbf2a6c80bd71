"""What every projection's batch looks like to the runner.

A projection folds one batch of events into the rows it changes, in memory:

1. `wanted(events)`: the keys of existing rows the batch needs (the adapter loads them);
2. `apply(event, meta)` for each event, in feed order (pure);
3. the adapter saves what changed, in the same transaction as the checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Protocol

import msgspec

from contract.calendar import SHANGHAI
from contract.events import Event


# A msgspec Struct: one is built per event, and a rebuild folds millions of them (a named
# tuple's constructor is a Python function, this one's is not; gc=False: it holds no
# containers, so the collector need not track it).
class EventMeta(msgspec.Struct, frozen=True, gc=False):
    txid: int
    position: int
    recorded_at: datetime
    # Appended by a bulk load of records kept elsewhere at the time (metadata source
    # "import": the importer, the demo's generated history).
    imported: bool = False


Keys = dict[str, set]


def known_from(meta: EventMeta, effective: date | datetime) -> datetime:
    """Since when the ledger knew of a change, for as-of queries.

    The tree and membership events (and cancellations) carry no time of their own, so it
    is when the ledger recorded them; but an imported record was kept elsewhere at the time
    it took effect, so it counts from then (the start of its Shanghai day), if earlier.
    """
    if not meta.imported:
        return meta.recorded_at
    if not isinstance(effective, datetime):
        effective = datetime.combine(effective, time(), tzinfo=SHANGHAI)
    return min(meta.recorded_at, effective)


class Batch(Protocol):
    def wanted(self, events: Sequence[Event]) -> Keys: ...

    def apply(self, event: Event, meta: EventMeta) -> None: ...
