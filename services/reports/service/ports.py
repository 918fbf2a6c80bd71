"""The ledger's ports: its feed (what the projections need, whichever way it is read) and its
directory (the names a report shows). Token verification, the third thing reports needs of
the ledger, is the shared `contract.tokens.Verifier`.

Two adapters: `adapters/database_feed.py` calls the ledger's published SQL functions in the
same PostgreSQL (the default, and what a rebuild wants), `adapters/http_feed.py` reads the
ledger's HTTP feed, so that reports can run against a ledger in another database. Either
way a batch holds only events below the ledger's visibility horizon, in (txid, position)
order, so reading after a checkpoint never passes over a late commit.

The directory's adapters likewise: `adapters/database_directory.py` (the ledger's functions
`ledger.member_names`, `ledger.organiser_names`) and `adapters/http_directory.py` (the
ledger's `POST /api/v1/names`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from contract.cursor import Cursor

# One event of a batch, unpacked as txid, position, type, schema_version, data (JSON bytes),
# recorded_at, imported. The database adapter hands asyncpg's records on as they are (a
# rebuild reads millions), the HTTP one tuples.
RawEvent = Sequence[Any]


class FeedUnavailable(Exception):
    """The feed could not be read just now (the ledger is unreachable, say): retry later."""


# Runtime-checkable: Litestar validates a handler's dependencies against their annotation.
@runtime_checkable
class Feed(Protocol):
    async def read_batch(self, tenant_id: str, after: Cursor, limit: int, *,
                         wait: float = 0) -> Sequence[RawEvent]:
        """Up to `limit` events after the cursor. With `wait`, an adapter that can long-poll
        may wait up to that many seconds for the first event instead of answering empty."""
        ...

    async def lag(self, tenant_id: str, after: Cursor) -> tuple[int, datetime | None]:
        """Events after the cursor, visible or still held back, and the oldest one's time."""
        ...

    async def cursor_of_position(self, tenant_id: str, position: int) -> Cursor | None:
        ...

    async def tenant_ids(self) -> list[str]:
        ...


class Person(NamedTuple):
    number: str | None
    # None once erased.
    name: str | None


@runtime_checkable
class Directory(Protocol):
    """Names from the ledger's member directory and organiser list. Events carry no names;
    a report that shows people looks them up here at the last moment, so an erased member
    (name None) shows as erased everywhere at once. Ids not found are left out."""

    def on(self, connection: Any) -> Directory:
        """The directory to use while a report reads on `connection` (an asyncpg
        connection in its snapshot): the co-located adapter reads on it, so a report holds
        one connection, not two; the HTTP one does not need it."""
        ...

    async def members(self, tenant_id: str,
                      member_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Person]:
        ...

    async def organisers(self, tenant_id: str,
                         organiser_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        ...
