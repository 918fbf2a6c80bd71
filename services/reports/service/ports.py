"""The feed port: what the projections need of the ledger's feed, whichever way it is read.

Two adapters: `adapters/database_feed.py` calls the ledger's published SQL functions in the
same PostgreSQL (the default, and what a rebuild wants), `adapters/http_feed.py` reads the
ledger's HTTP feed, so that reports can run against a ledger in another database. Either
way a batch holds only events below the ledger's visibility horizon, in (txid, position)
order, so reading after a checkpoint never passes over a late commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

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
