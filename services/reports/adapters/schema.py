"""The schemas that hold the read models: `reports` (live) and `reports_next` (a rebuild).

SQL in the table adapters names its tables `{s}.table`; `qualify` fills in the schema, so
the same code writes the live tables or a rebuild's fresh ones.
"""

from __future__ import annotations

import asyncio

import asyncpg

LIVE = "reports"
NEXT = "reports_next"
RETIRED = "reports_retired"
# Configuration and delivery state rather than projections: moved across a rebuild, never
# rebuilt.
KEPT_TABLES = ("rule_sets", "webhook_subscriptions", "webhook_deliveries",
               "webhook_reminders")
# The advisory lock a rebuild holds on its connection while NEXT is its work in progress.
REBUILD_LOCK = 0x7265_6275_696C_64  # "rebuild"


class RebuildRunning(Exception):
    """Another rebuild holds the lock: a second one would drop its work."""


def qualify(schema: str, sql: str) -> str:
    if schema not in (LIVE, NEXT):
        raise ValueError(f"not a read-model schema: {schema!r}")
    return sql.replace("{s}", schema)


async def _projection_tables(connection: asyncpg.Connection) -> list[str]:
    tables = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", LIVE
    )
    return [row["tablename"] for row in tables if row["tablename"] not in KEPT_TABLES]


async def claim_rebuild(connection: asyncpg.Connection, *, attempts: int = 30) -> None:
    """Take the rebuild lock for this session (released by `release_rebuild`, or when the
    connection dies, as with a killed rebuild). A starting runner's `drop_abandoned` holds
    it for a moment, hence a few attempts before concluding a rebuild is running."""
    for _ in range(attempts):
        if await connection.fetchval("SELECT pg_try_advisory_lock($1)", REBUILD_LOCK):
            return
        await asyncio.sleep(0.1)
    raise RebuildRunning("another `reports rebuild` is running")


async def release_rebuild(connection: asyncpg.Connection) -> None:
    await connection.execute("SELECT pg_advisory_unlock($1)", REBUILD_LOCK)


async def drop_abandoned(connection: asyncpg.Connection) -> bool:
    """Drop NEXT and RETIRED left by a rebuild that died (killed, its database gone), unless
    a rebuild is running; True if there was something to drop."""
    if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", REBUILD_LOCK):
        return False
    try:
        left = await connection.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname = ANY($1::text[])",
            [NEXT, RETIRED])
        await connection.execute(f"DROP SCHEMA IF EXISTS {NEXT} CASCADE")
        await connection.execute(f"DROP SCHEMA IF EXISTS {RETIRED} CASCADE")
        return bool(left)
    finally:
        await release_rebuild(connection)


async def create_next(connection: asyncpg.Connection) -> list[str]:
    """Fresh, empty copies of the live projection tables in NEXT, with their primary keys
    (the upserts need them) but not their other indexes: `index_next` builds those once
    the bulk of the rows is in, which is much cheaper than maintaining them row by row."""
    names = await _projection_tables(connection)
    async with connection.transaction():
        await connection.execute(f"DROP SCHEMA IF EXISTS {NEXT} CASCADE")
        await connection.execute(f"CREATE SCHEMA {NEXT}")
        for name in names:
            await connection.execute(
                f"CREATE TABLE {NEXT}.{name} (LIKE {LIVE}.{name} INCLUDING ALL EXCLUDING INDEXES)"
            )
            key = await connection.fetchval(
                """SELECT pg_get_constraintdef(oid) FROM pg_constraint
                   WHERE conrelid = $1::regclass AND contype = 'p'""", f"{LIVE}.{name}")
            if key:
                await connection.execute(f"ALTER TABLE {NEXT}.{name} ADD {key}")
    return names


async def _share(connections: tuple[asyncpg.Connection, ...], statements: list[str]) -> None:
    """Run the statements in order, each on whichever connection is free next: a rebuild's
    two connections have nothing else to do at its end, and PostgreSQL builds two indexes
    (or gathers two tables' statistics) on two cores."""
    pending = iter(statements)

    async def work(connection: asyncpg.Connection) -> None:
        for statement in pending:
            await connection.execute(statement)

    async with asyncio.TaskGroup() as tasks:
        for connection in connections:
            tasks.create_task(work(connection))


async def index_next(*connections: asyncpg.Connection) -> None:
    """The live tables' other indexes, built on NEXT's tables, the largest first, shared
    among the connections (builds on one table do not block each other)."""
    definitions = await connections[0].fetch(
        """SELECT pg_get_indexdef(i.indexrelid) AS definition
           FROM pg_index i
           JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
           WHERE n.nspname = $1 AND t.relname = ANY($2::text[])
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
           ORDER BY pg_relation_size(i.indexrelid) DESC""",
        LIVE, await _projection_tables(connections[0]),
    )
    await _share(connections, [row["definition"].replace(f" ON {LIVE}.", f" ON {NEXT}.", 1)
                               for row in definitions])


async def analyze_next(*connections: asyncpg.Connection) -> None:
    """Statistics for NEXT's tables, so that reports are planned well from the swap on
    rather than once autovacuum gets round to them; the largest first, shared among the
    connections."""
    tables = await connections[0].fetch(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname = ANY($2::text[])
           ORDER BY pg_relation_size(c.oid) DESC""",
        NEXT, await _projection_tables(connections[0]))
    await _share(connections, [f"ANALYZE {NEXT}.{row['relname']}" for row in tables])


async def lock_live(connection: asyncpg.Connection) -> None:
    """Hold off live projection batches (they lock checkpoint rows) but not readers."""
    await connection.execute(f"LOCK TABLE {LIVE}.checkpoints IN EXCLUSIVE MODE")


async def swap(connection: asyncpg.Connection) -> None:
    """Inside the caller's transaction: NEXT becomes LIVE, LIVE becomes RETIRED."""
    await connection.execute(f"DROP SCHEMA IF EXISTS {RETIRED} CASCADE")
    for name in KEPT_TABLES:
        await connection.execute(f"ALTER TABLE {LIVE}.{name} SET SCHEMA {NEXT}")
    await connection.execute(f"ALTER SCHEMA {LIVE} RENAME TO {RETIRED}")
    await connection.execute(f"ALTER SCHEMA {NEXT} RENAME TO {LIVE}")


async def drop_retired(connection: asyncpg.Connection) -> None:
    await connection.execute(f"DROP SCHEMA IF EXISTS {RETIRED} CASCADE")
