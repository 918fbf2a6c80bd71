"""The ledger's use cases, one module per aggregate, over ports (ports.py) so that they run
on PostgreSQL in the service and on in-memory fakes in tests/unit/handlers.

`executor.py` runs every command (idempotency, one decision at a time per stream, the
optimistic retry); `actor.py` holds who acts and the authority checks; `state.py` the
current state decisions consult.
"""

from ledger.handlers.activities import Confirmation, ConfirmMany
from ledger.handlers.actor import Actor, Outcome
from ledger.handlers.executor import TooBusy
from ledger.handlers.ledger import Ledger

__all__ = ["Actor", "ConfirmMany", "Confirmation", "Ledger", "Outcome", "TooBusy"]
