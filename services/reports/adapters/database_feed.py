"""The feed port over the ledger's published SQL functions, in the reports' own database.

The functions (`ledger.feed_batch` and the others, infra revision 0002) are the only things
of the ledger reports may call; the ledger keeps its tables to itself. `feed_batch` applies
the ledger's visibility horizon (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from contract.cursor import Cursor
from reports.service.ports import RawEvent

_BATCH = "SELECT * FROM ledger.feed_batch($1, $2, $3, $4)"
_LAG = "SELECT events, oldest FROM ledger.feed_lag($1, $2, $3)"
_TXID_OF = "SELECT ledger.feed_txid_of($1, $2)"
_TENANTS = "SELECT tenant_id FROM ledger.tenant_ids() AS tenant_id"


class DatabaseFeed:
    """Reads on `executor`: a pool (a connection per call) or a connection of its own (a
    rebuild's reader, which keeps asyncpg's prepared statements across batches)."""

    def __init__(self, executor: asyncpg.Pool | asyncpg.Connection) -> None:
        self._executor = executor

    async def read_batch(self, tenant_id: str, after: Cursor, limit: int, *,
                         wait: float = 0) -> Sequence[RawEvent]:
        # No long poll here: the runner is woken by the ledger's NOTIFY instead.
        return await self._executor.fetch(_BATCH, tenant_id, after[0], after[1], limit)

    async def lag(self, tenant_id: str, after: Cursor) -> tuple[int, datetime | None]:
        row = await self._executor.fetchrow(_LAG, tenant_id, after[0], after[1])
        return row["events"], row["oldest"]

    async def cursor_of_position(self, tenant_id: str, position: int) -> Cursor | None:
        txid = await self._executor.fetchval(_TXID_OF, tenant_id, position)
        return None if txid is None else (txid, position)

    async def tenant_ids(self) -> list[str]:
        return [row["tenant_id"] for row in await self._executor.fetch(_TENANTS)]
