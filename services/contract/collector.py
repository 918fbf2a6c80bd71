"""The cyclic garbage collector in a long-running service.

A service holds many long-lived objects: its modules, the app and its OpenAPI schema from
start-up, and the ledger's state cache (thousands of folded streams). Python's full
collection walks every one of them each time the survivors grow by a quarter; under a
burst of check-ins that was a pause of 140–290 ms every few seconds on the loaded
development machine, and the p99 of the check-in was those pauses (docs/benchmarks.md).

`settle()` runs at the end of start-up, once per process (a test process starts many
apps): what exists then is moved out of the collector's sight for good (`gc.freeze`), and
full collections are made ten times rarer. The young
generations still run as before, so short-lived cycles (an exception and its traceback)
are freed as promptly as ever; the rarer full pass still frees the long-lived ones.
"""

from __future__ import annotations

import gc

# Full collections: after this many collections of the middle generation (Python's
# default is 10).
FULL_AFTER = 100


def settle() -> None:
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_AFTER)
