"""Reading the ledger's feed straight from ledger.events (read-only), one batch at a time.

The horizon is the ledger's (see ledger/adapters/event_store.py, `_FEED`): only events whose
writing transaction is older than every transaction still running are read, in (txid,
position) order, so an event that commits late is never passed over.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from contract.cursor import Cursor

# ORDER BY names the table's column (e.txid), not the bigint output column of the same
# name: sorting by the output would sort the whole tenant instead of walking the index.
_BATCH = """
SELECT e.txid::text::bigint AS txid, e.position, e.type, e.schema_version, e.data,
       e.recorded_at, e.metadata->>'source' = 'import' AS imported
FROM ledger.events e
WHERE e.tenant_id = $1
  AND (e.txid, e.position) > ($2::text::xid8, $3::bigint)
  AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY e.txid, e.position
LIMIT $4"""

# Events after a cursor, visible or still held back by an open transaction.
_LAG = """
SELECT count(*) AS events, min(recorded_at) AS oldest
FROM ledger.events
WHERE tenant_id = $1 AND (txid, position) > ($2::text::xid8, $3::bigint)"""

_POSITION_TXID = """SELECT txid::text::bigint FROM ledger.events
    WHERE tenant_id = $1 AND position = $2"""


# A row of _BATCH, left as asyncpg returns it (a rebuild reads millions): unpack it as
# txid, position, type, schema_version, data (JSON bytes), recorded_at, imported.
RawEvent = asyncpg.Record


async def read_batch(connection: asyncpg.Connection, tenant_id: str, after: Cursor,
                     limit: int) -> list[RawEvent]:
    # fetch() prepares the statement once per connection (asyncpg's statement cache).
    rows = await connection.fetch(_BATCH, tenant_id, str(after[0]), after[1], limit)
    return rows


async def lag(connection: asyncpg.Connection, tenant_id: str,
              after: Cursor) -> tuple[int, datetime | None]:
    row = await connection.fetchrow(_LAG, tenant_id, str(after[0]), after[1])
    return row["events"], row["oldest"]


async def cursor_of_position(connection: asyncpg.Connection, tenant_id: str,
                             position: int) -> Cursor | None:
    txid = await connection.fetchval(_POSITION_TXID, tenant_id, position)
    return None if txid is None else (txid, position)


async def tenant_ids(connection: asyncpg.Connection) -> list[str]:
    rows = await connection.fetch("SELECT tenant_id FROM ledger.tenants ORDER BY tenant_id")
    return [row["tenant_id"] for row in rows]
