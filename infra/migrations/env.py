"""Alembic environment: raw-SQL revisions run over SQLAlchemy's asyncpg dialect.

DATABASE_URL stays a plain `postgresql://` URL everywhere else (asyncpg takes it as is);
only here is it rewritten to the `postgresql+asyncpg://` form SQLAlchemy needs.
"""

import asyncio
import os

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from infra.migrations.ownership import HAND_OVER


def _sqlalchemy_url() -> str:
    url = context.config.attributes.get("database_url") or os.environ["DATABASE_URL"]
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    return url


# Alembic creates its version table itself, outside any revision; the services read it for
# their readiness (`contract.readiness`: migrations at head), as their own roles.
_GRANT_VERSION_TABLE = """
DO $$
DECLARE service_role text;
BEGIN
    FOREACH service_role IN ARRAY ARRAY['ledger_writer', 'reports_reader'] LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = service_role) THEN
            EXECUTE format('GRANT SELECT ON alembic_version TO %I', service_role);
        END IF;
    END LOOP;
END $$"""


def _migrate(connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
    with context.begin_transaction():
        connection.exec_driver_sql(_GRANT_VERSION_TABLE)
        connection.execute(text(HAND_OVER))


async def _run() -> None:
    engine = create_async_engine(_sqlalchemy_url())
    async with engine.connect() as connection:
        await connection.run_sync(_migrate)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
asyncio.run(_run())
