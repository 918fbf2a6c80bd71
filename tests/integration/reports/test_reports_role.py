"""The reports service's database role (revision r0008): it owns the read models and may
rebuild them, and reaches the ledger only through its published functions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from contract.cursor import START
from ledger.adapters.event_store import NO_STREAM, PostgresEventStore
from reports.adapters.database_feed import DatabaseFeed
from reports.config import DATABASE_ROLE
from reports.service.rebuild import rebuild
from tests.integration.conftest import login_of_its_own
from tests.new_events import renamed

REFUSED = [
    "SELECT count(*) FROM ledger.events",
    "SELECT name FROM ledger.member_directory",
    "SELECT * FROM ledger.api_tokens",
    "INSERT INTO ledger.events (tenant_id) VALUES ($1)",
    "UPDATE ledger.events SET type = 'x' WHERE tenant_id = $1",
    "DELETE FROM ledger.events WHERE tenant_id = $1",
    "TRUNCATE ledger.events",
    "ALTER TABLE ledger.events DISABLE TRIGGER events_append_only",
    "DROP TRIGGER events_append_only ON ledger.events",
    "DROP SCHEMA ledger CASCADE",
    "CREATE TABLE ledger.shadow (x int)",
    "SET session_replication_role = replica",
]


@pytest.fixture
async def reports_pool(database_url: str, pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """A login of its own, member of the role only, as in production."""
    async with login_of_its_own(database_url, pool, DATABASE_ROLE) as service:
        yield service


@pytest.mark.parametrize("statement", REFUSED)
async def test_the_reports_role_cannot_touch_the_ledgers_tables(
        reports_pool: asyncpg.Pool, pool: asyncpg.Pool, tenant: str, statement: str) -> None:
    await PostgresEventStore(pool).append(tenant, "s", NO_STREAM, [renamed("a")])
    args = [tenant] if "$1" in statement else []
    with pytest.raises(asyncpg.InsufficientPrivilegeError,
                       match=r"permission denied|must be owner"):
        await reports_pool.execute(statement, *args)
    assert await pool.fetchval("SELECT count(*) FROM ledger.events WHERE tenant_id = $1",
                               tenant) == 1


async def test_it_reads_the_feed_through_the_published_functions(
        reports_pool: asyncpg.Pool, pool: asyncpg.Pool, tenant: str) -> None:
    await PostgresEventStore(pool).append(tenant, "s", NO_STREAM, [renamed("a"), renamed("b")])
    rows = await DatabaseFeed(reports_pool).read_batch(tenant, START, 10)
    assert [row["type"] for row in rows] == ["UnitRenamed", "UnitRenamed"]


async def test_it_owns_the_read_models_and_a_rebuild_keeps_them_its_own(
        database_url: str, pool: asyncpg.Pool, tenant: str) -> None:
    async def strangers() -> list[str]:
        rows = await pool.fetch(
            """SELECT n.nspname || '.' || c.relname AS name FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname LIKE 'reports%' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                 AND pg_get_userbyid(c.relowner) <> $1
               UNION ALL
               SELECT nspname FROM pg_namespace
               WHERE nspname LIKE 'reports%' AND pg_get_userbyid(nspowner) <> $1""",
            DATABASE_ROLE)
        return [row["name"] for row in rows]

    assert await pool.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'reports'")
    assert await strangers() == []
    await PostgresEventStore(pool).append(tenant, "s", NO_STREAM, [renamed("a")])
    await rebuild(database_url)
    assert await strangers() == []
