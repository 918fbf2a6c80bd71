"""What the use cases need from the outside world. The PostgreSQL adapters implement these,
and so do the in-memory fakes of the handler tests (tests/unit/handlers/fakes.py)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from ledger.adapters.directory import DirectoryEntry
from ledger.adapters.event_store import AppendResult, NewEvent, StoredEvent
from ledger.domain.honor_rolls import ComputedRoll


class EventStore(Protocol):
    async def append(self, tenant_id: str, stream_id: str, expected_version: int | None,
                     events: Sequence[NewEvent],
                     previous_hash: bytes | None = None) -> AppendResult: ...

    async def read_stream(self, tenant_id: str, stream_id: str,
                          after_version: int = 0) -> list[StoredEvent]: ...

    async def command_events(self, tenant_id: str,
                             first_event_id: uuid.UUID) -> list[StoredEvent]: ...

    async def member_activity_streams(self, tenant_id: str, member_id: uuid.UUID,
                                      since: datetime, until: datetime) -> list[str]: ...


class Directory(Protocol):
    """Personal data, kept out of the events (PIPL: erasable)."""

    async def put(self, tenant_id: str, member_id: uuid.UUID, *, member_number: str,
                  name: str, phone: str | None, pin: str | None) -> None: ...

    async def get(self, tenant_id: str, member_id: uuid.UUID) -> DirectoryEntry | None: ...

    async def erase(self, tenant_id: str, member_id: uuid.UUID) -> bool: ...


class OrganiserAccounts(Protocol):
    """The organisers' login accounts (kept beside the events, like the directory)."""

    async def known(self, tenant_id: str,
                    organiser_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these ids are organisers of the tenant."""
        ...


class RollSource(Protocol):
    """Where a published roll's entries come from: the reports' projection."""

    async def computed_roll(self, tenant_id: str, unit_id: uuid.UUID, month: str,
                            rule_set: str, rule_version: int | None) -> ComputedRoll: ...
