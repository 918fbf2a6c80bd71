"""Test session: a real PostgreSQL, migrated, with one fresh tenant per test.

The session creates its own database on the embedded server (or on the server that
DATABASE_URL names) and applies the alembic revisions. Tests isolate by tenant: every
table and query carries the tenant key, and the events table cannot be truncated anyway.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from contract.postgres import create_pool
from infra import migrate, postgres

# The key every writer seals with and `ledger verify` checks, in every test (and in the
# servers the browser tests start): never the developer's own.
SEAL_KEY = "test-seal-key-0123456789abcdef-0123456789"
os.environ["LEDGER_SEAL_KEY"] = SEAL_KEY
os.environ.pop("LEDGER_SEAL_RETIRED_KEYS", None)


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    external = os.environ.get("DATABASE_URL")
    # Stop the embedded server afterwards only if this session started it.
    started_here = not external and not postgres.running()
    server_url = external or postgres.start()
    name = f"test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    import asyncio

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(_with_database(server_url, "postgres"))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f"CREATE DATABASE {name}"))
    url = _with_database(server_url, name)
    migrate.upgrade(url)
    # What the services' settings and commands read: they never fall back to a server.
    os.environ["DATABASE_URL"] = url
    yield url
    if external:
        os.environ["DATABASE_URL"] = external
    else:
        del os.environ["DATABASE_URL"]
    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    if started_here:
        postgres.stop()


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, application_name="tests", max_size=30)
    yield pool
    await pool.close()


@pytest.fixture
async def tenant(pool: asyncpg.Pool) -> str:
    """A fresh tenant (district) for this test."""
    tenant_id = f"t-{uuid.uuid4().hex[:12]}"
    await pool.execute(
        "INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, $2)", tenant_id, "测试区"
    )
    return tenant_id
