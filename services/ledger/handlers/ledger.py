"""The ledger's use cases put together over their ports."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ledger.handlers.activities import ActivityHandlers
from ledger.handlers.certificates import CertificateHandlers
from ledger.handlers.executor import CommandExecutor
from ledger.handlers.honor_rolls import HonorRollHandlers
from ledger.handlers.members import MemberHandlers
from ledger.handlers.organisation import UnitHandlers
from ledger.handlers.ports import Directory, EventStore, OrganiserAccounts, RollSource
from ledger.handlers.state import CurrentState
from ledger.handlers.state_cache import StateCache


class Ledger:
    """`state` is what decisions consult (also read by the guard and the pages); the
    groups are the use cases by aggregate. `clock` is injectable so tests can fix "now";
    `together` lets commands queued on one stream be decided and appended together."""

    def __init__(self, store: EventStore, directory: Directory,
                 organisers: OrganiserAccounts, *, rolls: RollSource | None = None,
                 checkin_grace: timedelta = timedelta(minutes=30),
                 certificate_key: bytes | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 together: bool = True) -> None:
        self.clock = clock
        self.checkin_grace = checkin_grace
        cache = StateCache(store)
        self.state = CurrentState(store, cache)
        executor = CommandExecutor(store, cache, clock, together=together)
        self.units = UnitHandlers(executor, self.state)
        self.members = MemberHandlers(executor, self.state, directory)
        self.activities = ActivityHandlers(executor, self.state, organisers, checkin_grace)
        self.honor_rolls = HonorRollHandlers(executor, self.state, rolls)
        # The key of certificate numbers must outlive the process (a retry after a restart
        # must find the same number): the service passes CERTIFICATE_SECRET; tests get one
        # of their own.
        self.certificates = CertificateHandlers(executor, self.state, store,
                                                certificate_key or secrets.token_bytes(32))
